//! The régie (the cash desk) as the kiosk sees it: what the staff enter (a payment, a refund),
//! what the source hands back (a receipt, the day's cash report, the month's reconciliation, the
//! low balances), and the reading of an amount as typed. Values only: the daemon computes them
//! (from the journal, through `selfgate-money`), the kiosk tells them in the viewer's language.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

pub use selfgate_rules::journal::PaymentMode;

/// The payment modes the cash desk takes, by code, in the order the form lists them.
pub const DESK_MODES: [&str; 4] = ["especes", "cheque", "carte", "virement"];

/// A payment as the régie's form gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPayment {
    pub person: u32,
    /// More than zero.
    pub cents: i64,
    pub mode: PaymentMode,
    /// Who paid, as they gave their name.
    pub payer: String,
    pub note: String,
    /// The member of staff taking it.
    pub by: String,
    /// The régie's code; none: the first this node holds.
    pub regie: Option<String>,
}

/// A refund of part of a remaining balance, as the person page's form gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRefund {
    pub person: u32,
    pub cents: i64,
    pub mode: PaymentMode,
    pub reason: String,
    pub by: String,
}

/// A cancelled payment's cancellation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CancelView {
    /// Local date and time.
    pub at: NaiveDateTime,
    pub by: String,
    pub reason: String,
}

/// A receipt (*quittance*): the payment it numbers, and its cancellation if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptView {
    /// `R1-2026-00042`.
    pub receipt: String,
    /// The régie's code and name.
    pub regie: String,
    pub regie_name: String,
    pub school: String,
    pub person: u32,
    /// `Prénom NOM`.
    pub name: String,
    pub class: String,
    pub cents: i64,
    pub mode: PaymentMode,
    pub payer: String,
    /// Who took it.
    pub by: String,
    pub note: String,
    /// Local date and time of the payment.
    pub at: NaiveDateTime,
    pub cancelled: Option<CancelView>,
}

/// A régie of the school.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegieInfo {
    pub code: String,
    pub name: String,
    /// Held by this node: its payments are taken, numbered and cancelled here.
    pub here: bool,
}

/// What a line of the day's cash report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CashKind {
    Payment,
    /// A payment of another day cancelled this day.
    Cancellation,
    Refund,
}

/// One line of the day's cash report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashLineView {
    pub kind: CashKind,
    /// The payment's receipt (the cancelled payment's for a cancellation; none for a refund).
    pub receipt: Option<String>,
    pub regie: String,
    /// Local time, `08:10`.
    pub time: String,
    pub person: u32,
    pub name: String,
    pub class: String,
    pub payer: String,
    /// The mode's code (`especes`, `cheque`…; `inconnu` when not known).
    pub mode: String,
    /// The cheque's number and bank, or a reference.
    pub mode_detail: String,
    /// Signed: a payment positive, a cancellation or a refund negative.
    pub cents: i64,
    /// What the line adds to the day's total (0 for a payment cancelled the same day).
    pub counted_cents: i64,
    pub by: String,
    pub note: String,
    /// A payment cancelled since (the same day or later).
    pub cancelled: bool,
    /// A payment this node may still cancel (its régie is held here, not cancelled yet).
    pub cancellable: bool,
}

/// Money in and out through one mode. `net_cents` = payments − cancellations − refunds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModeTotalView {
    /// The mode's code (`inconnu` for money whose mode is not known).
    pub mode: String,
    pub payments_count: usize,
    pub payments_cents: i64,
    /// Taken off (positive).
    pub cancellations_cents: i64,
    /// Taken off (positive).
    pub refunds_cents: i64,
    pub net_cents: i64,
}

