//! The bordereau of receivables (*bordereau des droits constatés*) handed to the accounting
//! officer: one numbered bordereau per constatation run, one line per pupil billed or
//! re-billed, who owes it, the forfait, the remises d'ordre, the aid and the net, and the
//! totals. Three forms of the same lines: a PDF to sign and file, a CSV whose columns are
//! stable ([`CSV_COLUMNS`], documented in `docs/billing.md`) for a spreadsheet or another
//! program, and an XLSX workbook.
//!
//! Its filing reference is `<UAI>-<year>-<term>-B<nn>` ([`Bordereau::reference`]).

use chrono::NaiveDate;
use selfgate_rules::journal::ReceivableKind;
use selfgate_rules::model::format_euros;

use super::Term;
use super::xlsx::{Cell as XCell, Sheet, Workbook, XlsxError};
use crate::csv::{Cell, Csv};
use crate::pdf::{self, Column, Flow, Font, Row, RowStyle, Table};

/// The CSV's columns, in order. Part of the product: a program reading the file may rely on
/// them; a new column goes at the end.
pub const CSV_COLUMNS: [&str; 17] = [
    "Référence",
    "Ligne",
    "Nature",
    "Identifiant élève",
    "Nom élève",
    "Classe",
    "Forfait",
    "Identifiant débiteur",
    "Débiteur",
    "Adresse débiteur",
    "Code postal",
    "Commune",
    "Forfait (€)",
    "Remises (€)",
    "Aides (€)",
    "Net (€)",
    "Trimestre",
];

/// One line of a bordereau, with the names the receivable event only refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BordereauLine {
    pub line: u32,
    pub kind: ReceivableKind,
    pub pupil_id: String,
    /// "DURAND Léa".
    pub pupil: String,
    pub class: String,
    /// `dp4`, `interne`… (empty when none any more).
    pub forfait: String,
    pub debtor_id: String,
    /// "Mme Marie DURAND" (empty when no guardian is known).
    pub debtor: String,
    /// The street lines, joined with ", ".
    pub debtor_address: String,
    pub postal_code: String,
    pub city: String,
    pub forfait_cents: i64,
    pub remises_cents: i64,
    pub aides_cents: i64,
    pub cents: i64,
}

/// A bordereau: its number in the term and its lines in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bordereau {
    pub school: String,
    pub uai: String,
    pub term: Term,
    pub number: u32,
    /// The day the document is made.
    pub issued: NaiveDate,
    pub lines: Vec<BordereauLine>,
}

/// The totals of a bordereau's columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub forfait_cents: i64,
    pub remises_cents: i64,
    pub aides_cents: i64,
    pub cents: i64,
}

impl Bordereau {
    /// `<UAI>-<year>-<term>-B<nn>`: `0310000A-2026-T1-B01`.
    pub fn reference(&self) -> String {
        let uai = if self.uai.trim().is_empty() {
            "UAI"
        } else {
            self.uai.trim()
        };
        format!(
            "{uai}-{}-{}-B{:02}",
            self.term.year, self.term.code, self.number
        )
    }

