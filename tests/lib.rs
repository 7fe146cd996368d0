//! Helpers shared by the end-to-end tests in `tests/tests/`.
//!
//! The tests run the real `selfgate` binary as a user would. It is found through the
//! `SELFGATE_BIN` environment variable when set; otherwise it is built once per test binary with
//! `cargo build -p selfgate --bin selfgate` (this package cannot use `CARGO_BIN_EXE_selfgate`,
//! which only exists for tests of the binary's own package).
//!
//! Conventions: every test works in its own temporary directory ([`tempdir`]); a configuration
//! written by [`write_config`] keeps its data inside that directory and serves the kiosk on
//! `127.0.0.1:0` (never a fixed port); long-running processes are wrapped in [`KillOnDrop`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod cdp;
pub mod pronote_sim;

pub use serde_json::Value;

/// A misbehaving TCP proxy for the sync's fault tests.
#[path = "proxy.rs"]
pub mod proxy;
pub use tempfile::TempDir;

/// How long a one-shot command may run before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (the directory of the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// A file of `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The path of the `selfgate` binary: `$SELFGATE_BIN`, or built once by cargo.
pub fn selfgate_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("SELFGATE_BIN") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "SELFGATE_BIN={} is not a file", p.display());
            p
        }
        _ => build_selfgate(),
    })
}

/// Builds the binary with the cargo running the tests and returns the executable it reports
/// (or `<target dir>/debug/selfgate` if it reports none).
fn build_selfgate() -> PathBuf {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args([
            "-p",
            "selfgate",
            "--bin",
            "selfgate",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null());
    // The variables cargo sets for *this* package's test run must not leak into the build.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || matches!(
                &*k,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_BIN_NAME"
            )
        {
            cmd.env_remove(&*k);
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build selfgate: {e}"));
    assert!(
        out.status.success(),
        "`cargo build -p selfgate --bin selfgate` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let reported = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "selfgate")
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == "bin"))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from));
    let bin = reported.unwrap_or_else(|| {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) if !t.is_empty() => root.join(t),
            _ => root.join("target"),
        };
        target
            .join("debug")
            .join(format!("selfgate{}", std::env::consts::EXE_SUFFIX))
    });
    assert!(
        bin.is_file(),
        "selfgate was built but {} does not exist",
        bin.display()
    );
    bin
}

/// A `Command` for the `selfgate` binary, with a quiet log level and no stdin. The commands
/// speak French unless told otherwise; here they are told English by the locale (`LANG`), and
/// a test that reads French passes `--lang fr`.
pub fn selfgate() -> Command {
    let mut cmd = Command::new(selfgate_bin());
    cmd.env_remove("SELFGATE_LOG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "en_US.UTF-8")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// A fresh temporary directory for one test (removed when dropped).
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("selfgate-e2e-")
        .tempdir()
        .expect("cannot create a temporary directory")
}

/// Quotes a string as a TOML basic string.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The data directory of a configuration written by [`write_config`] in `dir`.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// Writes `dir/selfgate.toml`: `[store] data_dir` = [`data_dir`]`(dir)`, `[kiosk] listen` =
/// `127.0.0.1:0`, followed by `extra` (any other tables: `[school]`, `[[services]]`, `[gate]`…;
/// not `[store]` or `[kiosk]`, which are already there). Returns the file's path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "[store]\ndata_dir = {}\n\n[kiosk]\nlisten = \"127.0.0.1:0\"\n\n{extra}\n",
        toml_str(&data_dir(dir).to_string_lossy())
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, text).expect("cannot write the configuration");
    path
}

/// Writes `dir/name` and returns its path.
pub fn write_file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics unless the command exited 0 without a panic message.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.no_panic();
        assert!(self.status.success(), "expected success:\n{self}");
        self
    }

    /// Panics unless the command exited with status 1 (a handled error) without panicking.
    #[track_caller]
    pub fn failure(&self) -> &Self {
        self.no_panic();
        assert_eq!(self.code(), Some(1), "expected exit status 1:\n{self}");
        self
    }

    /// Panics if stderr holds a Rust panic message.
    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked"),
            "the program panicked:\n{self}"
        );
        assert!(self.code().is_some(), "killed by a signal:\n{self}");
        self
    }

    /// Panics unless stderr contains every one of `needles`.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}:\n{self}");
        }
        self
    }

    /// Panics unless stdout contains every one of `needles`.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(self.stdout.contains(n), "stdout lacks {n:?}:\n{self}");
        }
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "$ {}\n-> {}", self.what, self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// Runs `cmd` to completion (at most [`COMMAND_TIMEOUT`]), capturing its output.
pub fn run(cmd: &mut Command) -> Output {
    run_with_timeout(cmd, COMMAND_TIMEOUT)
}

