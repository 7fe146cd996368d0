//! The domain: who eats (persons), what they present (credentials), what they are entitled to
//! (forfaits, a ticket balance), when the canteen is open (services, closures) and what blocks
//! someone (oppositions). Plain data, no behaviour beyond parsing and small queries.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Dense identifier of a person inside one site. Assigned by the store, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PersonId(pub u32);

/// Index of a service in the school's list of services (at most [`ServiceSet::CAPACITY`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceId(pub u8);

/// Who a convive is; the tariff depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A pupil.
    Eleve,
    /// Staff eating at the canteen (teachers, agents).
    Commensal,
    /// A guest (hôte de passage).
    Hote,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Eleve, Category::Commensal, Category::Hote];

    pub fn code(self) -> &'static str {
        match self {
            Category::Eleve => "eleve",
            Category::Commensal => "commensal",
            Category::Hote => "hote",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Category::Eleve => "élève",
            Category::Commensal => "commensal",
            Category::Hote => "hôte de passage",
        }
    }
}

impl FromStr for Category {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match fold(s).as_str() {
            "eleve" | "pupil" => Ok(Category::Eleve),
            "commensal" | "personnel" | "staff" => Ok(Category::Commensal),
            "hote" | "hote de passage" | "invite" | "guest" => Ok(Category::Hote),
            _ => Err(ParseError::new(
                s,
                "expected eleve, commensal or hote (also: personnel, invite)",
            )),
        }
    }
}

/// A pupil's status (SIÈCLE `CODE_REGIME`, simplified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    Externe,
    DemiPensionnaire,
    Interne,
}

impl Regime {
    pub fn code(self) -> &'static str {
        match self {
            Regime::Externe => "externe",
            Regime::DemiPensionnaire => "dp",
            Regime::Interne => "interne",
        }
    }
}

impl FromStr for Regime {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match fold(s).as_str() {
            "externe" | "ext" | "" => Ok(Regime::Externe),
            "dp" | "demi-pensionnaire" | "demi pensionnaire" | "demipensionnaire" => {
                Ok(Regime::DemiPensionnaire)
            }
            "interne" | "int" => Ok(Regime::Interne),
            _ => Err(ParseError::new(s, "expected externe, dp or interne")),
        }
    }
}

/// A set of weekdays, Monday = bit 0.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    pub const EMPTY: WeekdaySet = WeekdaySet(0);
    pub const SCHOOL_WEEK: WeekdaySet = WeekdaySet(0b0001_1111);
    /// DP 4 jours: Monday, Tuesday, Thursday, Friday.
    pub const DP4: WeekdaySet = WeekdaySet(0b0001_1011);

    pub fn bits(self) -> u8 {
        self.0
    }
    pub fn from_bits(bits: u8) -> Self {
        WeekdaySet(bits & 0x7f)
    }
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }
    pub fn with(self, day: Weekday) -> Self {
        WeekdaySet(self.0 | (1 << day.num_days_from_monday()))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }
}

const DAY_CODES: [&str; 7] = ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"];

impl fmt::Display for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, code) in DAY_CODES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(code)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeekdaySet({self})")
    }
}

