//! Retention of personal data (BRIEF §6; the users are minors): passages older than
//! `retention.passages_days` lose the person, the badge and the staff note they carry, and the
//! oppositions over by then (PRONOTE's absences, lifted ones) are deleted. What the
//! school needs stays: day, service, verdict, reason and charge of each passage (so the counts per
//! service are unchanged), credits and corrections (accounting). The purge goes through the store
//! writer like any change and is itself journaled (`Retention` event), so the journal stays
//! append-only from the user's point of view.
//!
//! Guardians (SIÈCLE responsables, kept for billing) are deleted once none of their children is
//! enrolled and the accounting period after the last departure is over
//! (`selfgate_rules::family::guardian_expired`): [`guardians_purge_op`], run with the purge.
//!
//! The purge is a store operation; the daemon runs it on `retention.schedule`
//! (`crate::node::retention`), `selfgate retention` by hand.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::infra::clock::Clock;
use crate::store::{StoreError, WriteOp, WriteOutcome};

/// The instant before which passages are anonymised, `days` before `now`.
pub fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - TimeDelta::days(i64::from(days))
}

/// The op that anonymises everything older than the configured period at `now`.
pub fn purge_op(config: &Config, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Anonymise {
        cutoff: cutoff(now, config.retention.passages_days),
        gate: config.gate.id.clone(),
        at: now,
    }
}

/// How many passages a committed purge op anonymised, and whether more remain.
pub fn purged(outcomes: &[WriteOutcome]) -> (u64, bool) {
    outcomes
        .iter()
        .find_map(|o| match o {
            WriteOutcome::Purged { anonymised, more } => Some((*anonymised, *more)),
            _ => None,
        })
        .unwrap_or((0, false))
}

/// The op that deletes the guardians that may not be kept at `now` (the school's today).
pub fn guardians_purge_op(config: &Config, now: DateTime<Utc>) -> WriteOp {
    WriteOp::PurgeGuardians {
        today: config.rules.today(now),
    }
}

