//! A hub and two gates in one process, on loopback, over real mutual TLS with certificates from
//! `selfgate pki`: site-wide anti-passback, an opposition set at the hub, double passages of
//! partitioned gates, refused certificates, numbering after a restore (hub in reach or not), and
//! the API document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use selfgate::config::TlsFiles;
use selfgate::config::money::Regie;
use selfgate::infra::pki::{self, Validity};
use selfgate::infra::tls;
use selfgate::node::control::{self, Answer, Request};
use selfgate::node::gate::{GateHandle, Shared};
use selfgate::node::sync::http::{self, Endpoint};
use selfgate::node::sync::proto::{self, Ack, Doubles};
use selfgate::node::sync::{Role, SyncState, client::Client, hub};
use selfgate::node::{NodeHandle, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_rules::journal::{AlarmKind, EventKind, Reason, Verdict};
use selfgate_rules::model::{
    Category, Credential, CredentialStatus, Opposition, OppositionReason, Person, PersonId, Regime,
    ServiceId,
};

const LEA: &str = "0A00000001";
const TOM: &str = "0A00000002";

/// The authority, the hub's certificate for 127.0.0.1 and both gates'.
fn make_pki(dir: &Path) {
    pki::init(dir, "Collège de test", 30).unwrap();
    pki::issue_hub(dir, &["127.0.0.1".into()], Validity::days(30).unwrap()).unwrap();
    for g in ["ligne-1", "ligne-2"] {
        pki::issue_gate(dir, g, Validity::days(30).unwrap()).unwrap();
    }
}

fn hub_files(pki: &Path) -> TlsFiles {
    TlsFiles {
        ca: pki.join("ca.pem"),
        cert: pki.join("hub.pem"),
        key: pki.join("hub.key"),
        crl: Some(pki.join("crl.pem")),
    }
}

fn endpoint(pki: &Path, port: u16, identity: Option<&str>) -> Endpoint {
    let cert = identity.map(|g| (pki.join(format!("{g}.pem")), pki.join(format!("{g}.key"))));
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        tls: tls::client_config(
            &pki.join("ca.pem"),
            cert.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )
        .unwrap(),
    }
}

fn person(id: u32, external: &str) -> Person {
    Person {
        id: PersonId(id),
        external_id: external.into(),
        last_name: "Martin".into(),
        first_name: "Léa".into(),
        class: "6A".into(),
        category: Category::Eleve,
        regime: Regime::Externe,
        forfaits: vec![],
        passages_per_service: 1,
        tier: None,
    }
}

