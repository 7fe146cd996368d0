//! `selfgate backup FILE` and `selfgate restore FILE`.
//!
//! A backup is a redb file holding a consistent snapshot of every table: it is copied inside one
//! read transaction, so it is exactly the state after some commit (MVCC: the gate keeps
//! committing meanwhile). While the daemon runs it holds the database exclusively, so the
//! command asks it, through the control socket `DATA/control.sock` (owner-only), to write the
//! copy. The daemon writes it inside its own data directory (under systemd it may write nowhere
//! else) and the command, run by an administrator, moves it to `FILE`. With the daemon stopped
//! the command opens the store itself.
//!
//! Restore refuses while a daemon uses the data directory, checks that the backup opens as a
//! selfgate store, keeps the current database beside it (`selfgate.redb.before-restore-…`) and
//! puts the backup in its place.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::store::{DB_FILE, Store, StoreError};

/// The control socket in a data directory.
pub const CONTROL_SOCKET: &str = "control.sock";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the running daemon refused: {0}")]
    Daemon(String),
    #[error("a selfgate daemon is using {0}: stop it first (systemctl stop selfgate)")]
    Running(PathBuf),
    #[error("{0} is not a selfgate backup: {1}")]
    NotABackup(PathBuf, String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Takes a backup of the store in `data` into `file`: through the running daemon when there is
/// one, else directly. Returns the number of journal events in the copy.
pub fn backup(data: &Path, file: &Path) -> Result<u64, BackupError> {
    let file = absolute(file)?;
    if let Some(mut conn) = connect(data) {
        writeln!(conn, "backup").map_err(io(&file))?;
        let mut answer = String::new();
        BufReader::new(conn)
            .read_line(&mut answer)
            .map_err(io(&file))?;
        let Some((n, written)) = answer
            .trim()
            .strip_prefix("ok ")
            .and_then(|rest| rest.split_once(' '))
        else {
            return Err(BackupError::Daemon(
                answer.trim().trim_start_matches("error ").to_owned(),
            ));
        };
        let written = PathBuf::from(written);
        // Same filesystem: a rename; elsewhere: a copy, synced, then the daemon's copy removed.
        if std::fs::rename(&written, &file).is_err() {
            std::fs::copy(&written, &file).map_err(io(&file))?;
            std::fs::File::open(&file)
                .and_then(|f| f.sync_all())
                .map_err(io(&file))?;
            std::fs::remove_file(&written).map_err(io(&written))?;
        }
        return Ok(n.parse().unwrap_or(0));
    }
    let store = Store::open_existing(data)?;
    Ok(store.backup_to(&file)?)
}

/// Restores `file` into `data`. Refuses while a daemon runs there.
pub fn restore(data: &Path, file: &Path) -> Result<PathBuf, BackupError> {
    if connect(data).is_some() {
        return Err(BackupError::Running(data.to_owned()));
    }
    // The backup must open as a store of ours (this also checks its schema version).
    let probe = tempfile::tempdir().map_err(io(file))?;
    std::fs::copy(file, probe.path().join(DB_FILE)).map_err(io(file))?;
    let events = Store::open_existing(probe.path())
        .and_then(|s| s.event_count())
        .map_err(|e| BackupError::NotABackup(file.to_owned(), e.to_string()))?;
    drop(probe);

    std::fs::create_dir_all(data).map_err(io(data))?;
    let live = data.join(DB_FILE);
    let mut kept = None;
    if live.exists() {
        // Fails with InUse when a daemon holds it.
        match Store::open(data) {
            Ok(s) => drop(s),
            Err(StoreError::InUse { .. }) => return Err(BackupError::Running(data.to_owned())),
            Err(e) => tracing::warn!("the current database does not open ({e}); replacing it"),
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = data.join(format!("{DB_FILE}.before-restore-{stamp}"));
        std::fs::rename(&live, &aside).map_err(io(&live))?;
        kept = Some(aside);
    }
    let tmp = data.join(format!("{DB_FILE}.restoring"));
    std::fs::copy(file, &tmp).map_err(io(&tmp))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, &live).map_err(io(&live))?;
    // The live journal may have gone further than the backup: its sequence numbers after the
    // backup's are taken. Record where the backup stopped, so that the sync with the hub, which
    // knows the highest number it acknowledged for this gate, can carry on after that one
    // instead of numbering two different events alike.
    let restored = Store::open_existing(data)?;
    let marker = serde_json::json!({
        "at": chrono::Utc::now().to_rfc3339(),
        "from": file.display().to_string(),
        "events": events,
        "last_seq": restored.last_seqs()?,
    });
    restored.write_now(&[crate::store::WriteOp::SetMeta {
        key: "restored".into(),
        value: marker.to_string().into_bytes(),
    }])?;
    tracing::info!(events, "restored {}", file.display());
    Ok(kept.unwrap_or(live))
}

fn absolute(path: &Path) -> Result<PathBuf, BackupError> {
    std::path::absolute(path).map_err(io(path))
}

/// Connects to a running daemon's control socket, if one answers.
fn connect(data: &Path) -> Option<UnixStream> {
    let conn = UnixStream::connect(data.join(CONTROL_SOCKET)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(600))).ok()?;
    Some(conn)
}

