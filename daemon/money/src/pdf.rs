//! A small PDF 1.4 writer of our own: A4 pages, the standard Helvetica and Helvetica-Bold fonts
//! in WinAnsiEncoding (French accents and the € sign print; any other character becomes `?`),
//! text placed at a position (left- or right-aligned, struck through), horizontal rules, and a
//! [`Flow`] that lays out headings, paragraphs and paginated [`Table`]s (the header row repeated
//! on each page, "Page n / N" at the foot of every page).
//!
//! The output is deterministic: the same calls give the same bytes (no date unless one is given
//! with [`Document::created`]). Content streams are left uncompressed and every string is written
//! in ASCII (octal escapes for the rest), so the files read well with `pdftotext` and diff well.
//! The fonts are not embedded: the 14 standard fonts are every reader's own, and their widths
//! (`pdf/widths.rs`, from Adobe's AFM files) let us align and truncate text ourselves.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

mod widths;

/// A page's size in points (1/72 inch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageSize {
    pub width: f32,
    pub height: f32,
}

/// A4 upright: 210 × 297 mm.
pub const A4_PORTRAIT: PageSize = PageSize {
    width: 595.28,
    height: 841.89,
};

/// A4 on its side, for wide tables.
pub const A4_LANDSCAPE: PageSize = PageSize {
    width: 841.89,
    height: 595.28,
};

/// One of the two standard fonts the documents use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &widths::HELVETICA,
            Font::Bold => &widths::HELVETICA_BOLD,
        }
    }

    /// The advance width of one WinAnsi code, in thousandths of the size.
    fn advance(self, code: u8) -> u16 {
        let i = usize::from(code).saturating_sub(0x20);
        self.widths().get(i).copied().unwrap_or(0)
    }
}

/// Where text sits in a table column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// The WinAnsiEncoding code of a character, `?` for one it does not have. Two substitutions
/// keep our own texts readable: the minus sign (U+2212, `format_euros`'s) prints as a hyphen and
/// the narrow no-break space as a no-break space. Control characters other than the tab (a
/// space) become `?` too.
pub fn winansi(c: char) -> u8 {
    let u = u32::from(c);
    match u {
        0x20..=0x7e | 0xa0..=0xff => u8::try_from(u).unwrap_or(b'?'),
        0x09 => b' ',
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            '\u{2212}' => b'-',
            '\u{202f}' => 0xa0,
            _ => b'?',
        },
    }
}

/// `text` in WinAnsiEncoding (see [`winansi`]).
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(winansi).collect()
}

/// The width of `text` set in `font` at `size` points, in points.
pub fn text_width(font: Font, size: f32, text: &str) -> f32 {
    let thousandths: u32 = text
        .chars()
        .map(|c| u32::from(font.advance(winansi(c))))
        .sum();
    // Exact: a u32 of thousandths fits an f32's mantissa for any text a page can hold.
    thousandths as f32 * size / 1000.0
}

/// `text` cut to fit `max_width` points, an ellipsis marking the cut.
pub fn fit(font: Font, size: f32, text: &str, max_width: f32) -> String {
    if text_width(font, size, text) <= max_width {
        return text.to_owned();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().chain(std::iter::once(&'…')).collect();
        if text_width(font, size, &candidate) <= max_width {
            return candidate;
        }
    }
    String::new()
}

/// A number as PDF writes it: at most two decimals, no exponent, `0` for what is not finite.
fn num(v: f32) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let mut s = format!("{:.2}", v);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" { "0".to_owned() } else { s }
}

/// A PDF literal string of WinAnsi bytes, in ASCII: `(`, `)` and `\` escaped, every byte
/// outside the printable ASCII range written in octal.
fn literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push(')');
    s
}

/// A text string of the document's information dictionary: UTF-16BE with its byte order mark,
/// written in hexadecimal (any character).
fn info_string(text: &str) -> String {
    let mut s = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(s, "{unit:04X}");
    }
    s.push('>');
    s
}

/// One page's drawing operations (its content stream).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    ops: String,
}

impl Page {
    /// `text` with its baseline starting at (`x`, `y`), from the page's bottom-left corner.
    pub fn text(&mut self, x: f32, y: f32, font: Font, size: f32, text: &str) {
        let _ = writeln!(
            self.ops,
            "BT /{} {} Tf {} {} Td {} Tj ET",
            font.resource(),
            num(size),
            num(x),
            num(y),
            literal(&encode(text))
        );
    }

