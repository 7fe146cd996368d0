//! A gate's side of the sync. Offline first: the gate decides from its own state whatever
//! happens here; this loop only exchanges with the hub when it can.
//!
//! One session: connect (TLS, client certificate), ask the hub how far it holds this gate's
//! journal (`/v1/events/ack`), catch the roster up (snapshot the first time, then the change
//! log), open the live stream, and push the journal from the acknowledged sequence on, woken by
//! each new local event. Any failure ends the session; the next one starts after a backoff
//! (200 ms doubling to 5 s). The journal is the outbox: nothing is deleted, the acknowledged
//! sequence is kept in meta (`sync/acked`), the change-log version with the changes it covers
//! (`sync/version`, same commit), and the hub's rules (`sync/rules`) for an offline restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use http_body_util::BodyExt;
use hyper::Method;
use tokio::sync::broadcast;

use selfgate_rules::journal::{EventKind, Verdict, epoch_of, next_epoch_floor};
use selfgate_rules::model::{PersonId, ServiceId};

use super::SyncState;
use super::http::{Conn, Endpoint, HttpError};
use super::proto::{self, Ack, Change, Changes, Live, SiteRules, Snapshot};
use crate::node::gate::{self, GateHandle};
use crate::store::{Store, StoreError, WriteOp};

const META_VERSION: &str = "sync/version";
const META_ACKED: &str = "sync/acked";
const META_RULES: &str = "sync/rules";
/// Written by `selfgate restore`; copied to `RESTORED_SEEN` once the hub was asked or a new
/// epoch of numbers started.
const RESTORED: &str = "restored";
const RESTORED_SEEN: &str = "sync/restored";
/// The hub sends a heartbeat every 3 s: a live stream silent this long is dead.
const LIVE_SILENCE: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("stockage local : {0}")]
    Store(String),
    #[error("{0}")]
    Protocol(String),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e.to_string())
    }
}
impl From<Arc<StoreError>> for SyncError {
    fn from(e: Arc<StoreError>) -> Self {
        SyncError::Store(e.to_string())
    }
}

/// A gate's sync.
#[derive(Clone)]
pub struct Client {
    handle: GateHandle,
    store: Store,
    endpoint: Endpoint,
    batch: usize,
    state: Arc<SyncState>,
    gate: String,
}

/// What one roster catch-up did (the benchmark prints it).
#[derive(Clone, Debug, Default)]
pub struct RosterSync {
    pub full: bool,
    pub changes: usize,
    pub bytes: usize,
    pub version: u64,
}

fn meta_u64(store: &Store, key: &str) -> Result<u64, StoreError> {
    Ok(store
        .meta(key)?
        .and_then(|v| v.try_into().ok().map(u64::from_le_bytes))
        .unwrap_or(0))
}

fn set_u64(key: &str, v: u64) -> WriteOp {
    WriteOp::SetMeta {
        key: key.into(),
        value: v.to_le_bytes().to_vec(),
    }
}

/// Whether `selfgate restore` ran since this node last dealt with it (asked the hub, or started
/// a new epoch of numbers).
pub fn restore_pending(store: &Store) -> bool {
    match store.meta(RESTORED) {
        Ok(Some(m)) => store.meta(RESTORED_SEEN).ok().flatten() != Some(m),
        _ => false,
    }
}

/// The writes that start the next epoch of `gate`'s numbers after a restore nobody could
/// reconcile (a gate whose hub is out of reach, or the hub itself), and mark the restore dealt
/// with.
pub fn new_epoch_after_restore(store: &Store, gate: &str) -> Result<Vec<WriteOp>, StoreError> {
    let last = store.last_seqs()?.get(gate).copied().unwrap_or(0);
    let mut ops = vec![WriteOp::SeqFloor {
        gate: gate.to_owned(),
        seq: next_epoch_floor(last),
    }];
    if let Some(marker) = store.meta(RESTORED)? {
        ops.push(WriteOp::SetMeta {
            key: RESTORED_SEEN.into(),
            value: marker,
        });
    }
    Ok(ops)
}

