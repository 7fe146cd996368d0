//! `selfgate run`: the daemon, wired from its configuration.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use selfgate_hardware::sim::{LineReader, SimReader, SimTurnstile};
use selfgate_hardware::{Reader, Turnstile};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ReaderConfig, TurnstileConfig};
use crate::gate::{Gate, Hardware, Shared};
use crate::store::{Store, WriteOp, Writer};

/// Builds the hardware the configuration names.
pub fn hardware(config: &Config) -> anyhow::Result<Hardware> {
    let mut readers: Vec<Box<dyn Reader>> = Vec::new();
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
    };
    Ok(Hardware { readers, turnstile })
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

/// Binds the kiosk's listener and serves it until `shutdown`.
pub async fn serve_kiosk(
    listen: SocketAddr,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("while binding the kiosk to {listen}"))?;
    let addr = listener.local_addr()?;
    let app = selfgate_kiosk::router(shared);
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

/// Resolves on SIGTERM or Ctrl-C.
pub async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `selfgate run --config FILE`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (_store, writer, writer_thread, engine) = open(&config, clock.as_ref())?;
    let hw = hardware(&config)?;
    let persons = engine.roster().len();
    let shared = Shared::new(config.clone(), engine, clock);
    let gate = Gate::new(shared.clone(), writer);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut kiosk_stop = stop_rx.clone();
    let (addr, kiosk) = serve_kiosk(config.kiosk.listen, shared.clone(), async move {
        let _ = kiosk_stop.changed().await;
    })
    .await?;
    // The line tests and admins wait for.
    println!(
        "selfgate: ready, gate {} with {persons} persons, kiosk on http://{addr}/",
        config.gate.id
    );
    tracing::info!("ready");

    gate.run(hw, terminate_signal()).await;
    let _ = stop_tx.send(true);
    let _ = kiosk.await;
    // The writer ends when its last handle is dropped, after committing what was queued.
    drop(shared);
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    println!("selfgate: stopped");
    Ok(())
}