impl FromStr for WeekdaySet {
    type Err = ParseError;
    /// Accepts French or English day names or abbreviations, or ISO day numbers (1 = Monday),
    /// separated by spaces, commas, `+` or `/`: `lun mar jeu ven`, `1,2,4,5`, `mon tue`.
    /// The words `aucun` or an empty string give the empty set; `tous`/`semaine` Monday–Friday.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut set = WeekdaySet::EMPTY;
        for word in s
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | '+' | '/' | ';'))
            .filter(|w| !w.is_empty())
        {
            let w = fold(word);
            let day = match w.as_str() {
                "aucun" | "none" => continue,
                "tous" | "semaine" => {
                    set = WeekdaySet(set.0 | WeekdaySet::SCHOOL_WEEK.0);
                    continue;
                }
                "1" | "lun" | "lundi" | "mon" | "monday" => Weekday::Mon,
                "2" | "mar" | "mardi" | "tue" | "tuesday" => Weekday::Tue,
                "3" | "mer" | "mercredi" | "wed" | "wednesday" => Weekday::Wed,
                "4" | "jeu" | "jeudi" | "thu" | "thursday" => Weekday::Thu,
                "5" | "ven" | "vendredi" | "fri" | "friday" => Weekday::Fri,
                "6" | "sam" | "samedi" | "sat" | "saturday" => Weekday::Sat,
                "7" | "dim" | "dimanche" | "sun" | "sunday" => Weekday::Sun,
                _ => {
                    return Err(ParseError::new(
                        word,
                        "expected day names such as `lun mar jeu ven` or numbers 1-7",
                    ));
                }
            };
            set = set.with(day);
        }
        Ok(set)
    }
}

/// A set of services, bit i = `ServiceId(i)`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceSet(u8);

impl ServiceSet {
    pub const CAPACITY: usize = 8;
    pub const EMPTY: ServiceSet = ServiceSet(0);
    pub const ALL: ServiceSet = ServiceSet(0xff);

