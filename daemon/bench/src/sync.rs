//! `sync`: a hub and gates in this process over loopback with real mutual TLS (certificates from
//! `selfgate pki`): catch-up of queued journal events, a full roster sync of 100,000 persons
//! and an incremental one after 100 changes (time and bytes on the wire), and the time a
//! passage at one gate takes to reach the other gate's decision state.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, Utc};
use selfgate::config::Config;
use selfgate::config::TlsFiles;
use selfgate::infra::clock::{Clock, SystemClock};
use selfgate::infra::pki::{self, Validity};
use selfgate::infra::tls;
use selfgate::node::gate::{Gate, GateHandle, Hardware};
use selfgate::node::sync::client::Client;
use selfgate::node::sync::http::{self, Endpoint};
use selfgate::node::sync::{Role, SyncState, hub};
use selfgate::store::{Store, WriteOp, Writer};
use selfgate_rules::journal::{Credit, EventKind, Passage, Reason, Verdict};
use selfgate_rules::model::{
    BadgeNumber, Credential, CredentialStatus, Opposition, OppositionReason, PersonId, ServiceId,
};

use crate::{PERSONS, badge, percentiles, person};

fn config(id: &str, dir: &Path) -> Config {
    let mut c = Config::parse(
        &format!(
            "[school]\ntimezone = \"UTC\"\npublic_holidays = false\ndebounce_ms = 0\n\
             [gate]\nid = \"{id}\"\n\
             [[services]]\ncode = \"tout\"\nstart = \"00:00\"\nend = \"23:59\"\n\
             days = \"tous sam dim\"\n\
             [[tariffs]]\ncategory = \"eleve\"\nprice = \"3,90\"\noverdraft_meals = 1000\n"
        ),
        "bench.toml",
    )
    .unwrap();
    c.data_dir = dir.to_path_buf();
    c
}

struct Node {
    handle: GateHandle,
    store: Store,
    gate: Option<Gate>,
    state: Arc<SyncState>,
}

fn node(dir: &Path, id: &str, role: Role) -> Node {
    let store = Store::open(dir).unwrap();
    if role == Role::Hub {
        store.keep_change_log().unwrap();
    }
    let config = config(id, dir);
    let engine = store
        .load_engine(config.rules.clone(), Utc::now().date_naive())
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let shared = selfgate::node::gate::Shared::new(config, engine, clock);
    let (writer, _thread) = Writer::spawn(store.clone()).unwrap();
    let gate = Gate::new(shared, writer);
    Node {
        handle: gate.handle(),
        store,
        gate: Some(gate),
        state: SyncState::new(role),
    }
}

fn endpoint(pki: &Path, port: u16, gate: &str) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        tls: tls::client_config(
            &pki.join("ca.pem"),
            Some((
                &pki.join(format!("gate-{gate}.pem")),
                &pki.join(format!("gate-{gate}.key")),
            )),
        )
        .unwrap(),
    }
}

fn client(n: &Node, pki: &Path, port: u16, batch: usize) -> Client {
    let id = n.handle.shared().config().gate.id.clone();
    Client::new(
        n.handle.clone(),
        n.store.clone(),
        endpoint(pki, port, &id),
        batch,
        n.state.clone(),
    )
}

async fn serve(hub: &Node, pki: &Path) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let files = TlsFiles {
        ca: pki.join("ca.pem"),
        cert: pki.join("hub.pem"),
        key: pki.join("hub.key"),
        crl: Some(pki.join("crl.pem")),
    };
    let (h, s, st) = (hub.handle.clone(), hub.store.clone(), hub.state.clone());
    tokio::spawn(async move {
        hub::serve(listener, files, h, s, st, std::future::pending())
            .await
            .unwrap();
    });
    port
}

