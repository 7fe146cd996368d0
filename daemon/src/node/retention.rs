//! The retention policy of a running node: the purge (`crate::store::retention`) on
//! `retention.schedule`, in batches, the in-memory state kept in step.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::infra::shutdown::Shutdown;
use crate::node::gate::Shared;
use crate::store::Writer;
use crate::store::retention::{cutoff, guardians_purge_op, guardians_purged, purge_op, purged};

/// Runs the purge on its schedule until `shutdown` (a purge under way finishes its batch), keeping the in-memory
/// anti-passback state in step.
pub async fn scheduled(shared: Arc<Shared>, writer: Writer, mut shutdown: Shutdown) {
    loop {
        let config = shared.config();
        let tz = config.rules.timezone;
        let now = shared.clock.now();
        let Some(next) = config
            .retention
            .schedule
            .after(&now.with_timezone(&tz))
            .next()
        else {
            return;
        };
        let wait = (next.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO);
        tokio::select! {
            () = shutdown.recv() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let now = shared.clock.now();
        let mut total = 0;
        loop {
            match writer.submit(vec![purge_op(&config, now)]).await {
                Ok(outcomes) => {
                    let (n, more) = purged(&outcomes);
                    total += n;
                    if more {
                        // Let the gate's own commits through between two batches.
                        tokio::task::yield_now().await;
                        continue;
                    }
                    let day = config
                        .rules
                        .today(cutoff(now, config.retention.passages_days));
                    {
                        let mut engine = shared
                            .engine
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        engine.served_mut().forget_before(day);
                        engine.roster_mut().forget_oppositions_before(day);
                    }
                    tracing::info!(anonymised = total, "retention purge done");
                    // Guardians none of whose children is enrolled any more, once the
                    // accounting period is over (hub or standalone data; none on a gate).
                    match writer.submit(vec![guardians_purge_op(&config, now)]).await {
                        Ok(outcomes) => tracing::info!(
                            deleted = guardians_purged(&outcomes),
                            "guardians' retention done"
                        ),
                        Err(e) => tracing::warn!(
                            "guardians' retention failed, will retry at the next schedule: {e}"
                        ),
                    }
                }
                Err(e) => {
                    tracing::warn!("retention purge failed, will retry at the next schedule: {e}")
                }
            }
            break;
        }
    }
}
