//! `selfgate export charlemagne consommations --month YYYY-MM [--out DIR]`: the month's meals
//! per pupil, service and price for Charlemagne (`docs/charlemagne-compta.md`): accounting
//! entries, tab-separated, with the accounts of `[charlemagne]`, and a CSV per pupil for its
//! billing. Read from the journal (a consistent copy while the daemon runs).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use selfgate_money::charlemagne::Sens;
use selfgate_rules::model::{Person, format_euros};

use super::Place;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::exchange::charlemagne as cm;

/// `selfgate export …`.
#[derive(clap::Subcommand)]
pub enum ExportCommand {
    /// Files for Charlemagne, the management software of private schools.
    #[command(subcommand)]
    Charlemagne(CharlemagneExport),
}

/// `selfgate export charlemagne …`.
#[derive(clap::Subcommand)]
pub enum CharlemagneExport {
    /// The month's consumptions: accounting entries (tab-separated) and a CSV per pupil.
    Consommations {
        /// The month, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// Where the two files are written (default: the current directory).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        place: Place,
    },
}

fn month(s: &str) -> anyhow::Result<(i32, u32)> {
    let bad = || anyhow::anyhow!("--month: « {s} » : YYYY-MM, e.g. 2026-03");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

/// `selfgate export …`.
pub fn command(what: ExportCommand) -> anyhow::Result<ExitCode> {
    match what {
        ExportCommand::Charlemagne(CharlemagneExport::Consommations {
            month: m,
            out,
            place,
        }) => {
            let (year, month) = month(&m)?;
            let config = place.load()?;
            let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
            let today = config.rules.today(SystemClock.now());
            let engine = store.load_engine(config.rules.clone(), today)?;
            let persons: Vec<Person> = engine.roster().persons().cloned().collect();
            let events = store.events(None).context("reading the journal")?;
            let c = cm::consommations(&config, &events, &persons, year, month)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let entries = c.entries(&config.charlemagne);
            let side = |s: Sens| -> i64 {
                entries
                    .iter()
                    .filter(|e| e.sens == s)
                    .map(|e| e.cents)
                    .sum()
            };
            let (debit, credit) = (side(Sens::D), side(Sens::C));
            if debit != credit {
                anyhow::bail!(
                    "les écritures ne s'équilibrent pas : débit {}, crédit {}",
                    format_euros(debit),
                    format_euros(credit)
                );
            }
            std::fs::create_dir_all(&out)
                .with_context(|| format!("while creating {}", out.display()))?;
            let (tsv, csv) = cm::write_consommations(&out, &c, &config.charlemagne)
                .with_context(|| format!("while writing into {}", out.display()))?;
            println!(
                "{year:04}-{month:02} : {} élève(s), {} repas, {}",
                c.pupils.len(),
                c.meals(),
                format_euros(c.total_cents)
            );
            println!(
                "écritures : {} ({} ligne(s), débit {} = crédit {})",
                tsv.display(),
                entries.len(),
                format_euros(debit),
                format_euros(credit)
            );
            println!("consommations par élève : {}", csv.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
