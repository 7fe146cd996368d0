//! Charlemagne, the management software of private schools under contract (BRIEF §7): its
//! exports read here without any I/O — bytes in, values out. The daemon maps what is read to
//! persons, rights and guardians (`daemon/src/cli/charlemagne.rs`) and writes them.
//!
//! Charlemagne publishes no export format, and each school chooses the columns of its exports.
//! So a file is read in two steps:
//!
//! - [`table`]: the file into rows of cells, whatever it is — an XLSX workbook (its first
//!   sheet), an HTML table (Windows-1252, the "Excel" export of many web tools) or a CSV (`;`,
//!   Windows-1252 or UTF-8, with or without BOM) — told apart by content, not by name.
//! - [`mapping`]: which header names which field (a small TOML file, ours by default:
//!   [`mapping::DEFAULT`]), then [`eleves`]: the rows below the header into pupils keyed on
//!   `IDELEVE`, with their paying guardian ([`crate::family::Guardian`]).
//!
//! Every error names where it is (the line of the file, or the spreadsheet's row) and the
//! column; a file with any error is refused whole ([`Errors`]): nothing of it is to be applied.

pub mod eleves;
pub mod mapping;
pub mod table;

use std::fmt;

/// Where in a file: a line of a CSV or HTML file, a row of a spreadsheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A text file's line, from 1 (for an HTML row: the line of its `<tr>`).
    Line(usize),
    /// A spreadsheet's row number, as the spreadsheet shows it.
    Row(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// One thing wrong with a file, with where it is and the column when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub place: Option<Place>,
    /// The column's header as the file writes it (or the field, when the file has none).
    pub column: Option<String>,
    pub message: String,
}

impl Error {
    pub fn new(place: Option<Place>, column: Option<&str>, message: impl Into<String>) -> Self {
        Error {
            place,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    /// An error about the whole file.
    pub fn file(message: impl Into<String>) -> Self {
        Error::new(None, None, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.place, &self.column) {
            (Some(p), Some(c)) => write!(f, "{p}, column `{c}`: ")?,
            (Some(p), None) => write!(f, "{p}: ")?,
            (None, Some(c)) => write!(f, "column `{c}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// Why a file is refused: every error found (at most [`Errors::MAX`]), in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// Past this many, the rest are counted, not listed.
    pub const MAX: usize = 50;
}

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(Self::MAX).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > Self::MAX {
            write!(f, "\n… and {} more", self.0.len() - Self::MAX)?;
        }
        Ok(())
    }
}

/// A header or a value as compared: lower case, accents and ligatures off, every run of
/// punctuation and spaces one space (`"N° Élève"` and `"n eleve"` are the same).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let mapped: &str = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
            'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' | 'Í' | 'Ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' | 'Ú' => "u",
            'ÿ' | 'Ÿ' => "y",
            'ç' | 'Ç' => "c",
            'ñ' | 'Ñ' => "n",
            'œ' | 'Œ' => "oe",
            'æ' | 'Æ' => "ae",
            _ => "",
        };
        if !mapped.is_empty() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push_str(mapped);
        } else if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn fold_ignores_case_accents_ligatures_and_punctuation() {
        assert_eq!(fold("  N° Élève "), "n eleve");
        assert_eq!(fold("Nom_de_l'élève"), "nom de l eleve");
        assert_eq!(fold("Cœur"), "coeur");
        assert_eq!(fold("IDELEVE"), "ideleve");
        assert_eq!(fold("--"), "");
    }

    #[test]
    fn errors_name_place_and_column() {
        let e = Error::new(Some(Place::Line(4)), Some("Né le"), "not a date");
        assert_eq!(e.to_string(), "line 4, column `Né le`: not a date");
        let e = Error::new(Some(Place::Row(2)), None, "x");
        assert_eq!(e.to_string(), "row 2: x");
        let many = Errors((0..52).map(|i| Error::file(format!("e{i}"))).collect());
        assert!(many.to_string().ends_with("… and 2 more"));
    }
}
