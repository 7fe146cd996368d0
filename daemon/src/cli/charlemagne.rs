//! `selfgate import charlemagne eleves FILE`: a private school's roster from Charlemagne's
//! pupils' export (XLSX, HTML or CSV, told apart by content), through a column mapping
//! (`--mapping`, ours by default; `docs/charlemagne.md`). The file is read whole first
//! (`selfgate_rules::charlemagne`, pure); a file with any error is refused, every error named by
//! line or row and column, and nothing is applied.
//!
//! A good file goes the SIÈCLE import's way (`cli/siecle.rs`), in one transaction:
//!
//! - Pupils keyed on `IDELEVE` (`Person::external_id`); their régime becomes rights as a
//!   SIÈCLE régime does (DP n jours → `regimes.dp_days[n]`, interne, au ticket and externe
//!   without a forfait), from the year's start to its end.
//! - A pupil of the store (category élève, numeric external id) absent from a newer file has
//!   left: forfaits still running are closed the day before the import, a departure recorded;
//!   the person and their journal are kept.
//! - The paying guardian of each family (`WriteOp::PutGuardian`), linked to the family's pupils
//!   the store knows; a stored guardian the file no longer gives for a pupil of the file has
//!   that link ended.
//!
//! Re-importing the same file changes nothing, and says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;

use selfgate_rules::charlemagne::eleves::{self, ElevesFile};
use selfgate_rules::charlemagne::mapping::Mapping;
use selfgate_rules::siecle::{Eleve, Eleves, Generation, Guardians, RegimeKind, Responsables};

use super::siecle::{plan_guardians, plan_siecle};
use super::words::{Msg, text};
use crate::store::WriteOp;

/// `selfgate import charlemagne eleves`.
#[derive(clap::Args)]
pub struct ElevesArgs {
    /// The pupils' export: XLSX, HTML table or CSV (`;`), Windows-1252 or UTF-8.
    pub file: PathBuf,
    /// The column mapping (TOML; docs/charlemagne.md); ours when not given.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    #[command(flatten)]
    pub place: super::Place,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who has left is decided as of this date (YYYY-MM-DD; default: today, school time).
    #[arg(long, value_name = "DATE")]
    pub today: Option<NaiveDate>,
}

/// The SIÈCLE code a régime is imported as (the same rights as that code gives).
pub fn siecle_code(kind: RegimeKind) -> String {
    match kind {
        RegimeKind::Externe => "0".into(),
        RegimeKind::Dp { days: 5 } => "2".into(),
        RegimeKind::Dp { days } => format!("2{days}"),
        RegimeKind::DpTicket => "29".into(),
        RegimeKind::Interne => "3".into(),
    }
}

/// The file as the SIÈCLE import's inputs: its pupils, and (when it has payer columns) its
/// guardians, every pupil of the file listed so that a payer no longer given is unlinked.
pub fn as_siecle(file: &ElevesFile) -> (Eleves, Option<Responsables>) {
    let line = |p: &eleves::Pupil| match p.place {
        selfgate_rules::charlemagne::Place::Line(n)
        | selfgate_rules::charlemagne::Place::Row(n) => n,
    };
    let eleves = Eleves {
        pupils: file
            .pupils
            .iter()
            .map(|p| Eleve {
                line: line(p),
                eleve_id: p.id.clone(),
                elenoet: None,
                ine: None,
                last_name: p.last_name.clone(),
                first_name: p.first_name.clone(),
                code_regime: Some(siecle_code(p.regime)),
                class: Some(p.class.clone()).filter(|c| !c.is_empty()),
                date_entree: None,
                date_sortie: None,
            })
            .collect(),
        ..Eleves::default()
    };
    if !file.has_payers {
        return (eleves, None);
    }
    let per_pupil: BTreeMap<String, Guardians> = file
        .pupils
        .iter()
        .map(|p| {
            let legal = u32::from(p.payer.is_some());
            (p.id.clone(), Guardians { legal, others: 0 })
        })
        .collect();
    let responsables = Responsables {
        generation: Generation::Unknown,
        per_pupil,
        guardians: file.guardians.clone(),
        warnings: file.warnings.clone(),
        ..Responsables::default()
    };
    (eleves, Some(responsables))
}

