//! The store: one redb file holding the roster, balances, the anti-passback state of recent days
//! and the append-only journal. Only the writer thread ([`Writer`]) writes; it commits requests
//! in groups and acknowledges each sender after the commit is durable. The gate pulses the
//! turnstile only after that acknowledgement (commit before open).
//!
//! Tables (keys → values, values are postcard with a version byte):
//! - `meta`: `&str` → bytes (schema version, demo clock…)
//! - `persons`: person id → `Person`; `balances`: person id → cents
//! - `credentials`: badge number → `Credential`; `oppositions`: id → `Opposition`
//! - `journal`: (gate, seq) → `Event`; `seqs`: gate → last seq
//! - `served`: (day, service, person) → (count, last passage µs): anti-passback, written in
//!   the same transaction as the passage so a restart finds it.
//! - `changes`: version → [`ChangeRef`], the hub's change log (only written once
//!   [`Store::keep_change_log`] is on): what its gates fetch to follow the roster and journal.
//! - `guardians`: SIÈCLE `PERSONNE_ID` → `Guardian` (`guardians.rs`; not in the change log).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use selfgate_rules::journal::{Event, EventKind, Retention, Verdict};
use selfgate_rules::model::{Credential, Opposition, Person, PersonId, SchoolRules, ServiceId};
use selfgate_rules::{Engine, Roster, Served, ServedEntry};

use crate::infra::{files, telemetry};

mod guardians;
pub mod retention;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const PERSONS: TableDefinition<u32, &[u8]> = TableDefinition::new("persons");
const BALANCES: TableDefinition<u32, i64> = TableDefinition::new("balances");
const CREDENTIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("credentials");
const OPPOSITIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("oppositions");
const JOURNAL: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("journal");
const SEQS: TableDefinition<&str, u64> = TableDefinition::new("seqs");
const SERVED: TableDefinition<(i32, u8, u32), (u8, i64)> = TableDefinition::new("served");
const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");
/// The last receipt number given per (régie, school year).
const RECEIPTS: TableDefinition<(&str, u16), u32> = TableDefinition::new("receipts");
/// Each payment by its receipt (`R1-2026-00042`) → its journal event (gate, seq).
const PAYMENTS: TableDefinition<&str, (&str, u64)> = TableDefinition::new("payments");
/// Each cancelled payment's receipt → the cancellation's journal event.
const CANCELLED: TableDefinition<&str, (&str, u64)> = TableDefinition::new("cancelled");
/// Billing events (entries, receivables, closed terms) by (school year, term, gate, seq).
const BILLING: TableDefinition<(u16, &str, &str, u64), ()> = TableDefinition::new("billing");
/// The last bordereau journaled per (school year, term): a run's lines go on the next one only.
const BORDEREAUX: TableDefinition<(u16, &str), u32> = TableDefinition::new("bordereaux");

const SCHEMA_VERSION: u8 = 1;
/// Meta key present when the store keeps a change log (a hub's).
const CHANGE_LOG_ON: &str = "change_log";
const RECORD_VERSION: u8 = 1;
/// redb's page cache.
const CACHE_BYTES: usize = 4 << 20;
/// The database file inside the data directory.
pub const DB_FILE: &str = "selfgate.redb";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no database at {path} (check the data directory)")]
    Missing { path: PathBuf },
    #[error("the database {path} is in use by another selfgate process (stop the daemon first)")]
    InUse { path: PathBuf },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: redb::DatabaseError,
    },
    #[error("database: {0}")]
    Redb(#[from] redb::Error),
    #[error("database record `{what}` cannot be read: {message}")]
    Corrupt { what: String, message: String },
    #[error("the database was written by a newer selfgate (schema {0})")]
    Schema(u8),
    #[error("the database is being reopened after an I/O error")]
    Reopening,
    #[error("the store writer has stopped")]
    WriterGone,
    /// An operation that would break an invariant (an amount out of range, a sequence number
    /// exhausted): refused whole, nothing of its request is written.
    #[error("refused: {0}")]
    Invalid(String),
    /// A cancellation of a payment already cancelled (its receipt), refused whole.
    #[error("la quittance {0} est déjà annulée")]
    AlreadyCancelled(String),
}

macro_rules! redb_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Redb(e.into()) }
        }
    )*};
}
redb_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    // Serialising plain data into a Vec cannot fail.
    out.extend(postcard::to_stdvec(value).unwrap_or_default());
    out
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt {
                what: what.to_owned(),
                message: e.to_string(),
            })
        }
        Some((v, _)) => Err(StoreError::Corrupt {
            what: what.to_owned(),
            message: format!("unknown record version {v}"),
        }),
        None => Err(StoreError::Corrupt {
            what: what.to_owned(),
            message: "empty record".into(),
        }),
    }
}

fn day_key(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}

/// A change for the writer. Several ops submitted together commit together or not at all.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Appends a journal event for `gate`; the writer numbers it. Passages, corrections and
    /// credits update balances and the anti-passback state in the same transaction.
    Append {
        gate: String,
        at: DateTime<Utc>,
        kind: EventKind,
    },
    PutPerson(Person),
    PutCredential(Credential),
    PutOpposition(Opposition),
    SetMeta {
        key: String,
        value: Vec<u8>,
    },
    /// Retention (BRIEF §6): removes the person, badge and staff note from passages before
    /// `cutoff`, forgets the anti-passback rows of those days, and journals that it did so
    /// (a `Retention` event for `gate`, at `at`).
    Anonymise {
        cutoff: DateTime<Utc>,
        gate: String,
        at: DateTime<Utc>,
    },
    /// Stores an event journaled by another node under its own (gate, seq), with the effects an
    /// `Append` has. Idempotent: an event already there is left as it is (outcome `Done`).
    Merge(Event),
    /// Sets a ticket balance (a gate taking the hub's roster snapshot).
    SetBalance {
        person: PersonId,
        cents: i64,
    },
    /// Sets an anti-passback row (a gate taking the hub's roster snapshot).
    SetServed {
        day: NaiveDate,
        service: ServiceId,
        person: PersonId,
        count: u8,
        last_at: DateTime<Utc>,
    },
    /// `gate`'s next sequence number will be above `seq` (after a restore, the hub may hold
    /// numbers the restored journal no longer has).
    SeqFloor {
        gate: String,
        seq: u64,
    },
    /// Puts a guardian (SIÈCLE responsable) in place of the one with its `PERSONNE_ID`. Not in
    /// the change log: guardians are not sent to gates.
    PutGuardian(Box<selfgate_rules::family::Guardian>),
    /// Deletes the guardian of this `PERSONNE_ID`.
    DeleteGuardian(String),
    /// Retention: deletes the guardians none of whose children is enrolled on `today` once the
    /// accounting period after the last departure is over (outcome `GuardiansPurged`).
    PurgeGuardians {
        today: NaiveDate,
    },
}

/// What the hub's change log points to; the record itself is read when a gate asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ChangeRef {
    Event { gate: String, seq: u64 },
    Person(PersonId),
    Credential(String),
    Opposition(u64),
}

/// The roster and anti-passback state as one read transaction saw them (a hub's snapshot).
#[derive(Clone, Debug, Default)]
pub struct RosterSnapshot {
    /// The change log's last version included.
    pub version: u64,
    pub persons: Vec<Person>,
    pub credentials: Vec<Credential>,
    pub oppositions: Vec<Opposition>,
    pub balances: Vec<(PersonId, i64)>,
    /// (day, service, person, count, last passage).
    pub served: Vec<(NaiveDate, ServiceId, PersonId, u8, DateTime<Utc>)>,
    /// Each gate's last sequence number held.
    pub seqs: std::collections::BTreeMap<String, u64>,
}