/// The day's cash report (*journal de caisse*) of a régie, or of all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashView {
    pub day: NaiveDate,
    /// The régie reported; none for every régie.
    pub regie: Option<String>,
    pub lines: Vec<CashLineView>,
    pub modes: Vec<ModeTotalView>,
    pub total_cents: i64,
    pub payments_count: usize,
    pub cancelled_count: usize,
    pub cancellations_count: usize,
    pub refunds_count: usize,
    pub first_receipt: Option<String>,
    pub last_receipt: Option<String>,
    /// Receipt numbers missing between the day's first and last, per series
    /// (`R1-2026-00007`…).
    pub missing: Vec<String>,
}

/// What a balance (or the month's total) did in the month: `closing = opening + payments −
/// meals + corrections − cancellations − refunds + credits`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MovementsView {
    pub opening_cents: i64,
    pub payments_count: usize,
    pub payments_cents: i64,
    pub meals_count: usize,
    pub meals_cents: i64,
    pub corrections_count: usize,
    pub corrections_cents: i64,
    pub cancellations_count: usize,
    pub cancellations_cents: i64,
    pub refunds_count: usize,
    pub refunds_cents: i64,
    pub credits_count: usize,
    pub credits_cents: i64,
    pub closing_cents: i64,
}

/// Someone in debt at the end of the month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DebtorView {
    pub person: u32,
    pub name: String,
    pub class: String,
    /// Negative.
    pub closing_cents: i64,
}

/// How a meal group is named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum GroupName {
    Category(selfgate_rules::model::Category),
    Regime(selfgate_rules::model::Regime),
    /// A tariff tier: its code and its label as configured.
    Tier {
        code: String,
        label: String,
    },
    /// Persons without a tier.
    NoTier,
    /// Persons not (or no longer) in the roster.
    Unknown,
}

/// The meals of a category, a tier or a régime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MealGroupView {
    pub name: GroupName,
    /// Meals charged on a balance, and their amount.
    pub meals: usize,
    pub cents: i64,
    /// Meals eaten without a charge (a forfait, a free admission).
    pub free_meals: usize,
    pub corrections: usize,
    pub corrections_cents: i64,
}

/// The month's reconciliation (*rapprochement mensuel*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthView {
    pub year: i32,
    pub month: u32,
    pub totals: MovementsView,
    /// How many persons have a line.
    pub persons: usize,
    /// Lowest first.
    pub debtors: Vec<DebtorView>,
    /// Balances below zero at the end, summed (negative).
    pub debt_cents: i64,
    /// Balances above zero at the end, summed.
    pub credit_cents: i64,
    pub by_category: Vec<MealGroupView>,
    pub by_tier: Vec<MealGroupView>,
    pub by_regime: Vec<MealGroupView>,
    pub modes: Vec<ModeTotalView>,
}

/// A person paying by ticket whose balance is worth few meals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LowBalanceRow {
    pub person: u32,
    pub name: String,
    pub class: String,
    /// The tier's code, when the person has one.
    pub tier: Option<String>,
    pub balance_cents: i64,
    /// Their price for a meal.
    pub price_cents: i64,
    /// Whole meals the balance pays for (0 when it pays for none).
    pub meals_left: u32,
}

/// The low balances: fewer than `threshold` meals left, lowest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LowBalances {
    pub threshold: u32,
    pub rows: Vec<LowBalanceRow>,
}

/// The meals a balance pays for at `price_cents` a meal: `floor(balance / price)`, 0 for a
/// balance that pays for none (nothing for a free meal).
pub fn meals_left(balance_cents: i64, price_cents: i64) -> Option<u32> {
    if price_cents <= 0 {
        return None;
    }
    let n = balance_cents.max(0) / price_cents;
    Some(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A report as a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Pdf,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Pdf => "pdf",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Pdf => "application/pdf",
        }
    }
}

/// Which report file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportFile {
    Cash {
        day: NaiveDate,
        regie: Option<String>,
        format: FileFormat,
    },
    Month {
        year: i32,
        month: u32,
        format: FileFormat,
    },
}

/// Why an amount as typed is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountError {
    Empty,
    /// Not a decimal number.
    NotANumber,
    /// More than two decimals.
    Decimals,
    /// Zero or less.
    NotPositive,
    /// Too large to be money.
    TooLarge,
}

