//! Storage faults, through redb storage backends that misbehave on purpose:
//!
//! - power loss: a backend that keeps only what was synced, plus a random prefix of the writes
//!   issued since (as redb's own crash tests do); the database reopens and holds every passage
//!   whose commit returned;
//! - disk full: a backend whose writes fail with ENOSPC; the gate refuses the passages it cannot
//!   record (no pulse, "not recorded" on the kiosk, nothing counted) and recovers when space
//!   returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use selfgate::config::Config;
use selfgate::node::Services;
use selfgate::node::gate::Shared;
use selfgate::node::kiosk::view;
use selfgate::store::{Store, WriteOp, WriteOutcome};
use selfgate_hardware::sim::SimReader;
use selfgate_rules::journal::{EventKind, Passage, Reason, Verdict};
use selfgate_rules::model::{PersonId, ServiceId};

#[derive(Default)]
struct Image {
    /// What survives a power cut.
    durable: Vec<u8>,
    /// What the running process sees.
    live: Vec<u8>,
    /// Writes since the last sync, in order: (offset, bytes); a length change is (len, empty).
    unsynced: Vec<(u64, Vec<u8>, bool)>,
}

/// A disk that can lose its unsynced writes and run out of space.
#[derive(Clone, Default)]
struct Disk {
    state: Arc<Mutex<Image>>,
    full: Arc<AtomicBool>,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Disk({} bytes)", self.state.lock().unwrap().live.len())
    }
}

fn enospc() -> std::io::Error {
    std::io::Error::from_raw_os_error(28)
}

impl Disk {
    /// The disk after a power cut: the synced image plus the first `keep` unsynced writes.
    fn after_power_cut(&self, keep: usize) -> Disk {
        let s = &self.state.lock().unwrap();
        let mut image = s.durable.clone();
        for (offset, bytes, is_len) in s.unsynced.iter().take(keep) {
            if *is_len {
                image.resize(*offset as usize, 0);
            } else {
                let end = *offset as usize + bytes.len();
                if image.len() < end {
                    image.resize(end, 0);
                }
                image[*offset as usize..end].copy_from_slice(bytes);
            }
        }
        let disk = Disk::default();
        {
            let mut d = disk.state.lock().unwrap();
            d.durable = image.clone();
            d.live = image;
        }
        disk
    }
    fn unsynced(&self) -> usize {
        self.state.lock().unwrap().unsynced.len()
    }
}

impl redb::StorageBackend for Disk {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.state.lock().unwrap().live.len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let s = &self.state.lock().unwrap();
        let end = offset as usize + out.len();
        if end > s.live.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past end",
            ));
        }
        out.copy_from_slice(&s.live[offset as usize..end]);
        Ok(())
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let s = &mut self.state.lock().unwrap();
        if len > s.live.len() as u64 && self.full.load(Ordering::SeqCst) {
            return Err(enospc());
        }
        s.live.resize(len as usize, 0);
        s.unsynced.push((len, Vec::new(), true));
        Ok(())
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        if self.full.load(Ordering::SeqCst) {
            return Err(enospc());
        }
        let s = &mut self.state.lock().unwrap();
        s.durable = s.live.clone();
        s.unsynced.clear();
        Ok(())
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        if self.full.load(Ordering::SeqCst) {
            return Err(enospc());
        }
        let s = &mut self.state.lock().unwrap();
        let end = offset as usize + data.len();
        if s.live.len() < end {
            s.live.resize(end, 0);
        }
        s.live[offset as usize..end].copy_from_slice(data);
        s.unsynced.push((offset, data.to_vec(), false));
        Ok(())
    }
}

fn pass(person: u32, day: NaiveDate) -> EventKind {
    EventKind::Passage(Passage {
        credential: Some(format!("0A{person:08}")),
        person: Some(PersonId(person)),
        service: Some(ServiceId(1)),
        day,
        verdict: Verdict::Pass,
        reason: Reason::Ticket,
        charge_cents: 390,
        balance_after_cents: None,
        previous_at: None,
        by: None,
        note: None,
    })
}

