//! `selfgate-bench`: selfgate's benchmarks. Each prints its figures; BENCHMARKS.md keeps the
//! latest ones with the command that produced them. Run in release mode:
//!
//! ```sh
//! cargo run --release -p selfgate-bench            # all
//! cargo run --release -p selfgate-bench -- decision journal start
//! ```
//!
//! - `decision`: `Engine::decide` alone with 100,000 persons and a full day's anti-passback
//!   state; baseline in the same run: the badge lookup alone.
//! - `pulse`: badge to pulse, EM4100 frames written to 4 pseudo-terminals read by the real
//!   driver and gate, durable commit included, to the turnstile output being driven.
//! - `journal`: durable appends through the store writer (group commit) against SQLite (WAL,
//!   synchronous=FULL) doing the same appends with the same durability, in the same run.
//! - `sync`: a hub and gates over mutual TLS on loopback: catch-up of 1,000,000 queued
//!   events, full and incremental roster sync, passage propagation between gates (`sync.rs`).
//! - `start`: the real `selfgate run` from process start to its ready line with 100,000 persons
//!   and 1,000,000 journal events, and its resident memory.
//! - `exchanges`: the data exchanges' work for a 1,500-pupil school with 12 weeks of journal:
//!   kitchen headcounts, PRONOTE's meal days document, an absence list parsed and turned into
//!   oppositions, the no-shows of a service.
//! - `kiosk`: the live feed at 50 connected staff screens (server-sent events), from the read
//!   and from the commit to each client (`kiosk.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod billing;
mod kiosk;
mod sync;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use selfgate::config::Config;
use selfgate::store::{Store, WriteOp, Writer};
use selfgate_rules::journal::{EventKind, Passage, Reason, Verdict};
use selfgate_rules::model::{
    BadgeNumber, Category, Credential, CredentialStatus, Forfait, Person, PersonId, Regime,
    ServiceId, ServiceSet, WeekdaySet,
};
use selfgate_rules::{Engine, ServedEntry};

const PERSONS: u32 = 100_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn badge(i: u32) -> String {
    format!("0B{i:08X}")
}

/// A person of the benchmark school: 45% DP 5 jours, 25% DP 4 jours, 8% internes, the rest on
/// ticket.
fn person(i: u32, year: (NaiveDate, NaiveDate)) -> Person {
    let (weekdays, services) = match i % 100 {
        0..45 => (WeekdaySet::SCHOOL_WEEK, ServiceSet::single(ServiceId(1))),
        45..70 => (WeekdaySet::DP4, ServiceSet::single(ServiceId(1))),
        70..78 => (WeekdaySet::SCHOOL_WEEK, ServiceSet::ALL),
        _ => (WeekdaySet::EMPTY, ServiceSet::EMPTY),
    };
    Person {
        id: PersonId(i),
        external_id: format!("B{i:06}"),
        last_name: format!("NOM{i}"),
        first_name: format!("Prénom{i}"),
        class: format!("{}{}", 3 + i % 4, (b'A' + (i % 8) as u8) as char),
        category: Category::Eleve,
        regime: if weekdays.is_empty() {
            Regime::Externe
        } else {
            Regime::DemiPensionnaire
        },
        forfaits: if weekdays.is_empty() {
            vec![]
        } else {
            vec![Forfait {
                weekdays,
                services,
                from: year.0,
                to: year.1,
            }]
        },
        passages_per_service: 1,
        tier: None,
    }
}

fn paris(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    chrono_tz::Europe::Paris
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration, Duration, Duration) {
    d.sort_unstable();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q) as usize];
    (at(0.5), at(0.99), at(0.999), d[d.len() - 1])
}

