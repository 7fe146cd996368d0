//! A Charlemagne export into rows of cells, whatever its format, told apart by content:
//!
//! - **XLSX** (starts with a zip's `PK\3\4`): the first sheet (`xl/worksheets/sheet1.xml`, else
//!   the first sheet file) with its shared strings; numbers as written (`1234`, `45678`: a date
//!   is a day count there, read by [`crate::charlemagne::eleves`]), booleans `TRUE`/`FALSE`.
//!   A truncated or damaged archive is refused.
//! - **HTML** (starts with `<` once blanks and a BOM are skipped): every `<tr>` of the document
//!   with its `<td>`/`<th>` cells (`colspan` kept as empty cells), tags inside a cell dropped,
//!   `<br>` a space, entities decoded (`&eacute;`, `&#156;` as Windows-1252 does). Encoding: a
//!   UTF-8 BOM, else a declared `charset`, else UTF-8 when the bytes are, else Windows-1252.
//! - **CSV** otherwise: `;` (or a tab or `,` when the header line has more of those), quotes as
//!   Excel writes them; UTF-8 (with or without BOM) when the bytes are, else Windows-1252.
//!
//! Text that is neither (UTF-16 as Excel's "Unicode text", NUL bytes, bytes Windows-1252 does
//! not define) is refused naming the line: the encoding is wrong. Cells are trimmed; blank
//! rows are kept (as rows of empty cells) so that places stay true.

use std::io::Read;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use quick_xml::events::Event;

use super::{Error, Place};

/// What a file was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Html,
    Csv,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Xlsx => "XLSX",
            Format::Html => "HTML",
            Format::Csv => "CSV",
        })
    }
}

/// One row: where it is and its cells, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub place: Place,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell at `i`, empty past the row's end.
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }

    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(String::is_empty)
    }
}

/// A file's rows, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub format: Format,
    /// For a text file, the encoding it was read in (`UTF-8`, `windows-1252`).
    pub encoding: Option<&'static str>,
    pub rows: Vec<Row>,
}

/// Past these, a file is refused rather than read (a school's roster is far smaller).
const MAX_UNZIPPED: u64 = 64 << 20;
const MAX_COLUMNS: usize = 16_384;
const MAX_ROWS: usize = 1_048_576;

/// What the bytes look like.
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        return Format::Xlsx;
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Format::Html,
        _ => Format::Csv,
    }
}