/// Runs `cmd` to completion (killed after `timeout`), capturing its output.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let what = describe(cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = KillOnDrop::new(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}")),
    );
    let stdout = child.0.stdout.take().map(drain);
    let stderr = child.0.stderr.take().map(drain);
    let status = child
        .wait_timeout(timeout)
        .unwrap_or_else(|| panic!("`{what}` did not finish within {timeout:?}"));
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned())
            .unwrap_or_default()
    };
    Output {
        what,
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    }
}

/// `selfgate ARGS…`, run to completion.
pub fn selfgate_run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run(selfgate().args(args))
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    pub fn new(child: Child) -> Self {
        KillOnDrop(child)
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for the exit, at most `timeout`; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => return None,
                Err(e) => panic!("cannot wait for process {}: {e}", self.0.id()),
            }
        }
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// `selfgate journal --data DIR --json`, parsed: one JSON object per line (panics otherwise).
pub fn journal(data: &Path) -> Vec<Value> {
    let out = selfgate_run([
        std::ffi::OsStr::new("journal"),
        "--data".as_ref(),
        data.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success();
    parse_json_lines(&out.stdout)
}

/// Parses JSON lines; every non-empty line must be a JSON object.
#[track_caller]
pub fn parse_json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v.is_object(), "not a JSON object: {l}");
            v
        })
        .collect()
}

/// A minimal HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// `GET path` over HTTP/1.0 with a plain `TcpStream` (the server closes the connection after
/// the response).
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<HttpResponse> {
    http_request(addr, "GET", path, &[], None)
}

/// Parses CSV text (RFC 4180: `,`, double quotes, `""` inside quotes) into rows of fields,
/// header row included. Blank lines are skipped.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Writes a roster CSV of `persons` ticket pupils `C0000`… (6A, externes) holding badges
/// [`fifo_badge`]`(i)` and 100 € each.
pub fn ticket_roster(path: &Path, persons: usize) {
    let mut roster = String::from(
        "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n",
    );
    for i in 0..persons {
        roster.push_str(&format!(
            "C{i:04};Test;Eleve{i};6A;eleve;externe;;{};100,00\n",
            fifo_badge(i)
        ));
    }
    std::fs::write(path, roster).unwrap();
}