#[derive(Clone, Debug)]
pub enum WriteOutcome {
    Appended(Box<Event>),
    Done,
    /// What an `Anonymise` did; `more` when it stopped at its batch limit.
    Purged {
        anonymised: u64,
        more: bool,
    },
    /// How many guardians a `PurgeGuardians` deleted.
    GuardiansPurged(u64),
}

/// Most journal events one retention op reads (a few hundred ms on a small board).
const PURGE_BATCH: usize = 20_000;

/// Opens the database again (after an I/O error redb refuses every further operation).
type Opener = Arc<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// The database. Cloning shares it.
#[derive(Clone)]
pub struct Store {
    /// The open handle; `None` only while the writer reopens it.
    db: Arc<std::sync::RwLock<Option<Arc<Database>>>>,
    open: Opener,
    path: PathBuf,
    /// Whether commits are recorded in the change log (a hub's store).
    change_log: Arc<std::sync::atomic::AtomicBool>,
}

impl Store {
    /// Opens (or creates) `DIR/selfgate.redb`, creating the directory when needed.
    /// The directory is created 0700 and the database made 0600, whatever the umask: they
    /// hold personal data.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        files::create_private_dir(dir).map_err(|source| StoreError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let file = path.clone();
        // The gate decides from its own in-memory index and reads the database only at start:
        // a small page cache keeps the box's memory for the index (redb's default is 1 GiB).
        let open: Opener = Arc::new(move || {
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&file)
        });
        let db = open().map_err(|source| match source {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse { path: path.clone() },
            source => StoreError::Open {
                path: path.clone(),
                source,
            },
        })?;
        if let Err(e) = files::make_private(&path) {
            tracing::warn!("cannot make {} private (mode 600): {e}", path.display());
        }
        Store::from_parts(db, open, path)
    }

    /// A new store in memory, nothing on disk (the fuzz targets' merge path).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::open_backend(
            SharedMemory(Arc::new(redb::backends::InMemoryBackend::new())),
            "(memory)",
        )
    }

    /// Opens (or creates) a store on another storage backend than a file: fault-injection
    /// tests use backends that lose unsynced writes or run out of space.
    pub fn open_backend(
        backend: impl redb::StorageBackend + Clone,
        label: &str,
    ) -> Result<Store, StoreError> {
        let path = PathBuf::from(label);
        let open: Opener =
            Arc::new(move || Database::builder().create_with_backend(backend.clone()));
        let db = open().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Store::from_parts(db, open, path)
    }

    fn from_parts(db: Database, open: Opener, path: PathBuf) -> Result<Store, StoreError> {
        let store = Store {
            db: Arc::new(std::sync::RwLock::new(Some(Arc::new(db)))),
            open,
            path,
            change_log: Arc::default(),
        };
        store.init()?;
        Ok(store)
    }

    /// The current handle.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::Reopening)
    }

    /// Closes and opens the database again: after an I/O error (a full disk) redb refuses every
    /// further operation until then. Waits for other users of the old handle to finish.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut slot = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mut old) = slot.take() {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(still) if std::time::Instant::now() < deadline => {
                        old = still;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(still) => {
                        *slot = Some(still);
                        return Err(StoreError::Reopening);
                    }
                }
            }
        }
        let db = (self.open)().map_err(|source| StoreError::Open {
            path: self.path.clone(),
            source,
        })?;
        *slot = Some(Arc::new(db));
        drop(slot);
        self.init()
    }

    /// Opens an existing store; a directory without a database is an error (a mistyped
    /// `--data` must not silently create an empty one).
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join(DB_FILE).is_file() {
            return Err(StoreError::Missing {
                path: dir.join(DB_FILE),
            });
        }
        Store::open(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(&self) -> Result<(), StoreError> {
        let txn = self.db()?.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let version = meta
                .get("schema")?
                .map(|v| v.value().first().copied().unwrap_or(0));
            match version {
                Some(v) if v > SCHEMA_VERSION => return Err(StoreError::Schema(v)),
                Some(_) => {}
                None => {
                    meta.insert("schema", [SCHEMA_VERSION].as_slice())?;
                }
            }
            txn.open_table(PERSONS)?;
            txn.open_table(BALANCES)?;
            txn.open_table(CREDENTIALS)?;
            txn.open_table(OPPOSITIONS)?;
            txn.open_table(JOURNAL)?;
            txn.open_table(SEQS)?;
            txn.open_table(SERVED)?;
            txn.open_table(CHANGES)?;
            txn.open_table(RECEIPTS)?;
            txn.open_table(PAYMENTS)?;
            txn.open_table(CANCELLED)?;
            txn.open_table(guardians::GUARDIANS)?;
            txn.open_table(BILLING)?;
            txn.open_table(BORDEREAUX)?;
            if meta.get(CHANGE_LOG_ON)?.is_some() {
                self.change_log.store(true, Ordering::Relaxed);
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// From now on, every commit records what it changed in the change log (a hub's store);
    /// recorded in meta, so that commands run on this store (imports) keep it too.
    pub fn keep_change_log(&self) -> Result<(), StoreError> {
        if !self.change_log.load(Ordering::Relaxed) {
            self.write_now(&[WriteOp::SetMeta {
                key: CHANGE_LOG_ON.into(),
                value: vec![1],
            }])?;
            self.change_log.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The change log's last version (0 when empty).
    pub fn change_version(&self) -> Result<u64, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(CHANGES)?;
        Ok(t.last()?.map_or(0, |(k, _)| k.value()))
    }

    /// At most `limit` change-log entries after `version`, in order.
    pub fn changes_after(
        &self,
        version: u64,
        limit: usize,
    ) -> Result<Vec<(u64, ChangeRef)>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(CHANGES)?;
        let mut out = Vec::new();
        for row in t.range(version.saturating_add(1)..)?.take(limit) {
            let (k, v) = row?;
            out.push((
                k.value(),
                decode(&format!("changes/{}", k.value()), v.value())?,
            ));
        }
        Ok(out)
    }

    pub fn person(&self, id: PersonId) -> Result<Option<Person>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(PERSONS)?;
        t.get(id.0)?
            .map(|v| decode_person(id.0, v.value()))
            .transpose()
    }

    pub fn credential(&self, number: &str) -> Result<Option<Credential>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(CREDENTIALS)?;
        t.get(number)?
            .map(|v| decode(&format!("credentials/{number}"), v.value()))
            .transpose()
    }

    pub fn opposition(&self, id: u64) -> Result<Option<Opposition>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(OPPOSITIONS)?;
        t.get(id)?
            .map(|v| decode(&format!("oppositions/{id}"), v.value()))
            .transpose()
    }

    /// At most `limit` events of `gate` numbered after `after`, in order.
    pub fn journal_after(
        &self,
        gate: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(JOURNAL)?;
        let mut out = Vec::new();
        for row in t
            .range((gate, after.saturating_add(1))..=(gate, u64::MAX))?
            .take(limit)
        {
            let (k, v) = row?;
            let (g, seq) = k.value();
            out.push(decode(&format!("journal/{g}/{seq}"), v.value())?);
        }
        Ok(out)
    }

    /// The payment of receipt `receipt` and, when it was cancelled, its cancellation.
    pub fn payment(
        &self,
        receipt: &selfgate_rules::journal::Receipt,
    ) -> Result<Option<(Event, Option<Event>)>, StoreError> {
        let key = receipt.to_string();
        let txn = self.db()?.begin_read()?;
        let (paid, cancelled) = {
            let payments = txn.open_table(PAYMENTS)?;
            let cancelled = txn.open_table(CANCELLED)?;
            let paid = payments.get(key.as_str())?.map(|v| {
                let (g, s) = v.value();
                (g.to_owned(), s)
            });
            let cancel = cancelled.get(key.as_str())?.map(|v| {
                let (g, s) = v.value();
                (g.to_owned(), s)
            });
            (paid, cancel)
        };
        let Some((gate, seq)) = paid else {
            return Ok(None);
        };
        let journal = txn.open_table(JOURNAL)?;
        let get = |gate: &str, seq: u64| -> Result<Option<Event>, StoreError> {
            journal
                .get((gate, seq))?
                .map(|v| decode(&format!("journal/{gate}/{seq}"), v.value()))
                .transpose()
        };
        let Some(payment) = get(&gate, seq)? else {
            return Ok(None);
        };
        let cancel = match cancelled {
            Some((g, s)) => get(&g, s)?,
            None => None,
        };
        Ok(Some((payment, cancel)))
    }

    /// The billing events of a term (entries, receivables, its closing), in journal order of
    /// each node (node by node).
    pub fn billing_events(&self, year: u16, term: &str) -> Result<Vec<Event>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let index = txn.open_table(BILLING)?;
        let journal = txn.open_table(JOURNAL)?;
        let mut out = Vec::new();
        for row in index.range((year, term, "", 0)..=(year, term, "\u{10FFFF}", u64::MAX))? {
            let (k, _) = row?;
            let (_, _, gate, seq) = k.value();
            if let Some(v) = journal.get((gate, seq))? {
                out.push(decode(&format!("journal/{gate}/{seq}"), v.value())?);
            }
        }
        Ok(out)
    }

    /// How many of `gate`'s events come after `after`.
    pub fn journal_count_after(&self, gate: &str, after: u64) -> Result<u64, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(JOURNAL)?;
        let mut n = 0;
        for row in t.range((gate, after.saturating_add(1))..=(gate, u64::MAX))? {
            row?;
            n += 1;
        }
        Ok(n)
    }

    /// The roster, balances and the anti-passback rows from `since` on, in one read.
    pub fn roster_snapshot(&self, since: NaiveDate) -> Result<RosterSnapshot, StoreError> {
        let txn = self.db()?.begin_read()?;
        let mut s = RosterSnapshot {
            version: txn
                .open_table(CHANGES)?
                .last()?
                .map_or(0, |(k, _)| k.value()),
            ..RosterSnapshot::default()
        };
        for row in txn.open_table(PERSONS)?.iter()? {
            let (k, v) = row?;
            s.persons.push(decode_person(k.value(), v.value())?);
        }
        for row in txn.open_table(CREDENTIALS)?.iter()? {
            let (k, v) = row?;
            s.credentials
                .push(decode(&format!("credentials/{}", k.value()), v.value())?);
        }
        for row in txn.open_table(OPPOSITIONS)?.iter()? {
            let (k, v) = row?;
            s.oppositions
                .push(decode(&format!("oppositions/{}", k.value()), v.value())?);
        }
        for row in txn.open_table(BALANCES)?.iter()? {
            let (k, v) = row?;
            s.balances.push((PersonId(k.value()), v.value()));
        }
        for row in txn
            .open_table(SERVED)?
            .range((day_key(since), 0u8, 0u32)..)?
        {
            let (k, v) = row?;
            let (day, service, person) = k.value();
            let (count, last_us) = v.value();
            if let (Some(day), Some(last)) = (
                NaiveDate::from_num_days_from_ce_opt(day),
                DateTime::from_timestamp_micros(last_us),
            ) {
                s.served
                    .push((day, ServiceId(service), PersonId(person), count, last));
            }
        }
        for row in txn.open_table(SEQS)?.iter()? {
            let (k, v) = row?;
            s.seqs.insert(k.value().to_owned(), v.value());
        }
        Ok(s)
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(META)?;
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Every meta record whose key starts with `prefix`, in key order.
    pub fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(META)?;
        let mut out = Vec::new();
        for row in t.range(prefix..)? {
            let (k, v) = row?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Loads the in-memory state the gate decides from: the roster, balances, oppositions and
    /// the anti-passback state of `today` and the day before.
    pub fn load_engine(&self, rules: SchoolRules, today: NaiveDate) -> Result<Engine, StoreError> {
        let txn = self.db()?.begin_read()?;
        let mut roster = Roster::default();
        for row in txn.open_table(PERSONS)?.iter()? {
            let (k, v) = row?;
            let person = decode_person(k.value(), v.value())?;
            roster.put_person(person);
        }
        for row in txn.open_table(BALANCES)?.iter()? {
            let (k, v) = row?;
            roster.set_balance(PersonId(k.value()), v.value());
        }
        for row in txn.open_table(CREDENTIALS)?.iter()? {
            let (k, v) = row?;
            let c: Credential = decode(&format!("credentials/{}", k.value()), v.value())?;
            roster.put_credential(c);
        }
        for row in txn.open_table(OPPOSITIONS)?.iter()? {
            let (k, v) = row?;
            let o: Opposition = decode(&format!("oppositions/{}", k.value()), v.value())?;
            roster.put_opposition(o);
        }
        let mut served = Served::default();
        let from = day_key(today.pred_opt().unwrap_or(today));
        for row in txn.open_table(SERVED)?.range((from, 0u8, 0u32)..)? {
            let (k, v) = row?;
            let (day, service, person) = k.value();
            let (count, last_us) = v.value();
            let (Some(day), Some(last_at)) = (
                NaiveDate::from_num_days_from_ce_opt(day),
                DateTime::from_timestamp_micros(last_us),
            ) else {
                continue;
            };
            served.set(
                PersonId(person),
                day,
                ServiceId(service),
                ServedEntry { count, last_at },
            );
        }
        Ok(Engine::with_state(rules, roster, served))
    }

    /// Journal events in (gate, seq) order, optionally only those at or after `since`.
    pub fn events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Event>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(JOURNAL)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let (gate, seq) = k.value();
            let e: Event = decode(&format!("journal/{gate}/{seq}"), v.value())?;
            if since.is_none_or(|s| e.at >= s) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Writes a consistent snapshot of every table into a new database at `file` (written
    /// beside it first, synced, then renamed). Returns the number of journal events copied.
    pub fn backup_to(&self, file: &Path) -> Result<u64, StoreError> {
        let tmp = file.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        let src = self.db()?.begin_read()?;
        {
            let dst_db = Database::create(&tmp).map_err(|source| StoreError::Open {
                path: tmp.clone(),
                source,
            })?;
            let dst = dst_db.begin_write()?;
            copy_table(&src, &dst, META)?;
            copy_table(&src, &dst, PERSONS)?;
            copy_table(&src, &dst, BALANCES)?;
            copy_table(&src, &dst, CREDENTIALS)?;
            copy_table(&src, &dst, OPPOSITIONS)?;
            copy_table(&src, &dst, JOURNAL)?;
            copy_table(&src, &dst, SEQS)?;
            copy_table(&src, &dst, SERVED)?;
            copy_table(&src, &dst, CHANGES)?;
            copy_table(&src, &dst, RECEIPTS)?;
            copy_table(&src, &dst, PAYMENTS)?;
            copy_table(&src, &dst, CANCELLED)?;
            copy_table(&src, &dst, guardians::GUARDIANS)?;
            copy_table(&src, &dst, BILLING)?;
            copy_table(&src, &dst, BORDEREAUX)?;
            dst.commit()?;
        }
        files::make_private(&tmp).map_err(|source| StoreError::Dir {
            path: tmp.clone(),
            source,
        })?;
        let events = src.open_table(JOURNAL)?.len()?;
        std::fs::rename(&tmp, file).map_err(|source| StoreError::Dir {
            path: file.to_owned(),
            source,
        })?;
        Ok(events)
    }

    /// One journal event.
    pub fn event(&self, gate: &str, seq: u64) -> Result<Option<Event>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let t = txn.open_table(JOURNAL)?;
        t.get((gate, seq))?
            .map(|v| decode(&format!("journal/{gate}/{seq}"), v.value()))
            .transpose()
    }

    /// Number of journal events.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        let txn = self.db()?.begin_read()?;
        Ok(txn.open_table(JOURNAL)?.len()?)
    }

    /// The last journal sequence number of each gate.
    pub fn last_seqs(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        Ok(self.seqs()?.into_iter().collect())
    }

    fn seqs(&self) -> Result<HashMap<String, u64>, StoreError> {
        let txn = self.db()?.begin_read()?;
        let mut out = HashMap::new();
        for row in txn.open_table(SEQS)?.iter()? {
            let (k, v) = row?;
            out.insert(k.value().to_owned(), v.value());
        }
        Ok(out)
    }

    /// Commits the ops of several requests in one durable transaction.
    fn commit(
        &self,
        requests: &[&[WriteOp]],
        seqs: &mut HashMap<String, u64>,
    ) -> Result<Vec<Vec<WriteOutcome>>, StoreError> {
        let mut next = seqs.clone();
        let txn = self.db()?.begin_write()?;
        let mut results = Vec::with_capacity(requests.len());
        {
            let mut journal = txn.open_table(JOURNAL)?;
            let mut seq_table = txn.open_table(SEQS)?;
            let mut balances = txn.open_table(BALANCES)?;
            let mut served = txn.open_table(SERVED)?;
            let mut persons = txn.open_table(PERSONS)?;
            let mut credentials = txn.open_table(CREDENTIALS)?;
            let mut oppositions = txn.open_table(OPPOSITIONS)?;
            let mut meta = txn.open_table(META)?;
            let mut receipts = txn.open_table(RECEIPTS)?;
            let mut money = MoneyIndex {
                payments: txn.open_table(PAYMENTS)?,
                cancelled: txn.open_table(CANCELLED)?,
                billing: txn.open_table(BILLING)?,
                bordereaux: txn.open_table(BORDEREAUX)?,
            };
            let mut log: Vec<ChangeRef> = Vec::new();
            for ops in requests {
                let mut out = Vec::with_capacity(ops.len());
                for op in ops.iter() {
                    match op {
                        WriteOp::Append { gate, at, kind } => {
                            let seq = next_seq(&next, gate)?;
                            next.insert(gate.clone(), seq);
                            let mut kind = kind.clone();
                            if let EventKind::Payment(p) = &mut kind {
                                number_receipt(&mut receipts, &mut p.receipt)?;
                            }
                            let event = Event {
                                gate: gate.clone(),
                                seq,
                                at: *at,
                                kind,
                            };
                            money.index(&event, true)?;
                            journal.insert((gate.as_str(), seq), encode(&event).as_slice())?;
                            seq_table.insert(gate.as_str(), seq)?;
                            event_effects(&mut served, &mut balances, &event)?;
                            log.push(ChangeRef::Event {
                                gate: gate.clone(),
                                seq,
                            });
                            out.push(WriteOutcome::Appended(Box::new(event)));
                        }
                        WriteOp::PutPerson(p) => {
                            log.push(ChangeRef::Person(p.id));
                            persons.insert(p.id.0, encode(p).as_slice())?;
                            if balances.get(p.id.0)?.is_none() {
                                balances.insert(p.id.0, 0)?;
                            }
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::PutCredential(c) => {
                            log.push(ChangeRef::Credential(c.number.as_str().to_owned()));
                            credentials.insert(c.number.as_str(), encode(c).as_slice())?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::PutOpposition(o) => {
                            log.push(ChangeRef::Opposition(o.id));
                            oppositions.insert(o.id, encode(o).as_slice())?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::Merge(event) => {
                            let key = (event.gate.as_str(), event.seq);
                            if event.seq == 0 || journal.get(key)?.is_some() {
                                out.push(WriteOutcome::Done);
                                continue;
                            }
                            journal.insert(key, encode(event).as_slice())?;
                            money.index(event, false)?;
                            if let EventKind::Payment(p) = &event.kind {
                                // Another node's régie: numbering there goes on from the
                                // highest number seen, should this node ever take it over.
                                let k = (p.receipt.regie.as_str(), p.receipt.year);
                                let seen = receipts.get(k)?.map_or(0, |v| v.value());
                                if p.receipt.number > seen {
                                    receipts.insert(k, p.receipt.number)?;
                                }
                            }
                            let last = next.get(&event.gate).copied().unwrap_or(0);
                            if event.seq > last {
                                next.insert(event.gate.clone(), event.seq);
                                seq_table.insert(event.gate.as_str(), event.seq)?;
                            }
                            event_effects(&mut served, &mut balances, event)?;
                            log.push(ChangeRef::Event {
                                gate: event.gate.clone(),
                                seq: event.seq,
                            });
                            out.push(WriteOutcome::Appended(Box::new(event.clone())));
                        }
                        WriteOp::SetBalance { person, cents } => {
                            balances.insert(person.0, *cents)?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::SetServed {
                            day,
                            service,
                            person,
                            count,
                            last_at,
                        } => {
                            let key = (day_key(*day), service.0, person.0);
                            if *count == 0 {
                                served.remove(key)?;
                            } else {
                                served.insert(key, (*count, last_at.timestamp_micros()))?;
                            }
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::SeqFloor { gate, seq } => {
                            if next.get(gate).copied().unwrap_or(0) < *seq {
                                next.insert(gate.clone(), *seq);
                                seq_table.insert(gate.as_str(), *seq)?;
                            }
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::SetMeta { key, value } => {
                            meta.insert(key.as_str(), value.as_slice())?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::PutGuardian(g) => {
                            guardians::put(&txn, g)?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::DeleteGuardian(id) => {
                            guardians::delete(&txn, id)?;
                            out.push(WriteOutcome::Done);
                        }
                        WriteOp::PurgeGuardians { today } => {
                            let n = guardians::purge(&txn, &persons, &oppositions, *today)?;
                            out.push(WriteOutcome::GuardiansPurged(n));
                        }
                        WriteOp::Anonymise { cutoff, gate, at } => {
                            // Each gate's journal is read from where the last purge stopped
                            // (`retention/GATE` in meta), in order, up to the cutoff, and at
                            // most PURGE_BATCH events per op so the writer is never held long.
                            let gates: Vec<String> = next.keys().cloned().collect();
                            let tz =
                                school_of(meta.get("school")?.map(|v| v.value().to_vec())).timezone;
                            let mut rewritten = Vec::new();
                            let mut scanned = 0usize;
                            let mut more = false;
                            for g in &gates {
                                let mark_key = format!("retention/{g}");
                                let from = meta
                                    .get(mark_key.as_str())?
                                    .and_then(|v| v.value().try_into().ok().map(u64::from_le_bytes))
                                    .unwrap_or(0);
                                let mut mark = from;
                                for row in journal
                                    .range((g.as_str(), from + 1)..=(g.as_str(), u64::MAX))?
                                {
                                    if scanned >= PURGE_BATCH {
                                        more = true;
                                        break;
                                    }
                                    let (k, v) = row?;
                                    let (_, seq) = k.value();
                                    let mut e: Event =
                                        decode(&format!("journal/{g}/{seq}"), v.value())?;
                                    if e.at >= *cutoff {
                                        break;
                                    }
                                    scanned += 1;
                                    mark = seq;
                                    if let EventKind::Passage(p) = &mut e.kind {
                                        if p.person.is_some()
                                            || p.credential.is_some()
                                            || p.note.is_some()
                                        {
                                            p.person = None;
                                            p.credential = None;
                                            p.note = None;
                                            p.balance_after_cents = None;
                                            rewritten.push(e);
                                        }
                                    }
                                }
                                if mark != from {
                                    meta.insert(mark_key.as_str(), mark.to_le_bytes().as_slice())?;
                                }
                            }
                            for e in &rewritten {
                                journal.insert((e.gate.as_str(), e.seq), encode(e).as_slice())?;
                            }
                            // The cutoff's day in the school's time zone, as the rows are keyed.
                            let cutoff_day = selfgate_rules::model::school_day(tz, *cutoff);
                            let last_day = day_key(cutoff_day) - 1;
                            let old: Vec<(i32, u8, u32)> = served
                                .range(..=(last_day, u8::MAX, u32::MAX))?
                                .map(|r| r.map(|(k, _)| k.value()))
                                .collect::<Result<_, _>>()?;
                            for k in old {
                                served.remove(k)?;
                            }
                            // Oppositions over before the cutoff (PRONOTE's absences of past
                            // days, lifted ones) name a pupil and why, and decide nothing.
                            let cutoff_day = cutoff_day - chrono::Days::new(1);
                            let mut over = Vec::new();
                            for row in oppositions.iter()? {
                                let (k, v) = row?;
                                let o: Opposition =
                                    decode(&format!("oppositions/{}", k.value()), v.value())?;
                                if o.ended_before(cutoff_day) {
                                    over.push(k.value());
                                }
                            }
                            for id in over {
                                oppositions.remove(id)?;
                            }
                            if rewritten.is_empty() {
                                out.push(WriteOutcome::Purged {
                                    anonymised: 0,
                                    more,
                                });
                            } else {
                                let seq = next_seq(&next, gate)?;
                                next.insert(gate.clone(), seq);
                                let anonymised = rewritten.len() as u64;
                                let kind = EventKind::Retention(Retention {
                                    cutoff: *cutoff,
                                    anonymised,
                                });
                                let event = Event {
                                    gate: gate.clone(),
                                    seq,
                                    at: *at,
                                    kind,
                                };
                                journal.insert((gate.as_str(), seq), encode(&event).as_slice())?;
                                seq_table.insert(gate.as_str(), seq)?;
                                out.push(WriteOutcome::Appended(Box::new(event)));
                                out.push(WriteOutcome::Purged { anonymised, more });
                            }
                        }
                    }
                }
                results.push(out);
            }
            if self.change_log.load(Ordering::Relaxed) && !log.is_empty() {
                let mut changes = txn.open_table(CHANGES)?;
                let mut version = changes.last()?.map_or(0, |(k, _)| k.value());
                for entry in &log {
                    version += 1;
                    changes.insert(version, encode(entry).as_slice())?;
                }
            }
        }
        txn.commit()?;
        *seqs = next;
        Ok(results)
    }

    /// Commits `ops` at once, without a writer thread (command-line tools that own the store).
    pub fn write_now(&self, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError> {
        let mut seqs = self.seqs()?;
        let mut r = self.commit(&[ops], &mut seqs)?;
        Ok(r.pop().unwrap_or_default())
    }
}

/// The number of the next event of `gate` (refused when the numbering is exhausted).
fn next_seq(next: &HashMap<String, u64>, gate: &str) -> Result<u64, StoreError> {
    next.get(gate)
        .copied()
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| StoreError::Invalid(format!("{gate}: no sequence number left")))
}

/// The payments' and cancellations' indexes, kept in the transaction that journals them.
struct MoneyIndex<'t> {
    payments: redb::Table<'t, &'static str, (&'static str, u64)>,
    cancelled: redb::Table<'t, &'static str, (&'static str, u64)>,
    billing: redb::Table<'t, (u16, &'static str, &'static str, u64), ()>,
    bordereaux: redb::Table<'t, (u16, &'static str), u32>,
}

impl MoneyIndex<'_> {
    /// Indexes `event`. `own`: journaled here now, where a payment must be new and a
    /// cancellation must name a payment held here and not cancelled yet (refused whole
    /// otherwise); merged from another node, the first one is kept.
    fn index(&mut self, event: &Event, own: bool) -> Result<(), StoreError> {
        let at = (event.gate.as_str(), event.seq);
        match &event.kind {
            EventKind::Payment(p) => {
                let receipt = p.receipt.to_string();
                if self.payments.get(receipt.as_str())?.is_some() {
                    if own {
                        return Err(StoreError::Invalid(format!(
                            "la quittance {receipt} existe déjà"
                        )));
                    }
                    return Ok(());
                }
                self.payments.insert(receipt.as_str(), at)?;
            }
            EventKind::PaymentCancel(c) => {
                let receipt = c.receipt.to_string();
                if own {
                    if self.payments.get(receipt.as_str())?.is_none() {
                        return Err(StoreError::Invalid(format!(
                            "aucun versement de quittance {receipt}"
                        )));
                    }
                    if self.cancelled.get(receipt.as_str())?.is_some() {
                        return Err(StoreError::AlreadyCancelled(receipt));
                    }
                }
                if self.cancelled.get(receipt.as_str())?.is_none() {
                    self.cancelled.insert(receipt.as_str(), at)?;
                }
            }
            EventKind::Receivable(r) => {
                // A run's lines are numbered 1, 2… on the bordereau after the last one: a
                // second run planned at the same time is refused whole, never interleaved.
                let key = (r.year, r.term.as_str());
                let last = self.bordereaux.get(key)?.map_or(0, |v| v.value());
                let expected = if r.line == 1 {
                    last.checked_add(1)
                } else {
                    Some(last)
                };
                if own && expected != Some(r.bordereau) {
                    return Err(StoreError::Invalid(format!(
                        "le bordereau {} du trimestre {} {} n'est plus le suivant : relancez la constatation",
                        r.bordereau, r.term, r.year
                    )));
                }
                if r.bordereau > last {
                    self.bordereaux.insert(key, r.bordereau)?;
                }
                self.billing
                    .insert((r.year, r.term.as_str(), at.0, at.1), ())?;
            }
            EventKind::BillingEntry(b) => {
                self.billing
                    .insert((b.year, b.term.as_str(), at.0, at.1), ())?;
            }
            EventKind::TermClosed(t) => {
                self.billing
                    .insert((t.year, t.term.as_str(), at.0, at.1), ())?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Gives `receipt` the next number of its régie and school year (gap-free: the number is taken
/// in the transaction that journals the payment).
fn number_receipt(
    receipts: &mut redb::Table<(&str, u16), u32>,
    receipt: &mut selfgate_rules::journal::Receipt,
) -> Result<(), StoreError> {
    if receipt.number != 0 {
        return Ok(());
    }
    let k = (receipt.regie.as_str(), receipt.year);
    let last = receipts.get(k)?.map_or(0, |v| v.value());
    let number = last.checked_add(1).ok_or_else(|| {
        StoreError::Invalid(format!("régie {}: no receipt number left", receipt.regie))
    })?;
    receipts.insert(k, number)?;
    receipt.number = number;
    Ok(())
}

/// A person record: the current layout, or the one before `tier` (read as no tier).
fn decode_person(id: u32, bytes: &[u8]) -> Result<Person, StoreError> {
    let what = format!("persons/{id}");
    match decode::<Person>(&what, bytes) {
        Ok(p) => Ok(p),
        Err(first) => match decode::<PersonBeforeTiers>(&what, bytes) {
            Ok(old) => Ok(old.into()),
            Err(_) => Err(first),
        },
    }
}

/// `Person` as stored before tariff tiers.
#[derive(Deserialize)]
struct PersonBeforeTiers {
    id: PersonId,
    external_id: String,
    last_name: String,
    first_name: String,
    class: String,
    category: selfgate_rules::model::Category,
    regime: selfgate_rules::model::Regime,
    forfaits: Vec<selfgate_rules::model::Forfait>,
    passages_per_service: u8,
}

impl From<PersonBeforeTiers> for Person {
    fn from(p: PersonBeforeTiers) -> Person {
        Person {
            id: p.id,
            external_id: p.external_id,
            last_name: p.last_name,
            first_name: p.first_name,
            class: p.class,
            category: p.category,
            regime: p.regime,
            forfaits: p.forfaits,
            passages_per_service: p.passages_per_service,
            tier: None,
        }
    }
}

/// What a journal event does to balances and the anti-passback state, in the transaction that
/// stores it.
fn event_effects(
    served: &mut redb::Table<(i32, u8, u32), (u8, i64)>,
    balances: &mut redb::Table<u32, i64>,
    event: &Event,
) -> Result<(), StoreError> {
    // Money is exact: an amount that would overflow refuses the whole request.
    let at = format!("{}/{}", event.gate, event.seq);
    let mut add_balance = |person: PersonId, delta: i64| -> Result<(), StoreError> {
        let old = balances.get(person.0)?.map_or(0, |v| v.value());
        let new = old.checked_add(delta).ok_or_else(|| {
            StoreError::Invalid(format!(
                "{at}: balance of person {} out of range ({old} + {delta} cents)",
                person.0
            ))
        })?;
        balances.insert(person.0, new)?;
        Ok(())
    };
    match &event.kind {
        EventKind::Passage(p) if p.verdict == Verdict::Pass => {
            if let (Some(person), Some(service)) = (p.person, p.service) {
                let key = (day_key(p.day), service.0, person.0);
                let (count, last) = served.get(key)?.map_or((0, i64::MIN), |v| v.value());
                served.insert(
                    key,
                    (
                        count.saturating_add(1),
                        last.max(event.at.timestamp_micros()),
                    ),
                )?;
            }
        }
        EventKind::Correction(c) => {
            let key = (day_key(c.day), c.service.0, c.person.0);
            let entry = served.get(key)?.map(|v| v.value());
            match entry {
                Some((n, _)) if n <= 1 => {
                    served.remove(key)?;
                }
                Some((n, last)) => {
                    served.insert(key, (n - 1, last))?;
                }
                None => {}
            }
        }
        EventKind::Passage(_)
        | EventKind::Alarm(_)
        | EventKind::Retention(_)
        | EventKind::Credit(_)
        | EventKind::Payment(_)
        | EventKind::PaymentCancel(_)
        | EventKind::Refund(_)
        | EventKind::BillingEntry(_)
        | EventKind::Receivable(_)
        | EventKind::TermClosed(_) => {}
    }
    // The balance: a pass's charge only with its service (as its anti-passback row).
    let counts = match &event.kind {
        EventKind::Passage(p) => p.service.is_some(),
        _ => true,
    };
    if counts {
        match event.kind.balance_delta() {
            Some((person, delta)) => add_balance(person, delta)?,
            None if matches!(&event.kind, EventKind::Passage(p)
                if p.verdict == Verdict::Pass && p.person.is_some() && p.charge_cents != 0) =>
            {
                return Err(StoreError::Invalid(format!("{at}: charge out of range")));
            }
            None => {}
        }
    }
    Ok(())
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    src: &redb::ReadTransaction,
    dst: &redb::WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    for row in from.iter()? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
    }
    Ok(())
}

type Ack = oneshot::Sender<Result<Vec<WriteOutcome>, Arc<StoreError>>>;

struct Request {
    ops: Vec<WriteOp>,
    ack: Ack,
    /// For the commit latency metric (queued → acknowledged).
    queued_at: std::time::Instant,
}

/// Counters of the writer, for metrics and benchmarks.
#[derive(Default, Debug)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// Requests handed to the writer, and requests it has answered (committed or failed).
    /// Answers come in queue order, so `answered < queued` seen a while ago means a request
    /// that old still waits: the gate's watchdog uses this to tell a stuck writer.
    pub queued: AtomicU64,
    pub answered: AtomicU64,
    /// Set when the writer thread has ended (its last handle dropped, or a fault): nothing is
    /// recorded any more, `/healthz` says so and the watchdog stops.
    pub stopped: std::sync::atomic::AtomicBool,
    /// Groups whose commit panicked (a bug): their requests were refused, the writer went on.
    pub panics: AtomicU64,
}

/// Marks the writer stopped however its thread ends, a panic included.
struct StoppedOnExit(Arc<WriterStats>);

impl Drop for StoppedOnExit {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
    }
}

/// The handle to the writer thread, which owns all writes to the store.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
    stats: Arc<WriterStats>,
}

/// A request queued to the writer; await it for the commit.
pub struct Pending(oneshot::Receiver<Result<Vec<WriteOutcome>, Arc<StoreError>>>);

impl Pending {
    pub async fn committed(self) -> Result<Vec<WriteOutcome>, Arc<StoreError>> {
        self.0
            .await
            .unwrap_or_else(|_| Err(Arc::new(StoreError::WriterGone)))
    }
}

/// Most requests one group commit takes.
const MAX_GROUP: usize = 512;

impl Writer {
    /// Starts the writer thread. It ends when every `Writer` handle is dropped, after
    /// committing what was queued.
    pub fn spawn(store: Store) -> Result<(Writer, std::thread::JoinHandle<()>), StoreError> {
        let mut seqs = store.seqs()?;
        let (tx, mut rx) = mpsc::channel::<Request>(4096);
        let stats = Arc::new(WriterStats::default());
        let st = stats.clone();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let _stopped = StoppedOnExit(st.clone());
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(r) => batch.push(r),
                            Err(_) => break,
                        }
                    }
                    let n = batch.len() as u64;
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit_group(&store, batch, &mut seqs, &st);
                    }));
                    if done.is_err() {
                        // The group's acknowledgements were dropped with it: its senders are
                        // told the write failed. Nothing of the aborted transaction was written.
                        st.panics.fetch_add(1, Ordering::Relaxed);
                        st.answered.fetch_add(n, Ordering::Relaxed);
                        tracing::error!(
                            "store writer: a commit panicked; its {n} request(s) were refused, the writer goes on"
                        );
                        match store.seqs() {
                            Ok(s) => seqs = s,
                            Err(e) => tracing::error!("store writer: cannot reload the sequences: {e}"),
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Dir {
                path: PathBuf::from("(writer thread)"),
                source: e,
            })?;
        Ok((Writer { tx, stats }, handle))
    }

    /// Queues `ops`; the order of queueing is the order of commit.
    pub async fn enqueue(&self, ops: Vec<WriteOp>) -> Pending {
        let (ack, rx) = oneshot::channel();
        // A send error drops `ack`, which `committed` reports as WriterGone.
        let queued_at = std::time::Instant::now();
        if self
            .tx
            .send(Request {
                ops,
                ack,
                queued_at,
            })
            .await
            .is_ok()
        {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        }
        Pending(rx)
    }

    /// Queues `ops` and waits for the commit.
    pub async fn submit(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, Arc<StoreError>> {
        self.enqueue(ops).await.committed().await
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// The counters, to keep beside the state that shows them (`/healthz`).
    pub fn stats_handle(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }
}

/// An error of the storage itself (as opposed to a bad request).
fn is_io(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Redb(redb::Error::Io(_) | redb::Error::PreviousIo)
            | StoreError::Reopening
            | StoreError::Open { .. }
    )
}

fn commit_group(
    store: &Store,
    batch: Vec<Request>,
    seqs: &mut HashMap<String, u64>,
    stats: &WriterStats,
) {
    if matches!(store.db(), Err(StoreError::Reopening)) {
        // The last reopen failed (the disk was still full): try again before this group.
        match store.reopen().and_then(|()| store.seqs()) {
            Ok(s) => *seqs = s,
            Err(e) => tracing::warn!("store still cannot be reopened: {e}"),
        }
    }
    let ops: Vec<&[WriteOp]> = batch.iter().map(|r| r.ops.as_slice()).collect();
    stats
        .requests
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    match store.commit(&ops, seqs) {
        Ok(results) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            let appended = results
                .iter()
                .flatten()
                .filter(|o| matches!(o, WriteOutcome::Appended(_)))
                .count();
            telemetry::group_committed(results.len(), appended);
            let n = batch.len() as u64;
            for (req, result) in batch.into_iter().zip(results) {
                telemetry::commit_latency(req.queued_at.elapsed());
                let _ = req.ack.send(Ok(result));
            }
            stats.answered.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) if batch.len() == 1 || is_io(&e) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            telemetry::commit_failed(batch.len());
            tracing::error!("store commit failed: {e}");
            if is_io(&e) {
                // redb refuses everything after an I/O error: open it again, so that the gate
                // records again as soon as the disk does (space freed, card reseated).
                match store.reopen().and_then(|()| store.seqs()) {
                    Ok(s) => *seqs = s,
                    Err(r) => {
                        tracing::error!("store reopen failed, will retry at the next write: {r}")
                    }
                }
            }
            let err = Arc::new(e);
            let n = batch.len() as u64;
            for req in batch {
                let _ = req.ack.send(Err(err.clone()));
            }
            stats.answered.fetch_add(n, Ordering::Relaxed);
        }
        Err(_) => {
            // One request may be at fault: commit each alone so the others still land.
            for req in batch {
                commit_group(store, vec![req], seqs, stats);
            }
        }
    }
}

/// Values the daemon's unit tests build their stores from.
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::NaiveDate;
    use selfgate_rules::journal::{Passage, Reason, Verdict};
    use selfgate_rules::model::{Category, Person, PersonId, Regime, ServiceId};

    /// Léa Martin, 6A, externe, id `id`, external id `E{id}`.
    pub(crate) fn person(id: u32) -> Person {
        Person {
            id: PersonId(id),
            external_id: format!("E{id}"),
            last_name: "Martin".into(),
            first_name: "Léa".into(),
            class: "6A".into(),
            category: Category::Eleve,
            regime: Regime::Externe,
            forfaits: vec![],
            passages_per_service: 1,
            tier: None,
        }
    }

    /// A ticket pass at lunch (`ServiceId(1)`) charging `charge`, badge `AA`.
    pub(crate) fn ticket_pass(person: u32, day: NaiveDate, charge: i64) -> Passage {
        Passage {
            credential: Some("AA".into()),
            person: Some(PersonId(person)),
            service: Some(ServiceId(1)),
            day,
            verdict: Verdict::Pass,
            reason: Reason::Ticket,
            charge_cents: charge,
            balance_after_cents: None,
            previous_at: None,
            by: None,
            note: None,
        }
    }
}

/// Records the service codes and time zone in the store, so that `selfgate journal` can name
/// services without the configuration file.
pub fn describe_school(config: &crate::config::Config) -> WriteOp {
    let codes: Vec<&str> = config
        .rules
        .services
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    let value = serde_json::json!({ "services": codes, "timezone": config.rules.timezone.name() });
    WriteOp::SetMeta {
        key: "school".into(),
        value: value.to_string().into_bytes(),
    }
}

/// redb's in-memory backend, shared by the store's reopen function.
#[derive(Debug, Clone)]
struct SharedMemory(Arc<redb::backends::InMemoryBackend>);

impl redb::StorageBackend for SharedMemory {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.0.write(offset, data)
    }
}

/// What [`describe_school`] recorded: the services' codes, by number, and the time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolDescription {
    pub services: Vec<String>,
    pub timezone: chrono_tz::Tz,
}

