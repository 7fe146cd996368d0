//! `selfgate exchange status|run`: the scheduled exchanges' reports, or one run by hand
//! (through the running daemon when there is one).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::ExchangeCommand;
use super::words::Msg;
use crate::config::Config;
use crate::node::control::{self, Answer, Request};
use crate::node::exchange::{self, ExchangeReport, Exchanges};
use crate::store::Store;

pub fn command(what: ExchangeCommand) -> anyhow::Result<ExitCode> {
    match what {
        ExchangeCommand::Status { place, json } => {
            let config = place.load()?;
            let reports = exchange::status(&config);
            if json {
                for r in &reports {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else if reports.is_empty() {
                println!("{}", Msg::NoExchanges);
            } else {
                for r in &reports {
                    print!(
                        "{}",
                        Msg::ExchangeReport {
                            report: r,
                            tz: config.rules.timezone
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ExchangeCommand::Run { name, place } => {
            let config = place.load()?;
            let tz = config.rules.timezone;
            let report = run_command(config, &name)?;
            print!(
                "{}",
                Msg::ExchangeReport {
                    report: &report,
                    tz
                }
            );
            Ok(if report.status == exchange::RunStatus::Ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `selfgate exchange run NAME`: through the running daemon's control socket when there is
/// one, else on the store directly.
fn run_command(config: Config, name: &str) -> anyhow::Result<ExchangeReport> {
    let req = Request::ExchangeRun {
        name: name.to_owned(),
    };
    match control::request(&config.data_dir, &req, Duration::from_secs(900))? {
        Some(Answer::Exchange { report }) => return Ok(report),
        Some(Answer::Refused { message }) => anyhow::bail!("{message}"),
        Some(other) => anyhow::bail!("{}", Msg::DaemonAnswered(&format!("{other:?}"))),
        None => {}
    }
    let store = Store::open_existing(&config.data_dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let exchanges = Exchanges::offline(config, store, Arc::new(crate::infra::clock::SystemClock));
    rt.block_on(exchanges.run_by_hand(name))
        .map_err(|e| anyhow::anyhow!(e))
}
