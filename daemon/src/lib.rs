//! # selfgate (the daemon)
//!
//! The program at the turnstile, in one-way layers; a module may use the layers below its own,
//! never one above (`tests/layers.rs` checks it):
//!
//! ```text
//! cli      the subcommands: arguments, bodies, words for people; anyhow only here
//!  │
//! node     the running node: gate loop, kiosk, sync, exchanges, control socket, retention policy
//!  │
//! store    redb, the writer thread with group commit, the journal, the retention purge
//!  │
//! infra    clock, shutdown, signals, systemd, secrets, TLS, PKI, logs, telemetry
//!  │
//! config   the TOML file, validated into typed values (each section validates itself)
//!  │
//! selfgate-rules (the decision, pure), selfgate-hardware (readers, turnstiles)
//! ```
//!
//! The binary (`main.rs`) only parses the command line and dispatches to [`cli`]. The pages are
//! in the `selfgate-kiosk` crate.

pub mod cli;
pub mod config;
pub mod infra;
pub mod node;
pub mod store;