    pub fn single(id: ServiceId) -> Self {
        ServiceSet(1 << id.0)
    }
    pub fn with(self, id: ServiceId) -> Self {
        ServiceSet(self.0 | (1 << id.0))
    }
    pub fn contains(self, id: ServiceId) -> bool {
        id.0 < 8 && self.0 & (1 << id.0) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn bits(self) -> u8 {
        self.0
    }
}

/// A flat-rate registration: these weekdays, these services, over this date range (inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forfait {
    pub weekdays: WeekdaySet,
    pub services: ServiceSet,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Forfait {
    /// Does this forfait pay for `service` on `day`?
    pub fn covers(&self, day: NaiveDate, service: ServiceId) -> bool {
        self.in_range(day)
            && self.weekdays.contains(day.weekday())
            && self.services.contains(service)
    }
    pub fn in_range(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Someone who eats at the canteen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    /// The school's identifier (SIÈCLE `ELEVE_ID`, a roster identifier…); unique per site.
    pub external_id: String,
    pub last_name: String,
    pub first_name: String,
    /// Class (`division`), empty for staff and guests.
    pub class: String,
    pub category: Category,
    pub regime: Regime,
    pub forfaits: Vec<Forfait>,
    /// How many passages one service allows (default 1: anti-passback).
    pub passages_per_service: u8,
    /// The tariff tier (*tranche de quotient familial*) the meal price follows, by its code
    /// (`[tiers]` in the configuration); none: the category's price.
    #[serde(default)]
    pub tier: Option<String>,
}

impl Person {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
    /// Has a forfait that is in force on `day` (whatever the weekday).
    pub fn has_forfait_on(&self, day: NaiveDate) -> bool {
        self.forfaits.iter().any(|f| f.in_range(day))
    }
    pub fn forfait_covers(&self, day: NaiveDate, service: ServiceId) -> bool {
        self.forfaits.iter().any(|f| f.covers(day, service))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    Active,
    Lost,
    Revoked,
}

impl CredentialStatus {
    pub fn code(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Lost => "lost",
            CredentialStatus::Revoked => "revoked",
        }
    }
}

/// A badge number as read by a reader, normalised: ASCII letters and digits, upper case,
/// 1 to 32 characters, separators (`-`, `:`, spaces) removed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BadgeNumber(String);

impl BadgeNumber {
    pub const MAX_LEN: usize = 32;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BadgeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BadgeNumber {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut out = String::with_capacity(s.len());
        for c in s.trim().chars() {
            match c {
                '-' | ':' | ' ' => {}
                c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
                _ => {
                    return Err(ParseError::new(
                        s,
                        "a badge number holds only letters and digits",
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err(ParseError::new(s, "empty badge number"));
        }
        if out.len() > Self::MAX_LEN {
            return Err(ParseError::new(s, "badge number longer than 32 characters"));
        }
        Ok(BadgeNumber(out))
    }
}

/// A badge (or card, or wristband) held by a person. A person may hold several over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub number: BadgeNumber,
    pub person: PersonId,
    pub status: CredentialStatus,
}

/// Why someone is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OppositionReason {
    /// Declared absent in PRONOTE before the tally time.
    AbsentPronote,
    /// Unpaid bills.
    Impaye,
    /// Excluded from the canteen (disciplinary).
    Exclusion,
    /// Set by hand by the intendance.
    Manuelle,
    /// Has left the school (SIÈCLE's `DATE_SORTIE` passed, or no longer in its export): the
    /// balance stays for a refund; staff can still admit by hand.
    Depart,
    /// Work placement (*stage en entreprise*): not at school, the forfait's days are deducted.
    Stage,
    /// School trip (*voyage, sortie scolaire*) that does not eat here: days deducted.
    Voyage,
}

impl OppositionReason {
    pub const ALL: [OppositionReason; 7] = [
        OppositionReason::AbsentPronote,
        OppositionReason::Impaye,
        OppositionReason::Exclusion,
        OppositionReason::Manuelle,
        OppositionReason::Depart,
        OppositionReason::Stage,
        OppositionReason::Voyage,
    ];
    pub fn code(self) -> &'static str {
        match self {
            OppositionReason::AbsentPronote => "absent_pronote",
            OppositionReason::Impaye => "impaye",
            OppositionReason::Exclusion => "exclusion",
            OppositionReason::Manuelle => "manuelle",
            OppositionReason::Depart => "depart",
            OppositionReason::Stage => "stage",
            OppositionReason::Voyage => "voyage",
        }
    }
    pub fn label_fr(self) -> &'static str {
        match self {
            OppositionReason::AbsentPronote => "Absent (PRONOTE)",
            OppositionReason::Impaye => "Impayé",
            OppositionReason::Exclusion => "Exclusion de la demi-pension",
            OppositionReason::Manuelle => "Opposition manuelle",
            OppositionReason::Depart => "A quitté l'établissement",
            OppositionReason::Stage => "En stage",
            OppositionReason::Voyage => "Voyage scolaire",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            OppositionReason::AbsentPronote => "Absent (PRONOTE)",
            OppositionReason::Impaye => "Unpaid bills",
            OppositionReason::Exclusion => "Excluded from the canteen",
            OppositionReason::Manuelle => "Blocked by hand",
            OppositionReason::Depart => "Has left the school",
            OppositionReason::Stage => "On work placement",
            OppositionReason::Voyage => "On a school trip",
        }
    }
}

impl FromStr for OppositionReason {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        // Both sides folded: `fold` reads `_` as a space, so `absent_pronote` is compared as
        // `absent pronote` (comparing with the bare code refused it).
        let folded = fold(s);
        OppositionReason::ALL
            .into_iter()
            .find(|r| fold(r.code()) == folded)
            .ok_or_else(|| {
                ParseError::new(
                    s,
                    "expected absent_pronote, impaye, exclusion, manuelle, depart, stage or voyage",
                )
            })
    }
}

/// A block on a person, for a range of days (inclusive) and all services or one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opposition {
    pub id: u64,
    pub person: PersonId,
    pub reason: OppositionReason,
    /// `None`: every service.
    pub service: Option<ServiceId>,
    pub from: NaiveDate,
    /// `None`: until lifted.
    pub to: Option<NaiveDate>,
    pub note: String,
    pub lifted: bool,
}

impl Opposition {
    /// Decides nothing from `day` on, nor kept any more for staff: ended before `day`, or lifted
    /// and begun before it.
    pub fn ended_before(&self, day: NaiveDate) -> bool {
        self.to.is_some_and(|to| to < day) || (self.lifted && self.from < day)
    }

