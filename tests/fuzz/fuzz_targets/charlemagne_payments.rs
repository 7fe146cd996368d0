//! Charlemagne's payments file (`selfgate import charlemagne encaissements FILE`): any bytes
//! (UTF-8 or Windows-1252) give payments or problems naming their line, never a panic; every
//! payment read has an amount within the régie's bounds, a pupil and a reference of its own.
#![no_main]

use libfuzzer_sys::fuzz_target;

use selfgate_money::charlemagne::{parse_encaissements, sort_encaissements};
use selfgate_rules::model::PersonId;
use selfgate_rules::regie::MAX_PAYMENT_CENTS;

fuzz_target!(|data: &[u8]| {
    match parse_encaissements(data) {
        Ok(lines) => {
            let mut refs = std::collections::HashSet::new();
            let mut last = 0;
            for l in &lines {
                assert!(l.cents > 0 && l.cents <= MAX_PAYMENT_CENTS);
                assert!(!l.pupil.is_empty() && !l.reference.is_empty());
                assert!(refs.insert(l.reference.clone()), "a reference twice");
                assert!(l.line > last);
                last = l.line;
            }
            let sorted =
                sort_encaissements(&lines, &[], |id| (id.len() % 2 == 0).then_some(PersonId(1)));
            assert!(sorted.known.is_empty());
            assert_eq!(sorted.new.len() + sorted.rejected.len(), lines.len());
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            assert!(
                problems
                    .iter()
                    .all(|p| p.starts_with("ligne ") || p.starts_with("fichier vide")),
                "{problems:?}"
            );
        }
    }
});
