//! `selfgate opposition add|lift|list` and `selfgate badge lost`: what staff do in the kiosk,
//! from the command line. Through the running daemon when there is one (committed, then in
//! force at the gate at once), else on the stopped store.

use std::process::ExitCode;
use std::time::Duration;

use super::words::Msg;
use super::{BadgeCommand, OppositionCommand};
use crate::config::Config;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::control::{self, Answer, Request};
use crate::store::Store;

/// `selfgate opposition …`.
pub fn opposition(what: OppositionCommand) -> anyhow::Result<ExitCode> {
    match what {
        OppositionCommand::Add {
            person,
            reason,
            service,
            from,
            to,
            note,
            by,
            place,
        } => {
            let config = place.load()?;
            let reason = reason
                .parse()
                .map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
            let from = from.unwrap_or_else(|| config.rules.today(SystemClock.now()));
            let note = if note.trim().is_empty() {
                format!("saisie par {by}")
            } else {
                format!("{} (saisie par {by})", note.trim())
            };
            let req = Request::OppositionAdd {
                person: person.clone(),
                reason,
                service,
                from,
                to,
                note,
            };
            if let Answer::Opposition { opposition: o } = apply(&config, req)? {
                println!(
                    "{}",
                    Msg::OppositionSet {
                        person: &person,
                        id: o.id,
                        reason: o.reason.code(),
                        from: o.from,
                        to: o.to,
                    }
                );
            }
        }
        OppositionCommand::Lift { person, id, place } => {
            let config = place.load()?;
            let req = Request::OppositionLift {
                person: person.clone(),
                id,
            };
            apply(&config, req)?;
            println!(
                "{}",
                Msg::OppositionLifted {
                    person: &person,
                    id
                }
            );
        }
        OppositionCommand::List { person, place } => {
            let config = place.load()?;
            let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
            let today = config.rules.today(SystemClock.now());
            let engine = store.load_engine(config.rules.clone(), today)?;
            let roster = engine.roster();
            let mut all: Vec<_> = roster.oppositions().collect();
            all.sort_by_key(|o| (o.person, o.id));
            for o in all {
                let external = roster
                    .person(o.person)
                    .map_or_else(|| format!("#{}", o.person.0), |p| p.external_id.clone());
                if person.as_ref().is_some_and(|p| *p != external) {
                    continue;
                }
                let service = o
                    .service
                    .and_then(|s| config.rules.service(s))
                    .map(|s| s.code.as_str());
                println!(
                    "{}",
                    Msg::OppositionLine {
                        person: &external,
                        id: o.id,
                        reason: o.reason.code(),
                        service,
                        from: o.from,
                        to: o.to,
                        lifted: o.lifted,
                        note: &o.note,
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `selfgate badge …`.
pub fn badge(what: BadgeCommand) -> anyhow::Result<ExitCode> {
    match what {
        BadgeCommand::Lost { badge, place } => {
            let config = place.load()?;
            if let Answer::Credential { credential } = apply(&config, Request::BadgeLost { badge })?
            {
                println!(
                    "{}",
                    Msg::BadgeLost {
                        badge: credential.number.as_str()
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Makes the change through the running daemon, or on the store when none runs.
pub(super) fn apply(config: &Config, req: Request) -> anyhow::Result<Answer> {
    match control::request(&config.data_dir, &req, Duration::from_secs(60))? {
        Some(Answer::Refused { message }) => anyhow::bail!("{message}"),
        Some(answer) => Ok(answer),
        None => {
            let store = Store::open_existing(&config.data_dir)?;
            let now = SystemClock.now();
            let engine = store.load_engine(config.rules.clone(), config.rules.today(now))?;
            let (op, planned) = control::plan_change(config, engine.roster(), &store, req, now)
                .map_err(|m| anyhow::anyhow!("{m}"))?;
            let outcomes = store.write_now(&[op])?;
            Ok(planned.answer(&outcomes))
        }
    }
}
