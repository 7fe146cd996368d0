//! `[kiosk]`, `[metrics]` and `[log]`: where the kiosk listens, who may read `/metrics`, and
//! how much the logs say; each validated here, every error naming its key.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Validator, net};

#[derive(Clone, Debug)]
pub struct KioskConfig {
    pub listen: SocketAddr,
    /// `kiosk.tls_cert` / `kiosk.tls_key`: PEM files; the kiosk is served over TLS when set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[metrics]`: the Prometheus page, `GET /metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub listen: MetricsListen,
    /// Client networks allowed to read the page; others get 403.
    pub allow: Vec<net::Cidr>,
}

/// Where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsListen {
    /// On the kiosk's listener.
    Kiosk,
    /// On a listener of its own.
    Addr(SocketAddr),
}

/// `[log]`: the level of the logs on stderr when `SELFGATE_LOG` is unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub level: tracing::level_filters::LevelFilter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawKiosk {
    pub(super) listen: String,
    pub(super) tls_cert: Option<String>,
    pub(super) tls_key: Option<String>,
}

impl Default for RawKiosk {
    fn default() -> Self {
        RawKiosk {
            listen: "127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMetrics {
    pub(super) enabled: bool,
    pub(super) listen: String,
    pub(super) allow: Vec<String>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            enabled: true,
            listen: "kiosk".into(),
            allow: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    pub(super) level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            level: "info".into(),
        }
    }
}

impl Validator {
    pub(super) fn metrics(
        &mut self,
        raw: RawMetrics,
        kiosk: Option<SocketAddr>,
    ) -> Option<MetricsConfig> {
        let text = raw.listen.trim();
        let listen = if text == "kiosk" {
            Some(MetricsListen::Kiosk)
        } else {
            match text.parse::<SocketAddr>() {
                Ok(a) if Some(a) == kiosk && a.port() != 0 => {
                    self.err(
                        "metrics.listen",
                        format!("`{text}` is the kiosk's address: write \"kiosk\" to share it"),
                    );
                    None
                }
                Ok(a) => Some(MetricsListen::Addr(a)),
                Err(_) => {
                    self.err(
                        "metrics.listen",
                        format!(
                            "`{text}` is neither \"kiosk\" nor an address such as 127.0.0.1:9101"
                        ),
                    );
                    None
                }
            }
        };
        let mut allow = Vec::new();
        for (i, net) in raw.allow.iter().enumerate() {
            match net.parse::<net::Cidr>() {
                Ok(n) => allow.push(n),
                Err(e) => self.err(&format!("metrics.allow[{i}]"), e),
            }
        }
        if raw.enabled && raw.allow.is_empty() {
            self.err(
                "metrics.allow",
                "is empty: no client could read /metrics (set enabled = false to turn it off)",
            );
        }
        Some(MetricsConfig {
            enabled: raw.enabled,
            listen: listen?,
            allow,
        })
    }

    pub(super) fn log(&mut self, raw: &RawLog) -> LogConfig {
        use tracing::level_filters::LevelFilter;
        let level = match raw.level.trim().to_ascii_lowercase().as_str() {
            "off" => LevelFilter::OFF,
            "error" => LevelFilter::ERROR,
            "warn" => LevelFilter::WARN,
            "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            "trace" => LevelFilter::TRACE,
            _ => {
                self.err(
                    "log.level",
                    format!(
                        "`{}` is not a level (error, warn, info, debug, trace or off)",
                        raw.level
                    ),
                );
                LevelFilter::INFO
            }
        };
        LogConfig { level }
    }
}
