//! Guardians (*responsables*, SIÈCLE `BEE_RESPONSABLES`) and who pays for a pupil.
//!
//! Guardians are personal data of adults about minors (BRIEF §6): the store keeps what billing
//! and the family space need — name, postal address, e-mail, telephone, and the link to each
//! child — while one of their children is enrolled, plus the accounting period
//! ([`guardian_kept_until`]), then the retention purge deletes them ([`guardian_expired`]).
//!
//! - [`payer_of`]: who pays for a pupil; [`families`]: pupils grouped by who pays (one notice
//!   per family).
//! - [`child_status`]: whether a pupil of the store is still enrolled on a day, and since when
//!   it has left; [`guardian_expired`]: whether a guardian may be kept any longer.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{Opposition, OppositionReason, Person};

/// A guardian, keyed on SIÈCLE's `PERSONNE_ID`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    /// SIÈCLE `PERSONNE_ID` (stable across exports).
    pub id: String,
    /// `M.`, `Mme`… as SIÈCLE gives it (`LC_CIVILITE`), possibly empty.
    pub civility: String,
    pub last_name: String,
    pub first_name: String,
    /// The address lines (`LIGNE1_ADRESSE`…`LIGNE4_ADRESSE`), empty ones left out.
    pub address: Vec<String>,
    pub postal_code: String,
    /// `LIBELLE_POSTAL` (the city as La Poste writes it).
    pub city: String,
    /// Country name when not France (`LL_PAYS`), else empty.
    pub country: String,
    pub email: String,
    pub phone: String,
    /// The pupils this person is a guardian of.
    pub children: Vec<GuardianLink>,
}

/// One guardian–pupil link (`RESPONSABLE_ELEVE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianLink {
    /// The pupil's SIÈCLE `ELEVE_ID` (our `Person::external_id`).
    pub eleve_id: String,
    /// A legal guardian (`RESP_LEGAL` 1 or 2 before 2018, `NIVEAU_RESPONSABILITE` 1 after).
    pub legal: bool,
    /// Rank among the pupil's legal guardians: `RESP_LEGAL` (1, 2) before 2018; from 2018
    /// (which has no rank) their order in the file, 1, 2…; 0 for one who is not legal.
    pub rank: u8,
    /// `PAIE_FRAIS_SCOLAIRES` = 1 (2018 generation only).
    pub pays: bool,
    /// `CODE_PARENTE` as given (the two generations code it differently).
    pub relation: String,
    /// `None` while SIÈCLE lists this link. Set to the day of an import whose guardians file
    /// gave the pupil's guardians without this person: the link no longer counts (nobody pays
    /// through it), and is kept for the accounting period like a departure.
    pub ended: Option<NaiveDate>,
}

impl GuardianLink {
    /// Listed by SIÈCLE at the last import (not [`ended`](Self::ended)).
    pub fn current(&self) -> bool {
        self.ended.is_none()
    }
}

impl Guardian {
    /// "Mme Marie DURAND": how an envelope names the guardian.
    pub fn postal_name(&self) -> String {
        let mut s = String::new();
        if !self.civility.trim().is_empty() {
            s.push_str(self.civility.trim());
            s.push(' ');
        }
        s.push_str(self.first_name.trim());
        if !self.first_name.trim().is_empty() {
            s.push(' ');
        }
        s.push_str(&self.last_name.trim().to_uppercase());
        s
    }

    /// The lines of the postal address under the name (street lines, postcode and city,
    /// country when not France).
    pub fn postal_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .address
            .iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        let city = format!(
            "{} {}",
            self.postal_code.trim(),
            self.city.trim().to_uppercase()
        );
        if !city.trim().is_empty() {
            lines.push(city.trim().to_owned());
        }
        if !self.country.trim().is_empty() {
            lines.push(self.country.trim().to_uppercase());
        }
        lines
    }

    /// The current link to pupil `eleve_id` (an ended one is no link).
    pub fn link(&self, eleve_id: &str) -> Option<&GuardianLink> {
        self.children
            .iter()
            .find(|c| c.eleve_id == eleve_id && c.current())
    }
}

