//! The systemd side of the daemon: the unit checked by `systemd-analyze` (verify against the
//! built binary, and an exposure of 2.0 or lower), its sysusers file, the readiness protocol
//! under a fake `NOTIFY_SOCKET` (READY, then WATCHDOG from the decision loop, which stops when
//! the loop is stuck), and SIGHUP reloading the configuration without a restart.
//!
//! These tests need `systemd-analyze` and `systemd-sysusers` (Debian package `systemd`, which
//! `tests/run.sh` installs); without them they fail, saying so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use selfgate_tests::{
    KillOnDrop, KioskClient, Value, lines_of, run, selfgate, selfgate_bin, tempdir, toml_str,
    workspace_root, write_config,
};

/// The unit's exposure must stay at or below this (`systemd-analyze security`).
const MAX_EXPOSURE: f64 = 2.0;

// ---- systemd's tools --------------------------------------------------------------------------

/// A systemd tool, or a failure telling how to get it: these checks are never skipped.
fn systemd_tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found: install the Debian package `systemd` \
                 (`apt-get install systemd`; tests/run.sh, run by .ci/run, does it) to check the unit"
            )
        })
}

fn unit_path() -> PathBuf {
    workspace_root().join("systemd").join("selfgate.service")
}

/// The shipped unit with `/usr/bin/selfgate` replaced by the binary under test, written as
/// `dir/selfgate.service`.
fn unit_for_built_binary(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(unit_path()).unwrap();
    assert!(
        text.contains("ExecStart=/usr/bin/selfgate "),
        "the unit no longer starts /usr/bin/selfgate:\n{text}"
    );
    let bin = selfgate_bin().canonicalize().unwrap();
    let path = dir.join("selfgate.service");
    std::fs::write(
        &path,
        text.replace("/usr/bin/selfgate", &bin.to_string_lossy()),
    )
    .unwrap();
    path
}

/// `[Service]` settings of the shipped unit, as (key, value), comments left out.
fn unit_settings() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(unit_path()).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn the_unit_passes_systemd_analyze_verify_against_the_built_binary() {
    let analyze = systemd_tool("systemd-analyze");
    let dir = tempdir();
    let unit = unit_for_built_binary(dir.path());
    // The `selfgate` user may not exist on this machine (sysusers creates it on install):
    // verify does not check users, it checks the unit's syntax, settings and executables.
    let out = run(Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&unit));
    let complaints: Vec<&str> = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .filter(|l| l.contains("selfgate"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify complains about the unit:\n{out}"
    );

    // The check can fail: the same unit naming a missing binary is refused.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    let text = std::fs::read_to_string(unit_path()).unwrap().replace(
        "/usr/bin/selfgate",
        &dir.path().join("missing").to_string_lossy(),
    );
    std::fs::write(broken.join("selfgate.service"), text).unwrap();
    let out = run(Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(broken.join("selfgate.service")));
    assert!(
        !out.status.success(),
        "a missing binary went unnoticed:\n{out}"
    );

    // What the daemon relies on is there.
    let settings = unit_settings();
    let has = |k: &str, v: &str| settings.iter().any(|(a, b)| a == k && b == v);
    for (k, v) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "10s"),
        ("Restart", "on-failure"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("User", "selfgate"),
        ("StateDirectory", "selfgate"),
        ("ConfigurationDirectory", "selfgate"),
        ("DevicePolicy", "closed"),
        ("DeviceAllow", "char-ttyS rw"),
        ("DeviceAllow", "char-ttyUSB rw"),
        ("DeviceAllow", "char-ttyACM rw"),
        ("DeviceAllow", "char-gpiochip rw"),
        ("DeviceAllow", "char-input r"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ] {
        assert!(has(k, v), "the unit lacks {k}={v}");
    }
    assert!(
        !settings.iter().any(|(k, _)| k == "DynamicUser"),
        "the unit runs as the sysusers user, not a dynamic one"
    );
}

