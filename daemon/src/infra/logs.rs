//! The logs: `tracing` to stderr, which journald keeps when selfgate runs as a service.
//!
//! Levels: `error` when something is lost or stops, `warn` for a problem the gate works around
//! (a reader offline, a failed commit refused as not recorded, a refused reload), `info` for
//! the daemon's life (ready, stopping), `debug` for one line per decision. No pupil's name at
//! `info` or above, anywhere: decisions carry the person's id number only, at `debug`.
//!
//! The filter is `SELFGATE_LOG` (an `EnvFilter`: `debug`, `selfgate=debug,warn`…) when set;
//! otherwise `warn` for the commands, and `[log] level` of the configuration for
//! `selfgate run` ([`use_config`]).

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::config::LogConfig;

/// The environment variable that overrides every other setting.
pub const ENV: &str = "SELFGATE_LOG";

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the subscriber: `SELFGATE_LOG`, or `warn` until [`use_config`] says otherwise.
/// Colours only on a terminal; no timestamps of our own under journald, which stamps lines.
pub fn init() {
    let filter = EnvFilter::try_from_env(ENV).unwrap_or_else(|_| EnvFilter::new("warn"));
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = if std::env::var_os("JOURNAL_STREAM").is_some() {
        registry.with(fmt.without_time()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
    if installed.is_ok() {
        let _ = FILTER.set(handle);
    }
}

/// Applies `[log] level` unless `SELFGATE_LOG` is set.
pub fn use_config(log: &LogConfig) {
    if std::env::var_os(ENV).is_some() {
        return;
    }
    if let Some(handle) = FILTER.get() {
        if let Err(e) = handle.reload(EnvFilter::new(log.level.to_string())) {
            tracing::warn!("cannot apply [log] level = {}: {e}", log.level);
        }
    }
}

/// A warning that may come in floods (a scan of the hub's port, a client retrying a bad
/// certificate): at most one line per `every`, the next one saying how many were left out.
pub struct Throttled {
    every: std::time::Duration,
    state: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl Throttled {
    pub const fn new(every: std::time::Duration) -> Throttled {
        Throttled {
            every,
            state: std::sync::Mutex::new((None, 0)),
        }
    }

    /// `Some(left out since the last line)` when a line may be written now, else `None`
    /// (and this one is counted).
    pub fn allow(&self) -> Option<u64> {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if s.0
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            s.1 += 1;
            return None;
        }
        let skipped = s.1;
        *s = (Some(now), 0);
        Some(skipped)
    }
}

/// The decision line, at `debug`: gate, journal number (`-` when not recorded), service code,
/// verdict, reason and the person's id number — never a name.
pub fn decision(
    config: &crate::config::Config,
    gate: &str,
    seq: Option<u64>,
    p: &selfgate_rules::journal::Passage,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let service = p
        .service
        .and_then(|s| config.rules.service(s))
        .map_or("-", |s| s.code.as_str());
    let seq = seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let person = p
        .person
        .map_or_else(|| "-".to_owned(), |id| id.0.to_string());
    tracing::debug!(
        gate = %gate,
        seq = %seq,
        service = %service,
        verdict = %p.verdict.code(),
        reason = %p.reason.code(),
        person = %person,
        "decision"
    );
}

/// A reader reported its status: offline is a problem (`warn`), back online is news (`info`).
pub fn reader_status(reader: &str, online: bool) {
    if online {
        tracing::info!("reader {reader} online");
    } else {
        tracing::warn!("reader {reader} offline");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_warnings_makes_one_line_then_says_how_many_were_left_out() {
        let t = Throttled::new(std::time::Duration::from_millis(200));
        assert_eq!(t.allow(), Some(0));
        for _ in 0..50 {
            assert_eq!(t.allow(), None);
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert_eq!(t.allow(), Some(50));
        assert_eq!(t.allow(), None);
    }
}
