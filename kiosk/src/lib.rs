//! # selfgate-kiosk
//!
//! The pages the daemon serves (axum + maud; templates, CSS and the little JavaScript are in the
//! binary, no CDN): the staff kiosk with its live feed (server-sent events), the gate screen
//! facing the pupils, the intendance's management pages, staff accounts and `GET /healthz`.
//! The daemon provides the data and carries out the staff's actions through [`StaffSource`]
//! (reads through [`KioskSource`]); this crate knows nothing of the store or the hardware.
//!
//! - [`accounts`]: `DATA/accounts.toml`, argon2 hashes, roles;
//! - [`auth`]: sessions, anti-forgery tokens, login rate limits;
//! - [`i18n`]: every string, French and English;
//! - [`money`]: the régie's values (payments, receipts, the cash desk's reports, low balances);
//! - [`billing`]: the billing pages (forfaits per term, droits constatés) and their values;
//! - `pages`: the staff and management pages; `regie`: the cash desk's pages and reports;
//!   `gate_screen`: the pupils' screen.
//!
//! [`ROUTES`] lists every route with who may use it; the tests walk it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use selfgate_rules::journal::Reason;
use selfgate_rules::model::{Category, OppositionReason, Regime};
use serde::Serialize;

pub mod accounts;
pub mod auth;
pub mod billing;
mod gate_screen;
pub mod i18n;
pub mod money;
mod pages;
mod regie;

pub use pages::safe_next;

use accounts::{AccountsFile, Role};
use auth::{LoginLimiter, Session, Sessions};
use i18n::Lang;
use money::{
    AmountError, CashView, LowBalances, MoneyFacts, MoneyField, MonthView, NewPayment, NewRefund,
    ReceiptView, RegieInfo, ReportFile,
};

/// One line of the live feed. The words (`label`) are the source's French unless `facts` are
/// given, from which the kiosk tells them in the viewer's language.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FeedItem {
    pub gate: String,
    pub seq: Option<u64>,
    /// Local time, `HH:MM:SS`.
    pub time: String,
    pub name: String,
    pub class: String,
    pub pass: bool,
    pub reason: String,
    /// The reason in plain French for the staff ("Déjà passé à 12:04").
    pub label: String,
    /// The same in English ("Already served at 12:04").
    pub label_en: String,
    /// The person, when known.
    pub person: Option<u32>,
    /// First name only: what the gate screen may show.
    pub first_name: String,
    /// The ticket balance after the passage, when the person pays by ticket.
    pub balance_cents: Option<i64>,
    /// What the words are made of (`i18n::passage_label`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<i18n::PassageFacts>,
    /// On a pass charged to a low ticket balance: the whole meals the balance still pays for
    /// (what the gate screen tells the pupil, never the amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meals_left: Option<u32>,
    /// A line of the régie (a payment, a cancellation, a refund) rather than a decision: for
    /// the staff only, never on the gate screen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money: Option<MoneyFacts>,
}

/// An alert on the staff screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `lost_badge`, `reader_offline`, `emergency`, `hub_unreachable`, `quarantine`.
    pub kind: String,
    /// What happened, in French ("Badge déclaré perdu présenté : Léa MARTIN à 12:04"); in
    /// the viewer's language once through `i18n::localise_summary`.
    pub text: String,
    /// Its particulars (a reader's name, a count, who and when), from which
    /// `i18n::alert_text` tells it; empty when the kind says it all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl Alert {
    /// An alert of a known kind, its French words told from its particulars.
    pub fn new(kind: &str, args: Vec<String>) -> Alert {
        let mut a = Alert {
            kind: kind.to_owned(),
            text: String::new(),
            args,
        };
        a.text = i18n::alert_text(Lang::Fr, &a);
        a
    }
}

/// Counts of the current (or last) service.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub school: String,
    pub gate: String,
    /// Local date and time, in French (in the viewer's language through
    /// `i18n::localise_summary`).
    pub now: String,
    /// The same as a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_at: Option<NaiveDateTime>,
    /// The service open now, if any.
    pub service: Option<String>,
    /// Registered today under a forfait for that service, minus oppositions.
    pub expected: u64,
    pub served: u64,
    /// Denials by reason: code, label (French, or the viewer's language once localised), count.
    pub denied: Vec<(String, String, u64)>,
    pub emergency: bool,
    /// Registered today and not served yet.
    pub to_come: u64,
    pub alerts: Vec<Alert>,
}

