//! EM4100 serial frames: `Em4100Decoder` fed arbitrary bytes, and the `HoldFilter`.
//!
//! Invariants beyond "no panic":
//! - every decoded tag re-encodes (`encode_frame`) to bytes that decode to that tag alone;
//! - the decoder is byte-at-a-time: the input split at any point gives the same frames;
//! - it resyncs: after any garbage, a well-formed frame is the last frame decoded;
//! - `HoldFilter::admit` holds back exactly the same credential seen again within the hold.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use selfgate_hardware::em4100::{Em4100Decoder, Em4100Frame, HoldFilter, encode_frame};

fuzz_target!(|data: &[u8]| {
    // The whole input as a byte stream.
    let mut whole = Em4100Decoder::new();
    let frames = whole.push_slice(data);
    assert!(whole.junk_bytes() <= data.len() as u64);
    assert!(frames.len() <= data.len());

    // Split in two reads: same frames.
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut split = Em4100Decoder::new();
    let mut again = split.push_slice(&data[..cut]);
    again.extend(split.push_slice(&data[cut..]));
    assert_eq!(frames, again, "split at {cut}");
    assert_eq!(whole.in_frame(), split.in_frame());

    for f in &frames {
        if let Em4100Frame::Tag(tag) = f {
            let bytes = encode_frame(*tag);
            assert_eq!(
                Em4100Decoder::new().push_slice(&bytes),
                [Em4100Frame::Tag(*tag)]
            );
            let c = Em4100Frame::credential(tag);
            assert_eq!(c.len(), 10);
            assert!(
                c.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
            );
        }
    }

    // Resync: garbage, then a good frame (the tag taken from the input).
    let mut tag = [0u8; 5];
    for (t, b) in tag.iter_mut().zip(data.iter().rev()) {
        *t = *b;
    }
    let after = whole.push_slice(&encode_frame(tag));
    assert_eq!(
        after.last(),
        Some(&Em4100Frame::Tag(tag)),
        "no resync after {data:02X?}"
    );
    assert!(!whole.in_frame());

    // HoldFilter against a plain model: (credential, time since start in ms) pairs.
    let mut u = Unstructured::new(data);
    let hold = Duration::from_millis(u.int_in_range(0..=2000).unwrap_or(800));
    let mut filter = HoldFilter::new(hold);
    let start = Instant::now();
    let mut last: Option<(u8, Duration)> = None;
    while !u.is_empty() {
        let card = u.int_in_range(0..=3u8).unwrap_or(0);
        let ms: u16 = u.arbitrary().unwrap_or(0);
        let at = Duration::from_millis(u64::from(ms));
        let credential = format!("04000000{card:02X}");
        let repeat = last.is_some_and(|(c, t)| c == card && at.saturating_sub(t) < hold);
        assert_eq!(filter.admit(&credential, start + at), !repeat);
        last = Some((card, at));
    }
});
