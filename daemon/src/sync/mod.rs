//! The hub and its gates (BRIEF §1): roster down, events up, live passages, over mutual TLS.
//!
//! ```text
//! gate journal (its outbox) ──POST /v1/events──▶ hub: Merge, idempotent on (gate, seq)
//!                                                  │ change log (version → what changed)
//! gate engine + store ◀──GET /v1/live (NDJSON)────┘ other gates' passages, roster changes
//! ```
//!
//! - [`proto`]: the API's payloads (documented in `docs/sync-api.yaml`);
//! - [`hub`]: the server, on the hub's own listener;
//! - [`client`]: a gate's loop: connect with backoff, push what the hub has not acknowledged,
//!   follow the live stream; offline, the gate keeps deciding from its own state;
//! - [`SyncState`]: connected or not, last exchange, events waiting (kiosk, `/healthz`, metrics).
//!
//! The role is `sync.role` in the configuration: `standalone` (the default: gate and hub in one
//! process, nothing to exchange), `gate` or `hub`.

pub mod client;
pub mod http;
pub mod hub;
pub mod proto;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tls::TlsFiles;

/// Which part a node plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Standalone,
    Gate,
    Hub,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::Gate => "gate",
            Role::Hub => "hub",
        }
    }
}

/// `[sync]`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    pub role: Role,
    /// A gate's hub: host (name or address, as its certificate names it) and port.
    pub hub: Option<(String, u16)>,
    /// Where a hub listens for its gates.
    pub listen: SocketAddr,
    pub tls: TlsFiles,
    /// Most events per batch up.
    pub batch: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            role: Role::Standalone,
            hub: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            tls: TlsFiles {
                ca: PathBuf::from("/etc/selfgate/pki/ca.pem"),
                cert: PathBuf::new(),
                key: PathBuf::new(),
                crl: None,
            },
            batch: 2000,
        }
    }
}

/// `[sync]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSync {
    role: Option<String>,
    hub: Option<String>,
    listen: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    crl: Option<String>,
    batch: Option<usize>,
}

/// Validates `[sync]`; each error goes to `err(key, message)`.
pub(crate) fn validate(raw: RawSync, err: &mut dyn FnMut(&str, String)) -> Option<SyncConfig> {
    let mut c = SyncConfig::default();
    let mut ok = true;
    let mut fail = |key: &str, msg: String| {
        err(key, msg);
        ok = false;
    };
    c.role = match raw.role.as_deref().unwrap_or("standalone") {
        "standalone" => Role::Standalone,
        "gate" => Role::Gate,
        "hub" => Role::Hub,
        other => {
            fail(
                "sync.role",
                format!("`{other}` is not standalone, gate or hub"),
            );
            Role::Standalone
        }
    };
    if let Some(url) = &raw.hub {
        match parse_hub_url(url) {
            Ok(h) => c.hub = Some(h),
            Err(m) => fail("sync.hub", m),
        }
    } else if c.role == Role::Gate {
        fail(
            "sync.hub",
            "is required with role = \"gate\" (e.g. \"https://hub.college.lan:8443\")".into(),
        );
    }
    if let Some(l) = &raw.listen {
        match l.parse() {
            Ok(a) => c.listen = a,
            Err(_) => fail(
                "sync.listen",
                format!("`{l}` is not an address such as 0.0.0.0:8443"),
            ),
        }
    }
    if let Some(ca) = raw.ca {
        c.tls.ca = PathBuf::from(ca);
    }
    c.tls.crl = raw.crl.map(PathBuf::from);
    match (raw.cert, raw.key) {
        (Some(cert), Some(key)) => {
            c.tls.cert = PathBuf::from(cert);
            c.tls.key = PathBuf::from(key);
        }
        (None, None) if c.role == Role::Standalone => {}
        (None, None) => {
            fail(
                "sync.cert",
                format!(
                    "is required with role = \"{}\" (made by `selfgate pki issue-{}`)",
                    c.role.code(),
                    c.role.code()
                ),
            );
        }
        (Some(_), None) => fail("sync.key", "is required with sync.cert".into()),
        (None, Some(_)) => fail("sync.cert", "is required with sync.key".into()),
    }
    if let Some(b) = raw.batch {
        if (1..=proto::MAX_BATCH).contains(&b) {
            c.batch = b;
        } else {
            fail(
                "sync.batch",
                format!("must be between 1 and {}", proto::MAX_BATCH),
            );
        }
    }
    ok.then_some(c)
}

/// `https://HOST:PORT` (port 8443 when absent).
pub fn parse_hub_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .trim()
        .strip_prefix("https://")
        .ok_or_else(|| format!("`{url}` must start with https://"))?
        .trim_end_matches('/');
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, p) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed ["))?;
        (h.to_owned(), p.strip_prefix(':').unwrap_or(""))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p),
            None => (rest.to_owned(), ""),
        }
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("`{url}` is not https://HOST:PORT"));
    }
    let port = if port.is_empty() {
        8443
    } else {
        port.parse()
            .map_err(|_| format!("`{url}`: `{port}` is not a port number"))?
    };
    Ok((host, port))
}