impl Summary {
    pub fn denied_total(&self) -> u64 {
        self.denied.iter().map(|d| d.2).sum()
    }
}

/// What the kiosk reads from the daemon.
pub trait KioskSource: Send + Sync + 'static {
    fn summary(&self) -> Summary;
    /// The latest passages, newest first.
    fn recent(&self, limit: usize) -> Vec<FeedItem>;
    /// `GET /healthz`: status of readers, store and sync.
    fn health(&self) -> serde_json::Value;
    /// When the source last changed.
    fn updated(&self) -> DateTime<Utc>;
    /// The school's date now, in its time zone and by its clock (the kiosk has neither).
    fn today(&self) -> chrono::NaiveDate;
}

/// Why the source refused a staff action or a report: the kind decides the page's HTTP
/// status, the [`Problem`] what the staff read (in their language, `i18n::problem`; `Display`
/// gives the French).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A value in the request is not valid (a date, a reason, a badge number): 400.
    #[error("{0}")]
    Invalid(Problem),
    /// The request names something that does not exist (a person, an opposition, a reader): 404.
    #[error("{0}")]
    NotFound(Problem),
    /// The rules or the state refuse it as it stands (no service open, a badge in use): 409.
    #[error("{0}")]
    Refused(Problem),
    /// The store or the gate could not do it now; the staff may try again: 503.
    #[error("{0}")]
    Unavailable(Problem),
    /// It exists, but not for this node to show or change (a receipt of a régie held
    /// elsewhere): 403.
    #[error("{0}")]
    Forbidden(Problem),
}

impl SourceError {
    /// The HTTP status of the page that says so.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            SourceError::Invalid(_) => StatusCode::BAD_REQUEST,
            SourceError::NotFound(_) => StatusCode::NOT_FOUND,
            SourceError::Refused(_) => StatusCode::CONFLICT,
            SourceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            SourceError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    /// What went wrong.
    pub fn problem(&self) -> &Problem {
        match self {
            SourceError::Invalid(p)
            | SourceError::NotFound(p)
            | SourceError::Refused(p)
            | SourceError::Unavailable(p)
            | SourceError::Forbidden(p) => p,
        }
    }
}

/// Which date of a form was not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateField {
    /// An opposition's first day.
    From,
    /// An opposition's last day.
    To,
    /// The report's day.
    Day,
    /// The day a remise d'ordre was asked for.
    AskedOn,
}

/// What the source has to say about a refused action, by kind with its particulars; `detail`s
/// are a lower layer's own words (a storage error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    UnknownPerson,
    UnknownOpposition,
    UnknownReader {
        reader: String,
    },
    NoServiceOpen,
    /// Served already in this service, at `at` (`HH:MM`).
    AlreadyServed {
        at: String,
    },
    /// The admission went to the gate but was not seen committed in time.
    AdmissionUnconfirmed,
    NotABadge {
        given: String,
    },
    BadgeNotTheirs {
        badge: String,
    },
    /// The badge read for an enrolment is not a badge number.
    ReadNotABadge {
        read: String,
    },
    BadgeAlreadyTheirs {
        badge: String,
        name: String,
    },
    /// Held by someone else (named when known).
    BadgeHeldByOther {
        badge: String,
        name: Option<String>,
    },
    EnrolInterrupted,
    NoBadgePresented {
        seconds: u64,
    },
    UnknownReason {
        given: String,
    },
    UnknownService {
        given: String,
    },
    /// A tariff tier the configuration does not declare.
    UnknownTier {
        given: String,
    },
    NotADate {
        field: DateField,
        given: String,
    },
    EndBeforeStart,
    NotRecorded {
        detail: String,
    },
    JournalUnreadable {
        detail: String,
    },
    ReportFailed {
        detail: String,
    },
    /// Not a month `YYYY-MM`.
    NotAMonth {
        given: String,
    },
    /// An amount as typed that is not one.
    AmountTyped {
        error: AmountError,
        given: String,
    },
    /// An amount the régie does not take: zero or less, or more than `max_cents`.
    AmountOutOfRange {
        cents: i64,
        max_cents: i64,
    },
    /// A payment mode the form does not have.
    UnknownMode {
        given: String,
    },
    /// A cheque without its number or its bank.
    ChequeWithoutNumber,
    /// An online or imported payment without its reference.
    NoReference,
    /// A field left empty.
    Missing {
        field: MoneyField,
    },
    /// A field longer than `max` characters.
    TooLong {
        field: MoneyField,
        max: usize,
    },
    /// Not a receipt number like `R1-2026-00042`.
    NotAReceipt {
        given: String,
    },
    UnknownReceipt {
        receipt: String,
    },
    AlreadyCancelled {
        receipt: String,
    },
    /// A régie held by another node: its receipts are numbered, shown and cancelled there.
    RegieNotHere {
        regie: String,
        node: String,
    },
    UnknownRegie {
        regie: String,
    },
    /// This node holds no régie: payments are taken at another.
    NoRegieHere,
    /// A refund larger than the balance.
    MoreThanBalance {
        balance_cents: i64,
        cents: i64,
    },
    /// The billing refused an operation: every problem it found, in its own French words.
    Billing {
        problems: Vec<String>,
    },
    /// No billing term of this code.
    UnknownTerm {
        term: String,
    },
    /// An aid kind the form does not have.
    UnknownAidKind {
        given: String,
    },
    /// Not a billing entry's reference `GATE/SEQ`.
    NotAnEntry {
        given: String,
    },
    /// Words as the source wrote them.
    Text(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&i18n::problem(Lang::Fr, self))
    }
}

