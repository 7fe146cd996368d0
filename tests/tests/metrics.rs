//! `GET /metrics` on a live daemon: the decision counters after a few badges, the page checked
//! by Prometheus' own `promtool check metrics`, the client networks of `[metrics] allow`, the
//! separate listener, and the decision log lines (ids, never names).
//!
//! `promtool` comes with the Debian package `prometheus`; without it these tests fail (they are
//! the proof the page is valid), saying which package to install.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use selfgate_tests::{KillOnDrop, http_get, lines_of, selfgate, tempdir, toml_str};

fn badge(i: usize) -> String {
    format!("0D{i:08X}")
}

/// Names in the roster: they must never reach the logs.
const NAMES: [(&str, &str); 3] = [
    ("Metrique", "Apolline"),
    ("Compteur", "Barnabe"),
    ("Histogramme", "Capucine"),
];

/// A school open all day (UTC) with three ticket pupils, the last one without enough money,
/// and the daemon's configuration; `extra` is appended (`[metrics]`, `[log]`, readers…).
fn write_school(dir: &Path, extra: &str) -> std::path::PathBuf {
    let mut roster = String::from(
        "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n",
    );
    for (i, (last, first)) in NAMES.iter().enumerate() {
        let balance = if i == 2 { "1,00" } else { "50,00" };
        roster.push_str(&format!(
            "M{i:04};{last};{first};6A;eleve;externe;;{};{balance}\n",
            badge(i)
        ));
    }
    std::fs::write(dir.join("roster.csv"), roster).unwrap();
    let config = format!(
        r#"[school]
name = "Metrics test"
timezone = "UTC"
public_holidays = false
debounce_ms = 500
[store]
data_dir = {data}
[kiosk]
listen = "127.0.0.1:0"
[gate.turnstile]
kind = "simulated"
[[services]]
code = "tout"
start = "00:00"
end = "23:59"
days = "lun mar mer jeu ven sam dim"
[[tariffs]]
category = "eleve"
price = "3,90"
overdraft = "0,00"
{extra}
"#,
        data = toml_str(&dir.join("data").to_string_lossy()),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, config).unwrap();
    selfgate_tests::import_roster(&dir.join("roster.csv"), &path);
    path
}

/// A running `selfgate run`: its kiosk address and the metrics URL it printed.
struct Daemon {
    child: KillOnDrop,
    kiosk: SocketAddr,
    metrics: Option<String>,
    stderr_log: std::path::PathBuf,
}

/// Starts the daemon (stderr to `stderr_log`) and waits for its ready line, then for the
/// metrics line when `metrics` is expected.
fn start(config: &Path, stderr_log: &Path, metrics: bool) -> Daemon {
    let mut child = KillOnDrop::new(
        selfgate()
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(stderr_log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut kiosk = None;
    let mut url = None;
    let mut seen = Vec::new();
    while kiosk.is_none() || (metrics && url.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|e| {
            panic!(
                "the daemon did not print its ready and metrics lines ({e}); stdout:\n{}\nstderr:\n{}",
                seen.join("\n"),
                std::fs::read_to_string(stderr_log).unwrap_or_default()
            )
        });
        if let Some(rest) = line.strip_prefix("selfgate: ready") {
            let addr = rest.split("kiosk on http://").nth(1).unwrap();
            kiosk = Some(addr.trim_end_matches('/').parse().unwrap());
        } else if let Some(u) = line.strip_prefix("selfgate: metrics on ") {
            url = Some(u.to_owned());
        }
        seen.push(line);
    }
    Daemon {
        child,
        kiosk: kiosk.unwrap(),
        metrics: url,
        stderr_log: stderr_log.to_owned(),
    }
}

impl Daemon {
    /// SIGTERM, and a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        // The ready line comes a moment before the SIGTERM handler is in place (the gate's
        // loop installs it on its first turn): wait for it, or SIGTERM's default action kills
        // the daemon. Linux: bit 14 of SigCgt in /proc/PID/status is SIGTERM (15) caught.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !catches_sigterm(&pid) {
            assert!(
                Instant::now() < deadline,
                "the daemon never installed its SIGTERM handler"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self
            .child
            .wait_timeout(Duration::from_secs(30))
            .expect("the daemon did not stop within 30 s of SIGTERM");
        assert!(
            status.success(),
            "the daemon exited with {status}; stderr:\n{}",
            std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
        );
    }
}

/// Whether process `pid` has a handler for SIGTERM (Linux `/proc`).
fn catches_sigterm(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << 14) != 0)
}

/// `http://ADDR/metrics` → ADDR.
fn url_addr(url: &str) -> SocketAddr {
    url.strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("not a metrics URL: {url}"))
        .parse()
        .unwrap()
}

/// The samples of a text-format page: `name{labels}` → value.
fn samples(page: &str) -> HashMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {l}"));
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|e| panic!("bad value in {l}: {e}")),
            };
            (series.to_owned(), value)
        })
        .collect()
}

