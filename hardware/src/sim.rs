//! Simulated twins of the readers and the turnstile.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::health::HealthHandle;
use crate::{BoxFuture, HwError, Reader, ReaderEvent, ReaderFeedback, Turnstile, TurnstileInput};

/// A reader fed through a [`SimReaderHandle`]: the demo's pupils and the tests present badges
/// with it. It records the feedback the gate gives it ([`SimReaderHandle::feedback`]).
pub struct SimReader {
    name: String,
    rx: mpsc::Receiver<String>,
    feedback: Arc<SimFeedback>,
    health: HealthHandle,
}

/// Presents credentials to a [`SimReader`] and reads the feedback it was given.
#[derive(Clone)]
pub struct SimReaderHandle {
    tx: mpsc::Sender<String>,
    feedback: Arc<SimFeedback>,
    health: HealthHandle,
}

/// Feedback a [`SimReader`] was given, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackRecord {
    /// Green and one beep.
    Pass,
    /// Red and two beeps.
    Deny,
    /// The reader-side relay pulsed for this many ms.
    Open(u32),
}

#[derive(Default)]
struct SimFeedback(Mutex<Vec<FeedbackRecord>>);

impl SimFeedback {
    fn push(&self, r: FeedbackRecord) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(r);
    }
}

impl ReaderFeedback for SimFeedback {
    fn verdict(&self, pass: bool) {
        self.push(if pass {
            FeedbackRecord::Pass
        } else {
            FeedbackRecord::Deny
        });
    }
    fn open(&self, length_ms: u32) {
        self.push(FeedbackRecord::Open(length_ms));
    }
}

impl SimReader {
    pub fn new(name: impl Into<String>) -> (SimReader, SimReaderHandle) {
        let (tx, rx) = mpsc::channel(256);
        let feedback = Arc::new(SimFeedback::default());
        let health = HealthHandle::default();
        (
            SimReader {
                name: name.into(),
                rx,
                feedback: feedback.clone(),
                health: health.clone(),
            },
            SimReaderHandle {
                tx,
                feedback,
                health,
            },
        )
    }
}

impl SimReaderHandle {
    /// Presents a credential; returns false when the reader has stopped.
    pub async fn present(&self, credential: impl Into<String>) -> bool {
        self.tx.send(credential.into()).await.is_ok()
    }

    /// Counts a malformed frame, as a real reader's driver would.
    pub fn bad_frame(&self) {
        self.health.frame_bad();
    }