impl From<&str> for Problem {
    fn from(s: &str) -> Problem {
        Problem::Text(s.to_owned())
    }
}

impl From<String> for Problem {
    fn from(s: String) -> Problem {
        Problem::Text(s)
    }
}

/// A boxed future, for the trait's actions (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A decision as it reaches the live feed (none when only the counts or alerts changed), with
/// the service's counts after it.
#[derive(Clone, Debug, Serialize)]
pub struct Live {
    pub item: Option<FeedItem>,
    pub summary: Summary,
}

/// A person as a search or a list shows them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PersonRow {
    pub id: u32,
    /// `Prénom NOM`.
    pub name: String,
    pub class: String,
    /// Élève, commensal, hôte, in French.
    pub category: String,
    /// The same as a value (`i18n::category`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_code: Option<Category>,
    /// Today's status in French ("Servi à 12:04", "Attendu (forfait)", "Absent (PRONOTE)").
    pub status: String,
    /// The same as a value (`i18n::person_status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<PersonStatus>,
    pub served: bool,
}

/// A person's status for the service open now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PersonStatus {
    NoService,
    /// Served, last at `at` (`HH:MM`), `times` times in this service.
    Served {
        at: String,
        times: u32,
    },
    /// Blocked by an opposition in force.
    Opposed {
        reason: OppositionReason,
    },
    /// A forfait covers this service.
    Expected,
    /// A forfait holder on a day it does not cover.
    NotRegisteredToday,
    /// Pays by ticket; the balance now.
    Ticket {
        balance_cents: i64,
    },
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BadgeRow {
    pub number: String,
    /// `active`, `lost`, `revoked`.
    pub status: String,
}

/// An opposition, in French words (`reason`, `service`, `from`, `to`) and, where given, as
/// values the kiosk tells in the viewer's language.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OppositionRow {
    pub id: u64,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<OppositionReason>,
    /// The service's label (as configured).
    pub service: String,
    /// For every service (then `service` says so in French).
    #[serde(default)]
    pub every_service: bool,
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_day: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_day: Option<NaiveDate>,
    /// As the staff typed it.
    pub note: String,
    pub lifted: bool,
}

/// A passage or a correction on a person's page.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PassageRow {
    /// Local date and time, in French.
    pub when: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<NaiveDateTime>,
    pub service: String,
    pub pass: bool,
    /// In French.
    pub label: String,
    /// What `label` is made of (`i18n::passage_row_words`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<PassageWords>,
}

/// What a person's page says of a journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PassageWords {
    Passage(i18n::PassageFacts),
    /// A correction of the passage `gate`/`seq`, with its note and refund.
    Correction {
        gate: String,
        seq: u64,
        note: String,
        refund_cents: i64,
    },
}

/// A person's page: status today, badges, oppositions, balance and passages.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PersonDetail {
    pub row: PersonRow,
    pub external_id: String,
    /// In French.
    pub regime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regime_code: Option<Regime>,
    pub balance_cents: i64,
    /// The tariff tier's code, when the person has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub badges: Vec<BadgeRow>,
    pub oppositions: Vec<OppositionRow>,
    /// Newest first.
    pub passages: Vec<PassageRow>,
}

