//! SIÈCLE, the national pupil base: its XML exports (`shared/design/SIECLE.md`), read here
//! without any I/O — bytes in, values out. The daemon unzips, maps régimes to rights and writes.
//!
//! - [`parse_eleves`]: `ElevesSansAdresses.xml` / `ElevesAvecAdresses.xml` (root `BEE_ELEVES`):
//!   pupils keyed on `ELEVE_ID`, their class (`STRUCTURE` of `TYPE_STRUCTURE` D), régime and
//!   entry and leaving dates. A pupil that cannot be used (no `ELEVE_ID`, no name, a bad date…)
//!   is [`Rejected`] with its reason; the others are still read.
//! - [`parse_nomenclature`]: `Nomenclature.xml` (root `BEE_NOMENCLATURES`): the régime labels.
//! - [`parse_responsables`]: `ResponsablesAvecAdresses.xml` (root `BEE_RESPONSABLES`), both
//!   generations (before 2018 `RESP_LEGAL`, from 2018 `NIVEAU_RESPONSABILITE` and
//!   `PAIE_FRAIS_SCOLAIRES`): the guardians ([`crate::family::Guardian`], keyed on
//!   `PERSONNE_ID`) with their address, e-mail and telephone and their links to pupils
//!   (`ELEVE_ID`), for billing (who pays, BRIEF §7) and how many guardians each pupil has.
//!   Personal data of adults: the daemon keeps them under BRIEF §6's retention.
//!
//! The parse streams (quick-xml events, no tree), accepts children and sections in any order,
//! and honours the declared encoding (ISO-8859-15, ISO-8859-1, UTF-8 with or without BOM; a
//! file re-saved as UTF-8 whose declaration still says ISO-8859-15 is read as UTF-8, with a
//! warning). A file that is not well-formed XML, truncated, or not the expected export is an
//! [`SiecleError`] naming the element and the line: nothing of it is to be applied.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use encoding_rs::Encoding;
use quick_xml::events::Event;

use crate::family::{Guardian, GuardianLink};

/// A file that cannot be read at all. `element` is the innermost element open where the
/// problem is (or the element at fault), when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SiecleError {
    pub line: usize,
    pub element: Option<String>,
    pub message: String,
}

impl fmt::Display for SiecleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(e) = &self.element {
            write!(f, ", element <{e}>")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl SiecleError {
    fn new(line: usize, element: Option<&str>, message: impl Into<String>) -> Self {
        SiecleError {
            line,
            element: element.map(str::to_owned),
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// The file's text in UTF-8, from its BOM or declared encoding, plus a warning when the
/// declaration does not match the bytes.
pub fn decode(bytes: &[u8]) -> Result<(String, Option<String>), SiecleError> {
    let line_of = |pos: usize| {
        bytes[..pos.min(bytes.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        if enc == encoding_rs::UTF_8 {
            return match std::str::from_utf8(body) {
                Ok(s) => Ok((s.to_owned(), None)),
                Err(e) => Err(SiecleError::new(
                    line_of(bom_len + e.valid_up_to()),
                    None,
                    "invalid UTF-8 byte sequence in a file that starts with a UTF-8 byte order \
                     mark (mixed encodings: was it edited by hand?); export it again from SIÈCLE",
                )),
            };
        }
        let (text, bad) = enc.decode_without_bom_handling(body);
        if bad {
            return Err(SiecleError::new(
                1,
                None,
                format!("invalid {} text", enc.name()),
            ));
        }
        return Ok((text.into_owned(), None));
    }
    let declared = declared_encoding(bytes);
    let enc = match &declared {
        None => encoding_rs::UTF_8,
        Some(label) => Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            SiecleError::new(
                1,
                None,
                format!("unknown encoding `{label}` in the XML declaration"),
            )
        })?,
    };
    let utf8 = std::str::from_utf8(bytes);
    if enc == encoding_rs::UTF_8 {
        return match utf8 {
            Ok(s) => Ok((s.to_owned(), None)),
            Err(e) => Err(SiecleError::new(
                line_of(e.valid_up_to()),
                None,
                format!(
                    "invalid UTF-8 byte sequence: the file declares {} but holds other bytes \
                     (ISO-8859-15?); export it again from SIÈCLE",
                    declared.as_deref().unwrap_or("no encoding (so UTF-8)")
                ),
            )),
        };
    }
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        let (text, bad) = enc.decode_without_bom_handling(bytes);
        if bad {
            return Err(SiecleError::new(1, None, "invalid UTF-16 text"));
        }
        return Ok((text.into_owned(), None));
    }
    match utf8 {
        // Declared single-byte, but every byte above ASCII is part of a UTF-8 sequence: the
        // file was re-saved as UTF-8 and its declaration left as it was.
        Ok(s) if !s.is_ascii() => {
            let warning = format!(
                "the file declares {} but is UTF-8 (re-saved by hand?): read as UTF-8",
                declared.as_deref().unwrap_or("?")
            );
            Ok((s.to_owned(), Some(warning)))
        }
        Err(e) if bytes[..e.valid_up_to()].iter().any(|b| *b >= 0x80) => Err(SiecleError::new(
            line_of(e.valid_up_to()),
            None,
            format!(
                "mixed encodings: the file declares {} and has UTF-8 sequences before this line, \
                 where a byte is not UTF-8 (edited by hand?); export it again from SIÈCLE",
                declared.as_deref().unwrap_or("?")
            ),
        )),
        _ => Ok((enc.decode_without_bom_handling(bytes).0.into_owned(), None)),
    }
}

/// `encoding="…"` of the XML declaration, if the file starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let end = bytes.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&bytes[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_owned())
}

// ---------------------------------------------------------------------------------------------
// The streaming walk

/// Receives the elements of a document as they close. `path` holds the open elements, the
/// one concerned last.
trait Handler {
    fn open(&mut self, path: &[String], attrs: &[(String, String)], line: usize);
    /// `text` is the element's own text, trimmed.
    fn close(&mut self, path: &[String], text: String);
}

/// Line numbers of byte offsets, counted incrementally (offsets mostly increase).
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.text.len());
        if pos < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.pos..pos]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.pos = pos;
        self.line
    }
}