fn bench_decision() {
    let config = Config::defaults();
    let year = (config.school.year_start, config.school.year_end);
    let mut engine = Engine::new(config.rules.clone());
    for i in 0..PERSONS {
        engine.roster_mut().put_person(person(i, year));
        engine
            .roster_mut()
            .set_balance(PersonId(i), i64::from(i % 3000));
        engine.roster_mut().put_credential(Credential {
            number: badge(i).parse::<BadgeNumber>().unwrap(),
            person: PersonId(i),
            status: CredentialStatus::Active,
        });
    }
    // A full day's anti-passback state: breakfast for the internes, lunch for 70% of everyone.
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let noon = paris("2026-11-16 12:00:00");
    for i in 0..PERSONS {
        if (70..78).contains(&(i % 100)) {
            engine.served_mut().set(
                PersonId(i),
                day,
                ServiceId(0),
                ServedEntry {
                    count: 1,
                    last_at: noon,
                },
            );
        }
        if rng.below(10) < 7 {
            engine.served_mut().set(
                PersonId(i),
                day,
                ServiceId(1),
                ServedEntry {
                    count: 1,
                    last_at: noon,
                },
            );
        }
    }
    let reads: Vec<String> = (0..1_000_000)
        .map(|_| match rng.below(10) {
            0 => format!("0F{:08X}", rng.next() as u32),
            _ => badge(rng.below(u64::from(PERSONS)) as u32),
        })
        .collect();
    let at = paris("2026-11-16 12:10:00");
    let gates = ["ligne-1", "ligne-2", "ligne-3", "ligne-4"];

    // Warm up, then time each call.
    let mut passes = 0usize;
    for r in reads.iter().take(10_000) {
        passes += usize::from(engine.decide(gates[0], r, at).verdict == Verdict::Pass);
    }
    let mut decide = Vec::with_capacity(reads.len());
    let mut lookup = Vec::with_capacity(reads.len());
    for (n, r) in reads.iter().enumerate() {
        let t = Instant::now();
        let p = engine.decide(gates[n % 4], r, at);
        decide.push(t.elapsed());
        passes += usize::from(p.verdict == Verdict::Pass);
        let t = Instant::now();
        let c = engine.roster().credential(r).map(|c| c.person);
        lookup.push(t.elapsed());
        std::hint::black_box(c);
    }
    let (p50, p99, p999, max) = percentiles(decide);
    let (l50, l99, _, _) = percentiles(lookup);
    println!(
        "## decision (Engine::decide), {PERSONS} persons, {} served today, 1,000,000 reads",
        engine.served().len()
    );
    println!("| measure | p50 | p99 | p99.9 | max |");
    println!("|---|---|---|---|---|");
    println!("| decide | {p50:?} | {p99:?} | {p999:?} | {max:?} |");
    println!("| baseline: badge lookup alone | {l50:?} | {l99:?} | | |");
    println!("(passes among the reads: {passes}; target p99 ≤ 5 µs)\n");
}

fn passage(i: u64, day: NaiveDate) -> EventKind {
    EventKind::Passage(Passage {
        credential: Some(badge(i as u32)),
        person: Some(PersonId((i % u64::from(PERSONS)) as u32)),
        service: Some(ServiceId(1)),
        day,
        verdict: Verdict::Pass,
        reason: Reason::Forfait,
        charge_cents: 0,
        balance_after_cents: None,
        previous_at: None,
        by: None,
        note: None,
    })
}

