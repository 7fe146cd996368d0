//! The sync payloads: `selfgate::node::sync::proto::decode` of every message a hub or a gate reads
//! (event batches, acknowledgements, snapshots, change pages, live-stream lines), the batch
//! check, and the certificate common-name reader, on arbitrary bytes.
//!
//! Invariants beyond "no panic": a decoded message encodes and decodes to itself; a refused
//! payload has a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate::node::sync::proto::{self, Ack, Changes, EventBatch, Live, Snapshot};

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
        let _ = proto::check_batch(&batch, "ligne-1");
    }
    round_trip::<Ack>(data);
    round_trip::<Snapshot>(data);
    round_trip::<Changes>(data);
    for line in data.split(|b| *b == b'\n') {
        round_trip::<Live>(line);
    }
    let _ = selfgate::infra::tls::common_name(data);
});
