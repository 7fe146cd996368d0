//! The staff's pages: login, the live service screen, search and admission by hand, a person's
//! page (with the régie's refund for a régisseur), the management actions (badges,
//! oppositions), the day's report, the exchanges and the accounts. Each handler checks the
//! caller's role first. The cash desk's own pages are in `regie.rs`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use selfgate_rules::journal::Reason;
use selfgate_rules::model::OppositionReason;
use serde::Deserialize;

use crate::accounts::{Role, verify_password};
use crate::auth::{self, Session};
use crate::i18n::{self, Lang, t};
use crate::{AppState, Caller, NewOpposition, PersonRow, SourceError, Summary, SyncRole};

/// How long `POST /badge/enrol` waits for the badge.
const ENROL_WAIT: Duration = Duration::from_secs(30);

/// The roles as `Staff`'s parameter (`Role::ALL`'s order).
pub(crate) const SURVEILLANT: u8 = 0;
pub(crate) const REGISSEUR: u8 = 1;
pub(crate) const GESTIONNAIRE: u8 = 2;
pub(crate) const ADMINISTRATEUR: u8 = 3;

/// A caller whose role is at least `Role::ALL[MIN]`, with their session. Handlers take it as an
/// argument, so that none of them runs for a caller without a session (401, or to the login page)
/// or below the role (403).
pub(crate) struct Staff<const MIN: u8>(pub Caller, pub Session);

impl<const MIN: u8, S: Send + Sync> FromRequestParts<S> for Staff<MIN> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let Some(caller) = parts.extensions.get::<Caller>().cloned() else {
            // The guard puts the caller on every request; without it, refuse.
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        // An unknown rank asks for the highest role: closed, never open.
        let role = Role::ALL
            .get(usize::from(MIN))
            .copied()
            .unwrap_or(Role::Administrateur);
        match &caller.session {
            None => Err(crate::unauthenticated(
                caller.lang,
                &parts.headers,
                parts.uri.path(),
            )),
            Some((_, s)) if s.role >= role => {
                let s = s.clone();
                Ok(Staff(caller, s))
            }
            Some(_) => Err(message_page(
                &caller,
                StatusCode::FORBIDDEN,
                t(caller.lang, "forbidden"),
            )),
        }
    }
}

/// The page saying why the source refused, in the caller's language.
pub(crate) fn refused_page(caller: &Caller, e: &SourceError) -> Response {
    message_page(caller, e.status(), &i18n::problem(caller.lang, e.problem()))
}

pub(crate) fn message_page(caller: &Caller, code: StatusCode, text: &str) -> Response {
    let lang = caller.lang;
    let body = html! {
        main.narrow {
            p.error { (text) }
            p { a.button href="/" { (t(lang, "back")) } }
        }
    };
    (code, page(lang, t(lang, "app"), None, "", body)).into_response()
}

