//! `[sync]`: the part a node plays (standalone, gate, hub), its hub and its TLS files.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Most events a gate sends in one batch (and the hub accepts).
pub const MAX_BATCH: usize = 10_000;

/// The files a node's TLS is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The hub's revocation list (`selfgate pki revoke` writes it).
    pub crl: Option<PathBuf>,
}

/// Which part a node plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Standalone,
    Gate,
    Hub,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::Gate => "gate",
            Role::Hub => "hub",
        }
    }
}

/// `[sync]`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    pub role: Role,
    /// A gate's hub: host (name or address, as its certificate names it) and port.
    pub hub: Option<(String, u16)>,
    /// Where a hub listens for its gates.
    pub listen: SocketAddr,
    pub tls: TlsFiles,
    /// Most events per batch up.
    pub batch: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            role: Role::Standalone,
            hub: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            tls: TlsFiles {
                ca: PathBuf::from("/etc/selfgate/pki/ca.pem"),
                cert: PathBuf::new(),
                key: PathBuf::new(),
                crl: None,
            },
            batch: 2000,
        }
    }
}

/// `[sync]` as written in the file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSync {
    role: Option<String>,
    hub: Option<String>,
    listen: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    crl: Option<String>,
    batch: Option<usize>,
}

/// Validates `[sync]`; each error goes to `err(key, message)`.
pub(crate) fn validate(raw: RawSync, err: &mut dyn FnMut(&str, String)) -> Option<SyncConfig> {
    let mut c = SyncConfig::default();
    let mut ok = true;
    let mut fail = |key: &str, msg: String| {
        err(key, msg);
        ok = false;
    };
    c.role = match raw.role.as_deref().unwrap_or("standalone") {
        "standalone" => Role::Standalone,
        "gate" => Role::Gate,
        "hub" => Role::Hub,
        other => {
            fail(
                "sync.role",
                format!("`{other}` is not standalone, gate or hub"),
            );
            Role::Standalone
        }
    };
    if let Some(url) = &raw.hub {
        match parse_hub_url(url) {
            Ok(h) => c.hub = Some(h),
            Err(m) => fail("sync.hub", m),
        }
    } else if c.role == Role::Gate {
        fail(
            "sync.hub",
            "is required with role = \"gate\" (e.g. \"https://hub.college.lan:8443\")".into(),
        );
    }
    if let Some(l) = &raw.listen {
        match l.parse() {
            Ok(a) => c.listen = a,
            Err(_) => fail(
                "sync.listen",
                format!("`{l}` is not an address such as 0.0.0.0:8443"),
            ),
        }
    }
    if let Some(ca) = raw.ca {
        c.tls.ca = PathBuf::from(ca);
    }
    c.tls.crl = raw.crl.map(PathBuf::from);
    match (raw.cert, raw.key) {
        (Some(cert), Some(key)) => {
            c.tls.cert = PathBuf::from(cert);
            c.tls.key = PathBuf::from(key);
        }
        (None, None) if c.role == Role::Standalone => {}
        (None, None) => {
            fail(
                "sync.cert",
                format!(
                    "is required with role = \"{}\" (made by `selfgate pki issue-{}`)",
                    c.role.code(),
                    c.role.code()
                ),
            );
        }
        (Some(_), None) => fail("sync.key", "is required with sync.cert".into()),
        (None, Some(_)) => fail("sync.cert", "is required with sync.key".into()),
    }
    if let Some(b) = raw.batch {
        if (1..=MAX_BATCH).contains(&b) {
            c.batch = b;
        } else {
            fail("sync.batch", format!("must be between 1 and {}", MAX_BATCH));
        }
    }
    ok.then_some(c)
}

/// `https://HOST:PORT` (port 8443 when absent).
pub fn parse_hub_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .trim()
        .strip_prefix("https://")
        .ok_or_else(|| format!("`{url}` must start with https://"))?
        .trim_end_matches('/');
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, p) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed ["))?;
        (h.to_owned(), p.strip_prefix(':').unwrap_or(""))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p),
            None => (rest.to_owned(), ""),
        }
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("`{url}` is not https://HOST:PORT"));
    }
    let port = if port.is_empty() {
        8443
    } else {
        port.parse()
            .map_err(|_| format!("`{url}`: `{port}` is not a port number"))?
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_errors as errors;

    #[test]
    fn sync_settings_are_checked_and_errors_name_the_key() {
        let c = crate::config::Config::parse("", "t.toml").unwrap();
        assert_eq!(c.sync.role, Role::Standalone);
        let e = errors("[sync]\nrole = \"gate\"\n");
        assert!(e.iter().any(|m| m.starts_with("sync.hub")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("sync.cert")), "{e:?}");
        let e = errors("[sync]\nrole = \"centrale\"\n");
        assert!(
            e.iter()
                .any(|m| m.contains("sync.role") && m.contains("centrale")),
            "{e:?}"
        );
        let e = errors("[sync]\nrole = \"hub\"\nlisten = \"ici\"\ncert = \"a\"\n");
        assert!(e.iter().any(|m| m.starts_with("sync.listen")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("sync.key")), "{e:?}");
        assert!(!errors("[sync]\nrle = \"hub\"\n").is_empty());
        let ok = crate::config::Config::parse(
            "[sync]\nrole = \"gate\"\nhub = \"https://10.0.0.1:9443\"\ncert = \"g.pem\"\n\
             key = \"g.key\"\nbatch = 50\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(ok.sync.hub, Some(("10.0.0.1".into(), 9443)));
        assert_eq!(ok.sync.batch, 50);
    }

    #[test]
    fn hub_urls_parse_with_their_port() {
        assert_eq!(
            parse_hub_url("https://hub.lan:9443/").unwrap(),
            ("hub.lan".into(), 9443)
        );
        assert_eq!(
            parse_hub_url("https://10.0.0.2").unwrap(),
            ("10.0.0.2".into(), 8443)
        );
        assert_eq!(parse_hub_url("https://[::1]:7").unwrap(), ("::1".into(), 7));
        assert!(parse_hub_url("http://hub").is_err());
        assert!(parse_hub_url("https://hub:port").is_err());
        assert!(parse_hub_url("https://").is_err());
    }
}
