//! The cash desk's pages (*régie*), for the régisseur and above: `/regie` (find the person,
//! take a payment, show and print its receipt; the day's payments, each cancellable with a
//! reason after a confirmation), a receipt alone or as PDF, the refund posted from a person's
//! page, and the régie's reports: the day's cash report (`/regie/caisse`), the month's
//! reconciliation (`/regie/mois`), each with its CSV and PDF, and the low balances
//! (`/regie/soldes-bas`).
//!
//! A form refused (an amount that is not one, a cheque without its number, a refund above the
//! balance) comes back with what was typed and why, at the refusal's status. Every object named
//! is the source's to check: a person that does not exist is a 404, a receipt of a régie held by
//! another node a 403.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth::Session;
use crate::i18n::{self, Lang, t};
use crate::money::{
    CashKind, CashView, DESK_MODES, FileFormat, MealGroupView, ModeTotalView, MoneyField,
    MonthView, NewPayment, NewRefund, ReceiptView, RegieInfo, ReportFile, mode_of, parse_amount,
};
use crate::pages::{REGISSEUR, Staff, message_page, page, person_page, refused_page};
use crate::{App, AppState, Caller, DateField, Problem, SourceError};

/// The payment form as it was typed, with why it was refused.
#[derive(Clone, Debug, Default)]
pub(crate) struct PaymentEcho {
    amount: String,
    mode: String,
    cheque_number: String,
    bank: String,
    payer: String,
    note: String,
    regie: String,
    error: String,
}

/// The refund form as it was typed, with why it was refused.
#[derive(Clone, Debug, Default)]
pub(crate) struct RefundEcho {
    amount: String,
    mode: String,
    cheque_number: String,
    bank: String,
    reason: String,
    error: String,
}

fn field(caller: &Caller, name: &str) -> String {
    caller.field(name).unwrap_or("").trim().to_owned()
}

fn person_of(caller: &Caller) -> Option<u32> {
    caller.field("person")?.trim().parse().ok()
}

/// The mode's select and a cheque's two fields (shown for a cheque only, by `regie.js`).
fn mode_fields(lang: Lang, mode: &str, number: &str, bank: &str) -> Markup {
    html! {
        label { (t(lang, "regie.mode"))
            select name="mode" {
                @for code in DESK_MODES {
                    option value=(code) selected[code == mode] { (i18n::mode(lang, code)) }
                }
            }
        }
        label data-cheque { (t(lang, "regie.cheque.number")) input name="cheque_number" value=(number) autocomplete="off"; }
        label data-cheque { (t(lang, "regie.cheque.bank")) input name="bank" value=(bank); }
    }
}

/// The refund form of a person's page: at most the balance, a reason, a mode.
pub(crate) fn refund_section(
    lang: Lang,
    csrf: &str,
    person: u32,
    balance_cents: i64,
    echo: Option<&RefundEcho>,
) -> Markup {
    let e = echo.cloned().unwrap_or_default();
    html! {
        section.refund #refund {
            h2 { (t(lang, "regie.refund.title")) }
            p.help { (t(lang, "regie.refund.help")) " " (t(lang, "person.balance")) " " b { (i18n::euros(lang, balance_cents)) } }
            @if !e.error.is_empty() { p.error role="alert" { (e.error) } }
            form.grid method="post" action="/regie/refund" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="person" value=(person);
                label { (t(lang, "regie.amount")) input name="amount" inputmode="decimal" value=(e.amount) required; }
                (mode_fields(lang, if e.mode.is_empty() { "virement" } else { &e.mode }, &e.cheque_number, &e.bank))
                label.wide { (t(lang, "regie.refund.reason")) input name="reason" value=(e.reason) required; }
                button.primary type="submit" { (t(lang, "regie.refund.submit")) }
            }
        }
        script src="/assets/regie.js" {}
    }
}