    pub fn effective(&self, day: NaiveDate, service: ServiceId) -> bool {
        !self.lifted
            && self.from <= day
            && self.to.is_none_or(|to| day <= to)
            && self.service.is_none_or(|s| s == service)
    }
}

/// A meal sitting: a time window on some weekdays, at some gates (all when `gates` is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    /// Stable code: `petit_dejeuner`, `dejeuner`, `diner`…
    pub code: String,
    pub label: String,
    /// Opens at `start` (inclusive), closes at `end` (exclusive), local time.
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub weekdays: WeekdaySet,
    pub gates: Vec<String>,
}

impl Service {
    pub fn open_at(&self, gate: &str, day: NaiveDate, time: NaiveTime) -> bool {
        self.weekdays.contains(day.weekday())
            && self.start <= time
            && time < self.end
            && (self.gates.is_empty() || self.gates.iter().any(|g| g == gate))
    }
}

/// Days when the canteen is shut: holidays, public holidays, a strike day. Inclusive range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Services closed; `ServiceSet::ALL` for the whole day.
    pub services: ServiceSet,
}

impl Closure {
    pub fn closes(&self, day: NaiveDate, service: ServiceId) -> bool {
        self.from <= day && day <= self.to && self.services.contains(service)
    }
}

/// How far below zero a ticket balance may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overdraft {
    /// An amount in cents.
    Cents(i64),
    /// A number of meals at the person's price.
    Meals(u32),
}

impl Overdraft {
    pub fn allowance_cents(self, price_cents: i64) -> i64 {
        match self {
            Overdraft::Cents(c) => c.max(0),
            Overdraft::Meals(n) => price_cents.saturating_mul(i64::from(n)),
        }
    }
}

/// A tier's prices within a category's tariff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPrice {
    pub tier: String,
    pub price_cents: i64,
    pub service_prices: Vec<(ServiceId, i64)>,
}

/// The price of a meal for a category, with an optional per-service override, prices per tariff
/// tier, and the overdraft (for the category, or per régime).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    pub category: Category,
    pub price_cents: i64,
    /// Per-service prices (breakfast is cheaper than lunch).
    pub service_prices: Vec<(ServiceId, i64)>,
    pub overdraft: Overdraft,
    /// Prices for the persons of a tier (the family's *quotient familial* band).
    #[serde(default)]
    pub tiers: Vec<TierPrice>,
    /// The overdraft for a régime, in place of `overdraft` (externes: often none).
    #[serde(default)]
    pub regime_overdraft: Vec<(Regime, Overdraft)>,
}

impl Tariff {
    /// The category's price for `service`, whatever the tier.
    pub fn price(&self, service: ServiceId) -> i64 {
        find_price(&self.service_prices, service).unwrap_or(self.price_cents)
    }

    /// The price `person` pays for `service`: their tier's when the tariff has one for it.
    pub fn price_for(&self, person: &Person, service: ServiceId) -> i64 {
        match person
            .tier
            .as_deref()
            .and_then(|t| self.tiers.iter().find(|p| p.tier == t))
        {
            Some(tier) => find_price(&tier.service_prices, service).unwrap_or(tier.price_cents),
            None => self.price(service),
        }
    }

    /// How far below zero `person`'s balance may go for a meal at `price_cents`.
    pub fn overdraft_for(&self, person: &Person, price_cents: i64) -> i64 {
        self.regime_overdraft
            .iter()
            .find(|(r, _)| *r == person.regime)
            .map_or(self.overdraft, |(_, o)| *o)
            .allowance_cents(price_cents)
    }
}

fn find_price(prices: &[(ServiceId, i64)], service: ServiceId) -> Option<i64> {
    prices.iter().find(|(s, _)| *s == service).map(|(_, p)| *p)
}

