//! A minimal XLSX writer of our own (Office Open XML spreadsheet, ECMA-376): a [`Workbook`] of
//! [`Sheet`]s of rows of [`Cell`]s, written into memory as a zip of XML parts. What it writes:
//!
//! - text as inline strings (`t="inlineStr"`): no shared-string table, and never a formula,
//!   whatever the text starts with;
//! - whole numbers, and amounts in euros as numbers with two decimals (`#,##0.00`), written
//!   from the cents as a decimal string (`-1234.05`), never through a float;
//! - bold rows (a header row, a total), the first row frozen when it is a header, column
//!   widths from the longest cell.
//!
//! Enough for LibreOffice, Excel and openpyxl to open it (the tests read it back with openpyxl).
//! The same workbook gives the same bytes: every part is dated 1980-01-01, the zip's epoch.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A whole number (a count, a line number).
    Integer(i64),
    /// An amount in cents, shown in euros with two decimals.
    Euros(i64),
}

impl Cell {
    pub fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

/// A row of cells, bold or not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SheetRow {
    cells: Vec<Cell>,
    bold: bool,
}

/// A worksheet: its name (at most 31 characters, none of `[]:*?/\`; others are replaced) and
/// its rows from the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    name: String,
    rows: Vec<SheetRow>,
    /// The first row is a header: frozen at the top when scrolling.
    frozen_header: bool,
}

impl Sheet {
    pub fn new(name: &str) -> Sheet {
        Sheet {
            name: name.to_owned(),
            rows: Vec::new(),
            frozen_header: false,
        }
    }

    /// A bold row of titles; the first row added this way stays on top when scrolling.
    pub fn header(&mut self, titles: &[&str]) {
        if self.rows.is_empty() {
            self.frozen_header = true;
        }
        self.rows.push(SheetRow {
            cells: titles.iter().map(|t| Cell::text(t)).collect(),
            bold: true,
        });
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(SheetRow { cells, bold: false });
    }

    /// A row in bold (a total).
    pub fn bold_row(&mut self, cells: Vec<Cell>) {
        self.rows.push(SheetRow { cells, bold: true });
    }

    /// A blank row.
    pub fn blank(&mut self) {
        self.row(Vec::new());
    }

    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
}

/// A workbook: sheets in order (an empty workbook gets one empty sheet: a file needs one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workbook {
    sheets: Vec<Sheet>,
}

/// Why a workbook could not be written (writing into memory does not fail in practice).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XlsxError {
    #[error("the spreadsheet could not be zipped: {0}")]
    Zip(String),
}

impl From<zip::result::ZipError> for XlsxError {
    fn from(e: zip::result::ZipError) -> Self {
        XlsxError::Zip(e.to_string())
    }
}

impl From<std::io::Error> for XlsxError {
    fn from(e: std::io::Error) -> Self {
        XlsxError::Zip(e.to_string())
    }
}

/// Style indexes of `styles.xml`'s `cellXfs`.
const STYLE_BOLD: u8 = 1;
const STYLE_EUROS: u8 = 2;
const STYLE_EUROS_BOLD: u8 = 3;

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

const STYLES: &str = concat!(
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">",
    "<fonts count=\"2\">",
    "<font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>",
    "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>",
    "</fonts>",
    "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>",
    "<fill><patternFill patternType=\"gray125\"/></fill></fills>",
    "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>",
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>",
    "<cellXfs count=\"4\">",
    "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>",
    "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>",
    // 4 is the built-in format `#,##0.00`.
    "<xf numFmtId=\"4\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>",
    "<xf numFmtId=\"4\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\" applyFont=\"1\"/>",
    "</cellXfs>",
    "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>",
    "</styleSheet>"
);

impl Workbook {
    pub fn new() -> Workbook {
        Workbook::default()
    }

    pub fn push(&mut self, sheet: Sheet) {
        self.sheets.push(sheet);
    }

    /// The `.xlsx` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, XlsxError> {
        let blank = [Sheet::new("Feuille 1")];
        let sheets: &[Sheet] = if self.sheets.is_empty() {
            &blank
        } else {
            &self.sheets
        };
        let names = sheet_names(sheets);

        let mut types = format!(
            "{XML_HEAD}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
        );
        for i in 1..=sheets.len() {
            let _ = write!(
                types,
                "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" \
                 ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            );
        }
        types.push_str("</Types>");

        let root_rels = format!(
            "{XML_HEAD}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"{REL_NS}/officeDocument\" Target=\"xl/workbook.xml\"/>\
             </Relationships>"
        );

