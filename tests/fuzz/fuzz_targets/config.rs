//! The configuration file: `selfgate::config::Config::parse` on arbitrary UTF-8.
//!
//! Invariants beyond "no panic": a refused file has at least one message, each naming the file;
//! the same text gives the same verdict twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate::config::Config;

fuzz_target!(|text: &str| {
    match Config::parse(text, "fuzz.toml") {
        Ok(c) => {
            assert!(Config::parse(text, "fuzz.toml").is_ok());
            let _ = format!("{:?}", c.rules);
        }
        Err(e) => {
            assert!(!e.errors.is_empty(), "refused without a message");
            assert_eq!(e.file, "fuzz.toml");
            let shown = e.to_string();
            assert!(shown.starts_with("fuzz.toml: "), "{shown}");
            assert_eq!(
                Config::parse(text, "fuzz.toml").err().map(|e| e.errors),
                Some(e.errors)
            );
        }
    }
});
