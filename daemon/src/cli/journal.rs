//! `selfgate journal --data DIR [--since DATE] [--json]`: prints the journal.
//!
//! With `--json`, one object per line: `seq`, `at` (UTC, RFC 3339), `local`, `gate`, `kind`,
//! `service`, `person`, `name`, `credential`, `verdict` (`pass`/`deny`), `reason`,
//! `charge_cents`, `balance_after_cents`, and for corrections and credits what they refer to.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::words::{Msg, text};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use selfgate_rules::journal::BillingInput;
use selfgate_rules::journal::{Correction, CorrectionKind, Event, EventKind, EventRef, Verdict};
use selfgate_rules::model::PersonId;

use selfgate_rules::model::school_day;

use crate::store::{SchoolDescription, Store, StoreError, WriteOp, WriteOutcome};

/// What the journal printer needs to name things.
pub struct Names {
    services: Vec<String>,
    timezone: chrono_tz::Tz,
    persons: HashMap<PersonId, (String, String)>,
}

impl Names {
    pub fn load(store: &Store) -> Result<Names, StoreError> {
        let SchoolDescription { services, timezone } = store.school()?;
        let engine = store.load_engine(
            crate::config::Config::defaults().rules,
            school_day(timezone, Utc::now()),
        )?;
        let persons = engine
            .roster()
            .persons()
            .map(|p| (p.id, (p.external_id.clone(), p.display_name())))
            .collect();
        Ok(Names {
            services,
            timezone,
            persons,
        })
    }

    fn service(&self, id: Option<selfgate_rules::model::ServiceId>) -> Value {
        match id {
            Some(s) => self
                .services
                .get(usize::from(s.0))
                .map_or_else(|| json!(s.0), |c| json!(c)),
            None => Value::Null,
        }
    }
    fn person(&self, id: Option<PersonId>) -> (Value, Value) {
        match id.and_then(|id| self.persons.get(&id)) {
            Some((ext, name)) => (json!(ext), json!(name)),
            None => (Value::Null, Value::Null),
        }
    }
}

