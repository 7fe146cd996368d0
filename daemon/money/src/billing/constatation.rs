//! The constatation (BRIEF §7): from the term's liquidations and what the journal already holds
//! for the term, the receivable lines to journal.
//!
//! The first run of a term constates one receivable per pupil (bordereau 1). Every later run
//! journals only the differences, pupil by pupil and amount by amount (forfait, remises, aid),
//! as *re-constatations* on the next bordereau: positive or negative, never an edit. So after
//! any run, what the journal holds for a pupil adds up to their current liquidation.
//! A pupil first billed by a later run is a constatation while the term is open, a
//! re-constatation once it is closed.

use std::collections::{BTreeMap, BTreeSet};

use selfgate_rules::journal::{Receivable, ReceivableKind};
use selfgate_rules::model::PersonId;

use super::{BillingError, Liquidation, Term};

/// The sums of the lines journaled for one pupil in a term.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constated {
    pub forfait_cents: i64,
    pub remises_cents: i64,
    pub aides_cents: i64,
    pub cents: i64,
}

impl Constated {
    fn add(self, r: &Receivable) -> Option<Constated> {
        Some(Constated {
            forfait_cents: self.forfait_cents.checked_add(r.forfait_cents)?,
            remises_cents: self.remises_cents.checked_add(r.remises_cents)?,
            aides_cents: self.aides_cents.checked_add(r.aides_cents)?,
            cents: self.cents.checked_add(r.cents)?,
        })
    }

    pub fn of(l: &Liquidation) -> Constated {
        Constated {
            forfait_cents: l.forfait_cents(),
            remises_cents: l.remises_cents(),
            aides_cents: l.aides_cents(),
            cents: l.total_cents(),
        }
    }

    fn minus(self, other: Constated) -> Option<Constated> {
        Some(Constated {
            forfait_cents: self.forfait_cents.checked_sub(other.forfait_cents)?,
            remises_cents: self.remises_cents.checked_sub(other.remises_cents)?,
            aides_cents: self.aides_cents.checked_sub(other.aides_cents)?,
            cents: self.cents.checked_sub(other.cents)?,
        })
    }

    pub fn is_zero(self) -> bool {
        self == Constated::default()
    }
}

/// What the journal holds for the term, per pupil (the lines of `term` only are counted).
pub fn constated(
    term: &Term,
    previous: &[Receivable],
) -> Result<BTreeMap<PersonId, Constated>, BillingError> {
    let mut out: BTreeMap<PersonId, Constated> = BTreeMap::new();
    for r in previous
        .iter()
        .filter(|r| r.year == term.year && r.term == term.code)
    {
        let sum = out.entry(r.person).or_default();
        *sum = sum.add(r).ok_or_else(|| BillingError::Overflow {
            what: format!("the receivables of person {} in {}", r.person.0, term.code),
        })?;
    }
    Ok(out)
}

/// One pupil's bill now, with the guardian who pays (their `PERSONNE_ID`, empty when none).
#[derive(Clone, Copy, Debug)]
pub struct Billed<'a> {
    pub liquidation: &'a Liquidation,
    pub debtor: &'a str,
}

