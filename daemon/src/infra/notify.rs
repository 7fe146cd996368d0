//! systemd's readiness protocol (`sd_notify(3)`), written here over a Unix datagram socket:
//! `READY=1` once the gate takes reads, `WATCHDOG=1` from the decision loop, `RELOADING=1` and
//! `STOPPING=1` around a reload and a stop, `STATUS=…` for `systemctl status`.
//!
//! The socket is `$NOTIFY_SOCKET`: a path, or an abstract name written `@name`. Without it (not
//! started by systemd with `Type=notify`) every function here does nothing. A message that
//! cannot be sent is logged and dropped: the gate never waits on its supervisor.
//!
//! The watchdog interval is `$WATCHDOG_USEC` (set by `WatchdogSec=`), meant for this process
//! only when `$WATCHDOG_PID` is unset or is our pid.

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::time::Duration;

/// Where notifications go.
#[derive(Debug, Clone)]
pub struct Notifier {
    addr: SocketAddr,
    shown: String,
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` names, if any.
    pub fn from_env() -> Option<Notifier> {
        let value = std::env::var_os("NOTIFY_SOCKET")?;
        match Notifier::new(&value) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET={value:?} is not usable: {e}");
                None
            }
        }
    }

    /// A notifier for a socket path, or an abstract name given as `@name`.
    pub fn new(socket: &OsStr) -> io::Result<Notifier> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = socket.as_bytes();
        let addr = match bytes.split_first() {
            None => return Err(io::Error::other("empty socket address")),
            Some((b'@', name)) => abstract_addr(name)?,
            Some((b'/', _)) => SocketAddr::from_pathname(Path::new(socket))?,
            Some(_) => {
                return Err(io::Error::other(
                    "neither an absolute path nor an abstract name (@…)",
                ));
            }
        };
        Ok(Notifier {
            addr,
            shown: socket.to_string_lossy().into_owned(),
        })
    }

    /// Sends one notification (`KEY=value` lines). Never blocks: if the receiver's queue is
    /// full the message is dropped.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        sock.set_nonblocking(true)?;
        let sent = sock.send_to_addr(message.as_bytes(), &self.addr)?;
        if sent != message.len() {
            return Err(io::Error::other("message truncated"));
        }
        Ok(())
    }

    fn send_logged(&self, message: &str) {
        if let Err(e) = self.send(message) {
            tracing::warn!(
                "cannot notify systemd on {} ({}): {e}",
                self.shown,
                message.lines().next().unwrap_or("")
            );
        }
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::other(
        "abstract socket names exist on Linux only",
    ))
}

fn notify(message: &str) {
    if let Some(n) = Notifier::from_env() {
        n.send_logged(message);
    }
}

/// `READY=1`: the gate takes reads (store loaded, readers started, kiosk listening), or a
/// reload is over.
pub fn ready() {
    notify("READY=1");
}

/// `RELOADING=1` with `MONOTONIC_USEC` (systemd 253 and later want it; older ones ignore it).
pub fn reloading() {
    notify(&reloading_message(monotonic_usec()));
}

fn reloading_message(monotonic_usec: u64) -> String {
    format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}")
}

/// `STOPPING=1`: the gate is shutting down.
pub fn stopping() {
    notify("STOPPING=1");
}

/// `WATCHDOG=1`: the decision loop is alive. Send it from the loop itself, never from a timer
/// of its own, or a stuck gate would keep being reported alive.
pub fn watchdog() {
    notify("WATCHDOG=1");
}

/// `STATUS=text`, shown by `systemctl status` (one line).
pub fn status(text: &str) {
    notify(&status_message(text));
}

fn status_message(text: &str) -> String {
    format!("STATUS={}", text.replace(['\n', '\r'], " "))
}

/// How often systemd expects `WATCHDOG=1`, when it expects it from this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    parse_watchdog(usec.as_deref(), pid.as_deref(), std::process::id())
}

fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != me {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000).saturating_add(nanos / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(dir: &Path) -> (UnixDatagram, std::path::PathBuf) {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (sock, path)
    }

    fn recv(sock: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn messages_reach_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let (sock, path) = receiver(dir.path());
        let n = Notifier::new(path.as_os_str()).unwrap();
        n.send("READY=1").unwrap();
        assert_eq!(recv(&sock), "READY=1");
        n.send(&status_message("gate ligne-1\nready")).unwrap();
        assert_eq!(recv(&sock), "STATUS=gate ligne-1 ready");
        n.send(&reloading_message(monotonic_usec())).unwrap();
        let msg = recv(&sock);
        let mut lines = msg.lines();
        assert_eq!(lines.next(), Some("RELOADING=1"));
        let usec: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {msg:?}"));
        assert!(usec > 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn messages_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("selfgate-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let sock = UnixDatagram::bind_addr(&addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::new(OsStr::new(&format!("@{name}"))).unwrap();
        n.send("WATCHDOG=1").unwrap();
        assert_eq!(recv(&sock), "WATCHDOG=1");
    }

    #[test]
    fn bad_addresses_are_refused_and_a_missing_socket_is_an_error_not_a_hang() {
        assert!(Notifier::new(OsStr::new("")).is_err());
        assert!(Notifier::new(OsStr::new("relative/path")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::new(dir.path().join("nobody-here").as_os_str()).unwrap();
        assert!(n.send("READY=1").is_err());
    }

    #[test]
    fn a_full_receiver_queue_drops_the_message_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let (_sock, path) = receiver(dir.path());
        let n = Notifier::new(path.as_os_str()).unwrap();
        let started = std::time::Instant::now();
        let mut dropped = false;
        for _ in 0..10_000 {
            if n.send("WATCHDOG=1").is_err() {
                dropped = true;
                break;
            }
        }
        assert!(dropped, "the queue never filled");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn watchdog_interval_is_for_this_process_only() {
        let me = 4242;
        assert_eq!(
            parse_watchdog(Some("10000000"), None, me),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_watchdog(Some("400000"), Some("4242"), me),
            Some(Duration::from_millis(400))
        );
        assert_eq!(parse_watchdog(Some("400000"), Some("1"), me), None);
        assert_eq!(parse_watchdog(Some("0"), None, me), None);
        assert_eq!(parse_watchdog(Some("soon"), None, me), None);
        assert_eq!(parse_watchdog(None, Some("4242"), me), None);
    }
}
