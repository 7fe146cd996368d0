//! Roster CSV files: `selfgate_rules::roster_csv::parse_roster` on arbitrary bytes.
//!
//! Invariants beyond "no panic":
//! - an error list is never empty, sorted by line, and every line is within the file's lines;
//! - rows are in file order (a lone CR ends a record too, so two rows may share a line), their
//!   lines within the file, identifiers and badges unique;
//! - the same bytes parse the same way twice.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use selfgate_rules::roster_csv::parse_roster;

fuzz_target!(|data: &[u8]| {
    // Lines as the parser counts them: line feeds + 1 (in UTF-16 every line feed is a 0x0A byte
    // too, so this bounds those as well).
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let result = parse_roster(data);
    match &result {
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(
                    (1..=lines).contains(&e.line),
                    "line {} of {lines}: {e}",
                    e.line
                );
                let _ = e.to_string();
            }
            assert!(errors.is_sorted_by_key(|e| e.line));
        }
        Ok(rows) => {
            assert!(!rows.is_empty());
            let mut ids = HashSet::new();
            let mut badges = HashSet::new();
            let mut previous = 0;
            for r in rows {
                assert!(
                    r.line >= previous.max(1) && r.line <= lines,
                    "row line {} of {lines}",
                    r.line
                );
                previous = r.line;
                assert!(!r.external_id.is_empty());
                assert!(
                    ids.insert(r.external_id.clone()),
                    "identifiant twice: {}",
                    r.external_id
                );
                if let Some(b) = &r.badge {
                    assert!(badges.insert(b.clone()), "badge twice: {b}");
                    assert_eq!(
                        b.as_str().parse().ok().as_ref(),
                        Some(b),
                        "badge not canonical"
                    );
                }
            }
        }
    }
    assert_eq!(parse_roster(data), result);
});
