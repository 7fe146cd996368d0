//! HTTP/1.1 over TLS to the hub, with hyper's client connection: one request at a time per
//! connection, every step bounded in time.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Connecting (TCP and TLS) takes at most this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A request and its whole answer take at most this long.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connexion au concentrateur {0} impossible : {1}")]
    Connect(String, String),
    #[error("le concentrateur ne répond pas à temps")]
    Timeout,
    #[error("échange HTTP : {0}")]
    Http(#[from] hyper::Error),
    #[error("le concentrateur a répondu {status} : {message}")]
    Status { status: u16, message: String },
    #[error("réponse illisible : {0}")]
    Decode(String),
}

/// Where the hub is and how to reach it.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: Arc<rustls::ClientConfig>,
}

/// One connection to the hub.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

pub async fn connect(ep: &Endpoint) -> Result<Conn, HttpError> {
    let addr = format!("{}:{}", ep.host, ep.port);
    let shown = addr.clone();
    let fail = move |e: &dyn std::fmt::Display| HttpError::Connect(shown.clone(), e.to_string());
    let work = async {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| fail(&e))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(ep.host.clone()).map_err(|e| fail(&e))?;
        let tls = TlsConnector::from(ep.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| fail(&e))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| fail(&e))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            send,
            host: ep.host.clone(),
            driver,
        })
    };
    tokio::time::timeout(CONNECT_TIMEOUT, work)
        .await
        .map_err(|_| HttpError::Timeout)?
}

impl Conn {
    /// Sends a request; the answer's head, its body still to read.
    pub async fn request(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<Incoming>, HttpError> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.host.as_str());
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Decode(e.to_string()))?;
        let work = async {
            self.send.ready().await?;
            self.send.send_request(req).await
        };
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, work)
            .await
            .map_err(|_| HttpError::Timeout)??;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = read_body(resp.into_body()).await.unwrap_or_default();
            let message = super::proto::decode::<super::proto::ApiError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(HttpError::Status { status, message });
        }
        Ok(resp)
    }

    /// A request whose answer is JSON of type `T`; returns it with its size in bytes.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(T, usize), HttpError> {
        let resp = self.request(method, path, body).await?;
        let bytes = tokio::time::timeout(REQUEST_TIMEOUT, read_body(resp.into_body()))
            .await
            .map_err(|_| HttpError::Timeout)??;
        let value = super::proto::decode(&bytes).map_err(HttpError::Decode)?;
        Ok((value, bytes.len()))
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, HttpError> {
    Ok(body.collect().await?.to_bytes())
}
