//! The day's cash report of a régie (*journal de caisse*): every payment of the day in receipt
//! order, the cancellations made that day of earlier payments and the day's refunds as negative
//! lines, totals per mode, the grand total, and the receipts the day used.
//!
//! A payment cancelled (that day or any later day the events reach) is marked, and struck
//! through in the PDF. The money of a day is what changed hands that day, so a report does not
//! change when it is printed again later: a payment cancelled the same day counts nothing (its
//! line's `counted_cents` is 0), one cancelled on a later day still counts on its own day and
//! its cancellation is a negative line of the later day.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use selfgate_rules::journal::{Event, EventKind, Receipt};
use selfgate_rules::model::{PersonId, format_euros};

use super::{
    Directory, Ledger, ModeTotal, ModeTotals, ReportError, UNKNOWN_MODE, add, chronological,
    day_of, mode_label, sub, time_of, unknown_name,
};
use crate::csv::{Cell, Csv};
use crate::fr;
use crate::pdf::{self, Column, Flow, Font, Row, RowStyle, Table};

/// What a line of the day is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CashLineKind {
    /// A payment received (*versement*), with its receipt.
    Payment,
    /// A payment of another day cancelled this day (or one that is not among the events).
    Cancellation,
    /// Money given back from a balance.
    Refund,
}

impl CashLineKind {
    pub fn label_fr(self) -> &'static str {
        match self {
            CashLineKind::Payment => "Versement",
            CashLineKind::Cancellation => "Annulation",
            CashLineKind::Refund => "Remboursement",
        }
    }
}

/// When and by whom a payment was cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CancelInfo {
    pub at: DateTime<Utc>,
    /// The school day of the cancellation.
    pub day: NaiveDate,
    /// Its local time, `10:05`.
    pub time: String,
    /// Cancelled the day the payment was taken.
    pub same_day: bool,
    pub by: String,
    pub reason: String,
}

/// One line of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashLine {
    pub kind: CashLineKind,
    /// The receipt of the payment (for a cancellation: of the payment cancelled); none for a
    /// refund. `R1-2026-00042`.
    pub receipt: Option<String>,
    pub regie: String,
    pub at: DateTime<Utc>,
    /// Local time, `08:10`.
    pub time: String,
    pub person: PersonId,
    pub name: String,
    pub class: String,
    /// Who paid (a payment's; the cancelled payment's for a cancellation; empty for a refund).
    pub payer: String,
    /// The mode's code (`especes`, `cheque`… or `inconnu`).
    pub mode: String,
    /// Its French name.
    pub mode_label: String,
    /// The cheque's number and bank, or a reference.
    pub mode_detail: String,
    /// Signed: a payment is positive, a cancellation or a refund negative.
    pub cents: i64,
    /// What the line adds to the day's total: `cents`, but 0 for a payment cancelled the same
    /// day. The lines' `counted_cents` add up to the report's total.
    pub counted_cents: i64,
    /// The member of staff who took the payment, cancelled it or refunded.
    pub by: String,
    /// The payment's note, the cancellation's or the refund's reason.
    pub note: String,
    /// For a payment: its cancellation, if any (the first, when there are several).
    pub cancelled: Option<CancelInfo>,
    /// For a cancellation: the day of the payment it cancels, when that payment is known.
    pub payment_day: Option<NaiveDate>,
    /// For a cancellation: the payment it refers to is not among the events.
    pub unknown_payment: bool,
}

/// The receipts one régie used in the day, for one school year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptRange {
    pub regie: String,
    pub year: u16,
    pub first: u32,
    pub last: u32,
    /// How many payments of the day carry a number of this range.
    pub count: usize,
    /// Numbers between the first and the last that no payment of the day carries (a receipt
    /// missing from the journal), the first [`ReceiptRange::MISSING_SHOWN`] of them.
    pub missing: Vec<u32>,
    pub missing_count: u64,
}

impl ReceiptRange {
    pub const MISSING_SHOWN: usize = 50;
}

/// The day's cash report (*journal de caisse*) of one régie, or of all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashReport {
    day: NaiveDate,
    timezone: String,
    regie: Option<String>,
    lines: Vec<CashLine>,
    modes: Vec<ModeTotal>,
    total_cents: i64,
    payments_count: usize,
    cancelled_count: usize,
    cancellations_count: usize,
    refunds_count: usize,
    first_receipt: Option<String>,
    last_receipt: Option<String>,
    receipts: Vec<ReceiptRange>,
}

