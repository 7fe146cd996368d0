//! The gate at work: reads come in from the readers, the engine decides, the writer commits,
//! and only then the turnstile is pulsed (commit before open).
//!
//! ```text
//! readers ──ReaderEvent──▶ decision loop ──enqueue──▶ writer thread (group commit)
//!                              │ (decide + apply in memory)          │ ack
//!                              └──────────▶ post-commit task ◀───────┘
//!                                           publish to kiosk, then pulse on a pass
//! ```
//!
//! Decisions are taken one at a time, each seeing the effects of the ones before (applied in
//! memory before the commit), so two quick reads of one pupil on two readers cannot both pass.
//! If the commit fails, the effect is reverted and the pupil is refused ("not recorded"):
//! nobody goes through unrecorded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::{broadcast, mpsc};

use selfgate_hardware::{
    HealthHandle, Reader, ReaderAlarm, ReaderEvent, ReaderFeedback, ReaderHealth, Turnstile,
    TurnstileInput,
};
use selfgate_rules::journal::{
    Alarm, AlarmKind, Correction, CorrectionKind, Event, EventKind, EventRef, Passage, Reason,
    Verdict,
};
use selfgate_rules::model::{Credential, Opposition, Person, PersonId, ServiceId};
use selfgate_rules::{Engine, ManualRefusal};

use crate::config::Config;
use crate::infra::clock::Clock;
use crate::store::{Pending, StoreError, WriteOp, WriteOutcome, Writer};

/// What the running daemon committed, announced after the commit to whoever listens
/// ([`Shared::subscribe`]): the kiosk's live feed, the sync, the exchanges.
#[derive(Clone, Debug)]
pub enum Change {
    /// A journal event of this process (passage, correction, credit, alarm), with its sequence.
    Event(Event),
    Person(Person),
    Credential(Credential),
    Opposition(Opposition),
}

/// A decision as the feed keeps it: where and when, and the passage (words are the kiosk's).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub gate: String,
    /// The journal's sequence number; `None` when it could not be recorded.
    pub seq: Option<u64>,
    pub at: DateTime<Utc>,
    pub passage: Passage,
}

/// Changes a slow listener may fall behind by before it is told it lagged.
const CHANGES_BACKLOG: usize = 4096;

/// State shared by the decision loop, the kiosk and the demo.
pub struct Shared {
    /// Read through [`Shared::config`]; a reload swaps it ([`Shared::set_config`]).
    config: RwLock<Arc<Config>>,
    pub engine: RwLock<Engine>,
    pub clock: Arc<dyn Clock>,
    recent: Mutex<VecDeque<Recorded>>,
    denied: Mutex<HashMap<(NaiveDate, ServiceId, Reason), u64>>,
    readers: Mutex<HashMap<String, bool>>,
    /// The drivers' health of the readers that keep one (online, last frame, counters).
    reader_health: Mutex<BTreeMap<String, HealthHandle>>,
    /// The turnstile output's last pulses.
    turnstile: Mutex<TurnstileHealth>,
    updated: Mutex<DateTime<Utc>>,
    emergency: AtomicBool,
    store_ok: AtomicBool,
    /// The store writer's counters (its `stopped` flag), once a gate runs on it.
    writer: std::sync::OnceLock<Arc<crate::store::WriterStats>>,
    /// The school day the anti-passback state was last trimmed to.
    trimmed_to: Mutex<Option<NaiveDate>>,
    /// Passages committed since start, and reads merged by the debounce.
    pub counters: Counters,
    changes: broadcast::Sender<Change>,
    /// A staff member waiting for the next read to enrol it (reader, or any).
    capture: Mutex<Option<(Option<String>, tokio::sync::oneshot::Sender<String>)>>,
    /// Held for reading from a decision until its passage is queued to the writer; held for
    /// writing by [`GateHandle::settle`], which needs no passage to be decided but uncommitted.
    decisions: tokio::sync::RwLock<()>,
}

#[derive(Default)]
pub struct Counters {
    pub passes: std::sync::atomic::AtomicU64,
    pub denials: std::sync::atomic::AtomicU64,
    pub repeats: std::sync::atomic::AtomicU64,
    pub not_recorded: std::sync::atomic::AtomicU64,
    /// Passes corrected as "not passed" (nobody went through before the timeout).
    pub not_passed: std::sync::atomic::AtomicU64,
}

const FEED_LEN: usize = 200;

/// The turnstile output as the gate saw it: its pulses and how the last one went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TurnstileHealth {
    /// When the last pulse was sent.
    pub last_pulse: Option<DateTime<Utc>>,
    /// Whether the last pulse could be driven (`None` before the first).
    pub last_pulse_ok: Option<bool>,
    pub pulses_ok: u64,
    pub pulses_failed: u64,
}