/// `selfgate import charlemagne eleves FILE [--mapping FILE] [--dry-run]`.
pub fn run_eleves(args: &ElevesArgs) -> anyhow::Result<ExitCode> {
    let config = args.place.load()?;
    let file = args.file.as_path();
    let refused = |path: &Path| {
        eprintln!("{}", Msg::SiecleNotImported(path));
        Ok(ExitCode::FAILURE)
    };
    let mapping = match &args.mapping {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| text(Msg::CannotRead(path)))?;
            match Mapping::parse(&text) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{}: {e}", path.display());
                    return refused(file);
                }
            }
        }
        None => Mapping::default_mapping(),
    };
    let bytes = super::read_file(file)?;
    let read = match eleves::parse(&bytes, &mapping) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{}: {e}", file.display());
            }
            if errors.0.len() > selfgate_rules::charlemagne::Errors::MAX {
                eprintln!("{}: … {}", file.display(), errors.0.len());
            }
            return refused(file);
        }
    };
    println!(
        "{}",
        Msg::CharlemagneRead {
            file,
            format: &read.format.to_string(),
            encoding: read.encoding,
            header: &read.header.to_string(),
            pupils: read.pupils.len(),
            payers: read.guardians.len(),
            unused: &read.unused_columns,
        }
    );

    let today = args
        .today
        .unwrap_or_else(|| config.rules.today(chrono::Utc::now()));
    // A dry run on a school without a store yet plans against an empty roster, creating nothing.
    let store = if args.dry_run && !config.data_dir.join(crate::store::DB_FILE).is_file() {
        None
    } else {
        Some(crate::store::Store::open(&config.data_dir)?)
    };
    let mut engine = match &store {
        Some(store) => store.load_engine(config.rules.clone(), today)?,
        None => selfgate_rules::Engine::new(config.rules.clone()),
    };
    let (pupils, responsables) = as_siecle(&read);
    let (mut ops, report) = plan_siecle(
        &config,
        engine.roster(),
        &pupils,
        None,
        responsables.as_ref(),
        today,
    );
    let guardians = match &responsables {
        Some(r) => {
            // Against the pupils as this run leaves them.
            super::import::apply_to_engine(&mut engine, &ops);
            let stored = match &store {
                Some(store) => store.guardians()?,
                None => Vec::new(),
            };
            let (guardian_ops, report) = plan_guardians(engine.roster(), &stored, r, today);
            ops.extend(guardian_ops);
            Some(report)
        }
        None => None,
    };
    let unchanged = ops.is_empty();
    let written = match store {
        Some(store) if !args.dry_run => {
            if !ops.is_empty() {
                let mut all: Vec<WriteOp> = vec![crate::store::describe_school(&config)];
                all.extend(ops);
                store.write_now(&all)?;
            }
            Some(store.path().to_owned())
        }
        _ => None,
    };
    let count = read.pupils.len();
    match &written {
        Some(store) => println!(
            "{}",
            Msg::SiecleImported {
                file,
                read: count,
                store,
                today,
                report: &report,
            }
        ),
        None => println!(
            "{}",
            Msg::SiecleDryRun {
                file,
                read: count,
                today,
                report: &report,
            }
        ),
    }
    if let Some(report) = &guardians {
        println!(
            "{}",
            Msg::GuardiansImported {
                file,
                store: written.as_deref(),
                report,
            }
        );
    }
    if unchanged {
        println!("{}", Msg::CharlemagneUnchanged(file));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn regimes_become_the_siecle_codes_of_the_same_rights() {
        use selfgate_rules::siecle::{RegimeSource, classify_regime};
        for kind in [
            RegimeKind::Externe,
            RegimeKind::DpTicket,
            RegimeKind::Interne,
            RegimeKind::Dp { days: 5 },
            RegimeKind::Dp { days: 4 },
            RegimeKind::Dp { days: 1 },
        ] {
            let code = siecle_code(kind);
            assert_eq!(
                classify_regime(&code, None),
                Some((kind, RegimeSource::Known)),
                "{code}"
            );
        }
    }

    #[test]
    fn every_pupil_of_a_file_with_payers_is_listed_for_its_guardians() {
        let file = eleves::parse(
            "IDELEVE;Nom;Prénom;Né le;Classe;Régime;Famille;Nom payeur\n\
             1;A;B;01/01/2012;6A;DP 4 jours;F;DURAND\n2;C;D;01/01/2012;6A;Externe;;\n"
                .as_bytes(),
            &Mapping::default_mapping(),
        )
        .unwrap();
        let (eleves, resp) = as_siecle(&file);
        assert_eq!(eleves.pupils[0].code_regime.as_deref(), Some("24"));
        assert_eq!(eleves.pupils[1].line, 3);
        let resp = resp.unwrap();
        assert_eq!(resp.per_pupil["1"].legal, 1);
        assert_eq!(resp.per_pupil["2"].legal, 0);
        assert_eq!(resp.guardians[0].id, "charlemagne-famille-F");
    }
}
