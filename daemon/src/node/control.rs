//! The control socket: a running node's local admin channel, `DATA/control.sock`.
//!
//! Commands that must go "through the running daemon" (it holds the store exclusively) send one
//! [`Request`] and read one [`Answer`], each a JSON line. The socket file is owner-only, and
//! every connection's peer is checked (`SO_PEERCRED`): only the daemon's own user and root are
//! answered. [`request`] is the one client every such command uses; it says `None` when no
//! daemon answers, and the command then works on the stopped store itself.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use chrono::NaiveDate;
use selfgate_rules::journal::{Event, PaymentMode};
use selfgate_rules::model::{Credential, Opposition, OppositionReason};
use selfgate_rules::staff;

use crate::infra::shutdown::Shutdown;
use crate::node::exchange::{ExchangeReport, Exchanges};
use crate::node::gate::GateHandle;
use crate::store::{Store, StoreError};
use crate::store::{WriteOp, WriteOutcome};

/// The control socket in a data directory.
pub const CONTROL_SOCKET: &str = "control.sock";

/// Longest request line read.
const MAX_REQUEST: u64 = 4096;

/// What a command asks the running daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// A consistent copy of the store, written in `DATA/backups/`.
    Backup,
    /// Runs the exchange named `name` now.
    ExchangeRun { name: String },
    /// Our pupil identifiers for PRONOTE (CSV).
    ExportIds,
    /// An opposition put in for the person of identifiant `person` (`service`: a service's
    /// code, or every service).
    OppositionAdd {
        person: String,
        reason: OppositionReason,
        service: Option<String>,
        from: NaiveDate,
        to: Option<NaiveDate>,
        note: String,
    },
    /// Opposition `id` of the person of identifiant `person` lifted.
    OppositionLift { person: String, id: u64 },
    /// A badge declared lost.
    BadgeLost { badge: String },
    /// A payment taken at one of this node's régies (`regie`: its code; none: the first this
    /// node holds) for the person of identifiant `person`.
    PaymentAdd {
        person: String,
        cents: i64,
        mode: PaymentMode,
        payer: String,
        by: String,
        regie: Option<String>,
        note: String,
    },
    /// The payment of receipt `receipt` (`R1-2026-00042`) cancelled.
    PaymentCancel {
        receipt: String,
        by: String,
        reason: String,
    },
    /// `cents` of the remaining balance of the person of identifiant `person` given back.
    Refund {
        person: String,
        cents: i64,
        mode: PaymentMode,
        by: String,
        reason: String,
        regie: Option<String>,
    },
    /// A bursar's billing operation (a constatation run, a remise, aid, a withdrawal, a term
    /// closed).
    Billing(crate::node::billing::BillingRequest),
}

/// The daemon's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// The copy was written at `path` with `events` journal events.
    BackupWritten { events: u64, path: PathBuf },
    /// The exchange ran; its report.
    Exchange { report: ExchangeReport },
    /// The identifiers' CSV.
    Ids { csv: String },
    /// The opposition as committed and in force at the gate.
    Opposition { opposition: Opposition },
    /// The badge as committed and in force at the gate.
    Credential { credential: Credential },
    /// The journal event as committed (a payment with its receipt number, a cancellation, a
    /// refund), its effect in force at the gate.
    Journaled { event: Box<Event> },
    /// A billing operation done: a run's summary (for a run), the events journaled.
    Billing {
        summary: Option<crate::node::billing::RunSummary>,
        events: Vec<Event>,
    },
    /// The request was refused or failed.
    Refused { message: String },
}

/// Talking to the daemon failed (it was there, but the exchange broke).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the running daemon answered something unreadable: {0}")]
    Garbled(String),
}

/// Whether a daemon answers on `data`'s control socket.
pub fn daemon_running(data: &Path) -> bool {
    UnixStream::connect(data.join(CONTROL_SOCKET)).is_ok()
}