    /// The sums of the columns (saturating: amounts are bounded far below).
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for l in &self.lines {
            t.forfait_cents = t.forfait_cents.saturating_add(l.forfait_cents);
            t.remises_cents = t.remises_cents.saturating_add(l.remises_cents);
            t.aides_cents = t.aides_cents.saturating_add(l.aides_cents);
            t.cents = t.cents.saturating_add(l.cents);
        }
        t
    }

    fn kind_fr(kind: ReceivableKind) -> &'static str {
        match kind {
            ReceivableKind::Constatation => "Constatation",
            ReceivableKind::Reconstatation => "Reconstatation",
        }
    }

    /// The CSV: a header row of [`CSV_COLUMNS`], one row per line; no total row (a program
    /// sums the column).
    pub fn to_csv(&self) -> String {
        let reference = self.reference();
        let term = format!("{}-{}", self.term.year, self.term.code);
        let mut csv = Csv::new();
        csv.texts(&CSV_COLUMNS);
        for l in &self.lines {
            let line = l.line.to_string();
            csv.row(&[
                Cell::Text(&reference),
                Cell::Text(&line),
                Cell::Text(Self::kind_fr(l.kind)),
                Cell::Text(&l.pupil_id),
                Cell::Text(&l.pupil),
                Cell::Text(&l.class),
                Cell::Text(&l.forfait),
                Cell::Text(&l.debtor_id),
                Cell::Text(&l.debtor),
                Cell::Text(&l.debtor_address),
                Cell::Text(&l.postal_code),
                Cell::Text(&l.city),
                Cell::Amount(l.forfait_cents),
                Cell::Amount(l.remises_cents),
                Cell::Amount(l.aides_cents),
                Cell::Amount(l.cents),
                Cell::Text(&term),
            ]);
        }
        csv.finish()
    }

    /// The workbook: one sheet of the lines with a bold total row.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut sheet = Sheet::new(&format!("Bordereau B{:02}", self.number));
        sheet.header(&CSV_COLUMNS);
        let reference = self.reference();
        let term = format!("{}-{}", self.term.year, self.term.code);
        for l in &self.lines {
            sheet.row(vec![
                XCell::text(&reference),
                XCell::Integer(i64::from(l.line)),
                XCell::text(Self::kind_fr(l.kind)),
                XCell::text(&l.pupil_id),
                XCell::text(&l.pupil),
                XCell::text(&l.class),
                XCell::text(&l.forfait),
                XCell::text(&l.debtor_id),
                XCell::text(&l.debtor),
                XCell::text(&l.debtor_address),
                XCell::text(&l.postal_code),
                XCell::text(&l.city),
                XCell::Euros(l.forfait_cents),
                XCell::Euros(l.remises_cents),
                XCell::Euros(l.aides_cents),
                XCell::Euros(l.cents),
                XCell::text(&term),
            ]);
        }
        let t = self.totals();
        let mut total = vec![
            XCell::text("Total"),
            XCell::Integer(self.lines.len() as i64),
        ];
        total.extend(std::iter::repeat_n(XCell::Empty, 10));
        total.extend([
            XCell::Euros(t.forfait_cents),
            XCell::Euros(t.remises_cents),
            XCell::Euros(t.aides_cents),
            XCell::Euros(t.cents),
        ]);
        sheet.bold_row(total);
        let mut book = Workbook::new();
        book.push(sheet);
        book.to_bytes()
    }

    /// The PDF to sign: A4 landscape, the lines and the totals, the ordonnateur's signature.
    pub fn to_pdf(&self) -> Vec<u8> {
        let reference = self.reference();
        let footer = format!("Bordereau {reference} — {}", self.school);
        let mut flow = Flow::new(pdf::A4_LANDSCAPE, &footer);
        flow.paragraph(Font::Bold, 11.0, &self.school);
        if !self.uai.trim().is_empty() {
            flow.paragraph(Font::Regular, 9.0, &format!("UAI {}", self.uai.trim()));
        }
        flow.space(6.0);
        flow.heading(
            &format!(
                "Bordereau des droits constatés n° {} — {}",
                self.number, reference
            ),
            15.0,
        );
        let label = if self.term.label.trim().is_empty() {
            self.term.code.clone()
        } else {
            self.term.label.clone()
        };
        flow.paragraph(
            Font::Regular,
            10.0,
            &format!(
                "Restauration scolaire — {label} {}-{} (du {} au {}) — établi le {}",
                self.term.year,
                u32::from(self.term.year) + 1,
                self.term.from.format("%d/%m/%Y"),
                self.term.to.format("%d/%m/%Y"),
                self.issued.format("%d/%m/%Y")
            ),
        );
        flow.space(8.0);
        let mut rows: Vec<Row> = self
            .lines
            .iter()
            .map(|l| {
                let debtor = match (l.debtor.is_empty(), l.city.is_empty()) {
                    (true, _) => "(responsable inconnu)".to_owned(),
                    (false, true) => l.debtor.clone(),
                    (false, false) => format!("{} — {} {}", l.debtor, l.postal_code, l.city),
                };
                Row::new(vec![
                    l.line.to_string(),
                    Self::kind_fr(l.kind).to_owned(),
                    format!("{} ({})", l.pupil, l.pupil_id),
                    l.class.clone(),
                    l.forfait.clone(),
                    debtor,
                    format_euros(l.forfait_cents),
                    format_euros(l.remises_cents),
                    format_euros(l.aides_cents),
                    format_euros(l.cents),
                ])
            })
            .collect();
        let t = self.totals();
        rows.push(Row::styled(
            vec![
                String::new(),
                format!("{} lignes", self.lines.len()),
                "Total du bordereau".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                format_euros(t.forfait_cents),
                format_euros(t.remises_cents),
                format_euros(t.aides_cents),
                format_euros(t.cents),
            ],
            RowStyle::Total,
        ));
        flow.table(&Table {
            columns: vec![
                Column::right("Ligne", 0.7),
                Column::left("Nature", 1.5),
                Column::left("Élève", 3.2),
                Column::left("Classe", 0.9),
                Column::left("Forfait", 0.9),
                Column::left("Débiteur", 3.6),
                Column::right("Forfait", 1.3),
                Column::right("Remises", 1.3),
                Column::right("Aides", 1.3),
                Column::right("Net", 1.3),
            ],
            rows,
            size: 8.0,
        });
        flow.space(12.0);
        flow.paragraph(
            Font::Regular,
            10.0,
            &format!(
                "Arrêté le présent bordereau à la somme nette de {} ({} lignes).",
                format_euros(t.cents),
                self.lines.len()
            ),
        );
        flow.space(8.0);
        flow.paragraph(
            Font::Regular,
            10.0,
            "L'ordonnateur (chef d'établissement)                                        \
             Pris en charge par l'agent comptable",
        );
        flow.space(40.0);
        flow.paragraph(
            Font::Regular,
            8.0,
            "Une reconstatation corrige une ligne d'un bordereau précédent (arrivée, départ, \
             remise d'ordre ou aide connue après coup) : son montant est la différence, en \
             plus ou en moins. Les bordereaux d'un trimestre sont numérotés sans interruption.",
        );
        flow.finish()
            .title(&format!("Bordereau {reference}"))
            .to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bordereau() -> Bordereau {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let line = |n: u32, cents: i64| BordereauLine {
            line: n,
            kind: ReceivableKind::Constatation,
            pupil_id: format!("{n}"),
            pupil: format!("=ÉLÈVE {n}"),
            class: "6A".into(),
            forfait: "dp4".into(),
            debtor_id: "G1".into(),
            debtor: "Mme DURAND; Marie".into(),
            debtor_address: "3 rue des Lilas".into(),
            postal_code: "31000".into(),
            city: "TOULOUSE".into(),
            forfait_cents: cents,
            remises_cents: 100,
            aides_cents: 0,
            cents: cents - 100,
        };
        Bordereau {
            school: "Collège Test".into(),
            uai: "0310000A".into(),
            term: Term {
                code: "T1".into(),
                label: "Premier trimestre".into(),
                year: 2026,
                from: day(9, 1),
                to: day(12, 18),
                remise_deadline: day(12, 31),
            },
            number: 3,
            issued: day(10, 1),
            lines: vec![line(1, 22_550), line(2, 12_345)],
        }
    }

    #[test]
    fn the_reference_names_the_school_the_term_and_the_number() {
        assert_eq!(bordereau().reference(), "0310000A-2026-T1-B03");
    }

    #[test]
    fn the_csv_has_the_documented_columns_and_defused_cells() {
        let b = bordereau();
        let csv = b.to_csv();
        let mut lines = csv.trim_start_matches('\u{feff}').split("\r\n");
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(";").as_str()));
        let first = lines.next().unwrap();
        assert!(first.starts_with("0310000A-2026-T1-B03;1;Constatation;1;'=ÉLÈVE 1;6A;dp4;G1;"));
        assert!(first.contains("\"Mme DURAND; Marie\""));
        assert!(first.ends_with(";225,50;1,00;0,00;224,50;2026-T1"));
        assert_eq!(b.totals().cents, 22_450 + 12_245);
    }

    #[test]
    fn the_xlsx_is_a_zip_and_the_pdf_says_the_total() {
        let b = bordereau();
        let x = b.to_xlsx().unwrap();
        assert!(x.starts_with(b"PK"));
        let pdf = String::from_utf8_lossy(&b.to_pdf()).into_owned();
        assert!(pdf.contains("346,95"));
    }
}