impl Shared {
    pub fn new(config: Config, engine: Engine, clock: Arc<dyn Clock>) -> Arc<Shared> {
        let now = clock.now();
        Arc::new(Shared {
            config: RwLock::new(Arc::new(config)),
            engine: RwLock::new(engine),
            clock,
            recent: Mutex::new(VecDeque::new()),
            denied: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
            reader_health: Mutex::new(BTreeMap::new()),
            turnstile: Mutex::new(TurnstileHealth::default()),
            updated: Mutex::new(now),
            emergency: AtomicBool::new(false),
            store_ok: AtomicBool::new(true),
            writer: std::sync::OnceLock::new(),
            trimmed_to: Mutex::new(None),
            counters: Counters::default(),
            changes: broadcast::channel(CHANGES_BACKLOG).0,
            capture: Mutex::new(None),
            decisions: tokio::sync::RwLock::new(()),
        })
    }

    /// Every change committed from now on, in commit order. A listener more than
    /// `CHANGES_BACKLOG` changes behind gets `RecvError::Lagged` and must resynchronise.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn announce(&self, change: Change) {
        // No listener is not an error.
        let _ = self.changes.send(change);
    }

    /// Announces what a commit of `ops` did (their outcomes in the same order).
    fn announce_commit(&self, ops: &[WriteOp], outcomes: &[WriteOutcome]) {
        for op in ops {
            match op {
                WriteOp::PutPerson(p) => self.announce(Change::Person(p.clone())),
                WriteOp::PutCredential(c) => self.announce(Change::Credential(c.clone())),
                WriteOp::PutOpposition(o) => self.announce(Change::Opposition(o.clone())),
                WriteOp::Append { .. }
                | WriteOp::SetMeta { .. }
                | WriteOp::Anonymise { .. }
                | WriteOp::Merge(_)
                | WriteOp::SetBalance { .. }
                | WriteOp::SetServed { .. }
                | WriteOp::SeqFloor { .. }
                | WriteOp::PutGuardian(_)
                | WriteOp::DeleteGuardian(_)
                | WriteOp::PurgeGuardians { .. } => {}
            }
        }
        for o in outcomes {
            if let WriteOutcome::Appended(e) = o {
                self.announce(Change::Event((**e).clone()));
            }
        }
    }

    /// The configuration in force (a reload may replace it: take it once per use).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts a reloaded configuration in force: the engine's rules and what the kiosk and the
    /// pulses read, together. Call it between two reads (the gate loop does).
    pub fn set_config(&self, config: Config) {
        let mut engine = self.engine_mut();
        engine.set_rules(config.rules.clone());
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    pub fn engine(&self) -> std::sync::RwLockReadGuard<'_, Engine> {
        self.engine.read().unwrap_or_else(PoisonError::into_inner)
    }
    fn engine_mut(&self) -> std::sync::RwLockWriteGuard<'_, Engine> {
        self.engine.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Denials by reason for a service of a day.
    pub fn denied_on(&self, day: NaiveDate, service: ServiceId) -> Vec<(Reason, u64)> {
        let d = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(Reason, u64)> = Reason::ALL
            .into_iter()
            .filter_map(|r| d.get(&(day, service, r)).map(|n| (r, *n)))
            .collect();
        out.sort_by_key(|x| std::cmp::Reverse(x.1));
        out
    }

    /// The latest committed (or refused unrecorded) decisions, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Recorded> {
        let r = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        r.iter().take(limit).cloned().collect()
    }

    /// When a decision last reached the feed.
    pub fn updated(&self) -> DateTime<Utc> {
        *self.updated.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the turnstile's emergency input is active.
    pub fn emergency(&self) -> bool {
        self.emergency.load(Ordering::Relaxed)
    }

    /// Whether the store records: false after a failed commit (until one succeeds), and for
    /// good once the writer thread has stopped.
    pub fn store_ok(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed) && !self.writer_stopped()
    }

    /// Whether the store's writer thread has ended: nothing can be recorded any more.
    pub fn writer_stopped(&self) -> bool {
        self.writer
            .get()
            .is_some_and(|w| w.stopped.load(Ordering::SeqCst))
    }

    /// Each reader's state as the gate's loop saw it last: online or not, by name.
    pub fn readers_online(&self) -> HashMap<String, bool> {
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The next credential read (at `reader`, or at any reader when `None`) is handed to the
    /// returned receiver instead of being decided: enrolling a badge by presenting it.
    pub fn capture_next_read(
        &self,
        reader: Option<String>,
    ) -> tokio::sync::oneshot::Receiver<String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *self.capture.lock().unwrap_or_else(PoisonError::into_inner) = Some((reader, tx));
        rx
    }

    /// Whether a staff member waits for the next read ([`Shared::capture_next_read`]).
    pub fn capturing(&self) -> bool {
        self.capture
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|(_, tx)| !tx.is_closed())
    }

    /// The read is taken by a pending [`Shared::capture_next_read`].
    fn captured(&self, reader: Option<&str>, credential: &str) -> bool {
        let mut c = self.capture.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted = match c.as_ref() {
            Some((want, tx)) => {
                !tx.is_closed() && want.as_deref().is_none_or(|w| Some(w) == reader)
            }
            None => false,
        };
        if !wanted {
            if c.as_ref().is_some_and(|(_, tx)| tx.is_closed()) {
                *c = None;
            }
            return false;
        }
        c.take()
            .is_some_and(|(_, tx)| tx.send(credential.to_owned()).is_ok())
    }

    fn publish(&self, gate: &str, seq: Option<u64>, at: DateTime<Utc>, p: &Passage) {
        let item = Recorded {
            gate: gate.to_owned(),
            seq,
            at,
            passage: p.clone(),
        };
        {
            let mut r = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            r.push_front(item);
            r.truncate(FEED_LEN);
        }
        if p.verdict == Verdict::Deny {
            if let Some(service) = p.service {
                *self
                    .denied
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry((p.day, service, p.reason))
                    .or_default() += 1;
            }
        }
        *self.updated.lock().unwrap_or_else(PoisonError::into_inner) = self.clock.now();
    }

    /// On the first read of a new school day, forgets the anti-passback state of days before
    /// yesterday (the store keeps it; memory holds what the decision needs).
    fn trim_served(&self, engine: &mut Engine, day: NaiveDate) {
        let mut t = self
            .trimmed_to
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *t != Some(day) {
            engine
                .served_mut()
                .forget_before(day.pred_opt().unwrap_or(day));
            *t = Some(day);
        }
    }

    /// Each reader's health as its driver keeps it, by name (readers without one are absent).
    pub fn reader_health(&self) -> BTreeMap<String, ReaderHealth> {
        self.reader_health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, h)| (name.clone(), h.snapshot()))
            .collect()
    }

    /// The turnstile output's health.
    pub fn turnstile_health(&self) -> TurnstileHealth {
        self.turnstile
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn pulsed(&self, ok: bool) {
        let mut t = self
            .turnstile
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        t.last_pulse = Some(self.clock.now());
        t.last_pulse_ok = Some(ok);
        if ok {
            t.pulses_ok += 1;
        } else {
            t.pulses_failed += 1;
        }
        crate::infra::telemetry::turnstile_pulse(ok);
    }

    /// Persons whose forfait covers `service` on `day` and who are not blocked.
    pub fn expected(&self, day: NaiveDate, service: ServiceId) -> u64 {
        self.engine().roster().expected(day, service).count() as u64
    }
}