/// A receipt, as shown and printed.
fn receipt_panel(lang: Lang, r: &ReceiptView, here: bool) -> Markup {
    html! {
        section.receipt.card data-receipt=(r.receipt) {
            h2 { (t(lang, "regie.receipt.number")) " " span.mono { (r.receipt) } }
            @if let Some(c) = &r.cancelled {
                p.stamp {
                    b { (t(lang, "regie.receipt.cancelled")) } " · " (i18n::date_minute(lang, c.at)) " · " (c.by) " · " (c.reason)
                }
            }
            dl.facts {
                dt { (t(lang, "regie.receipt.school")) } dd { (r.school) }
                dt { (t(lang, "regie.regie")) } dd { (r.regie_name) " (" (r.regie) ")" }
                dt { (t(lang, "regie.receipt.date")) } dd { (i18n::date_minute(lang, r.at)) }
                dt { (t(lang, "regie.receipt.for")) } dd { (r.name) @if !r.class.is_empty() { " (" (r.class) ")" } }
                dt { (t(lang, "regie.receipt.amount")) } dd.big data-cents=(r.cents) { (i18n::euros(lang, r.cents)) }
                dt { (t(lang, "regie.receipt.words")) } dd.words { (i18n::amount_words(lang, r.cents)) }
                dt { (t(lang, "regie.receipt.mode")) } dd { (i18n::mode_line(lang, &r.mode)) }
                dt { (t(lang, "regie.receipt.payer")) } dd { (if r.payer.is_empty() { "—" } else { r.payer.as_str() }) }
                dt { (t(lang, "regie.receipt.object")) } dd { (t(lang, "regie.receipt.object.text")) }
                @if !r.note.is_empty() { dt { (t(lang, "regie.note")) } dd { (r.note) } }
                dt { (t(lang, "regie.receipt.by")) } dd { (r.by) }
            }
            p.actions {
                button type="button" data-print { (t(lang, "regie.print")) }
                " "
                a.button href=(format!("/regie/receipt/{}.pdf", r.receipt)) { (t(lang, "regie.pdf")) }
                @if here && r.cancelled.is_none() {
                    " "
                    a.button.danger href=(format!("/regie/cancel?receipt={}", r.receipt)) { (t(lang, "regie.cancel")) }
                }
            }
        }
    }
}

fn reports_links(lang: Lang) -> Markup {
    html! {
        p.links {
            a.button href="/regie/caisse" { (t(lang, "nav.cash")) } " "
            a.button href="/regie/mois" { (t(lang, "nav.month")) } " "
            a.button href="/regie/soldes-bas" { (t(lang, "nav.low")) }
        }
    }
}

