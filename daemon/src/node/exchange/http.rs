//! A small HTTPS client for the exchanges: hyper's HTTP/1.1 over rustls (ring), one connection
//! per request, the whole request (connect, TLS, send, answer) under one timeout, answers capped
//! in size. Only `https://` URLs. Trusts the system's certificate authorities, or only the one
//! in `ca_file` when given (a school pinning its server; the tests' generated certificate).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

pub use crate::config::net::{HttpsUrl, parse_https_url};

/// Largest answer body read.
const MAX_ANSWER: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Setup(String),
    #[error("pas de réponse de {host} en {secs} s (délai dépassé)")]
    Timeout { host: String, secs: u64 },
    #[error("connexion à {host} impossible : {message}")]
    Connect { host: String, message: String },
    #[error("échange TLS avec {host} impossible : {message}")]
    Tls { host: String, message: String },
    #[error("requête HTTP vers {host} en échec : {message}")]
    Http { host: String, message: String },
}

/// An answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The client: its trusted authorities and timeout.
#[derive(Clone)]
pub struct HttpsClient {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

impl HttpsClient {
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<HttpsClient, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<_, _>>())
                    .map_err(|e| {
                        HttpError::Setup(format!(
                            "certificat d'autorité {} illisible : {e}",
                            path.display()
                        ))
                    })?;
                if certs.is_empty() {
                    return Err(HttpError::Setup(format!(
                        "{} ne contient aucun certificat PEM",
                        path.display()
                    )));
                }
                for c in certs {
                    roots.add(c).map_err(|e| {
                        HttpError::Setup(format!("certificat de {} refusé : {e}", path.display()))
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for c in native.certs {
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    return Err(HttpError::Setup(
                        "aucune autorité de certification système (paquet ca-certificates) : \
                         donnez ca_file"
                            .into(),
                    ));
                }
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(HttpsClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout,
        })
    }

    /// Sends one request to `url` (with its query) and reads the whole answer, all within the
    /// timeout.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Answer, HttpError> {
        let u = parse_https_url(url).map_err(HttpError::Setup)?;
        let host = u.host.clone();
        match tokio::time::timeout(self.timeout, self.exchange(method, &u, headers, body)).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout {
                host,
                secs: self.timeout.as_secs().max(1),
            }),
        }
    }

    async fn exchange(
        &self,
        method: &str,
        u: &HttpsUrl,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Answer, HttpError> {
        let host = u.host.clone();
        let connect = |message: String| HttpError::Connect {
            host: host.clone(),
            message,
        };
        let tcp = tokio::net::TcpStream::connect((u.host.as_str(), u.port))
            .await
            .map_err(|e| connect(e.to_string()))?;
        let name = ServerName::try_from(u.host.clone())
            .map_err(|e| connect(format!("nom d'hôte invalide : {e}")))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| HttpError::Tls {
                host: host.clone(),
                message: e.to_string(),
            })?;
        let http = |message: String| HttpError::Http {
            host: host.clone(),
            message,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| http(e.to_string()))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = if u.port == 443 {
            u.host.clone()
        } else {
            format!("{}:{}", u.host, u.port)
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(u.path.as_str())
            .header(hyper::header::HOST, authority)
            .header(
                hyper::header::USER_AGENT,
                concat!("selfgate/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| http(e.to_string()))?;
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| http(e.to_string()))?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let body = Limited::new(resp.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| http(format!("réponse illisible ou trop grande : {e}")))?
                .to_bytes()
                .to_vec();
            Ok(Answer {
                status,
                headers,
                body,
            })
        }
        .await;
        driver.abort();
        result
    }
}
