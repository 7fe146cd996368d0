//! The family notice (*avis aux familles*) of a term: one per family, every child the payer
//! pays for, each child's liquidation line by line (the forfait, every remise d'ordre, every
//! aid) and the total to pay. When the family is owed money (aid above the forfait), the
//! notice is an *avis de versement* instead. French, A4 portrait, with our own
//! [`crate::pdf`] writer.
//!
//! The payer's address sits where a DL envelope with a right-hand window shows it (the usual
//! French window envelope, 110 × 220 mm, window 45 × 100 mm, 20 mm from the right edge and
//! 50 mm from the top of the sheet folded in three): [`ADDRESS_LEFT_MM`], [`ADDRESS_TOP_MM`],
//! at most [`ADDRESS_LINES`] lines of at most [`ADDRESS_WIDTH_MM`] (NF Z 10-011's six lines).

use chrono::NaiveDate;
use selfgate_rules::family::Guardian;
use selfgate_rules::model::format_euros;

use super::{LineKind, Liquidation, Term};
use crate::pdf::{self, Column, Document, Flow, Font, Row, RowStyle, Table};

/// The address block's left edge, from the sheet's left edge.
pub const ADDRESS_LEFT_MM: f32 = 95.0;
/// The address block's first line, from the sheet's top edge.
pub const ADDRESS_TOP_MM: f32 = 52.0;
/// The address block's width (the window's, less 5 mm of play).
pub const ADDRESS_WIDTH_MM: f32 = 90.0;
/// Lines of an address (NF Z 10-011).
pub const ADDRESS_LINES: usize = 6;

const MM: f32 = 72.0 / 25.4;

/// What every notice says of the school.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolHeader {
    pub name: String,
    pub uai: String,
    /// Postal address lines.
    pub address: Vec<String>,
    /// How to pay (`[billing] payment`): printed under the total.
    pub payment: String,
}

/// One child on a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    /// "DURAND Léa".
    pub name: String,
    pub class: String,
    pub liquidation: Liquidation,
}

/// A family's notice for a term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub school: SchoolHeader,
    /// Who pays; `None` when SIÈCLE gave no guardian: the notice goes to the family of the
    /// first child, without a postal address.
    pub payer: Option<Guardian>,
    /// The notice's number, unique in the term (`2026-T1-00042`).
    pub number: String,
    pub issued: NaiveDate,
    pub term: Term,
    pub children: Vec<Child>,
}

impl Notice {
    /// What the family owes in all (negative: what the school pays back).
    pub fn total_cents(&self) -> i64 {
        self.children
            .iter()
            .map(|c| c.liquidation.total_cents())
            .sum()
    }

    /// An *avis de versement*: the school owes the family.
    pub fn is_refund(&self) -> bool {
        self.total_cents() < 0
    }