/// The hardware a gate drives, handed to [`run`].
pub struct Hardware {
    pub readers: Vec<Box<dyn Reader>>,
    pub turnstile: Arc<dyn Turnstile>,
}

struct PostCommit {
    passage: Passage,
    at: DateTime<Utc>,
    pending: Pending,
    /// The reader the credential came from (none for a staff action): it shows the decision.
    reader: Option<String>,
}

/// Submits passages and alarms for this gate; used by the decision loop and by staff actions.
#[derive(Clone)]
pub struct GateHandle {
    shared: Arc<Shared>,
    /// This gate's id (fixed for the process: changing it needs a restart).
    gate: Arc<str>,
    writer: Writer,
    post: mpsc::Sender<PostCommit>,
}

impl GateHandle {
    fn gate(&self) -> &str {
        &self.gate
    }

    /// A credential read now: debounce, decide, apply, queue for commit and pulse.
    pub async fn read(&self, credential: &str) {
        self.read_on(None, credential).await;
    }

    /// A credential read now on `reader`, which is then shown the decision (LED, buzzer).
    pub async fn read_on(&self, reader: Option<&str>, credential: &str) {
        if self.shared.captured(reader, credential) {
            return;
        }
        let _deciding = self.shared.decisions.read().await;
        let at = self.shared.clock.now();
        let passage = {
            let mut e = self.shared.engine_mut();
            if e.is_repeat(self.gate(), credential, at) {
                e.note_seen(self.gate(), credential, at);
                self.shared.counters.repeats.fetch_add(1, Ordering::Relaxed);
                crate::infra::telemetry::repeat();
                return;
            }
            e.note_seen(self.gate(), credential, at);
            let started = std::time::Instant::now();
            let p = e.decide(self.gate(), credential, at);
            self.shared.trim_served(&mut e, p.day);
            e.apply_passage(&p, at);
            crate::infra::telemetry::decision_latency(started.elapsed());
            p
        };
        self.record(passage, at, reader.map(str::to_owned)).await;
    }