fn walk(text: &str, root: &str, what: &str, h: &mut impl Handler) -> Result<(), SiecleError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut lines = Lines {
        text,
        pos: 0,
        line: 1,
    };
    let mut stack: Vec<String> = Vec::new();
    let mut opened: Vec<usize> = Vec::new();
    let mut buf = String::new();
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut seen_root = false;
    let name_of = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let pos = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                let element = match &e {
                    quick_xml::Error::IllFormed(
                        quick_xml::errors::IllFormedError::MismatchedEndTag { expected, .. },
                    ) => Some(expected.clone()),
                    _ => stack.last().cloned(),
                };
                return Err(SiecleError {
                    line: lines.at(pos),
                    element,
                    message: format!("not well-formed XML: {e}"),
                });
            }
        };
        let (start, empty) = match &event {
            Event::Start(s) => (Some(s), false),
            Event::Empty(s) => (Some(s), true),
            _ => (None, false),
        };
        if let Some(s) = start {
            let name = name_of(s.name().as_ref());
            let line = lines.at(before);
            if stack.is_empty() {
                if seen_root {
                    return Err(SiecleError::new(line, Some(&name), "a second root element"));
                }
                if name != root {
                    return Err(SiecleError::new(
                        line,
                        Some(&name),
                        format!(
                            "this is not {what}: its root element is <{name}>, expected <{root}>"
                        ),
                    ));
                }
                seen_root = true;
            }
            attrs.clear();
            for a in s.attributes() {
                let a = a.map_err(|e| {
                    SiecleError::new(line, Some(&name), format!("bad attribute: {e}"))
                })?;
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|e| {
                        SiecleError::new(line, Some(&name), format!("bad attribute value: {e}"))
                    })?;
                attrs.push((name_of(a.key.as_ref()), value.into_owned()));
            }
            stack.push(name);
            opened.push(line);
            buf.clear();
            h.open(&stack, &attrs, line);
            if empty {
                h.close(&stack, String::new());
                stack.pop();
                opened.pop();
            }
            continue;
        }
        match event {
            Event::End(_) => {
                h.close(&stack, buf.trim().to_owned());
                buf.clear();
                stack.pop();
                opened.pop();
            }
            Event::Text(t) => {
                let line = lines.at(before);
                let t = t.xml10_content().map_err(|e| {
                    SiecleError::new(line, stack.last().map(String::as_str), e.to_string())
                })?;
                if stack.is_empty() {
                    if !t.trim().is_empty() {
                        return Err(SiecleError::new(
                            line,
                            None,
                            "text outside the root element",
                        ));
                    }
                } else {
                    buf.push_str(&t);
                }
            }
            Event::CData(t) => buf.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                let line = lines.at(before);
                let at = stack.last().map(String::as_str);
                let bad = |m: String| SiecleError::new(line, at, m);
                match r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
                    Some(c) => buf.push(c),
                    None => {
                        let name = r.decode().map_err(|e| bad(e.to_string()))?;
                        buf.push(match &*name {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => return Err(bad(format!("unknown entity &{other};"))),
                        });
                    }
                }
            }
            Event::Eof => {
                let last = lines.at(text.len());
                if let (Some(name), Some(from)) = (stack.last(), opened.last()) {
                    return Err(SiecleError::new(
                        last,
                        Some(name),
                        format!(
                            "the file ends inside <{name}> (opened at line {from}): it is \
                             truncated; export or copy it again"
                        ),
                    ));
                }
                if !seen_root {
                    return Err(SiecleError::new(
                        last,
                        None,
                        format!("no XML element: this is not {what} (expected <{root}>)"),
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
    }
}

fn parent_is(path: &[String], parent: &str) -> bool {
    path.len() >= 2 && path[path.len() - 2] == parent
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn non_empty(s: String) -> Option<String> {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// `dd/mm/yyyy`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%d/%m/%Y").ok()
}

// ---------------------------------------------------------------------------------------------
// BEE_ELEVES

/// One pupil of the file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eleve {
    /// Line of the `<ELEVE>` element.
    pub line: usize,
    /// The stable key (`ELEVE@ELEVE_ID`).
    pub eleve_id: String,
    pub elenoet: Option<String>,
    /// INE (`ID_NATIONAL`); often missing, never a key.
    pub ine: Option<String>,
    /// `NOM_USAGE` when given, else `NOM_DE_FAMILLE` (or `NOM` before 2016).
    pub last_name: String,
    pub first_name: String,
    /// `CODE_REGIME` as written (`"24"`), if any.
    pub code_regime: Option<String>,
    /// The division (`STRUCTURE` with `TYPE_STRUCTURE` D), if any.
    pub class: Option<String>,
    pub date_entree: Option<NaiveDate>,
    pub date_sortie: Option<NaiveDate>,
}

/// A pupil of the file that cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: usize,
    /// Empty when the element has none.
    pub eleve_id: String,
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = if self.eleve_id.is_empty() {
            "?"
        } else {
            &self.eleve_id
        };
        write!(f, "line {}, ELEVE_ID {id}: {}", self.line, self.reason)
    }
}

/// An `ElevesSansAdresses` / `ElevesAvecAdresses` export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eleves {
    pub uaj: Option<String>,
    /// The starting year (2024 for 2024-25).
    pub annee_scolaire: Option<i32>,
    pub date_export: Option<NaiveDate>,
    pub pupils: Vec<Eleve>,
    pub rejected: Vec<Rejected>,
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct RawEleve {
    line: usize,
    id: Option<String>,
    elenoet: Option<String>,
    fields: HashMap<&'static str, String>,
}

const ELEVE_FIELDS: [&str; 9] = [
    "ID_NATIONAL",
    "ELENOET",
    "NOM_DE_FAMILLE",
    "NOM",
    "NOM_USAGE",
    "PRENOM",
    "CODE_REGIME",
    "DATE_ENTREE",
    "DATE_SORTIE",
];

#[derive(Default)]
struct ElevesHandler {
    uaj: Option<String>,
    annee: Option<String>,
    date_export: Option<String>,
    raw: Vec<RawEleve>,
    current: Option<RawEleve>,
    /// `STRUCTURES_ELEVE@ELEVE_ID` being read, and the current `STRUCTURE`'s code and type.
    structures_of: Option<String>,
    structure: (Option<String>, Option<String>),
    /// ELEVE_ID → divisions, in file order.
    classes: HashMap<String, Vec<String>>,
}

impl Handler for ElevesHandler {
    fn open(&mut self, path: &[String], attrs: &[(String, String)], line: usize) {
        let Some(name) = path.last() else { return };
        match name.as_str() {
            "ELEVE" if parent_is(path, "ELEVES") => {
                self.current = Some(RawEleve {
                    line,
                    id: attr(attrs, "ELEVE_ID").map(str::to_owned),
                    elenoet: attr(attrs, "ELENOET").map(str::to_owned),
                    fields: HashMap::new(),
                });
            }
            "STRUCTURES_ELEVE" => {
                self.structures_of = attr(attrs, "ELEVE_ID").map(str::to_owned);
            }
            "STRUCTURE" if parent_is(path, "STRUCTURES_ELEVE") => self.structure = (None, None),
            _ => {}
        }
    }

    fn close(&mut self, path: &[String], text: String) {
        let Some(name) = path.last() else { return };
        if parent_is(path, "ELEVE") {
            if let (Some(cur), Some(field)) = (
                self.current.as_mut(),
                ELEVE_FIELDS.iter().find(|f| **f == name.as_str()),
            ) {
                cur.fields.insert(field, text);
            }
            return;
        }
        if parent_is(path, "PARAMETRES") {
            match name.as_str() {
                "UAJ" => self.uaj = non_empty(text),
                "ANNEE_SCOLAIRE" => self.annee = non_empty(text),
                "DATE_EXPORT" => self.date_export = non_empty(text),
                _ => {}
            }
            return;
        }
        if parent_is(path, "STRUCTURE") {
            match name.as_str() {
                "CODE_STRUCTURE" => self.structure.0 = non_empty(text),
                "TYPE_STRUCTURE" => self.structure.1 = non_empty(text),
                _ => {}
            }
            return;
        }
        match name.as_str() {
            "ELEVE" if parent_is(path, "ELEVES") => {
                if let Some(cur) = self.current.take() {
                    self.raw.push(cur);
                }
            }
            "STRUCTURE" if parent_is(path, "STRUCTURES_ELEVE") => {
                if let (Some(id), (Some(code), Some(kind))) =
                    (&self.structures_of, std::mem::take(&mut self.structure))
                {
                    if kind == "D" {
                        self.classes.entry(id.clone()).or_default().push(code);
                    }
                }
            }
            "STRUCTURES_ELEVE" => self.structures_of = None,
            _ => {}
        }
    }
}