/// The page frame: header with navigation for a logged-in member of staff.
pub(crate) fn page(
    lang: Lang,
    title: &str,
    session: Option<&Session>,
    active: &str,
    body: Markup,
) -> Markup {
    let nav: &[(&str, &str, Role)] = &[
        ("/", "nav.service", Role::Surveillant),
        ("/not-served", "nav.notserved", Role::Surveillant),
        ("/regie", "nav.regie", Role::Regisseur),
        ("/manage", "nav.manage", Role::Gestionnaire),
        ("/report", "nav.report", Role::Gestionnaire),
        ("/facturation", "nav.billing", Role::Gestionnaire),
        ("/exchanges", "nav.exchanges", Role::Gestionnaire),
        ("/accounts", "nav.accounts", Role::Administrateur),
    ];
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — selfgate" }
                link rel="stylesheet" href="/assets/kiosk.css";
            }
            body {
                @if let Some(s) = session {
                    header.top {
                        a.brand href="/" { "selfgate" }
                        nav {
                            @for (href, key, role) in nav {
                                @if s.role >= *role {
                                    a href=(href) class=(if *href == active { "active" } else { "" }) { (t(lang, key)) }
                                }
                            }
                        }
                        div.who {
                            span.user { (s.name) " · " (i18n::role(lang, s.role)) }
                            a.lang href=(if lang == Lang::Fr { "?lang=en" } else { "?lang=fr" }) {
                                (if lang == Lang::Fr { "EN" } else { "FR" })
                            }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button.link type="submit" { (t(lang, "logout")) }
                            }
                        }
                    }
                }
                (body)
            }
        }
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after logging in: a staff page of the route table (its path, and a query of
/// plain characters), else `/`. Anything else could send the browser off site
/// (`/\t/evil.example` is read as `//evil.example`).
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".to_owned();
    };
    let (path, query) = n.split_once('?').map_or((n, None), |(p, q)| (p, Some(q)));
    let page = crate::ROUTES.iter().any(|(method, route, access)| {
        if *method != "GET" || !matches!(access, crate::Access::Staff(_)) {
            return false;
        }
        let route = route.split('?').next().unwrap_or(route);
        // A route with a number at its end (`/person/1`) stands for any number there.
        match route.rsplit_once('/') {
            Some((base, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => path
                .strip_prefix(base)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
            _ => path == route,
        }
    });
    let plain = |q: &str| {
        q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%=&+".contains(&b))
    };
    if page && query.is_none_or(plain) {
        n.to_owned()
    } else {
        "/".to_owned()
    }
}

fn login_form(lang: Lang, token: &str, next: &str, error: Option<&str>) -> Markup {
    let body = html! {
        main.login {
            h1 { "selfgate" }
            h2 { (t(lang, "login.title")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label { (t(lang, "login.name")) input name="name" autocomplete="username" required autofocus; }
                label { (t(lang, "login.password")) input name="password" type="password" autocomplete="current-password" required; }
                button.primary type="submit" { (t(lang, "login.submit")) }
            }
            p.lang { a href="?lang=fr" { "Français" } " · " a href="?lang=en" { "English" } }
        }
    };
    page(lang, t(lang, "login.title"), None, "", body)
}

pub async fn login_page(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let token = auth::cookie(&headers, auth::LOGIN_COOKIE)
        .filter(|t| t.len() == 64)
        .unwrap_or_else(auth::random_token);
    let next = safe_next(q.next.as_deref());
    let cookie = auth::set_cookie(auth::LOGIN_COOKIE, &token, app.opts.tls, None);
    (
        [(header::SET_COOKIE, cookie)],
        login_form(caller.lang, &token, &next, None),
    )
        .into_response()
}

pub async fn login(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let lang = caller.lang;
    let name = caller.field("name").unwrap_or("").trim().to_owned();
    let password = caller.field("password").unwrap_or("");
    let next = safe_next(caller.field("next"));
    let token = auth::cookie(&headers, auth::LOGIN_COOKIE).unwrap_or_default();
    if !app.limiter.allowed(caller.ip, &name) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            login_form(lang, &token, &next, Some(t(lang, "login.limited"))),
        )
            .into_response();
    }
    // The file is read again when it changed: accounts added by `selfgate account` count now.
    let account = app.accounts.get(&name);
    let ok = match &account {
        Some(a) => verify_password(password, &a.hash),
        None => {
            // Same work whether the account exists or not.
            let _ = verify_password(password, dummy_hash());
            false
        }
    };
    match account {
        Some(a) if ok => {
            app.limiter.succeeded(&name);
            let (id, _) = app.sessions.create(&a.name, a.role, &a.hash);
            let cookie = auth::set_cookie(auth::SESSION_COOKIE, &id, app.opts.tls, None);
            (
                StatusCode::SEE_OTHER,
                [(header::SET_COOKIE, cookie), (header::LOCATION, next)],
            )
                .into_response()
        }
        _ => {
            app.limiter.failed(caller.ip, &name);
            (
                StatusCode::UNAUTHORIZED,
                login_form(lang, &token, &next, Some(t(lang, "login.failed"))),
            )
                .into_response()
        }
    }
}

/// The hash of a random password, so that unknown names cost as much as known ones.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::accounts::hash_password(&auth::random_token()).unwrap_or_default())
}

pub async fn logout(State(app): AppState, Staff(caller, _): Staff<{ SURVEILLANT }>) -> Response {
    if let Some((id, _)) = &caller.session {
        app.sessions.remove(id);
    }
    let cookie = auth::set_cookie(auth::SESSION_COOKIE, "", app.opts.tls, Some(0));
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/login".to_owned()),
        ],
    )
        .into_response()
}

fn counts(lang: Lang, s: &Summary) -> Markup {
    html! {
        section.counts {
            div.card {
                span.label { (t(lang, "count.expected")) }
                span.big data-count="expected" { (s.expected) }
                span.help { (t(lang, "count.expected.help")) }
            }
            div.card.ok {
                span.label { (t(lang, "count.served")) }
                span.big data-count="served" { (s.served) }
            }
            div.card.ko {
                span.label { (t(lang, "count.denied")) }
                span.big data-count="denied" { (s.denied_total()) }
            }
            div.card.todo {
                span.label { (t(lang, "count.tocome")) }
                span.big data-count="to_come" { (s.to_come) }
            }
        }
    }
}