    /// Admits a person by hand (forgotten badge), journaled with who and why.
    /// A person admitted by hand (`second_meal`: past the anti-passback rule, by choice).
    pub async fn admit(
        &self,
        person: PersonId,
        by: &str,
        note: &str,
        second_meal: bool,
    ) -> Result<(), ManualRefusal> {
        let _deciding = self.shared.decisions.read().await;
        let at = self.shared.clock.now();
        let passage = {
            let mut e = self.shared.engine_mut();
            let p = if second_meal {
                e.admit_second_meal(self.gate(), person, at, by, note)?
            } else {
                e.admit_manual(self.gate(), person, at, by, note)?
            };
            e.apply_passage(&p, at);
            p
        };
        self.record(passage, at, None).await;
        Ok(())
    }

    /// Commits changes made while the gate runs — persons, badges, oppositions, credits —
    /// then applies them to the decision's state and announces them. Nothing is applied when
    /// the commit fails. (Passages go through [`GateHandle::read_on`] and
    /// [`GateHandle::admit`], which decide first.)
    pub async fn change(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, Arc<StoreError>> {
        let outcomes = self.writer.submit(ops.clone()).await?;
        {
            let mut e = self.shared.engine_mut();
            for op in &ops {
                match op {
                    WriteOp::PutPerson(p) => e.roster_mut().put_person(p.clone()),
                    WriteOp::PutCredential(c) => e.roster_mut().put_credential(c.clone()),
                    WriteOp::PutOpposition(o) => e.roster_mut().put_opposition(o.clone()),
                    WriteOp::SetBalance { person, cents } => {
                        e.roster_mut().set_balance(*person, *cents)
                    }
                    WriteOp::SetServed {
                        day,
                        service,
                        person,
                        count,
                        last_at,
                    } => e.served_mut().set(
                        *person,
                        *day,
                        *service,
                        selfgate_rules::ServedEntry {
                            count: *count,
                            last_at: *last_at,
                        },
                    ),
                    // A merged event's effects come with its outcome (`Appended`) below.
                    WriteOp::Append { .. }
                    | WriteOp::SetMeta { .. }
                    | WriteOp::Anonymise { .. }
                    | WriteOp::Merge(_)
                    | WriteOp::SeqFloor { .. }
                    | WriteOp::PutGuardian(_)
                    | WriteOp::DeleteGuardian(_)
                    | WriteOp::PurgeGuardians { .. } => {}
                }
            }
            for o in &outcomes {
                if let WriteOutcome::Appended(ev) = o {
                    e.apply(ev);
                }
            }
        }
        self.shared.announce_commit(&ops, &outcomes);
        Ok(outcomes)
    }

    /// Pauses decisions and waits until every passage decided so far is committed: while the
    /// returned guard lives, the store and the decision's state agree and stay still, so that
    /// writes computed from the journal (a hub's snapshot plus this gate's events it does not
    /// hold yet) cannot miss a passage made meanwhile. Reads wait meanwhile; keep it short.
    pub async fn settle(&self) -> Result<Settled<'_>, Arc<StoreError>> {
        let guard = self.shared.decisions.write().await;
        // The writer takes requests in order: once this empty one is answered, every passage
        // queued before it is.
        self.writer.submit(Vec::new()).await?;
        Ok(Settled { _guard: guard })
    }

    /// The state shared with the kiosk.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    async fn record(&self, passage: Passage, at: DateTime<Utc>, reader: Option<String>) {
        let pending = self
            .writer
            .enqueue(vec![WriteOp::Append {
                gate: self.gate().to_owned(),
                at,
                kind: EventKind::Passage(passage.clone()),
            }])
            .await;
        if let Err(mpsc::error::SendError(pc)) = self
            .post
            .send(PostCommit {
                passage,
                at,
                pending,
                reader,
            })
            .await
        {
            // The post-commit task has stopped (shutting down): wait for the commit here so
            // that the in-memory state stays true, but open nothing.
            if pc.pending.committed().await.is_err() {
                self.shared.engine_mut().revert_passage(&pc.passage, pc.at);
            }
        }
    }

    async fn alarm(&self, kind: AlarmKind, detail: &str) {
        let at = self.shared.clock.now();
        let op = WriteOp::Append {
            gate: self.gate().to_owned(),
            at,
            kind: EventKind::Alarm(Alarm {
                kind,
                detail: detail.to_owned(),
            }),
        };
        match self.writer.submit(vec![op]).await {
            Ok(outcomes) => self.shared.announce_commit(&[], &outcomes),
            Err(e) => tracing::error!("cannot journal alarm {kind:?}: {e}"),
        }
    }
}

