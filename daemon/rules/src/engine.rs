//! The decision (BRIEF §3) and the in-memory state it reads: the roster index, the site-wide
//! anti-passback state and the reader debounce. `Engine::decide` is pure: state and clock in,
//! a [`Passage`] out. Effects are applied separately (`apply`), after the caller has decided
//! what to do with the verdict, and can be reverted when the journal refuses the write.

use std::borrow::Borrow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::journal::{Correction, Credit, Event, EventKind, Passage, Reason, Verdict};
use crate::model::{
    BadgeNumber, Category, Credential, CredentialStatus, Opposition, OppositionReason, Person,
    PersonId, Regime, SchoolRules, ServiceId,
};

impl Borrow<str> for BadgeNumber {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Opposition ids from here up are derived from what they block (PRONOTE's absences: day,
/// service, person), so that whoever writes one writes the same id: never handed out by
/// [`Roster::next_opposition_id`].
pub const DERIVED_OPPOSITION_IDS: u64 = 1 << 63;

/// Every person, badge, balance and opposition of the site, indexed for the gate.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    persons: Vec<Option<Person>>,
    balances: Vec<i64>,
    by_external: HashMap<String, PersonId>,
    credentials: HashMap<BadgeNumber, Credential>,
    oppositions: HashMap<PersonId, Vec<Opposition>>,
}

impl Roster {
    pub fn person(&self, id: PersonId) -> Option<&Person> {
        self.persons.get(id.0 as usize).and_then(Option::as_ref)
    }
    pub fn person_by_external(&self, external_id: &str) -> Option<&Person> {
        self.by_external
            .get(external_id)
            .and_then(|id| self.person(*id))
    }
    pub fn persons(&self) -> impl Iterator<Item = &Person> {
        self.persons.iter().flatten()
    }
    pub fn len(&self) -> usize {
        self.by_external.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_external.is_empty()
    }
    /// The next unused person id.
    pub fn next_person_id(&self) -> PersonId {
        PersonId(u32::try_from(self.persons.len()).unwrap_or(u32::MAX))
    }
    pub fn balance(&self, id: PersonId) -> i64 {
        self.balances.get(id.0 as usize).copied().unwrap_or(0)
    }
    pub fn credential(&self, number: &str) -> Option<&Credential> {
        self.credentials.get(number)
    }
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.credentials.values()
    }
    pub fn credentials_of(&self, person: PersonId) -> impl Iterator<Item = &Credential> {
        self.credentials
            .values()
            .filter(move |c| c.person == person)
    }
    pub fn oppositions_of(&self, person: PersonId) -> &[Opposition] {
        self.oppositions.get(&person).map_or(&[], Vec::as_slice)
    }
    /// Persons expected at `service` on `day`: their forfait covers it and no opposition
    /// blocks them (absences included). What the kiosk counts and lists as still to come.
    pub fn expected(&self, day: NaiveDate, service: ServiceId) -> impl Iterator<Item = &Person> {
        self.persons().filter(move |p| {
            p.forfait_covers(day, service)
                && !self
                    .oppositions_of(p.id)
                    .iter()
                    .any(|o| o.effective(day, service))
        })
    }
    pub fn oppositions(&self) -> impl Iterator<Item = &Opposition> {
        self.oppositions.values().flatten()
    }

