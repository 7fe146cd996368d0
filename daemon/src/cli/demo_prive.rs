//! `selfgate demo --prive`: a private school under contract, whose pupils come from Charlemagne
//! (`docs/charlemagne.md`, `docs/charlemagne-compta.md`). On the first run the demo writes the
//! generated pupils as a Charlemagne export (CSV, Windows-1252, with their paying guardian) and
//! imports it the way the school would (`selfgate import charlemagne eleves`), then a day of
//! payments taken in Charlemagne (`selfgate import charlemagne encaissements`). Staff, guests,
//! badges and balances are the demo's own, given to the imported pupils by their identifier.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;

use selfgate_rules::journal::EventKind;
use selfgate_rules::model::{Category, Person, PersonId, Regime, WeekdaySet};

use super::Place;
use super::charlemagne::{ElevesArgs, run_eleves};
use super::charlemagne_payments::{EncaissementsArgs, encaissements};
use crate::config::Config;
use crate::store::{Store, WriteOp};

/// Charlemagne's pupil identifier (digits) for the demo pupil `E00042`.
fn charlemagne_id(external: &str) -> String {
    format!(
        "1{}",
        external.trim_start_matches(|c: char| !c.is_ascii_digit())
    )
}

fn regime_label(p: &Person) -> &'static str {
    match (p.regime, p.forfaits.first()) {
        (Regime::Interne, _) => "Interne",
        (_, Some(f)) if f.weekdays == WeekdaySet::DP4 => "DP 4 jours",
        (_, Some(_)) => "DP 5 jours",
        (_, None) => "Demi-pensionnaire au ticket",
    }
}

/// A plausible birth date for a collège class (6e: born 2015, 3e: 2012).
fn born(p: &Person, n: usize) -> String {
    let grade = p
        .class
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(6);
    let year = 2009 + grade;
    format!("{:02}/{:02}/{year}", 1 + n % 28, 1 + n % 12)
}

/// The pupils as Charlemagne exports them: `;`, Windows-1252, a header, Excel's trailing empty
/// columns; a family (its payer) for each pupil, the next pupil as a second child in one of five.
fn eleves_csv(pupils: &[Person]) -> Vec<u8> {
    let mut text = String::from(
        "IDELEVE;NOM;PRENOM;DATENAISSANCE;CLASSE;REGIME;IDFAMILLE;CIVILITEPAYEUR;NOMPAYEUR;\
         PRENOMPAYEUR;ADRESSE1;CP;VILLE;EMAIL;;\r\n",
    );
    let mut family = 0usize;
    let mut in_family = 0;
    let mut payer = String::new();
    for (n, p) in pupils.iter().enumerate() {
        // One family in five has two children.
        if family % 5 == 4 && in_family == 1 {
            in_family += 1;
        } else {
            family += 1;
            in_family = 1;
            payer = p.last_name.clone();
        }
        let (civility, first) = if family % 2 == 0 {
            ("M.", "Karim")
        } else {
            ("Mme", "Claire")
        };
        text.push_str(&format!(
            "{};{};{};{};{};{};F{:05};{civility};{payer};{first};{} rue de la Paix;69002;LYON;famille{}@example.invalid;;\r\n",
            charlemagne_id(&p.external_id),
            p.last_name,
            p.first_name,
            born(p, n),
            p.class,
            regime_label(p),
            family,
            1 + family % 90,
            family
        ));
    }
    windows_1252(&text)
}

/// Payments taken in Charlemagne for ticket pupils, as its export gives them.
fn encaissements_csv(pupils: &[Person], day: NaiveDate) -> Vec<u8> {
    let mut text = String::from(
        "Date encaissement;IDELEVE;Nom;Prénom;Montant;Mode de règlement;N° pièce;;\r\n",
    );
    let ticket = pupils.iter().filter(|p| p.forfaits.is_empty()).take(12);
    for (n, p) in ticket.enumerate() {
        let mode = ["Chèque", "Espèces", "Carte bancaire"][n % 3];
        text.push_str(&format!(
            "{};{};{};{};{},00;{mode};DEMO-ENC-{:04};;\r\n",
            day.format("%d/%m/%Y"),
            charlemagne_id(&p.external_id),
            p.last_name,
            p.first_name,
            20 + 5 * (n % 4),
            n + 1
        ));
    }
    windows_1252(&text)
}

/// `text` in Windows-1252 (the PDF writer's WinAnsi encoding, line ends kept).
fn windows_1252(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend(selfgate_money::pdf::encode(line));
    }
    out
}

