//! What the journal holds: every decision (passes *and* denials), every correction, every credit,
//! payment, cancelled payment and refund, and every alarm, as values. The journal is append-only: a correction is a new event that
//! refers to the one it corrects.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{OppositionReason, ParseError, PersonId, ServiceId};

/// The outcome shown at the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Deny,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Deny => "deny",
        }
    }
}

/// The one reason of a verdict (BRIEF §3). `code()` gives the stable text used in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No service open at this gate now (time window, weekday, closure).
    ServiceClosed,
    /// Credential not known (or not a badge number at all).
    UnknownBadge,
    /// Credential declared lost or revoked.
    BadgeRevoked,
    /// Blocked by an opposition in force.
    Opposition(OppositionReason),
    /// Already served this service as many times as allowed.
    AlreadyServed,
    /// Pass: a forfait covers this day and service.
    Forfait,
    /// Pass: paid from the ticket balance.
    Ticket,
    /// Deny: the balance minus the price would go below the overdraft allowance.
    InsufficientBalance,
    /// Deny: a forfait holder on a day their forfait does not cover, no ticket fallback.
    NotRegisteredToday,
    /// Pass: admitted by hand by a member of staff.
    Manual,
    /// Deny: the gate could not record the passage (storage failure). Never journaled.
    NotRecorded,
    /// Deny: an externe without a forfait, at a school that sells externes no ticket meal.
    NoTicketMeals,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::ServiceClosed => "service_closed",
            Reason::UnknownBadge => "unknown_badge",
            Reason::BadgeRevoked => "badge_revoked",
            Reason::Opposition(OppositionReason::AbsentPronote) => "opposition:absent_pronote",
            Reason::Opposition(OppositionReason::Impaye) => "opposition:impaye",
            Reason::Opposition(OppositionReason::Exclusion) => "opposition:exclusion",
            Reason::Opposition(OppositionReason::Manuelle) => "opposition:manuelle",
            Reason::Opposition(OppositionReason::Depart) => "opposition:depart",
            Reason::Opposition(OppositionReason::Stage) => "opposition:stage",
            Reason::Opposition(OppositionReason::Voyage) => "opposition:voyage",
            Reason::AlreadyServed => "already_served",
            Reason::Forfait => "forfait",
            Reason::Ticket => "ticket",
            Reason::InsufficientBalance => "insufficient_balance",
            Reason::NotRegisteredToday => "not_registered_today",
            Reason::Manual => "manual",
            Reason::NotRecorded => "not_recorded",
            Reason::NoTicketMeals => "no_ticket_meals",
        }
    }

    /// Every reason, for reports and tests.
    pub const ALL: [Reason; 18] = [
        Reason::ServiceClosed,
        Reason::UnknownBadge,
        Reason::BadgeRevoked,
        Reason::Opposition(OppositionReason::AbsentPronote),
        Reason::Opposition(OppositionReason::Impaye),
        Reason::Opposition(OppositionReason::Exclusion),
        Reason::Opposition(OppositionReason::Manuelle),
        Reason::Opposition(OppositionReason::Depart),
        Reason::Opposition(OppositionReason::Stage),
        Reason::Opposition(OppositionReason::Voyage),
        Reason::AlreadyServed,
        Reason::Forfait,
        Reason::Ticket,
        Reason::InsufficientBalance,
        Reason::NotRegisteredToday,
        Reason::Manual,
        Reason::NotRecorded,
        Reason::NoTicketMeals,
    ];

    /// What the canteen staff read on the kiosk.
    pub fn label_fr(self) -> &'static str {
        match self {
            Reason::ServiceClosed => "Pas de service ouvert",
            Reason::UnknownBadge => "Badge inconnu",
            Reason::BadgeRevoked => "Badge perdu ou révoqué",
            Reason::Opposition(r) => r.label_fr(),
            Reason::AlreadyServed => "Déjà passé",
            Reason::Forfait => "Forfait",
            Reason::Ticket => "Ticket",
            Reason::InsufficientBalance => "Solde insuffisant",
            Reason::NotRegisteredToday => "Non inscrit ce jour",
            Reason::Manual => "Admis manuellement",
            Reason::NotRecorded => "Enregistrement impossible",
            Reason::NoTicketMeals => "Pas de repas au ticket",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Reason::ServiceClosed => "No service open",
            Reason::UnknownBadge => "Unknown badge",
            Reason::BadgeRevoked => "Badge lost or revoked",
            Reason::Opposition(r) => r.label_en(),
            Reason::AlreadyServed => "Already served",
            Reason::Forfait => "Meal plan",
            Reason::Ticket => "Ticket",
            Reason::InsufficientBalance => "Insufficient balance",
            Reason::NotRegisteredToday => "Not registered today",
            Reason::Manual => "Admitted by hand",
            Reason::NotRecorded => "Could not be recorded",
            Reason::NoTicketMeals => "No ticket meals",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Reason {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Reason::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| ParseError::new(s, "not a reason code"))
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One person presenting a credential (or admitted by hand) and the decision taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The credential as read, normalised when it is a badge number.
    pub credential: Option<String>,
    pub person: Option<PersonId>,
    pub service: Option<ServiceId>,
    /// The school day (local date) the passage counts for.
    pub day: NaiveDate,
    pub verdict: Verdict,
    pub reason: Reason,
    pub charge_cents: i64,
    /// Ticket balance after this passage (before it, for a denial), when the person has one.
    pub balance_after_cents: Option<i64>,
    /// For `already_served`: when the earlier passage happened.
    pub previous_at: Option<DateTime<Utc>>,
    /// For `manual`: the member of staff who admitted.
    pub by: Option<String>,
    /// For `manual`: why.
    pub note: Option<String>,
}

