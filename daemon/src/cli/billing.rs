//! `selfgate billing …`: forfaits billed per term (droits constatés, `docs/billing.md`).
//! Operations that journal (a run, a remise, aid, a withdrawal, a term closed) go through the
//! running daemon when there is one, else to the stopped store; documents and the term's state
//! are read from the journal (a copy written by the daemon when one runs).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use selfgate_rules::journal::{AidKind, BillingInput, Event, EventKind, EventRef, ReceivableKind};
use selfgate_rules::model::{format_euros, parse_euros};

use super::BillingCommand;
use crate::config::Config;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::billing::{self, BillingRequest, NewAid, RunSummary, School, Setup, TermState};
use crate::node::control::{self, Answer, Request};
use crate::store::Store;

/// Sends `req` to the running daemon, or plans and commits it on the stopped store.
fn apply(config: &Config, req: BillingRequest) -> anyhow::Result<(Option<RunSummary>, Vec<Event>)> {
    let wrapped = Request::Billing(req.clone());
    match control::request(&config.data_dir, &wrapped, Duration::from_secs(300))? {
        Some(Answer::Billing { summary, events }) => Ok((summary, events)),
        Some(Answer::Refused { message }) => anyhow::bail!("{message}"),
        Some(other) => anyhow::bail!("unexpected answer from the daemon: {other:?}"),
        None => {
            let store = Store::open_existing(&config.data_dir)?;
            let setup = Setup::from_config(config);
            let (ops, summary) = billing::plan(&setup, &store, &req, SystemClock.now())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let events = if ops.is_empty() {
                Vec::new()
            } else {
                control::journaled(store.write_now(&ops)?)
            };
            Ok((summary, events))
        }
    }
}

fn euros(cents: i64) -> String {
    format_euros(cents)
}

