//! Charlemagne's money (`docs/charlemagne-compta.md`): payments in, consumptions out.
//!
//! **Payments in.** A file of Charlemagne's *encaissements* is read whole
//! (`selfgate_money::charlemagne::parse_encaissements`), sorted against the references the
//! journal holds (a payment already credited is not credited again), and its new payments
//! become régie payments (mode `import`, reference `charlemagne:REF`) planned by
//! `control::plan_change` like `selfgate payment add`'s. A file with a bad line, an unknown
//! pupil or a reference credited for another payment is refused: nothing of it is credited.
//! Imports hold [`ImportLock`] (`DATA/charlemagne-encaissements.lock`) from reading the journal
//! to the commit, so two imports (the command and the exchange, or two commands) never credit
//! one payment twice. The `charlemagne_encaissements` exchange watches a folder: a file done
//! goes to `done/`, a refused one to `rejected/` beside a `.txt` saying why.
//!
//! **Consumptions out.** The `charlemagne_consommations` exchange writes the last month's
//! entries and per-pupil CSV (`selfgate_money::charlemagne::Consommations`) to its folder, as
//! `selfgate export charlemagne consommations` does.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};

use selfgate_money::ReportError;
use selfgate_money::charlemagne::{
    Accounts, Consommations, Encaissement, ImportSorting, journal_reference, parse_encaissements,
    sort_encaissements,
};
use selfgate_rules::Roster;
use selfgate_rules::journal::{Event, PaymentMode};
use selfgate_rules::model::{Person, format_euros};

use super::{Done, Exchanges, Failed, LineCode, failed, pronote::write_atomically};
use crate::config::{Config, ExchangeConfig};
use crate::node::control::{Request, plan_change};
use crate::store::{Store, WriteOp};

/// The lock file of payment imports, in the data directory.
pub const LOCK_FILE: &str = "charlemagne-encaissements.lock";

/// Who the journal says took an imported payment.
pub const IMPORTED_BY: &str = "import Charlemagne";

/// Held while an import reads the journal and commits: released when dropped.
pub struct ImportLock {
    _file: File,
}

impl ImportLock {
    /// Waits for the lock of `data`'s imports.
    pub fn take(data: &Path) -> std::io::Result<ImportLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data.join(LOCK_FILE))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(ImportLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// What an import did, or would do.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub sorting: ImportSorting,
    /// The receipt numbers given to the new payments, in the file's order (empty until
    /// committed).
    pub receipts: Vec<String>,
}

impl ImportReport {
    /// The report's lines, in French: credited, already known, rejected with the reason.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, p) in self.sorting.new.iter().enumerate() {
            out.push(format!(
                "ligne {} : crédité {} à {} (référence {}{})",
                p.line,
                format_euros(p.cents),
                p.pupil,
                p.reference,
                self.receipts
                    .get(i)
                    .map(|r| format!(", quittance {r}"))
                    .unwrap_or_default()
            ));
        }
        for k in &self.sorting.known {
            out.push(format!(
                "ligne {} : déjà crédité (référence {}, quittance {})",
                k.payment.line, k.payment.reference, k.receipt
            ));
        }
        for r in &self.sorting.rejected {
            out.push(format!("ligne {} : refusé : {}", r.payment.line, r.reason));
        }
        out
    }

    /// One line of totals.
    pub fn summary(&self) -> String {
        let cents: i64 = self.sorting.new.iter().map(|p| p.cents).sum();
        format!(
            "{} encaissement(s) crédité(s) pour {}, {} déjà connu(s), {} refusé(s)",
            self.sorting.new.len(),
            format_euros(cents),
            self.sorting.known.len(),
            self.sorting.rejected.len()
        )
    }
}

/// The file's payments sorted against `events` and `roster`.
pub fn sort(payments: &[Encaissement], events: &[Event], roster: &Roster) -> ImportSorting {
    sort_encaissements(payments, events, |id| {
        roster.person_by_external(id).map(|p| p.id)
    })
}

