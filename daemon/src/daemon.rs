//! `selfgate run`: the daemon, wired from its configuration.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use selfgate_hardware::sim::{LineReader, SimReader, SimTurnstile};
use selfgate_hardware::{Reader, Turnstile};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ReaderConfig, TurnstileConfig};
use crate::gate::{Gate, Hardware, Hook, Shared, Supervision};
use crate::notify;
use crate::store::{Store, WriteOp, Writer};

/// Builds the hardware the configuration names.
pub fn hardware(config: &Config) -> anyhow::Result<Hardware> {
    let mut readers: Vec<Box<dyn Reader>> = Vec::new();
    // OSDP readers sharing a device are one RS-485 bus (multi-drop).
    let mut buses = std::collections::HashMap::new();
    for r in &config.gate.readers {
        match r {
            ReaderConfig::Line { name, path } => {
                readers.push(Box::new(LineReader::new(name.clone(), path.clone())))
            }
            ReaderConfig::Simulated { name } => {
                // Nobody holds the handle in `run`: the reader stays silent.
                let (reader, _handle) = SimReader::new(name.clone());
                readers.push(Box::new(reader));
            }
            other => readers.push(
                real_reader(other, &mut buses)
                    .with_context(|| format!("while setting up reader {}", other.name()))?,
            ),
        }
    }
    let turnstile: Arc<dyn Turnstile> = match &config.gate.turnstile {
        TurnstileConfig::Simulated { pulse_log } => {
            let (t, _handle) = SimTurnstile::new(
                format!("{}-tourniquet", config.gate.id),
                pulse_log.clone(),
                true,
            )
            .context("while opening the simulated turnstile's pulse log")?;
            Arc::new(t)
        }
        other => real_turnstile(&format!("{}-tourniquet", config.gate.id), other)
            .context("while setting up the turnstile")?,
    };
    Ok(Hardware { readers, turnstile })
}

/// A hardware reader (drivers in `selfgate-hardware`, wiring in `hardware/README.md`). Devices
/// are opened when the reader runs: one missing at start is reported offline and retried.
fn real_reader(
    r: &ReaderConfig,
    buses: &mut std::collections::HashMap<PathBuf, selfgate_hardware::osdp::OsdpBus>,
) -> anyhow::Result<Box<dyn Reader>> {
    use selfgate_hardware::{em4100, osdp, wedge, wiegand};
    Ok(match r {
        ReaderConfig::Em4100 { name, device, baud } => Box::new(em4100::Em4100Reader::new(
            name.clone(),
            device.clone(),
            *baud,
        )),
        ReaderConfig::UsbWedge {
            name,
            device,
            layout,
        } => Box::new(wedge::WedgeReader::new(
            name.clone(),
            device.clone(),
            *layout,
        )),
        ReaderConfig::Wiegand {
            name,
            chip,
            d0_line,
            d1_line,
        } => Box::new(wiegand::WiegandReader::gpio(
            name.clone(),
            chip,
            *d0_line,
            *d1_line,
        )),
        ReaderConfig::Osdp {
            name,
            device,
            baud,
            address,
            secure,
            key_file,
            install_mode,
            relay_output,
        } => {
            let mut settings = osdp::OsdpSettings::new(device.clone(), *baud, *address);
            settings.relay_output = *relay_output;
            if let (true, Some(path)) = (secure, key_file) {
                // Checked at load (32 hex digits, mode 600); read again as it may have changed.
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("while reading {}", path.display()))?;
                settings.scbk = Some(
                    osdp::parse_scbk(&text)
                        .with_context(|| format!("{} is not 32 hex digits", path.display()))?,
                );
                settings.install_mode = *install_mode;
            }
            let bus = buses
                .entry(device.clone())
                .or_insert_with(|| osdp::OsdpBus::new(device.clone(), *baud));
            Box::new(osdp::OsdpReader::on_bus(name.clone(), settings, bus))
        }
        ReaderConfig::Line { .. } | ReaderConfig::Simulated { .. } => {
            anyhow::bail!("not a hardware reader")
        }
    })
}

