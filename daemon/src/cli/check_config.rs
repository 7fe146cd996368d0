//! `selfgate check-config FILE`: validates a configuration, exit 0 or 1 with the keys at fault.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

pub fn check(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            println!(
                "{}: ok — {} services, {} closures, {} tariffs, gate {}, data in {}",
                file.display(),
                c.rules.services.len(),
                c.rules.closures.len(),
                c.rules.tariffs.len(),
                c.gate.id,
                c.data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