    /// `text` ending at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, font: Font, size: f32, text: &str) {
        let x = right - text_width(font, size, text);
        self.text(x, y, font, size, text);
    }

    /// A line through `text` (set at (`x`, `y`)), as for a cancelled payment; the text itself is
    /// drawn by the caller, or by [`Page::text_struck`].
    pub fn strike(&mut self, x: f32, y: f32, font: Font, size: f32, text: &str) {
        let width = text_width(font, size, text);
        if width > 0.0 {
            let at = y + size * 0.3;
            self.rule(x, x + width, at, (size * 0.07).max(0.4));
        }
    }

    /// `text` at (`x`, `y`) with a line through it.
    pub fn text_struck(&mut self, x: f32, y: f32, font: Font, size: f32, text: &str) {
        self.text(x, y, font, size, text);
        self.strike(x, y, font, size, text);
    }

    /// A horizontal line from `x1` to `x2` at height `y`, `thickness` points thick.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, thickness: f32) {
        let _ = writeln!(
            self.ops,
            "{} w {} {} m {} {} l S",
            num(thickness),
            num(x1),
            num(y),
            num(x2),
            num(y)
        );
    }

    /// A filled rectangle in the gray `level` (0 black, 1 white); the colour is restored after.
    pub fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32, level: f32) {
        let _ = writeln!(
            self.ops,
            "q {} g {} {} {} {} re f Q",
            num(level.clamp(0.0, 1.0)),
            num(x),
            num(y),
            num(width),
            num(height)
        );
    }

    /// Text and lines drawn after this are in the gray `level` (0 black, the default).
    pub fn set_gray(&mut self, level: f32) {
        let level = num(level.clamp(0.0, 1.0));
        let _ = writeln!(self.ops, "{level} g {level} G");
    }

    /// Whether nothing is drawn on the page.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A PDF document: pages of one size, an optional title and creation date.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    size: PageSize,
    pages: Vec<Page>,
    title: Option<String>,
    created: Option<DateTime<Utc>>,
}

impl Document {
    pub fn new(size: PageSize) -> Self {
        Document {
            size,
            pages: Vec::new(),
            title: None,
            created: None,
        }
    }

    /// The title readers show in their window.
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_owned());
        self
    }

    /// The creation date written in the document (none by default: the same input, the same
    /// bytes).
    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.created = Some(at);
        self
    }

    pub fn size(&self) -> PageSize {
        self.size
    }

    /// Adds a page at the end and returns it.
    pub fn new_page(&mut self) -> &mut Page {
        self.pages.push(Page::default());
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// The page at `index` (from 0).
    pub fn page_mut(&mut self, index: usize) -> Option<&mut Page> {
        self.pages.get_mut(index)
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Adds `other`'s pages after this document's (its title and date are dropped): several
    /// documents printed as one.
    pub fn append(&mut self, other: Document) {
        self.pages.extend(other.pages);
    }

    /// The file. A document without pages gets one blank page: a PDF needs one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let blank = [Page::default()];
        let pages: &[Page] = if self.pages.is_empty() {
            &blank
        } else {
            &self.pages
        };
        // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, 5 information, then for each page
        // its page object and its content stream.
        let first_page = 6;
        let mut objects: Vec<Vec<u8>> = Vec::new();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..pages.len())
            .map(|i| format!("{} 0 R", first_page + 2 * i))
            .collect();
        objects.push(
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                pages.len()
            )
            .into_bytes(),
        );
        // The widths are optional for the standard fonts; given, a reader that draws them with
        // a substitute places every glyph where our own layout did.
        for font in [Font::Regular, Font::Bold] {
            let widths: Vec<String> = font.widths().iter().map(u16::to_string).collect();
            objects.push(
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding \
                     /FirstChar 32 /LastChar 255 /Widths [{}] >>",
                    font.base_font(),
                    widths.join(" ")
                )
                .into_bytes(),
            );
        }
        let mut info = String::from("<< /Producer (selfgate)");
        if let Some(title) = &self.title {
            let _ = write!(info, " /Title {}", info_string(title));
        }
        if let Some(at) = self.created {
            let _ = write!(info, " /CreationDate (D:{}Z)", at.format("%Y%m%d%H%M%S"));
        }
        info.push_str(" >>");
        objects.push(info.into_bytes());
        for (i, page) in pages.iter().enumerate() {
            let contents = first_page + 2 * i + 1;
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                     /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {contents} 0 R >>",
                    num(self.size.width),
                    num(self.size.height)
                )
                .into_bytes(),
            );
            let mut stream = format!("<< /Length {} >>\nstream\n", page.ops.len()).into_bytes();
            stream.extend_from_slice(page.ops.as_bytes());
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }

        // The header's second line marks the file as binary for transfer programs.
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for offset in offsets {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        );
        out.extend_from_slice(table.as_bytes());
        out
    }
}