/// A running node: its gate loop on simulated hardware, its store, its sync task.
struct Node {
    node: NodeHandle,
    handle: GateHandle,
    store: Store,
    state: Arc<SyncState>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    async fn start(dir: &Path, id: &str, role: Role, setup: impl FnOnce(&Store)) -> Node {
        let store = Store::open(dir).unwrap();
        if role == Role::Hub {
            store.keep_change_log().unwrap();
        }
        setup(&store);
        let mut config = common::all_day_config(&format!("id = \"{id}\""));
        config.data_dir = dir.to_path_buf();
        // The site's one régie, at ligne-1's office.
        config.money.regies = vec![Regie {
            code: "L1".into(),
            name: "Intendance".into(),
            node: "ligne-1".into(),
        }];
        // The node's loop alone: the hub and the client are started by hand below, on
        // loopback listeners and endpoints of the test's own.
        let node = common::node_on(
            &store,
            config,
            common::sim_hardware(vec![]).0,
            Services::NONE,
        )
        .await;
        Node {
            handle: node.gate().clone(),
            node,
            store,
            state: SyncState::new(role),
            stop: vec![],
            tasks: vec![],
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        self.handle.shared()
    }

    /// Serves the hub on a new loopback listener; returns its port.
    async fn serve_hub(&mut self, pki: &Path) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let (h, s, st, files) = (
            self.handle.clone(),
            self.store.clone(),
            self.state.clone(),
            hub_files(pki),
        );
        self.tasks.push(tokio::spawn(async move {
            hub::serve(listener, files, h, s, st, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        }));
        self.stop.push(stop);
        port
    }

    fn sync_with(&mut self, pki: &Path, port: u16) {
        let gate = self.shared().config().gate.id.clone();
        let client = Client::new(
            self.handle.clone(),
            self.store.clone(),
            endpoint(pki, port, Some(&format!("gate-{gate}"))),
            100,
            self.state.clone(),
        );
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        self.tasks.push(tokio::spawn(client.run(async {
            let _ = rx.await;
        })));
        self.stop.push(stop);
    }

    /// The verdict and reason of the last event this node journaled for itself.
    fn last_decision(&self) -> (Verdict, Reason) {
        let gate = self.shared().config().gate.id.clone();
        let events = self.store.journal_after(&gate, 0, usize::MAX).unwrap();
        let p = events
            .iter()
            .rev()
            .find_map(|e| e.passage())
            .expect("no passage");
        (p.verdict, p.reason)
    }

    async fn read(&self, badge: &str) -> (Verdict, Reason) {
        let gate = self.shared().config().gate.id.clone();
        let before = self.store.last_seqs().unwrap().get(&gate).copied();
        self.handle.read(badge).await;
        common::eventually("the read is journaled", || {
            self.store.last_seqs().unwrap().get(&gate).copied() != before
        })
        .await;
        self.last_decision()
    }

    fn knows(&self, badge: &str) -> bool {
        self.shared().engine().roster().credential(badge).is_some()
    }

    /// Stops its sync tasks, then the node (its writer thread closes the store).
    async fn stop(self) {
        let Node {
            node,
            handle,
            store,
            stop,
            tasks,
            ..
        } = self;
        for s in stop {
            let _ = s.send(());
        }
        for t in tasks {
            let _ = t.await;
        }
        drop((handle, store));
        node.stop().await;
    }
}

/// Léa (`LEA`) and Tom (`TOM`), 10 € each, written at the hub.
fn two_pupils(store: &Store) {
    let mut ops = Vec::new();
    for (id, badge, ext) in [(0, LEA, "E1"), (1, TOM, "E2")] {
        ops.push(WriteOp::PutPerson(person(id, ext)));
        ops.push(WriteOp::PutCredential(Credential {
            number: badge.parse().unwrap(),
            person: PersonId(id),
            status: CredentialStatus::Active,
        }));
        ops.push(WriteOp::Append {
            gate: "hub".into(),
            at: Utc::now(),
            kind: EventKind::Credit(selfgate_rules::journal::Credit {
                person: PersonId(id),
                cents: 1000,
                note: "solde initial".into(),
            }),
        });
    }
    store.write_now(&ops).unwrap();
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_at_one_gate_refused_at_the_other_and_an_opposition_at_the_hub_blocks_both() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1, d2) = (tmp(), tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    // The hub's tariffs are the site's: a meal costs 4,50 € there, 3,90 € in the gates' files.
    let mut config = (*hub.shared().config()).clone();
    config.rules.tariffs[0].price_cents = 450;
    hub.shared().set_config(config);
    let port = hub.serve_hub(pki_dir.path()).await;
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    let mut g2 = Node::start(d2.path(), "ligne-2", Role::Gate, |_| {}).await;
    g1.sync_with(pki_dir.path(), port);
    g2.sync_with(pki_dir.path(), port);
    common::eventually("both gates have the roster", || {
        g1.knows(LEA) && g2.knows(LEA)
    })
    .await;
    assert_eq!(g1.shared().engine().roster().balance(PersonId(0)), 1000);

    // Léa eats at gate 1; gate 2 hears of it and refuses her for the same service.
    assert_eq!(g1.read(LEA).await, (Verdict::Pass, Reason::Ticket));
    let today = g1.shared().engine().local(Utc::now()).0;
    common::eventually("gate 2 knows Léa was served", || {
        g2.shared()
            .engine()
            .served()
            .get(PersonId(0), today, ServiceId(0))
            .is_some()
    })
    .await;
    assert_eq!(g2.read(LEA).await, (Verdict::Deny, Reason::AlreadyServed));
    assert_eq!(g2.shared().engine().roster().balance(PersonId(0)), 550);
    // The hub holds both gates' journals, once each.
    common::eventually("the hub has both gates' passages", || {
        let seqs = hub.store.last_seqs().unwrap();
        seqs.get("ligne-1") == Some(&1) && seqs.get("ligne-2") == Some(&1)
    })
    .await;
    assert_eq!(hub.shared().engine().roster().balance(PersonId(0)), 550);

    // An opposition declared at the hub reaches both gates, which refuse Tom.
    hub.handle
        .change(vec![WriteOp::PutOpposition(Opposition {
            id: 1,
            person: PersonId(1),
            reason: OppositionReason::Impaye,
            service: None,
            from: today,
            to: None,
            note: "impayé".into(),
            lifted: false,
        })])
        .await
        .unwrap();
    common::eventually("both gates have the opposition", || {
        g1.shared()
            .engine()
            .roster()
            .oppositions_of(PersonId(1))
            .len()
            == 1
            && g2
                .shared()
                .engine()
                .roster()
                .oppositions_of(PersonId(1))
                .len()
                == 1
    })
    .await;
    let blocked = Reason::Opposition(OppositionReason::Impaye);
    assert_eq!(g1.read(TOM).await, (Verdict::Deny, blocked));
    assert_eq!(g2.read(TOM).await, (Verdict::Deny, blocked));

    // A badge declared lost at the hub is refused at both gates.
    hub.handle
        .change(vec![WriteOp::PutCredential(Credential {
            number: LEA.parse().unwrap(),
            person: PersonId(0),
            status: CredentialStatus::Lost,
        })])
        .await
        .unwrap();
    common::eventually("both gates know the badge is lost", || {
        [&g1, &g2].iter().all(|g| {
            g.shared()
                .engine()
                .roster()
                .credential(LEA)
                .map(|c| c.status)
                == Some(CredentialStatus::Lost)
        })
    })
    .await;
    assert_eq!(g1.read(LEA).await, (Verdict::Deny, Reason::BadgeRevoked));
    assert_eq!(g2.read(LEA).await, (Verdict::Deny, Reason::BadgeRevoked));

    // Status for the kiosk and /healthz.
    common::eventually("nothing waits", || {
        let (a, b) = (g1.state.status(), g2.state.status());
        a.connected && b.connected && a.events_waiting == 0 && b.events_waiting == 0
    })
    .await;
    // `/healthz` as the node assembles it: the gate's health and its sync's status.
    let kiosk = selfgate::node::kiosk::backend::KioskBackend::start(
        g1.handle.clone(),
        g1.store.clone(),
        Some(g1.state.clone()),
    );
    let health = selfgate_kiosk::KioskSource::health(kiosk.as_ref());
    drop(kiosk);
    assert_eq!(health["sync"]["role"], "gate");
    assert_eq!(health["sync"]["connected"], true);
    let hs = hub.state.status();
    assert_eq!(hs.gates, ["ligne-1", "ligne-2"].map(String::from).to_vec());

    // Every route of the API answers a gate.
    let mut conn = http::connect(&endpoint(pki_dir.path(), port, Some("gate-ligne-1")))
        .await
        .unwrap();
    for (method, path) in proto::ROUTES {
        if *method == "GET" && *path != "/v1/live" {
            conn.request(hyper::Method::GET, path, None).await.unwrap();
        }
    }
    assert!(g1.state.status().label_fr().starts_with("Connectée"));
    let (ack, _) = conn
        .json::<Ack>(
            hyper::Method::POST,
            "/v1/events",
            Some(br#"{"events": []}"#.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(ack.acked, 3);
    // A gate may not send another gate's events.
    let other = hub.store.journal_after("ligne-2", 0, 10).unwrap();
    let err = conn
        .request(
            hyper::Method::POST,
            "/v1/events",
            Some(proto::encode(&proto::EventBatch { events: other })),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    for n in [g1, g2, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_gates_serving_one_pupil_are_recorded_as_a_double_passage() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1, d2) = (tmp(), tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    // Both gates got the roster once, then lost the hub (their stores are copies).
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    let mut g2 = Node::start(d2.path(), "ligne-2", Role::Gate, |_| {}).await;
    g1.sync_with(pki_dir.path(), port);
    g2.sync_with(pki_dir.path(), port);
    common::eventually("roster", || g1.knows(LEA) && g2.knows(LEA)).await;
    for g in [&mut g1, &mut g2] {
        // Cut the sync (the client tasks are the last ones started).
        let _ = g.stop.pop().unwrap().send(());
        g.tasks.pop().unwrap().await.unwrap();
    }
    // Offline, each gate decides alone: both let Léa in.
    assert_eq!(g1.read(LEA).await, (Verdict::Pass, Reason::Ticket));
    assert_eq!(g2.read(LEA).await, (Verdict::Pass, Reason::Ticket));
    // Back online: both passages reach the hub, which flags them instead of hiding one.
    g1.sync_with(pki_dir.path(), port);
    g2.sync_with(pki_dir.path(), port);
    common::eventually("the hub has both passages", || {
        let seqs = hub.store.last_seqs().unwrap();
        seqs.get("ligne-1") == Some(&1) && seqs.get("ligne-2") == Some(&1)
    })
    .await;
    let mut conn = http::connect(&endpoint(pki_dir.path(), port, Some("gate-ligne-1")))
        .await
        .unwrap();
    let (d, _) = conn
        .json::<Doubles>(hyper::Method::GET, "/v1/doubles", None)
        .await
        .unwrap();
    assert_eq!(d.doubles.len(), 1, "{d:?}");
    let EventKind::Alarm(alarm) = &d.doubles[0].kind else {
        panic!("{d:?}")
    };
    assert_eq!(alarm.kind, AlarmKind::DoublePassage);
    assert!(alarm.detail.contains("E1"), "{}", alarm.detail);
    // Both passages are charged at the hub: nothing was hidden.
    assert_eq!(
        hub.shared().engine().roster().balance(PersonId(0)),
        1000 - 2 * 390
    );
    for n in [g1, g2, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_ahead_of_a_restored_hubs_change_log_takes_the_snapshot_again() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1) = (tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    // The gate holds change 1000 of a log the (restored) hub never reached.
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |s| {
        s.write_now(&[WriteOp::SetMeta {
            key: "sync/version".into(),
            value: 1000u64.to_le_bytes().to_vec(),
        }])
        .unwrap();
    })
    .await;
    g1.sync_with(pki_dir.path(), port);
    common::eventually("the gate took the snapshot", || g1.knows(LEA)).await;
    assert_eq!(g1.read(LEA).await, (Verdict::Pass, Reason::Ticket));
    for n in [g1, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_checks_what_a_gate_says_and_keeps_the_forged_events_in_quarantine() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1) = (tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    // A gate whose journal says: Léa passed and was paid €10,000 (a negative charge), then
    // the gate itself took a €10,000 payment for Tom.
    let today = Utc::now().date_naive();
    let forged = |kind| WriteOp::Append {
        gate: "ligne-1".into(),
        at: Utc::now(),
        kind,
    };
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |s| {
        s.write_now(&[
            forged(EventKind::Passage(selfgate_rules::journal::Passage {
                credential: Some(LEA.into()),
                person: Some(PersonId(0)),
                service: Some(ServiceId(0)),
                day: today,
                verdict: Verdict::Pass,
                reason: Reason::Ticket,
                charge_cents: -1_000_000,
                balance_after_cents: None,
                previous_at: None,
                by: None,
                note: None,
            })),
            forged(EventKind::Credit(selfgate_rules::journal::Credit {
                person: PersonId(1),
                cents: 1_000_000,
                note: "versement".into(),
            })),
        ])
        .unwrap();
    })
    .await;
    g1.sync_with(pki_dir.path(), port);
    common::eventually("the hub answered both", || {
        hub.state.status().quarantined == 2
    })
    .await;
    // Nothing of them was applied at the hub; both are kept, with why.
    let balances = |n: &Node| {
        let e = n.shared().engine();
        (
            e.roster().balance(PersonId(0)),
            e.roster().balance(PersonId(1)),
        )
    };
    assert_eq!(balances(&hub), (1000, 1000));
    let kept = hub.store.meta_with_prefix(hub::QUARANTINE_PREFIX).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let reasons: Vec<String> = kept
        .iter()
        .map(|(_, v)| serde_json::from_slice::<serde_json::Value>(v).unwrap()["reason"].to_string())
        .collect();
    assert!(reasons[0].contains("-1000000"), "{reasons:?}");
    assert!(reasons[1].contains("régie"), "{reasons:?}");
    // The gate is not stuck on them: a real passage goes through and is applied.
    // (Léa counts as served at the gate itself: its own journal says so.)
    assert_eq!(g1.read(TOM).await, (Verdict::Pass, Reason::Ticket));
    common::eventually("the hub applied the real one", || {
        balances(&hub) == (1000, 1000 - 390)
    })
    .await;
    assert_eq!(hub.state.status().quarantined, 2);
    for n in [g1, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_a_batch_body_is_sent_in_smaller_batches() {
    let (pki_dir, d0, d1) = (tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    // Twelve events of about 1 MB each (long alarm details): more than one body takes.
    let big = "x".repeat(1 << 20);
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |s| {
        let ops: Vec<WriteOp> = (0..12)
            .map(|_| WriteOp::Append {
                gate: "ligne-1".into(),
                at: Utc::now(),
                kind: EventKind::Alarm(selfgate_rules::journal::Alarm {
                    kind: AlarmKind::EmergencyOn,
                    detail: big.clone(),
                }),
            })
            .collect();
        s.write_now(&ops).unwrap();
    })
    .await;
    g1.sync_with(pki_dir.path(), port);
    // Twelve megabytes through TLS in a debug build: give it time on a loaded machine.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while hub.store.last_seqs().unwrap().get("ligne-1").copied() != Some(12) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub never acknowledged the whole backlog"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for n in [g1, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_revoked_while_connected_is_cut_off_at_once() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1) = (tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    g1.sync_with(pki_dir.path(), port);
    common::eventually("the gate follows the hub", || {
        g1.knows(LEA) && g1.state.status().connected
    })
    .await;
    assert_eq!(g1.read(LEA).await, (Verdict::Pass, Reason::Ticket));
    common::eventually("its passage reached the hub", || {
        hub.store.last_seqs().unwrap().get("ligne-1").copied() == Some(1)
    })
    .await;
    // Revoked: its open connections (the live stream, the kept-alive one) are closed, and it
    // cannot connect again.
    pki::revoke(pki_dir.path(), "ligne-1").unwrap();
    let cut = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while g1.state.status().connected {
        assert!(
            tokio::time::Instant::now() < cut,
            "still connected after revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(g1.read(TOM).await, (Verdict::Pass, Reason::Ticket));
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        hub.store.last_seqs().unwrap().get("ligne-1").copied(),
        Some(1),
        "nothing more accepted from a revoked gate"
    );
    for n in [g1, hub] {
        n.stop().await;
    }
}

/// A request with `ep` must fail (the handshake or the first exchange).
async fn refused(ep: &Endpoint) -> bool {
    match http::connect(ep).await {
        Err(_) => true,
        Ok(mut c) => c
            .request(hyper::Method::GET, "/v1/events/ack", None)
            .await
            .is_err(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_expired_revoked_or_missing_certificates_are_refused() {
    let (pki_dir, other_dir, d0) = (tmp(), tmp(), tmp());
    let p = pki_dir.path();
    make_pki(p);
    pki::issue_gate(
        p,
        "ligne-3",
        Validity {
            not_before: time::OffsetDateTime::now_utc() - time::Duration::days(10),
            not_after: time::OffsetDateTime::now_utc() - time::Duration::days(1),
        },
    )
    .unwrap();
    // Another authority issues a certificate for a gate of the same name.
    pki::init(other_dir.path(), "Autre autorité", 30).unwrap();
    pki::issue_gate(other_dir.path(), "ligne-1", Validity::days(30).unwrap()).unwrap();
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(p).await;

    let good = endpoint(p, port, Some("gate-ligne-1"));
    assert!(!refused(&good).await, "a valid gate must be accepted");
    assert!(refused(&endpoint(p, port, None)).await, "no certificate");
    assert!(
        refused(&endpoint(p, port, Some("gate-ligne-3"))).await,
        "expired"
    );
    let foreign = Endpoint {
        tls: tls::client_config(
            &p.join("ca.pem"),
            Some((
                &other_dir.path().join("gate-ligne-1.pem"),
                &other_dir.path().join("gate-ligne-1.key"),
            )),
        )
        .unwrap(),
        ..good.clone()
    };
    assert!(refused(&foreign).await, "another authority");
    // The hub's own certificate is for servers, not a gate's.
    let hub_as_client = Endpoint {
        tls: tls::client_config(
            &p.join("ca.pem"),
            Some((&p.join("hub.pem"), &p.join("hub.key"))),
        )
        .unwrap(),
        ..good.clone()
    };
    assert!(
        refused(&hub_as_client).await,
        "server certificate as a client"
    );
    // Revoked: the hub reads the new list at the next connection.
    pki::revoke(p, "ligne-1").unwrap();
    assert!(refused(&good).await, "revoked");
    assert!(!refused(&endpoint(p, port, Some("gate-ligne-2"))).await);
    // A gate refuses a hub whose certificate another authority signed.
    let wrong_ca = Endpoint {
        tls: tls::client_config(
            &other_dir.path().join("ca.pem"),
            Some((
                &other_dir.path().join("gate-ligne-1.pem"),
                &other_dir.path().join("gate-ligne-1.key"),
            )),
        )
        .unwrap(),
        ..good.clone()
    };
    assert!(refused(&wrong_ca).await, "hub from another authority");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_numbering_goes_on_after_the_hubs_last_acknowledged_event() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1, backups) = (tmp(), tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    let backup = backups.path().join("ligne-1.redb");
    {
        let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
        g1.sync_with(pki_dir.path(), port);
        common::eventually("roster", || g1.knows(LEA)).await;
        g1.read(LEA).await;
        g1.store.backup_to(&backup).unwrap();
        g1.read(TOM).await;
        g1.read(LEA).await;
        common::eventually("the hub holds 3 events of ligne-1", || {
            hub.store.last_seqs().unwrap().get("ligne-1") == Some(&3)
        })
        .await;
        g1.stop().await;
    }
    selfgate::cli::backup::restore(d1.path(), &backup).unwrap();
    let store = Store::open(d1.path()).unwrap();
    assert_eq!(store.last_seqs().unwrap().get("ligne-1"), Some(&1));
    drop(store);
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    let client = Client::new(
        g1.handle.clone(),
        g1.store.clone(),
        endpoint(pki_dir.path(), port, Some("gate-ligne-1")),
        100,
        g1.state.clone(),
    );
    assert!(client.restore_pending());
    client
        .reconcile_at_start(std::time::Duration::from_secs(5))
        .await;
    assert!(!client.restore_pending());
    drop(client);
    g1.sync_with(pki_dir.path(), port);
    g1.read(TOM).await;
    assert_eq!(g1.store.last_seqs().unwrap().get("ligne-1"), Some(&4));
    common::eventually("the hub takes ligne-1/4", || {
        hub.store.last_seqs().unwrap().get("ligne-1") == Some(&4)
    })
    .await;
    // The hub's ligne-1/2 and /3 are the ones first sent, never replaced.
    let e3 = hub.store.event("ligne-1", 3).unwrap().unwrap();
    assert_eq!(e3.passage().unwrap().person, Some(PersonId(0)));
    for n in [g1, hub] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_restored_while_the_hub_is_out_of_reach_numbers_in_a_new_epoch() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1, backups) = (tmp(), tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    let backup = backups.path().join("ligne-1.redb");
    {
        let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
        g1.sync_with(pki_dir.path(), port);
        common::eventually("roster", || g1.knows(LEA)).await;
        g1.read(LEA).await;
        g1.store.backup_to(&backup).unwrap();
        g1.read(TOM).await;
        g1.read(LEA).await;
        common::eventually("the hub holds 3 events of ligne-1", || {
            hub.store.last_seqs().unwrap().get("ligne-1") == Some(&3)
        })
        .await;
        g1.stop().await;
    }
    selfgate::cli::backup::restore(d1.path(), &backup).unwrap();
    // The hub cannot be reached when the gate starts again: a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().port();
    drop(closed);
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    let offline = Client::new(
        g1.handle.clone(),
        g1.store.clone(),
        endpoint(pki_dir.path(), nowhere, Some("gate-ligne-1")),
        100,
        g1.state.clone(),
    );
    assert!(offline.restore_pending());
    offline
        .reconcile_at_start(std::time::Duration::from_secs(2))
        .await;
    assert!(!offline.restore_pending(), "the restore is dealt with");
    drop(offline);
    // Tom eats: the event takes the first number of epoch 1, not ligne-1/2 again.
    assert_eq!(g1.read(TOM).await, (Verdict::Pass, Reason::Ticket));
    let first_of_epoch_1 = (1u64 << 32) + 1;
    assert_eq!(
        g1.store.last_seqs().unwrap().get("ligne-1"),
        Some(&first_of_epoch_1)
    );
    // The hub comes back: it takes the new event after its own ligne-1/3.
    g1.sync_with(pki_dir.path(), port);
    common::eventually("the hub takes the first event of epoch 1", || {
        hub.store.last_seqs().unwrap().get("ligne-1") == Some(&first_of_epoch_1)
    })
    .await;
    common::eventually("nothing left to send", || {
        g1.state.status().events_waiting == 0
    })
    .await;
    let new = hub
        .store
        .event("ligne-1", first_of_epoch_1)
        .unwrap()
        .unwrap();
    assert_eq!(new.passage().unwrap().person, Some(PersonId(1)));
    // The hub's ligne-1/2 (Tom's first meal) and /3 are kept as first sent.
    let e2 = hub.store.event("ligne-1", 2).unwrap().unwrap();
    assert_eq!(e2.passage().unwrap().person, Some(PersonId(1)));
    assert!(hub.store.event("ligne-1", 4).unwrap().is_none());
    for n in [g1, hub] {
        n.stop().await;
    }
}

/// Léa and Tom on a gate's own roster (no money: the hub's credits are the hub's).
fn two_pupils_roster(store: &Store) {
    let mut ops = Vec::new();
    for (id, badge, ext) in [(0, LEA, "E1"), (1, TOM, "E2")] {
        ops.push(WriteOp::PutPerson(person(id, ext)));
        ops.push(WriteOp::PutCredential(Credential {
            number: badge.parse().unwrap(),
            person: PersonId(id),
            status: CredentialStatus::Active,
        }));
    }
    store.write_now(&ops).unwrap();
}

/// A payment taken through `node`'s gate as the control socket would take it.
async fn pay(node: &Node, person: &str, cents: i64) -> Result<selfgate_rules::Event, String> {
    let config = node.shared().config();
    let req = Request::PaymentAdd {
        person: person.into(),
        cents,
        mode: selfgate_rules::journal::PaymentMode::Especes,
        payer: "Mme Martin".into(),
        by: "intendance".into(),
        regie: None,
        note: String::new(),
    };
    let (op, planned) = {
        let engine = node.shared().engine();
        control::plan_change(&config, engine.roster(), &node.store, req, Utc::now())?
    };
    let outcomes = node
        .handle
        .change(vec![op])
        .await
        .map_err(|e| e.to_string())?;
    match planned.answer(&outcomes) {
        Answer::Journaled { event } => Ok(*event),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_taken_at_an_offline_gate_reaches_the_hub_once_and_forged_ones_never() {
    common::avoid_end_of_day();
    let (pki_dir, d0, d1, d2) = (tmp(), tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, two_pupils).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    // ligne-1 holds régie L1 and is offline: the payment is taken and numbered all the same.
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, two_pupils_roster).await;
    let paid = pay(&g1, "E1", 2000).await.unwrap();
    let selfgate_rules::EventKind::Payment(p) = &paid.kind else {
        panic!("{paid:?}")
    };
    let year = selfgate_rules::journal::school_year(Utc::now().date_naive());
    assert_eq!(p.receipt.to_string(), format!("L1-{year}-00001"));
    assert_eq!(g1.shared().engine().roster().balance(PersonId(0)), 2000);
    // ligne-2 holds no régie: refused there, before anything is written.
    let mut g2 = Node::start(d2.path(), "ligne-2", Role::Gate, two_pupils_roster).await;
    let refused = pay(&g2, "E1", 500).await.unwrap_err();
    assert!(refused.contains("ne tient aucune régie"), "{refused}");
    // A forged one (a gate writing L1's receipts) is journaled there but never applied at the hub.
    let mut forged = p.clone();
    forged.receipt.number = 2;
    g2.handle
        .change(vec![WriteOp::Append {
            gate: "ligne-2".into(),
            at: Utc::now(),
            kind: EventKind::Payment(forged),
        }])
        .await
        .unwrap();

    // The hub comes in reach.
    g1.sync_with(pki_dir.path(), port);
    g2.sync_with(pki_dir.path(), port);
    common::eventually("the hub holds both gates' events", || {
        let seqs = hub.store.last_seqs().unwrap();
        seqs.get("ligne-1") == Some(&1) && seqs.get("ligne-2") == Some(&1)
    })
    .await;
    common::eventually("the forged payment is in quarantine", || {
        hub.state.status().quarantined == 1
    })
    .await;
    let at_hub = hub
        .store
        .payment(&p.receipt)
        .unwrap()
        .expect("the payment at the hub");
    assert_eq!(
        at_hub.0, paid,
        "the same event, its receipt as the gate numbered it"
    );
    // Léa: 10 € credited at the hub, 20 € paid at ligne-1's régie.
    assert_eq!(hub.shared().engine().roster().balance(PersonId(0)), 3000);
    let credited = |store: &Store| {
        store
            .events(None)
            .unwrap()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Payment(_)))
            .count()
    };
    assert_eq!(credited(&hub.store), 1);

    // ligne-1 sends its journal again from the start (as after a lost acknowledgement): the
    // hub holds the payment once.
    g1.stop().await;
    let g1_store = Store::open(d1.path()).unwrap();
    g1_store
        .write_now(&[WriteOp::SetMeta {
            key: "sync/acked".into(),
            value: 0u64.to_le_bytes().to_vec(),
        }])
        .unwrap();
    drop(g1_store);
    let mut g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    g1.sync_with(pki_dir.path(), port);
    common::eventually("ligne-1 caught up", || {
        g1.state.status().connected && g1.state.status().events_waiting == 0
    })
    .await;
    assert_eq!(credited(&hub.store), 1);
    assert_eq!(hub.shared().engine().roster().balance(PersonId(0)), 3000);
    // And the gate sees the balance the hub sees.
    common::eventually("ligne-1 sees 30 €", || {
        g1.shared().engine().roster().balance(PersonId(0)) == 3000
    })
    .await;
    for n in [g1, g2, hub] {
        n.stop().await;
    }
}

/// Pupils `0B00000000`… with 10,000 € each at the hub, who may eat many times a service.
fn many_pupils(n: u32) -> impl FnOnce(&Store) {
    move |store: &Store| {
        let mut ops = Vec::new();
        for id in 0..n {
            ops.push(WriteOp::PutPerson(Person {
                passages_per_service: 200,
                ..person(id, &format!("E{id}"))
            }));
            ops.push(WriteOp::PutCredential(Credential {
                number: format!("0B{id:08X}").parse().unwrap(),
                person: PersonId(id),
                status: CredentialStatus::Active,
            }));
            ops.push(WriteOp::Append {
                gate: "hub".into(),
                at: Utc::now(),
                kind: EventKind::Credit(selfgate_rules::journal::Credit {
                    person: PersonId(id),
                    cents: 1_000_000,
                    note: "solde initial".into(),
                }),
            });
        }
        store.write_now(&ops).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_taken_while_pupils_pass_miss_none_of_their_passages() {
    common::avoid_end_of_day();
    const PUPILS: u32 = 50;
    let (pki_dir, d0, d1) = (tmp(), tmp(), tmp());
    make_pki(pki_dir.path());
    let mut hub = Node::start(d0.path(), "hub", Role::Hub, many_pupils(PUPILS)).await;
    let port = hub.serve_hub(pki_dir.path()).await;
    let g1 = Node::start(d1.path(), "ligne-1", Role::Gate, |_| {}).await;
    // The client's roster half alone: the gate sends nothing up, so every snapshot says the
    // hub holds none of its events and the gate must add all of its own to it.
    let client = Client::new(
        g1.handle.clone(),
        g1.store.clone(),
        endpoint(pki_dir.path(), port, Some("gate-ligne-1")),
        100,
        g1.state.clone(),
    );
    let mut conn = http::connect(&endpoint(pki_dir.path(), port, Some("gate-ligne-1")))
        .await
        .unwrap();
    client.sync_roster(&mut conn).await.unwrap();
    assert!(g1.knows("0B00000000"));
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let (done, reads) = (AtomicBool::new(false), AtomicU32::new(0));
    // Pupils pass all along the snapshots, a read every millisecond or so.
    let passing = async {
        let mut id = 0;
        while !done.load(Ordering::Relaxed) {
            g1.handle.read(&format!("0B{id:08X}")).await;
            reads.fetch_add(1, Ordering::Relaxed);
            id = (id + 1) % PUPILS;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    };
    let snapshots = async {
        let mut taken = 0;
        // Forty snapshots at least, and as many as it takes for three meals each.
        while taken < 40 || reads.load(Ordering::Relaxed) < 3 * PUPILS {
            // An empty version: the hub's snapshot again, as after a 409.
            g1.handle
                .change(vec![WriteOp::SetMeta {
                    key: "sync/version".into(),
                    value: Vec::new(),
                }])
                .await
                .unwrap();
            let report = client.sync_roster(&mut conn).await.unwrap();
            assert!(report.full);
            taken += 1;
        }
        done.store(true, Ordering::Relaxed);
        taken
    };
    let ((), taken) = tokio::join!(passing, snapshots);
    assert!(taken >= 40);
    // Every decided passage is committed once a settle returns.
    drop(g1.handle.settle().await.unwrap());
    // An independent sum: what the hub credited less what the gate's journal charged.
    let mut expected: std::collections::HashMap<PersonId, i64> =
        (0..PUPILS).map(|id| (PersonId(id), 1_000_000)).collect();
    let mut meals: std::collections::HashMap<PersonId, u8> = std::collections::HashMap::new();
    for e in g1.store.journal_after("ligne-1", 0, usize::MAX).unwrap() {
        let p = e.passage().unwrap();
        assert_eq!(p.verdict, Verdict::Pass, "{p:?}");
        let person = p.person.unwrap();
        *expected.get_mut(&person).unwrap() -= p.charge_cents;
        *meals.entry(person).or_default() += 1;
    }
    assert!(
        meals.values().map(|n| u32::from(*n)).sum::<u32>() >= 3 * PUPILS,
        "pupils passed all along: {meals:?}"
    );
    let stored: std::collections::HashMap<PersonId, i64> = g1
        .store
        .roster_snapshot(chrono::NaiveDate::MIN)
        .unwrap()
        .balances
        .into_iter()
        .collect();
    let served_today = g1
        .store
        .roster_snapshot(chrono::NaiveDate::MIN)
        .unwrap()
        .served;
    {
        let engine = g1.shared().engine();
        for id in 0..PUPILS {
            let person = PersonId(id);
            assert_eq!(stored[&person], expected[&person], "store, pupil {id}");
            assert_eq!(
                engine.roster().balance(person),
                expected[&person],
                "memory, pupil {id}"
            );
            let served: u8 = served_today
                .iter()
                .filter(|r| r.2 == person)
                .map(|r| r.3)
                .sum();
            assert_eq!(served, meals[&person], "anti-passback rows, pupil {id}");
        }
    }
    drop((client, conn));
    for n in [g1, hub] {
        n.stop().await;
    }
}

/// The paths and methods of an OpenAPI file (`  /path:` then `    get:` lines).
fn documented_routes(file: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    let mut in_paths = false;
    let mut path = None;
    for line in text.lines() {
        if line.starts_with("paths:") {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = false;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end_matches(':')));
        } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    ")) {
            let m = m.trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                out.push((m.to_uppercase(), p.clone()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_api_document_lists_exactly_the_routes_the_hub_serves() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/sync-api.yaml");
    let mut served: Vec<(String, String)> = proto::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    served.sort();
    assert_eq!(documented_routes(&file), served);
}
