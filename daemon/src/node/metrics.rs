//! The Prometheus page, `GET /metrics` in the text exposition format (what is recorded is in
//! `crate::infra::telemetry`). Served through axum, either on the kiosk's listener or on its
//! own ([`serve`]), and only to the client networks of `[metrics] allow` (others get 403).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::net::allowed;
use crate::config::{Cidr, MetricsConfig, MetricsListen};
use crate::infra::telemetry::{CONTENT_TYPE, handle};
use crate::node::NodeError;

/// `GET /metrics`, for the client networks of `allow`. The server must be run with
/// `into_make_service_with_connect_info::<SocketAddr>()`: without the client's address every
/// request is refused.
pub fn router(allow: &[Cidr]) -> Router {
    handle();
    Router::new()
        .route("/metrics", get(page))
        .with_state(Arc::<[Cidr]>::from(allow))
}

/// The routes to merge into the kiosk's, when the metrics are served there.
pub fn kiosk_routes(config: &MetricsConfig) -> Option<Router> {
    (config.enabled && config.listen == MetricsListen::Kiosk).then(|| router(&config.allow))
}

async fn page(State(allow): State<Arc<[Cidr]>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if allowed(&allow, ip) => {
            ([(header::CONTENT_TYPE, CONTENT_TYPE)], handle().render()).into_response()
        }
        _ => {
            tracing::debug!(
                "metrics: refused to {}",
                peer.map_or_else(|| "an unknown client".to_owned(), |ip| ip.to_string())
            );
            (
                StatusCode::FORBIDDEN,
                "forbidden: this client is not in [metrics] allow\n",
            )
                .into_response()
        }
    }
}

/// Where the page is served, once started.
pub struct MetricsServer {
    /// `http://ADDR/metrics`, or `None` when disabled.
    pub url: Option<String>,
    pub(crate) task: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsServer {
    /// Waits for its own listener (if any) to stop.
    pub async fn join(self) {
        if let Some(t) = self.task {
            let _ = t.await;
        }
    }
}

/// Serves the page as configured: on the kiosk (`kiosk`, the kiosk's address, its routes
/// merged by [`kiosk_routes`]) or on its own listener until `shutdown`.
pub async fn serve(
    config: &MetricsConfig,
    kiosk: Option<SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<MetricsServer, NodeError> {
    let listen = match (config.enabled, config.listen) {
        (false, _) => {
            return Ok(MetricsServer {
                url: None,
                task: None,
            });
        }
        (true, MetricsListen::Kiosk) => {
            return Ok(MetricsServer {
                url: kiosk.map(|k| format!("http://{k}/metrics")),
                task: None,
            });
        }
        (true, MetricsListen::Addr(a)) => a,
    };
    let bind = |source| NodeError::Bind {
        what: "the metrics listener",
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let app = router(&config.allow);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok(MetricsServer {
        url: Some(format!("http://{addr}/metrics")),
        task: Some(task),
    })
}