/// The régie request of one new payment.
pub fn request(p: &Encaissement, regie: Option<String>) -> Request {
    Request::PaymentAdd {
        person: p.pupil.trim().to_owned(),
        cents: p.cents,
        mode: PaymentMode::Import {
            reference: journal_reference(&p.reference),
        },
        payer: p.payer.clone(),
        by: IMPORTED_BY.to_owned(),
        regie,
        note: p.note(),
    }
}

/// The writes of the new payments, planned on `roster` at `now` (one transaction: all or none).
pub fn plan(
    config: &Config,
    roster: &Roster,
    store: &Store,
    sorting: &ImportSorting,
    regie: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<WriteOp>, String> {
    sorting
        .new
        .iter()
        .map(|p| {
            plan_change(
                config,
                roster,
                store,
                request(p, regie.map(str::to_owned)),
                now,
            )
            .map(|(op, _)| op)
            .map_err(|m| format!("ligne {} : {m}", p.line))
        })
        .collect()
}

/// The receipts of the payments in `outcomes` (the writer numbered them), in order.
pub fn receipts(outcomes: &[crate::store::WriteOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            crate::store::WriteOutcome::Appended(e) => match &e.kind {
                selfgate_rules::EventKind::Payment(p) => Some(p.receipt.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The consumptions of `year`-`month` from the journal and the persons.
pub fn consommations(
    config: &Config,
    events: &[Event],
    persons: &[Person],
    year: i32,
    month: u32,
) -> Result<Consommations, ReportError> {
    Consommations::compute(
        events,
        persons,
        &config.rules.services,
        year,
        month,
        config.rules.timezone,
    )
}

/// The two files' names for a month: the entries, the per-pupil CSV.
pub fn file_names(year: i32, month: u32) -> (String, String) {
    (
        format!("charlemagne-ecritures-{year:04}-{month:02}.txt"),
        format!("charlemagne-consommations-{year:04}-{month:02}.csv"),
    )
}

/// Writes the month's two files into `dir` (each whole or not at all), returns their paths.
pub fn write_consommations(
    dir: &Path,
    c: &Consommations,
    accounts: &Accounts,
) -> std::io::Result<(PathBuf, PathBuf)> {
    let (entries, csv) = file_names(c.year, c.month);
    let (entries, csv) = (dir.join(entries), dir.join(csv));
    write_atomically(&entries, c.to_tsv(accounts).as_bytes())?;
    write_atomically(&csv, c.to_csv().as_bytes())?;
    Ok((entries, csv))
}

/// The month before the one of `today`.
pub fn previous_month(today: chrono::NaiveDate) -> (i32, u32) {
    if today.month() == 1 {
        (today.year() - 1, 12)
    } else {
        (today.year(), today.month() - 1)
    }
}

/// `file` moved into `dir` (made if needed) under its own name, or with a number when taken.
fn move_into(file: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fichier".into());
    let mut to = dir.join(&name);
    let mut n = 1;
    while to.exists() {
        n += 1;
        to = dir.join(format!("{n}-{name}"));
    }
    std::fs::rename(file, &to)?;
    Ok(to)
}

/// The files waiting in a watched folder: plain files, not hidden, not being written
/// (`.partial`, `.tmp`), in name order.
fn waiting(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            || name.ends_with(".partial")
            || name.ends_with(".tmp")
            || name.ends_with(".txt")
        {
            continue;
        }
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

impl Exchanges {
    /// `charlemagne_encaissements`: every file waiting in the folder, each imported whole or
    /// refused whole.
    pub(super) async fn charlemagne_encaissements(
        &self,
        x: &ExchangeConfig,
    ) -> Result<Done, Failed> {
        let Some(folder) = x.folder.clone() else {
            return Err(failed(
                "pas de dossier (target)".into(),
                LineCode::new("no_folder", &[]),
            ));
        };
        let config = self.config();
        let mut done = Done::default();
        let files = waiting(&folder).map_err(|e| {
            failed(
                format!("dossier {} illisible : {e}", folder.display()),
                LineCode::new("folder_unreadable", &[&folder.display()]),
            )
        })?;
        for file in files {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&file)?;
            let refused = |why: Vec<String>| -> Result<String, Failed> {
                let to = move_into(&file, &folder.join("rejected"))?;
                let mut text = format!("{name} : refusé, rien n'a été crédité.\n");
                for w in &why {
                    text.push_str(w);
                    text.push('\n');
                }
                write_atomically(&to.with_extension("txt"), text.as_bytes())?;
                Ok(format!(
                    "{name} : refusé ({} problème(s), voir rejected/)",
                    why.len()
                ))
            };
            let payments = match parse_encaissements(&bytes) {
                Ok(p) => p,
                Err(problems) => {
                    let line = refused(problems)?;
                    done.received(line, LineCode::new("charlemagne_file_refused", &[&name]));
                    continue;
                }
            };
            let lock = {
                let data = config.data_dir.clone();
                tokio::task::spawn_blocking(move || ImportLock::take(&data))
                    .await
                    .map_err(|e| failed(e.to_string(), LineCode::words(&e.to_string())))??
            };
            let events = self.store().events(None)?;
            let (sorting, ops) = self.with_engine(|e| {
                let sorting = sort(&payments, &events, e.roster());
                let ops = if sorting.rejected.is_empty() {
                    plan(
                        &config,
                        e.roster(),
                        self.store(),
                        &sorting,
                        None,
                        self.now(),
                    )
                } else {
                    Ok(Vec::new())
                };
                (sorting, ops)
            })?;
            let mut report = ImportReport {
                sorting,
                receipts: Vec::new(),
            };
            if !report.sorting.rejected.is_empty() {
                drop(lock);
                let line = refused(report.lines())?;
                done.received(line, LineCode::new("charlemagne_file_refused", &[&name]));
                continue;
            }
            let ops = match ops {
                Ok(ops) => ops,
                Err(m) => {
                    drop(lock);
                    let line = refused(vec![m])?;
                    done.received(line, LineCode::new("charlemagne_file_refused", &[&name]));
                    continue;
                }
            };
            report.receipts = self.apply_with_outcomes(ops).await?;
            drop(lock);
            let to = move_into(&file, &folder.join("done"))?;
            let mut text = format!("{name} : {}\n", report.summary());
            for l in report.lines() {
                text.push_str(&l);
                text.push('\n');
            }
            write_atomically(&to.with_extension("txt"), text.as_bytes())?;
            let new = report.sorting.new.len();
            let known = report.sorting.known.len();
            done.received(
                format!("{name} : {}", report.summary()),
                LineCode::new("charlemagne_file_imported", &[&name, &new, &known]),
            );
        }
        Ok(done)
    }

    /// Commits `ops` (one transaction) and gives the receipts of the payments among them.
    async fn apply_with_outcomes(&self, ops: Vec<WriteOp>) -> Result<Vec<String>, Failed> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = match &self.place {
            super::Place::Daemon { gate, .. } => gate.change(ops).await?,
            super::Place::Offline { store, .. } => store.write_now(&ops)?,
        };
        Ok(receipts(&outcomes))
    }

    /// `charlemagne_consommations`: the last month's files written to the folder.
    pub(super) async fn charlemagne_consommations(
        &self,
        x: &ExchangeConfig,
    ) -> Result<Done, Failed> {
        let Some(folder) = x.folder.clone() else {
            return Err(failed(
                "pas de dossier (target)".into(),
                LineCode::new("no_folder", &[]),
            ));
        };
        let config = self.config();
        let (year, month) = previous_month(config.rules.today(self.now()));
        let events = self.store().events(None)?;
        let persons: Vec<Person> = self.with_engine(|e| e.roster().persons().cloned().collect())?;
        let c = consommations(&config, &events, &persons, year, month)?;
        let (entries, csv) = write_consommations(&folder, &c, &config.charlemagne)?;
        let mut done = Done::default();
        let month_code = format!("{year:04}-{month:02}");
        done.sent(
            format!(
                "consommations de {month_code} : {} élève(s), {} repas, {} ; {} et {}",
                c.pupils.len(),
                c.meals(),
                format_euros(c.total_cents),
                entries.display(),
                csv.display()
            ),
            LineCode::new(
                "charlemagne_consommations_sent",
                &[
                    &month_code,
                    &c.pupils.len(),
                    &c.meals(),
                    &c.total_cents,
                    &entries.display(),
                    &csv.display(),
                ],
            ),
        );
        Ok(done)
    }
}