/// The rows of a file, whatever its format.
pub fn read(bytes: &[u8]) -> Result<Table, Error> {
    if bytes.is_empty() {
        return Err(Error::file("the file is empty"));
    }
    match detect(bytes) {
        Format::Xlsx => Ok(Table {
            format: Format::Xlsx,
            encoding: None,
            rows: read_xlsx(bytes)?,
        }),
        Format::Html => {
            let (text, enc) = decode(bytes, declared_charset(bytes))?;
            Ok(Table {
                format: Format::Html,
                encoding: Some(enc.name()),
                rows: read_html(&text)?,
            })
        }
        Format::Csv => {
            let (text, enc) = decode(bytes, None)?;
            Ok(Table {
                format: Format::Csv,
                encoding: Some(enc.name()),
                rows: read_csv(&text)?,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text and its encoding

fn line_at(bytes: &[u8], pos: usize) -> usize {
    bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The text of a CSV or HTML file: a UTF-8 BOM or valid UTF-8 is UTF-8; a declared encoding
/// is honoured when the bytes are not UTF-8; else Windows-1252, refused where it defines no
/// character. UTF-16 and NUL bytes are refused.
pub fn decode(
    bytes: &[u8],
    declared: Option<&'static Encoding>,
) -> Result<(String, &'static Encoding), Error> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(Error::new(
            Some(Place::Line(1)),
            None,
            "the file is UTF-16 text (Excel's \"Unicode text\"), not Windows-1252 nor UTF-8: \
             export it again as CSV (semicolon-separated) or XLSX",
        ));
    }
    if let Some(pos) = bytes.iter().position(|b| *b == 0) {
        return Err(Error::new(
            Some(Place::Line(line_at(bytes, pos))),
            None,
            "a NUL byte: this is not a text file in Windows-1252 nor UTF-8 (UTF-16? a binary \
             file?): export it again as CSV, HTML or XLSX",
        ));
    }
    if let Some(body) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(body) {
            Ok(s) => Ok((s.to_owned(), UTF_8)),
            Err(e) => Err(Error::new(
                Some(Place::Line(line_at(bytes, 3 + e.valid_up_to()))),
                None,
                "invalid UTF-8 in a file that starts with a UTF-8 byte order mark (mixed \
                 encodings: was it edited by hand?); export it again",
            )),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_owned(), UTF_8));
    }
    let enc = match declared {
        Some(e) if e != UTF_8 => e,
        Some(_) => {
            let pos = std::str::from_utf8(bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(Error::new(
                Some(Place::Line(line_at(bytes, pos))),
                None,
                "the file declares UTF-8 but this line is not UTF-8 (Windows-1252?): export it \
                 again",
            ));
        }
        None => WINDOWS_1252,
    };
    if enc == WINDOWS_1252 {
        // The five bytes Windows-1252 leaves undefined: another encoding (or binary).
        if let Some(pos) = bytes
            .iter()
            .position(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
        {
            return Err(Error::new(
                Some(Place::Line(line_at(bytes, pos))),
                None,
                format!(
                    "byte 0x{:02X} is no character in Windows-1252 and the file is not UTF-8: \
                     wrong encoding; export it again as CSV (Windows-1252 or UTF-8)",
                    bytes[pos]
                ),
            ));
        }
    }
    let (text, _, bad) = enc.decode(bytes);
    if bad {
        return Err(Error::file(format!("invalid {} text", enc.name())));
    }
    Ok((text.into_owned(), enc))
}

/// The `charset` an HTML file declares in its first 2 KiB (`<meta charset=…>` or
/// `content="text/html; charset=…"`).
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(2048)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let at = lower.windows(8).position(|w| w == b"charset=")? + 8;
    let rest = &lower[at..];
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let rest = rest.strip_prefix(b"'").unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

// ---------------------------------------------------------------------------------------------
// CSV

fn read_csv(text: &str) -> Result<Vec<Row>, Error> {
    // The csv crate counts a CRLF's lines wrong in its positions: LF only.
    let text = text.replace("\r\n", "\n");
    let first = text.lines().next().unwrap_or("");
    let count = |c: char| first.matches(c).count();
    let delimiter = if count('\t') > count(';') && count('\t') >= count(',') {
        b'\t'
    } else if count(',') > count(';') {
        b','
    } else {
        b';'
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = usize::try_from(reader.position().line()).unwrap_or(usize::MAX);
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e
                    .position()
                    .and_then(|p| usize::try_from(p.line()).ok())
                    .unwrap_or(line);
                return Err(Error::new(
                    Some(Place::Line(line)),
                    None,
                    format!("unreadable CSV: {e}"),
                ));
            }
        }
        if record.len() > MAX_COLUMNS || rows.len() >= MAX_ROWS {
            return Err(Error::new(
                Some(Place::Line(line)),
                None,
                "too many columns or rows for a roster",
            ));
        }
        let place = Place::Line(
            record
                .position()
                .and_then(|p| usize::try_from(p.line()).ok())
                .unwrap_or(line),
        );
        rows.push(Row {
            place,
            cells: record.iter().map(|c| c.trim().to_owned()).collect(),
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// HTML

/// Named entities an export may use (HTML's Latin-1 set, the typographic ones).
fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "eacute" => 'é',
        "Eacute" => 'É',
        "egrave" => 'è',
        "Egrave" => 'È',
        "ecirc" => 'ê',
        "Ecirc" => 'Ê',
        "euml" => 'ë',
        "Euml" => 'Ë',
        "agrave" => 'à',
        "Agrave" => 'À',
        "acirc" => 'â',
        "Acirc" => 'Â',
        "auml" => 'ä',
        "Auml" => 'Ä',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "icirc" => 'î',
        "Icirc" => 'Î',
        "iuml" => 'ï',
        "Iuml" => 'Ï',
        "ocirc" => 'ô',
        "Ocirc" => 'Ô',
        "ouml" => 'ö',
        "Ouml" => 'Ö',
        "ugrave" => 'ù',
        "Ugrave" => 'Ù',
        "ucirc" => 'û',
        "Ucirc" => 'Û',
        "uuml" => 'ü',
        "Uuml" => 'Ü',
        "yuml" => 'ÿ',
        "Yuml" => 'Ÿ',
        "oelig" => 'œ',
        "OElig" => 'Œ',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "laquo" => '«',
        "raquo" => '»',
        "deg" => '°',
        "euro" => '€',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        _ => return None,
    })
}

/// `&…;` decoded; an unknown or malformed one is kept as written.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1);
        let decoded = end.filter(|e| rest[*e..].starts_with(';')).and_then(|e| {
            let name = &rest[1..e];
            let c = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse::<u32>().ok(),
                }?;
                match n {
                    // HTML reads these as Windows-1252 (`&#156;` is œ).
                    0x80..=0x9F => {
                        let byte = [u8::try_from(n).ok()?];
                        WINDOWS_1252
                            .decode_without_bom_handling(&byte)
                            .0
                            .chars()
                            .next()
                    }
                    _ => char::from_u32(n),
                }
            } else {
                entity(name)
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A cell's text: entities decoded, blanks collapsed.
fn cell_text(raw: &str) -> String {
    decode_entities(raw)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_html(text: &str) -> Result<Vec<Row>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut rows: Vec<Row> = Vec::new();
    let mut row: Option<Row> = None;
    let mut cell: Option<(String, usize)> = None;
    let mut line = 1usize;
    let mut pos = 0usize;
    let mut counted = 0usize;
    let mut at_line = |to: usize, line: &mut usize| {
        *line += bytes[counted..to].iter().filter(|b| **b == b'\n').count();
        counted = to;
    };
    fn close_cell(row: &mut Option<Row>, cell: &mut Option<(String, usize)>) {
        if let (Some(r), Some((raw, span))) = (row.as_mut(), cell.take()) {
            r.cells.push(cell_text(&raw));
            for _ in 1..span {
                r.cells.push(String::new());
            }
        }
    }
    fn close_row(rows: &mut Vec<Row>, row: &mut Option<Row>, cell: &mut Option<(String, usize)>) {
        close_cell(row, cell);
        if let Some(r) = row.take() {
            rows.push(r);
        }
    }
    while pos < bytes.len() {
        let Some(lt) = text[pos..].find('<').map(|i| pos + i) else {
            if let Some((raw, _)) = cell.as_mut() {
                raw.push_str(&text[pos..]);
            }
            break;
        };
        if let Some((raw, _)) = cell.as_mut() {
            raw.push_str(&text[pos..lt]);
        }
        at_line(lt, &mut line);
        // A comment, a declaration, or a tag (quoted attribute values may hold `>`).
        if text[lt..].starts_with("<!--") {
            pos = text[lt + 4..]
                .find("-->")
                .map_or(bytes.len(), |e| lt + 4 + e + 3);
            continue;
        }
        let mut end = lt + 1;
        let mut quote: Option<u8> = None;
        while end < bytes.len() {
            let b = bytes[end];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b'>' => break,
                None => {}
            }
            end += 1;
        }
        let tag = &text[lt + 1..end.min(bytes.len())];
        pos = (end + 1).min(bytes.len());
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("script" | "style", false) => {
                let close = format!("</{name}");
                let lower = text[pos..].to_ascii_lowercase();
                pos = lower.find(&close).map_or(bytes.len(), |e| pos + e);
            }
            ("tr", false) => {
                close_row(&mut rows, &mut row, &mut cell);
                if rows.len() >= MAX_ROWS {
                    return Err(Error::new(Some(Place::Line(line)), None, "too many rows"));
                }
                row = Some(Row {
                    place: Place::Line(line),
                    cells: Vec::new(),
                });
            }
            ("td" | "th", false) => {
                close_cell(&mut row, &mut cell);
                if row.is_none() {
                    // A cell outside any `<tr>` (sloppy HTML): its own row.
                    row = Some(Row {
                        place: Place::Line(line),
                        cells: Vec::new(),
                    });
                }
                let span = colspan(tag).min(100);
                if row
                    .as_ref()
                    .is_some_and(|r| r.cells.len() + span > MAX_COLUMNS)
                {
                    return Err(Error::new(
                        Some(Place::Line(line)),
                        None,
                        "too many columns",
                    ));
                }
                cell = Some((String::new(), span));
            }
            ("td" | "th", true) => close_cell(&mut row, &mut cell),
            ("tr" | "table" | "tbody" | "thead" | "tfoot", _) => {
                close_row(&mut rows, &mut row, &mut cell)
            }
            ("br" | "p" | "div", _) => {
                if let Some((raw, _)) = cell.as_mut() {
                    raw.push(' ');
                }
            }
            _ => {}
        }
    }
    close_row(&mut rows, &mut row, &mut cell);
    Ok(rows)
}

/// A cell's `colspan` (1 when absent or unreadable).
fn colspan(tag: &str) -> usize {
    let lower = tag.to_ascii_lowercase();
    let Some(at) = lower.find("colspan") else {
        return 1;
    };
    let rest = lower[at + 7..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return 1;
    };
    let digits: String = rest
        .trim_start()
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n >= 1).unwrap_or(1)
}

