//! The régie's reports, computed from journal events: the day's cash report ([`CashReport`],
//! `reports/cash.rs`) and the month's reconciliation ([`MonthReport`], `reports/month.rs`), with
//! what they share: errors, the person directory, totals per payment mode, and the index that
//! finds the payment a cancellation refers to.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use selfgate_rules::journal::{
    Event, EventKind, Payment, PaymentCancel, PaymentMode, Receipt, mode_label_fr,
};
use selfgate_rules::model::{Person, PersonId};

mod cash;
mod month;

pub use cash::{CancelInfo, CashLine, CashLineKind, CashReport, ReceiptRange};
pub use month::{Debtor, MealGroup, MonthReport, MonthRow, Movements, Unattributed};

/// Why a report could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("{year}-{month}: not a month")]
    BadMonth { year: i32, month: u32 },
    /// A sum would not fit in 64 bits: the events are not a real journal's.
    #[error("the amounts of {what} overflow")]
    Overflow { what: &'static str },
    /// A balance computed from the month's movements differs from the journal's direct sum: the
    /// report is refused rather than printed wrong. `person` is `None` for the totals.
    #[error(
        "the balance of {} does not reconcile: {computed} cents from the movements, {direct} from the journal",
        match person { Some(p) => format!("person {}", p.0), None => "the month".to_owned() }
    )]
    Identity {
        person: Option<PersonId>,
        computed: i64,
        direct: i64,
    },
    /// The day's lines do not add up to its totals (cannot happen with a report of ours).
    #[error("the cash report's lines do not add up to its total: {lines} against {total} cents")]
    CashTotal { lines: i64, total: i64 },
}

/// `total + value`, or [`ReportError::Overflow`] naming `what`.
pub(crate) fn add(total: i64, value: i64, what: &'static str) -> Result<i64, ReportError> {
    total
        .checked_add(value)
        .ok_or(ReportError::Overflow { what })
}

/// `total - value`, or [`ReportError::Overflow`] naming `what`.
pub(crate) fn sub(total: i64, value: i64, what: &'static str) -> Result<i64, ReportError> {
    total
        .checked_sub(value)
        .ok_or(ReportError::Overflow { what })
}

/// Who a person is on a report: their name and class. Implemented by closures, maps and a
/// roster (`[Person]`, names as `LAST First`).
pub trait Directory {
    /// The name and class of `person`; `None` for someone unknown (the report then shows
    /// their number).
    fn name_and_class(&self, person: PersonId) -> Option<(String, String)>;
}

impl<F> Directory for F
where
    F: Fn(PersonId) -> Option<(String, String)>,
{
    fn name_and_class(&self, person: PersonId) -> Option<(String, String)> {
        self(person)
    }
}

impl Directory for [Person] {
    fn name_and_class(&self, person: PersonId) -> Option<(String, String)> {
        self.iter()
            .find(|p| p.id == person)
            .map(|p| (report_name(p), p.class.clone()))
    }
}

impl Directory for HashMap<PersonId, (String, String)> {
    fn name_and_class(&self, person: PersonId) -> Option<(String, String)> {
        self.get(&person).cloned()
    }
}

impl Directory for BTreeMap<PersonId, (String, String)> {
    fn name_and_class(&self, person: PersonId) -> Option<(String, String)> {
        self.get(&person).cloned()
    }
}

/// A person's name as the reports print it: last name first.
pub(crate) fn report_name(p: &Person) -> String {
    format!("{} {}", p.last_name, p.first_name)
}

/// What a report prints for a person the directory does not know.
pub(crate) fn unknown_name(person: PersonId) -> String {
    format!("personne n° {}", person.0)
}

/// A key that sorts names the way a French reader expects (accents and case aside).
pub(crate) fn sort_key(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' | 'ì' => 'i',
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' | 'ý' => 'y',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// The mode code of money whose mode is not known (a cancellation of a payment that is not
/// among the events).
pub const UNKNOWN_MODE: &str = "inconnu";

/// A mode's French name, "Mode inconnu" for [`UNKNOWN_MODE`].
pub(crate) fn mode_label(code: &str) -> String {
    if code == UNKNOWN_MODE {
        "Mode inconnu".to_owned()
    } else {
        mode_label_fr(code).to_owned()
    }
}

/// Money in and out through one payment mode. `net_cents` = payments − cancellations − refunds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModeTotal {
    /// `especes`, `cheque`, `carte`, `virement`, `en_ligne`, `import`, or `inconnu`.
    pub mode: String,
    /// Its French name (`Espèces`, `Chèque`…).
    pub label: String,
    pub payments_count: usize,
    pub payments_cents: i64,
    pub cancellations_count: usize,
    /// Taken off (positive).
    pub cancellations_cents: i64,
    pub refunds_count: usize,
    /// Taken off (positive).
    pub refunds_cents: i64,
    pub net_cents: i64,
}

/// Totals per mode, every standard mode listed (in `PaymentMode::CODES` order), the unknown
/// mode after them when some money had no known mode.
pub(crate) struct ModeTotals {
    list: Vec<ModeTotal>,
}

impl ModeTotals {
    pub(crate) fn new() -> Self {
        ModeTotals {
            list: PaymentMode::CODES
                .iter()
                .map(|code| ModeTotal {
                    mode: (*code).to_owned(),
                    label: mode_label(code),
                    payments_count: 0,
                    payments_cents: 0,
                    cancellations_count: 0,
                    cancellations_cents: 0,
                    refunds_count: 0,
                    refunds_cents: 0,
                    net_cents: 0,
                })
                .collect(),
        }
    }