/// A hardware turnstile: the relay is requested (and released) at once, so a wrong chip or
/// line stops the start with a clear message.
fn real_turnstile(name: &str, t: &TurnstileConfig) -> anyhow::Result<Arc<dyn Turnstile>> {
    use selfgate_hardware::gpio::{CdevInputs, CdevRelay, GpioTurnstile, InputSource, RelayLine};
    let consumer = format!("selfgate-{name}");
    let inputs = |chip: &str, pd: Option<u32>, em: Option<u32>| -> anyhow::Result<_> {
        Ok(if pd.is_some() || em.is_some() {
            Some(Box::new(
                CdevInputs::open(chip, pd, em, &consumer)
                    .with_context(|| format!("while requesting the turnstile inputs on {chip}"))?,
            ) as Box<dyn InputSource>)
        } else {
            None
        })
    };
    let (relay, inputs): (Arc<dyn RelayLine>, _) = match t {
        TurnstileConfig::Gpio {
            chip,
            relay_line,
            active_low,
            passage_done_line,
            emergency_line,
        } => (
            Arc::new(
                CdevRelay::open(chip, *relay_line, *active_low, &consumer).with_context(|| {
                    format!("while requesting the relay on {chip} line {relay_line}")
                })?,
            ),
            inputs(chip, *passage_done_line, *emergency_line)?,
        ),
        #[cfg(feature = "rpi")]
        TurnstileConfig::Rpi {
            relay_pin,
            active_low,
            chip,
            passage_done_line,
            emergency_line,
        } => (
            Arc::new(
                selfgate_hardware::gpio::rpi::RpiRelay::open(
                    u8::try_from(*relay_pin).context("relay_pin is not a BCM number")?,
                    *active_low,
                )
                .with_context(|| format!("while requesting BCM GPIO {relay_pin}"))?,
            ),
            inputs(chip, *passage_done_line, *emergency_line)?,
        ),
        #[cfg(not(feature = "rpi"))]
        TurnstileConfig::Rpi { .. } => anyhow::bail!(
            "this selfgate was built without the `rpi` feature: use kind = \"gpio\" (the GPIO \
             character device works on a Raspberry Pi too) or rebuild with --features rpi"
        ),
        TurnstileConfig::Simulated { .. } => anyhow::bail!("not a hardware turnstile"),
    };
    Ok(Arc::new(GpioTurnstile::new(name, relay, inputs)?))
}

/// Records the service codes and time zone in the store, so that `selfgate journal` can name
/// services without the configuration file.
pub fn describe_school(config: &Config) -> WriteOp {
    let codes: Vec<&str> = config
        .rules
        .services
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    let value = serde_json::json!({ "services": codes, "timezone": config.rules.timezone.name() });
    WriteOp::SetMeta {
        key: "school".into(),
        value: value.to_string().into_bytes(),
    }
}

/// Opens the store, loads the engine and starts the writer thread.
pub fn open(
    config: &Config,
    clock: &dyn Clock,
) -> anyhow::Result<(
    Store,
    crate::store::Writer,
    std::thread::JoinHandle<()>,
    selfgate_rules::Engine,
)> {
    let store = Store::open(&config.data_dir)?;
    store.write_now(&[describe_school(config)])?;
    let today = clock
        .now()
        .with_timezone(&config.rules.timezone)
        .date_naive();
    let engine = store
        .load_engine(config.rules.clone(), today)
        .context("while loading the roster from the store")?;
    let (writer, thread) = Writer::spawn(store.clone())?;
    Ok((store, writer, thread, engine))
}

/// Binds the kiosk's listener and serves it until `shutdown` (over TLS when `kiosk.tls_cert`
/// and `kiosk.tls_key` are set). Staff actions go through `gate`; reports read `store`.
pub async fn serve_kiosk(
    listen: SocketAddr,
    gate: crate::gate::GateHandle,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let shared = gate.shared().clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("while binding the kiosk to {listen}"))?;
    let addr = listener.local_addr()?;
    let config = shared.config();
    let tls = crate::kiosk_tls::load(&config.kiosk)?;
    let backend = crate::kiosk_source::KioskBackend::start(gate, store);
    // One stop signal for the server and for its event streams, which never end by themselves.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stopped = stop_rx.clone();
    let shutdown = async move {
        while !*stopped.borrow_and_update() {
            if stopped.changed().await.is_err() {
                return;
            }
        }
    };
    let options = selfgate_kiosk::KioskOptions {
        accounts: config
            .data_dir
            .join(selfgate_kiosk::accounts::ACCOUNTS_FILE),
        tls: tls.is_some(),
        stop: Some(stop_rx),
    };
    let mut app = selfgate_kiosk::router(backend, options);
    if let Some(metrics) = crate::metrics::kiosk_routes(&config.metrics) {
        app = app.merge(metrics);
    }
    if let Some(tls) = tls {
        let task = tokio::spawn(crate::kiosk_tls::serve(listener, tls, app, shutdown));
        return Ok((addr, task));
    }
    // The client's address is needed by `/metrics` (allowed networks).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("kiosk server stopped: {e}");
        }
    });
    Ok((addr, task))
}

