//! A school day against the PRONOTE simulator (HTTPS, signed with the security key), with the
//! gate running on a store and a clock the test moves: meal days sent in the morning, absences
//! fetched from the tally time on and refused at the gate as "Absent (PRONOTE)", an absence
//! lifted in PRONOTE lifting the opposition, a PRONOTE that stalls or answers garbage changing
//! nothing, and after lunch the no-shows sent back: exactly the registered pupils who did not
//! pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use selfgate::config::Config;
use selfgate::infra::clock::Clock;
use selfgate::node::exchange::{ExchangeReport, Exchanges, RunStatus};
use selfgate::node::gate::{Hardware, Shared};
use selfgate::node::kiosk::view;
use selfgate::node::{Node, NodeSpec, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_hardware::sim::SimTurnstile;
use selfgate_rules::journal::{Credit, EventKind, Verdict};
use selfgate_rules::model::{
    Category, Credential, CredentialStatus, Forfait, OppositionReason, Person, PersonId, Regime,
    ServiceId, ServiceSet, WeekdaySet,
};
use selfgate_tests::pronote_sim::{Behaviour, PronoteSim};

use common::TestClock;

const LUNCH: ServiceId = ServiceId(1);

fn config(dir: &std::path::Path, sim: &PronoteSim) -> Config {
    let key = dir.join("pronote.key");
    sim.write_key_file(&key);
    let text = format!(
        r#"
[school]
name = "Collège Jean Moulin"
uai = "0999999X"
timezone = "Europe/Paris"
public_holidays = false
debounce_ms = 0
year_start = "2026-09-01"
year_end = "2027-07-06"
[store]
data_dir = "{data}"
[pronote]
enabled = true
auto_sync = true
transport = "https"
url = "{url}"
ca_file = "{ca}"
key_file = "{key}"
timeout_s = 1
tally_time = "10:00"
[[exchanges]]
name = "inscriptions"
kind = "pronote_meal_days"
schedule = "0 0 6 * * Mon-Fri"
[[exchanges]]
name = "absences"
kind = "pronote_absences"
schedule = "0 */5 * * * *"
retry_delay_s = 60
[[exchanges]]
name = "non-venus"
kind = "pronote_no_shows"
schedule = "0 0 14 * * Mon-Fri"
[[tariffs]]
category = "eleve"
price = "3,90"
"#,
        data = dir.display(),
        url = sim.url,
        ca = sim.ca_file.display(),
        key = key.display(),
    );
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Six demi-pensionnaires on DP 4 jours at lunch (ids 1000–1005, badges B0–B5) and one
/// externe on tickets (2000, badge B6, 10 €).
fn pupils(store: &Store) {
    let mut ops = Vec::new();
    let forfait = Forfait {
        weekdays: WeekdaySet::DP4,
        services: ServiceSet::single(LUNCH),
        from: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2027, 7, 6).unwrap(),
    };
    for i in 0..7u32 {
        let dp = i < 6;
        ops.push(WriteOp::PutPerson(Person {
            id: PersonId(i),
            external_id: if dp {
                format!("{}", 1000 + i)
            } else {
                "2000".into()
            },
            last_name: format!("Élève{i}"),
            first_name: "Zoé".into(),
            class: "5B".into(),
            category: Category::Eleve,
            regime: if dp {
                Regime::DemiPensionnaire
            } else {
                Regime::Externe
            },
            forfaits: if dp { vec![forfait.clone()] } else { vec![] },
            passages_per_service: 1,
            tier: None,
        }));
        ops.push(WriteOp::PutCredential(Credential {
            number: format!("B{i}").parse().unwrap(),
            person: PersonId(i),
            status: CredentialStatus::Active,
        }));
    }
    ops.push(WriteOp::Append {
        gate: "ligne-1".into(),
        at: "2026-11-01T10:00:00Z".parse().unwrap(),
        kind: EventKind::Credit(Credit {
            person: PersonId(6),
            cents: 1000,
            note: "paiement".into(),
        }),
    });
    store.write_now(&ops).unwrap();
}

/// Runs what is due now and waits for it.
async fn tick(x: &Arc<Exchanges>) -> Vec<ExchangeReport> {
    let mut out = Vec::new();
    for t in x.tick() {
        out.push(t.await.unwrap());
    }
    out
}

fn report<'a>(reports: &'a [ExchangeReport], name: &str) -> &'a ExchangeReport {
    reports
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no run of {name} in {reports:#?}"))
}

