//! The roster CSV file (`selfgate import roster FILE.csv`): people who are not in the national
//! pupil base (staff, guests, pupils of private schools). This module only reads and checks the
//! file; applying it to the roster (match by `identifiant`, revoke replaced badges, opening
//! balance on creation only) is the daemon's job. The format is documented for the bursar in
//! `docs/roster-csv.md`.
//!
//! The parse is all or nothing: [`parse_roster`] returns every row, or every error it found
//! (not just the first), each with its physical line number, so the file can be fixed in one go.
//! It never panics, whatever the bytes.

use std::collections::HashMap;

use crate::model::{self, BadgeNumber, Category, ParseError, Regime, WeekdaySet};

/// The canonical header line, in the canonical column order.
pub const HEADER: &str =
    "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial";

/// Longest accepted `identifiant`, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest accepted `nom` or `prenom`, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest accepted `classe`, in characters.
pub const MAX_CLASS_CHARS: usize = 32;

/// One person of the file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    /// 1-based physical line number in the file (where the row starts, if a quoted field spans
    /// several lines).
    pub line: usize,
    pub external_id: String,
    pub last_name: String,
    pub first_name: String,
    /// May be empty.
    pub class: String,
    pub category: Category,
    pub regime: Regime,
    /// Empty: no forfait (the person pays per meal from a ticket balance).
    pub forfait_days: WeekdaySet,
    pub badge: Option<BadgeNumber>,
    pub opening_balance_cents: Option<i64>,
    /// The tariff tier's code (`tranche`); none: the category's price.
    pub tier: Option<String>,
    /// Which optional columns the file has: an absent column says nothing of its field (a
    /// re-import leaves it as it is), where an empty value in a present column clears it.
    pub has: OptionalColumns,
}

/// The optional columns present in a file's header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionalColumns {
    pub class: bool,
    pub regime: bool,
    pub forfait_days: bool,
    pub tier: bool,
}

/// A problem in the file. `column` is the column's name as written in the file's header (or
/// the canonical name of a missing column); `None` when the problem is the whole line or file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "line {line}{}: {message}",
    .column.as_deref().map_or(String::new(), |c| format!(", column {c}"))
)]
pub struct RowError {
    pub line: usize,
    pub column: Option<String>,
    pub message: String,
}

impl RowError {
    fn new(line: usize, column: Option<&str>, message: impl Into<String>) -> Self {
        RowError {
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// Reads a roster file. See the module documentation and `docs/roster-csv.md`.
///
/// `Ok` holds at least one row, in file order; `Err` holds at least one error, sorted by line.
pub fn parse_roster(input: &[u8]) -> Result<Vec<RosterRow>, Vec<RowError>> {
    let text = decode(input).map_err(|e| vec![e])?;
    let lines = LineIndex::new(&text);
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());

    let mut header: Option<Header> = None;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = Seen::default();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Not expected (the input is a valid UTF-8 string in memory), but never panic.
                let line = e
                    .position()
                    .map_or(lines.count(), |p| lines.line_at(&text, p.byte()));
                errors.push(RowError::new(line, None, format!("unreadable CSV: {e}")));
                break;
            }
        }
        // `Position::line()` lags behind on CRLF files and after blank lines, so the line is
        // computed from the byte offset where the record starts.
        let line = record
            .position()
            .map_or(lines.count(), |p| lines.line_at(&text, p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank line, or only separators (Excel leaves such lines at the end)
        }
        match &header {
            None => match Header::parse(&record, line) {
                Ok(h) => header = Some(h),
                Err(errs) => return Err(errs),
            },
            Some(h) => {
                if let Some(row) = parse_row(h, &record, line, &mut seen, &mut errors) {
                    rows.push(row);
                }
            }
        }
    }

    seen.duplicates(header.as_ref(), &mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    match header {
        None => Err(vec![RowError::new(
            1,
            None,
            format!(
                "no rows: the file is empty (expected a header line such as `{HEADER}`, then one line per person)"
            ),
        )]),
        Some(h) if rows.is_empty() => Err(vec![RowError::new(
            h.line,
            None,
            "no rows: the file has a header line but no person",
        )]),
        Some(_) => Ok(rows),
    }
}

// ---------------------------------------------------------------------------------------------
// Columns and header

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Id,
    LastName,
    FirstName,
    Class,
    Category,
    Regime,
    ForfaitDays,
    Badge,
    Balance,
    Tier,
}

impl Col {
    const ALL: [Col; 10] = [
        Col::Id,
        Col::LastName,
        Col::FirstName,
        Col::Class,
        Col::Category,
        Col::Regime,
        Col::ForfaitDays,
        Col::Badge,
        Col::Balance,
        Col::Tier,
    ];

