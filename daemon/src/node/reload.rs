//! SIGHUP: the configuration read again, what can change live put in force between two reads,
//! what needs a restart kept and named.

use std::path::Path;

use crate::config::Config;
use crate::node::gate::Shared;
use crate::store::{Writer, describe_school};

/// SIGHUP, as a stream of reload requests (several pending requests make one reload). The
/// handler is installed here, before READY, so an early SIGHUP never kills the daemon.
pub fn reload_requests() -> std::io::Result<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}

/// Settings read once at start: a reload that changes them says so and leaves them.
fn keep_restart_settings(current: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut restart = Vec::new();
    if new.gate.id != current.gate.id {
        restart.push("gate.id");
        new.gate.id = current.gate.id.clone();
    }
    if new.gate.readers != current.gate.readers {
        restart.push("gate.readers");
        new.gate.readers = current.gate.readers.clone();
    }
    if new.gate.turnstile != current.gate.turnstile {
        restart.push("gate.turnstile");
        new.gate.turnstile = current.gate.turnstile.clone();
    }
    if new.kiosk.listen != current.kiosk.listen {
        restart.push("kiosk.listen");
        new.kiosk.listen = current.kiosk.listen;
    }
    if new.kiosk.tls_cert != current.kiosk.tls_cert || new.kiosk.tls_key != current.kiosk.tls_key {
        restart.push("kiosk.tls_cert/tls_key");
        new.kiosk.tls_cert = current.kiosk.tls_cert.clone();
        new.kiosk.tls_key = current.kiosk.tls_key.clone();
    }
    if new.data_dir != current.data_dir {
        restart.push("store.data_dir");
        new.data_dir = current.data_dir.clone();
    }
    if new.metrics != current.metrics {
        restart.push("metrics");
        new.metrics = current.metrics.clone();
    }
    // The log level applies live (unless SELFGATE_LOG overrides it).
    if new.log != current.log {
        crate::infra::logs::use_config(&new.log);
    }
    if new.rules.timezone != current.rules.timezone {
        // The school day of the anti-passback state in memory is a local date.
        restart.push("school.timezone");
        new.rules.timezone = current.rules.timezone;
    }
    // Services are numbered by position, and the anti-passback state and the journal keep
    // the numbers: a service that moves would take another's state. Closures, tariffs and
    // régimes name services by these numbers too, so they stay with them.
    let moved = current.rules.services.iter().any(|old| {
        new.rules
            .service_by_code(&old.code)
            .is_some_and(|s| s.id != old.id)
    });
    if moved {
        restart.push("services (an existing service changed position; closures, tariffs and régimes kept with them)");
        new.rules.services = current.rules.services.clone();
        new.rules.closures = current.rules.closures.clone();
        new.rules.tariffs = current.rules.tariffs.clone();
        new.regimes = current.regimes;
    }
    restart
}

/// What a reload changed that takes effect now.
fn live_changes(current: &Config, new: &Config) -> Vec<&'static str> {
    let (a, b) = (&current.rules, &new.rules);
    let mut changed = Vec::new();
    for (key, differs) in [
        ("services", a.services != b.services),
        ("closures", a.closures != b.closures),
        ("tariffs", a.tariffs != b.tariffs),
        (
            "school.ticket_fallback",
            a.ticket_fallback != b.ticket_fallback,
        ),
        ("school.debounce_ms", a.debounce_ms != b.debounce_ms),
        ("gate.pulse_ms", current.gate.pulse_ms != new.gate.pulse_ms),
        (
            "gate.passage_timeout_ms",
            current.gate.passage_timeout_ms != new.gate.passage_timeout_ms,
        ),
        ("school.name", current.school.name != new.school.name),
    ] {
        if differs {
            changed.push(key);
        }
    }
    changed
}