/// Sends `req` to the daemon running on `data` and waits up to `timeout` for its answer.
/// `Ok(None)`: no daemon answers there.
pub fn request(
    data: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<Option<Answer>, ControlError> {
    let path = data.join(CONTROL_SOCKET);
    let Ok(mut conn) = UnixStream::connect(&path) else {
        return Ok(None);
    };
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    conn.set_read_timeout(Some(timeout)).map_err(io)?;
    let mut line = serde_json::to_string(req).map_err(|e| ControlError::Garbled(e.to_string()))?;
    line.push('\n');
    conn.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(conn).read_line(&mut answer).map_err(io)?;
    serde_json::from_str(answer.trim())
        .map(Some)
        .map_err(|_| ControlError::Garbled(answer.trim().to_owned()))
}

/// The user this process runs as.
fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether a peer of `uid` may use the socket of a daemon running as `daemon`.
fn peer_allowed(uid: u32, daemon: u32) -> bool {
    uid == daemon || uid == 0
}

/// Serves the control socket until `shutdown`: backups from `store`, exchanges run by hand
/// by `exchanges` when the node has them, staff changes through `gate` (committed, then in
/// force at once). Removes the socket file when it stops.
pub async fn serve(
    store: Store,
    data: PathBuf,
    exchanges: Option<Arc<Exchanges>>,
    gate: Option<GateHandle>,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = data.join(CONTROL_SOCKET);
    // A socket left by a killed daemon: nobody answers on it any more.
    if path.exists() && !daemon_running(&data) {
        let _ = std::fs::remove_file(&path);
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let daemon = own_uid();
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let conn = tokio::select! {
            () = shutdown.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => conn,
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    continue;
                }
            },
        };
        let uid = conn.peer_cred().map(|c| c.uid()).ok();
        let (store, data, exchanges, gate) =
            (store.clone(), data.clone(), exchanges.clone(), gate.clone());
        conns.spawn(async move {
            let (r, mut w) = conn.into_split();
            let answer = if uid.is_some_and(|u| peer_allowed(u, daemon)) {
                let mut line = String::new();
                let mut reader =
                    tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(r, MAX_REQUEST));
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                match serde_json::from_str::<Request>(line.trim()) {
                    Ok(req) => answer(req, store, &data, exchanges.as_deref(), gate.as_ref()).await,
                    Err(_) => Answer::Refused {
                        message: "unknown request".into(),
                    },
                }
            } else {
                tracing::warn!(
                    ?uid,
                    "control socket: a connection from another user refused"
                );
                Answer::Refused {
                    message:
                        "permission denied: only the daemon's user and root may use this socket"
                            .into(),
                }
            };
            let mut text = serde_json::to_string(&answer).unwrap_or_default();
            text.push('\n');
            let _ = w.write_all(text.as_bytes()).await;
        });
        // Reap what has finished, so a long-running daemon keeps no list of old connections.
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = std::fs::remove_file(&path);
    while conns.join_next().await.is_some() {}
    Ok(())
}

async fn answer(
    req: Request,
    store: Store,
    data: &Path,
    exchanges: Option<&Exchanges>,
    gate: Option<&GateHandle>,
) -> Answer {
    let refused = |message: String| Answer::Refused { message };
    match req {
        Request::Backup => {
            let dir = data.join("backups");
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
            let target = dir.join(format!("selfgate-{stamp}.redb"));
            let job = move || {
                crate::infra::files::create_private_dir(&dir).map_err(|source| {
                    StoreError::Dir {
                        path: dir.clone(),
                        source,
                    }
                })?;
                store.backup_to(&target).map(|n| (n, target))
            };
            match tokio::task::spawn_blocking(job).await {
                Ok(Ok((events, path))) => Answer::BackupWritten { events, path },
                Ok(Err(e)) => refused(e.to_string()),
                Err(e) => refused(e.to_string()),
            }
        }
        Request::ExchangeRun { name } => match exchanges {
            Some(x) => match x.run_by_hand(name.trim()).await {
                Ok(report) => Answer::Exchange { report },
                Err(e) => refused(e.to_string()),
            },
            None => refused("no exchanges here".into()),
        },
        Request::ExportIds => match exchanges {
            Some(x) => match x.export_ids() {
                Ok(csv) => Answer::Ids { csv },
                Err(e) => refused(e),
            },
            None => refused("no exchanges here".into()),
        },
        Request::OppositionAdd { .. }
        | Request::OppositionLift { .. }
        | Request::BadgeLost { .. }
        | Request::PaymentAdd { .. }
        | Request::PaymentCancel { .. }
        | Request::Refund { .. } => match gate {
            Some(g) => staff_change(req, &store, g).await.unwrap_or_else(refused),
            None => refused("no gate here".into()),
        },
        Request::Billing(b) => match gate {
            Some(g) => billing_change(&b, &store, g).await.unwrap_or_else(refused),
            None => refused("no gate here".into()),
        },
    }
}

