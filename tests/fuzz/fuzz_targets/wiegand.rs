//! Wiegand: `decode_bits` on arbitrary bit vectors, and `WiegandDecoder` on arbitrary edge
//! sequences.
//!
//! Invariants beyond "no panic":
//! - a frame `decode_bits` accepts is 26 or 34 bits and re-encodes (`encode_bits`) to the same
//!   bits; its credential has 8 or 10 digits;
//! - the edge decoder never returns more frames than edges, and a card only of 26 or 34 bits;
//! - it resyncs: after any edges and a silence, a clean frame decodes to its card.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use selfgate_hardware::wiegand::{
    Edge, FRAME_SILENCE, WiegandDecoder, WiegandFrame, WiegandLine, decode_bits, encode_bits,
};

fn check_card(bits: u64, len: u8) {
    if let Ok(card) = decode_bits(bits, len) {
        assert!(len == 26 || len == 34, "accepted {len} bits");
        assert_eq!(card.bits, len);
        let mask = (1u64 << len) - 1;
        assert_eq!(encode_bits(len, card.facility, card.card), bits & mask);
        let c = card.credential();
        assert_eq!(c.len(), if len == 26 { 8 } else { 10 }, "{c}");
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
    }
}

fn check_frame(f: &WiegandFrame) {
    if let WiegandFrame::Card(c) = f {
        assert!(c.bits == 26 || c.bits == 34);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);

    // decode_bits: any bits, any length (also the lengths it refuses).
    let bits: u64 = u.arbitrary().unwrap_or(0);
    let len: u8 = u.arbitrary().unwrap_or(26);
    check_card(bits, len);
    check_card(bits, 26);
    check_card(bits, 34);

    // Edges: each one a line and a time, mostly a small step after the previous edge
    // (bounce, bit spacing, noise, silence), sometimes any time at all (clock jumps).
    let mut d = WiegandDecoder::new();
    let mut now: u64 = 0;
    let mut latest: u64 = 0;
    let mut edges = 0usize;
    let mut frames = 0usize;
    while !u.is_empty() {
        let kind: u8 = u.arbitrary().unwrap_or(0);
        let line = if kind & 1 == 0 {
            WiegandLine::D0
        } else {
            WiegandLine::D1
        };
        now = match kind >> 1 {
            0 => u.int_in_range(0..=1u64 << 62).unwrap_or(0),
            1..=8 => now.saturating_add(u.int_in_range(0..=200_000u64).unwrap_or(0)),
            9..=16 => now.saturating_add(u.int_in_range(0..=40_000_000u64).unwrap_or(0)),
            _ => now.saturating_add(u.int_in_range(1_000_000..=2_500_000u64).unwrap_or(0)),
        };
        latest = latest.max(now);
        edges += 1;
        if let Some(f) = d.push(Edge { line, at_ns: now }) {
            check_frame(&f);
            frames += 1;
        }
        if kind == 0xFF {
            if let Some(f) = d.poll(now.saturating_add(u.arbitrary::<u32>().unwrap_or(0).into())) {
                check_frame(&f);
                frames += 1;
            }
        }
    }
    let silence = FRAME_SILENCE.as_nanos() as u64;
    if let Some(f) = d.poll(latest + silence) {
        check_frame(&f);
        frames += 1;
    }
    if let Some(f) = d.finish() {
        check_frame(&f);
        frames += 1;
    }
    assert!(frames <= edges, "{frames} frames from {edges} edges");
    assert!(!d.in_frame());

    // Resync: a clean frame (bits from the input), 2 ms between bits, after the silence.
    let (len, facility_bits) = if bits & 1 == 0 { (26u8, 8) } else { (34u8, 16) };
    let facility = ((bits >> 1) & ((1 << facility_bits) - 1)) as u32;
    let card = ((bits >> 20) & 0xFFFF) as u32;
    let frame = encode_bits(len, facility, card);
    let start = latest + silence;
    let mut got = None;
    for i in 0..len {
        let bit = (frame >> (len - 1 - i)) & 1;
        let line = if bit == 1 {
            WiegandLine::D1
        } else {
            WiegandLine::D0
        };
        let at_ns = start + u64::from(i) * 2_000_000;
        assert_eq!(d.push(Edge { line, at_ns }), None, "bit {i}");
        got = d.poll(at_ns + 1_000_000);
        assert_eq!(got, None);
    }
    got = got.or_else(|| d.poll(start + u64::from(len) * 2_000_000 + silence));
    match got {
        Some(WiegandFrame::Card(c)) => {
            assert_eq!((c.bits, c.facility, c.card), (len, facility, card));
        }
        other => panic!("clean {len}-bit frame decoded as {other:?}"),
    }
});