/// SIGHUP: reads `path` again and puts in force what can change live (services, closures,
/// tariffs, ticket fallback, debounce, pulse length, school name). Settings that need a restart
/// (readers, turnstile, kiosk address, data directory, gate id, time zone) are logged and left
/// as they are; an invalid file changes nothing. Returns a status line for systemd.
pub fn reload(shared: &Shared, path: &Path, writer: &Writer) -> String {
    let mut new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("configuration not reloaded, nothing changed:\n{e}");
            return format!(
                "configuration {} not reloaded: {} error(s), previous one in force",
                path.display(),
                e.errors.len()
            );
        }
    };
    let current = shared.config();
    for key in keep_restart_settings(&current, &mut new) {
        tracing::warn!(
            "reload of {}: {key} changed and needs a restart; left unchanged",
            path.display()
        );
    }
    let changed = live_changes(&current, &new);
    let codes =
        |c: &Config| -> Vec<String> { c.rules.services.iter().map(|s| s.code.clone()).collect() };
    let codes_changed = codes(&current) != codes(&new);
    let describe = codes_changed.then(|| describe_school(&new));
    shared.set_config(new);
    if let Some(op) = describe {
        // `selfgate journal` names services from this record.
        let writer = writer.clone();
        tokio::spawn(async move {
            if let Err(e) = writer.submit(vec![op]).await {
                tracing::error!("cannot record the reloaded services: {e}");
            }
        });
    }
    let what = if changed.is_empty() {
        "nothing that applies live changed".to_owned()
    } else {
        changed.join(", ")
    };
    tracing::info!("configuration reloaded from {}: {what}", path.display());
    format!("configuration reloaded: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "[school]\ntimezone = \"UTC\"\n[gate]\nid = \"ligne-1\"\npulse_ms = 300\n\
        [[services]]\ncode = \"dejeuner\"\nstart = \"11:00\"\nend = \"14:00\"\n\
        [[services]]\ncode = \"diner\"\nstart = \"18:00\"\nend = \"20:00\"\n";

    #[test]
    fn live_settings_apply_and_restart_settings_stay() {
        let current = parse(BASE);
        let mut new = parse(
            &(BASE
                .replace("\"14:00\"", "\"13:30\"")
                .replace("pulse_ms = 300", "pulse_ms = 500")
                .replace("\"ligne-1\"", "\"ligne-2\"")
                .replace("\"UTC\"", "\"Europe/Paris\"")
                + "[kiosk]\nlisten = \"0.0.0.0:9000\"\n"),
        );
        let restart = keep_restart_settings(&current, &mut new);
        assert_eq!(restart, ["gate.id", "kiosk.listen", "school.timezone"]);
        assert_eq!(new.gate.id, "ligne-1");
        assert_eq!(new.kiosk.listen, current.kiosk.listen);
        assert_eq!(new.rules.timezone, chrono_tz::UTC);
        assert_eq!(live_changes(&current, &new), ["services", "gate.pulse_ms"]);
        assert_eq!(
            new.rules.services[0].end.format("%H:%M").to_string(),
            "13:30"
        );
    }

    #[test]
    fn services_that_change_position_keep_the_old_rules() {
        let current = parse(BASE);
        // `diner` moves to the first place.
        let mut new = parse(
            "[school]\ntimezone = \"UTC\"\n[gate]\nid = \"ligne-1\"\npulse_ms = 300\n\
             [[services]]\ncode = \"diner\"\nstart = \"18:00\"\nend = \"20:00\"\n\
             [[services]]\ncode = \"dejeuner\"\nstart = \"11:00\"\nend = \"14:00\"\n",
        );
        let restart = keep_restart_settings(&current, &mut new);
        assert_eq!(restart.len(), 1, "{restart:?}");
        assert!(restart[0].starts_with("services"));
        assert_eq!(new.rules.services, current.rules.services);
        assert!(live_changes(&current, &new).is_empty());
        // Adding a service at the end moves nobody.
        let mut added = parse(
            &(BASE.to_owned()
                + "[[services]]\ncode = \"gouter\"\nstart = \"16:00\"\nend = \"16:30\"\n"),
        );
        assert!(keep_restart_settings(&current, &mut added).is_empty());
        assert_eq!(added.rules.services.len(), 3);
    }
}