/// A gate whose reader is a named pipe (`DIR/reader.fifo`), with `persons` ticket pupils
/// `C0000`… holding badges [`fifo_badge`]`(i)` and 100 € each, a service open all day every day
/// (UTC, 00:00–23:59), pulses logged to `DIR/pulses.log`, data in `DIR/data`. Imports the roster
/// and creates the pipe; returns the configuration file.
pub fn fifo_gate(dir: &Path, persons: usize) -> PathBuf {
    ticket_roster(&dir.join("roster.csv"), persons);
    let config = format!(
        r#"[school]
name = "Test"
timezone = "UTC"
public_holidays = false
[store]
data_dir = {data}
[gate]
id = "ligne-1"
pulse_ms = 50
[[gate.readers]]
name = "pipe"
kind = "line"
path = {fifo}
[gate.turnstile]
kind = "simulated"
pulse_log = {pulses}
[kiosk]
listen = "127.0.0.1:0"
[[services]]
code = "tout"
start = "00:00"
end = "23:59"
days = "lun mar mer jeu ven sam dim"
"#,
        data = toml_str(&dir.join("data").display().to_string()),
        fifo = toml_str(&dir.join("reader.fifo").display().to_string()),
        pulses = toml_str(&dir.join("pulses.log").display().to_string()),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, config).unwrap();
    import_roster(&dir.join("roster.csv"), &path);
    let fifo = dir.join("reader.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // The service closes at 23:59 UTC: do not start a test in its last two minutes.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400;
    if secs >= 86_400 - 120 {
        std::thread::sleep(Duration::from_secs(86_400 - secs + 5));
    }
    path
}

/// `selfgate import roster ROSTER --config CONFIG`, which must succeed.
pub fn import_roster(roster: &Path, config: &Path) {
    let out = selfgate()
        .args(["import", "roster"])
        .arg(roster)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The badge of person `i` of [`fifo_gate`].
pub fn fifo_badge(i: usize) -> String {
    format!("0C{i:08X}")
}

/// The lines a child writes to `pipe` (its stdout or stderr), as they come, read by a thread
/// until the pipe closes.
pub fn lines_of(pipe: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Runs `cmd` with `input` on its stdin and its output captured.
pub fn output_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Starts `selfgate run --config FILE` and waits for its ready line; returns the process and
/// the kiosk's address.
pub fn start_daemon(config: &Path) -> (Child, SocketAddr) {
    start_daemon_with(config, &[])
}

/// [`start_daemon`] with these environment variables set (test hooks).
pub fn start_daemon_with(config: &Path, env: &[(&str, &str)]) -> (Child, SocketAddr) {
    let mut child = selfgate()
        .args(["run", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let rx = lines_of(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("selfgate: ready") => {
                let addr = line
                    .split("http://")
                    .nth(1)
                    .unwrap_or("")
                    .trim_end_matches('/');
                return (child, addr.parse().unwrap());
            }
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("the daemon did not become ready: {e}");
            }
        }
    }
}

/// Opens the gate's named pipe for writing (waits for the daemon's reader, at most 20 s).
pub fn open_fifo(dir: &Path) -> std::fs::File {
    let path = dir.join("reader.fifo");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::OpenOptions::new().write(true).open(path));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the reader never opened its pipe")
        .unwrap()
}

/// Stops a daemon with SIGTERM and checks that it exits cleanly.
pub fn terminate(child: &mut Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        child.wait().unwrap().success(),
        "the daemon did not stop cleanly on SIGTERM"
    );
}

/// `method path` over HTTP/1.0 with extra headers and an optional form body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<HttpResponse> {
    let timeout = Duration::from_secs(10);
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes())?;
    s.flush()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no end of headers in {text:?}")))?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    Ok(HttpResponse {
        status,
        headers: head.to_owned(),
        body: body.to_owned(),
    })
}

impl HttpResponse {
    /// The value of the cookie `name` set by this response.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.trim().split(';').next()?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// `selfgate account add NAME --role ROLE --data DATA` with `password` on stdin.
pub fn add_account(data: &Path, name: &str, role: &str, password: &str) {
    let out = output_with_stdin(
        selfgate()
            .args(["account", "add", name, "--role", role, "--data"])
            .arg(data),
        &format!("{password}\n"),
    );
    assert!(
        out.status.success(),
        "account add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A member of staff logged in to a kiosk over HTTP.
pub struct KioskClient {
    pub addr: SocketAddr,
    pub cookie: String,
}

impl KioskClient {
    /// Logs in as `name` (the account must exist).
    pub fn login(addr: SocketAddr, name: &str, password: &str) -> KioskClient {
        let page = http_get(addr, "/login").unwrap();
        assert_eq!(page.status, 200, "{page:?}");
        let token = page.set_cookie("sg_login").expect("no login cookie");
        let body = format!("csrf={token}&name={name}&password={password}&next=%2F");
        let r = http_request(
            addr,
            "POST",
            "/login",
            &[("Cookie", &format!("sg_login={token}"))],
            Some(&body),
        )
        .unwrap();
        assert_eq!(r.status, 303, "login as {name} refused: {r:?}");
        let session = r.set_cookie("sg_session").expect("no session cookie");
        KioskClient {
            addr,
            cookie: format!("sg_session={session}"),
        }
    }

    /// Creates a surveillant account in `data` (through `selfgate account add`) and logs in.
    pub fn surveillant(addr: SocketAddr, data: &Path) -> KioskClient {
        add_account(data, "tests", "surveillant", "mot-de-passe-de-test");
        KioskClient::login(addr, "tests", "mot-de-passe-de-test")
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        http_request(self.addr, "GET", path, &[("Cookie", &self.cookie)], None).unwrap()
    }
}