#[test]
fn the_unit_exposure_is_two_or_lower() {
    let analyze = systemd_tool("systemd-analyze");
    let dir = tempdir();
    let unit = unit_for_built_binary(dir.path());
    let out = run(Command::new(&analyze)
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&unit));
    let score: f64 = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .find_map(|l| {
            l.split("Overall exposure level for selfgate.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in the output:\n{out}"));
    eprintln!("systemd-analyze security: exposure {score}");
    assert!(
        out.status.success(),
        "systemd-analyze security --threshold=20 failed (exposure {score}):\n{out}"
    );
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} is above {MAX_EXPOSURE}:\n{out}"
    );
}

#[test]
fn sysusers_creates_the_service_user_with_its_device_groups() {
    let sysusers = systemd_tool("systemd-sysusers");
    let dir = tempdir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let file = workspace_root().join("systemd").join("selfgate.sysusers");
    let out = run(Command::new(&sysusers).arg("--root").arg(&root).arg(&file));
    assert!(
        out.status.success(),
        "systemd-sysusers refused the file:\n{out}"
    );
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let user: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("selfgate:"))
        .unwrap_or_else(|| panic!("no selfgate user:\n{passwd}"))
        .split(':')
        .collect();
    assert_ne!(user[2], "0", "a system user, not root");
    assert_eq!(user[5], "/var/lib/selfgate");
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    for g in ["dialout", "input", "gpio"] {
        assert!(
            group
                .lines()
                .any(|l| l.starts_with(&format!("{g}:")) && l.ends_with("selfgate")),
            "selfgate is not in group {g}:\n{group}"
        );
    }
}

// ---- a fake systemd: the notification socket ---------------------------------------------------

/// A datagram socket standing for systemd's `NOTIFY_SOCKET`; a thread timestamps what arrives.
struct Notifications {
    path: PathBuf,
    rx: mpsc::Receiver<(Instant, String)>,
    /// Everything received so far, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Notifications {
    fn bind(dir: &Path) -> Notifications {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                l.lock().unwrap().push(msg.clone());
                if tx.send((Instant::now(), msg)).is_err() {
                    break;
                }
            }
        });
        Notifications { path, rx, log }
    }

    fn seen(&self) -> String {
        self.log.lock().unwrap().join(" | ").replace('\n', "\\n")
    }

    /// The next message whose first line is `first`, skipping others; panics after `timeout`.
    #[track_caller]
    fn expect(&self, first: &str, timeout: Duration) -> (Instant, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((at, msg)) if msg.lines().next() == Some(first) => return (at, msg),
                Ok(_) => {}
                Err(_) => panic!("no {first} within {timeout:?}; received: {}", self.seen()),
            }
        }
    }

    /// Every message received during `span`.
    fn during(&self, span: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + span;
        let mut out = Vec::new();
        while let Ok(m) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(m);
        }
        out
    }
}

/// `selfgate run` with stdout and stderr collected by threads.
struct Daemon {
    child: KillOnDrop,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = selfgate();
        cmd.args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("SELFGATE_FAULT_STALL_LOOP_AFTER_MS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = KillOnDrop::new(cmd.spawn().unwrap());
        let lines = lines_of(child.stdout.take().unwrap());
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let e = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut e = e.lock().unwrap();
                e.push_str(&line);
                e.push('\n');
            }
        });
        Daemon {
            child,
            lines,
            stderr,
        }
    }

    /// Waits for the "selfgate: ready" line; returns the kiosk's address.
    fn ready_line(&mut self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with("selfgate: ready") => {
                    let addr = line
                        .split("http://")
                        .nth(1)
                        .unwrap_or("")
                        .trim_end_matches('/');
                    return addr.parse().unwrap();
                }
                Ok(_) => {}
                Err(e) => panic!(
                    "the daemon printed no ready line: {e}\nstderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    #[track_caller]
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the daemon exited ({status}); stderr:\n{}", self.stderr());
        }
    }

    /// SIGTERM, then a clean exit.
    fn terminate(mut self) {
        self.signal("-TERM");
        let status = self
            .child
            .wait_timeout(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no exit after SIGTERM; stderr:\n{}", self.stderr()));
        assert!(status.success(), "{status}; stderr:\n{}", self.stderr());
    }
}