/// Reads an `ElevesSansAdresses.xml` or `ElevesAvecAdresses.xml` export (root `BEE_ELEVES`).
pub fn parse_eleves(bytes: &[u8]) -> Result<Eleves, SiecleError> {
    let (text, warning) = decode(bytes)?;
    let mut h = ElevesHandler::default();
    walk(
        &text,
        "BEE_ELEVES",
        "a SIÈCLE pupils export (ElevesSansAdresses/ElevesAvecAdresses)",
        &mut h,
    )?;
    let mut out = Eleves {
        uaj: h.uaj,
        annee_scolaire: h.annee.as_deref().and_then(|a| a.parse().ok()),
        date_export: h.date_export.as_deref().and_then(parse_date),
        warnings: warning.into_iter().collect(),
        ..Eleves::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mut raw in h.raw {
        let line = raw.line;
        let mut field = |k: &'static str| raw.fields.remove(k).and_then(non_empty);
        let ine = field("ID_NATIONAL");
        let elenoet = raw.elenoet.take().or_else(|| field("ELENOET"));
        let family = field("NOM_DE_FAMILLE").or_else(|| field("NOM"));
        let usage = field("NOM_USAGE");
        let first = field("PRENOM");
        let code_regime = field("CODE_REGIME");
        let entree = field("DATE_ENTREE");
        let sortie = field("DATE_SORTIE");
        let id = raw.id.take().unwrap_or_default();
        let reject = |reason: String| Rejected {
            line,
            eleve_id: id.clone(),
            reason,
        };
        let date = |which: &str, v: Option<String>| -> Result<Option<NaiveDate>, Rejected> {
            match v {
                None => Ok(None),
                Some(s) => parse_date(&s)
                    .map(Some)
                    .ok_or_else(|| reject(format!("{which} `{s}` is not a date dd/mm/yyyy"))),
            }
        };
        // One ELEVE_ID twice: the file contradicts itself (which record is the pupil?). Dropping
        // one would count its pupil as gone and close their rights: the file is refused whole.
        if !id.is_empty() {
            if let Some(first_line) = seen.get(&id) {
                return Err(SiecleError::new(
                    line,
                    Some("ELEVE"),
                    format!(
                        "ELEVE_ID {id} is given twice (lines {first_line} and {line}): the file contradicts itself"
                    ),
                ));
            }
            seen.insert(id.clone(), line);
        }
        let checked = (|| {
            if id.is_empty() {
                return Err(reject("no ELEVE_ID attribute".into()));
            }
            let Some(last_name) = usage.or(family) else {
                return Err(reject("no name (NOM_DE_FAMILLE, NOM or NOM_USAGE)".into()));
            };
            let Some(first_name) = first else {
                return Err(reject("no first name (PRENOM)".into()));
            };
            Ok(Eleve {
                line,
                eleve_id: id.clone(),
                elenoet,
                ine,
                last_name,
                first_name,
                code_regime,
                class: None,
                date_entree: date("DATE_ENTREE", entree)?,
                date_sortie: date("DATE_SORTIE", sortie)?,
            })
        })();
        match checked {
            Ok(mut e) => {
                if let Some(classes) = h.classes.get(&id) {
                    e.class = classes.first().cloned();
                    if classes.len() > 1 {
                        out.warnings.push(format!(
                            "ELEVE_ID {id} is in {} divisions ({}): kept {}",
                            classes.len(),
                            classes.join(", "),
                            classes[0]
                        ));
                    }
                }
                out.pupils.push(e);
            }
            Err(r) => out.rejected.push(r),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// BEE_NOMENCLATURES

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegimeLabel {
    pub short: String,
    pub long: String,
}

/// A `Nomenclature.xml` export: what this importer uses of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nomenclature {
    /// `CODE_REGIME` → labels.
    pub regimes: BTreeMap<String, RegimeLabel>,
}

#[derive(Default)]
struct NomenclatureHandler {
    out: Nomenclature,
    code: Option<String>,
    label: RegimeLabel,
}

impl Handler for NomenclatureHandler {
    fn open(&mut self, path: &[String], attrs: &[(String, String)], _line: usize) {
        if path.last().is_some_and(|n| n == "REGIME") && parent_is(path, "REGIMES") {
            self.code = attr(attrs, "CODE_REGIME").map(str::to_owned);
            self.label = RegimeLabel::default();
        }
    }

    fn close(&mut self, path: &[String], text: String) {
        let Some(name) = path.last() else { return };
        if parent_is(path, "REGIME") && path.len() >= 3 && path[path.len() - 3] == "REGIMES" {
            let text = non_empty(text).unwrap_or_default();
            match name.as_str() {
                "LIBELLE_COURT" => self.label.short = text,
                "LIBELLE_LONG" => self.label.long = text,
                _ => {}
            }
        } else if name == "REGIME" && parent_is(path, "REGIMES") {
            if let Some(code) = self.code.take() {
                self.out
                    .regimes
                    .insert(code, std::mem::take(&mut self.label));
            }
        }
    }
}

/// Reads a `Nomenclature.xml` export (root `BEE_NOMENCLATURES`).
pub fn parse_nomenclature(bytes: &[u8]) -> Result<Nomenclature, SiecleError> {
    let (text, _) = decode(bytes)?;
    let mut h = NomenclatureHandler::default();
    walk(
        &text,
        "BEE_NOMENCLATURES",
        "a SIÈCLE Nomenclature export",
        &mut h,
    )?;
    Ok(h.out)
}

// ---------------------------------------------------------------------------------------------
// Régimes

/// What a `CODE_REGIME` means for the canteen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegimeKind {
    /// Externe (0, 1), interne-externe (4), DP hors de l'établissement (6): no forfait.
    Externe,
    /// Demi-pensionnaire on a forfait of this many days a week (2: 5 days; 21…26: 1…6).
    Dp { days: u8 },
    /// Demi-pensionnaire au ticket (29): pays per meal.
    DpTicket,
    /// Interne (3, 31…36, 38, 39, 5 interne hébergé).
    Interne,
}

/// What a person reads: `externe`, `DP 4 jours`, `DP au ticket`, `interne`.
impl fmt::Display for RegimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegimeKind::Externe => f.write_str("externe"),
            RegimeKind::Dp { days } => write!(f, "DP {days} jours"),
            RegimeKind::DpTicket => f.write_str("DP au ticket"),
            RegimeKind::Interne => f.write_str("interne"),
        }
    }
}

/// How a code was understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegimeSource {
    /// A national code this importer knows.
    Known,
    /// An unknown code, read from its Nomenclature label.
    Label,
    /// An unknown code without a label: its first digit (0/1/4/6 externe, 2 DP, 3/5 interne).
    FirstDigit,
}

/// The meaning of a `CODE_REGIME`: the national codes first, then (for a code this importer
/// does not know) the Nomenclature's label, then the first digit. `None`: no meaning at all.
pub fn classify_regime(
    code: &str,
    nomenclature: Option<&Nomenclature>,
) -> Option<(RegimeKind, RegimeSource)> {
    let code = code.trim();
    let known = match code {
        "0" | "1" | "4" | "6" => Some(RegimeKind::Externe),
        "2" => Some(RegimeKind::Dp { days: 5 }),
        "21" | "22" | "23" | "24" | "25" | "26" => {
            code[1..].parse().ok().map(|days| RegimeKind::Dp { days })
        }
        "29" => Some(RegimeKind::DpTicket),
        "3" | "31" | "32" | "33" | "34" | "35" | "36" | "38" | "39" | "5" => {
            Some(RegimeKind::Interne)
        }
        _ => None,
    };
    if let Some(k) = known {
        return Some((k, RegimeSource::Known));
    }
    if let Some(label) = nomenclature.and_then(|n| n.regimes.get(code)) {
        let long = crate::model::fold(&format!("{} {}", label.long, label.short));
        let kind = if long.contains("ticket") {
            Some(RegimeKind::DpTicket)
        } else if long.contains("hors")
            || long.contains("interne externe")
            || long.contains("interne-externe")
        {
            Some(RegimeKind::Externe)
        } else if long.contains("interne") {
            Some(RegimeKind::Interne)
        } else if long.contains("externe") {
            Some(RegimeKind::Externe)
        } else if long.contains("demi-pensionnaire") || long.starts_with("dp") {
            let days = long
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|d| d.parse::<u8>().ok())
                .find(|d| (1..=6).contains(d))
                .unwrap_or(5);
            Some(RegimeKind::Dp { days })
        } else {
            None
        };
        if let Some(k) = kind {
            return Some((k, RegimeSource::Label));
        }
    }
    let kind = match code.chars().next()? {
        '0' | '1' | '4' | '6' => RegimeKind::Externe,
        '2' => RegimeKind::Dp { days: 5 },
        '3' | '5' => RegimeKind::Interne,
        _ => return None,
    };
    Some((kind, RegimeSource::FirstDigit))
}

