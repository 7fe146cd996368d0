//! Commit before open, under SIGKILL: the daemon is killed at arbitrary moments while badges
//! stream in through a named pipe; after each restart, every pulse the simulated turnstile gave
//! must belong to a passage in the journal, nothing is numbered twice, and the anti-passback
//! state of the killed runs is still there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::{Duration, Instant};

use selfgate_tests::{
    KioskClient, fifo_badge, fifo_gate, journal, open_fifo, start_daemon, tempdir, terminate,
};

/// Kill cycles in the test suite; `SELFGATE_SOAK_CYCLES=N` runs a longer soak (see README).
const CYCLES: usize = 50;
/// Badges sent per cycle at most (a person passes once).
const PER_CYCLE: usize = 60;

fn cycles() -> usize {
    std::env::var("SELFGATE_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CYCLES)
}

/// A tiny deterministic PRNG for the kill moments.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn every_pulse_survives_sigkill_in_the_journal() {
    let dir = tempdir();
    let cycles = cycles();
    let persons_in_roster = cycles * PER_CYCLE;
    let config = fifo_gate(dir.path(), persons_in_roster);
    let data = dir.path().join("data");

    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next_person = 0;
    let mut presented_again = 0;
    for cycle in 0..cycles {
        let (mut child, _) = start_daemon(&config);
        let mut pipe = open_fifo(dir.path());
        let kill_after = Duration::from_millis(100 + next(&mut rng) % 400);
        let started = Instant::now();
        while started.elapsed() < kill_after && next_person < persons_in_roster {
            // One read in four is a pupil from before (this run or a killed one) coming back:
            // whoever passed must be refused, whatever the restarts.
            let again = next_person > 0 && next(&mut rng).is_multiple_of(4);
            let person = if again {
                usize::try_from(next(&mut rng)).unwrap() % next_person
            } else {
                next_person
            };
            if writeln!(pipe, "{}", fifo_badge(person))
                .and_then(|()| pipe.flush())
                .is_err()
            {
                break;
            }
            if again {
                presented_again += 1;
            } else {
                next_person += 1;
            }
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
    // Nobody passed twice, whatever the restarts: pupils came back, and were refused.
    let mut persons = HashSet::new();
    for p in passes.values() {
        assert!(
            persons.insert(p["person"].as_str().unwrap().to_owned()),
            "passed twice: {p}"
        );
    }
    let refused_again = events
        .iter()
        .filter(|e| e["reason"] == "already_served")
        .count();
    assert!(
        presented_again > 0 && refused_again > 0,
        "no pupil came back ({presented_again} presented again, {refused_again} refused): \
         the check above proves nothing"
    );
    eprintln!(
        "{} pulses, {} passes journaled, {} events",
        pulses.len(),
        passes.len(),
        events.len()
    );

    // Balances equal the opening credits minus the charges journaled, person by person.
    let mut expected: HashMap<String, i64> = HashMap::new();
    for e in &events {
        let person = e["person"].as_str().unwrap_or_default().to_owned();
        match e["kind"].as_str() {
            Some("credit") => {
                *expected.entry(person).or_default() += e["credit_cents"].as_i64().unwrap()
            }
            Some("passage") => {
                *expected.entry(person).or_default() -= e["charge_cents"].as_i64().unwrap()
            }
            _ => {}
        }
    }
    let out = selfgate_tests::selfgate()
        .args(["persons", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = selfgate_tests::parse_json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(stored.len(), persons_in_roster);
    let mut charged = 0;
    for p in &stored {
        let id = p["person"].as_str().unwrap();
        let balance = p["balance_cents"].as_i64().unwrap();
        assert_eq!(
            balance,
            expected.get(id).copied().unwrap_or(0),
            "balance of {id}"
        );
        charged += usize::from(balance < 10_000);
    }
    assert_eq!(
        charged,
        passes.len(),
        "every pass charged once, and only passes"
    );

    // The anti-passback state of the killed runs survived: a pupil who passed is refused now.
    let first = passes.values().next().unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut child, addr) = start_daemon(&config);
    let kiosk = KioskClient::surveillant(addr, &data);
    let mut pipe = open_fifo(dir.path());
    writeln!(pipe, "{first}").unwrap();
    pipe.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let item = loop {
        let feed: serde_json::Value = serde_json::from_str(&kiosk.get("/api/feed").body).unwrap();
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
    terminate(&mut child);
    let last = journal(&data)
        .into_iter()
        .rfind(|e| e["credential"] == first.as_str())
        .unwrap();
    assert_eq!(
        (last["verdict"].as_str(), last["reason"].as_str()),
        (Some("deny"), Some("already_served"))
    );
}
