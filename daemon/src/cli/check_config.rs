//! `selfgate check-config FILE`: validates a configuration, exit 0 or 1 with the keys at fault.

use std::path::Path;
use std::process::ExitCode;

use super::words::Msg;
use crate::config::Config;

pub fn check(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(c) => {
            let zone = c.calendar.zone.map(|z| z.code());
            let priced: Vec<String> = c
                .billing
                .priced_forfaits()
                .into_iter()
                .map(|f| f.code())
                .collect();
            println!(
                "{}",
                Msg::ConfigOk {
                    file,
                    services: c.rules.services.len(),
                    closures: c.own_closures().len(),
                    public_holidays: c.school.public_holidays,
                    school_holidays: c.school.school_holidays,
                    zone,
                    tariffs: c.rules.tariffs.len(),
                    gate: &c.gate.id,
                    data: &c.data_dir,
                    terms: &c.billing.terms,
                    priced: &priced,
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