fn watchdogs(msgs: &[(Instant, String)]) -> Vec<Instant> {
    msgs.iter()
        .filter(|(_, m)| m == "WATCHDOG=1")
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn ready_then_watchdog_pings_from_the_loop_and_stopping_on_sigterm() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let notify = Notifications::bind(dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(
        &config,
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "400000")],
    );
    let (ready_at, _) = notify.expect("READY=1", Duration::from_secs(30));
    daemon.ready_line();
    let msgs = notify.during(Duration::from_millis(1500));
    let pings = watchdogs(&msgs);
    assert!(
        pings.len() >= 3,
        "{} WATCHDOG=1 in 1.5 s after READY (every 200 ms expected); received: {}",
        pings.len(),
        notify.seen()
    );
    assert!(pings.iter().all(|t| *t >= ready_at));
    let status = msgs
        .iter()
        .find(|(_, m)| m.starts_with("STATUS="))
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| panic!("no STATUS=; received: {}", notify.seen()));
    assert!(status.contains("ligne-1"), "{status}");
    daemon.assert_running();

    daemon.terminate();
    notify.expect("STOPPING=1", Duration::from_secs(5));
}

#[test]
fn a_stuck_decision_loop_stops_the_watchdog_pings() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let notify = Notifications::bind(dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(
        &config,
        &[
            ("NOTIFY_SOCKET", &socket),
            ("WATCHDOG_USEC", "400000"),
            ("SELFGATE_FAULT_STALL_LOOP_AFTER_MS", "500"),
        ],
    );
    let (ready_at, _) = notify.expect("READY=1", Duration::from_secs(30));
    let msgs = notify.during(Duration::from_millis(2500));
    let pings = watchdogs(&msgs);
    assert!(
        !pings.is_empty(),
        "no WATCHDOG=1 before the stall; received: {}",
        notify.seen()
    );
    let last = pings.last().copied().unwrap_or(ready_at);
    assert!(
        last.duration_since(ready_at) < Duration::from_millis(1200),
        "pings went on {:?} after READY though the loop stalls after 500 ms",
        last.duration_since(ready_at)
    );
    assert!(
        Instant::now().duration_since(last) >= Duration::from_secs(1),
        "not a second without pings"
    );
    // Stuck, not dead: systemd is the one to kill it (SIGABRT) and restart it.
    daemon.assert_running();
    assert!(
        daemon
            .stderr()
            .contains("SELFGATE_FAULT_STALL_LOOP_AFTER_MS"),
        "{}",
        daemon.stderr()
    );
}

// ---- SIGHUP --------------------------------------------------------------------------------------

fn badge(i: usize) -> String {
    format!("0D{i:08X}")
}

/// A gate reading badges from `dir/reader.fifo`, with the one service `window` (UTC, every
/// day); returns the configuration file.
fn hup_config(dir: &Path, window: (&str, &str)) -> PathBuf {
    let fifo = toml_str(&dir.join("reader.fifo").to_string_lossy());
    write_config(
        dir,
        &format!(
            r#"[school]
name = "Reload test"
timezone = "UTC"
public_holidays = false

[gate]
pulse_ms = 50

[[gate.readers]]
name = "pipe"
kind = "line"
path = {fifo}

[[services]]
code = "tout"
start = "{}"
end = "{}"
days = "lun mar mer jeu ven sam dim"
"#,
            window.0, window.1
        ),
    )
}

/// A service window that does not contain the present time (UTC), far from it.
fn closed_window() -> (&'static str, &'static str) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400;
    if secs < 12 * 3600 {
        ("20:00", "20:30")
    } else {
        ("02:00", "02:30")
    }
}

