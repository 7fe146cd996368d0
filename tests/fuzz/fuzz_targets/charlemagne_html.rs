//! Charlemagne's exports (`selfgate_rules::charlemagne`): arbitrary bytes read as a table —
//! as they come (detection by content: XLSX, HTML or CSV) and forced to the HTML reader (a `<`
//! in front) — then as a pupils' export with our mapping.
//!
//! Invariants beyond "no panic": an error or a row names a line within the file (Windows-1252
//! and UTF-8 keep line feeds as 0x0A bytes), rows come in file order, pupils are unique and
//! below the header, and the same bytes read the same way twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate_rules::charlemagne::{Place, eleves, mapping::Mapping, table};

fn line_ok(place: Option<Place>, lines: usize) {
    if let Some(Place::Line(n)) = place {
        assert!((1..=lines).contains(&n), "line {n} of {lines}");
    }
}

fn check(data: &[u8], mapping: &Mapping) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let read = table::read(data);
    match &read {
        Ok(t) => {
            for r in &t.rows {
                line_ok(Some(r.place), lines);
            }
            assert!(t.rows.windows(2).all(|w| w[0].place <= w[1].place));
        }
        Err(e) => {
            line_ok(e.place, lines);
            let _ = e.to_string();
        }
    }
    assert_eq!(table::read(data), read);
    match eleves::parse(data, mapping) {
        Ok(f) => {
            let mut ids: Vec<&str> = f.pupils.iter().map(|p| p.id.as_str()).collect();
            ids.sort_unstable();
            let n = ids.len();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate ids read");
            assert!(f.pupils.iter().all(|p| p.place > f.header));
            for g in &f.guardians {
                assert!(!g.children.is_empty() && !g.last_name.is_empty());
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for e in &errors.0 {
                line_ok(e.place, lines);
            }
            let _ = errors.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mapping = Mapping::default_mapping();
    check(data, &mapping);
    let mut html = Vec::with_capacity(data.len() + 1);
    html.push(b'<');
    html.extend_from_slice(data);
    check(&html, &mapping);
});