fn config_dir_socket(shared: &Shared) -> PathBuf {
    shared.config().data_dir.join(crate::backup::CONTROL_SOCKET)
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled: call it before announcing readiness, so that a SIGTERM sent right
/// after the ready line stops the daemon cleanly instead of killing it.
pub fn terminate_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                tracing::warn!("cannot install the SIGTERM/SIGINT handlers; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Test hook, read once at start: the decision loop blocks for good this many milliseconds
/// after the gate is ready, so that tests can see the watchdog pings stop. Not for production.
pub const FAULT_STALL_LOOP_AFTER_MS: &str = "SELFGATE_FAULT_STALL_LOOP_AFTER_MS";

/// `selfgate run --config FILE`: `config` is the file at `config_path`, read again on SIGHUP.
///
/// Under systemd (`Type=notify`): `READY=1` once the store is loaded, the readers started and
/// the kiosk listening; `WATCHDOG=1` from the decision loop; `RELOADING=1` … `READY=1` around
/// a reload; `STOPPING=1` on SIGTERM.
pub async fn run(config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, writer, writer_thread, engine) = open(&config, clock.as_ref())?;
    let hw = hardware(&config)?;
    let persons = engine.roster().len();
    if config.metrics.enabled {
        crate::metrics::started(persons, store.event_count()?);
    }
    let shared = Shared::new(config.clone(), engine, clock);
    let mut gate = Gate::new(shared.clone(), writer.clone());
    // Backups through the running daemon, and the retention purge on its schedule.
    let sync_store = store.clone();
    let kiosk_store = store.clone();
    // The scheduled data exchanges, also run by hand through the control socket.
    let exchanges = crate::exchange::Exchanges::for_daemon(gate.handle(), store.clone());
    let exchange_task = tokio::spawn(exchanges.clone().scheduled(Duration::from_secs(1)));
    let control = tokio::spawn(crate::backup::serve_control_with(
        store,
        config.data_dir.clone(),
        Some(exchanges),
    ));
    let purge = tokio::spawn(crate::retention::scheduled(shared.clone(), writer.clone()));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut kiosk_stop = stop_rx.clone();
    let (addr, kiosk) = serve_kiosk(
        config.kiosk.listen,
        gate.handle(),
        kiosk_store,
        async move {
            let _ = kiosk_stop.changed().await;
        },
    )
    .await?;
    let mut metrics_stop = stop_rx.clone();
    let metrics = crate::metrics::serve(&config.metrics, addr, async move {
        let _ = metrics_stop.changed().await;
    })
    .await?;
    let metrics_url = metrics.url.clone();
    let mut sync_stop = stop_rx.clone();
    let sync = crate::sync::start(&config, &sync_store, gate.handle(), async move {
        let _ = sync_stop.changed().await;
    })
    .await?;

    let gate_id = config.gate.id.clone();
    let on_ready = move || {
        // The line tests and admins wait for.
        println!("selfgate: ready, gate {gate_id} with {persons} persons, kiosk on http://{addr}/");
        if let Some(url) = &metrics_url {
            println!("selfgate: metrics on {url}");
        }
        tracing::info!("ready");
        notify::ready();
        notify::status(&format!(
            "gate {gate_id}: {persons} persons, kiosk on {addr}"
        ));
    };
    let reloads = reload_requests()?;
    let on_reload = {
        let shared = shared.clone();
        let writer = writer.clone();
        move || {
            notify::reloading();
            let status = reload(&shared, &config_path, &writer);
            notify::ready();
            notify::status(&status);
        }
    };
    let stall_after = std::env::var(FAULT_STALL_LOOP_AFTER_MS)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    if let Some(after) = stall_after {
        tracing::warn!("{FAULT_STALL_LOOP_AFTER_MS}: the decision loop will block after {after:?}");
    }
    gate.supervise(Supervision {
        on_ready: Some(Box::new(on_ready)),
        watchdog: notify::watchdog_interval().map(|i| (i, Box::new(notify::watchdog) as Hook)),
        reload: Some((reloads, Box::new(on_reload))),
        stall_after,
    });
    drop(writer);

    let terminated = terminate_signal();
    gate.run(hw, async {
        terminated.await;
        notify::stopping();
    })
    .await;
    let _ = stop_tx.send(true);
    let _ = kiosk.await;
    if let Some(sync) = sync {
        let _ = sync.await;
    }
    metrics.join().await;
    control.abort();
    purge.abort();
    exchange_task.abort();
    let _ = (control.await, purge.await, exchange_task.await);
    let _ = std::fs::remove_file(config_dir_socket(&shared));
    // The writer ends when its last handle is dropped, after committing what was queued.
    drop(shared);
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    println!("selfgate: stopped");
    Ok(())
}

/// SIGHUP, as a stream of reload requests (several pending requests make one reload). The
/// handler is installed here, before READY, so an early SIGHUP never kills the daemon.
fn reload_requests() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup =
            signal(SignalKind::hangup()).context("while installing the SIGHUP handler")?;
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
        crate::logs::use_config(&new.log);
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
mod reload_tests {
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
