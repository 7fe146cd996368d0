//! A payment's receipt (*quittance*) as the family takes it away: the school, the régie, the
//! receipt number, the date, who it is for, the amount in figures and in words, the mode, the
//! payer and the member of staff who took it; a cancelled payment's receipt says so at its top.
//! French, one A4 page ([`ReceiptDoc::to_pdf`], with our own [`crate::pdf`] writer).

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use serde::Serialize;

use selfgate_rules::journal::{Event, EventKind, PaymentMode, Receipt};
use selfgate_rules::model::format_euros;

use crate::pdf::{self, Flow, Font};
use crate::reports::{Directory, local_time, unknown_name};

/// A receipt's cancellation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptCancel {
    /// Local date and time.
    pub at: NaiveDateTime,
    pub by: String,
    pub reason: String,
}

/// Everything a receipt prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptDoc {
    pub receipt: Receipt,
    pub school: String,
    /// The régie's name (its code is the receipt's).
    pub regie_name: String,
    /// Local date and time of the payment.
    pub at: NaiveDateTime,
    /// `NOM Prénom`, as the reports print names.
    pub person_name: String,
    pub class: String,
    pub cents: i64,
    pub mode: PaymentMode,
    pub payer: String,
    /// The member of staff who took it.
    pub by: String,
    pub note: String,
    pub cancelled: Option<ReceiptCancel>,
}

impl ReceiptDoc {
    /// The receipt of the payment journaled as `payment` (none when it is not a payment),
    /// cancelled by `cancel` when given; times in `tz`, the person named by `names`.
    pub fn from_events<D: Directory + ?Sized>(
        payment: &Event,
        cancel: Option<&Event>,
        tz: Tz,
        names: &D,
        school: &str,
        regie_name: &str,
    ) -> Option<ReceiptDoc> {
        let EventKind::Payment(p) = &payment.kind else {
            return None;
        };
        let (person_name, class) = names
            .name_and_class(p.person)
            .unwrap_or_else(|| (unknown_name(p.person), String::new()));
        let cancelled = cancel.and_then(|e| match &e.kind {
            EventKind::PaymentCancel(c) => Some(ReceiptCancel {
                at: local_time(tz, e.at),
                by: c.by.clone(),
                reason: c.reason.clone(),
            }),
            _ => None,
        });
        Some(ReceiptDoc {
            receipt: p.receipt.clone(),
            school: school.to_owned(),
            regie_name: regie_name.to_owned(),
            at: local_time(tz, payment.at),
            person_name,
            class,
            cents: p.cents,
            mode: p.mode.clone(),
            payer: p.payer.clone(),
            by: p.by.clone(),
            note: p.note.clone(),
            cancelled,
        })
    }

    /// The mode as the receipt prints it: "Chèque n° 1234567, La Banque Postale".
    fn mode_line(&self) -> String {
        match &self.mode {
            PaymentMode::Cheque { number, bank } => format!("Chèque n° {number}, {bank}"),
            PaymentMode::EnLigne { reference } => {
                format!("Paiement en ligne, référence {reference}")
            }
            PaymentMode::Import { reference } => format!("Import, référence {reference}"),
            m => m.label_fr().to_owned(),
        }
    }