fn get_metrics(addr: SocketAddr) -> (String, HashMap<String, f64>) {
    let r = http_get(addr, "/metrics").unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        r.headers
    );
    let s = samples(&r.body);
    (r.body, s)
}

/// Runs `promtool check metrics` on `page` (stdin) and asserts a clean result.
fn promtool_check(page: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool is not installed: install the Debian package `prometheus` \
             (apt-get install prometheus), which provides /usr/bin/promtool"
        ),
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool check metrics: {}\nstdout:\n{stdout}\nstderr:\n{stderr}\npage:\n{page}",
        out.status
    );
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
fn decisions_are_counted_and_promtool_accepts_the_live_page() {
    avoid_midnight();
    let dir = tempdir();
    let fifo = dir.path().join("reader.fifo");
    let config = write_school(
        dir.path(),
        &format!(
            "[[gate.readers]]\nname = \"pipe\"\nkind = \"line\"\npath = {}\n[log]\nlevel = \"debug\"\n",
            toml_str(&fifo.to_string_lossy())
        ),
    );
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let stderr_log = dir.path().join("stderr.log");
    let daemon = start(&config, &stderr_log, true);
    let url = daemon.metrics.clone().unwrap();
    // The default: on the kiosk's listener.
    assert_eq!(url, format!("http://{}/metrics", daemon.kiosk));
    let addr = url_addr(&url);

    // Before any read: every family is there, and promtool is happy with it already.
    let (page, before) = get_metrics(addr);
    promtool_check(&page);
    let journal_at_start = before["selfgate_journal_events"];
    assert!(journal_at_start >= 3.0, "the import's credits: {before:?}");
    assert_eq!(before["selfgate_roster_persons"], 3.0);
    assert_eq!(before["selfgate_sync_pending_events"], 0.0);
    assert_eq!(before["selfgate_emergency_input_active"], 0.0);
    assert_eq!(before["selfgate_reader_online{reader=\"pipe\"}"], 1.0);
    assert_eq!(
        before[&format!(
            "selfgate_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )],
        1.0
    );
    assert_eq!(before["selfgate_reader_repeats_total"], 0.0);
    assert_eq!(before["selfgate_decision_duration_seconds_count"], 0.0);

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
    let mut present = |credential: &str| {
        writeln!(pipe, "{credential}").unwrap();
        pipe.flush().unwrap();
    };
    present(&badge(0)); // pass, ticket
    present(&badge(0)); // the same card again at once: merged by the debounce
    present(&badge(1)); // pass, ticket
    present(&badge(2)); // deny, insufficient_balance (1,00 € for a 3,90 € meal)
    present("0DFFFFFFFF"); // deny, unknown_badge
    present("not a badge"); // deny, unknown_badge
    std::thread::sleep(Duration::from_millis(800));
    present(&badge(0)); // deny, already_served

    let deadline = Instant::now() + Duration::from_secs(20);
    let (page, after) = loop {
        let (page, s) = get_metrics(addr);
        let decided: f64 = s
            .iter()
            .filter(|(k, _)| k.starts_with("selfgate_decisions_total{"))
            .map(|(_, v)| v)
            .sum();
        if decided >= 6.0 {
            break (page, s);
        }
        assert!(
            Instant::now() < deadline,
            "only {decided} decisions counted after 20 s:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let decisions: HashMap<&str, f64> = after
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("selfgate_decisions_total").map(|l| (l, *v)))
        .collect();
    let expected: HashMap<&str, f64> = [
        ("{verdict=\"pass\",reason=\"ticket\"}", 2.0),
        ("{verdict=\"deny\",reason=\"insufficient_balance\"}", 1.0),
        ("{verdict=\"deny\",reason=\"unknown_badge\"}", 2.0),
        ("{verdict=\"deny\",reason=\"already_served\"}", 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(decisions, expected, "{page}");
    assert_eq!(after["selfgate_reader_repeats_total"], 1.0, "{page}");
    assert_eq!(
        after["selfgate_decision_duration_seconds_count"], 6.0,
        "{page}"
    );
    assert_eq!(
        after["selfgate_decision_duration_seconds_bucket{le=\"+Inf\"}"], 6.0,
        "{page}"
    );
    assert!(
        after.contains_key("selfgate_decision_duration_seconds_bucket{le=\"0.000001\"}")
            && after.contains_key("selfgate_decision_duration_seconds_bucket{le=\"0.01\"}"),
        "decision buckets from 1 µs to 10 ms:\n{page}"
    );
    assert!(
        after.contains_key("selfgate_commit_duration_seconds_bucket{le=\"0.0001\"}")
            && after.contains_key("selfgate_commit_duration_seconds_bucket{le=\"1\"}"),
        "commit buckets from 100 µs to 1 s:\n{page}"
    );
    // Every acknowledged request was in one group commit, and the six passages were journaled.
    let commits = after["selfgate_commit_duration_seconds_count"];
    assert!(commits >= 6.0, "{page}");
    assert_eq!(
        after["selfgate_group_commit_requests_sum"], commits,
        "{page}"
    );
    assert_eq!(after["selfgate_commit_failures_total"], 0.0, "{page}");
    assert_eq!(
        after["selfgate_journal_events"],
        journal_at_start + 6.0,
        "{page}"
    );
    // No person in any label.
    for (last, first) in NAMES {
        assert!(!page.contains(last) && !page.contains(first), "{page}");
    }
    assert!(!page.contains("person="), "{page}");
    promtool_check(&page);

    daemon.stop();

    // `[log] level = "debug"`: one line per decision, with the person's id number only.
    let logs = std::fs::read_to_string(&stderr_log).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(" decision ")).collect();
    assert_eq!(lines.len(), 6, "{logs}");
    assert!(
        lines.iter().any(|l| l.contains("reason=already_served")
            && l.contains("verdict=deny")
            && l.contains("service=tout")
            && l.contains("person=")
            && !l.contains("person=-")
            && l.contains("gate=ligne-1")
            && l.contains("seq=")),
        "{logs}"
    );
    for (last, first) in NAMES {
        assert!(
            !logs.contains(last) && !logs.contains(first),
            "a name reached the logs:\n{logs}"
        );
    }
}

#[test]
fn clients_outside_allow_get_403() {
    let dir = tempdir();
    let config = write_school(
        dir.path(),
        "[[gate.readers]]\nname = \"silencieux\"\nkind = \"simulated\"\n[metrics]\nallow = [\"10.0.0.0/8\"]\n",
    );
    let daemon = start(&config, &dir.path().join("stderr.log"), true);
    let addr = url_addr(daemon.metrics.as_deref().unwrap());
    let r = http_get(addr, "/metrics").unwrap();
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!r.body.contains("selfgate_"), "{}", r.body);
    // The kiosk itself is not affected.
    assert_eq!(http_get(daemon.kiosk, "/healthz").unwrap().status, 200);
    daemon.stop();
}

#[test]
fn metrics_on_a_listener_of_their_own() {
    let dir = tempdir();
    let config = write_school(
        dir.path(),
        "[[gate.readers]]\nname = \"silencieux\"\nkind = \"simulated\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let daemon = start(&config, &dir.path().join("stderr.log"), true);
    let addr = url_addr(daemon.metrics.as_deref().unwrap());
    assert_ne!(addr, daemon.kiosk);
    let (page, s) = get_metrics(addr);
    assert_eq!(s["selfgate_roster_persons"], 3.0, "{page}");
    assert_eq!(
        s["selfgate_reader_online{reader=\"silencieux\"}"], 1.0,
        "{page}"
    );
    promtool_check(&page);
    // Not on the kiosk's listener then.
    assert_eq!(http_get(daemon.kiosk, "/metrics").unwrap().status, 404);
    daemon.stop();
}

#[test]
fn metrics_can_be_turned_off() {
    let dir = tempdir();
    let config = write_school(
        dir.path(),
        "[[gate.readers]]\nname = \"silencieux\"\nkind = \"simulated\"\n[metrics]\nenabled = false\n",
    );
    let daemon = start(&config, &dir.path().join("stderr.log"), false);
    assert_eq!(daemon.metrics, None);
    assert_eq!(http_get(daemon.kiosk, "/metrics").unwrap().status, 404);
    daemon.stop();
}

#[test]
fn the_demo_serves_metrics_too() {
    let dir = tempdir();
    let mut child = KillOnDrop::new(
        selfgate()
            .args([
                "demo",
                "--for",
                "6s",
                "--speed",
                "60",
                "--listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(dir.path().join("demo"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Read to the end: the demo prints a summary every second.
    let rx = lines_of(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let url = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => match line.strip_prefix("demo: metrics on ") {
                Some(u) => break u.to_owned(),
                None => seen.push(line),
            },
            Err(e) => panic!("no metrics line ({e}); stdout:\n{}", seen.join("\n")),
        }
    };
    // The readers come online as the gate starts, just after the line.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (page, s) = loop {
        let (page, s) = get_metrics(url_addr(&url));
        if s.contains_key("selfgate_reader_online{reader=\"entree-gauche\"}") {
            break (page, s);
        }
        assert!(Instant::now() < deadline, "no reader online:\n{page}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(s["selfgate_roster_persons"] > 600.0, "{page}");
    assert_eq!(
        s["selfgate_reader_online{reader=\"entree-gauche\"}"], 1.0,
        "{page}"
    );
    promtool_check(&page);
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .expect("the demo did not stop after --for 6s");
    assert!(status.success(), "the demo exited with {status}");
}
