//! The running node: one gate (or a hub, or both in one process) and the services around it,
//! assembled in one place. [`Node::start`] is how `selfgate run`, `selfgate demo` and the tests
//! start a node; [`NodeHandle::stop`] fires one shutdown signal and joins every task.
//!
//! ```text
//! Node::start ─▶ store + writer thread ─▶ Shared (engine, clock) ─▶ gate loop (readers, turnstile)
//!                 ├─ kiosk (kiosk/)        ├─ /metrics (metrics.rs)   ├─ hub sync (sync/)
//!                 ├─ exchanges (exchange/) ├─ control socket (control.rs)
//!                 └─ retention policy (retention.rs)      SIGHUP → reload.rs
//! ```
//!
//! - [`gate`]: the decision loop, commit before open, the state the kiosk reads;
//! - [`hardware`]: readers and turnstile from `[gate]`;
//! - [`kiosk`], [`metrics`], [`sync`], [`exchange`], [`control`], [`retention`], [`reload`]:
//!   the services, each given the gate's handle and the node's [`Shutdown`].

pub mod billing;
pub mod control;
pub mod exchange;
pub mod gate;
pub mod hardware;
pub mod kiosk;
pub mod metrics;
pub mod regie;
pub mod reload;
pub mod retention;
pub mod sync;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::infra::clock::Clock;
use crate::infra::shutdown::{self, Shutdown, Trigger};
use crate::infra::telemetry;
use crate::store::{Store, StoreError, Writer, describe_school};
use exchange::Exchanges;
use gate::{Gate, GateHandle, Hardware, Shared, Supervision};
use hardware::HardwareError;
use sync::{Role, SyncState};

/// A node that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hardware(#[from] HardwareError),
    #[error("while binding {what} to {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("while setting up {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    /// A file or setting that cannot be used; the message names it.
    #[error("{0}")]
    Setup(String),
    #[error("the gate's loop ended before it was ready")]
    NotReady,
}

/// Which services run beside the gate's loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Services {
    /// The staff kiosk on `kiosk.listen`.
    pub kiosk: bool,
    /// `/metrics` as `[metrics]` says (on the kiosk's listener or its own).
    pub metrics: bool,
    /// The hub or the gate's client, as `sync.role` says.
    pub sync: bool,
    /// The scheduled exchanges of `[[exchanges]]`.
    pub exchanges: bool,
    /// The control socket `DATA/control.sock`.
    pub control: bool,
    /// The retention purge on `retention.schedule`.
    pub retention: bool,
}

impl Services {
    /// Everything: `selfgate run`.
    pub const ALL: Services = Services {
        kiosk: true,
        metrics: true,
        sync: true,
        exchanges: true,
        control: true,
        retention: true,
    };
    /// The gate's loop alone.
    pub const NONE: Services = Services {
        kiosk: false,
        metrics: false,
        sync: false,
        exchanges: false,
        control: false,
        retention: false,
    };
}

/// What a node is made of.
pub struct NodeSpec {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    /// The store when the caller opened it already (the demo, tests on a misbehaving disk);
    /// `None`: opened in `config.data_dir`.
    pub store: Option<Store>,
    pub hardware: Hardware,
    /// systemd's watchdog, the stall test hook; readiness is [`Node::start`] returning.
    pub supervision: Supervision,
    pub services: Services,
    /// The configuration file read again on SIGHUP (`selfgate run`); `None`: no reloads.
    pub reload_from: Option<PathBuf>,
}

impl NodeSpec {
    /// A node of `config` on `hardware`, with the system clock, every service and no reloads.
    pub fn new(config: Config, clock: Arc<dyn Clock>, hardware: Hardware) -> NodeSpec {
        NodeSpec {
            config,
            clock,
            store: None,
            hardware,
            supervision: Supervision::default(),
            services: Services::ALL,
            reload_from: None,
        }
    }
}

