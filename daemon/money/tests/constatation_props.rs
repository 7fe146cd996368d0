//! Any sequence of arrivals, departures, régime changes, deductions and aid, constated after
//! each step, ends with the same totals as one constatation of the final state (issue: "Sums
//! reconcile to the cent"). The journal is a list of receivables that only grows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveTime};
use proptest::prelude::*;

use selfgate_money::billing::constatation::{self, Billed};
use selfgate_money::billing::liquidation::{Calendar, Pupil, Settings, liquidate};
use selfgate_money::billing::{ForfaitKind, Liquidation, Price, PriceEntry, Prices, Term};
use selfgate_rules::journal::{AidKind, BillingInput, Receivable};
use selfgate_rules::model::{
    Category, Closure, Forfait, Opposition, OppositionReason, Person, PersonId, Regime, Service,
    ServiceId, ServiceSet, WeekdaySet,
};

fn d(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 1)
        .unwrap()
        .checked_add_days(Days::new(offset))
        .unwrap()
}

fn term() -> Term {
    Term {
        code: "T1".into(),
        label: "Septembre – décembre 2026".into(),
        year: 2026,
        from: d(0),
        to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        remise_deadline: NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(),
    }
}

fn services() -> Vec<Service> {
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

fn closure(label: &str, from: NaiveDate, to: NaiveDate) -> Closure {
    Closure {
        label: label.into(),
        from,
        to,
        services: ServiceSet::ALL,
    }
}

fn ymd(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

fn prices() -> Prices {
    let per_day = |forfait, cents| PriceEntry {
        forfait,
        tier: None,
        term: None,
        price: Price::PerDay(cents),
    };
    Prices {
        entries: vec![
            per_day(ForfaitKind::Dp(4), 415),
            per_day(ForfaitKind::Dp(5), 398),
            PriceEntry {
                forfait: ForfaitKind::Interne,
                tier: None,
                term: None,
                price: Price::Term(61_237),
            },
        ],
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// A pupil arrives (or comes back) on day `at` with a forfait of `days` weekdays.
    Arrive {
        pupil: usize,
        at: u64,
        five: bool,
    },
    /// Leaves after day `at`.
    Depart {
        pupil: usize,
        at: u64,
    },
    /// From day `at`, the other forfait (DP4 ↔ DP5) or the internat.
    Change {
        pupil: usize,
        at: u64,
        interne: bool,
    },
    /// A trip or a work placement.
    Away {
        pupil: usize,
        at: u64,
        len: u64,
        stage: bool,
    },
    /// Illness asked for (refused when too short: nothing changes).
    Ill {
        pupil: usize,
        at: u64,
        len: u64,
    },
    Aid {
        pupil: usize,
        cents: i64,
    },
    /// The last entry of a pupil withdrawn.
    Withdraw {
        pupil: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let pupil = 0usize..4;
    let at = 0u64..120;
    prop_oneof![
        (pupil.clone(), at.clone(), any::<bool>()).prop_map(|(pupil, at, five)| Step::Arrive {
            pupil,
            at,
            five
        }),
        (pupil.clone(), at.clone()).prop_map(|(pupil, at)| Step::Depart { pupil, at }),
        (pupil.clone(), at.clone(), any::<bool>()).prop_map(|(pupil, at, interne)| Step::Change {
            pupil,
            at,
            interne
        }),
        (pupil.clone(), at.clone(), 0u64..10, any::<bool>()).prop_map(|(pupil, at, len, stage)| {
            Step::Away {
                pupil,
                at,
                len,
                stage,
            }
        }),
        (pupil.clone(), at, 0u64..14).prop_map(|(pupil, at, len)| Step::Ill { pupil, at, len }),
        (pupil.clone(), 1i64..40_000).prop_map(|(pupil, cents)| Step::Aid { pupil, cents }),
        pupil.prop_map(|pupil| Step::Withdraw { pupil }),
    ]
}

struct School {
    persons: Vec<Person>,
    oppositions: Vec<Opposition>,
    entries: BTreeMap<PersonId, Vec<BillingInput>>,
    services: Vec<Service>,
    official: Vec<Closure>,
    own: Vec<Closure>,
    prices: Prices,
}

impl School {
    fn new() -> School {
        let persons = (0..4u32)
            .map(|i| Person {
                id: PersonId(i + 1),
                external_id: format!("E{i}"),
                last_name: format!("Nom{i}"),
                first_name: "Élève".into(),
                class: "4A".into(),
                category: Category::Eleve,
                regime: Regime::DemiPensionnaire,
                forfaits: if i % 2 == 0 {
                    vec![forfait("lun mar jeu ven", d(0), ymd(12, 31))]
                } else {
                    Vec::new()
                },
                passages_per_service: 1,
                tier: None,
            })
            .collect();
        School {
            persons,
            oppositions: Vec::new(),
            entries: BTreeMap::new(),
            services: services(),
            official: vec![
                closure("Vacances de la Toussaint", ymd(10, 17), ymd(11, 1)),
                closure("Armistice", ymd(11, 11), ymd(11, 11)),
                closure("Vacances de Noël", ymd(12, 19), ymd(12, 31)),
            ],
            own: vec![closure("Grève", ymd(11, 26), ymd(11, 26))],
            prices: prices(),
        }
    }

    fn liquidate(&self, p: &Person, entries: &[BillingInput]) -> Result<Liquidation, String> {
        let opps: Vec<Opposition> = self
            .oppositions
            .iter()
            .filter(|o| o.person == p.id)
            .cloned()
            .collect();
        liquidate(
            &term(),
            &Calendar {
                services: &self.services,
                official: &self.official,
                own: &self.own,
            },
            &Settings {
                prices: &self.prices,
                remise_min_days: 5,
            },
            &Pupil {
                person: p,
                oppositions: &opps,
                entries,
            },
        )
        .map_err(|e| e.to_string())
    }

    fn bills(&self) -> Vec<Liquidation> {
        self.persons
            .iter()
            .map(|p| {
                let entries = self.entries.get(&p.id).cloned().unwrap_or_default();
                self.liquidate(p, &entries)
                    .expect("the state stays billable")
            })
            .collect()
    }

    fn apply(&mut self, step: &Step) {
        let end = ymd(12, 31);
        match *step {
            Step::Arrive { pupil, at, five } => {
                let p = &mut self.persons[pupil];
                p.forfaits.retain(|f| f.to < d(at));
                let days = if five {
                    "lun mar mer jeu ven"
                } else {
                    "lun mar jeu ven"
                };
                p.forfaits.push(forfait(days, d(at), end));
            }
            Step::Depart { pupil, at } => {
                let p = &mut self.persons[pupil];
                p.forfaits.retain(|f| f.from <= d(at));
                for f in &mut p.forfaits {
                    f.to = f.to.min(d(at));
                }
            }
            Step::Change { pupil, at, interne } => {
                let p = &mut self.persons[pupil];
                let Some(last) = p.forfaits.last().cloned() else {
                    return;
                };
                if last.from >= d(at) || last.to < d(at) {
                    return;
                }
                if interne {
                    // The régime is the person's: every forfait is billed as the internat.
                    p.regime = Regime::Interne;
                    return;
                }
                let other = if last.weekdays.len() == 5 {
                    "lun mar jeu ven"
                } else {
                    "lun mar mer jeu ven"
                };
                if let Some(f) = p.forfaits.last_mut() {
                    f.to = d(at - 1);
                }
                p.forfaits.push(forfait(other, d(at), last.to));
            }
            Step::Away {
                pupil,
                at,
                len,
                stage,
            } => {
                let id = self.oppositions.len() as u64 + 1;
                self.oppositions.push(Opposition {
                    id,
                    person: self.persons[pupil].id,
                    reason: if stage {
                        OppositionReason::Stage
                    } else {
                        OppositionReason::Voyage
                    },
                    service: None,
                    from: d(at),
                    to: Some(d(at + len)),
                    note: String::new(),
                    lifted: false,
                });
            }
            Step::Ill { pupil, at, len } => {
                let p = self.persons[pupil].clone();
                let mut entries = self.entries.get(&p.id).cloned().unwrap_or_default();
                entries.push(BillingInput::Remise {
                    from: d(at),
                    to: d(at + len),
                    proof: "certificat".into(),
                    asked_on: d(at + len + 1),
                });
                // Refused (too short, no forfait): nothing entered, as the bursar's command.
                match self.liquidate(&p, &entries) {
                    Ok(l) if l.forfait.is_some() => {
                        self.entries.insert(p.id, entries);
                    }
                    _ => {}
                }
            }
            Step::Aid { pupil, cents } => {
                let p = self.persons[pupil].clone();
                if self.liquidate(&p, &[]).is_ok_and(|l| l.forfait.is_some()) {
                    self.entries
                        .entry(p.id)
                        .or_default()
                        .push(BillingInput::Aid {
                            kind: AidKind::Bourse,
                            cents,
                            reference: String::new(),
                        });
                }
            }
            Step::Withdraw { pupil } => {
                if let Some(e) = self.entries.get_mut(&self.persons[pupil].id) {
                    e.pop();
                }
            }
        }
    }
}

fn forfait(days: &str, from: NaiveDate, to: NaiveDate) -> Forfait {
    Forfait {
        weekdays: days.parse().unwrap(),
        services: ServiceSet::single(ServiceId(1)),
        from,
        to,
    }
}

fn constate(journal: &mut Vec<Receivable>, bills: &[Liquidation], closed: bool) -> Vec<Receivable> {
    let billed: Vec<Billed<'_>> = bills
        .iter()
        .map(|l| Billed {
            liquidation: l,
            debtor: "",
        })
        .collect();
    let lines = constatation::plan(&term(), journal, &billed, closed, "test").unwrap();
    journal.extend(lines.iter().cloned());
    lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn constating_after_every_step_ends_where_one_constatation_of_the_end_does(
        steps in proptest::collection::vec(step(), 1..25),
        close_at in 0usize..25,
    ) {
        let mut school = School::new();
        let mut journal = Vec::new();
        constate(&mut journal, &school.bills(), false);
        for (i, s) in steps.iter().enumerate() {
            school.apply(s);
            let before = journal.len();
            let lines = constate(&mut journal, &school.bills(), i >= close_at);
            // Lines only ever go on a new bordereau, numbered from 1.
            for (k, l) in lines.iter().enumerate() {
                prop_assert_eq!(l.line as usize, k + 1);
                prop_assert!(journal[..before].iter().all(|old| old.bordereau < l.bordereau));
            }
        }
        let end = school.bills();
        let once = constate(&mut Vec::new(), &end, false);
        let sum = |rs: &[Receivable], f: fn(&Receivable) -> i64| -> i64 { rs.iter().map(f).sum() };
        prop_assert_eq!(sum(&journal, |r| r.cents), sum(&once, |r| r.cents));
        prop_assert_eq!(sum(&journal, |r| r.forfait_cents), sum(&once, |r| r.forfait_cents));
        prop_assert_eq!(sum(&journal, |r| r.remises_cents), sum(&once, |r| r.remises_cents));
        prop_assert_eq!(sum(&journal, |r| r.aides_cents), sum(&once, |r| r.aides_cents));
        // Pupil by pupil too, and equal to the liquidation itself.
        for l in &end {
            let mine: i64 = journal.iter().filter(|r| r.person == l.person).map(|r| r.cents).sum();
            prop_assert_eq!(mine, l.total_cents());
        }
        // Nothing left to journal.
        prop_assert!(constate(&mut journal, &end, true).is_empty());
    }
}
