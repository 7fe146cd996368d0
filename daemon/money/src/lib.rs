//! # selfgate-money
//!
//! The bursar's side (BRIEF §7), computed from the journal: the day's cash report of a régie
//! ([`CashReport`], *journal de caisse*) and the month's reconciliation of ticket balances
//! ([`MonthReport`], *rapprochement mensuel*). Each is a plain serialisable value (the kiosk
//! renders it as HTML, the command line as JSON) with `to_csv()` (for spreadsheets: `;`, UTF-8
//! with a byte order mark, French headers, formulas defused) and `to_pdf()` (our own PDF writer,
//! [`pdf`]).
//!
//! Pure like `selfgate-rules`: no I/O, no runtime, no database. Reports are functions of the
//! events, the persons, the day or month and the school's time zone they are given; the school
//! day of an event is its local date (`selfgate_rules::model::school_day`). Money is integer
//! cents throughout, added with checked arithmetic: input that would overflow gives
//! [`ReportError::Overflow`], never a panic, and a month whose balances do not reconcile cannot
//! be built ([`ReportError::Identity`]).

pub mod billing;
pub mod charlemagne;
mod csv;
mod fr;
pub mod pdf;
pub mod receipt;
pub mod reports;

pub use reports::{
    CancelInfo, CashLine, CashLineKind, CashReport, Debtor, Directory, MealGroup, ModeTotal,
    MonthReport, MonthRow, Movements, ReceiptRange, ReportError, Unattributed,
};
