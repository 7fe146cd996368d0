//! Sync API version 1: what the hub and its gates exchange, as JSON (documented in
//! `docs/sync-api.yaml`). Pure data and its decoder; the transport is in `hub.rs` and
//! `client.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use selfgate_rules::journal::Event;
use selfgate_rules::model::{
    Closure, Credential, Opposition, Person, PersonId, SchoolRules, Service, ServiceId, Tariff,
};

/// Every route the hub serves, as (method, path). The router is built from this list and a test
/// checks it against `docs/sync-api.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/events"),
    ("GET", "/v1/events/ack"),
    ("GET", "/v1/roster/snapshot"),
    ("GET", "/v1/roster/changes"),
    ("GET", "/v1/live"),
    ("GET", "/v1/doubles"),
];

/// Most events in one batch the hub accepts.
pub use crate::config::sync::MAX_BATCH;
/// Most bytes in one batch's body: the hub accepts this much, and a gate sends no more (it
/// splits a batch that would be larger, or that a hub refuses as too large).
pub const MAX_BATCH_BYTES: usize = 8 << 20;
/// Most changes in one page of `/v1/roster/changes`.
pub const MAX_CHANGES: usize = 10_000;

/// `POST /v1/events`: journal events of the calling gate, in sequence order, contiguous.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub events: Vec<Event>,
}

/// The hub's answer: it holds every event of `gate` up to `acked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub gate: String,
    pub acked: u64,
    /// Events of the batch the hub refused to apply (kept in its quarantine, numbers acked so
    /// the gate goes on): why each one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
}

/// An event the hub would not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub seq: u64,
    pub reason: String,
}

/// The school rules the hub decides for the site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRules {
    pub services: Vec<Service>,
    pub closures: Vec<Closure>,
    pub tariffs: Vec<Tariff>,
}

impl SiteRules {
    pub fn of(rules: &SchoolRules) -> SiteRules {
        SiteRules {
            services: rules.services.clone(),
            closures: rules.closures.clone(),
            tariffs: rules.tariffs.clone(),
        }
    }
    /// Whether `rules` already has these.
    pub fn same_as(&self, rules: &SchoolRules) -> bool {
        self.services == rules.services
            && self.closures == rules.closures
            && self.tariffs == rules.tariffs
    }
}

/// An anti-passback row: `person` served `count` times for `service` on `day`, last at `last_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedRow {
    pub day: NaiveDate,
    pub service: ServiceId,
    pub person: PersonId,
    pub count: u8,
    pub last_at: DateTime<Utc>,
}

/// `GET /v1/roster/snapshot`: the whole roster at change-log `version`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u64,
    /// The calling gate's events the hub held when it took the snapshot: the balances and
    /// anti-passback rows include them, not the later ones.
    pub acked: u64,
    pub rules: SiteRules,
    pub persons: Vec<Person>,
    pub credentials: Vec<Credential>,
    pub oppositions: Vec<Opposition>,
    pub balances: Vec<(PersonId, i64)>,
    /// Yesterday's and today's rows (the school's days).
    pub served: Vec<ServedRow>,
}

/// One entry of the hub's change log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A journal event of another gate or of the hub (passage, correction, credit, alarm).
    Event(Event),
    Person(Person),
    Credential(Credential),
    Opposition(Opposition),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    pub version: u64,
    pub change: Change,
}

/// `GET /v1/roster/changes?since=V`: the changes after `since`, at most [`MAX_CHANGES`];
/// `more` when others follow (ask again from `version`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    pub since: u64,
    pub version: u64,
    pub more: bool,
    pub rules: SiteRules,
    pub changes: Vec<Versioned>,
}

/// A line of `GET /v1/live?since=V` (newline-delimited JSON, kept open by the hub).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Live {
    /// The rules in force: first on the stream, again whenever the hub's change.
    Rules(SiteRules),
    Change(Versioned),
    /// Nothing new up to `version`; sent every few seconds so that a dead link is noticed.
    Heartbeat {
        version: u64,
    },
}

/// `GET /v1/doubles`: double passages recorded for staff review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Doubles {
    pub doubles: Vec<Event>,
}

/// An error the hub returns, in French for the staff reading the logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

/// Decodes a payload, naming where it is at fault.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "contenu illisible ligne {} colonne {} : {e}",
            e.line(),
            e.column()
        )
    })
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data into a Vec cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Checks a batch from gate `gate`: its events, contiguous and in order, all of that gate.
pub fn check_batch(batch: &EventBatch, gate: &str) -> Result<(), String> {
    if batch.events.len() > MAX_BATCH {
        return Err(format!(
            "lot de {} événements : {MAX_BATCH} au plus",
            batch.events.len()
        ));
    }
    for (i, e) in batch.events.iter().enumerate() {
        if e.gate != gate {
            return Err(format!(
                "événement {i} de la ligne `{}` envoyé par la ligne `{gate}`",
                e.gate
            ));
        }
        if e.seq == 0 {
            return Err(format!("événement {i} : numéro 0"));
        }
        if i > 0 && !selfgate_rules::journal::follows(batch.events[i - 1].seq, e.seq) {
            return Err(format!(
                "événement {i} : numéro {} après {} (les numéros se suivent)",
                e.seq,
                batch.events[i - 1].seq
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfgate_rules::journal::{Credit, EventKind};

    fn credit(gate: &str, seq: u64) -> Event {
        Event {
            gate: gate.into(),
            seq,
            at: Utc::now(),
            kind: EventKind::Credit(Credit {
                person: PersonId(1),
                cents: 100,
                note: "x".into(),
            }),
        }
    }

    #[test]
    fn batches_round_trip_and_bad_ones_are_named() {
        let batch = EventBatch {
            events: vec![credit("ligne-1", 4), credit("ligne-1", 5)],
        };
        let back: EventBatch = decode(&encode(&batch)).unwrap();
        assert_eq!(back, batch);
        assert!(check_batch(&batch, "ligne-1").is_ok());
        let err = check_batch(&batch, "ligne-2").unwrap_err();
        assert!(err.contains("ligne-1"), "{err}");
        let gap = EventBatch {
            events: vec![credit("ligne-1", 4), credit("ligne-1", 6)],
        };
        assert!(
            check_batch(&gap, "ligne-1")
                .unwrap_err()
                .contains("6 après 4")
        );
        // The last number, then 1: refused, not an overflow.
        let wrapped = EventBatch {
            events: vec![credit("ligne-1", u64::MAX), credit("ligne-1", 1)],
        };
        assert!(check_batch(&wrapped, "ligne-1").is_err());
        let err = decode::<EventBatch>(b"{\"events\": [{]}").unwrap_err();
        assert!(err.contains("ligne 1"), "{err}");
    }
}