    /// The feedback the gate gave this reader so far, oldest first.
    pub fn feedback(&self) -> Vec<FeedbackRecord> {
        self.feedback
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Reader for SimReader {
    fn name(&self) -> &str {
        &self.name
    }
    fn feedback(&self) -> Option<Arc<dyn ReaderFeedback>> {
        Some(self.feedback.clone())
    }
    /// Online while it runs; each presented credential is a well-formed frame.
    fn health(&self) -> Option<HealthHandle> {
        Some(self.health.clone())
    }
    fn run(
        mut self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>> {
        Box::pin(async move {
            self.health.set_online(true);
            while let Some(credential) = self.rx.recv().await {
                self.health.frame_ok();
                let ev = ReaderEvent::Credential {
                    reader: self.name.clone(),
                    credential,
                };
                if events.send(ev).await.is_err() {
                    break;
                }
            }
            Ok(())
        })
    }
}

/// Reads one credential per line from a file or a named pipe; on end of file it waits for
/// more (a pipe is reopened for its next writer, a file is followed like `tail -f`).
pub struct LineReader {
    name: String,
    path: PathBuf,
}

impl LineReader {
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        LineReader {
            name: name.into(),
            path: path.into(),
        }
    }
}

impl Reader for LineReader {
    fn name(&self) -> &str {
        &self.name
    }
    fn run(
        self: Box<Self>,
        events: mpsc::Sender<ReaderEvent>,
    ) -> BoxFuture<'static, Result<(), HwError>> {
        Box::pin(async move {
            let io = |source| HwError::Io {
                device: self.path.display().to_string(),
                source,
            };
            let input: Box<dyn tokio::io::AsyncRead + Send + Unpin> = if is_fifo(&self.path) {
                // Opened read-write, a named pipe never blocks on open nor ends when a writer
                // leaves, and reads stay cancellable (no blocking thread to wait for).
                Box::new(
                    tokio::net::unix::pipe::OpenOptions::new()
                        .read_write(true)
                        .open_receiver(&self.path)
                        .map_err(io)?,
                )
            } else {
                Box::new(tokio::fs::File::open(&self.path).await.map_err(io)?)
            };
            let mut lines = tokio::io::BufReader::new(input);
            let mut line = String::new();
            loop {
                line.clear();
                let n = lines.read_line(&mut line).await.map_err(io)?;
                if n == 0 {
                    if events.is_closed() {
                        return Ok(());
                    }
                    // A file with no more lines yet: follow it like `tail -f`.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
                let credential = line.trim();
                if credential.is_empty() {
                    continue;
                }
                let ev = ReaderEvent::Credential {
                    reader: self.name.clone(),
                    credential: credential.to_owned(),
                };
                if events.send(ev).await.is_err() {
                    return Ok(());
                }
            }
        })
    }
}

fn is_fifo(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// One pulse seen by a [`SimTurnstile`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulseRecord {
    pub tag: String,
    pub length_ms: u32,
    pub at: SystemTime,
}

/// A turnstile that records its pulses and whose inputs are driven through a handle.
pub struct SimTurnstile {
    name: String,
    pulses: Arc<Mutex<Vec<PulseRecord>>>,
    log: Option<Mutex<std::fs::File>>,
    inputs: Arc<Mutex<Option<mpsc::Sender<TurnstileInput>>>>,
    /// Whether `pulse` waits for the pulse length (real timing) or returns at once.
    real_time: bool,
}

/// Reads what a [`SimTurnstile`] did and drives its inputs.
#[derive(Clone)]
pub struct SimTurnstileHandle {
    pulses: Arc<Mutex<Vec<PulseRecord>>>,
    inputs: Arc<Mutex<Option<mpsc::Sender<TurnstileInput>>>>,
}

impl SimTurnstile {
    /// `log`: a file to which each pulse is appended as a line `tag<TAB>length_ms`, written
    /// before `pulse` returns (tests read it after killing the daemon).
    pub fn new(
        name: impl Into<String>,
        log: Option<PathBuf>,
        real_time: bool,
    ) -> Result<(SimTurnstile, SimTurnstileHandle), HwError> {
        let name = name.into();
        let log = match log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|source| HwError::Io {
                        device: path.display().to_string(),
                        source,
                    })?,
            )),
            None => None,
        };
        let pulses = Arc::new(Mutex::new(Vec::new()));
        let inputs = Arc::new(Mutex::new(None));
        let handle = SimTurnstileHandle {
            pulses: pulses.clone(),
            inputs: inputs.clone(),
        };
        Ok((
            SimTurnstile {
                name,
                pulses,
                log,
                inputs,
                real_time,
            },
            handle,
        ))
    }
}

impl Turnstile for SimTurnstile {
    fn name(&self) -> &str {
        &self.name
    }
    fn pulse(&self, tag: &str, length_ms: u32) -> BoxFuture<'_, Result<(), HwError>> {
        let tag = tag.to_owned();
        Box::pin(async move {
            if let Some(log) = &self.log {
                let mut f = log.lock().unwrap_or_else(PoisonError::into_inner);
                writeln!(f, "{tag}\t{length_ms}").map_err(|source| HwError::Io {
                    device: self.name.clone(),
                    source,
                })?;
            }
            self.pulses
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(PulseRecord {
                    tag,
                    length_ms,
                    at: SystemTime::now(),
                });
            if self.real_time {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(length_ms))).await;
            }
            Ok(())
        })
    }
    /// Its inputs are driven by the handle: "passage done" included.
    fn reports_passage_done(&self) -> bool {
        true
    }
    fn watch_inputs(&self, inputs: mpsc::Sender<TurnstileInput>) {
        *self.inputs.lock().unwrap_or_else(PoisonError::into_inner) = Some(inputs);
    }
}

