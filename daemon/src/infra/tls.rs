//! TLS for the hub and its gates: rustls, TLS 1.3 only, mutual authentication by the site's
//! own authority (`selfgate pki`). The hub accepts a client certificate only when the
//! authority signed it, it has not expired, and the revocation list does not name it; the gate
//! id is the certificate's common name, never a field of a request.

use crate::config::TlsFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let list: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(path, e))?;
    if list.is_empty() {
        return Err(file_err(path, "holds no PEM certificate"));
    }
    Ok(list)
}

/// A private key: `$CREDENTIALS_DIRECTORY/NAME` when systemd passed one named like the file
/// (`LoadCredential=gate-ligne-1.key:…`), else the file itself, refused when others may read it.
fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("sync.key");
    let file =
        crate::infra::secrets::secret_file(name, Some(path)).map_err(|m| file_err(path, m))?;
    PrivateKeyDer::from_pem_file(&file).map_err(|e| file_err(&file, e))
}

fn roots(ca: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in certs(ca)? {
        roots.add(c).map_err(|e| file_err(ca, e))?;
    }
    Ok(Arc::new(roots))
}

/// The hub's server side: its certificate, and client certificates required, checked against
/// the authority, their validity dates and the revocation list.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let mut crls = Vec::new();
    if let Some(path) = &files.crl {
        for crl in
            CertificateRevocationListDer::pem_file_iter(path).map_err(|e| file_err(path, e))?
        {
            crls.push(crl.map_err(|e| file_err(path, e))?);
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&files.ca)?, provider())
        .with_crls(crls)
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&files.cert)?, key(&files.key)?)?;
    Ok(Arc::new(config))
}

/// A gate's client side: the hub's certificate must come from the authority; the gate shows its
/// own. `cert`/`key` absent: no client certificate (only tests want that, to see it refused).
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(ca)?);
    let config = match identity {
        Some((cert, key_path)) => builder.with_client_auth_cert(certs(cert)?, key(key_path)?)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The common name of a certificate's subject (the gate id of a gate's certificate).
pub fn common_name(cert: &[u8]) -> Option<String> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial,
    //   signature, issuer, validity, subject, ... }, ... }
    let (_, cert_body, _) = der(cert)?;
    let (_, mut tbs, _) = der(cert_body)?;
    let mut fields = Vec::new();
    while !tbs.is_empty() && fields.len() < 7 {
        let (tag, body, rest) = der(tbs)?;
        fields.push((tag, body));
        tbs = rest;
    }
    let skip = usize::from(fields.first()?.0 == 0xa0);
    // serial, signature, issuer, validity, subject
    let (_, mut subject) = *fields.get(skip + 4)?;
    // Name ::= SEQUENCE OF SET OF AttributeTypeAndValue { type OID, value }
    while !subject.is_empty() {
        let (_, mut set, rest) = der(subject)?;
        subject = rest;
        while !set.is_empty() {
            let (_, atv, rest) = der(set)?;
            set = rest;
            let (tag, oid, value) = der(atv)?;
            if tag == 0x06 && oid == [0x55, 0x04, 0x03] {
                let (_, text, _) = der(value)?;
                return std::str::from_utf8(text).ok().map(str::to_owned);
            }
        }
    }
    None
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_id_is_read_from_the_certificate_and_garbage_gives_none() {
        let dir = tempfile::tempdir().unwrap();
        crate::infra::pki::init(dir.path(), "CA test", 10).unwrap();
        crate::infra::pki::issue_gate(
            dir.path(),
            "ligne-2",
            crate::infra::pki::Validity::days(1).unwrap(),
        )
        .unwrap();
        let cert = certs(&dir.path().join("gate-ligne-2.pem")).unwrap();
        assert_eq!(common_name(&cert[0]).as_deref(), Some("ligne-2"));
        let ca = certs(&dir.path().join("ca.pem")).unwrap();
        assert_eq!(common_name(&ca[0]).as_deref(), Some("CA test"));
        assert_eq!(common_name(&[]), None);
        assert_eq!(common_name(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        for cut in 0..cert[0].len() {
            let _ = common_name(&cert[0][..cut]);
        }
    }
}
