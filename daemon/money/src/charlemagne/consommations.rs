//! The month's consumptions for Charlemagne: per pupil, the meals charged on their balance by
//! service and unit price (quantity × unit price = amount), with the charges given back by
//! corrections as negative quantities at their price. The meals are those the month's
//! reconciliation counts ([`MonthReport`]: granted passages with a charge, corrections with a
//! refund, by the school day of the event); [`Consommations::compute`] makes that report too
//! and refuses to give lines whose amounts differ from it, person by person.
//!
//! Two files come out: accounting entries, tab-separated ([`Consommations::to_tsv`]: `Date`
//! YYYYMMDD, `Journal`, `Compte`, `Libellé compte`, `Pièce`, `Libellé opération`, `Montant`,
//! `Sens` D/C, two analytic code/label pairs), one balanced piece per pupil; and a CSV per
//! pupil line for Charlemagne's billing ([`Consommations::to_csv`]). Passages whose person the
//! retention purge removed belong to no pupil and are left out (the month's report shows them).

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::Serialize;

use selfgate_rules::journal::{Event, EventKind, Verdict};
use selfgate_rules::model::{Person, PersonId, Service, ServiceId};

use crate::csv::{Cell, Csv};
use crate::reports::{MonthReport, ReportError, add, chronological, day_of, sort_key};

/// One (service, unit price) of a pupil's month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumptionLine {
    /// The service's code (`dejeuner`), empty for a passage outside any service.
    pub service: String,
    /// Its label (`Déjeuner`).
    pub service_label: String,
    pub unit_cents: i64,
    /// Meals charged minus charges given back; may be negative in a month of corrections only.
    pub quantity: i64,
    /// `quantity × unit_cents`.
    pub amount_cents: i64,
}

/// One pupil's month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PupilConsumption {
    pub person: PersonId,
    /// Charlemagne's pupil id (`IDELEVE`, our identifiant); empty for a person no longer known.
    pub pupil: String,
    pub last_name: String,
    pub first_name: String,
    pub class: String,
    /// By service code, then unit price.
    pub lines: Vec<ConsumptionLine>,
    pub total_cents: i64,
}

/// The accounts the entries go to (`[charlemagne]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounts {
    /// The journal's code (`VT`).
    pub journal: String,
    /// Debited with each pupil's month: the families' account.
    pub debit_account: String,
    pub debit_label: String,
    /// Credited with the meals, unless the service has its own account.
    pub credit_account: String,
    pub credit_label: String,
    /// A service's own revenue account and its label, by service code.
    pub service_accounts: BTreeMap<String, (String, String)>,
    /// The piece numbers' first part: `CONSO` gives `CONSO-202603-E100`.
    pub piece_prefix: String,
}

/// Debit or credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Sens {
    D,
    C,
}

/// One line of the accounting entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryLine {
    pub date: NaiveDate,
    pub journal: String,
    pub account: String,
    pub account_label: String,
    pub piece: String,
    pub label: String,
    /// More than zero.
    pub cents: i64,
    pub sens: Sens,
    /// Analytic code/label pairs: the service, then the class.
    pub analytic: [(String, String); 2],
}

/// The month's consumptions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consommations {
    pub year: i32,
    pub month: u32,
    pub last_day: NaiveDate,
    /// By name, class and person.
    pub pupils: Vec<PupilConsumption>,
    pub total_cents: i64,
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `12,50`: the amount with a decimal comma, no thousands separator.
fn amount(cents: i64) -> String {
    crate::csv::amount(cents)
}

