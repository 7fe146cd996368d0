//! `selfgate run --config FILE`: the daemon.
//!
//! Under systemd (`Type=notify`): `READY=1` once the store is loaded, the readers started and
//! the kiosk listening; `WATCHDOG=1` from the decision loop; `RELOADING=1` … `READY=1` around
//! a reload (SIGHUP reads `FILE` again); `STOPPING=1` on SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::words::{Msg, text};
use crate::config::Config;
use crate::infra::clock::{Clock, ScaledClock, SystemClock};
use crate::infra::notify;
use crate::node::gate::{Hook, Supervision};
use crate::node::{FAULT_STALL_LOOP_AFTER_MS, Node, NodeSpec, hardware};

/// Test hook: the daemon's clock starts at this RFC 3339 instant and runs at real speed (a test
/// runs a school week day after day; the gates' decisions and the régie's receipts follow it).
pub const TEST_CLOCK_START: &str = "SELFGATE_TEST_CLOCK_START";

pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    crate::infra::logs::use_config(&config.log);
    super::block_on(daemon(config, path))?;
    Ok(ExitCode::SUCCESS)
}

async fn daemon(config: Config, path: &Path) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = match std::env::var(TEST_CLOCK_START)
        .ok()
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(v.trim()).ok())
    {
        Some(start) => {
            tracing::warn!("{TEST_CLOCK_START}: the daemon's clock starts at {start}");
            Arc::new(ScaledClock::new(start.to_utc(), 1.0))
        }
        None => Arc::new(SystemClock),
    };
    let hw = hardware::hardware(&config)?;
    let stall_after = std::env::var(FAULT_STALL_LOOP_AFTER_MS)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    if let Some(after) = stall_after {
        tracing::warn!("{FAULT_STALL_LOOP_AFTER_MS}: the decision loop will block after {after:?}");
    }
    // Installed before READY, so that a SIGTERM sent right after it stops the daemon cleanly.
    let terminated = crate::infra::signals::terminate_signal();
    let gate_id = config.gate.id.clone();
    let mut spec = NodeSpec::new(config, clock, hw);
    spec.reload_from = Some(path.to_owned());
    spec.supervision = Supervision {
        watchdog: notify::watchdog_interval().map(|i| (i, Box::new(notify::watchdog) as Hook)),
        stall_after,
        ..Supervision::default()
    };
    let node = Node::start(spec).await?;
    let persons = node.shared().engine().roster().len();
    let addr = node
        .kiosk_addr()
        .map_or_else(|| "-".to_owned(), |a| a.to_string());
    let url = node.kiosk_url().unwrap_or_else(|| "-".to_owned());
    if let Some(hub) = node.hub_addr() {
        println!("{}", Msg::HubOn(hub));
    }
    // The line tests and admins wait for.
    println!(
        "{}",
        Msg::Ready {
            gate: &gate_id,
            persons,
            kiosk: &url
        }
    );
    if let Some(url) = node.metrics_url() {
        println!("{}", Msg::MetricsOn(url));
    }
    tracing::info!("ready");
    notify::ready();
    notify::status(&text(Msg::SystemdStatus {
        gate: &gate_id,
        persons,
        kiosk: &addr,
    }));
    terminated.await;
    notify::stopping();
    node.stop().await;
    println!("{}", Msg::Stopped);
    Ok(())
}
