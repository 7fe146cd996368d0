//! Public examples as test vectors: two real schools published their term amounts for the
//! demi-pension 4 and 5 jours, and the liquidation must find the same amounts, to the cent, from
//! the same meal price and the official calendar of that year and zone.
//!
//! The facts (sources, quotes, holidays, public holidays, terms, prices, amounts) are in
//! `tests/fixtures/public-forfaits.toml`, where each is explained:
//!
//! - Collège Jules Simon (Morbihan, académie de Rennes, zone B), 2016-2017, 2,95 € a meal for both
//!   forfaits — « Les frais de restauration », transcribed at
//!   <http://doczz.fr/doc/5734019/les-frais-de-restauration>.
//! - Lycée professionnel George Sand (Haute-Vienne, académie de Limoges, zone A), 2022-2023,
//!   3,20 € a meal (5 jours) and 3,60 € (4 jours) —
//!   <https://lp-georgesand87.fr/informations-divers-contacts/scolarite>.
//!
//! The holidays are the ministry's (data.education.gouv.fr, as packaged by
//! vacances-scolaires-france), public holidays and the pont de l'Ascension included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use selfgate_money::billing::liquidation::{Calendar, Pupil, Settings, liquidate};
use selfgate_money::billing::{ForfaitKind, LineKind, Price, PriceEntry, Prices, Term};
use selfgate_rules::model::{
    Category, Closure, Forfait, Person, PersonId, Regime, Service, ServiceId, ServiceSet,
    WeekdaySet,
};

const FIXTURE: &str = include_str!("fixtures/public-forfaits.toml");

#[derive(Debug, Deserialize)]
struct Fixture {
    school: Vec<School>,
}

#[derive(Debug, Deserialize)]
struct School {
    name: String,
    zone: String,
    school_year: String,
    source: String,
    quote: String,
    calendar_note: String,
    forfaits: Vec<FixtureForfait>,
    holidays: Vec<Holiday>,
    public_holidays: Vec<PublicHoliday>,
    terms: Vec<FixtureTerm>,
}

#[derive(Debug, Deserialize)]
struct FixtureForfait {
    code: String,
    weekdays: String,
    /// As the source writes it: `2,95`.
    price: String,
}

#[derive(Debug, Deserialize)]
struct Holiday {
    label: String,
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Deserialize)]
struct PublicHoliday {
    label: String,
    date: NaiveDate,
    #[serde(default)]
    pont: bool,
}

#[derive(Debug, Deserialize)]
struct FixtureTerm {
    code: String,
    label: String,
    from: NaiveDate,
    to: NaiveDate,
    /// Forfait code → the amount as the source writes it (`156,35`).
    published: BTreeMap<String, String>,
    /// Forfait code → the days of the term, where the source states them.
    #[serde(default)]
    published_days: BTreeMap<String, u32>,
}

fn fixture() -> Fixture {
    toml::from_str(FIXTURE).expect("tests/fixtures/public-forfaits.toml")
}