/// A new opposition, as the form gives it.
#[derive(Clone, Debug)]
pub struct NewOpposition {
    pub person: u32,
    /// `absent_pronote`, `impaye`, `exclusion`, `manuelle`.
    pub reason: String,
    /// A service code, or none for every service.
    pub service: Option<String>,
    /// `YYYY-MM-DD`.
    pub from: String,
    pub to: Option<String>,
    pub note: String,
    pub by: String,
}

/// One service of a day's report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServiceReport {
    pub label: String,
    /// Registered under a forfait (minus oppositions), when known for that day.
    pub expected: Option<u64>,
    pub passes: u64,
    /// Passes by reason label, in French (forfait, ticket, manual).
    pub passes_by: Vec<(String, u64)>,
    /// Denials by reason label, in French.
    pub denials: Vec<(String, u64)>,
    /// The same two by reason, when given: the kiosk shows these, in the viewer's language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passes_by_reason: Vec<(Reason, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials_by_reason: Vec<(Reason, u64)>,
    pub charged_cents: i64,
    pub corrections: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DayReport {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub services: Vec<ServiceReport>,
}

/// The hub sync's state, for the staff screen and `/healthz` (filled by the sync, when there
/// is one); `i18n::sync_line` tells it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncStatus {
    pub role: SyncRole,
    pub connected: bool,
    /// Local date and time of the last successful exchange with the hub, in French.
    pub last_exchange: Option<String>,
    /// The same as a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exchange_at: Option<NaiveDateTime>,
    pub events_waiting: u64,
    /// A hub: the gates linked now.
    #[serde(default)]
    pub gates: u64,
}

/// What this node is to the sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncRole {
    Standalone,
    #[default]
    Gate,
    Hub,
}

/// One line of an exchange's report: its French words as the exchange wrote them, and its
/// kind (`code`) and particulars (`args`, in order) from which `i18n::report_line` tells it in
/// other languages; an empty or unknown code keeps the words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub code: String,
    pub args: Vec<String>,
    pub text: String,
}

impl ReportLine {
    /// A line of words only.
    pub fn text(text: &str) -> ReportLine {
        ReportLine {
            text: text.to_owned(),
            ..ReportLine::default()
        }
    }
}

/// The last run of a data exchange (PRONOTE, SIÈCLE, GFC…), for the "Échanges" page. The
/// `String` fields are French; the others are the same as values, shown when given.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExchangeReport {
    pub name: String,
    pub last_run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<NaiveDateTime>,
    pub ok: bool,
    /// The error, or a one-line result.
    pub message: String,
    /// `never`, `running`, `ok` or `error` (empty: unknown, `message` says it).
    #[serde(default)]
    pub status: String,
    /// The cron expression.
    #[serde(default)]
    pub schedule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportLine>,
    /// A failed run is tried again at this local time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<NaiveTime>,
    pub sent: String,
    pub received: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent_lines: Vec<ReportLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received_lines: Vec<ReportLine>,
}

