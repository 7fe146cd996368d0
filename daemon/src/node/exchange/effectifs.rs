//! Kitchen headcounts (effectifs) for Easilys, Adoria and WebGerest: per day and service, a
//! forecast (registered pupils, minus known absences, plus the ticket uptake expected from the
//! same weekday of recent weeks) and, once the service is over, the actual counts. Written as
//! CSV or JSON to a folder or an HTTPS endpoint; columns in `docs/effectifs.md`.
//!
//! The counting is pure ([`headcounts`]): roster, journal and time in, rows out.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use selfgate_rules::engine::Roster;
use selfgate_rules::journal::{Event, EventKind, Reason, Verdict};
use selfgate_rules::model::{PersonId, ServiceId};

use super::pronote::{registered, served_on};
use crate::config::{Config, EffectifsConfig, FileFormat};

/// A forecast or an actual count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Prevision,
    Reel,
}

impl RowKind {
    pub fn code(self) -> &'static str {
        match self {
            RowKind::Prevision => "prevision",
            RowKind::Reel => "reel",
        }
    }
}

/// One line of the export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub date: NaiveDate,
    pub service: String,
    pub libelle: String,
    #[serde(rename = "type")]
    pub kind: RowKind,
    /// Pupils registered (a forfait covers this day and service).
    pub inscrits: u32,
    /// Forecast: registered pupils with an opposition in force (absent per PRONOTE…).
    /// Actual: registered pupils who did not come.
    pub absents: u32,
    /// Forecast: expected meals on tickets (mean of the same weekday over recent weeks).
    /// Actual: meals taken on tickets.
    pub tickets: u32,
    /// Forecast: inscrits − absents + tickets. Actual: meals served.
    pub total: u32,
}

/// A granted passage still standing (not cancelled or corrected).
struct Meal {
    person: PersonId,
    day: NaiveDate,
    service: ServiceId,
    ticket: bool,
}

/// The meals actually served, from the journal: granted passages minus those a correction
/// undid.
fn meals(events: &[Event]) -> Vec<Meal> {
    let undone: HashSet<(&str, u64)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Correction(c) => Some((c.refers_to.gate.as_str(), c.refers_to.seq)),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter(|e| !undone.contains(&(e.gate.as_str(), e.seq)))
        .filter_map(|e| {
            let p = e.passage()?;
            if p.verdict != Verdict::Pass {
                return None;
            }
            Some(Meal {
                person: p.person?,
                day: p.day,
                service: p.service?,
                ticket: p.reason == Reason::Ticket,
            })
        })
        .collect()
}

/// Rounded mean.
fn mean(values: &[u32]) -> u32 {
    if values.is_empty() {
        return 0;
    }
    let n = values.len() as u64;
    let sum: u64 = values.iter().map(|v| u64::from(*v)).sum();
    u32::try_from((sum + n / 2) / n).unwrap_or(u32::MAX)
}

