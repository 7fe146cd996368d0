//! One notion of the school's day. At 00:30 in Paris on Tuesday 17 November 2026 it is still
//! Monday 16 in UTC (23:30): the rules' helper, the kiosk, the exchanges, the journal's
//! `--since` and the journal command all say Tuesday 17.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use selfgate::config::Config;
use selfgate::node::exchange::{Exchanges, RunStatus};
use selfgate::node::kiosk::backend::KioskBackend;
use selfgate::node::{Node, NodeSpec, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_kiosk::KioskSource;
use selfgate_rules::journal::{Alarm, AlarmKind, EventKind};
use selfgate_rules::model::{
    Category, Forfait, Person, PersonId, Regime, ServiceId, ServiceSet, WeekdaySet,
};
use selfgate_tests::pronote_sim::PronoteSim;

/// 00:30 in Paris on Tuesday 17 November 2026.
const AT: &str = "2026-11-16T23:30:00Z";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn config(dir: &std::path::Path, sim: &PronoteSim) -> Config {
    let key = dir.join("pronote.key");
    sim.write_key_file(&key);
    let text = format!(
        r#"
[school]
uai = "0999999X"
timezone = "Europe/Paris"
public_holidays = false
year_start = "2026-09-01"
year_end = "2027-07-06"
[store]
data_dir = "{data}"
[pronote]
enabled = true
transport = "https"
url = "{url}"
ca_file = "{ca}"
key_file = "{key}"
timeout_s = 5
[[exchanges]]
name = "inscriptions"
kind = "pronote_meal_days"
schedule = "0 0 6 * * Mon-Fri"
[[tariffs]]
category = "eleve"
price = "3,90"
"#,
        data = dir.join("data").display(),
        url = sim.url,
        ca = sim.ca_file.display(),
        key = key.display(),
    );
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// A demi-pensionnaire on DP 4 jours at lunch, and two events: one at 23:30 in Paris on
/// Monday 16 (22:30 UTC), one at 00:10 on Tuesday 17 (23:10 UTC).
fn school(store: &Store) {
    let alarm = |t: &str, what: &str| WriteOp::Append {
        gate: "ligne-1".into(),
        at: at(t),
        kind: EventKind::Alarm(Alarm {
            kind: AlarmKind::EmergencyOn,
            detail: what.into(),
        }),
    };
    store
        .write_now(&[
            WriteOp::PutPerson(Person {
                id: PersonId(0),
                external_id: "1000".into(),
                last_name: "Martin".into(),
                first_name: "Léa".into(),
                class: "6A".into(),
                category: Category::Eleve,
                regime: Regime::DemiPensionnaire,
                forfaits: vec![Forfait {
                    weekdays: WeekdaySet::DP4,
                    services: ServiceSet::single(ServiceId(1)),
                    from: day(2026, 9, 1),
                    to: day(2027, 7, 6),
                }],
                passages_per_service: 1,
                tier: None,
            }),
            alarm("2026-11-16T22:30:00Z", "lundi soir"),
            alarm("2026-11-16T23:10:00Z", "mardi matin"),
        ])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_half_past_midnight_in_paris_everyone_says_it_is_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let sim = PronoteSim::start("0999999X");
    let config = config(dir.path(), &sim);
    let store = Store::open(&config.data_dir).unwrap();
    school(&store);
    let now = at(AT);
    let tuesday = day(2026, 11, 17);

    // The rules' helper.
    assert_eq!(now.date_naive(), day(2026, 11, 16), "UTC still says Monday");
    assert_eq!(config.rules.today(now), tuesday);
    assert_eq!(config.rules.midnight(tuesday), at("2026-11-16T23:00:00Z"));

    // The running node and its kiosk, on a clock stopped at 00:30.
    let mut spec = NodeSpec::new(
        config.clone(),
        common::TestClock::at(AT),
        common::sim_hardware(vec![]).0,
    );
    spec.store = Some(store.clone());
    spec.services = Services::NONE;
    let node = Node::start(spec).await.unwrap();
    let kiosk = KioskBackend::start(node.gate().clone(), store.clone(), None);
    assert_eq!(kiosk.today(), tuesday);
    assert!(
        kiosk.summary().now.starts_with("17/11/2026 00:30"),
        "{}",
        kiosk.summary().now
    );
    drop(kiosk);
    node.stop().await;

    // The exchanges: the meal days sent to PRONOTE start on Tuesday.
    let exchanges = Exchanges::offline(config.clone(), store.clone(), common::TestClock::at(AT));
    let report = exchanges.run_by_hand("inscriptions").await.unwrap();
    assert_eq!(report.status, RunStatus::Ok, "{report:?}");
    let sent = sim.received("inscriptions");
    let first = &sent[0]["eleves"][0]["repas"][0]["date"];
    assert_eq!(first, "2026-11-17", "{sent:?}");

    // `selfgate journal --since 2026-11-17`: from midnight in Paris, not in UTC.
    let since = selfgate::cli::journal::parse_since("2026-11-17", &store).unwrap();
    assert_eq!(since, at("2026-11-16T23:00:00Z"));
    let mut out = Vec::new();
    selfgate::cli::journal::print(&store, Some(since), true, &mut out).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["local"], "2026-11-17 00:10:00", "{lines:?}");
}