/// Decisions paused, every decided passage committed ([`GateHandle::settle`]).
pub struct Settled<'a> {
    _guard: tokio::sync::RwLockWriteGuard<'a, ()>,
}

/// A gate ready to run: the handle (for staff actions) and the queue of passages waiting for
/// their commit.
pub struct Gate {
    handle: GateHandle,
    post_rx: mpsc::Receiver<PostCommit>,
    supervision: Supervision,
}

/// A function the gate's loop calls (a notification to systemd, a reload).
pub type Hook = Box<dyn FnMut() + Send>;

/// What `selfgate run` adds to the gate's loop (systemd); the demo runs without it.
#[derive(Default)]
pub struct Supervision {
    /// Called once the readers are started, just before the loop takes its first read.
    pub on_ready: Option<Box<dyn FnOnce() + Send>>,
    /// systemd's watchdog interval and the ping (`WATCHDOG=1`). The loop pings every half
    /// interval from a branch of its own `select!`, and only while the store writer answers:
    /// a loop stuck in a read or a writer stuck in a commit stops the pings.
    pub watchdog: Option<(Duration, Hook)>,
    /// Reload requests (SIGHUP); each runs the function between two reads, never during one.
    pub reload: Option<(mpsc::Receiver<()>, Hook)>,
    /// Test hook (`SELFGATE_FAULT_STALL_LOOP_AFTER_MS`): after this long the loop blocks its
    /// thread for good, as a gate stuck in a driver call would.
    pub stall_after: Option<Duration>,
}

/// Tells a stuck store writer from the counts of requests it was given and has answered.
struct WriterWatch {
    interval: Duration,
    /// (tick time, requests queued by then), oldest first.
    seen: VecDeque<(std::time::Instant, u64)>,
}

impl WriterWatch {
    /// Is a request queued at least `interval` before `now` still unanswered? The writer
    /// answers in queue order, so that is `answered` below what was queued back then.
    fn stuck(&mut self, now: std::time::Instant, answered: u64, queued: u64) -> bool {
        while self.seen.len() >= 2 && now - self.seen[1].0 >= self.interval {
            self.seen.pop_front();
        }
        let stuck = self
            .seen
            .front()
            .is_some_and(|(at, q)| now - *at >= self.interval && answered < *q);
        self.seen.push_back((now, queued));
        stuck
    }
}

/// The watchdog's side of the loop: its ticks, the ping, the writer it watches.
struct Liveness {
    ticks: tokio::time::Interval,
    ping: Hook,
    writer: Writer,
    watch: WriterWatch,
    stuck: bool,
}

impl Liveness {
    fn new(interval: Duration, ping: Hook, writer: Writer) -> Liveness {
        let period = (interval / 2).max(Duration::from_millis(1));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Liveness {
            ticks,
            ping,
            writer,
            watch: WriterWatch {
                interval,
                seen: VecDeque::new(),
            },
            stuck: false,
        }
    }

    /// On a tick of the loop: pings, unless the writer is stuck.
    fn tick(&mut self) {
        let stats = self.writer.stats();
        let answered = stats.answered.load(Ordering::Relaxed);
        let queued = stats.queued.load(Ordering::Relaxed);
        let stuck = self
            .watch
            .stuck(std::time::Instant::now(), answered, queued)
            || stats.stopped.load(Ordering::SeqCst);
        if stuck && !self.stuck {
            tracing::error!(
                "the store writer has left a commit waiting for over {:?}: no watchdog ping",
                self.watch.interval
            );
        }
        self.stuck = stuck;
        if !stuck {
            (self.ping)();
        }
    }
}