    /// Inserts or replaces a person (keyed by id; the external id index follows).
    pub fn put_person(&mut self, person: Person) {
        let idx = person.id.0 as usize;
        if self.persons.len() <= idx {
            self.persons.resize(idx + 1, None);
            self.balances.resize(idx + 1, 0);
        }
        if let Some(old) = &self.persons[idx] {
            if old.external_id != person.external_id {
                self.by_external.remove(&old.external_id);
            }
        }
        self.by_external
            .insert(person.external_id.clone(), person.id);
        self.persons[idx] = Some(person);
    }
    pub fn set_balance(&mut self, id: PersonId, cents: i64) {
        if let Some(b) = self.balances.get_mut(id.0 as usize) {
            *b = cents;
        }
    }
    fn add_balance(&mut self, id: PersonId, delta: i64) {
        if let Some(b) = self.balances.get_mut(id.0 as usize) {
            *b = b.saturating_add(delta);
        }
    }
    pub fn put_credential(&mut self, credential: Credential) {
        self.credentials
            .insert(credential.number.clone(), credential);
    }
    /// Forgets the oppositions that decide nothing from `day` on: ended before it, or lifted
    /// and begun before it (retention: they name a pupil and why).
    pub fn forget_oppositions_before(&mut self, day: NaiveDate) {
        for list in self.oppositions.values_mut() {
            list.retain(|o| !o.ended_before(day));
        }
        self.oppositions.retain(|_, list| !list.is_empty());
    }
    /// Inserts or replaces an opposition (keyed by id).
    pub fn put_opposition(&mut self, opposition: Opposition) {
        for list in self.oppositions.values_mut() {
            list.retain(|o| o.id != opposition.id);
        }
        self.oppositions
            .entry(opposition.person)
            .or_default()
            .push(opposition);
    }
    /// The next id for a new opposition, below [`DERIVED_OPPOSITION_IDS`].
    pub fn next_opposition_id(&self) -> u64 {
        self.oppositions()
            .map(|o| o.id)
            .filter(|id| *id < DERIVED_OPPOSITION_IDS)
            .max()
            .map_or(1, |m| m + 1)
    }
}

/// How many times each person was served, per school day and service, across all gates.
/// Keeps the instant of each passage, so that undoing one restores the state exactly.
#[derive(Clone, Debug, Default)]
pub struct Served {
    map: HashMap<(PersonId, NaiveDate, ServiceId), Vec<DateTime<Utc>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedEntry {
    pub count: u8,
    pub last_at: DateTime<Utc>,
}

fn entry_of(times: &[DateTime<Utc>]) -> Option<ServedEntry> {
    let last_at = times.iter().max()?;
    Some(ServedEntry {
        count: u8::try_from(times.len()).unwrap_or(u8::MAX),
        last_at: *last_at,
    })
}

impl Served {
    pub fn get(&self, person: PersonId, day: NaiveDate, service: ServiceId) -> Option<ServedEntry> {
        self.map
            .get(&(person, day, service))
            .and_then(|t| entry_of(t))
    }
    /// Sets an entry as stored (count and last instant; earlier instants are not kept there).
    pub fn set(
        &mut self,
        person: PersonId,
        day: NaiveDate,
        service: ServiceId,
        entry: ServedEntry,
    ) {
        if entry.count == 0 {
            self.map.remove(&(person, day, service));
        } else {
            self.map.insert(
                (person, day, service),
                vec![entry.last_at; usize::from(entry.count)],
            );
        }
    }
    fn add(&mut self, person: PersonId, day: NaiveDate, service: ServiceId, at: DateTime<Utc>) {
        self.map.entry((person, day, service)).or_default().push(at);
    }
    /// Removes the passage at `at` (or, when unknown, the latest one).
    fn remove_one(
        &mut self,
        person: PersonId,
        day: NaiveDate,
        service: ServiceId,
        at: Option<DateTime<Utc>>,
    ) {
        let key = (person, day, service);
        let Some(times) = self.map.get_mut(&key) else {
            return;
        };
        let idx = at
            .and_then(|at| times.iter().rposition(|t| *t == at))
            .or_else(|| {
                times
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, t)| **t)
                    .map(|(i, _)| i)
            });
        if let Some(i) = idx {
            times.remove(i);
        }
        if times.is_empty() {
            self.map.remove(&key);
        }
    }
    /// Persons served for `service` on `day`, with their entry.
    pub fn on(
        &self,
        day: NaiveDate,
        service: ServiceId,
    ) -> impl Iterator<Item = (PersonId, ServedEntry)> + '_ {
        self.map
            .iter()
            .filter(move |((_, d, s), _)| *d == day && *s == service)
            .filter_map(|((p, _, _), t)| entry_of(t).map(|e| (*p, e)))
    }
    /// Forgets the days before `day`: anti-passback only looks at the current day.
    pub fn forget_before(&mut self, day: NaiveDate) {
        self.map.retain(|(_, d, _), _| *d >= day);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The last time each credential was seen at each gate, to merge a reader's repeats.
#[derive(Clone, Debug, Default)]
struct Debounce {
    last_seen: HashMap<(String, String), DateTime<Utc>>,
}

/// The whole state a gate decides from, and the decision.
#[derive(Clone, Debug)]
pub struct Engine {
    rules: SchoolRules,
    roster: Roster,
    served: Served,
    debounce: Debounce,
}

/// What a read turned into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The same credential at the same gate within the debounce window: the reader repeating
    /// itself while the card stays in the field. Not a new passage.
    Repeat,
    /// A decision to journal.
    Decided(Passage),
}

