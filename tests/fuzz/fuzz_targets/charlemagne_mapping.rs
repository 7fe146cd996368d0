//! The Charlemagne column mapping (`selfgate_rules::charlemagne::mapping`): any text is a
//! mapping or an error, never a panic. A mapping read maps every required field, gives each
//! header it lists back to the field that lists it, and reads a small export without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfgate_rules::charlemagne::{eleves, fold, mapping::Field, mapping::Mapping};

const EXPORT: &[u8] = "IDELEVE;NOM;PRENOM;DATENAISSANCE;CLASSE;REGIME;IDFAMILLE;NOMPAYEUR\n\
1;Cœur;Éloïse;03/04/2013;6e A;DP 4 jours;F1;CŒUR\n"
    .as_bytes();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Mapping::parse(text);
    assert_eq!(Mapping::parse(text), parsed);
    let Ok(mapping) = parsed else {
        return;
    };
    for (i, headers) in mapping.headers.iter().enumerate() {
        let field = Field(i);
        assert!(!field.required() || !headers.is_empty(), "{}", field.name());
        for h in headers {
            assert!(!fold(h).is_empty());
            assert_eq!(mapping.field_of(h), Some(field), "{h}");
        }
    }
    let _ = eleves::parse(EXPORT, &mapping);
});