fn alerts(lang: Lang, s: &Summary) -> Markup {
    html! {
        section #alerts .alerts aria-live="assertive" {
            @for a in &s.alerts {
                p class=(format!("alert alert-{}", a.kind)) { (a.text) }
            }
        }
        @let _ = lang;
    }
}

fn feed_row(lang: Lang, item: &crate::FeedItem) -> Markup {
    let (class, tag) = match (&item.money, item.pass) {
        (Some(_), _) => ("money", t(lang, "verdict.money")),
        (None, true) => ("pass", t(lang, "verdict.pass")),
        (None, false) => ("deny", t(lang, "verdict.deny")),
    };
    html! {
        tr class=(class) {
            td.time { (item.time) }
            td.name {
                @if let Some(id) = item.person { a href=(format!("/person/{id}")) { (item.name) } }
                @else { (item.name) }
            }
            td { (item.class) }
            td.verdict { span.tag { (tag) } }
            td.reason { (i18n::passage_label(lang, item)) }
        }
    }
}

fn admit_form(lang: Lang, csrf: &str, id: u32, compact: bool) -> Markup {
    html! {
        form.admit method="post" action="/admit" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="person" value=(id);
            @if compact {
                input type="hidden" name="note" value=(t(lang, "admit.forgotten"));
            } @else {
                label { (t(lang, "admit.reason")) " " input name="note" value=(t(lang, "admit.forgotten")) required; }
            }
            button.primary type="submit" data-admit=(id) { (t(lang, "admit")) }
        }
    }
}

/// A second meal for someone served already: an explicit choice, with its reason.
fn second_meal_form(lang: Lang, csrf: &str, id: u32) -> Markup {
    html! {
        form.admit method="post" action="/admit" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="person" value=(id);
            input type="hidden" name="second" value="1";
            label { (t(lang, "admit.reason")) " " input name="note" required; }
            button type="submit" { (t(lang, "admit.second")) }
        }
    }
}

pub async fn index(
    State(app): AppState,
    Staff(caller, s): Staff<{ SURVEILLANT }>,
    uri: Uri,
) -> Response {
    let lang = caller.lang;
    let mut sum = app.src.summary();
    i18n::localise_summary(lang, &mut sum);
    let feed = app.src.recent(40);
    let done = uri.query().is_some_and(|q| q.contains("admitted=1"));
    let body = html! {
        main.staff data-lang=(lang.code()) {
            div.service-bar {
                h1 { (sum.school) }
                div.service-name data-summary="service" data-none=(t(lang, "noservice")) { (sum.service.as_deref().unwrap_or(t(lang, "noservice"))) }
                div.clock {
                    span data-summary="now" { (sum.now) }
                    span #live .live.off data-on=(t(lang, "feed.live")) data-off=(t(lang, "feed.offline")) { (t(lang, "feed.offline")) }
                }
            }
            @if done { p.flash.ok role="status" { (t(lang, "admit.done")) } }
            (alerts(lang, &sum))
            (counts(lang, &sum))
            div.columns {
                section.feed {
                    h2 { (t(lang, "feed.title")) }
                    table {
                        thead { tr { th { (t(lang, "col.time")) } th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "col.verdict")) } th { (t(lang, "col.reason")) } } }
                        tbody #feed data-pass=(t(lang, "verdict.pass")) data-deny=(t(lang, "verdict.deny")) data-money=(t(lang, "verdict.money")) {
                            @for item in &feed { (feed_row(lang, item)) }
                        }
                    }
                    @if feed.is_empty() { p.empty #feed-empty { (t(lang, "feed.empty")) } }
                }
                aside.side {
                    form.search method="get" action="/search" {
                        input type="search" name="q" placeholder=(t(lang, "search.placeholder")) aria-label=(t(lang, "nav.search"));
                        button type="submit" { (t(lang, "nav.search")) }
                    }
                    section.denied {
                        h2 { (t(lang, "denied.title")) }
                        ul #denied {
                            @for (_, label, n) in &sum.denied { li { span { (label) } b { (n) } } }
                        }
                    }
                    p { a.button href="/not-served" { (t(lang, "nav.notserved")) " (" span data-count="to_come" { (sum.to_come) } ")" } }
                }
            }
        }
        script src="/assets/kiosk.js" {}
    };
    let _ = &s;
    page(lang, t(lang, "nav.service"), Some(&s), "/", body).into_response()
}

