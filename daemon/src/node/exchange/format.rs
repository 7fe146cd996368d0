//! Our PRONOTE exchange format, version 1 (`docs/pronote-exchange.md`): the JSON documents of
//! the three flows, the security key and the HMAC-SHA256 signatures of the HTTPS transport.
//!
//! PRONOTE's own partner format is not public: this one is ours, kept behind the adapter
//! (`super::pronote::PronoteLink`). Everything coming from the other side goes through
//! [`parse_absences`] or [`parse_ack`], which check the whole document before anything is
//! applied and name the line and column at fault. Pure: no I/O here (fuzzed in `tests/fuzz`).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The `format` field of every document.
pub const FORMAT: &str = "selfgate-pronote/1";
/// Largest document we read (a school has a few thousand pupils).
pub const MAX_DOCUMENT: usize = 8 << 20;
/// Longest pupil identifier.
const MAX_ID: usize = 64;

/// Request headers of the HTTPS transport.
pub const HEADER_UAI: &str = "x-selfgate-uai";
pub const HEADER_TIMESTAMP: &str = "x-selfgate-timestamp";
pub const HEADER_SIGNATURE: &str = "x-selfgate-signature";
/// A request or answer signed more than this far from the receiver's clock is refused.
pub const MAX_CLOCK_SKEW_S: i64 = 300;

/// → PRONOTE: the meal days each pupil is registered for, from `from` to `to` inclusive.
/// A pupil not listed has no meal in that period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inscriptions {
    pub format: String,
    pub kind: String,
    pub uai: String,
    pub generated_at: DateTime<Utc>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub services: Vec<ServiceInfo>,
    pub eleves: Vec<PupilMeals>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInfo {
    pub code: String,
    pub libelle: String,
    /// Local time, `HH:MM`.
    pub debut: String,
    pub fin: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PupilMeals {
    /// Our identifier of the pupil (`selfgate pronote export-ids`).
    pub id: String,
    pub nom: String,
    pub prenom: String,
    pub classe: String,
    pub repas: Vec<MealDay>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MealDay {
    pub date: NaiveDate,
    pub services: Vec<String>,
}

/// ← PRONOTE: the pupils absent for one meal as PRONOTE knows it now (the whole list each time:
/// a pupil no longer listed is no longer absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absences {
    pub format: String,
    pub kind: String,
    pub uai: String,
    pub date: NaiveDate,
    pub service: String,
    pub generated_at: DateTime<Utc>,
    pub absents: Vec<Absent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
}

/// → PRONOTE, after a service: the registered pupils who did not come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonVenus {
    pub format: String,
    pub kind: String,
    pub uai: String,
    pub date: NaiveDate,
    pub service: String,
    pub generated_at: DateTime<Utc>,
    /// Pupils registered for this meal.
    pub inscrits: u32,
    pub eleves: Vec<NonVenu>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonVenu {
    pub id: String,
    /// Refused at the gate (or not come) while PRONOTE had them absent.
    pub absent_pronote: bool,
}

/// PRONOTE's answer to a document we sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub format: String,
    pub kind: String,
    /// How many pupils it took.
    pub recus: u64,
}

/// A document from the other side that we refuse, with where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("document illisible, ligne {line}, colonne {column} : {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("document de {0} octets, au-delà de la limite de {MAX_DOCUMENT}")]
    TooLarge(usize),
    #[error("champ `{field}` : {message}")]
    Field { field: String, message: String },
}

fn field(field: impl Into<String>, message: impl Into<String>) -> FormatError {
    FormatError::Field {
        field: field.into(),
        message: message.into(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatError> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(FormatError::TooLarge(bytes.len()));
    }
    serde_json::from_slice(bytes).map_err(|e| FormatError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

fn check_header(format: &str, kind: &str, expected_kind: &str) -> Result<(), FormatError> {
    if format != FORMAT {
        return Err(field("format", format!("`{format}`, attendu `{FORMAT}`")));
    }
    if kind != expected_kind {
        return Err(field(
            "kind",
            format!("`{kind}`, attendu `{expected_kind}`"),
        ));
    }
    Ok(())
}

fn check_id(at: &str, id: &str) -> Result<(), FormatError> {
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(field(
            at,
            format!("identifiant `{}` vide, trop long ou illisible", shown(id)),
        ));
    }
    Ok(())
}

fn shown(s: &str) -> String {
    s.chars().take(MAX_ID).filter(|c| !c.is_control()).collect()
}

/// Reads an absence list and checks it is the one asked for: this school, this day, this
/// service. All or nothing: the first fault refuses the whole document.
pub fn parse_absences(
    bytes: &[u8],
    uai: &str,
    date: NaiveDate,
    service: &str,
) -> Result<Absences, FormatError> {
    let doc: Absences = parse(bytes)?;
    check_header(&doc.format, &doc.kind, "absences")?;
    if !uai.is_empty() && doc.uai != uai {
        return Err(field(
            "uai",
            format!("`{}`, attendu `{uai}`", shown(&doc.uai)),
        ));
    }
    if doc.date != date {
        return Err(field("date", format!("{}, attendu {date}", doc.date)));
    }
    if doc.service != service {
        return Err(field(
            "service",
            format!("`{}`, attendu `{service}`", shown(&doc.service)),
        ));
    }
    for (i, a) in doc.absents.iter().enumerate() {
        check_id(&format!("absents[{i}].id"), &a.id)?;
    }
    Ok(doc)
}

/// Reads PRONOTE's acknowledgement of a document we sent.
pub fn parse_ack(bytes: &[u8]) -> Result<Ack, FormatError> {
    let ack: Ack = parse(bytes)?;
    check_header(&ack.format, &ack.kind, "accuse")?;
    Ok(ack)
}

/// The school's PRONOTE security key (at least 32 bytes), imported with
/// `selfgate pronote import-key`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityKey(Vec<u8>);

impl fmt::Debug for SecurityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecurityKey(…)")
    }
}

