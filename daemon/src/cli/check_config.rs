//! `selfgate check-config FILE`: validates a configuration, exit 0 or 1 with the keys at fault.

use std::path::Path;
use std::process::ExitCode;

use super::words::Msg;
use crate::config::Config;

pub fn check(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            println!(
                "{}",
                Msg::ConfigOk {
                    file,
                    services: c.rules.services.len(),
                    closures: c.rules.closures.len() - c.school.public_holidays,
                    public_holidays: c.school.public_holidays,
                    tariffs: c.rules.tariffs.len(),
                    gate: &c.gate.id,
                    data: &c.data_dir,
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
