//! The aid import file (`selfgate billing aides FILE`): any text gives lines or errors naming
//! their line, never a panic; every line read has a positive amount and a known aid.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match selfgate_money::billing::aids_csv::parse_aids(text) {
        Ok(lines) => {
            for l in lines {
                assert!(l.cents > 0);
                assert!(l.line >= 1);
            }
        }
        Err(problems) => assert!(problems.iter().all(|p| p.starts_with("ligne "))),
    }
});