impl SimTurnstileHandle {
    pub fn pulses(&self) -> Vec<PulseRecord> {
        self.pulses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// Drives an input as the turnstile would; false when nobody watches the inputs.
    pub async fn input(&self, input: TurnstileInput) -> bool {
        let tx = self
            .inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match tx {
            Some(tx) => tx.send(input).await.is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sim_reader_yields_what_is_presented_and_records_feedback() {
        let (reader, handle) = SimReader::new("r1");
        let (tx, mut rx) = mpsc::channel(8);
        let fb = Reader::feedback(&reader).unwrap();
        let task = tokio::spawn(Box::new(reader).run(tx));
        assert!(handle.present("0400A1").await);
        fb.verdict(true);
        fb.open(300);
        fb.verdict(false);
        assert_eq!(
            handle.feedback(),
            [
                FeedbackRecord::Pass,
                FeedbackRecord::Open(300),
                FeedbackRecord::Deny
            ]
        );
        let ev = rx.recv().await;
        assert_eq!(
            ev,
            Some(ReaderEvent::Credential {
                reader: "r1".into(),
                credential: "0400A1".into()
            })
        );
        drop(handle);
        assert!(task.await.is_ok_and(|r| r.is_ok()));
    }

    #[tokio::test]
    async fn line_reader_follows_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reads");
        std::fs::write(&path, "AA11\n\n  BB22 \n").unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        tokio::spawn(Box::new(LineReader::new("r", &path)).run(tx));
        let mut got = Vec::new();
        for _ in 0..2 {
            if let Some(ReaderEvent::Credential { credential, .. }) = rx.recv().await {
                got.push(credential);
            }
        }
        assert_eq!(got, ["AA11", "BB22"]);
        // Lines appended later are read too.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "CC33").unwrap();
        let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .unwrap();
        assert_eq!(
            ev,
            Some(ReaderEvent::Credential {
                reader: "r".into(),
                credential: "CC33".into()
            })
        );
    }

    #[tokio::test]
    async fn line_reader_reads_a_named_pipe_across_writers_and_stops_when_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reader.fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
        let (tx, mut rx) = mpsc::channel(8);
        let task = tokio::spawn(Box::new(LineReader::new("r", &path)).run(tx));
        for badge in ["AA11", "BB22"] {
            // Each writer opens, writes one line and leaves, as `echo BADGE > fifo` does.
            let p = path.clone();
            let b = badge.to_owned();
            tokio::task::spawn_blocking(move || std::fs::write(p, format!("{b}\n")).unwrap())
                .await
                .unwrap();
            let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .unwrap();
            assert_eq!(
                ev,
                Some(ReaderEvent::Credential {
                    reader: "r".into(),
                    credential: badge.into()
                })
            );
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
    }

    #[tokio::test]
    async fn sim_turnstile_records_and_logs_pulses_and_reports_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("pulses.log");
        let (t, h) = SimTurnstile::new("t1", Some(log.clone()), false).unwrap();
        t.pulse("ligne-1/7", 300).await.unwrap();
        assert_eq!(h.pulses().len(), 1);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "ligne-1/7\t300\n");
        assert!(
            !h.input(TurnstileInput::EmergencyOn).await,
            "nobody watches yet"
        );
        let (tx, mut rx) = mpsc::channel(4);
        t.watch_inputs(tx);
        assert!(h.input(TurnstileInput::EmergencyOn).await);
        assert_eq!(rx.recv().await, Some(TurnstileInput::EmergencyOn));
    }
}