        let mut workbook =
            format!("{XML_HEAD}<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><sheets>");
        let mut workbook_rels = format!(
            "{XML_HEAD}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        );
        for (i, name) in names.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                workbook,
                "<sheet name=\"{}\" sheetId=\"{n}\" r:id=\"rId{n}\"/>",
                escape(name)
            );
            let _ = write!(
                workbook_rels,
                "<Relationship Id=\"rId{n}\" Type=\"{REL_NS}/worksheet\" Target=\"worksheets/sheet{n}.xml\"/>"
            );
        }
        workbook.push_str("</sheets></workbook>");
        let _ = write!(
            workbook_rels,
            "<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/></Relationships>",
            sheets.len() + 1
        );

        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::DEFAULT);
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let part = |zip: &mut ZipWriter<Cursor<Vec<u8>>>,
                    name: &str,
                    body: &str|
         -> Result<(), XlsxError> {
            zip.start_file(name, options)?;
            zip.write_all(body.as_bytes())?;
            Ok(())
        };
        part(&mut zip, "[Content_Types].xml", &types)?;
        part(&mut zip, "_rels/.rels", &root_rels)?;
        part(&mut zip, "xl/workbook.xml", &workbook)?;
        part(&mut zip, "xl/_rels/workbook.xml.rels", &workbook_rels)?;
        part(&mut zip, "xl/styles.xml", &format!("{XML_HEAD}{STYLES}"))?;
        for (i, sheet) in sheets.iter().enumerate() {
            let name = format!("xl/worksheets/sheet{}.xml", i + 1);
            part(&mut zip, &name, &worksheet(sheet))?;
        }
        Ok(zip.finish()?.into_inner())
    }
}

/// The sheets' names as the file writes them: forbidden characters replaced by `_`, cut to 31
/// characters, never empty, unique (case aside, as spreadsheets compare them).
fn sheet_names(sheets: &[Sheet]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(sheets.len());
    for (i, s) in sheets.iter().enumerate() {
        let clean: String = s
            .name
            .chars()
            .map(|c| {
                if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let clean = clean.trim().trim_matches('\'').to_owned();
        let base = if clean.is_empty() {
            format!("Feuille {}", i + 1)
        } else {
            clean
        };
        let mut name: String = base.chars().take(31).collect();
        let mut k = 2;
        while names
            .iter()
            .any(|n| n.to_lowercase() == name.to_lowercase())
        {
            let suffix = format!(" ({k})");
            let keep = 31usize.saturating_sub(suffix.chars().count());
            name = base.chars().take(keep).collect::<String>() + &suffix;
            k += 1;
        }
        names.push(name);
    }
    names
}

/// The column's letters: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_name(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Cents as the decimal number a cell holds: `1234.05`, `-3.20`, `0.00`.
pub fn euros_value(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Text for XML: markup escaped, and the characters XML 1.0 cannot hold (controls other than
/// tab and line breaks, U+FFFE, U+FFFF) left out.
fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\t' | '\n' | '\r' => s.push(c),
            c if u32::from(c) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => s.push(c),
        }
    }
    s
}

/// The width of a column, in characters, from its longest cell (8 to 60).
fn column_widths(sheet: &Sheet) -> Vec<usize> {
    let mut widths: Vec<usize> = Vec::new();
    for row in &sheet.rows {
        for (i, cell) in row.cells.iter().enumerate() {
            let len = match cell {
                Cell::Empty => 0,
                Cell::Text(t) => t.chars().count(),
                Cell::Integer(n) => n.to_string().len(),
                // The thousands separators and the sign.
                Cell::Euros(c) => euros_value(*c).len() + 3,
            };
            if widths.len() <= i {
                widths.resize(i + 1, 0);
            }
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(len);
            }
        }
    }
    widths.into_iter().map(|w| (w + 2).clamp(8, 60)).collect()
}

