//! # selfgate-rules
//!
//! The pure core of selfgate: the domain model ([`model`]), the journal's event types
//! ([`journal`]) and the gate decision with the state it reads ([`engine`]).
//!
//! Architecture invariant: this crate does no I/O and depends on no runtime, database, web or
//! hardware crate (see its `Cargo.toml`). Time is always an argument. Everything that reads
//! badges, writes the journal or drives a turnstile lives in `selfgate` (the daemon) and
//! `selfgate-hardware`, and calls in here.

pub mod calendar;
pub mod charlemagne;
pub mod engine;
pub mod family;
pub mod journal;
pub mod model;
pub mod regie;
pub mod roster_csv;
pub mod siecle;
pub mod staff;

pub use engine::{Engine, ManualRefusal, Outcome, Roster, SECOND_MEAL, Served, ServedEntry};
pub use journal::{Event, EventKind, EventRef, Passage, Reason, Verdict};
