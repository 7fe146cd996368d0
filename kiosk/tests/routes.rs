//! Every route of the kiosk, through the real router, on a fake school: anonymous callers are
//! refused, a POST without the anti-forgery token (or from another origin) is refused and
//! changes nothing, each role reaches exactly what it may, logins are rate-limited, the gate
//! screen's stream carries nothing beyond a first name and a class (and a low balance's meals,
//! never an amount), the cash desk takes payments, cancellations and refunds and keeps what was
//! typed when it refuses, and every staff page speaks English under `?lang=en` (French by
//! default).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use futures_util::StreamExt;
use tower::ServiceExt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use selfgate_kiosk::accounts::{AccountsFile, Role};
use selfgate_kiosk::billing::{
    BillView, BillingDone, BillingFile, BillingOp, BordereauRow, EntryView, RunLineView,
    TermDetail, TermSummary,
};
use selfgate_kiosk::i18n::PassageFacts;
use selfgate_kiosk::money::{
    CancelView, CashKind, CashLineView, CashView, DebtorView, GroupName, LowBalanceRow,
    LowBalances, MealGroupView, ModeTotalView, MoneyFacts, MoneyKind, MonthView, MovementsView,
    NewPayment, NewRefund, PaymentMode, ReceiptView, RegieInfo, ReportFile,
};
use selfgate_kiosk::{
    Access, Alert, BadgeRow, BoxFuture, DayReport, ExchangeReport, FeedItem, KioskOptions,
    KioskSource, Live, NewOpposition, OppositionRow, PassageRow, PassageWords, PersonDetail,
    PersonRow, PersonStatus, Problem, ROUTES, ReportLine, ServiceReport, SourceError, StaffSource,
    Summary, SyncRole, SyncStatus,
};
use selfgate_money::billing::{ForfaitKind, Line, LineKind, RemiseCause};
use selfgate_rules::journal::{AidKind, BillingInput, Reason, ReceivableKind};
use selfgate_rules::model::{Category, OppositionReason, Regime};

/// The fake school's day, 30 November 2026, at `h:m:s`.
fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
        .and_then(|d| d.and_hms_opt(h, m, s))
        .unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A school of two pupils and a member of staff, as the daemon would describe it: values beside
/// their French words. Every action is recorded instead of done.
struct Fake {
    live: tokio::sync::broadcast::Sender<Live>,
    actions: Mutex<Vec<String>>,
}

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            live: tokio::sync::broadcast::channel(16).0,
            actions: Mutex::new(Vec::new()),
        })
    }
    fn did(&self, what: String) {
        self.actions.lock().unwrap().push(what);
    }
    fn actions(&self) -> Vec<String> {
        self.actions.lock().unwrap().clone()
    }
    fn row(id: u32) -> PersonRow {
        let (class, category, status) = match id {
            // A member of staff paying by ticket, overdrawn.
            2 => (
                "",
                Category::Commensal,
                PersonStatus::Ticket {
                    balance_cents: -390,
                },
            ),
            // Served twice (a second meal).
            3 => (
                "4B",
                Category::Eleve,
                PersonStatus::Served {
                    at: "12:04".into(),
                    times: 2,
                },
            ),
            _ => ("4B", Category::Eleve, PersonStatus::Expected),
        };
        PersonRow {
            id,
            name: format!("Léa MARTIN{id}"),
            class: class.into(),
            category: selfgate_kiosk::i18n::category(selfgate_kiosk::i18n::Lang::Fr, category)
                .into(),
            category_code: Some(category),
            served: matches!(status, PersonStatus::Served { .. }),
            status: selfgate_kiosk::i18n::person_status(selfgate_kiosk::i18n::Lang::Fr, &status),
            today: Some(status),
        }
    }

    fn item(time: &str, pass: bool, facts: PassageFacts) -> FeedItem {
        use selfgate_kiosk::i18n::{Lang, passage_words};
        FeedItem {
            gate: "ligne-1".into(),
            seq: Some(41),
            time: time.into(),
            name: "Léa MARTIN".into(),
            class: "4B".into(),
            pass,
            reason: facts.reason.code().into(),
            label: passage_words(Lang::Fr, &facts),
            label_en: passage_words(Lang::En, &facts),
            person: Some(7),
            first_name: "Léa".into(),
            balance_cents: facts.balance_after_cents,
            facts: Some(facts),
            meals_left: None,
            money: None,
        }
    }

    /// The receipt `number` as the fake régie holds it: `R-2026-00001` (20,50 € in cash),
    /// `R-2026-00002` (a cheque, cancelled); the régie `R2` is held by another station.
    fn receipt(number: &str) -> Result<ReceiptView, SourceError> {
        let number = number.trim();
        let Some((regie, _)) = number
            .split_once('-')
            .filter(|(r, rest)| !r.is_empty() && rest.len() == 10 && rest.as_bytes()[4] == b'-')
        else {
            return Err(SourceError::Invalid(Problem::NotAReceipt {
                given: number.into(),
            }));
        };
        if regie == "R2" {
            return Err(SourceError::Forbidden(Problem::RegieNotHere {
                regie: "R2".into(),
                node: "ligne-2".into(),
            }));
        }
        let view = ReceiptView {
            receipt: number.into(),
            regie: "R".into(),
            regie_name: "Intendance".into(),
            school: "Collège test".into(),
            person: 1,
            name: "Léa MARTIN1".into(),
            class: "4B".into(),
            cents: 2050,
            mode: PaymentMode::Especes,
            payer: "M. Martin".into(),
            by: "regisseur".into(),
            note: String::new(),
            at: at(8, 10, 0),
            cancelled: None,
        };
        match number {
            "R-2026-00001" => Ok(view),
            "R-2026-00002" => Ok(ReceiptView {
                cents: 4000,
                mode: PaymentMode::Cheque {
                    number: "1234567".into(),
                    bank: "CIC".into(),
                },
                cancelled: Some(CancelView {
                    at: at(9, 0, 0),
                    by: "regisseur".into(),
                    reason: "typed twice".into(),
                }),
                ..view
            }),
            _ => Err(SourceError::NotFound(Problem::UnknownReceipt {
                receipt: number.into(),
            })),
        }
    }

    /// The fake day at the régie: two payments (the cheque cancelled the same day) and a
    /// refund.
    fn cash(day: NaiveDate, regie: Option<String>) -> CashView {
        let line = |kind, receipt: Option<&str>, time: &str, cents: i64, mode: &str| CashLineView {
            kind,
            receipt: receipt.map(str::to_owned),
            regie: "R".into(),
            time: time.into(),
            person: 1,
            name: "Léa MARTIN1".into(),
            class: "4B".into(),
            payer: "M. Martin".into(),
            mode: mode.into(),
            mode_detail: String::new(),
            cents,
            counted_cents: cents,
            by: "regisseur".into(),
            note: String::new(),
            cancelled: false,
            cancellable: true,
        };
        let cheque = CashLineView {
            mode_detail: "1234567, CIC".into(),
            counted_cents: 0,
            cancelled: true,
            cancellable: false,
            ..line(
                CashKind::Payment,
                Some("R-2026-00002"),
                "08:20",
                4000,
                "cheque",
            )
        };
        let refund = CashLineView {
            receipt: None,
            payer: String::new(),
            note: "leaving".into(),
            cancellable: false,
            ..line(CashKind::Refund, None, "11:00", -1250, "virement")
        };
        let modes = vec![
            ModeTotalView {
                mode: "especes".into(),
                payments_count: 1,
                payments_cents: 2050,
                net_cents: 2050,
                ..ModeTotalView::default()
            },
            ModeTotalView {
                mode: "cheque".into(),
                payments_count: 1,
                payments_cents: 4000,
                cancellations_cents: 4000,
                ..ModeTotalView::default()
            },
            ModeTotalView {
                mode: "virement".into(),
                refunds_cents: 1250,
                net_cents: -1250,
                ..ModeTotalView::default()
            },
        ];
        CashView {
            day,
            regie,
            lines: vec![
                line(
                    CashKind::Payment,
                    Some("R-2026-00001"),
                    "08:10",
                    2050,
                    "especes",
                ),
                cheque,
                refund,
            ],
            modes,
            total_cents: 800,
            payments_count: 2,
            cancelled_count: 1,
            cancellations_count: 1,
            refunds_count: 1,
            first_receipt: Some("R-2026-00001".into()),
            last_receipt: Some("R-2026-00002".into()),
            missing: vec![],
        }
    }
}

fn facts(reason: Reason) -> PassageFacts {
    PassageFacts {
        reason,
        previous_at: (reason == Reason::AlreadyServed).then(|| "12:04".into()),
        balance_after_cents: matches!(reason, Reason::Ticket | Reason::InsufficientBalance)
            .then_some(-320),
        by: (reason == Reason::Manual).then(|| "mleroy".into()),
        note: (reason == Reason::Manual).then(|| "forgotten badge".into()),
    }
}