/// The day's payments on `/regie`: each with its receipt, and a cancel link for this node's.
fn day_payments(lang: Lang, day: &CashView) -> Markup {
    let payments: Vec<_> = day
        .lines
        .iter()
        .filter(|l| l.kind == CashKind::Payment)
        .collect();
    html! {
        section.day {
            h2 { (t(lang, "regie.today")) }
            @if payments.is_empty() { p.empty { (t(lang, "regie.today.none")) } }
            @else {
                table.cash {
                    thead { tr {
                        th { (t(lang, "col.receipt")) } th { (t(lang, "col.time")) } th { (t(lang, "col.name")) }
                        th.num { (t(lang, "col.amount")) } th { (t(lang, "col.mode")) } th {}
                    } }
                    tbody {
                        @for l in payments {
                            tr class=(if l.cancelled { "struck" } else { "" }) {
                                td.mono { @if let Some(r) = &l.receipt { a href=(format!("/regie/receipt/{r}")) { (r) } } }
                                td.time { (l.time) }
                                td { a href=(format!("/person/{}", l.person)) { (l.name) } }
                                td.num { (i18n::euros(lang, l.cents)) }
                                td { (i18n::mode(lang, &l.mode)) }
                                td {
                                    @if l.cancelled { (t(lang, "regie.cancelled")) }
                                    @else if l.cancellable {
                                        @if let Some(r) = &l.receipt {
                                            a.button.danger href=(format!("/regie/cancel?receipt={r}")) { (t(lang, "regie.cancel")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DeskQuery {
    #[serde(default)]
    q: String,
    person: Option<String>,
    receipt: Option<String>,
    ok: Option<String>,
}

/// What `/regie` shows besides its lists.
#[derive(Default)]
struct Desk {
    q: String,
    person: Option<u32>,
    receipt: Option<String>,
    flash: Option<&'static str>,
    echo: Option<PaymentEcho>,
}

/// `GET /regie`: search, the payment form for a person, the receipt just taken, the day's
/// payments.
pub async fn desk(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
    Query(q): Query<DeskQuery>,
) -> Response {
    let person = match q.person.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match p.parse::<u32>() {
            Ok(id) => Some(id),
            Err(_) => {
                return message_page(&caller, StatusCode::NOT_FOUND, t(caller.lang, "notfound"));
            }
        },
    };
    let flash =
        q.ok.as_deref()
            .map(|k| t(caller.lang, k))
            .filter(|m| *m != "??");
    let desk = Desk {
        q: q.q,
        person,
        receipt: q.receipt.filter(|r| !r.trim().is_empty()),
        flash,
        echo: None,
    };
    render_desk(&app, &caller, &s, desk, StatusCode::OK).await
}

async fn render_desk(
    app: &App,
    caller: &Caller,
    s: &Session,
    desk: Desk,
    status: StatusCode,
) -> Response {
    let lang = caller.lang;
    let regies = app.src.regies();
    let here: Vec<&RegieInfo> = regies.iter().filter(|r| r.here).collect();
    let receipt = match &desk.receipt {
        Some(number) => match app.src.receipt(number).await {
            Ok(r) => Some(r),
            Err(e) => return refused_page(caller, &e),
        },
        None => None,
    };
    let person = match desk.person {
        Some(id) => match app.src.person(id).await {
            Some(p) => Some(p),
            None => return message_page(caller, StatusCode::NOT_FOUND, t(lang, "notfound")),
        },
        None => None,
    };
    let found = if person.is_none() && !desk.q.trim().is_empty() {
        app.src.search(&desk.q, 30)
    } else {
        Vec::new()
    };
    let day = app.src.payments_today().await;
    let e = desk.echo.clone().unwrap_or_default();
    let chosen_regie = if e.regie.is_empty() {
        here.first().map(|r| r.code.clone()).unwrap_or_default()
    } else {
        e.regie.clone()
    };
    let body = html! {
        main.narrow.regie {
            @if let Some(m) = desk.flash { p.flash.ok role="status" { (m) } }
            @if let Some(r) = &receipt { (receipt_panel(lang, r, regies.iter().any(|g| g.here && g.code == r.regie))) }
            h1 { (t(lang, "regie.title")) }
            (reports_links(lang))
            @if here.is_empty() {
                p.flash.ko { (t(lang, "regie.noregie")) }
            } @else if let Some(p) = &person {
                section.card.pay {
                    h2 { (t(lang, "regie.form.title")) }
                    p.for {
                        a href=(format!("/person/{}", p.row.id)) { b { (p.row.name) } } " " (p.row.class)
                        " · " (t(lang, "regie.balance.now")) " " b.balance { (i18n::euros(lang, p.balance_cents)) }
                        " · " a href="/regie" { (t(lang, "regie.other")) }
                    }
                    @if !e.error.is_empty() { p.error role="alert" { (e.error) } }
                    form.grid method="post" action="/regie/pay" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="person" value=(p.row.id);
                        label { (t(lang, "regie.amount")) input name="amount" inputmode="decimal" value=(e.amount) required autofocus; }
                        (mode_fields(lang, if e.mode.is_empty() { "especes" } else { &e.mode }, &e.cheque_number, &e.bank))
                        label { (t(lang, "regie.payer")) input name="payer" value=(e.payer); }
                        @if here.len() > 1 {
                            label { (t(lang, "regie.regie"))
                                select name="regie" {
                                    @for r in &here { option value=(r.code) selected[r.code == chosen_regie] { (r.name) " (" (r.code) ")" } }
                                }
                            }
                        } @else {
                            input type="hidden" name="regie" value=(chosen_regie);
                        }
                        label.wide { (t(lang, "regie.note")) input name="note" value=(e.note); }
                        button.primary type="submit" { (t(lang, "regie.submit")) }
                    }
                }
            } @else {
                section.card {
                    p.help { (t(lang, "regie.search.help")) }
                    form.search method="get" action="/regie" {
                        input type="search" name="q" value=(desk.q) placeholder=(t(lang, "search.placeholder")) aria-label=(t(lang, "nav.search")) autofocus;
                        button type="submit" { (t(lang, "nav.search")) }
                    }
                    @if found.is_empty() && !desk.q.trim().is_empty() { p.empty { (t(lang, "search.none")) } }
                    @if !found.is_empty() {
                        table.persons {
                            thead { tr { th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "col.status")) } th {} } }
                            tbody {
                                @for r in &found {
                                    tr {
                                        td { a href=(format!("/person/{}", r.id)) { (r.name) } }
                                        td { (if r.class.is_empty() { i18n::row_category(lang, r) } else { r.class.clone() }) }
                                        td.status { (i18n::row_status(lang, r)) }
                                        td { a.button.primary href=(format!("/regie?person={}", r.id)) data-pay=(r.id) { (t(lang, "regie.take")) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @match &day {
                Ok(d) => (day_payments(lang, d)),
                Err(err) => p.error { (i18n::problem(lang, err.problem())) },
            }
        }
        script src="/assets/regie.js" {}
    };
    (
        status,
        page(lang, t(lang, "regie.title"), Some(s), "/regie", body),
    )
        .into_response()
}

/// `POST /regie/pay`: the payment taken, then its receipt on `/regie`; refused, the form
/// again as typed with why.
pub async fn pay(State(app): AppState, Staff(caller, s): Staff<{ REGISSEUR }>) -> Response {
    let lang = caller.lang;
    let Some(person) = person_of(&caller) else {
        return message_page(&caller, StatusCode::BAD_REQUEST, t(lang, "error.person"));
    };
    let echo = PaymentEcho {
        amount: field(&caller, "amount"),
        mode: field(&caller, "mode"),
        cheque_number: field(&caller, "cheque_number"),
        bank: field(&caller, "bank"),
        payer: field(&caller, "payer"),
        note: field(&caller, "note"),
        regie: field(&caller, "regie"),
        error: String::new(),
    };
    let again = |problem: Problem, status: StatusCode| {
        let echo = PaymentEcho {
            error: i18n::problem(lang, &problem),
            ..echo.clone()
        };
        let desk = Desk {
            person: Some(person),
            echo: Some(echo),
            ..Desk::default()
        };
        (desk, status)
    };
    let cents = match parse_amount(&echo.amount) {
        Ok(c) => c,
        Err(error) => {
            let problem = Problem::AmountTyped {
                error,
                given: echo.amount.clone(),
            };
            let (desk, status) = again(problem, StatusCode::BAD_REQUEST);
            return render_desk(&app, &caller, &s, desk, status).await;
        }
    };
    let Some(mode) = mode_of(&echo.mode, &echo.cheque_number, &echo.bank) else {
        let problem = Problem::UnknownMode {
            given: echo.mode.clone(),
        };
        let (desk, status) = again(problem, StatusCode::BAD_REQUEST);
        return render_desk(&app, &caller, &s, desk, status).await;
    };
    let p = NewPayment {
        person,
        cents,
        mode,
        payer: echo.payer.clone(),
        note: echo.note.clone(),
        by: s.name.clone(),
        regie: Some(echo.regie.clone()).filter(|r| !r.is_empty()),
    };
    match app.src.take_payment(p).await {
        Ok(r) => {
            Redirect::to(&format!("/regie?receipt={}&ok=regie.done", r.receipt)).into_response()
        }
        Err(SourceError::NotFound(Problem::UnknownPerson)) => {
            message_page(&caller, StatusCode::NOT_FOUND, t(lang, "notfound"))
        }
        Err(e) => {
            let (desk, status) = again(e.problem().clone(), e.status());
            render_desk(&app, &caller, &s, desk, status).await
        }
    }
}

/// `GET /regie/receipt/{number}` (a page to print) and `…/{number}.pdf`.
pub async fn receipt(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
    Path(number): Path<String>,
) -> Response {
    let lang = caller.lang;
    if let Some(stem) = number.strip_suffix(".pdf") {
        return match app.src.receipt_pdf(stem).await {
            Ok(bytes) => file(
                FileFormat::Pdf,
                &format!("quittance-{}.pdf", safe_name(stem)),
                bytes,
                true,
            ),
            Err(e) => refused_page(&caller, &e),
        };
    }
    let r = match app.src.receipt(&number).await {
        Ok(r) => r,
        Err(e) => return refused_page(&caller, &e),
    };
    let here = app.src.regies().iter().any(|g| g.here && g.code == r.regie);
    let body = html! {
        main.narrow.regie {
            (receipt_panel(lang, &r, here))
            p.links { a.button href="/regie" { (t(lang, "back")) } }
        }
        script src="/assets/regie.js" {}
    };
    page(lang, t(lang, "regie.receipt"), Some(&s), "/regie", body).into_response()
}

#[derive(Deserialize, Default)]
pub struct CancelQuery {
    #[serde(default)]
    receipt: String,
}

/// `GET /regie/cancel?receipt=…`: the payment to cancel, and the reason asked for.
pub async fn cancel_page(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
    Query(q): Query<CancelQuery>,
) -> Response {
    cancel_form(&app, &caller, &s, &q.receipt, "", None).await
}

async fn cancel_form(
    app: &App,
    caller: &Caller,
    s: &Session,
    number: &str,
    reason: &str,
    error: Option<(String, StatusCode)>,
) -> Response {
    let lang = caller.lang;
    let r = match app.src.receipt(number.trim()).await {
        Ok(r) => r,
        Err(e) => return refused_page(caller, &e),
    };
    if r.cancelled.is_some() && error.is_none() {
        let e = SourceError::Refused(Problem::AlreadyCancelled {
            receipt: r.receipt.clone(),
        });
        return refused_page(caller, &e);
    }
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.1);
    let body = html! {
        main.narrow.regie {
            h1 { (t(lang, "regie.cancel.title")) }
            p.help { (t(lang, "regie.cancel.help")) }
            @if let Some((message, _)) = &error { p.error role="alert" { (message) } }
            (receipt_panel(lang, &r, false))
            @if r.cancelled.is_none() {
                form.grid method="post" action="/regie/cancel" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="receipt" value=(r.receipt);
                    label.wide { (t(lang, "regie.cancel.reason")) input name="reason" value=(reason) required autofocus; }
                    button.danger type="submit" { (t(lang, "regie.cancel.confirm")) }
                    a.button href="/regie" { (t(lang, "back")) }
                }
            }
        }
        script src="/assets/regie.js" {}
    };
    (
        status,
        page(lang, t(lang, "regie.cancel.title"), Some(s), "/regie", body),
    )
        .into_response()
}

/// `POST /regie/cancel`: the payment cancelled with its reason, then its receipt (struck).
pub async fn cancel(State(app): AppState, Staff(caller, s): Staff<{ REGISSEUR }>) -> Response {
    let lang = caller.lang;
    let number = field(&caller, "receipt");
    let reason = field(&caller, "reason");
    if reason.is_empty() {
        let problem = Problem::Missing {
            field: MoneyField::Reason,
        };
        let error = (i18n::problem(lang, &problem), StatusCode::BAD_REQUEST);
        return cancel_form(&app, &caller, &s, &number, &reason, Some(error)).await;
    }
    match app.src.cancel_payment(&number, &s.name, &reason).await {
        Ok(r) => Redirect::to(&format!(
            "/regie?receipt={}&ok=regie.cancel.done",
            r.receipt
        ))
        .into_response(),
        Err(
            e @ (SourceError::NotFound(_) | SourceError::Forbidden(_) | SourceError::Refused(_)),
        ) => refused_page(&caller, &e),
        Err(e) => {
            let error = (i18n::problem(lang, e.problem()), e.status());
            cancel_form(&app, &caller, &s, &number, &reason, Some(error)).await
        }
    }
}

/// `POST /regie/refund` (from a person's page): refunded, back to the page; refused, the
/// page with the form as typed and why.
pub async fn refund(State(app): AppState, Staff(caller, s): Staff<{ REGISSEUR }>) -> Response {
    let lang = caller.lang;
    let Some(person) = person_of(&caller) else {
        return message_page(&caller, StatusCode::BAD_REQUEST, t(lang, "error.person"));
    };
    let echo = RefundEcho {
        amount: field(&caller, "amount"),
        mode: field(&caller, "mode"),
        cheque_number: field(&caller, "cheque_number"),
        bank: field(&caller, "bank"),
        reason: field(&caller, "reason"),
        error: String::new(),
    };
    let refused = |problem: &Problem, status: StatusCode| {
        let echo = RefundEcho {
            error: i18n::problem(lang, problem),
            ..echo.clone()
        };
        Some((echo, status))
    };
    let checked = match (
        parse_amount(&echo.amount),
        mode_of(&echo.mode, &echo.cheque_number, &echo.bank),
    ) {
        (Err(error), _) => Err(Problem::AmountTyped {
            error,
            given: echo.amount.clone(),
        }),
        (_, None) => Err(Problem::UnknownMode {
            given: echo.mode.clone(),
        }),
        (Ok(_), Some(_)) if echo.reason.is_empty() => Err(Problem::Missing {
            field: MoneyField::Reason,
        }),
        (Ok(cents), Some(mode)) => Ok((cents, mode)),
    };
    let (cents, mode) = match checked {
        Ok(x) => x,
        Err(p) => {
            let again = refused(&p, StatusCode::BAD_REQUEST);
            return person_page(&app, &caller, &s, person, None, again).await;
        }
    };
    let r = NewRefund {
        person,
        cents,
        mode,
        reason: echo.reason.clone(),
        by: s.name.clone(),
    };
    match app.src.refund(r).await {
        Ok(()) => {
            Redirect::to(&format!("/person/{person}?ok=regie.refund.done#refund")).into_response()
        }
        Err(SourceError::NotFound(Problem::UnknownPerson)) => {
            message_page(&caller, StatusCode::NOT_FOUND, t(lang, "notfound"))
        }
        Err(e) => {
            let again = refused(e.problem(), e.status());
            person_page(&app, &caller, &s, person, None, again).await
        }
    }
}

/// A file to download (or, `inline`, to open in the browser).
fn file(format: FileFormat, name: &str, bytes: Vec<u8>, inline: bool) -> Response {
    let disposition = format!(
        "{}; filename=\"{name}\"",
        if inline { "inline" } else { "attachment" }
    );
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// Letters, digits and `-` only: what a file name may carry from a request.
fn safe_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect()
}

#[derive(Deserialize, Default)]
pub struct CashQuery {
    day: Option<String>,
    regie: Option<String>,
}

/// The day and the régie a cash report is asked for (today and every régie by default).
fn cash_params(app: &App, q: CashQuery) -> Result<(NaiveDate, Option<String>), SourceError> {
    let day = match q.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => app.src.today(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            SourceError::Invalid(Problem::NotADate {
                field: DateField::Day,
                given: d.to_owned(),
            })
        })?,
    };
    let regie = q
        .regie
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    Ok((day, regie))
}

/// `GET /regie/caisse?day=…&regie=…`: the day's cash report.
pub async fn cash(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
    Query(q): Query<CashQuery>,
) -> Response {
    let lang = caller.lang;
    let (day, regie) = match cash_params(&app, q) {
        Ok(x) => x,
        Err(e) => return refused_page(&caller, &e),
    };
    let v = match app.src.cash_report(day, regie.clone()).await {
        Ok(v) => v,
        Err(e) => return refused_page(&caller, &e),
    };
    let regies = app.src.regies();
    let query = match &regie {
        Some(r) => format!("day={day}&regie={r}"),
        None => format!("day={day}"),
    };
    let which = match &v.regie {
        Some(r) => regies
            .iter()
            .find(|g| &g.code == r)
            .map_or_else(|| r.clone(), |g| format!("{} ({})", g.name, g.code)),
        None => t(lang, "cash.all").to_owned(),
    };
    let body = html! {
        main.regie.wide {
            h1 { (t(lang, "cash.title")) " · " (i18n::date(lang, v.day)) " · " (which) }
            form.inline.filters method="get" action="/regie/caisse" {
                input type="date" name="day" value=(day.format("%Y-%m-%d")) aria-label=(t(lang, "col.day"));
                select name="regie" aria-label=(t(lang, "regie.regie")) {
                    option value="" { (t(lang, "cash.all")) }
                    @for g in &regies { option value=(g.code) selected[regie.as_deref() == Some(g.code.as_str())] { (g.name) " (" (g.code) ")" } }
                }
                button type="submit" { "OK" }
            }
            p.links {
                a.button href=(format!("/regie/caisse.csv?{query}")) { (t(lang, "download.csv")) } " "
                a.button href=(format!("/regie/caisse.pdf?{query}")) { (t(lang, "download.pdf")) } " "
                a.button href="/regie" { (t(lang, "nav.regie")) }
            }
            p { (i18n::cash_receipts(lang, v.payments_count, v.first_receipt.as_deref(), v.last_receipt.as_deref(), v.cancelled_count, v.refunds_count)) }
            @if !v.missing.is_empty() {
                p.error { (t(lang, "cash.missing")) " · " (v.missing.join(", ")) }
            }
            @if v.lines.is_empty() { p.empty { (t(lang, "cash.none")) } }
            @else {
                table.cash {
                    thead { tr {
                        th { (t(lang, "col.operation")) } th { (t(lang, "col.receipt")) } th { (t(lang, "col.time")) }
                        th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "col.payer")) }
                        th { (t(lang, "col.mode")) } th { (t(lang, "col.detail")) } th.num { (t(lang, "col.amount")) }
                        th { (t(lang, "col.by")) } th { (t(lang, "col.remarks")) }
                    } }
                    tbody {
                        @for l in &v.lines {
                            tr class=(if l.cancelled { "struck" } else { "" }) data-counted-cents=(l.counted_cents) {
                                td { (t(lang, match l.kind { CashKind::Payment => "cash.kind.payment", CashKind::Cancellation => "cash.kind.cancellation", CashKind::Refund => "cash.kind.refund" })) }
                                td.mono { @if let Some(r) = &l.receipt { (r) } }
                                td.time { (l.time) }
                                td { a href=(format!("/person/{}", l.person)) { (l.name) } }
                                td { (l.class) }
                                td { (l.payer) }
                                td { (i18n::mode(lang, &l.mode)) }
                                td { (l.mode_detail) }
                                td.num { (i18n::euros(lang, l.cents)) }
                                td { (l.by) }
                                td { (l.note) @if l.cancelled { " (" (t(lang, "regie.cancelled")) ")" } }
                            }
                        }
                    }
                }
            }
            h2 { (t(lang, "cash.modes")) }
            (modes_table(lang, &v.modes))
            dl.facts.total {
                dt { (t(lang, "cash.total")) }
                dd.big data-total-cents=(v.total_cents) { (i18n::euros(lang, v.total_cents)) }
            }
            p.help { (t(lang, "cash.struck")) }
        }
    };
    page(lang, t(lang, "cash.title"), Some(&s), "/regie", body).into_response()
}

fn modes_table(lang: Lang, modes: &[ModeTotalView]) -> Markup {
    let count: usize = modes.iter().map(|m| m.payments_count).sum();
    let sum = |f: fn(&ModeTotalView) -> i64| modes.iter().fold(0i64, |t, m| t.saturating_add(f(m)));
    html! {
        table.modes {
            thead { tr {
                th { (t(lang, "col.mode")) } th.num { (t(lang, "col.count")) } th.num { (t(lang, "col.payments")) }
                th.num { (t(lang, "col.cancellations")) } th.num { (t(lang, "col.refunds")) } th.num { (t(lang, "col.net")) }
            } }
            tbody {
                @for m in modes {
                    tr data-mode=(m.mode) {
                        td { (i18n::mode(lang, &m.mode)) }
                        td.num { (m.payments_count) }
                        td.num { (i18n::euros(lang, m.payments_cents)) }
                        td.num { (i18n::euros(lang, m.cancellations_cents.saturating_neg())) }
                        td.num { (i18n::euros(lang, m.refunds_cents.saturating_neg())) }
                        td.num { b { (i18n::euros(lang, m.net_cents)) } }
                    }
                }
                tr.total {
                    td { (t(lang, "col.net")) }
                    td.num { (count) }
                    td.num { (i18n::euros(lang, sum(|m| m.payments_cents))) }
                    td.num { (i18n::euros(lang, sum(|m| m.cancellations_cents).saturating_neg())) }
                    td.num { (i18n::euros(lang, sum(|m| m.refunds_cents).saturating_neg())) }
                    td.num { b { (i18n::euros(lang, sum(|m| m.net_cents))) } }
                }
            }
        }
    }
}

async fn cash_file(app: &App, caller: &Caller, q: CashQuery, format: FileFormat) -> Response {
    let (day, regie) = match cash_params(app, q) {
        Ok(x) => x,
        Err(e) => return refused_page(caller, &e),
    };
    let name = match &regie {
        Some(r) => format!(
            "journal-de-caisse-{day}-{}.{}",
            safe_name(r),
            format.extension()
        ),
        None => format!("journal-de-caisse-{day}.{}", format.extension()),
    };
    match app
        .src
        .report_file(ReportFile::Cash { day, regie, format })
        .await
    {
        Ok(bytes) => file(format, &name, bytes, false),
        Err(e) => refused_page(caller, &e),
    }
}

pub async fn cash_csv(
    State(app): AppState,
    Staff(caller, _): Staff<{ REGISSEUR }>,
    Query(q): Query<CashQuery>,
) -> Response {
    cash_file(&app, &caller, q, FileFormat::Csv).await
}

pub async fn cash_pdf(
    State(app): AppState,
    Staff(caller, _): Staff<{ REGISSEUR }>,
    Query(q): Query<CashQuery>,
) -> Response {
    cash_file(&app, &caller, q, FileFormat::Pdf).await
}

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The month asked for, `YYYY-MM` (this month by default).
fn month_param(app: &App, q: MonthQuery) -> Result<(i32, u32), SourceError> {
    let Some(m) = q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) else {
        let today = app.src.today();
        return Ok((today.year(), today.month()));
    };
    let bad = || {
        SourceError::Invalid(Problem::NotAMonth {
            given: m.to_owned(),
        })
    };
    let (y, mo) = m.split_once('-').ok_or_else(bad)?;
    let (y, mo) = (
        y.parse::<i32>().map_err(|_| bad())?,
        mo.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&mo) || !(1970..=9999).contains(&y) {
        return Err(bad());
    }
    Ok((y, mo))
}

/// `GET /regie/mois?month=YYYY-MM`: the month's reconciliation.
pub async fn month(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let lang = caller.lang;
    let (year, month) = match month_param(&app, q) {
        Ok(x) => x,
        Err(e) => return refused_page(&caller, &e),
    };
    let v = match app.src.month_report(year, month).await {
        Ok(v) => v,
        Err(e) => return refused_page(&caller, &e),
    };
    let query = format!("month={year:04}-{month:02}");
    let body = html! {
        main.regie.wide {
            h1 { (t(lang, "month.title")) " · " (i18n::month(lang, v.year, v.month)) }
            form.inline.filters method="get" action="/regie/mois" {
                input type="month" name="month" value=(format!("{year:04}-{month:02}")) aria-label=(t(lang, "month.month"));
                button type="submit" { "OK" }
            }
            p.links {
                a.button href=(format!("/regie/mois.csv?{query}")) { (t(lang, "download.csv")) } " "
                a.button href=(format!("/regie/mois.pdf?{query}")) { (t(lang, "download.pdf")) } " "
                a.button href="/regie" { (t(lang, "nav.regie")) }
            }
            p { (i18n::count_line(lang, "month.persons", v.persons as u64)) }
            (identity(lang, &v))
            dl.facts {
                dt { (t(lang, "month.debt")) } dd data-debt-cents=(v.debt_cents) { (i18n::euros(lang, v.debt_cents)) }
                dt { (t(lang, "month.credit")) } dd { (i18n::euros(lang, v.credit_cents)) }
            }
            h2 { (t(lang, "month.debtors")) }
            @if v.debtors.is_empty() { p.empty { (t(lang, "month.nodebtors")) } }
            @else {
                table {
                    thead { tr { th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th.num { (t(lang, "col.balance")) } } }
                    tbody {
                        @for d in &v.debtors {
                            tr { td { a href=(format!("/person/{}", d.person)) { (d.name) } } td { (d.class) } td.num { (i18n::euros(lang, d.closing_cents)) } }
                        }
                    }
                }
            }
            div.groups {
                section { h2 { (t(lang, "month.bycategory")) } (groups_table(lang, &v.by_category)) }
                section { h2 { (t(lang, "month.bytier")) } (groups_table(lang, &v.by_tier)) }
                section { h2 { (t(lang, "month.byregime")) } (groups_table(lang, &v.by_regime)) }
            }
            h2 { (t(lang, "month.modes")) }
            (modes_table(lang, &v.modes))
        }
    };
    page(lang, t(lang, "month.title"), Some(&s), "/regie", body).into_response()
}

/// Opening + payments − meals ± corrections … = closing, with counts.
fn identity(lang: Lang, v: &MonthView) -> Markup {
    let m = &v.totals;
    let rows: [(&str, Option<usize>, i64, &str); 8] = [
        ("month.opening", None, m.opening_cents, "opening"),
        (
            "month.payments",
            Some(m.payments_count),
            m.payments_cents,
            "payments",
        ),
        (
            "month.meals",
            Some(m.meals_count),
            m.meals_cents.saturating_neg(),
            "meals",
        ),
        (
            "month.corrections",
            Some(m.corrections_count),
            m.corrections_cents,
            "corrections",
        ),
        (
            "month.cancellations",
            Some(m.cancellations_count),
            m.cancellations_cents.saturating_neg(),
            "cancellations",
        ),
        (
            "month.refunds",
            Some(m.refunds_count),
            m.refunds_cents.saturating_neg(),
            "refunds",
        ),
        (
            "month.credits",
            Some(m.credits_count),
            m.credits_cents,
            "credits",
        ),
        ("month.closing", None, m.closing_cents, "closing"),
    ];
    html! {
        table.identity {
            thead { tr { th {} th.num { (t(lang, "col.count")) } th.num { (t(lang, "col.amount")) } } }
            tbody {
                @for (key, count, cents, code) in rows {
                    tr class=(if code == "closing" { "total" } else { "" }) data-line=(code) data-cents=(cents) {
                        td { (t(lang, key)) }
                        td.num { @if let Some(n) = count { (n) } }
                        td.num { (i18n::euros(lang, cents)) }
                    }
                }
            }
        }
    }
}

fn groups_table(lang: Lang, groups: &[MealGroupView]) -> Markup {
    html! {
        table.groups {
            thead { tr {
                th { (t(lang, "col.group")) } th.num { (t(lang, "col.meals.charged")) } th.num { (t(lang, "col.amount")) }
                th.num { (t(lang, "col.meals.free")) } th.num { (t(lang, "col.corrections")) }
            } }
            tbody {
                @for g in groups {
                    tr {
                        td { (i18n::group_name(lang, &g.name)) }
                        td.num { (g.meals) }
                        td.num { (i18n::euros(lang, g.cents)) }
                        td.num { (g.free_meals) }
                        td.num { (g.corrections) " · " (i18n::euros(lang, g.corrections_cents)) }
                    }
                }
            }
        }
    }
}

async fn month_file(app: &App, caller: &Caller, q: MonthQuery, format: FileFormat) -> Response {
    let (year, month) = match month_param(app, q) {
        Ok(x) => x,
        Err(e) => return refused_page(caller, &e),
    };
    let name = format!("rapprochement-{year:04}-{month:02}.{}", format.extension());
    match app
        .src
        .report_file(ReportFile::Month {
            year,
            month,
            format,
        })
        .await
    {
        Ok(bytes) => file(format, &name, bytes, false),
        Err(e) => refused_page(caller, &e),
    }
}

pub async fn month_csv(
    State(app): AppState,
    Staff(caller, _): Staff<{ REGISSEUR }>,
    Query(q): Query<MonthQuery>,
) -> Response {
    month_file(&app, &caller, q, FileFormat::Csv).await
}

pub async fn month_pdf(
    State(app): AppState,
    Staff(caller, _): Staff<{ REGISSEUR }>,
    Query(q): Query<MonthQuery>,
) -> Response {
    month_file(&app, &caller, q, FileFormat::Pdf).await
}

/// `GET /regie/soldes-bas`: the persons whose ticket balance is worth few meals, lowest first,
/// each with a link to take their payment.
pub async fn low_balances(
    State(app): AppState,
    Staff(caller, s): Staff<{ REGISSEUR }>,
) -> Response {
    let lang = caller.lang;
    let low = match app.src.low_balances().await {
        Ok(l) => l,
        Err(e) => return refused_page(&caller, &e),
    };
    let body = html! {
        main.narrow.regie {
            h1 { (t(lang, "low.title")) " · " (low.rows.len()) }
            p.help { (i18n::count_line(lang, "low.help", u64::from(low.threshold))) }
            @if low.rows.is_empty() { p.empty { (t(lang, "low.none")) } }
            @else {
                table.low {
                    thead { tr {
                        th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th.num { (t(lang, "col.balance")) }
                        th.num { (t(lang, "col.price")) } th.num { (t(lang, "col.meals")) } th {}
                    } }
                    tbody {
                        @for r in &low.rows {
                            tr class=(if r.balance_cents < 0 { "debt" } else { "" }) data-person=(r.person) {
                                td { a href=(format!("/person/{}", r.person)) { (r.name) } }
                                td { (r.class) @if let Some(tier) = &r.tier { " · " (tier) } }
                                td.num { (i18n::euros(lang, r.balance_cents)) }
                                td.num { (i18n::euros(lang, r.price_cents)) }
                                td.num { (r.meals_left) }
                                td { a.button.primary href=(format!("/regie?person={}", r.person)) { (t(lang, "regie.take")) } }
                            }
                        }
                    }
                }
            }
            (reports_links(lang))
        }
    };
    page(lang, t(lang, "low.title"), Some(&s), "/regie", body).into_response()
}
