//! What the kiosk shows of the running gate, built from the gate's state ([`Shared`] keeps
//! state, not words or documents): the feed's lines (their facts, and their French and English
//! words from the kiosk's own i18n), the counts of the service, and the health document of
//! `/healthz`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use selfgate_kiosk::i18n::{self, Lang, PassageFacts, passage_words};
use selfgate_kiosk::{FeedItem, Summary};
use selfgate_rules::journal::{Passage, Verdict};

use crate::node::gate::{Recorded, Shared};

/// The school's date now, by the gate's clock.
pub fn today(shared: &Shared) -> NaiveDate {
    shared.config().rules.today(shared.clock.now())
}

/// What the staff's words for `p` are made of (its earlier passage at the school's time).
pub fn facts(shared: &Shared, p: &Passage) -> PassageFacts {
    let tz = shared.config().rules.timezone;
    PassageFacts {
        reason: p.reason,
        previous_at: p
            .previous_at
            .map(|t| t.with_timezone(&tz).format("%H:%M").to_string()),
        balance_after_cents: p.balance_after_cents,
        by: p.by.clone(),
        note: p.note.clone(),
    }
}

/// The staff's words for `p` in `lang`.
pub fn label(shared: &Shared, lang: Lang, p: &Passage) -> String {
    passage_words(lang, &facts(shared, p))
}

/// The feed line of a decision: who (as the roster names them now), when, the verdict, its
/// facts and their words in French and English.
pub fn feed_item(
    shared: &Shared,
    gate: &str,
    seq: Option<u64>,
    at: DateTime<Utc>,
    p: &Passage,
) -> FeedItem {
    let tz = shared.config().rules.timezone;
    let (name, class, first_name) = {
        let engine = shared.engine();
        let person = p.person.and_then(|id| engine.roster().person(id));
        (
            person.map_or_else(
                || format!("Badge {}", p.credential.as_deref().unwrap_or("?")),
                |x| x.display_name(),
            ),
            person.map(|x| x.class.clone()).unwrap_or_default(),
            person.map(|x| x.first_name.clone()).unwrap_or_default(),
        )
    };
    let facts = facts(shared, p);
    // A pass charged to the balance: the meals it still pays for, when they are few.
    let low = config_low_meals(shared);
    let meals_left = match (p.verdict, p.balance_after_cents) {
        (Verdict::Pass, Some(after)) if p.charge_cents > 0 => {
            selfgate_kiosk::money::meals_left(after, p.charge_cents).filter(|n| *n < low)
        }
        _ => None,
    };
    FeedItem {
        gate: gate.to_owned(),
        seq,
        time: at.with_timezone(&tz).format("%H:%M:%S").to_string(),
        name,
        class,
        pass: p.verdict == Verdict::Pass,
        reason: p.reason.code().to_owned(),
        label: passage_words(Lang::Fr, &facts),
        label_en: passage_words(Lang::En, &facts),
        person: p.person.map(|id| id.0),
        first_name,
        balance_cents: p.balance_after_cents,
        facts: Some(facts),
        meals_left,
        money: None,
    }
}

/// Fewer meals than this left on a balance is low (`[school] low_balance_meals`).
fn config_low_meals(shared: &Shared) -> u32 {
    shared.config().money.low_balance_meals
}

/// The latest decisions as feed lines, newest first.
pub fn recent(shared: &Shared, limit: usize) -> Vec<FeedItem> {
    shared
        .recent(limit)
        .iter()
        .map(|r: &Recorded| feed_item(shared, &r.gate, r.seq, r.at, &r.passage))
        .collect()
}

/// The counts of the service open now (or none), the school, the gate and the time.
pub fn summary(shared: &Shared) -> Summary {
    let now = shared.clock.now();
    let config = shared.config();
    let tz = config.rules.timezone;
    let (service, day) = {
        let engine = shared.engine();
        (
            engine.open_service(&config.gate.id, now),
            engine.local(now).0,
        )
    };
    let local = now.with_timezone(&tz).naive_local();
    // To the second, as it is shown.
    let local = chrono::Timelike::with_nanosecond(&local, 0).unwrap_or(local);
    let mut s = Summary {
        school: config.school.name.clone(),
        gate: config.gate.id.clone(),
        now: i18n::date_time(Lang::Fr, local),
        now_at: Some(local),
        emergency: shared.emergency(),
        ..Summary::default()
    };
    if let Some(id) = service {
        s.service = config.rules.service(id).map(|x| x.label.clone());
        s.expected = shared.expected(day, id);
        s.served = shared.engine().served().on(day, id).count() as u64;
        s.denied = shared
            .denied_on(day, id)
            .into_iter()
            .map(|(r, n)| (r.code().to_owned(), r.label_fr().to_owned(), n))
            .collect();
    }
    s
}

fn rfc3339(t: std::time::SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `/healthz` of the gate: the store, each reader, the turnstile, the emergency input.
/// `"status"` is `ok` or `degraded`; the node adds the hub sync's status beside it.
pub fn health(shared: &Arc<Shared>) -> serde_json::Value {
    let readers = shared.readers_online();
    let store_ok = shared.store_ok();
    let readers_ok = readers.values().all(|ok| *ok);
    let drivers = shared.reader_health();
    let reader_health: serde_json::Map<String, serde_json::Value> = drivers
        .iter()
        .map(|(name, h)| {
            let v = serde_json::json!({
                "online": h.online,
                "last_frame": h.last_frame.map(rfc3339),
                "frames_ok": h.frames_ok,
                "frames_bad": h.frames_bad,
                "tamper": h.tamper,
                "power_failure": h.power_failure,
            });
            (name.clone(), v)
        })
        .collect();
    let t = shared.turnstile_health();
    let turnstile_ok =
        t.last_pulse_ok != Some(false) && drivers.values().all(|h| !h.tamper && !h.power_failure);
    serde_json::json!({
        "status": if store_ok && readers_ok && turnstile_ok { "ok" } else { "degraded" },
        "gate": shared.config().gate.id,
        "store": if store_ok { "ok" } else { "failing" },
        "writer": if shared.writer_stopped() { "stopped" } else { "running" },
        "readers": readers,
        "reader_health": reader_health,
        "turnstile": {
            "last_pulse": t.last_pulse.map(|x| x.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "last_pulse_ok": t.last_pulse_ok,
            "pulses_ok": t.pulses_ok,
            "pulses_failed": t.pulses_failed,
        },
        "emergency": shared.emergency(),
        "persons": shared.engine().roster().len(),
    })
}