/// The oppositions of lunch on the day, as (external id, lifted).
fn lunch_oppositions(shared: &Shared, day: NaiveDate) -> BTreeSet<(String, bool)> {
    let e = shared.engine();
    e.roster()
        .oppositions()
        .filter(|o| o.reason == OppositionReason::AbsentPronote && o.from == day)
        .map(|o| {
            (
                e.roster().person(o.person).unwrap().external_id.clone(),
                o.lifted,
            )
        })
        .collect()
}

/// The gate's last decision for `badge`.
async fn read(
    shared: &Shared,
    gate: &selfgate::node::gate::GateHandle,
    badge: &str,
) -> (bool, String) {
    let before = view::recent(shared, 1000).len();
    gate.read(badge).await;
    for _ in 0..500 {
        let feed = view::recent(shared, 1000);
        if feed.len() > before {
            return (feed[0].pass, feed[0].label.clone());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no decision for {badge}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_day_with_pronote() {
    let dir = tempfile::tempdir().unwrap();
    let sim = PronoteSim::start("0999999X");
    let config = config(dir.path(), &sim);
    let store = Store::open(dir.path()).unwrap();
    pupils(&store);
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(); // a Monday
    let clock = TestClock::at("2026-11-16T04:59:00Z");
    let (turnstile, _t) = SimTurnstile::new("t", None, false).unwrap();
    let hw = Hardware {
        readers: vec![],
        turnstile: Arc::new(turnstile),
    };
    let mut spec = NodeSpec::new(config.clone(), clock.clone(), hw);
    spec.store = Some(store.clone());
    // The test ticks the exchanges itself, at the instants it sets on the clock.
    spec.services = Services::NONE;
    let node = Node::start(spec).await.unwrap();
    let shared = node.shared().clone();
    assert_eq!(shared.engine().local(clock.now()).0, day);
    let handle = node.gate().clone();
    let exchanges = Exchanges::for_daemon(handle.clone(), store.clone());

    // 06:00 in Paris: the meal days go to PRONOTE; absences are not fetched before the tally.
    clock.set("2026-11-16T05:00:00Z");
    let runs = tick(&exchanges).await;
    assert_eq!(report(&runs, "inscriptions").status, RunStatus::Ok);
    let sent = sim.received("inscriptions");
    assert_eq!(sent.len(), 1);
    let eleves = sent[0]["eleves"].as_array().unwrap();
    let ids: Vec<&str> = eleves.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1000", "1001", "1002", "1003", "1004", "1005"]);
    let days: Vec<&str> = eleves[0]["repas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        [
            "2026-11-16",
            "2026-11-17",
            "2026-11-19",
            "2026-11-20",
            "2026-11-23",
            "2026-11-24",
            "2026-11-26",
            "2026-11-27",
            "2026-11-30"
        ],
        "DP 4 jours: no Wednesday, over the 14 days ahead"
    );
    assert_eq!(eleves[0]["repas"][0]["services"][0], "dejeuner");
    assert!(sim.refused().is_empty(), "{:?}", sim.refused());

    // PRONOTE has two pupils absent; at 09:55 it is before the tally time: nothing is asked.
    sim.set_absent("2026-11-16", "dejeuner", &["1001", "1002"]);
    let asked = sim.requests();
    clock.set("2026-11-16T08:55:00Z");
    let runs = tick(&exchanges).await;
    assert_eq!(report(&runs, "absences").status, RunStatus::Ok);
    assert_eq!(sim.requests(), asked, "no request before the tally time");
    assert!(lunch_oppositions(&shared, day).is_empty());

    // 10:05: after the tally, the absences arrive and become oppositions for lunch.
    clock.set("2026-11-16T09:05:00Z");
    let runs = tick(&exchanges).await;
    let r = report(&runs, "absences");
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    assert!(
        r.received[0].contains("2 opposition(s) posée(s)"),
        "{:?}",
        r.received
    );
    assert_eq!(
        lunch_oppositions(&shared, day),
        BTreeSet::from([("1001".into(), false), ("1002".into(), false)])
    );

    // 11:30: lunch. The absent pupils are refused at the gate, "Absent (PRONOTE)".
    clock.set("2026-11-16T10:30:00Z");
    assert_eq!(read(&shared, &handle, "B0").await, (true, "Forfait".into()));
    assert_eq!(
        read(&shared, &handle, "B1").await,
        (false, "Absent (PRONOTE)".into())
    );
    assert_eq!(
        read(&shared, &handle, "B2").await,
        (false, "Absent (PRONOTE)".into())
    );
    assert!(read(&shared, &handle, "B6").await.0, "ticket pupil");

    // 11:40: PRONOTE lifts 1002's absence: the opposition is lifted, the pupil passes.
    sim.set_absent("2026-11-16", "dejeuner", &["1001"]);
    clock.set("2026-11-16T10:40:00Z");
    let runs = tick(&exchanges).await;
    assert!(
        report(&runs, "absences").received[0].contains("1 levée(s)"),
        "{runs:#?}"
    );
    assert_eq!(
        lunch_oppositions(&shared, day),
        BTreeSet::from([("1001".into(), false), ("1002".into(), true)])
    );
    assert_eq!(read(&shared, &handle, "B2").await, (true, "Forfait".into()));

    // PRONOTE misbehaves: each run fails with a clear error and changes nothing.
    sim.set_absent("2026-11-16", "dejeuner", &[]);
    let before = lunch_oppositions(&shared, day);
    let cases = [
        (Behaviour::Stall(Duration::from_secs(3)), "délai dépassé"),
        (Behaviour::Garbage, "document illisible, ligne 1"),
        (Behaviour::Truncated, "document illisible, ligne"),
        (Behaviour::Unsigned, "mal signée"),
        (Behaviour::Status(500), "PRONOTE a répondu 500"),
    ];
    for (i, (behaviour, expected)) in cases.into_iter().enumerate() {
        sim.behave(behaviour.clone());
        clock.set(&format!("2026-11-16T10:{}:00Z", 45 + i));
        let r = exchanges.run_by_hand("absences").await.unwrap();
        assert_eq!(r.status, RunStatus::Error, "{behaviour:?}");
        let error = r.error.clone().unwrap();
        assert!(
            error.contains(expected) && error.contains("rien n'a été changé"),
            "{behaviour:?}: {error}"
        );
        assert_eq!(lunch_oppositions(&shared, day), before, "{behaviour:?}");
    }
    // On schedule: a run that stalls is not started twice (a hand run is refused meanwhile),
    // fails at its timeout and is tried again 60 s later; the retry succeeds.
    sim.behave(Behaviour::Stall(Duration::from_secs(2)));
    clock.set("2026-11-16T10:50:00Z");
    let running_now = exchanges.tick();
    assert_eq!(running_now.len(), 1);
    common::eventually("the scheduled run has begun", || {
        exchanges
            .reports()
            .iter()
            .any(|r| r.name == "absences" && r.status == RunStatus::Running)
    })
    .await;
    assert!(exchanges.tick().is_empty(), "never twice at once");
    let refused = exchanges.run_by_hand("absences").await.unwrap_err();
    assert!(refused.contains("déjà en cours"), "{refused}");
    let mut stalled = Vec::new();
    for t in running_now {
        stalled.push(t.await.unwrap());
    }
    let r = report(&stalled, "absences");
    assert_eq!((r.status, r.attempt), (RunStatus::Error, 1));
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("nouvel essai à 11:51:00"),
        "{r:#?}"
    );
    sim.set_absent("2026-11-16", "dejeuner", &["1001"]);
    sim.behave(Behaviour::Normal);
    clock.set("2026-11-16T10:50:59Z");
    assert!(
        tick(&exchanges).await.is_empty(),
        "not before the retry's time"
    );
    clock.set("2026-11-16T10:51:00Z");
    let runs = tick(&exchanges).await;
    let r = report(&runs, "absences");
    assert_eq!((r.status, r.attempt), (RunStatus::Ok, 2), "{r:#?}");
    assert_eq!(lunch_oppositions(&shared, day), before);
    // B1 is still refused: the garbage did not lift its absence.
    assert!(!read(&shared, &handle, "B1").await.0);

    // A pupil comes late in the service.
    clock.set("2026-11-16T12:00:00Z");
    assert_eq!(read(&shared, &handle, "B3").await, (true, "Forfait".into()));

    // 14:00: lunch is over; the no-shows go back to PRONOTE.
    clock.set("2026-11-16T13:00:00Z");
    let runs = tick(&exchanges).await;
    let r = report(&runs, "non-venus");
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    let docs = sim.received("non-venus");
    let lunch = docs
        .iter()
        .find(|d| d["service"] == "dejeuner")
        .expect("lunch's no-shows");
    assert_eq!(lunch["date"], "2026-11-16");
    assert_eq!(lunch["inscrits"], 6);
    let no_shows: BTreeSet<(String, bool)> = lunch["eleves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["absent_pronote"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        no_shows,
        BTreeSet::from([
            ("1001".into(), true),
            ("1004".into(), false),
            ("1005".into(), false)
        ])
    );
    // The same, from the journal: registered pupils without a granted passage at lunch.
    let passed: BTreeSet<String> = store
        .events(None)
        .unwrap()
        .iter()
        .filter_map(|e| e.passage())
        .filter(|p| p.verdict == Verdict::Pass && p.service == Some(LUNCH) && p.day == day)
        .map(|p| format!("{}", 1000 + p.person.unwrap().0))
        .collect();
    let registered: BTreeSet<String> = (1000..1006).map(|i| i.to_string()).collect();
    let from_journal: BTreeSet<String> = registered.difference(&passed).cloned().collect();
    let sent_ids: BTreeSet<String> = no_shows.into_iter().map(|(id, _)| id).collect();
    assert_eq!(sent_ids, from_journal);

    // The reports stay after a restart.
    drop((handle, exchanges));
    node.stop().await;
    let status = selfgate::node::exchange::status(&config);
    let absences = status.iter().find(|r| r.name == "absences").unwrap();
    assert_eq!(absences.status, RunStatus::Ok);
    assert!(absences.last_success_at.is_some());
    let no_shows = status.iter().find(|r| r.name == "non-venus").unwrap();
    assert!(
        no_shows.sent.iter().any(|l| l.contains("3 sur 6")),
        "{no_shows:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_automatic_sync_off_nothing_runs_on_schedule_but_by_hand_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let sim = PronoteSim::start("0999999X");
    let mut config = config(dir.path(), &sim);
    config.pronote.auto_sync = false;
    let store = Store::open(dir.path()).unwrap();
    pupils(&store);
    let clock = TestClock::at("2026-11-16T04:59:00Z");
    let exchanges = Exchanges::offline(config, store, clock.clone());
    clock.set("2026-11-16T05:00:00Z");
    assert!(tick(&exchanges).await.is_empty());
    assert_eq!(sim.requests(), 0);
    let r = exchanges.run_by_hand("inscriptions").await.unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    assert!(r.by_hand);
    assert!(!r.on_schedule, "automatic sync off: by hand only");
    assert_eq!(sim.received("inscriptions").len(), 1);
    assert!(exchanges.run_by_hand("nothing").await.is_err());
}