/// What the staff do through the kiosk, carried out by the running daemon. Errors say what
/// went wrong as [`Problem`]s, told in the staff's language.
pub trait StaffSource: KioskSource {
    /// Every decision committed from now on, with the counts after it.
    fn live(&self) -> tokio::sync::broadcast::Receiver<Live>;
    /// Persons whose name, class or badge matches `query`.
    fn search(&self, query: &str, limit: usize) -> Vec<PersonRow>;
    fn person(&self, id: u32) -> BoxFuture<'_, Option<PersonDetail>>;
    /// Registered for the open service and not served yet.
    fn not_served(&self) -> Vec<PersonRow>;
    /// Admits `person` by hand; journaled with `by` and `note`. Refused when they were served
    /// already in this service, unless `second_meal` (an explicit, journaled choice).
    fn admit(
        &self,
        person: u32,
        by: &str,
        note: &str,
        second_meal: bool,
    ) -> BoxFuture<'_, Result<(), SourceError>>;
    fn declare_lost(&self, person: u32, badge: &str) -> BoxFuture<'_, Result<(), SourceError>>;
    /// Waits (at most `wait`) for the next badge read, at `reader` or any, and gives it to
    /// `person`. Returns the badge number.
    fn enrol_next(
        &self,
        person: u32,
        reader: Option<String>,
        wait: Duration,
    ) -> BoxFuture<'_, Result<String, SourceError>>;
    fn add_opposition(&self, o: NewOpposition) -> BoxFuture<'_, Result<(), SourceError>>;
    fn lift_opposition(&self, person: u32, id: u64) -> BoxFuture<'_, Result<(), SourceError>>;
    /// The report of `day` (`YYYY-MM-DD`; today when `None`).
    fn day_report(&self, day: Option<String>) -> BoxFuture<'_, Result<DayReport, SourceError>>;
    /// (code, label) of each service.
    fn services(&self) -> Vec<(String, String)>;
    fn readers(&self) -> Vec<String>;
    /// The tariff tiers the school declares, as (code, label).
    fn tiers(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Sets (or, `None`, removes) a person's tariff tier: the gate charges its price from the
    /// next meal.
    fn set_tier(
        &self,
        person: u32,
        tier: Option<String>,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        let _ = (person, tier);
        Box::pin(async { Err(SourceError::Invalid(Problem::UnknownPerson)) })
    }
    /// The hub sync, when this gate has one.
    fn sync_status(&self) -> Option<SyncStatus> {
        None
    }
    /// The data exchanges' last runs.
    fn exchange_reports(&self) -> Vec<ExchangeReport> {
        Vec::new()
    }

    /// The school's régies, those this node holds marked.
    fn regies(&self) -> Vec<RegieInfo>;
    /// Takes a payment at one of this node's régies, through the running gate: the balance
    /// changes at once, the store numbers the receipt. Returns the receipt.
    fn take_payment(&self, p: NewPayment) -> BoxFuture<'_, Result<ReceiptView, SourceError>>;
    /// The receipt `number` (`R1-2026-00042`) of a régie this node holds: `Invalid` when it is
    /// not a receipt number, `Forbidden` for a régie held elsewhere, `NotFound` when no payment
    /// has it.
    fn receipt(&self, number: &str) -> BoxFuture<'_, Result<ReceiptView, SourceError>>;
    /// The same receipt as a PDF (French).
    fn receipt_pdf(&self, number: &str) -> BoxFuture<'_, Result<Vec<u8>, SourceError>>;
    /// Cancels the payment of receipt `number` (a régie held here, not cancelled yet), with
    /// `by` and `reason`. Returns the receipt, cancelled.
    fn cancel_payment(
        &self,
        number: &str,
        by: &str,
        reason: &str,
    ) -> BoxFuture<'_, Result<ReceiptView, SourceError>>;
    /// Gives back part of a person's remaining balance (at most the balance).
    fn refund(&self, r: NewRefund) -> BoxFuture<'_, Result<(), SourceError>>;
    /// Today's payments so far, at every régie (what `/regie` lists: the day's payments and
    /// their cancellations, read from the day's events only).
    fn payments_today(&self) -> BoxFuture<'_, Result<CashView, SourceError>>;
    /// The cash report of `day` for `regie` (every régie when `None`).
    fn cash_report(
        &self,
        day: NaiveDate,
        regie: Option<String>,
    ) -> BoxFuture<'_, Result<CashView, SourceError>>;
    /// The month's reconciliation.
    fn month_report(&self, year: i32, month: u32) -> BoxFuture<'_, Result<MonthView, SourceError>>;
    /// A report as CSV or PDF.
    fn report_file(&self, file: ReportFile) -> BoxFuture<'_, Result<Vec<u8>, SourceError>>;
    /// The persons paying by ticket whose balance is worth fewer meals than the school's
    /// threshold, lowest first.
    fn low_balances(&self) -> BoxFuture<'_, Result<LowBalances, SourceError>>;

    /// The billing terms of the school year with their state.
    fn billing_terms(&self) -> BoxFuture<'_, Result<Vec<billing::TermSummary>, SourceError>>;
    /// The term `code`: each pupil's bill, what a constatation would journal now, the entries
    /// in force (`NotFound(UnknownTerm)` for a term the school does not have).
    fn billing_term(&self, code: &str) -> BoxFuture<'_, Result<billing::TermDetail, SourceError>>;
    /// Carries out a billing operation through the running gate: planned on the journal as it
    /// stands and checked whole, then committed in one transaction; refused
    /// (`Refused(Problem::Billing)`), nothing is journaled.
    fn billing(
        &self,
        op: billing::BillingOp,
    ) -> BoxFuture<'_, Result<billing::BillingDone, SourceError>>;
    /// A term's document: the file's name and its bytes.
    fn billing_file(
        &self,
        code: &str,
        file: billing::BillingFile,
    ) -> BoxFuture<'_, Result<(String, Vec<u8>), SourceError>>;
}

/// How the kiosk is served.
#[derive(Clone, Debug)]
pub struct KioskOptions {
    /// `DATA/accounts.toml`.
    pub accounts: PathBuf,
    /// Served over TLS: cookies get `Secure`.
    pub tls: bool,
    /// Set to `true` when the server stops: the event streams end so that it can.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl KioskOptions {
    /// Resolves when the server stops (never without a stop signal).
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let rx = self.stop.clone();
        async move {
            match rx {
                Some(mut rx) => {
                    while !*rx.borrow_and_update() {
                        if rx.changed().await.is_err() {
                            return;
                        }
                    }
                }
                None => std::future::pending().await,
            }
        }
    }
}

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (login page, gate screen, health, static files).
    Public,
    Staff(Role),
}