/// One event as a JSON object.
pub fn event_json(e: &Event, names: &Names) -> Value {
    let mut v = json!({
        "seq": e.seq,
        "at": e.at.to_rfc3339(),
        "local": e.at.with_timezone(&names.timezone).format("%Y-%m-%d %H:%M:%S").to_string(),
        "gate": e.gate,
    });
    let o = v.as_object_mut();
    let Some(o) = o else { return v };
    match &e.kind {
        EventKind::Passage(p) => {
            let (person, name) = names.person(p.person);
            o.insert("kind".into(), json!("passage"));
            o.insert("service".into(), names.service(p.service));
            o.insert("day".into(), json!(p.day.to_string()));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("credential".into(), json!(p.credential));
            o.insert("verdict".into(), json!(p.verdict.code()));
            o.insert("reason".into(), json!(p.reason.code()));
            o.insert("charge_cents".into(), json!(p.charge_cents));
            o.insert("balance_after_cents".into(), json!(p.balance_after_cents));
            if let Some(t) = p.previous_at {
                o.insert("previous_at".into(), json!(t.to_rfc3339()));
            }
            if let Some(by) = &p.by {
                o.insert("by".into(), json!(by));
                o.insert("note".into(), json!(p.note));
            }
        }
        EventKind::Correction(c) => {
            let (person, name) = names.person(Some(c.person));
            o.insert("kind".into(), json!("correction"));
            o.insert("correction".into(), json!(c.kind));
            o.insert(
                "refers_to".into(),
                json!({"gate": c.refers_to.gate, "seq": c.refers_to.seq}),
            );
            o.insert("service".into(), names.service(Some(c.service)));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("refund_cents".into(), json!(c.refund_cents));
            o.insert("note".into(), json!(c.note));
        }
        EventKind::Credit(c) => {
            let (person, name) = names.person(Some(c.person));
            o.insert("kind".into(), json!("credit"));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("credit_cents".into(), json!(c.cents));
            o.insert("note".into(), json!(c.note));
        }
        EventKind::Payment(p) => {
            let (person, name) = names.person(Some(p.person));
            o.insert("kind".into(), json!("payment"));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("cents".into(), json!(p.cents));
            o.insert("mode".into(), json!(p.mode.code()));
            o.insert("mode_detail".into(), json!(p.mode.detail()));
            o.insert("payer".into(), json!(p.payer));
            o.insert("by".into(), json!(p.by));
            o.insert("regie".into(), json!(p.receipt.regie));
            o.insert("receipt".into(), json!(p.receipt.to_string()));
            o.insert("note".into(), json!(p.note));
        }
        EventKind::PaymentCancel(c) => {
            let (person, name) = names.person(Some(c.person));
            o.insert("kind".into(), json!("payment_cancel"));
            o.insert(
                "refers_to".into(),
                json!({"gate": c.refers_to.gate, "seq": c.refers_to.seq}),
            );
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("cents".into(), json!(-c.cents));
            o.insert("receipt".into(), json!(c.receipt.to_string()));
            o.insert("regie".into(), json!(c.receipt.regie));
            o.insert("by".into(), json!(c.by));
            o.insert("note".into(), json!(c.reason));
        }
        EventKind::Refund(r) => {
            let (person, name) = names.person(Some(r.person));
            o.insert("kind".into(), json!("refund"));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("cents".into(), json!(-r.cents));
            o.insert("mode".into(), json!(r.mode.code()));
            o.insert("mode_detail".into(), json!(r.mode.detail()));
            o.insert("regie".into(), json!(r.regie));
            o.insert("by".into(), json!(r.by));
            o.insert("note".into(), json!(r.reason));
        }
        EventKind::Retention(r) => {
            o.insert("kind".into(), json!("retention"));
            o.insert("cutoff".into(), json!(r.cutoff.to_rfc3339()));
            o.insert("anonymised".into(), json!(r.anonymised));
        }
        EventKind::Alarm(a) => {
            o.insert("kind".into(), json!("alarm"));
            o.insert("alarm".into(), json!(a.kind));
            o.insert("note".into(), json!(a.detail));
        }
        EventKind::BillingEntry(b) => {
            let (person, name) = names.person(Some(b.person));
            o.insert("kind".into(), json!("billing_entry"));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("year".into(), json!(b.year));
            o.insert("term".into(), json!(b.term));
            o.insert("input".into(), json!(b.input));
            o.insert("by".into(), json!(b.by));
            o.insert("note".into(), json!(b.note));
        }
        EventKind::Receivable(r) => {
            let (person, name) = names.person(Some(r.person));
            o.insert("kind".into(), json!("receivable"));
            o.insert("person".into(), person);
            o.insert("name".into(), name);
            o.insert("year".into(), json!(r.year));
            o.insert("term".into(), json!(r.term));
            o.insert("bordereau".into(), json!(r.bordereau));
            o.insert("line".into(), json!(r.line));
            o.insert("receivable".into(), json!(r.kind));
            o.insert("forfait".into(), json!(r.forfait));
            o.insert("debtor".into(), json!(r.debtor));
            o.insert("forfait_cents".into(), json!(r.forfait_cents));
            o.insert("remises_cents".into(), json!(r.remises_cents));
            o.insert("aides_cents".into(), json!(r.aides_cents));
            o.insert("cents".into(), json!(r.cents));
            o.insert("by".into(), json!(r.by));
        }
        EventKind::TermClosed(t) => {
            o.insert("kind".into(), json!("term_closed"));
            o.insert("year".into(), json!(t.year));
            o.insert("term".into(), json!(t.term));
            o.insert("by".into(), json!(t.by));
        }
    }
    v
}

