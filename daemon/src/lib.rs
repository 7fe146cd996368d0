//! # selfgate (the daemon)
//!
//! The program at the turnstile. The binary (`main.rs`) only parses the command line and calls
//! in here. Data flows reader → decision → journal → turnstile:
//!
//! - [`config`]: the TOML file, validated into typed values;
//! - [`store`]: redb, the writer thread with group commit, the journal;
//! - [`gate`]: the running gate — decision loop, commit-before-open, kiosk state;
//! - [`daemon`]: `selfgate run`, wiring config, store, hardware and kiosk together;
//! - [`demo`]: `selfgate demo`, a whole school on simulated hardware;
//! - [`import`], [`simulate`], [`journal`]: the other commands;
//! - [`clock`]: system or scaled time (the decision itself is given the time);
//! - [`notify`]: systemd's readiness, watchdog and reload notifications; [`secrets`]: where
//!   secret files come from (systemd credentials) and the check before reading one.
//! - [`exchange`]: the scheduled data exchanges (PRONOTE's flows, kitchen headcounts);
//! - [`kiosk_source`]: what the kiosk reads and does on the running gate; [`kiosk_tls`]: the
//!   kiosk over rustls; [`kiosk_accounts`]: `selfgate account` and the demo's account.
//! - [`metrics`]: the Prometheus page, `GET /metrics`; [`logs`]: the tracing subscriber.
//! - [`sync`]: hub and gates over mutual TLS ([`tls`]; certificates by [`pki`]).
//!
//! The decision rules are in the `selfgate-rules` crate; readers and turnstiles in
//! `selfgate-hardware`; the pages in `selfgate-kiosk`.

pub mod backup;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod exchange;
pub mod gate;
pub mod import;
pub mod journal;
pub mod kiosk_accounts;
pub mod kiosk_source;
pub mod kiosk_tls;
pub mod logs;
pub mod metrics;
pub mod notify;
pub mod pki;
pub mod retention;
pub mod secrets;
pub mod siecle;
pub mod simulate;
pub mod store;
pub mod sync;
pub mod tls;
