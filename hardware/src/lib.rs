//! # selfgate-hardware
//!
//! What a gate talks to, behind two traits: a [`Reader`] yields credentials, a [`Turnstile`]
//! takes pulses and reports inputs (passage done, emergency). Every driver has a simulated twin,
//! always built, so the whole daemon runs and is tested on a machine without hardware:
//!
//! - [`sim::SimReader`]: credentials presented through a handle (demo, tests);
//! - [`sim::LineReader`]: one credential per line from a file or a named pipe
//!   (`echo 0400A1B2C3 > /run/selfgate/reader.fifo`);
//! - [`sim::SimTurnstile`]: records every pulse (in memory and, optionally, appended to a file)
//!   and lets a test or the demo inject inputs.
//!
//! Real drivers, each a pure (sans-io) decoder fed by a thin driver, each keeping a
//! [`ReaderHealth`] (online, last frame, frames ok and bad):
//!
//! - [`em4100`]: EM4100 / RDM6300 on a UART (tokio-serial);
//! - [`wedge`]: USB keyboard-wedge readers through evdev, grabbed;
//! - [`wiegand`]: Wiegand 26/34 on two lines of the GPIO character device;
//! - [`osdp`]: OSDP control panel on RS-485, with the secure channel;
//! - [`gpio`]: the turnstile's relay and inputs (GPIO character device, rppal with `rpi`).
//!
//! Wiring, credential formats and how each driver is tested: `hardware/README.md`.
//!
//! Handles are owned values passed into the daemon's `run`, never global statics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;

pub mod em4100;
pub mod gpio;
pub mod health;
pub mod osdp;
pub mod pty;
pub mod sim;
/// libosdp as a real OSDP reader on a pty, for tests (feature `libosdp-peer`).
#[cfg(any(test, feature = "libosdp-peer"))]
pub mod testing;
pub mod wedge;
pub mod wiegand;

pub use health::{HealthHandle, ReaderHealth};
pub use osdp::parse_scbk;

/// A boxed future, so that the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum HwError {
    #[error("{device}: {source}")]
    Io {
        device: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{device}: {message}")]
    Device { device: String, message: String },
}

/// What a reader reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A credential was read. Repeats while the card stays in the field are the daemon's to merge.
    Credential { reader: String, credential: String },
    /// The reader went offline or came back.
    Status { reader: String, online: bool },
    /// A status report of the reader itself (OSDP `osdp_LSTATR`): an alarm raised or cleared.
    Alarm {
        reader: String,
        alarm: ReaderAlarm,
        active: bool,
    },
}

/// An alarm a reader reports about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReaderAlarm {
    /// The reader's tamper switch (opened, torn off the wall).
    Tamper,
    /// The reader's power supply failed.
    Power,
}

/// A badge reader. `run` reads until the reader ends or the receiving side is dropped.
pub trait Reader: Send + 'static {
    fn name(&self) -> &str;
    /// The reader's health (online, last frame, counters), when it keeps one.
    fn health(&self) -> Option<HealthHandle> {
        None
    }
    /// Where to show the gate's decisions on this reader (LED, buzzer), when it can. Taken
    /// before `run` moves the reader into its task.
    fn feedback(&self) -> Option<Arc<dyn ReaderFeedback>> {
        None
    }
    fn run(
        self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>>;
}

/// Shows the gate's decision on the reader a credential came from. Calls never block: the
/// feedback is queued to the reader's own task (and dropped when the reader is offline or busy).
pub trait ReaderFeedback: Send + Sync + 'static {
    /// A decision on this reader's read: `pass` shows green and one beep, a denial red and two
    /// beeps (OSDP readers; the simulated reader records it).
    fn verdict(&self, pass: bool);
    /// Pulses the reader-side relay for one passage, when the reader has one configured
    /// (OSDP `relay_output`: `osdp_OUT`); called after the commit, like the turnstile's pulse.
    fn open(&self, _length_ms: u32) {}
}

/// What a turnstile reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnstileInput {
    /// Someone went through (the "passage done" contact).
    PassageDone,
    /// The emergency input became active (fire release): the turnstile is free.
    EmergencyOn,
    /// The emergency input returned to normal.
    EmergencyOff,
}

/// A turnstile: pulses open one passage. Never a held level, so a crash cannot leave it open.
pub trait Turnstile: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Opens for one passage: drives the output for `length_ms`, then releases it. `tag` names
    /// the journal event the pulse belongs to (kept by the simulated twin, ignored by relays).
    fn pulse(&self, tag: &str, length_ms: u32) -> BoxFuture<'_, Result<(), HwError>>;
    /// Starts reporting inputs on `inputs`. Turnstiles without inputs report nothing.
    fn watch_inputs(&self, inputs: mpsc::Sender<TurnstileInput>);
    /// Whether this turnstile reports [`TurnstileInput::PassageDone`] (a "passage done"
    /// contact is wired): the daemon's passage timeout needs it.
    fn reports_passage_done(&self) -> bool {
        false
    }
}