/// `156,35` (or `176,00`, `2,95`) in cents, without floating point.
fn cents(text: &str) -> i64 {
    let (euros, cents) = text
        .trim()
        .split_once(',')
        .unwrap_or_else(|| panic!("an amount with two decimals: {text}"));
    assert_eq!(cents.len(), 2, "an amount with two decimals: {text}");
    euros.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

/// The one service of both schools: lunch, Monday to Friday.
fn lunch() -> Vec<Service> {
    vec![Service {
        id: ServiceId(1),
        code: "dejeuner".into(),
        label: "Déjeuner".into(),
        start: NaiveTime::from_hms_opt(11, 30, 0).unwrap(),
        end: NaiveTime::from_hms_opt(13, 30, 0).unwrap(),
        weekdays: WeekdaySet::SCHOOL_WEEK,
        gates: Vec::new(),
    }]
}

/// The holidays and public holidays of the fixture as closures of the whole day; `with_pont`
/// false leaves the pont de l'Ascension out.
fn official(school: &School, with_pont: bool) -> Vec<Closure> {
    let holidays = school.holidays.iter().map(|h| Closure {
        label: h.label.clone(),
        from: h.from,
        to: h.to,
        services: ServiceSet::ALL,
    });
    let public = school
        .public_holidays
        .iter()
        .filter(|p| with_pont || !p.pont)
        .map(|p| Closure {
            label: p.label.clone(),
            from: p.date,
            to: p.date,
            services: ServiceSet::ALL,
        });
    holidays.chain(public).collect()
}

fn prices(school: &School) -> Prices {
    Prices {
        entries: school
            .forfaits
            .iter()
            .map(|f| PriceEntry {
                forfait: kind(&f.code),
                tier: None,
                term: None,
                price: Price::PerDay(cents(&f.price)),
            })
            .collect(),
    }
}

fn kind(code: &str) -> ForfaitKind {
    code.parse().unwrap()
}

fn term(school: &School, t: &FixtureTerm) -> Term {
    let year: u16 = school.school_year[..4].parse().unwrap();
    Term {
        code: t.code.clone(),
        label: t.label.clone(),
        year,
        from: t.from,
        to: t.to,
        remise_deadline: t.to,
    }
}

/// A pupil of the school with `forfait`'s weekdays on lunch for the whole school year.
fn pupil(school: &School, forfait: &FixtureForfait) -> Person {
    let first = school.terms.first().unwrap().from;
    let last = school.terms.last().unwrap().to;
    Person {
        id: PersonId(1),
        external_id: format!("{}-{}", school.school_year, forfait.code),
        last_name: "Exemple".into(),
        first_name: "Élève".into(),
        class: "5A".into(),
        category: Category::Eleve,
        regime: Regime::DemiPensionnaire,
        forfaits: vec![Forfait {
            weekdays: forfait.weekdays.parse().unwrap(),
            services: ServiceSet::single(ServiceId(1)),
            from: first,
            to: last,
        }],
        passages_per_service: 1,
        tier: None,
    }
}

/// The liquidation's forfait line for one school, term and forfait: (days, cents).
fn liquidated(
    school: &School,
    t: &FixtureTerm,
    forfait: &FixtureForfait,
    with_pont: bool,
) -> (u32, i64) {
    let services = lunch();
    let official = official(school, with_pont);
    let prices = prices(school);
    let person = pupil(school, forfait);
    let l = liquidate(
        &term(school, t),
        &Calendar {
            services: &services,
            official: &official,
            own: &[],
        },
        &Settings {
            prices: &prices,
            remise_min_days: 5,
        },
        &Pupil {
            person: &person,
            oppositions: &[],
            entries: &[],
        },
    )
    .unwrap_or_else(|e| panic!("{} {} {}: {e}", school.name, t.code, forfait.code));
    assert_eq!(l.forfait, Some(kind(&forfait.code)));
    assert_eq!(l.lines.len(), 1, "{:?}", l.lines);
    assert_eq!(l.lines[0].kind, LineKind::Forfait);
    assert_eq!(l.lines[0].unit_cents, cents(&forfait.price));
    assert_eq!(l.remises_cents(), 0);
    assert_eq!(l.total_cents(), l.forfait_cents());
    (l.lines[0].days, l.forfait_cents())
}

/// Every published amount of both schools, for every term and forfait, to the cent.
#[test]
fn the_liquidation_finds_the_published_term_amounts_of_two_schools() {
    let fixture = fixture();
    assert_eq!(fixture.school.len(), 2);
    let mut checked = 0;
    for school in &fixture.school {
        assert!(school.source.starts_with("http"), "{}", school.name);
        assert!(
            !school.quote.is_empty() && school.calendar_note.contains("data.education.gouv.fr")
        );
        assert!(["A", "B", "C"].contains(&school.zone.as_str()));
        assert!(
            school.terms.len() >= 2,
            "{}: at least two terms",
            school.name
        );
        for t in &school.terms {
            for forfait in &school.forfaits {
                let published =
                    cents(t.published.get(&forfait.code).unwrap_or_else(|| {
                        panic!("{} {}: no {}", school.name, t.code, forfait.code)
                    }));
                let (days, amount) = liquidated(school, t, forfait, true);
                assert_eq!(
                    amount, published,
                    "{} ({}), {} {}: {days} days × {} €",
                    school.name, school.source, t.label, forfait.code, forfait.price
                );
                if let Some(&stated) = t.published_days.get(&forfait.code) {
                    assert_eq!(days, stated, "{} {} {}", school.name, t.code, forfait.code);
                }
                checked += 1;
            }
        }
    }
    // 2 schools × 3 terms × 2 forfaits.
    assert_eq!(checked, 12);
}

/// Collège Jules Simon, 2016-2017 (zone B), from its « Les frais de restauration »: the days the
/// document states, one by one, and what they are made of.
#[test]
fn jules_simon_2016_2017_days_as_the_document_states_them() {
    let fixture = fixture();
    let school = &fixture.school[0];
    assert_eq!(school.name, "Collège Jules Simon");
    let [dp4, dp5] = [&school.forfaits[0], &school.forfaits[1]];
    let days = |i: usize, f| liquidated(school, &school.terms[i], f, true).0;
    // « 53 jours DP4j (DP5j et internat 66 jours) » for September – December: 1 Sep – 16 Dec
    // is 16 weeks minus the Toussaint, Fri 11 Nov off; the 5-day forfait has its Wednesday
    // 19 October (the holidays start after that day's classes).
    assert_eq!((days(0, dp4), days(0, dp5)), (53, 66));
    // « 43 jours DP4j (DP5j et internat 54 jours) » for January – March 2017.
    assert_eq!((days(1, dp4), days(1, dp5)), (43, 54));
    // « 43 jours DP4j (DP5j et internat 55 jours) » for April – July 2017: Easter Monday inside
    // the zone B spring holidays; 1 and 8 May, Ascension and its pont, Whit Monday off.
    assert_eq!((days(2, dp4), days(2, dp5)), (43, 55));
    // « 139 jours à 2,95 € : 410,05 € » and « 175 jours » for the year.
    assert_eq!(53 + 43 + 43, 139);
    assert_eq!(139 * cents(&dp4.price), cents("410,05"));
    assert_eq!(175 * cents(&dp5.price), cents("516,25"));
}

/// The published April – July amounts need the pont de l'Ascension of 2017 and 2023: without
/// it, the liquidation bills one more Friday, and the published figure is missed.
#[test]
fn the_published_third_terms_count_the_pont_de_l_ascension_as_a_holiday() {
    let fixture = fixture();
    for school in &fixture.school {
        let t = school.terms.iter().find(|t| t.code == "T3").unwrap();
        for forfait in &school.forfaits {
            let (with_days, with) = liquidated(school, t, forfait, true);
            let (without_days, without) = liquidated(school, t, forfait, false);
            assert_eq!(with, cents(&t.published[&forfait.code]));
            assert_eq!(
                without_days,
                with_days + 1,
                "{} {}",
                school.name,
                forfait.code
            );
            assert_eq!(without - with, cents(&forfait.price));
        }
    }
}

/// The fixture's calendar is the one the tests believe: the Ascension and its pont fall in the
/// third term on a Thursday and a Friday, and no holiday overlaps another.
#[test]
fn the_fixture_calendar_is_consistent() {
    use chrono::{Datelike, Weekday};
    for school in &fixture().school {
        let t3 = school.terms.iter().find(|t| t.code == "T3").unwrap();
        let ascension = school
            .public_holidays
            .iter()
            .find(|p| p.label == "Ascension")
            .unwrap();
        let pont = school.public_holidays.iter().find(|p| p.pont).unwrap();
        assert_eq!(ascension.date.weekday(), Weekday::Thu);
        assert_eq!(pont.date, ascension.date.succ_opt().unwrap());
        assert!(t3.from <= pont.date && pont.date <= t3.to);
        let mut holidays: Vec<&Holiday> = school.holidays.iter().collect();
        holidays.sort_by_key(|h| h.from);
        for pair in holidays.windows(2) {
            assert!(pair[0].from <= pair[0].to);
            assert!(pair[0].to < pair[1].from, "{}: {:?}", school.name, pair);
        }
        for pair in school.terms.windows(2) {
            assert_eq!(pair[0].to.succ_opt(), Some(pair[1].from), "{}", school.name);
        }
    }
}