async fn next_tick(liveness: &mut Option<Liveness>) {
    match liveness {
        Some(l) => {
            l.ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn next_reload(reload: &mut Option<mpsc::Receiver<()>>) -> Option<()> {
    match reload {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The fault the stall hook injects: this thread blocks, the loop with it.
fn stall_forever() -> ! {
    tracing::warn!("SELFGATE_FAULT_STALL_LOOP_AFTER_MS: the decision loop blocks now (test hook)");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

impl Gate {
    pub fn new(shared: Arc<Shared>, writer: Writer) -> Gate {
        let _ = shared.writer.set(writer.stats_handle());
        let (post, post_rx) = mpsc::channel::<PostCommit>(4096);
        Gate {
            handle: GateHandle {
                gate: shared.config().gate.id.as_str().into(),
                shared,
                writer,
                post,
            },
            post_rx,
            supervision: Supervision::default(),
        }
    }

    pub fn handle(&self) -> GateHandle {
        self.handle.clone()
    }

    /// Adds systemd's readiness, watchdog and reloads to the loop.
    pub fn supervise(&mut self, supervision: Supervision) {
        self.supervision = supervision;
    }

    /// Runs the gate until `shutdown` completes; then drains what was queued (commits and their
    /// pulses) and returns.
    pub async fn run(self, hw: Hardware, shutdown: impl Future<Output = ()>) {
        let Gate {
            handle,
            post_rx,
            supervision,
        } = self;
        let shared = handle.shared.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        // Taken before the readers move into their tasks: each shows the decisions on its reads.
        let feedback: HashMap<String, Arc<dyn ReaderFeedback>> = hw
            .readers
            .iter()
            .filter_map(|r| Some((r.name().to_owned(), r.feedback()?)))
            .collect();
        let health: BTreeMap<String, HealthHandle> = hw
            .readers
            .iter()
            .filter_map(|r| Some((r.name().to_owned(), r.health()?)))
            .collect();
        *shared
            .reader_health
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = health.clone();
        // The readers' counters, for the metrics.
        let health_metrics = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                for (name, h) in &health {
                    crate::infra::telemetry::reader_health(name, &h.snapshot());
                }
            }
        });
        // Passes waiting for the turnstile's "passage done", when it reports one.
        let (watch_tx, watcher) = if hw.turnstile.reports_passage_done() {
            let (tx, rx) = mpsc::channel::<Watch>(1024);
            let task = tokio::spawn(passage_watch(
                shared.clone(),
                handle.writer.clone(),
                handle.gate.clone(),
                rx,
            ));
            (Some(tx), Some(task))
        } else {
            if shared.config().gate.passage_timeout_ms.is_some() {
                tracing::warn!(
                    "gate.passage_timeout_ms is set but the turnstile reports no \"passage done\": no timeout"
                );
            }
            (None, None)
        };
        let post = tokio::spawn(post_commit(
            shared.clone(),
            hw.turnstile.clone(),
            feedback,
            watch_tx.clone(),
            post_rx,
            stop.clone(),
        ));

        let (tx, mut reads) = mpsc::channel::<ReaderEvent>(1024);
        let mut reader_tasks = Vec::new();
        for reader in hw.readers {
            let name = reader.name().to_owned();
            shared
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.clone(), true);
            crate::infra::telemetry::reader_online(&name, true);
            let tx = tx.clone();
            let sh = shared.clone();
            reader_tasks.push(tokio::spawn(async move {
                if let Err(e) = reader.run(tx).await {
                    tracing::error!("reader {name} stopped: {e}");
                    crate::infra::telemetry::reader_online(&name, false);
                    sh.readers
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(name, false);
                }
            }));
        }
        drop(tx);
        let (in_tx, mut inputs) = mpsc::channel::<TurnstileInput>(16);
        hw.turnstile.watch_inputs(in_tx);

        let Supervision {
            on_ready,
            watchdog,
            reload,
            stall_after,
        } = supervision;
        let mut liveness =
            watchdog.map(|(interval, ping)| Liveness::new(interval, ping, handle.writer.clone()));
        let (mut reloads, mut reload_fn) = reload.unzip();
        let stall = async move {
            match stall_after {
                Some(after) => tokio::time::sleep(after).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(shutdown, stall);
        if let Some(ready) = on_ready {
            ready();
        }
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                // Before the reads, so that a flood of reads cannot starve the pings.
                () = next_tick(&mut liveness) => {
                    if let Some(l) = liveness.as_mut() {
                        l.tick();
                    }
                }
                Some(()) = next_reload(&mut reloads) => {
                    if let Some(reload) = reload_fn.as_mut() {
                        reload();
                    }
                }
                () = &mut stall => stall_forever(),
                Some(input) = inputs.recv() => match input {
                    TurnstileInput::EmergencyOn => {
                        shared.emergency.store(true, Ordering::Relaxed);
                        crate::infra::telemetry::emergency(true);
                        handle.alarm(AlarmKind::EmergencyOn, "entrée d'urgence active").await;
                    }
                    TurnstileInput::EmergencyOff => {
                        shared.emergency.store(false, Ordering::Relaxed);
                        crate::infra::telemetry::emergency(false);
                        handle.alarm(AlarmKind::EmergencyOff, "entrée d'urgence relâchée").await;
                    }
                    TurnstileInput::PassageDone => {
                        if let Some(w) = &watch_tx {
                            let _ = w.send(Watch::Done).await;
                        }
                    }
                },
                Some(ev) = reads.recv() => match ev {
                    ReaderEvent::Credential { reader, credential } => {
                        handle.read_on(Some(&reader), &credential).await;
                    }
                    ReaderEvent::Status { reader, online } => {
                        crate::infra::logs::reader_status(&reader, online);
                        crate::infra::telemetry::reader_online(&reader, online);
                        shared.readers.lock().unwrap_or_else(PoisonError::into_inner).insert(reader, online);
                    }
                    ReaderEvent::Alarm { reader, alarm, active } => {
                        let (kind, what) = match (alarm, active) {
                            (ReaderAlarm::Tamper, true) => (AlarmKind::ReaderTamperOn, "autoprotection déclenchée"),
                            (ReaderAlarm::Tamper, false) => (AlarmKind::ReaderTamperOff, "autoprotection revenue à la normale"),
                            (ReaderAlarm::Power, true) => (AlarmKind::ReaderPowerFailure, "défaut d'alimentation"),
                            (ReaderAlarm::Power, false) => (AlarmKind::ReaderPowerRestored, "alimentation revenue"),
                        };
                        handle.alarm(kind, &format!("lecteur {reader} : {what}")).await;
                    }
                },
            }
        }
        for t in reader_tasks {
            t.abort();
        }
        health_metrics.abort();
        stop.notify_one();
        let _ = post.await;
        drop(watch_tx);
        if let Some(w) = watcher {
            let _ = w.await;
        }
    }
}

/// A granted passage waiting for the turnstile's "passage done".
struct Opened {
    refers_to: EventRef,
    person: PersonId,
    service: ServiceId,
    day: NaiveDate,
    refund_cents: i64,
    deadline: tokio::time::Instant,
}

enum Watch {
    /// The turnstile was pulsed for this pass.
    Opened(Opened),
    /// The "passage done" input: the oldest waiting pass went through.
    Done,
}

/// Matches "passage done" inputs to the passes in the order they were opened; a pass still
/// waiting at its deadline gets a `not_passed` correction: its charge refunded and its
/// anti-passback count freed, in the store (through the writer) and then in memory.
async fn passage_watch(
    shared: Arc<Shared>,
    writer: Writer,
    gate: Arc<str>,
    mut rx: mpsc::Receiver<Watch>,
) {
    let mut waiting: VecDeque<Opened> = VecDeque::new();
    loop {
        let deadline = waiting.front().map(|o| o.deadline);
        let expired = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Watch::Opened(o)) => waiting.push_back(o),
                Some(Watch::Done) => {
                    if waiting.pop_front().is_none() {
                        tracing::debug!("passage done with no granted passage waiting");
                    }
                }
                None => break,
            },
            () = expired => {
                if let Some(o) = waiting.pop_front() {
                    not_passed(&shared, &writer, &gate, o).await;
                }
            }
        }
    }
    if !waiting.is_empty() {
        tracing::info!(
            "stopping with {} granted passage(s) still waiting for \"passage done\": kept as passed",
            waiting.len()
        );
    }
}

