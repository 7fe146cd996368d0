//! CSV for spreadsheets, the way French office suites open it: `;` between cells, CRLF line
//! ends, UTF-8 with a byte order mark (so accents survive a double click), amounts as decimal
//! numbers with a comma (`12,50`, `-3,20`). Text cells that a spreadsheet would read as a
//! formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) get a leading `'`; amounts are
//! numbers and are written as such.

use std::borrow::Cow;

/// One cell of a row.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell<'a> {
    Text(&'a str),
    /// Cents, written as euros with a decimal comma.
    Amount(i64),
    Count(usize),
}

/// `cents` as a spreadsheet number in French: `12,50`, `-3,20`, `0,00`.
pub(crate) fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

/// A text cell kept from being read as a formula, then quoted when it holds a separator, a
/// quote or a line break.
pub(crate) fn text_cell(cell: &str) -> Cow<'_, str> {
    let defused: Cow<'_, str> = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    };
    if defused.contains([';', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", defused.replace('"', "\"\"")))
    } else {
        defused
    }
}

/// A CSV file being written.
pub(crate) struct Csv {
    out: String,
}

impl Csv {
    pub(crate) fn new() -> Self {
        Csv {
            out: String::from("\u{feff}"),
        }
    }

    pub(crate) fn row(&mut self, cells: &[Cell<'_>]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(';');
            }
            match *cell {
                Cell::Text(t) => self.out.push_str(&text_cell(t)),
                Cell::Amount(c) => self.out.push_str(&amount(c)),
                Cell::Count(n) => self.out.push_str(&n.to_string()),
            }
        }
        self.out.push_str("\r\n");
    }

    /// A row of text cells.
    pub(crate) fn texts(&mut self, cells: &[&str]) {
        let cells: Vec<Cell<'_>> = cells.iter().map(|t| Cell::Text(t)).collect();
        self.row(&cells);
    }

    pub(crate) fn blank(&mut self) {
        self.out.push_str("\r\n");
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_line_separates_the_tables_of_a_file() {
        let mut csv = Csv::new();
        csv.texts(&["a"]);
        csv.blank();
        csv.texts(&["b"]);
        assert_eq!(csv.finish(), "\u{feff}a\r\n\r\nb\r\n");
    }

    #[test]
    fn amounts_are_numbers_with_a_decimal_comma() {
        assert_eq!(amount(1250), "12,50");
        assert_eq!(amount(-320), "-3,20");
        assert_eq!(amount(5), "0,05");
        assert_eq!(amount(0), "0,00");
        assert_eq!(amount(i64::MIN), "-92233720368547758,08");
    }

    #[test]
    fn formulas_are_defused_and_separators_quoted() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text_cell("+33 6"), "'+33 6");
        assert_eq!(text_cell("-2"), "'-2");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("a;b"), "\"a;b\"");
        assert_eq!(text_cell("deux\nlignes"), "\"deux\nlignes\"");
        assert_eq!(text_cell("Jean-Paul"), "Jean-Paul");
        assert_eq!(text_cell("Éloïse"), "Éloïse");
        let mut csv = Csv::new();
        csv.row(&[Cell::Text("-x"), Cell::Amount(-150), Cell::Count(3)]);
        assert_eq!(csv.finish(), "\u{feff}'-x;-1,50;3\r\n");
    }
}
