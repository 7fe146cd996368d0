//! What the daemon's gate-level tests share: a school with one service open all day (UTC), one
//! ticket pupil, and the node started on a store as `selfgate run` starts it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use selfgate::config::Config;
use selfgate::infra::clock::SystemClock;
use selfgate::node::gate::Hardware;
use selfgate::node::{Node, NodeHandle, NodeSpec, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_hardware::Reader;
use selfgate_hardware::sim::{SimTurnstile, SimTurnstileHandle};
use selfgate_rules::journal::{Credit, EventKind};
use selfgate_rules::model::{Category, Credential, CredentialStatus, Person, PersonId, Regime};

/// Waits out the last two minutes of the UTC day, when the all-day service closes.
pub fn avoid_end_of_day() {
    let secs = Utc::now().timestamp() % 86_400;
    if secs >= 86_400 - 120 {
        std::thread::sleep(Duration::from_secs((86_400 - secs + 5) as u64));
    }
}

/// A configuration with one service open all day, every day (UTC), pupils at 3,90 €, no
/// debounce; `gate` is the body of the `[gate]` table.
pub fn all_day_config(gate: &str) -> Config {
    Config::parse(
        &format!(
            "[school]\ntimezone = \"UTC\"\npublic_holidays = false\ndebounce_ms = 0\n\
             [gate]\n{gate}\n\
             [[services]]\ncode = \"tout\"\nstart = \"00:00\"\nend = \"23:59\"\n\
             days = \"tous sam dim\"\n\
             [[tariffs]]\ncategory = \"eleve\"\nprice = \"3,90\"\n"
        ),
        "test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Writes Léa Martin (6A, externe, `PersonId(0)`), holding `badge`, `cents` on her ticket
/// balance and `passages` passages per service.
pub fn one_pupil(store: &Store, gate: &str, badge: &str, cents: i64, passages: u8) {
    let person = Person {
        id: PersonId(0),
        external_id: "E1".into(),
        last_name: "Martin".into(),
        first_name: "Léa".into(),
        class: "6A".into(),
        category: Category::Eleve,
        regime: Regime::Externe,
        forfaits: vec![],
        passages_per_service: passages,
        tier: None,
    };
    store
        .write_now(&[
            WriteOp::PutPerson(person),
            WriteOp::PutCredential(Credential {
                number: badge.parse().unwrap(),
                person: PersonId(0),
                status: CredentialStatus::Active,
            }),
            WriteOp::Append {
                gate: gate.into(),
                at: Utc::now(),
                kind: EventKind::Credit(Credit {
                    person: PersonId(0),
                    cents,
                    note: "test".into(),
                }),
            },
        ])
        .unwrap();
}

/// The node on `store` as `selfgate run` starts it (`Node::start`), driving `hardware`, with
/// `services` beside the gate's loop.
pub async fn node_on(
    store: &Store,
    config: Config,
    hardware: Hardware,
    services: Services,
) -> NodeHandle {
    let mut spec = NodeSpec::new(config, Arc::new(SystemClock), hardware);
    spec.store = Some(store.clone());
    spec.services = services;
    Node::start(spec).await.unwrap()
}

/// A simulated turnstile (its pulses in its handle) and `readers`.
pub fn sim_hardware(readers: Vec<Box<dyn Reader>>) -> (Hardware, SimTurnstileHandle) {
    let (t, handle) = SimTurnstile::new("t", None, false).unwrap();
    (
        Hardware {
            readers,
            turnstile: Arc::new(t),
        },
        handle,
    )
}

/// The time a test says it is (and moves).
pub struct TestClock(std::sync::Mutex<chrono::DateTime<Utc>>);

impl TestClock {
    /// A clock stopped at `at` (RFC 3339).
    pub fn at(at: &str) -> Arc<TestClock> {
        Arc::new(TestClock(std::sync::Mutex::new(at.parse().unwrap())))
    }
    /// Moves it to `t` (RFC 3339).
    pub fn set(&self, t: &str) {
        *self.0.lock().unwrap() = t.parse().unwrap();
    }
}

impl selfgate::infra::clock::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Polls `f` every 10 ms for 5 s.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}