// ---------------------------------------------------------------------------------------------
// XLSX

fn unzip(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> Result<String, Error> {
    let bad = |m: String| Error::file(format!("XLSX: {name}: {m} (truncated or damaged file?)"));
    let entry = zip.by_name(name).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    entry
        .take(MAX_UNZIPPED + 1)
        .read_to_end(&mut out)
        .map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 > MAX_UNZIPPED {
        return Err(Error::file(format!(
            "XLSX: {name} is larger than {} MiB unzipped",
            MAX_UNZIPPED >> 20
        )));
    }
    String::from_utf8(out).map_err(|e| bad(format!("not UTF-8: {e}")))
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>, Error> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        Error::file(format!(
            "not a readable XLSX workbook ({e}): the file is truncated or damaged; save or \
             export it again"
        ))
    })?;
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let sheet = if names.iter().any(|n| n == "xl/worksheets/sheet1.xml") {
        "xl/worksheets/sheet1.xml".to_owned()
    } else {
        let mut sheets: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("xl/worksheets/") && n.ends_with(".xml"))
            .collect();
        sheets.sort();
        match sheets.first() {
            Some(s) => (*s).clone(),
            None => {
                return Err(Error::file(
                    "a zip archive without a worksheet: not an XLSX workbook",
                ));
            }
        }
    };
    let shared = if names.iter().any(|n| n == "xl/sharedStrings.xml") {
        shared_strings(&unzip(&mut zip, "xl/sharedStrings.xml")?)?
    } else {
        Vec::new()
    };
    sheet_rows(&unzip(&mut zip, &sheet)?, &shared, &sheet)
}

