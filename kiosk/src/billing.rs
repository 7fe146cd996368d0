//! The billing pages (*facturation*, droits constatés), for the gestionnaire and above:
//! `/facturation` (the terms with their state: pupils billed, amount due, bordereaux journaled,
//! closed or not) and `/facturation/{term}` (each pupil's bill line by line; what a
//! constatation would journal now; the remises and aid in force, each withdrawable; the forms
//! of a remise d'ordre on request and of an aid; "Constater" and "Clore le trimestre"; the
//! family notices and the bordereaux to download).
//!
//! Every operation is the daemon's (`StaffSource::billing`): planned on the journal as it
//! stands, checked whole, then committed through the running gate. A refusal journals nothing
//! and comes back on the term's page with every problem the billing found (its own French
//! words) and the form as it was typed.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveDateTime};
use maud::{Markup, html};
use serde::Deserialize;

use selfgate_money::billing::{ForfaitKind, Line, LineKind};
use selfgate_rules::journal::{AidKind, BillingInput, ReceivableKind};

use crate::auth::Session;
use crate::i18n::{self, Lang, t};
use crate::money::parse_amount;
use crate::pages::{GESTIONNAIRE, Staff, message_page, page, refused_page};
use crate::{App, AppState, Caller, DateField, Problem, SourceError};

/// A bordereau journaled for a term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BordereauRow {
    pub number: u32,
    pub lines: usize,
    /// Σ of its lines' net amounts.
    pub total_cents: i64,
    /// Lines of re-constatation on it (the first constatation has none).
    pub reconstatations: usize,
}

/// A term as the billing page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermSummary {
    /// `T1`.
    pub code: String,
    /// As configured ("Septembre – décembre 2026").
    pub label: String,
    /// The school year's first calendar year.
    pub year: u16,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Requests for a remise d'ordre asked after this day are refused.
    pub remise_deadline: NaiveDate,
    /// Pupils billed now, and what they owe in all (from the liquidation as it stands).
    pub pupils: usize,
    pub due_cents: i64,
    /// Σ of the receivables journaled.
    pub constated_cents: i64,
    pub bordereaux: Vec<BordereauRow>,
    /// Who closed the term, when closed.
    pub closed_by: Option<String>,
    /// What a constatation would journal now: lines and their net total.
    pub pending_lines: usize,
    pub pending_cents: i64,
    /// Entries (remises, aid) in force.
    pub entries: usize,
    /// Why the term cannot be liquidated as it stands (a price missing…), in the billing's
    /// own French words; empty when it can.
    pub problems: Vec<String>,
}

/// A pupil's bill for the term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillView {
    pub person: u32,
    /// The school's identifier (SIÈCLE's `ELEVE_ID`), what the forms take.
    pub external_id: String,
    /// `Prénom NOM`.
    pub name: String,
    pub class: String,
    pub forfait: Option<ForfaitKind>,
    /// Who pays (the guardian's postal name), when known.
    pub payer: Option<String>,
    pub lines: Vec<Line>,
    pub total_cents: i64,
    /// What the journal holds for this pupil in the term.
    pub constated_cents: i64,
}

/// A line a constatation would journal (or journaled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLineView {
    pub line: u32,
    pub kind: ReceivableKind,
    pub external_id: String,
    pub name: String,
    pub class: String,
    /// `dp4`… (empty when no forfait any more).
    pub forfait: String,
    pub forfait_cents: i64,
    pub remises_cents: i64,
    pub aides_cents: i64,
    pub cents: i64,
}

/// An entry in force (a remise d'ordre on request, an aid), with the event that journaled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryView {
    pub gate: String,
    pub seq: u64,
    /// Local date and time it was entered.
    pub at: NaiveDateTime,
    pub external_id: String,
    pub name: String,
    pub class: String,
    pub input: BillingInput,
    pub by: String,
    pub note: String,
}

/// A term's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermDetail {
    pub term: TermSummary,
    /// In the order of the bordereau (class, name).
    pub bills: Vec<BillView>,
    /// What a constatation would journal now: on bordereau `pending_bordereau`.
    pub pending_bordereau: Option<u32>,
    pub pending: Vec<RunLineView>,
    pub entries: Vec<EntryView>,
}

