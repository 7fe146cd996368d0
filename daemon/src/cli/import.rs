//! `selfgate import roster FILE.csv`: persons not in the national pupil base (staff, guests,
//! private schools). The file is parsed whole first (`selfgate_rules::roster_csv`); any bad row
//! rejects it, with line numbers, and nothing is applied. A good file becomes one transaction.
//! Re-importing the same file changes nothing.

use chrono::{DateTime, Utc};

use selfgate_rules::Roster;
use selfgate_rules::journal::{Credit, EventKind};
use selfgate_rules::model::{
    Category, Credential, CredentialStatus, Forfait, Person, PersonId, Regime, ServiceSet,
};
use selfgate_rules::roster_csv::{RosterRow, RowError};

use std::process::ExitCode;

use super::words::Msg;
use crate::config::Config;
use crate::store::Store;
use crate::store::WriteOp;

/// What an import does (or did).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    pub badges_added: usize,
    pub badges_revoked: usize,
    pub opening_balances: usize,
    /// SIÈCLE pupils whose row says otherwise than SIÈCLE of what SIÈCLE owns (names, class,
    /// category, régime, forfait): kept as SIÈCLE gives them.
    pub siecle_kept: Vec<String>,
}

/// The services a row's forfait days pay for.
fn forfait_services(config: &Config, row: &RosterRow) -> ServiceSet {
    match row.regime {
        Regime::Interne => config.regimes.interne,
        Regime::DemiPensionnaire | Regime::Externe => config.regimes.dp,
    }
}