/// Presents `credential` on the pipe and returns the kiosk's feed item for it.
fn present(pipe: &mut std::fs::File, kiosk: &KioskClient, credential: &str) -> Value {
    writeln!(pipe, "{credential}").unwrap();
    pipe.flush().unwrap();
    let shown = credential.to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let feed: Value = serde_json::from_str(&kiosk.get("/api/feed").body).unwrap_or(Value::Null);
        let mine = feed.as_array().and_then(|items| {
            items
                .iter()
                .find(|i| i["name"].as_str().is_some_and(|n| n.contains(&shown[2..])))
                .cloned()
        });
        if let Some(item) = mine {
            return item;
        }
        assert!(
            Instant::now() < deadline,
            "{credential} never reached the kiosk feed: {feed}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_the_rules_between_reads_and_an_invalid_file_changes_nothing() {
    let dir = tempdir();
    // Three pupils on tickets, 100 € each; names carry the badge number for the feed.
    let mut roster = String::from(
        "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n",
    );
    for i in 0..3 {
        let b = badge(i);
        roster.push_str(&format!(
            "R{i};Reload;{};6A;eleve;externe;;{b};100,00\n",
            &b[2..]
        ));
    }
    std::fs::write(dir.path().join("roster.csv"), roster).unwrap();
    // Open all day, except in the last minutes before midnight UTC.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400;
    if secs >= 86_400 - 180 {
        std::thread::sleep(Duration::from_secs(86_400 - secs + 5));
    }
    let config = hup_config(dir.path(), ("00:00", "23:59"));
    let imported = run(selfgate()
        .args(["import", "roster"])
        .arg(dir.path().join("roster.csv"))
        .arg("--config")
        .arg(&config));
    imported.success();
    let fifo = dir.path().join("reader.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );

    let notify = Notifications::bind(dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let mut daemon = Daemon::start(&config, &[("NOTIFY_SOCKET", &socket)]);
    notify.expect("READY=1", Duration::from_secs(30));
    let kiosk = KioskClient::surveillant(daemon.ready_line(), &dir.path().join("data"));
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();

    let before = present(&mut pipe, &kiosk, &badge(0));
    assert_eq!(
        (before["pass"].as_bool(), before["reason"].as_str()),
        (Some(true), Some("ticket")),
        "{before}"
    );

    // A valid file: the service window moves away from now; the gate id changes too, which
    // needs a restart and is left as it is.
    let (start, end) = closed_window();
    let changed = std::fs::read_to_string(&config)
        .unwrap()
        .replace("start = \"00:00\"", &format!("start = \"{start}\""))
        .replace("end = \"23:59\"", &format!("end = \"{end}\""))
        .replace("pulse_ms = 50", "pulse_ms = 50\nid = \"ligne-9\"");
    std::fs::write(&config, changed).unwrap();
    daemon.signal("-HUP");
    let (_, reloading) = notify.expect("RELOADING=1", Duration::from_secs(10));
    assert!(
        reloading.lines().any(|l| l
            .strip_prefix("MONOTONIC_USEC=")
            .is_some_and(|v| v.parse::<u64>().is_ok())),
        "{reloading:?}"
    );
    notify.expect("READY=1", Duration::from_secs(10));
    let after = present(&mut pipe, &kiosk, &badge(1));
    assert_eq!(
        (after["pass"].as_bool(), after["reason"].as_str()),
        (Some(false), Some("service_closed")),
        "the new service window is not in force: {after}"
    );
    assert_eq!(
        after["gate"], "ligne-1",
        "the gate id needs a restart: {after}"
    );
    assert!(
        daemon
            .stderr()
            .contains("gate.id changed and needs a restart"),
        "{}",
        daemon.stderr()
    );
    daemon.assert_running();

    // An invalid file: refused at warn level, nothing changes, the daemon goes on.
    let valid = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        valid
            .replace("start = \"", "start = \"25:")
            .replace("end = \"", "end = \"xx"),
    )
    .unwrap();
    daemon.signal("-HUP");
    notify.expect("RELOADING=1", Duration::from_secs(10));
    notify.expect("READY=1", Duration::from_secs(10));
    let refused = present(&mut pipe, &kiosk, &badge(2));
    assert_eq!(
        (refused["pass"].as_bool(), refused["reason"].as_str()),
        (Some(false), Some("service_closed")),
        "an invalid file changed the rules: {refused}"
    );
    assert!(
        daemon.stderr().contains("configuration not reloaded"),
        "{}",
        daemon.stderr()
    );
    assert!(
        notify.seen().contains("not reloaded"),
        "no STATUS= saying so: {}",
        notify.seen()
    );
    daemon.assert_running();
    drop(pipe);
    daemon.terminate();
}
