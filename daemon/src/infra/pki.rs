//! `selfgate pki`: the site's own certificate authority for the hub and its gates, so that a
//! school sets up mutual TLS without openssl.
//!
//! A PKI directory holds:
//! - `ca.pem` (the authority's certificate, copied to every node) and `ca.key` (mode 600, stays
//!   on the machine that issues certificates);
//! - `hub.pem` / `hub.key`: the hub's server certificate, naming the host names and addresses
//!   the gates reach it by;
//! - `gate-ID.pem` / `gate-ID.key`: a gate's client certificate, its common name the gate id;
//! - `crl.pem`: the revocation list the hub checks (`pki revoke` re-signs it);
//! - `pki.json`: what was issued (serial, name, expiry) and revoked.
//!
//! Keys are ECDSA P-256, written with mode 600 (owner only).

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca.key";
pub const CRL: &str = "crl.pem";
const STATE: &str = "pki.json";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("{0} already holds an authority (ca.pem); refusing to replace it")]
    Exists(PathBuf),
    #[error("{0} holds no authority: run `selfgate pki init` first")]
    NoAuthority(PathBuf),
    #[error("{path}: {message}")]
    State { path: PathBuf, message: String },
    #[error("`{0}` is not a gate id (1-32 letters, digits, - or _)")]
    BadGateId(String),
    #[error("no certificate issued to `{0}`")]
    Unknown(String),
    #[error("--days must be between 1 and 36500")]
    Days,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the authority issued and revoked.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PkiState {
    /// The authority's common name (it signs under this name).
    pub ca_name: String,
    pub next_serial: u64,
    pub issued: Vec<Issued>,
    pub crl_number: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Issued {
    pub serial: u64,
    /// `hub` or the gate id.
    pub name: String,
    pub kind: String,
    pub not_after: String,
    pub revoked_at: Option<String>,
}

/// Writes `contents` to `path` readable by the owner only (created 600, never widened).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(contents).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn write_public(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    std::fs::write(path, contents).map_err(io(path))
}

fn load_state(dir: &Path) -> Result<PkiState, PkiError> {
    let path = dir.join(STATE);
    if !dir.join(CA_CERT).is_file() || !path.is_file() {
        return Err(PkiError::NoAuthority(dir.to_owned()));
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| PkiError::State {
        path,
        message: e.to_string(),
    })
}

fn save_state(dir: &Path, state: &PkiState) -> Result<(), PkiError> {
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    write_public(&dir.join(STATE), text.as_bytes())
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "selfgate");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.key_identifier_method = KeyIdMethod::Sha256;
    p
}

fn issuer(dir: &Path, state: &PkiState) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let key_path = dir.join(CA_KEY);
    crate::infra::secrets::check_secret_file(&key_path).map_err(|message| PkiError::State {
        path: key_path.clone(),
        message,
    })?;
    let pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
    let key = KeyPair::from_pem(&pem)?;
    Ok(Issuer::new(ca_params(&state.ca_name), key))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn days(n: u32) -> Result<time::Duration, PkiError> {
    if n == 0 || n > 36_500 {
        return Err(PkiError::Days);
    }
    Ok(time::Duration::days(i64::from(n)))
}

/// `selfgate pki init DIR`: a new authority named `name`, valid `valid_days`, and an empty
/// revocation list.
pub fn init(dir: &Path, name: &str, valid_days: u32) -> Result<(), PkiError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if dir.join(CA_CERT).exists() {
        return Err(PkiError::Exists(dir.to_owned()));
    }
    let mut params = ca_params(name);
    params.not_before = now() - time::Duration::minutes(5);
    params.not_after = now() + days(valid_days)?;
    params.serial_number = Some(SerialNumber::from_slice(&1u64.to_be_bytes()));
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    write_private(&dir.join(CA_KEY), key.serialize_pem().as_bytes())?;
    write_public(&dir.join(CA_CERT), cert.pem().as_bytes())?;
    let state = PkiState {
        ca_name: name.to_owned(),
        next_serial: 2,
        issued: Vec::new(),
        crl_number: 0,
    };
    write_crl(dir, state)
}

/// The validity of a new certificate.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From now (less five minutes of clock skew) for `n` days.
    pub fn days(n: u32) -> Result<Validity, PkiError> {
        Ok(Validity {
            not_before: now() - time::Duration::minutes(5),
            not_after: now() + days(n)?,
        })
    }
}