/// Prints the events at or after `since`, as a table or JSON lines.
pub fn print(
    store: &Store,
    since: Option<DateTime<Utc>>,
    as_json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let names = Names::load(store)?;
    let mut events = store.events(since)?;
    events.sort_by(|a, b| (a.at, &a.gate, a.seq).cmp(&(b.at, &b.gate, b.seq)));
    if !as_json {
        writeln!(
            out,
            "{:<10} {:>6}  {:<19}  {:<14} {:<12} {:<24} {:<5} {:<26} {:>8}",
            "gate", "seq", "local time", "service", "person", "name", "", "reason", "charge"
        )?;
    }
    for e in &events {
        let v = event_json(e, &names);
        if as_json {
            writeln!(out, "{v}")?;
            continue;
        }
        let s = |k: &str| match &v[k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let (what, reason, amount) = match &e.kind {
            EventKind::Passage(p) => (s("verdict"), s("reason"), -p.charge_cents),
            EventKind::Correction(c) => (
                "corr".into(),
                format!("{:?} of {}/{}", c.kind, c.refers_to.gate, c.refers_to.seq),
                c.refund_cents,
            ),
            EventKind::Credit(c) => ("cred".into(), c.note.clone(), c.cents),
            EventKind::Payment(p) => (
                "pay".into(),
                format!("{} {}", p.receipt, p.mode.code()),
                p.cents,
            ),
            EventKind::PaymentCancel(c) => {
                ("unpay".into(), format!("{} annulée", c.receipt), -c.cents)
            }
            EventKind::Refund(r) => ("refund".into(), r.reason.clone(), -r.cents),
            EventKind::Alarm(a) => ("alarm".into(), a.detail.clone(), 0),
            EventKind::Retention(r) => ("purge".into(), format!("{} anonymised", r.anonymised), 0),
            EventKind::BillingEntry(b) => (
                "bill".into(),
                match &b.input {
                    BillingInput::Remise { from, to, .. } => {
                        format!("{} remise {from}–{to}", b.term)
                    }
                    BillingInput::Aid { kind, .. } => format!("{} {}", b.term, kind.code()),
                    BillingInput::Cancel { refers_to } => {
                        format!("{} retrait {}/{}", b.term, refers_to.gate, refers_to.seq)
                    }
                },
                match &b.input {
                    BillingInput::Aid { cents, .. } => -cents,
                    _ => 0,
                },
            ),
            EventKind::Receivable(r) => (
                "droit".into(),
                format!("{} B{} l.{}", r.term, r.bordereau, r.line),
                r.cents,
            ),
            EventKind::TermClosed(t) => ("clos".into(), format!("{} clos", t.term), 0),
        };
        writeln!(
            out,
            "{:<10} {:>6}  {:<19}  {:<14} {:<12} {:<24} {:<5} {:<26} {:>8}",
            e.gate,
            e.seq,
            s("local"),
            s("service"),
            s("person"),
            // An unknown badge has no name: the badge read is what staff look for.
            match (s("name"), s("credential")) {
                (name, cred) if name.is_empty() && !cred.is_empty() => format!("badge {cred}"),
                (name, _) => name,
            }
            .chars()
            .take(24)
            .collect::<String>(),
            what,
            reason,
            if amount == 0 {
                String::new()
            } else {
                selfgate_rules::model::format_euros(amount)
            }
        )?;
    }
    Ok(())
}

/// Prints every person: external id, name, class, category, régime, badges with their status,
/// and ticket balance; as a table or JSON lines.
pub fn print_persons(store: &Store, as_json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let school = store.school()?;
    let today = school_day(school.timezone, Utc::now());
    let engine = store.load_engine(crate::config::Config::defaults().rules, today)?;
    let roster = engine.roster();
    // Services by their codes as the store records them (by number when it does not).
    let codes = |set: selfgate_rules::model::ServiceSet| -> Vec<String> {
        (0..16u8)
            .map(selfgate_rules::model::ServiceId)
            .filter(|s| set.contains(*s))
            .map(|s| {
                school
                    .services
                    .get(usize::from(s.0))
                    .cloned()
                    .unwrap_or_else(|| s.0.to_string())
            })
            .collect()
    };
    // The day a pupil has left the school (SIÈCLE), from their departure in force.
    let left = |p: &selfgate_rules::model::Person| {
        roster
            .oppositions_of(p.id)
            .iter()
            .filter(|o| o.reason == selfgate_rules::model::OppositionReason::Depart && !o.lifted)
            .map(|o| o.from)
            .min()
    };
    let mut persons: Vec<_> = roster.persons().collect();
    persons.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    if !as_json {
        writeln!(
            out,
            "{:<14} {:<28} {:<6} {:<10} {:<8} {:>10}  badges",
            "person", "name", "class", "category", "régime", "balance"
        )?;
    }
    for p in persons {
        let mut badges: Vec<(String, &str)> = roster
            .credentials_of(p.id)
            .map(|c| (c.number.to_string(), c.status.code()))
            .collect();
        badges.sort();
        let balance = roster.balance(p.id);
        if as_json {
            let v = json!({
                "person": p.external_id,
                "name": p.display_name(),
                "class": p.class,
                "category": p.category.code(),
                "regime": p.regime.code(),
                "balance_cents": balance,
                "left": left(p).map(|d| d.to_string()),
                "badges": badges.iter().map(|(n, s)| json!({"number": n, "status": s})).collect::<Vec<_>>(),
                "forfaits": p.forfaits.iter().map(|f| json!({
                    "days": f.weekdays.to_string(),
                    "services": codes(f.services),
                    "from": f.from.to_string(),
                    "to": f.to.to_string(),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{v}")?;
        } else {
            let shown: Vec<String> = badges
                .iter()
                .map(|(n, s)| {
                    if *s == "active" {
                        n.clone()
                    } else {
                        format!("{n} ({s})")
                    }
                })
                .collect();
            writeln!(
                out,
                "{:<14} {:<28} {:<6} {:<10} {:<8} {:>10}  {}",
                p.external_id,
                p.display_name().chars().take(28).collect::<String>(),
                p.class,
                p.category.code(),
                p.regime.code(),
                selfgate_rules::model::format_euros(balance),
                shown.join(", ")
            )?;
        }
    }
    Ok(())
}

/// Why a passage cannot be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no journal event {0}")]
    NotFound(String),
    #[error("event {0} is not a granted passage: only passes can be cancelled")]
    NotAPass(String),
    #[error("passage {0} was already corrected by {1}")]
    AlreadyCorrected(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Cancels a granted passage (a mistake at the gate): appends a correction that refers to it,
/// refunds its charge and frees the anti-passback count. The passage itself stays in the
/// journal, untouched.
pub fn cancel(
    store: &Store,
    gate: &str,
    seq: u64,
    by: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<Event, CancelError> {
    let name = format!("{gate}/{seq}");
    let event = store
        .event(gate, seq)?
        .ok_or_else(|| CancelError::NotFound(name.clone()))?;
    let (Some(p), true) = (
        event.passage(),
        event.passage().is_some_and(|p| p.verdict == Verdict::Pass),
    ) else {
        return Err(CancelError::NotAPass(name));
    };
    let (Some(person), Some(service)) = (p.person, p.service) else {
        return Err(CancelError::NotAPass(name));
    };
    let target = EventRef {
        gate: gate.to_owned(),
        seq,
    };
    if let Some(c) = store
        .events(Some(event.at))?
        .into_iter()
        .find(|e| matches!(&e.kind, EventKind::Correction(c) if c.refers_to == target))
    {
        return Err(CancelError::AlreadyCorrected(
            name,
            format!("{}/{}", c.gate, c.seq),
        ));
    }
    let correction = Correction {
        refers_to: target,
        kind: CorrectionKind::Cancel,
        person,
        service,
        day: p.day,
        refund_cents: p.charge_cents,
        by: Some(by.to_owned()),
        note: note.to_owned(),
    };
    let op = WriteOp::Append {
        gate: gate.to_owned(),
        at,
        kind: EventKind::Correction(correction),
    };
    match store.write_now(&[op])?.pop() {
        Some(WriteOutcome::Appended(e)) => Ok(*e),
        _ => Err(CancelError::NotFound(name)),
    }
}

/// `selfgate persons --data DIR [--json]`.
pub fn persons(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (store, _copy) = super::backup::store_to_read(data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print_persons(&store, json, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `selfgate journal --data DIR [--since DATE] [--json]`.
pub fn journal(data: &Path, since: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let (store, _copy) = super::backup::store_to_read(data)?;
    let since = since.map(|s| parse_since(s, &store)).transpose()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print(&store, since, json, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `selfgate cancel --data DIR --event GATE/SEQ --by NAME --reason TEXT`.
pub fn cancel_command(
    data: &Path,
    event: &str,
    by: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let (gate, seq) = event
        .rsplit_once('/')
        .and_then(|(g, s)| s.parse::<u64>().ok().map(|s| (g.to_owned(), s)))
        .with_context(|| text(Msg::EventNotGateSeq(event)))?;
    let store = Store::open_existing(data)?;
    let c = cancel(&store, &gate, seq, by, reason, Utc::now())?;
    println!(
        "{}",
        Msg::Cancelled {
            gate: &gate,
            seq,
            by_gate: &c.gate,
            by_seq: c.seq
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--since`: a local date of the school (its midnight, in the time zone the store records)
/// or an RFC 3339 instant.
pub fn parse_since(s: &str, store: &Store) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| text(Msg::SinceNotDate(s)))?;
    Ok(selfgate_rules::model::school_midnight(
        store.school_timezone()?,
        day,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use selfgate_rules::journal::{Passage, Reason};
    use selfgate_rules::model::ServiceId;

    #[test]
    fn cancelling_refunds_frees_the_service_and_happens_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        let person = crate::store::fixtures::person(0);
        let pass = Passage {
            balance_after_cents: Some(-390),
            ..crate::store::fixtures::ticket_pass(0, day, 390)
        };
        let deny = Passage {
            verdict: Verdict::Deny,
            reason: Reason::AlreadyServed,
            charge_cents: 0,
            ..pass.clone()
        };
        let at = Utc::now();
        store
            .write_now(&[
                WriteOp::PutPerson(person),
                WriteOp::Append {
                    gate: "g".into(),
                    at,
                    kind: EventKind::Passage(pass),
                },
                WriteOp::Append {
                    gate: "g".into(),
                    at,
                    kind: EventKind::Passage(deny),
                },
            ])
            .unwrap();
        let rules = crate::config::Config::defaults().rules;
        assert_eq!(
            store
                .load_engine(rules.clone(), day)
                .unwrap()
                .roster()
                .balance(PersonId(0)),
            -390
        );

        let c = cancel(&store, "g", 1, "Mme Leroy", "badge d'un autre élève", at).unwrap();
        assert_eq!(c.seq, 3);
        let engine = store.load_engine(rules, day).unwrap();
        assert_eq!(engine.roster().balance(PersonId(0)), 0, "refunded");
        assert!(
            engine
                .served()
                .get(PersonId(0), day, ServiceId(1))
                .is_none(),
            "service freed"
        );
        assert!(
            store.event("g", 1).unwrap().unwrap().passage().is_some(),
            "the passage stays"
        );

        assert!(matches!(
            cancel(&store, "g", 1, "x", "y", at),
            Err(CancelError::AlreadyCorrected(..))
        ));
        assert!(matches!(
            cancel(&store, "g", 2, "x", "y", at),
            Err(CancelError::NotAPass(_))
        ));
        assert!(matches!(
            cancel(&store, "g", 99, "x", "y", at),
            Err(CancelError::NotFound(_))
        ));
    }
}