/// Plans the import of `rows` against `roster`: the ops to commit and the report. Fails with
/// row errors (badge held by someone else) and then nothing is to be applied.
pub fn plan_roster(
    config: &Config,
    roster: &Roster,
    rows: &[RosterRow],
    gate: &str,
    at: DateTime<Utc>,
) -> Result<(Vec<WriteOp>, ImportReport), Vec<RowError>> {
    let mut ops = Vec::new();
    let mut report = ImportReport::default();
    let mut errors = Vec::new();
    let mut next_id = roster.next_person_id().0;

    for row in rows {
        if let Some(tier) = row
            .tier
            .as_ref()
            .filter(|t| !config.money.tiers.contains_key(*t))
        {
            errors.push(RowError {
                line: row.line,
                column: Some("tranche".into()),
                message: format!(
                    "tier `{tier}` is not declared under [tiers] in the configuration ({})",
                    if config.money.tiers.is_empty() {
                        "none is".to_owned()
                    } else {
                        config
                            .money
                            .tiers
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            });
        }
        let existing = roster.person_by_external(&row.external_id);
        let id = match existing {
            Some(p) => p.id,
            None => {
                let id = PersonId(next_id);
                next_id += 1;
                id
            }
        };
        let forfaits = if row.forfait_days.is_empty() {
            Vec::new()
        } else {
            vec![Forfait {
                weekdays: row.forfait_days,
                services: forfait_services(config, row),
                from: config.school.year_start,
                to: config.school.year_end,
            }]
        };
        // A column the file does not have leaves its field as the store has it.
        let has = row.has;
        let regime = match existing {
            Some(old) if !has.regime => old.regime,
            _ => row.regime,
        };
        let mut person = Person {
            id,
            external_id: row.external_id.clone(),
            last_name: row.last_name.clone(),
            first_name: row.first_name.clone(),
            class: match existing {
                Some(old) if !has.class => old.class.clone(),
                _ => row.class.clone(),
            },
            category: row.category,
            regime: if row.category == Category::Eleve {
                regime
            } else {
                Regime::Externe
            },
            forfaits: match existing {
                Some(old) if !has.forfait_days => old.forfaits.clone(),
                _ => forfaits,
            },
            passages_per_service: existing.map_or(1, |p| p.passages_per_service),
            tier: match existing {
                Some(old) if !has.tier => old.tier.clone(),
                _ => row.tier.clone(),
            },
        };
        // SIÈCLE owns its pupils' names, class, category, régime and forfait
        // (docs/roster-csv.md): a roster row gives them a badge, never those; a row that says
        // otherwise is reported.
        if let Some(old) = existing.filter(|p| crate::cli::siecle::is_siecle_pupil(p)) {
            // The tier is the school's, not SIÈCLE's: a roster sets it for every pupil.
            let tier = person.tier.take();
            if person
                != (Person {
                    tier: None,
                    ..old.clone()
                })
            {
                report.siecle_kept.push(row.external_id.clone());
            }
            person = Person {
                tier,
                ..old.clone()
            };
        }
        let mut person_ops = Vec::new();
        match existing {
            Some(old) if *old == person => {}
            Some(_) => {
                report.updated.push(row.external_id.clone());
                person_ops.push(WriteOp::PutPerson(person));
            }
            None => {
                report.added.push(row.external_id.clone());
                person_ops.push(WriteOp::PutPerson(person));
                if let Some(cents) = row.opening_balance_cents.filter(|c| *c != 0) {
                    report.opening_balances += 1;
                    person_ops.push(WriteOp::Append {
                        gate: gate.to_owned(),
                        at,
                        kind: EventKind::Credit(Credit {
                            person: id,
                            cents,
                            note: "solde initial (import)".into(),
                        }),
                    });
                }
            }
        }
        if let Some(badge) = &row.badge {
            match roster.credential(badge.as_str()) {
                Some(c) if c.person != id => {
                    let holder = roster
                        .person(c.person)
                        .map_or("?".to_owned(), |p| p.external_id.clone());
                    errors.push(RowError {
                        line: row.line,
                        column: Some("badge".into()),
                        message: format!("badge {badge} already belongs to {holder}"),
                    });
                }
                Some(_) => {}
                None => {
                    report.badges_added += 1;
                    for old in roster
                        .credentials_of(id)
                        .filter(|c| c.status == CredentialStatus::Active)
                    {
                        report.badges_revoked += 1;
                        person_ops.push(WriteOp::PutCredential(Credential {
                            status: CredentialStatus::Revoked,
                            ..old.clone()
                        }));
                    }
                    person_ops.push(WriteOp::PutCredential(Credential {
                        number: badge.clone(),
                        person: id,
                        status: CredentialStatus::Active,
                    }));
                }
            }
        }
        if person_ops.is_empty() {
            report.unchanged += 1;
        }
        ops.extend(person_ops);
    }
    if errors.is_empty() {
        Ok((ops, report))
    } else {
        Err(errors)
    }
}

/// Applies committed ops to the in-memory roster (the daemon keeps its index in step).
pub fn apply_to_engine(engine: &mut selfgate_rules::Engine, ops: &[WriteOp]) {
    for op in ops {
        match op {
            WriteOp::PutPerson(p) => engine.roster_mut().put_person(p.clone()),
            WriteOp::PutCredential(c) => engine.roster_mut().put_credential(c.clone()),
            WriteOp::PutOpposition(o) => engine.roster_mut().put_opposition(o.clone()),
            WriteOp::Append {
                kind: EventKind::Credit(c),
                ..
            } => engine.apply_credit(c),
            WriteOp::Anonymise { cutoff, .. } => {
                let day = engine.local(*cutoff).0;
                engine.served_mut().forget_before(day);
            }
            WriteOp::SetBalance { person, cents } => {
                engine.roster_mut().set_balance(*person, *cents)
            }
            WriteOp::Append { .. }
            | WriteOp::SetMeta { .. }
            | WriteOp::Merge(_)
            | WriteOp::SetServed { .. }
            | WriteOp::SeqFloor { .. }
            | WriteOp::PutGuardian(_)
            | WriteOp::DeleteGuardian(_)
            | WriteOp::PurgeGuardians { .. } => {}
        }
    }
}

/// `selfgate import roster FILE [--dry-run]`.
pub fn command(file: &std::path::Path, config: Config, dry_run: bool) -> anyhow::Result<ExitCode> {
    let rows = match roster_rows(file)? {
        Ok(rows) => rows,
        Err(code) => return Ok(code),
    };
    // A dry run on a school without a store yet plans against an empty roster, creating nothing.
    let store = if dry_run && !config.data_dir.join(crate::store::DB_FILE).is_file() {
        None
    } else {
        Some(Store::open(&config.data_dir)?)
    };
    let engine = match &store {
        Some(store) => store.load_engine(config.rules.clone(), config.rules.today(Utc::now()))?,
        None => selfgate_rules::Engine::new(config.rules.clone()),
    };
    let (ops, report) =
        match plan_roster(&config, engine.roster(), &rows, &config.gate.id, Utc::now()) {
            Ok(x) => x,
            Err(errors) => {
                for e in &errors {
                    eprintln!("{}: {e}", file.display());
                }
                eprintln!(
                    "{}",
                    Msg::NothingImported {
                        file,
                        errors: errors.len()
                    }
                );
                return Ok(ExitCode::FAILURE);
            }
        };
    match store {
        Some(store) if !dry_run => {
            let mut all = vec![crate::store::describe_school(&config)];
            all.extend(ops);
            store.write_now(&all)?;
            println!(
                "{}",
                Msg::RosterImported {
                    file,
                    rows: rows.len(),
                    store: store.path(),
                    report: &report,
                }
            );
        }
        _ => println!(
            "{}",
            Msg::RosterDryRun {
                file,
                rows: rows.len(),
                report: &report,
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows of a roster CSV, or its errors printed (each with its line) and the exit status.
pub fn roster_rows(
    path: &std::path::Path,
) -> anyhow::Result<Result<Vec<selfgate_rules::roster_csv::RosterRow>, ExitCode>> {
    let bytes = super::read_file(path)?;
    match selfgate_rules::roster_csv::parse_roster(&bytes) {
        Ok(rows) => Ok(Ok(rows)),
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", path.display());
            }
            eprintln!(
                "{}",
                Msg::NothingImported {
                    file: path,
                    errors: errors.len()
                }
            );
            Ok(Err(ExitCode::FAILURE))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfgate_rules::roster_csv::parse_roster;

    const CSV: &str = "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n\
        E1;Martin;Léa;6A;eleve;dp;lun mar jeu ven;0400A1B2C3;\n\
        P1;Durand;Paul;;commensal;;;0400A1B2C4;25,00\n";

    #[test]
    fn a_badges_only_file_leaves_the_rest_and_never_rewrites_what_siecle_owns() {
        let config = Config::defaults();
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        // A SIÈCLE pupil (its identifiant is an ELEVE_ID) and a member of staff.
        let first = "identifiant;nom;prenom;classe;categorie;regime;jours_forfait\n\
            1001;Cœur;Éloïse;6A;eleve;dp;lun mar jeu ven\n\
            P1;Durand;Paul;Cuisine;commensal;;\n";
        let rows = parse_roster(first.as_bytes()).unwrap();
        let (ops, _) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        apply_to_engine(&mut engine, &ops);
        let before: Vec<Person> = ["1001", "P1"]
            .map(|id| engine.roster().person_by_external(id).unwrap().clone())
            .to_vec();
        // Handing out badges: no class, régime or forfait column.
        let badges = "identifiant;nom;prenom;categorie;badge\n\
            1001;Cœur;Éloïse;eleve;0400A1B2C3\n\
            P1;Durand;Paul;commensal;0400A1B2C4\n";
        let rows = parse_roster(badges.as_bytes()).unwrap();
        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert!(report.updated.is_empty(), "{report:?}");
        assert!(report.siecle_kept.is_empty(), "{report:?}");
        assert_eq!(report.badges_added, 2);
        apply_to_engine(&mut engine, &ops);
        for p in &before {
            assert_eq!(engine.roster().person_by_external(&p.external_id), Some(p));
        }
        // A row that would change a SIÈCLE pupil: kept as SIÈCLE gives it, and said.
        let other =
            "identifiant;nom;prenom;classe;categorie;regime\n1001;Coeur;Eloise;;commensal;\n";
        let rows = parse_roster(other.as_bytes()).unwrap();
        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert!(ops.is_empty(), "{ops:?}");
        assert_eq!(report.siecle_kept, ["1001"]);
        // Staff's fields follow the file when its columns are there (an empty class clears it).
        let staff = "identifiant;nom;prenom;classe;categorie\nP1;Durand;Paul;;commensal\n";
        let rows = parse_roster(staff.as_bytes()).unwrap();
        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert_eq!(report.updated, ["P1"]);
        apply_to_engine(&mut engine, &ops);
        assert_eq!(engine.roster().person_by_external("P1").unwrap().class, "");
    }

    #[test]
    fn import_then_reimport_changes_nothing_and_new_badge_revokes_old() {
        let config = Config::defaults();
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let rows = parse_roster(CSV.as_bytes()).unwrap();
        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert_eq!(report.added.len(), 2);
        assert_eq!(report.opening_balances, 1);
        apply_to_engine(&mut engine, &ops);
        let p1 = engine.roster().person_by_external("P1").unwrap().id;
        assert_eq!(engine.roster().balance(p1), 2500);

        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert!(ops.is_empty(), "{ops:?}");
        assert_eq!(report.unchanged, 2);

        let changed = CSV.replace("0400A1B2C3", "0400FFFFFF");
        let rows = parse_roster(changed.as_bytes()).unwrap();
        let (ops, report) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        assert_eq!((report.badges_added, report.badges_revoked), (1, 1));
        apply_to_engine(&mut engine, &ops);
        assert_eq!(
            engine.roster().credential("0400A1B2C3").unwrap().status,
            CredentialStatus::Revoked
        );
        assert_eq!(
            engine.roster().balance(p1),
            2500,
            "opening balance applied once"
        );
    }

    #[test]
    fn a_badge_held_by_someone_else_rejects_the_file() {
        let config = Config::defaults();
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let rows = parse_roster(CSV.as_bytes()).unwrap();
        let (ops, _) = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap();
        apply_to_engine(&mut engine, &ops);
        let stolen = "identifiant;nom;prenom;categorie;badge\nX9;Petit;Jean;hote;0400A1B2C3\n";
        let rows = parse_roster(stolen.as_bytes()).unwrap();
        let errors = plan_roster(&config, engine.roster(), &rows, "g", Utc::now()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("E1"), "{}", errors[0].message);
    }
}
