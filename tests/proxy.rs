//! A TCP proxy for fault tests: it stands between a gate and its hub on loopback and, on
//! command, passes, delays, drops (reads and forwards nothing), resets (RST) or cuts the
//! connections going through it. The target can change (a hub restarted on another port).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// Each chunk waits this long before it is forwarded.
    Delay(Duration),
    /// Data is read and thrown away: the link looks alive and says nothing.
    Drop,
    /// New connections and, at their next chunk, open ones are reset.
    Reset,
}

struct State {
    target: Mutex<SocketAddr>,
    mode: Mutex<Mode>,
    /// Bumped by `cut`: connections opened before are closed.
    generation: AtomicU64,
    stop: AtomicBool,
}

pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
}

/// Closes `s` with a reset (RST) instead of a clean end.
fn reset(s: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a properly sized `linger` value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    let _ = s.shutdown(Shutdown::Both);
}

impl Proxy {
    /// Listens on 127.0.0.1 port 0, forwarding to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            target: Mutex::new(target),
            mode: Mutex::new(Mode::Pass),
            generation: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            while !st.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || connection(client, &st));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { addr, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn retarget(&self, target: SocketAddr) {
        *self.state.target.lock().unwrap() = target;
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.state.generation.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        self.cut();
    }
}

fn connection(client: TcpStream, st: &Arc<State>) {
    let _ = client.set_nonblocking(false);
    if *st.mode.lock().unwrap() == Mode::Reset {
        reset(&client);
        return;
    }
    let target = *st.target.lock().unwrap();
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(2)) else {
        reset(&client);
        return;
    };
    let generation = st.generation.load(Ordering::Relaxed);
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let st2 = st.clone();
    let up = std::thread::spawn(move || pump(client, server, &st2, generation));
    pump(s2, c2, st, generation);
    let _ = up.join();
}

/// Copies `from` to `to` as the mode says, until either side ends or the proxy cuts.
fn pump(mut from: TcpStream, mut to: TcpStream, st: &State, generation: u64) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if st.generation.load(Ordering::Relaxed) != generation {
            reset(&from);
            reset(&to);
            return;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        };
        let mode = *st.mode.lock().unwrap();
        match mode {
            Mode::Pass => {}
            Mode::Delay(d) => std::thread::sleep(d),
            Mode::Drop => continue,
            Mode::Reset => {
                reset(&from);
                reset(&to);
                return;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
    }
}
