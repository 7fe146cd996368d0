//! The kiosk over TLS (rustls on ring), when `kiosk.tls_cert` and `kiosk.tls_key` are set:
//! PEM files read at start, the key refused when others can read it (or taken from systemd's
//! `$CREDENTIALS_DIRECTORY/kiosk.key`). Each connection is a TLS handshake (10 s at most) then
//! HTTP/1.1 served by the same axum router as plain HTTP, with the client's address attached.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::KioskConfig;
use crate::node::NodeError;

/// The TLS settings of the kiosk, or `None` for plain HTTP.
pub fn load(kiosk: &KioskConfig) -> Result<Option<Arc<rustls::ServerConfig>>, NodeError> {
    let (Some(cert), Some(key)) = (&kiosk.tls_cert, &kiosk.tls_key) else {
        return Ok(None);
    };
    let key_path = crate::infra::secrets::secret_file("kiosk.key", Some(key))
        .map_err(|e| NodeError::Setup(format!("kiosk.tls_key: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| {
            NodeError::Setup(format!(
                "kiosk.tls_cert: cannot read {}: {e}",
                cert.display()
            ))
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            NodeError::Setup(format!(
                "kiosk.tls_cert: {} is not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(NodeError::Setup(format!(
            "kiosk.tls_cert: no certificate in {}",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        NodeError::Setup(format!(
            "kiosk.tls_key: no PEM private key in {}: {e}",
            key_path.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NodeError::Setup(format!("kiosk TLS: protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            NodeError::Setup(format!(
                "kiosk.tls_key: the key does not match the certificate: {e}"
            ))
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Serves `app` over TLS on `listener` until `shutdown`; open connections are closed then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = TlsAcceptor::from(tls);
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
        let acceptor = acceptor.clone();
        let app = app.clone();
        connections.spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!("kiosk: TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => return,
            };
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
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .http1_only()
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(e) = conn {
                tracing::debug!("kiosk: connection with {peer}: {e}");
            }
        });
    }
    connections.shutdown().await;
}