/// A running node. Drop every handle taken from it ([`NodeHandle::gate`]…) before
/// [`NodeHandle::stop`]: the store's writer thread ends when its last handle goes.
pub struct NodeHandle {
    shared: Arc<Shared>,
    gate: GateHandle,
    store: Store,
    writer: Writer,
    exchanges: Option<Arc<Exchanges>>,
    sync: Option<Arc<SyncState>>,
    kiosk: Option<SocketAddr>,
    metrics_url: Option<String>,
    hub: Option<SocketAddr>,
    trigger: Trigger,
    gate_loop: tokio::task::JoinHandle<()>,
    tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
    writer_thread: std::thread::JoinHandle<()>,
}

/// The namespace of [`Node::start`].
pub struct Node;

impl Node {
    /// Opens the store, loads the decision's state as of the school's today, starts the writer
    /// thread, the services `spec.services` names and the gate's loop; returns once the loop
    /// is ready to take reads (the kiosk listening, the readers started).
    pub async fn start(spec: NodeSpec) -> Result<NodeHandle, NodeError> {
        let NodeSpec {
            config,
            clock,
            store,
            hardware,
            mut supervision,
            services,
            reload_from,
        } = spec;
        let store = match store {
            Some(s) => s,
            None => Store::open(&config.data_dir)?,
        };
        store.write_now(&[describe_school(&config)])?;
        let today = config.rules.today(clock.now());
        let engine = store.load_engine(config.rules.clone(), today)?;
        let (writer, writer_thread) = Writer::spawn(store.clone())?;
        if config.metrics.enabled && services.metrics {
            telemetry::started(engine.roster().len(), store.event_count()?);
        }
        let shared = Shared::new(config.clone(), engine, clock);
        let mut gate = Gate::new(shared.clone(), writer.clone());
        let handle = gate.handle();
        let (trigger, shutdown) = shutdown::channel();
        let mut tasks = Vec::new();

        let sync = (services.sync && config.sync.role != Role::Standalone)
            .then(|| SyncState::new(config.sync.role));
        let exchanges = services.exchanges.then(|| {
            let x = Exchanges::for_daemon(handle.clone(), store.clone());
            tasks.push((
                "exchanges",
                tokio::spawn(
                    x.clone()
                        .scheduled(Duration::from_secs(1), shutdown.clone()),
                ),
            ));
            x
        });
        if services.control {
            let serving = control::serve(
                store.clone(),
                config.data_dir.clone(),
                exchanges.clone(),
                Some(handle.clone()),
                shutdown.clone(),
            );
            tasks.push((
                "control",
                tokio::spawn(async move {
                    if let Err(e) = serving.await {
                        tracing::error!("control socket stopped: {e}");
                    }
                }),
            ));
        }
        if services.retention {
            tasks.push((
                "retention",
                tokio::spawn(retention::scheduled(
                    shared.clone(),
                    writer.clone(),
                    shutdown.clone(),
                )),
            ));
        }
        let kiosk = if services.kiosk {
            let (addr, task) = kiosk::serve(
                config.kiosk.listen,
                handle.clone(),
                store.clone(),
                sync.clone(),
                shutdown.clone(),
            )
            .await?;
            tasks.push(("kiosk", task));
            Some(addr)
        } else {
            None
        };
        let mut metrics_url = None;
        let mut hub = None;
        if services.metrics {
            let m = metrics::serve(&config.metrics, kiosk, shutdown.clone().fired()).await?;
            metrics_url = m.url;
            if let Some(t) = m.task {
                tasks.push(("metrics", t));
            }
        }
        if let Some(state) = &sync {
            let started = sync::start(
                &config,
                &store,
                handle.clone(),
                state.clone(),
                shutdown.clone().fired(),
            )
            .await?;
            if let Some((t, addr)) = started {
                tasks.push(("sync", t));
                hub = addr;
            }
        }
        if let Some(path) = reload_from {
            let requests = reload::reload_requests().map_err(|source| NodeError::Io {
                what: "the SIGHUP handler",
                source,
            })?;
            let (shared, writer) = (shared.clone(), writer.clone());
            supervision.reload = Some((
                requests,
                Box::new(move || {
                    crate::infra::notify::reloading();
                    let status = reload::reload(&shared, &path, &writer);
                    crate::infra::notify::ready();
                    crate::infra::notify::status(&status);
                }),
            ));
        }
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let caller_ready = supervision.on_ready.take();
        supervision.on_ready = Some(Box::new(move || {
            if let Some(f) = caller_ready {
                f();
            }
            let _ = ready_tx.send(());
        }));
        gate.supervise(supervision);
        let gate_loop = tokio::spawn(gate.run(hardware, shutdown.clone().fired()));
        let node = NodeHandle {
            shared,
            gate: handle,
            store,
            writer,
            exchanges,
            sync,
            kiosk,
            metrics_url,
            hub,
            trigger,
            gate_loop,
            tasks,
            writer_thread,
        };
        if ready_rx.await.is_err() {
            node.stop().await;
            return Err(NodeError::NotReady);
        }
        Ok(node)
    }
}

