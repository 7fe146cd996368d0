//! SIÈCLE XML exports: `parse_eleves`, `parse_nomenclature` and `parse_responsables`
//! (`selfgate_rules::siecle`) on arbitrary bytes, each input given to all three.
//!
//! Invariants beyond "no panic": an error names a line within the file (ISO-8859-1/15 and
//! UTF-8 keep line feeds as 0x0A bytes), and the same bytes parse the same way twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate_rules::siecle::{
    SiecleError, decode, parse_eleves, parse_nomenclature, parse_responsables,
};

fn check(e: &SiecleError, lines: usize) {
    assert!(
        (1..=lines).contains(&e.line),
        "line {} of {lines}: {e}",
        e.line
    );
    let _ = e.to_string();
}

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    if let Err(e) = decode(data) {
        check(&e, lines);
    }
    let eleves = parse_eleves(data);
    let nomenclature = parse_nomenclature(data);
    let responsables = parse_responsables(data);
    for e in [
        eleves.as_ref().err(),
        nomenclature.as_ref().err(),
        responsables.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        check(e, lines);
    }
    assert_eq!(parse_eleves(data), eleves);
    assert_eq!(parse_nomenclature(data), nomenclature);
    assert_eq!(parse_responsables(data), responsables);
});