fn print_run(s: &RunSummary, json: bool) -> anyhow::Result<()> {
    if json {
        for l in &s.lines {
            println!("{}", serde_json::to_string(l)?);
        }
        return Ok(());
    }
    let verb = if s.dry_run {
        "serait journalisé"
    } else {
        "journalisé"
    };
    match s.bordereau {
        None => println!(
            "Trimestre {} {} : rien à journaliser, les droits constatés correspondent à la liquidation ({} élèves, {} dus).",
            s.term,
            s.year,
            s.pupils,
            euros(s.due_cents)
        ),
        Some(b) => {
            let re = s
                .lines
                .iter()
                .filter(|l| l.receivable.kind == ReceivableKind::Reconstatation)
                .count();
            println!(
                "Trimestre {} {} : bordereau n° {b} {verb} — {} ligne(s) dont {re} re-constatation(s), total {} ; {} élèves, {} dus en tout.",
                s.term,
                s.year,
                s.lines.len(),
                euros(s.total_cents),
                s.pupils,
                euros(s.due_cents)
            );
            for l in &s.lines {
                let r = &l.receivable;
                println!(
                    "  {:>4}  {:<10} {:<28} {:<6} {:<8} {:>12}{}",
                    r.line,
                    l.external_id,
                    l.name.chars().take(28).collect::<String>(),
                    l.class,
                    r.forfait,
                    euros(r.cents),
                    if r.kind == ReceivableKind::Reconstatation {
                        "  (re-constatation)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(())
}

fn print_entry(e: &Event) {
    let EventKind::BillingEntry(b) = &e.kind else {
        return;
    };
    let what = match &b.input {
        BillingInput::Remise { from, to, .. } => {
            format!("remise d'ordre du {from} au {to}")
        }
        BillingInput::Aid { kind, cents, .. } => {
            format!("{} de {}", kind.label_fr(), euros(*cents))
        }
        BillingInput::Cancel { refers_to } => {
            format!("retrait de la saisie {}/{}", refers_to.gate, refers_to.seq)
        }
    };
    println!(
        "Saisie {}/{} : {what}, trimestre {} — prise en compte à la prochaine constatation.",
        e.gate, e.seq, b.term
    );
}

/// The aid file, every line checked before anything is sent.
fn read_aids(path: &Path) -> anyhow::Result<Vec<NewAid>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
    let lines = selfgate_money::billing::aids_csv::parse_aids(&text).map_err(|problems| {
        anyhow::anyhow!(
            "{}: rien n'est saisi\n{}",
            path.display(),
            problems.join("\n")
        )
    })?;
    Ok(lines
        .into_iter()
        .map(|l| NewAid {
            person: l.person,
            term: l.term,
            kind: l.kind,
            cents: l.cents,
            reference: l.reference,
            origin: format!("ligne {}", l.line),
        })
        .collect())
}

/// `selfgate billing …`.
pub fn command(what: BillingCommand) -> anyhow::Result<ExitCode> {
    match what {
        BillingCommand::Constate {
            term,
            by,
            dry_run,
            json,
            place,
        } => {
            let config = place.load()?;
            let (summary, _) = apply(&config, BillingRequest::Constate { term, by, dry_run })?;
            if let Some(s) = summary {
                print_run(&s, json)?;
            }
        }
        BillingCommand::Clore { term, by, place } => {
            let config = place.load()?;
            apply(
                &config,
                BillingRequest::Close {
                    term: term.clone(),
                    by,
                },
            )?;
            println!(
                "Trimestre {term} clos : les prochaines constatations ne journaliseront que des re-constatations."
            );
        }
        BillingCommand::Remise {
            person,
            term,
            from,
            to,
            proof,
            asked_on,
            by,
            note,
            place,
        } => {
            let config = place.load()?;
            let asked_on = asked_on.unwrap_or_else(|| config.rules.today(SystemClock.now()));
            let (_, events) = apply(
                &config,
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
            )?;
            events.iter().for_each(print_entry);
        }
        BillingCommand::Aide {
            person,
            term,
            kind,
            amount,
            reference,
            by,
            place,
        } => {
            let config = place.load()?;
            let kind: AidKind = kind
                .parse()
                .map_err(|e: selfgate_rules::model::ParseError| {
                    anyhow::anyhow!("--kind: « {} » : {}", e.value, e.expected)
                })?;
            let cents = parse_euros(&amount)
                .map_err(|e| anyhow::anyhow!("--amount: « {} » : {}", e.value, e.expected))?;
            let aid = NewAid {
                person,
                term,
                kind,
                cents,
                reference,
                origin: String::new(),
            };
            let (_, events) = apply(
                &config,
                BillingRequest::Aids {
                    aids: vec![aid],
                    by,
                },
            )?;
            events.iter().for_each(print_entry);
        }
        BillingCommand::Aides { file, by, place } => {
            let config = place.load()?;
            let aids = read_aids(&file)?;
            let (_, events) = apply(&config, BillingRequest::Aids { aids, by })?;
            let total: i64 = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::BillingEntry(b) => match b.input {
                        BillingInput::Aid { cents, .. } => Some(cents),
                        _ => None,
                    },
                    _ => None,
                })
                .sum();
            println!(
                "{} aide(s) saisie(s), {} en tout — prises en compte à la prochaine constatation.",
                events.len(),
                euros(total)
            );
        }
        BillingCommand::Retrait {
            term,
            entry,
            by,
            note,
            place,
        } => {
            let config = place.load()?;
            let (gate, seq) = entry
                .rsplit_once('/')
                .and_then(|(g, s)| Some((g.to_owned(), s.parse::<u64>().ok()?)))
                .ok_or_else(|| {
                    anyhow::anyhow!("--entry: « {entry} » : GATE/SEQ, e.g. self-1/42")
                })?;
            let (_, events) = apply(
                &config,
                BillingRequest::Withdraw {
                    term,
                    entry: EventRef { gate, seq },
                    by,
                    note,
                },
            )?;
            events.iter().for_each(print_entry);
        }
        BillingCommand::Etat { term, json, place } => {
            let config = place.load()?;
            etat(&config, &term, json)?;
        }
        BillingCommand::Avis { term, out, place } => {
            let config = place.load()?;
            super::billing_docs::notices(&config, &term, &out)?;
        }
        BillingCommand::Bordereau {
            term,
            number,
            out,
            place,
        } => {
            let config = place.load()?;
            super::billing_docs::bordereau(&config, &term, number, &out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each pupil's bill, the entries, the bordereaux and what a run would journal now.
fn etat(config: &Config, term: &str, json: bool) -> anyhow::Result<()> {
    let setup = Setup::from_config(config);
    let term = setup
        .term(term)
        .map_err(|m| anyhow::anyhow!("{m}"))?
        .clone();
    let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
    let school = School::read(&store)?;
    let state = TermState::read(&store, &term)?;
    let bills = billing::liquidate_term(&setup, &school, &state, &term).map_err(|errors| {
        anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let pending = billing::run(&setup, &school, &state, &term, "", true)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        for b in &bills {
            println!(
                "{}",
                serde_json::json!({
                    "person": b.person.external_id,
                    "name": b.person.display_name(),
                    "class": b.person.class,
                    "payer": b.payer.as_ref().map(|g| g.id.clone()),
                    "liquidation": b.liquidation,
                    "total_cents": b.liquidation.total_cents(),
                })
            );
        }
        return Ok(());
    }
    println!(
        "Trimestre {} {} ({} au {}), demandes de remise jusqu'au {}{}",
        term.code,
        term.year,
        term.from,
        term.to,
        term.remise_deadline,
        match &state.closed {
            Some(c) => format!(" — clos par {}", c.by),
            None => String::new(),
        }
    );
    let due: i64 = bills.iter().map(|b| b.liquidation.total_cents()).sum();
    println!(
        "{} élève(s) facturé(s), {} dus ; {} bordereau(x) journalisé(s) ; {} saisie(s) en cours.",
        bills.len(),
        euros(due),
        state.last_bordereau(),
        state.entries.len()
    );
    for b in &bills {
        println!(
            "  {:<10} {:<28} {:<6} {:>12}  payeur : {}",
            b.person.external_id,
            b.person.display_name().chars().take(28).collect::<String>(),
            b.person.class,
            euros(b.liquidation.total_cents()),
            b.payer
                .as_ref()
                .map_or_else(|| "aucun".to_owned(), |g| g.postal_name())
        );
        for l in &b.liquidation.lines {
            println!("      {:>12}  {}", euros(l.cents), l.label);
        }
    }
    for (r, _, b) in &state.entries {
        let what = match &b.input {
            BillingInput::Remise {
                from, to, proof, ..
            } => {
                format!("remise du {from} au {to} ({proof})")
            }
            BillingInput::Aid { kind, cents, .. } => {
                format!("{} {}", kind.label_fr(), euros(*cents))
            }
            BillingInput::Cancel { .. } => continue,
        };
        let who = school
            .person(b.person)
            .map_or_else(String::new, |p| p.external_id.clone());
        println!("  saisie {}/{} : {who} {what}", r.gate, r.seq);
    }
    match pending.bordereau {
        None => println!("Une constatation maintenant ne journaliserait rien."),
        Some(n) => println!(
            "Une constatation maintenant journaliserait le bordereau n° {n} : {} ligne(s), {}.",
            pending.lines.len(),
            euros(pending.total_cents)
        ),
    }
    Ok(())
}