/// The school described by the `school` meta record (see [`Store::school`]).
fn school_of(record: Option<Vec<u8>>) -> SchoolDescription {
    let school: serde_json::Value = record
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let services = school["services"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let timezone = school["timezone"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::Europe::Paris);
    SchoolDescription { services, timezone }
}

impl Store {
    /// The school as last described in the store; no services and Europe/Paris when it never
    /// was (a store written by an import only).
    pub fn school(&self) -> Result<SchoolDescription, StoreError> {
        Ok(school_of(self.meta("school")?))
    }

    /// The school's time zone, as last described in the store.
    pub fn school_timezone(&self) -> Result<chrono_tz::Tz, StoreError> {
        Ok(self.school()?.timezone)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{person, ticket_pass};
    use super::*;
    use selfgate_rules::journal::Credit;

    fn pass(person: u32, day: NaiveDate, charge: i64) -> EventKind {
        EventKind::Passage(ticket_pass(person, day, charge))
    }

    #[test]
    fn the_data_directory_the_store_and_its_backups_are_private() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(DB_FILE)), 0o600);
        let copy = dir.path().join("copy.redb");
        store.backup_to(&copy).unwrap();
        assert_eq!(mode(&copy), 0o600);
    }

    #[tokio::test]
    async fn amounts_and_numbers_out_of_range_are_refused_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (writer, thread) = Writer::spawn(store.clone()).unwrap();
        writer
            .submit(vec![WriteOp::PutPerson(person(0))])
            .await
            .unwrap();
        let merged = |seq: u64, charge: i64| {
            WriteOp::Merge(Event {
                gate: "ligne-9".into(),
                seq,
                at: Utc::now(),
                kind: pass(0, day, charge),
            })
        };
        // A charge whose negation overflows (it panicked the writer before), then a credit that
        // would overflow the balance: each refused whole.
        let e = writer.submit(vec![merged(1, i64::MIN)]).await.unwrap_err();
        assert!(matches!(*e, StoreError::Invalid(_)), "{e}");
        let credit = |cents| WriteOp::Append {
            gate: "hub".into(),
            at: Utc::now(),
            kind: EventKind::Credit(Credit {
                person: PersonId(0),
                cents,
                note: "x".into(),
            }),
        };
        writer.submit(vec![credit(i64::MAX)]).await.unwrap();
        let e = writer.submit(vec![credit(1)]).await.unwrap_err();
        assert!(matches!(*e, StoreError::Invalid(_)), "{e}");
        // The last number of a gate: nothing can follow it.
        writer
            .submit(vec![WriteOp::SeqFloor {
                gate: "hub".into(),
                seq: u64::MAX,
            }])
            .await
            .unwrap();
        let e = writer.submit(vec![credit(-5)]).await.unwrap_err();
        assert!(matches!(*e, StoreError::Invalid(_)), "{e}");
        // The writer goes on, and nothing of the refused requests was written.
        writer.submit(vec![merged(1, 390)]).await.unwrap();
        let engine = store
            .load_engine(crate::config::Config::defaults().rules, day)
            .unwrap();
        assert_eq!(engine.roster().balance(PersonId(0)), i64::MAX - 390);
        assert_eq!(store.event_count().unwrap(), 2, "the credit and the pass");
        assert!(!writer.stats().stopped.load(Ordering::SeqCst));
        let stats = writer.stats_handle();
        drop(writer);
        thread.join().unwrap();
        assert!(
            stats.stopped.load(Ordering::SeqCst),
            "a writer whose thread ended says so"
        );
    }

    #[tokio::test]
    async fn group_commit_numbers_per_gate_and_state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let at = Utc::now();
        {
            let store = Store::open(dir.path()).unwrap();
            let (writer, thread) = Writer::spawn(store).unwrap();
            writer
                .submit(vec![
                    WriteOp::PutPerson(person(0)),
                    WriteOp::Append {
                        gate: "g1".into(),
                        at,
                        kind: EventKind::Credit(Credit {
                            person: PersonId(0),
                            cents: 1000,
                            note: "solde initial".into(),
                        }),
                    },
                ])
                .await
                .unwrap();
            let mut pending = Vec::new();
            for gate in ["g1", "g2", "g1"] {
                pending.push(
                    writer
                        .enqueue(vec![WriteOp::Append {
                            gate: gate.into(),
                            at,
                            kind: pass(0, day, 390),
                        }])
                        .await,
                );
            }
            let mut seqs = Vec::new();
            for p in pending {
                match p.committed().await.unwrap().pop() {
                    Some(WriteOutcome::Appended(e)) => seqs.push((e.gate, e.seq)),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(seqs, [("g1".into(), 2), ("g2".into(), 1), ("g1".into(), 3)]);
            drop(writer);
            thread.join().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.event_count().unwrap(), 4);
        let engine = store
            .load_engine(crate::config::Config::defaults().rules, day)
            .unwrap();
        assert_eq!(engine.roster().balance(PersonId(0)), 1000 - 3 * 390);
        assert_eq!(
            engine
                .served()
                .get(PersonId(0), day, ServiceId(1))
                .map(|e| e.count),
            Some(3)
        );
        // Numbering goes on after a restart.
        let (writer, _t) = Writer::spawn(store).unwrap();
        let r = writer
            .submit(vec![WriteOp::Append {
                gate: "g2".into(),
                at,
                kind: pass(0, day, 0),
            }])
            .await
            .unwrap();
        assert!(matches!(&r[0], WriteOutcome::Appended(e) if e.seq == 2));
    }

    #[test]
    fn a_second_process_is_told_the_store_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _a = Store::open(dir.path()).unwrap();
        match Store::open(dir.path()) {
            Err(StoreError::InUse { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened twice"),
        }
    }

    #[test]
    fn every_money_event_is_stored_and_read_back_as_it_was() {
        use selfgate_rules::journal::{
            EventRef, Payment, PaymentCancel, PaymentMode, Receipt, Refund,
        };
        let receipt = Receipt {
            regie: "INT".into(),
            year: 2026,
            number: 0,
        };
        let modes = [
            PaymentMode::Especes,
            PaymentMode::Cheque {
                number: "8812345".into(),
                bank: "Crédit Mutuel".into(),
            },
            PaymentMode::Carte,
            PaymentMode::Virement,
            PaymentMode::EnLigne {
                reference: "PAYFIP-1".into(),
            },
            PaymentMode::Import {
                reference: "CHARLEMAGNE-9".into(),
            },
        ];
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        store
            .write_now(&[WriteOp::PutPerson(person(0))])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut kinds: Vec<EventKind> = modes
            .iter()
            .map(|mode| {
                EventKind::Payment(Payment {
                    person: PersonId(0),
                    cents: 1250,
                    mode: mode.clone(),
                    payer: "Mme Martin".into(),
                    by: "régie".into(),
                    receipt: receipt.clone(),
                    note: "ras".into(),
                })
            })
            .collect();
        kinds.push(EventKind::Refund(Refund {
            person: PersonId(0),
            cents: 500,
            mode: modes[1].clone(),
            regie: "INT".into(),
            by: "régie".into(),
            reason: "départ".into(),
        }));
        let ops: Vec<WriteOp> = kinds
            .iter()
            .map(|kind| WriteOp::Append {
                gate: "g".into(),
                at: Utc::now(),
                kind: kind.clone(),
            })
            .collect();
        let written = store.write_now(&ops).unwrap_or_else(|e| panic!("{e}"));
        let first = match &written[0] {
            WriteOutcome::Appended(e) => (**e).clone(),
            other => panic!("{other:?}"),
        };
        let cancel = EventKind::PaymentCancel(PaymentCancel {
            refers_to: EventRef {
                gate: "g".into(),
                seq: first.seq,
            },
            receipt: Receipt {
                number: 1,
                ..receipt.clone()
            },
            person: PersonId(0),
            cents: 1250,
            by: "régie".into(),
            reason: "erreur".into(),
        });
        store
            .write_now(&[WriteOp::Append {
                gate: "g".into(),
                at: Utc::now(),
                kind: cancel,
            }])
            .unwrap_or_else(|e| panic!("{e}"));
        let read = store.events(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.len(), 8);
        for (i, (w, r)) in written.iter().zip(&read).enumerate() {
            let WriteOutcome::Appended(w) = w else {
                panic!("{w:?}")
            };
            assert_eq!(**w, *r, "event {i}");
        }
        // Receipts numbered 1 to 6 in the order written; the balance is their sum.
        let numbers: Vec<u32> = read
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Payment(p) => Some(p.receipt.number),
                _ => None,
            })
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
        let engine = store
            .load_engine(
                crate::config::Config::parse("", "t.toml")
                    .unwrap_or_else(|e| panic!("{e}"))
                    .rules,
                chrono::NaiveDate::MIN,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine.roster().balance(PersonId(0)), 6 * 1250 - 500 - 1250);
        let (paid, cancelled) = store
            .payment(&Receipt {
                number: 1,
                ..receipt
            })
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no receipt 1"));
        assert_eq!(paid, first);
        assert!(cancelled.is_some());
    }
}