impl NodeHandle {
    /// The gate's handle: reads, staff actions, changes.
    pub fn gate(&self) -> &GateHandle {
        &self.gate
    }
    /// The gate's shared state: configuration, engine, counters, feed.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// The store's writer (commits outside a decision: the demo's clock, tests).
    pub fn writer(&self) -> &Writer {
        &self.writer
    }
    /// The exchanges, when the node runs them.
    pub fn exchanges(&self) -> Option<&Arc<Exchanges>> {
        self.exchanges.as_ref()
    }
    /// The hub sync's status, when the node is a gate or a hub.
    pub fn sync(&self) -> Option<&Arc<SyncState>> {
        self.sync.as_ref()
    }
    /// The kiosk's address as a URL (`https://` when it is served over TLS), when it runs.
    pub fn kiosk_url(&self) -> Option<String> {
        let tls = {
            let c = self.shared.config();
            c.kiosk.tls_cert.is_some() && c.kiosk.tls_key.is_some()
        };
        self.kiosk
            .map(|a| format!("{}://{a}/", if tls { "https" } else { "http" }))
    }
    /// Where the kiosk listens, when it runs.
    pub fn kiosk_addr(&self) -> Option<SocketAddr> {
        self.kiosk
    }
    /// Where the hub listens for its gates, when this node is one.
    pub fn hub_addr(&self) -> Option<SocketAddr> {
        self.hub
    }
    /// `http://ADDR/metrics`, when the page is served.
    pub fn metrics_url(&self) -> Option<&str> {
        self.metrics_url.as_deref()
    }
    /// A new receiver of the node's shutdown signal (for a task of the caller's).
    pub fn shutdown(&self) -> Shutdown {
        self.trigger.subscribe()
    }
    /// Whether the gate's loop has ended (it ends only on the shutdown signal).
    pub fn gate_loop_ended(&self) -> bool {
        self.gate_loop.is_finished()
    }

    /// Fires the shutdown signal and joins the gate's loop (it drains its commits and pulses),
    /// then every service, then the store's writer thread (after what was queued commits).
    pub async fn stop(self) {
        let NodeHandle {
            shared,
            gate,
            store,
            writer,
            exchanges,
            sync,
            trigger,
            gate_loop,
            tasks,
            writer_thread,
            ..
        } = self;
        trigger.send();
        if let Err(e) = gate_loop.await {
            tracing::error!("the gate's loop ended badly: {e}");
        }
        for (name, task) in tasks {
            if let Err(e) = task.await {
                tracing::error!("{name} ended badly: {e}");
            }
        }
        drop((shared, gate, store, writer, exchanges, sync));
        let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    }
}

/// Test hook, read once at start by `selfgate run`: the decision loop blocks for good this many
/// milliseconds after the gate is ready, so that tests can see the watchdog pings stop.
pub const FAULT_STALL_LOOP_AFTER_MS: &str = "SELFGATE_FAULT_STALL_LOOP_AFTER_MS";
