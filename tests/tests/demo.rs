//! The demo's acceptance: `selfgate demo` runs a simulated school, serves its kiosk, leaves a
//! journal of passes and denials, and a second run on the same directory keeps the history,
//! numbers on, and counts no one twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use selfgate_tests::*;

/// A running `selfgate demo`, its stdout lines arriving on a channel.
struct Demo {
    child: KillOnDrop,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr_path: std::path::PathBuf,
}

impl Demo {
    fn start(data: &Path, run_for: &str, logs: &Path) -> Demo {
        let stderr_path = logs.join(format!("demo-{run_for}-stderr.log"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = KillOnDrop::new(
            selfgate()
                .args([
                    "demo",
                    "--for",
                    run_for,
                    "--speed",
                    "60",
                    "--listen",
                    "127.0.0.1:0",
                    "--data",
                ])
                .arg(data)
                .stdout(Stdio::piped())
                .stderr(Stdio::from(stderr))
                .spawn()
                .expect("cannot start selfgate demo"),
        );
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Demo {
            child,
            lines,
            seen: Vec::new(),
            stderr_path,
        }
    }

    /// Waits for a stdout line containing `needle`.
    fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {timeout:?}; stdout so far:\n{}\nstderr:\n{}",
                    self.seen.join("\n"),
                    self.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits for the exit; returns all of stdout.
    fn finish(mut self, timeout: Duration) -> String {
        let status = self
            .child
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("the demo did not stop within {timeout:?}"));
        // The reader thread ends at EOF.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stdout = self.seen.join("\n");
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "the demo panicked:\n{stderr}");
        assert!(
            status.success(),
            "the demo exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        stdout
    }
}

/// The kiosk address from `demo: kiosk on http://127.0.0.1:PORT/ · …`.
fn kiosk_addr(line: &str) -> SocketAddr {
    let rest = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let addr = rest.split('/').next().unwrap();
    addr.parse()
        .unwrap_or_else(|e| panic!("bad kiosk address {addr:?} in {line:?}: {e}"))
}

fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    let mut last = None;
    for _ in 0..20 {
        match http_get(addr, path) {
            Ok(r) => return r,
            Err(e) => {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    panic!("GET http://{addr}{path} failed: {last:?}");
}

fn key(e: &Value) -> (String, u64) {
    (
        e["gate"]
            .as_str()
            .unwrap_or_else(|| panic!("no gate in {e}"))
            .to_owned(),
        e["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {e}")),
    )
}

/// Events by (gate, seq), refusing duplicates.
fn by_key(events: &[Value]) -> BTreeMap<(String, u64), Value> {
    let mut map = BTreeMap::new();
    for e in events {
        assert!(
            map.insert(key(e), e.clone()).is_none(),
            "duplicate (gate, seq) {:?}",
            key(e)
        );
    }
    map
}

/// Nobody passed twice for the same (day, service).
#[track_caller]
fn assert_one_pass_per_service(events: &[Value]) {
    let mut passes: HashMap<(String, String, String), Vec<&Value>> = HashMap::new();
    for e in events
        .iter()
        .filter(|e| e["kind"] == "passage" && e["verdict"] == "pass")
    {
        let person = e["person"]
            .as_str()
            .unwrap_or_else(|| panic!("a pass without a person: {e}"));
        let day = e["day"]
            .as_str()
            .unwrap_or_else(|| panic!("a pass without a day: {e}"));
        let service = e["service"]
            .as_str()
            .unwrap_or_else(|| panic!("a pass without a service: {e}"));
        passes
            .entry((person.to_owned(), day.to_owned(), service.to_owned()))
            .or_default()
            .push(e);
    }
    for (k, list) in passes {
        assert!(
            list.len() <= 1,
            "{k:?} passed {} times: {list:#?}",
            list.len()
        );
    }
}

#[test]
fn demo_runs_serves_its_kiosk_and_resumes_without_counting_twice() {
    let dir = tempdir();
    let data = dir.path().join("demo");

    // ---- first run: 20 s at ×60, kiosk fetched while it runs ----
    let mut first = Demo::start(&data, "20s", dir.path());
    let line = first.wait_for_line("kiosk on http://", Duration::from_secs(60));
    let addr = kiosk_addr(&line);
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{line}");

    let health = get(addr, "/healthz");
    assert_eq!(health.status, 200, "{health:?}");
    assert!(
        health
            .headers
            .to_ascii_lowercase()
            .contains("application/json"),
        "{health:?}"
    );
    let h: Value = serde_json::from_str(&health.body)
        .unwrap_or_else(|e| panic!("/healthz is not JSON ({e}): {}", health.body));
    assert_eq!(h["status"], "ok", "{h}");

    // The staff screen needs a login: the demo prints its account at start.
    assert_eq!(get(addr, "/api/feed").status, 401);
    let account = first
        .seen
        .iter()
        .find(|l| l.contains("kiosk account `demo`"))
        .cloned()
        .unwrap_or_else(|| first.wait_for_line("kiosk account `demo`", Duration::from_secs(10)));
    let password = account
        .split("password ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {account:?}"));
    let staff = KioskClient::login(addr, "demo", password);
    let page = staff.get("/");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.headers.to_ascii_lowercase().contains("text/html"),
        "{page:?}"
    );
    assert!(page.body.contains("Passages en direct"), "{}", page.body);

    let out1 = first.finish(Duration::from_secs(90));
    assert!(out1.contains("demo: created a school"), "{out1}");
    // Families top up at the régie before lunch; one mistyped payment is cancelled.
    assert!(
        out1.contains("demo: cash desk, receipt INT-")
            && out1.contains("cancelled (typing mistake)"),
        "{out1}"
    );