/// `GET /events`: the live feed as server-sent events (`passage`, with the counts after it).
pub async fn events(State(app): AppState, Staff(caller, _): Staff<{ SURVEILLANT }>) -> Response {
    let ended = crate::session_ended(app.clone(), caller.session.clone());
    let rx = app.src.live();
    let lang = caller.lang;
    let stream = futures_util::stream::unfold(rx, move |mut rx| async move {
        let ev = match rx.recv().await {
            Ok(live) => Event::default()
                .event("passage")
                .json_data(i18n::localise(lang, live))
                .unwrap_or_else(|_| Event::default().event("resync").data("{}")),
            // Fell behind: tell the page to reload rather than show a feed with holes.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(ev), rx))
    });
    let stream = futures_util::StreamExt::take_until(stream, app.opts.stopped());
    // Names stop with the session: logout, the account removed or its password changed.
    let stream = futures_util::StreamExt::take_until(stream, ended);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

pub async fn api_summary(
    State(app): AppState,
    Staff(caller, _): Staff<{ SURVEILLANT }>,
) -> Response {
    let mut s = app.src.summary();
    i18n::localise_summary(caller.lang, &mut s);
    Json(s).into_response()
}

pub async fn api_feed(State(app): AppState, Staff(caller, _): Staff<{ SURVEILLANT }>) -> Response {
    let mut feed = app.src.recent(50);
    for item in &mut feed {
        i18n::localise_item(caller.lang, item);
    }
    Json(feed).into_response()
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn person_table(lang: Lang, csrf: &str, rows: &[PersonRow], admit: bool) -> Markup {
    html! {
        table.persons {
            thead { tr { th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "col.status")) } @if admit { th {} } } }
            tbody {
                @for r in rows {
                    tr class=(if r.served { "served" } else { "" }) {
                        td { a href=(format!("/person/{}", r.id)) { (r.name) } }
                        td { (if r.class.is_empty() { i18n::row_category(lang, r) } else { r.class.clone() }) }
                        td.status { (i18n::row_status(lang, r)) }
                        @if admit { td { @if !r.served { (admit_form(lang, csrf, r.id, true)) } } }
                    }
                }
            }
        }
    }
}

pub async fn search(
    State(app): AppState,
    Staff(caller, s): Staff<{ SURVEILLANT }>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let lang = caller.lang;
    let rows = if q.q.trim().is_empty() {
        Vec::new()
    } else {
        app.src.search(&q.q, 50)
    };
    let body = html! {
        main.narrow {
            form.search method="get" action="/search" {
                input type="search" name="q" value=(q.q) placeholder=(t(lang, "search.placeholder")) autofocus;
                button type="submit" { (t(lang, "nav.search")) }
            }
            @if rows.is_empty() && !q.q.trim().is_empty() { p.empty { (t(lang, "search.none")) } }
            @if !rows.is_empty() { (person_table(lang, &s.csrf, &rows, true)) }
        }
    };
    page(lang, t(lang, "nav.search"), Some(&s), "", body).into_response()
}

pub async fn not_served(
    State(app): AppState,
    Staff(caller, s): Staff<{ SURVEILLANT }>,
) -> Response {
    let lang = caller.lang;
    let rows = app.src.not_served();
    let sum = app.src.summary();
    let body = html! {
        main.narrow {
            h1 { (t(lang, "nav.notserved")) " · " (sum.service.as_deref().unwrap_or(t(lang, "noservice"))) " · " (rows.len()) }
            (person_table(lang, &s.csrf, &rows, true))
        }
    };
    page(
        lang,
        t(lang, "nav.notserved"),
        Some(&s),
        "/not-served",
        body,
    )
    .into_response()
}

fn person_id(caller: &Caller) -> Option<u32> {
    caller.field("person")?.trim().parse().ok()
}

pub async fn admit(State(app): AppState, Staff(caller, s): Staff<{ SURVEILLANT }>) -> Response {
    let Some(person) = person_id(&caller) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.person"),
        );
    };
    let note = caller.field("note").unwrap_or("").trim();
    let note = if note.is_empty() {
        t(caller.lang, "admit.forgotten")
    } else {
        note
    };
    let second_meal = caller.field("second") == Some("1");
    match app.src.admit(person, &s.name, note, second_meal).await {
        Ok(()) => Redirect::to("/?admitted=1").into_response(),
        Err(e) => refused_page(&caller, &e),
    }
}