async fn not_passed(shared: &Shared, writer: &Writer, gate: &str, o: Opened) {
    let timeout = shared.config().gate.passage_timeout_ms.unwrap_or(0);
    let name = format!("{}/{}", o.refers_to.gate, o.refers_to.seq);
    let correction = Correction {
        refers_to: o.refers_to,
        kind: CorrectionKind::NotPassed,
        person: o.person,
        service: o.service,
        day: o.day,
        refund_cents: o.refund_cents,
        by: None,
        note: format!("pas de passage dans les {timeout} ms"),
    };
    let op = WriteOp::Append {
        gate: gate.to_owned(),
        at: shared.clock.now(),
        kind: EventKind::Correction(correction.clone()),
    };
    match writer.submit(vec![op]).await {
        Ok(outcomes) => {
            shared.engine_mut().apply_correction(&correction);
            shared.announce_commit(&[], &outcomes);
            shared.counters.not_passed.fetch_add(1, Ordering::Relaxed);
            tracing::info!("passage {name}: nobody went through, not_passed (charge refunded)");
        }
        Err(e) => tracing::error!("cannot journal the not_passed correction of {name}: {e}"),
    }
}

async fn post_commit(
    shared: Arc<Shared>,
    turnstile: Arc<dyn Turnstile>,
    feedback: HashMap<String, Arc<dyn ReaderFeedback>>,
    watch: Option<mpsc::Sender<Watch>>,
    mut rx: mpsc::Receiver<PostCommit>,
    stop: Arc<tokio::sync::Notify>,
) {
    loop {
        let next = tokio::select! {
            biased;
            next = rx.recv() => next,
            () = stop.notified() => {
                // Take nothing new; finish what is queued.
                rx.close();
                rx.recv().await
            }
        };
        let Some(PostCommit {
            passage,
            at,
            pending,
            reader,
        }) = next
        else {
            break;
        };
        // The reader the credential came from shows the decision (after the commit, as the
        // turnstile opens: a refused commit shows red).
        let shown = reader.as_deref().and_then(|r| feedback.get(r));
        match pending.committed().await {
            Ok(outcomes) => {
                shared.store_ok.store(true, Ordering::Relaxed);
                let event: Option<&Event> = outcomes.iter().find_map(|o| match o {
                    WriteOutcome::Appended(e) => Some(&**e),
                    WriteOutcome::Done
                    | WriteOutcome::Purged { .. }
                    | WriteOutcome::GuardiansPurged(_) => None,
                });
                let (gate, seq) = event.map_or((shared.config().gate.id.clone(), 0), |e| {
                    (e.gate.clone(), e.seq)
                });
                shared.publish(&gate, Some(seq), at, &passage);
                if let Some(e) = event {
                    shared.announce(Change::Event(e.clone()));
                }
                crate::infra::telemetry::decision(passage.verdict, passage.reason);
                crate::infra::logs::decision(&shared.config(), &gate, Some(seq), &passage);
                if let Some(fb) = shown {
                    fb.verdict(passage.verdict == Verdict::Pass);
                }
                if passage.verdict == Verdict::Pass {
                    shared.counters.passes.fetch_add(1, Ordering::Relaxed);
                    let pulse_ms = shared.config().gate.pulse_ms;
                    if let Some(fb) = shown {
                        fb.open(pulse_ms);
                    }
                    if let (Some(w), Some(timeout)) =
                        (&watch, shared.config().gate.passage_timeout_ms)
                    {
                        if let (Some(person), Some(service)) = (passage.person, passage.service) {
                            let opened = Opened {
                                refers_to: EventRef {
                                    gate: gate.clone(),
                                    seq,
                                },
                                person,
                                service,
                                day: passage.day,
                                refund_cents: passage.charge_cents,
                                deadline: tokio::time::Instant::now()
                                    + Duration::from_millis(u64::from(timeout)),
                            };
                            let _ = w.send(Watch::Opened(opened)).await;
                        }
                    }
                    let pulse = turnstile.pulse(&format!("{gate}/{seq}"), pulse_ms).await;
                    shared.pulsed(pulse.is_ok());
                    if let Err(e) = pulse {
                        tracing::error!("turnstile pulse failed for {gate}/{seq}: {e}");
                    }
                } else {
                    shared.counters.denials.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::error!("passage not recorded, refused: {e}");
                shared.store_ok.store(false, Ordering::Relaxed);
                shared.counters.not_recorded.fetch_add(1, Ordering::Relaxed);
                shared.engine_mut().revert_passage(&passage, at);
                let mut refused = passage.clone();
                refused.verdict = Verdict::Deny;
                refused.reason = Reason::NotRecorded;
                crate::infra::telemetry::decision(refused.verdict, refused.reason);
                crate::infra::logs::decision(
                    &shared.config(),
                    &shared.config().gate.id,
                    None,
                    &refused,
                );
                shared.publish(&shared.config().gate.id, None, at, &refused);
                if let Some(fb) = shown {
                    fb.verdict(false);
                }
            }
        }
    }
}

#[cfg(test)]
mod watchdog_tests {
    use super::*;

    #[test]
    fn a_commit_waiting_longer_than_the_interval_means_a_stuck_writer() {
        let t0 = std::time::Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut w = WriterWatch {
            interval: Duration::from_millis(400),
            seen: VecDeque::new(),
        };
        // Ticks every 200 ms; a writer keeping up answers what was queued.
        assert!(!w.stuck(ms(0), 0, 0));
        assert!(!w.stuck(ms(200), 3, 5));
        assert!(!w.stuck(ms(400), 5, 9));
        assert!(!w.stuck(ms(600), 9, 9));
        // From here the writer answers nothing more; request 10 is queued at 700 ms.
        assert!(!w.stuck(ms(800), 9, 10));
        assert!(!w.stuck(ms(1000), 9, 10), "waiting 300 ms at most: not yet");
        assert!(
            w.stuck(ms(1200), 9, 10),
            "queued by 800 ms, unanswered at 1200"
        );
        assert!(w.stuck(ms(1400), 9, 12));
        // It answers again.
        assert!(!w.stuck(ms(1600), 12, 12));
        assert!(!w.stuck(ms(1800), 12, 12));
    }

    #[test]
    fn an_idle_writer_is_not_stuck() {
        let t0 = std::time::Instant::now();
        let mut w = WriterWatch {
            interval: Duration::from_secs(10),
            seen: VecDeque::new(),
        };
        for i in 0..100 {
            assert!(!w.stuck(t0 + Duration::from_secs(5 * i), 7, 7));
        }
        assert!(
            w.seen.len() <= 3,
            "the history stays short: {}",
            w.seen.len()
        );
    }
}
