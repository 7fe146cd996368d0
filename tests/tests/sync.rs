//! Hub and gates as real `selfgate` processes, certificates made by `selfgate pki`, a faulty
//! proxy between each gate and the hub: drops, delays, cuts and resets, the hub and a gate
//! killed (SIGKILL) in the middle of a batch. Afterwards every event each gate committed is in
//! the hub's journal exactly once, the same event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use selfgate_tests::proxy::{Mode, Proxy};
use selfgate_tests::*;

const PUPILS: usize = 240;

fn pki(dir: &Path, args: &[&str]) {
    let out = selfgate()
        .arg("pki")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pki {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn node_config(dir: &Path, id: &str, sync: &str, reader: bool) -> PathBuf {
    let reader = if reader {
        format!(
            "[[gate.readers]]\nname = \"pipe\"\nkind = \"line\"\npath = {}\n",
            toml_str(&dir.join("reader.fifo").display().to_string())
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"[school]
name = "Test"
timezone = "UTC"
public_holidays = false
[store]
data_dir = {data}
[gate]
id = "{id}"
pulse_ms = 50
{reader}[gate.turnstile]
kind = "simulated"
[kiosk]
listen = "127.0.0.1:0"
[[services]]
code = "tout"
start = "00:00"
end = "23:59"
days = "lun mar mer jeu ven sam dim"
[sync]
{sync}
"#,
        data = toml_str(&dir.join("data").display().to_string()),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running node: the process, its kiosk, and (a hub) its sync address.
struct Node {
    child: KillOnDrop,
    kiosk: SocketAddr,
    hub: Option<SocketAddr>,
}

fn start(config: &Path) -> Node {
    let mut child = KillOnDrop::new(
        selfgate()
            .args(["run", "--config"])
            .arg(config)
            .env("SELFGATE_LOG", "selfgate=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.stdout.take().unwrap());
    let mut hub = None;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the node never became ready");
        let addr = |l: &str, scheme: &str| -> SocketAddr {
            l.split(scheme)
                .nth(1)
                .unwrap()
                .trim_end_matches('/')
                .parse()
                .unwrap()
        };
        if line.starts_with("selfgate: hub on") {
            hub = Some(addr(&line, "https://"));
        }
        if line.starts_with("selfgate: ready") {
            return Node {
                kiosk: addr(&line, "http://"),
                child,
                hub,
            };
        }
    }
}

fn health(node: &Node) -> Value {
    let r = http_get(node.kiosk, "/healthz").unwrap();
    serde_json::from_str(&r.body).unwrap()
}

fn waiting(node: &Node) -> u64 {
    health(node)["sync"]["events_waiting"].as_u64().unwrap()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill9(node: &mut Node) {
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}

/// Writes badge reads into a gate's pipe.
fn feed(pipe: &mut std::fs::File, pupils: impl Iterator<Item = usize>) {
    for i in pupils {
        writeln!(pipe, "{}", fifo_badge(i)).unwrap();
    }
    pipe.flush().unwrap();
}

/// A gate's own events in its journal, as the hub's journal shows the same gate's.
fn events_of(data: &Path, gate: &str) -> Vec<Value> {
    journal(data)
        .into_iter()
        .filter(|e| e["gate"] == gate)
        .map(|mut e| {
            // Names are resolved by each store from its own roster; compare the events.
            if let Some(o) = e.as_object_mut() {
                o.retain(|k, _| {
                    matches!(
                        k.as_str(),
                        "gate"
                            | "seq"
                            | "at"
                            | "kind"
                            | "credential"
                            | "verdict"
                            | "reason"
                            | "charge_cents"
                            | "day"
                            | "service"
                    )
                });
            }
            e
        })
        .collect()
}

#[test]
fn faults_between_gates_and_hub_lose_and_double_nothing() {
    let dir = tempdir();
    let pki_dir = dir.path().join("pki");
    pki(&pki_dir, &["init", "--name", "Collège Test"]);
    pki(&pki_dir, &["issue-hub", "--name", "127.0.0.1"]);
    for g in ["ligne-1", "ligne-2"] {
        pki(&pki_dir, &["issue-gate", g]);
    }
    let p = |f: &str| toml_str(&pki_dir.join(f).display().to_string());

    // The hub holds the roster: PUPILS ticket pupils with 100 € each.
    let hub_dir = dir.path().join("hub");
    std::fs::create_dir_all(&hub_dir).unwrap();
    let hub_config = node_config(
        &hub_dir,
        "hub",
        &format!(
            "role = \"hub\"\nlisten = \"127.0.0.1:0\"\nca = {}\ncert = {}\nkey = {}\ncrl = {}\n",
            p("ca.pem"),
            p("hub.pem"),
            p("hub.key"),
            p("crl.pem")
        ),
        false,
    );
    ticket_roster(&hub_dir.join("roster.csv"), PUPILS);
    import_roster(&hub_dir.join("roster.csv"), &hub_config);
    let mut hub = start(&hub_config);
    let hub_addr = hub.hub.expect("the hub printed its address");

    let mut gates = Vec::new();
    for id in ["ligne-1", "ligne-2"] {
        let gdir = dir.path().join(id);
        std::fs::create_dir_all(&gdir).unwrap();
        let proxy = Proxy::start(hub_addr);
        let config = node_config(
            &gdir,
            id,
            &format!(
                "role = \"gate\"\nhub = \"https://127.0.0.1:{}\"\nca = {}\ncert = {}\nkey = {}\nbatch = 16\n",
                proxy.addr().port(),
                p("ca.pem"),
                p(&format!("gate-{id}.pem")),
                p(&format!("gate-{id}.key")),
            ),
            true,
        );
        assert!(
            std::process::Command::new("mkfifo")
                .arg(gdir.join("reader.fifo"))
                .status()
                .unwrap()
                .success()
        );
        let node = start(&config);
        gates.push((id, gdir, config, proxy, node));
    }
    for (_, _, _, _, node) in &gates {
        wait_for("the gate has the hub's roster", 20, || {
            health(node)["persons"].as_u64() == Some(PUPILS as u64)
        });
    }
    let mut pipes: Vec<std::fs::File> = gates.iter().map(|g| open_fifo(&g.1)).collect();
    let half = PUPILS / 2;

    // 1. Delays, then drops: the gates keep deciding, their outboxes fill.
    gates[0].3.set_mode(Mode::Delay(Duration::from_millis(30)));
    gates[1].3.set_mode(Mode::Drop);
    feed(&mut pipes[0], 0..40);
    feed(&mut pipes[1], half..half + 40);
    std::thread::sleep(Duration::from_millis(700));
    // 2. Cut every connection, reset the new ones, then let them through again.
    for g in &gates {
        g.3.cut();
        g.3.set_mode(Mode::Reset);
    }
    feed(&mut pipes[0], 40..60);
    feed(&mut pipes[1], half + 40..half + 60);
    std::thread::sleep(Duration::from_millis(500));
    for g in &gates {
        g.3.set_mode(Mode::Pass);
    }

    // 3. Outboxes full behind a dropping link, then the link back and the hub killed while the
    //    batches (16 events each) go up. It comes back on another port.
    for g in &gates {
        g.3.set_mode(Mode::Drop);
    }
    feed(&mut pipes[0], 60..100);
    feed(&mut pipes[1], half + 60..half + 100);
    // Pupils 0..10 again at gate 2: already served at gate 1 (or, partitioned, a double).
    feed(&mut pipes[1], 0..10);
    wait_for("both outboxes hold events", 20, || {
        gates.iter().all(|g| waiting(&g.4) >= 30)
    });
    for g in &gates {
        g.3.cut();
        g.3.set_mode(Mode::Pass);
    }
    std::thread::sleep(Duration::from_millis(40));
    kill9(&mut hub);
    hub = start(&hub_config);
    let hub_addr = hub.hub.unwrap();
    for g in &gates {
        g.3.retarget(hub_addr);
    }

    // 4. Gate 1 killed in the middle of its batches, then restarted.
    feed(&mut pipes[0], 100..half);
    wait_for("gate 1 has events waiting", 20, || waiting(&gates[0].4) > 0);
    std::thread::sleep(Duration::from_millis(20));
    kill9(&mut gates[0].4);
    gates[0].4 = start(&gates[0].2);
    pipes[0] = open_fifo(&gates[0].1);
    feed(&mut pipes[0], half..half + 20);
    feed(&mut pipes[1], half + 100..PUPILS);

    // Everything settles: nothing waits at either gate.
    for g in &gates {
        wait_for("the outbox is empty", 30, || {
            let h = health(&g.4);
            h["sync"]["connected"] == true && h["sync"]["events_waiting"] == 0
        });
    }
    drop(pipes);
    for g in gates.iter_mut() {
        terminate(&mut g.4.child);
    }
    terminate(&mut hub.child);

    let hub_data = hub_dir.join("data");
    for (id, gdir, ..) in &gates {
        let mine = events_of(&gdir.join("data"), id);
        let at_hub = events_of(&hub_data, id);
        assert!(mine.len() > 100, "{id}: only {} events", mine.len());
        let seqs: Vec<u64> = at_hub.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "{id}: the hub's numbers have gaps or repeats"
        );
        assert_eq!(
            mine.len(),
            at_hub.len(),
            "{id}: {} committed, {} at the hub",
            mine.len(),
            at_hub.len()
        );
        for (a, b) in mine.iter().zip(&at_hub) {
            assert_eq!(a, b, "{id}: the hub holds another event under this number");
        }
    }
}

#[test]
fn pki_commands_make_private_keys_and_refuse_what_makes_no_sense() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let d = dir.path().join("pki");
    pki(&d, &["init", "--name", "Lycée Test"]);
    pki(
        &d,
        &["issue-hub", "--name", "hub.lycee.lan", "--name", "10.0.0.2"],
    );
    pki(&d, &["issue-gate", "ligne-1"]);
    for key in ["ca.key", "hub.key", "gate-ligne-1.key"] {
        let mode = std::fs::metadata(d.join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    let run_pki = |args: &[&str]| run(selfgate().arg("pki").args(args).arg("--dir").arg(&d));
    run_pki(&["init"])
        .failure()
        .stderr_has(&["already holds an authority"]);
    run_pki(&["issue-gate", "ligne 2"])
        .failure()
        .stderr_has(&["not a gate id"]);
    run_pki(&["revoke", "ligne-9"])
        .failure()
        .stderr_has(&["ligne-9"]);
    run_pki(&["revoke", "ligne-1"]).success();
    run_pki(&["list", "--lang", "fr"]).success().stdout_has(&[
        "hub\thub",
        "gate\tligne-1",
        "révoqué",
    ]);
    let other = dir.path().join("empty");
    run(selfgate()
        .args(["pki", "issue-gate", "ligne-1", "--dir"])
        .arg(&other))
    .failure()
    .stderr_has(&["pki init"]);
}