impl KioskSource for Fake {
    fn today(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
    }
    fn summary(&self) -> Summary {
        Summary {
            school: "Collège test".into(),
            gate: "ligne-1".into(),
            now: "30/11/2026 12:04:00".into(),
            now_at: Some(at(12, 4, 0)),
            service: Some("Déjeuner".into()),
            expected: 2,
            served: 0,
            to_come: 2,
            denied: vec![
                ("already_served".into(), "Déjà passé".into(), 1),
                (
                    "opposition:absent_pronote".into(),
                    "Absent (PRONOTE)".into(),
                    1,
                ),
            ],
            alerts: vec![
                Alert::new("reader_offline", strings(&["entree"])),
                Alert::new("hub_unreachable", strings(&["2026-11-30T11:00:00", "12"])),
                Alert::new("quarantine", strings(&["2"])),
                Alert::new("lost_badge", strings(&["Léa MARTIN", "4B", "12:04"])),
            ],
            ..Summary::default()
        }
    }
    fn recent(&self, _limit: usize) -> Vec<FeedItem> {
        vec![
            Fake::item("12:04:30", false, facts(Reason::AlreadyServed)),
            Fake::item("12:03:10", true, facts(Reason::Ticket)),
            Fake::item("12:02:00", false, facts(Reason::InsufficientBalance)),
            Fake::item("12:01:00", true, facts(Reason::Manual)),
            Fake::item("12:00:30", true, facts(Reason::Forfait)),
            Fake::item(
                "12:00:10",
                false,
                facts(Reason::Opposition(OppositionReason::AbsentPronote)),
            ),
            // A line from a source that gives only words.
            FeedItem {
                facts: None,
                label: "Déjà passé à 11:58".into(),
                label_en: "Already served at 11:58".into(),
                ..Fake::item("12:00:00", false, facts(Reason::AlreadyServed))
            },
        ]
    }
    fn health(&self) -> serde_json::Value {
        serde_json::json!({ "status": "ok", "readers": {} })
    }
    fn updated(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

impl StaffSource for Fake {
    fn live(&self) -> tokio::sync::broadcast::Receiver<Live> {
        self.live.subscribe()
    }
    fn search(&self, _q: &str, _limit: usize) -> Vec<PersonRow> {
        vec![Fake::row(1)]
    }
    fn person(&self, id: u32) -> BoxFuture<'_, Option<PersonDetail>> {
        use selfgate_kiosk::i18n::{Lang, passage_row_words};
        let passage = |at: NaiveDateTime, pass: bool, words: PassageWords| {
            let mut row = PassageRow {
                when: at.format("%d/%m/%Y %H:%M").to_string(),
                at: Some(at),
                service: "Déjeuner".into(),
                pass,
                words: Some(words),
                ..PassageRow::default()
            };
            row.label = passage_row_words(Lang::Fr, &row);
            row
        };
        let passages = vec![
            passage(
                at(12, 4, 30),
                false,
                PassageWords::Passage(facts(Reason::AlreadyServed)),
            ),
            passage(
                at(12, 3, 10),
                true,
                PassageWords::Passage(facts(Reason::Ticket)),
            ),
            passage(
                at(12, 10, 0),
                false,
                PassageWords::Correction {
                    gate: "ligne-1".into(),
                    seq: 40,
                    note: "wrong badge".into(),
                    refund_cents: 390,
                },
            ),
        ];
        let oppositions = vec![
            OppositionRow {
                id: 3,
                reason: "Absent (PRONOTE)".into(),
                reason_code: Some(OppositionReason::AbsentPronote),
                service: "tous les services".into(),
                every_service: true,
                from: "30/11/2026".into(),
                to: "levée".into(),
                from_day: Some(day()),
                to_day: None,
                note: "PRONOTE".into(),
                lifted: false,
            },
            OppositionRow {
                id: 4,
                reason: "Impayé".into(),
                reason_code: Some(OppositionReason::Impaye),
                service: "Déjeuner".into(),
                every_service: false,
                from: "01/12/2026".into(),
                to: "18/12/2026".into(),
                from_day: NaiveDate::from_ymd_opt(2026, 12, 1),
                to_day: NaiveDate::from_ymd_opt(2026, 12, 18),
                note: String::new(),
                lifted: true,
            },
        ];
        Box::pin(async move {
            (id < 4).then(|| PersonDetail {
                row: Fake::row(id),
                external_id: format!("E{id}"),
                regime: "Demi-pensionnaire".into(),
                regime_code: Some(Regime::DemiPensionnaire),
                balance_cents: -320,
                tier: None,
                badges: vec![
                    BadgeRow {
                        number: "0A12345678".into(),
                        status: "active".into(),
                    },
                    BadgeRow {
                        number: "0A00000001".into(),
                        status: "lost".into(),
                    },
                ],
                oppositions,
                passages,
            })
        })
    }
    fn not_served(&self) -> Vec<PersonRow> {
        vec![Fake::row(1), Fake::row(2)]
    }
    fn admit(
        &self,
        person: u32,
        by: &str,
        note: &str,
        _second_meal: bool,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        // Persons 90–94: each kind of refusal the source can give.
        let refused = match person {
            90 => Some(SourceError::Invalid("valeur <invalide>".into())),
            91 => Some(SourceError::NotFound(Problem::UnknownPerson)),
            92 => Some(SourceError::Refused(Problem::NoServiceOpen)),
            93 => Some(SourceError::Unavailable(Problem::NotRecorded {
                detail: "disk full".into(),
            })),
            94 => Some(SourceError::Refused(Problem::AlreadyServed {
                at: "12:04".into(),
            })),
            _ => None,
        };
        if let Some(e) = refused {
            return Box::pin(async move { Err(e) });
        }
        self.did(format!("admit {person} by {by}: {note}"));
        Box::pin(async { Ok(()) })
    }
    fn declare_lost(&self, person: u32, badge: &str) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("lost {person} {badge}"));
        Box::pin(async { Ok(()) })
    }
    fn tiers(&self) -> Vec<(String, String)> {
        vec![("T1".into(), "QF de 0 à 600 €".into())]
    }
    fn set_tier(
        &self,
        person: u32,
        tier: Option<String>,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("tier {person} {tier:?}"));
        Box::pin(async move {
            match tier.as_deref() {
                None | Some("T1") => Ok(()),
                Some(other) => Err(SourceError::Invalid(Problem::UnknownTier {
                    given: other.to_owned(),
                })),
            }
        })
    }
    fn enrol_next(
        &self,
        person: u32,
        _reader: Option<String>,
        _wait: Duration,
    ) -> BoxFuture<'_, Result<String, SourceError>> {
        self.did(format!("enrol {person}"));
        Box::pin(async { Ok("0A12345678".into()) })
    }
    fn add_opposition(&self, o: NewOpposition) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("opposition {} {} by {}", o.person, o.reason, o.by));
        Box::pin(async { Ok(()) })
    }
    fn lift_opposition(&self, person: u32, id: u64) -> BoxFuture<'_, Result<(), SourceError>> {
        self.did(format!("lift {person} {id}"));
        Box::pin(async { Ok(()) })
    }
    fn day_report(&self, day: Option<String>) -> BoxFuture<'_, Result<DayReport, SourceError>> {
        use selfgate_kiosk::i18n::{Lang, reason};
        if day.as_deref() == Some("hier") {
            return Box::pin(async {
                Err(SourceError::Invalid(Problem::NotADate {
                    field: selfgate_kiosk::DateField::Day,
                    given: "hier".into(),
                }))
            });
        }
        let passes = vec![
            (Reason::Forfait, 90),
            (Reason::Ticket, 7),
            (Reason::Manual, 1),
        ];
        let denials = vec![
            (Reason::AlreadyServed, 3),
            (Reason::Opposition(OppositionReason::AbsentPronote), 2),
            (Reason::BadgeRevoked, 1),
        ];
        let french = |v: &[(Reason, u64)]| {
            v.iter()
                .map(|(r, n)| (reason(Lang::Fr, *r).to_owned(), *n))
                .collect()
        };
        let report = DayReport {
            day: "2026-11-30".into(),
            services: vec![ServiceReport {
                label: "Déjeuner".into(),
                expected: Some(120),
                passes: 97,
                passes_by: french(&passes),
                denials: french(&denials),
                passes_by_reason: passes,
                denials_by_reason: denials,
                charged_cents: 24670,
                corrections: 1,
            }],
        };
        Box::pin(async move { Ok(report) })
    }
    fn services(&self) -> Vec<(String, String)> {
        vec![("dejeuner".into(), "Déjeuner".into())]
    }
    fn readers(&self) -> Vec<String> {
        vec!["entree".into()]
    }
    fn sync_status(&self) -> Option<SyncStatus> {
        Some(SyncStatus {
            role: SyncRole::Gate,
            connected: false,
            last_exchange: Some("30/11/2026 11:00:00".into()),
            last_exchange_at: Some(at(11, 0, 0)),
            events_waiting: 12,
            gates: 0,
        })
    }
    fn regies(&self) -> Vec<RegieInfo> {
        vec![
            RegieInfo {
                code: "R".into(),
                name: "Intendance".into(),
                here: true,
            },
            RegieInfo {
                code: "R2".into(),
                name: "Annexe".into(),
                here: false,
            },
        ]
    }
    fn take_payment(&self, p: NewPayment) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        let refused = match (&p.mode, p.person, p.cents) {
            (_, 90.., _) => Some(SourceError::NotFound(Problem::UnknownPerson)),
            (PaymentMode::Cheque { number, .. }, _, _) if number.is_empty() => {
                Some(SourceError::Invalid(Problem::ChequeWithoutNumber))
            }
            (_, _, 1_000_001..) => Some(SourceError::Invalid(Problem::AmountOutOfRange {
                cents: p.cents,
                max_cents: 1_000_000,
            })),
            _ => None,
        };
        if let Some(e) = refused {
            return Box::pin(async move { Err(e) });
        }
        self.did(format!(
            "pay {} {} {} by {}",
            p.person,
            p.cents,
            p.mode.code(),
            p.by
        ));
        let r = Fake::receipt("R-2026-00001").map(|r| ReceiptView {
            cents: p.cents,
            mode: p.mode,
            payer: p.payer,
            by: p.by,
            ..r
        });
        Box::pin(async move { r })
    }
    fn receipt(&self, number: &str) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        let r = Fake::receipt(number);
        Box::pin(async move { r })
    }
    fn receipt_pdf(&self, number: &str) -> BoxFuture<'_, Result<Vec<u8>, SourceError>> {
        let r = Fake::receipt(number).map(|r| format!("%PDF-1.4 {}", r.receipt).into_bytes());
        Box::pin(async move { r })
    }
    fn cancel_payment(
        &self,
        number: &str,
        by: &str,
        reason: &str,
    ) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        let r = Fake::receipt(number).and_then(|r| {
            if r.cancelled.is_some() {
                return Err(SourceError::Refused(Problem::AlreadyCancelled {
                    receipt: r.receipt,
                }));
            }
            self.did(format!("cancel {number} by {by}: {reason}"));
            Ok(ReceiptView {
                cancelled: Some(CancelView {
                    at: at(12, 0, 0),
                    by: by.into(),
                    reason: reason.into(),
                }),
                ..r
            })
        });
        Box::pin(async move { r })
    }
    fn refund(&self, r: NewRefund) -> BoxFuture<'_, Result<(), SourceError>> {
        if r.cents > 5000 {
            return Box::pin(async move {
                Err(SourceError::Refused(Problem::MoreThanBalance {
                    balance_cents: 5000,
                    cents: r.cents,
                }))
            });
        }
        self.did(format!(
            "refund {} {} {} by {}: {}",
            r.person,
            r.cents,
            r.mode.code(),
            r.by,
            r.reason
        ));
        Box::pin(async { Ok(()) })
    }
    fn payments_today(&self) -> BoxFuture<'_, Result<CashView, SourceError>> {
        Box::pin(async { Ok(Fake::cash(day(), None)) })
    }
    fn cash_report(
        &self,
        day: NaiveDate,
        regie: Option<String>,
    ) -> BoxFuture<'_, Result<CashView, SourceError>> {
        if regie.as_deref() == Some("ZZ") {
            return Box::pin(async {
                Err(SourceError::Invalid(Problem::UnknownRegie {
                    regie: "ZZ".into(),
                }))
            });
        }
        Box::pin(async move { Ok(Fake::cash(day, regie)) })
    }
    fn month_report(&self, year: i32, month: u32) -> BoxFuture<'_, Result<MonthView, SourceError>> {
        let group = |name, meals: usize, cents| MealGroupView {
            name,
            meals,
            cents,
            free_meals: 3,
            corrections: 1,
            corrections_cents: 390,
        };
        let v = MonthView {
            year,
            month,
            totals: MovementsView {
                opening_cents: 10_000,
                payments_count: 2,
                payments_cents: 6050,
                meals_count: 20,
                meals_cents: 7800,
                corrections_count: 1,
                corrections_cents: 390,
                cancellations_count: 1,
                cancellations_cents: 4000,
                refunds_count: 1,
                refunds_cents: 1250,
                credits_count: 0,
                credits_cents: 0,
                closing_cents: 3390,
            },
            persons: 2,
            debtors: vec![DebtorView {
                person: 2,
                name: "Léa MARTIN2".into(),
                class: String::new(),
                closing_cents: -390,
            }],
            debt_cents: -390,
            credit_cents: 3780,
            by_category: vec![
                group(GroupName::Category(Category::Eleve), 18, 7020),
                group(GroupName::Category(Category::Commensal), 2, 780),
            ],
            by_tier: vec![
                group(
                    GroupName::Tier {
                        code: "T1".into(),
                        label: "QF 0-500".into(),
                    },
                    10,
                    1000,
                ),
                group(GroupName::NoTier, 10, 6800),
            ],
            by_regime: vec![group(GroupName::Regime(Regime::Externe), 20, 7800)],
            modes: Fake::cash(day(), None).modes,
        };
        Box::pin(async move { Ok(v) })
    }
    fn report_file(&self, file: ReportFile) -> BoxFuture<'_, Result<Vec<u8>, SourceError>> {
        let bytes = match file {
            ReportFile::Cash { day, format, .. } => format!("{format:?} caisse {day}"),
            ReportFile::Month {
                year,
                month,
                format,
            } => format!("{format:?} mois {year}-{month}"),
        };
        Box::pin(async move { Ok(bytes.into_bytes()) })
    }
    fn low_balances(&self) -> BoxFuture<'_, Result<LowBalances, SourceError>> {
        let row = |person: u32, balance_cents: i64, meals_left: u32| LowBalanceRow {
            person,
            name: format!("Léa MARTIN{person}"),
            class: "4B".into(),
            tier: None,
            balance_cents,
            price_cents: 390,
            meals_left,
        };
        Box::pin(async move {
            Ok(LowBalances {
                threshold: 3,
                rows: vec![row(2, -390, 0), row(1, 800, 2)],
            })
        })
    }
    fn exchange_reports(&self) -> Vec<ExchangeReport> {
        let line = |code: &str, args: &[&str], text: &str| ReportLine {
            code: code.into(),
            args: strings(args),
            text: text.into(),
        };
        let absences = line(
            "absences",
            &["2026-11-30", "dejeuner", "3", "2", "1", "0", "1", "7777"],
            "absences du 2026-11-30 (dejeuner) : 3 absent(s) selon PRONOTE ; 2 opposition(s) \
             posée(s), 1 levée(s), 0 inchangée(s) ; 1 identifiant(s) inconnu(s) ici : 7777",
        );
        let sent = line(
            "effectifs_sent",
            &["easilys", "2", "1", "https://cuisine.example/api"],
            "effectifs easilys : 2 prévision(s), 1 comptage(s) réel(s), envoyés à \
             https://cuisine.example/api",
        );
        let error = line(
            "http_status",
            &["https://cuisine.example/api", "503"],
            "https://cuisine.example/api a répondu 503 (nouvel essai à 12:05:00)",
        );
        vec![
            ExchangeReport {
                name: "PRONOTE absences".into(),
                ok: true,
                last_run: Some("30/11/2026 10:00:00".into()),
                last_run_at: Some(at(10, 0, 0)),
                status: "ok".into(),
                schedule: "0 0 10 * * 1-5".into(),
                message: "réussi (0 0 10 * * 1-5)".into(),
                received: absences.text.clone(),
                received_lines: vec![absences],
                ..ExchangeReport::default()
            },
            ExchangeReport {
                name: "cuisine".into(),
                ok: false,
                last_run: Some("30/11/2026 12:00:00".into()),
                last_run_at: Some(at(12, 0, 0)),
                status: "error".into(),
                schedule: "0 0 12 * * *".into(),
                message: error.text.clone(),
                error: Some(ReportLine {
                    text: error.text.clone(),
                    ..error
                }),
                retry_at: NaiveTime::from_hms_opt(12, 5, 0),
                sent: sent.text.clone(),
                sent_lines: vec![sent],
                ..ExchangeReport::default()
            },
        ]
    }

    fn billing_terms(&self) -> BoxFuture<'_, Result<Vec<TermSummary>, SourceError>> {
        let terms = vec![self.fake_term("T1").unwrap(), self.fake_term("T2").unwrap()];
        Box::pin(async move { Ok(terms) })
    }
    fn billing_term(&self, code: &str) -> BoxFuture<'_, Result<TermDetail, SourceError>> {
        let detail = self.fake_detail(code);
        Box::pin(async move { detail })
    }
    fn billing(&self, op: BillingOp) -> BoxFuture<'_, Result<BillingDone, SourceError>> {
        let refused = |problems: &[&str]| {
            Err(SourceError::Refused(Problem::Billing {
                problems: strings(problems),
            }))
        };
        let result = match op {
            BillingOp::Constate { term, by } if term == "T1" => {
                let (bordereau, pending) = self.fake_billing();
                if pending {
                    self.did(format!("constate T1 bordereau {} by {by}", bordereau + 1));
                    Ok(BillingDone {
                        bordereau: Some(bordereau + 1),
                        lines: 2,
                        total_cents: 40_590,
                        events: 2,
                    })
                } else {
                    Ok(BillingDone::default())
                }
            }
            BillingOp::Constate { .. } => refused(&[
                "Léa MARTIN (1001) : aucun prix pour le forfait dp5 au trimestre T2",
                "Hugo BERNARD (1002) : aucun prix pour le forfait dp5 au trimestre T2",
            ]),
            BillingOp::Close { term, by } => {
                self.did(format!("close {term} by {by}"));
                Ok(BillingDone::default())
            }
            BillingOp::Remise {
                person,
                from,
                to,
                asked_on,
                by,
                ..
            } => {
                if person != "1001" && person != "1002" {
                    refused(&[&format!("aucune personne d'identifiant « {person} »")])
                } else if (to - from).num_days() < 4 {
                    refused(&[
                        "Léa MARTIN (1001) : une remise pour maladie demande au moins 5 jours de classe consécutifs",
                    ])
                } else if asked_on > NaiveDate::from_ymd_opt(2027, 1, 31).unwrap() {
                    refused(&[
                        "Léa MARTIN (1001) : demande du 01/02/2027 après la date limite du 31/01/2027",
                    ])
                } else {
                    self.did(format!("remise T1 {person} {from}..{to} by {by}"));
                    Ok(BillingDone {
                        events: 1,
                        ..BillingDone::default()
                    })
                }
            }
            BillingOp::Aid {
                person,
                kind,
                cents,
                by,
                ..
            } => {
                self.did(format!("aid T1 {person} {} {cents} by {by}", kind.code()));
                Ok(BillingDone {
                    events: 1,
                    ..BillingDone::default()
                })
            }
            BillingOp::Withdraw { gate, seq, by, .. } => {
                self.did(format!("withdraw T1 {gate}/{seq} by {by}"));
                Ok(BillingDone {
                    events: 1,
                    ..BillingDone::default()
                })
            }
        };
        Box::pin(async move { result })
    }
    fn billing_file(
        &self,
        code: &str,
        file: BillingFile,
    ) -> BoxFuture<'_, Result<(String, Vec<u8>), SourceError>> {
        let (bordereaux, _) = self.fake_billing();
        let result = match file {
            _ if code != "T1" => Err(SourceError::NotFound(Problem::UnknownTerm {
                term: code.to_owned(),
            })),
            _ if bordereaux == 0 => Err(SourceError::Refused(Problem::Billing {
                problems: strings(&["aucun bordereau journalisé en T1 2026"]),
            })),
            BillingFile::Notices => Ok(("avis-2026-T1.pdf".to_owned(), b"%PDF avis T1".to_vec())),
            BillingFile::Bordereau { number, .. } if number > bordereaux => {
                Err(SourceError::NotFound(Problem::Billing {
                    problems: strings(&["pas de bordereau n° 9 en T1 2026"]),
                }))
            }
            BillingFile::Bordereau { number, format } => Ok((
                format!("0310001A-2026-T1-B{number:02}.{}", format.extension()),
                format!("{} bordereau {number}", format.extension()).into_bytes(),
            )),
        };
        Box::pin(async move { result })
    }
}

