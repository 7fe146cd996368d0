//! Term billing (issue: "1,500 pupils, 3 terms: liquidation and documents in a benchmark";
//! targets: the liquidation of a term under 100 ms, all the notices of a term as PDF under
//! 10 s). A school of `pupils` pupils on DP4, DP5 and the internat, families of one to three
//! children, a remise or an aid for one in ten, zone B holidays 2026–2027.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use selfgate::config::Config;
use selfgate::node::billing::{self, Bill, School, Setup, TermState};
use selfgate_money::billing::notice::{Child, Notice, SchoolHeader, merged_pdf};
use selfgate_rules::family::{Guardian, GuardianLink};
use selfgate_rules::journal::{AidKind, BillingEntry, BillingInput, EventRef};
use selfgate_rules::model::{
    Category, Forfait, Person, PersonId, Regime, ServiceId, ServiceSet, WeekdaySet,
};

use crate::Rng;

const CONFIG: &str = r#"
[school]
name = "Collège des Tilleuls"
uai = "0999999X"
address = ["12 avenue des Tilleuls", "31000 Toulouse"]
year_start = "2026-09-01"
year_end = "2027-07-02"

[calendar]
zone = "B"

[[services]]
code = "petit_dejeuner"
start = "07:00"
end = "08:00"
[[services]]
code = "dejeuner"
start = "11:30"
end = "13:30"
[[services]]
code = "diner"
start = "18:45"
end = "19:45"

[[billing.prices]]
forfait = "dp4"
per_day = "4,10"
[[billing.prices]]
forfait = "dp5"
per_day = "3,95"
[[billing.prices]]
forfait = "interne"
per_day = "11,20"
"#;

fn school(config: &Config, pupils: u32) -> School {
    let mut rng = Rng(0xb111);
    let (from, to) = (config.school.year_start, config.school.year_end);
    let mut persons = Vec::new();
    let mut guardians: Vec<Guardian> = Vec::new();
    let mut i = 0u32;
    while i < pupils {
        let children = 1 + u32::try_from(rng.below(3)).unwrap_or(0);
        let g = guardians.len();
        let mut links = Vec::new();
        for _ in 0..children.min(pupils - i) {
            let (regime, days, services) = match rng.below(10) {
                0 => (
                    Regime::Interne,
                    WeekdaySet::SCHOOL_WEEK,
                    config.regimes.interne,
                ),
                1..=5 => (
                    Regime::DemiPensionnaire,
                    "lun mar jeu ven".parse().unwrap_or(WeekdaySet::SCHOOL_WEEK),
                    ServiceSet::single(ServiceId(2)),
                ),
                _ => (
                    Regime::DemiPensionnaire,
                    WeekdaySet::SCHOOL_WEEK,
                    ServiceSet::single(ServiceId(2)),
                ),
            };
            // One in twenty arrives in November, one in twenty leaves in February.
            let start = if rng.below(20) == 0 {
                NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or(from)
            } else {
                from
            };
            let end = if rng.below(20) == 0 {
                NaiveDate::from_ymd_opt(2027, 2, 12).unwrap_or(to)
            } else {
                to
            };
            persons.push(Person {
                id: PersonId(i + 1),
                external_id: format!("{}", 100_000 + i),
                last_name: format!("Famille{g}"),
                first_name: format!("Enfant{i}"),
                class: format!("{}{}", 6 - (i % 4), ["A", "B", "C"][(i % 3) as usize]),
                category: Category::Eleve,
                regime,
                forfaits: vec![Forfait {
                    weekdays: days,
                    services,
                    from: start,
                    to: end,
                }],
                passages_per_service: 1,
                tier: None,
            });
            links.push(GuardianLink {
                eleve_id: format!("{}", 100_000 + i),
                legal: true,
                rank: 1,
                pays: true,
                relation: "10".into(),
                ended: None,
            });
            i += 1;
        }
        guardians.push(Guardian {
            id: format!("G{g}"),
            civility: "Mme".into(),
            last_name: format!("Famille{g}"),
            first_name: "Claire".into(),
            address: vec![format!("{} rue des Écoles", 1 + g % 90)],
            postal_code: "31000".into(),
            city: "Toulouse".into(),
            country: String::new(),
            email: String::new(),
            phone: String::new(),
            children: links,
        });
    }
    School {
        persons,
        oppositions: Vec::new(),
        guardians,
    }
}