// ---------------------------------------------------------------------------------------------
// BEE_RESPONSABLES

/// Which generation of the guardians file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Generation {
    /// `RESP_LEGAL` 0/1/2, `CODE_PARENTE` 1 père, 2 mère, 3 tuteur…
    Before2018,
    /// `NIVEAU_RESPONSABILITE` 1/2/3, `CODE_PARENTE` 10 mère, 20 père, 50 tuteur…
    From2018,
    #[default]
    Unknown,
}

/// How many guardians a pupil has: legal guardians (`RESP_LEGAL` 1 or 2, or
/// `NIVEAU_RESPONSABILITE` 1) and others (persons in charge, contacts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guardians {
    pub legal: u32,
    pub others: u32,
}

/// A `ResponsablesAvecAdresses.xml` export: the guardians with their links to pupils, and how
/// many each pupil has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Responsables {
    pub generation: Generation,
    /// ELEVE_ID → its guardians.
    pub per_pupil: BTreeMap<String, Guardians>,
    /// `RESPONSABLE_ELEVE` elements without an `ELEVE_ID`, or repeated.
    pub skipped: usize,
    /// One per `PERSONNE_ID` linked to a pupil, in `PERSONNE_ID` order, each with its links in
    /// the file's order: name (`NOM_USAGE` when given, else `NOM_DE_FAMILLE`, or `NOM` in old
    /// files), civility, the postal address of its `ADRESSE_ID`, e-mail, mobile phone else
    /// personal phone. A person of `PERSONNES` linked to no pupil is not kept.
    pub guardians: Vec<Guardian>,
    /// Persons of `PERSONNES` linked to no pupil (left out).
    pub unlinked: usize,
    /// What was kept although incomplete (a link to a person not in `PERSONNES`, a person
    /// without an address…), one line each, with the line of the file.
    pub warnings: Vec<String>,
}

/// The fields read from a `RESPONSABLE_ELEVE`.
const RESP_FIELDS: [&str; 6] = [
    "ELEVE_ID",
    "PERSONNE_ID",
    "RESP_LEGAL",
    "NIVEAU_RESPONSABILITE",
    "CODE_PARENTE",
    "PAIE_FRAIS_SCOLAIRES",
];

/// The fields read from a `PERSONNE` (`PERSONNE_ID` as a child element too, should a file give
/// it so).
const PERSONNE_FIELDS: [&str; 10] = [
    "PERSONNE_ID",
    "LC_CIVILITE",
    "NOM_DE_FAMILLE",
    "NOM",
    "NOM_USAGE",
    "PRENOM",
    "TEL_PORTABLE",
    "TEL_PERSONNEL",
    "MEL",
    "ADRESSE_ID",
];

/// The fields read from an `ADRESSE`.
const ADRESSE_FIELDS: [&str; 7] = [
    "LIGNE1_ADRESSE",
    "LIGNE2_ADRESSE",
    "LIGNE3_ADRESSE",
    "LIGNE4_ADRESSE",
    "CODE_POSTAL",
    "LIBELLE_POSTAL",
    "LL_PAYS",
];

/// One element of the file as read: its line, its id attribute, its fields.
#[derive(Default)]
struct Raw {
    line: usize,
    id: Option<String>,
    fields: HashMap<&'static str, String>,
}

