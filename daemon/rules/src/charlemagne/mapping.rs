//! The column mapping: which headers of a Charlemagne export name which field, and what the
//! school's régime labels mean. A small TOML file (`docs/charlemagne.md`); ours,
//! [`DEFAULT`], is shipped in the binary. A school's own file replaces it whole.
//!
//! ```toml
//! [eleves]
//! id = ["IDELEVE", "N° élève"]     # the accepted headers of a field
//! [regimes]
//! "DP 4 jours" = "dp4"             # externe, ticket, dp, dp1 … dp6, interne
//! ```
//!
//! Headers are compared folded ([`super::fold`]: case, accents, spaces and punctuation off).
//! A field unknown, a required field without headers, a header given to two fields, or a régime
//! kind unknown is an [`Error`] naming the key: nothing is read with a wrong mapping.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Error, fold};
use crate::siecle::RegimeKind;

/// Our mapping, shipped in the binary.
pub const DEFAULT: &str = include_str!("default-mapping.toml");

/// The fields of a pupils' export, in the order they are listed; `true`: required.
pub const FIELDS: [(&str, bool); 18] = [
    ("id", true),
    ("nom", true),
    ("prenom", true),
    ("naissance", true),
    ("classe", true),
    ("regime", true),
    ("famille", false),
    ("payeur_civilite", false),
    ("payeur_nom", false),
    ("payeur_prenom", false),
    ("payeur_adresse1", false),
    ("payeur_adresse2", false),
    ("payeur_adresse3", false),
    ("payeur_code_postal", false),
    ("payeur_ville", false),
    ("payeur_pays", false),
    ("payeur_email", false),
    ("payeur_telephone", false),
];

/// A field of [`FIELDS`], by its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field(pub usize);

impl Field {
    pub fn name(self) -> &'static str {
        FIELDS[self.0].0
    }

    pub fn required(self) -> bool {
        FIELDS[self.0].1
    }

    /// The field named `name`.
    pub fn named(name: &str) -> Option<Field> {
        FIELDS.iter().position(|(n, _)| *n == name).map(Field)
    }
}

/// A checked mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Per field (by index), the accepted headers as written in the mapping; empty: unmapped.
    pub headers: Vec<Vec<String>>,
    /// Folded header → its field.
    by_header: BTreeMap<String, Field>,
    /// Folded régime label → its kind, with the label as written.
    regimes: BTreeMap<String, (String, RegimeKind)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    eleves: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    regimes: BTreeMap<String, String>,
}

/// `externe`, `ticket`, `dp`, `dp1`…`dp6`, `interne`.
pub fn regime_kind(name: &str) -> Option<RegimeKind> {
    match name.trim().to_ascii_lowercase().as_str() {
        "externe" => Some(RegimeKind::Externe),
        "ticket" => Some(RegimeKind::DpTicket),
        "interne" => Some(RegimeKind::Interne),
        "dp" => Some(RegimeKind::Dp { days: 5 }),
        other => {
            let days: u8 = other.strip_prefix("dp")?.parse().ok()?;
            (1..=6).contains(&days).then_some(RegimeKind::Dp { days })
        }
    }
}

impl Mapping {
    /// Ours.
    pub fn default_mapping() -> Mapping {
        match Mapping::parse(DEFAULT) {
            Ok(m) => m,
            // The shipped file is checked by the tests; an empty mapping would refuse every file.
            Err(_) => Mapping {
                headers: vec![Vec::new(); FIELDS.len()],
                by_header: BTreeMap::new(),
                regimes: BTreeMap::new(),
            },
        }
    }