/// One in ten pupils has an aid in the term, one in twenty an illness of a week.
fn entries(school: &School, term: &selfgate_money::billing::Term) -> TermState {
    let mut state = TermState::default();
    let mut rng = Rng(0xa1d);
    for p in &school.persons {
        let input = match rng.below(20) {
            0 | 1 => BillingInput::Aid {
                kind: AidKind::Bourse,
                cents: 4_000 + i64::try_from(rng.below(8_000)).unwrap_or(0),
                reference: String::new(),
            },
            2 => BillingInput::Remise {
                from: term.from + chrono::Days::new(14),
                to: term.from + chrono::Days::new(22),
                proof: "certificat".into(),
                asked_on: term.from + chrono::Days::new(25),
            },
            _ => continue,
        };
        state.entries.push((
            EventRef {
                gate: "bench".into(),
                seq: 0,
            },
            Utc::now(),
            BillingEntry {
                person: p.id,
                year: term.year,
                term: term.code.clone(),
                input,
                by: "bench".into(),
                note: String::new(),
            },
        ));
    }
    state
}

fn notices(config: &Config, bills: &[Bill], term: &selfgate_money::billing::Term) -> Vec<Notice> {
    let header = SchoolHeader {
        name: config.school.name.clone(),
        uai: config.school.uai.clone(),
        address: config.school.address.clone(),
        payment: config.billing.payment.clone(),
    };
    billing::families(bills)
        .into_iter()
        .enumerate()
        .map(|(n, (payer, bills))| Notice {
            school: header.clone(),
            payer,
            number: format!("{}-{}-{:05}", term.year, term.code, n + 1),
            issued: term.from,
            term: term.clone(),
            children: bills
                .iter()
                .map(|b| Child {
                    name: b.person.display_name(),
                    class: b.person.class.clone(),
                    liquidation: b.liquidation.clone(),
                })
                .collect(),
        })
        .collect()
}

pub fn bench_billing(pupils: u32) {
    println!("## Term billing: {pupils} pupils, 3 terms (zone B, 2026–2027)\n");
    let config = match Config::parse(CONFIG, "bench.toml") {
        Ok(c) => c,
        Err(e) => {
            println!("configuration refused: {e}\n");
            return;
        }
    };
    let setup = Setup::from_config(&config);
    let school = school(&config, pupils);
    println!(
        "| term | pupils billed | liquidation (best of 5) | all notices as one PDF | one PDF per family | families | PDF size |"
    );
    println!("|---|---|---|---|---|---|---|");
    for term in &setup.terms {
        let state = entries(&school, term);
        let mut best = Duration::MAX;
        let mut bills = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            bills = match billing::liquidate_term(&setup, &school, &state, term) {
                Ok(b) => b,
                Err(e) => {
                    println!("liquidation refused: {}", e[0]);
                    return;
                }
            };
            best = best.min(t.elapsed());
        }
        let notices = notices(&config, &bills, term);
        let t = Instant::now();
        let merged = merged_pdf(&notices);
        let merged_time = t.elapsed();
        let t = Instant::now();
        let mut each = 0usize;
        for n in &notices {
            each += n.to_pdf().len();
        }
        let each_time = t.elapsed();
        println!(
            "| {} | {} | {:.1} ms | {:.2} s | {:.2} s | {} | {:.1} MB (+{:.1} MB in files) |",
            term.code,
            bills.len(),
            best.as_secs_f64() * 1e3,
            merged_time.as_secs_f64(),
            each_time.as_secs_f64(),
            notices.len(),
            merged.len() as f64 / 1e6,
            each as f64 / 1e6
        );
    }
    println!(
        "\nTargets: the liquidation of a term under 100 ms; all of a term's notices as PDF under 10 s.\n"
    );
}