    /// The title printed on top.
    pub fn title(&self) -> &'static str {
        if self.is_refund() {
            "Avis de versement"
        } else {
            "Avis aux familles"
        }
    }

    /// The lines of the address block: the payer's postal lines, or "Aux responsables de" the
    /// first child.
    pub fn address_lines(&self) -> Vec<String> {
        let mut lines = match &self.payer {
            Some(g) => {
                let mut lines = vec![g.postal_name()];
                lines.extend(g.postal_lines());
                lines
            }
            None => vec![
                "Aux responsables légaux de".to_owned(),
                self.children
                    .first()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            ],
        };
        lines.truncate(ADDRESS_LINES);
        lines
    }

    /// The notice alone, as a PDF.
    pub fn to_pdf(&self) -> Vec<u8> {
        self.document().to_bytes()
    }

    fn document(&self) -> Document {
        let footer = format!(
            "{} n° {} — {} — {}",
            self.title(),
            self.number,
            self.school.name,
            self.term_line()
        );
        let mut flow = Flow::new(pdf::A4_PORTRAIT, &footer);
        // The school's header and the address block are placed on the first page below;
        // the flow starts under the window.
        flow.space((ADDRESS_TOP_MM + 6.0 * 5.0) * MM - 36.0);
        flow.heading(&format!("{} — Restauration scolaire", self.title()), 15.0);
        flow.paragraph(Font::Regular, 10.0, &self.term_line());
        flow.paragraph(
            Font::Regular,
            10.0,
            &format!(
                "Avis n° {} émis le {}",
                self.number,
                self.issued.format("%d/%m/%Y")
            ),
        );
        flow.space(8.0);
        for child in &self.children {
            self.child_block(&mut flow, child);
        }
        flow.rule();
        let total = self.total_cents();
        if total < 0 {
            flow.paragraph(
                Font::Bold,
                13.0,
                &format!("Somme qui vous sera versée : {}", format_euros(-total)),
            );
            flow.paragraph(
                Font::Regular,
                9.5,
                "L'aide accordée dépasse le forfait du trimestre : l'agent comptable vous \
                 verse la différence. Si l'établissement n'a pas votre relevé d'identité \
                 bancaire, merci de le transmettre au service de gestion.",
            );
        } else {
            flow.paragraph(
                Font::Bold,
                13.0,
                &format!("Total à payer : {}", format_euros(total)),
            );
            if !self.school.payment.trim().is_empty() {
                flow.space(4.0);
                flow.paragraph(Font::Regular, 9.5, self.school.payment.trim());
            }
        }
        flow.space(10.0);
        flow.paragraph(
            Font::Regular,
            8.0,
            "Le forfait est dû pour le trimestre entier ; il est calculé sur les jours de \
             service du trimestre, fermetures et jours fériés déduits. Une absence pour \
             maladie d'au moins deux semaines, justifiée et demandée avant la date limite du \
             trimestre, donne droit à une remise d'ordre. Une question ? Le service de gestion \
             de l'établissement vous répond.",
        );
        let mut doc = flow.finish().title(&format!(
            "{} n° {} — {}",
            self.title(),
            self.number,
            self.school.name
        ));
        self.first_page(&mut doc);
        doc
    }

    fn term_line(&self) -> String {
        let label = if self.term.label.trim().is_empty() {
            self.term.code.clone()
        } else {
            self.term.label.clone()
        };
        format!(
            "{label} (du {} au {}) — année scolaire {}-{}",
            self.term.from.format("%d/%m/%Y"),
            self.term.to.format("%d/%m/%Y"),
            self.term.year,
            u32::from(self.term.year) + 1
        )
    }

    fn child_block(&self, flow: &mut Flow, child: &Child) {
        let forfait = child
            .liquidation
            .forfait
            .map(|f| f.label_fr())
            .unwrap_or_else(|| "pas de forfait ce trimestre".to_owned());
        let who = if child.class.trim().is_empty() {
            child.name.clone()
        } else {
            format!("{} — {}", child.name, child.class)
        };
        flow.heading(&format!("{who} — {forfait}"), 11.0);
        let mut rows: Vec<Row> = child
            .liquidation
            .lines
            .iter()
            .map(|l| {
                let what = match l.kind {
                    LineKind::Forfait => "Forfait".to_owned(),
                    LineKind::Remise(c) => format!("Remise d'ordre — {}", c.label_fr()),
                    LineKind::Aide(k) => format!("Aide — {}", k.label_fr()),
                };
                let days = if l.days > 0 {
                    l.days.to_string()
                } else {
                    String::new()
                };
                let unit = if l.unit_cents > 0 && l.days > 0 {
                    format_euros(l.unit_cents)
                } else {
                    String::new()
                };
                Row::new(vec![
                    what,
                    format!(
                        "du {} au {}",
                        l.from.format("%d/%m/%Y"),
                        l.to.format("%d/%m/%Y")
                    ),
                    days,
                    unit,
                    format_euros(l.cents),
                ])
            })
            .collect();
        rows.push(Row::styled(
            vec![
                format!("Total pour {}", child.name),
                String::new(),
                String::new(),
                String::new(),
                format_euros(child.liquidation.total_cents()),
            ],
            RowStyle::Total,
        ));
        flow.table(&Table {
            columns: vec![
                Column::left("Objet", 4.0),
                Column::left("Période", 3.2),
                Column::right("Jours", 1.0),
                Column::right("Prix du jour", 1.5),
                Column::right("Montant", 1.6),
            ],
            rows,
            size: 8.5,
        });
        flow.space(8.0);
    }

    /// The school's header (top left) and the address in the window, on the first page.
    fn first_page(&self, doc: &mut Document) {
        let height = doc.size().height;
        let Some(page) = doc.page_mut(0) else {
            return;
        };
        let left = 36.0;
        let mut y = height - 36.0 - 11.0;
        page.text(
            left,
            y,
            Font::Bold,
            11.0,
            &pdf::fit(Font::Bold, 11.0, &self.school.name, 240.0),
        );
        for line in &self.school.address {
            y -= 12.0;
            page.text(
                left,
                y,
                Font::Regular,
                9.5,
                &pdf::fit(Font::Regular, 9.5, line, 240.0),
            );
        }
        if !self.school.uai.trim().is_empty() {
            y -= 12.0;
            page.text(
                left,
                y,
                Font::Regular,
                8.5,
                &format!("UAI {} — Service de gestion", self.school.uai.trim()),
            );
        }
        let x = ADDRESS_LEFT_MM * MM;
        let width = ADDRESS_WIDTH_MM * MM;
        let mut y = height - ADDRESS_TOP_MM * MM - 10.5;
        for (i, line) in self.address_lines().iter().enumerate() {
            let font = if i == 0 { Font::Bold } else { Font::Regular };
            page.text(x, y, font, 10.5, &pdf::fit(font, 10.5, line, width));
            y -= 13.0;
        }
    }
}