#[test]
fn power_loss_at_any_point_keeps_every_committed_passage() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..40 {
        let disk = Disk::default();
        let store = Store::open_backend(disk.clone(), "power-loss").unwrap();
        let mut committed = Vec::new();
        let commits = 1 + next() % 12;
        for c in 0..commits {
            let ops: Vec<WriteOp> = (0..1 + next() % 20)
                .map(|i| WriteOp::Append {
                    gate: "g".into(),
                    at: Utc::now(),
                    kind: pass((c * 100 + i) as u32, day),
                })
                .collect();
            for o in store.write_now(&ops).unwrap() {
                if let WriteOutcome::Appended(e) = o {
                    committed.push(*e);
                }
            }
        }
        // A commit that had not returned when the power went: some of its writes reached the
        // disk, in order, the rest did not.
        let tail: Vec<WriteOp> = (0..5)
            .map(|i| WriteOp::Append {
                gate: "g".into(),
                at: Utc::now(),
                kind: pass(9000 + i, day),
            })
            .collect();
        let _ = store.write_now(&tail);
        let cut = disk.unsynced();
        drop(store);
        let keep = if cut > 0 {
            (next() as usize) % (cut + 1)
        } else {
            0
        };
        let after = disk.after_power_cut(keep);
        let reopened = Store::open_backend(after, "after-power-cut")
            .unwrap_or_else(|e| panic!("round {round}: does not reopen: {e}"));
        let events = reopened.events(None).unwrap();
        assert!(
            events.len() >= committed.len(),
            "round {round}: lost committed events"
        );
        assert_eq!(
            &events[..committed.len()],
            &committed[..],
            "round {round}: committed events changed"
        );
        // The balances and anti-passback rows written with them are there too.
        let engine = reopened.load_engine(Config::defaults().rules, day).unwrap();
        for e in &committed {
            let p = e.passage().unwrap().person.unwrap();
            assert!(
                engine.served().get(p, day, ServiceId(1)).is_some(),
                "round {round}: served row lost for {p:?}"
            );
        }
    }
}

/// A store on `disk`, with a ticket pupil `0A00000000` holding 100 €.
fn store_on(disk: Disk) -> Store {
    let store = Store::open_backend(disk, "disk-full").unwrap();
    common::one_pupil(&store, "ligne-1", "0A00000000", 10_000, 5);
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_passages_and_recovers() {
    // Skip the last minutes of the UTC day, when the test's all-day service closes.
    let secs = Utc::now().timestamp() % 86_400;
    if secs >= 86_400 - 120 {
        tokio::time::sleep(Duration::from_secs((86_400 - secs + 5) as u64)).await;
    }
    let disk = Disk::default();
    let store = store_on(disk.clone());
    let (reader, badge) = SimReader::new("r");
    let (hw, pulses) = common::sim_hardware(vec![Box::new(reader)]);
    // A service open now, the node's loop alone, as `selfgate run` starts it.
    let node = common::node_on(&store, common::all_day_config(""), hw, Services::NONE).await;
    let shared = node.shared().clone();
    let feed_len = |s: &Arc<Shared>| view::recent(s, 100).len();
    let wait_feed = |n: usize| {
        let shared = shared.clone();
        async move {
            for _ in 0..500 {
                if feed_len(&shared) >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the feed never reached {n} items");
        }
    };

    badge.present("0A00000000").await;
    wait_feed(1).await;
    // The feed is updated before the pulse (post-commit): wait for the pulse itself.
    common::eventually("a recorded pass opens", || pulses.pulses().len() == 1).await;
    let balance = shared.engine().roster().balance(PersonId(0));

    // The disk fills up: the pupil is refused, nothing opens, nothing is charged or counted.
    // (No wait between reads: the test's configuration has no debounce.)
    disk.full.store(true, Ordering::SeqCst);
    badge.present("0A00000000").await;
    wait_feed(2).await;
    let item = &view::recent(&shared, 1)[0];
    assert!(!item.pass && item.reason == "not_recorded", "{item:?}");
    // Pulses come in decision order: the one this refusal must not have sent would be counted
    // before the next pass's, checked below.
    assert_eq!(
        shared.engine().roster().balance(PersonId(0)),
        balance,
        "nothing charged"
    );
    assert_eq!(
        view::health(&shared)["store"],
        "failing",
        "the kiosk says so"
    );

    // Space returns: the next read passes and is journaled.
    disk.full.store(false, Ordering::SeqCst);
    badge.present("0A00000000").await;
    wait_feed(3).await;
    let item = &view::recent(&shared, 1)[0];
    assert!(item.pass, "{item:?}");
    common::eventually("the pass after recovery opens", || {
        pulses.pulses().len() >= 2
    })
    .await;
    assert_eq!(pulses.pulses().len(), 2, "no pulse without a record");
    assert_eq!(view::health(&shared)["store"], "ok");

    drop(shared);
    node.stop().await;
}
