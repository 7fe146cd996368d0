//! The gate with its hardware, simulated: reader feedback after each decision, the
//! "passage done" timeout and its compensating correction, reader and turnstile health.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use selfgate::config::Config;
use selfgate::node::gate::{Hardware, Shared};
use selfgate::node::kiosk::view;
use selfgate::node::{NodeHandle, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_hardware::sim::{FeedbackRecord, SimReader, SimTurnstile, SimTurnstileHandle};
use selfgate_hardware::{Reader, TurnstileInput};
use selfgate_rules::journal::{CorrectionKind, EventKind};
use selfgate_rules::model::{PersonId, ServiceId};

const BADGE: &str = "0A00000000";

/// A store with a ticket pupil (`BADGE`, 10 €, one passage per service) and a service open
/// all day; `extra` is added to the `[gate]` table.
fn setup(dir: &std::path::Path, extra: &str) -> (Config, Store) {
    common::avoid_end_of_day();
    let store = Store::open(dir).unwrap();
    let mut config = common::all_day_config(extra);
    config.data_dir = dir.to_path_buf();
    common::one_pupil(&store, "ligne-1", BADGE, 1_000, 1);
    (config, store)
}

struct Running {
    shared: Arc<Shared>,
    turnstile: SimTurnstileHandle,
    node: NodeHandle,
}

impl Running {
    async fn start(
        config: Config,
        store: &Store,
        readers: Vec<Box<dyn Reader>>,
        turnstile_log: bool,
    ) -> Running {
        let (t, turnstile) = SimTurnstile::new("t", None, turnstile_log).unwrap();
        let hw = Hardware {
            readers,
            turnstile: Arc::new(t),
        };
        let node = common::node_on(store, config, hw, Services::NONE).await;
        Running {
            shared: node.shared().clone(),
            turnstile,
            node,
        }
    }

    async fn wait_feed(&self, n: usize) {
        for _ in 0..500 {
            if view::recent(&self.shared, 100).len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the feed never reached {n} items");
    }

    async fn stop(self) {
        self.node.stop().await;
    }
}

use common::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_shows_the_decision_on_its_own_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = setup(dir.path(), "");
    let (r1, h1) = SimReader::new("entree");
    let (r2, h2) = SimReader::new("sortie");
    let run = Running::start(config, &store, vec![Box::new(r1), Box::new(r2)], false).await;

    h1.present(BADGE).await;
    run.wait_feed(1).await;
    eventually("reader 1 shows the pass", || !h1.feedback().is_empty()).await;
    assert_eq!(
        h1.feedback(),
        [FeedbackRecord::Pass, FeedbackRecord::Open(300)],
        "green, one beep, and the reader-side relay is offered the pulse"
    );
    assert_eq!(run.turnstile.pulses().len(), 1);

    // Already served on the other reader: red there, nothing more on the first.
    h2.present(BADGE).await;
    run.wait_feed(2).await;
    eventually("reader 2 shows the denial", || !h2.feedback().is_empty()).await;
    assert_eq!(h2.feedback(), [FeedbackRecord::Deny]);
    h2.present("FFFF000000").await;
    run.wait_feed(3).await;
    eventually("unknown badge denied", || h2.feedback().len() == 2).await;
    assert_eq!(h2.feedback(), [FeedbackRecord::Deny, FeedbackRecord::Deny]);
    assert_eq!(h1.feedback().len(), 2);
    assert_eq!(run.turnstile.pulses().len(), 1, "denials open nothing");

    // Health for the kiosk (`/healthz`): each reader's driver counters, the turnstile's pulses.
    h2.bad_frame();
    let health = view::health(&run.shared);
    assert_eq!(health["status"], "ok", "{health}");
    let r1 = &health["reader_health"]["entree"];
    assert_eq!(r1["online"], true, "{health}");
    assert_eq!(r1["frames_ok"], 1, "{health}");
    assert!(r1["last_frame"].is_string(), "{health}");
    let r2 = &health["reader_health"]["sortie"];
    assert_eq!(
        (&r2["frames_ok"], &r2["frames_bad"]),
        (&2.into(), &1.into())
    );
    let t = &health["turnstile"];
    assert_eq!(t["pulses_ok"], 1, "{health}");
    assert_eq!(t["pulses_failed"], 0, "{health}");
    assert_eq!(t["last_pulse_ok"], true, "{health}");
    run.stop().await;
}

/// A relay whose output cannot be driven (a GPIO line gone).
struct BrokenRelay;

impl selfgate_hardware::gpio::RelayLine for BrokenRelay {
    fn set(&self, active: bool) -> std::io::Result<()> {
        if active {
            Err(std::io::Error::other("line gone"))
        } else {
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pulse_shows_in_the_turnstile_health() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = setup(dir.path(), "");
    let (r, badge) = SimReader::new("entree");
    let turnstile =
        selfgate_hardware::gpio::GpioTurnstile::new("t", Arc::new(BrokenRelay), None).unwrap();
    let hw = Hardware {
        readers: vec![Box::new(r)],
        turnstile: Arc::new(turnstile),
    };
    let node = common::node_on(&store, config, hw, Services::NONE).await;
    let shared = node.shared().clone();
    badge.present(BADGE).await;
    eventually("the pulse was tried", || {
        shared.turnstile_health().last_pulse.is_some()
    })
    .await;
    let t = shared.turnstile_health();
    assert_eq!(
        (t.last_pulse_ok, t.pulses_ok, t.pulses_failed),
        (Some(false), 0, 1)
    );
    let health = view::health(&shared);
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["turnstile"]["last_pulse_ok"], false, "{health}");
    node.stop().await;
}

/// The journal's corrections, as (kind, refers to seq, refund).
fn corrections(store: &Store) -> Vec<(CorrectionKind, u64, i64)> {
    store
        .events(None)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Correction(c) => Some((c.kind, c.refers_to.seq, c.refund_cents)),
            _ => None,
        })
        .collect()
}