/// A bursar's billing operation, as the forms give it (`by`: the session's member of staff).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BillingOp {
    /// The term's receivables, or the differences since the last run.
    Constate { term: String, by: String },
    /// The term closed: later runs journal re-constatations only.
    Close { term: String, by: String },
    /// A remise d'ordre on request (illness) for the pupil of identifier `person`.
    Remise {
        term: String,
        person: String,
        from: NaiveDate,
        to: NaiveDate,
        proof: String,
        asked_on: NaiveDate,
        note: String,
        by: String,
    },
    /// An aid for the pupil of identifier `person`.
    Aid {
        term: String,
        person: String,
        kind: AidKind,
        cents: i64,
        reference: String,
        by: String,
    },
    /// An entry withdrawn (it stays in the journal).
    Withdraw {
        term: String,
        gate: String,
        seq: u64,
        note: String,
        by: String,
    },
}

/// What an operation journaled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BillingDone {
    /// A constatation: the bordereau journaled (none when nothing changed), its lines and total.
    pub bordereau: Option<u32>,
    pub lines: usize,
    pub total_cents: i64,
    /// Events journaled.
    pub events: usize,
}

/// A bordereau's three forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetFormat {
    Pdf,
    Csv,
    Xlsx,
}

impl SheetFormat {
    pub fn extension(self) -> &'static str {
        match self {
            SheetFormat::Pdf => "pdf",
            SheetFormat::Csv => "csv",
            SheetFormat::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            SheetFormat::Pdf => "application/pdf",
            SheetFormat::Csv => "text/csv; charset=utf-8",
            SheetFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
    fn parse(ext: &str) -> Option<SheetFormat> {
        [SheetFormat::Pdf, SheetFormat::Csv, SheetFormat::Xlsx]
            .into_iter()
            .find(|f| f.extension() == ext)
    }
}

/// A term's document to download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillingFile {
    /// Every family notice of the term in one PDF, to print.
    Notices,
    /// Bordereau `number` of the term.
    Bordereau { number: u32, format: SheetFormat },
}

impl BillingFile {
    /// What the path's last segment asks for: `avis.pdf`, `bordereau-2.csv`…
    fn parse(name: &str) -> Option<BillingFile> {
        if name == "avis.pdf" {
            return Some(BillingFile::Notices);
        }
        let (number, ext) = name.strip_prefix("bordereau-")?.split_once('.')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(BillingFile::Bordereau {
            number: number.parse().ok()?,
            format: SheetFormat::parse(ext)?,
        })
    }

    fn content_type(self) -> &'static str {
        match self {
            BillingFile::Notices => SheetFormat::Pdf.content_type(),
            BillingFile::Bordereau { format, .. } => format.content_type(),
        }
    }
}

/// A term's code as a path carries it: 1 to 12 letters or digits (the configuration's rule).
fn term_code(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(s)
}

fn field(caller: &Caller, name: &str) -> String {
    caller.field(name).unwrap_or("").trim().to_owned()
}

/// A date typed in a form (`AAAA-MM-JJ`, what `<input type=date>` sends).
fn date_field(typed: &str, field: DateField) -> Result<NaiveDate, SourceError> {
    NaiveDate::parse_from_str(typed.trim(), "%Y-%m-%d").map_err(|_| {
        SourceError::Invalid(Problem::NotADate {
            field,
            given: typed.to_owned(),
        })
    })
}

/// The forms of the term's page as typed, to show again after a refusal.
#[derive(Clone, Debug, Default)]
struct Echo {
    /// Which form was sent: `remise`, `aide`, or another action.
    form: &'static str,
    person: String,
    from: String,
    to: String,
    proof: String,
    asked_on: String,
    note: String,
    kind: String,
    amount: String,
    reference: String,
}

impl Echo {
    fn of(form: &'static str, caller: &Caller) -> Echo {
        Echo {
            form,
            person: field(caller, "person"),
            from: field(caller, "from"),
            to: field(caller, "to"),
            proof: field(caller, "proof"),
            asked_on: field(caller, "asked_on"),
            note: field(caller, "note"),
            kind: field(caller, "kind"),
            amount: field(caller, "amount"),
            reference: field(caller, "reference"),
        }
    }
    /// This form's echo, or nothing.
    fn for_form(&self, form: &str) -> Echo {
        if self.form == form {
            self.clone()
        } else {
            Echo::default()
        }
    }
}