/// 100,000 persons with a badge and a 20 € balance, written at the hub.
fn roster(store: &Store) {
    let config = Config::defaults();
    let year = (config.school.year_start, config.school.year_end);
    let at = Utc::now();
    for chunk in (0..PERSONS).collect::<Vec<_>>().chunks(10_000) {
        let mut ops = Vec::with_capacity(chunk.len() * 3);
        for &i in chunk {
            ops.push(WriteOp::PutPerson(person(i, year)));
            ops.push(WriteOp::PutCredential(Credential {
                number: badge(i).parse::<BadgeNumber>().unwrap(),
                person: PersonId(i),
                status: CredentialStatus::Active,
            }));
            ops.push(WriteOp::Append {
                gate: "hub".into(),
                at,
                kind: EventKind::Credit(Credit {
                    person: PersonId(i),
                    cents: 2000,
                    note: "solde".into(),
                }),
            });
        }
        store.write_now(&ops).unwrap();
    }
}

/// `n` ticket passes journaled at gate `gate`, spread over past school days.
fn queue_events(store: &Store, gate: &str, n: u64) {
    let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    let mut written = 0;
    while written < n {
        let k = (n - written).min(20_000);
        let ops: Vec<WriteOp> = (written..written + k)
            .map(|i| {
                let person = PersonId((i % u64::from(PERSONS)) as u32);
                let day = start + TimeDelta::days((i / u64::from(PERSONS)) as i64);
                WriteOp::Append {
                    gate: gate.into(),
                    at: day.and_hms_opt(11, 30, 0).unwrap().and_utc(),
                    kind: EventKind::Passage(Passage {
                        credential: Some(badge(person.0)),
                        person: Some(person),
                        service: Some(ServiceId(0)),
                        day,
                        verdict: Verdict::Pass,
                        reason: Reason::Ticket,
                        charge_cents: 390,
                        balance_after_cents: None,
                        previous_at: None,
                        by: None,
                        note: None,
                    }),
                }
            })
            .collect();
        store.write_now(&ops).unwrap();
        written += k;
    }
}

pub fn bench_sync(events: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(events));
}

