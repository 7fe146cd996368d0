//! Scripted reads for `selfgate simulate`: `selfgate::cli::simulate::parse_reads` on arbitrary
//! UTF-8, in the school's time zone.
//!
//! Invariants beyond "no panic": error lists are never empty and their lines within the text;
//! reads are in file order (two may share a line: a lone CR ends a record), with a gate, on the
//! physical line where their record starts (checked when no field is quoted and no lone CR
//! ends a record: then a record is one line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate::cli::simulate::parse_reads;

fuzz_target!(|text: &str| {
    let lines: Vec<&str> = text.split('\n').collect();
    match parse_reads(text, chrono_tz::Europe::Paris) {
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(
                    (1..=lines.len()).contains(&e.line),
                    "line {} of {}: {e}",
                    e.line,
                    lines.len()
                );
            }
        }
        Ok(reads) => {
            let mut previous = 0;
            for r in &reads {
                assert!(
                    r.line >= previous.max(1) && r.line <= lines.len(),
                    "line {} of {}",
                    r.line,
                    lines.len()
                );
                previous = r.line;
                assert!(!r.gate.is_empty());
                // Without quotes a record is the rest of one physical line (a lone CR also ends
                // a record, so only CR LF ends are checked).
                let simple = !text.contains('"') && !text.replace("\r\n", "\n").contains('\r');
                if simple {
                    let line = lines[r.line - 1];
                    assert!(
                        line.contains(r.gate.as_str()) && line.contains(r.credential.as_str()),
                        "read {r:?} is not on line {}: {line:?}",
                        r.line
                    );
                }
            }
        }
    }
});
