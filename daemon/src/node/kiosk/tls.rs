//! The kiosk over TLS (rustls on ring), when `kiosk.tls_cert` and `kiosk.tls_key` are set:
//! PEM files read at start, the key refused when others can read it (or taken from systemd's
//! `$CREDENTIALS_DIRECTORY/kiosk.key`). The connections are served by `listener.rs`: a TLS
//! handshake (10 s at most), then HTTP/1.1 by the same axum router as plain HTTP.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