/// An amount as the staff type it, in cents: `20`, `20,5`, `20.50`, `1 234,56 €` (a comma or a
/// point before the cents, at most two decimals, spaces and the euro sign ignored). Only more
/// than zero.
pub fn parse_amount(typed: &str) -> Result<i64, AmountError> {
    let s: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{202f}')
        .collect();
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    let s = s.strip_prefix('+').unwrap_or(&s);
    if s.starts_with(['-', '−']) {
        return Err(AmountError::NotPositive);
    }
    let (units, decimals) = match s.find([',', '.']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || !digits(decimals) || (units.is_empty() && decimals.is_empty()) {
        return Err(AmountError::NotANumber);
    }
    if decimals.len() > 2 {
        return Err(AmountError::Decimals);
    }
    let units: i64 = if units.is_empty() {
        0
    } else {
        units.parse().map_err(|_| AmountError::TooLarge)?
    };
    let cents: i64 = format!("{decimals:0<2}")
        .parse()
        .map_err(|_| AmountError::NotANumber)?;
    let total = units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or(AmountError::TooLarge)?;
    if total <= 0 {
        return Err(AmountError::NotPositive);
    }
    Ok(total)
}

/// A mode from the form's fields: its code, and a cheque's number and bank.
pub fn mode_of(code: &str, cheque_number: &str, bank: &str) -> Option<PaymentMode> {
    Some(match code.trim() {
        "especes" => PaymentMode::Especes,
        "cheque" => PaymentMode::Cheque {
            number: cheque_number.trim().to_owned(),
            bank: bank.trim().to_owned(),
        },
        "carte" => PaymentMode::Carte,
        "virement" => PaymentMode::Virement,
        _ => return None,
    })
}

/// A field of a régie operation, as a refusal names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyField {
    ChequeNumber,
    Bank,
    Reference,
    /// The member of staff.
    Staff,
    Payer,
    Note,
    /// A cancellation's or a refund's reason.
    Reason,
}

/// What a live feed line of the régie is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyKind {
    Payment,
    Cancellation,
    Refund,
}

/// What the staff's words for a line of money on the live feed are made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MoneyFacts {
    pub kind: MoneyKind,
    /// The payment's receipt (the cancelled one's); none for a refund.
    pub receipt: Option<String>,
    /// Positive.
    pub cents: i64,
    /// The mode's code (`inconnu` when not known).
    pub mode: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_typed_in_french_or_english() {
        for (typed, cents) in [
            ("20", 2000),
            ("20,5", 2050),
            ("20.50", 2050),
            (" 1 234,56 € ", 123_456),
            ("0,01", 1),
            (",5", 50),
            ("7.", 700),
            ("+3", 300),
        ] {
            assert_eq!(parse_amount(typed), Ok(cents), "{typed}");
        }
        for (typed, e) in [
            ("", AmountError::Empty),
            ("  ", AmountError::Empty),
            ("vingt", AmountError::NotANumber),
            ("20,505", AmountError::Decimals),
            ("1,234.5", AmountError::NotANumber),
            ("0", AmountError::NotPositive),
            ("0,00", AmountError::NotPositive),
            ("-5", AmountError::NotPositive),
            ("−5", AmountError::NotPositive),
            (".", AmountError::NotANumber),
            ("99999999999999999999", AmountError::TooLarge),
            ("1e3", AmountError::NotANumber),
        ] {
            assert_eq!(parse_amount(typed), Err(e), "{typed}");
        }
    }

    #[test]
    fn meals_left_are_whole_meals_and_never_negative() {
        assert_eq!(meals_left(1000, 390), Some(2));
        assert_eq!(meals_left(780, 390), Some(2));
        assert_eq!(meals_left(389, 390), Some(0));
        assert_eq!(meals_left(-500, 390), Some(0));
        assert_eq!(meals_left(1000, 0), None);
    }
}