/// Issues the hub's server certificate for `names` (host names or IP addresses the gates use
/// in `sync.hub`). Writes `hub.pem` and `hub.key`.
pub fn issue_hub(dir: &Path, names: &[String], validity: Validity) -> Result<PathBuf, PkiError> {
    let sans: Vec<SanType> = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(n.as_str().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    issue(
        dir,
        "hub",
        "hub",
        sans,
        ExtendedKeyUsagePurpose::ServerAuth,
        validity,
    )
}

/// Issues gate `id`'s client certificate (common name: the gate id). Writes `gate-ID.pem` and
/// `gate-ID.key`.
pub fn issue_gate(dir: &Path, id: &str, validity: Validity) -> Result<PathBuf, PkiError> {
    if id.is_empty()
        || id.len() > 32
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(PkiError::BadGateId(id.to_owned()));
    }
    issue(
        dir,
        &format!("gate-{id}"),
        id,
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
        validity,
    )
}

fn issue(
    dir: &Path,
    file: &str,
    common_name: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
    validity: Validity,
) -> Result<PathBuf, PkiError> {
    let mut state = load_state(dir)?;
    let issuer = issuer(dir, &state)?;
    let serial = state.next_serial;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "selfgate");
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    let cert_path = dir.join(format!("{file}.pem"));
    write_private(
        &dir.join(format!("{file}.key")),
        key.serialize_pem().as_bytes(),
    )?;
    write_public(&cert_path, cert.pem().as_bytes())?;
    state.next_serial += 1;
    state.issued.push(Issued {
        serial,
        name: common_name.to_owned(),
        kind: if file == "hub" { "hub" } else { "gate" }.to_owned(),
        not_after: validity
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        revoked_at: None,
    });
    save_state(dir, &state)?;
    Ok(cert_path)
}

/// Revokes every certificate issued to `name` (a gate id, or `hub`) that is not revoked yet,
/// and signs a new `crl.pem`. Returns how many were revoked.
pub fn revoke(dir: &Path, name: &str) -> Result<usize, PkiError> {
    let mut state = load_state(dir)?;
    let stamp = now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut n = 0;
    for i in state.issued.iter_mut() {
        if i.name == name && i.revoked_at.is_none() {
            i.revoked_at = Some(stamp.clone());
            n += 1;
        }
    }
    if n == 0 {
        return Err(PkiError::Unknown(name.to_owned()));
    }
    write_crl(dir, state)?;
    Ok(n)
}

/// Signs the revocation list of `state` (a new CRL number each time) and saves both.
fn write_crl(dir: &Path, mut state: PkiState) -> Result<(), PkiError> {
    let issuer = issuer(dir, &state)?;
    state.crl_number += 1;
    let revoked = state
        .issued
        .iter()
        .filter(|i| i.revoked_at.is_some())
        .map(|i| RevokedCertParams {
            serial_number: SerialNumber::from_slice(&i.serial.to_be_bytes()),
            revocation_time: now() - time::Duration::seconds(1),
            reason_code: None,
            invalidity_date: None,
        })
        .collect();
    let params = CertificateRevocationListParams {
        this_update: now() - time::Duration::minutes(5),
        next_update: now() + time::Duration::days(3650),
        crl_number: SerialNumber::from_slice(&state.crl_number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;
    write_public(&dir.join(CRL), crl.pem()?.as_bytes())?;
    save_state(dir, &state)
}

/// What `selfgate pki list` prints: one line per certificate issued.
pub fn list(dir: &Path) -> Result<Vec<Issued>, PkiError> {
    Ok(load_state(dir)?.issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_private_and_revocation_lists_grow() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        init(d, "Collège Test", 3650).unwrap();
        assert!(matches!(init(d, "again", 10), Err(PkiError::Exists(_))));
        issue_hub(
            d,
            &["localhost".into(), "127.0.0.1".into()],
            Validity::days(30).unwrap(),
        )
        .unwrap();
        issue_gate(d, "ligne-1", Validity::days(30).unwrap()).unwrap();
        for key in ["ca.key", "hub.key", "gate-ligne-1.key"] {
            let mode = std::fs::metadata(d.join(key)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{key}");
        }
        assert!(matches!(
            issue_gate(d, "bad id", Validity::days(1).unwrap()),
            Err(PkiError::BadGateId(_))
        ));
        let before = std::fs::read_to_string(d.join(CRL)).unwrap();
        assert_eq!(revoke(d, "ligne-1").unwrap(), 1);
        assert!(matches!(revoke(d, "ligne-9"), Err(PkiError::Unknown(_))));
        let after = std::fs::read_to_string(d.join(CRL)).unwrap();
        assert_ne!(before, after);
        assert!(list(d).unwrap().iter().any(|i| i.revoked_at.is_some()));
    }
}
