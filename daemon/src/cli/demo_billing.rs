//! The demo's bursar side for forfaits (`docs/billing.md`): on the demo's first run, families
//! for the forfait pupils (one guardian who pays per family, some with two children), a
//! remise d'ordre for an illness, two aids (one above the forfait: an avis de versement), the
//! current term constated, and its family notices and bordereau written to
//! `<data>/facturation/`, so a newcomer can open them and see the kiosk's billing page filled.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};

use selfgate_rules::family::{Guardian, GuardianLink};
use selfgate_rules::journal::AidKind;
use selfgate_rules::model::{Category, Person, format_euros};

use super::words::{self, Lang};
use crate::config::Config;
use crate::node::billing::{self, BillingRequest, NewAid, Setup};
use crate::node::control;
use crate::store::{Store, WriteOp};

const STREETS: [&str; 6] = [
    "rue des Écoles",
    "avenue de la République",
    "rue Oberkampf",
    "boulevard Voltaire",
    "rue de la Roquette",
    "passage Saint-Pierre Amelot",
];

/// A family per forfait pupil, every fifth family with the next pupil as a second child.
fn families(persons: &[Person]) -> Vec<Guardian> {
    let billed: Vec<&Person> = persons
        .iter()
        .filter(|p| p.category == Category::Eleve && !p.forfaits.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < billed.len() {
        let n = out.len();
        let children = if n % 5 == 4 && i + 1 < billed.len() {
            2
        } else {
            1
        };
        let first = billed[i];
        let (civility, first_name) = if n % 2 == 0 {
            ("Mme", "Claire")
        } else {
            ("M.", "Karim")
        };
        out.push(Guardian {
            id: format!("DEMO{:05}", n + 1),
            civility: civility.into(),
            last_name: first.last_name.clone(),
            first_name: first_name.into(),
            address: vec![format!("{} {}", 1 + n % 97, STREETS[n % STREETS.len()])],
            postal_code: "75011".into(),
            city: "Paris".into(),
            country: String::new(),
            email: format!("famille{}@example.invalid", n + 1),
            phone: String::new(),
            children: billed[i..i + children]
                .iter()
                .map(|p| GuardianLink {
                    eleve_id: p.external_id.clone(),
                    legal: true,
                    rank: 1,
                    pays: true,
                    relation: if n % 2 == 0 { "10" } else { "20" }.into(),
                    ended: None,
                })
                .collect(),
        });
        i += children;
    }
    out
}

/// Plans `req` on `store` and commits it; the problems when refused.
fn apply(
    setup: &Setup,
    store: &Store,
    req: &BillingRequest,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<billing::RunSummary>> {
    let (ops, summary) =
        billing::plan(setup, store, req, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !ops.is_empty() {
        control::journaled(store.write_now(&ops)?);
    }
    Ok(summary)
}

/// The demo school's families, entries and a constatation of the term of `today`, with the
/// documents in `<data>/facturation/`. Nothing when the configuration prices no forfait (a
/// demo directory from before billing).
pub fn first_run(
    config: &Config,
    store: &Store,
    data: &Path,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if config.billing.prices.entries.is_empty() {
        return Ok(());
    }
    let setup = Setup::from_config(config);
    let Some(term) = config
        .billing
        .term_of(today)
        .or_else(|| config.billing.terms.first())
        .cloned()
    else {
        return Ok(());
    };
    let persons = billing::School::read(store)?.persons;
    // The families SIÈCLE or Charlemagne gave (the private demo), else the demo's own.
    let mut guardians = store.guardians()?;
    if guardians.is_empty() {
        guardians = families(&persons);
        let ops: Vec<WriteOp> = guardians
            .iter()
            .map(|g| WriteOp::PutGuardian(Box::new(g.clone())))
            .collect();
        store.write_now(&ops)?;
    }
    let billed: Vec<&Person> = persons
        .iter()
        .filter(|p| p.category == Category::Eleve && !p.forfaits.is_empty())
        .collect();

    // An illness of a school week, the first one of the term the calendar allows.
    let mut remise = None;
    if let Some(pupil) = billed.first() {
        let mut monday = term.from;
        while monday.weekday() != Weekday::Mon {
            monday = monday + Days::new(1);
        }
        while monday + Days::new(4) <= term.to && remise.is_none() {
            let req = BillingRequest::Remise {
                person: pupil.external_id.clone(),
                term: term.code.clone(),
                from: monday,
                to: monday + Days::new(4),
                proof: "certificat médical du Dr Morel".into(),
                asked_on: today.min(term.remise_deadline),
                by: "intendance".into(),
                note: "démo".into(),
            };
            if apply(&setup, store, &req, now).is_ok() {
                remise = Some((pupil.display_name(), monday));
            }
            monday = monday + Days::new(7);
        }
    }
    // A bourse, and an aid of the town above a forfait: that family gets an avis de versement.
    let aids: Vec<NewAid> = [
        (1, AidKind::Bourse, 4_500),
        (2, AidKind::Collectivite, 40_000),
    ]
    .into_iter()
    .filter_map(|(i, kind, cents)| {
        billed.get(i).map(|p| NewAid {
            person: p.external_id.clone(),
            term: term.code.clone(),
            kind,
            cents,
            reference: format!("DEMO-{}", kind.code()),
            origin: String::new(),
        })
    })
    .collect();
    apply(
        &setup,
        store,
        &BillingRequest::Aids {
            aids,
            by: "intendance".into(),
        },
        now,
    )?;
    let run = apply(
        &setup,
        store,
        &BillingRequest::Constate {
            term: term.code.clone(),
            by: "intendance".into(),
            dry_run: false,
        },
        now,
    )?;

    let out = data.join("facturation");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let notices = billing::notices_pdf(config, store, &term.code, today)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let merged = out.join(format!("avis-{}-{}.pdf", term.year, term.code));
    std::fs::write(&merged, &notices.merged)
        .with_context(|| format!("cannot write {}", merged.display()))?;
    let bordereau = billing::bordereau_files(config, store, &term.code, None, today)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (ext, bytes) in [
        ("pdf", bordereau.pdf.as_slice()),
        ("csv", bordereau.csv.as_bytes()),
        ("xlsx", bordereau.xlsx.as_slice()),
    ] {
        let path = out.join(format!("{}.{ext}", bordereau.reference));
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let lines = run.as_ref().map_or(0, |r| r.lines.len());
    let total = format_euros(bordereau.total_cents);
    let week = remise
        .as_ref()
        .map(|(name, monday)| (name, monday.format("%d/%m/%Y")));
    let config_path = data.join("selfgate.toml");
    match words::lang() {
        Lang::Fr => {
            println!(
                "démo : facturation des forfaits, {} : {} avis aux familles ({} responsables), bordereau {} de {lines} ligne(s), {total} constatés",
                term.label,
                notices.notices.len(),
                guardians.len(),
                bordereau.reference,
            );
            if let Some((name, week)) = week {
                println!(
                    "démo : remise d'ordre pour maladie de {name} (semaine du {week}) ; une bourse, et une aide de la commune au-delà du forfait (avis de versement)"
                );
            }
            println!(
                "démo : avis aux familles dans {} ; bordereau {}/{}.pdf, .csv, .xlsx ; page /facturation du kiosque ; selfgate billing etat --term {} --config {}",
                merged.display(),
                out.display(),
                bordereau.reference,
                term.code,
                config_path.display()
            );
        }
        Lang::En => {
            println!(
                "demo: term billing, {}: {} family notices ({} guardians), bordereau {} of {lines} line(s), {total} constated",
                term.label,
                notices.notices.len(),
                guardians.len(),
                bordereau.reference,
            );
            if let Some((name, week)) = week {
                println!(
                    "demo: a remise d'ordre for {name}'s illness (week of {week}); a bourse, and a town's aid above the forfait (avis de versement)"
                );
            }
            println!(
                "demo: family notices in {}; bordereau {}/{}.pdf, .csv, .xlsx; the kiosk's /facturation page; selfgate billing etat --term {} --config {}",
                merged.display(),
                out.display(),
                bordereau.reference,
                term.code,
                config_path.display()
            );
        }
    }
    Ok(())
}