impl Raw {
    fn get(&self, k: &str) -> Option<String> {
        self.fields.get(k).cloned().and_then(non_empty)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RespPart {
    Link,
    Personne,
    Adresse,
}

#[derive(Default)]
struct ResponsablesHandler {
    links: Vec<Raw>,
    personnes: Vec<Raw>,
    adresses: Vec<Raw>,
    /// The element being read, and its depth in the path.
    current: Option<(RespPart, usize, Raw)>,
}

impl Handler for ResponsablesHandler {
    fn open(&mut self, path: &[String], attrs: &[(String, String)], line: usize) {
        let Some(name) = path.last() else { return };
        if self.current.is_some() {
            return;
        }
        let part = match name.as_str() {
            "RESPONSABLE_ELEVE" => RespPart::Link,
            "PERSONNE" if parent_is(path, "PERSONNES") => RespPart::Personne,
            "ADRESSE" if parent_is(path, "ADRESSES") => RespPart::Adresse,
            _ => return,
        };
        let id = match part {
            RespPart::Link => None,
            RespPart::Personne => attr(attrs, "PERSONNE_ID"),
            RespPart::Adresse => attr(attrs, "ADRESSE_ID"),
        };
        let raw = Raw {
            line,
            id: id.map(str::to_owned),
            fields: HashMap::new(),
        };
        self.current = Some((part, path.len(), raw));
    }

    fn close(&mut self, path: &[String], text: String) {
        let Some(name) = path.last() else { return };
        let Some((part, depth, raw)) = self.current.as_mut() else {
            return;
        };
        if path.len() == *depth + 1 {
            let fields: &[&'static str] = match part {
                RespPart::Link => &RESP_FIELDS,
                RespPart::Personne => &PERSONNE_FIELDS,
                RespPart::Adresse => &ADRESSE_FIELDS,
            };
            if let Some(f) = fields.iter().find(|f| **f == name.as_str()) {
                raw.fields.insert(f, text);
            }
            return;
        }
        if path.len() != *depth {
            return;
        }
        if let Some((part, _, raw)) = self.current.take() {
            match part {
                RespPart::Link => self.links.push(raw),
                RespPart::Personne => self.personnes.push(raw),
                RespPart::Adresse => self.adresses.push(raw),
            }
        }
    }
}

/// The postal address of an `ADRESSE`: (lines, postcode, city, country when not France).
type Address = (Vec<String>, String, String, String);

fn address_of(raw: &Raw) -> Address {
    let lines = [
        "LIGNE1_ADRESSE",
        "LIGNE2_ADRESSE",
        "LIGNE3_ADRESSE",
        "LIGNE4_ADRESSE",
    ]
    .iter()
    .filter_map(|k| raw.get(k))
    .collect();
    let country = raw
        .get("LL_PAYS")
        .filter(|c| !c.eq_ignore_ascii_case("france"))
        .unwrap_or_default();
    (
        lines,
        raw.get("CODE_POSTAL").unwrap_or_default(),
        raw.get("LIBELLE_POSTAL").unwrap_or_default(),
        country,
    )
}

/// `id` given twice in one section: the file contradicts itself (which record is it?).
fn given_twice(
    seen: &mut HashMap<String, usize>,
    id: &str,
    line: usize,
    element: &str,
    key: &str,
) -> Result<(), SiecleError> {
    if let Some(first) = seen.get(id) {
        return Err(SiecleError::new(
            line,
            Some(element),
            format!(
                "{key} {id} is given twice (lines {first} and {line}): the file contradicts itself"
            ),
        ));
    }
    seen.insert(id.to_owned(), line);
    Ok(())
}

/// Reads a `ResponsablesAvecAdresses.xml` export (root `BEE_RESPONSABLES`), either generation.
/// Sections and children may come in any order. A person or an address given twice under the
/// same id refuses the file; a link to a person not in `PERSONNES`, or a person whose address is
/// missing, is kept as far as it is known, with a warning.
pub fn parse_responsables(bytes: &[u8]) -> Result<Responsables, SiecleError> {
    let (text, warning) = decode(bytes)?;
    let mut h = ResponsablesHandler::default();
    walk(
        &text,
        "BEE_RESPONSABLES",
        "a SIÈCLE guardians export (ResponsablesAvecAdresses)",
        &mut h,
    )?;
    let mut out = Responsables {
        warnings: warning.into_iter().collect(),
        ..Responsables::default()
    };

    let mut seen = HashMap::new();
    let mut adresses: HashMap<String, Address> = HashMap::new();
    for raw in &h.adresses {
        let Some(id) = &raw.id else {
            out.warnings.push(format!(
                "line {}: an ADRESSE without ADRESSE_ID, left out",
                raw.line
            ));
            continue;
        };
        given_twice(&mut seen, id, raw.line, "ADRESSE", "ADRESSE_ID")?;
        adresses.insert(id.clone(), address_of(raw));
    }

    // PERSONNE_ID → (line of the person, the guardian without links).
    let mut seen = HashMap::new();
    let mut personnes: BTreeMap<String, (usize, Guardian)> = BTreeMap::new();
    for raw in &h.personnes {
        let Some(id) = raw.id.clone().or_else(|| raw.get("PERSONNE_ID")) else {
            out.warnings.push(format!(
                "line {}: a PERSONNE without PERSONNE_ID, left out",
                raw.line
            ));
            continue;
        };
        given_twice(&mut seen, &id, raw.line, "PERSONNE", "PERSONNE_ID")?;
        let mut g = Guardian {
            id: id.clone(),
            civility: raw.get("LC_CIVILITE").unwrap_or_default(),
            last_name: raw
                .get("NOM_USAGE")
                .or_else(|| raw.get("NOM_DE_FAMILLE"))
                .or_else(|| raw.get("NOM"))
                .unwrap_or_default(),
            first_name: raw.get("PRENOM").unwrap_or_default(),
            address: Vec::new(),
            postal_code: String::new(),
            city: String::new(),
            country: String::new(),
            email: raw.get("MEL").unwrap_or_default(),
            phone: raw
                .get("TEL_PORTABLE")
                .or_else(|| raw.get("TEL_PERSONNEL"))
                .unwrap_or_default(),
            children: Vec::new(),
        };
        match raw.get("ADRESSE_ID") {
            Some(a) => match adresses.get(&a) {
                Some((lines, postal_code, city, country)) => {
                    g.address = lines.clone();
                    g.postal_code = postal_code.clone();
                    g.city = city.clone();
                    g.country = country.clone();
                }
                None => out.warnings.push(format!(
                    "line {}, PERSONNE_ID {id}: ADRESSE_ID {a} is not in ADRESSES: kept without \
                     an address",
                    raw.line
                )),
            },
            None => out.warnings.push(format!(
                "line {}, PERSONNE_ID {id}: no ADRESSE_ID: kept without an address",
                raw.line
            )),
        }
        personnes.insert(id, (raw.line, g));
    }

    let mut seen_links = std::collections::HashSet::new();
    // ELEVE_ID → legal guardians met so far (the 2018 generation's rank).
    let mut legal_rank: HashMap<String, u8> = HashMap::new();
    // PERSONNE_ID → the links of a person not in PERSONNES (and the line of its first link).
    let mut unknown: BTreeMap<String, (usize, Vec<GuardianLink>)> = BTreeMap::new();
    for raw in &h.links {
        let Some(eleve) = raw.get("ELEVE_ID") else {
            out.skipped += 1;
            continue;
        };
        let personne = raw.get("PERSONNE_ID");
        if let Some(p) = &personne {
            if !seen_links.insert((eleve.clone(), p.clone())) {
                out.skipped += 1;
                continue;
            }
        }
        let (legal, rank) = if let Some(niveau) = raw.get("NIVEAU_RESPONSABILITE") {
            out.generation = Generation::From2018;
            let legal = niveau == "1";
            let rank = if legal {
                let r = legal_rank.entry(eleve.clone()).or_default();
                *r = r.saturating_add(1);
                *r
            } else {
                0
            };
            (legal, rank)
        } else if let Some(resp) = raw.get("RESP_LEGAL") {
            if out.generation == Generation::Unknown {
                out.generation = Generation::Before2018;
            }
            match resp.as_str() {
                "1" => (true, 1),
                "2" => (true, 2),
                _ => (false, 0),
            }
        } else {
            (false, 0)
        };
        let count = out.per_pupil.entry(eleve.clone()).or_default();
        if legal {
            count.legal += 1;
        } else {
            count.others += 1;
        }
        let Some(personne) = personne else {
            out.warnings.push(format!(
                "line {}, ELEVE_ID {eleve}: a RESPONSABLE_ELEVE without PERSONNE_ID, counted, \
                 no guardian kept",
                raw.line
            ));
            continue;
        };
        let link = GuardianLink {
            eleve_id: eleve,
            legal,
            rank,
            pays: raw.get("PAIE_FRAIS_SCOLAIRES").as_deref() == Some("1"),
            relation: raw.get("CODE_PARENTE").unwrap_or_default(),
            ended: None,
        };
        match personnes.get_mut(&personne) {
            Some((_, g)) => g.children.push(link),
            None => unknown
                .entry(personne)
                .or_insert_with(|| (raw.line, Vec::new()))
                .1
                .push(link),
        }
    }

    for (id, (line, links)) in unknown {
        out.warnings.push(format!(
            "line {line}: PERSONNE_ID {id} (ELEVE_ID {}) is not in PERSONNES: kept without a \
             name or address",
            links
                .iter()
                .map(|l| l.eleve_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        personnes.insert(
            id.clone(),
            (
                line,
                Guardian {
                    id,
                    civility: String::new(),
                    last_name: String::new(),
                    first_name: String::new(),
                    address: Vec::new(),
                    postal_code: String::new(),
                    city: String::new(),
                    country: String::new(),
                    email: String::new(),
                    phone: String::new(),
                    children: links,
                },
            ),
        );
    }
    for (_, (_, g)) in personnes {
        if g.children.is_empty() {
            out.unlinked += 1;
        } else {
            out.guardians.push(g);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ELEVES: &[u8] = include_bytes!("../../../tests/fixtures/siecle/ElevesSansAdresses.xml");
    const TRUNCATED: &[u8] =
        include_bytes!("../../../tests/fixtures/siecle/ElevesSansAdresses-truncated.xml");
    const NOMENCLATURE: &[u8] =
        include_bytes!("../../../tests/fixtures/siecle/Nomenclature-small.xml");
    const RESP_2018: &[u8] =
        include_bytes!("../../../tests/fixtures/siecle/ResponsablesAvecAdresses.xml");
    const RESP_2017: &[u8] =
        include_bytes!("../../../tests/fixtures/siecle/ResponsablesAvecAdresses-2017.xml");

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn pupil<'a>(e: &'a Eleves, id: &str) -> &'a Eleve {
        e.pupils.iter().find(|p| p.eleve_id == id).unwrap()
    }

    #[test]
    fn iso_8859_15_pupils_file_is_read_whatever_the_order() {
        assert!(ELEVES.contains(&0xBD), "the fixture holds œ as ISO-8859-15");
        let e = parse_eleves(ELEVES).unwrap();
        assert_eq!(e.uaj.as_deref(), Some("0310053P"));
        assert_eq!(e.annee_scolaire, Some(2025));
        assert_eq!(e.date_export, Some(d(2026, 1, 14)));
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        let ids: Vec<&str> = e.pupils.iter().map(|p| p.eleve_id.as_str()).collect();
        assert_eq!(
            ids,
            ["1001", "1002", "1003", "1004", "1005", "1006", "1008"]
        );

        let coeur = pupil(&e, "1001");
        assert_eq!(
            (coeur.last_name.as_str(), coeur.first_name.as_str()),
            ("Cœur", "Éloïse")
        );
        assert_eq!(coeur.ine.as_deref(), Some("123456789AB"));
        assert_eq!(coeur.elenoet.as_deref(), Some("0101"));
        assert_eq!(coeur.class.as_deref(), Some("6A"), "D, not the G group");
        assert_eq!(coeur.code_regime.as_deref(), Some("24"));
        assert_eq!(coeur.date_entree, Some(d(2024, 9, 2)));
        assert_eq!(coeur.date_sortie, None);
        assert_eq!(coeur.line, 41);

        // Pre-2016 `NOM`, children in another order, no INE, class with a space.
        let loewy = pupil(&e, "1002");
        assert_eq!(loewy.last_name, "Lœwy");
        assert_eq!(loewy.first_name, "Noé");
        assert_eq!(loewy.ine, None);
        assert_eq!(loewy.class.as_deref(), Some("4e 1"));
        assert_eq!(pupil(&e, "1003").last_name, "Œuvray");
        assert_eq!(pupil(&e, "1003").class.as_deref(), Some("61"));
        assert_eq!(pupil(&e, "1003").date_sortie, Some(d(2026, 2, 13)));
        assert_eq!(pupil(&e, "1006").date_sortie, Some(d(2025, 7, 4)));
        assert_eq!(pupil(&e, "1005").class, None);
        assert_eq!(
            pupil(&e, "1008").last_name,
            "Durand-Bœuf",
            "NOM_USAGE first"
        );

        assert_eq!(e.rejected.len(), 1);
        assert_eq!(e.rejected[0].eleve_id, "1007");
        assert!(
            e.rejected[0].reason.contains("no name"),
            "{}",
            e.rejected[0]
        );
    }

    #[test]
    fn the_same_file_in_utf8_with_bom_and_without_and_with_a_lying_declaration() {
        let (text, _) = decode(ELEVES).unwrap();
        let utf8 = text.replace("ISO-8859-15", "UTF-8");
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(utf8.as_bytes());
        let reference = parse_eleves(ELEVES).unwrap();
        for bytes in [utf8.as_bytes().to_vec(), bom, text.as_bytes().to_vec()] {
            let e = parse_eleves(&bytes).unwrap();
            assert_eq!(e.pupils, reference.pupils);
        }
        // Re-saved as UTF-8, declaration still ISO-8859-15: read as UTF-8, with a warning.
        let e = parse_eleves(text.as_bytes()).unwrap();
        assert!(e.warnings[0].contains("is UTF-8"), "{:?}", e.warnings);
        // ISO-8859-1 (no œ there): é is read.
        let latin1 =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<BEE_ELEVES><DONNEES><ELEVES>\
            <ELEVE ELEVE_ID=\"7\"><NOM>Cr\xE9py</NOM><PRENOM>Ana&#239;s &amp; Co</PRENOM></ELEVE>\
            </ELEVES></DONNEES></BEE_ELEVES>";
        let e = parse_eleves(latin1).unwrap();
        assert_eq!(e.pupils[0].last_name, "Crépy");
        assert_eq!(e.pupils[0].first_name, "Anaïs & Co");
    }

    #[test]
    fn invalid_and_mixed_encodings_are_refused_with_the_line() {
        // Declares UTF-8, holds ISO-8859-15 bytes on line 3.
        let bad = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BEE_ELEVES>\n<X>C\xBDur</X>\n</BEE_ELEVES>";
        let e = parse_eleves(bad).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("invalid UTF-8"), "{e}");
        // Declares ISO-8859-15, UTF-8 on line 2, a stray Latin-9 byte on line 4.
        let mixed =
            "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<BEE_ELEVES><!-- é -->\n<A/>\n<X>C";
        let mut mixed = mixed.as_bytes().to_vec();
        mixed.extend_from_slice(b"\xBDur</X></BEE_ELEVES>");
        let e = parse_eleves(&mixed).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("mixed encodings"), "{e}");
        let e =
            parse_eleves(b"<?xml version=\"1.0\" encoding=\"KLINGON\"?><BEE_ELEVES/>").unwrap_err();
        assert!(e.message.contains("KLINGON"), "{e}");
    }

    #[test]
    fn truncated_and_malformed_files_name_the_element_and_line() {
        let e = parse_eleves(TRUNCATED).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("PRENOM"));
        assert_eq!(e.line, 79);
        assert!(e.message.contains("truncated"), "{e}");
        assert!(
            e.to_string().starts_with("line 79, element <PRENOM>: "),
            "{e}"
        );

        let (text, _) = decode(ELEVES).unwrap();
        let broken = text.replacen("</PRENOM>", "</PRENON>", 1);
        let e = parse_eleves(broken.as_bytes()).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("PRENOM"));
        assert_eq!(e.line, 46);

        let broken = text.replacen("<CODE_REGIME>25", "<CODE_REGIME 25", 1);
        let e = parse_eleves(broken.as_bytes()).unwrap_err();
        assert_eq!(e.line, 54, "{e}");
        assert_eq!(e.element.as_deref(), Some("CODE_REGIME"));

        let e = parse_eleves(NOMENCLATURE).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("BEE_NOMENCLATURES"));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("expected <BEE_ELEVES>"), "{e}");
        let e = parse_eleves(b"").unwrap_err();
        assert!(e.message.contains("no XML element"), "{e}");
        let e = parse_eleves(b"<BEE_ELEVES>&nbsp;</BEE_ELEVES>").unwrap_err();
        assert!(e.message.contains("&nbsp;"), "{e}");
    }

    #[test]
    fn bad_dates_and_missing_fields_are_rejected_pupil_by_pupil() {
        let xml = "<BEE_ELEVES><DONNEES><ELEVES>\n\
            <ELEVE ELEVE_ID=\"1\"><NOM_DE_FAMILLE>A</NOM_DE_FAMILLE><PRENOM>B</PRENOM><DATE_SORTIE>31/02/2025</DATE_SORTIE></ELEVE>\n\
            <ELEVE ELEVE_ID=\"2\"><NOM_DE_FAMILLE>A</NOM_DE_FAMILLE><PRENOM>B</PRENOM></ELEVE>\n\
            <ELEVE ELEVE_ID=\"3\"><NOM_DE_FAMILLE>C</NOM_DE_FAMILLE><PRENOM>D</PRENOM></ELEVE>\n\
            <ELEVE><NOM_DE_FAMILLE>E</NOM_DE_FAMILLE><PRENOM>F</PRENOM></ELEVE>\n\
            <ELEVE ELEVE_ID=\"5\"><NOM_DE_FAMILLE>E</NOM_DE_FAMILLE></ELEVE>\n\
            </ELEVES></DONNEES></BEE_ELEVES>";
        let e = parse_eleves(xml.as_bytes()).unwrap();
        assert_eq!(e.pupils.len(), 2);
        let got: Vec<(usize, &str)> = e
            .rejected
            .iter()
            .map(|r| (r.line, r.eleve_id.as_str()))
            .collect();
        assert_eq!(got, [(2, "1"), (5, ""), (6, "5")]);
        assert!(e.rejected[0].reason.contains("31/02/2025"));
        assert!(e.rejected[1].reason.contains("ELEVE_ID"));
        assert!(e.rejected[2].reason.contains("PRENOM"));
    }

    #[test]
    fn an_eleve_id_given_twice_refuses_the_whole_file() {
        // Even when the first record is itself rejected: which one is the pupil is unknown.
        for first in [
            "<ELEVE ELEVE_ID=\"2\"><NOM_DE_FAMILLE>A</NOM_DE_FAMILLE><PRENOM>B</PRENOM></ELEVE>",
            "<ELEVE ELEVE_ID=\"2\"><NOM_DE_FAMILLE>A</NOM_DE_FAMILLE></ELEVE>",
        ] {
            let xml = format!(
                "<BEE_ELEVES><DONNEES><ELEVES>\n\
                 <ELEVE ELEVE_ID=\"1\"><NOM_DE_FAMILLE>Z</NOM_DE_FAMILLE><PRENOM>Y</PRENOM></ELEVE>\n\
                 {first}\n\
                 <ELEVE ELEVE_ID=\"2\"><NOM_DE_FAMILLE>C</NOM_DE_FAMILLE><PRENOM>D</PRENOM></ELEVE>\n\
                 </ELEVES></DONNEES></BEE_ELEVES>"
            );
            let e = parse_eleves(xml.as_bytes()).unwrap_err();
            assert_eq!(e.line, 4, "{e}");
            assert_eq!(e.element.as_deref(), Some("ELEVE"));
            assert!(
                e.message.contains("ELEVE_ID 2") && e.message.contains("line"),
                "{e}"
            );
        }
    }

    #[test]
    fn nomenclature_small_and_real() {
        let n = parse_nomenclature(NOMENCLATURE).unwrap();
        assert_eq!(n.regimes.len(), 7);
        assert_eq!(n.regimes["29"].long, "DEMI-PENSIONNAIRE AU TICKET");
        assert_eq!(n.regimes["24"].short, "DP 4 J");
        // A code unknown to this importer, understood from its label.
        assert_eq!(
            classify_regime("77", Some(&n)),
            Some((RegimeKind::Dp { days: 3 }, RegimeSource::Label))
        );
        assert_eq!(
            classify_regime("77", None),
            None,
            "first digit 7 means nothing"
        );

        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/siecle/Nomenclature.xml"
        );
        let Ok(bytes) = std::fs::read(path) else {
            {
                use std::io::Write as _;
                // Past the test runner, which hides what print macros write.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: ../shared/data/siecle/Nomenclature.xml absent"
                );
            }
            return;
        };
        let n = parse_nomenclature(&bytes).unwrap();
        let codes: Vec<&str> = n.regimes.keys().map(String::as_str).collect();
        assert_eq!(
            codes,
            [
                "0", "1", "2", "21", "22", "23", "24", "25", "26", "29", "3", "31", "32", "33",
                "34", "35", "36", "38", "39", "4", "5", "6"
            ]
        );
        assert_eq!(n.regimes["24"].short, "DP 4 J");
        assert_eq!(
            n.regimes["6"].long,
            "DEMI-PENSIONNAIRE HORS L'ETABLISSEMENT"
        );
        // Every real code: the national table and the labels agree.
        for (code, label) in &n.regimes {
            let (kind, source) = classify_regime(code, Some(&n)).unwrap();
            assert_eq!(source, RegimeSource::Known, "{code}");
            let mut only_label = n.clone();
            only_label.regimes = BTreeMap::from([(format!("9{code}"), label.clone())]);
            let from_label = classify_regime(&format!("9{code}"), Some(&only_label));
            assert_eq!(from_label.map(|k| k.0), Some(kind), "{code} {label:?}");
        }
    }

    #[test]
    fn regime_codes() {
        use RegimeKind::*;
        let k = |c: &str| classify_regime(c, None).map(|k| k.0);
        assert_eq!(k("24"), Some(Dp { days: 4 }));
        assert_eq!(k("21"), Some(Dp { days: 1 }));
        assert_eq!(k("26"), Some(Dp { days: 6 }));
        assert_eq!(k("2"), Some(Dp { days: 5 }));
        assert_eq!(k("29"), Some(DpTicket));
        for c in ["3", "31", "36", "5"] {
            assert_eq!(k(c), Some(Interne), "{c}");
        }
        for c in ["0", "1", "4", "6"] {
            assert_eq!(k(c), Some(Externe), "{c}");
        }
        assert_eq!(
            classify_regime("27", None),
            Some((Dp { days: 5 }, RegimeSource::FirstDigit))
        );
        assert_eq!(k(""), None);
    }

    fn guardian<'a>(r: &'a Responsables, id: &str) -> &'a Guardian {
        r.guardians.iter().find(|g| g.id == id).unwrap()
    }

    fn links(g: &Guardian) -> Vec<(&str, bool, u8, bool, &str)> {
        g.children
            .iter()
            .map(|l| {
                (
                    l.eleve_id.as_str(),
                    l.legal,
                    l.rank,
                    l.pays,
                    l.relation.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn guardians_2018_names_addresses_links_and_who_pays() {
        use crate::family::{families, payer_of};
        assert!(
            RESP_2018.contains(&0xBD),
            "the fixture holds œ as ISO-8859-15"
        );
        let r = parse_responsables(RESP_2018).unwrap();
        assert_eq!(r.generation, Generation::From2018);
        // The counts per pupil, as before.
        assert_eq!(
            r.per_pupil["1001"],
            Guardians {
                legal: 2,
                others: 1
            }
        );
        assert_eq!(
            r.per_pupil["1004"],
            Guardians {
                legal: 2,
                others: 0
            }
        );
        assert_eq!(r.per_pupil.len(), 6);
        assert_eq!(r.skipped, 0);

        // In PERSONNE_ID order; 9010 is linked to nobody; 9007 only in RESPONSABLES.
        let ids: Vec<&str> = r.guardians.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "9001", "9002", "9003", "9004", "9005", "9006", "9007", "9008"
            ]
        );
        assert_eq!(r.unlinked, 1);

        let anne = guardian(&r, "9001");
        assert_eq!(
            (
                anne.civility.as_str(),
                anne.last_name.as_str(),
                anne.first_name.as_str()
            ),
            ("MME", "CŒUR", "Anne"),
            "an empty NOM_USAGE is no name"
        );
        assert_eq!(anne.address, ["1 rue du Cœur", "Bâtiment B"]);
        assert_eq!(
            (
                anne.postal_code.as_str(),
                anne.city.as_str(),
                anne.country.as_str()
            ),
            ("31000", "TOULOUSE", ""),
            "France is no country on an envelope"
        );
        assert_eq!(anne.email, "anne.coeur@example.invalid");
        assert_eq!(anne.phone, "0600000001", "the mobile first");
        assert_eq!(links(anne), [("1001", true, 1, true, "10")]);
        assert_eq!(anne.postal_name(), "MME Anne CŒUR");

        let paul = guardian(&r, "9002");
        assert_eq!(paul.phone, "0500000002", "no mobile: the personal phone");
        assert!(
            paul.address.is_empty() && paul.city.is_empty(),
            "ADRESSE_ID 99 is missing"
        );
        assert_eq!(links(paul), [("1001", true, 2, false, "20")]);
        assert_eq!(
            links(guardian(&r, "9003")),
            [("1001", false, 0, false, "90")]
        );
        assert_eq!(guardian(&r, "9003").last_name, "LEBŒUF");

        // NOM_USAGE first; one guardian of two children.
        let helene = guardian(&r, "9005");
        assert_eq!(helene.last_name, "DURAND-BŒUF");
        assert_eq!(helene.first_name, "Hélène");
        assert_eq!(helene.address, ["Chemin des Bœufs", "Lieu-dit La Croix"]);
        assert_eq!(
            links(helene),
            [("1004", true, 2, true, "10"), ("1008", true, 1, true, "10")],
            "rank: the order of each pupil's legal guardians in the file"
        );
        let louis = guardian(&r, "9006");
        assert_eq!(louis.country, "BELGIQUE");
        assert_eq!(
            louis.postal_lines(),
            ["Rue de la Loi 16", "1000 BRUXELLES", "BELGIQUE"]
        );

        // A link to a person not in PERSONNES: kept as far as it is known.
        let unknown = guardian(&r, "9007");
        assert!(unknown.last_name.is_empty() && unknown.address.is_empty());
        assert_eq!(links(unknown), [("1003", true, 1, false, "50")]);

        // Warnings: 9002's address, 9007 not in PERSONNES, 9010 without an address.
        assert_eq!(r.warnings.len(), 3, "{:#?}", r.warnings);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("PERSONNE_ID 9002") && w.contains("ADRESSE_ID 99")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("PERSONNE_ID 9007") && w.contains("not in PERSONNES")),
            "{:?}",
            r.warnings
        );

        // Who pays: PAIE_FRAIS_SCOLAIRES, else the first legal guardian.
        let pays = |e: &str| payer_of(e, &r.guardians).map(|g| g.id.as_str());
        assert_eq!(pays("1001"), Some("9001"));
        assert_eq!(
            pays("1002"),
            Some("9004"),
            "the only legal guardian, a tutor"
        );
        assert_eq!(
            pays("1004"),
            Some("9005"),
            "PAIE_FRAIS_SCOLAIRES over rank 1"
        );
        assert_eq!(pays("1008"), Some("9005"));
        assert_eq!(pays("1005"), None);
        let f = families(
            ["1001", "1002", "1003", "1004", "1005", "1008"],
            &r.guardians,
        );
        assert_eq!(f["9005"], ["1004", "1008"], "two children, one notice");
        assert_eq!(f.values().filter(|c| c.len() > 1).count(), 1);
    }

    #[test]
    fn guardians_before_2018_rank_from_resp_legal() {
        use crate::family::{families, payer_of};
        assert!(
            RESP_2017.contains(&0xBD),
            "the fixture holds œ as ISO-8859-15"
        );
        let r = parse_responsables(RESP_2017).unwrap();
        assert_eq!(r.generation, Generation::Before2018);
        assert_eq!(
            r.per_pupil["1001"],
            Guardians {
                legal: 2,
                others: 0
            }
        );
        assert_eq!(
            r.per_pupil["1003"],
            Guardians {
                legal: 1,
                others: 1
            }
        );
        assert_eq!(r.skipped, 1, "the repeated link");

        let marc = guardian(&r, "8001");
        assert_eq!(marc.last_name, "CÉZANNE", "NOM before 2016");
        assert_eq!(marc.address, ["3 impasse des Cœurs"]);
        assert_eq!(
            links(marc),
            [("1001", true, 1, false, "1"), ("1002", true, 1, false, "1")]
        );
        let chloe = guardian(&r, "8002");
        assert_eq!(chloe.last_name, "BŒUF");
        assert_eq!(chloe.email, "chloe.boeuf@example.invalid");
        assert_eq!(
            links(chloe),
            [("1001", true, 2, false, "2"), ("1002", true, 2, false, "2")]
        );
        let yves = guardian(&r, "8003");
        assert_eq!(
            (yves.last_name.as_str(), yves.city.as_str()),
            ("ŒUVRAY", "VILLEFRANCHE-DE-LAURAGAIS")
        );
        assert_eq!(yves.address, ["La Bœuferie", "BP 12"]);
        assert_eq!(
            links(guardian(&r, "8004")),
            [("1003", false, 0, false, "4")]
        );
        assert_eq!(r.warnings.len(), 1, "8004 has no address: {:?}", r.warnings);
        assert!(r.warnings[0].contains("PERSONNE_ID 8004"));

        // No PAIE_FRAIS_SCOLAIRES before 2018: the first legal guardian pays.
        assert_eq!(payer_of("1002", &r.guardians).unwrap().id, "8001");
        assert_eq!(payer_of("1003", &r.guardians).unwrap().id, "8003");
        let f = families(["1001", "1002", "1003"], &r.guardians);
        assert_eq!(f["8001"], ["1001", "1002"]);
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn guardians_in_utf8_and_in_any_order_read_the_same() {
        let reference = parse_responsables(RESP_2018).unwrap();
        let (text, _) = decode(RESP_2018).unwrap();
        let utf8 = text.replace("ISO-8859-15", "UTF-8");
        assert_eq!(
            parse_responsables(utf8.as_bytes()).unwrap().guardians,
            reference.guardians
        );
        // Addresses first, then persons, then links.
        let section = |name: &str| {
            let from = utf8.find(&format!("<{name}>")).unwrap();
            let to = utf8.find(&format!("</{name}>")).unwrap() + name.len() + 3;
            utf8[from..to].to_owned()
        };
        let swapped = format!(
            "<BEE_RESPONSABLES><DONNEES>{}{}{}</DONNEES></BEE_RESPONSABLES>",
            section("ADRESSES"),
            section("PERSONNES"),
            section("RESPONSABLES")
        );
        let r = parse_responsables(swapped.as_bytes()).unwrap();
        assert_eq!(r.guardians, reference.guardians);
        assert_eq!(r.per_pupil, reference.per_pupil);
    }

    #[test]
    fn bad_guardians_files_name_the_element_and_line() {
        let (text, _) = decode(RESP_2018).unwrap();
        let broken = text.replacen("</PRENOM>", "</PRENON>", 1);
        let e = parse_responsables(broken.as_bytes()).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("PRENOM"));
        assert_eq!(e.line, 54, "{e}");
        let end = "</LIGNE1_ADRESSE>";
        let cut = &text[..text.find(end).unwrap() + end.len()];
        let e = parse_responsables(cut.as_bytes()).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("ADRESSE"));
        assert!(e.message.contains("truncated"), "{e}");
        let e = parse_responsables(ELEVES).unwrap_err();
        assert!(e.message.contains("expected <BEE_RESPONSABLES>"), "{e}");
        // One person under two records: which one is the guardian?
        let twice = text.replacen("PERSONNE_ID=\"9002\"", "PERSONNE_ID=\"9001\"", 1);
        let e = parse_responsables(twice.as_bytes()).unwrap_err();
        assert_eq!(e.element.as_deref(), Some("PERSONNE"));
        assert!(e.message.contains("PERSONNE_ID 9001 is given twice"), "{e}");
        let twice = text.replacen("ADRESSE_ID=\"2\"", "ADRESSE_ID=\"1\"", 1);
        let e = parse_responsables(twice.as_bytes()).unwrap_err();
        assert!(e.message.contains("ADRESSE_ID 1 is given twice"), "{e}");
    }

    #[test]
    fn never_panics_on_cut_or_mutated_files() {
        let mut x: u64 = 0x5EC1_E000_0000_0001;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..ELEVES.len() {
            let _ = parse_eleves(&ELEVES[..i]);
        }
        for i in 0..RESP_2018.len() {
            let _ = parse_responsables(&RESP_2018[..i]);
        }
        for _ in 0..3000 {
            let mut v = ELEVES.to_vec();
            for _ in 0..=next() % 4 {
                let at = (next() as usize) % v.len();
                v[at] = (next() & 0xff) as u8;
            }
            if let Err(e) = parse_eleves(&v) {
                assert!(e.line >= 1 && e.line <= v.iter().filter(|b| **b == b'\n').count() + 1);
            }
            let mut v = RESP_2018.to_vec();
            for _ in 0..=next() % 4 {
                let at = (next() as usize) % v.len();
                v[at] = (next() & 0xff) as u8;
            }
            if let Err(e) = parse_responsables(&v) {
                assert!(e.line >= 1 && e.line <= v.iter().filter(|b| **b == b'\n').count() + 1);
            }
        }
    }
}
