//! PRONOTE's answers in our exchange format (`docs/pronote-exchange.md`):
//! `selfgate::node::exchange::format::parse_absences` and `parse_ack` on arbitrary bytes, and the
//! security key file's parser on arbitrary text.
//!
//! Invariants beyond "no panic": an accepted absence list is the one asked for (school, day,
//! service) with every identifier 1 to 64 characters; a refused one says where (a syntax error
//! names a line from 1); the same bytes give the same verdict twice; a key that parses signs and
//! verifies its own signature.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use selfgate::node::exchange::format::{FormatError, SecurityKey, parse_absences, parse_ack};

fuzz_target!(|data: &[u8]| {
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let first = parse_absences(data, "0999999X", day, "dejeuner");
    match &first {
        Ok(doc) => {
            assert_eq!((doc.uai.as_str(), doc.date, doc.service.as_str()), ("0999999X", day, "dejeuner"));
            assert!(doc.absents.iter().all(|a| !a.id.is_empty() && a.id.len() <= 64));
        }
        Err(FormatError::Syntax { line, .. }) => assert!(*line >= 1),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    assert_eq!(parse_absences(data, "0999999X", day, "dejeuner"), first);
    if let Ok(ack) = parse_ack(data) {
        assert_eq!(ack.kind, "accuse");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = SecurityKey::parse(text) {
            let sig = key.sign(data);
            assert!(key.verify(data, &sig));
            assert_eq!(SecurityKey::parse(&key.to_text()).as_ref(), Ok(&key));
        }
    }
});