/// The receivable lines a run journals: the differences between `now` (the liquidation of
/// every pupil billed in the term, in the order the bordereau lists them) and what `previous`
/// holds. Pupils constated before and absent from `now` are brought back to zero. Lines are
/// numbered from 1 on bordereau `max(previous) + 1`. Nothing to journal: an empty list.
pub fn plan(
    term: &Term,
    previous: &[Receivable],
    now: &[Billed<'_>],
    closed: bool,
    by: &str,
) -> Result<Vec<Receivable>, BillingError> {
    let before = constated(term, previous)?;
    let bordereau = previous
        .iter()
        .filter(|r| r.year == term.year && r.term == term.code)
        .map(|r| r.bordereau)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let overflow = |p: PersonId| BillingError::Overflow {
        what: format!("the difference for person {} in {}", p.0, term.code),
    };

    let mut seen = BTreeSet::new();
    let mut wanted: Vec<(PersonId, Constated, String, String)> = Vec::new();
    for b in now {
        let l = b.liquidation;
        if !seen.insert(l.person) {
            continue;
        }
        wanted.push((
            l.person,
            Constated::of(l),
            l.forfait.map(|f| f.code()).unwrap_or_default(),
            b.debtor.to_owned(),
        ));
    }
    // Constated before, billed no more: back to zero.
    for (person, _) in before.iter().filter(|(p, _)| !seen.contains(p)) {
        let debtor = previous
            .iter()
            .rev()
            .find(|r| r.person == *person && r.term == term.code && r.year == term.year)
            .map(|r| r.debtor.clone())
            .unwrap_or_default();
        wanted.push((*person, Constated::default(), String::new(), debtor));
    }

    let mut out = Vec::new();
    for (person, target, forfait, debtor) in wanted {
        let had = before.get(&person).copied();
        let diff = target
            .minus(had.unwrap_or_default())
            .ok_or_else(|| overflow(person))?;
        if diff.is_zero() {
            continue;
        }
        let kind = if had.is_none() && !closed {
            ReceivableKind::Constatation
        } else {
            ReceivableKind::Reconstatation
        };
        out.push(Receivable {
            person,
            year: term.year,
            term: term.code.clone(),
            bordereau,
            line: u32::try_from(out.len() + 1).unwrap_or(u32::MAX),
            kind,
            forfait,
            debtor,
            forfait_cents: diff.forfait_cents,
            remises_cents: diff.remises_cents,
            aides_cents: diff.aides_cents,
            cents: diff.cents,
            by: by.to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::billing::{ForfaitKind, Line, LineKind, RemiseCause};
    use chrono::NaiveDate;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn term() -> Term {
        Term {
            code: "T1".into(),
            label: "T1".into(),
            year: 2026,
            from: d(9, 1),
            to: d(12, 31),
            remise_deadline: d(12, 31),
        }
    }

    fn liq(person: u32, forfait: i64, remise: i64) -> Liquidation {
        let line = |kind, cents| Line {
            kind,
            label: String::new(),
            from: d(9, 1),
            to: d(12, 31),
            days: 0,
            unit_cents: 0,
            cents,
        };
        let mut lines = vec![line(LineKind::Forfait, forfait)];
        if remise != 0 {
            lines.push(line(LineKind::Remise(RemiseCause::Maladie), -remise));
        }
        Liquidation {
            person: PersonId(person),
            year: 2026,
            term: "T1".into(),
            forfait: Some(ForfaitKind::Dp(4)),
            lines,
        }
    }

    #[test]
    fn a_second_run_journals_only_the_differences_on_the_next_bordereau() {
        let (a, b) = (liq(1, 20_000, 0), liq(2, 15_000, 0));
        let first = plan(
            &term(),
            &[],
            &[
                Billed {
                    liquidation: &a,
                    debtor: "P1",
                },
                Billed {
                    liquidation: &b,
                    debtor: "P2",
                },
            ],
            false,
            "intendance",
        )
        .unwrap();
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|r| r.bordereau == 1
            && r.kind == ReceivableKind::Constatation
            && r.forfait == "dp4"));
        assert_eq!(
            first.iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 2],
            "numbered from 1"
        );
        // Same state: nothing to journal.
        let again = plan(
            &term(),
            &first,
            &[
                Billed {
                    liquidation: &a,
                    debtor: "P1",
                },
                Billed {
                    liquidation: &b,
                    debtor: "P2",
                },
            ],
            false,
            "x",
        )
        .unwrap();
        assert!(again.is_empty());
        // A remise for 1; 2 left the school (absent now); 3 arrives after the term is closed.
        let a2 = liq(1, 20_000, 820);
        let c = liq(3, 4_000, 0);
        let second = plan(
            &term(),
            &first,
            &[
                Billed {
                    liquidation: &a2,
                    debtor: "P1",
                },
                Billed {
                    liquidation: &c,
                    debtor: "",
                },
            ],
            true,
            "x",
        )
        .unwrap();
        let got: Vec<(u32, u32, i64, i64, i64, ReceivableKind, &str)> = second
            .iter()
            .map(|r| {
                (
                    r.person.0,
                    r.bordereau,
                    r.forfait_cents,
                    r.remises_cents,
                    r.cents,
                    r.kind,
                    r.debtor.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, 2, 0, 820, -820, ReceivableKind::Reconstatation, "P1"),
                (3, 2, 4_000, 0, 4_000, ReceivableKind::Reconstatation, ""),
                (
                    2,
                    2,
                    -15_000,
                    0,
                    -15_000,
                    ReceivableKind::Reconstatation,
                    "P2"
                ),
            ]
        );
        let mut all = first.clone();
        all.extend(second);
        let sums = constated(&term(), &all).unwrap();
        assert_eq!(sums[&PersonId(1)].cents, 20_000 - 820);
        assert!(sums[&PersonId(2)].is_zero());
    }
}