impl CashReport {
    /// The report of `day` (the school's local date in `tz`) for `regie` (every régie when
    /// `None`). `events` must hold every event up to the end of the day at least (later ones
    /// mark the day's payments cancelled later); their order does not matter. `names` gives
    /// each person's name and class.
    pub fn compute<D: Directory + ?Sized>(
        events: &[Event],
        names: &D,
        day: NaiveDate,
        tz: Tz,
        regie: Option<&str>,
    ) -> Result<CashReport, ReportError> {
        let sorted = chronological(events);
        let ledger = Ledger::new(&sorted);
        let in_regie = |code: &str| regie.is_none_or(|r| r == code);
        let mut who: BTreeMap<PersonId, (String, String)> = BTreeMap::new();
        let mut name_of = |person: PersonId| {
            who.entry(person)
                .or_insert_with(|| {
                    names
                        .name_and_class(person)
                        .unwrap_or_else(|| (unknown_name(person), String::new()))
                })
                .clone()
        };
        let mut modes = ModeTotals::new();

        // The day's payments, in receipt order.
        let mut payments: Vec<(&Receipt, DateTime<Utc>, &str, u64, CashLine)> = Vec::new();
        let mut cancelled_count = 0;
        for (i, &(e, p)) in ledger.payments.iter().enumerate() {
            if day_of(tz, e.at) != day || !in_regie(&p.receipt.regie) {
                continue;
            }
            let cancels = ledger.cancels_of.get(&i).map(Vec::as_slice).unwrap_or(&[]);
            let mut counted = p.cents;
            for &c in cancels {
                let same_day = ledger
                    .cancels
                    .get(c)
                    .filter(|(ce, _, _)| day_of(tz, ce.at) == day);
                if let Some(&(_, cancel, _)) = same_day {
                    // Cancelled the same day: no line of its own, nothing counted.
                    counted = sub(counted, cancel.cents, "a payment cancelled")?;
                    modes.cancellation(p.mode.code(), cancel.cents)?;
                }
            }
            let cancelled =
                cancels
                    .first()
                    .and_then(|&c| ledger.cancels.get(c))
                    .map(|&(ce, cancel, _)| {
                        let cday = day_of(tz, ce.at);
                        CancelInfo {
                            at: ce.at,
                            day: cday,
                            time: time_of(tz, ce.at),
                            same_day: cday == day,
                            by: cancel.by.clone(),
                            reason: cancel.reason.clone(),
                        }
                    });
            if cancelled.is_some() {
                cancelled_count += 1;
            }
            modes.payment(p.mode.code(), p.cents)?;
            let (name, class) = name_of(p.person);
            payments.push((
                &p.receipt,
                e.at,
                &e.gate,
                e.seq,
                CashLine {
                    kind: CashLineKind::Payment,
                    receipt: Some(p.receipt.to_string()),
                    regie: p.receipt.regie.clone(),
                    at: e.at,
                    time: time_of(tz, e.at),
                    person: p.person,
                    name,
                    class,
                    payer: p.payer.clone(),
                    mode: p.mode.code().to_owned(),
                    mode_label: mode_label(p.mode.code()),
                    mode_detail: p.mode.detail(),
                    cents: p.cents,
                    counted_cents: counted,
                    by: p.by.clone(),
                    note: p.note.clone(),
                    cancelled,
                    payment_day: None,
                    unknown_payment: false,
                },
            ));
        }
        payments.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
        let receipts = receipt_ranges(payments.iter().map(|p| p.0));
        let first_receipt = payments.first().map(|p| p.0.to_string());
        let last_receipt = payments.last().map(|p| p.0.to_string());
        let payments_count = payments.len();
        let mut lines: Vec<CashLine> = payments.into_iter().map(|p| p.4).collect();

        // Cancellations made this day, but for those of the day's own payments.
        let mut cancellations_count = 0;
        for (i, &(e, c, _)) in ledger.cancels.iter().enumerate() {
            if day_of(tz, e.at) != day {
                continue;
            }
            let payment = ledger.payment_of(i);
            let regie_code = payment.map_or(&c.receipt.regie, |(_, p)| &p.receipt.regie);
            if !in_regie(regie_code) {
                continue;
            }
            cancellations_count += 1;
            let payment_day = payment.map(|(pe, _)| day_of(tz, pe.at));
            if payment_day == Some(day) {
                continue;
            }
            let mode = payment.map_or(UNKNOWN_MODE, |(_, p)| p.mode.code());
            modes.cancellation(mode, c.cents)?;
            let cents = c.cents.checked_neg().ok_or(ReportError::Overflow {
                what: "a cancellation",
            })?;
            let (name, class) = name_of(c.person);
            lines.push(CashLine {
                kind: CashLineKind::Cancellation,
                receipt: Some(payment.map_or(&c.receipt, |(_, p)| &p.receipt).to_string()),
                regie: regie_code.clone(),
                at: e.at,
                time: time_of(tz, e.at),
                person: c.person,
                name,
                class,
                payer: payment.map(|(_, p)| p.payer.clone()).unwrap_or_default(),
                mode: mode.to_owned(),
                mode_label: mode_label(mode),
                mode_detail: payment.map(|(_, p)| p.mode.detail()).unwrap_or_default(),
                cents,
                counted_cents: cents,
                by: c.by.clone(),
                note: c.reason.clone(),
                cancelled: None,
                payment_day,
                unknown_payment: payment.is_none(),
            });
        }

        // Refunds of the day.
        let mut refunds_count = 0;
        for &e in &sorted {
            let EventKind::Refund(r) = &e.kind else {
                continue;
            };
            if day_of(tz, e.at) != day || !in_regie(&r.regie) {
                continue;
            }
            refunds_count += 1;
            modes.refund(r.mode.code(), r.cents)?;
            let cents = r
                .cents
                .checked_neg()
                .ok_or(ReportError::Overflow { what: "a refund" })?;
            let (name, class) = name_of(r.person);
            lines.push(CashLine {
                kind: CashLineKind::Refund,
                receipt: None,
                regie: r.regie.clone(),
                at: e.at,
                time: time_of(tz, e.at),
                person: r.person,
                name,
                class,
                payer: String::new(),
                mode: r.mode.code().to_owned(),
                mode_label: mode_label(r.mode.code()),
                mode_detail: r.mode.detail(),
                cents,
                counted_cents: cents,
                by: r.by.clone(),
                note: r.reason.clone(),
                cancelled: None,
                payment_day: None,
                unknown_payment: false,
            });
        }

        let (modes, total_cents) = modes.finish()?;
        let lines_total = lines
            .iter()
            .try_fold(0i64, |t, l| add(t, l.counted_cents, "the day's lines"))?;
        if lines_total != total_cents {
            return Err(ReportError::CashTotal {
                lines: lines_total,
                total: total_cents,
            });
        }
        Ok(CashReport {
            day,
            timezone: tz.name().to_owned(),
            regie: regie.map(str::to_owned),
            lines,
            modes,
            total_cents,
            payments_count,
            cancelled_count,
            cancellations_count,
            refunds_count,
            first_receipt,
            last_receipt,
            receipts,
        })
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }
    /// The time zone's name (`Europe/Paris`).
    pub fn timezone(&self) -> &str {
        &self.timezone
    }
    /// The régie reported, `None` for all.
    pub fn regie(&self) -> Option<&str> {
        self.regie.as_deref()
    }
    /// The day's payments in receipt order, then the cancellations of earlier payments, then the
    /// refunds, each in time order.
    pub fn lines(&self) -> &[CashLine] {
        &self.lines
    }
    /// Totals per mode: every standard mode, then the unknown mode when some money had none.
    pub fn modes(&self) -> &[ModeTotal] {
        &self.modes
    }
    /// The total for one mode code.
    pub fn mode(&self, code: &str) -> Option<&ModeTotal> {
        self.modes.iter().find(|m| m.mode == code)
    }
    /// The day's net takings: payments − that day's cancellations − refunds.
    pub fn total_cents(&self) -> i64 {
        self.total_cents
    }
    /// Receipts given that day (cancelled ones included).
    pub fn payments_count(&self) -> usize {
        self.payments_count
    }
    /// Payments of the day cancelled since (the same day or later).
    pub fn cancelled_count(&self) -> usize {
        self.cancelled_count
    }
    /// Cancellations made that day (of that day's payments or earlier ones).
    pub fn cancellations_count(&self) -> usize {
        self.cancellations_count
    }
    pub fn refunds_count(&self) -> usize {
        self.refunds_count
    }
    /// The day's first receipt in receipt order.
    pub fn first_receipt(&self) -> Option<&str> {
        self.first_receipt.as_deref()
    }
    pub fn last_receipt(&self) -> Option<&str> {
        self.last_receipt.as_deref()
    }
    /// The receipts used, per régie and school year, with any gap.
    pub fn receipts(&self) -> &[ReceiptRange] {
        &self.receipts
    }

