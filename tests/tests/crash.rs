//! Commit before open, under SIGKILL: the daemon is killed at arbitrary moments while badges
//! stream in through a named pipe; after each restart, every pulse the simulated turnstile gave
//! must belong to a passage in the journal, nothing is numbered twice, and the anti-passback
//! state of the killed runs is still there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use selfgate_tests::{http_get, selfgate};

const PERSONS: usize = 1200;
const CYCLES: usize = 12;

fn badge(i: usize) -> String {
    format!("0C{i:08X}")
}

fn write_fixture(dir: &Path) -> std::path::PathBuf {
    let mut roster = String::from(
        "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n",
    );
    for i in 0..PERSONS {
        roster.push_str(&format!(
            "C{i:04};Crash;Test{i};6A;eleve;externe;;{};100,00\n",
            badge(i)
        ));
    }
    std::fs::write(dir.join("roster.csv"), roster).unwrap();
    let config = format!(
        r#"[school]
name = "Crash test"
timezone = "UTC"
public_holidays = false
[store]
data_dir = "{data}"
[gate]
id = "ligne-1"
pulse_ms = 50
[[gate.readers]]
name = "pipe"
kind = "line"
path = "{fifo}"
[gate.turnstile]
kind = "simulated"
pulse_log = "{pulses}"
[kiosk]
listen = "127.0.0.1:0"
[[services]]
code = "tout"
start = "00:00"
end = "23:59"
days = "lun mar mer jeu ven sam dim"
"#,
        data = dir.join("data").display(),
        fifo = dir.join("reader.fifo").display(),
        pulses = dir.join("pulses.log").display(),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Starts `selfgate run` and waits for its ready line; returns the kiosk's address too.
fn start(config: &Path) -> (Child, String) {
    let mut child = selfgate()
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("selfgate: ready") => {
                let addr = line
                    .split("http://")
                    .nth(1)
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_owned();
                return (child, addr);
            }
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("the daemon did not become ready: {e}");
            }
        }
    }
}

/// A tiny deterministic PRNG for the kill moments.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn journal(data: &Path) -> Vec<serde_json::Value> {
    let out = selfgate()
        .args(["journal", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "journal failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until the service window is not about to close (it ends at 23:59 UTC).
fn avoid_midnight() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400;
    if secs >= 86_400 - 120 {
        std::thread::sleep(Duration::from_secs(86_400 - secs + 5));
    }
}

#[test]
fn every_pulse_survives_sigkill_in_the_journal() {
    avoid_midnight();
    let dir = tempfile::tempdir().unwrap();
    let config = write_fixture(dir.path());
    let data = dir.path().join("data");
    let imported = selfgate()
        .args(["import", "roster"])
        .arg(dir.path().join("roster.csv"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let fifo = dir.path().join("reader.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );

    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next_person = 0;
    for cycle in 0..CYCLES {
        let (mut child, _) = start(&config);
        // Opening the pipe waits for the daemon's reader to open it.
        let (tx, rx) = mpsc::channel();
        let fifo_path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(std::fs::OpenOptions::new().write(true).open(fifo_path));
        });
        let mut pipe = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the reader never opened its pipe")
            .unwrap();
        let kill_after = Duration::from_millis(100 + next(&mut rng) % 400);
        let started = Instant::now();
        while started.elapsed() < kill_after && next_person < PERSONS {
            if writeln!(pipe, "{}", badge(next_person))
                .and_then(|()| pipe.flush())
                .is_err()
            {
                break;
            }
            next_person += 1;
            std::thread::sleep(Duration::from_millis(1 + next(&mut rng) % 4));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        drop(pipe);
        eprintln!("cycle {cycle}: killed after {kill_after:?}, {next_person} badges sent so far");
    }

    let events = journal(&data);
    let mut seen = HashSet::new();
    for e in &events {
        assert!(
            seen.insert((
                e["gate"].as_str().unwrap().to_owned(),
                e["seq"].as_u64().unwrap()
            )),
            "numbered twice: {e}"
        );
    }
    let passes: HashMap<String, &serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "passage" && e["verdict"] == "pass")
        .map(|e| (format!("{}/{}", e["gate"].as_str().unwrap(), e["seq"]), e))
        .collect();
    let log = std::fs::read_to_string(dir.path().join("pulses.log")).unwrap_or_default();
    let pulses: Vec<&str> = log.lines().filter_map(|l| l.split('\t').next()).collect();
    assert!(
        !pulses.is_empty(),
        "no pulse at all: the test proves nothing"
    );
    let unique: HashSet<&&str> = pulses.iter().collect();
    assert_eq!(unique.len(), pulses.len(), "a passage was pulsed twice");
    for tag in &pulses {
        assert!(
            passes.contains_key(*tag),
            "pulse {tag} has no passage in the journal"
        );
    }
    // Nobody passed twice, whatever the restarts.
    let mut persons = HashSet::new();
    for p in passes.values() {
        assert!(
            persons.insert(p["person"].as_str().unwrap().to_owned()),
            "passed twice: {p}"
        );
    }
    eprintln!(
        "{} pulses, {} passes journaled, {} events",
        pulses.len(),
        passes.len(),
        events.len()
    );

    // The anti-passback state of the killed runs survived: a pupil who passed is refused now.
    let first = passes.values().next().unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut child, addr) = start(&config);
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writeln!(pipe, "{first}").unwrap();
    pipe.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let item = loop {
        let feed: serde_json::Value =
            serde_json::from_str(&http_get(addr.parse().unwrap(), "/api/feed").unwrap().body)
                .unwrap();
        if let Some(item) = feed.as_array().unwrap().first() {
            break item.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the re-presented badge never reached the kiosk feed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(item["pass"], false, "{item}");
    assert_eq!(item["reason"], "already_served", "{item}");
    // SIGTERM stops it cleanly, and the denial is journaled too.
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        child.wait().unwrap().success(),
        "the daemon did not stop cleanly on SIGTERM"
    );
    let last = journal(&data)
        .into_iter()
        .rfind(|e| e["credential"] == first.as_str())
        .unwrap();
    assert_eq!(
        (last["verdict"].as_str(), last["reason"].as_str()),
        (Some("deny"), Some("already_served"))
    );
}