/// All `notices` in one PDF, one after the other (each numbered "Page n / N" on its own), for
/// printing a term's mail at once.
pub fn merged_pdf(notices: &[Notice]) -> Vec<u8> {
    let mut docs = notices.iter().map(Notice::document);
    let Some(mut all) = docs.next() else {
        return Document::new(pdf::A4_PORTRAIT)
            .title("Avis aux familles")
            .to_bytes();
    };
    for d in docs {
        all.append(d);
    }
    all.title("Avis aux familles").to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{ForfaitKind, Line};
    use selfgate_rules::family::GuardianLink;
    use selfgate_rules::model::PersonId;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn term() -> Term {
        Term {
            code: "T1".into(),
            label: "Premier trimestre".into(),
            year: 2026,
            from: day(9, 1),
            to: day(12, 18),
            remise_deadline: day(12, 31),
        }
    }

    fn child(name: &str, lines: &[(LineKind, i64)]) -> Child {
        Child {
            name: name.into(),
            class: "6A".into(),
            liquidation: Liquidation {
                person: PersonId(1),
                year: 2026,
                term: "T1".into(),
                forfait: Some(ForfaitKind::Dp(4)),
                lines: lines
                    .iter()
                    .map(|&(kind, cents)| Line {
                        kind,
                        label: String::new(),
                        from: day(9, 1),
                        to: day(12, 18),
                        days: 0,
                        unit_cents: 0,
                        cents,
                    })
                    .collect(),
            },
        }
    }

    fn notice(children: Vec<Child>, payer: Option<Guardian>) -> Notice {
        Notice {
            school: SchoolHeader {
                name: "Collège Test".into(),
                uai: "0310000A".into(),
                address: vec!["1 rue A".into(), "31000 Toulouse".into()],
                payment: "Par chèque à l'ordre de l'agent comptable.".into(),
            },
            payer,
            number: "2026-T1-00001".into(),
            issued: day(10, 1),
            term: term(),
            children,
        }
    }

    fn guardian() -> Guardian {
        Guardian {
            id: "G1".into(),
            civility: "Mme".into(),
            last_name: "DURAND".into(),
            first_name: "Marie".into(),
            address: vec!["3 rue des Lilas".into()],
            postal_code: "31000".into(),
            city: "TOULOUSE".into(),
            country: String::new(),
            email: String::new(),
            phone: String::new(),
            children: vec![GuardianLink {
                eleve_id: "1".into(),
                legal: true,
                rank: 1,
                pays: true,
                relation: String::new(),
                ended: None,
            }],
        }
    }

    #[test]
    fn the_total_adds_every_child_and_a_negative_one_is_a_refund() {
        let n = notice(
            vec![
                child("A", &[(LineKind::Forfait, 22_550)]),
                child(
                    "B",
                    &[
                        (LineKind::Forfait, 22_550),
                        (LineKind::Remise(super::super::RemiseCause::Maladie), -4_100),
                    ],
                ),
            ],
            Some(guardian()),
        );
        assert_eq!(n.total_cents(), 41_000);
        assert_eq!(n.title(), "Avis aux familles");
        let refund = notice(
            vec![child(
                "C",
                &[
                    (LineKind::Forfait, 10_000),
                    (
                        LineKind::Aide(selfgate_rules::journal::AidKind::FondsSocial),
                        -12_000,
                    ),
                ],
            )],
            None,
        );
        assert!(refund.is_refund());
        assert_eq!(refund.title(), "Avis de versement");
        assert_eq!(refund.address_lines(), ["Aux responsables légaux de", "C"]);
    }

    #[test]
    fn the_pdf_is_deterministic_and_merging_keeps_every_page() {
        let a = notice(
            vec![child("A", &[(LineKind::Forfait, 100)])],
            Some(guardian()),
        );
        let b = notice(vec![child("B", &[(LineKind::Forfait, 200)])], None);
        assert_eq!(a.to_pdf(), a.to_pdf());
        let pdf = a.to_pdf();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let merged = merged_pdf(&[a.clone(), b.clone()]);
        let pages = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .matches("/Type /Page /")
                .count()
        };
        assert_eq!(pages(&merged), pages(&a.to_pdf()) + pages(&b.to_pdf()));
    }
}