/// The rows at `now`: forecasts from today for `days_ahead` more days; actual counts of
/// yesterday's services and of today's that have ended. `events` is the journal since at least
/// `history_weeks` weeks before yesterday.
pub fn headcounts(
    config: &Config,
    opts: &EffectifsConfig,
    roster: &Roster,
    events: &[Event],
    now: DateTime<Utc>,
) -> Vec<Row> {
    let rules = &config.rules;
    let (today, time) = rules.local(now);
    let meals = meals(events);
    let mut tickets: HashMap<(NaiveDate, ServiceId), u32> = HashMap::new();
    let mut came: HashMap<(NaiveDate, ServiceId), HashSet<PersonId>> = HashMap::new();
    let mut total: HashMap<(NaiveDate, ServiceId), u32> = HashMap::new();
    for m in &meals {
        let k = (m.day, m.service);
        *total.entry(k).or_default() += 1;
        if m.ticket {
            *tickets.entry(k).or_default() += 1;
        }
        came.entry(k).or_default().insert(m.person);
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut rows = Vec::new();
    let yesterday = today.pred_opt().unwrap_or(today);
    // Actual counts first, oldest first.
    for day in [yesterday, today] {
        for s in &rules.services {
            if !served_on(rules, day, s.id) || (day == today && time < s.end) {
                continue;
            }
            let reg = registered(roster, rules, day, s.id);
            let here = came.get(&(day, s.id));
            let absent = reg
                .iter()
                .filter(|p| here.is_none_or(|h| !h.contains(&p.id)))
                .count();
            rows.push(Row {
                date: day,
                service: s.code.clone(),
                libelle: s.label.clone(),
                kind: RowKind::Reel,
                inscrits: count(reg.len()),
                absents: count(absent),
                tickets: tickets.get(&(day, s.id)).copied().unwrap_or(0),
                total: total.get(&(day, s.id)).copied().unwrap_or(0),
            });
        }
    }
    for ahead in 0..=opts.days_ahead {
        let day = today + chrono::Days::new(u64::from(ahead));
        for s in &rules.services {
            if !served_on(rules, day, s.id) {
                continue;
            }
            let reg = registered(roster, rules, day, s.id);
            let absent = reg
                .iter()
                .filter(|p| {
                    roster
                        .oppositions_of(p.id)
                        .iter()
                        .any(|o| o.effective(day, s.id))
                })
                .count();
            // The same weekday of the past weeks, strictly before today, when served.
            let history: Vec<u32> = (1..=u64::from(opts.history_weeks) + u64::from(ahead / 7) + 1)
                .filter_map(|w| day.checked_sub_days(chrono::Days::new(7 * w)))
                .filter(|d| *d < today && served_on(rules, *d, s.id))
                .take(opts.history_weeks as usize)
                .map(|d| tickets.get(&(d, s.id)).copied().unwrap_or(0))
                .collect();
            let expected = mean(&history);
            let (inscrits, absents) = (count(reg.len()), count(absent));
            rows.push(Row {
                date: day,
                service: s.code.clone(),
                libelle: s.label.clone(),
                kind: RowKind::Prevision,
                inscrits,
                absents,
                tickets: expected,
                total: inscrits.saturating_sub(absents).saturating_add(expected),
            });
        }
    }
    rows
}

/// The earliest instant whose journal `headcounts` needs at `now`: the history weeks before
/// the farthest forecast day, and a margin for the time zone.
pub fn history_start(opts: &EffectifsConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    let weeks = i64::from(opts.history_weeks) + i64::from(opts.days_ahead / 7) + 2;
    now - chrono::TimeDelta::days(7 * weeks + 2)
}

/// CSV columns, in order.
pub const COLUMNS: [&str; 8] = [
    "date", "service", "libelle", "type", "inscrits", "absents", "tickets", "total",
];

/// The export's bytes.
pub fn render(
    config: &Config,
    opts: &EffectifsConfig,
    rows: &[Row],
    now: DateTime<Utc>,
) -> Vec<u8> {
    match opts.format {
        FileFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .from_writer(Vec::new());
            let _ = w.write_record(COLUMNS);
            for r in rows {
                let _ = w.write_record([
                    r.date.to_string(),
                    crate::infra::files::spreadsheet_safe(&r.service).into_owned(),
                    crate::infra::files::spreadsheet_safe(&r.libelle).into_owned(),
                    r.kind.code().to_owned(),
                    r.inscrits.to_string(),
                    r.absents.to_string(),
                    r.tickets.to_string(),
                    r.total.to_string(),
                ]);
            }
            w.into_inner().unwrap_or_default()
        }
        FileFormat::Json => {
            let doc = serde_json::json!({
                "format": "selfgate-effectifs/1",
                "logiciel": opts.software.code(),
                "etablissement": config.school.name,
                "uai": config.school.uai,
                "genere_le": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "lignes": rows,
            });
            serde_json::to_vec_pretty(&doc).unwrap_or_default()
        }
    }
}

/// The file name of an export made at `now`.
pub fn file_name(config: &Config, opts: &EffectifsConfig, now: DateTime<Utc>) -> String {
    let school = if config.school.uai.is_empty() {
        "etablissement".to_owned()
    } else {
        config.school.uai.clone()
    };
    let ext = match opts.format {
        FileFormat::Csv => "csv",
        FileFormat::Json => "json",
    };
    format!(
        "effectifs-{}-{school}-{}.{ext}",
        opts.software.code(),
        now.with_timezone(&config.rules.timezone)
            .format("%Y%m%d-%H%M%S")
    )
}

/// Counts per (date, service, type), for the report.
pub fn summary(rows: &[Row]) -> BTreeMap<String, u32> {
    rows.iter()
        .map(|r| {
            (
                format!("{} {} {}", r.date, r.service, r.kind.code()),
                r.total,
            )
        })
        .collect()
}
