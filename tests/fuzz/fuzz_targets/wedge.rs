//! Keyboard-wedge readers: `WedgeDecoder` fed arbitrary evdev key events.
//!
//! Invariants beyond "no panic":
//! - a badge is 1 to `MAX_LEN` characters, digits and upper-case A–F only;
//! - it resyncs: after any key events, then either a pause longer than `KEY_TIMEOUT` or an
//!   Enter (after any pause), a badge typed as a reader types it (Enter included) is decoded.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use selfgate_hardware::wedge::{KEY_TIMEOUT, MAX_LEN, WedgeDecoder, WedgeFrame, WedgeLayout, keys};

fn check(f: &WedgeFrame) {
    if let WedgeFrame::Badge(b) = f {
        assert!(!b.is_empty() && b.len() <= MAX_LEN, "{b:?}");
        assert!(
            b.bytes()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)),
            "{b:?}"
        );
    }
}

/// The key a reader presses for a hex digit (QWERTY positions; AZERTY's A is KEY_Q).
fn key_of(digit: u8, layout: WedgeLayout) -> u16 {
    match digit {
        0 => keys::KEY_0,
        1..=9 => keys::KEY_1 + u16::from(digit) - 1,
        10 if layout == WedgeLayout::Azerty => keys::KEY_Q,
        10 => keys::KEY_A,
        11 => keys::KEY_B,
        12 => keys::KEY_C,
        13 => keys::KEY_D,
        14 => keys::KEY_E,
        _ => keys::KEY_F,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let layout = if u.arbitrary::<bool>().unwrap_or(false) {
        WedgeLayout::Azerty
    } else {
        WedgeLayout::Qwerty
    };
    let mut d = WedgeDecoder::new(layout);
    let mut at = Duration::ZERO;
    // The latest time seen: the clock may step back (evdev stamps events with the wall clock),
    // and a pause is measured from the latest key.
    let mut latest = Duration::ZERO;
    // The badge typed at the end, from the input's first bytes.
    let badge: Vec<u8> = (0..u.int_in_range(1..=MAX_LEN).unwrap_or(10))
        .map(|_| u.int_in_range(0..=15u8).unwrap_or(0))
        .collect();

    // Arbitrary events: mostly keys a reader or a keyboard sends, sometimes any code and value.
    while !u.is_empty() {
        let sel: u8 = u.arbitrary().unwrap_or(0);
        let code = match sel % 4 {
            0 => u.arbitrary::<u16>().unwrap_or(0),
            1 => [
                keys::KEY_ENTER,
                keys::KEY_KPENTER,
                keys::KEY_LEFTSHIFT,
                keys::KEY_NUMLOCK,
            ][usize::from(sel >> 6)],
            _ => key_of(sel >> 4, layout),
        };
        let value = match (sel >> 2) & 3 {
            0 => u.arbitrary::<i32>().unwrap_or(0),
            1 => 0,
            _ => 1,
        };
        at = match sel >> 5 {
            0 => Duration::from_millis(u.arbitrary::<u16>().unwrap_or(0).into()),
            1 => at + KEY_TIMEOUT + Duration::from_millis(1),
            _ => at + Duration::from_millis(u.int_in_range(0..=40).unwrap_or(0)),
        };
        latest = latest.max(at);
        if let Some(f) = d.push(code, value, at) {
            check(&f);
        }
    }

    // A pause, or an Enter after any pause; then a reader typing `badge` and Enter, 5 ms a
    // key, press and release.
    let enter_first = badge[0] & 1 == 1;
    at = latest + Duration::from_millis(u64::from(badge[badge.len() - 1]) * 100 + 1);
    if !enter_first {
        at += KEY_TIMEOUT;
    }
    let mut got = Vec::new();
    let mut type_key = |d: &mut WedgeDecoder, code: u16, at: &mut Duration| {
        for value in [1, 0] {
            if let Some(f) = d.push(code, value, *at) {
                check(&f);
                got.push(f);
            }
            *at += Duration::from_millis(5);
        }
    };
    let want: String = badge
        .iter()
        .map(|&h| char::from_digit(h.into(), 16).unwrap_or('0'))
        .collect();
    if enter_first {
        type_key(&mut d, keys::KEY_ENTER, &mut at);
    }
    for &h in &badge {
        type_key(&mut d, key_of(h, layout), &mut at);
    }
    type_key(&mut d, keys::KEY_ENTER, &mut at);
    assert_eq!(
        got.last(),
        Some(&WedgeFrame::Badge(want.to_uppercase())),
        "typed after a pause, decoded as {got:?}"
    );
    assert!(!d.in_badge());
});