/// Serves the control socket of a running daemon until the task is dropped. Requests are
/// single lines; `backup` writes a copy in `DATA/backups/` and answers `ok EVENTS PATH`.
pub async fn serve_control(store: Store, data: PathBuf) -> std::io::Result<()> {
    serve_control_with(store, data, None).await
}

/// [`serve_control`], with `exchange …` requests answered by the daemon's exchanges.
pub async fn serve_control_with(
    store: Store,
    data: PathBuf,
    exchanges: Option<std::sync::Arc<crate::exchange::Exchanges>>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = data.join(CONTROL_SOCKET);
    // A socket left by a killed daemon: nobody answers on it any more.
    if path.exists() && connect(&data).is_none() {
        let _ = std::fs::remove_file(&path);
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        let (conn, _) = listener.accept().await?;
        let store = store.clone();
        let data = data.clone();
        let exchanges = exchanges.clone();
        tokio::spawn(async move {
            let (r, mut w) = conn.into_split();
            let mut line = String::new();
            if tokio::io::BufReader::new(r)
                .read_line(&mut line)
                .await
                .is_err()
            {
                return;
            }
            let answer = match line.trim() {
                "backup" => {
                    let dir = data.join("backups");
                    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
                    let target = dir.join(format!("selfgate-{stamp}.redb"));
                    let job = move || {
                        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Dir {
                            path: dir.clone(),
                            source,
                        })?;
                        store.backup_to(&target).map(|n| (n, target))
                    };
                    match tokio::task::spawn_blocking(job).await {
                        Ok(Ok((n, path))) => format!("ok {n} {}\n", path.display()),
                        Ok(Err(e)) => format!("error {e}\n"),
                        Err(e) => format!("error {e}\n"),
                    }
                }
                request if request.starts_with("exchange ") => match &exchanges {
                    Some(x) => x.control(request).await,
                    None => "error no exchanges here\n".to_owned(),
                },
                _ => "error unknown request\n".to_owned(),
            };
            let _ = w.write_all(answer.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WriteOp, Writer};
    use chrono::Utc;
    use selfgate_rules::journal::{Alarm, AlarmKind, EventKind};

    fn alarm(n: usize) -> WriteOp {
        WriteOp::Append {
            gate: "g".into(),
            at: Utc::now(),
            kind: EventKind::Alarm(Alarm {
                kind: AlarmKind::EmergencyOn,
                detail: format!("{n}"),
            }),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_during_writes_is_a_prefix_and_restores() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data).unwrap();
        let (writer, thread) = Writer::spawn(store.clone()).unwrap();
        let control = tokio::spawn(serve_control(store.clone(), data.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;

        // Appends until told to stop, then 20 more: the backup lands mid-stream whatever the
        // machine's speed.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = writer.clone();
        let s = stop.clone();
        let stream = tokio::spawn(async move {
            let mut n = 0;
            let mut after = 0;
            while after < 20 {
                w.submit(vec![alarm(n)]).await.unwrap();
                n += 1;
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    after += 1;
                }
            }
            n
        });
        while store.event_count().unwrap() < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let file = dir.path().join("backup.redb");
        let (d, f) = (data.clone(), file.clone());
        let copied = tokio::task::spawn_blocking(move || backup(&d, &f))
            .await
            .unwrap()
            .unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let total = stream.await.unwrap();
        drop(writer);
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();

        // Restore refuses while the daemon (its control socket) is there.
        let (d, f) = (data.clone(), file.clone());
        let refused = tokio::task::spawn_blocking(move || restore(&d, &f))
            .await
            .unwrap();
        assert!(
            matches!(refused, Err(BackupError::Running(_))),
            "{refused:?}"
        );
        control.abort();
        let live = store.events(None).unwrap();
        drop(store);

        let other = dir.path().join("restored");
        restore(&other, &file).unwrap();
        let reopened = Store::open_existing(&other).unwrap();
        let marker: serde_json::Value =
            serde_json::from_slice(&reopened.meta("restored").unwrap().unwrap()).unwrap();
        assert_eq!(
            marker["last_seq"]["g"], copied,
            "where the backup stopped is recorded"
        );
        let restored = reopened.events(None).unwrap();
        drop(reopened);
        assert_eq!(restored.len() as u64, copied);
        assert!(
            copied >= 20 && copied < total as u64,
            "taken during the stream: {copied} of {total}"
        );
        assert_eq!(
            &live[..restored.len()],
            &restored[..],
            "the backup is a prefix of the live journal"
        );
        assert!(matches!(
            restore(&other, &dir.path().join("nothing")),
            Err(BackupError::Io { .. })
        ));
        std::fs::write(dir.path().join("junk"), b"not a database").unwrap();
        assert!(matches!(
            restore(&other, &dir.path().join("junk")),
            Err(BackupError::NotABackup(..))
        ));
    }
}
