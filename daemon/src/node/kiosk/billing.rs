//! The kiosk's billing pages on the running gate: the terms' state, a term's bills and what a
//! constatation would journal now, read from the store (`node::billing`: the term's journal,
//! the liquidation, a dry run); the bursar's operations planned by `node::billing::plan` on the
//! journal as it stands, as the control socket plans them (`selfgate billing …`), keeping the
//! refusals' problems as a list the page shows, and committed through [`GateHandle::change`]
//! in one transaction; the family notices and the bordereaux as the command line writes them.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use selfgate_kiosk::billing::{
    BillView, BillingDone, BillingFile, BillingOp, BordereauRow, EntryView, RunLineView,
    SheetFormat, TermDetail, TermSummary,
};
use selfgate_kiosk::{Problem, SourceError};
use selfgate_money::billing::Term;
use selfgate_rules::journal::{EventRef, ReceivableKind};
use selfgate_rules::model::PersonId;

use crate::config::Config;
use crate::node::billing::{
    self, Bill, BillingRefused, BillingRequest, NewAid, RunSummary, School, Setup, TermState,
};
use crate::node::gate::GateHandle;
use crate::store::{Store, StoreError, WriteOutcome};

fn refused(e: BillingRefused) -> SourceError {
    SourceError::Refused(Problem::Billing {
        problems: e.problems,
    })
}

fn unreadable(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(Problem::JournalUnreadable {
        detail: e.to_string(),
    })
}

fn unknown_term(code: &str) -> SourceError {
    SourceError::NotFound(Problem::UnknownTerm {
        term: code.to_owned(),
    })
}

/// The term of code `code`, or `NotFound`.
fn term_of<'a>(setup: &'a Setup, code: &str) -> Result<&'a Term, SourceError> {
    setup.term(code).map_err(|_| unknown_term(code))
}

/// A term's bills and the run a constatation would make now; or why it cannot be liquidated.
fn liquidated(
    setup: &Setup,
    school: &School,
    state: &TermState,
    term: &Term,
) -> Result<(Vec<Bill>, RunSummary), Vec<String>> {
    let bills = billing::liquidate_term(setup, school, state, term)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let run = billing::run(setup, school, state, term, "", true).map_err(|e| e.problems)?;
    Ok((bills, run))
}

/// What the journal holds for each pupil in the term (Σ of their receivables).
fn constated(state: &TermState) -> BTreeMap<PersonId, i64> {
    let mut out: BTreeMap<PersonId, i64> = BTreeMap::new();
    for r in &state.receivables {
        let c = out.entry(r.person).or_default();
        *c = c.saturating_add(r.cents);
    }
    out
}

fn summary_of(
    term: &Term,
    state: &TermState,
    liquidation: &Result<(Vec<Bill>, RunSummary), Vec<String>>,
) -> TermSummary {
    let mut bordereaux: BTreeMap<u32, BordereauRow> = BTreeMap::new();
    for r in &state.receivables {
        let b = bordereaux.entry(r.bordereau).or_insert(BordereauRow {
            number: r.bordereau,
            lines: 0,
            total_cents: 0,
            reconstatations: 0,
        });
        b.lines += 1;
        b.total_cents = b.total_cents.saturating_add(r.cents);
        if r.kind == ReceivableKind::Reconstatation {
            b.reconstatations += 1;
        }
    }
    let constated_cents = state
        .receivables
        .iter()
        .fold(0i64, |t, r| t.saturating_add(r.cents));
    let (pupils, due_cents, pending_lines, pending_cents, problems) = match liquidation {
        Ok((bills, run)) => (
            bills.len(),
            run.due_cents,
            run.lines.len(),
            run.total_cents,
            Vec::new(),
        ),
        Err(problems) => (0, 0, 0, 0, problems.clone()),
    };
    TermSummary {
        code: term.code.clone(),
        label: term.label.clone(),
        year: term.year,
        from: term.from,
        to: term.to,
        remise_deadline: term.remise_deadline,
        pupils,
        due_cents,
        constated_cents,
        bordereaux: bordereaux.into_values().collect(),
        closed_by: state.closed.as_ref().map(|c| c.by.clone()),
        pending_lines,
        pending_cents,
        entries: state.entries.len(),
        problems,
    }
}

/// Every term of the school year with its state.
pub fn terms(config: &Config, store: &Store) -> Result<Vec<TermSummary>, SourceError> {
    let setup = Setup::from_config(config);
    let school = School::read(store).map_err(unreadable)?;
    setup
        .terms
        .iter()
        .map(|term| {
            let state = TermState::read(store, term).map_err(unreadable)?;
            let liquidation = liquidated(&setup, &school, &state, term);
            Ok(summary_of(term, &state, &liquidation))
        })
        .collect()
}