/// A second ticket pupil (`BADGE_2`, 10 €) beside the first.
const BADGE_2: &str = "0A00000002";

fn second_pupil(store: &Store) {
    let mut person = store.person(PersonId(0)).unwrap().unwrap();
    person.id = PersonId(1);
    person.external_id = "E2".into();
    person.first_name = "Tom".into();
    store
        .write_now(&[
            WriteOp::PutPerson(person),
            WriteOp::PutCredential(selfgate_rules::model::Credential {
                number: BADGE_2.parse().unwrap(),
                person: PersonId(1),
                status: selfgate_rules::model::CredentialStatus::Active,
            }),
            WriteOp::Append {
                gate: "ligne-1".into(),
                at: Utc::now(),
                kind: EventKind::Credit(selfgate_rules::journal::Credit {
                    person: PersonId(1),
                    cents: 1_000,
                    note: "solde initial".into(),
                }),
            },
        ])
        .unwrap();
}

fn with_timeout(dir: &std::path::Path) -> (Config, Store) {
    let (mut config, store) = setup(dir, "");
    // Below what the file accepts (1 s), to keep the test short.
    config.gate.passage_timeout_ms = Some(300);
    (config, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_followed_by_passage_done_stays_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = with_timeout(dir.path());
    second_pupil(&store);
    let (r, badge) = SimReader::new("entree");
    let run = Running::start(config, &store, vec![Box::new(r)], false).await;
    let shared = run.shared.clone();
    badge.present(BADGE).await;
    run.wait_feed(1).await;
    eventually("pulsed", || run.turnstile.pulses().len() == 1).await;
    assert!(run.turnstile.input(TurnstileInput::PassageDone).await);
    // Tom passes after Léa and never goes through: once his pass is corrected, Léa's timeout
    // (which started before his) is over too, and hers stands.
    badge.present(BADGE_2).await;
    run.wait_feed(2).await;
    let toms = view::recent(&run.shared, 1)[0].seq.unwrap();
    eventually("Tom's pass is corrected", || {
        !corrections(&store).is_empty()
    })
    .await;
    assert_eq!(
        corrections(&store),
        [(CorrectionKind::NotPassed, toms, 390)]
    );
    assert_eq!(shared.engine().roster().balance(PersonId(0)), 1_000 - 390);
    // A "passage done" with nobody waiting is ignored: it is not kept for the next pass,
    // which, never gone through, is corrected as well.
    assert!(run.turnstile.input(TurnstileInput::PassageDone).await);
    badge.present(BADGE_2).await;
    run.wait_feed(3).await;
    let again = view::recent(&run.shared, 1)[0].seq.unwrap();
    eventually("Tom's second pass is corrected", || {
        corrections(&store).len() == 2
    })
    .await;
    assert_eq!(
        corrections(&store)[1],
        (CorrectionKind::NotPassed, again, 390)
    );
    assert_eq!(shared.engine().roster().balance(PersonId(0)), 1_000 - 390);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_without_passage_done_is_corrected_refunded_and_freed() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = with_timeout(dir.path());
    second_pupil(&store);
    let (r, badge) = SimReader::new("entree");
    let run = Running::start(config, &store, vec![Box::new(r)], false).await;
    let shared = run.shared.clone();
    badge.present(BADGE).await;
    run.wait_feed(1).await;
    let pass_seq = view::recent(&run.shared, 1)[0].seq.unwrap();
    assert_eq!(shared.engine().roster().balance(PersonId(0)), 1_000 - 390);
    // Nobody goes through: a not_passed correction refers to the pass and refunds it.
    eventually("the correction is journaled", || {
        !corrections(&store).is_empty()
    })
    .await;
    assert_eq!(
        corrections(&store),
        [(CorrectionKind::NotPassed, pass_seq, 390)]
    );
    eventually("refunded in memory", || {
        shared.engine().roster().balance(PersonId(0)) == 1_000
    })
    .await;
    let day = Utc::now().date_naive();
    assert!(
        shared
            .engine()
            .served()
            .get(PersonId(0), day, ServiceId(0))
            .is_none(),
        "the anti-passback count is freed"
    );
    // The same pupil (one passage per service) can pass again, and this time goes through.
    badge.present(BADGE).await;
    run.wait_feed(2).await;
    let item = &view::recent(&run.shared, 1)[0];
    assert!(item.pass, "{item:?}");
    assert!(run.turnstile.input(TurnstileInput::PassageDone).await);
    assert_eq!(run.turnstile.pulses().len(), 2);
    // Tom passes after her and never goes through: once his pass is corrected, her second
    // pass's timeout (which started before his) is over too, and it stands.
    badge.present(BADGE_2).await;
    run.wait_feed(3).await;
    let toms = view::recent(&run.shared, 1)[0].seq.unwrap();
    eventually("Tom's pass is corrected", || corrections(&store).len() >= 2).await;
    assert_eq!(
        corrections(&store),
        [
            (CorrectionKind::NotPassed, pass_seq, 390),
            (CorrectionKind::NotPassed, toms, 390)
        ]
    );
    run.stop().await;
    // The store agrees: charged once, counted once.
    let engine = store
        .load_engine(shared.config().rules.clone(), day)
        .unwrap();
    assert_eq!(engine.roster().balance(PersonId(0)), 1_000 - 390);
    assert!(
        engine
            .served()
            .get(PersonId(0), day, ServiceId(0))
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_the_running_gate_is_committed_applied_and_announced() {
    use selfgate::node::gate::Change;
    use selfgate_rules::model::{Opposition, OppositionReason, PersonId};

    let dir = tempfile::tempdir().unwrap();
    let (config, store) = setup(dir.path(), "id = \"ligne-1\"");
    let (sim, reads) = SimReader::new("r");
    let running = Running::start(config, &store, vec![Box::new(sim)], false).await;
    let shared = running.shared.clone();
    let handle = running.node.gate().clone();
    let mut changes = shared.subscribe();

    let today = shared.engine().local(Utc::now()).0;
    let opposition = Opposition {
        id: shared.engine().roster().next_opposition_id(),
        person: PersonId(0),
        reason: OppositionReason::Manuelle,
        service: None,
        from: today,
        to: None,
        note: "test".into(),
        lifted: false,
    };
    handle
        .change(vec![WriteOp::PutOpposition(opposition.clone())])
        .await
        .unwrap();
    match changes.recv().await.unwrap() {
        Change::Opposition(o) => assert_eq!(o, opposition),
        other => panic!("expected the opposition, got {other:?}"),
    }
    reads.present(BADGE).await;
    running.wait_feed(1).await;
    let item = &view::recent(&shared, 1)[0];
    assert!(!item.pass, "the opposition is in force at once: {item:?}");
    assert_eq!(item.reason, "opposition:manuelle");
    match changes.recv().await.unwrap() {
        Change::Event(e) => assert_eq!((e.gate.as_str(), e.seq), ("ligne-1", 2)),
        other => panic!("expected the refusal's journal event, got {other:?}"),
    }
    drop(handle);
    running.stop().await;
    // Committed: the store holds it.
    let reopened = store
        .load_engine(shared.config().rules.clone(), today)
        .unwrap();
    assert_eq!(reopened.roster().oppositions_of(PersonId(0)), &[opposition]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_store_writer_fails_the_health() {
    use selfgate::infra::clock::SystemClock;
    use selfgate::node::gate::Gate;
    use selfgate::store::Writer;

    let dir = tempfile::tempdir().unwrap();
    let (config, store) = setup(dir.path(), "");
    let engine = store
        .load_engine(config.rules.clone(), Utc::now().date_naive())
        .unwrap();
    let shared = Shared::new(config, engine, Arc::new(SystemClock));
    let (writer, thread) = Writer::spawn(store.clone()).unwrap();
    let gate = Gate::new(shared.clone(), writer.clone());
    assert_eq!(view::health(&shared)["store"], "ok");
    // The writer's thread ends (here: its last handle goes; in the field, a fault).
    drop((gate, writer));
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    let health = view::health(&shared);
    assert_eq!(health["store"], "failing", "{health}");
    assert_eq!(health["writer"], "stopped", "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_keeps_deciding_while_the_kiosk_is_flooded_with_silent_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, store) = setup(dir.path(), "");
    config.kiosk.listen = "127.0.0.1:0".parse().unwrap();
    let (r, badge) = SimReader::new("entree");
    let (hw, turnstile) = common::sim_hardware(vec![Box::new(r)]);
    let node = common::node_on(
        &store,
        config,
        hw,
        Services {
            kiosk: true,
            ..Services::NONE
        },
    )
    .await;
    let addr = node.kiosk_addr().unwrap();
    // More silent connections than the kiosk takes from one address: the surplus is closed,
    // the rest wait for their header timeout.
    let mut silent = Vec::new();
    for _ in 0..200 {
        if let Ok(c) = tokio::net::TcpStream::connect(addr).await {
            silent.push(c);
        }
    }
    badge.present(BADGE).await;
    let shared = node.shared().clone();
    eventually("the badge was decided", || {
        !view::recent(&shared, 1).is_empty()
    })
    .await;
    assert!(view::recent(&shared, 1)[0].pass);
    eventually("and the turnstile pulsed", || turnstile.pulses().len() == 1).await;
    drop(silent);
    drop(shared);
    node.stop().await;
}