fn bench_journal(events: u64, producers: u64) {
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let store = Store::open(&dir.path().join("redb")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (writer, thread) = Writer::spawn(store.clone()).unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for p in 0..producers {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                for i in (p..events).step_by(producers as usize) {
                    let op = WriteOp::Append {
                        gate: format!("ligne-{}", p % 4 + 1),
                        at: Utc::now(),
                        kind: passage(i, day),
                    };
                    w.submit(vec![op]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let redb_secs = start.elapsed().as_secs_f64();
    let commits = writer
        .stats()
        .commits
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(writer);
    thread.join().unwrap();
    let group = events as f64 / commits.max(1) as f64;

    // SQLite, same records, same durability (fsync at each commit): per event, and in groups
    // of the size redb's writer formed.
    let sqlite = |batch: u64| -> f64 {
        let path = dir.path().join(format!("sqlite-{batch}.db"));
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE journal (gate TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (gate, seq));").unwrap();
        let start = Instant::now();
        let mut i = 0;
        while i < events {
            let tx = conn.unchecked_transaction().unwrap();
            {
                let mut stmt = tx
                    .prepare_cached("INSERT INTO journal (gate, seq, body) VALUES (?1, ?2, ?3)")
                    .unwrap();
                for j in i..(i + batch).min(events) {
                    let body = postcard::to_stdvec(&passage(j, day)).unwrap();
                    stmt.execute(rusqlite::params![
                        format!("ligne-{}", j % 4 + 1),
                        j as i64,
                        body
                    ])
                    .unwrap();
                }
            }
            tx.commit().unwrap();
            i += batch;
        }
        events as f64 / start.elapsed().as_secs_f64()
    };
    // redb alone, same records, same group sizes, no writer thread and no balance or
    // anti-passback rows: what the store's own work adds on top of redb's commit.
    let raw_redb = {
        const T: redb::TableDefinition<(&str, u64), &[u8]> = redb::TableDefinition::new("journal");
        let db = redb::Database::create(dir.path().join("raw.redb")).unwrap();
        let batch = group.round().max(1.0) as u64;
        let start = Instant::now();
        let mut i = 0;
        while i < events {
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(T).unwrap();
                for j in i..(i + batch).min(events) {
                    let body = postcard::to_stdvec(&passage(j, day)).unwrap();
                    t.insert(
                        (format!("ligne-{}", j % 4 + 1).as_str(), j),
                        body.as_slice(),
                    )
                    .unwrap();
                }
            }
            txn.commit().unwrap();
            i += batch;
        }
        events as f64 / start.elapsed().as_secs_f64()
    };
    let redb_rate = events as f64 / redb_secs;
    let sqlite_one = sqlite(1);
    let sqlite_grouped = sqlite(group.round().max(1.0) as u64);
    println!(
        "## journal appends, {events} events, {producers} concurrent producers, durable commits"
    );
    println!("| store | events/s | ratio to redb |");
    println!("|---|---|---|");
    println!(
        "| selfgate store writer (redb 4, group commit, {commits} commits, {group:.1} events/commit) | {redb_rate:.0} | 1.00 |"
    );
    println!(
        "| baseline: redb alone, same group sizes, journal rows only | {raw_redb:.0} | {:.2} |",
        raw_redb / redb_rate
    );
    println!(
        "| SQLite WAL synchronous=FULL, one transaction per event | {sqlite_one:.0} | {:.2} |",
        sqlite_one / redb_rate
    );
    println!(
        "| SQLite WAL synchronous=FULL, same group sizes | {sqlite_grouped:.0} | {:.2} |\n",
        sqlite_grouped / redb_rate
    );
}

/// Where benchmark data goes: `$SELFGATE_BENCH_DIR` or the system's temporary directory.
fn bench_dir() -> PathBuf {
    std::env::var_os("SELFGATE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn selfgate_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SELFGATE_BIN") {
        return PathBuf::from(p);
    }
    let here = std::env::current_exe().unwrap();
    here.with_file_name("selfgate")
}

fn vm(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn bench_start(events: u64) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let data = dir.path().join("data");
    let config = Config::defaults();
    let year = (config.school.year_start, config.school.year_end);
    let build = Instant::now();
    {
        let store = Store::open(&data).unwrap();
        let mut ops = Vec::new();
        for i in 0..PERSONS {
            ops.push(WriteOp::PutPerson(person(i, year)));
            ops.push(WriteOp::PutCredential(Credential {
                number: badge(i).parse().unwrap(),
                person: PersonId(i),
                status: CredentialStatus::Active,
            }));
        }
        store.write_now(&ops).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let at = Utc::now();
        let mut i = 0;
        while i < events {
            let ops: Vec<WriteOp> = (i..(i + 50_000).min(events))
                .map(|j| WriteOp::Append {
                    gate: "ligne-1".into(),
                    at,
                    kind: passage(j, day),
                })
                .collect();
            store.write_now(&ops).unwrap();
            i += 50_000;
        }
        assert_eq!(store.event_count().unwrap(), events);
    }
    let size = std::fs::metadata(data.join(selfgate::store::DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let fifo = dir.path().join("reader.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let cfg = dir.path().join("selfgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\ndata_dir = {:?}\n[[gate.readers]]\nkind = \"line\"\npath = {:?}\n[kiosk]\nlisten = \"127.0.0.1:0\"\n",
            data.display().to_string(),
            fifo.display().to_string()
        ),
    )
    .unwrap();
    let bin = selfgate_binary();
    let mut rows = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut child = Command::new(&bin)
            .args(["run", "--config"])
            .arg(&cfg)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (build it with cargo build --release -p selfgate)",
                    bin.display()
                )
            });
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = loop {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("selfgate: ready") => break t.elapsed(),
                Some(_) => {}
                None => panic!("selfgate exited before it was ready"),
            }
        };
        let pid = child.id();
        let (rss, hwm) = (vm(pid, "VmRSS:"), vm(pid, "VmHWM:"));
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = child.wait();
        rows.push((ready, rss, hwm));
    }
    rows.sort_by_key(|r| r.0);
    let (ready, rss, hwm) = rows[1];
    println!(
        "## start, {PERSONS} persons, {events} journal events ({:.0} MB database, built in {:.1} s)",
        size as f64 / 1e6,
        build.elapsed().as_secs_f64()
    );
    println!("| measure | median of 3 | target |");
    println!("|---|---|---|");
    println!("| process start to ready (readers open, kiosk listening) | {ready:?} | ≤ 1 s |");
    println!(
        "| resident memory at ready (VmRSS) | {:.1} MB | ≤ 64 MB |",
        rss as f64 / 1024.0
    );
    println!(
        "| peak resident memory (VmHWM) | {:.1} MB | |\n",
        hwm as f64 / 1024.0
    );
}

