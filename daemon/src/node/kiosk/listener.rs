//! The kiosk's listener, plain or over TLS: one accept loop with the limits a service on the
//! school's network needs, so that slow or hostile clients cannot exhaust it (and, on a hub,
//! the gates' sync with it). A client that sends no complete request head within
//! `header_read` is cut, and so is a kept-alive connection idle that long after its last
//! answer (hyper starts the timer at each request head); a live stream, busy sending, is not.
//! An address may hold at most `per_address` connections and the kiosk `total`: more are
//! closed at once.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio_rustls::TlsAcceptor;

/// How much the kiosk's listener lets its clients take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open connections from one address.
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
    /// A request head must arrive within this (also the idle time allowed between requests).
    pub header_read: Duration,
    /// A TLS handshake must end within this.
    pub handshake: Duration,
}

impl Default for Limits {
    /// Far above a school's screens (a few per address, a few dozen in all), far below the
    /// unit's file limit (`LimitNOFILE=8192`).
    fn default() -> Limits {
        Limits {
            per_address: 64,
            total: 1024,
            header_read: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
        }
    }
}

/// Refused connections are logged at most once a minute.
static REFUSED: crate::infra::logs::Throttled =
    crate::infra::logs::Throttled::new(Duration::from_secs(60));

/// The open connections, by address.
#[derive(Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// A connection counted in [`Open`]; uncounted when dropped.
struct Counted {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        o.total = o.total.saturating_sub(1);
        if let Some(n) = o.by_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                o.by_address.remove(&self.ip);
            }
        }
    }
}

/// Counts a new connection from `ip`, unless it is over the limits.
fn admit(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: &Limits) -> Option<Counted> {
    let mut o = open.lock().unwrap_or_else(PoisonError::into_inner);
    let from_ip = o.by_address.get(&ip).copied().unwrap_or(0);
    if from_ip >= limits.per_address || o.total >= limits.total {
        return None;
    }
    o.total += 1;
    *o.by_address.entry(ip).or_default() += 1;
    Some(Counted {
        open: open.clone(),
        ip,
    })
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown`; open
/// connections are closed then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let open = Arc::new(Mutex::new(Open::default()));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("kiosk: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Some(counted) = admit(&open, peer.ip(), &limits) else {
            if let Some(skipped) = REFUSED.allow() {
                tracing::warn!(
                    "kiosk: connection from {} refused: too many open ({skipped} more refused since the last line)",
                    peer.ip()
                );
            }
            drop(stream);
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        connections.spawn(async move {
            let _counted = counted;
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    let mut app = app.clone();
                    async move {
                        use tower::Service;
                        app.call(req).await
                    }
                },
            );
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read);
            let served = match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(limits.handshake, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!("kiosk: TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                    builder.serve_connection(TokioIo::new(tls), service).await
                }
                None => {
                    let _ = stream.set_nodelay(true);
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(e) = served {
                tracing::debug!("kiosk: connection with {peer}: {e}");
            }
        });
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Whether the server closes `conn` within `within` (reads until end of stream).
    async fn closed_within(conn: &mut tokio::net::TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    async fn get(addr: SocketAddr) -> String {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn silent_and_surplus_clients_are_cut_and_the_others_served() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "bonjour" }));
        let limits = Limits {
            per_address: 3,
            total: 10,
            header_read: Duration::from_millis(400),
            handshake: Duration::from_millis(400),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            None,
            app,
            async {
                let _ = stopped.await;
            },
            limits,
        ));
        // Three clients that connect and say nothing (half-open, slowloris).
        let mut silent = Vec::new();
        for _ in 0..3 {
            silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A fourth from the same address is closed at once.
        let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(&mut fourth, Duration::from_secs(2)).await);
        // The silent ones are cut once the head is overdue; then others are served again.
        for c in &mut silent {
            assert!(closed_within(c, Duration::from_secs(10)).await, "never cut");
        }
        assert!(get(addr).await.ends_with("bonjour"));
        // A kept-alive connection idle after its answer is cut too.
        let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
        kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(closed_within(&mut kept, Duration::from_secs(10)).await);
        let _ = stop.send(());
        server.await.unwrap();
    }
}