    /// Reads and checks a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, Error> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            Error::file(format!(
                "mapping: {}",
                e.to_string().trim_end().replace('\n', " ")
            ))
        })?;
        let mut headers = vec![Vec::new(); FIELDS.len()];
        let mut by_header: BTreeMap<String, Field> = BTreeMap::new();
        for (name, list) in &raw.eleves {
            let field = Field::named(name).ok_or_else(|| {
                Error::file(format!(
                    "mapping: `eleves.{name}` is no field; the fields are {}",
                    FIELDS.map(|f| f.0).join(", ")
                ))
            })?;
            for h in list {
                let key = fold(h);
                if key.is_empty() {
                    return Err(Error::file(format!(
                        "mapping: `eleves.{name}` has an empty header `{h}`"
                    )));
                }
                match by_header.get(&key) {
                    Some(other) if *other != field => {
                        return Err(Error::file(format!(
                            "mapping: the header `{h}` is given to both `eleves.{}` and \
                             `eleves.{name}`",
                            other.name()
                        )));
                    }
                    _ => {
                        by_header.insert(key, field);
                    }
                }
            }
            headers[field.0] = list.clone();
        }
        for (i, (name, required)) in FIELDS.iter().enumerate() {
            if *required && headers[i].is_empty() {
                return Err(Error::file(format!(
                    "mapping: the required field `eleves.{name}` is not mapped (give it the \
                     headers it may have)"
                )));
            }
        }
        let mut regimes = BTreeMap::new();
        for (label, kind) in &raw.regimes {
            let k = regime_kind(kind).ok_or_else(|| {
                Error::file(format!(
                    "mapping: `regimes.\"{label}\"` = `{kind}` is no régime; say externe, \
                     ticket, dp, dp1 … dp6 or interne"
                ))
            })?;
            let key = fold(label);
            if key.is_empty() {
                return Err(Error::file(format!(
                    "mapping: the régime label `{label}` is empty"
                )));
            }
            regimes.insert(key, (label.clone(), k));
        }
        Ok(Mapping {
            headers,
            by_header,
            regimes,
        })
    }

    /// The field a header of the file names, if any.
    pub fn field_of(&self, header: &str) -> Option<Field> {
        self.by_header.get(&fold(header)).copied()
    }

    /// The kind of a régime label the mapping lists.
    pub fn regime(&self, label: &str) -> Option<RegimeKind> {
        self.regimes.get(&fold(label)).map(|(_, k)| *k)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mapping_reads_and_maps_every_field() {
        let m = Mapping::parse(DEFAULT).unwrap();
        assert_eq!(m, Mapping::default_mapping());
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            assert!(!m.headers[i].is_empty(), "{name} unmapped");
        }
        assert_eq!(m.field_of("IDELEVE"), Some(Field(0)));
        assert_eq!(m.field_of(" n° ÉLÈVE "), Some(Field(0)));
        assert_eq!(m.field_of("Né(e) le").map(Field::name), Some("naissance"));
        assert_eq!(
            m.field_of("Régime cantine").map(Field::name),
            Some("regime")
        );
        assert_eq!(m.field_of("Couleur préférée"), None);
        assert_eq!(m.regime("dp 4 JOURS"), Some(RegimeKind::Dp { days: 4 }));
        assert_eq!(
            m.regime("Demi-pensionnaire au ticket"),
            Some(RegimeKind::DpTicket)
        );
    }

    #[test]
    fn bad_mappings_name_the_key() {
        let cases = [
            ("[eleves]\nid = [\"A\"]\n", "`eleves.nom` is not mapped"),
            ("[eleves]\nident = [\"A\"]\n", "`eleves.ident` is no field"),
            (
                "[eleves]\nid = [\"A\"]\nnom = [\"a\"]\n",
                "`a` is given to both `eleves.id` and `eleves.nom`",
            ),
            ("[eleves]\nid = [\" - \"]\n", "empty header"),
            ("[eleve]\nid = [\"A\"]\n", "mapping: "),
            ("[eleves]\nid = \"A\"\n", "mapping: "),
        ];
        for (text, want) in cases {
            let e = Mapping::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let full = DEFAULT.replace("\"dp3\"", "\"dp9\"");
        let e = Mapping::parse(&full).unwrap_err().to_string();
        assert!(
            e.contains("`regimes.\"DP 3 jours\"` = `dp9` is no régime"),
            "{e}"
        );
    }

    #[test]
    fn regime_kinds() {
        assert_eq!(regime_kind("DP3"), Some(RegimeKind::Dp { days: 3 }));
        assert_eq!(regime_kind("dp7"), None);
        assert_eq!(regime_kind("ticket"), Some(RegimeKind::DpTicket));
        assert_eq!(regime_kind("pension"), None);
    }
}