    fn title_line(&self) -> String {
        let regie = match &self.regie {
            Some(r) => format!("Régie {r}"),
            None => "Toutes régies".to_owned(),
        };
        format!("{regie} — {} ({})", fr::date_long(self.day), self.timezone)
    }

    fn remark(&self, line: &CashLine) -> String {
        let mut parts: Vec<String> = Vec::new();
        match line.kind {
            CashLineKind::Payment => {
                if let Some(c) = &line.cancelled {
                    if c.same_day {
                        parts.push(format!("annulé à {}", c.time));
                    } else {
                        parts.push(format!("annulé le {} à {}", fr::date_short(c.day), c.time));
                    }
                    if !c.reason.is_empty() {
                        parts.push(c.reason.clone());
                    }
                }
            }
            CashLineKind::Cancellation => {
                match line.payment_day {
                    Some(d) => parts.push(format!("annule le versement du {}", fr::date_short(d))),
                    None => parts.push("versement inconnu".to_owned()),
                }
                if !line.note.is_empty() {
                    parts.push(line.note.clone());
                }
            }
            CashLineKind::Refund => {
                if !line.note.is_empty() {
                    parts.push(line.note.clone());
                }
            }
        }
        parts.join(" : ")
    }

    /// The report as CSV: the lines, then the totals per mode and the receipts.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::new();
        csv.texts(&[
            "Opération",
            "Quittance",
            "Régie",
            "Date",
            "Heure",
            "Nom",
            "Classe",
            "Payeur",
            "Mode",
            "Détail du mode",
            "Montant",
            "Montant retenu",
            "Agent",
            "Annulation",
            "Observations",
        ]);
        for l in &self.lines {
            let date = fr::date_short(self.day);
            let cancel = match (l.kind, &l.cancelled) {
                (CashLineKind::Payment, Some(c)) => format!(
                    "annulé le {} à {} par {}",
                    fr::date_short(c.day),
                    c.time,
                    c.by
                ),
                (CashLineKind::Cancellation, _) => match l.payment_day {
                    Some(d) => format!("annule le versement du {}", fr::date_short(d)),
                    None => "versement inconnu".to_owned(),
                },
                _ => String::new(),
            };
            let note = match (&l.cancelled, l.note.is_empty()) {
                (Some(c), true) => c.reason.clone(),
                (Some(c), false) if !c.reason.is_empty() => format!("{} ; {}", l.note, c.reason),
                _ => l.note.clone(),
            };
            csv.row(&[
                Cell::Text(l.kind.label_fr()),
                Cell::Text(l.receipt.as_deref().unwrap_or("")),
                Cell::Text(&l.regie),
                Cell::Text(&date),
                Cell::Text(&l.time),
                Cell::Text(&l.name),
                Cell::Text(&l.class),
                Cell::Text(&l.payer),
                Cell::Text(&l.mode_label),
                Cell::Text(&l.mode_detail),
                Cell::Amount(l.cents),
                Cell::Amount(l.counted_cents),
                Cell::Text(&l.by),
                Cell::Text(&cancel),
                Cell::Text(&note),
            ]);
        }
        csv.blank();
        csv.texts(&[
            "Mode",
            "Versements (nombre)",
            "Versements",
            "Annulations",
            "Remboursements",
            "Total",
        ]);
        let mut count = 0usize;
        let (mut paid, mut cancelled, mut refunded) = (0i64, 0i64, 0i64);
        for m in &self.modes {
            count += m.payments_count;
            paid = paid.saturating_add(m.payments_cents);
            cancelled = cancelled.saturating_add(m.cancellations_cents);
            refunded = refunded.saturating_add(m.refunds_cents);
            csv.row(&[
                Cell::Text(&m.label),
                Cell::Count(m.payments_count),
                Cell::Amount(m.payments_cents),
                Cell::Amount(m.cancellations_cents.saturating_neg()),
                Cell::Amount(m.refunds_cents.saturating_neg()),
                Cell::Amount(m.net_cents),
            ]);
        }
        csv.row(&[
            Cell::Text("Total général"),
            Cell::Count(count),
            Cell::Amount(paid),
            Cell::Amount(cancelled.saturating_neg()),
            Cell::Amount(refunded.saturating_neg()),
            Cell::Amount(self.total_cents),
        ]);
        csv.blank();
        csv.row(&[
            Cell::Text("Quittances émises"),
            Cell::Count(self.payments_count),
        ]);
        csv.texts(&[
            "Première quittance",
            self.first_receipt.as_deref().unwrap_or(""),
        ]);
        csv.texts(&[
            "Dernière quittance",
            self.last_receipt.as_deref().unwrap_or(""),
        ]);
        for r in &self.receipts {
            if r.missing_count > 0 {
                let missing: Vec<String> = r.missing.iter().map(u32::to_string).collect();
                let label = format!("Quittances manquantes {}-{}", r.regie, r.year);
                csv.texts(&[&label, &missing.join(" ")]);
            }
        }
        csv.finish()
    }

    /// The report as a PDF (A4 landscape, French).
    pub fn to_pdf(&self) -> Vec<u8> {
        let footer = format!("Journal de caisse — {}", self.title_line());
        let mut flow = Flow::new(pdf::A4_LANDSCAPE, &footer);
        flow.heading("Journal de caisse", 16.0);
        flow.paragraph(Font::Regular, 10.0, &self.title_line());
        let receipts = match (&self.first_receipt, &self.last_receipt) {
            (Some(first), Some(last)) => format!(
                "{} émises, de {first} à {last}",
                fr::count(self.payments_count, "quittance", "quittances")
            ),
            _ => "Aucune quittance émise ce jour".to_owned(),
        };
        flow.paragraph(
            Font::Regular,
            9.0,
            &format!(
                "{receipts} ; {} ; {} ; {}.",
                fr::count(
                    self.cancelled_count,
                    "versement annulé",
                    "versements annulés"
                ),
                fr::count(
                    self.cancellations_count,
                    "annulation ce jour",
                    "annulations ce jour"
                ),
                fr::count(self.refunds_count, "remboursement", "remboursements"),
            ),
        );
        for r in &self.receipts {
            if r.missing_count > 0 {
                let missing: Vec<String> = r.missing.iter().map(u32::to_string).collect();
                flow.paragraph(
                    Font::Bold,
                    9.0,
                    &format!(
                        "Quittances manquantes ({}-{}, {}) : {}",
                        r.regie,
                        r.year,
                        r.missing_count,
                        missing.join(", ")
                    ),
                );
            }
        }
        flow.space(6.0);

        let rows = self
            .lines
            .iter()
            .map(|l| {
                let style = if l.cancelled.is_some() {
                    RowStyle::Struck
                } else {
                    RowStyle::Normal
                };
                let receipt = match l.kind {
                    CashLineKind::Refund => "Remboursement".to_owned(),
                    CashLineKind::Cancellation => {
                        format!("Annul. {}", l.receipt.as_deref().unwrap_or(""))
                    }
                    CashLineKind::Payment => l.receipt.clone().unwrap_or_default(),
                };
                Row::styled(
                    vec![
                        receipt,
                        l.time.clone(),
                        l.name.clone(),
                        l.class.clone(),
                        l.payer.clone(),
                        l.mode_label.clone(),
                        l.mode_detail.clone(),
                        fr::amount(l.cents),
                        l.by.clone(),
                        self.remark(l),
                    ],
                    style,
                )
            })
            .collect();
        flow.table(&Table {
            columns: vec![
                Column::left("Quittance", 88.0),
                Column::left("Heure", 30.0),
                Column::left("Nom", 105.0),
                Column::left("Classe", 34.0),
                Column::left("Payeur", 90.0),
                Column::left("Mode", 62.0),
                Column::left("Détail", 122.0),
                Column::right("Montant (€)", 52.0),
                Column::left("Agent", 58.0),
                Column::left("Observations", 129.0),
            ],
            rows,
            size: 8.0,
        });

        flow.heading("Totaux par mode", 12.0);
        let mut rows = super::mode_rows(&self.modes);
        let sum =
            |f: fn(&ModeTotal) -> i64| self.modes.iter().fold(0i64, |t, m| t.saturating_add(f(m)));
        let count: usize = self.modes.iter().map(|m| m.payments_count).sum();
        rows.push(Row::styled(
            vec![
                "Total général".to_owned(),
                count.to_string(),
                fr::amount(sum(|m| m.payments_cents)),
                fr::amount(sum(|m| m.cancellations_cents).saturating_neg()),
                fr::amount(sum(|m| m.refunds_cents).saturating_neg()),
                fr::amount(self.total_cents),
            ],
            RowStyle::Total,
        ));
        flow.table(&Table {
            columns: vec![
                Column::left("Mode", 2.0),
                Column::right("Versements (nombre)", 1.2),
                Column::right("Versements (€)", 1.2),
                Column::right("Annulations (€)", 1.2),
                Column::right("Remboursements (€)", 1.3),
                Column::right("Total (€)", 1.2),
            ],
            rows,
            size: 9.0,
        });
        flow.paragraph(
            Font::Regular,
            8.0,
            "Les versements barrés sont annulés. Un versement annulé le jour même ne compte pas ; \
             un versement annulé un autre jour compte le jour où il a été reçu, et son annulation \
             est déduite le jour où elle est faite.",
        );
        flow.space(8.0);
        flow.paragraph(
            Font::Bold,
            10.0,
            &format!(
                "Arrêté le présent journal à la somme de {}.",
                format_euros(self.total_cents)
            ),
        );
        flow.space(4.0);
        flow.paragraph(Font::Regular, 9.0, "Le régisseur :");
        flow.finish()
            .title(&format!("Journal de caisse — {}", self.title_line()))
            .to_bytes()
    }
}