async fn run(events: u64) {
    let pki_dir = tempfile::tempdir().unwrap();
    let p = pki_dir.path();
    pki::init(p, "bench", 30).unwrap();
    pki::issue_hub(p, &["127.0.0.1".into()], Validity::days(30).unwrap()).unwrap();
    for g in ["ligne-1", "ligne-2", "ligne-3"] {
        pki::issue_gate(p, g, Validity::days(30).unwrap()).unwrap();
    }
    println!("## sync (hub and gates in one process, loopback, TLS 1.3, mutual authentication)\n");

    // Catch-up: a gate that was offline while it journaled `events` passages.
    {
        let (dh, dg) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let hub = node(dh.path(), "hub", Role::Hub);
        roster(&hub.store);
        let g = node(dg.path(), "ligne-3", Role::Gate);
        let t = Instant::now();
        queue_events(&g.store, "ligne-3", events);
        println!(
            "queued {events} events at the gate in {:.1} s (setup)",
            t.elapsed().as_secs_f64()
        );
        let port = serve(&hub, p).await;
        for batch in [2000usize] {
            let c = client(&g, p, port, batch);
            let mut conn = http::connect(&endpoint(p, port, "ligne-3")).await.unwrap();
            let t = Instant::now();
            let acked = c.reconcile(&mut conn).await.unwrap();
            let acked = c.push_all(&mut conn, acked).await.unwrap();
            let s = t.elapsed().as_secs_f64();
            assert_eq!(acked, events);
            assert_eq!(hub.store.last_seqs().unwrap().get("ligne-3"), Some(&events));
            println!(
                "catch-up of {events} queued events, batches of {batch}: {s:.1} s, {:.0} events/s \
                 (each merged durably at the hub, change log included)",
                events as f64 / s
            );
        }
        drop(hub);
    }

    // Roster: full then incremental; then the propagation of a passage.
    let (dh, d1, d2) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let hub = node(dh.path(), "hub", Role::Hub);
    roster(&hub.store);
    // The hub's engine must know the roster written behind its back above.
    let engine = hub
        .store
        .load_engine(
            hub.handle.shared().config().rules.clone(),
            Utc::now().date_naive(),
        )
        .unwrap();
    *hub.handle.shared().engine.write().unwrap() = engine;
    let port = serve(&hub, p).await;
    let mut g1 = node(d1.path(), "ligne-1", Role::Gate);
    let c1 = client(&g1, p, port, 2000);
    let mut conn = http::connect(&endpoint(p, port, "ligne-1")).await.unwrap();
    let t = Instant::now();
    let full = c1.sync_roster(&mut conn).await.unwrap();
    let s = t.elapsed().as_secs_f64();
    assert!(full.full);
    assert_eq!(g1.handle.shared().engine().roster().len(), PERSONS as usize);
    println!(
        "full roster sync, {} persons with badges and balances: {:.2} s, {:.1} MB on the wire \
         (JSON, before TLS), applied in one commit",
        full.changes,
        s,
        full.bytes as f64 / 1e6
    );
    let config = Config::defaults();
    let year = (config.school.year_start, config.school.year_end);
    let mut ops = Vec::new();
    for i in 0..100u32 {
        let mut x = person(i * 997 % PERSONS, year);
        x.class = "2NDE-B".into();
        ops.push(WriteOp::PutPerson(x));
    }
    hub.handle.change(ops).await.unwrap();
    let t = Instant::now();
    let inc = c1.sync_roster(&mut conn).await.unwrap();
    let s = t.elapsed().as_secs_f64();
    assert!(!inc.full);
    assert_eq!(inc.changes, 100);
    println!(
        "incremental roster sync after 100 changes: {:.1} ms, {} bytes on the wire",
        s * 1e3,
        inc.bytes
    );

    // Propagation: two running gates, a passage at gate 1 until gate 2 would refuse the pupil.
    let mut g2 = node(d2.path(), "ligne-2", Role::Gate);
    let c2 = client(&g2, p, port, 2000);
    let mut conn2 = http::connect(&endpoint(p, port, "ligne-2")).await.unwrap();
    c2.sync_roster(&mut conn2).await.unwrap();
    let mut running = Vec::new();
    for (g, c) in [(&mut g1, c1), (&mut g2, c2)] {
        let gate = g.gate.take().unwrap();
        let (t, _h) = selfgate_hardware::sim::SimTurnstile::new("t", None, false).unwrap();
        running.push(tokio::spawn(gate.run(
            Hardware {
                readers: vec![],
                turnstile: Arc::new(t),
            },
            std::future::pending(),
        )));
        running.push(tokio::spawn(c.run(std::future::pending())));
    }
    let connected = Instant::now();
    while !(g1.state.status().connected && g2.state.status().connected) {
        assert!(
            connected.elapsed() < Duration::from_secs(30),
            "gates never connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let today = g1.handle.shared().engine().local(Utc::now()).0;
    let mut times = Vec::new();
    for i in 0..200u32 {
        let who = PersonId(50_000 + i);
        let t = Instant::now();
        g1.handle.read(&badge(who.0)).await;
        loop {
            if g2
                .handle
                .shared()
                .engine()
                .served()
                .get(who, today, ServiceId(0))
                .is_some()
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "passage never arrived"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (p50, p99, _, max) = percentiles(times);
    println!(
        "passage propagation gate 1 → hub → gate 2 (read at gate 1 to gate 2's decision state, \
         3 durable commits on the way), 200 passages: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    // An opposition declared at the hub, until both gates would refuse the pupil.
    let mut times = Vec::new();
    for i in 0..100u32 {
        let who = PersonId(60_000 + i);
        let t = Instant::now();
        hub.handle
            .change(vec![WriteOp::PutOpposition(Opposition {
                id: u64::from(i) + 1,
                person: who,
                reason: OppositionReason::Manuelle,
                service: None,
                from: today,
                to: None,
                note: "bench".into(),
                lifted: false,
            })])
            .await
            .unwrap();
        while [&g1, &g2].iter().any(|g| {
            g.handle
                .shared()
                .engine()
                .roster()
                .oppositions_of(who)
                .is_empty()
        }) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "opposition never arrived"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (p50, p99, _, max) = percentiles(times);
    println!(
        "opposition declared at the hub until both gates hold it (hub commit, then each gate's), \
         100 oppositions: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    for r in running {
        r.abort();
    }
}