/// The fake school's billing: term T1 (two pupils on a forfait, 405,90 € due), constated by
/// each `constate` action, with lines pending until the first one and again after an entry;
/// term T2 cannot be liquidated (a price missing).
impl Fake {
    /// Bordereaux journaled in T1, and whether a constatation would journal lines now.
    fn fake_billing(&self) -> (u32, bool) {
        let mut bordereaux = 0;
        let mut pending = true;
        for a in self.actions() {
            if a.starts_with("constate T1") {
                bordereaux += 1;
                pending = false;
            } else if ["remise T1", "aid T1", "withdraw T1"]
                .iter()
                .any(|p| a.starts_with(p))
            {
                pending = true;
            }
        }
        (bordereaux, pending)
    }

    fn fake_term(&self, code: &str) -> Option<TermSummary> {
        let d = |m: u32, day: u32, y: i32| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let (bordereaux, pending) = self.fake_billing();
        let closed = self.actions().iter().any(|a| a.starts_with("close T1"));
        match code {
            "T1" => Some(TermSummary {
                code: "T1".into(),
                label: "Septembre – décembre 2026".into(),
                year: 2026,
                from: d(9, 1, 2026),
                to: d(12, 31, 2026),
                remise_deadline: d(1, 31, 2027),
                pupils: 2,
                due_cents: 40_590,
                constated_cents: if bordereaux > 0 { 40_590 } else { 0 },
                bordereaux: (1..=bordereaux)
                    .map(|number| BordereauRow {
                        number,
                        lines: 2,
                        total_cents: if number == 1 { 40_590 } else { 0 },
                        reconstatations: if number == 1 { 0 } else { 2 },
                    })
                    .collect(),
                closed_by: closed.then(|| "gestionnaire".to_owned()),
                pending_lines: if pending { 2 } else { 0 },
                pending_cents: if pending { 40_590 } else { 0 },
                entries: 1,
                problems: Vec::new(),
            }),
            "T2" => Some(TermSummary {
                code: "T2".into(),
                label: "Janvier – mars 2027".into(),
                year: 2026,
                from: d(1, 1, 2027),
                to: d(3, 31, 2027),
                remise_deadline: d(4, 30, 2027),
                pupils: 0,
                due_cents: 0,
                constated_cents: 0,
                bordereaux: Vec::new(),
                closed_by: None,
                pending_lines: 0,
                pending_cents: 0,
                entries: 0,
                problems: strings(&[
                    "Léa MARTIN (1001) : aucun prix pour le forfait dp5 au trimestre T2",
                ]),
            }),
            _ => None,
        }
    }

    fn fake_detail(&self, code: &str) -> Result<TermDetail, SourceError> {
        let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let Some(term) = self.fake_term(&code.to_uppercase()) else {
            return Err(SourceError::NotFound(Problem::UnknownTerm {
                term: code.to_owned(),
            }));
        };
        if term.code == "T2" {
            return Ok(TermDetail {
                term,
                bills: Vec::new(),
                pending_bordereau: None,
                pending: Vec::new(),
                entries: Vec::new(),
            });
        }
        let forfait = |days: u32| Line {
            kind: LineKind::Forfait,
            label: format!(
                "Demi-pension 4 jours du 01/09/2026 au 18/12/2026 : {days} jours × 4,10 €"
            ),
            from: d(9, 1),
            to: d(12, 18),
            days,
            unit_cents: 410,
            cents: i64::from(days) * 410,
        };
        let bill = |person: u32, id: &str, name: &str, lines: Vec<Line>| BillView {
            person,
            external_id: id.into(),
            name: name.into(),
            class: "4B".into(),
            forfait: Some(ForfaitKind::Dp(4)),
            payer: Some("Mme Claire MARTIN".into()),
            total_cents: lines.iter().map(|l| l.cents).sum(),
            constated_cents: if term.bordereaux.is_empty() {
                0
            } else {
                20_090
            },
            lines,
        };
        let pending = if term.pending_lines > 0 {
            vec![
                RunLineView {
                    line: 1,
                    kind: ReceivableKind::Constatation,
                    external_id: "1001".into(),
                    name: "Léa MARTIN".into(),
                    class: "4B".into(),
                    forfait: "dp4".into(),
                    forfait_cents: 24_600,
                    remises_cents: 2_050,
                    aides_cents: 2_050,
                    cents: 20_500,
                },
                RunLineView {
                    line: 2,
                    kind: ReceivableKind::Constatation,
                    external_id: "1002".into(),
                    name: "Hugo BERNARD".into(),
                    class: "4B".into(),
                    forfait: "dp4".into(),
                    forfait_cents: 20_090,
                    remises_cents: 0,
                    aides_cents: 0,
                    cents: 20_090,
                },
            ]
        } else {
            Vec::new()
        };
        Ok(TermDetail {
            bills: vec![
                bill(
                    1,
                    "1001",
                    "Léa MARTIN",
                    vec![
                        forfait(60),
                        Line {
                            kind: LineKind::Remise(RemiseCause::Maladie),
                            label: "Remise d'ordre — Maladie (sur demande) du 02/11/2026 au \
                                    06/11/2026 : 5 jours × 4,10 €"
                                .into(),
                            from: d(11, 2),
                            to: d(11, 6),
                            days: 5,
                            unit_cents: 410,
                            cents: -2_050,
                        },
                        Line {
                            kind: LineKind::Aide(AidKind::Bourse),
                            label: "Bourse".into(),
                            from: d(9, 1),
                            to: d(12, 31),
                            days: 0,
                            unit_cents: 0,
                            cents: -2_050,
                        },
                    ],
                ),
                bill(2, "1002", "Hugo BERNARD", vec![forfait(49)]),
            ],
            pending_bordereau: (term.pending_lines > 0).then_some(term.bordereaux.len() as u32 + 1),
            pending,
            entries: vec![EntryView {
                gate: "ligne-1".into(),
                seq: 50,
                at: at(10, 15, 0),
                external_id: "1001".into(),
                name: "Léa MARTIN".into(),
                class: "4B".into(),
                input: BillingInput::Remise {
                    from: d(11, 2),
                    to: d(11, 6),
                    proof: "certificat 42".into(),
                    asked_on: d(11, 20),
                },
                by: "gestionnaire".into(),
                note: "appel de la mère".into(),
            }],
            term,
        })
    }
}

const PASSWORD: &str = "mot-de-passe-solide";

