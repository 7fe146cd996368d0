//! The kiosk's cash desk on the running gate: payments, cancellations and refunds decided by
//! `selfgate_rules::regie` from the gate's roster (as `node::regie::plan` decides the control
//! socket's, but keeping the refusals as values the kiosk tells in the staff's language) and
//! committed through [`GateHandle::change`], so the gate charges the new balance at once; the
//! receipts read from the store (`Store::payment`); the day's cash report and the month's
//! reconciliation computed by `selfgate-money` over the journal; the low balances from the
//! roster and the tariffs; and the régie's lines of the staff's live feed.
//!
//! A régie's receipts are numbered, shown and cancelled by the node that holds it only: a
//! receipt of a régie held elsewhere is `Forbidden` here.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use selfgate_kiosk::i18n::{self, Lang};
use selfgate_kiosk::money::{
    CancelView, CashKind, CashLineView, CashView, DebtorView, FileFormat, GroupName, LowBalanceRow,
    LowBalances, MealGroupView, ModeTotalView, MoneyFacts, MoneyField, MoneyKind, MonthView,
    MovementsView, NewPayment, NewRefund, ReceiptView, RegieInfo, ReportFile, meals_left,
};
use selfgate_kiosk::{FeedItem, Problem, SourceError};
use selfgate_money::receipt::ReceiptDoc;
use selfgate_money::{CashLineKind, CashReport, MealGroup, ModeTotal, MonthReport};
use selfgate_rules::journal::{Event, EventKind, Receipt};
use selfgate_rules::model::{Category, Person, PersonId, Regime};
use selfgate_rules::regie::{self, MAX_PAYMENT_CENTS, MAX_TEXT_CHARS, RegieRefusal};

use crate::config::Config;
use crate::config::money::Regie;
use crate::node::gate::{GateHandle, Shared};
use crate::store::{Store, StoreError, WriteOp, WriteOutcome};

/// The kiosk's words for a refusal of the régie's rules.
fn refusal(e: RegieRefusal) -> SourceError {
    use RegieRefusal as R;
    let field = |f: &str| match f {
        "numéro de chèque" => MoneyField::ChequeNumber,
        "banque" => MoneyField::Bank,
        "référence" => MoneyField::Reference,
        "agent" => MoneyField::Staff,
        "payeur" => MoneyField::Payer,
        "note" => MoneyField::Note,
        _ => MoneyField::Reason,
    };
    match e {
        R::UnknownPerson(_) => SourceError::NotFound(Problem::UnknownPerson),
        R::Amount(cents) => SourceError::Invalid(Problem::AmountOutOfRange {
            cents,
            max_cents: MAX_PAYMENT_CENTS,
        }),
        R::ChequeWithoutNumber => SourceError::Invalid(Problem::ChequeWithoutNumber),
        R::NoReference(_) => SourceError::Invalid(Problem::NoReference),
        R::TooLong(f) => SourceError::Invalid(Problem::TooLong {
            field: field(f),
            max: MAX_TEXT_CHARS,
        }),
        R::Missing(f) => SourceError::Invalid(Problem::Missing { field: field(f) }),
        R::UnknownReceipt(receipt) => SourceError::NotFound(Problem::UnknownReceipt { receipt }),
        R::AlreadyCancelled(receipt) => SourceError::Refused(Problem::AlreadyCancelled { receipt }),
        R::MoreThanBalance { balance, cents, .. } => {
            SourceError::Refused(Problem::MoreThanBalance {
                balance_cents: balance,
                cents,
            })
        }
        R::NotHere(regie) => SourceError::Forbidden(Problem::RegieNotHere {
            regie,
            node: String::new(),
        }),
    }
}

fn unreadable(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(Problem::JournalUnreadable {
        detail: e.to_string(),
    })
}

fn report_failed(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(Problem::ReportFailed {
        detail: e.to_string(),
    })
}

/// The gate could not commit the operation (the store refused it, or is failing).
fn not_recorded(e: &StoreError) -> SourceError {
    SourceError::Unavailable(Problem::NotRecorded {
        detail: e.to_string(),
    })
}

/// The school's régies, those this node holds marked.
pub fn regies(config: &Config) -> Vec<RegieInfo> {
    config
        .money
        .regies
        .iter()
        .map(|r| RegieInfo {
            code: r.code.clone(),
            name: r.name.clone(),
            here: r.node == config.gate.id,
        })
        .collect()
}