/// Rules of the school that are not about one person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchoolRules {
    pub timezone: chrono_tz::Tz,
    pub services: Vec<Service>,
    pub closures: Vec<Closure>,
    pub tariffs: Vec<Tariff>,
    /// A forfait holder on a day their forfait does not cover may eat on their ticket balance.
    pub ticket_fallback: bool,
    /// Externes (pupils without a forfait) may buy a meal on their ticket balance.
    #[serde(default = "yes")]
    pub externe_tickets: bool,
    /// Same credential at the same gate within this window is one read (reader repeats).
    pub debounce_ms: u32,
}

impl SchoolRules {
    /// The school's local date and time at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> (NaiveDate, NaiveTime) {
        let local = at.with_timezone(&self.timezone);
        (local.date_naive(), local.time())
    }

    /// "Today" at `at`: the school's local date (between midnight and 01:00 or 02:00 in Paris
    /// the UTC date is still yesterday; this one is not).
    pub fn today(&self, at: DateTime<Utc>) -> NaiveDate {
        school_day(self.timezone, at)
    }

    /// The instant the school day `day` begins: local midnight (the first instant of the day
    /// when a time change skips midnight).
    pub fn midnight(&self, day: NaiveDate) -> DateTime<Utc> {
        school_midnight(self.timezone, day)
    }

    /// "This service": the one open at `gate` at `at`, unless that day is closed for it.
    pub fn service_at(&self, gate: &str, at: DateTime<Utc>) -> Option<ServiceId> {
        let (day, time) = self.local(at);
        self.services
            .iter()
            .find(|s| s.open_at(gate, day, time))
            .map(|s| s.id)
            .filter(|s| self.closure_on(day, *s).is_none())
    }

    pub fn tariff(&self, category: Category) -> Option<&Tariff> {
        self.tariffs.iter().find(|t| t.category == category)
    }
    pub fn service(&self, id: ServiceId) -> Option<&Service> {
        self.services.get(usize::from(id.0))
    }
    pub fn service_by_code(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }
    pub fn closure_on(&self, day: NaiveDate, service: ServiceId) -> Option<&Closure> {
        self.closures.iter().find(|c| c.closes(day, service))
    }
}

/// The local date in `tz` at `at`: the school day of anything that happens then.
pub fn school_day(tz: chrono_tz::Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of `day` in `tz` (local midnight, or the first instant after a gap).
pub fn school_midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    let mut t = day.and_time(NaiveTime::MIN);
    // A time change may skip local midnight: the day then begins at the gap's end.
    for _ in 0..4 {
        if let Some(x) = tz.from_local_datetime(&t).earliest() {
            return x.with_timezone(&Utc);
        }
        t += chrono::TimeDelta::minutes(30);
    }
    day.and_time(NaiveTime::MIN).and_utc()
}

/// A value that could not be read, with what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}`: {expected}")]
pub struct ParseError {
    pub value: String,
    pub expected: &'static str,
}

impl ParseError {
    pub fn new(value: &str, expected: &'static str) -> Self {
        let mut shown: String = value.chars().take(64).collect();
        if value.chars().count() > 64 {
            shown.push('…');
        }
        ParseError {
            value: shown,
            expected,
        }
    }
}

/// Lower case, accents removed, trimmed: for matching words typed by people.
pub fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
            'î' | 'ï' | 'Î' | 'Ï' => 'i',
            'ô' | 'ö' | 'Ô' | 'Ö' => 'o',
            'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
            'ç' | 'Ç' => 'c',
            '_' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Parses an amount of euros written by people: `12`, `12.5`, `12,50`, `-3,20`, `1 234,00 €`.