impl Client {
    pub fn new(
        handle: GateHandle,
        store: Store,
        endpoint: Endpoint,
        batch: usize,
        state: Arc<SyncState>,
    ) -> Client {
        let gate = handle.shared().config().gate.id.clone();
        Client {
            handle,
            store,
            endpoint,
            batch: batch.clamp(1, proto::MAX_BATCH),
            state,
            gate,
        }
    }

    /// The endpoint of `config` (`sync.hub`, the authority, this gate's certificate).
    pub fn endpoint(config: &super::SyncConfig) -> Result<Endpoint, crate::infra::tls::TlsError> {
        let (host, port) = config.hub.clone().unwrap_or_default();
        let tls = crate::infra::tls::client_config(
            &config.tls.ca,
            Some((&config.tls.cert, &config.tls.key)),
        )?;
        Ok(Endpoint { host, port, tls })
    }

    /// Puts the hub's rules kept from the last session in force (an offline start).
    pub fn load_kept_rules(&self) {
        if let Ok(Some(bytes)) = self.store.meta(META_RULES) {
            if let Ok(rules) = proto::decode::<SiteRules>(&bytes) {
                self.apply_rules(&rules, false);
            }
        }
    }

    fn apply_rules(&self, rules: &SiteRules, keep: bool) -> Option<WriteOp> {
        let shared = self.handle.shared();
        let config = shared.config();
        if rules.same_as(&config.rules) {
            return None;
        }
        let mut new = (*config).clone();
        new.rules.services = rules.services.clone();
        new.rules.closures = rules.closures.clone();
        new.rules.tariffs = rules.tariffs.clone();
        shared.set_config(new);
        tracing::info!("sync: the hub's services, closures and tariffs are in force");
        keep.then(|| WriteOp::SetMeta {
            key: META_RULES.into(),
            value: proto::encode(rules),
        })
    }

    /// This gate's events the hub has not acknowledged.
    fn pending(&self, acked: u64) -> u64 {
        let last = self
            .store
            .last_seqs()
            .ok()
            .and_then(|s| s.get(&self.gate).copied())
            .unwrap_or(0);
        if epoch_of(last) == epoch_of(acked) {
            last.saturating_sub(acked)
        } else {
            // A new epoch since the hub's acknowledgement (restored offline): counted.
            self.store
                .journal_count_after(&self.gate, acked)
                .unwrap_or(0)
        }
    }

    fn show_pending(&self) {
        let acked = meta_u64(&self.store, META_ACKED).unwrap_or(0);
        let n = self.pending(acked);
        self.state.update(|s| s.events_waiting = n);
    }

