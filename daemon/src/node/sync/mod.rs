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
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::config::sync::{Role, SyncConfig};
use crate::node::NodeError;

/// Starts what `config.sync.role` asks beside the running gate `handle` (on `store`): the hub's
/// listener, or a gate's client, reporting to `state`. Standalone: nothing, `None`. A hub's
/// task comes with the address it listens on.
pub async fn start(
    config: &crate::config::Config,
    store: &crate::store::Store,
    handle: crate::node::gate::GateHandle,
    state: Arc<SyncState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Option<(tokio::task::JoinHandle<()>, Option<SocketAddr>)>, NodeError> {
    let sync = &config.sync;
    match sync.role {
        Role::Standalone => Ok(None),
        Role::Hub => {
            store.keep_change_log()?;
            let quarantined = store.meta_with_prefix(hub::QUARANTINE_PREFIX)?.len() as u64;
            state.update(|s| s.quarantined = quarantined);
            let listener = tokio::net::TcpListener::bind(sync.listen)
                .await
                .map_err(|source| NodeError::Bind {
                    what: "the hub",
                    addr: sync.listen,
                    source,
                })?;
            let addr = listener.local_addr().map_err(|source| NodeError::Bind {
                what: "the hub",
                addr: sync.listen,
                source,
            })?;
            // Checked now, so that a bad file stops the start with its name.
            crate::infra::tls::server_config(&sync.tls)
                .map_err(|e| NodeError::Setup(format!("while loading the hub's TLS files: {e}")))?;
            if client::restore_pending(store) {
                // A restored hub may have given its own numbers (credits, corrections) to
                // events its gates already hold: its new ones start the next epoch.
                let own = handle.shared().config().gate.id.clone();
                let ops = client::new_epoch_after_restore(store, &own)
                    .map_err(|e| NodeError::Setup(format!("after the restore: {e}")))?;
                handle
                    .change(ops)
                    .await
                    .map_err(|e| NodeError::Setup(format!("after the restore: {e}")))?;
                tracing::warn!("sync: restored hub: its own numbers go on in a new epoch");
            }
            let files = sync.tls.clone();
            let store = store.clone();
            let task = tokio::spawn(async move {
                if let Err(e) = hub::serve(listener, files, handle, store, state, shutdown).await {
                    tracing::error!("sync: hub stopped: {e}");
                }
            });
            Ok(Some((task, Some(addr))))
        }
        Role::Gate => {
            let endpoint = client::Client::endpoint(sync).map_err(|e| {
                NodeError::Setup(format!("while loading the gate's TLS files: {e}"))
            })?;
            let client = client::Client::new(handle, store.clone(), endpoint, sync.batch, state);
            if client.restore_pending() {
                client
                    .reconcile_at_start(std::time::Duration::from_secs(10))
                    .await;
            }
            Ok(Some((tokio::spawn(client.run(shutdown)), None)))
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
    /// A hub: events of its gates it refused to apply, kept in quarantine (`quarantine/…` in
    /// the store's meta) for a person to look at.
    pub quarantined: u64,
}

impl SyncStatus {
    /// The status as the kiosk shows it, times in `tz` (the kiosk tells it in the viewer's
    /// language, `selfgate_kiosk::i18n::sync_line`).
    pub fn view(&self, tz: chrono_tz::Tz) -> selfgate_kiosk::SyncStatus {
        use selfgate_kiosk::i18n::{self, Lang};
        let last = self
            .last_exchange
            .map(|t| t.with_timezone(&tz).naive_local());
        selfgate_kiosk::SyncStatus {
            role: match self.role {
                Role::Standalone => selfgate_kiosk::SyncRole::Standalone,
                Role::Gate => selfgate_kiosk::SyncRole::Gate,
                Role::Hub => selfgate_kiosk::SyncRole::Hub,
            },
            connected: self.connected,
            last_exchange: last.map(|t| i18n::date_time(Lang::Fr, t)),
            last_exchange_at: last,
            events_waiting: self.events_waiting,
            gates: self.gates.len() as u64,
        }
    }

    /// The kiosk's French line, times in UTC.
    pub fn label_fr(&self) -> String {
        selfgate_kiosk::i18n::sync_line(selfgate_kiosk::i18n::Lang::Fr, &self.view(chrono_tz::UTC))
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
            quarantined: 0,
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
        ::metrics::gauge!(crate::infra::telemetry::SYNC_PENDING).set(s.events_waiting as f64);
    }
    fn exchanged(&self) {
        let now = Utc::now();
        self.update(|s| {
            s.connected = true;
            s.last_exchange = Some(now);
        });
        crate::infra::telemetry::exchange_succeeded("sync", now);
    }
    /// The `sync` field of `/healthz`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self.status()).unwrap_or_default()
    }
}