fn worksheet(sheet: &Sheet) -> String {
    let mut x = format!("{XML_HEAD}<worksheet xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\">");
    if sheet.frozen_header {
        x.push_str(
            "<sheetViews><sheetView workbookViewId=\"0\">\
             <pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             </sheetView></sheetViews>",
        );
    }
    let widths = column_widths(sheet);
    if !widths.is_empty() {
        x.push_str("<cols>");
        for (i, w) in widths.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                x,
                "<col min=\"{n}\" max=\"{n}\" width=\"{w}\" customWidth=\"1\"/>"
            );
        }
        x.push_str("</cols>");
    }
    x.push_str("<sheetData>");
    for (r, row) in sheet.rows.iter().enumerate() {
        let rn = r + 1;
        if row.cells.iter().all(|c| *c == Cell::Empty) {
            continue;
        }
        let _ = write!(x, "<row r=\"{rn}\">");
        for (c, cell) in row.cells.iter().enumerate() {
            let at = format!("{}{rn}", column_name(c));
            let text_style = if row.bold {
                format!(" s=\"{STYLE_BOLD}\"")
            } else {
                String::new()
            };
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    let _ = write!(
                        x,
                        "<c r=\"{at}\"{text_style} t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                        escape(t)
                    );
                }
                Cell::Integer(n) => {
                    let _ = write!(x, "<c r=\"{at}\"{text_style}><v>{n}</v></c>");
                }
                Cell::Euros(cents) => {
                    let style = if row.bold {
                        STYLE_EUROS_BOLD
                    } else {
                        STYLE_EUROS
                    };
                    let _ = write!(
                        x,
                        "<c r=\"{at}\" s=\"{style}\"><v>{}</v></c>",
                        euros_value(*cents)
                    );
                }
            }
        }
        x.push_str("</row>");
    }
    x.push_str("</sheetData></worksheet>");
    x
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn columns_are_lettered_like_a_spreadsheet() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(51), "AZ");
        assert_eq!(column_name(52), "BA");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn amounts_are_written_exactly_from_cents() {
        assert_eq!(euros_value(123_405), "1234.05");
        assert_eq!(euros_value(-320), "-3.20");
        assert_eq!(euros_value(5), "0.05");
        assert_eq!(euros_value(0), "0.00");
        assert_eq!(euros_value(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn text_is_escaped_and_what_xml_cannot_hold_is_dropped() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\u{ffff}\tc"), "ab\tc");
        assert_eq!(
            escape("=SOMME(A1)"),
            "=SOMME(A1)",
            "an inline string is no formula"
        );
    }

    #[test]
    fn sheet_names_are_made_valid_and_unique() {
        let sheets = [
            Sheet::new("Totaux: T1/2026"),
            Sheet::new("totaux_ T1_2026"),
            Sheet::new(""),
            Sheet::new(&"x".repeat(40)),
            Sheet::new(&"x".repeat(40)),
        ];
        let names = sheet_names(&sheets);
        assert_eq!(names[0], "Totaux_ T1_2026");
        assert_eq!(names[1], "totaux_ T1_2026 (2)");
        assert_eq!(names[2], "Feuille 3");
        assert_eq!(names[3], "x".repeat(31));
        assert_eq!(names[4], format!("{} (2)", "x".repeat(27)));
        assert!(names.iter().all(|n| n.chars().count() <= 31));
    }

    fn part(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn a_workbook_holds_its_parts_and_cells() {
        let mut s = Sheet::new("Lignes");
        s.header(&["Nom", "Nombre", "Montant"]);
        s.row(vec![
            Cell::text("DURAND & fils <Léa>"),
            Cell::Integer(3),
            Cell::Euros(-1250),
        ]);
        s.blank();
        s.bold_row(vec![Cell::text("Total"), Cell::Empty, Cell::Euros(123_456)]);
        let mut wb = Workbook::new();
        wb.push(s);
        wb.push(Sheet::new("Vide"));
        let bytes = wb.to_bytes().unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        assert_eq!(bytes, wb.to_bytes().unwrap(), "deterministic");
        let types = part(&bytes, "[Content_Types].xml");
        assert!(types.contains("/xl/worksheets/sheet2.xml"));
        let book = part(&bytes, "xl/workbook.xml");
        assert!(book.contains("<sheet name=\"Lignes\" sheetId=\"1\" r:id=\"rId1\"/>"));
        assert!(book.contains("<sheet name=\"Vide\" sheetId=\"2\" r:id=\"rId2\"/>"));
        let rels = part(&bytes, "xl/_rels/workbook.xml.rels");
        assert!(
            rels.contains("Id=\"rId3\""),
            "styles after the sheets: {rels}"
        );
        let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains(
            "<c r=\"A1\" s=\"1\" t=\"inlineStr\"><is><t xml:space=\"preserve\">Nom</t></is></c>"
        ));
        assert!(sheet.contains("DURAND &amp; fils &lt;Léa&gt;"));
        assert!(sheet.contains("<c r=\"B2\"><v>3</v></c>"));
        assert!(sheet.contains("<c r=\"C2\" s=\"2\"><v>-12.50</v></c>"));
        assert!(!sheet.contains("<row r=\"3\">"), "a blank row is left out");
        assert!(sheet.contains("<c r=\"C4\" s=\"3\"><v>1234.56</v></c>"));
        assert!(sheet.contains("state=\"frozen\""));
        assert!(part(&bytes, "xl/styles.xml").contains("numFmtId=\"4\""));
        // No sheet at all: one blank sheet.
        let empty = Workbook::new().to_bytes().unwrap();
        assert!(part(&empty, "xl/workbook.xml").contains("Feuille 1"));
    }
}