/// Who pays for pupil `eleve_id` (BRIEF §7): the guardian marked `PAIE_FRAIS_SCOLAIRES`, else
/// the first legal guardian (by rank, then by id), else none.
pub fn payer_of<'a>(eleve_id: &str, guardians: &'a [Guardian]) -> Option<&'a Guardian> {
    let linked = guardians
        .iter()
        .filter_map(|g| g.link(eleve_id).map(|l| (g, l)));
    let mut best: Option<(&Guardian, &GuardianLink)> = None;
    for (g, l) in linked {
        let better = match best {
            None => l.pays || l.legal,
            Some((bg, bl)) => {
                let key = |l: &GuardianLink| (!l.pays, !l.legal, l.rank);
                (key(l), g.id.as_str()) < (key(bl), bg.id.as_str())
            }
        };
        if better {
            best = Some((g, l));
        }
    }
    best.map(|(g, _)| g)
}

/// The last day a guardian may be kept when none of their children is enrolled any more since
/// `last_departure`: the end of the following accounting year (the *exercice* is the calendar
/// year; its accounts are closed in the year after it).
pub fn guardian_kept_until(last_departure: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    NaiveDate::from_ymd_opt(last_departure.year() + 1, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The pupils among `pupils` grouped by who pays for them ([`payer_of`]): payer's `PERSONNE_ID`
/// → `ELEVE_ID`s, in the order given. A family with several children is one entry, so one
/// notice; pupils without a payer are in no entry.
pub fn families<'a>(
    pupils: impl IntoIterator<Item = &'a str>,
    guardians: &[Guardian],
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for eleve_id in pupils {
        if let Some(payer) = payer_of(eleve_id, guardians) {
            let children = out.entry(payer.id.clone()).or_default();
            if !children.iter().any(|c| c == eleve_id) {
                children.push(eleve_id.to_owned());
            }
        }
    }
    out
}

/// Whether a pupil of the store is enrolled on a day, and if not, its last day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildStatus {
    pub enrolled: bool,
    /// Not enrolled: the last day it was (the day before its departure in force, or the end of
    /// its last forfait, whichever is later).
    pub left_on: Option<NaiveDate>,
}

/// A pupil is enrolled on `today` while a forfait of theirs runs that day, or while no
/// departure (`depart` opposition, put in by the SIÈCLE import for pupils who left) is in
/// force. `oppositions` are the person's.
pub fn child_status(person: &Person, oppositions: &[Opposition], today: NaiveDate) -> ChildStatus {
    let forfait_runs = person.forfaits.iter().any(|f| f.in_range(today));
    let departures: Vec<NaiveDate> = oppositions
        .iter()
        .filter(|o| {
            o.person == person.id
                && o.reason == OppositionReason::Depart
                && !o.lifted
                && o.from <= today
                && o.to.is_none_or(|to| today <= to)
        })
        .map(|o| o.from.pred_opt().unwrap_or(o.from))
        .collect();
    if forfait_runs || departures.is_empty() {
        return ChildStatus {
            enrolled: true,
            left_on: None,
        };
    }
    let last_forfait = person
        .forfaits
        .iter()
        .map(|f| f.to)
        .filter(|to| *to < today);
    ChildStatus {
        enrolled: false,
        left_on: departures.into_iter().chain(last_forfait).max(),
    }
}

