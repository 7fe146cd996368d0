//! `selfgate import charlemagne encaissements FILE`: the payments Charlemagne took, credited on
//! the balances as régie payments (mode `import`), each once whatever the number of files it
//! comes in (`docs/charlemagne-compta.md`). The file is read whole: a bad line, an unknown pupil
//! or a reference already credited for another payment and nothing is credited. Through the
//! running daemon when there is one (each payment in force at the gate at once), else on the
//! stopped store in one transaction; imports wait for each other (`ImportLock`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use selfgate_money::charlemagne::parse_encaissements;
use selfgate_rules::EventKind;

use super::Place;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::control::{self, Answer};
use crate::node::exchange::charlemagne::{self as cm, ImportLock, ImportReport};
use crate::store::Store;

/// `selfgate import charlemagne encaissements`.
#[derive(clap::Args)]
pub struct EncaissementsArgs {
    /// Charlemagne's export of payments: CSV (`;`), UTF-8 or Windows-1252, a header line.
    pub file: PathBuf,
    #[command(flatten)]
    pub place: Place,
    /// The régie whose receipts number the payments (default: the first this node holds).
    #[arg(long, value_name = "CODE")]
    pub regie: Option<String>,
    /// Print what would be credited, credit nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn print(report: &ImportReport) {
    for l in report.lines() {
        println!("{l}");
    }
    println!("{}", report.summary());
}

/// Imports the file; exit status 1 when it is refused (nothing credited then).
pub fn encaissements(args: &EncaissementsArgs) -> anyhow::Result<ExitCode> {
    let config = args.place.load()?;
    let bytes = super::read_file(&args.file)?;
    let payments = match parse_encaissements(&bytes) {
        Ok(p) => p,
        Err(problems) => {
            anyhow::bail!(
                "{} : fichier refusé, rien n'a été crédité :\n  {}",
                args.file.display(),
                problems.join("\n  ")
            );
        }
    };
    let _lock = ImportLock::take(&config.data_dir)
        .with_context(|| format!("while locking the imports in {}", config.data_dir.display()))?;
    let mut report = ImportReport::default();
    if control::daemon_running(&config.data_dir) {
        // Read what the daemon has journaled (a consistent copy), then credit through it.
        let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
        let now = SystemClock.now();
        let engine = store.load_engine(config.rules.clone(), config.rules.today(now))?;
        let events = store.events(None).context("reading the journal")?;
        report.sorting = cm::sort(&payments, &events, engine.roster());
        if !report.sorting.rejected.is_empty() || args.dry_run {
            return finish(&report, args);
        }
        for p in &report.sorting.new {
            let req = cm::request(p, args.regie.clone());
            match control::request(&config.data_dir, &req, Duration::from_secs(60))? {
                Some(Answer::Journaled { event }) => {
                    if let EventKind::Payment(pay) = &event.kind {
                        report.receipts.push(pay.receipt.to_string());
                    }
                }
                Some(Answer::Refused { message }) => {
                    print(&report);
                    anyhow::bail!(
                        "ligne {} : {message} ; les encaissements des lignes précédentes sont \
                         crédités, importer le fichier à nouveau crédite les suivants",
                        p.line
                    );
                }
                other => anyhow::bail!(
                    "ligne {} : le service a répondu {}",
                    p.line,
                    other.map_or_else(|| "rien".to_owned(), |a| format!("{a:?}"))
                ),
            }
        }
    } else {
        let store = Store::open_existing(&config.data_dir)?;
        let now = SystemClock.now();
        let engine = store.load_engine(config.rules.clone(), config.rules.today(now))?;
        let events = store.events(None).context("reading the journal")?;
        report.sorting = cm::sort(&payments, &events, engine.roster());
        if !report.sorting.rejected.is_empty() || args.dry_run {
            return finish(&report, args);
        }
        let ops = cm::plan(
            &config,
            engine.roster(),
            &store,
            &report.sorting,
            args.regie.as_deref(),
            now,
        )
        .map_err(|m| anyhow::anyhow!("{m}"))?;
        if !ops.is_empty() {
            let outcomes = store.write_now(&ops)?;
            report.receipts = cm::receipts(&outcomes);
        }
    }
    finish(&report, args)
}

fn finish(report: &ImportReport, args: &EncaissementsArgs) -> anyhow::Result<ExitCode> {
    print(report);
    if !report.sorting.rejected.is_empty() {
        anyhow::bail!(
            "{} : fichier refusé, rien n'a été crédité ({} ligne(s) refusée(s))",
            args.file.display(),
            report.sorting.rejected.len()
        );
    }
    if args.dry_run {
        println!("(essai : rien n'a été crédité)");
    }
    Ok(ExitCode::SUCCESS)
}