    fn name(self) -> &'static str {
        match self {
            Col::Id => "identifiant",
            Col::LastName => "nom",
            Col::FirstName => "prenom",
            Col::Class => "classe",
            Col::Category => "categorie",
            Col::Regime => "regime",
            Col::ForfaitDays => "jours_forfait",
            Col::Badge => "badge",
            Col::Balance => "solde_initial",
            Col::Tier => "tranche",
        }
    }

    /// Other names accepted in the header. Matching ignores case, accents, spaces and
    /// punctuation, so `last_name` also stands for `Last Name` and `LASTNAME`.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Col::Id => &[
                "id",
                "identifier",
                "external_id",
                "identifiant_externe",
                "matricule",
            ],
            Col::LastName => &[
                "last_name",
                "surname",
                "family_name",
                "nom_de_famille",
                "nom_d_usage",
            ],
            Col::FirstName => &["first_name", "given_name", "prenoms"],
            Col::Class => &["class", "division", "div"],
            Col::Category => &["category", "cat", "type_convive"],
            Col::Regime => &["regime_scolaire"],
            Col::ForfaitDays => &["forfait", "forfait_days", "jours", "days", "jours_repas"],
            Col::Badge => &[
                "credential",
                "carte",
                "card",
                "numero_badge",
                "badge_number",
                "numero_carte",
                "card_number",
            ],
            Col::Balance => &["solde", "balance", "opening_balance", "initial_balance"],
            Col::Tier => &["tier", "tranche_qf", "quotient_familial", "qf"],
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Col::Id | Col::LastName | Col::FirstName | Col::Category
        )
    }

    /// `key` comes from [`header_key`]; names and aliases are ASCII, so comparing their ASCII
    /// letters and digits, lower-cased, is enough (and allocates nothing).
    fn matches(self, key: &str) -> bool {
        let same = |name: &str| {
            name.bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| b.to_ascii_lowercase())
                .eq(key.bytes())
        };
        same(self.name()) || self.aliases().iter().any(|a| same(a))
    }
}

