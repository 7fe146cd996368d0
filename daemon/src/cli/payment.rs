//! `selfgate payment add|cancel|refund|list`: the régie from the command line. Through the
//! running daemon when there is one (committed, the new balance in force at the gate at once),
//! else on the stopped store; the receipt number is the store's, gap-free per régie and year.

use std::process::ExitCode;

use anyhow::Context;
use selfgate_rules::EventKind;
use selfgate_rules::journal::PaymentMode;
use selfgate_rules::model::parse_euros;

use super::PaymentCommand;
use super::words::Msg;
use crate::config::Config;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::control::{Answer, Request};

/// The mode from the flags: `--mode` and what a cheque or a reference needs.
fn mode(
    mode: &str,
    cheque_number: Option<String>,
    bank: Option<String>,
    reference: Option<String>,
) -> anyhow::Result<PaymentMode> {
    Ok(match mode.trim() {
        "especes" | "espèces" | "cash" => PaymentMode::Especes,
        "cheque" | "chèque" => PaymentMode::Cheque {
            number: cheque_number.unwrap_or_default(),
            bank: bank.unwrap_or_default(),
        },
        "carte" | "card" => PaymentMode::Carte,
        "virement" | "transfer" => PaymentMode::Virement,
        "en_ligne" | "online" => PaymentMode::EnLigne {
            reference: reference.unwrap_or_default(),
        },
        "import" => PaymentMode::Import {
            reference: reference.unwrap_or_default(),
        },
        other => anyhow::bail!(
            "--mode: « {other} » : especes, cheque, carte, virement, en_ligne ou import"
        ),
    })
}

fn amount(s: &str) -> anyhow::Result<i64> {
    parse_euros(s).map_err(|e| anyhow::anyhow!("--amount: « {} » : {}", e.value, e.expected))
}

/// The person's name and balance after `event`, from the store as it stands.
fn after(config: &Config, person: selfgate_rules::model::PersonId) -> (String, i64) {
    let Ok((store, _copy)) = super::backup::store_to_read(&config.data_dir) else {
        return (format!("#{}", person.0), 0);
    };
    let today = config.rules.today(SystemClock.now());
    match store.load_engine(config.rules.clone(), today) {
        Ok(e) => (
            e.roster()
                .person(person)
                .map_or_else(|| format!("#{}", person.0), |p| p.display_name()),
            e.roster().balance(person),
        ),
        Err(_) => (format!("#{}", person.0), 0),
    }
}

/// `selfgate payment …`.
pub fn command(what: PaymentCommand) -> anyhow::Result<ExitCode> {
    match what {
        PaymentCommand::Add {
            person,
            amount: a,
            mode: m,
            cheque_number,
            bank,
            reference,
            payer,
            by,
            regie,
            note,
            place,
        } => {
            let config = place.load()?;
            let req = Request::PaymentAdd {
                person,
                cents: amount(&a)?,
                mode: mode(&m, cheque_number, bank, reference)?,
                payer,
                by,
                regie,
                note,
            };
            // A payment is said taken only with its receipt: any other answer is an error,
            // never a silent success.
            let answer = super::staff::apply(&config, req)?;
            let Answer::Journaled { event } = answer else {
                anyhow::bail!("unexpected answer from the daemon: {answer:?}");
            };
            let EventKind::Payment(p) = &event.kind else {
                anyhow::bail!("unexpected event journaled: {:?}", event.kind);
            };
            let (name, balance) = after(&config, p.person);
            println!(
                "{}",
                Msg::PaymentTaken {
                    receipt: &p.receipt.to_string(),
                    name: &name,
                    cents: p.cents,
                    mode: p.mode.code(),
                    balance,
                }
            );
        }
        PaymentCommand::Cancel {
            receipt,
            by,
            reason,
            place,
        } => {
            let config = place.load()?;
            let req = Request::PaymentCancel {
                receipt,
                by,
                reason,
            };
            if let Answer::Journaled { event } = super::staff::apply(&config, req)? {
                if let EventKind::PaymentCancel(c) = &event.kind {
                    let (name, balance) = after(&config, c.person);
                    println!(
                        "{}",
                        Msg::PaymentCancelled {
                            receipt: &c.receipt.to_string(),
                            name: &name,
                            cents: c.cents,
                            balance,
                        }
                    );
                }
            }
        }
        PaymentCommand::Refund {
            person,
            amount: a,
            mode: m,
            cheque_number,
            bank,
            reference,
            by,
            reason,
            regie,
            place,
        } => {
            let config = place.load()?;
            let req = Request::Refund {
                person,
                cents: amount(&a)?,
                mode: mode(&m, cheque_number, bank, reference)?,
                by,
                reason,
                regie,
            };
            if let Answer::Journaled { event } = super::staff::apply(&config, req)? {
                if let EventKind::Refund(r) = &event.kind {
                    let (name, balance) = after(&config, r.person);
                    println!(
                        "{}",
                        Msg::Refunded {
                            name: &name,
                            cents: r.cents,
                            balance,
                        }
                    );
                }
            }
        }
        PaymentCommand::List {
            day,
            person,
            json,
            place,
        } => {
            let config = place.load()?;
            let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
            let today = config.rules.today(SystemClock.now());
            let engine = store.load_engine(config.rules.clone(), today)?;
            let roster = engine.roster();
            let tz = config.rules.timezone;
            let events = store.events(None).context("reading the journal")?;
            let cancelled: std::collections::HashSet<String> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::PaymentCancel(c) => Some(c.receipt.to_string()),
                    _ => None,
                })
                .collect();
            let mut payments: Vec<_> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Payment(p) => Some((e, p)),
                    _ => None,
                })
                .filter(|(e, _)| day.is_none_or(|d| config.rules.today(e.at) == d))
                .filter(|(_, p)| {
                    person.as_ref().is_none_or(|x| {
                        roster.person(p.person).is_some_and(|q| q.external_id == *x)
                    })
                })
                .collect();
            payments.sort_by(|a, b| a.1.receipt.cmp(&b.1.receipt));
            for (e, p) in payments {
                let receipt = p.receipt.to_string();
                let name = roster
                    .person(p.person)
                    .map_or_else(|| format!("#{}", p.person.0), |q| q.display_name());
                let when = e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
                if json {
                    let v = serde_json::json!({
                        "receipt": receipt,
                        "at": e.at.to_rfc3339(),
                        "local": when,
                        "person": roster.person(p.person).map(|q| q.external_id.clone()),
                        "name": name,
                        "cents": p.cents,
                        "mode": p.mode.code(),
                        "mode_detail": p.mode.detail(),
                        "payer": p.payer,
                        "by": p.by,
                        "cancelled": cancelled.contains(&receipt),
                        "gate": e.gate,
                        "seq": e.seq,
                    });
                    println!("{v}");
                } else {
                    println!(
                        "{}",
                        Msg::PaymentLine {
                            receipt: &receipt,
                            when: &when,
                            name: &name,
                            cents: p.cents,
                            mode: p.mode.code(),
                            payer: &p.payer,
                            cancelled: cancelled.contains(&receipt),
                        }
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