/// Why a member of staff could not admit someone by hand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManualRefusal {
    #[error("no service is open at this gate now")]
    NoServiceOpen,
    #[error("unknown person")]
    UnknownPerson,
    /// Served already as often as allowed in this service (last at `last_at`): a second meal
    /// is a choice of its own ([`Engine::admit_second_meal`]).
    #[error("already served in this service")]
    AlreadyServed { last_at: DateTime<Utc> },
}

/// What marks a second meal served by hand in the journal (the passage's note starts with it).
pub const SECOND_MEAL: &str = "[second repas]";

impl Engine {
    pub fn new(rules: SchoolRules) -> Self {
        Engine {
            rules,
            roster: Roster::default(),
            served: Served::default(),
            debounce: Debounce::default(),
        }
    }
    pub fn with_state(rules: SchoolRules, roster: Roster, served: Served) -> Self {
        Engine {
            rules,
            roster,
            served,
            debounce: Debounce::default(),
        }
    }
    pub fn rules(&self) -> &SchoolRules {
        &self.rules
    }
    /// Replaces the rules (configuration reload); roster and anti-passback state stay.
    pub fn set_rules(&mut self, rules: SchoolRules) {
        self.rules = rules;
    }
    pub fn roster(&self) -> &Roster {
        &self.roster
    }
    pub fn roster_mut(&mut self) -> &mut Roster {
        &mut self.roster
    }
    pub fn served(&self) -> &Served {
        &self.served
    }
    pub fn served_mut(&mut self) -> &mut Served {
        &mut self.served
    }

