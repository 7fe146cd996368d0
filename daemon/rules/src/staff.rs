//! What staff change on the roster by hand, decided from the roster as it stands: an opposition
//! put in or lifted, a badge declared lost. Pure: the caller commits the result (through the
//! running gate, or on a stopped store) — the kiosk and the command line alike.

use chrono::NaiveDate;

use crate::engine::Roster;
use crate::model::{
    BadgeNumber, Credential, CredentialStatus, Opposition, OppositionReason, ServiceId,
};

/// Why a staff change cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StaffRefusal {
    #[error("no person with identifiant `{0}`")]
    UnknownPerson(String),
    #[error("person `{person}` has no opposition {id}")]
    UnknownOpposition { person: String, id: u64 },
    #[error("no badge {0}")]
    UnknownBadge(String),
    #[error("the end {to} is before the start {from}")]
    EndsBeforeItStarts { from: NaiveDate, to: NaiveDate },
}

/// An opposition to put in for the person of identifiant `person`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOpposition {
    pub person: String,
    pub reason: OppositionReason,
    /// `None`: every service.
    pub service: Option<ServiceId>,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub note: String,
}

/// The opposition `o` makes, numbered after those of the roster.
pub fn add_opposition(roster: &Roster, o: &NewOpposition) -> Result<Opposition, StaffRefusal> {
    let person = roster
        .person_by_external(&o.person)
        .ok_or_else(|| StaffRefusal::UnknownPerson(o.person.clone()))?;
    if let Some(to) = o.to.filter(|to| *to < o.from) {
        return Err(StaffRefusal::EndsBeforeItStarts { from: o.from, to });
    }
    Ok(Opposition {
        id: roster.next_opposition_id(),
        person: person.id,
        reason: o.reason,
        service: o.service,
        from: o.from,
        to: o.to,
        note: o.note.clone(),
        lifted: false,
    })
}

/// Opposition `id` of the person of identifiant `person`, lifted (it stays in the history).
pub fn lift_opposition(roster: &Roster, person: &str, id: u64) -> Result<Opposition, StaffRefusal> {
    let p = roster
        .person_by_external(person)
        .ok_or_else(|| StaffRefusal::UnknownPerson(person.to_owned()))?;
    roster
        .oppositions_of(p.id)
        .iter()
        .find(|o| o.id == id)
        .map(|o| Opposition {
            lifted: true,
            ..o.clone()
        })
        .ok_or_else(|| StaffRefusal::UnknownOpposition {
            person: person.to_owned(),
            id,
        })
}

/// Badge `badge` declared lost: refused at the gate from now on (its holder keeps the rest).
pub fn declare_lost(roster: &Roster, badge: &BadgeNumber) -> Result<Credential, StaffRefusal> {
    roster
        .credential(badge.as_str())
        .map(|c| Credential {
            status: CredentialStatus::Lost,
            ..c.clone()
        })
        .ok_or_else(|| StaffRefusal::UnknownBadge(badge.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Person, PersonId, Regime};

    fn roster() -> Roster {
        let mut r = Roster::default();
        r.put_person(Person {
            id: PersonId(3),
            external_id: "E3".into(),
            last_name: "Martin".into(),
            first_name: "Léa".into(),
            class: "6A".into(),
            category: Category::Eleve,
            regime: Regime::Externe,
            forfaits: vec![],
            passages_per_service: 1,
            tier: None,
        });
        r.put_credential(Credential {
            number: "0A00000003".parse().unwrap_or_else(|e| panic!("{e}")),
            person: PersonId(3),
            status: CredentialStatus::Active,
        });
        r
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn staff_changes_are_decided_from_the_roster() {
        let mut r = roster();
        let new = NewOpposition {
            person: "E3".into(),
            reason: OppositionReason::Impaye,
            service: None,
            from: day("2026-11-16"),
            to: None,
            note: "relance".into(),
        };
        let o = add_opposition(&r, &new).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((o.person, o.id, o.lifted), (PersonId(3), 1, false));
        r.put_opposition(o.clone());
        assert_eq!(
            add_opposition(&r, &new).map(|o| o.id),
            Ok(2),
            "numbered after"
        );
        let lifted = lift_opposition(&r, "E3", 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(lifted.lifted && lifted.id == 1);
        assert!(matches!(
            lift_opposition(&r, "E3", 9),
            Err(StaffRefusal::UnknownOpposition { .. })
        ));
        assert!(matches!(
            add_opposition(
                &r,
                &NewOpposition {
                    person: "X".into(),
                    ..new.clone()
                }
            ),
            Err(StaffRefusal::UnknownPerson(_))
        ));
        assert!(matches!(
            add_opposition(
                &r,
                &NewOpposition {
                    to: Some(day("2026-11-01")),
                    ..new
                }
            ),
            Err(StaffRefusal::EndsBeforeItStarts { .. })
        ));
        let badge: BadgeNumber = "0a-00-00-00-03".parse().unwrap_or_else(|e| panic!("{e}"));
        let lost = declare_lost(&r, &badge).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lost.status, CredentialStatus::Lost);
        let other: BadgeNumber = "0A00000009".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(declare_lost(&r, &other).is_err());
    }
}