fn person_of(op: &WriteOp) -> Option<&Person> {
    match op {
        WriteOp::PutPerson(p) => Some(p),
        _ => None,
    }
}

/// Creates the private demo school in the store of `config` (which must not be open): the
/// pupils imported from a Charlemagne export written in `<data>/charlemagne/`, the rest of
/// `ops` (staff, guests, badges, balances, oppositions) given to the imported persons.
pub fn create(
    config: &Config,
    config_path: &Path,
    data: &Path,
    ops: Vec<WriteOp>,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let pupils: Vec<Person> = ops
        .iter()
        .filter_map(person_of)
        .filter(|p| p.category == Category::Eleve)
        .cloned()
        .collect();
    let dir = data.join("charlemagne");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join("eleves.csv");
    std::fs::write(&file, eleves_csv(&pupils))
        .with_context(|| format!("cannot write {}", file.display()))?;
    let place = Place {
        config: config_path.to_owned(),
        data: None,
    };
    let imported = run_eleves(&ElevesArgs {
        file: file.clone(),
        mapping: None,
        place: place.clone(),
        dry_run: false,
        today: Some(today),
    })?;
    if imported != std::process::ExitCode::SUCCESS {
        anyhow::bail!(
            "{}: the demo's Charlemagne export was refused",
            file.display()
        );
    }

    // The demo's ids → the imported persons' (pupils by identifier, the others after them).
    let store = Store::open(&config.data_dir)?;
    let roster = store.load_engine(config.rules.clone(), today)?;
    let by_external: BTreeMap<String, PersonId> = roster
        .roster()
        .persons()
        .map(|p| (p.external_id.clone(), p.id))
        .collect();
    let mut next = roster.roster().next_person_id().0;
    let mut ids: BTreeMap<PersonId, PersonId> = BTreeMap::new();
    for p in ops.iter().filter_map(person_of) {
        let new = if p.category == Category::Eleve {
            by_external.get(&charlemagne_id(&p.external_id)).copied()
        } else {
            let id = PersonId(next);
            next += 1;
            Some(id)
        };
        if let Some(new) = new {
            ids.insert(p.id, new);
        }
    }
    let id = |old: PersonId| ids.get(&old).copied();
    let mut rest = vec![crate::store::describe_school(config)];
    for op in ops {
        let op = match op {
            WriteOp::PutPerson(p) if p.category == Category::Eleve => continue,
            WriteOp::PutPerson(mut p) => {
                let Some(new) = id(p.id) else { continue };
                p.id = new;
                WriteOp::PutPerson(p)
            }
            WriteOp::PutCredential(mut c) => {
                let Some(new) = id(c.person) else { continue };
                c.person = new;
                WriteOp::PutCredential(c)
            }
            WriteOp::PutOpposition(mut o) => {
                let Some(new) = id(o.person) else { continue };
                o.person = new;
                WriteOp::PutOpposition(o)
            }
            WriteOp::Append {
                gate,
                at,
                kind: EventKind::Credit(mut c),
            } => {
                let Some(new) = id(c.person) else { continue };
                c.person = new;
                WriteOp::Append {
                    gate,
                    at,
                    kind: EventKind::Credit(c),
                }
            }
            other => other,
        };
        rest.push(op);
    }
    store.write_now(&rest)?;
    drop(roster);
    drop(store);

    let payments = dir.join("encaissements.csv");
    std::fs::write(&payments, encaissements_csv(&pupils, today))
        .with_context(|| format!("cannot write {}", payments.display()))?;
    encaissements(&EncaissementsArgs {
        file: payments,
        place,
        regie: None,
        dry_run: false,
    })?;
    let payments_path = dir.join("encaissements.csv");
    let (pupils_file, payments_file, month) = (
        file.display(),
        payments_path.display(),
        today.format("%Y-%m"),
    );
    let config_shown = config_path.display();
    match super::words::lang() {
        super::words::Lang::Fr => println!(
            "démo (privé) : élèves et payeurs importés de {pupils_file}, encaissements de {payments_file} ; consommations du mois pour la comptabilité : selfgate export charlemagne consommations --month {month} --config {config_shown}"
        ),
        super::words::Lang::En => println!(
            "demo (private school): pupils and payers imported from {pupils_file}, payments from {payments_file}; the month's consumptions for the accounts: selfgate export charlemagne consommations --month {month} --config {config_shown}"
        ),
    }
    Ok(())
}