/// The problems of a refusal, each on its line: the billing's own list, or the one problem.
fn problems_of(lang: Lang, e: &SourceError) -> Vec<String> {
    match e.problem() {
        Problem::Billing { problems } if !problems.is_empty() => problems.clone(),
        p => vec![i18n::problem(lang, p)],
    }
}

fn problems_block(lang: Lang, problems: &[String]) -> Markup {
    html! {
        div.error.problems role="alert" {
            p { b { (t(lang, "billing.refused")) } }
            ul { @for p in problems { li { (p) } } }
        }
    }
}

/// A term's state in one word: closed, constated, or not yet.
fn term_state(lang: Lang, s: &TermSummary) -> String {
    match &s.closed_by {
        Some(by) => format!("{} ({by})", t(lang, "billing.state.closed")),
        None if !s.bordereaux.is_empty() => t(lang, "billing.state.constated").to_owned(),
        None => t(lang, "billing.state.open").to_owned(),
    }
}

/// What a constatation would do now.
fn pending_line(lang: Lang, s: &TermSummary) -> String {
    if !s.problems.is_empty() {
        t(lang, "billing.pending.blocked").to_owned()
    } else if s.pending_lines == 0 {
        t(lang, "billing.pending.none").to_owned()
    } else {
        i18n::billing_pending(lang, s.pending_lines, s.pending_cents)
    }
}

fn term_dates(lang: Lang, s: &TermSummary) -> String {
    i18n::billing_span(lang, s.from, s.to)
}