    /// The receipt as a PDF: one A4 page, in French.
    pub fn to_pdf(&self) -> Vec<u8> {
        let number = self.receipt.to_string();
        let date = self.at.format("%d/%m/%Y à %H:%M").to_string();
        let footer = format!("Quittance n° {number} — {}", self.school);
        let mut flow = Flow::new(pdf::A4_PORTRAIT, &footer);
        flow.paragraph(Font::Bold, 11.0, &self.school);
        flow.paragraph(
            Font::Regular,
            10.0,
            &format!(
                "Régie de recettes : {} ({})",
                self.regie_name, self.receipt.regie
            ),
        );
        flow.space(14.0);
        flow.heading(&format!("Quittance n° {number}"), 18.0);
        flow.paragraph(Font::Regular, 10.0, &format!("Délivrée le {date}"));
        if let Some(c) = &self.cancelled {
            flow.space(6.0);
            let mut line = format!(
                "QUITTANCE ANNULÉE le {} par {}",
                c.at.format("%d/%m/%Y à %H:%M"),
                c.by
            );
            if !c.reason.is_empty() {
                line.push_str(&format!(" : {}", c.reason));
            }
            flow.paragraph(Font::Bold, 12.0, &line);
        }
        flow.space(10.0);
        flow.rule();
        flow.space(6.0);
        let payer = if self.payer.is_empty() {
            "—"
        } else {
            self.payer.as_str()
        };
        let person = if self.class.is_empty() {
            self.person_name.clone()
        } else {
            format!("{} ({})", self.person_name, self.class)
        };
        flow.paragraph(Font::Regular, 11.0, &format!("Reçu de : {payer}"));
        flow.space(4.0);
        flow.paragraph(
            Font::Bold,
            14.0,
            &format!("La somme de {}", format_euros(self.cents)),
        );
        flow.paragraph(
            Font::Regular,
            11.0,
            &format!("soit {}", amount_in_words(self.cents)),
        );
        flow.space(4.0);
        flow.paragraph(Font::Regular, 11.0, &format!("Au bénéfice de : {person}"));
        flow.paragraph(
            Font::Regular,
            11.0,
            "Objet : crédit du compte de restauration (prépaiement des repas)",
        );
        flow.paragraph(
            Font::Regular,
            11.0,
            &format!("Mode de paiement : {}", self.mode_line()),
        );
        if !self.note.is_empty() {
            flow.paragraph(Font::Regular, 11.0, &format!("Note : {}", self.note));
        }
        flow.space(10.0);
        flow.rule();
        flow.space(10.0);
        flow.paragraph(
            Font::Regular,
            11.0,
            &format!("Le régisseur (ou son mandataire) : {}", self.by),
        );
        flow.space(36.0);
        flow.paragraph(Font::Regular, 9.0, "Signature et cachet de la régie");
        flow.space(24.0);
        flow.paragraph(
            Font::Regular,
            8.0,
            "Cette quittance est numérotée sans interruption par régie et par année scolaire. \
             Un versement fait par erreur est annulé par une écriture qui y renvoie : la \
             quittance reste au journal et son numéro n'est jamais redonné.",
        );
        flow.finish()
            .title(&format!("Quittance n° {number}"))
            .to_bytes()
    }
}

const UNITS: [&str; 17] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
    "douze", "treize", "quatorze", "quinze", "seize",
];

fn unit(n: u64) -> &'static str {
    UNITS[usize::try_from(n).unwrap_or(0) % UNITS.len()]
}

/// 0 to 99 (traditional spelling: "vingt et un", "soixante-dix", "quatre-vingts"); `last`:
/// nothing follows, so "quatre-vingts" takes its s.
fn below_100(n: u64, last: bool) -> String {
    const TENS: [&str; 7] = [
        "",
        "dix",
        "vingt",
        "trente",
        "quarante",
        "cinquante",
        "soixante",
    ];
    match n {
        0..=16 => unit(n).to_owned(),
        17..=19 => format!("dix-{}", unit(n - 10)),
        20..=69 => {
            let ten = TENS[usize::try_from(n / 10).unwrap_or(0) % TENS.len()];
            match n % 10 {
                0 => ten.to_owned(),
                1 => format!("{ten} et un"),
                u => format!("{ten}-{}", unit(u)),
            }
        }
        71 => "soixante et onze".to_owned(),
        70..=79 => format!("soixante-{}", below_100(n - 60, true)),
        80 if last => "quatre-vingts".to_owned(),
        80 => "quatre-vingt".to_owned(),
        _ => format!("quatre-vingt-{}", below_100(n % 100 - 80, true)),
    }
}

/// 0 to 999; `last`: nothing follows ("deux cents", but "deux cent mille").
fn below_1000(n: u64, last: bool) -> String {
    let (h, r) = (n / 100, n % 100);
    let hundreds = match h {
        0 => String::new(),
        1 => "cent".to_owned(),
        h if r == 0 && last => format!("{} cents", below_100(h, true)),
        h => format!("{} cent", below_100(h, true)),
    };
    match (hundreds.is_empty(), r) {
        (true, r) => below_100(r, last),
        (false, 0) => hundreds,
        (false, r) => format!("{hundreds} {}", below_100(r, last)),
    }
}