/// Every route of the kiosk: method, path (with an example id) and who may use it.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/login", Access::Public),
    ("POST", "/login", Access::Public),
    ("GET", "/healthz", Access::Public),
    ("GET", "/gate/ligne-1", Access::Public),
    ("GET", "/gate/ligne-1/events", Access::Public),
    ("GET", "/portique", Access::Public),
    ("GET", "/assets/kiosk.css", Access::Public),
    ("GET", "/assets/kiosk.js", Access::Public),
    ("GET", "/assets/gate.js", Access::Public),
    ("GET", "/assets/regie.js", Access::Public),
    ("GET", "/kiosk.css", Access::Public),
    ("POST", "/logout", Access::Staff(Role::Surveillant)),
    ("GET", "/", Access::Staff(Role::Surveillant)),
    ("GET", "/events", Access::Staff(Role::Surveillant)),
    ("GET", "/api/summary", Access::Staff(Role::Surveillant)),
    ("GET", "/api/feed", Access::Staff(Role::Surveillant)),
    ("GET", "/search?q=a", Access::Staff(Role::Surveillant)),
    ("GET", "/person/1", Access::Staff(Role::Surveillant)),
    ("GET", "/not-served", Access::Staff(Role::Surveillant)),
    ("POST", "/admit", Access::Staff(Role::Surveillant)),
    ("GET", "/regie", Access::Staff(Role::Regisseur)),
    ("POST", "/regie/pay", Access::Staff(Role::Regisseur)),
    (
        "GET",
        "/regie/receipt/R-2026-00001",
        Access::Staff(Role::Regisseur),
    ),
    (
        "GET",
        "/regie/receipt/R-2026-00001.pdf",
        Access::Staff(Role::Regisseur),
    ),
    (
        "GET",
        "/regie/cancel?receipt=R-2026-00001",
        Access::Staff(Role::Regisseur),
    ),
    ("POST", "/regie/cancel", Access::Staff(Role::Regisseur)),
    ("POST", "/regie/refund", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/caisse", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/caisse.csv", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/caisse.pdf", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/mois", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/mois.csv", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/mois.pdf", Access::Staff(Role::Regisseur)),
    ("GET", "/regie/soldes-bas", Access::Staff(Role::Regisseur)),
    ("GET", "/manage", Access::Staff(Role::Gestionnaire)),
    ("POST", "/badge/enrol", Access::Staff(Role::Gestionnaire)),
    ("POST", "/badge/lost", Access::Staff(Role::Gestionnaire)),
    ("POST", "/person/tier", Access::Staff(Role::Gestionnaire)),
    ("POST", "/opposition/add", Access::Staff(Role::Gestionnaire)),
    (
        "POST",
        "/opposition/lift",
        Access::Staff(Role::Gestionnaire),
    ),
    ("GET", "/report", Access::Staff(Role::Gestionnaire)),
    ("GET", "/exchanges", Access::Staff(Role::Gestionnaire)),
    ("GET", "/facturation", Access::Staff(Role::Gestionnaire)),
    ("GET", "/facturation/T1", Access::Staff(Role::Gestionnaire)),
    (
        "POST",
        "/facturation/T1/constater",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "POST",
        "/facturation/T1/clore",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "POST",
        "/facturation/T1/remise",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "POST",
        "/facturation/T1/aide",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "POST",
        "/facturation/T1/retrait",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "GET",
        "/facturation/T1/avis.pdf",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "GET",
        "/facturation/T1/bordereau-1.pdf",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "GET",
        "/facturation/T1/bordereau-1.csv",
        Access::Staff(Role::Gestionnaire),
    ),
    (
        "GET",
        "/facturation/T1/bordereau-1.xlsx",
        Access::Staff(Role::Gestionnaire),
    ),
    ("GET", "/accounts", Access::Staff(Role::Administrateur)),
    ("POST", "/accounts/add", Access::Staff(Role::Administrateur)),
    (
        "POST",
        "/accounts/remove",
        Access::Staff(Role::Administrateur),
    ),
];