fn xml_error(part: &str, e: impl std::fmt::Display) -> Error {
    Error::file(format!(
        "XLSX: {part} is not well-formed XML ({e}): the file is damaged; save it again"
    ))
}

/// Text and entity events into `buf`.
fn push_text(event: &Event<'_>, buf: &mut String, part: &str) -> Result<(), Error> {
    match event {
        Event::Text(t) => buf.push_str(&t.xml10_content().map_err(|e| xml_error(part, e))?),
        Event::CData(t) => buf.push_str(&String::from_utf8_lossy(t)),
        Event::GeneralRef(r) => match r.resolve_char_ref().map_err(|e| xml_error(part, e))? {
            Some(c) => buf.push(c),
            None => {
                let name = r.decode().map_err(|e| xml_error(part, e))?;
                buf.push(match &*name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => return Err(xml_error(part, format!("unknown entity &{other};"))),
                });
            }
        },
        _ => {}
    }
    Ok(())
}

fn shared_strings(xml: &str) -> Result<Vec<String>, Error> {
    const PART: &str = "xl/sharedStrings.xml";
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    // Inside a `<t>` (phonetic runs `<rPh>` are not the text).
    let mut in_t = false;
    let mut in_rph = false;
    loop {
        let event = reader.read_event().map_err(|e| xml_error(PART, e))?;
        match &event {
            Event::Start(s) => match s.local_name().as_ref() {
                b"si" => current = Some(String::new()),
                b"t" => in_t = true,
                b"rPh" => in_rph = true,
                _ => {}
            },
            Event::End(s) => match s.local_name().as_ref() {
                b"si" => out.push(current.take().unwrap_or_default()),
                b"t" => in_t = false,
                b"rPh" => in_rph = false,
                _ => {}
            },
            Event::Empty(s) if s.local_name().as_ref() == b"si" => out.push(String::new()),
            Event::Eof => break,
            _ => {
                if in_t && !in_rph {
                    if let Some(buf) = current.as_mut() {
                        push_text(&event, buf, PART)?;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `"BC12"` → (column index from 0, row number).
fn cell_ref(r: &str) -> Option<(usize, usize)> {
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let mut col = 0usize;
    for b in r[..letters].bytes() {
        col = col * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1);
    }
    let row = r[letters..].parse().ok()?;
    Some((col - 1, row))
}

fn sheet_rows(xml: &str, shared: &[String], part: &str) -> Result<Vec<Row>, Error> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut rows: Vec<Row> = Vec::new();
    let mut row_number = 0usize;
    let mut row: Option<Row> = None;
    // The open cell: its column, type and reference; its `<v>` or inline text.
    let mut cell: Option<(usize, String, String)> = None;
    let mut value = String::new();
    let mut in_value = false;
    let attr = |s: &quick_xml::events::BytesStart<'_>, key: &[u8]| -> Option<String> {
        s.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == key)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
    };
    loop {
        let event = reader.read_event().map_err(|e| xml_error(part, e))?;
        match &event {
            Event::Start(s) | Event::Empty(s) => {
                let empty = matches!(event, Event::Empty(_));
                match s.local_name().as_ref() {
                    b"row" => {
                        row_number = match attr(s, b"r") {
                            Some(r) => r.parse().map_err(|_| {
                                xml_error(part, format!("row number `{r}` is not a number"))
                            })?,
                            None => row_number + 1,
                        };
                        if rows.len() >= MAX_ROWS || row_number > MAX_ROWS {
                            return Err(Error::file("XLSX: too many rows for a roster"));
                        }
                        let r = Row {
                            place: Place::Row(row_number),
                            cells: Vec::new(),
                        };
                        if empty {
                            rows.push(r);
                        } else {
                            row = Some(r);
                        }
                    }
                    b"c" => {
                        let Some(r) = row.as_mut() else {
                            return Err(xml_error(part, "a cell outside a row"));
                        };
                        let reference = attr(s, b"r").unwrap_or_default();
                        let col = if reference.is_empty() {
                            r.cells.len()
                        } else {
                            cell_ref(&reference).map(|(c, _)| c).ok_or_else(|| {
                                xml_error(part, format!("bad cell reference `{reference}`"))
                            })?
                        };
                        if col >= MAX_COLUMNS {
                            return Err(Error::new(
                                Some(Place::Row(row_number)),
                                None,
                                format!("XLSX: cell {reference} is past the last column"),
                            ));
                        }
                        value.clear();
                        let kind = attr(s, b"t").unwrap_or_default();
                        if empty {
                            put_cell(r, col, String::new());
                        } else {
                            cell = Some((col, kind, reference));
                        }
                    }
                    b"v" | b"t" if cell.is_some() => in_value = !empty,
                    _ => {}
                }
            }
            Event::End(s) => match s.local_name().as_ref() {
                b"v" | b"t" => in_value = false,
                b"c" => {
                    if let (Some(r), Some((col, kind, reference))) = (row.as_mut(), cell.take()) {
                        let text = match kind.as_str() {
                            "s" => {
                                let i: usize = value.trim().parse().map_err(|_| {
                                    xml_error(part, format!("cell {reference}: bad string index"))
                                })?;
                                shared.get(i).cloned().ok_or_else(|| {
                                    Error::new(
                                        Some(Place::Row(row_number)),
                                        None,
                                        format!(
                                            "XLSX: cell {reference} names shared string {i}, \
                                             which the workbook lacks (damaged file?)"
                                        ),
                                    )
                                })?
                            }
                            "b" => match value.trim() {
                                "1" => "TRUE".to_owned(),
                                _ => "FALSE".to_owned(),
                            },
                            _ => number_text(value.trim()),
                        };
                        put_cell(r, col, text.trim().to_owned());
                    }
                }
                b"row" => {
                    if let Some(r) = row.take() {
                        rows.push(r);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {
                if in_value {
                    push_text(&event, &mut value, part)?;
                }
            }
        }
    }
    if row.is_some() || cell.is_some() {
        return Err(Error::file(format!(
            "XLSX: {part} ends inside a row: the file is truncated"
        )));
    }
    Ok(rows)
}

/// A number as a person wrote it: `1234.0` is `1234`.
fn number_text(v: &str) -> String {
    match v.strip_suffix(".0") {
        Some(int) if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            int.to_owned()
        }
        _ => v.to_owned(),
    }
}

fn put_cell(row: &mut Row, col: usize, text: String) {
    if row.cells.len() <= col {
        row.cells.resize(col + 1, String::new());
    }
    row.cells[col] = text;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn cells(t: &Table) -> Vec<Vec<&str>> {
        t.rows
            .iter()
            .map(|r| r.cells.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn csv_in_windows_1252_with_trailing_empty_columns() {
        let bytes = b"IDELEVE;NOM;PRENOM;;;\r\n12;C\x9cur;\xc9lo\xefse;;;\r\n\"13\";\"Dupont; fils\";Jean;;;\r\n";
        let t = read(bytes).unwrap();
        assert_eq!((t.format, t.encoding), (Format::Csv, Some("windows-1252")));
        assert_eq!(cells(&t)[1], ["12", "Cœur", "Éloïse", "", "", ""]);
        assert_eq!(cells(&t)[2][1], "Dupont; fils");
        assert_eq!(t.rows[2].place, Place::Line(3));
    }

    #[test]
    fn csv_in_utf8_with_bom() {
        let t = read("\u{feff}IDELEVE;NOM\n1;Lœwy\n".as_bytes()).unwrap();
        assert_eq!(t.encoding, Some("UTF-8"));
        assert_eq!(cells(&t), [vec!["IDELEVE", "NOM"], vec!["1", "Lœwy"]]);
    }

    #[test]
    fn wrong_encodings_are_refused_naming_the_line() {
        let mut utf16 = vec![0xFF, 0xFE];
        for c in "IDELEVE\tNOM\r\n".encode_utf16() {
            utf16.extend(c.to_le_bytes());
        }
        let e = read(&utf16).unwrap_err().to_string();
        assert!(e.starts_with("line 1: the file is UTF-16"), "{e}");
        let e = read(b"A;B\n1;2\n3;\x81x\n").unwrap_err().to_string();
        assert!(e.starts_with("line 3: byte 0x81"), "{e}");
        let e = read(b"A;B\n1;\x00\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2: a NUL byte"), "{e}");
        let e = read(b"\xEF\xBB\xBFA;B\n\xE9\n").unwrap_err().to_string();
        assert!(e.starts_with("line 2: invalid UTF-8"), "{e}");
    }

    #[test]
    fn html_table_in_windows_1252_with_entities_and_spans() {
        let html = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">\n\
<style>td { color: red }</style></head><body>\n<!-- <tr><td>no</td></tr> -->\n<table border=1>\n\
<tr><th>IDELEVE</th><th>Nom</th><th>Pr&eacute;nom</th></tr>\n\
<tr><td>12</td><td><b>C\x9cur</b></td><td>\xc9lo&iuml;se<br>Marie</td></tr>\n\
<tr><td colspan=\"2\">Dupont &amp; &#156;il</td><td>&#x152;dipe &unknown; &#</td></tr>\n\
</table></body></html>";
        let t = read(html).unwrap();
        assert_eq!((t.format, t.encoding), (Format::Html, Some("windows-1252")));
        assert_eq!(
            cells(&t),
            [
                vec!["IDELEVE", "Nom", "Prénom"],
                vec!["12", "Cœur", "Éloïse Marie"],
                vec!["Dupont & œil", "", "Œdipe &unknown; &#"],
            ]
        );
        assert_eq!(t.rows[0].place, Place::Line(5));
        assert_eq!(t.rows[2].place, Place::Line(7));
    }

    #[test]
    fn html_declared_utf8_that_is_not_is_refused() {
        let e = read(b"<meta charset=\"utf-8\">\n<table><tr><td>\xe9</td></tr></table>")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2: the file declares UTF-8"), "{e}");
    }

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref("A1"), Some((0, 1)));
        assert_eq!(cell_ref("AB12"), Some((27, 12)));
        assert_eq!(cell_ref("XFD3"), Some((16383, 3)));
        assert_eq!(cell_ref("12"), None);
        assert_eq!(number_text("1234.0"), "1234");
        assert_eq!(number_text("12.5"), "12.5");
    }

    #[test]
    fn sheet_xml_with_shared_inline_and_gaps() {
        let shared = shared_strings(
            "<sst><si><t>IDELEVE</t></si><si><r><t>C</t></r><r><t>\u{153}ur</t></r><rPh><t>x</t></rPh></si></sst>",
        )
        .unwrap();
        assert_eq!(shared, ["IDELEVE", "Cœur"]);
        let xml = r#"<worksheet><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>Né le</t></is></c></row>
<row r="3"><c r="A3"><v>1234</v></c><c r="B3" t="s"><v>1</v></c><c r="C3"><v>41000</v></c></row>
</sheetData></worksheet>"#;
        let rows = sheet_rows(xml, &shared, "s").unwrap();
        assert_eq!(rows[0].cells, ["IDELEVE", "", "Né le"]);
        assert_eq!(rows[1].place, Place::Row(3));
        assert_eq!(rows[1].cells, ["1234", "Cœur", "41000"]);
        let e = sheet_rows(
            r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>7</v></c></row></sheetData></worksheet>"#,
            &shared,
            "s",
        )
        .unwrap_err();
        assert!(e.to_string().contains("shared string 7"), "{e}");
    }

    #[test]
    fn a_truncated_zip_is_refused() {
        let e = read(b"PK\x03\x04\x14\x00\x00\x00").unwrap_err().to_string();
        assert!(e.contains("truncated or damaged"), "{e}");
    }
}
