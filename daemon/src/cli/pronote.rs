//! `selfgate pronote import-key|export-ids`: PRONOTE's set-up.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::PronoteCommand;
use super::words::{Msg, text};
use crate::config::Config;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::control::{self, Answer, Request};
use crate::node::exchange::pronote;
use crate::store::Store;

pub fn command(what: PronoteCommand) -> anyhow::Result<ExitCode> {
    match what {
        PronoteCommand::ImportKey { file, place } => {
            let data = place.data_dir()?;
            let stored = pronote::import_key(&data, &file)?;
            println!("{}", Msg::PronoteKeyImported(&stored));
        }
        PronoteCommand::ExportIds { file, place } => {
            let config = place.load()?;
            let (csv, pupils) = export_ids(&config)?;
            std::fs::write(&file, csv).with_context(|| text(Msg::CannotWrite(&file)))?;
            println!(
                "{}",
                Msg::IdsWritten {
                    file: &file,
                    pupils
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `selfgate pronote export-ids`: the identifiers' CSV and the number of pupils, from the
/// running daemon when there is one.
fn export_ids(config: &Config) -> anyhow::Result<(String, usize)> {
    let csv = match control::request(
        &config.data_dir,
        &Request::ExportIds,
        Duration::from_secs(60),
    )? {
        Some(Answer::Ids { csv }) => csv,
        Some(Answer::Refused { message }) => anyhow::bail!("{message}"),
        Some(other) => anyhow::bail!("{}", Msg::DaemonAnswered(&format!("{other:?}"))),
        None => {
            let store = Store::open_existing(&config.data_dir)?;
            let today = config.rules.today(SystemClock.now());
            let engine = store.load_engine(config.rules.clone(), today)?;
            pronote::export_ids(engine.roster())
        }
    };
    let pupils = csv.lines().count().saturating_sub(1);
    Ok((csv, pupils))
}