/// The régie an operation is made at: `wanted` when this node holds it, else the first it
/// holds.
fn regie_held<'a>(config: &'a Config, wanted: Option<&str>) -> Result<&'a Regie, SourceError> {
    let node = config.gate.id.as_str();
    match wanted {
        Some(code) => match config.money.regie(code) {
            Some(r) if r.node == node => Ok(r),
            Some(r) => Err(SourceError::Forbidden(Problem::RegieNotHere {
                regie: r.code.clone(),
                node: r.node.clone(),
            })),
            None => Err(SourceError::Invalid(Problem::UnknownRegie {
                regie: code.to_owned(),
            })),
        },
        None => config
            .money
            .regies_of(node)
            .next()
            .ok_or(SourceError::Refused(Problem::NoRegieHere)),
    }
}

/// The journal event the gate committed for an operation.
fn appended(outcomes: Vec<WriteOutcome>) -> Result<Event, SourceError> {
    outcomes
        .into_iter()
        .find_map(|o| match o {
            WriteOutcome::Appended(e) => Some(*e),
            _ => None,
        })
        .ok_or_else(|| {
            SourceError::Unavailable(Problem::NotRecorded {
                detail: "nothing was journaled".into(),
            })
        })
}

/// The receipt of the payment journaled as `payment`, cancelled by `cancel` when given.
fn view_of(
    shared: &Shared,
    payment: &Event,
    cancel: Option<&Event>,
) -> Result<ReceiptView, SourceError> {
    let EventKind::Payment(p) = &payment.kind else {
        return Err(SourceError::NotFound(Problem::UnknownReceipt {
            receipt: format!("{}/{}", payment.gate, payment.seq),
        }));
    };
    let config = shared.config();
    let tz = config.rules.timezone;
    let (name, class) = shared
        .engine()
        .roster()
        .person(p.person)
        .map(|x| (x.display_name(), x.class.clone()))
        .unwrap_or_else(|| (format!("n° {}", p.person.0), String::new()));
    let local = |at: DateTime<Utc>| at.with_timezone(&tz).naive_local();
    Ok(ReceiptView {
        receipt: p.receipt.to_string(),
        regie: p.receipt.regie.clone(),
        regie_name: config
            .money
            .regie(&p.receipt.regie)
            .map_or_else(|| p.receipt.regie.clone(), |r| r.name.clone()),
        school: config.school.name.clone(),
        person: p.person.0,
        name,
        class,
        cents: p.cents,
        mode: p.mode.clone(),
        payer: p.payer.clone(),
        by: p.by.clone(),
        note: p.note.clone(),
        at: local(payment.at),
        cancelled: cancel.and_then(|e| match &e.kind {
            EventKind::PaymentCancel(c) => Some(CancelView {
                at: local(e.at),
                by: c.by.clone(),
                reason: c.reason.clone(),
            }),
            _ => None,
        }),
    })
}

/// The payment of receipt `number` and its cancellation, for a régie this node holds.
fn lookup(
    shared: &Shared,
    store: &Store,
    number: &str,
) -> Result<(Event, Option<Event>), SourceError> {
    let receipt: Receipt = number.trim().parse().map_err(|_| {
        SourceError::Invalid(Problem::NotAReceipt {
            given: number.to_owned(),
        })
    })?;
    let unknown = || {
        SourceError::NotFound(Problem::UnknownReceipt {
            receipt: receipt.to_string(),
        })
    };
    {
        let config = shared.config();
        match config.money.regie(&receipt.regie) {
            None => return Err(unknown()),
            Some(r) if r.node != config.gate.id => {
                return Err(SourceError::Forbidden(Problem::RegieNotHere {
                    regie: r.code.clone(),
                    node: r.node.clone(),
                }));
            }
            Some(_) => {}
        }
    }
    store
        .payment(&receipt)
        .map_err(unreadable)?
        .ok_or_else(unknown)
}

/// The receipt `number` (a régie held here).
pub fn receipt(shared: &Shared, store: &Store, number: &str) -> Result<ReceiptView, SourceError> {
    let (payment, cancel) = lookup(shared, store, number)?;
    view_of(shared, &payment, cancel.as_ref())
}