/// A turnstile output that only timestamps when it is driven (the simulated output of the
/// badge-to-pulse benchmark).
struct StampingTurnstile {
    pulses: std::sync::Mutex<Vec<(String, Instant)>>,
}

impl selfgate_hardware::Turnstile for StampingTurnstile {
    fn name(&self) -> &str {
        "stamping"
    }
    fn pulse(
        &self,
        tag: &str,
        _length_ms: u32,
    ) -> selfgate_hardware::BoxFuture<'_, Result<(), selfgate_hardware::HwError>> {
        let at = Instant::now();
        self.pulses.lock().unwrap().push((tag.to_owned(), at));
        Box::pin(async { Ok(()) })
    }
    fn watch_inputs(&self, _inputs: tokio::sync::mpsc::Sender<selfgate_hardware::TurnstileInput>) {}
}

/// From the last byte of an EM4100 frame written to a pseudo-terminal to the turnstile output
/// being driven: 4 readers on 4 ptys, 100,000 persons indexed, bursts of one read per reader,
/// the durable commit in between.
fn bench_badge_to_pulse(bursts: usize) {
    use selfgate_hardware::em4100::{Em4100Reader, encode_frame};
    use selfgate_hardware::pty::Pty;
    use std::io::Write as _;

    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let config = Config::parse(
        &format!(
            "[school]\ntimezone = \"UTC\"\npublic_holidays = false\n[store]\ndata_dir = {:?}\n[[services]]\ncode = \"tout\"\nstart = \"00:00\"\nend = \"23:59\"\ndays = \"tous sam dim\"\n",
            dir.path().display().to_string()
        ),
        "bench.toml",
    )
    .unwrap();
    let year = (config.school.year_start, config.school.year_end);
    let store = Store::open(dir.path()).unwrap();
    // Tags 0x0A00000000 + i: EM4100 credentials print as 10 hex digits.
    let tag = |i: u32| -> [u8; 5] {
        let b = i.to_be_bytes();
        [0x0A, b[0], b[1], b[2], b[3]]
    };
    let mut ops = Vec::new();
    for i in 0..PERSONS {
        let mut p = person(i, year);
        p.forfaits.clear();
        ops.push(WriteOp::PutPerson(p));
        let t = tag(i);
        let number = format!(
            "{:02X}{:02X}{:02X}{:02X}{:02X}",
            t[0], t[1], t[2], t[3], t[4]
        );
        ops.push(WriteOp::PutCredential(Credential {
            number: number.parse().unwrap(),
            person: PersonId(i),
            status: CredentialStatus::Active,
        }));
        ops.push(WriteOp::Append {
            gate: "ligne-1".into(),
            at: Utc::now(),
            kind: EventKind::Credit(selfgate_rules::journal::Credit {
                person: PersonId(i),
                cents: 100_000,
                note: "bench".into(),
            }),
        });
    }
    store.write_now(&ops).unwrap();
    let engine = store
        .load_engine(config.rules.clone(), Utc::now().date_naive())
        .unwrap();
    let clock: Arc<dyn selfgate::infra::clock::Clock> =
        Arc::new(selfgate::infra::clock::SystemClock);
    let shared = selfgate::node::gate::Shared::new(config, engine, clock);
    let (writer, thread) = Writer::spawn(store.clone()).unwrap();
    let gate = selfgate::node::gate::Gate::new(shared.clone(), writer.clone());
    let ptys: Vec<Pty> = (0..4).map(|_| Pty::open().unwrap()).collect();
    let readers: Vec<Box<dyn selfgate_hardware::Reader>> = ptys
        .iter()
        .enumerate()
        .map(|(n, p)| {
            Box::new(Em4100Reader::new(
                format!("lecteur-{n}"),
                p.slave_path(),
                9600,
            )) as Box<dyn selfgate_hardware::Reader>
        })
        .collect();
    let turnstile = Arc::new(StampingTurnstile {
        pulses: std::sync::Mutex::new(Vec::new()),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let hw = selfgate::node::gate::Hardware {
        readers,
        turnstile: turnstile.clone(),
    };
    let running = rt.spawn(gate.run(hw, async {
        let _ = stop_rx.await;
    }));
    std::thread::sleep(Duration::from_millis(500));

    let mut masters: Vec<std::fs::File> = ptys.iter().map(Pty::master).collect();
    let mut written: std::collections::HashMap<String, Instant> = std::collections::HashMap::new();
    let mut next = 0u32;
    for _ in 0..bursts {
        // One card on each reader at (nearly) the same moment.
        for m in masters.iter_mut() {
            let t = tag(next);
            m.write_all(&encode_frame(t)).unwrap();
            written.insert(
                format!(
                    "{:02X}{:02X}{:02X}{:02X}{:02X}",
                    t[0], t[1], t[2], t[3], t[4]
                ),
                Instant::now(),
            );
            next += 1;
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let _ = stop_tx.send(());
    rt.block_on(running).unwrap();
    drop(writer);
    drop(shared);
    thread.join().unwrap();

    let events = store.events(None).unwrap();
    let by_tag: std::collections::HashMap<String, String> = events
        .iter()
        .filter_map(|e| {
            e.passage()
                .and_then(|p| p.credential.clone())
                .map(|c| (format!("{}/{}", e.gate, e.seq), c))
        })
        .collect();
    let pulses = turnstile.pulses.lock().unwrap().clone();
    let lat: Vec<Duration> = pulses
        .iter()
        .filter_map(|(t, at)| {
            by_tag
                .get(t)
                .and_then(|c| written.get(c))
                .map(|w| at.saturating_duration_since(*w))
        })
        .collect();
    let reads = bursts * 4;
    let (p50, p99, _, max) = percentiles(lat.clone());
    println!(
        "## badge to pulse, EM4100 frames on 4 pseudo-terminals, {PERSONS} persons, {bursts} bursts of 4 reads"
    );
    println!("| measure | p50 | p99 | max | pulses / reads |");
    println!("|---|---|---|---|---|");
    println!(
        "| last frame byte written → turnstile output driven (durable commit included) | {p50:?} | {p99:?} | {max:?} | {} / {reads} |",
        lat.len()
    );
    println!(
        "(target p99 ≤ 5 ms; for scale, an EM4100 frame takes 14.6 ms on the wire at 9600 baud)\n"
    );
}

/// A SIÈCLE `ElevesSansAdresses.xml` of `pupils` pupils, ISO-8859-15 (œ as 0xBD), with its
/// STRUCTURES section, as the real exports have.
fn siecle_file(pupils: usize) -> Vec<u8> {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<BEE_ELEVES VERSION=\"2.1\">\n\
         <PARAMETRES><UAJ>0310053P</UAJ><ANNEE_SCOLAIRE>2025</ANNEE_SCOLAIRE></PARAMETRES>\n\
         <DONNEES>\n<ELEVES>\n",
    );
    let regimes = ["24", "25", "2", "29", "3", "0"];
    for i in 0..pupils {
        let id = 100_000 + i;
        let sortie = if i % 2 == 0 {
            "<DATE_SORTIE>04/07/2024</DATE_SORTIE><CODE_MOTIF_SORTIE>01</CODE_MOTIF_SORTIE>"
        } else {
            ""
        };
        x.push_str(&format!(
            "<ELEVE ELEVE_ID=\"{id}\" ELENOET=\"{i}\">\n  <ID_NATIONAL>{i:09}AB</ID_NATIONAL>\n  \
             <ELENOET>{i}</ELENOET>\n  <NOM_DE_FAMILLE>C\u{1}ur{i}</NOM_DE_FAMILLE>\n  <NOM_USAGE/>\n  \
             <PRENOM>Elo\u{1}se</PRENOM>\n  <DATE_NAISS>12/03/2012</DATE_NAISS>\n  \
             <CODE_SEXE>2</CODE_SEXE>\n  <CODE_REGIME>{}</CODE_REGIME>\n  \
             <DATE_ENTREE>01/09/2023</DATE_ENTREE>{sortie}\n  <CODE_MEF>10010012110</CODE_MEF>\n\
             </ELEVE>\n",
            regimes[i % regimes.len()]
        ));
    }
    x.push_str("</ELEVES>\n<STRUCTURES>\n");
    for i in 0..pupils {
        x.push_str(&format!(
            "<STRUCTURES_ELEVE ELEVE_ID=\"{}\" ELENOET=\"{i}\"><STRUCTURE>\
             <CODE_STRUCTURE>{}e {}</CODE_STRUCTURE><TYPE_STRUCTURE>D</TYPE_STRUCTURE>\
             </STRUCTURE></STRUCTURES_ELEVE>\n",
            100_000 + i,
            3 + i % 4,
            1 + i % 6
        ));
    }
    x.push_str("</STRUCTURES>\n</DONNEES>\n</BEE_ELEVES>\n");
    // \u{1} stands for œ: 0xBD in ISO-8859-15.
    x.into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xBD } else { b })
        .collect()
}

fn bench_siecle(pupils: usize) {
    println!("## SIÈCLE import: parse an ElevesSansAdresses.xml of {pupils} pupils\n");
    let bytes = siecle_file(pupils);
    let mut best = Duration::MAX;
    let mut parsed = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let e = selfgate_rules::siecle::parse_eleves(&bytes).unwrap();
        best = best.min(t.elapsed());
        parsed = e.pupils.len();
    }
    assert_eq!(parsed, pupils);
    let config = Config::defaults();
    let eleves = selfgate_rules::siecle::parse_eleves(&bytes).unwrap();
    let engine = Engine::new(config.rules.clone());
    let t = Instant::now();
    let (ops, _) = selfgate::cli::siecle::plan_siecle(
        &config,
        engine.roster(),
        &eleves,
        None,
        None,
        config.school.year_start,
    );
    let plan = t.elapsed();
    println!(
        "file {:.1} MB (ISO-8859-15): parse {:.1} ms (best of 5), {:.0} pupils/s; \
         plan against an empty roster {:.1} ms ({} pupils to add)\n",
        bytes.len() as f64 / 1e6,
        best.as_secs_f64() * 1e3,
        pupils as f64 / best.as_secs_f64(),
        plan.as_secs_f64() * 1e3,
        ops.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let wanted: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = wanted.is_empty();
    println!(
        "# selfgate benchmarks — {} ({} cores)\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    if all || wanted.contains(&"decision") {
        bench_decision();
    }
    if all || wanted.contains(&"pulse") {
        bench_badge_to_pulse(if quick { 50 } else { 500 });
    }
    if all || wanted.contains(&"journal") {
        bench_journal(if quick { 2_000 } else { 20_000 }, 64);
    }
    if all || wanted.contains(&"start") {
        bench_start(if quick { 100_000 } else { 1_000_000 });
    }
    if all || wanted.contains(&"siecle") {
        bench_siecle(10_000);
    }
    if all || wanted.contains(&"sync") {
        sync::bench_sync(if quick { 100_000 } else { 1_000_000 });
    }
    if all || wanted.contains(&"exchanges") {
        bench_exchanges(1_500, 12);
    }
    if all || wanted.contains(&"kiosk") {
        kiosk::bench_kiosk(if quick { 40 } else { 200 });
    }
    if all || wanted.contains(&"billing") {
        billing::bench_billing(if quick { 300 } else { 1_500 });
    }
}

/// Best of 5 runs of `f`, and its last result.
fn best_of<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn bench_exchanges(pupils: u32, weeks: u32) {
    use selfgate::node::exchange::{effectifs, format, pronote};
    use selfgate_rules::journal::Event;
    println!(
        "## Data exchanges: a {pupils}-pupil school, {weeks} weeks of lunches in the journal\n"
    );
    let config = Config::parse(
        "[school]\nuai = \"0999999X\"\nyear_start = \"2026-09-01\"\nyear_end = \"2027-07-06\"\n",
        "bench.toml",
    )
    .unwrap();
    let year = (config.school.year_start, config.school.year_end);
    let mut engine = Engine::new(config.rules.clone());
    for i in 0..pupils {
        engine.roster_mut().put_person(person(i, year));
    }
    let lunch = ServiceId(1);
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(); // a Monday
    let mut events = Vec::new();
    let mut seq = 0;
    let mut rng = Rng(0x5eed);
    for back in 1..=(weeks * 7) {
        let day = today - chrono::Days::new(u64::from(back));
        if !pronote::served_on(&config.rules, day, lunch) {
            continue;
        }
        let at = paris(&format!("{day} 12:00:00"));
        for p in engine.roster().persons() {
            let forfait = p.forfait_covers(day, lunch);
            // Nine in ten registered pupils come; one ticket pupil in four.
            if !(forfait && rng.below(10) != 0 || !forfait && rng.below(4) == 0) {
                continue;
            }
            seq += 1;
            events.push(Event {
                gate: "ligne-1".into(),
                seq,
                at,
                kind: EventKind::Passage(Passage {
                    credential: Some(badge(p.id.0)),
                    person: Some(p.id),
                    service: Some(lunch),
                    day,
                    verdict: Verdict::Pass,
                    reason: if forfait {
                        Reason::Forfait
                    } else {
                        Reason::Ticket
                    },
                    charge_cents: if forfait { 0 } else { 390 },
                    balance_after_cents: None,
                    previous_at: None,
                    by: None,
                    note: None,
                }),
            });
        }
    }
    let opts = selfgate::config::EffectifsConfig {
        software: selfgate::config::KitchenSoftware::Easilys,
        format: selfgate::config::FileFormat::Csv,
        target: selfgate::config::Target::Folder(PathBuf::from("/nowhere")),
        days_ahead: 5,
        history_weeks: 4,
    };
    let now = paris(&format!("{today} 14:00:00"));
    let (t_counts, rows) =
        best_of(|| effectifs::headcounts(&config, &opts, engine.roster(), &events, now));
    let (t_csv, csv) = best_of(|| effectifs::render(&config, &opts, &rows, now));
    let (t_meals, doc) = best_of(|| pronote::meal_days(&config, engine.roster(), today, now));
    let meal_json = serde_json::to_vec(&doc).unwrap();
    // PRONOTE's absence list: 10% of the pupils.
    let absents: Vec<String> = (0..pupils)
        .step_by(10)
        .map(|i| format!("{{\"id\":\"B{i:06}\",\"motif\":\"Maladie\"}}"))
        .collect();
    let list = format!(
        "{{\"format\":\"selfgate-pronote/1\",\"kind\":\"absences\",\"uai\":\"0999999X\",\
         \"date\":\"{today}\",\"service\":\"dejeuner\",\"generated_at\":\"2026-11-30T09:00:00Z\",\
         \"absents\":[{}]}}",
        absents.join(",")
    );
    let (t_absences, changes) = best_of(|| {
        let doc = format::parse_absences(list.as_bytes(), "0999999X", today, "dejeuner").unwrap();
        pronote::absence_changes(engine.roster(), &doc, today, lunch)
    });
    let (t_noshows, noshows) =
        best_of(|| pronote::no_shows(&config, engine.roster(), engine.served(), today, lunch, now));
    println!(
        "| step | time (best of 5) | size |\n|---|---|---|\n\
         | headcounts from {} journal events | {:.1} ms | {} rows |\n\
         | headcounts to CSV | {:.2} ms | {} bytes |\n\
         | PRONOTE meal days, 15 days | {:.1} ms | {} pupils, {} bytes of JSON |\n\
         | absence list parsed and turned into oppositions | {:.2} ms | {} absents, {} oppositions |\n\
         | no-shows of a service | {:.2} ms | {} of {} registered |\n",
        events.len(),
        t_counts.as_secs_f64() * 1e3,
        rows.len(),
        t_csv.as_secs_f64() * 1e3,
        csv.len(),
        t_meals.as_secs_f64() * 1e3,
        doc.eleves.len(),
        meal_json.len(),
        t_absences.as_secs_f64() * 1e3,
        absents.len(),
        changes.added,
        t_noshows.as_secs_f64() * 1e3,
        noshows.eleves.len(),
        noshows.inscrits,
    );
}