pub fn parse_euros(s: &str) -> Result<i64, ParseError> {
    const EXPECTED: &str = "expected an amount in euros such as 12,50";
    let cleaned: String = s
        .trim()
        .trim_end_matches('€')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    let (neg, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let body = body.replace(',', ".");
    let (whole, frac) = body.split_once('.').unwrap_or((&body, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 12
    {
        return Err(ParseError::new(s, EXPECTED));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| ParseError::new(s, EXPECTED))?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => {
            frac.parse::<i64>()
                .map_err(|_| ParseError::new(s, EXPECTED))?
                * 10
        }
        _ => frac.parse().map_err(|_| ParseError::new(s, EXPECTED))?,
    };
    let cents = whole * 100 + frac;
    Ok(if neg { -cents } else { cents })
}

/// Formats cents the French way: `3,90 €`, `−3,20 €`.
pub fn format_euros(cents: i64) -> String {
    let sign = if cents < 0 { "−" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{},{:02} €", abs / 100, abs % 100)
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_sets_parse_in_french_english_and_numbers() {
        let dp4: WeekdaySet = "lun mar jeu ven".parse().unwrap();
        assert_eq!(dp4, WeekdaySet::DP4);
        assert_eq!("1,2,4,5".parse::<WeekdaySet>().unwrap(), WeekdaySet::DP4);
        assert_eq!(
            "Lundi+Mardi+Jeudi+Vendredi".parse::<WeekdaySet>().unwrap(),
            WeekdaySet::DP4
        );
        assert_eq!(
            "tous".parse::<WeekdaySet>().unwrap(),
            WeekdaySet::SCHOOL_WEEK
        );
        assert_eq!("".parse::<WeekdaySet>().unwrap(), WeekdaySet::EMPTY);
        assert_eq!(dp4.to_string(), "lun mar jeu ven");
        assert!("lun funday".parse::<WeekdaySet>().is_err());
    }

    #[test]
    fn badge_numbers_are_normalised_and_garbage_is_refused() {
        assert_eq!(
            "04-00a1:b2c3".parse::<BadgeNumber>().unwrap().as_str(),
            "0400A1B2C3"
        );
        assert!("".parse::<BadgeNumber>().is_err());
        assert!("12;DROP".parse::<BadgeNumber>().is_err());
        assert!("é".parse::<BadgeNumber>().is_err());
        assert!("1".repeat(33).parse::<BadgeNumber>().is_err());
    }

    #[test]
    fn euros_parse_both_decimal_separators() {
        assert_eq!(parse_euros("12,50").unwrap(), 1250);
        assert_eq!(parse_euros("12.5").unwrap(), 1250);
        assert_eq!(parse_euros("-3,20 €").unwrap(), -320);
        assert_eq!(parse_euros("1 234,00").unwrap(), 123_400);
        assert_eq!(parse_euros("0").unwrap(), 0);
        assert!(parse_euros("abc").is_err());
        assert!(parse_euros("1,234").is_err());
        assert!(parse_euros("").is_err());
        assert!(parse_euros("-").is_err());
        assert_eq!(format_euros(-320), "−3,20 €");
        assert_eq!(format_euros(390), "3,90 €");
    }

    #[test]
    fn zero_euros_has_no_minus_sign_and_a_cent_keeps_its_sign() {
        assert_eq!(format_euros(0), "0,00 €");
        assert_eq!(format_euros(-1), "−0,01 €");
        assert_eq!(format_euros(5), "0,05 €");
        assert_eq!(format_euros(-100), "−1,00 €");
    }

    #[test]
    fn a_negative_overdraft_in_cents_allows_nothing() {
        // A negative amount typed in the configuration must not become a credit requirement.
        assert_eq!(Overdraft::Cents(-500).allowance_cents(390), 0);
        assert_eq!(Overdraft::Cents(0).allowance_cents(390), 0);
        assert_eq!(Overdraft::Cents(300).allowance_cents(390), 300);
        assert_eq!(Overdraft::Meals(2).allowance_cents(390), 780);
        assert_eq!(Overdraft::Meals(0).allowance_cents(390), 0);
    }

    #[test]
    fn a_badge_of_32_characters_is_accepted_and_33_refused() {
        let max = "A".repeat(BadgeNumber::MAX_LEN);
        assert_eq!(max.parse::<BadgeNumber>().unwrap().as_str(), max);
        // Separators do not count towards the length.
        let spaced = format!("{}-{}", "B".repeat(16), "C".repeat(16));
        assert_eq!(spaced.parse::<BadgeNumber>().unwrap().as_str().len(), 32);
        assert!(format!("{max}D").parse::<BadgeNumber>().is_err());
    }

    #[test]
    fn a_forfait_covers_its_first_and_last_day_and_not_one_more() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // Tuesday 1 September 2026 to Friday 2 July 2027, every day of the week.
        let f = Forfait {
            weekdays: WeekdaySet::from_bits(0x7f),
            services: ServiceSet::single(ServiceId(1)),
            from: d("2026-09-01"),
            to: d("2027-07-02"),
        };
        assert!(f.covers(d("2026-09-01"), ServiceId(1)), "first day");
        assert!(f.covers(d("2027-07-02"), ServiceId(1)), "last day");
        assert!(!f.covers(d("2026-08-31"), ServiceId(1)), "the day before");
        assert!(!f.covers(d("2027-07-03"), ServiceId(1)), "the day after");
        assert!(!f.covers(d("2026-09-01"), ServiceId(0)), "another service");
        assert!(f.in_range(d("2026-09-01")) && f.in_range(d("2027-07-02")));
        assert!(!f.in_range(d("2026-08-31")) && !f.in_range(d("2027-07-03")));
    }

    #[test]
    fn every_category_and_opposition_reason_reads_back_from_its_code() {
        for c in Category::ALL {
            assert_eq!(c.code().parse::<Category>(), Ok(c), "{c:?}");
        }
        for wrong in ["", "chef", "eleves", "commensal2"] {
            assert!(
                wrong.parse::<Category>().is_err(),
                "`{wrong}` is no category"
            );
        }
        for r in OppositionReason::ALL {
            assert_eq!(r.code().parse::<OppositionReason>(), Ok(r), "{r:?}");
        }
        for wrong in ["", "absent", "impayes", "opposition:impaye"] {
            assert!(
                wrong.parse::<OppositionReason>().is_err(),
                "`{wrong}` is no opposition reason"
            );
        }
    }

    #[test]
    fn every_weekday_set_reads_back_from_its_text() {
        for bits in 0..=0x7f {
            let set = WeekdaySet::from_bits(bits);
            assert_eq!(
                set.to_string().parse::<WeekdaySet>(),
                Ok(set),
                "{bits:#09b}"
            );
            assert_eq!(set.bits(), bits);
        }
        for (text, day) in [
            ("mer", Weekday::Wed),
            ("sam", Weekday::Sat),
            ("dim", Weekday::Sun),
        ] {
            let set: WeekdaySet = text.parse().unwrap();
            assert!(set.contains(day) && set.len() == 1, "{text}");
        }
        for wrong in ["lunn", "8", "0", "lun;mardy"] {
            assert!(wrong.parse::<WeekdaySet>().is_err(), "`{wrong}` is refused");
        }
    }

    #[test]
    fn the_words_for_no_day_and_the_school_week_add_to_the_days_beside_them() {
        let parse = |s: &str| s.parse::<WeekdaySet>().unwrap();
        for none in ["aucun", "none", "Aucun", ""] {
            assert_eq!(parse(none), WeekdaySet::EMPTY, "`{none}`");
        }
        assert_eq!(parse("aucun lun"), WeekdaySet::EMPTY.with(Weekday::Mon));
        assert_eq!(parse("tous"), WeekdaySet::SCHOOL_WEEK);
        assert_eq!(parse("semaine"), WeekdaySet::SCHOOL_WEEK);
        // A day already in the school week stays in it, and one outside is kept.
        assert_eq!(parse("lun tous"), WeekdaySet::SCHOOL_WEEK);
        assert_eq!(parse("tous tous"), WeekdaySet::SCHOOL_WEEK);
        assert_eq!(
            parse("sam semaine"),
            WeekdaySet::SCHOOL_WEEK.with(Weekday::Sat)
        );
    }
}
