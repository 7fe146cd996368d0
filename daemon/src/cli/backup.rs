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

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::process::ExitCode;

use super::Place;
use super::words::Msg;
use crate::node::control::{self, Answer, ControlError, Request};
use crate::store::{DB_FILE, Store, StoreError};

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
    #[error(transparent)]
    Control(#[from] ControlError),
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
    match control::request(data, &Request::Backup, Duration::from_secs(600))? {
        Some(Answer::BackupWritten { events, path }) => {
            // Same filesystem: a rename; elsewhere: a copy, synced, then the daemon's copy removed.
            if std::fs::rename(&path, &file).is_err() {
                std::fs::copy(&path, &file).map_err(io(&file))?;
                crate::infra::files::make_private(&file).map_err(io(&file))?;
                std::fs::File::open(&file)
                    .and_then(|f| f.sync_all())
                    .map_err(io(&file))?;
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
            Ok(events)
        }
        Some(Answer::Refused { message }) => Err(BackupError::Daemon(message)),
        Some(other) => Err(BackupError::Daemon(format!("unexpected answer {other:?}"))),
        None => {
            let store = Store::open_existing(data)?;
            Ok(store.backup_to(&file)?)
        }
    }
}

/// A store to read from: the one in `data` when no daemon holds it, else a consistent copy
/// the running daemon writes (through its control socket), opened in a temporary directory
/// removed with the returned guard. For commands that only read (`journal`, `persons`,
/// `simulate`).
pub fn store_to_read(data: &Path) -> Result<(Store, Option<tempfile::TempDir>), BackupError> {
    match Store::open_existing(data) {
        Ok(store) => Ok((store, None)),
        Err(StoreError::InUse { .. }) => {
            let copy = tempfile::tempdir().map_err(io(data))?;
            let file = copy.path().join(DB_FILE);
            backup(data, &file)?;
            let store = Store::open_existing(copy.path())?;
            Ok((store, Some(copy)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Restores `file` into `data`. Refuses while a daemon runs there.
pub fn restore(data: &Path, file: &Path) -> Result<PathBuf, BackupError> {
    if control::daemon_running(data) {
        return Err(BackupError::Running(data.to_owned()));
    }
    // The backup must open as a store of ours (this also checks its schema version).
    let probe = tempfile::tempdir().map_err(io(file))?;
    std::fs::copy(file, probe.path().join(DB_FILE)).map_err(io(file))?;
    let events = Store::open_existing(probe.path())
        .and_then(|s| s.event_count())
        .map_err(|e| BackupError::NotABackup(file.to_owned(), e.to_string()))?;
    drop(probe);

    crate::infra::files::create_private_dir(data).map_err(io(data))?;
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
    crate::infra::files::make_private(&tmp).map_err(io(&tmp))?;
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

/// `selfgate backup FILE`.
pub fn backup_command(file: &Path, place: &Place) -> anyhow::Result<ExitCode> {
    let data = place.data_dir()?;
    let events = backup(&data, file)?;
    println!(
        "{}",
        Msg::BackupWritten {
            file,
            data: &data,
            events
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `selfgate restore FILE`.
pub fn restore_command(file: &Path, place: &Place) -> anyhow::Result<ExitCode> {
    let data = place.data_dir()?;
    let kept = restore(&data, file)?;
    println!(
        "{}",
        Msg::Restored {
            file,
            data: &data,
            kept: &kept
        }
    );
    Ok(ExitCode::SUCCESS)
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
        let (trigger, shutdown) = crate::infra::shutdown::channel();
        let control = tokio::spawn(control::serve(
            store.clone(),
            data.clone(),
            None,
            None,
            shutdown,
        ));
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
        trigger.send();
        control.await.unwrap().unwrap();
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
