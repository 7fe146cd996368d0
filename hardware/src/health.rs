//! Reader health (online, last frame, counters) and the small helper every real reader uses
//! to report credentials and status changes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::ReaderEvent;

/// What a reader's health looks like at one moment, for the kiosk and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderHealth {
    /// The device is open and (for polled buses) answering.
    pub online: bool,
    /// When the last well-formed frame arrived.
    pub last_frame: Option<SystemTime>,
    /// Well-formed frames (repeats held back by the driver included).
    pub frames_ok: u64,
    /// Malformed frames: bad checksum or parity, truncated, unknown keys, junk between frames.
    pub frames_bad: u64,
    /// The reader reports its tamper switch active (OSDP readers).
    pub tamper: bool,
    /// The reader reports a power failure (OSDP readers).
    pub power_failure: bool,
}

/// A shared, cheaply cloned view of one reader's [`ReaderHealth`]: the driver updates it, the
/// daemon reads snapshots.
#[derive(Clone, Debug, Default)]
pub struct HealthHandle(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    health: ReaderHealth,
    /// Whether a status was reported yet (the first one always is: the daemon assumes online).
    reported: bool,
}

impl HealthHandle {
    pub fn snapshot(&self) -> ReaderHealth {
        self.lock().health.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    pub(crate) fn frame_ok(&self) {
        let mut i = self.lock();
        i.health.frames_ok += 1;
        i.health.last_frame = Some(SystemTime::now());
    }
    pub(crate) fn frame_bad(&self) {
        self.lock().health.frames_bad += 1;
    }
    /// Sets an alarm's state; true when it changed.
    pub(crate) fn set_alarm(&self, alarm: crate::ReaderAlarm, active: bool) -> bool {
        let mut i = self.lock();
        let flag = match alarm {
            crate::ReaderAlarm::Tamper => &mut i.health.tamper,
            crate::ReaderAlarm::Power => &mut i.health.power_failure,
        };
        let changed = *flag != active;
        *flag = active;
        changed
    }
    /// Sets the online flag; true when it changed (or was never reported).
    pub(crate) fn set_online(&self, online: bool) -> bool {
        let mut i = self.lock();
        let changed = !i.reported || i.health.online != online;
        i.reported = true;
        i.health.online = online;
        changed
    }
}

/// Sends a reader's events and keeps its health: statuses are sent on change only.
#[derive(Clone)]
pub(crate) struct Emitter {
    pub(crate) name: String,
    pub(crate) events: mpsc::Sender<ReaderEvent>,
    pub(crate) health: HealthHandle,
}

impl Emitter {
    /// Reports a credential; false when the receiving side is gone.
    pub(crate) async fn credential(&self, credential: String) -> bool {
        self.events
            .send(ReaderEvent::Credential {
                reader: self.name.clone(),
                credential,
            })
            .await
            .is_ok()
    }
    /// Reports an alarm raised or cleared; false when the receiving side is gone.
    pub(crate) async fn alarm(&self, alarm: crate::ReaderAlarm, active: bool) -> bool {
        self.events
            .send(ReaderEvent::Alarm {
                reader: self.name.clone(),
                alarm,
                active,
            })
            .await
            .is_ok()
    }
    /// Opens the reader's device with `open`: while it fails, logs `what: error`, reports the
    /// reader offline and tries again after `retry`; once it opens, reports it online. `None`
    /// when the receiving side is gone.
    pub(crate) async fn open_or_retry<T, E: std::fmt::Display>(
        &self,
        what: &str,
        retry: std::time::Duration,
        mut open: impl FnMut() -> Result<T, E>,
    ) -> Option<T> {
        loop {
            match open() {
                Ok(device) => return self.status(true).await.then_some(device),
                Err(e) => {
                    tracing::warn!("reader {what}: {e}");
                    if !self.status(false).await {
                        return None;
                    }
                    tokio::time::sleep(retry).await;
                }
            }
        }
    }

    /// Reports online/offline when it changed; false when the receiving side is gone.
    pub(crate) async fn status(&self, online: bool) -> bool {
        if !self.health.set_online(online) {
            return !self.events.is_closed();
        }
        if online {
            tracing::info!("reader {}: online", self.name);
        } else {
            tracing::warn!("reader {}: offline", self.name);
        }
        self.events
            .send(ReaderEvent::Status {
                reader: self.name.clone(),
                online,
            })
            .await
            .is_ok()
    }
}