/// The term `code`: bills, the pending run, the entries in force.
pub fn term(config: &Config, store: &Store, code: &str) -> Result<TermDetail, SourceError> {
    let setup = Setup::from_config(config);
    let term = term_of(&setup, code)?;
    let tz = config.rules.timezone;
    let school = School::read(store).map_err(unreadable)?;
    let state = TermState::read(store, term).map_err(unreadable)?;
    let liquidation = liquidated(&setup, &school, &state, term);
    let summary = summary_of(term, &state, &liquidation);
    let done = constated(&state);
    let (bills, pending_bordereau, pending) = match liquidation {
        Ok((bills, run)) => (
            bills
                .into_iter()
                .map(|b| BillView {
                    person: b.person.id.0,
                    external_id: b.person.external_id.clone(),
                    name: b.person.display_name(),
                    class: b.person.class.clone(),
                    forfait: b.liquidation.forfait,
                    payer: b.payer.as_ref().map(|g| g.postal_name()),
                    total_cents: b.liquidation.total_cents(),
                    constated_cents: done.get(&b.person.id).copied().unwrap_or(0),
                    lines: b.liquidation.lines,
                })
                .collect(),
            run.bordereau,
            run.lines
                .into_iter()
                .map(|l| RunLineView {
                    line: l.receivable.line,
                    kind: l.receivable.kind,
                    external_id: l.external_id,
                    name: l.name,
                    class: l.class,
                    forfait: l.receivable.forfait,
                    forfait_cents: l.receivable.forfait_cents,
                    remises_cents: l.receivable.remises_cents,
                    aides_cents: l.receivable.aides_cents,
                    cents: l.receivable.cents,
                })
                .collect(),
        ),
        Err(_) => (Vec::new(), None, Vec::new()),
    };
    let entries = state
        .entries
        .iter()
        .map(|(r, at, b)| {
            let p = school.person(b.person);
            EntryView {
                gate: r.gate.clone(),
                seq: r.seq,
                at: at.with_timezone(&tz).naive_local(),
                external_id: p.map(|p| p.external_id.clone()).unwrap_or_default(),
                name: p.map_or_else(|| format!("n° {}", b.person.0), |p| p.display_name()),
                class: p.map(|p| p.class.clone()).unwrap_or_default(),
                input: b.input.clone(),
                by: b.by.clone(),
                note: b.note.clone(),
            }
        })
        .collect();
    Ok(TermDetail {
        term: summary,
        bills,
        pending_bordereau,
        pending,
        entries,
    })
}

/// The control socket's request for the kiosk's operation.
fn request(op: BillingOp) -> (String, BillingRequest) {
    match op {
        BillingOp::Constate { term, by } => (
            term.clone(),
            BillingRequest::Constate {
                term,
                by,
                dry_run: false,
            },
        ),
        BillingOp::Close { term, by } => (term.clone(), BillingRequest::Close { term, by }),
        BillingOp::Remise {
            term,
            person,
            from,
            to,
            proof,
            asked_on,
            note,
            by,
        } => (
            term.clone(),
            BillingRequest::Remise {
                person,
                term,
                from,
                to,
                proof,
                asked_on,
                by,
                note,
            },
        ),
        BillingOp::Aid {
            term,
            person,
            kind,
            cents,
            reference,
            by,
        } => (
            term.clone(),
            BillingRequest::Aids {
                aids: vec![NewAid {
                    person,
                    term,
                    kind,
                    cents,
                    reference,
                    origin: String::new(),
                }],
                by,
            },
        ),
        BillingOp::Withdraw {
            term,
            gate,
            seq,
            note,
            by,
        } => (
            term.clone(),
            BillingRequest::Withdraw {
                term,
                entry: EventRef { gate, seq },
                by,
                note,
            },
        ),
    }
}

/// A billing operation planned on the store as it stands (off the async threads), then
/// committed through the gate in one transaction: a run's lines all or none.
pub async fn apply(
    gate: &GateHandle,
    store: &Store,
    op: BillingOp,
) -> Result<BillingDone, SourceError> {
    let (code, req) = request(op);
    let (ops, summary) = {
        let shared = gate.shared();
        let setup = Setup::from_config(&shared.config());
        term_of(&setup, &code)?;
        let now = shared.clock.now();
        let store = store.clone();
        tokio::task::spawn_blocking(move || billing::plan(&setup, &store, &req, now))
            .await
            .map_err(|e| {
                SourceError::Unavailable(Problem::NotRecorded {
                    detail: e.to_string(),
                })
            })?
            .map_err(refused)?
    };
    let events = if ops.is_empty() {
        0
    } else {
        gate.change(ops)
            .await
            .map_err(|e| match e.as_ref() {
                // Another run journaled meanwhile: the writer refuses this one whole.
                StoreError::Invalid(message) => SourceError::Refused(Problem::Billing {
                    problems: vec![message.clone()],
                }),
                other => SourceError::Unavailable(Problem::NotRecorded {
                    detail: other.to_string(),
                }),
            })?
            .iter()
            .filter(|o| matches!(o, WriteOutcome::Appended(_)))
            .count()
    };
    Ok(match summary {
        Some(s) => BillingDone {
            bordereau: s.bordereau,
            lines: s.lines.len(),
            total_cents: s.total_cents,
            events,
        },
        None => BillingDone {
            events,
            ..BillingDone::default()
        },
    })
}

/// A term's document issued on `issued`: the merged family notices, or a bordereau.
pub fn file(
    config: &Config,
    store: &Store,
    code: &str,
    which: BillingFile,
    issued: NaiveDate,
) -> Result<(String, Vec<u8>), SourceError> {
    let setup = Setup::from_config(config);
    let term = term_of(&setup, code)?;
    match which {
        BillingFile::Notices => {
            let docs = billing::notices_pdf(config, store, &term.code, issued).map_err(refused)?;
            Ok((format!("avis-{}-{}.pdf", term.year, term.code), docs.merged))
        }
        BillingFile::Bordereau { number, format } => {
            let b = billing::bordereau_files(config, store, &term.code, Some(number), issued)
                .map_err(|e| {
                    SourceError::NotFound(Problem::Billing {
                        problems: e.problems,
                    })
                })?;
            let name = format!("{}.{}", b.reference, format.extension());
            Ok((
                name,
                match format {
                    SheetFormat::Pdf => b.pdf,
                    SheetFormat::Csv => b.csv.into_bytes(),
                    SheetFormat::Xlsx => b.xlsx,
                },
            ))
        }
    }
}