    /// The school's local date and time at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> (NaiveDate, NaiveTime) {
        self.rules.local(at)
    }

    /// The service whose window is open at `gate` at `at`, ignoring closures.
    fn service_window(&self, gate: &str, day: NaiveDate, time: NaiveTime) -> Option<ServiceId> {
        self.rules
            .services
            .iter()
            .find(|s| s.open_at(gate, day, time))
            .map(|s| s.id)
    }

    /// The service open at `gate` at `at`, closures taken into account.
    pub fn open_service(&self, gate: &str, at: DateTime<Utc>) -> Option<ServiceId> {
        self.rules.service_at(gate, at)
    }

    /// Is this read the reader repeating a frame for a card still in the field?
    pub fn is_repeat(&self, gate: &str, credential: &str, at: DateTime<Utc>) -> bool {
        let window = TimeDelta::milliseconds(i64::from(self.rules.debounce_ms));
        self.debounce
            .last_seen
            .get(&(gate.to_owned(), shown_credential(credential)))
            .is_some_and(|last| at >= *last && at - *last < window)
    }

    /// Remembers that `credential` was seen at `gate` at `at` (the window slides while a card
    /// stays in the field).
    pub fn note_seen(&mut self, gate: &str, credential: &str, at: DateTime<Utc>) {
        let d = &mut self.debounce.last_seen;
        if d.len() > 4096 {
            let window = TimeDelta::milliseconds(i64::from(self.rules.debounce_ms));
            d.retain(|_, last| at - *last < window);
        }
        d.insert((gate.to_owned(), shown_credential(credential)), at);
    }

    /// The decision for `credential` read at `gate` at `at`, in the order of BRIEF §3; first
    /// failure wins. Pure: reads the state, changes nothing.
    pub fn decide(&self, gate: &str, credential: &str, at: DateTime<Utc>) -> Passage {
        let (day, time) = self.local(at);
        let shown = shown_credential(credential);
        let mut p = Passage {
            credential: Some(shown.clone()),
            person: None,
            service: None,
            day,
            verdict: Verdict::Deny,
            reason: Reason::ServiceClosed,
            charge_cents: 0,
            balance_after_cents: None,
            previous_at: None,
            by: None,
            note: None,
        };

        // 1. A service open at this gate now, not closed by the calendar.
        let Some(service) = self.service_window(gate, day, time) else {
            return p;
        };
        p.service = Some(service);
        if self.rules.closure_on(day, service).is_some() {
            return p;
        }

        // 2. A known, active credential of a known person.
        let Some(cred) = self.roster.credential(&shown) else {
            p.reason = Reason::UnknownBadge;
            return p;
        };
        let Some(person) = self.roster.person(cred.person) else {
            p.reason = Reason::UnknownBadge;
            return p;
        };
        p.person = Some(person.id);
        if cred.status != CredentialStatus::Active {
            p.reason = Reason::BadgeRevoked;
            return p;
        }

        self.decide_for(person, service, p)
    }

    /// Steps 3 to 6 for a known person.
    fn decide_for(&self, person: &Person, service: ServiceId, mut p: Passage) -> Passage {
        let day = p.day;
        let balance = self.roster.balance(person.id);

        // 3. Oppositions in force; the gravest is shown.
        if let Some(reason) = self.opposition(person.id, day, service) {
            p.reason = Reason::Opposition(reason);
            return p;
        }

        // 4. Anti-passback: already served as often as allowed, at any gate of the site.
        if let Some(entry) = self.served.get(person.id, day, service) {
            if entry.count >= person.passages_per_service.max(1) {
                p.reason = Reason::AlreadyServed;
                p.previous_at = Some(entry.last_at);
                return p;
            }
        }

        // 5. A forfait for this weekday and service.
        if person.forfait_covers(day, service) {
            p.verdict = Verdict::Pass;
            p.reason = Reason::Forfait;
            return p;
        }

        // 6. The ticket balance, or not registered today.
        p.balance_after_cents = Some(balance);
        if person.has_forfait_on(day) && !self.rules.ticket_fallback {
            p.reason = Reason::NotRegisteredToday;
            return p;
        }
        if !self.rules.externe_tickets
            && person.category == Category::Eleve
            && person.regime == Regime::Externe
            && !person.has_forfait_on(day)
        {
            p.reason = Reason::NoTicketMeals;
            return p;
        }
        let Some(tariff) = self.rules.tariff(person.category) else {
            p.reason = Reason::InsufficientBalance;
            return p;
        };
        let price = tariff.price_for(person, service);
        let after = balance.saturating_sub(price);
        if after >= -tariff.overdraft_for(person, price) {
            p.verdict = Verdict::Pass;
            p.reason = Reason::Ticket;
            p.charge_cents = price;
            p.balance_after_cents = Some(after);
        } else {
            p.reason = Reason::InsufficientBalance;
        }
        p
    }

    fn opposition(
        &self,
        person: PersonId,
        day: NaiveDate,
        service: ServiceId,
    ) -> Option<OppositionReason> {
        const GRAVITY: [OppositionReason; 7] = [
            // Gone from the school: nothing else about them matters at the gate.
            OppositionReason::Depart,
            OppositionReason::Exclusion,
            OppositionReason::Impaye,
            OppositionReason::AbsentPronote,
            // Away on a placement or a trip: the forfait's days were deducted.
            OppositionReason::Stage,
            OppositionReason::Voyage,
            OppositionReason::Manuelle,
        ];
        let active: Vec<OppositionReason> = self
            .roster
            .oppositions_of(person)
            .iter()
            .filter(|o| o.effective(day, service))
            .map(|o| o.reason)
            .collect();
        GRAVITY.into_iter().find(|r| active.contains(r))
    }

    /// A person admitted by hand by `by` for `note` (forgotten badge…). The other checks are
    /// the staff member's: an open service is required, and the anti-passback rule holds (one
    /// who was served as often as allowed is refused: a second meal is
    /// [`Engine::admit_second_meal`]). The meal is charged as the rules would (free under a
    /// forfait for the day, else the category's price).
    pub fn admit_manual(
        &self,
        gate: &str,
        person: PersonId,
        at: DateTime<Utc>,
        by: &str,
        note: &str,
    ) -> Result<Passage, ManualRefusal> {
        self.manual(gate, person, at, by, note, false)
    }

    /// A second meal served by hand, past the anti-passback rule, by the explicit choice of
    /// `by`: journaled as such (its note starts with [`SECOND_MEAL`]) and charged as a meal.
    pub fn admit_second_meal(
        &self,
        gate: &str,
        person: PersonId,
        at: DateTime<Utc>,
        by: &str,
        note: &str,
    ) -> Result<Passage, ManualRefusal> {
        self.manual(gate, person, at, by, &format!("{SECOND_MEAL} {note}"), true)
    }

    fn manual(
        &self,
        gate: &str,
        person: PersonId,
        at: DateTime<Utc>,
        by: &str,
        note: &str,
        second_meal: bool,
    ) -> Result<Passage, ManualRefusal> {
        let service = self
            .open_service(gate, at)
            .ok_or(ManualRefusal::NoServiceOpen)?;
        let person = self
            .roster
            .person(person)
            .ok_or(ManualRefusal::UnknownPerson)?;
        let (day, _) = self.local(at);
        if !second_meal {
            if let Some(s) = self.served.get(person.id, day, service) {
                if s.count >= person.passages_per_service.max(1) {
                    return Err(ManualRefusal::AlreadyServed { last_at: s.last_at });
                }
            }
        }
        let (charge, balance_after) = if person.forfait_covers(day, service) {
            (0, None)
        } else {
            let price = self
                .rules
                .tariff(person.category)
                .map_or(0, |t| t.price_for(person, service));
            (
                price,
                Some(self.roster.balance(person.id).saturating_sub(price)),
            )
        };
        Ok(Passage {
            credential: None,
            person: Some(person.id),
            service: Some(service),
            day,
            verdict: Verdict::Pass,
            reason: Reason::Manual,
            charge_cents: charge,
            balance_after_cents: balance_after,
            previous_at: None,
            by: Some(by.to_owned()),
            note: Some(note.to_owned()),
        })
    }

    /// Debounce, decide and apply in one step: what a gate does with a read when nothing can
    /// fail between the decision and the journal (simulation, replay).
    pub fn process(&mut self, gate: &str, credential: &str, at: DateTime<Utc>) -> Outcome {
        if self.is_repeat(gate, credential, at) {
            self.note_seen(gate, credential, at);
            return Outcome::Repeat;
        }
        self.note_seen(gate, credential, at);
        let passage = self.decide(gate, credential, at);
        self.apply_passage(&passage, at);
        Outcome::Decided(passage)
    }

    /// Applies a passage's effects: a pass counts for anti-passback and its charge is taken.
    pub fn apply_passage(&mut self, p: &Passage, at: DateTime<Utc>) {
        if p.verdict != Verdict::Pass {
            return;
        }
        if let (Some(person), Some(service)) = (p.person, p.service) {
            self.served.add(person, p.day, service, at);
            self.roster.add_balance(person, -p.charge_cents);
        }
    }

    /// Undoes `apply_passage(p, at)` (the journal could not record it).
    pub fn revert_passage(&mut self, p: &Passage, at: DateTime<Utc>) {
        if p.verdict != Verdict::Pass {
            return;
        }
        if let (Some(person), Some(service)) = (p.person, p.service) {
            self.served.remove_one(person, p.day, service, Some(at));
            self.roster.add_balance(person, p.charge_cents);
        }
    }

    pub fn apply_correction(&mut self, c: &Correction) {
        self.served.remove_one(c.person, c.day, c.service, None);
        self.roster.add_balance(c.person, c.refund_cents);
    }

    pub fn apply_credit(&mut self, c: &Credit) {
        self.roster.add_balance(c.person, c.cents);
    }

    /// Applies any journal event, from this gate or another gate of the site.
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Passage(p) => self.apply_passage(p, event.at),
            EventKind::Correction(c) => self.apply_correction(c),
            EventKind::Credit(c) => self.apply_credit(c),
            kind @ (EventKind::Payment(_) | EventKind::PaymentCancel(_) | EventKind::Refund(_)) => {
                if let Some((person, cents)) = kind.balance_delta() {
                    self.roster.add_balance(person, cents);
                }
            }
            EventKind::Alarm(_)
            | EventKind::Retention(_)
            | EventKind::BillingEntry(_)
            | EventKind::Receivable(_)
            | EventKind::TermClosed(_) => {}
        }
    }
}

