//! Infrastructure: what any layer above may use and that knows nothing of the gate, the store
//! or the commands. It may use `config` (the values it is configured with), nothing higher.
//!
//! - [`clock`]: system or scaled time (the decision itself is given the time);
//! - [`shutdown`]: one shutdown signal for a node's tasks; [`signals`]: SIGTERM and Ctrl-C;
//! - [`notify`]: systemd's readiness, watchdog and reload notifications;
//! - [`secrets`]: where secret files come from (systemd credentials) and the check before
//!   reading one;
//! - [`tls`]: rustls configurations; [`pki`]: the site's certificate authority;
//! - [`files`]: private data directory and files, spreadsheet-safe CSV cells;
//! - [`logs`]: the tracing subscriber; [`telemetry`]: what the Prometheus page shows, recorded.

pub mod clock;
pub mod files;
pub mod logs;
pub mod notify;
pub mod pki;
pub mod secrets;
pub mod shutdown;
pub mod signals;
pub mod telemetry;
pub mod tls;