/// A billing operation planned on the store as it stands, committed through the gate (one
/// transaction: a run's lines all or none).
async fn billing_change(
    req: &crate::node::billing::BillingRequest,
    store: &Store,
    gate: &GateHandle,
) -> Result<Answer, String> {
    let (ops, summary) = {
        let shared = gate.shared();
        let setup = crate::node::billing::Setup::from_config(&shared.config());
        let now = shared.clock.now();
        let store = store.clone();
        let req = req.clone();
        tokio::task::spawn_blocking(move || crate::node::billing::plan(&setup, &store, &req, now))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let events = if ops.is_empty() {
        Vec::new()
    } else {
        journaled(gate.change(ops).await.map_err(|e| e.to_string())?)
    };
    Ok(Answer::Billing { summary, events })
}

/// The events a commit journaled.
pub fn journaled(outcomes: Vec<WriteOutcome>) -> Vec<Event> {
    outcomes
        .into_iter()
        .filter_map(|o| match o {
            WriteOutcome::Appended(e) => Some(*e),
            _ => None,
        })
        .collect()
}

/// A staff change decided from the running gate's roster, committed through it.
async fn staff_change(req: Request, store: &Store, gate: &GateHandle) -> Result<Answer, String> {
    let (op, planned) = {
        let shared = gate.shared();
        let config = shared.config();
        let now = shared.clock.now();
        let engine = shared.engine();
        plan_change(&config, engine.roster(), store, req, now)?
    };
    let outcomes = gate.change(vec![op]).await.map_err(|e| e.to_string())?;
    Ok(planned.answer(&outcomes))
}

/// What a planned change answers once committed.
pub enum Planned {
    /// Known before the commit.
    Answer(Box<Answer>),
    /// The journal event as the store numbered it.
    Journaled,
}

impl Planned {
    pub fn answer(self, outcomes: &[WriteOutcome]) -> Answer {
        match self {
            Planned::Answer(a) => *a,
            Planned::Journaled => outcomes
                .iter()
                .find_map(|o| match o {
                    WriteOutcome::Appended(event) => Some(Answer::Journaled {
                        event: event.clone(),
                    }),
                    _ => None,
                })
                .unwrap_or(Answer::Refused {
                    message: "nothing was journaled".into(),
                }),
        }
    }
}

/// The op a staff change or a régie operation makes on `roster` (and, for a cancellation,
/// the payment `store` holds), and what it answers once committed. The running daemon commits
/// it through its gate; the command line on the stopped store when no daemon runs.
pub fn plan_change(
    config: &crate::config::Config,
    roster: &selfgate_rules::Roster,
    store: &Store,
    req: Request,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(WriteOp, Planned), String> {
    if let Some(op) = crate::node::regie::plan(config, roster, store, &req, now)? {
        return Ok((op, Planned::Journaled));
    }
    let (op, answer) = plan_staff(config, roster, req)?;
    Ok((op, Planned::Answer(Box::new(answer))))
}

/// The op a staff change makes on `roster`, and the answer that says what it did.
fn plan_staff(
    config: &crate::config::Config,
    roster: &selfgate_rules::Roster,
    req: Request,
) -> Result<(WriteOp, Answer), String> {
    match req {
        Request::OppositionAdd {
            person,
            reason,
            service,
            from,
            to,
            note,
        } => {
            let service = match service {
                None => None,
                Some(code) => Some(
                    config
                        .rules
                        .service_by_code(&code)
                        .map(|s| s.id)
                        .ok_or_else(|| format!("no service with code `{code}`"))?,
                ),
            };
            let o = staff::add_opposition(
                roster,
                &staff::NewOpposition {
                    person,
                    reason,
                    service,
                    from,
                    to,
                    note,
                },
            )
            .map_err(|e| e.to_string())?;
            Ok((
                WriteOp::PutOpposition(o.clone()),
                Answer::Opposition { opposition: o },
            ))
        }
        Request::OppositionLift { person, id } => {
            let o = staff::lift_opposition(roster, &person, id).map_err(|e| e.to_string())?;
            Ok((
                WriteOp::PutOpposition(o.clone()),
                Answer::Opposition { opposition: o },
            ))
        }
        Request::BadgeLost { badge } => {
            let number = badge
                .parse()
                .map_err(|e| format!("`{badge}` is not a badge number: {e}"))?;
            let c = staff::declare_lost(roster, &number).map_err(|e| e.to_string())?;
            Ok((
                WriteOp::PutCredential(c.clone()),
                Answer::Credential { credential: c },
            ))
        }
        _ => Err("not a staff change".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_are_one_json_line_each() {
        for req in [
            Request::Backup,
            Request::ExchangeRun {
                name: "pronote".into(),
            },
            Request::ExportIds,
        ] {
            let line = serde_json::to_string(&req).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), req);
        }
        assert_eq!(
            serde_json::to_string(&Request::ExchangeRun { name: "x".into() }).unwrap(),
            r#"{"request":"exchange_run","name":"x"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"request":"drop_tables"}"#).is_err());
        assert!(serde_json::from_str::<Request>("backup").is_err());
    }

    #[test]
    fn only_the_daemons_user_and_root_are_answered() {
        assert!(peer_allowed(1000, 1000));
        assert!(peer_allowed(0, 1000));
        assert!(!peer_allowed(1001, 1000));
        assert!(!peer_allowed(65534, 0));
        assert!(peer_allowed(0, 0));
    }

    #[tokio::test]
    async fn a_garbled_request_is_refused_and_the_socket_goes_away_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        let store = Store::open(&data).unwrap();
        let (stop, shutdown) = crate::infra::shutdown::channel();
        let server = tokio::spawn(serve(store, data.clone(), None, None, shutdown));
        while !daemon_running(&data) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let d = data.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let mut conn = UnixStream::connect(d.join(CONTROL_SOCKET)).unwrap();
            conn.write_all(b"backup\n").unwrap();
            let mut line = String::new();
            BufReader::new(conn).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Answer>(answer.trim()).unwrap(),
            Answer::Refused {
                message: "unknown request".into()
            }
        );
        let d = data.clone();
        let x = tokio::task::spawn_blocking(move || {
            request(&d, &Request::ExportIds, Duration::from_secs(5))
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            x,
            Some(Answer::Refused {
                message: "no exchanges here".into()
            })
        );
        stop.send();
        server.await.unwrap().unwrap();
        assert!(!data.join(CONTROL_SOCKET).exists());
        assert_eq!(
            request(&data, &Request::Backup, Duration::from_secs(1)).unwrap(),
            None
        );
    }
}