impl SecurityKey {
    /// Reads a key file: hexadecimal digits (64 at least, at most 1024), spaces and line breaks
    /// ignored; lines starting with `#` are comments.
    pub fn parse(text: &str) -> Result<SecurityKey, String> {
        let digits: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!(
                "la clé ne contient que des chiffres hexadécimaux (trouvé `{c}`)"
            ));
        }
        if digits.len() % 2 != 0 {
            return Err("nombre impair de chiffres hexadécimaux".into());
        }
        if !(64..=1024).contains(&digits.len()) {
            return Err(format!(
                "{} chiffres hexadécimaux : une clé en a de 64 (32 octets) à 1024",
                digits.len()
            ));
        }
        let bytes = (0..digits.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
            .collect();
        Ok(SecurityKey(bytes))
    }

    /// The key as a key file holds it.
    pub fn to_text(&self) -> String {
        format!("{}\n", hex(&self.0))
    }

    /// HMAC-SHA256 of `message`, in lower-case hex.
    pub fn sign(&self, message: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        hex(ring::hmac::sign(&key, message).as_ref())
    }

    /// Checks a signature in constant time.
    pub fn verify(&self, message: &[u8], signature_hex: &str) -> bool {
        let Some(tag) = unhex(signature_hex.trim()) else {
            return false;
        };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        ring::hmac::verify(&key, message, &tag).is_ok()
    }
}

/// What a request's signature covers: `METHOD \n PATH?QUERY \n TIMESTAMP \n SHA256(body)`.
pub fn request_message(method: &str, path_and_query: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "{method}\n{path_and_query}\n{timestamp}\n{}",
        body_digest(body)
    )
}

/// What an answer's signature covers: `STATUS \n TIMESTAMP \n REQUEST-SIGNATURE \n
/// SHA256(body)`, so an answer cannot be replayed for another request.
pub fn response_message(
    status: u16,
    timestamp: i64,
    request_signature: &str,
    body: &[u8],
) -> String {
    format!(
        "{status}\n{timestamp}\n{request_signature}\n{}",
        body_digest(body)
    )
}

/// SHA-256 of a body, lower-case hex.
pub fn body_digest(body: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, body).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()
    }

    const GOOD: &str = r#"{"format":"selfgate-pronote/1","kind":"absences","uai":"0999999X",
        "date":"2026-11-16","service":"dejeuner","generated_at":"2026-11-16T09:05:00Z",
        "absents":[{"id":"1001","motif":"Maladie"},{"id":"1002"}]}"#;

    #[test]
    fn an_absence_list_is_read_and_checked_against_the_request() {
        let doc = parse_absences(GOOD.as_bytes(), "0999999X", day(), "dejeuner").unwrap();
        let ids: Vec<&str> = doc.absents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["1001", "1002"]);
        let e = parse_absences(GOOD.as_bytes(), "0999999X", day(), "diner").unwrap_err();
        assert!(e.to_string().contains("service"), "{e}");
        let e = parse_absences(GOOD.as_bytes(), "0111111A", day(), "dejeuner").unwrap_err();
        assert!(e.to_string().contains("uai"), "{e}");
    }

    #[test]
    fn truncated_or_garbage_documents_name_line_and_column() {
        let cut = &GOOD[..GOOD.len() - 30];
        match parse_absences(cut.as_bytes(), "", day(), "dejeuner") {
            Err(FormatError::Syntax { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        let e = parse_absences(b"<html>502 Bad Gateway</html>", "", day(), "dejeuner").unwrap_err();
        assert!(
            e.to_string().starts_with("document illisible, ligne 1"),
            "{e}"
        );
        let bad_id = GOOD.replace("\"1002\"", "\"\"");
        let e = parse_absences(bad_id.as_bytes(), "", day(), "dejeuner").unwrap_err();
        assert!(e.to_string().contains("absents[1].id"), "{e}");
        let extra = GOOD.replace("\"absents\"", "\"colour\":1,\"absents\"");
        assert!(parse_absences(extra.as_bytes(), "", day(), "dejeuner").is_err());
    }

    #[test]
    fn keys_sign_and_verify_and_refuse_a_bad_file() {
        let key = SecurityKey::parse(&format!("# clé PRONOTE\n{}\n", "ab".repeat(32))).unwrap();
        let msg = request_message("GET", "/v1/absences?date=2026-11-16", 1_800_000_000, b"");
        let sig = key.sign(msg.as_bytes());
        assert_eq!(sig.len(), 64);
        assert!(key.verify(msg.as_bytes(), &sig));
        assert!(!key.verify(b"other", &sig));
        assert!(!key.verify(msg.as_bytes(), "zz"));
        assert!(SecurityKey::parse("abcd").is_err());
        assert!(SecurityKey::parse(&"g".repeat(64)).is_err());
        assert_eq!(format!("{key:?}"), "SecurityKey(…)");
        assert_eq!(SecurityKey::parse(&key.to_text()).unwrap(), key);
    }
}
