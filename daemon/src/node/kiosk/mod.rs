//! The kiosk's side in the node: [`backend`] (the kiosk crate's `StaffSource` on the running
//! gate), [`regie`] (its cash desk: payments, receipts, cancellations, refunds, the régie's
//! reports and low balances), [`billing`] (the billing pages: terms, bills, constatations,
//! remises and aid, notices and bordereaux), [`view`] (the feed, counts and health built from the gate's
//! state), [`tls`] (the kiosk over rustls), and [`serve`], its listener.

pub mod backend;
pub mod billing;
pub mod listener;
pub mod regie;
pub mod tls;
pub mod view;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::infra::shutdown::Shutdown;
use crate::node::NodeError;
use crate::node::gate::GateHandle;
use crate::node::sync::SyncState;
use crate::store::Store;

/// Binds the kiosk's listener and serves it until `shutdown` (over TLS when `kiosk.tls_cert`
/// and `kiosk.tls_key` are set). Staff actions go through `gate`; reports read `store`; the
/// hub sync's status, when there is one, shows from `sync`.
pub async fn serve(
    listen: SocketAddr,
    gate: GateHandle,
    store: Store,
    sync: Option<Arc<SyncState>>,
    shutdown: Shutdown,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), NodeError> {
    let shared = gate.shared().clone();
    let bind = |source| NodeError::Bind {
        what: "the kiosk",
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let config = shared.config();
    let tls = tls::load(&config.kiosk)?;
    let backend = backend::KioskBackend::start(gate, store, sync);
    let options = selfgate_kiosk::KioskOptions {
        accounts: config
            .data_dir
            .join(selfgate_kiosk::accounts::ACCOUNTS_FILE),
        tls: tls.is_some(),
        // The event streams never end by themselves: they stop on the same signal.
        stop: Some(shutdown.watch()),
    };
    let mut app = selfgate_kiosk::router(backend, options);
    if let Some(metrics) = crate::node::metrics::kiosk_routes(&config.metrics) {
        app = app.merge(metrics);
    }
    // The kiosk's own answers have them already; `/metrics` merged here gets them too.
    let app = app.layer(axum::middleware::map_response(
        selfgate_kiosk::security_headers,
    ));
    // The client's address (needed by `/metrics`, allowed networks) is attached by the loop.
    let task = tokio::spawn(listener::serve(
        listener,
        tls,
        app,
        shutdown.fired(),
        listener::Limits::default(),
    ));
    Ok((addr, task))
}