/// A cell of the tab-separated file: no tab or line break inside.
fn tsv_cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Consommations {
    /// The consumptions of `month` of `year` in `tz` from `events` (every event up to the end
    /// of the month at least, in any order), named from `persons` and `services`. Refused when
    /// a pupil's total differs from what the month's reconciliation finds for them.
    pub fn compute(
        events: &[Event],
        persons: &[Person],
        services: &[Service],
        year: i32,
        month: u32,
        tz: Tz,
    ) -> Result<Consommations, ReportError> {
        let report = MonthReport::compute(events, persons, year, month, tz)?;
        let (first, last) = (report.first_day(), report.last_day());
        let by_service: HashMap<ServiceId, &Service> = services.iter().map(|s| (s.id, s)).collect();
        let by_person: HashMap<PersonId, &Person> = persons.iter().map(|p| (p.id, p)).collect();
        // (person, service code, unit price) → (quantity, amount)
        type Key = (PersonId, Option<ServiceId>, i64);
        let mut tally: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
        let mut bump = |key: Key, qty: i64, cents: i64| -> Result<(), ReportError> {
            let t = tally.entry(key).or_default();
            t.0 = add(t.0, qty, "the meals")?;
            t.1 = add(t.1, cents, "the meals")?;
            Ok(())
        };
        for e in chronological(events) {
            let day = day_of(tz, e.at);
            if day < first || day > last {
                continue;
            }
            match &e.kind {
                EventKind::Passage(p) if p.verdict == Verdict::Pass && p.charge_cents != 0 => {
                    let Some(person) = p.person else { continue };
                    bump((person, p.service, p.charge_cents), 1, p.charge_cents)?;
                }
                EventKind::Correction(c) if c.refund_cents != 0 => {
                    let neg = c
                        .refund_cents
                        .checked_neg()
                        .ok_or(ReportError::Overflow { what: "the meals" })?;
                    bump((c.person, Some(c.service), c.refund_cents), -1, neg)?;
                }
                _ => {}
            }
        }
        let mut pupils: BTreeMap<PersonId, PupilConsumption> = BTreeMap::new();
        for ((person, service, unit), (quantity, cents)) in tally {
            if quantity == 0 && cents == 0 {
                continue;
            }
            let p = pupils.entry(person).or_insert_with(|| {
                let known = by_person.get(&person);
                PupilConsumption {
                    person,
                    pupil: known.map(|p| p.external_id.clone()).unwrap_or_default(),
                    last_name: known.map_or_else(
                        || format!("personne n° {}", person.0),
                        |p| p.last_name.clone(),
                    ),
                    first_name: known.map(|p| p.first_name.clone()).unwrap_or_default(),
                    class: known.map(|p| p.class.clone()).unwrap_or_default(),
                    lines: Vec::new(),
                    total_cents: 0,
                }
            });
            let s = service.and_then(|s| by_service.get(&s));
            p.total_cents = add(p.total_cents, cents, "a pupil's month")?;
            p.lines.push(ConsumptionLine {
                service: s.map(|s| s.code.clone()).unwrap_or_default(),
                service_label: s.map_or_else(|| "Hors service".to_owned(), |s| s.label.clone()),
                unit_cents: unit,
                quantity,
                amount_cents: cents,
            });
        }
        // The month's reconciliation counts the same meals: every pupil's net must be its.
        for row in report.rows() {
            let m = &row.movements;
            let expected = m.meals_cents() - m.corrections_cents();
            let got = pupils.get(&row.person).map_or(0, |p| p.total_cents);
            if expected != got {
                return Err(ReportError::Identity {
                    person: Some(row.person),
                    computed: got,
                    direct: expected,
                });
            }
        }
        let mut pupils: Vec<PupilConsumption> = pupils.into_values().collect();
        for p in &mut pupils {
            p.lines
                .sort_by(|a, b| (&a.service, a.unit_cents).cmp(&(&b.service, b.unit_cents)));
        }
        pupils.sort_by(|a, b| {
            (
                sort_key(&a.last_name),
                sort_key(&a.first_name),
                &a.class,
                a.person,
            )
                .cmp(&(
                    sort_key(&b.last_name),
                    sort_key(&b.first_name),
                    &b.class,
                    b.person,
                ))
        });
        let total_cents = pupils
            .iter()
            .try_fold(0i64, |t, p| add(t, p.total_cents, "the month"))?;
        Ok(Consommations {
            year,
            month,
            last_day: last,
            pupils,
            total_cents,
        })
    }

    fn month_label(&self) -> String {
        let name = self
            .month
            .checked_sub(1)
            .and_then(|i| MONTHS.get(i as usize))
            .copied()
            .unwrap_or("");
        format!("{name} {}", self.year)
    }

    /// The accounting entries: for each pupil a piece dated the month's last day, the pupil's
    /// total debited to the families' account and each line credited to its service's account.
    /// A negative amount (corrections only) is written positive on the other side. Debits equal
    /// credits, piece by piece.
    pub fn entries(&self, accounts: &Accounts) -> Vec<EntryLine> {
        let mut out = Vec::new();
        let month = self.month_label();
        for p in &self.pupils {
            let pupil = if p.pupil.is_empty() {
                format!("P{}", p.person.0)
            } else {
                p.pupil.clone()
            };
            let piece = format!(
                "{}-{:04}{:02}-{pupil}",
                accounts.piece_prefix, self.year, self.month
            );
            let who = format!("{} {}", p.last_name, p.first_name)
                .trim()
                .to_owned();
            let class = (p.class.clone(), p.class.clone());
            let line = |account: &str,
                        account_label: &str,
                        label: String,
                        cents: i64,
                        sens: Sens,
                        service: (String, String)| {
                let (cents, sens) = if cents < 0 {
                    (
                        cents.saturating_neg(),
                        match sens {
                            Sens::D => Sens::C,
                            Sens::C => Sens::D,
                        },
                    )
                } else {
                    (cents, sens)
                };
                EntryLine {
                    date: self.last_day,
                    journal: accounts.journal.clone(),
                    account: account.to_owned(),
                    account_label: account_label.to_owned(),
                    piece: piece.clone(),
                    label,
                    cents,
                    sens,
                    analytic: [service, class.clone()],
                }
            };
            if p.total_cents != 0 {
                out.push(line(
                    &accounts.debit_account,
                    &accounts.debit_label,
                    format!("Repas {month} {who}"),
                    p.total_cents,
                    Sens::D,
                    (String::new(), String::new()),
                ));
            }
            for l in &p.lines {
                if l.amount_cents == 0 {
                    continue;
                }
                let (account, label) = accounts.service_accounts.get(&l.service).map_or(
                    (&accounts.credit_account, &accounts.credit_label),
                    |(a, b)| (a, b),
                );
                out.push(line(
                    account,
                    label,
                    format!(
                        "{} {} x {} {who}",
                        l.service_label,
                        l.quantity,
                        amount(l.unit_cents)
                    ),
                    l.amount_cents,
                    Sens::C,
                    (l.service.clone(), l.service_label.clone()),
                ));
            }
        }
        out
    }

    /// The entries as the tab-separated file: a header line, then one entry line each, CRLF,
    /// UTF-8.
    pub fn to_tsv(&self, accounts: &Accounts) -> String {
        let mut out = String::from(
            "Date\tJournal\tCompte\tLibellé compte\tPièce\tLibellé opération\tMontant\tSens\t\
             Code analytique 1\tLibellé analytique 1\tCode analytique 2\tLibellé analytique 2\r\n",
        );
        for e in self.entries(accounts) {
            let cells = [
                e.date.format("%Y%m%d").to_string(),
                tsv_cell(&e.journal),
                tsv_cell(&e.account),
                tsv_cell(&e.account_label),
                tsv_cell(&e.piece),
                tsv_cell(&e.label),
                amount(e.cents),
                match e.sens {
                    Sens::D => "D".to_owned(),
                    Sens::C => "C".to_owned(),
                },
                tsv_cell(&e.analytic[0].0),
                tsv_cell(&e.analytic[0].1),
                tsv_cell(&e.analytic[1].0),
                tsv_cell(&e.analytic[1].1),
            ];
            out.push_str(&cells.join("\t"));
            out.push_str("\r\n");
        }
        out
    }

    /// One row per pupil, service and unit price for Charlemagne's billing: `IDELEVE;Nom;
    /// Prénom;Classe;Mois;Service;Libellé;Quantité;Prix unitaire;Montant` (`;`, UTF-8 with a
    /// byte order mark, amounts `12,50`, month `AAAA-MM`).
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::new();
        csv.texts(&[
            "IDELEVE",
            "Nom",
            "Prénom",
            "Classe",
            "Mois",
            "Service",
            "Libellé",
            "Quantité",
            "Prix unitaire",
            "Montant",
        ]);
        let month = format!("{:04}-{:02}", self.year, self.month);
        for p in &self.pupils {
            for l in &p.lines {
                let qty = l.quantity.to_string();
                csv.row(&[
                    Cell::Text(&p.pupil),
                    Cell::Text(&p.last_name),
                    Cell::Text(&p.first_name),
                    Cell::Text(&p.class),
                    Cell::Text(&month),
                    Cell::Text(&l.service),
                    Cell::Text(&l.service_label),
                    Cell::Text(&qty),
                    Cell::Amount(l.unit_cents),
                    Cell::Amount(l.amount_cents),
                ]);
            }
        }
        csv.finish()
    }

    /// The number of meals (net of corrections).
    pub fn meals(&self) -> i64 {
        self.pupils
            .iter()
            .flat_map(|p| &p.lines)
            .map(|l| l.quantity)
            .sum()
    }
}