/// A whole number in French words.
fn number(n: u64) -> String {
    if n == 0 {
        return unit(0).to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    let billions = n / 1_000_000_000;
    let millions = (n / 1_000_000) % 1000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if billions > 0 {
        parts.push(if billions == 1 {
            "un milliard".to_owned()
        } else {
            format!("{} milliards", number(billions))
        });
    }
    if millions > 0 {
        parts.push(match millions {
            1 => "un million".to_owned(),
            m => format!("{} millions", below_1000(m, true)),
        });
    }
    if thousands > 0 {
        parts.push(match thousands {
            1 => "mille".to_owned(),
            k => format!("{} mille", below_1000(k, false)),
        });
    }
    if rest > 0 {
        parts.push(below_1000(rest, true));
    }
    parts.join(" ")
}

/// An amount in French words, as a receipt writes it: "vingt euros et cinquante centimes",
/// "un euro", "quatre-vingts euros", "un million d'euros".
pub fn amount_in_words(cents: i64) -> String {
    let sign = if cents < 0 { "moins " } else { "" };
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    let euros = match units {
        0 if rest > 0 => String::new(),
        0 => "zéro euro".to_owned(),
        1 => "un euro".to_owned(),
        n => {
            let w = number(n);
            let noun = ["million", "millions", "milliard", "milliards"]
                .iter()
                .any(|x| w.ends_with(x));
            if noun {
                format!("{w} d'euros")
            } else {
                format!("{w} euros")
            }
        }
    };
    let centimes = match rest {
        0 => String::new(),
        1 => "un centime".to_owned(),
        n => format!("{} centimes", number(n)),
    };
    let words = match (euros.is_empty(), centimes.is_empty()) {
        (_, true) => euros,
        (true, false) => centimes,
        (false, false) => format!("{euros} et {centimes}"),
    };
    format!("{sign}{words}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate, Utc};
    use selfgate_rules::journal::{EventRef, Payment, PaymentCancel};
    use selfgate_rules::model::PersonId;

    #[test]
    fn amounts_are_written_in_french_words() {
        for (cents, words) in [
            (2000, "vingt euros"),
            (2050, "vingt euros et cinquante centimes"),
            (100, "un euro"),
            (1, "un centime"),
            (0, "zéro euro"),
            (2100, "vingt et un euros"),
            (7100, "soixante et onze euros"),
            (7700, "soixante-dix-sept euros"),
            (8000, "quatre-vingts euros"),
            (8100, "quatre-vingt-un euros"),
            (9900, "quatre-vingt-dix-neuf euros"),
            (20_000, "deux cents euros"),
            (20_100, "deux cent un euros"),
            (100_000, "mille euros"),
            (200_000, "deux mille euros"),
            (8_000_000, "quatre-vingt mille euros"),
            (20_000_000, "deux cent mille euros"),
            (
                123_456,
                "mille deux cent trente-quatre euros et cinquante-six centimes",
            ),
            (100_000_000, "un million d'euros"),
            (300_000_000_000, "trois milliards d'euros"),
        ] {
            assert_eq!(amount_in_words(cents), words, "{cents}");
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_receipt_prints_its_number_amount_and_cancellation() {
        let receipt = Receipt {
            regie: "R1".into(),
            year: 2026,
            number: 42,
        };
        let payment = Event {
            gate: "ligne-1".into(),
            seq: 7,
            at: at("2026-11-30T07:10:00Z"),
            kind: EventKind::Payment(Payment {
                person: PersonId(3),
                cents: 2050,
                mode: PaymentMode::Cheque {
                    number: "1234567".into(),
                    bank: "La Banque Postale".into(),
                },
                payer: "M. Martin".into(),
                by: "intendance".into(),
                receipt: receipt.clone(),
                note: String::new(),
            }),
        };
        let names = |p: PersonId| (p.0 == 3).then(|| ("MARTIN Léa".to_owned(), "6A".to_owned()));
        let doc = ReceiptDoc::from_events(
            &payment,
            None,
            chrono_tz::Europe::Paris,
            &names,
            "Collège Jean Moulin",
            "Régie du collège",
        )
        .unwrap();
        assert_eq!(
            doc.at,
            NaiveDate::from_ymd_opt(2026, 11, 30)
                .and_then(|d| d.and_hms_opt(8, 10, 0))
                .unwrap_or_default()
        );
        let pdf = String::from_utf8_lossy(&doc.to_pdf()).into_owned();
        assert!(pdf.starts_with("%PDF-1.4"), "{pdf}");
        assert!(pdf.contains("R1-2026-00042"), "{pdf}");
        assert!(pdf.contains("vingt euros et cinquante centimes"), "{pdf}");
        assert!(!pdf.contains("ANNUL"), "{pdf}");

        let cancel = Event {
            gate: "ligne-1".into(),
            seq: 8,
            at: at("2026-11-30T07:20:00Z"),
            kind: EventKind::PaymentCancel(PaymentCancel {
                refers_to: EventRef {
                    gate: "ligne-1".into(),
                    seq: 7,
                },
                receipt,
                person: PersonId(3),
                cents: 2050,
                by: "intendance".into(),
                reason: "erreur de saisie".into(),
            }),
        };
        let doc = ReceiptDoc::from_events(
            &payment,
            Some(&cancel),
            chrono_tz::Europe::Paris,
            &names,
            "Collège",
            "Régie",
        )
        .unwrap();
        let pdf = String::from_utf8_lossy(&doc.to_pdf()).into_owned();
        assert!(pdf.contains("ANNUL"), "{pdf}");
        assert!(pdf.contains("erreur de saisie"), "{pdf}");
        // Not a payment: no receipt.
        assert!(ReceiptDoc::from_events(&cancel, None, chrono_tz::UTC, &names, "", "").is_none());
    }
}