struct Kiosk {
    app: Router,
    fake: Arc<Fake>,
    accounts: AccountsFile,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Kiosk {
    fn new(tls: bool) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        let accounts = AccountsFile::in_dir(dir.path());
        for role in Role::ALL {
            accounts.add(role.code(), role, PASSWORD).unwrap();
        }
        let fake = Fake::new();
        let app = selfgate_kiosk::router(
            fake.clone(),
            KioskOptions {
                accounts: accounts.path().to_owned(),
                tls,
                stop: None,
            },
        );
        Kiosk {
            app,
            fake,
            accounts,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let is_stream = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
        let body = if is_stream {
            String::new()
        } else {
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let mut req = Request::get(path).header(header::HOST, "kiosk.test");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &str,
        origin: Option<&str>,
    ) -> Resp {
        let mut req = Request::post(path)
            .header(header::HOST, "kiosk.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        self.send(req.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    /// Logs in; returns the session cookie and its anti-forgery token.
    async fn login(&self, name: &str) -> (String, String) {
        let page = self.get("/login", None).await;
        let token = cookie_value(&page.headers, "sg_login").unwrap();
        let r = self
            .post(
                "/login",
                Some(&format!("sg_login={token}")),
                &format!("csrf={token}&name={name}&password={PASSWORD}&next=%2F"),
                Some("http://kiosk.test"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login {name}: {}", r.body);
        let session = format!(
            "sg_session={}",
            cookie_value(&r.headers, "sg_session").unwrap()
        );
        let page = self.get("/", Some(&session)).await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        (session, csrf)
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie_line(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

/// A valid form for each POST route (the token is added by the caller).
fn form_for(path: &str) -> &'static str {
    match path {
        "/admit" => "person=1&note=badge+oubli%C3%A9",
        "/badge/enrol" => "person=1&reader=",
        "/badge/lost" => "person=1&badge=0A12345678",
        "/person/tier" => "person=1&tier=T1",
        "/opposition/add" => "person=1&reason=manuelle&service=&from=2026-11-30&to=&note=x",
        "/opposition/lift" => "person=1&id=3",
        "/accounts/add" => "name=nouveau&role=surveillant&password=un-mot-de-passe",
        "/accounts/remove" => "name=surveillant",
        "/regie/pay" => "person=1&amount=20%2C50&mode=especes&payer=M.+Martin&note=&regie=",
        "/regie/cancel" => "receipt=R-2026-00001&reason=wrong+amount",
        "/regie/refund" => "person=1&amount=12%2C50&mode=virement&reason=leaving",
        "/facturation/T1/clore" => "confirm=1",
        "/facturation/T1/remise" => {
            "person=1001&from=2026-11-02&to=2026-11-13&proof=certificat+42&asked_on=2026-11-20&note="
        }
        "/facturation/T1/aide" => "person=1001&kind=bourse&amount=45&reference=B-1",
        "/facturation/T1/retrait" => "entry=ligne-1%2F50&note=erreur",
        _ => "",
    }
}

#[tokio::test]
async fn anonymous_callers_reach_only_the_public_routes() {
    let k = Kiosk::new(false);
    for (method, path, access) in ROUTES {
        let r = if *method == "GET" {
            k.get(path, None).await
        } else {
            k.post(path, None, form_for(path), None).await
        };
        match access {
            // The login form's POST needs its own token: checked below.
            Access::Public if *method == "POST" => {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}")
            }
            Access::Public => assert!(
                r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.status
            ),
            Access::Staff(_) => assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}"),
        }
    }
    // A browser asking for a page is sent to the login form, and back afterwards.
    let r = k
        .send(
            Request::get("/not-served")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login?next=%2Fnot-served");
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
}

#[tokio::test]
async fn a_post_without_the_token_or_from_another_site_changes_nothing() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("administrateur").await;
    for (method, path, access) in ROUTES {
        if *method != "POST" || *access == Access::Public {
            continue;
        }
        let form = form_for(path);
        let none = k.post(path, Some(&session), form, None).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN, "{path} without token");
        let wrong = k
            .post(
                path,
                Some(&session),
                &format!("{form}&csrf={}", "0".repeat(64)),
                None,
            )
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
        let foreign = k
            .post(
                path,
                Some(&session),
                &format!("{form}&csrf={csrf}"),
                Some("http://evil.example"),
            )
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::FORBIDDEN,
            "{path} from another origin"
        );
    }
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
    assert_eq!(
        k.accounts.accounts().unwrap().len(),
        Role::ALL.len(),
        "no account changed"
    );
    // The login form has its own token.
    let r = k
        .post(
            "/login",
            None,
            &format!("name=administrateur&password={PASSWORD}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn each_role_does_what_it_may_and_nothing_more() {
    for role in Role::ALL {
        let k = Kiosk::new(false);
        let (session, csrf) = k.login(role.code()).await;
        for (method, path, access) in ROUTES {
            let Access::Staff(needed) = access else {
                continue;
            };
            if *path == "/logout" {
                continue;
            }
            let before = k.fake.actions().len();
            let r = if *method == "GET" {
                k.get(path, Some(&session)).await
            } else {
                let form = format!("{}&csrf={csrf}", form_for(path));
                k.post(path, Some(&session), &form, Some("http://kiosk.test"))
                    .await
            };
            if role >= *needed {
                assert!(
                    r.status.is_success() || r.status.is_redirection(),
                    "{} may {method} {path}: {} {}",
                    role.code(),
                    r.status,
                    r.body
                );
                assert!(
                    !r.body.contains("??"),
                    "{path}: a string is missing from the table"
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{} may not {method} {path}",
                    role.code()
                );
                assert_eq!(k.fake.actions().len(), before, "{path} was carried out");
            }
        }
        // What was carried out names the staff member.
        for a in k.fake.actions() {
            if ["admit", "opposition", "pay", "cancel", "refund"]
                .iter()
                .any(|x| a.starts_with(x))
            {
                assert!(a.contains(&format!("by {}", role.code())), "{a}");
            }
        }
        let admitted = k.fake.actions().iter().any(|a| a.starts_with("admit 1"));
        assert!(admitted, "every role admits by hand");
        let lost = k.fake.actions().iter().any(|a| a.starts_with("lost"));
        assert_eq!(lost, role >= Role::Gestionnaire, "{}", role.code());
        // The cash desk: the régisseur and above; not the badges of the gestionnaire.
        let paid = k.fake.actions().iter().any(|a| a.starts_with("pay 1"));
        assert_eq!(paid, role >= Role::Regisseur, "{}", role.code());
    }
}

#[tokio::test]
async fn a_refusal_of_the_source_shows_its_message_with_the_status_of_its_kind() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("surveillant").await;
    for (person, status, message) in [
        (90, StatusCode::BAD_REQUEST, "valeur &lt;invalide&gt;"),
        (91, StatusCode::NOT_FOUND, "Personne inconnue"),
        (92, StatusCode::CONFLICT, "Aucun service n'est ouvert"),
        (
            93,
            StatusCode::SERVICE_UNAVAILABLE,
            "Enregistrement impossible",
        ),
    ] {
        let r = k
            .post(
                "/admit",
                Some(&session),
                &format!("person={person}&note=x&csrf={csrf}"),
                Some("http://kiosk.test"),
            )
            .await;
        assert_eq!(r.status, status, "person {person}: {}", r.body);
        assert!(r.body.contains(message), "person {person}: {}", r.body);
    }
    assert!(k.fake.actions().is_empty(), "nothing was carried out");
}

#[tokio::test]
async fn a_page_that_does_not_exist_carries_the_security_headers_too() {
    let k = Kiosk::new(false);
    let r = k.get("/nowhere", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        r.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
}

#[test]
fn after_login_only_our_own_pages() {
    use selfgate_kiosk::safe_next;
    for good in [
        "/",
        "/not-served",
        "/person/42",
        "/search?q=l%C3%A9a",
        "/report?day=2026-11-16",
    ] {
        assert_eq!(safe_next(Some(good)), good);
    }
    for bad in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/person/../../x",
        "/person/",
        "/nowhere",
        "/logout",
        "/search?q=<script>",
        "",
    ] {
        assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
    }
    assert_eq!(safe_next(None), "/");
}

#[tokio::test]
async fn a_login_never_sends_the_browser_off_site() {
    let k = Kiosk::new(false);
    // `/<TAB>/evil.example`, which URL parsers read as `//evil.example`.
    let page = k.get("/login?next=%2F%09%2Fevil.example", None).await;
    assert!(
        page.body.contains(r#"name="next" value="/""#),
        "{}",
        page.body
    );
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let r = k
        .post(
            "/login",
            Some(&format!("sg_login={token}")),
            &format!(
                "csrf={token}&name=surveillant&password={PASSWORD}&next=%2F%09%2Fevil.example"
            ),
            Some("http://kiosk.test"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn sessions_cookies_logout_and_removed_accounts() {
    let k = Kiosk::new(false);
    let page = k.get("/login", None).await;
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let r = k
        .post(
            "/login",
            Some(&format!("sg_login={token}")),
            &format!("csrf={token}&name=surveillant&password={PASSWORD}"),
            None,
        )
        .await;
    let line = set_cookie_line(&r.headers, "sg_session");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "plain HTTP: {line}");
    let (session, csrf) = k.login("surveillant").await;
    // Removed from the file (by `selfgate account remove` while running): the session ends.
    k.accounts.remove("surveillant").unwrap();
    assert_eq!(
        k.get("/api/summary", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let _ = csrf;
    let (session, csrf) = k.login("gestionnaire").await;
    let out = k
        .post("/logout", Some(&session), &format!("csrf={csrf}"), None)
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        k.get("/api/summary", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Under TLS the cookies are Secure.
    let tls = Kiosk::new(true);
    let page = tls.get("/login", None).await;
    assert!(set_cookie_line(&page.headers, "sg_login").contains("Secure"));
}

/// Opens `/events` for `session`; the stream's body.
async fn open_events(k: &Kiosk, session: &str) -> axum::body::BodyDataStream {
    let resp = k
        .app
        .clone()
        .oneshot(
            Request::get("/events")
                .header(header::HOST, "kiosk.test")
                .header(header::COOKIE, session)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().into_data_stream()
}

/// Whether `stream` ends within a few seconds (data may come first).
async fn ends(stream: &mut axum::body::BodyDataStream) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(None) => return true,
            Ok(Some(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_session_and_its_live_stream_end_at_logout_removal_and_a_new_password() {
    // Logout.
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("surveillant").await;
    let mut stream = open_events(&k, &session).await;
    let r = k
        .post(
            "/logout",
            Some(&session),
            &format!("csrf={csrf}"),
            Some("http://kiosk.test"),
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert!(ends(&mut stream).await, "the stream outlived the logout");

    // A new password (`selfgate account passwd`, the file changes under the kiosk): the old
    // session ends, its stream too, and it is not revived by the right cookie.
    let (session, _) = k.login("gestionnaire").await;
    let mut stream = open_events(&k, &session).await;
    k.accounts
        .set_password("gestionnaire", "un-tout-autre-mot-de-passe")
        .unwrap();
    assert!(
        ends(&mut stream).await,
        "the stream outlived the new password"
    );
    let page = k.get("/", Some(&session)).await;
    assert!(
        !page.status.is_success(),
        "old session still in: {}",
        page.status
    );

    // Removed, then added again with the same name: the old session is not revived.
    let (session, _) = k.login("administrateur").await;
    let mut stream = open_events(&k, &session).await;
    k.accounts.remove("administrateur").unwrap();
    k.accounts
        .add("administrateur", Role::Administrateur, PASSWORD)
        .unwrap();
    assert!(ends(&mut stream).await, "the stream outlived the removal");
    let page = k.get("/", Some(&session)).await;
    assert!(
        !page.status.is_success(),
        "old session revived: {}",
        page.status
    );
}

#[tokio::test]
async fn logins_are_rate_limited_per_account() {
    let k = Kiosk::new(false);
    let page = k.get("/login", None).await;
    let token = cookie_value(&page.headers, "sg_login").unwrap();
    let cookie = format!("sg_login={token}");
    let attempt = |password: &str| format!("csrf={token}&name=surveillant&password={password}");
    for _ in 0..selfgate_kiosk::auth::MAX_FAILURES_ACCOUNT {
        let r = k
            .post("/login", Some(&cookie), &attempt("mauvais"), None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("incorrect"), "{}", r.body);
    }
    // Locked now, even with the right password.
    let r = k
        .post("/login", Some(&cookie), &attempt(PASSWORD), None)
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Trop de tentatives"), "{}", r.body);
    // Other accounts are not locked.
    k.login("gestionnaire").await;
}

#[tokio::test]
async fn the_gate_screen_shows_a_first_name_and_a_class_and_nothing_else() {
    let k = Kiosk::new(false);
    let page = k.get("/gate/ligne-1", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Présentez votre badge"), "{}", page.body);
    let portique = k.get("/portique", None).await;
    assert_eq!(portique.headers[header::LOCATION], "/gate/ligne-1");

    let resp = k
        .app
        .clone()
        .oneshot(
            Request::get("/gate/ligne-1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = resp.into_body().into_data_stream();
    let decision = |gate: &str, pass: bool, reason: &str, label: &str| Live {
        item: Some(FeedItem {
            gate: gate.into(),
            seq: Some(42),
            time: "12:04:00".into(),
            name: "Léa MARTIN".into(),
            class: "4B".into(),
            pass,
            reason: reason.into(),
            label: label.into(),
            label_en: format!("(en) {label}"),
            person: Some(7),
            first_name: "Léa".into(),
            balance_cents: Some(-320),
            facts: None,
            // Low: the balance pays for two more meals.
            meals_left: (reason == "ticket").then_some(2),
            money: None,
        }),
        summary: Summary::default(),
    };
    // A payment at this gate's cash desk: for the staff's feed only.
    let payment = Live {
        item: Some(FeedItem {
            gate: "ligne-1".into(),
            seq: Some(43),
            time: "12:05:00".into(),
            name: "Léa MARTIN".into(),
            class: "4B".into(),
            pass: true,
            reason: "payment".into(),
            label: "Versement R-2026-00001 : 20,50 € (espèces)".into(),
            label_en: "Payment R-2026-00001: €20.50 (cash)".into(),
            person: Some(7),
            first_name: String::new(),
            balance_cents: Some(1730),
            facts: None,
            meals_left: None,
            money: Some(MoneyFacts {
                kind: MoneyKind::Payment,
                receipt: Some("R-2026-00001".into()),
                cents: 2050,
                mode: "especes".into(),
            }),
        }),
        summary: Summary::default(),
    };
    // Another gate's decision is not shown here; this gate's are.
    k.fake
        .live
        .send(decision("ligne-2", true, "forfait", "Forfait"))
        .unwrap();
    k.fake
        .live
        .send(decision("ligne-1", false, "opposition:impaye", "Impayé"))
        .unwrap();
    k.fake.live.send(payment).unwrap();
    k.fake
        .live
        .send(decision("ligne-1", true, "ticket", "Ticket, solde −3,20 €"))
        .unwrap();
    let mut text = String::new();
    while text.matches("event: decision").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("no event on the gate stream")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(text.matches("event: decision").count(), 2, "{text}");
    assert!(text.contains("\"first_name\":\"Léa\""), "{text}");
    assert!(text.contains("\"class\":\"4B\""), "{text}");
    assert!(text.contains("va voir l'intendance"), "{text}");
    // A low balance: the meals it still pays for, never the amount.
    assert!(
        text.contains("\"meals_left\":\"Plus que 2 repas\""),
        "a low balance on a ticket pass: {text}"
    );
    for secret in [
        "MARTIN",
        "Impayé",
        "impaye",
        "\"person\"",
        "42",
        "ligne-2",
        "Forfait",
        "3,20",
        "€",
        "balance",
        "Versement",
        "R-2026",
        "payment",
    ] {
        assert!(
            !text.contains(secret),
            "the gate stream leaks {secret:?}: {text}"
        );
    }
    // Only the ticket pass carries the line.
    assert_eq!(text.matches("\"meals_left\":\"").count(), 1, "{text}");
    // In English, and none left.
    let words = selfgate_kiosk::i18n::meals_left;
    use selfgate_kiosk::i18n::Lang;
    assert_eq!(words(Lang::En, 2), "2 meals left");
    assert_eq!(words(Lang::Fr, 0), "Plus de repas d'avance");
}

#[tokio::test]
async fn staff_pages_show_the_counts_alerts_and_the_hooks_of_sync_and_exchanges() {
    let k = Kiosk::new(false);
    let (session, _) = k.login("gestionnaire").await;
    let home = k.get("/", Some(&session)).await;
    for needle in [
        "Attendus",
        "Servis",
        "Refusés",
        "Restent à venir",
        "Déjeuner",
        "/assets/kiosk.js",
    ] {
        assert!(home.body.contains(needle), "{needle}: {}", home.body);
    }
    let ex = k.get("/exchanges", Some(&session)).await;
    assert!(
        ex.body.contains("Hors ligne") && ex.body.contains("PRONOTE absences"),
        "{}",
        ex.body
    );
    let health = k.get("/healthz", None).await;
    assert!(
        health.body.contains("\"events_waiting\":12"),
        "{}",
        health.body
    );
    let person = k.get("/person/1", Some(&session)).await;
    assert!(
        person.body.contains("−3,20 €"),
        "a gestionnaire sees the balance"
    );
    let missing = k.get("/person/99", Some(&session)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // English on request, kept in a cookie.
    assert!(home.body.contains("Déjà passé à 12:04"), "{}", home.body);
    let en = k.get("/?lang=en", Some(&session)).await;
    assert!(en.body.contains("Still to come"), "{}", en.body);
    // The passages' reasons and the denials too, not only the page's own words.
    assert!(en.body.contains("Already served at 12:04"), "{}", en.body);
    assert!(
        en.body.contains("<span>Already served</span>"),
        "{}",
        en.body
    );
    assert!(!en.body.contains("Déjà passé"), "{}", en.body);
    assert!(set_cookie_line(&en.headers, "sg_lang").starts_with("sg_lang=en"));
    // A surveillant does not see balances.
    let (surv, _) = k.login("surveillant").await;
    let person = k.get("/person/1", Some(&surv)).await;
    assert!(!person.body.contains("−3,20 €"), "{}", person.body);
}

/// The kiosk's French words and phrases: its table's (where they differ from the English) and
/// those it tells the daemon's values with. Names, notes, the school's and the services' labels
/// of the fake school are not in it, nor the roles' French names: the fake's accounts are named
/// after them (the English names are checked on their own).
const FRENCH: &[&str] = &[
    // The table.
    "Connexion du personnel",
    "Identifiant",
    "Mot de passe",
    "Se connecter",
    "Déconnexion",
    "Rechercher",
    "Pas encore passés",
    "Gestion",
    "Bilan du jour",
    "Échanges",
    "Comptes",
    "Aucun service ouvert",
    "Attendus",
    "inscrits ce jour",
    "Servis",
    "Refusés",
    "Restent à venir",
    "Passages en direct",
    "en direct",
    "connexion perdue",
    "Aucun passage",
    "Heure",
    "Nom",
    "Classe",
    "Décision",
    "Motif",
    "Aujourd'hui",
    "Rôle",
    "Refus",
    "Alertes",
    "Lecteur hors ligne",
    "Entrée d'urgence",
    "Serveur central injoignable",
    "Nom, classe ou badge",
    "Personne ne correspond",
    "Admettre",
    "badge oublié",
    "Servir un second repas",
    "Fiche",
    "Régime",
    "Solde",
    "Passages récents",
    "Déclarer perdu",
    "actif",
    "perdu",
    "révoqué",
    "Attribuer un badge",
    "Cliquez",
    "Lecteur",
    "n'importe lequel",
    "Ajouter une opposition",
    "Lever",
    "levée",
    "tous",
    "Du",
    "Au",
    "Bilan par service",
    "Débité",
    "Échanges avec les logiciels",
    "Dernier",
    "Résultat",
    "Détail",
    "Synchronisation",
    "jamais",
    "Comptes du personnel",
    "Créer le compte",
    "Supprimer",
    "Introuvable",
    "Retour",
    "Recherchez une personne",
    "Présentez votre badge",
    // What the daemon's values are told with.
    "Servi",
    "Servi à",
    "fois",
    "Attendu",
    "Attendu (forfait)",
    "Non inscrit ce jour",
    "Pas de service ouvert",
    "Ticket, solde",
    "Solde insuffisant",
    "Déjà passé",
    "Forfait",
    "Admis par",
    "Admis manuellement",
    "Badge perdu ou révoqué",
    "Badge déclaré perdu présenté",
    "Correction de",
    "remboursé",
    "Absent",
    "Absent (PRONOTE)",
    "Impayé",
    "Exclusion de la demi-pension",
    "Opposition manuelle",
    "Élève",
    "élève",
    "commensal",
    "hôte",
    "Demi-pensionnaire",
    "tous les services",
    "Hors ligne",
    "dernier échange",
    "en attente",
    "événements",
    "depuis",
    "quarantaine",
    "concentrateur",
    "réussi",
    "en erreur",
    "nouvel essai",
    "absences du",
    "selon PRONOTE",
    "posée",
    "inchangée",
    "identifiant(s) inconnu(s)",
    "prévision",
    "comptage",
    "envoyés à",
    "a répondu",
    "Personne inconnue",
    "Aucun service n'est ouvert",
    "Enregistrement impossible",
    "Déjà servi",
    "second repas",
    "personne manquante",
    "AAAA-MM-JJ",
    // The cash desk's.
    "Régie",
    "Régie de recettes",
    "Encaisser",
    "Encaisser un versement",
    "Nouveau versement",
    "Solde actuel",
    "Changer de personne",
    "Montant",
    "Mode de paiement",
    "Banque du chèque",
    "Nom du payeur",
    "Enregistrer le versement",
    "Versement enregistré",
    "Quittance",
    "quittance",
    "Établissement",
    "Au bénéfice de",
    "En lettres",
    "Versé par",
    "Reçu par",
    "Objet",
    "Crédit du compte",
    "Annulée",
    "Imprimer",
    "Versements du jour",
    "Aucun versement",
    "Annuler",
    "Motif de l'annulation",
    "Confirmer l'annulation",
    "Versement annulé",
    "annulé",
    "Rembourser le solde",
    "Motif du remboursement",
    "Rembourser",
    "Remboursement enregistré",
    "Rapports de la régie",
    "Agent",
    "Observations",
    "Prix du repas",
    "Repas d'avance",
    "Opération",
    "Versement",
    "Versements",
    "Nombre",
    "Annulation",
    "Annulations",
    "Remboursement",
    "Remboursements",
    "Groupe",
    "Repas débités",
    "Repas sans débit",
    "Journal de caisse",
    "Toutes les régies",
    "Totaux par mode",
    "Total du jour",
    "Aucune opération",
    "Quittances manquantes",
    "barrés",
    "Télécharger en CSV",
    "Télécharger en PDF",
    "Rapprochement mensuel",
    "Rapprochement du mois",
    "Mois",
    "Soldes d'ouverture",
    "versements",
    "soldes de clôture",
    "Personnes en débit",
    "Total des débits",
    "Total des crédits",
    "Repas par catégorie",
    "Repas par tranche tarifaire",
    "Repas par régime",
    "Argent par mode",
    "sans tranche",
    "Soldes bas",
    "Aucun solde bas",
    "Personnes au ticket",
    "repas",
    "Espèces",
    "Chèque",
    "Virement",
    "Carte bancaire",
    "Mode inconnu",
    "vingt",
    "centimes",
    "novembre",
    "régisseur",
    "Plus que",
    "émises",
    "déjà annulée",
    "décimales",
    "est tenue par",
    "avec un compte",
    "aucune régie",
];

/// The page's text with maud's escapes undone.
fn unescaped(body: &str) -> String {
    body.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether `text` holds `word` as a whole (not inside a longer word: "Servi" is not in
/// "Service").
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The French words of `FRENCH` that `text` holds.
fn french_in(text: &str) -> Vec<&'static str> {
    FRENCH
        .iter()
        .copied()
        .filter(|w| has_word(text, w))
        .collect()
}

/// An amount written the French way (`3,20 €`) in `text`.
fn french_amount(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(6).find_map(|w| {
        let french = w[0].is_ascii_digit()
            && w[1] == ','
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
            && w[4].is_whitespace()
            && w[5] == '€';
        french.then(|| w.iter().collect())
    })
}

/// A date written the French way (`30/11/2026`) in `text`.
fn french_date(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(10).find_map(|w| {
        let digits = |r: std::ops::Range<usize>| r.clone().all(|i| w[i].is_ascii_digit());
        (digits(0..2) && w[2] == '/' && digits(3..5) && w[5] == '/' && digits(6..10))
            .then(|| w.iter().collect())
    })
}

/// Reads the first `passage` event of a live stream.
async fn first_passage(stream: &mut axum::body::BodyDataStream) -> String {
    let mut text = String::new();
    while !text.contains("event: passage") || !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("no event on the live stream")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn every_staff_page_speaks_english_under_lang_en_and_french_by_default() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("administrateur").await;
    let english = format!("{session}; sg_lang=en");
    let pages = [
        "/",
        "/not-served",
        "/search?q=l%C3%A9a",
        "/person/1",
        "/person/2",
        "/person/3",
        "/person/1?ok=opp.done",
        "/manage",
        "/report",
        "/report?day=2026-11-30",
        "/exchanges",
        "/accounts",
        "/api/summary",
        "/api/feed",
        "/person/99",
        "/report?day=hier",
        "/nowhere",
        "/regie",
        "/regie?q=l%C3%A9a",
        "/regie?person=1",
        "/regie?receipt=R-2026-00001&ok=regie.done",
        "/regie/receipt/R-2026-00002",
        "/regie/cancel?receipt=R-2026-00001",
        "/regie/caisse",
        "/regie/caisse?day=2026-11-30&regie=R",
        "/regie/mois?month=2026-11",
        "/regie/soldes-bas",
        "/regie/receipt/R2-2026-00001",
        "/regie/receipt/R-2026-00009",
        "/regie/receipt/abc",
        "/regie/mois?month=2026-13",
        "/regie/caisse?regie=ZZ",
        "/person/1?ok=regie.refund.done",
        "/facturation",
        "/facturation/T1",
        "/facturation/t1?ok=billing.constate.done",
        "/facturation/T9",
    ];
    let mut shown = std::collections::BTreeMap::new();
    for path in pages {
        let r = k.get(path, Some(&english)).await;
        let text = unescaped(&r.body);
        assert!(
            r.status.is_success() || r.status.is_client_error(),
            "{path}: {}",
            r.status
        );
        let french = french_in(&text);
        assert!(
            french.is_empty(),
            "{path} in English shows French {french:?}:\n{text}"
        );
        assert_eq!(french_amount(&text), None, "{path}:\n{text}");
        assert_eq!(french_date(&text), None, "{path}:\n{text}");
        assert!(!text.contains(" : "), "{path}: French punctuation:\n{text}");
        shown.insert(path, text);
    }
    // What the English says, amounts and dates the English way.
    for (path, needles) in [
        (
            "/",
            &[
                "Still to come",
                "Already served at 12:04",
                "Ticket, balance −€3.20",
                "Insufficient balance: −€3.20",
                "Admitted by mleroy: forgotten badge",
                "Meal plan",
                "Marked absent in PRONOTE",
                "Already served at 11:58",
                "2026-11-30 12:04:00",
                "Reader offline: entree",
                "Central server unreachable since 2026-11-30 11:00:00 · 12 events waiting",
                "2 event(s) from the gates refused by the hub",
                "Lost badge presented: Léa MARTIN (4B) at 12:04",
                "administrator",
            ][..],
        ),
        (
            "/not-served",
            &["Expected (meal plan)", "Ticket, balance −€3.90", "staff"][..],
        ),
        ("/person/3", &["Served at 12:04 (2 times)"][..]),
        (
            "/person/1",
            &[
                "Boarding status",
                "Half-boarder · pupil",
                "−€3.20",
                "active",
                "lost",
                "Marked absent in PRONOTE",
                "every service",
                "2026-11-30 → until lifted",
                "2026-12-01 → 2026-12-18",
                "Unpaid bills",
                "2026-11-30 12:04",
                "Correction of ligne-1/40: wrong badge (refunded €3.90)",
                "Blocked by hand",
                "Excluded from the canteen",
            ][..],
        ),
        ("/person/1?ok=opp.done", &["Opposition recorded"][..]),
        (
            "/report",
            &[
                "Report per service · 2026-11-30",
                "Meal plan",
                "Admitted by hand",
                "Already served",
                "Badge lost or revoked",
                "€246.70",
            ][..],
        ),
        (
            "/exchanges",
            &[
                "Offline (local decisions), last exchange 2026-11-30 11:00:00, 12 waiting",
                "2026-11-30 10:00:00",
                "succeeded (0 0 10 * * 1-5)",
                "absences of 2026-11-30 (dejeuner): 3 absent according to PRONOTE",
                "1 identifier(s) unknown here: 7777",
                "https://cuisine.example/api answered 503 (retried at 12:05:00)",
                "headcounts for easilys: 2 forecast(s), 1 actual count(s), sent to",
            ][..],
        ),
        (
            "/accounts",
            &[
                "supervisor",
                "cashier",
                "bursar",
                "administrator",
                "Staff accounts",
            ][..],
        ),
        (
            "/api/summary",
            &[
                "\"now\":\"2026-11-30 12:04:00\"",
                "\"Already served\"",
                "Reader offline: entree",
            ][..],
        ),
        (
            "/api/feed",
            &["\"label\":\"Already served at 12:04\"", "−€3.20"][..],
        ),
        ("/person/99", &["Not found."][..]),
        (
            "/report?day=hier",
            &["day: “hier” is not a YYYY-MM-DD date"][..],
        ),
        ("/nowhere", &["page not found"][..]),
        (
            "/regie",
            &[
                ">Cash desk<",
                "Search the person the payment is for.",
                "Today's payments",
                "R-2026-00001",
                "€20.50",
                ">Cash<",
                "cancelled",
                "Cash report",
                "Month reconciliation",
                "Low balances",
            ][..],
        ),
        (
            "/regie?q=l%C3%A9a",
            &["Take payment", "/regie?person=1"][..],
        ),
        (
            "/regie?person=1",
            &[
                "New payment",
                "Current balance",
                "−€3.20",
                "Payment method",
                "Cheque number",
                "Payer's name",
                "Record the payment",
                "Bank transfer",
            ][..],
        ),
        (
            "/regie?receipt=R-2026-00001&ok=regie.done",
            &[
                "Payment recorded",
                "Receipt no.",
                "twenty euros and fifty cents",
                "Print",
                "Receipt as PDF",
                "Intendance (R)",
                "2026-11-30 08:10",
                "Received by",
                "Credit to the canteen account",
            ][..],
        ),
        (
            "/regie/receipt/R-2026-00002",
            &[
                "Cancelled</b> · 2026-11-30 09:00 · regisseur · typed twice",
                "Cheque no. 1234567, CIC",
                "forty euros",
            ][..],
        ),
        (
            "/regie/cancel?receipt=R-2026-00001",
            &[
                "Cancel a payment",
                "Reason for cancelling",
                "Confirm the cancellation",
                "never given again",
            ][..],
        ),
        (
            "/regie/caisse",
            &[
                "Cash report · 2026-11-30 · Every cash desk",
                "2 receipts given, R-2026-00001 to R-2026-00002; 1 payment cancelled; 1 refund",
                "Totals per method",
                "Day's total",
                "€8.00",
                "Bank transfer",
                "−€12.50",
                ">Refund<",
                "Download as CSV",
                "Struck-through payments are cancelled",
            ][..],
        ),
        (
            "/regie/caisse?day=2026-11-30&regie=R",
            &["Intendance (R)"][..],
        ),
        (
            "/regie/mois?month=2026-11",
            &[
                "Monthly reconciliation · November 2026",
                "Opening balances",
                "€100.00",
                "+ payments",
                "− meals charged",
                "= closing balances",
                "€33.90",
                "Persons in debt",
                "Léa MARTIN2",
                "Meals per tariff tier",
                "T1 · QF 0-500",
                "no tier",
                "Pupil",
                "Day pupil",
                "2 persons with an account",
            ][..],
        ),
        (
            "/regie/soldes-bas",
            &[
                "Low balances · 2",
                "fewer than 3 meals",
                "Meal price",
                "Meals in advance",
                "Take payment",
                "/regie?person=2",
            ][..],
        ),
        (
            "/regie/receipt/R2-2026-00001",
            &["cash desk R2 is held by station “ligne-2”"][..],
        ),
        (
            "/regie/receipt/R-2026-00009",
            &["no payment has receipt R-2026-00009"][..],
        ),
        ("/regie/receipt/abc", &["is not a receipt number"][..]),
        ("/regie/mois?month=2026-13", &["is not a YYYY-MM month"][..]),
        ("/regie/caisse?regie=ZZ", &["no cash desk has code ZZ"][..]),
        (
            "/person/1?ok=regie.refund.done",
            &["Refund recorded", "Refund the balance", "Take a payment"][..],
        ),
    ] {
        for needle in needles {
            assert!(
                shown[path].contains(needle),
                "{path}: {needle}:\n{}",
                shown[path]
            );
        }
    }

    // The refusals of the source, and the kiosk's own, in English too.
    for (form, status, message) in [
        ("person=91", StatusCode::NOT_FOUND, "Unknown person"),
        (
            "person=92",
            StatusCode::CONFLICT,
            "No service is open: no admission now",
        ),
        (
            "person=93",
            StatusCode::SERVICE_UNAVAILABLE,
            "Could not record: disk full",
        ),
        (
            "person=94",
            StatusCode::CONFLICT,
            "Already served at 12:04 in this service",
        ),
        ("note=x", StatusCode::BAD_REQUEST, "person missing"),
    ] {
        let r = k
            .post(
                "/admit",
                Some(&english),
                &format!("{form}&note=x&csrf={csrf}"),
                Some("http://kiosk.test"),
            )
            .await;
        let text = unescaped(&r.body);
        assert_eq!(r.status, status, "{form}: {text}");
        assert!(text.contains(message), "{form}: {text}");
        assert!(french_in(&text).is_empty(), "{form}: {text}");
    }
    let r = k
        .post(
            "/accounts/add",
            Some(&english),
            &format!("name=x&role=surveillant&password=court&csrf={csrf}"),
            Some("http://kiosk.test"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("the password must have at least"),
        "{}",
        r.body
    );
    let r = k
        .post("/accounts/add", None, &format!("csrf={csrf}&lang=en"), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = k.get("/api/summary?lang=en", None).await;
    assert_eq!(r.body, "sign-in required");
    let r = k
        .post(
            "/admit",
            Some(&english),
            "person=1",
            Some("http://kiosk.test"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("Request refused"), "{}", r.body);

    // The live stream: the passage's words, the time, the denials and the alerts.
    let mut stream = open_events(&k, &english).await;
    k.fake
        .live
        .send(Live {
            item: Some(Fake::item("12:06:00", true, facts(Reason::Ticket))),
            summary: k.fake.summary(),
        })
        .unwrap();
    let event = first_passage(&mut stream).await;
    assert!(
        event.contains("\"label\":\"Ticket, balance −€3.20\""),
        "{event}"
    );
    assert!(event.contains("2026-11-30 12:04:00"), "{event}");
    assert!(event.contains("Reader offline: entree"), "{event}");
    assert!(event.contains("Marked absent in PRONOTE"), "{event}");
    assert!(french_in(&event).is_empty(), "{event}");
    assert_eq!(french_amount(&event), None, "{event}");
    // A line of the cash desk, in English too.
    k.fake
        .live
        .send(Live {
            item: Some(FeedItem {
                label: "Versement R-2026-00001 : 20,50 € (espèces)".into(),
                money: Some(MoneyFacts {
                    kind: MoneyKind::Payment,
                    receipt: Some("R-2026-00001".into()),
                    cents: 2050,
                    mode: "especes".into(),
                }),
                ..Fake::item("12:07:00", true, facts(Reason::Ticket))
            }),
            summary: k.fake.summary(),
        })
        .unwrap();
    let event = first_passage(&mut stream).await;
    assert!(
        event.contains("\"label\":\"Payment R-2026-00001: €20.50 (cash)\""),
        "{event}"
    );
    assert!(french_in(&event).is_empty(), "{event}");

    // The gate screen too.
    let gate = k.get("/gate/ligne-1?lang=en", None).await;
    assert!(gate.body.contains("Present your badge"), "{}", gate.body);
    assert!(
        french_in(&unescaped(&gate.body)).is_empty(),
        "{}",
        gate.body
    );

    // The same pages by default: French, French amounts and dates.
    for (path, needles) in [
        (
            "/",
            &[
                "Restent à venir",
                "Déjà passé à 12:04",
                "Ticket, solde −3,20 €",
                "Solde insuffisant : −3,20 €",
                "Admis par mleroy : forgotten badge",
                "Forfait",
                "Absent (PRONOTE)",
                "30/11/2026 12:04:00",
                "Lecteur hors ligne : entree",
                "Serveur central injoignable depuis 30/11/2026 11:00:00 · 12 événements en attente",
                "Badge déclaré perdu présenté : Léa MARTIN (4B) à 12:04",
                "administrateur",
            ][..],
        ),
        (
            "/not-served",
            &["Attendu (forfait)", "Ticket, solde −3,90 €", "commensal"][..],
        ),
        ("/person/3", &["Servi à 12:04 (2 fois)"][..]),
        (
            "/person/1",
            &[
                "Demi-pensionnaire · élève",
                "−3,20 €",
                "actif",
                "perdu",
                "tous les services",
                "30/11/2026 → levée",
                "01/12/2026 → 18/12/2026",
                "Impayé",
                "30/11/2026 12:04",
                "Correction de ligne-1/40 : wrong badge (remboursé 3,90 €)",
                "Opposition manuelle",
            ][..],
        ),
        (
            "/report",
            &[
                "Bilan par service · 30/11/2026",
                "Admis manuellement",
                "Badge perdu ou révoqué",
                "246,70 €",
            ][..],
        ),
        (
            "/exchanges",
            &[
                "Hors ligne (décisions locales), dernier échange 30/11/2026 11:00:00, 12 en attente",
                "réussi (0 0 10 * * 1-5)",
                "absences du 2026-11-30 (dejeuner) : 3 absent(s) selon PRONOTE",
                "a répondu 503 (nouvel essai à 12:05:00)",
            ][..],
        ),
        (
            "/api/summary",
            &["\"now\":\"30/11/2026 12:04:00\"", "\"Déjà passé\""][..],
        ),
        (
            "/report?day=hier",
            &["jour : « hier » n'est pas une date AAAA-MM-JJ"][..],
        ),
        (
            "/regie?receipt=R-2026-00001&ok=regie.done",
            &[
                "Versement enregistré",
                "Quittance n°",
                "vingt euros et cinquante centimes",
                "Espèces",
                "30/11/2026 08:10",
            ][..],
        ),
        (
            "/regie/caisse",
            &[
                "Journal de caisse · 30/11/2026 · Toutes les régies",
                "Total du jour",
                "8,00 €",
                "2 quittances émises, de R-2026-00001 à R-2026-00002 ; 1 versement annulé ; 1 \
                 remboursement",
            ][..],
        ),
        (
            "/regie/mois?month=2026-11",
            &[
                "Rapprochement mensuel · novembre 2026",
                "= soldes de clôture",
                "33,90 €",
            ][..],
        ),
        ("/regie/soldes-bas", &["Soldes bas", "moins de 3 repas"][..]),
        ("/accounts", &["régisseur"][..]),
    ] {
        let r = k.get(path, Some(&session)).await;
        let text = unescaped(&r.body);
        for needle in needles {
            assert!(text.contains(needle), "{path}: {needle}:\n{text}");
        }
        assert!(!text.contains("€2"), "{path}: an English amount:\n{text}");
    }
    let r = k
        .post(
            "/admit",
            Some(&session),
            &format!("person=94&csrf={csrf}"),
            Some("http://kiosk.test"),
        )
        .await;
    assert!(
        unescaped(&r.body).contains("Déjà servi à 12:04 dans ce service"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_cash_desk_takes_payments_and_keeps_what_was_typed_when_it_refuses() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("regisseur").await;
    let post = |path: &'static str, form: String| {
        let session = session.clone();
        let k = &k;
        async move {
            k.post(path, Some(&session), &form, Some("http://kiosk.test"))
                .await
        }
    };

    // Not an amount, or more than two decimals: the form again, as typed, with why.
    for (typed, message) in [
        ("20%2C505", "a plus de deux décimales"),
        ("vingt", "n'est pas un montant"),
        ("-5", "doit être plus grand que zéro"),
        ("", "est vide"),
    ] {
        let r = post(
            "/regie/pay",
            format!("person=1&amount={typed}&mode=especes&payer=M.+Martin&note=x&csrf={csrf}"),
        )
        .await;
        let text = unescaped(&r.body);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{typed}: {text}");
        assert!(text.contains(message), "{typed}: {text}");
        let shown = typed.replace("%2C", ",");
        assert!(
            text.contains(&format!(
                "name=\"amount\" inputmode=\"decimal\" value=\"{shown}\""
            )),
            "{typed} kept: {text}"
        );
        assert!(
            text.contains("value=\"M. Martin\""),
            "the payer kept: {text}"
        );
    }
    // A cheque without its number: the source says so; the bank typed is kept.
    let r = post(
        "/regie/pay",
        format!("person=1&amount=40&mode=cheque&cheque_number=&bank=CIC&csrf={csrf}"),
    )
    .await;
    let text = unescaped(&r.body);
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("un chèque se note avec son numéro"), "{text}");
    assert!(text.contains("value=\"CIC\""), "{text}");
    assert!(
        text.contains("<option value=\"cheque\" selected>"),
        "{text}"
    );
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
    // Nobody by that number.
    let r = post(
        "/regie/pay",
        format!("person=95&amount=20&mode=especes&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for path in ["/regie?person=99", "/regie?person=abc"] {
        assert_eq!(
            k.get(path, Some(&session)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // Taken: the receipt on the page, to print, and as PDF.
    let r = post(
        "/regie/pay",
        format!("person=1&amount=20.5&mode=especes&payer=M.+Martin&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, "/regie?receipt=R-2026-00001&ok=regie.done");
    assert_eq!(k.fake.actions(), ["pay 1 2050 especes by regisseur"]);
    let page = k.get(&to, Some(&session)).await;
    let text = unescaped(&page.body);
    for needle in [
        "Versement enregistré",
        "Quittance n° <span class=\"mono\">R-2026-00001",
        "20,50 €",
        "vingt euros et cinquante centimes",
        "data-print",
        "href=\"/regie/receipt/R-2026-00001.pdf\"",
        "href=\"/regie/cancel?receipt=R-2026-00001\"",
        "/assets/regie.js",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let pdf = k
        .get("/regie/receipt/R-2026-00001.pdf", Some(&session))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.body.starts_with("%PDF"), "{}", pdf.body);
    // Receipts of a régie held elsewhere, unknown ones, and what is not a receipt number.
    for (path, status) in [
        ("/regie/receipt/R2-2026-00001", StatusCode::FORBIDDEN),
        ("/regie/receipt/R2-2026-00001.pdf", StatusCode::FORBIDDEN),
        ("/regie/cancel?receipt=R2-2026-00001", StatusCode::FORBIDDEN),
        ("/regie/receipt/R-2026-00009", StatusCode::NOT_FOUND),
        ("/regie/receipt/R-2026-00009.pdf", StatusCode::NOT_FOUND),
        ("/regie/receipt/x", StatusCode::BAD_REQUEST),
    ] {
        let r = k.get(path, Some(&session)).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(r.body.contains("class=\"error\""), "{path}: {}", r.body);
    }

    // Cancelled: a confirmation with the reason asked, then the receipt struck.
    let confirm = k
        .get("/regie/cancel?receipt=R-2026-00001", Some(&session))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("name=\"reason\""), "{}", confirm.body);
    let r = post(
        "/regie/cancel",
        format!("receipt=R-2026-00001&reason=+&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a reason is needed");
    assert!(
        unescaped(&r.body).contains("motif : à renseigner"),
        "{}",
        r.body
    );
    assert_eq!(k.fake.actions().len(), 1, "{:?}", k.fake.actions());
    let r = post(
        "/regie/cancel",
        format!("receipt=R-2026-00001&reason=wrong+amount&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        k.fake.actions().last().unwrap(),
        "cancel R-2026-00001 by regisseur: wrong amount"
    );
    // Cancelled already: refused, and said so.
    let r = post(
        "/regie/cancel",
        format!("receipt=R-2026-00002&reason=again&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(unescaped(&r.body).contains("la quittance R-2026-00002 est déjà annulée"));
    let r = k
        .get("/regie/cancel?receipt=R-2026-00002", Some(&session))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // A refund above the balance: the person's page again, the form as typed, and why.
    let r = post(
        "/regie/refund",
        format!(
            "person=1&amount=60&mode=cheque&cheque_number=42&bank=CIC&reason=leaving&csrf={csrf}"
        ),
    )
    .await;
    let text = unescaped(&r.body);
    assert_eq!(r.status, StatusCode::CONFLICT, "{text}");
    for needle in [
        "le solde est de 50,00 € : on ne peut rembourser 60,00 €",
        "value=\"60\"",
        "value=\"leaving\"",
        "value=\"42\"",
        "<option value=\"cheque\" selected>",
        "Léa MARTIN1",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let r = post(
        "/regie/refund",
        format!("person=1&amount=12%2C50&mode=virement&reason=&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a reason is needed");
    let r = post(
        "/regie/refund",
        format!("person=1&amount=12%2C50&mode=virement&reason=leaving&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/person/1?ok=regie.refund.done")
    );
    assert_eq!(
        k.fake.actions().last().unwrap(),
        "refund 1 1250 virement by regisseur: leaving"
    );

    // The reports as files; a day or a month that is not one.
    let csv = k
        .get("/regie/caisse.csv?day=2026-11-30", Some(&session))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("journal-de-caisse-2026-11-30.csv")
    );
    assert_eq!(csv.body, "Csv caisse 2026-11-30");
    let pdf = k.get("/regie/mois.pdf?month=2026-11", Some(&session)).await;
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(pdf.body, "Pdf mois 2026-11");
    for path in [
        "/regie/caisse?day=30%2F11",
        "/regie/caisse.pdf?day=x",
        "/regie/mois?month=11-2026",
        "/regie/mois.csv?month=2026-00",
    ] {
        assert_eq!(
            k.get(path, Some(&session)).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }

    // A régisseur sees balances and refunds, not badges or oppositions.
    let person = unescaped(&k.get("/person/1", Some(&session)).await.body);
    assert!(person.contains("−3,20 €"), "{person}");
    assert!(person.contains("action=\"/regie/refund\""), "{person}");
    assert!(!person.contains("Déclarer perdu"), "{person}");
    assert!(!person.contains("Ajouter une opposition"), "{person}");
    // The navigation has the cash desk; a surveillant has neither it nor the refund.
    let home = k.get("/", Some(&session)).await;
    assert!(home.body.contains("href=\"/regie\""), "{}", home.body);
    let (surv, _) = k.login("surveillant").await;
    let home = k.get("/", Some(&surv)).await;
    assert!(!home.body.contains("href=\"/regie\""), "{}", home.body);
    assert_eq!(
        k.get("/regie", Some(&surv)).await.status,
        StatusCode::FORBIDDEN
    );
    let person = k.get("/person/1", Some(&surv)).await;
    assert!(!person.body.contains("/regie/refund"), "{}", person.body);
}

/// The routes the router declares in `src/lib.rs`, as (method, pattern): each
/// `.route("PATH", get(..).post(..))` line read from the source.
fn declared_routes() -> Vec<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let body = source
        .split("pub fn router(")
        .nth(1)
        .and_then(|s| s.split(".fallback(").next())
        .expect("the router function");
    let mut out = Vec::new();
    for line in body.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix(".route(\"") else {
            continue;
        };
        let (path, handlers) = rest.split_once('"').expect("a quoted path");
        for method in ["get", "post"] {
            if handlers.contains(&format!("{method}(")) {
                out.push((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    out
}

/// Whether the concrete `path` (its query left out) fits `pattern`, `{x}` taking one segment.
fn fits(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b)
}

#[test]
fn the_route_table_and_the_router_list_the_same_routes() {
    let declared = declared_routes();
    assert!(declared.len() > 30, "the router was not read: {declared:?}");
    // Every route the guard's table knows is one the router serves…
    for (method, path, _) in ROUTES {
        assert!(
            declared.iter().any(|(m, p)| m == method && fits(p, path)),
            "{method} {path} is in ROUTES but the router does not serve it"
        );
    }
    // …and every route the router serves is in the table (so its access is decided).
    for (method, pattern) in &declared {
        assert!(
            ROUTES
                .iter()
                .any(|(m, p, _)| m == method && fits(pattern, p)),
            "{method} {pattern} is served but not in ROUTES: add it with its access"
        );
    }
}

/// Posts `form` (with the session's token) from the kiosk's own origin.
async fn post_as(k: &Kiosk, session: &str, csrf: &str, path: &str, form: &str) -> Resp {
    k.post(
        path,
        Some(session),
        &format!("{form}&csrf={csrf}"),
        Some("http://kiosk.test"),
    )
    .await
}

#[tokio::test]
async fn the_billing_pages_are_the_gestionnaires_only() {
    let k = Kiosk::new(false);
    // Anonymous: refused, and a browser is sent to the login form and back.
    for path in [
        "/facturation",
        "/facturation/T1",
        "/facturation/T1/avis.pdf",
        "/facturation/T1/bordereau-1.csv",
    ] {
        let r = k.get(path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = k
        .post("/facturation/T1/constater", None, "csrf=x", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = k
        .send(
            Request::get("/facturation/T1")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/login?next=%2Ffacturation%2FT1"
    );
    assert_eq!(
        selfgate_kiosk::safe_next(Some("/facturation/T1")),
        "/facturation/T1"
    );

    // A surveillant and a régisseur, logged in with a valid token: forbidden, nothing done.
    for role in ["surveillant", "regisseur"] {
        let (session, csrf) = k.login(role).await;
        for path in [
            "/facturation",
            "/facturation/T1",
            "/facturation/T1/avis.pdf",
        ] {
            let r = k.get(path, Some(&session)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} {path}");
            assert!(!r.body.contains("405,90"), "{role} {path}: {}", r.body);
        }
        for path in [
            "/facturation/T1/constater",
            "/facturation/T1/clore",
            "/facturation/T1/remise",
            "/facturation/T1/aide",
            "/facturation/T1/retrait",
        ] {
            let r = post_as(&k, &session, &csrf, path, form_for(path)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} {path}");
        }
    }
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());

    // The gestionnaire reaches them; a POST without the token is still refused.
    let (session, _) = k.login("gestionnaire").await;
    assert_eq!(
        k.get("/facturation", Some(&session)).await.status,
        StatusCode::OK
    );
    let r = k
        .post(
            "/facturation/T1/constater",
            Some(&session),
            "",
            Some("http://kiosk.test"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());
}

#[tokio::test]
async fn a_constatation_from_the_page_journals_the_terms_receivables_once() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("gestionnaire").await;

    // The terms: T1 to constate, T2 that cannot be liquidated.
    let list = unescaped(&k.get("/facturation", Some(&session)).await.body);
    for needle in [
        "Facturation des forfaits",
        "Septembre – décembre 2026",
        "du 01/09/2026 au 31/12/2026",
        "data-due-cents=\"40590\"",
        "405,90 €",
        "Pas encore constaté",
        "2 lignes à journaliser, 405,90 € net",
        "Liquidation impossible : voir les problèmes.",
        "href=\"/facturation/T1\"",
        "href=\"/facturation/T2\"",
    ] {
        assert!(list.contains(needle), "{needle}: {list}");
    }

    // The term: each pupil's bill line by line, what a constatation would journal, the entry
    // in force with its withdraw button, the forms.
    let page = unescaped(&k.get("/facturation/T1", Some(&session)).await.body);
    for needle in [
        "Ce qui a changé depuis la dernière constatation",
        "<tr data-person=\"1001\" data-cents=\"20500\">",
        "<tr data-person=\"1002\" data-cents=\"20090\">",
        "Constater · Bordereau n° 1",
        "Demi-pension 4 jours du 01/09/2026 au 18/12/2026 : 60 jours × 4,10 €",
        "Remise d'ordre — Maladie (sur demande) du 02/11/2026 au 06/11/2026",
        "Mme Claire MARTIN",
        "data-entry=\"ligne-1/50\"",
        "Remise d'ordre (maladie) du 02/11/2026 au 06/11/2026, justificatif certificat 42",
        "action=\"/facturation/T1/retrait\"",
        "action=\"/facturation/T1/remise\"",
        "action=\"/facturation/T1/aide\"",
        "name=\"asked_on\" value=\"2026-11-30\"",
        "Aucun bordereau journalisé : constatez d'abord le trimestre.",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    assert!(
        !page.contains("Clore le trimestre"),
        "closed before any constatation"
    );
    let r = k
        .get("/facturation/T1/bordereau-1.pdf", Some(&session))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(unescaped(&r.body).contains("aucun bordereau journalisé en T1 2026"));

    // Constated: journaled once, by the member of staff; the page says so and is up to date.
    let r = post_as(&k, &session, &csrf, "/facturation/T1/constater", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, "/facturation/T1?ok=billing.constate.done");
    assert_eq!(
        k.fake.actions(),
        ["constate T1 bordereau 1 by gestionnaire"]
    );
    let page = unescaped(&k.get(&to, Some(&session)).await.body);
    for needle in [
        "Constatation journalisée.",
        "À jour : une constatation maintenant ne journaliserait rien.",
        "data-constated-cents=\"40590\"",
        "href=\"/facturation/T1/avis.pdf\"",
        "href=\"/facturation/T1/bordereau-1.pdf\"",
        "href=\"/facturation/T1/bordereau-1.csv\"",
        "href=\"/facturation/T1/bordereau-1.xlsx\"",
        "Clore le trimestre",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    assert!(
        !page.contains("data-constate>"),
        "nothing left to constate: {page}"
    );
    // Again: nothing to journal, nothing done.
    let r = post_as(&k, &session, &csrf, "/facturation/T1/constater", "").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/facturation/T1?ok=billing.constate.nothing"
    );
    assert_eq!(k.fake.actions().len(), 1, "{:?}", k.fake.actions());

    // The documents.
    let csv = k
        .get("/facturation/T1/bordereau-1.csv", Some(&session))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"0310001A-2026-T1-B01.csv\""
    );
    assert_eq!(csv.body, "csv bordereau 1");
    let xlsx = k
        .get("/facturation/T1/bordereau-1.xlsx", Some(&session))
        .await;
    assert_eq!(
        xlsx.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let notices = k.get("/facturation/T1/avis.pdf", Some(&session)).await;
    assert_eq!(notices.status, StatusCode::OK);
    assert_eq!(notices.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(notices.body.starts_with("%PDF"), "{}", notices.body);
    for (path, status) in [
        ("/facturation/T1/bordereau-9.pdf", StatusCode::NOT_FOUND),
        ("/facturation/T1/bordereau-1.ods", StatusCode::NOT_FOUND),
        ("/facturation/T1/avis.csv", StatusCode::NOT_FOUND),
        ("/facturation/T9", StatusCode::NOT_FOUND),
        ("/facturation/T9/avis.pdf", StatusCode::NOT_FOUND),
    ] {
        let r = k.get(path, Some(&session)).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(r.body.contains("class=\"error"), "{path}: {}", r.body);
    }
    assert!(
        unescaped(&k.get("/facturation/T9", Some(&session)).await.body)
            .contains("aucun trimestre « T9 »")
    );

    // Closing needs its confirmation ticked.
    let r = post_as(&k, &session, &csrf, "/facturation/T1/clore", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(unescaped(&r.body).contains("Cochez la confirmation pour clore le trimestre."));
    assert_eq!(k.fake.actions().len(), 1, "{:?}", k.fake.actions());
    let r = post_as(&k, &session, &csrf, "/facturation/T1/clore", "confirm=1").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/facturation/T1?ok=billing.close.done"
    );
    assert_eq!(k.fake.actions().last().unwrap(), "close T1 by gestionnaire");
    let page = unescaped(&k.get("/facturation/T1", Some(&session)).await.body);
    assert!(page.contains("Clos (gestionnaire)"), "{page}");
    assert!(!page.contains("Clore le trimestre"), "{page}");
}

#[tokio::test]
async fn a_refused_remise_shows_why_keeps_the_form_and_journals_nothing() {
    let k = Kiosk::new(false);
    let (session, csrf) = k.login("gestionnaire").await;
    let remise = "/facturation/T1/remise";

    // Two days of illness: fewer than the school's minimum. Refused with the billing's words,
    // the form as typed, nothing journaled.
    let r = post_as(
        &k,
        &session,
        &csrf,
        remise,
        "person=1001&from=2026-11-02&to=2026-11-03&proof=certificat+42&asked_on=2026-11-20&note=rappel",
    )
    .await;
    let text = unescaped(&r.body);
    assert_eq!(r.status, StatusCode::CONFLICT, "{text}");
    for needle in [
        "Refusé, rien n'est journalisé :",
        "<li>Léa MARTIN (1001) : une remise pour maladie demande au moins 5 jours de classe consécutifs</li>",
        "name=\"person\" list=\"pupils\" value=\"1001\"",
        "name=\"from\" value=\"2026-11-02\"",
        "name=\"to\" value=\"2026-11-03\"",
        "name=\"proof\" value=\"certificat 42\"",
        "name=\"asked_on\" value=\"2026-11-20\"",
        "name=\"note\" value=\"rappel\"",
        // The rest of the term's page is still there.
        "Ce qui a changé depuis la dernière constatation",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // The aid form is not filled with the remise's values.
    assert!(!text.contains("name=\"amount\" inputmode=\"decimal\" value=\"1001\""));
    // Asked after the deadline; a pupil the school does not have.
    for (form, message) in [
        (
            "person=1001&from=2026-11-02&to=2026-11-13&proof=c&asked_on=2027-02-01",
            "après la date limite du 31/01/2027",
        ),
        (
            "person=9999&from=2026-11-02&to=2026-11-13&proof=c&asked_on=2026-11-20",
            "aucune personne d'identifiant « 9999 »",
        ),
    ] {
        let r = post_as(&k, &session, &csrf, remise, form).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{form}");
        assert!(unescaped(&r.body).contains(message), "{form}: {}", r.body);
    }
    // What the kiosk itself refuses before asking: a date that is not one, an amount, a kind.
    for (path, form, message) in [
        (
            remise,
            "person=1001&from=02%2F11%2F2026&to=2026-11-13&proof=c&asked_on=2026-11-20",
            "du : « 02/11/2026 » n'est pas une date AAAA-MM-JJ",
        ),
        (
            remise,
            "person=1001&from=2026-11-02&to=2026-11-13&proof=c&asked_on=hier",
            "demandée le : « hier » n'est pas une date AAAA-MM-JJ",
        ),
        (
            "/facturation/T1/aide",
            "person=1001&kind=bourse&amount=quarante&reference=B-1",
            "montant : « quarante » n'est pas un montant",
        ),
        (
            "/facturation/T1/aide",
            "person=1001&kind=cadeau&amount=45&reference=B-1",
            "type d'aide : « cadeau » inconnu",
        ),
        (
            "/facturation/T1/retrait",
            "entry=50&note=x",
            "« 50 » n'est pas une saisie",
        ),
    ] {
        let r = post_as(&k, &session, &csrf, path, form).await;
        let text = unescaped(&r.body);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form}: {text}");
        assert!(text.contains(message), "{message}: {text}");
    }
    // The aid form keeps its own values.
    let r = post_as(
        &k,
        &session,
        &csrf,
        "/facturation/T1/aide",
        "person=1002&kind=fonds_social&amount=quarante&reference=FS-7",
    )
    .await;
    let text = unescaped(&r.body);
    assert!(
        text.contains("<option value=\"fonds_social\" selected>"),
        "{text}"
    );
    assert!(text.contains("name=\"reference\" value=\"FS-7\""), "{text}");
    // A term that cannot be liquidated: every problem listed.
    let r = post_as(&k, &session, &csrf, "/facturation/T2/constater", "").await;
    let text = unescaped(&r.body);
    assert_eq!(r.status, StatusCode::CONFLICT, "{text}");
    assert!(
        text.contains(
            "<li>Léa MARTIN (1001) : aucun prix pour le forfait dp5 au trimestre T2</li>"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "<li>Hugo BERNARD (1002) : aucun prix pour le forfait dp5 au trimestre T2</li>"
        ),
        "{text}"
    );
    assert!(k.fake.actions().is_empty(), "{:?}", k.fake.actions());

    // Accepted: entered by the member of staff, back on the page with what to do next.
    let r = post_as(
        &k,
        &session,
        &csrf,
        remise,
        "person=1001&from=2026-11-02&to=2026-11-13&proof=certificat+42&asked_on=2026-11-20",
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/facturation/T1?ok=billing.remise.done"
    );
    let r = post_as(
        &k,
        &session,
        &csrf,
        "/facturation/T1/aide",
        "person=1001&kind=bourse&amount=45%2C50&reference=B-1",
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/facturation/T1?ok=billing.aid.done"
    );
    let r = post_as(
        &k,
        &session,
        &csrf,
        "/facturation/T1/retrait",
        "entry=ligne-1%2F50&note=saisie+en+double",
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/facturation/T1?ok=billing.withdraw.done"
    );
    assert_eq!(
        k.fake.actions(),
        [
            "remise T1 1001 2026-11-02..2026-11-13 by gestionnaire",
            "aid T1 1001 bourse 4550 by gestionnaire",
            "withdraw T1 ligne-1/50 by gestionnaire",
        ]
    );
    let page = unescaped(
        &k.get("/facturation/T1?ok=billing.remise.done", Some(&session))
            .await
            .body,
    );
    assert!(
        page.contains("Remise saisie : prise en compte à la prochaine constatation."),
        "{page}"
    );
}