/// The receipt `number` as a PDF.
pub fn receipt_pdf(shared: &Shared, store: &Store, number: &str) -> Result<Vec<u8>, SourceError> {
    let (payment, cancel) = lookup(shared, store, number)?;
    let config = shared.config();
    let names: HashMap<PersonId, (String, String)> = {
        let engine = shared.engine();
        let person = match &payment.kind {
            EventKind::Payment(p) => engine.roster().person(p.person),
            _ => None,
        };
        person
            .map(|p| {
                (
                    p.id,
                    (format!("{} {}", p.last_name, p.first_name), p.class.clone()),
                )
            })
            .into_iter()
            .collect()
    };
    let regie_name = match &payment.kind {
        EventKind::Payment(p) => config
            .money
            .regie(&p.receipt.regie)
            .map_or_else(|| p.receipt.regie.clone(), |r| r.name.clone()),
        _ => String::new(),
    };
    let doc = ReceiptDoc::from_events(
        &payment,
        cancel.as_ref(),
        config.rules.timezone,
        &names,
        &config.school.name,
        &regie_name,
    )
    .ok_or_else(|| {
        SourceError::NotFound(Problem::UnknownReceipt {
            receipt: number.to_owned(),
        })
    })?;
    Ok(doc.to_pdf())
}

/// A payment taken at one of this node's régies, committed through the gate.
pub async fn take_payment(gate: &GateHandle, p: NewPayment) -> Result<ReceiptView, SourceError> {
    let op = {
        let shared = gate.shared();
        let config = shared.config();
        let now = shared.clock.now();
        let engine = shared.engine();
        let roster = engine.roster();
        let person = roster
            .person(PersonId(p.person))
            .ok_or(SourceError::NotFound(Problem::UnknownPerson))?;
        let regie = regie_held(&config, p.regie.as_deref())?;
        let payment = regie::take_payment(
            roster,
            &regie::NewPayment {
                person: person.external_id.clone(),
                cents: p.cents,
                mode: p.mode,
                payer: p.payer,
                by: p.by,
                regie: regie.code.clone(),
                day: config.rules.today(now),
                note: p.note,
            },
        )
        .map_err(refusal)?;
        // The rules find the person by identifiant: it must be the one asked for.
        if payment.person != person.id {
            return Err(SourceError::NotFound(Problem::UnknownPerson));
        }
        WriteOp::Append {
            gate: config.gate.id.clone(),
            at: now,
            kind: EventKind::Payment(payment),
        }
    };
    let outcomes = gate.change(vec![op]).await.map_err(|e| not_recorded(&e))?;
    let event = appended(outcomes)?;
    view_of(gate.shared(), &event, None)
}

/// The payment of receipt `number` cancelled (a régie held here, not cancelled yet).
pub async fn cancel(
    gate: &GateHandle,
    store: &Store,
    number: &str,
    by: &str,
    reason: &str,
) -> Result<ReceiptView, SourceError> {
    let (payment, op) = {
        let shared = gate.shared();
        let (payment, cancelled) = lookup(shared, store, number)?;
        let c =
            regie::cancel_payment(&payment, cancelled.is_some(), by, reason).map_err(refusal)?;
        let config = shared.config();
        let op = WriteOp::Append {
            gate: config.gate.id.clone(),
            at: shared.clock.now(),
            kind: EventKind::PaymentCancel(c),
        };
        (payment, op)
    };
    let outcomes = gate.change(vec![op]).await.map_err(|e| match e.as_ref() {
        // Cancelled meanwhile (the store's writer refuses a second cancellation).
        StoreError::AlreadyCancelled(_) => SourceError::Refused(Problem::AlreadyCancelled {
            receipt: number.trim().to_owned(),
        }),
        other => not_recorded(other),
    })?;
    let cancel = appended(outcomes)?;
    view_of(gate.shared(), &payment, Some(&cancel))
}