/// The kiosk's shared state.
pub(crate) struct App {
    pub src: Arc<dyn StaffSource>,
    pub opts: KioskOptions,
    pub accounts: AccountsFile,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
}

pub(crate) type AppState = State<Arc<App>>;

/// Who is asking, found by the guard and handed to the handlers.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub session: Option<(String, Session)>,
    pub lang: Lang,
    pub ip: Option<std::net::IpAddr>,
    /// The form fields of a POST (already read by the guard for the token).
    pub form: Vec<(String, String)>,
}

impl Caller {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The kiosk's routes.
pub fn router(src: Arc<dyn StaffSource>, opts: KioskOptions) -> Router {
    let app = Arc::new(App {
        src,
        accounts: AccountsFile::new(opts.accounts.clone()),
        opts,
        sessions: Sessions::default(),
        limiter: LoginLimiter::default(),
    });
    Router::new()
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/healthz", get(healthz))
        .route("/gate/{gate}", get(gate_screen::page))
        .route("/gate/{gate}/events", get(gate_screen::events))
        .route("/portique", get(gate_screen::default_gate))
        .route("/assets/kiosk.css", get(css))
        .route("/kiosk.css", get(css))
        .route("/assets/kiosk.js", get(kiosk_js))
        .route("/assets/gate.js", get(gate_js))
        .route("/assets/regie.js", get(regie_js))
        .route("/", get(pages::index))
        .route("/events", get(pages::events))
        .route("/api/summary", get(pages::api_summary))
        .route("/api/feed", get(pages::api_feed))
        .route("/search", get(pages::search))
        .route("/person/{id}", get(pages::person))
        .route("/not-served", get(pages::not_served))
        .route("/admit", post(pages::admit))
        .route("/regie", get(regie::desk))
        .route("/regie/pay", post(regie::pay))
        .route("/regie/receipt/{number}", get(regie::receipt))
        .route("/regie/cancel", get(regie::cancel_page).post(regie::cancel))
        .route("/regie/refund", post(regie::refund))
        .route("/regie/caisse", get(regie::cash))
        .route("/regie/caisse.csv", get(regie::cash_csv))
        .route("/regie/caisse.pdf", get(regie::cash_pdf))
        .route("/regie/mois", get(regie::month))
        .route("/regie/mois.csv", get(regie::month_csv))
        .route("/regie/mois.pdf", get(regie::month_pdf))
        .route("/regie/soldes-bas", get(regie::low_balances))
        .route("/manage", get(pages::manage))
        .route("/badge/enrol", post(pages::enrol))
        .route("/badge/lost", post(pages::lost))
        .route("/person/tier", post(pages::set_tier))
        .route("/opposition/add", post(pages::opposition_add))
        .route("/opposition/lift", post(pages::opposition_lift))
        .route("/report", get(pages::report))
        .route("/exchanges", get(pages::exchanges))
        .route("/facturation", get(billing::terms))
        .route("/facturation/{term}", get(billing::term))
        .route("/facturation/{term}/constater", post(billing::constate))
        .route("/facturation/{term}/clore", post(billing::close))
        .route("/facturation/{term}/remise", post(billing::remise))
        .route("/facturation/{term}/aide", post(billing::aid))
        .route("/facturation/{term}/retrait", post(billing::withdraw))
        .route("/facturation/{term}/{file}", get(billing::file))
        .route("/accounts", get(pages::accounts_page))
        .route("/accounts/add", post(pages::accounts_add))
        .route("/accounts/remove", post(pages::accounts_remove))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Largest form accepted.
const FORM_LIMIT: usize = 64 * 1024;

/// Resolves once the session `session` has ended: logged out, idle too long, or its account
/// removed, changed or given a new password (checked every second). Never without a session.
pub(crate) async fn session_ended(app: Arc<App>, session: Option<(String, Session)>) {
    let Some((id, s)) = session else {
        return std::future::pending().await;
    };
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let account_same = app
            .accounts
            .get(&s.name)
            .is_some_and(|a| a.role == s.role && a.hash == s.credential);
        if !account_same {
            app.sessions.remove(&id);
            return;
        }
        if !app.sessions.is_open(&id) {
            return;
        }
    }
}

/// Runs before every route: finds the session and the language; on a POST, checks the origin
/// and the anti-forgery token (the session's, or the login form's cookie for `/login`).
async fn guard(State(app): AppState, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let headers = &parts.headers;
    let mut lang = auth::lang_of(headers);
    let query_lang = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .and_then(Lang::parse)
    });
    if let Some(l) = query_lang {
        lang = l;
    }
    let session = auth::cookie(headers, auth::SESSION_COOKIE).and_then(|id| {
        let s = app.sessions.get(&id)?;
        // The account may have been removed, changed or given a new password since the login.
        match app.accounts.get(&s.name) {
            Some(a) if a.role == s.role && a.hash == s.credential => Some((id, s)),
            _ => {
                app.sessions.remove(&id);
                None
            }
        }
    });
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let mut form = Vec::new();
    let body = if parts.method == Method::POST {
        if !auth::same_origin(headers) {
            return forbidden_csrf(lang);
        }
        let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    i18n::t(lang, "error.toolarge"),
                )
                    .into_response();
            }
        };
        form = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).unwrap_or_default();
        let sent = headers
            .get(auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                form.iter()
                    .find(|(k, _)| k == auth::CSRF_FIELD)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default();
        let expected = if parts.uri.path() == "/login" {
            auth::cookie(headers, auth::LOGIN_COOKIE).unwrap_or_default()
        } else {
            session
                .as_ref()
                .map(|(_, s)| s.csrf.clone())
                .unwrap_or_default()
        };
        if !auth::tokens_match(&expected, &sent) {
            if session.is_none() && parts.uri.path() != "/login" {
                return unauthenticated(lang, &parts.headers, parts.uri.path());
            }
            return forbidden_csrf(lang);
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(Caller {
        session,
        lang,
        ip,
        form,
    });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    if let Some(l) = query_lang {
        if let Ok(v) =
            auth::set_cookie(auth::LANG_COOKIE, l.code(), app.opts.tls, Some(31_536_000)).parse()
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    security_headers(resp).await
}

/// The headers every answer carries, pages, errors, 404s and `/metrics` alike: no sniffing, a
/// strict content policy, no framing, no referrer off site, nothing cached unless said.
pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        "nosniff"
            .parse()
            .unwrap_or(header::HeaderValue::from_static("nosniff")),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    resp
}

/// Any path that is not a route.
async fn not_found(caller: Option<axum::Extension<Caller>>) -> Response {
    let lang = caller.map(|c| c.0.lang).unwrap_or_default();
    (
        StatusCode::NOT_FOUND,
        format!("{}\n", i18n::t(lang, "error.nopage")),
    )
        .into_response()
}

fn forbidden_csrf(lang: Lang) -> Response {
    (StatusCode::FORBIDDEN, i18n::t(lang, "error.csrf")).into_response()
}

/// Not logged in: pages redirect to the login form, the API and the event stream answer 401.
pub(crate) fn unauthenticated(lang: Lang, headers: &HeaderMap, path: &str) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !path.starts_with("/api") && path != "/events" {
        let next: String = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/login?{next}"))],
        )
            .into_response()
    } else {
        (StatusCode::UNAUTHORIZED, i18n::t(lang, "error.login")).into_response()
    }
}

async fn healthz(State(app): AppState) -> Response {
    let mut health = app.src.health();
    if let (Some(sync), Some(obj)) = (app.src.sync_status(), health.as_object_mut()) {
        obj.insert(
            "sync".into(),
            serde_json::to_value(&sync).unwrap_or(serde_json::Value::Null),
        );
    }
    let ok = health.get("status").and_then(|s| s.as_str()) == Some("ok");
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../assets/kiosk.css"),
    )
}
async fn kiosk_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/kiosk.js"),
    )
}
async fn gate_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/gate.js"),
    )
}
async fn regie_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/regie.js"),
    )
}

/// Formats cents as euros, French style: `−3,20 €` (`i18n::euros` in other languages).
pub fn euros(cents: i64) -> String {
    i18n::euros(Lang::Fr, cents)
}