    /// Runs sessions until `shutdown`, with backoff between them.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        self.load_kept_rules();
        self.show_pending();
        let mut wake = self.handle.shared().subscribe();
        let mut backoff = BACKOFF_MIN;
        tokio::pin!(shutdown);
        loop {
            let started = std::time::Instant::now();
            let r = tokio::select! {
                () = &mut shutdown => return,
                r = self.session(&mut wake) => r,
            };
            self.state.update(|s| s.connected = false);
            if let Err(e) = r {
                tracing::warn!("sync: {e}; nouvel essai dans {backoff:?}");
            }
            if started.elapsed() > Duration::from_secs(30) {
                backoff = BACKOFF_MIN;
            }
            let until = tokio::time::Instant::now() + backoff;
            loop {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep_until(until) => break,
                    r = wake.recv() => {
                        if matches!(r, Err(broadcast::error::RecvError::Closed)) {
                            return;
                        }
                        self.show_pending();
                    }
                }
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Asks the hub how far it holds this gate's journal. When it holds more than the local
    /// journal (a restore put an older journal back), numbering goes on after the hub's.
    pub async fn reconcile(&self, conn: &mut Conn) -> Result<u64, SyncError> {
        let (ack, _) = conn
            .json::<Ack>(Method::GET, "/v1/events/ack", None)
            .await?;
        let last = self
            .store
            .last_seqs()?
            .get(&self.gate)
            .copied()
            .unwrap_or(0);
        let mut ops = vec![set_u64(META_ACKED, ack.acked)];
        if let Some(marker) = self.store.meta(RESTORED)? {
            ops.push(WriteOp::SetMeta {
                key: RESTORED_SEEN.into(),
                value: marker,
            });
        }
        if ack.acked > last {
            tracing::warn!(
                "sync: the hub holds this gate's journal up to {} and the local one stops at \
                 {last} (restored?): numbering goes on after {}",
                ack.acked,
                ack.acked
            );
            ops.push(WriteOp::SeqFloor {
                gate: self.gate.clone(),
                seq: ack.acked,
            });
        }
        self.handle.change(ops).await?;
        Ok(ack.acked)
    }

    /// Whether a restore happened since the hub was last asked about this gate's numbering.
    pub fn restore_pending(&self) -> bool {
        restore_pending(&self.store)
    }

    /// After a restore, before the gate starts: tries to reach the hub within `within` to carry
    /// numbering on after the hub's. Out of reach, starts a new epoch of numbers instead, so
    /// that no event journaled meanwhile takes a number the hub may already hold for another
    /// one (the hub takes the jump). The gate starts either way.
    pub async fn reconcile_at_start(&self, within: Duration) {
        let work = async {
            let mut conn = super::http::connect(&self.endpoint).await?;
            self.reconcile(&mut conn).await
        };
        let why = match tokio::time::timeout(within, work).await {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {within:?}"),
        };
        match new_epoch_after_restore(&self.store, &self.gate) {
            Ok(ops) => {
                if let Err(e) = self.handle.change(ops).await {
                    tracing::error!("sync: cannot start a new epoch of numbers: {e}");
                } else {
                    tracing::warn!(
                        "sync: hub not reached after the restore ({why}): this gate's numbers go \
                         on in a new epoch"
                    );
                }
            }
            Err(e) => tracing::error!("sync: cannot start a new epoch of numbers: {e}"),
        }
    }

    async fn session(&self, wake: &mut broadcast::Receiver<gate::Change>) -> Result<(), SyncError> {
        let mut push = super::http::connect(&self.endpoint).await?;
        let mut acked = self.reconcile(&mut push).await?;
        self.state.exchanged();
        let roster = self.sync_roster(&mut push).await?;
        let mut live = super::http::connect(&self.endpoint).await?;
        let resp = live
            .request(
                Method::GET,
                &format!("/v1/live?since={}", roster.version),
                None,
            )
            .await?;
        let mut body = resp.into_body();
        tracing::info!("sync: connected to the hub");
        let push_loop = async {
            loop {
                acked = self.push_all(&mut push, acked).await?;
                tokio::select! {
                    r = wake.recv() => {
                        if matches!(r, Err(broadcast::error::RecvError::Closed)) {
                            return Ok(());
                        }
                        // Take every change already waiting, then push once.
                        while wake.try_recv().is_ok() {}
                    }
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        };
        let live_loop = async {
            let mut buf: Vec<u8> = Vec::new();
            loop {
                let frame = tokio::time::timeout(LIVE_SILENCE, body.frame())
                    .await
                    .map_err(|_| SyncError::Protocol("flux en direct silencieux".into()))?;
                let Some(frame) = frame else {
                    return Err(SyncError::Protocol("flux en direct fermé".into()));
                };
                let frame = frame.map_err(HttpError::from)?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                buf.extend_from_slice(&data);
                let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
                    continue;
                };
                let lines: Vec<u8> = buf.drain(..=end).collect();
                let mut items = Vec::new();
                for l in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    items.push(proto::decode::<Live>(l).map_err(SyncError::Protocol)?);
                }
                self.apply_live(items).await?;
            }
        };
        tokio::select! {
            r = push_loop => r,
            r = live_loop => r,
        }
    }

    /// Sends every event the hub has not acknowledged, in batches; returns the new ack.
    pub async fn push_all(&self, conn: &mut Conn, mut acked: u64) -> Result<u64, SyncError> {
        // Events per batch: `batch` at most, fewer when they would not fit in
        // `MAX_BATCH_BYTES` or the hub found the body too large (an older hub, long notes).
        let mut size = self.batch;
        loop {
            let pending = self.pending(acked);
            self.state.update(|s| s.events_waiting = pending);
            if pending == 0 {
                return Ok(acked);
            }
            let events = self.store.journal_after(&self.gate, acked, size)?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(acked);
            };
            if !selfgate_rules::journal::follows(acked, events[0].seq) {
                // The hub would refuse the gap; retrying cannot fill it.
                return Err(SyncError::Protocol(format!(
                    "le journal local n'a pas les événements {} à {} que le concentrateur attend",
                    acked.saturating_add(1),
                    events[0].seq.saturating_sub(1)
                )));
            }
            let count = events.len();
            let body = proto::encode(&proto::EventBatch { events });
            if body.len() > proto::MAX_BATCH_BYTES {
                if count == 1 {
                    return Err(SyncError::Protocol(format!(
                        "l'événement {}/{} fait {} octets, plus qu'un lot n'en admet ({})",
                        self.gate,
                        acked.saturating_add(1),
                        body.len(),
                        proto::MAX_BATCH_BYTES
                    )));
                }
                size = count / 2;
                continue;
            }
            match conn
                .json::<Ack>(Method::POST, "/v1/events", Some(body))
                .await
            {
                Ok((ack, _)) => {
                    for r in &ack.refused {
                        tracing::error!(
                            "sync: the hub refused {}/{} and keeps it in quarantine: {}",
                            self.gate,
                            r.seq,
                            r.reason
                        );
                    }
                    if ack.acked < last {
                        return Err(SyncError::Protocol(format!(
                            "le concentrateur n'a acquitté que jusqu'à {} sur {last}",
                            ack.acked
                        )));
                    }
                    acked = ack.acked;
                }
                Err(HttpError::Status { status: 409, .. }) => {
                    acked = self.reconcile(conn).await?;
                    continue;
                }
                Err(HttpError::Status { status: 413, .. }) if count > 1 => {
                    // Too large for this hub: half as many, until it takes them.
                    size = count / 2;
                    tracing::warn!(
                        "sync: the hub found a batch of {count} events too large: {size} next"
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            self.handle.change(vec![set_u64(META_ACKED, acked)]).await?;
            self.state.exchanged();
        }
    }

    /// Brings the roster up to the hub's change log: the snapshot the first time, else the
    /// changes since the version held, page after page.
    pub async fn sync_roster(&self, conn: &mut Conn) -> Result<RosterSync, SyncError> {
        if !self.has_version()? {
            return self.take_snapshot(conn).await;
        }
        let mut version = meta_u64(&self.store, META_VERSION)?;
        let mut report = RosterSync {
            version,
            ..RosterSync::default()
        };
        loop {
            let page = conn
                .json::<Changes>(
                    Method::GET,
                    &format!("/v1/roster/changes?since={version}"),
                    None,
                )
                .await;
            let (page, bytes) = match page {
                Err(HttpError::Status {
                    status: 409,
                    message,
                }) => {
                    // The hub's change log is behind ours (restored): start from its snapshot.
                    tracing::warn!("sync: {message}");
                    self.handle
                        .change(vec![WriteOp::SetMeta {
                            key: META_VERSION.into(),
                            value: Vec::new(),
                        }])
                        .await?;
                    return self.take_snapshot(conn).await;
                }
                other => other?,
            };
            report.bytes += bytes;
            report.changes += page.changes.len();
            let mut items: Vec<Live> = vec![Live::Rules(page.rules)];
            items.extend(page.changes.into_iter().map(Live::Change));
            items.push(Live::Heartbeat {
                version: page.version,
            });
            self.apply_live(items).await?;
            version = page.version;
            report.version = version;
            if !page.more {
                return Ok(report);
            }
        }
    }

    async fn take_snapshot(&self, conn: &mut Conn) -> Result<RosterSync, SyncError> {
        let (snap, bytes) = conn
            .json::<Snapshot>(Method::GET, "/v1/roster/snapshot", None)
            .await?;
        let report = RosterSync {
            full: true,
            changes: snap.persons.len(),
            bytes,
            version: snap.version,
        };
        // The journal is read and the snapshot written with decisions paused: a passage made
        // in between would otherwise be left out of the balances and anti-passback rows.
        let settled = self.handle.settle().await?;
        let ops = self.snapshot_ops(snap)?;
        self.handle.change(ops).await?;
        drop(settled);
        self.state.exchanged();
        Ok(report)
    }

    /// The writes that put a snapshot in place. Balances and anti-passback rows are the hub's
    /// plus what this gate's events the hub did not hold yet did.
    fn snapshot_ops(&self, snap: Snapshot) -> Result<Vec<WriteOp>, SyncError> {
        let mut balance: HashMap<PersonId, i64> = snap.balances.iter().copied().collect();
        type Key = (NaiveDate, ServiceId, PersonId);
        let mut served: HashMap<Key, (u8, DateTime<Utc>)> = snap
            .served
            .iter()
            .map(|r| ((r.day, r.service, r.person), (r.count, r.last_at)))
            .collect();
        for e in self
            .store
            .journal_after(&self.gate, snap.acked, usize::MAX)?
        {
            match &e.kind {
                EventKind::Passage(p) if p.verdict == Verdict::Pass => {
                    if let (Some(person), Some(service)) = (p.person, p.service) {
                        let s = served.entry((p.day, service, person)).or_insert((0, e.at));
                        s.0 = s.0.saturating_add(1);
                        s.1 = s.1.max(e.at);
                    }
                }
                EventKind::Correction(c) => {
                    if let Some(s) = served.get_mut(&(c.day, c.service, c.person)) {
                        s.0 = s.0.saturating_sub(1);
                    }
                }
                _ => {}
            }
            // Passages, corrections, payments and refunds alike (a pass without a service
            // changes no balance, as in the store).
            let counts = !matches!(&e.kind, EventKind::Passage(p) if p.service.is_none());
            if let Some((person, delta)) = e.kind.balance_delta().filter(|_| counts) {
                let b = balance.entry(person).or_default();
                *b = b.saturating_add(delta);
            }
        }
        let mut ops: Vec<WriteOp> = Vec::with_capacity(
            snap.persons.len() * 2 + snap.credentials.len() + snap.oppositions.len() + 8,
        );
        ops.extend(snap.persons.into_iter().map(WriteOp::PutPerson));
        ops.extend(snap.credentials.into_iter().map(WriteOp::PutCredential));
        ops.extend(snap.oppositions.into_iter().map(WriteOp::PutOpposition));
        ops.extend(
            balance
                .into_iter()
                .map(|(person, cents)| WriteOp::SetBalance { person, cents }),
        );
        ops.extend(
            served
                .into_iter()
                .map(
                    |((day, service, person), (count, last_at))| WriteOp::SetServed {
                        day,
                        service,
                        person,
                        count,
                        last_at,
                    },
                ),
        );
        if let Some(op) = self.apply_rules(&snap.rules, true) {
            ops.push(op);
        }
        ops.push(set_u64(META_VERSION, snap.version));
        Ok(ops)
    }

    /// Whether a snapshot was taken (an empty value: the hub asked for a new one).
    fn has_version(&self) -> Result<bool, StoreError> {
        Ok(self.store.meta(META_VERSION)?.is_some_and(|v| v.len() == 8))
    }

    /// Applies what the hub sent, in one commit; the version held moves with it.
    async fn apply_live(&self, items: Vec<Live>) -> Result<(), SyncError> {
        let mut ops = Vec::new();
        let mut version = None;
        let (mut heartbeat, mut rules_sent) = (false, false);
        for item in items {
            match item {
                Live::Rules(r) => {
                    rules_sent = true;
                    ops.extend(self.apply_rules(&r, true));
                }
                Live::Heartbeat { version: v } => {
                    version = Some(v);
                    heartbeat = true;
                }
                Live::Change(c) => {
                    version = Some(c.version);
                    match c.change {
                        Change::Event(e) if e.gate == self.gate => {}
                        Change::Event(e) => ops.push(WriteOp::Merge(e)),
                        Change::Person(p) => ops.push(WriteOp::PutPerson(p)),
                        Change::Credential(x) => ops.push(WriteOp::PutCredential(x)),
                        Change::Opposition(o) => ops.push(WriteOp::PutOpposition(o)),
                    }
                }
            }
        }
        if let Some(v) = version {
            if v > meta_u64(&self.store, META_VERSION)? || !self.has_version()? {
                ops.push(set_u64(META_VERSION, v));
            }
        }
        if !ops.is_empty() {
            self.handle.change(ops).await?;
        }
        if heartbeat && !rules_sent {
            // A reload of the configuration file put the file's rules back: the hub's are the
            // site's.
            self.load_kept_rules();
        }
        self.state.exchanged();
        Ok(())
    }
}