/// Identifies a journal event across the site.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventRef {
    pub gate: String,
    pub seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// Cancel a passage (a mistake): the pass no longer counts and its charge is refunded.
    Cancel,
    /// The turnstile reported that the granted person did not go through.
    NotPassed,
}

/// A correction of an earlier passage. Carries what it undoes so that it applies on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub refers_to: EventRef,
    pub kind: CorrectionKind,
    pub person: PersonId,
    pub service: ServiceId,
    pub day: NaiveDate,
    pub refund_cents: i64,
    pub by: Option<String>,
    pub note: String,
}

/// Money put on (or, negative, taken off) a ticket balance: opening balance, payment, adjustment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub person: PersonId,
    pub cents: i64,
    pub note: String,
}

/// How money was paid in or out at a régie (BRIEF §7).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMode {
    Especes,
    Cheque {
        number: String,
        bank: String,
    },
    Carte,
    Virement,
    /// Paid on the family space (the payment provider's reference).
    EnLigne {
        reference: String,
    },
    /// Brought in by a file from another system (its reference).
    Import {
        reference: String,
    },
}

impl PaymentMode {
    /// Every mode's code, in the order reports list them.
    pub const CODES: [&'static str; 6] = [
        "especes", "cheque", "carte", "virement", "en_ligne", "import",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            PaymentMode::Especes => "especes",
            PaymentMode::Cheque { .. } => "cheque",
            PaymentMode::Carte => "carte",
            PaymentMode::Virement => "virement",
            PaymentMode::EnLigne { .. } => "en_ligne",
            PaymentMode::Import { .. } => "import",
        }
    }

    pub fn label_fr(&self) -> &'static str {
        mode_label_fr(self.code())
    }

    /// The cheque's number and bank, or the reference, as one line ("" when none).
    pub fn detail(&self) -> String {
        match self {
            PaymentMode::Cheque { number, bank } => format!("n° {number}, {bank}"),
            PaymentMode::EnLigne { reference } | PaymentMode::Import { reference } => {
                reference.clone()
            }
            PaymentMode::Especes | PaymentMode::Carte | PaymentMode::Virement => String::new(),
        }
    }
}

/// A mode's French name from its code.
pub fn mode_label_fr(code: &str) -> &'static str {
    match code {
        "especes" => "Espèces",
        "cheque" => "Chèque",
        "carte" => "Carte bancaire",
        "virement" => "Virement",
        "en_ligne" => "Paiement en ligne",
        "import" => "Import",
        _ => "?",
    }
}

/// A mode's English name from its code.
pub fn mode_label_en(code: &str) -> &'static str {
    match code {
        "especes" => "Cash",
        "cheque" => "Cheque",
        "carte" => "Card",
        "virement" => "Bank transfer",
        "en_ligne" => "Online payment",
        "import" => "Import",
        _ => "?",
    }
}

/// A receipt (*quittance*) number: gap-free per régie and school year, given by the node that
/// holds the régie when the payment is committed. Shown as `R1-2026-00042`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Receipt {
    pub regie: String,
    /// The school year's first calendar year (2026 for 2026–2027).
    pub year: u16,
    /// From 1; 0 in a payment not committed yet (the store's writer numbers it).
    pub number: u32,
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:05}", self.regie, self.year, self.number)
    }
}