/// Whether guardian `g` may be deleted on `today` (BRIEF §6): none of its children is enrolled
/// any more through a current link, and `today` is past [`guardian_kept_until`] of the last
/// departure (a child's last day, or the day a link ended, whichever came first for that link).
/// `status` tells what the store knows of a pupil by `ELEVE_ID`; a pupil it does not know gives
/// no date. A guardian with no date at all (no child known) is not kept.
pub fn guardian_expired(
    g: &Guardian,
    status: impl Fn(&str) -> Option<ChildStatus>,
    today: NaiveDate,
) -> bool {
    let mut last: Option<NaiveDate> = None;
    for link in &g.children {
        let child = status(&link.eleve_id);
        let departed = match (link.ended, child) {
            (None, Some(s)) if s.enrolled => return false,
            (None, Some(s)) => s.left_on,
            (None, None) => None,
            (Some(end), Some(s)) if !s.enrolled => Some(s.left_on.map_or(end, |d| d.min(end))),
            (Some(end), _) => Some(end),
        };
        last = last.max(departed);
    }
    last.is_none_or(|d| today > guardian_kept_until(d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn g(id: &str, links: &[(&str, bool, u8, bool)]) -> Guardian {
        Guardian {
            id: id.into(),
            civility: "Mme".into(),
            last_name: format!("Nom{id}"),
            first_name: "Marie".into(),
            address: vec!["3 rue des Lilas".into(), "".into()],
            postal_code: "31000".into(),
            city: "Toulouse".into(),
            country: String::new(),
            email: String::new(),
            phone: String::new(),
            children: links
                .iter()
                .map(|(e, legal, rank, pays)| GuardianLink {
                    eleve_id: (*e).into(),
                    legal: *legal,
                    rank: *rank,
                    pays: *pays,
                    relation: String::new(),
                    ended: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_one_who_pays_then_the_first_legal_guardian_then_nobody() {
        let all = vec![
            g("3", &[("A", true, 1, false), ("B", true, 2, false)]),
            g("2", &[("A", true, 2, true), ("B", true, 1, false)]),
            g("1", &[("C", false, 0, false)]),
        ];
        assert_eq!(
            payer_of("A", &all).unwrap().id,
            "2",
            "PAIE_FRAIS_SCOLAIRES wins"
        );
        assert_eq!(payer_of("B", &all).unwrap().id, "2", "rank 1 before rank 2");
        assert!(payer_of("C", &all).is_none(), "a contact never pays");
        assert!(payer_of("Z", &all).is_none());
    }

    #[test]
    fn an_envelope_names_and_addresses_the_guardian() {
        let x = g("1", &[]);
        assert_eq!(x.postal_name(), "Mme Marie NOM1");
        assert_eq!(x.postal_lines(), ["3 rue des Lilas", "31000 TOULOUSE"]);
        assert_eq!(
            guardian_kept_until(NaiveDate::from_ymd_opt(2026, 7, 3).unwrap()),
            NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()
        );
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn two_children_sharing_a_payer_are_one_family() {
        // 1 pays for A and B (their mother, marked for both); C's only legal guardian is 3;
        // D has a contact only.
        let all = vec![
            g("1", &[("A", true, 1, true), ("B", true, 1, true)]),
            g("2", &[("A", true, 2, false), ("B", true, 2, false)]),
            g("3", &[("C", true, 1, false)]),
            g("4", &[("D", false, 0, false)]),
        ];
        let f = families(["A", "B", "C", "D", "A"], &all);
        assert_eq!(
            f,
            BTreeMap::from([
                ("1".to_owned(), vec!["A".to_owned(), "B".to_owned()]),
                ("3".to_owned(), vec!["C".to_owned()]),
            ])
        );
        assert_eq!(f.values().filter(|c| c.len() > 1).count(), 1);
        // A link SIÈCLE no longer lists pays for nobody: B's payer is then its father.
        let mut ended = all.clone();
        ended[0].children[1].ended = Some(d(2026, 3, 2));
        assert!(ended[0].link("B").is_none());
        assert_eq!(payer_of("B", &ended).unwrap().id, "2");
        let f = families(["A", "B"], &ended);
        assert_eq!(f["1"], ["A"]);
        assert_eq!(f["2"], ["B"]);
    }

    fn pupil(forfait: Option<(NaiveDate, NaiveDate)>) -> Person {
        use crate::model::{Category, Forfait, PersonId, Regime, ServiceSet, WeekdaySet};
        Person {
            id: PersonId(7),
            external_id: "1001".into(),
            last_name: "Cœur".into(),
            first_name: "Éloïse".into(),
            class: "6A".into(),
            category: Category::Eleve,
            regime: Regime::DemiPensionnaire,
            forfaits: forfait
                .map(|(from, to)| Forfait {
                    weekdays: WeekdaySet::SCHOOL_WEEK,
                    services: ServiceSet::single(crate::model::ServiceId(1)),
                    from,
                    to,
                })
                .into_iter()
                .collect(),
            passages_per_service: 1,
            tier: None,
        }
    }

    fn depart(from: NaiveDate, lifted: bool) -> Opposition {
        Opposition {
            id: 1,
            person: crate::model::PersonId(7),
            reason: OppositionReason::Depart,
            service: None,
            from,
            to: None,
            note: String::new(),
            lifted,
        }
    }

    #[test]
    fn a_child_is_enrolled_while_its_forfait_runs_or_no_departure_is_in_force() {
        let year = (d(2025, 9, 1), d(2026, 7, 3));
        let here = ChildStatus {
            enrolled: true,
            left_on: None,
        };
        // Au ticket (no forfait), no departure: enrolled.
        assert_eq!(child_status(&pupil(None), &[], d(2026, 1, 15)), here);
        // Left on 13 February (DATE_SORTIE): forfait to the 13th, refused from the 14th.
        let left = pupil(Some((year.0, d(2026, 2, 13))));
        let gone = [depart(d(2026, 2, 14), false)];
        assert_eq!(child_status(&left, &gone, d(2026, 2, 13)), here);
        assert_eq!(
            child_status(&left, &gone, d(2026, 2, 14)),
            ChildStatus {
                enrolled: false,
                left_on: Some(d(2026, 2, 13))
            }
        );
        // A departure lifted (back in the school) is none; another person's is not theirs.
        assert_eq!(
            child_status(&left, &[depart(d(2026, 2, 14), true)], d(2026, 3, 1)),
            here
        );
        let mut other = depart(d(2026, 2, 14), false);
        other.person = crate::model::PersonId(8);
        assert_eq!(child_status(&left, &[other], d(2026, 3, 1)), here);
        // A forfait running today wins over a departure in force.
        let running = pupil(Some(year));
        assert_eq!(child_status(&running, &gone, d(2026, 3, 1)), here);
        // Au ticket and gone: its last day is the day before the departure.
        assert_eq!(
            child_status(&pupil(None), &gone, d(2026, 3, 1)).left_on,
            Some(d(2026, 2, 13))
        );
    }

    #[test]
    fn a_guardian_is_kept_until_the_end_of_the_year_after_its_last_child_left() {
        let gone = |day| ChildStatus {
            enrolled: false,
            left_on: Some(day),
        };
        let here = ChildStatus {
            enrolled: true,
            left_on: None,
        };
        let x = g("1", &[("A", true, 1, true), ("B", true, 1, true)]);
        // A left in 2024, B in July 2026: kept to 31 December 2027.
        let status = |e: &str| match e {
            "A" => Some(gone(d(2024, 7, 5))),
            "B" => Some(gone(d(2026, 7, 3))),
            _ => None,
        };
        assert!(!guardian_expired(&x, status, d(2027, 12, 31)));
        assert!(guardian_expired(&x, status, d(2028, 1, 1)));
        // While one child is enrolled, never.
        let one_here = |e: &str| match e {
            "A" => Some(gone(d(2020, 7, 5))),
            _ => Some(here),
        };
        assert!(!guardian_expired(&x, one_here, d(2040, 1, 1)));
        // A link SIÈCLE no longer lists is a departure on the day it ended, even if the child
        // is still enrolled.
        let mut ended = x.clone();
        ended.children[1].ended = Some(d(2026, 3, 2));
        let b_here = |e: &str| match e {
            "A" => Some(gone(d(2024, 7, 5))),
            _ => Some(here),
        };
        assert!(!guardian_expired(&ended, b_here, d(2027, 12, 31)));
        assert!(guardian_expired(&ended, b_here, d(2028, 1, 1)));
        // No child the store knows: nothing justifies keeping them.
        assert!(guardian_expired(&x, |_| None, d(2026, 1, 1)));
    }
}