/// Starts what `config.sync.role` asks beside the running gate `handle` (on `store`): the hub's
/// listener, or a gate's client. Standalone: nothing, `None`. Prints the hub's address.
pub async fn start(
    config: &crate::config::Config,
    store: &crate::store::Store,
    handle: crate::gate::GateHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    use anyhow::Context;
    let sync = &config.sync;
    let state = SyncState::new(sync.role);
    match sync.role {
        Role::Standalone => Ok(None),
        Role::Hub => {
            store
                .keep_change_log()
                .context("while turning the hub's change log on")?;
            let listener = tokio::net::TcpListener::bind(sync.listen)
                .await
                .with_context(|| format!("while binding the hub to {}", sync.listen))?;
            let addr = listener.local_addr()?;
            // Checked now, so that a bad file stops the start with its name.
            crate::tls::server_config(&sync.tls).context("while loading the hub's TLS files")?;
            handle.shared().set_sync(state.clone());
            println!("selfgate: hub on https://{addr}/");
            let files = sync.tls.clone();
            let store = store.clone();
            Ok(Some(tokio::spawn(async move {
                if let Err(e) = hub::serve(listener, files, handle, store, state, shutdown).await {
                    tracing::error!("sync: hub stopped: {e}");
                }
            })))
        }
        Role::Gate => {
            let endpoint =
                client::Client::endpoint(sync).context("while loading the gate's TLS files")?;
            handle.shared().set_sync(state.clone());
            let client = client::Client::new(handle, store.clone(), endpoint, sync.batch, state);
            if client.restore_pending() {
                client
                    .reconcile_at_start(std::time::Duration::from_secs(10))
                    .await;
            }
            Ok(Some(tokio::spawn(client.run(shutdown))))
        }
    }
}

/// The sync as the kiosk and `/healthz` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub role: Role,
    /// A gate: linked to its hub now. A hub: at least one gate linked.
    pub connected: bool,
    /// Last successful exchange with the hub (gate) or with any gate (hub).
    pub last_exchange: Option<DateTime<Utc>>,
    /// Journal events the hub has not acknowledged yet (gate).
    pub events_waiting: u64,
    /// A hub: the gates linked now.
    pub gates: Vec<String>,
}

impl SyncStatus {
    /// The French line for the kiosk.
    pub fn label_fr(&self) -> String {
        let last = self.last_exchange.map_or_else(
            || "jamais".to_owned(),
            |t| t.format("%d/%m/%Y %H:%M:%S UTC").to_string(),
        );
        match self.role {
            Role::Standalone => "Autonome (pas de concentrateur)".into(),
            Role::Gate if self.connected => format!(
                "Connectée au concentrateur, dernier échange {last}, {} en attente",
                self.events_waiting
            ),
            Role::Gate => format!(
                "Hors ligne (décisions locales), dernier échange {last}, {} en attente",
                self.events_waiting
            ),
            Role::Hub => format!(
                "Concentrateur, {} ligne(s) connectée(s), dernier échange {last}",
                self.gates.len()
            ),
        }
    }
}

/// The live sync status, shared by the sync tasks and whoever shows it.
#[derive(Debug)]
pub struct SyncState(Mutex<SyncStatus>);

impl SyncState {
    pub fn new(role: Role) -> Arc<SyncState> {
        Arc::new(SyncState(Mutex::new(SyncStatus {
            role,
            connected: false,
            last_exchange: None,
            events_waiting: 0,
            gates: Vec::new(),
        })))
    }
    pub fn status(&self) -> SyncStatus {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut s);
        ::metrics::gauge!(crate::metrics::SYNC_PENDING).set(s.events_waiting as f64);
    }
    fn exchanged(&self) {
        let now = Utc::now();
        self.update(|s| {
            s.connected = true;
            s.last_exchange = Some(now);
        });
        crate::metrics::exchange_succeeded("sync", now);
    }
    /// The `sync` field of `/healthz`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self.status()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_errors as errors;

    #[test]
    fn sync_settings_are_checked_and_errors_name_the_key() {
        let c = crate::config::Config::parse("", "t.toml").unwrap();
        assert_eq!(c.sync.role, Role::Standalone);
        let e = errors("[sync]\nrole = \"gate\"\n");
        assert!(e.iter().any(|m| m.starts_with("sync.hub")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("sync.cert")), "{e:?}");
        let e = errors("[sync]\nrole = \"centrale\"\n");
        assert!(
            e.iter()
                .any(|m| m.contains("sync.role") && m.contains("centrale")),
            "{e:?}"
        );
        let e = errors("[sync]\nrole = \"hub\"\nlisten = \"ici\"\ncert = \"a\"\n");
        assert!(e.iter().any(|m| m.starts_with("sync.listen")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("sync.key")), "{e:?}");
        assert!(!errors("[sync]\nrle = \"hub\"\n").is_empty());
        let ok = crate::config::Config::parse(
            "[sync]\nrole = \"gate\"\nhub = \"https://10.0.0.1:9443\"\ncert = \"g.pem\"\n\
             key = \"g.key\"\nbatch = 50\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(ok.sync.hub, Some(("10.0.0.1".into(), 9443)));
        assert_eq!(ok.sync.batch, 50);
    }

    #[test]
    fn hub_urls_parse_with_their_port() {
        assert_eq!(
            parse_hub_url("https://hub.lan:9443/").unwrap(),
            ("hub.lan".into(), 9443)
        );
        assert_eq!(
            parse_hub_url("https://10.0.0.2").unwrap(),
            ("10.0.0.2".into(), 8443)
        );
        assert_eq!(parse_hub_url("https://[::1]:7").unwrap(), ("::1".into(), 7));
        assert!(parse_hub_url("http://hub").is_err());
        assert!(parse_hub_url("https://hub:port").is_err());
        assert!(parse_hub_url("https://").is_err());
    }
}