pub async fn person(
    State(app): AppState,
    Staff(caller, s): Staff<{ SURVEILLANT }>,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let flash = uri
        .query()
        .and_then(|q| q.strip_prefix("ok="))
        .map(|k| t(caller.lang, k))
        .filter(|m| *m != "??");
    match id.parse::<u32>() {
        Ok(id) => person_page(&app, &caller, &s, id, flash, None).await,
        Err(_) => message_page(&caller, StatusCode::NOT_FOUND, t(caller.lang, "notfound")),
    }
}

/// A person's page: the flash of an action done, or the refund form as typed with why it was
/// refused (`refund`), at that refusal's status.
pub(crate) async fn person_page(
    app: &crate::App,
    caller: &Caller,
    s: &Session,
    id: u32,
    flash: Option<&str>,
    refund: Option<(crate::regie::RefundEcho, StatusCode)>,
) -> Response {
    let lang = caller.lang;
    let Some(p) = app.src.person(id).await else {
        return message_page(caller, StatusCode::NOT_FOUND, t(lang, "notfound"));
    };
    let manager = s.role >= Role::Gestionnaire;
    let cashier = s.role >= Role::Regisseur;
    let status = refund.as_ref().map_or(StatusCode::OK, |r| r.1);
    let refund = refund.map(|r| r.0);
    let readers = app.src.readers();
    let tiers = app.src.tiers();
    let services = app.src.services();
    let today = app.src.today().format("%Y-%m-%d").to_string();
    let body = html! {
        main.narrow.person {
            @if let Some(m) = flash { p.flash.ok role="status" { (m) } }
            h1 { (p.row.name) " " small { (p.row.class) } }
            p.status-line { span.status { (i18n::row_status(lang, &p.row)) } }
            @if p.row.served { (second_meal_form(lang, &s.csrf, p.row.id)) }
            @else { (admit_form(lang, &s.csrf, p.row.id, false)) }
            dl.facts {
                dt { (t(lang, "person.id")) } dd { (p.external_id) }
                dt { (t(lang, "person.regime")) } dd { (i18n::person_regime(lang, &p)) " · " (i18n::row_category(lang, &p.row)) }
                @if cashier { dt { (t(lang, "person.balance")) } dd.balance { (i18n::euros(lang, p.balance_cents)) } }
            }
            @if cashier {
                p { a.button href=(format!("/regie?person={}", p.row.id)) { (t(lang, "regie.pay.link")) } }
            }
            @if manager && !tiers.is_empty() {
                section {
                    h2 { (t(lang, "person.tier")) }
                    form.inline method="post" action="/person/tier" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="person" value=(p.row.id);
                        select name="tier" aria-label=(t(lang, "person.tier")) {
                            option value="" selected[p.tier.is_none()] { (t(lang, "tier.none")) }
                            @for (code, label) in &tiers {
                                option value=(code) selected[p.tier.as_deref() == Some(code.as_str())] {
                                    (code) " — " (label)
                                }
                            }
                        }
                        button type="submit" { (t(lang, "tier.set")) }
                    }
                }
            }
            @if manager {
                section {
                    h2 { (t(lang, "person.badges")) }
                    table {
                        @for b in &p.badges {
                            tr {
                                td.mono { (b.number) }
                                td { (t(lang, &format!("badge.status.{}", b.status))) }
                                td {
                                    @if b.status == "active" {
                                        form.inline method="post" action="/badge/lost" {
                                            input type="hidden" name="csrf" value=(s.csrf);
                                            input type="hidden" name="person" value=(p.row.id);
                                            input type="hidden" name="badge" value=(b.number);
                                            button.danger type="submit" { (t(lang, "badge.lost")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.enrol method="post" action="/badge/enrol" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="person" value=(p.row.id);
                        label { (t(lang, "badge.enrol.reader")) " "
                            select name="reader" {
                                option value="" { (t(lang, "badge.enrol.any")) }
                                @for r in &readers { option value=(r) { (r) } }
                            }
                        }
                        button.primary type="submit" { (t(lang, "badge.enrol")) }
                        p.help { (t(lang, "badge.enrol.help")) }
                    }
                }
                section {
                    h2 { (t(lang, "person.oppositions")) }
                    table {
                        @for o in &p.oppositions {
                            tr class=(if o.lifted { "lifted" } else { "" }) {
                                td { (o.reason_code.map_or_else(|| o.reason.clone(), |r| i18n::opposition_reason(lang, r).to_owned())) }
                                td { (if o.every_service { t(lang, "opp.every") } else { o.service.as_str() }) }
                                td {
                                    (o.from_day.map_or_else(|| o.from.clone(), |d| i18n::date(lang, d)))
                                    " → "
                                    (match (o.to_day, o.from_day) {
                                        (Some(d), _) => i18n::date(lang, d),
                                        (None, Some(_)) => t(lang, "opp.open").to_owned(),
                                        (None, None) => o.to.clone(),
                                    })
                                }
                                td { (o.note) }
                                td {
                                    @if o.lifted { (t(lang, "opp.lifted")) } @else {
                                        form.inline method="post" action="/opposition/lift" {
                                            input type="hidden" name="csrf" value=(s.csrf);
                                            input type="hidden" name="person" value=(p.row.id);
                                            input type="hidden" name="id" value=(o.id);
                                            button type="submit" { (t(lang, "opp.lift")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.grid method="post" action="/opposition/add" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="person" value=(p.row.id);
                        label { (t(lang, "opp.reason"))
                            select name="reason" {
                                @for r in [OppositionReason::Manuelle, OppositionReason::Impaye, OppositionReason::Exclusion, OppositionReason::Stage, OppositionReason::Voyage, OppositionReason::AbsentPronote] {
                                    option value=(r.code()) { (i18n::opposition_reason(lang, r)) }
                                }
                            }
                        }
                        label { (t(lang, "opp.service"))
                            select name="service" {
                                option value="" { (t(lang, "opp.all")) }
                                @for (code, label) in &services { option value=(code) { (label) } }
                            }
                        }
                        label { (t(lang, "opp.from")) input type="date" name="from" value=(today) required; }
                        label { (t(lang, "opp.to")) input type="date" name="to"; }
                        label.wide { (t(lang, "opp.note")) input name="note"; }
                        button.primary type="submit" { (t(lang, "opp.add")) }
                    }
                }
            }
            @if cashier {
                (crate::regie::refund_section(lang, &s.csrf, p.row.id, p.balance_cents, refund.as_ref()))
            }
            @if manager {
                section {
                    h2 { (t(lang, "person.passages")) }
                    table {
                        thead { tr { th { (t(lang, "col.day")) } th { (t(lang, "col.service")) } th { (t(lang, "col.verdict")) } th { (t(lang, "col.reason")) } } }
                        tbody {
                            @for r in &p.passages {
                                tr class=(if r.pass { "pass" } else { "deny" }) {
                                    td { (i18n::passage_row_when(lang, r)) } td { (r.service) }
                                    td.verdict { span.tag { (if r.pass { t(lang, "verdict.pass") } else { t(lang, "verdict.deny") }) } }
                                    td { (i18n::passage_row_words(lang, r)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    (status, page(lang, &p.row.name, Some(s), "", body)).into_response()
}

pub async fn manage(Staff(caller, s): Staff<{ GESTIONNAIRE }>) -> Response {
    let lang = caller.lang;
    let body = html! {
        main.narrow {
            h1 { (t(lang, "manage.title")) }
            p { (t(lang, "manage.help")) }
            form.search method="get" action="/search" {
                input type="search" name="q" placeholder=(t(lang, "search.placeholder")) autofocus;
                button type="submit" { (t(lang, "nav.search")) }
            }
            p { a.button href="/report" { (t(lang, "nav.report")) } " " a.button href="/exchanges" { (t(lang, "nav.exchanges")) } }
        }
    };
    page(lang, t(lang, "manage.title"), Some(&s), "/manage", body).into_response()
}

fn back_to_person(person: u32, key: &str) -> Response {
    Redirect::to(&format!("/person/{person}?ok={key}")).into_response()
}

pub async fn enrol(State(app): AppState, Staff(caller, _): Staff<{ GESTIONNAIRE }>) -> Response {
    let Some(person) = person_id(&caller) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.person"),
        );
    };
    let reader = caller
        .field("reader")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    match app.src.enrol_next(person, reader, ENROL_WAIT).await {
        Ok(_) => back_to_person(person, "badge.enrol.done"),
        Err(e) => refused_page(&caller, &e),
    }
}

pub async fn set_tier(State(app): AppState, Staff(caller, _): Staff<{ GESTIONNAIRE }>) -> Response {
    let Some(person) = person_id(&caller) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.person"),
        );
    };
    let tier = caller
        .field("tier")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    match app.src.set_tier(person, tier).await {
        Ok(()) => back_to_person(person, "tier.done"),
        Err(e) => refused_page(&caller, &e),
    }
}

pub async fn lost(State(app): AppState, Staff(caller, _): Staff<{ GESTIONNAIRE }>) -> Response {
    let (Some(person), Some(badge)) = (person_id(&caller), caller.field("badge")) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.badge"),
        );
    };
    match app.src.declare_lost(person, badge).await {
        Ok(()) => back_to_person(person, "badge.lost.done"),
        Err(e) => refused_page(&caller, &e),
    }
}

pub async fn opposition_add(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
) -> Response {
    let Some(person) = person_id(&caller) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.person"),
        );
    };
    let field = |k: &str| caller.field(k).map(str::trim).unwrap_or("").to_owned();
    let opt = |k: &str| Some(field(k)).filter(|v| !v.is_empty());
    let o = NewOpposition {
        person,
        reason: field("reason"),
        service: opt("service"),
        from: field("from"),
        to: opt("to"),
        note: field("note"),
        by: s.name.clone(),
    };
    match app.src.add_opposition(o).await {
        Ok(()) => back_to_person(person, "opp.done"),
        Err(e) => refused_page(&caller, &e),
    }
}

pub async fn opposition_lift(
    State(app): AppState,
    Staff(caller, _): Staff<{ GESTIONNAIRE }>,
) -> Response {
    let (Some(person), Some(id)) = (
        person_id(&caller),
        caller
            .field("id")
            .and_then(|v| v.trim().parse::<u64>().ok()),
    ) else {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "error.opposition"),
        );
    };
    match app.src.lift_opposition(person, id).await {
        Ok(()) => back_to_person(person, "opp.lift.done"),
        Err(e) => refused_page(&caller, &e),
    }
}

#[derive(Deserialize)]
pub struct DayQuery {
    day: Option<String>,
}

pub async fn report(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Query(q): Query<DayQuery>,
) -> Response {
    let lang = caller.lang;
    let day = q.day.filter(|d| !d.trim().is_empty());
    let r = match app.src.day_report(day).await {
        Ok(r) => r,
        Err(e) => return refused_page(&caller, &e),
    };
    let body = html! {
        main.narrow {
            h1 { (t(lang, "report.title")) " · " (i18n::iso_date(lang, &r.day)) }
            form.inline method="get" action="/report" {
                input type="date" name="day" value=(r.day);
                button type="submit" { "OK" }
            }
            @if r.services.is_empty() { p.empty { (t(lang, "report.none")) } }
            div.report {
                @for sr in &r.services {
                    section.card.service-report {
                        h2 { (sr.label) }
                        dl.facts {
                            @if let Some(e) = sr.expected { dt { (t(lang, "count.expected")) } dd { (e) } }
                            dt { (t(lang, "report.passes")) } dd.big { (sr.passes) }
                            @for (label, n) in by_reason(lang, &sr.passes_by_reason, &sr.passes_by) { dt.sub { (label) } dd { (n) } }
                            dt { (t(lang, "report.denials")) } dd { (sr.denials.iter().map(|d| d.1).sum::<u64>()) }
                            @for (label, n) in by_reason(lang, &sr.denials_by_reason, &sr.denials) { dt.sub { (label) } dd { (n) } }
                            dt { (t(lang, "report.charged")) } dd { (i18n::euros(lang, sr.charged_cents)) }
                            dt { (t(lang, "report.corrections")) } dd { (sr.corrections) }
                        }
                    }
                }
            }
        }
    };
    page(lang, t(lang, "report.title"), Some(&s), "/report", body).into_response()
}

/// Counts by reason in `lang` (the source's labels when it gave no reasons).
fn by_reason(
    lang: Lang,
    reasons: &[(Reason, u64)],
    labels: &[(String, u64)],
) -> Vec<(String, u64)> {
    if reasons.is_empty() {
        return labels.to_vec();
    }
    reasons
        .iter()
        .map(|(r, n)| (i18n::reason(lang, *r).to_owned(), *n))
        .collect()
}

pub async fn exchanges(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
) -> Response {
    let lang = caller.lang;
    let sync = app.src.sync_status();
    let reports = app.src.exchange_reports();
    let body = html! {
        main.narrow {
            h1 { (t(lang, "sync.title")) }
            @match &sync {
                None => p { (t(lang, "sync.standalone")) },
                Some(st) => p class=(if st.connected || st.role == SyncRole::Standalone { "flash ok" } else { "flash ko" }) {
                    (i18n::sync_line(lang, st))
                },
            }
            h1 { (t(lang, "exchanges.title")) }
            @if reports.is_empty() { p.empty { (t(lang, "exchanges.none")) } }
            @else {
                table {
                    thead { tr { th { (t(lang, "col.name")) } th { (t(lang, "exchanges.last")) } th { (t(lang, "exchanges.result")) } th { (t(lang, "exchanges.detail")) } } }
                    tbody {
                        @for r in &reports {
                            tr class=(if r.ok { "pass" } else { "deny" }) {
                                td { (r.name) }
                                td { (r.last_run_at.map(|t| i18n::date_time(lang, t)).or_else(|| r.last_run.clone()).unwrap_or_else(|| "—".to_owned())) }
                                td.verdict { span.tag { (i18n::exchange_result(lang, r)) } }
                                td {
                                    (i18n::report_lines(lang, &r.sent_lines, &r.sent))
                                    @let received = i18n::report_lines(lang, &r.received_lines, &r.received);
                                    @if !received.is_empty() { " · " (received) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(lang, t(lang, "nav.exchanges"), Some(&s), "/exchanges", body).into_response()
}

pub async fn accounts_page(
    State(app): AppState,
    Staff(caller, s): Staff<{ ADMINISTRATEUR }>,
    uri: Uri,
) -> Response {
    let lang = caller.lang;
    let list = match app.accounts.accounts() {
        Ok(l) => l,
        Err(e) => {
            return message_page(
                &caller,
                StatusCode::INTERNAL_SERVER_ERROR,
                &i18n::account_error(lang, &e),
            );
        }
    };
    let done = uri.query().is_some_and(|q| q.contains("ok=1"));
    let body = html! {
        main.narrow {
            @if done { p.flash.ok role="status" { (t(lang, "accounts.done")) } }
            h1 { (t(lang, "accounts.title")) }
            table {
                thead { tr { th { (t(lang, "login.name")) } th { (t(lang, "col.role")) } th {} } }
                tbody {
                    @for a in &list {
                        tr {
                            td { (a.name) } td { (i18n::role(lang, a.role)) }
                            td {
                                @if a.name != s.name {
                                    form.inline method="post" action="/accounts/remove" {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        input type="hidden" name="name" value=(a.name);
                                        button.danger type="submit" { (t(lang, "accounts.remove")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.grid method="post" action="/accounts/add" {
                input type="hidden" name="csrf" value=(s.csrf);
                label { (t(lang, "login.name")) input name="name" required; }
                label { (t(lang, "col.role"))
                    select name="role" { @for r in Role::ALL { option value=(r.code()) { (i18n::role(lang, r)) } } }
                }
                label { (t(lang, "login.password")) input type="password" name="password" autocomplete="new-password" required; }
                button.primary type="submit" { (t(lang, "accounts.add")) }
            }
        }
    };
    page(lang, t(lang, "accounts.title"), Some(&s), "/accounts", body).into_response()
}

pub async fn accounts_add(
    State(app): AppState,
    Staff(caller, _): Staff<{ ADMINISTRATEUR }>,
) -> Response {
    let name = caller.field("name").unwrap_or("").trim();
    let password = caller.field("password").unwrap_or("");
    let result = caller
        .field("role")
        .unwrap_or("")
        .parse::<Role>()
        .and_then(|role| app.accounts.add(name, role, password));
    match result {
        Ok(()) => Redirect::to("/accounts?ok=1").into_response(),
        Err(e) => message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            &i18n::account_error(caller.lang, &e),
        ),
    }
}

pub async fn accounts_remove(
    State(app): AppState,
    Staff(caller, s): Staff<{ ADMINISTRATEUR }>,
) -> Response {
    let name = caller.field("name").unwrap_or("").trim();
    if name == s.name {
        return message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            t(caller.lang, "accounts.self"),
        );
    }
    match app.accounts.remove(name) {
        Ok(()) => {
            app.sessions.remove_account(name);
            Redirect::to("/accounts?ok=1").into_response()
        }
        Err(e) => message_page(
            &caller,
            StatusCode::BAD_REQUEST,
            &i18n::account_error(caller.lang, &e),
        ),
    }
}
