//! `kiosk`: the live feed at 50 connected staff screens. A gate with 1,000 ticket pupils runs
//! with a simulated reader; the real kiosk server (login, session cookie, `GET /events`) serves
//! 50 clients, each its own TCP connection reading the event stream. 200 badges are presented,
//! 50 ms apart; for each decision and each client the benchmark takes the time from the read
//! (decision, durable commit and publication included) and from the commit's announcement
//! inside the daemon to the line reaching the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use selfgate::config::Config;
use selfgate::node::gate::{Change, Hardware};
use selfgate::node::{Node, NodeSpec, Services};
use selfgate::store::{Store, WriteOp};
use selfgate_hardware::Reader;
use selfgate_hardware::sim::{SimReader, SimTurnstile};
use selfgate_rules::journal::{Credit, EventKind};
use selfgate_rules::model::{Credential, CredentialStatus, PersonId};

const PUPILS: u32 = 1_000;
const CLIENTS: usize = 50;

/// (client, seq, person, when the line arrived).
type Received = (usize, u64, u32, Instant);

fn badge(i: u32) -> String {
    format!("0D{i:08X}")
}

async fn request(addr: std::net::SocketAddr, head: &str, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!(
            "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn cookie(resp: &str, name: &str) -> String {
    resp.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| {
            l.split_once(':')?
                .1
                .trim()
                .split(';')
                .next()?
                .split_once('=')
        })
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap()
}

pub fn bench_kiosk(decisions: u32) {
    let dir = tempfile::tempdir_in(crate::bench_dir()).unwrap();
    let mut config = Config::parse(
        &format!(
            "[school]\ntimezone = \"UTC\"\npublic_holidays = false\n[store]\ndata_dir = {:?}\n\
             [gate]\nid = \"ligne-1\"\n[[gate.readers]]\nname = \"r1\"\nkind = \"simulated\"\n\
             [[services]]\ncode = \"tout\"\nstart = \"00:00\"\nend = \"23:59\"\ndays = \"tous sam dim\"\n",
            dir.path().display().to_string()
        ),
        "bench.toml",
    )
    .unwrap();
    config.kiosk.listen = "127.0.0.1:0".parse().unwrap();
    let year = (config.school.year_start, config.school.year_end);
    let store = Store::open(dir.path()).unwrap();
    let mut ops = Vec::new();
    for i in 0..PUPILS {
        let mut p = crate::person(i, year);
        p.forfaits.clear();
        ops.push(WriteOp::PutPerson(p));
        ops.push(WriteOp::PutCredential(Credential {
            number: badge(i).parse().unwrap(),
            person: PersonId(i),
            status: CredentialStatus::Active,
        }));
        ops.push(WriteOp::Append {
            gate: "ligne-1".into(),
            at: Utc::now(),
            kind: EventKind::Credit(Credit {
                person: PersonId(i),
                cents: 100_000,
                note: "bench".into(),
            }),
        });
    }
    store.write_now(&ops).unwrap();
    selfgate_kiosk::accounts::AccountsFile::in_dir(dir.path())
        .add(
            "bench",
            selfgate_kiosk::accounts::Role::Surveillant,
            "bench-password",
        )
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // seq → when the commit was announced; person → when the badge was read.
    let committed: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let presented: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
    // (client, seq, person, received)
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();

    let result = rt.block_on(async {
        // The node as `selfgate run` starts it, with its kiosk.
        let (reader, handle) = SimReader::new("r1");
        let (t, _th) = SimTurnstile::new("t", None, false).unwrap();
        let hw = Hardware {
            readers: vec![Box::new(reader) as Box<dyn Reader>],
            turnstile: Arc::new(t),
        };
        let mut spec = NodeSpec::new(
            config.clone(),
            Arc::new(selfgate::infra::clock::SystemClock),
            hw,
        );
        spec.store = Some(store.clone());
        spec.services = Services {
            kiosk: true,
            ..Services::NONE
        };
        let node = Node::start(spec).await.unwrap();
        let addr = node.kiosk_addr().unwrap();
        let mut changes = node.shared().subscribe();
        let c2 = committed.clone();
        tokio::spawn(async move {
            while let Ok(c) = changes.recv().await {
                if let Change::Event(e) = c {
                    c2.lock().unwrap().insert(e.seq, Instant::now());
                }
            }
        });

        // Log in once; the 50 screens share the session.
        let page = request(addr, "GET /login HTTP/1.0", "").await;
        let token = cookie(&page, "sg_login");
        let body = format!("csrf={token}&name=bench&password=bench-password");
        let login = request(
            addr,
            &format!("POST /login HTTP/1.0\r\nCookie: sg_login={token}\r\nContent-Type: application/x-www-form-urlencoded"),
            &body,
        )
        .await;
        let session = cookie(&login, "sg_session");

        let connected = Arc::new(tokio::sync::Semaphore::new(0));
        let mut clients = Vec::new();
        for n in 0..CLIENTS {
            let received = received.clone();
            let connected = connected.clone();
            let session = session.clone();
            clients.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.write_all(
                    format!("GET /events HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCookie: sg_session={session}\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
                let mut lines = BufReader::new(s).lines();
                let status = lines.next_line().await.unwrap().unwrap_or_default();
                assert!(status.contains("200"), "{status}");
                connected.add_permits(1);
                while let Ok(Some(line)) = lines.next_line().await {
                    let Some(data) = line.strip_prefix("data: ") else { continue };
                    let at = Instant::now();
                    let v: serde_json::Value = serde_json::from_str(data).unwrap();
                    let item = &v["item"];
                    if let (Some(seq), Some(person)) = (item["seq"].as_u64(), item["person"].as_u64()) {
                        received.lock().unwrap().push((n, seq, person as u32, at));
                    }
                }
            }));
        }
        let _ = connected.acquire_many(CLIENTS as u32).await.unwrap();
        let started = Instant::now();
        for i in 0..decisions {
            presented.lock().unwrap().insert(i, Instant::now());
            handle.present(&badge(i)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let elapsed = started.elapsed();
        node.stop().await;
        for c in clients {
            c.abort();
        }
        elapsed
    });
    drop(rt);

    let committed = committed.lock().unwrap();
    let presented = presented.lock().unwrap();
    let received = received.lock().unwrap();
    let mut from_read = Vec::new();
    let mut from_commit = Vec::new();
    for (_, seq, person, at) in received.iter() {
        if let Some(p) = presented.get(person) {
            from_read.push(at.saturating_duration_since(*p));
        }
        if let Some(c) = committed.get(seq) {
            from_commit.push(at.saturating_duration_since(*c));
        }
    }
    let expected = decisions as usize * CLIENTS;
    let (r50, r99, _, rmax) = crate::percentiles(from_read);
    let (c50, c99, _, cmax) = crate::percentiles(from_commit);
    println!(
        "## kiosk live feed, {CLIENTS} SSE clients, {decisions} decisions 50 ms apart, {PUPILS} pupils ({result:?})"
    );
    println!("| measure | p50 | p99 | max | lines received / expected |");
    println!("|---|---|---|---|---|");
    println!(
        "| badge read → line at the client (decision, durable commit, publication, SSE) | {r50:?} | {r99:?} | {rmax:?} | {} / {expected} |",
        received.len()
    );
    println!(
        "| commit announced in the daemon → line at the client | {c50:?} | {c99:?} | {cmax:?} | |\n"
    );
}