/// Part of a remaining balance refunded at this node's first régie.
pub async fn refund(gate: &GateHandle, r: NewRefund) -> Result<(), SourceError> {
    let op = {
        let shared = gate.shared();
        let config = shared.config();
        let engine = shared.engine();
        let roster = engine.roster();
        let person = roster
            .person(PersonId(r.person))
            .ok_or(SourceError::NotFound(Problem::UnknownPerson))?;
        let regie = regie_held(&config, None)?;
        let refund = regie::refund(
            roster,
            &person.external_id,
            r.cents,
            &r.mode,
            &regie.code,
            &r.by,
            &r.reason,
        )
        .map_err(refusal)?;
        if refund.person != person.id {
            return Err(SourceError::NotFound(Problem::UnknownPerson));
        }
        WriteOp::Append {
            gate: config.gate.id.clone(),
            at: shared.clock.now(),
            kind: EventKind::Refund(refund),
        }
    };
    gate.change(vec![op])
        .await
        .map(|_| ())
        .map_err(|e| not_recorded(&e))
}

/// The roster's persons, and their names as the kiosk shows them (`Prénom NOM`).
fn persons(shared: &Shared) -> (Vec<Person>, HashMap<PersonId, (String, String)>) {
    let engine = shared.engine();
    let persons: Vec<Person> = engine.roster().persons().cloned().collect();
    let names = persons
        .iter()
        .map(|p| (p.id, (p.display_name(), p.class.clone())))
        .collect();
    (persons, names)
}

fn mode_view(m: &ModeTotal) -> ModeTotalView {
    ModeTotalView {
        mode: m.mode.clone(),
        payments_count: m.payments_count,
        payments_cents: m.payments_cents,
        cancellations_cents: m.cancellations_cents,
        refunds_cents: m.refunds_cents,
        net_cents: m.net_cents,
    }
}

/// The events a day's cash report reads: every one (a cancellation of the day may refer to a
/// payment of any day before), or, `recent`, those since the day began (the day's payments and
/// their cancellations: what `/regie` lists).
fn events_for(
    shared: &Shared,
    store: &Store,
    day: NaiveDate,
    recent: bool,
) -> Result<Vec<Event>, SourceError> {
    let since = recent.then(|| shared.config().rules.midnight(day) - TimeDelta::hours(1));
    store.events(since).map_err(unreadable)
}

fn check_regie(config: &Config, regie: Option<&str>) -> Result<(), SourceError> {
    match regie {
        Some(code) if config.money.regie(code).is_none() => {
            Err(SourceError::Invalid(Problem::UnknownRegie {
                regie: code.to_owned(),
            }))
        }
        _ => Ok(()),
    }
}

/// The cash report of `day` for `regie` (every régie when `None`); `recent`: from the day's
/// events only (its payments are exact, the cancellations of earlier payments lack their mode).
pub fn cash(
    shared: &Shared,
    store: &Store,
    day: NaiveDate,
    regie: Option<&str>,
    recent: bool,
) -> Result<CashView, SourceError> {
    let config = shared.config();
    check_regie(&config, regie)?;
    let events = events_for(shared, store, day, recent)?;
    let (_, names) = persons(shared);
    let r = CashReport::compute(&events, &names, day, config.rules.timezone, regie)
        .map_err(report_failed)?;
    let here = |code: &str| {
        config
            .money
            .regie(code)
            .is_some_and(|g| g.node == config.gate.id)
    };
    let lines = r
        .lines()
        .iter()
        .map(|l| CashLineView {
            kind: match l.kind {
                CashLineKind::Payment => CashKind::Payment,
                CashLineKind::Cancellation => CashKind::Cancellation,
                CashLineKind::Refund => CashKind::Refund,
            },
            receipt: l.receipt.clone(),
            regie: l.regie.clone(),
            time: l.time.clone(),
            person: l.person.0,
            name: l.name.clone(),
            class: l.class.clone(),
            payer: l.payer.clone(),
            mode: l.mode.clone(),
            mode_detail: l.mode_detail.clone(),
            cents: l.cents,
            counted_cents: l.counted_cents,
            by: l.by.clone(),
            note: l.note.clone(),
            cancelled: l.cancelled.is_some(),
            cancellable: l.kind == CashLineKind::Payment && l.cancelled.is_none() && here(&l.regie),
        })
        .collect();
    let missing = r
        .receipts()
        .iter()
        .flat_map(|range| {
            range
                .missing
                .iter()
                .map(move |n| format!("{}-{}-{n:05}", range.regie, range.year))
        })
        .collect();
    Ok(CashView {
        day,
        regie: r.regie().map(str::to_owned),
        lines,
        modes: r.modes().iter().map(mode_view).collect(),
        total_cents: r.total_cents(),
        payments_count: r.payments_count(),
        cancelled_count: r.cancelled_count(),
        cancellations_count: r.cancellations_count(),
        refunds_count: r.refunds_count(),
        first_receipt: r.first_receipt().map(str::to_owned),
        last_receipt: r.last_receipt().map(str::to_owned),
        missing,
    })
}