    fn entry(&mut self, code: &str) -> &mut ModeTotal {
        let i = match self.list.iter().position(|m| m.mode == code) {
            Some(i) => i,
            None => {
                self.list.push(ModeTotal {
                    mode: code.to_owned(),
                    label: mode_label(code),
                    payments_count: 0,
                    payments_cents: 0,
                    cancellations_count: 0,
                    cancellations_cents: 0,
                    refunds_count: 0,
                    refunds_cents: 0,
                    net_cents: 0,
                });
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }

    pub(crate) fn payment(&mut self, code: &str, cents: i64) -> Result<(), ReportError> {
        let m = self.entry(code);
        m.payments_count += 1;
        m.payments_cents = add(m.payments_cents, cents, "payments")?;
        Ok(())
    }

    pub(crate) fn cancellation(&mut self, code: &str, cents: i64) -> Result<(), ReportError> {
        let m = self.entry(code);
        m.cancellations_count += 1;
        m.cancellations_cents = add(m.cancellations_cents, cents, "cancellations")?;
        Ok(())
    }

    pub(crate) fn refund(&mut self, code: &str, cents: i64) -> Result<(), ReportError> {
        let m = self.entry(code);
        m.refunds_count += 1;
        m.refunds_cents = add(m.refunds_cents, cents, "refunds")?;
        Ok(())
    }

    /// The totals with their net amounts, and the grand total (the sum of the nets).
    pub(crate) fn finish(mut self) -> Result<(Vec<ModeTotal>, i64), ReportError> {
        let mut total = 0i64;
        for m in &mut self.list {
            let net = sub(m.payments_cents, m.cancellations_cents, "a mode's total")?;
            m.net_cents = sub(net, m.refunds_cents, "a mode's total")?;
            total = add(total, m.net_cents, "the grand total")?;
        }
        Ok((self.list, total))
    }
}

/// The events' payments and cancellations, each cancellation tied to the payment it cancels:
/// by the event it refers to, else by its receipt number when one payment alone has it.
pub(crate) struct Ledger<'a> {
    /// Every payment, in time order.
    pub(crate) payments: Vec<(&'a Event, &'a Payment)>,
    /// Every cancellation, in time order, with the index of its payment when it is known.
    pub(crate) cancels: Vec<(&'a Event, &'a PaymentCancel, Option<usize>)>,
    /// For each payment, the indexes in `cancels` of its cancellations, in time order.
    pub(crate) cancels_of: HashMap<usize, Vec<usize>>,
}

/// Events in time order, ties by gate and number: the same order whatever the input's.
pub(crate) fn chronological(events: &[Event]) -> Vec<&Event> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| (a.at, &a.gate, a.seq).cmp(&(b.at, &b.gate, b.seq)));
    sorted
}

impl<'a> Ledger<'a> {
    pub(crate) fn new(events: &[&'a Event]) -> Self {
        let mut payments = Vec::new();
        let mut by_ref: HashMap<(&'a str, u64), usize> = HashMap::new();
        let mut by_receipt: HashMap<&'a Receipt, Option<usize>> = HashMap::new();
        for &e in events {
            if let EventKind::Payment(p) = &e.kind {
                let i = payments.len();
                payments.push((e, p));
                by_ref.entry((e.gate.as_str(), e.seq)).or_insert(i);
                by_receipt
                    .entry(&p.receipt)
                    .and_modify(|slot| *slot = None)
                    .or_insert(Some(i));
            }
        }
        let mut cancels = Vec::new();
        let mut cancels_of: HashMap<usize, Vec<usize>> = HashMap::new();
        for &e in events {
            if let EventKind::PaymentCancel(c) = &e.kind {
                let payment = by_ref
                    .get(&(c.refers_to.gate.as_str(), c.refers_to.seq))
                    .copied()
                    .or_else(|| {
                        if c.receipt.number == 0 {
                            None
                        } else {
                            by_receipt.get(&c.receipt).copied().flatten()
                        }
                    });
                if let Some(p) = payment {
                    cancels_of.entry(p).or_default().push(cancels.len());
                }
                cancels.push((e, c, payment));
            }
        }
        Ledger {
            payments,
            cancels,
            cancels_of,
        }
    }

    /// The payment a cancellation (by its index in `cancels`) cancels.
    pub(crate) fn payment_of(&self, cancel: usize) -> Option<(&'a Event, &'a Payment)> {
        let (_, _, p) = self.cancels.get(cancel)?;
        self.payments.get((*p)?).copied()
    }
}

/// The school's local date and time at `at`. What `selfgate_rules::model::school_day` gives,
/// without its panic at the two ends of chrono's range (where the local time does not exist:
/// the UTC time is taken then).
pub(crate) fn local_time(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc)
}

/// The school day of an event.
pub(crate) fn day_of(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    local_time(tz, at).date()
}

/// The local time of an event, `14:05`.
pub(crate) fn time_of(tz: Tz, at: DateTime<Utc>) -> String {
    local_time(tz, at).format("%H:%M").to_string()
}

/// One PDF row per payment mode (label, count, payments, cancellations, refunds, net): the
/// cash report's and the month's tables of modes alike.
pub(crate) fn mode_rows(modes: &[ModeTotal]) -> Vec<crate::pdf::Row> {
    modes
        .iter()
        .map(|m| {
            crate::pdf::Row::new(vec![
                m.label.clone(),
                m.payments_count.to_string(),
                crate::fr::amount(m.payments_cents),
                crate::fr::amount(m.cancellations_cents.saturating_neg()),
                crate::fr::amount(m.refunds_cents.saturating_neg()),
                crate::fr::amount(m.net_cents),
            ])
        })
        .collect()
}
