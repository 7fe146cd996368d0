//! The sync payloads: `selfgate::node::sync::proto::decode` of every message a hub or a gate reads
//! (event batches, acknowledgements, snapshots, change pages, live-stream lines), the batch
//! check, the hub's merge path (its check of each event, then the store's merge of those it
//! accepts, in memory), and the certificate common-name reader, on arbitrary bytes.
//!
//! Invariants beyond "no panic": a decoded message encodes and decodes to itself; a refused
//! payload has a message; an event the hub accepts merges or is refused by the store, never
//! panics it (charge_cents = i64::MIN once did).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use selfgate::node::sync::hub;
use selfgate::node::sync::proto::{self, Ack, Changes, EventBatch, Live, Snapshot};
use selfgate::store::{Store, WriteOp};
use selfgate_rules::Engine;
use selfgate_rules::model::{Category, Person, PersonId, Regime};

/// The hub's side: a store in memory and a roster of three persons.
fn hub_side() -> &'static (Store, Engine) {
    static HUB: OnceLock<(Store, Engine)> = OnceLock::new();
    HUB.get_or_init(|| {
        let store = Store::open_in_memory().expect("in-memory store");
        let mut engine = Engine::new(selfgate::config::Config::defaults().rules);
        for id in 0..3 {
            let p = Person {
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
            };
            store
                .write_now(&[WriteOp::PutPerson(p.clone())])
                .expect("a person");
            engine.roster_mut().put_person(p);
        }
        (store, engine)
    })
}

fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    match proto::decode::<T>(data) {
        Ok(v) => {
            let again: T = proto::decode(&proto::encode(&v)).expect("re-encoded payload refused");
            assert_eq!(again, v);
            Some(v)
        }
        Err(e) => {
            assert!(!e.is_empty());
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(batch) = round_trip::<EventBatch>(data) {
        if proto::check_batch(&batch, "ligne-1").is_ok() {
            let (store, engine) = hub_side();
            let regies = [selfgate::config::money::Regie {
                code: "R".into(),
                name: "Régie".into(),
                node: "ligne-1".into(),
            }];
            for e in batch.events {
                if hub::check_event(engine, &regies, &e, |_| None).is_ok() {
                    // Merged, or refused by the store (an amount out of range): never a panic.
                    let _ = store.write_now(&[WriteOp::Merge(e)]);
                }
            }
        }
    }
    round_trip::<Ack>(data);
    round_trip::<Snapshot>(data);
    round_trip::<Changes>(data);
    for line in data.split(|b| *b == b'\n') {
        round_trip::<Live>(line);
    }
    let _ = selfgate::infra::tls::common_name(data);
});