fn group_view(g: &MealGroup, name: GroupName) -> MealGroupView {
    MealGroupView {
        name,
        meals: g.meals,
        cents: g.cents,
        free_meals: g.free_meals,
        corrections: g.corrections,
        corrections_cents: g.corrections_cents,
    }
}

/// The month's reconciliation, over the whole journal.
pub fn month(
    shared: &Shared,
    store: &Store,
    year: i32,
    month: u32,
) -> Result<MonthView, SourceError> {
    let config = shared.config();
    let events = store.events(None).map_err(unreadable)?;
    let (persons, names) = persons(shared);
    let r = MonthReport::compute(&events, &persons, year, month, config.rules.timezone)
        .map_err(report_failed)?;
    let t = r.totals();
    let unknown = "inconnu";
    let category = |code: &str| {
        code.parse::<Category>()
            .ok()
            .filter(|_| code != unknown)
            .map_or(GroupName::Unknown, GroupName::Category)
    };
    let regime = |code: &str| {
        code.parse::<Regime>()
            .ok()
            .filter(|_| code != unknown && !code.is_empty())
            .map_or(GroupName::Unknown, GroupName::Regime)
    };
    let tier = |code: &str| match code {
        "" => GroupName::NoTier,
        c if c == unknown => GroupName::Unknown,
        c => GroupName::Tier {
            code: c.to_owned(),
            label: config.money.tiers.get(c).cloned().unwrap_or_default(),
        },
    };
    let name_of = |p: PersonId, fallback: &str| {
        names
            .get(&p)
            .map_or_else(|| fallback.to_owned(), |n| n.0.clone())
    };
    Ok(MonthView {
        year,
        month,
        totals: MovementsView {
            opening_cents: t.opening_cents(),
            payments_count: t.payments_count(),
            payments_cents: t.payments_cents(),
            meals_count: t.meals_count(),
            meals_cents: t.meals_cents(),
            corrections_count: t.corrections_count(),
            corrections_cents: t.corrections_cents(),
            cancellations_count: t.cancellations_count(),
            cancellations_cents: t.cancellations_cents(),
            refunds_count: t.refunds_count(),
            refunds_cents: t.refunds_cents(),
            credits_count: t.credits_count(),
            credits_cents: t.credits_cents(),
            closing_cents: t.closing_cents(),
        },
        persons: r.rows().len(),
        debtors: r
            .debtors()
            .iter()
            .map(|d| DebtorView {
                person: d.person.0,
                name: name_of(d.person, &d.name),
                class: d.class.clone(),
                closing_cents: d.closing_cents,
            })
            .collect(),
        debt_cents: r.debt_cents(),
        credit_cents: r.credit_cents(),
        by_category: r
            .by_category()
            .iter()
            .map(|g| group_view(g, category(&g.code)))
            .collect(),
        by_tier: r
            .by_tier()
            .iter()
            .map(|g| group_view(g, tier(&g.code)))
            .collect(),
        by_regime: r
            .by_regime()
            .iter()
            .map(|g| group_view(g, regime(&g.code)))
            .collect(),
        modes: r.modes().iter().map(mode_view).collect(),
    })
}

/// A report as CSV or PDF (French, names `NOM Prénom`, as `selfgate report` writes them).
pub fn report_file(
    shared: &Shared,
    store: &Store,
    file: &ReportFile,
) -> Result<Vec<u8>, SourceError> {
    let config = shared.config();
    let tz = config.rules.timezone;
    let events = store.events(None).map_err(unreadable)?;
    let (persons, _) = persons(shared);
    Ok(match file {
        ReportFile::Cash { day, regie, format } => {
            check_regie(&config, regie.as_deref())?;
            let r = CashReport::compute(&events, persons.as_slice(), *day, tz, regie.as_deref())
                .map_err(report_failed)?;
            match format {
                FileFormat::Csv => r.to_csv().into_bytes(),
                FileFormat::Pdf => r.to_pdf(),
            }
        }
        ReportFile::Month {
            year,
            month,
            format,
        } => {
            let r = MonthReport::compute(&events, &persons, *year, *month, tz)
                .map_err(report_failed)?;
            match format {
                FileFormat::Csv => r.to_csv().into_bytes(),
                FileFormat::Pdf => r.to_pdf(),
            }
        }
    })
}