/// Lower case, no accents, only ASCII letters and digits: `Prénom ` → `prenom`,
/// `Jours forfait` → `joursforfait`.
fn header_key(s: &str) -> String {
    model::fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn accepted_columns() -> String {
    Col::ALL
        .iter()
        .map(|c| {
            let req = if c.required() { ", required" } else { "" };
            format!("{} (or {}{req})", c.name(), c.aliases().join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

struct Header {
    line: usize,
    /// For each field position: the column, or `None` for a column with an empty header cell.
    cols: Vec<Option<Col>>,
    /// The header cells as written (trimmed).
    names: Vec<String>,
    /// Where each column is, indexed like `Col::ALL`.
    index: [Option<usize>; 10],
}

impl Header {
    fn parse(record: &csv::StringRecord, line: usize) -> Result<Header, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut cols = Vec::with_capacity(record.len());
        let mut names = Vec::with_capacity(record.len());
        let mut index = [None; 10];
        let mut unknown = Vec::new();
        for (pos, cell) in record.iter().enumerate() {
            let cell = cell.trim();
            names.push(cell.to_owned());
            if cell.is_empty() {
                cols.push(None);
                continue;
            }
            let key = header_key(cell);
            let Some(i) = Col::ALL
                .iter()
                .position(|c| !key.is_empty() && c.matches(&key))
            else {
                unknown.push(cell);
                cols.push(None);
                continue;
            };
            let col = Col::ALL[i];
            if let Some(first) = index[i] {
                errors.push(RowError::new(
                    line,
                    Some(cell),
                    format!(
                        "column {} appears twice in the header (fields {} and {})",
                        col.name(),
                        first + 1,
                        pos + 1
                    ),
                ));
            } else {
                index[i] = Some(pos);
            }
            cols.push(Some(col));
        }

        if index.iter().all(Option::is_none) {
            return Err(vec![RowError::new(
                line,
                None,
                format!(
                    "the first line is not a header: expected column names such as `{HEADER}` \
                     (separated by `;`, `,` or tabs)"
                ),
            )]);
        }
        for cell in unknown {
            errors.push(RowError::new(
                line,
                Some(cell),
                format!(
                    "unknown column `{cell}`; accepted columns: {}",
                    accepted_columns()
                ),
            ));
        }
        for (i, col) in Col::ALL.iter().enumerate() {
            if col.required() && index[i].is_none() {
                errors.push(RowError::new(
                    line,
                    Some(col.name()),
                    format!(
                        "required column {} is missing from the header (also accepted: {})",
                        col.name(),
                        col.aliases().join(", ")
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Header {
                line,
                cols,
                names,
                index,
            })
        } else {
            Err(errors)
        }
    }

    fn position(&self, col: Col) -> Option<usize> {
        Col::ALL
            .iter()
            .position(|c| *c == col)
            .and_then(|i| self.index[i])
    }

    /// The column's name as the file writes it.
    fn label(&self, col: Col) -> &str {
        self.position(col)
            .and_then(|p| self.names.get(p))
            .map_or(col.name(), String::as_str)
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

/// Identifiers and badges seen so far, with their lines, for the cross-row checks.
#[derive(Default)]
struct Seen {
    ids: HashMap<String, Vec<usize>>,
    id_order: Vec<String>,
    badges: HashMap<BadgeNumber, Vec<usize>>,
    badge_order: Vec<BadgeNumber>,
}

impl Seen {
    fn id(&mut self, id: &str, line: usize) {
        let lines = self.ids.entry(id.to_owned()).or_default();
        if lines.is_empty() {
            self.id_order.push(id.to_owned());
        }
        lines.push(line);
    }

    fn badge(&mut self, badge: &BadgeNumber, line: usize) {
        let lines = self.badges.entry(badge.clone()).or_default();
        if lines.is_empty() {
            self.badge_order.push(badge.clone());
        }
        lines.push(line);
    }

    fn duplicates(&self, header: Option<&Header>, errors: &mut Vec<RowError>) {
        let Some(header) = header else { return };
        let id_col = header.label(Col::Id);
        for id in &self.id_order {
            let Some(lines) = self.ids.get(id) else {
                continue;
            };
            if let [first, rest @ ..] = lines.as_slice() {
                if rest.is_empty() {
                    continue;
                }
                errors.push(RowError::new(
                    *first,
                    Some(id_col),
                    format!(
                        "identifiant `{id}` is used again on line {}",
                        join_lines(rest)
                    ),
                ));
                for line in rest {
                    errors.push(RowError::new(
                        *line,
                        Some(id_col),
                        format!("identifiant `{id}` is already used on line {first}"),
                    ));
                }
            }
        }
        let badge_col = header.label(Col::Badge);
        for badge in &self.badge_order {
            let Some(lines) = self.badges.get(badge) else {
                continue;
            };
            if let [first, rest @ ..] = lines.as_slice() {
                if rest.is_empty() {
                    continue;
                }
                errors.push(RowError::new(
                    *first,
                    Some(badge_col),
                    format!(
                        "badge {badge} is also given on line {} (a badge belongs to one person)",
                        join_lines(rest)
                    ),
                ));
                for line in rest {
                    errors.push(RowError::new(
                        *line,
                        Some(badge_col),
                        format!(
                            "badge {badge} is already given on line {first} (a badge belongs to one person)"
                        ),
                    ));
                }
            }
        }
    }
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one data row. Pushes its errors; returns the row only when it has none.
/// Identifiers and badges that are readable are recorded in `seen` even when another field of
/// the row is wrong, so that duplicates are reported in the same pass.
fn parse_row(
    header: &Header,
    record: &csv::StringRecord,
    line: usize,
    seen: &mut Seen,
    errors: &mut Vec<RowError>,
) -> Option<RosterRow> {
    if record.len() != header.cols.len() {
        let spans_lines = record.iter().any(|f| f.contains('\n'));
        let hint = if spans_lines {
            " (a field runs over several lines: check for a missing closing quote `\"`)"
        } else if record.len() > header.cols.len() {
            " (a value containing the separator must be put in double quotes)"
        } else {
            ""
        };
        errors.push(RowError::new(
            line,
            None,
            format!(
                "expected {} fields as in the header (line {}), found {}{hint}",
                header.cols.len(),
                header.line,
                record.len()
            ),
        ));
        return None;
    }
    let before = errors.len();

    for (pos, col) in header.cols.iter().enumerate() {
        if col.is_none() && record.get(pos).is_some_and(|v| !v.trim().is_empty()) {
            let column = (pos + 1).to_string();
            errors.push(RowError::new(
                line,
                Some(column.as_str()),
                "a value in a column whose header is empty: name the column or clear it",
            ));
        }
    }

    let value = |col: Col| -> &str {
        header
            .position(col)
            .and_then(|p| record.get(p))
            .map_or("", str::trim)
    };
    let mut err = |col: Col, message: String| {
        errors.push(RowError::new(line, Some(header.label(col)), message));
    };

    let external_id = text_field(value(Col::Id), MAX_ID_CHARS, "an identifiant");
    let last_name = text_field(value(Col::LastName), MAX_NAME_CHARS, "a last name");
    let first_name = text_field(value(Col::FirstName), MAX_NAME_CHARS, "a first name");
    let class = text_field(value(Col::Class), MAX_CLASS_CHARS, "a class");
    let category = required(value(Col::Category))
        .and_then(|v| v.parse::<Category>().map_err(|e| bad("category", &e)));
    let regime = value(Col::Regime)
        .parse::<Regime>()
        .map_err(|e| bad("régime", &e));
    let forfait_days = value(Col::ForfaitDays)
        .parse::<WeekdaySet>()
        .map_err(|e| bad("forfait days", &e));
    let badge = optional(value(Col::Badge))
        .map(|v| {
            v.parse::<BadgeNumber>()
                .map_err(|e| bad("badge number", &e))
        })
        .transpose();
    let balance = optional(value(Col::Balance))
        .map(|v| model::parse_euros(v).map_err(|e| bad("amount", &e)))
        .transpose();
    let tier = optional(value(Col::Tier))
        .map(|v| {
            if v.len() <= 12 && v.chars().all(|c| c.is_ascii_alphanumeric()) {
                Ok(v.to_owned())
            } else {
                Err(format!(
                    "invalid tier `{v}`: a tier's code, 1 to 12 letters or digits"
                ))
            }
        })
        .transpose();

    let external_id = match external_id {
        Ok(id) if id.is_empty() => {
            err(Col::Id, MISSING.to_owned());
            None
        }
        Ok(id) => {
            seen.id(&id, line);
            Some(id)
        }
        Err(m) => {
            err(Col::Id, m);
            None
        }
    };
    let last_name = nonempty(last_name).map_err(|m| err(Col::LastName, m)).ok();
    let first_name = nonempty(first_name)
        .map_err(|m| err(Col::FirstName, m))
        .ok();
    let class = class.map_err(|m| err(Col::Class, m)).ok();
    let category = category.map_err(|m| err(Col::Category, m)).ok();
    let regime = match (regime, category) {
        (Ok(r), Some(c)) if c != Category::Eleve && r != Regime::Externe => {
            err(
                Col::Regime,
                format!(
                    "régime {} is only for pupils (categorie eleve); a {} must be externe \
                     (or leave the régime empty)",
                    r.code(),
                    c.code()
                ),
            );
            None
        }
        (Ok(r), _) => Some(r),
        (Err(m), _) => {
            err(Col::Regime, m);
            None
        }
    };
    let forfait_days = forfait_days.map_err(|m| err(Col::ForfaitDays, m)).ok();
    let badge = match badge {
        Ok(b) => {
            if let Some(b) = &b {
                seen.badge(b, line);
            }
            Some(b)
        }
        Err(m) => {
            err(Col::Badge, m);
            None
        }
    };
    let balance = balance.map_err(|m| err(Col::Balance, m)).ok();
    let tier = tier.map_err(|m| err(Col::Tier, m)).ok();

    if errors.len() != before {
        return None;
    }
    Some(RosterRow {
        line,
        external_id: external_id?,
        last_name: last_name?,
        first_name: first_name?,
        class: class?,
        category: category?,
        regime: regime?,
        forfait_days: forfait_days?,
        badge: badge?,
        opening_balance_cents: balance?,
        tier: tier?,
        has: OptionalColumns {
            class: header.position(Col::Class).is_some(),
            regime: header.position(Col::Regime).is_some(),
            forfait_days: header.position(Col::ForfaitDays).is_some(),
            tier: header.position(Col::Tier).is_some(),
        },
    })
}

const MISSING: &str = "missing value (this column is required)";

fn bad(what: &str, e: &ParseError) -> String {
    format!("invalid {what} `{}`: {}", e.value, e.expected)
}

fn required(v: &str) -> Result<&str, String> {
    if v.is_empty() {
        Err(MISSING.to_owned())
    } else {
        Ok(v)
    }
}

fn optional(v: &str) -> Option<&str> {
    if v.is_empty() { None } else { Some(v) }
}

fn nonempty(r: Result<String, String>) -> Result<String, String> {
    match r {
        Ok(s) if s.is_empty() => Err(MISSING.to_owned()),
        other => other,
    }
}

/// A free-text field: inner runs of white space (line breaks included) become one space;
/// other control characters are refused, as are over-long values.
fn text_field(v: &str, max: usize, what: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut pending_space = false;
    for c in v.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if c.is_control() {
            return Err(format!(
                "{what} cannot contain the control character U+{:04X} (is the file really text?)",
                u32::from(c)
            ));
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    let n = out.chars().count();
    if n > max {
        return Err(format!(
            "{what} of {n} characters is too long (at most {max})"
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Lines, separator, encoding

/// Byte offsets of the line feeds of the text, to turn a byte offset into a line number.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// Number of physical lines (a last line without a line feed counts).
    fn count(&self) -> usize {
        self.newlines.len() + 1
    }

    /// The 1-based line of the first byte of a record that the reader says starts at `byte`:
    /// the reader's offset may still be before the terminator of the previous record and the
    /// empty lines it skipped, so those are stepped over first.
    fn line_at(&self, text: &str, byte: u64) -> usize {
        let bytes = text.as_bytes();
        let mut b = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        while b < bytes.len() && matches!(bytes[b], b'\r' | b'\n') {
            b += 1;
        }
        self.newlines.partition_point(|&nl| nl < b) + 1
    }
}

/// The separator of the file: the most frequent of `;`, tab and `,` outside quotes on the first
/// line that holds something; `;` on a tie or when there is none.
fn detect_delimiter(text: &str) -> u8 {
    for line in text.lines() {
        if line
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, ';' | ','))
        {
            continue;
        }
        let (mut semi, mut tab, mut comma) = (0usize, 0usize, 0usize);
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ';' if !quoted => semi += 1,
                '\t' if !quoted => tab += 1,
                ',' if !quoted => comma += 1,
                _ => {}
            }
        }
        return if semi >= tab && semi >= comma {
            b';'
        } else if tab >= comma {
            b'\t'
        } else {
            b','
        };
    }
    b';'
}

/// UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252.
fn decode(input: &[u8]) -> Result<String, RowError> {
    if let Some(rest) = input.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest).map(str::to_owned).map_err(|e| {
            let good = rest.get(..e.valid_up_to()).unwrap_or_default();
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            RowError::new(
                line,
                None,
                "the file says it is UTF-8 (it starts with a byte order mark) but holds bytes that \
                 are not UTF-8 here: save it again as \"CSV UTF-8\"",
            )
        });
    }
    if let Some(rest) = input.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = input.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    match std::str::from_utf8(input) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Ok(windows_1252(input)),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, RowError> {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    let mut line = 1;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                if c == '\n' {
                    line += 1;
                }
                out.push(c);
            }
            Err(_) => {
                return Err(RowError::new(
                    line,
                    None,
                    "the file says it is UTF-16 (byte order mark) but is not valid UTF-16 here",
                ));
            }
        }
    }
    if bytes.len() % 2 != 0 {
        return Err(RowError::new(
            line,
            None,
            "the file says it is UTF-16 but has an odd number of bytes",
        ));
    }
    Ok(out)
}

/// Windows-1252 ("ANSI", what Excel saves in French): Latin-1 with printable characters in
/// 0x80–0x9F (0x80 is €, 0x9C is œ). The five undefined bytes map to the C1 control of the same
/// value, as the WHATWG encoding standard does; text fields refuse them later.
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const DEMO: &[u8] = include_bytes!("../../../tests/fixtures/roster-demo.csv");

    fn ok(input: &str) -> Vec<RosterRow> {
        match parse_roster(input.as_bytes()) {
            Ok(rows) => rows,
            Err(errs) => panic!("unexpected errors: {errs:#?}"),
        }
    }

    fn errs(input: &[u8]) -> Vec<RowError> {
        match parse_roster(input) {
            Ok(rows) => panic!("unexpected success: {rows:#?}"),
            Err(errs) => errs,
        }
    }

    #[test]
    fn demo_fixture_parses_cleanly() {
        let rows = match parse_roster(DEMO) {
            Ok(rows) => rows,
            Err(errs) => panic!(
                "{}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        assert_eq!(rows.len(), 12);
        assert!(rows.windows(2).all(|w| w[0].line < w[1].line));
        assert!(rows.iter().any(|r| r.category == Category::Commensal));
        assert!(rows.iter().any(|r| r.category == Category::Hote));
        assert!(rows.iter().any(|r| r.regime == Regime::Interne));
        assert!(rows.iter().any(|r| r.forfait_days == WeekdaySet::DP4));
        assert!(
            rows.iter().any(|r| r.first_name.contains(';')),
            "the quoted field with a semicolon"
        );
        let ids: std::collections::HashSet<_> = rows.iter().map(|r| &r.external_id).collect();
        assert_eq!(ids.len(), rows.len());
    }

    #[test]
    fn canonical_header_and_values() {
        let input = format!(
            "{HEADER}\nE001;Martin;Léa;6A;eleve;dp;lun mar jeu ven;04-00a1:b2c3;12,50\n\
             P001;Durand;Paul;;commensal;;;;-3,20\n"
        );
        let rows = ok(&input);
        assert_eq!(rows.len(), 2);
        let lea = &rows[0];
        assert_eq!(lea.line, 2);
        assert_eq!(lea.external_id, "E001");
        assert_eq!(
            (
                lea.last_name.as_str(),
                lea.first_name.as_str(),
                lea.class.as_str()
            ),
            ("Martin", "Léa", "6A")
        );
        assert_eq!(lea.category, Category::Eleve);
        assert_eq!(lea.regime, Regime::DemiPensionnaire);
        assert_eq!(lea.forfait_days, WeekdaySet::DP4);
        assert_eq!(
            lea.badge.as_ref().map(BadgeNumber::as_str),
            Some("0400A1B2C3")
        );
        assert_eq!(lea.opening_balance_cents, Some(1250));
        let paul = &rows[1];
        assert_eq!(paul.regime, Regime::Externe);
        assert!(paul.forfait_days.is_empty());
        assert_eq!(paul.badge, None);
        assert_eq!(paul.opening_balance_cents, Some(-320));
        assert_eq!(paul.class, "");
    }

    #[test]
    fn header_aliases_order_case_accents_and_comma_separator() {
        let rows = ok(
            "Carte,Prénom,LAST_NAME,Id,Category,Régime,Forfait,Division,Balance\n\
                       AB12,Zoé,Petit,X1,élève,Interne,\"1,2,3,4,5\",2NDE 3,\"7,00\"\n",
        );
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.external_id, "X1");
        assert_eq!(r.last_name, "Petit");
        assert_eq!(r.first_name, "Zoé");
        assert_eq!(r.class, "2NDE 3");
        assert_eq!(r.regime, Regime::Interne);
        assert_eq!(r.forfait_days, WeekdaySet::SCHOOL_WEEK);
        assert_eq!(r.badge.as_ref().map(BadgeNumber::as_str), Some("AB12"));
        assert_eq!(r.opening_balance_cents, Some(700));
    }

    #[test]
    fn tab_separator_and_only_required_columns() {
        let rows = ok("identifier\tnom\tfirst name\tcategorie\nG1\tInvité\tJean\thote\n");
        assert_eq!(rows[0].category, Category::Hote);
        assert_eq!(rows[0].regime, Regime::Externe);
        assert_eq!(rows[0].badge, None);
        assert_eq!(rows[0].opening_balance_cents, None);
    }

    #[test]
    fn bom_crlf_blank_lines_and_windows_1252() {
        let utf8 =
            "\u{FEFF}identifiant;nom;prenom;categorie\r\n\r\n1;Lefèvre;Gaëlle;eleve\r\n;;;\r\n";
        let rows = ok(utf8);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[0].last_name, "Lefèvre");

        // "Cœur" and "Hélène" as Excel saves them in French (Windows-1252), and a euro sign.
        let mut cp1252 = b"identifiant;nom;prenom;categorie;solde\r\n1;C".to_vec();
        cp1252.extend_from_slice(&[0x9C]);
        cp1252.extend_from_slice(b"ur;H");
        cp1252.extend_from_slice(&[0xE9]);
        cp1252.extend_from_slice(b"l");
        cp1252.extend_from_slice(&[0xE8]);
        cp1252.extend_from_slice(b"ne;commensal;5,00 ");
        cp1252.extend_from_slice(&[0x80]);
        cp1252.extend_from_slice(b"\r\n");
        let rows = parse_roster(&cp1252).unwrap();
        assert_eq!(rows[0].last_name, "Cœur");
        assert_eq!(rows[0].first_name, "Hélène");
        assert_eq!(rows[0].opening_balance_cents, Some(500));
    }

    #[test]
    fn utf16_with_bom_is_read() {
        let text = "identifiant\tnom\tprenom\tcategorie\r\nA\tÉlie\tNoé\televe\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let rows = parse_roster(&bytes).unwrap();
        assert_eq!(rows[0].last_name, "Élie");
        assert_eq!(rows[0].line, 2);
    }

    #[test]
    fn bom_with_invalid_utf8_is_refused_with_its_line() {
        let e = errs(b"\xEF\xBB\xBFidentifiant;nom;prenom;categorie\n1;L\xE9a;X;eleve\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 2);
    }

    #[test]
    fn quoted_fields_and_physical_line_numbers() {
        let input = "identifiant;nom;prenom;categorie;classe\r\n\
                     1;\"Dupont; dit \"\"Le Grand\"\"\";Jean;commensal;\r\n\
                     2;\"Sur deux\r\nlignes\";Ana;eleve;5B\r\n\
                     \r\n\
                     3;Bad;Row;martien;\r\n";
        let e = errs(input.as_bytes());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 6);
        assert_eq!(e[0].column.as_deref(), Some("categorie"));
        assert!(e[0].message.contains("martien"), "{}", e[0].message);

        let fixed = input.replace("martien", "hote");
        let rows = ok(&fixed);
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 3, 6]
        );
        assert_eq!(rows[0].last_name, "Dupont; dit \"Le Grand\"");
        assert_eq!(rows[1].last_name, "Sur deux lignes");
    }

    #[test]
    fn all_errors_are_collected_with_columns() {
        let input = "identifiant;nom;prenom;categorie;regime;jours_forfait;badge;solde_initial\n\
                     1;;Léa;eleve;dp;lun;B1;0\n\
                     2;Martin;Paul;prof;;;;\n\
                     3;Roux;Ana;eleve;semi;lun funday;12;DROP;3\n\
                     4;Blanc;Eva;eleve;dp;lun funday;B#1;abc\n\
                     5;Noir;Tom;commensal;interne;;;\n\
                     6;Gris;Luc;eleve\n";
        let e = errs(input.as_bytes());
        let got: Vec<(usize, Option<&str>)> =
            e.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (2, Some("nom")),
                (3, Some("categorie")),
                (4, None),
                (5, Some("jours_forfait")),
                (5, Some("badge")),
                (5, Some("solde_initial")),
                (6, Some("regime")),
                (7, None),
            ],
            "{e:#?}"
        );
        assert!(e[0].message.contains("missing"));
        assert!(
            e[2].message.contains("expected 8 fields"),
            "{}",
            e[2].message
        );
        assert!(e[2].message.contains("double quotes"), "{}", e[2].message);
        assert!(e[6].message.contains("only for pupils"), "{}", e[6].message);
        assert_eq!(
            e[1].to_string(),
            format!("line 3, column categorie: {}", e[1].message)
        );
        assert_eq!(e[2].to_string(), format!("line 4: {}", e[2].message));
    }

    #[test]
    fn a_blank_identifiant_is_missing() {
        let e = errs(b"identifiant;nom;prenom;categorie\n   ;Martin;L\xc3\xa9a;eleve\n");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(
            (e[0].line, e[0].column.as_deref()),
            (2, Some("identifiant"))
        );
        assert!(e[0].message.contains("missing"), "{}", e[0].message);
    }

    #[test]
    fn the_separator_seen_most_often_outside_quotes_is_the_delimiter() {
        assert_eq!(detect_delimiter("a;b;c,d\n"), b';');
        assert_eq!(detect_delimiter("a;b,c,d\n"), b',');
        assert_eq!(detect_delimiter("a\tb\tc;d\n"), b'\t');
        assert_eq!(detect_delimiter("a\tb\tc,d;e\n"), b'\t');
        // Tabs inside quotes count no more than the other separators do.
        assert_eq!(detect_delimiter("\"a\tb\tc\";x\n"), b';');
        assert_eq!(detect_delimiter("\"a\tb\tc\",x\n"), b',');
    }

    #[test]
    fn separators_inside_quotes_do_not_choose_the_delimiter() {
        // Three commas inside quotes, two semicolons outside: `;`.
        assert_eq!(detect_delimiter("\"a,b,c,d\";x;y\n"), b';');
        assert_eq!(detect_delimiter("\"a;b;c;d\",x,y\n"), b',');
        assert_eq!(detect_delimiter("\"a;b;c\"\tx\ty\n"), b'\t');
        // Escaped quotes close nothing: still inside the field.
        assert_eq!(detect_delimiter("\"a \"\"b\"\",c,d,e\";x;y\n"), b';');
        // Only separators on the first lines: skipped, the header decides.
        assert_eq!(detect_delimiter(";;;\n,,\nid,nom,prenom\n"), b',');
        assert_eq!(detect_delimiter(""), b';');
        // Through the parser: a header whose first column is quoted with commas in it.
        let rows = ok(
            "\"identifiant\";nom;prenom;categorie\n\"1,2\";Martin;\"L\u{e9}a, dite Lili\";eleve\n",
        );
        assert_eq!(rows[0].external_id, "1,2");
        assert_eq!(rows[0].first_name, "L\u{e9}a, dite Lili");
    }

    #[test]
    fn duplicate_identifiants_and_badges_report_every_line() {
        let input = "identifiant;nom;prenom;categorie;badge\n\
                     A;Un;Un;eleve;04-00-AA\n\
                     B;Deux;Deux;eleve;0400aa\n\
                     A;Trois;Trois;eleve;\n\
                     A;Quatre;Quatre;prof;\n";
        let e = errs(input.as_bytes());
        let got: Vec<(usize, Option<&str>)> =
            e.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (2, Some("identifiant")),
                (2, Some("badge")),
                (3, Some("badge")),
                (4, Some("identifiant")),
                (5, Some("categorie")),
                (5, Some("identifiant")),
            ],
            "{e:#?}"
        );
        assert!(e[0].message.contains("line 4, 5"), "{}", e[0].message);
        assert!(e[3].message.contains("line 2"), "{}", e[3].message);
        assert!(e[1].message.contains("0400AA") && e[1].message.contains("line 3"));
    }

    #[test]
    fn header_problems() {
        let e = errs(b"identifiant;nom;prenom;categorie;couleur;nom\n1;a;b;eleve;x;y\n");
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(e.iter().all(|e| e.line == 1));
        assert!(e.iter().any(|e| e.column.as_deref() == Some("couleur")
            && e.message.contains("unknown column `couleur`")
            && e.message.contains("identifiant")
            && e.message.contains("solde_initial")));
        assert!(e.iter().any(|e| e.message.contains("twice")));

        let e = errs(b"\n\nid;nom\n1;a\n");
        assert_eq!(e.len(), 2, "{e:#?}");
        assert!(
            e.iter()
                .all(|e| e.line == 3 && e.message.contains("missing from the header"))
        );
        let cols: Vec<_> = e.iter().filter_map(|e| e.column.as_deref()).collect();
        assert_eq!(cols, vec!["prenom", "categorie"]);

        let e = errs(b"E001;Martin;Lea;eleve\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("not a header"), "{}", e[0].message);
    }

    #[test]
    fn empty_and_header_only_files_have_no_rows() {
        for input in [&b""[..], b"\n\r\n  \n", b"\xEF\xBB\xBF", b";;;\n"] {
            let e = errs(input);
            assert_eq!(e.len(), 1);
            assert!(e[0].message.starts_with("no rows"), "{}", e[0].message);
        }
        let e = errs(b"\nidentifiant;nom;prenom;categorie\n;;;\n\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.starts_with("no rows"));
    }

    #[test]
    fn unclosed_quote_is_hinted_and_value_in_unnamed_column_refused() {
        let e = errs(b"identifiant;nom;prenom;categorie\n1;\"Martin;Lea;eleve\n2;Roux;Ana;eleve\n");
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("closing quote"), "{}", e[0].message);

        let rows = ok("identifiant;nom;prenom;categorie;\n1;Roux;Ana;eleve;\n");
        assert_eq!(rows.len(), 1);
        let e = errs(b"identifiant;nom;prenom;categorie;\n1;Roux;Ana;eleve;oups\n");
        assert_eq!(e[0].column.as_deref(), Some("5"));
    }

    #[test]
    fn text_fields_are_cleaned_and_bounded() {
        let rows =
            ok("identifiant;nom;prenom;categorie\n 7 ;\"  De   La\tFontaine \";Jean-Éric;eleve\n");
        assert_eq!(rows[0].external_id, "7");
        assert_eq!(rows[0].last_name, "De La Fontaine");
        let long = "x".repeat(MAX_ID_CHARS + 1);
        let e = errs(format!("identifiant;nom;prenom;categorie\n{long};a;b;eleve\n").as_bytes());
        assert!(e[0].message.contains("too long"));
        let e = errs(b"identifiant;nom;prenom;categorie\n1;a\x01b;c;eleve\n");
        assert!(e[0].message.contains("control character"));
    }

    /// xorshift64*: a tiny deterministic PRNG for the property test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
        fn byte(&mut self) -> u8 {
            const INTERESTING: &[u8] =
                b";;,,\t\"\"\n\n\r \x00\x80\x9c\xc3\xa9\xef\xbb\xbf\xff\xfe-:0159aeAZ";
            if self.below(3) == 0 {
                (self.next() & 0xff) as u8
            } else {
                INTERESTING[self.below(INTERESTING.len())]
            }
        }
    }

    fn check_invariants(input: &[u8]) {
        let max_line = input.iter().filter(|b| **b == b'\n').count() + 1;
        match parse_roster(input) {
            Ok(rows) => {
                assert!(!rows.is_empty());
                assert!(rows.windows(2).all(|w| w[0].line < w[1].line));
                for r in &rows {
                    assert!(r.line >= 1 && r.line <= max_line);
                    assert!(
                        !r.external_id.is_empty()
                            && !r.last_name.is_empty()
                            && !r.first_name.is_empty()
                    );
                    assert!(r.category == Category::Eleve || r.regime == Regime::Externe);
                }
            }
            Err(errs) => {
                assert!(!errs.is_empty());
                assert!(errs.windows(2).all(|w| w[0].line <= w[1].line));
                for e in &errs {
                    assert!(e.line >= 1 && e.line <= max_line, "{e} (max {max_line})");
                    assert!(!e.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn never_panics_on_random_bytes_or_mutated_files() {
        let mut rng = Rng(0x5E1F_6A7E_2025_0001);
        for i in 0..10_000 {
            let input: Vec<u8> = if i % 3 == 0 {
                let len = rng.below(200);
                let mut v: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                if rng.below(4) == 0 {
                    let mut h = HEADER.as_bytes().to_vec();
                    h.push(b'\n');
                    h.append(&mut v);
                    v = h;
                }
                v
            } else {
                let mut v = DEMO.to_vec();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(v.len() + 1);
                    match rng.below(6) {
                        0 if at < v.len() => v[at] = rng.byte(),
                        1 => {
                            let b = rng.byte();
                            v.insert(at, b);
                        }
                        2 => {
                            let end = (at + rng.below(40)).min(v.len());
                            v.drain(at..end);
                        }
                        3 => {
                            let end = (at + rng.below(80)).min(v.len());
                            let chunk = v[at..end].to_vec();
                            let to = rng.below(v.len() + 1);
                            v.splice(to..to, chunk);
                        }
                        4 => v.truncate(at),
                        _ => {
                            for _ in 0..rng.below(8) {
                                let b = rng.byte();
                                let at = rng.below(v.len() + 1);
                                v.insert(at, b);
                            }
                        }
                    }
                }
                v
            };
            check_invariants(&input);
        }
    }
}