/// The badge number a read is filed under: normalised when it is one, else the raw text made
/// printable and short (so garbage is journaled as what it was, and never matches a badge).
fn shown_credential(raw: &str) -> String {
    match raw.parse::<BadgeNumber>() {
        Ok(n) => n.as_str().to_owned(),
        Err(_) => {
            let mut s: String = raw
                .chars()
                .take(BadgeNumber::MAX_LEN)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            if s.is_empty() {
                s.push('?');
            }
            // Never equal to a normalised number: those hold no lower case or punctuation.
            format!("?{s}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(debounce_ms: u32) -> Engine {
        Engine::new(SchoolRules {
            timezone: chrono_tz::Europe::Paris,
            services: Vec::new(),
            closures: Vec::new(),
            tariffs: Vec::new(),
            ticket_fallback: false,
            externe_tickets: true,
            debounce_ms,
        })
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_795_000_000_000 + ms).unwrap_or_default()
    }

    fn other(i: usize) -> (String, String) {
        (
            format!("self-{}", i % 4),
            format!("{:08X}", 0x0B00_0000 + i),
        )
    }

    #[test]
    fn a_card_held_while_5000_other_pairs_are_read_is_still_one_read() {
        let mut e = engine(2000);
        e.note_seen("self-1", "0A00000004", at(0));
        // A rush: 5,000 other gate × badge pairs within the same second, all fresh.
        for i in 0..5000 {
            let (gate, badge) = other(i);
            e.note_seen(&gate, &badge, at(1000 * i as i64 / 5000));
        }
        assert!(
            e.is_repeat("self-1", "0A00000004", at(1500)),
            "pruning the table dropped a fresh entry"
        );
        let (gate, badge) = other(4999);
        assert!(e.is_repeat(&gate, &badge, at(1500)));
        assert_eq!(e.debounce.last_seen.len(), 5001, "nothing was stale");
    }

    #[test]
    fn stale_entries_are_the_ones_dropped_and_only_above_4096() {
        let mut e = engine(2000);
        // 4,096 entries from a minute ago: at the limit, not above it, nothing is pruned.
        for i in 0..4096 {
            let (gate, badge) = other(i);
            e.note_seen(&gate, &badge, at(-60_000));
        }
        e.note_seen("self-1", "0A00000004", at(0));
        assert_eq!(e.debounce.last_seen.len(), 4097, "pruned at 4,096 already");
        // Above the limit: the next read prunes the stale ones and keeps the fresh one.
        e.note_seen("self-2", "0A00000005", at(10));
        let mut kept: Vec<_> = e.debounce.last_seen.keys().cloned().collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                ("self-1".to_owned(), "0A00000004".to_owned()),
                ("self-2".to_owned(), "0A00000005".to_owned())
            ]
        );
        assert!(e.is_repeat("self-1", "0A00000004", at(1999)));
    }

    #[test]
    fn an_entry_exactly_one_window_old_is_stale() {
        let mut e = engine(2000);
        for i in 0..4096 {
            let (gate, badge) = other(i);
            e.note_seen(&gate, &badge, at(0));
        }
        e.note_seen("self-1", "0A00000004", at(1));
        // 4,097 entries; this read comes exactly 2 s after the 4,096 first ones.
        e.note_seen("self-2", "0A00000005", at(2000));
        assert_eq!(
            e.debounce.last_seen.len(),
            2,
            "2 s old is outside a 2 s window"
        );
    }

    #[test]
    fn two_reads_at_the_same_instant_are_one_read_and_an_earlier_one_is_not() {
        let mut e = engine(2000);
        e.note_seen("self-1", "0A00000004", at(0));
        assert!(e.is_repeat("self-1", "0A00000004", at(0)));
        assert!(e.is_repeat("self-1", "0a:00:00:00:04", at(0)));
        // A clock stepped back is not the reader repeating itself.
        assert!(!e.is_repeat("self-1", "0A00000004", at(-1)));
        assert!(!e.is_repeat("self-2", "0A00000004", at(0)));
    }
}