impl FromStr for Receipt {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new(s, "a receipt number like R1-2026-00042");
        let (rest, number) = s.rsplit_once('-').ok_or_else(bad)?;
        let (regie, year) = rest.rsplit_once('-').ok_or_else(bad)?;
        if regie.is_empty() {
            return Err(bad());
        }
        Ok(Receipt {
            regie: regie.to_owned(),
            year: year.parse().map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }
}

/// The school year a day belongs to (it starts on 1 September): 2026 for 2026-09-01 to
/// 2027-08-31.
pub fn school_year(day: NaiveDate) -> u16 {
    use chrono::Datelike;
    let y = if day.month() >= 9 {
        day.year()
    } else {
        day.year() - 1
    };
    u16::try_from(y).unwrap_or(0)
}

/// Money paid in at a régie onto a person's ticket balance (*versement*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub person: PersonId,
    /// More than zero.
    pub cents: i64,
    pub mode: PaymentMode,
    /// Who paid (a parent's name), as they gave it.
    pub payer: String,
    /// The member of staff who took it.
    pub by: String,
    pub receipt: Receipt,
    pub note: String,
}

/// A mistaken payment cancelled: its amount is taken back off the balance. The payment and its
/// receipt number stay in the journal; the number is never given again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCancel {
    pub refers_to: EventRef,
    pub receipt: Receipt,
    pub person: PersonId,
    /// The cancelled payment's amount (more than zero), taken off.
    pub cents: i64,
    pub by: String,
    pub reason: String,
}

/// Money given back to a family from a remaining balance (departure, end of year).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub person: PersonId,
    /// More than zero, taken off the balance.
    pub cents: i64,
    pub mode: PaymentMode,
    pub regie: String,
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    EmergencyOn,
    EmergencyOff,
    /// A reader's tamper switch became active (OSDP `osdp_LSTATR`); the detail names it.
    ReaderTamperOn,
    /// A reader's tamper switch returned to normal.
    ReaderTamperOff,
    /// A reader reports a power failure.
    ReaderPowerFailure,
    /// A reader's power returned to normal.
    ReaderPowerRestored,
    /// The hub merged two passes of one person for one service from gates that could not see
    /// each other (partitioned): recorded for staff review, both passages kept.
    DoublePassage,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub detail: String,
}

/// Passages older than `cutoff` had their person, badge and staff note removed (retention of
/// personal data, BRIEF §6). Verdicts, reasons, services, days and charges stay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub cutoff: DateTime<Utc>,
    pub anonymised: u64,
}

/// Aid deducted from a family's bill as its own line (BRIEF §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AidKind {
    /// *Bourse* (national scholarship).
    Bourse,
    /// *Fonds social* (the school's social fund for meals).
    FondsSocial,
    /// The collectivité's aid (département, région).
    Collectivite,
}

impl AidKind {
    pub const ALL: [AidKind; 3] = [AidKind::Bourse, AidKind::FondsSocial, AidKind::Collectivite];
    pub fn code(self) -> &'static str {
        match self {
            AidKind::Bourse => "bourse",
            AidKind::FondsSocial => "fonds_social",
            AidKind::Collectivite => "collectivite",
        }
    }
    pub fn label_fr(self) -> &'static str {
        match self {
            AidKind::Bourse => "Bourse",
            AidKind::FondsSocial => "Fonds social",
            AidKind::Collectivite => "Aide de la collectivité",
        }
    }
}

impl FromStr for AidKind {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let folded = crate::model::fold(s);
        AidKind::ALL
            .into_iter()
            .find(|k| crate::model::fold(k.code()) == folded)
            .ok_or_else(|| ParseError::new(s, "expected bourse, fonds_social or collectivite"))
    }
}

/// What the bursar enters for a term's liquidation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingInput {
    /// A *remise d'ordre* on request: illness from `from` to `to` (inclusive), with the proof's
    /// reference, asked on `asked_on`.
    Remise {
        from: NaiveDate,
        to: NaiveDate,
        proof: String,
        asked_on: NaiveDate,
    },
    /// An aid, in cents (more than zero).
    Aid {
        kind: AidKind,
        cents: i64,
        reference: String,
    },
    /// An entry made by mistake, withdrawn (the entry stays in the journal).
    Cancel { refers_to: EventRef },
}

/// A liquidation input for one pupil and term (a remise on request, an aid, a withdrawal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingEntry {
    pub person: PersonId,
    /// The school year's first calendar year (2026 for 2026–2027) and the term's code.
    pub year: u16,
    pub term: String,
    pub input: BillingInput,
    pub by: String,
    pub note: String,
}

/// Whether a receivable line is the term's first constatation or a later one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceivableKind {
    Constatation,
    Reconstatation,
}