/// The receipts of the day, per régie and year, with the numbers missing between the first and
/// the last (receipts are numbered in commit order, so a day's numbers follow each other).
fn receipt_ranges<'a>(receipts: impl Iterator<Item = &'a Receipt>) -> Vec<ReceiptRange> {
    let mut by_series: BTreeMap<(&str, u16), Vec<u32>> = BTreeMap::new();
    for r in receipts {
        if r.number > 0 {
            by_series
                .entry((r.regie.as_str(), r.year))
                .or_default()
                .push(r.number);
        }
    }
    by_series
        .into_iter()
        .filter_map(|((regie, year), mut numbers)| {
            numbers.sort_unstable();
            numbers.dedup();
            let first = *numbers.first()?;
            let last = *numbers.last()?;
            let span = u64::from(last) - u64::from(first) + 1;
            let count = numbers.len();
            let missing_count = span - count as u64;
            let mut missing = Vec::new();
            let mut expected = first;
            for &n in &numbers {
                while expected < n && missing.len() < ReceiptRange::MISSING_SHOWN {
                    missing.push(expected);
                    expected += 1;
                }
                expected = n.saturating_add(1);
            }
            Some(ReceiptRange {
                regie: regie.to_owned(),
                year,
                first,
                last,
                count,
                missing,
                missing_count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(regie: &str, year: u16, number: u32) -> Receipt {
        Receipt {
            regie: regie.to_owned(),
            year,
            number,
        }
    }

    #[test]
    fn gaps_in_a_days_receipts_are_found() {
        let rs = [
            r("R1", 2026, 5),
            r("R1", 2026, 9),
            r("R1", 2026, 6),
            r("R2", 2026, 1),
            r("R1", 2026, 0),
        ];
        let ranges = receipt_ranges(rs.iter());
        assert_eq!(ranges.len(), 2);
        assert_eq!(
            (ranges[0].first, ranges[0].last, ranges[0].count),
            (5, 9, 3)
        );
        assert_eq!(ranges[0].missing, vec![7, 8]);
        assert_eq!(ranges[0].missing_count, 2);
        assert_eq!(ranges[1].missing_count, 0);
        // A huge gap is counted, not listed in full.
        let rs = [r("R1", 2026, 1), r("R1", 2026, u32::MAX)];
        let ranges = receipt_ranges(rs.iter());
        assert_eq!(ranges[0].missing.len(), ReceiptRange::MISSING_SHOWN);
        assert_eq!(ranges[0].missing_count, u64::from(u32::MAX) - 2);
    }
}