/// The first and last days of `month` of `year`; `None` when it is not a month.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((first, next.checked_sub_signed(TimeDelta::days(1))?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use chrono::{NaiveTime, TimeZone, Utc};
    use selfgate_rules::journal::{Correction, CorrectionKind, EventRef, Passage, Reason};
    use selfgate_rules::model::{Category, Regime, WeekdaySet};

    use super::*;

    const TZ: Tz = chrono_tz::Europe::Paris;

    fn person(id: u32, ext: &str, last: &str) -> Person {
        Person {
            id: PersonId(id),
            external_id: ext.into(),
            last_name: last.into(),
            first_name: "Léa".into(),
            class: "6A".into(),
            category: Category::ALL[0],
            regime: Regime::Externe,
            forfaits: Vec::new(),
            passages_per_service: 1,
            tier: None,
        }
    }

    fn service(id: u8, code: &str, label: &str) -> Service {
        Service {
            id: ServiceId(id),
            code: code.into(),
            label: label.into(),
            start: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            weekdays: WeekdaySet::SCHOOL_WEEK,
            gates: Vec::new(),
        }
    }

    fn at(m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
        TZ.with_ymd_and_hms(2026, m, d, h, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn meal(seq: u64, when: chrono::DateTime<Utc>, person: u32, service: u8, charge: i64) -> Event {
        Event {
            gate: "g".into(),
            seq,
            at: when,
            kind: EventKind::Passage(Passage {
                credential: None,
                person: Some(PersonId(person)),
                service: Some(ServiceId(service)),
                day: day_of(TZ, when),
                verdict: Verdict::Pass,
                reason: Reason::Ticket,
                charge_cents: charge,
                balance_after_cents: None,
                previous_at: None,
                by: None,
                note: None,
            }),
        }
    }

    fn accounts() -> Accounts {
        Accounts {
            journal: "VT".into(),
            debit_account: "4110000".into(),
            debit_label: "Familles".into(),
            credit_account: "7061000".into(),
            credit_label: "Repas".into(),
            service_accounts: [(
                "diner".to_owned(),
                ("7062000".to_owned(), "Dîners".to_owned()),
            )]
            .into(),
            piece_prefix: "CONSO".into(),
        }
    }

    #[test]
    fn meals_by_service_and_price_with_corrections_and_balanced_entries() {
        let persons = [person(1, "E1", "MARTIN"), person(2, "E2", "ÉLOI")];
        let services = [
            service(1, "dejeuner", "Déjeuner"),
            service(2, "diner", "Dîner"),
        ];
        let mut events = vec![
            // February: not in March.
            meal(1, at(2, 27, 12), 1, 1, 390),
            meal(2, at(3, 2, 12), 1, 1, 390),
            meal(3, at(3, 3, 12), 1, 1, 390),
            meal(4, at(3, 4, 12), 1, 1, 420),
            meal(5, at(3, 4, 19), 1, 2, 500),
            meal(6, at(3, 5, 12), 2, 1, 390),
            // A free meal (forfait): not charged, not exported.
            meal(7, at(3, 6, 12), 2, 1, 0),
        ];
        events.push(Event {
            gate: "g".into(),
            seq: 8,
            at: at(3, 6, 15),
            kind: EventKind::Correction(Correction {
                refers_to: EventRef {
                    gate: "g".into(),
                    seq: 3,
                },
                kind: CorrectionKind::Cancel,
                person: PersonId(1),
                service: ServiceId(1),
                day: day_of(TZ, at(3, 3, 12)),
                refund_cents: 390,
                by: None,
                note: "deux fois".into(),
            }),
        });
        let c = Consommations::compute(&events, &persons, &services, 2026, 3, TZ).unwrap();
        assert_eq!(c.last_day, NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        let names: Vec<&str> = c.pupils.iter().map(|p| p.last_name.as_str()).collect();
        assert_eq!(
            names,
            ["ÉLOI", "MARTIN"],
            "sorted as a French reader expects"
        );
        let martin = &c.pupils[1];
        let lines: Vec<(&str, i64, i64, i64)> = martin
            .lines
            .iter()
            .map(|l| (l.service.as_str(), l.unit_cents, l.quantity, l.amount_cents))
            .collect();
        assert_eq!(
            lines,
            [
                ("dejeuner", 390, 1, 390),
                ("dejeuner", 420, 1, 420),
                ("diner", 500, 1, 500)
            ]
        );
        assert_eq!(martin.total_cents, 1310);
        assert_eq!(c.total_cents, 1310 + 390);
        assert_eq!(c.meals(), 4);

        let entries = c.entries(&accounts());
        let side = |s: Sens| -> i64 {
            entries
                .iter()
                .filter(|e| e.sens == s)
                .map(|e| e.cents)
                .sum()
        };
        assert_eq!(side(Sens::D), side(Sens::C));
        assert_eq!(side(Sens::D), c.total_cents);
        assert!(
            entries
                .iter()
                .any(|e| e.account == "7062000" && e.cents == 500)
        );
        let tsv = c.to_tsv(&accounts());
        let first = tsv.lines().nth(1).unwrap();
        let cells: Vec<&str> = first.split('\t').collect();
        assert_eq!(cells.len(), 12);
        assert_eq!(
            &cells[..8],
            [
                "20260331",
                "VT",
                "4110000",
                "Familles",
                "CONSO-202603-E2",
                "Repas mars 2026 ÉLOI Léa",
                "3,90",
                "D"
            ]
        );
        let csv = c.to_csv();
        assert!(
            csv.contains("E1;MARTIN;Léa;6A;2026-03;dejeuner;Déjeuner;1;4,20;4,20\r\n"),
            "{csv}"
        );
    }

    #[test]
    fn a_month_of_corrections_only_is_written_on_the_other_side() {
        let persons = [person(1, "E1", "MARTIN")];
        let services = [service(1, "dejeuner", "Déjeuner")];
        let events = vec![
            meal(1, at(2, 27, 12), 1, 1, 390),
            Event {
                gate: "g".into(),
                seq: 2,
                at: at(3, 2, 9),
                kind: EventKind::Correction(Correction {
                    refers_to: EventRef {
                        gate: "g".into(),
                        seq: 1,
                    },
                    kind: CorrectionKind::Cancel,
                    person: PersonId(1),
                    service: ServiceId(1),
                    day: day_of(TZ, at(2, 27, 12)),
                    refund_cents: 390,
                    by: None,
                    note: String::new(),
                }),
            },
        ];
        let c = Consommations::compute(&events, &persons, &services, 2026, 3, TZ).unwrap();
        assert_eq!(c.total_cents, -390);
        let e = c.entries(&accounts());
        assert_eq!((e[0].sens, e[0].cents), (Sens::C, 390));
        assert_eq!((e[1].sens, e[1].cents), (Sens::D, 390));
    }
}
