//! `selfgate journal --data DIR [--since DATE] [--json]`: prints the journal.
//!
//! With `--json`, one object per line: `seq`, `at` (UTC, RFC 3339), `local`, `gate`, `kind`,
//! `service`, `person`, `name`, `credential`, `verdict` (`pass`/`deny`), `reason`,
//! `charge_cents`, `balance_after_cents`, and for corrections and credits what they refer to.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use selfgate_rules::journal::{Event, EventKind};
use selfgate_rules::model::PersonId;

use crate::store::{Store, StoreError};

/// What the journal printer needs to name things.
pub struct Names {
    services: Vec<String>,
    timezone: chrono_tz::Tz,
    persons: HashMap<PersonId, (String, String)>,
}

impl Names {
    pub fn load(store: &Store) -> Result<Names, StoreError> {
        let school: Value = store
            .meta("school")?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let services = school["services"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let timezone = school["timezone"].as_str().and_then(|t| t.parse().ok()).unwrap_or(chrono_tz::Europe::Paris);
        let engine = store.load_engine(crate::config::Config::defaults().rules, Utc::now().date_naive())?;
        let persons = engine
            .roster()
            .persons()
            .map(|p| (p.id, (p.external_id.clone(), p.display_name())))
            .collect();
        Ok(Names { services, timezone, persons })
    }

    fn service(&self, id: Option<selfgate_rules::model::ServiceId>) -> Value {
        match id {
            Some(s) => self.services.get(usize::from(s.0)).map_or_else(|| json!(s.0), |c| json!(c)),
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
            o.insert("refers_to".into(), json!({"gate": c.refers_to.gate, "seq": c.refers_to.seq}));
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
        EventKind::Alarm(a) => {
            o.insert("kind".into(), json!("alarm"));
            o.insert("alarm".into(), json!(a.kind));
            o.insert("note".into(), json!(a.detail));
        }
    }
    v
}

/// Prints the events at or after `since`, as a table or JSON lines.
pub fn print(store: &Store, since: Option<DateTime<Utc>>, as_json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let names = Names::load(store)?;
    let mut events = store.events(since)?;
    events.sort_by(|a, b| (a.at, &a.gate, a.seq).cmp(&(b.at, &b.gate, b.seq)));
    if !as_json {
        writeln!(out, "{:<10} {:>6}  {:<19}  {:<14} {:<12} {:<24} {:<5} {:<26} {:>8}", "gate", "seq", "local time", "service", "person", "name", "", "reason", "charge")?;
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
            EventKind::Correction(c) => ("corr".into(), format!("{:?} of {}/{}", c.kind, c.refers_to.gate, c.refers_to.seq), c.refund_cents),
            EventKind::Credit(c) => ("cred".into(), c.note.clone(), c.cents),
            EventKind::Alarm(a) => ("alarm".into(), a.detail.clone(), 0),
        };
        writeln!(
            out,
            "{:<10} {:>6}  {:<19}  {:<14} {:<12} {:<24} {:<5} {:<26} {:>8}",
            e.gate,
            e.seq,
            s("local"),
            s("service"),
            s("person"),
            s("name").chars().take(24).collect::<String>(),
            what,
            reason,
            if amount == 0 { String::new() } else { selfgate_rules::model::format_euros(amount) }
        )?;
    }
    Ok(())
}