/// How a table row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStyle {
    Normal,
    /// Gray, with a line through every cell: a cancelled payment.
    Struck,
    /// Bold on a light background, a rule above: a total.
    Total,
}

/// A table column: its header, its share of the width (weights are scaled to the page) and
/// how its cells align.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub title: String,
    pub weight: f32,
    pub align: Align,
}

impl Column {
    pub fn left(title: &str, weight: f32) -> Self {
        Column {
            title: title.to_owned(),
            weight,
            align: Align::Left,
        }
    }
    pub fn right(title: &str, weight: f32) -> Self {
        Column {
            title: title.to_owned(),
            weight,
            align: Align::Right,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cells: Vec<String>,
    pub style: RowStyle,
}

impl Row {
    pub fn new(cells: Vec<String>) -> Self {
        Row {
            cells,
            style: RowStyle::Normal,
        }
    }
    pub fn styled(cells: Vec<String>, style: RowStyle) -> Self {
        Row { cells, style }
    }
}

/// A table laid out by [`Flow::table`]: cells too wide for their column wrap (and are cut with
/// an ellipsis past [`Table::MAX_LINES`]); missing cells are blank, extra ones ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// The text size in points.
    pub size: f32,
}

impl Table {
    /// The most lines a cell wraps onto.
    pub const MAX_LINES: usize = 3;
}

/// Lines of a wrapped table cell are this many sizes apart.
const LINE_GAP: f32 = 1.2;

/// `text` broken at spaces into lines no wider than `width`, `max_lines` at most: a word too
/// long for a line, and the last line when text remains, are cut with an ellipsis.
pub fn wrap(font: Font, size: f32, text: &str, width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut current = String::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if lines.len() + 1 == max_lines {
            // The last line allowed: the rest of the text, cut to fit.
            let rest = words[i..].join(" ");
            let last = if current.is_empty() {
                rest
            } else {
                format!("{current} {rest}")
            };
            lines.push(fit(font, size, &last, width));
            return lines;
        }
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if text_width(font, size, &candidate) <= width {
            current = candidate;
            i += 1;
        } else if current.is_empty() {
            lines.push(fit(font, size, word, width));
            i += 1;
        } else {
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// A table cell placed in its column, its text broken into lines.
#[derive(Clone, Debug)]
struct CellLayout {
    x: f32,
    width: f32,
    pad: f32,
    align: Align,
    lines: Vec<String>,
}

fn layout_row(
    columns: &[(f32, f32, Align)],
    cells: &[String],
    font: Font,
    size: f32,
) -> Vec<CellLayout> {
    let pad = size * 0.35;
    columns
        .iter()
        .zip(cells)
        .map(|(&(x, width, align), text)| CellLayout {
            x,
            width,
            pad,
            align,
            lines: wrap(
                font,
                size,
                text,
                (width - 2.0 * pad).max(0.0),
                Table::MAX_LINES,
            ),
        })
        .collect()
}

fn row_height(cells: &[CellLayout], size: f32) -> f32 {
    let lines = cells
        .iter()
        .map(|c| c.lines.len())
        .max()
        .unwrap_or(1)
        .max(1);
    size * 1.6 + (lines - 1) as f32 * size * LINE_GAP
}

/// Lays out a document from the top of the first page down, starting new pages as needed, and
/// puts a footer (a text on the left, "Page n / N" on the right) on every page at the end.
#[derive(Clone, Debug)]
pub struct Flow {
    doc: Document,
    margin: f32,
    /// The top of what comes next, in points from the page's bottom.
    y: f32,
    footer: String,
}

/// The footer's text size and the room it takes above the bottom margin.
const FOOTER_SIZE: f32 = 7.5;
const FOOTER_ROOM: f32 = 14.0;

impl Flow {
    /// A flow on pages of `size` with 36-point (12.7 mm) margins.
    pub fn new(size: PageSize, footer: &str) -> Self {
        let mut doc = Document::new(size);
        doc.new_page();
        let margin = 36.0;
        Flow {
            doc,
            margin,
            y: size.height - margin,
            footer: footer.to_owned(),
        }
    }

    /// The width between the margins.
    pub fn content_width(&self) -> f32 {
        self.doc.size.width - 2.0 * self.margin
    }

    fn bottom(&self) -> f32 {
        self.margin + FOOTER_ROOM
    }

    fn page(&mut self) -> &mut Page {
        if self.doc.pages.is_empty() {
            self.doc.new_page();
        }
        let last = self.doc.pages.len() - 1;
        &mut self.doc.pages[last]
    }

    /// Starts a new page.
    pub fn page_break(&mut self) {
        self.doc.new_page();
        self.y = self.doc.size.height - self.margin;
    }

    /// Makes sure `height` points fit above the footer, starting a new page when they do not
    /// (unless the page is still empty: a block taller than a page is drawn anyway).
    fn room(&mut self, height: f32) {
        let top = self.doc.size.height - self.margin;
        if self.y - height < self.bottom() && self.y < top {
            self.page_break();
        }
    }

    /// Blank space.
    pub fn space(&mut self, height: f32) {
        self.y -= height;
    }

    /// A line of bold text (cut to the width).
    pub fn heading(&mut self, text: &str, size: f32) {
        let line = size * 1.3;
        // A heading is not left alone at the bottom of a page.
        self.room(line + 3.0 * size);
        let x = self.margin;
        let width = self.content_width();
        let baseline = self.y - size;
        let text = fit(Font::Bold, size, text, width);
        self.page().text(x, baseline, Font::Bold, size, &text);
        self.y -= line;
    }

    /// Text wrapped at spaces to the width between the margins.
    pub fn paragraph(&mut self, font: Font, size: f32, text: &str) {
        let width = self.content_width();
        let line = size * 1.35;
        let x = self.margin;
        for l in wrap(font, size, text, width, usize::MAX) {
            self.room(line);
            let baseline = self.y - size;
            self.page().text(x, baseline, font, size, &l);
            self.y -= line;
        }
    }

    /// A thin rule across the width.
    pub fn rule(&mut self) {
        self.room(6.0);
        let (x1, x2) = (self.margin, self.margin + self.content_width());
        let y = self.y - 3.0;
        self.page().rule(x1, x2, y, 0.5);
        self.y -= 6.0;
    }

    /// A table: the header row on top of each page it runs onto. A cell too long for its column
    /// wraps onto [`Table::MAX_LINES`] lines at most, the last one cut with an ellipsis.
    pub fn table(&mut self, table: &Table) {
        let size = if table.size.is_finite() && table.size > 0.0 {
            table.size
        } else {
            8.0
        };
        let weight = |c: &Column| {
            if c.weight.is_finite() {
                c.weight.max(0.0)
            } else {
                0.0
            }
        };
        let total_weight: f32 = table.columns.iter().map(weight).sum();
        if table.columns.is_empty() || total_weight <= 0.0 {
            return;
        }
        let scale = self.content_width() / total_weight;
        let mut columns = Vec::with_capacity(table.columns.len());
        let mut x = self.margin;
        for c in &table.columns {
            let w = weight(c) * scale;
            columns.push((x, w, c.align));
            x += w;
        }
        let left = self.margin;
        let right = self.margin + self.content_width();
        let top = self.doc.size.height - self.margin;

        let header: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        let header = layout_row(&columns, &header, Font::Bold, size);
        let header_height = row_height(&header, size);
        let mut first = true;
        for row in &table.rows {
            let font = match row.style {
                RowStyle::Total => Font::Bold,
                RowStyle::Normal | RowStyle::Struck => Font::Regular,
            };
            let cells = layout_row(&columns, &row.cells, font, size);
            let height = row_height(&cells, size);
            let needed = if first {
                header_height + height
            } else {
                height
            };
            if first || (self.y - needed < self.bottom() && self.y < top) {
                if self.y - needed < self.bottom() && self.y < top {
                    self.page_break();
                }
                self.draw_row(&header, RowStyle::Normal, Font::Bold, size, header_height);
                let y = self.y;
                self.page().rule(left, right, y, 0.6);
                first = false;
            }
            if row.style == RowStyle::Total {
                let y = self.y;
                let page = self.page();
                page.fill_rect(left, y - height, right - left, height, 0.92);
                page.rule(left, right, y, 0.4);
            }
            self.draw_row(&cells, row.style, font, size, height);
        }
        if first {
            // No rows: the header alone.
            self.room(header_height);
            self.draw_row(&header, RowStyle::Normal, Font::Bold, size, header_height);
            let y = self.y;
            self.page().rule(left, right, y, 0.6);
        }
        self.y -= size * 0.8;
    }

    /// Draws a laid-out row from the cursor down.
    fn draw_row(
        &mut self,
        cells: &[CellLayout],
        style: RowStyle,
        font: Font,
        size: f32,
        height: f32,
    ) {
        let first_baseline = self.y - size * 1.1;
        let struck = style == RowStyle::Struck;
        let page = self.page();
        if struck {
            page.set_gray(0.45);
        }
        for cell in cells {
            for (i, line) in cell.lines.iter().enumerate() {
                let baseline = first_baseline - i as f32 * size * LINE_GAP;
                let tx = match cell.align {
                    Align::Left => cell.x + cell.pad,
                    Align::Right => cell.x + cell.width - cell.pad - text_width(font, size, line),
                };
                page.text(tx, baseline, font, size, line);
                if struck {
                    page.strike(tx, baseline, font, size, line);
                }
            }
        }
        if struck {
            page.set_gray(0.0);
        }
        self.y -= height;
    }

    /// The pages so far.
    pub fn page_count(&self) -> usize {
        self.doc.page_count()
    }

    /// The document, each page with its footer.
    pub fn finish(mut self) -> Document {
        let n = self.doc.pages.len();
        let width = self.doc.size.width;
        let y = self.margin - FOOTER_SIZE - 2.0;
        let margin = self.margin;
        let footer = fit(
            Font::Regular,
            FOOTER_SIZE,
            &self.footer,
            self.content_width() * 0.75,
        );
        for (i, page) in self.doc.pages.iter_mut().enumerate() {
            page.rule(margin, width - margin, margin, 0.3);
            page.text(margin, y, Font::Regular, FOOTER_SIZE, &footer);
            page.text_right(
                width - margin,
                y,
                Font::Regular,
                FOOTER_SIZE,
                &format!("Page {} / {}", i + 1, n),
            );
        }
        self.doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_and_the_euro_sign_are_in_winansi() {
        assert_eq!(encode("Espèces"), b"Esp\xe8ces");
        assert_eq!(encode("Chèque 12,50 €"), b"Ch\xe8que 12,50 \x80");
        assert_eq!(encode("Œuvre «x» — n°"), b"\x8cuvre \xabx\xbb \x97 n\xb0");
        assert_eq!(encode("−3,20"), b"-3,20");
        assert_eq!(encode("日本\u{1}"), b"???");
    }

    #[test]
    fn the_fonts_are_named_as_readers_know_them() {
        // A reader finds the standard fonts by these names only: another name prints in a
        // substitute font whose widths are not the ones we aligned the text with.
        let mut doc = Document::new(A4_PORTRAIT);
        let page = doc.new_page();
        page.text(10.0, 10.0, Font::Regular, 10.0, "a");
        page.text(10.0, 30.0, Font::Bold, 10.0, "b");
        let bytes = String::from_utf8_lossy(&doc.to_bytes()).into_owned();
        assert!(bytes.contains("/BaseFont /Helvetica "), "{bytes}");
        assert!(bytes.contains("/BaseFont /Helvetica-Bold "), "{bytes}");
    }

    #[test]
    fn widths_follow_the_afm() {
        // Helvetica: A 667, space 278; Helvetica-Bold: A 722; € 556 in both.
        assert!((text_width(Font::Regular, 10.0, "A A") - 16.12).abs() < 1e-3);
        assert!((text_width(Font::Bold, 1000.0, "A") - 722.0).abs() < 1e-3);
        assert!((text_width(Font::Regular, 1000.0, "€é") - 1112.0).abs() < 1e-3);
        assert!(
            (text_width(Font::Regular, 1000.0, "日") - 556.0).abs() < 1e-3,
            "as ?"
        );
    }

    #[test]
    fn text_too_wide_is_cut_with_an_ellipsis() {
        let cut = fit(Font::Regular, 10.0, "Jean-Baptiste Poquelin", 50.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(text_width(Font::Regular, 10.0, &cut) <= 50.0);
        assert_eq!(fit(Font::Regular, 10.0, "ok", 50.0), "ok");
        assert_eq!(fit(Font::Regular, 10.0, "anything", 1.0), "");
    }

    #[test]
    fn text_wraps_at_spaces_onto_at_most_the_lines_allowed() {
        let text = "annulé le 07/10/2026 à 10:00 : chèque sans provision";
        let lines = wrap(Font::Regular, 10.0, text, 100.0, 9);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            assert!(text_width(Font::Regular, 10.0, l) <= 100.0, "{l}");
        }
        let two = wrap(Font::Regular, 10.0, text, 100.0, 2);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0], lines[0]);
        assert!(two[1].ends_with('…'));
        assert_eq!(
            wrap(Font::Regular, 10.0, "Supercalifragilistic", 30.0, 3).len(),
            1
        );
        assert!(wrap(Font::Regular, 10.0, "  ", 30.0, 3).is_empty());
        assert!(wrap(Font::Regular, 10.0, "x", 0.0, 3).is_empty());
    }

    #[test]
    fn strings_are_escaped_in_ascii() {
        assert_eq!(literal(b"a(b)c\\"), "(a\\(b\\)c\\\\)");
        assert_eq!(literal(b"\xe8\x80\n"), "(\\350\\200\\012)");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(f32::NAN), "0");
        assert_eq!(info_string("é€"), "<FEFF00E920AC>");
    }

    /// Every xref entry points at its object, and startxref at the table.
    fn check_xref(pdf: &[u8]) {
        let text = String::from_utf8_lossy(pdf);
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|s| s.lines().next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref\n0 "));
        let table = String::from_utf8(pdf[start..].to_vec()).unwrap();
        let mut lines = table.lines().skip(1);
        let count: usize = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(lines.next().unwrap(), "0000000000 65535 f ");
        for n in 1..count {
            let entry = lines.next().unwrap();
            assert_eq!(entry.len(), 19, "20 bytes with the newline: {entry:?}");
            let offset: usize = entry[..10].parse().unwrap();
            let head = format!("{n} 0 obj\n");
            assert!(pdf[offset..].starts_with(head.as_bytes()), "object {n}");
        }
        assert!(pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut doc = Document::new(A4_PORTRAIT).title("Journal de caisse — été");
        let p = doc.new_page();
        p.text(36.0, 800.0, Font::Bold, 14.0, "Journal de caisse");
        p.text_struck(36.0, 780.0, Font::Regular, 10.0, "R1-2026-00001 (annulé)");
        p.text_right(559.0, 760.0, Font::Regular, 10.0, "12,50 €");
        doc.new_page();
        let pdf = doc.to_bytes();
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        check_xref(&pdf);
        assert_eq!(pdf, doc.to_bytes(), "deterministic");
        // Stream lengths are the bytes between `stream\n` and `\nendstream`.
        let text = String::from_utf8_lossy(&pdf);
        for part in text.split("<< /Length ").skip(1) {
            let (len, rest) = part.split_once(" >>\nstream\n").unwrap();
            let len: usize = len.parse().unwrap();
            assert!(rest[len..].starts_with("\nendstream"));
        }
        check_xref(&Document::new(A4_LANDSCAPE).to_bytes());
    }

    #[test]
    fn a_long_table_runs_onto_pages_with_its_header_and_page_numbers() {
        let mut flow = Flow::new(A4_PORTRAIT, "Essai");
        flow.heading("Titre", 14.0);
        let rows = (0..150)
            .map(|i| Row::new(vec![format!("ligne {i}"), format!("{i},00 €")]))
            .collect();
        flow.table(&Table {
            columns: vec![Column::left("Libellé", 3.0), Column::right("Montant", 1.0)],
            rows,
            size: 9.0,
        });
        let doc = flow.finish();
        assert!(doc.page_count() >= 3);
        let pdf = doc.to_bytes();
        check_xref(&pdf);
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("(Libell\\351)").count(), doc.page_count());
        let last = format!("(Page {n} / {n})", n = doc.page_count());
        assert!(text.contains(&last));
    }
}