/// How many guardians a committed [`guardians_purge_op`] deleted.
pub fn guardians_purged(outcomes: &[WriteOutcome]) -> u64 {
    outcomes
        .iter()
        .find_map(|o| match o {
            WriteOutcome::GuardiansPurged(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0)
}

/// `selfgate retention`: deletes the guardians that may not be kept any more, now.
pub fn purge_guardians_now(
    store: &crate::store::Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    Ok(guardians_purged(
        &store.write_now(&[guardians_purge_op(config, clock.now())])?,
    ))
}

/// `selfgate retention`: runs the purge now on a stopped daemon's store.
pub fn run_now(
    store: &crate::store::Store,
    config: &Config,
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    let now = clock.now();
    let mut total = 0;
    loop {
        let (n, more) = purged(&store.write_now(&[purge_op(config, now)])?);
        total += n;
        if !more {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use selfgate_rules::journal::{Credit, EventKind, Passage, Reason};
    use selfgate_rules::model::{PersonId, ServiceId};

    struct Fixed(DateTime<Utc>);
    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    fn pass(person: u32, day: &str) -> EventKind {
        let p = crate::store::fixtures::ticket_pass(person, day.parse().unwrap(), 390);
        EventKind::Passage(Passage {
            credential: Some(format!("0A{person:08}")),
            balance_after_cents: Some(1000),
            ..p
        })
    }

    fn counts(store: &Store) -> std::collections::BTreeMap<(String, String, String), usize> {
        let mut out = std::collections::BTreeMap::new();
        for e in store.events(None).unwrap() {
            if let Some(p) = e.passage() {
                *out.entry((
                    p.day.to_string(),
                    p.verdict.code().to_owned(),
                    p.reason.code().to_owned(),
                ))
                .or_default() += 1;
            }
        }
        out
    }

    #[test]
    fn four_months_later_old_passages_are_anonymised_and_counts_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Config::defaults();
        let november = "2026-11-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let march = "2027-03-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let person = crate::store::fixtures::person(0);
        store
            .write_now(&[
                WriteOp::PutPerson(person),
                WriteOp::Append {
                    gate: "g".into(),
                    at: november,
                    kind: EventKind::Credit(Credit {
                        person: PersonId(0),
                        cents: 5000,
                        note: "paiement".into(),
                    }),
                },
                WriteOp::Append {
                    gate: "g".into(),
                    at: november,
                    kind: pass(0, "2026-11-16"),
                },
                WriteOp::Append {
                    gate: "g".into(),
                    at: march,
                    kind: pass(0, "2027-03-16"),
                },
            ])
            .unwrap();
        let before = counts(&store);
        let balance = store
            .load_engine(config.rules.clone(), "2026-11-16".parse().unwrap())
            .unwrap()
            .roster()
            .balance(PersonId(0));

        // Four months after November, at the default 92 days.
        let n = run_now(&store, &config, &Fixed(march)).unwrap();
        assert_eq!(n, 1);
        let events = store.events(None).unwrap();
        let old = events[1].passage().unwrap();
        assert_eq!(
            (
                old.person,
                old.credential.as_deref(),
                old.balance_after_cents
            ),
            (None, None, None)
        );
        assert_eq!(
            (old.charge_cents, old.reason),
            (390, Reason::Ticket),
            "accounting stays"
        );
        let recent = events[2].passage().unwrap();
        assert_eq!(
            recent.person,
            Some(PersonId(0)),
            "recent passages keep their person"
        );
        assert!(
            matches!(&events[0].kind, EventKind::Credit(c) if c.person == PersonId(0)),
            "credits stay"
        );
        assert!(
            matches!(&events[3].kind, EventKind::Retention(r) if r.anonymised == 1),
            "the purge is journaled"
        );
        assert_eq!(
            counts(&store),
            before,
            "counts per day, verdict and reason are unchanged"
        );
        let engine = store
            .load_engine(config.rules.clone(), "2026-11-16".parse().unwrap())
            .unwrap();
        assert_eq!(engine.roster().balance(PersonId(0)), balance);
        assert!(
            engine
                .served()
                .get(PersonId(0), "2026-11-16".parse().unwrap(), ServiceId(1))
                .is_none(),
            "old anti-passback rows gone"
        );

        // Running it again anonymises nothing more.
        assert_eq!(run_now(&store, &config, &Fixed(march)).unwrap(), 0);
    }

    #[test]
    fn a_large_purge_runs_in_batches_and_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Config::defaults();
        let november = "2026-11-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let march = "2027-03-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let ops: Vec<WriteOp> = (0..25_000)
            .map(|i| WriteOp::Append {
                gate: "g".into(),
                at: november,
                kind: pass(i % 500, "2026-11-16"),
            })
            .collect();
        store.write_now(&ops).unwrap();
        let (first, more) = purged(&store.write_now(&[purge_op(&config, march)]).unwrap());
        assert_eq!(
            (first, more),
            (20_000, true),
            "one op stops at its batch limit"
        );
        assert_eq!(
            run_now(&store, &config, &Fixed(march)).unwrap(),
            5_000,
            "the next run resumes after it"
        );
        let events = store.events(None).unwrap();
        assert!(
            events
                .iter()
                .filter_map(|e| e.passage())
                .all(|p| p.person.is_none())
        );
        let purges = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Retention(_)))
            .count();
        assert_eq!(
            purges, 2,
            "each batch that anonymised something is journaled"
        );
    }

    #[test]
    fn bad_retention_settings_name_their_key() {
        let e = Config::parse(
            "[retention]\npassages_days = 0\nschedule = \"every night\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.errors
                .iter()
                .any(|m| m.starts_with("retention.passages_days")),
            "{e}"
        );
        assert!(
            e.errors.iter().any(|m| m.starts_with("retention.schedule")),
            "{e}"
        );
    }

    #[test]
    fn oppositions_over_before_the_cutoff_are_deleted_those_in_force_stay() {
        use selfgate_rules::model::{Opposition, OppositionReason};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Config::defaults();
        let march = "2027-03-16T11:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        let opposition = |id: u64, reason, from: &str, to: Option<&str>, lifted| Opposition {
            id,
            person: PersonId(0),
            reason,
            service: None,
            from: day(from),
            to: to.map(day),
            note: "test".into(),
            lifted,
        };
        let absent = opposition(
            1,
            OppositionReason::AbsentPronote,
            "2026-11-16",
            Some("2026-11-16"),
            false,
        );
        let lifted = opposition(2, OppositionReason::Manuelle, "2026-11-02", None, true);
        let unpaid = opposition(3, OppositionReason::Impaye, "2026-11-02", None, false);
        let recent = opposition(
            4,
            OppositionReason::AbsentPronote,
            "2027-03-01",
            Some("2027-03-01"),
            false,
        );
        store
            .write_now(&[
                WriteOp::PutPerson(crate::store::fixtures::person(0)),
                WriteOp::PutOpposition(absent),
                WriteOp::PutOpposition(lifted),
                WriteOp::PutOpposition(unpaid.clone()),
                WriteOp::PutOpposition(recent.clone()),
            ])
            .unwrap();
        run_now(&store, &config, &Fixed(march)).unwrap();
        let engine = store
            .load_engine(config.rules.clone(), day("2027-03-16"))
            .unwrap();
        assert_eq!(
            engine.roster().oppositions_of(PersonId(0)),
            &[unpaid.clone(), recent.clone()],
            "a November absence and an opposition lifted since go; one in force and a recent absence stay"
        );

        // The same rule on the running gate's index.
        let mut roster = store
            .load_engine(config.rules.clone(), day("2027-03-16"))
            .unwrap();
        roster.roster_mut().put_opposition(opposition(
            5,
            OppositionReason::AbsentPronote,
            "2026-12-01",
            Some("2026-12-01"),
            false,
        ));
        roster
            .roster_mut()
            .forget_oppositions_before(day("2026-12-14"));
        assert_eq!(
            roster.roster().oppositions_of(PersonId(0)),
            &[unpaid, recent]
        );
    }

    fn guardian(id: &str, children: &[(&str, Option<&str>)]) -> selfgate_rules::family::Guardian {
        use selfgate_rules::family::{Guardian, GuardianLink};
        Guardian {
            id: id.into(),
            civility: "MME".into(),
            last_name: "CŒUR".into(),
            first_name: "Anne".into(),
            address: vec!["1 rue du Cœur".into()],
            postal_code: "31000".into(),
            city: "TOULOUSE".into(),
            country: String::new(),
            email: String::new(),
            phone: String::new(),
            children: children
                .iter()
                .map(|(e, ended)| GuardianLink {
                    eleve_id: (*e).into(),
                    legal: true,
                    rank: 1,
                    pays: false,
                    relation: "10".into(),
                    ended: ended.map(|d| d.parse().unwrap()),
                })
                .collect(),
        }
    }

    #[test]
    fn guardians_go_at_the_end_of_the_year_after_their_last_child_left() {
        use selfgate_rules::model::{
            Forfait, Opposition, OppositionReason, ServiceSet, WeekdaySet,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Config::defaults();
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        let pupil = |id: u32, eleve: &str, to: &str| {
            let mut p = crate::store::fixtures::person(id);
            p.external_id = eleve.into();
            p.forfaits = vec![Forfait {
                weekdays: WeekdaySet::SCHOOL_WEEK,
                services: ServiceSet::single(ServiceId(1)),
                from: day("2025-09-01"),
                to: day(to),
            }];
            p
        };
        // 1001 stays (its forfait ends with the year, and it has no departure); 1003 left on
        // 13 February 2026, as the SIÈCLE import marks it.
        let departure = Opposition {
            id: 1,
            person: PersonId(1),
            reason: OppositionReason::Depart,
            service: None,
            from: day("2026-02-14"),
            to: None,
            note: "SIÈCLE : sortie de l'établissement".into(),
            lifted: false,
        };
        store
            .write_now(&[
                WriteOp::PutPerson(pupil(0, "1001", "2026-07-03")),
                WriteOp::PutPerson(pupil(1, "1003", "2026-02-13")),
                WriteOp::PutOpposition(departure),
                // The family: a child still here keeps its guardian.
                WriteOp::PutGuardian(Box::new(guardian(
                    "9001",
                    &[("1001", None), ("1003", None)],
                ))),
                // Only a child who has left.
                WriteOp::PutGuardian(Box::new(guardian("9002", &[("1003", None)]))),
                // A link SIÈCLE stopped listing on 2 March 2026, to a child still here.
                WriteOp::PutGuardian(Box::new(guardian("9003", &[("1001", Some("2026-03-02"))]))),
                // A child the store does not know.
                WriteOp::PutGuardian(Box::new(guardian("9004", &[("4242", None)]))),
            ])
            .unwrap();
        let ids = |store: &Store| -> Vec<String> {
            store
                .guardians()
                .unwrap()
                .into_iter()
                .map(|g| g.id)
                .collect()
        };
        let at = |s: &str| Fixed(s.parse::<DateTime<Utc>>().unwrap());

        // A day after 1003 left: only the guardian of nobody known goes.
        assert_eq!(
            purge_guardians_now(&store, &config, &at("2026-02-15T10:00:00Z")).unwrap(),
            1
        );
        assert_eq!(ids(&store), ["9001", "9002", "9003"]);
        // Kept through the accounting year after 2026: the last day, in Paris, still kept.
        assert_eq!(
            purge_guardians_now(&store, &config, &at("2027-12-31T22:30:00Z")).unwrap(),
            0,
            "23:30 on 31 December in Paris"
        );
        assert_eq!(
            purge_guardians_now(&store, &config, &at("2027-12-31T23:30:00Z")).unwrap(),
            2,
            "00:30 on 1 January 2028 in Paris"
        );
        assert_eq!(ids(&store), ["9001"], "1001 is still enrolled");
        assert_eq!(
            purge_guardians_now(&store, &config, &at("2040-01-01T12:00:00Z")).unwrap(),
            0
        );

        // 1001 leaves in turn (its forfait closed, a departure in force): its guardian goes
        // once 2027 is over.
        store
            .write_now(&[
                WriteOp::PutPerson(pupil(0, "1001", "2026-05-29")),
                WriteOp::PutOpposition(Opposition {
                    id: 2,
                    person: PersonId(0),
                    reason: OppositionReason::Depart,
                    service: None,
                    from: day("2026-06-01"),
                    to: None,
                    note: String::new(),
                    lifted: false,
                }),
            ])
            .unwrap();
        let left = store
            .write_now(&[guardians_purge_op(
                &config,
                "2028-01-02T12:00:00Z".parse().unwrap(),
            )])
            .unwrap();
        assert_eq!(guardians_purged(&left), 1);
        assert!(store.guardians().unwrap().is_empty());
    }
}