    // The bursar's side: the term constated, its notices and bordereau written, and the
    // bordereau's lines are the receivables of the journal, to the cent.
    assert!(out1.contains("demo: term billing"), "{out1}");
    assert!(out1.contains("avis de versement"), "{out1}");
    let j1 = journal(&data);
    let receivables: Vec<&Value> = j1.iter().filter(|e| e["kind"] == "receivable").collect();
    assert!(receivables.len() > 100, "{} receivables", receivables.len());
    let journaled: i64 = receivables
        .iter()
        .map(|e| e["cents"].as_i64().unwrap())
        .sum();
    let billing = data.join("facturation");
    let csv = std::fs::read_dir(&billing)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("the bordereau's CSV");
    let text = std::fs::read_to_string(&csv).unwrap();
    let net: i64 = text
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cell = l.split(';').nth(15).unwrap().replace(',', "");
            cell.parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(
        net, journaled,
        "the bordereau's Net column = Σ receivable events"
    );
    assert!(
        std::fs::read_dir(&billing).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("avis-")),
        "the family notices"
    );
    let passages: Vec<&Value> = j1.iter().filter(|e| e["kind"] == "passage").collect();
    for p in &passages {
        assert!(p["verdict"] == "pass" || p["verdict"] == "deny", "{p}");
        assert!(p["reason"].as_str().is_some_and(|r| !r.is_empty()), "{p}");
    }
    let passes = passages.iter().filter(|p| p["verdict"] == "pass").count();
    let denial_reasons: BTreeSet<&str> = passages
        .iter()
        .filter(|p| p["verdict"] == "deny")
        .filter_map(|p| p["reason"].as_str())
        .collect();
    assert!(passes >= 10, "only {passes} passes in the first run");
    assert!(
        denial_reasons.len() >= 2,
        "denial reasons of the first run: {denial_reasons:?}"
    );
    let first_events = by_key(&j1);
    assert_one_pass_per_service(&j1);

    // ---- second run on the same directory: history kept, numbering goes on ----
    let second = Demo::start(&data, "10s", dir.path());
    let out2 = second.finish(Duration::from_secs(90));
    assert!(
        out2.contains(&format!(
            "resuming the school in {}",
            std::fs::canonicalize(&data).unwrap().display()
        )),
        "{out2}"
    );
    assert!(
        out2.contains(&format!("({} journal events so far)", j1.len())),
        "{out2}"
    );

    let j2 = journal(&data);
    let all = by_key(&j2);
    for (k, e) in &first_events {
        assert_eq!(
            all.get(k),
            Some(e),
            "event {k:?} of the first run changed or vanished"
        );
    }
    let mut max_first: HashMap<&str, u64> = HashMap::new();
    for (gate, seq) in first_events.keys() {
        let m = max_first.entry(gate.as_str()).or_default();
        *m = (*m).max(*seq);
    }
    let new: Vec<&(String, u64)> = all
        .keys()
        .filter(|k| !first_events.contains_key(*k))
        .collect();
    for (gate, seq) in &new {
        let before = max_first.get(gate.as_str()).copied().unwrap_or(0);
        assert!(
            *seq > before,
            "new event {gate}/{seq} is numbered below the first run's last ({before})"
        );
    }
    // Numbering is dense per gate: no gaps, no reuse.
    let mut per_gate: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (gate, seq) in all.keys() {
        per_gate.entry(gate.as_str()).or_default().push(*seq);
    }
    for (gate, seqs) in per_gate {
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "seq numbers of {gate}"
        );
    }
    assert_one_pass_per_service(&j2);
}

/// `selfgate demo --prive`: the private school's pupils and payments come from Charlemagne's
/// files, written in the demo's folder and imported as a school would.
#[test]
fn the_private_demo_takes_its_pupils_and_payments_from_charlemagne_files() {
    let dir = tempdir();
    let data = dir.path().join("prive");
    let mut cmd = selfgate();
    cmd.args([
        "demo",
        "--prive",
        "--for",
        "8s",
        "--speed",
        "60",
        "--listen",
        "127.0.0.1:0",
        "--lang",
        "fr",
        "--data",
    ])
    .arg(&data);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(120));
    out.success().stdout_has(&[
        "export Charlemagne lu (CSV, encodage windows-1252)",
        "600 élèves",
        "12 encaissement(s) crédité(s) pour 330,00 €",
        "démo (privé)",
    ]);
    let csv = std::fs::read(data.join("charlemagne/eleves.csv")).unwrap();
    assert!(
        String::from_utf8(csv.clone()).is_err(),
        "the export is Windows-1252, not UTF-8"
    );
    // The pupils are the file's, keyed on its IDELEVE; the payments are credited once each.
    let events = journal(&data);
    let imported: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "payment" && e.to_string().contains("DEMO-ENC-"))
        .collect();
    assert_eq!(imported.len(), 12, "{imported:?}");
    let persons = selfgate_run([
        std::ffi::OsStr::new("persons"),
        "--data".as_ref(),
        data.as_os_str(),
        "--json".as_ref(),
    ]);
    let persons = parse_json_lines(&persons.success().stdout);
    let pupils = persons
        .iter()
        .filter(|p| {
            p["person"].as_str().is_some_and(|id| {
                id.len() == 6 && id.starts_with('1') && id.bytes().all(|b| b.is_ascii_digit())
            })
        })
        .count();
    assert_eq!(pupils, 600, "the pupils of the Charlemagne file");
    let passes = events
        .iter()
        .filter(|e| e["kind"] == "passage" && e["verdict"] == "pass")
        .count();
    assert!(passes > 0, "the imported pupils' badges open the gate");
}