/// A receivable (*droit constaté*) on a family for one pupil and term, or a re-constatation
/// (positive or negative difference with what was constated before). Never edited: a change
/// is a new line on a new bordereau.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    pub person: PersonId,
    pub year: u16,
    pub term: String,
    /// The bordereau's number within the term (1, 2, …) and this line's number on it (1, 2, …).
    pub bordereau: u32,
    pub line: u32,
    pub kind: ReceivableKind,
    /// The forfait billed (`dp4`, `dp5`, `interne`…), empty when none any more.
    pub forfait: String,
    /// The paying guardian's `PERSONNE_ID`, empty when none is known.
    pub debtor: String,
    /// Amounts of this line (differences for a re-constatation): the forfait, the remises
    /// d'ordre and the aid (both as positive amounts deducted), and the net
    /// `forfait - remises - aides`.
    pub forfait_cents: i64,
    pub remises_cents: i64,
    pub aides_cents: i64,
    pub cents: i64,
    pub by: String,
}

/// A term closed by the bursar: no new first constatation, only re-constatations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermClosed {
    pub year: u16,
    pub term: String,
    pub by: String,
}

/// New variants go at the end: records are stored by variant index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Passage(Passage),
    Correction(Correction),
    Credit(Credit),
    Alarm(Alarm),
    Retention(Retention),
    Payment(Payment),
    PaymentCancel(PaymentCancel),
    Refund(Refund),
    BillingEntry(BillingEntry),
    Receivable(Receivable),
    TermClosed(TermClosed),
}

impl EventKind {
    /// What the event does to a ticket balance: the person and the change in cents (a
    /// passage's charge taken off, a correction's refund, a payment, its cancellation, a
    /// refund). `None` when it changes no balance. Checked: `None` too when a charge cannot
    /// be negated (the store refuses such an event before).
    pub fn balance_delta(&self) -> Option<(PersonId, i64)> {
        match self {
            EventKind::Passage(p) if p.verdict == Verdict::Pass && p.charge_cents != 0 => {
                Some((p.person?, p.charge_cents.checked_neg()?))
            }
            EventKind::Correction(c) if c.refund_cents != 0 => Some((c.person, c.refund_cents)),
            EventKind::Credit(c) => Some((c.person, c.cents)),
            EventKind::Payment(p) => Some((p.person, p.cents)),
            EventKind::PaymentCancel(c) => Some((c.person, c.cents.checked_neg()?)),
            EventKind::Refund(r) => Some((r.person, r.cents.checked_neg()?)),
            EventKind::Passage(_)
            | EventKind::Correction(_)
            | EventKind::Alarm(_)
            | EventKind::Retention(_)
            | EventKind::BillingEntry(_)
            | EventKind::Receivable(_)
            | EventKind::TermClosed(_) => None,
        }
    }
}

/// A gate numbers its events 1, 2, 3… within an *epoch*: epoch `k` numbers from `k << 32` + 1.
/// A gate restored from a backup while its hub is out of reach cannot know which numbers the
/// hub already holds for it, so it starts the next epoch: none of its new events can take a
/// number the hub gave another one, and the hub accepts the jump (see [`follows`]).
pub const EPOCH_SHIFT: u32 = 32;

/// The epoch of a sequence number (0 until a gate is first restored offline).
pub fn epoch_of(seq: u64) -> u64 {
    seq >> EPOCH_SHIFT
}

/// The floor that starts the epoch after `last`'s: the next number given is this + 1.
pub fn next_epoch_floor(last: u64) -> u64 {
    epoch_of(last).saturating_add(1) << EPOCH_SHIFT
}

/// Whether `next` may come right after `prev` in a gate's journal: the next number, or the
/// first number of a later epoch.
pub fn follows(prev: u64, next: u64) -> bool {
    prev.checked_add(1) == Some(next)
        || (epoch_of(next) > epoch_of(prev) && next & ((1 << EPOCH_SHIFT) - 1) == 1)
}

/// A journal entry: numbered per gate, in commit order, from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub gate: String,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

impl Event {
    pub fn as_ref(&self) -> EventRef {
        EventRef {
            gate: self.gate.clone(),
            seq: self.seq,
        }
    }
    pub fn passage(&self) -> Option<&Passage> {
        match &self.kind {
            EventKind::Passage(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_within_an_epoch_or_jump_to_the_start_of_a_later_one() {
        assert!(follows(0, 1));
        assert!(follows(41, 42));
        assert!(!follows(41, 43));
        assert!(!follows(42, 42));
        let e1 = next_epoch_floor(42);
        assert_eq!(e1, 1 << 32);
        assert!(follows(42, e1 + 1));
        assert!(follows(0, e1 + 1));
        assert!(!follows(42, e1 + 2), "not the first of the epoch");
        assert!(!follows(e1 + 5, e1 + 1), "backwards");
        assert!(follows(e1 + 5, e1 + 6));
        assert_eq!(next_epoch_floor(e1 + 5), 2 << 32);
        assert!(follows(e1 + 5, (2 << 32) + 1));
        assert_eq!(epoch_of(e1 + 5), 1);
        assert!(!follows(u64::MAX, 0));
    }
}