/// `GET /facturation`: the terms of the school year with their state.
pub(crate) async fn terms(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
) -> Response {
    let lang = caller.lang;
    let terms = match app.src.billing_terms().await {
        Ok(t) => t,
        Err(e) => return refused_page(&caller, &e),
    };
    let body = html! {
        main.wide.regie.billing {
            h1 { (t(lang, "billing.title")) }
            p.help { (t(lang, "billing.help")) }
            @if terms.is_empty() { p.empty { (t(lang, "billing.noterms")) } }
            @else {
                table.terms {
                    thead { tr {
                        th { (t(lang, "billing.col.term")) } th { (t(lang, "billing.col.dates")) }
                        th.num { (t(lang, "billing.col.pupils")) } th.num { (t(lang, "billing.col.due")) }
                        th.num { (t(lang, "billing.col.constated")) } th { (t(lang, "billing.col.bordereaux")) }
                        th { (t(lang, "billing.col.state")) } th { (t(lang, "billing.col.pending")) } th {}
                    } }
                    tbody {
                        @for term in &terms {
                            tr data-term=(term.code) {
                                td { b { (term.code) } " " (term.label) }
                                td { (term_dates(lang, term)) }
                                td.num { (term.pupils) }
                                td.num data-due-cents=(term.due_cents) { (i18n::euros(lang, term.due_cents)) }
                                td.num { (i18n::euros(lang, term.constated_cents)) }
                                td {
                                    @if term.bordereaux.is_empty() { "—" }
                                    @for b in &term.bordereaux {
                                        a href=(format!("/facturation/{}/bordereau-{}.pdf", term.code, b.number)) { "n° " (b.number) } " "
                                    }
                                }
                                td.state { (term_state(lang, term)) }
                                td class=(if term.problems.is_empty() { "" } else { "error" }) { (pending_line(lang, term)) }
                                td { a.button.primary href=(format!("/facturation/{}", term.code)) { (t(lang, "billing.open")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    page(lang, t(lang, "billing.title"), Some(&s), "/manage", body).into_response()
}

#[derive(Deserialize, Default)]
pub(crate) struct TermQuery {
    ok: Option<String>,
}

/// What the term's page shows besides the term.
#[derive(Default)]
struct Shown {
    flash: Option<&'static str>,
    problems: Vec<String>,
    echo: Echo,
}

/// `GET /facturation/{term}`.
pub(crate) async fn term(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
    Query(q): Query<TermQuery>,
) -> Response {
    let Some(code) = term_code(&code) else {
        return message_page(&caller, StatusCode::NOT_FOUND, t(caller.lang, "notfound"));
    };
    let flash =
        q.ok.as_deref()
            .filter(|k| k.starts_with("billing."))
            .map(|k| t(caller.lang, k))
            .filter(|m| *m != "??");
    let shown = Shown {
        flash,
        ..Shown::default()
    };
    render_term(&app, &caller, &s, code, shown, StatusCode::OK).await
}

async fn render_term(
    app: &App,
    caller: &Caller,
    s: &Session,
    code: &str,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let lang = caller.lang;
    let d = match app.src.billing_term(code).await {
        Ok(d) => d,
        Err(e) => return refused_page(caller, &e),
    };
    let term = &d.term;
    let base = format!("/facturation/{}", term.code);
    let today = app.src.today();
    let body = html! {
        main.wide.regie.billing data-term=(term.code) {
            @if let Some(m) = shown.flash { p.flash.ok role="status" { (m) } }
            @if !shown.problems.is_empty() { (problems_block(lang, &shown.problems)) }
            h1 { (t(lang, "billing.term")) " " (term.code) " · " (term.label) }
            p.links { a.button href="/facturation" { (t(lang, "billing.back")) } }
            dl.facts {
                dt { (t(lang, "billing.col.dates")) } dd { (term_dates(lang, term)) }
                dt { (t(lang, "billing.deadline")) } dd { (i18n::date(lang, term.remise_deadline)) }
                dt { (t(lang, "billing.col.state")) } dd.state { (term_state(lang, term)) }
                dt { (t(lang, "billing.col.pupils")) } dd { (term.pupils) }
                dt { (t(lang, "billing.col.due")) } dd.big data-due-cents=(term.due_cents) { (i18n::euros(lang, term.due_cents)) }
                dt { (t(lang, "billing.col.constated")) } dd data-constated-cents=(term.constated_cents) { (i18n::euros(lang, term.constated_cents)) }
            }
            @if !term.problems.is_empty() {
                div.error.problems role="alert" {
                    p { b { (t(lang, "billing.blocked")) } }
                    ul { @for p in &term.problems { li { (p) } } }
                }
            }
            (run_section(lang, s, &base, &d))
            (documents_section(lang, &base, term))
            (entries_section(lang, s, &base, &d))
            (forms_section(lang, s, &base, &d, &shown.echo, today))
            (bills_section(lang, &d))
        }
    };
    (
        status,
        page(
            lang,
            &format!("{} {}", t(lang, "billing.term"), term.code),
            Some(s),
            "/manage",
            body,
        ),
    )
        .into_response()
}

/// "What changed since the last run": the lines a constatation would journal now, and the
/// buttons to constate and to close.
fn run_section(lang: Lang, s: &Session, base: &str, d: &TermDetail) -> Markup {
    let term = &d.term;
    html! {
        section.card.run #constatation {
            h2 { (t(lang, "billing.changes")) }
            p.pending { (pending_line(lang, term)) }
            @if !d.pending.is_empty() {
                (run_table(lang, &d.pending))
            }
            div.actions {
                @if term.problems.is_empty() && !d.pending.is_empty() {
                    form.inline method="post" action=(format!("{base}/constater")) {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button.primary type="submit" data-constate {
                            (t(lang, "billing.constate"))
                            @if let Some(n) = d.pending_bordereau { " · " (t(lang, "billing.bordereau")) " n° " (n) }
                        }
                    }
                }
                @if term.closed_by.is_none() && !term.bordereaux.is_empty() {
                    form.inline method="post" action=(format!("{base}/clore")) {
                        input type="hidden" name="csrf" value=(s.csrf);
                        label { input type="checkbox" name="confirm" value="1" required; " " (t(lang, "billing.close.confirm")) }
                        " "
                        button.danger type="submit" data-close { (t(lang, "billing.close")) }
                    }
                }
            }
            p.help { (t(lang, if term.closed_by.is_some() { "billing.closed.help" } else { "billing.constate.help" })) }
        }
    }
}

fn run_table(lang: Lang, lines: &[RunLineView]) -> Markup {
    let total: i64 = lines.iter().fold(0i64, |t, l| t.saturating_add(l.cents));
    html! {
        table.run {
            thead { tr {
                th.num { (t(lang, "billing.col.line")) } th { (t(lang, "billing.col.kind")) }
                th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "billing.col.forfait")) }
                th.num { (t(lang, "billing.col.forfait.amount")) } th.num { (t(lang, "billing.col.remises")) }
                th.num { (t(lang, "billing.col.aides")) } th.num { (t(lang, "billing.col.net")) }
            } }
            tbody {
                @for l in lines {
                    tr data-person=(l.external_id) data-cents=(l.cents) {
                        td.num { (l.line) }
                        td { (t(lang, match l.kind { ReceivableKind::Constatation => "billing.kind.constatation", ReceivableKind::Reconstatation => "billing.kind.reconstatation" })) }
                        td { (l.name) " " span.mono { (l.external_id) } }
                        td { (l.class) }
                        td { (forfait_code_label(lang, &l.forfait)) }
                        td.num { (i18n::euros(lang, l.forfait_cents)) }
                        td.num { (i18n::euros(lang, l.remises_cents)) }
                        td.num { (i18n::euros(lang, l.aides_cents)) }
                        td.num { b { (i18n::euros(lang, l.cents)) } }
                    }
                }
                tr.total {
                    td {} td { (t(lang, "col.net")) } td {} td {} td {} td {} td {} td {}
                    td.num { b { (i18n::euros(lang, total)) } }
                }
            }
        }
    }
}

fn forfait_code_label(lang: Lang, code: &str) -> String {
    match code.parse::<ForfaitKind>() {
        Ok(k) if !code.is_empty() => i18n::forfait(lang, k),
        _ => "—".to_owned(),
    }
}

/// The family notices and the bordereaux journaled.
fn documents_section(lang: Lang, base: &str, term: &TermSummary) -> Markup {
    html! {
        section.card.documents {
            h2 { (t(lang, "billing.documents")) }
            @if term.bordereaux.is_empty() {
                p.empty { (t(lang, "billing.documents.none")) }
            } @else {
                p.links {
                    a.button.primary href=(format!("{base}/avis.pdf")) data-notices { (t(lang, "billing.notices")) }
                }
                p.help { (t(lang, "billing.notices.help")) }
                table.bordereaux {
                    thead { tr {
                        th { (t(lang, "billing.bordereau")) } th.num { (t(lang, "billing.col.lines")) }
                        th.num { (t(lang, "billing.col.net")) } th {}
                    } }
                    tbody {
                        @for b in &term.bordereaux {
                            tr data-bordereau=(b.number) {
                                td { "n° " (b.number) @if b.reconstatations > 0 { " · " (t(lang, "billing.kind.reconstatation")) } }
                                td.num { (b.lines) }
                                td.num { (i18n::euros(lang, b.total_cents)) }
                                td {
                                    @for f in [SheetFormat::Pdf, SheetFormat::Csv, SheetFormat::Xlsx] {
                                        a.button href=(format!("{base}/bordereau-{}.{}", b.number, f.extension())) { (f.extension().to_uppercase()) } " "
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

/// What an entry is, in the viewer's language.
fn entry_words(lang: Lang, input: &BillingInput) -> String {
    match input {
        BillingInput::Remise {
            from,
            to,
            proof,
            asked_on,
        } => i18n::billing_remise(lang, *from, *to, proof, *asked_on),
        BillingInput::Aid {
            kind,
            cents,
            reference,
        } => {
            let mut s = format!(
                "{} {}",
                i18n::aid_kind(lang, *kind),
                i18n::euros(lang, *cents)
            );
            if !reference.is_empty() {
                s.push_str(&format!(" ({reference})"));
            }
            s
        }
        BillingInput::Cancel { refers_to } => {
            format!(
                "{} {}/{}",
                t(lang, "billing.withdrawn"),
                refers_to.gate,
                refers_to.seq
            )
        }
    }
}

/// The remises and aid in force, each with its withdraw button.
fn entries_section(lang: Lang, s: &Session, base: &str, d: &TermDetail) -> Markup {
    html! {
        section.card.entries #saisies {
            h2 { (t(lang, "billing.entries")) " · " (d.entries.len()) }
            @if d.entries.is_empty() { p.empty { (t(lang, "billing.entries.none")) } }
            @else {
                table.entries {
                    thead { tr {
                        th { (t(lang, "billing.col.entry")) } th { (t(lang, "col.name")) } th { (t(lang, "billing.col.what")) }
                        th { (t(lang, "col.by")) } th { (t(lang, "regie.note")) } th {}
                    } }
                    tbody {
                        @for e in &d.entries {
                            tr data-entry=(format!("{}/{}", e.gate, e.seq)) {
                                td.mono { (e.gate) "/" (e.seq) br; span.help { (i18n::date_minute(lang, e.at)) } }
                                td { (e.name) " " span.mono { (e.external_id) } " " (e.class) }
                                td { (entry_words(lang, &e.input)) }
                                td { (e.by) }
                                td { (e.note) }
                                td {
                                    form.inline method="post" action=(format!("{base}/retrait")) {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        input type="hidden" name="entry" value=(format!("{}/{}", e.gate, e.seq));
                                        input name="note" placeholder=(t(lang, "billing.withdraw.note")) aria-label=(t(lang, "billing.withdraw.note"));
                                        " "
                                        button.danger type="submit" { (t(lang, "billing.withdraw")) }
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

/// The forms of a remise d'ordre on request and of an aid.
fn forms_section(
    lang: Lang,
    s: &Session,
    base: &str,
    d: &TermDetail,
    echo: &Echo,
    today: NaiveDate,
) -> Markup {
    let r = echo.for_form("remise");
    let a = echo.for_form("aide");
    let asked_on = if r.asked_on.is_empty() {
        today.format("%Y-%m-%d").to_string()
    } else {
        r.asked_on.clone()
    };
    let kind = if a.kind.is_empty() {
        AidKind::Bourse.code().to_owned()
    } else {
        a.kind.clone()
    };
    html! {
        datalist #pupils {
            @for b in &d.bills { option value=(b.external_id) { (b.name) " " (b.class) } }
        }
        div.groups {
            section.card.remise #remise {
                h2 { (t(lang, "billing.remise.title")) }
                p.help { (i18n::billing_remise_help(lang, d.term.remise_deadline)) }
                form.grid method="post" action=(format!("{base}/remise")) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label { (t(lang, "billing.pupil")) input name="person" list="pupils" value=(r.person) required autocomplete="off"; }
                    label { (t(lang, "billing.from")) input type="date" name="from" value=(r.from) required; }
                    label { (t(lang, "billing.to")) input type="date" name="to" value=(r.to) required; }
                    label { (t(lang, "billing.proof")) input name="proof" value=(r.proof) required; }
                    label { (t(lang, "billing.asked")) input type="date" name="asked_on" value=(asked_on) required; }
                    label.wide { (t(lang, "regie.note")) input name="note" value=(r.note); }
                    button.primary type="submit" { (t(lang, "billing.remise.submit")) }
                }
            }
            section.card.aide #aide {
                h2 { (t(lang, "billing.aid.title")) }
                p.help { (t(lang, "billing.aid.help")) }
                form.grid method="post" action=(format!("{base}/aide")) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label { (t(lang, "billing.pupil")) input name="person" list="pupils" value=(a.person) required autocomplete="off"; }
                    label { (t(lang, "billing.aid.kind"))
                        select name="kind" {
                            @for k in AidKind::ALL {
                                option value=(k.code()) selected[k.code() == kind] { (i18n::aid_kind(lang, k)) }
                            }
                        }
                    }
                    label { (t(lang, "regie.amount")) input name="amount" inputmode="decimal" value=(a.amount) required; }
                    label { (t(lang, "billing.aid.reference")) input name="reference" value=(a.reference); }
                    button.primary type="submit" { (t(lang, "billing.aid.submit")) }
                }
            }
        }
    }
}

/// A line of a pupil's bill in the viewer's language: in French the billing's own words (those
/// of the family notice), in English told from its values.
fn line_words(lang: Lang, l: &Line) -> String {
    match lang {
        Lang::Fr => l.label.clone(),
        Lang::En => match l.kind {
            LineKind::Forfait => format!(
                "Meal plan, {}, {} day(s) at {}",
                i18n::billing_span(lang, l.from, l.to),
                l.days,
                i18n::euros(lang, l.unit_cents)
            ),
            LineKind::Remise(cause) => format!(
                "Deduction ({}), {}, {} day(s) at {}",
                i18n::remise_cause(lang, cause),
                i18n::billing_span(lang, l.from, l.to),
                l.days,
                i18n::euros(lang, l.unit_cents)
            ),
            LineKind::Aide(kind) => i18n::aid_kind(lang, kind).to_owned(),
        },
    }
}

/// Each pupil's bill with its lines.
fn bills_section(lang: Lang, d: &TermDetail) -> Markup {
    html! {
        section.card.bills {
            h2 { (t(lang, "billing.bills")) " · " (d.bills.len()) }
            @if d.bills.is_empty() { p.empty { (t(lang, "billing.bills.none")) } }
            @else {
                div.table-scroll {
                    table.bills {
                        thead { tr {
                            th { (t(lang, "col.name")) } th { (t(lang, "col.class")) } th { (t(lang, "billing.col.forfait")) }
                            th { (t(lang, "billing.col.payer")) } th { (t(lang, "billing.col.lines")) }
                            th.num { (t(lang, "billing.col.net")) } th.num { (t(lang, "billing.col.constated")) }
                        } }
                        tbody {
                            @for b in &d.bills {
                                tr data-person=(b.external_id) data-total-cents=(b.total_cents) class=(if b.total_cents != b.constated_cents { "changed" } else { "" }) {
                                    td { a href=(format!("/person/{}", b.person)) { (b.name) } " " span.mono { (b.external_id) } }
                                    td { (b.class) }
                                    td { @match b.forfait { Some(k) => (i18n::forfait(lang, k)), None => "—" } }
                                    td { (b.payer.as_deref().unwrap_or("—")) }
                                    td {
                                        ul.lines {
                                            @for l in &b.lines {
                                                li { (line_words(lang, l)) " · " b { (i18n::euros(lang, l.cents)) } }
                                            }
                                        }
                                    }
                                    td.num { b { (i18n::euros(lang, b.total_cents)) } }
                                    td.num { (i18n::euros(lang, b.constated_cents)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Carries out `op`; done, back to the term's page with `ok`; refused, the page again with
/// every problem and the form as typed, at the refusal's status.
async fn carry_out(
    app: &App,
    caller: &Caller,
    s: &Session,
    code: &str,
    op: Result<BillingOp, SourceError>,
    echo: Echo,
    ok: impl FnOnce(&BillingDone) -> &'static str,
) -> Response {
    let result = match op {
        Ok(op) => app.src.billing(op).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(done) => Redirect::to(&format!("/facturation/{code}?ok={}", ok(&done))).into_response(),
        Err(e @ SourceError::NotFound(Problem::UnknownTerm { .. })) => refused_page(caller, &e),
        Err(e) => {
            let shown = Shown {
                flash: None,
                problems: problems_of(caller.lang, &e),
                echo,
            };
            render_term(app, caller, s, code, shown, e.status()).await
        }
    }
}

/// The term of a POST's path, or the 404 page.
fn posted_term(caller: &Caller, code: &str) -> Result<String, Box<Response>> {
    term_code(code).map(str::to_owned).ok_or_else(|| {
        Box::new(message_page(
            caller,
            StatusCode::NOT_FOUND,
            t(caller.lang, "notfound"),
        ))
    })
}

/// `POST /facturation/{term}/constater`.
pub(crate) async fn constate(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
) -> Response {
    let code = match posted_term(&caller, &code) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let op = BillingOp::Constate {
        term: code.clone(),
        by: s.name.clone(),
    };
    carry_out(&app, &caller, &s, &code, Ok(op), Echo::default(), |done| {
        if done.bordereau.is_some() {
            "billing.constate.done"
        } else {
            "billing.constate.nothing"
        }
    })
    .await
}

/// `POST /facturation/{term}/clore` (with its confirmation ticked).
pub(crate) async fn close(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
) -> Response {
    let code = match posted_term(&caller, &code) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let op = if caller.field("confirm") == Some("1") {
        Ok(BillingOp::Close {
            term: code.clone(),
            by: s.name.clone(),
        })
    } else {
        Err(SourceError::Invalid(Problem::Text(
            t(caller.lang, "billing.close.unconfirmed").to_owned(),
        )))
    };
    carry_out(
        &app,
        &caller,
        &s,
        &code,
        op,
        Echo::default(),
        |_| "billing.close.done",
    )
    .await
}

/// `POST /facturation/{term}/remise`: a remise d'ordre on request (illness).
pub(crate) async fn remise(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
) -> Response {
    let code = match posted_term(&caller, &code) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let echo = Echo::of("remise", &caller);
    let op = (|| {
        Ok(BillingOp::Remise {
            term: code.clone(),
            person: echo.person.clone(),
            from: date_field(&echo.from, DateField::From)?,
            to: date_field(&echo.to, DateField::To)?,
            proof: echo.proof.clone(),
            asked_on: date_field(&echo.asked_on, DateField::AskedOn)?,
            note: echo.note.clone(),
            by: s.name.clone(),
        })
    })();
    carry_out(
        &app,
        &caller,
        &s,
        &code,
        op,
        echo.clone(),
        |_| "billing.remise.done",
    )
    .await
}

/// `POST /facturation/{term}/aide`: an aid (bourse, fonds social, collectivité).
pub(crate) async fn aid(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
) -> Response {
    let code = match posted_term(&caller, &code) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let echo = Echo::of("aide", &caller);
    let op = (|| {
        let kind: AidKind = echo.kind.parse().map_err(|_| {
            SourceError::Invalid(Problem::UnknownAidKind {
                given: echo.kind.clone(),
            })
        })?;
        let cents = parse_amount(&echo.amount).map_err(|error| {
            SourceError::Invalid(Problem::AmountTyped {
                error,
                given: echo.amount.clone(),
            })
        })?;
        Ok(BillingOp::Aid {
            term: code.clone(),
            person: echo.person.clone(),
            kind,
            cents,
            reference: echo.reference.clone(),
            by: s.name.clone(),
        })
    })();
    carry_out(
        &app,
        &caller,
        &s,
        &code,
        op,
        echo.clone(),
        |_| "billing.aid.done",
    )
    .await
}

/// `POST /facturation/{term}/retrait`: an entry withdrawn (`entry` = `GATE/SEQ`).
pub(crate) async fn withdraw(
    State(app): AppState,
    Staff(caller, s): Staff<{ GESTIONNAIRE }>,
    Path(code): Path<String>,
) -> Response {
    let code = match posted_term(&caller, &code) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let entry = field(&caller, "entry");
    let op = entry
        .rsplit_once('/')
        .and_then(|(g, n)| Some((g.to_owned(), n.parse::<u64>().ok()?)))
        .filter(|(g, _)| !g.is_empty())
        .map(|(gate, seq)| BillingOp::Withdraw {
            term: code.clone(),
            gate,
            seq,
            note: field(&caller, "note"),
            by: s.name.clone(),
        })
        .ok_or_else(|| {
            SourceError::Invalid(Problem::NotAnEntry {
                given: entry.clone(),
            })
        });
    carry_out(
        &app,
        &caller,
        &s,
        &code,
        op,
        Echo::default(),
        |_| "billing.withdraw.done",
    )
    .await
}

/// `GET /facturation/{term}/avis.pdf` and `…/bordereau-{n}.pdf|.csv|.xlsx`.
pub(crate) async fn file(
    State(app): AppState,
    Staff(caller, _): Staff<{ GESTIONNAIRE }>,
    Path((code, name)): Path<(String, String)>,
) -> Response {
    let (Some(code), Some(which)) = (term_code(&code), BillingFile::parse(&name)) else {
        return message_page(&caller, StatusCode::NOT_FOUND, t(caller.lang, "notfound"));
    };
    match app.src.billing_file(code, which).await {
        Ok((file_name, bytes)) => {
            let safe: String = file_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(80)
                .collect();
            let inline = matches!(
                which,
                BillingFile::Notices
                    | BillingFile::Bordereau {
                        format: SheetFormat::Pdf,
                        ..
                    }
            );
            let disposition = format!(
                "{}; filename=\"{safe}\"",
                if inline { "inline" } else { "attachment" }
            );
            (
                [
                    (header::CONTENT_TYPE, which.content_type().to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            let lang = caller.lang;
            let problems = problems_of(lang, &e);
            let body = html! {
                main.narrow {
                    (problems_block(lang, &problems))
                    p { a.button href=(format!("/facturation/{code}")) { (t(lang, "back")) } }
                }
            };
            (
                e.status(),
                page(lang, t(lang, "billing.title"), None, "", body),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_name_says_which_document() {
        assert_eq!(BillingFile::parse("avis.pdf"), Some(BillingFile::Notices));
        assert_eq!(
            BillingFile::parse("bordereau-12.xlsx"),
            Some(BillingFile::Bordereau {
                number: 12,
                format: SheetFormat::Xlsx
            })
        );
        for bad in [
            "avis.csv",
            "bordereau-.pdf",
            "bordereau-1.ods",
            "bordereau-+1.pdf",
            "bordereau-1",
            "../bordereau-1.pdf",
        ] {
            assert_eq!(BillingFile::parse(bad), None, "{bad}");
        }
        assert_eq!(term_code("T1"), Some("T1"));
        assert_eq!(term_code("T1%2F"), None);
        assert_eq!(term_code(""), None);
    }
}