/// A person's price for a meal: their tier's when their category's tariff has one for it,
/// else the category's (per-service prices aside); `None` when they pay nothing.
fn meal_price(config: &Config, p: &Person) -> Option<i64> {
    let tariff = config.rules.tariff(p.category)?;
    let price = p
        .tier
        .as_deref()
        .and_then(|t| tariff.tiers.iter().find(|x| x.tier == t))
        .map_or(tariff.price_cents, |t| t.price_cents);
    (price > 0).then_some(price)
}

/// The persons paying by ticket today (no forfait in force, allowed ticket meals, a price)
/// whose balance pays for fewer meals than the threshold, lowest balance first.
pub fn low_balances(shared: &Shared) -> LowBalances {
    let config = shared.config();
    let threshold = config.money.low_balance_meals;
    let today = config.rules.today(shared.clock.now());
    let mut rows: Vec<LowBalanceRow> = Vec::new();
    if threshold > 0 {
        let engine = shared.engine();
        let roster = engine.roster();
        for p in roster.persons() {
            let no_tickets = !config.rules.externe_tickets
                && p.category == Category::Eleve
                && p.regime == Regime::Externe;
            if p.has_forfait_on(today) || no_tickets {
                continue;
            }
            let Some(price) = meal_price(&config, p) else {
                continue;
            };
            let balance = roster.balance(p.id);
            let Some(n) = meals_left(balance, price) else {
                continue;
            };
            if n < threshold {
                rows.push(LowBalanceRow {
                    person: p.id.0,
                    name: p.display_name(),
                    class: p.class.clone(),
                    tier: p.tier.clone(),
                    balance_cents: balance,
                    price_cents: price,
                    meals_left: n,
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        a.balance_cents
            .cmp(&b.balance_cents)
            .then_with(|| a.name.cmp(&b.name))
    });
    LowBalances { threshold, rows }
}

/// The staff's feed line of a payment, a cancellation or a refund (none for other events).
pub fn money_item(shared: &Shared, e: &Event) -> Option<FeedItem> {
    let (person, facts) = match &e.kind {
        EventKind::Payment(p) => (
            p.person,
            MoneyFacts {
                kind: MoneyKind::Payment,
                receipt: Some(p.receipt.to_string()),
                cents: p.cents,
                mode: p.mode.code().to_owned(),
            },
        ),
        EventKind::PaymentCancel(c) => (
            c.person,
            MoneyFacts {
                kind: MoneyKind::Cancellation,
                receipt: Some(c.receipt.to_string()),
                cents: c.cents,
                mode: "inconnu".to_owned(),
            },
        ),
        EventKind::Refund(r) => (
            r.person,
            MoneyFacts {
                kind: MoneyKind::Refund,
                receipt: None,
                cents: r.cents,
                mode: r.mode.code().to_owned(),
            },
        ),
        _ => return None,
    };
    let tz = shared.config().rules.timezone;
    let (name, class, balance) = {
        let engine = shared.engine();
        let roster = engine.roster();
        let p = roster.person(person);
        (
            p.map_or_else(|| format!("n° {}", person.0), Person::display_name),
            p.map(|x| x.class.clone()).unwrap_or_default(),
            roster.balance(person),
        )
    };
    Some(FeedItem {
        gate: e.gate.clone(),
        seq: Some(e.seq),
        time: e.at.with_timezone(&tz).format("%H:%M:%S").to_string(),
        name,
        class,
        pass: facts.kind == MoneyKind::Payment,
        reason: match facts.kind {
            MoneyKind::Payment => "payment",
            MoneyKind::Cancellation => "payment_cancel",
            MoneyKind::Refund => "refund",
        }
        .to_owned(),
        label: i18n::money_words(Lang::Fr, &facts),
        label_en: i18n::money_words(Lang::En, &facts),
        person: Some(person.0),
        first_name: String::new(),
        balance_cents: Some(balance),
        facts: None,
        meals_left: None,
        money: Some(facts),
    })
}
