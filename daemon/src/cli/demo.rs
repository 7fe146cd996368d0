//! `selfgate demo`: a whole school on simulated hardware. The first run creates a demo collège
//! (600 pupils in 20 classes with a realistic mix of DP 5 jours, DP 4 jours, internes and ticket
//! pupils, staff, guests, lost badges and a few oppositions) in the data directory, with the
//! configuration it uses written beside it (`selfgate.toml`). Then services run one after the
//! other on a clock running N times faster than real time, skipping the hours between services.
//! Pupils arrive in the shape of a real lunch rush on two simulated readers; the real decision
//! engine, journal and commit-before-open path do the rest. A later run on the same directory
//! resumes after the last simulated moment: history stays and nothing is counted twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};

use selfgate_hardware::sim::{SimReader, SimReaderHandle, SimTurnstile};
use selfgate_hardware::{Reader, Turnstile};
use selfgate_rules::journal::{Credit, EventKind, PaymentMode};
use selfgate_rules::model::{
    BadgeNumber, Category, Credential, CredentialStatus, Forfait, Opposition, OppositionReason,
    Person, PersonId, Regime, SchoolRules, ServiceId, WeekdaySet,
};

use super::words::{Msg, text};
use crate::config::Config;
use crate::infra::clock::{Clock, ScaledClock};
use crate::node::control::{self, Answer, Request};
use crate::node::gate::{GateHandle, Hardware, Shared};
use crate::node::{Node, NodeSpec, Services};
use crate::store::{Store, WriteOp, Writer};

pub struct DemoOptions {
    pub data: PathBuf,
    pub listen: std::net::SocketAddr,
    pub speed: f64,
    pub run_for: Option<Duration>,
    pub seed: u64,
    /// A private school: pupils and payments from Charlemagne's files (`demo_prive.rs`).
    pub prive: bool,
}

const CLOCK_KEY: &str = "demo_clock";
const READERS: [&str; 2] = ["entree-gauche", "entree-droite"];

/// Parses `20s`, `5m`, `1h30m`, `90` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration such as 20s, 5m or 1h"))?;
        num.clear();
        total += match c {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            _ => return Err(format!("`{s}` is not a duration such as 20s, 5m or 1h")),
        };
    }
    if !num.is_empty() || total == 0 {
        return Err(format!("`{s}` is not a duration such as 20s, 5m or 1h"));
    }
    Ok(Duration::from_secs(total))
}

/// A small deterministic PRNG (splitmix64): the demo school is the same for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1).max(1) as u64) as i64
    }
    /// Normal with mean `m` and deviation `sd` (Box–Muller).
    fn normal(&mut self, m: f64, sd: f64) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        m + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

const FIRST_NAMES: [&str; 48] = [
    "Léa",
    "Emma",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Manon",
    "Camille",
    "Sarah",
    "Lina",
    "Zoé",
    "Alice",
    "Nina",
    "Rose",
    "Ambre",
    "Anna",
    "Mila",
    "Julia",
    "Lou",
    "Agathe",
    "Éléna",
    "Yasmine",
    "Maëlys",
    "Clémence",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Adam",
    "Nathan",
    "Théo",
    "Raphaël",
    "Tom",
    "Noah",
    "Ethan",
    "Mathis",
    "Sacha",
    "Enzo",
    "Rayan",
    "Paul",
    "Timéo",
    "Maël",
    "Noé",
    "Baptiste",
    "Mohamed",
    "Kylian",
];

const LAST_NAMES: [&str; 60] = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Marie",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
];

/// How a person behaves at lunch, for the arrivals generator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dp5,
    Dp4,
    Interne,
    Ticket,
    Externe,
    Staff,
    Guest,
}

struct DemoPerson {
    id: PersonId,
    kind: Kind,
    badge: BadgeNumber,
    /// The badge declared lost, which they still present first.
    lost_badge: Option<BadgeNumber>,
}

fn badge(rng: &mut Rng, used: &mut std::collections::HashSet<String>) -> BadgeNumber {
    loop {
        let n = format!("0A{:08X}", rng.next() as u32);
        if used.insert(n.clone()) {
            if let Ok(b) = n.parse() {
                return b;
            }
        }
    }
}

/// The demo configuration written beside the data: readable, and valid for `check-config`.
fn demo_config_text(data: &Path, today: NaiveDate) -> String {
    let (start, end) = crate::config::default_school_year(today);
    format!(
        r#"# Demo school written by `selfgate demo`. Edit it and run the demo again, or check it with
#   selfgate check-config {cfg}
[school]
name = "Collège de démonstration"
uai = "0999999X"
timezone = "Europe/Paris"
year_start = "{start}"
year_end = "{end}"
# Refuse forfait holders on their days off, so the demo shows `not_registered_today`.
ticket_fallback = false

[store]
data_dir = "{data}"

[gate]
id = "ligne-1"
pulse_ms = 300

[[gate.readers]]
name = "{r0}"
kind = "simulated"

[[gate.readers]]
name = "{r1}"
kind = "simulated"

[gate.turnstile]
kind = "simulated"
pulse_log = "{pulses}"

# Tariff tiers (quotient familial): a third of the ticket pupils in each.
[tiers]
T1 = "QF de 0 à 600 €"
T2 = "QF de 601 à 1 200 €"

[[tariffs]]
category = "eleve"
price = "3,90"
overdraft_meals = 2
[tariffs.tiers.T1]
price = "1,00"
[tariffs.tiers.T2]
price = "2,60"

[[tariffs]]
category = "commensal"
price = "5,20"

[[tariffs]]
category = "hote"
price = "7,00"

# The régie where families top up their children's balances (`selfgate payment`, /regie).
[[regies]]
code = "INT"
name = "Intendance"

# The official school holidays of zone C (Paris): closures for the gate and the billing alike.
[calendar]
zone = "C"

# Forfaits billed per term (droits constatés, docs/billing.md). The terms are the default ones:
# T1 to 31 December, T2 to 31 March, T3 to the end of the school year.
[billing]
payment = "À régler à la régie Intendance (espèces, chèque à l'ordre de l'agent comptable) ou en ligne depuis l'espace famille."

[[billing.prices]]
forfait = "dp4"
per_day = "4,10"

[[billing.prices]]
forfait = "dp5"
per_day = "3,90"

[[billing.prices]]
forfait = "interne"
per_day = "11,50"
"#,
        cfg = data.join("selfgate.toml").display(),
        data = data.display(),
        pulses = data.join("pulses.log").display(),
        r0 = READERS[0],
        r1 = READERS[1],
    )
}

/// Creates the demo school's roster: the ops to commit and who is who.
fn generate_school(
    config: &Config,
    rng: &mut Rng,
    start_day: NaiveDate,
    at: DateTime<Utc>,
) -> (Vec<WriteOp>, Vec<DemoPerson>) {
    let mut ops = Vec::new();
    let mut people = Vec::new();
    let mut used = std::collections::HashSet::new();
    let (from, to) = (config.school.year_start, config.school.year_end);
    let gate = config.gate.id.clone();
    let mut next = 0u32;
    let mut add = |ops: &mut Vec<WriteOp>, rng: &mut Rng, kind: Kind, class: String, n: usize| {
        let id = PersonId(next);
        next += 1;
        let (category, regime, forfaits) = match kind {
            Kind::Dp5 => (
                Category::Eleve,
                Regime::DemiPensionnaire,
                vec![Forfait {
                    weekdays: WeekdaySet::SCHOOL_WEEK,
                    services: config.regimes.dp,
                    from,
                    to,
                }],
            ),
            Kind::Dp4 => (
                Category::Eleve,
                Regime::DemiPensionnaire,
                vec![Forfait {
                    weekdays: WeekdaySet::DP4,
                    services: config.regimes.dp,
                    from,
                    to,
                }],
            ),
            Kind::Interne => (
                Category::Eleve,
                Regime::Interne,
                vec![Forfait {
                    weekdays: WeekdaySet::SCHOOL_WEEK,
                    services: config.regimes.interne,
                    from,
                    to,
                }],
            ),
            Kind::Ticket | Kind::Externe => (Category::Eleve, Regime::Externe, vec![]),
            Kind::Staff => (Category::Commensal, Regime::Externe, vec![]),
            Kind::Guest => (Category::Hote, Regime::Externe, vec![]),
        };
        let (first, last) = (
            FIRST_NAMES[rng.below(FIRST_NAMES.len())],
            LAST_NAMES[rng.below(LAST_NAMES.len())],
        );
        let prefix = match category {
            Category::Eleve => "E",
            Category::Commensal => "P",
            Category::Hote => "H",
        };
        ops.push(WriteOp::PutPerson(Person {
            id,
            external_id: format!("{prefix}{:05}", n + 1),
            last_name: last.to_uppercase(),
            first_name: first.to_owned(),
            class,
            category,
            regime,
            forfaits,
            passages_per_service: 1,
            tier: match kind {
                Kind::Ticket | Kind::Externe => match rng.below(3) {
                    0 => Some("T1".to_owned()),
                    1 => Some("T2".to_owned()),
                    _ => None,
                },
                _ => None,
            },
        }));
        let balance = match kind {
            // One ticket pupil in five has run out.
            Kind::Ticket if rng.f() < 0.2 => rng.range(-1200, 200),
            Kind::Ticket => rng.range(400, 4000),
            Kind::Staff => rng.range(0, 6000),
            Kind::Guest => 2100,
            _ => 0,
        };
        if balance != 0 {
            ops.push(WriteOp::Append {
                gate: gate.clone(),
                at,
                kind: EventKind::Credit(Credit {
                    person: id,
                    cents: balance,
                    note: "solde initial (démo)".into(),
                }),
            });
        }
        let b = badge(rng, &mut used);
        ops.push(WriteOp::PutCredential(Credential {
            number: b.clone(),
            person: id,
            status: CredentialStatus::Active,
        }));
        DemoPerson {
            id,
            kind,
            badge: b,
            lost_badge: None,
        }
    };

    let mut n = 0;
    for level in ["6", "5", "4", "3"] {
        for letter in ["A", "B", "C", "D", "E"] {
            for _ in 0..30 {
                let r = rng.f();
                let kind = match r {
                    r if r < 0.40 => Kind::Dp5,
                    r if r < 0.65 => Kind::Dp4,
                    r if r < 0.73 => Kind::Interne,
                    r if r < 0.90 => Kind::Ticket,
                    _ => Kind::Externe,
                };
                let p = add(&mut ops, rng, kind, format!("{level}{letter}"), n);
                people.push(p);
                n += 1;
            }
        }
    }
    for i in 0..35 {
        let p = add(&mut ops, rng, Kind::Staff, String::new(), i);
        people.push(p);
    }
    for i in 0..4 {
        let p = add(&mut ops, rng, Kind::Guest, String::new(), i);
        people.push(p);
    }

    // Lost badges: the old one is declared lost, a new one is issued; they still present the
    // old one first.
    for _ in 0..8 {
        let i = rng.below(600);
        if people[i].lost_badge.is_some() {
            continue;
        }
        let old = people[i].badge.clone();
        ops.push(WriteOp::PutCredential(Credential {
            number: old.clone(),
            person: people[i].id,
            status: CredentialStatus::Lost,
        }));
        let new = badge(rng, &mut used);
        ops.push(WriteOp::PutCredential(Credential {
            number: new.clone(),
            person: people[i].id,
            status: CredentialStatus::Active,
        }));
        people[i].badge = new;
        people[i].lost_badge = Some(old);
    }

    // Oppositions: unpaid bills, an exclusion this week, absences declared in PRONOTE for the
    // first day's lunch.
    let lunch = config.rules.service_by_code("dejeuner").map(|s| s.id);
    let forfait_holders: Vec<usize> = (0..600)
        .filter(|i| matches!(people[*i].kind, Kind::Dp5 | Kind::Dp4 | Kind::Interne))
        .collect();
    let mut opp_id = 1;
    let mut oppose =
        |ops: &mut Vec<WriteOp>, person: PersonId, reason, service, from, to, note: &str| {
            ops.push(WriteOp::PutOpposition(Opposition {
                id: opp_id,
                person,
                reason,
                service,
                from,
                to,
                note: note.into(),
                lifted: false,
            }));
            opp_id += 1;
        };
    for k in 0..10 {
        let i = forfait_holders[rng.below(forfait_holders.len())];
        let p = people[i].id;
        match k {
            0..=2 => oppose(
                &mut ops,
                p,
                OppositionReason::Impaye,
                None,
                from,
                None,
                "2e relance sans réponse",
            ),
            3 => oppose(
                &mut ops,
                p,
                OppositionReason::Exclusion,
                None,
                start_day,
                Some(start_day + chrono::Days::new(4)),
                "exclusion de la demi-pension, 5 jours",
            ),
            4 => oppose(
                &mut ops,
                p,
                OppositionReason::Manuelle,
                lunch,
                start_day,
                Some(start_day),
                "sortie scolaire",
            ),
            _ => oppose(
                &mut ops,
                p,
                OppositionReason::AbsentPronote,
                lunch,
                start_day,
                Some(start_day),
                "absence saisie avant l'heure de pointage",
            ),
        }
    }
    (ops, people)
}

/// Who is who, read back from the roster (the demo may resume on a school it did not create
/// in this process, or one edited by hand).
fn people_from_roster(roster: &selfgate_rules::Roster, day: NaiveDate) -> Vec<DemoPerson> {
    let mut out = Vec::new();
    for p in roster.persons() {
        let mut active = None;
        let mut lost = None;
        for c in roster.credentials_of(p.id) {
            match c.status {
                CredentialStatus::Active => active = Some(c.number.clone()),
                CredentialStatus::Lost => lost = Some(c.number.clone()),
                CredentialStatus::Revoked => {}
            }
        }
        let Some(badge) = active else { continue };
        let forfait = p.forfaits.iter().find(|f| f.in_range(day));
        let kind = match (p.category, p.regime, forfait) {
            (Category::Commensal, _, _) => Kind::Staff,
            (Category::Hote, _, _) => Kind::Guest,
            (_, Regime::Interne, Some(_)) => Kind::Interne,
            (_, _, Some(f)) if f.weekdays == WeekdaySet::DP4 => Kind::Dp4,
            (_, _, Some(_)) => Kind::Dp5,
            (_, _, None) if roster.balance(p.id) != 0 => Kind::Ticket,
            _ => Kind::Externe,
        };
        out.push(DemoPerson {
            id: p.id,
            kind,
            badge,
            lost_badge: lost,
        });
    }
    out.sort_by_key(|p| p.id);
    out
}

/// The next service occurrence starting after `after`: (day, service, opens, closes) in UTC.
fn next_service(
    rules: &SchoolRules,
    gate: &str,
    after: DateTime<Utc>,
) -> Option<(NaiveDate, ServiceId, DateTime<Utc>, DateTime<Utc>)> {
    let tz = rules.timezone;
    let mut day = after.with_timezone(&tz).date_naive();
    for _ in 0..400 {
        let mut services: Vec<_> = rules
            .services
            .iter()
            .filter(|s| s.gates.is_empty() || s.gates.iter().any(|g| g == gate))
            .collect();
        services.sort_by_key(|s| s.start);
        for s in services {
            if !s.weekdays.contains(day.weekday()) || rules.closure_on(day, s.id).is_some() {
                continue;
            }
            let opens = tz
                .from_local_datetime(&day.and_time(s.start))
                .earliest()?
                .with_timezone(&Utc);
            let closes = tz
                .from_local_datetime(&day.and_time(s.end))
                .earliest()?
                .with_timezone(&Utc);
            if opens > after {
                return Some((day, s.id, opens, closes));
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// One presentation at a reader, at a simulated instant.
struct Arrival {
    at: DateTime<Utc>,
    reader: usize,
    what: Presentation,
}

enum Presentation {
    Badge(BadgeNumber),
    /// Forgot the badge: a member of staff admits them by hand.
    Forgotten(PersonId),
}

/// Who comes to `service` on `day`, and when.
fn arrivals(
    rules: &SchoolRules,
    people: &[DemoPerson],
    roster: &selfgate_rules::Roster,
    day: NaiveDate,
    service: ServiceId,
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
    rng: &mut Rng,
) -> Vec<Arrival> {
    let code = rules.service(service).map_or("", |s| s.code.as_str());
    let window = (closes - opens).num_seconds() as f64;
    let mut out = Vec::new();
    for p in people {
        let Some(person) = roster.person(p.id) else {
            continue;
        };
        let covered = person.forfait_covers(day, service);
        let chance = match (code, p.kind) {
            ("dejeuner", _) if covered => 0.93,
            ("dejeuner", Kind::Dp4) => 0.05,
            ("dejeuner", Kind::Ticket) => 0.45,
            ("dejeuner", Kind::Externe) => 0.03,
            ("dejeuner", Kind::Staff) => 0.55,
            ("dejeuner", Kind::Guest) => 0.5,
            (_, Kind::Interne) if covered => 0.9,
            _ => 0.0,
        };
        if rng.f() >= chance {
            continue;
        }
        // Lunch comes in two waves as classes are let out; other meals spread around a peak.
        let offset = if code == "dejeuner" {
            let r = rng.f();
            if r < 0.5 {
                rng.normal(window * 0.10, window * 0.07)
            } else if r < 0.9 {
                rng.normal(window * 0.50, window * 0.09)
            } else {
                rng.f() * window
            }
        } else {
            rng.normal(window * 0.35, window * 0.18)
        };
        // A few eager ones badge before the doors open.
        let offset = offset.clamp(-150.0, window - 60.0);
        let at = opens + TimeDelta::milliseconds((offset * 1000.0) as i64);
        let reader = rng.below(READERS.len());
        if let Some(lost) = &p.lost_badge {
            out.push(Arrival {
                at,
                reader,
                what: Presentation::Badge(lost.clone()),
            });
            out.push(Arrival {
                at: at + TimeDelta::seconds(25),
                reader,
                what: Presentation::Badge(p.badge.clone()),
            });
        } else if rng.f() < 0.015 {
            out.push(Arrival {
                at: at + TimeDelta::seconds(40),
                reader,
                what: Presentation::Forgotten(p.id),
            });
        } else {
            out.push(Arrival {
                at,
                reader,
                what: Presentation::Badge(p.badge.clone()),
            });
            // Some come back for a second tray.
            if rng.f() < 0.04 {
                let later = at + TimeDelta::seconds(rng.range(120, 900));
                out.push(Arrival {
                    at: later,
                    reader: rng.below(READERS.len()),
                    what: Presentation::Badge(p.badge.clone()),
                });
            }
        }
    }
    // Strangers' cards and a visiting badge from another school.
    for _ in 0..rng.below(4) {
        let at = opens + TimeDelta::seconds(rng.range(0, window as i64));
        if let Ok(b) = format!("0B{:08X}", rng.next() as u32).parse() {
            out.push(Arrival {
                at,
                reader: rng.below(READERS.len()),
                what: Presentation::Badge(b),
            });
        }
    }
    out.sort_by_key(|a| a.at);
    out
}

/// Runs the services one after the other, presenting badges as the pupils arrive.
async fn school_day_loop(
    clock: Arc<ScaledClock>,
    shared: Arc<Shared>,
    gate: GateHandle,
    writer: Writer,
    store: Store,
    readers: Vec<SimReaderHandle>,
    people: Vec<DemoPerson>,
    mut after: DateTime<Utc>,
    first_run: bool,
    mut rng: Rng,
) {
    let rules = shared.config().rules.clone();
    let gate_id = shared.config().gate.id.clone();
    let mut skip_to_lunch = first_run;
    let mut first_regie = first_run;
    while let Some((day, service, opens, closes)) = next_service(&rules, &gate_id, after) {
        after = opens;
        if skip_to_lunch && rules.service(service).is_some_and(|s| s.code != "dejeuner") {
            continue;
        }
        skip_to_lunch = false;
        let lead = TimeDelta::minutes(5);
        if clock.now() < opens - lead {
            clock.jump(opens - lead);
        }
        if rules.service(service).is_some_and(|s| s.code == "dejeuner") {
            regie_morning(&shared, &gate, &store, &people, &mut rng, first_regie).await;
            first_regie = false;
        }
        let list = {
            let engine = shared.engine();
            arrivals(
                &rules,
                &people,
                engine.roster(),
                day,
                service,
                opens,
                closes,
                &mut rng,
            )
        };
        for a in list {
            tokio::time::sleep(clock.real_until(a.at)).await;
            match a.what {
                Presentation::Badge(b) => {
                    // A reader repeats the number while the card stays in the field.
                    let frames = 1 + rng.below(3);
                    for _ in 0..frames {
                        readers[a.reader].present(b.as_str()).await;
                    }
                }
                Presentation::Forgotten(person) => {
                    let _ = gate
                        .admit(person, "Mme Leroy (surveillante)", "badge oublié", false)
                        .await;
                }
            }
        }
        tokio::time::sleep(clock.real_until(closes)).await;
        save_clock(&writer, closes).await;
        after = closes;
    }
}

/// Before lunch, families top up at the régie: the ticket pupils lowest in credit pay 20 to
/// 40 €, in cash or by cheque; on the demo's first day, one mistyped payment is cancelled.
async fn regie_morning(
    shared: &Arc<Shared>,
    gate: &GateHandle,
    store: &Store,
    people: &[DemoPerson],
    rng: &mut Rng,
    with_mistake: bool,
) {
    let config = shared.config();
    let mut low: Vec<(i64, PersonId)> = {
        let engine = shared.engine();
        people
            .iter()
            .filter(|p| p.kind == Kind::Ticket)
            .map(|p| (engine.roster().balance(p.id), p.id))
            .collect()
    };
    low.sort();
    for (i, (_, id)) in low.into_iter().take(3 + rng.below(3)).enumerate() {
        let (external, name, class) = match shared.engine().roster().person(id) {
            Some(p) => (p.external_id.clone(), p.display_name(), p.class.clone()),
            None => continue,
        };
        let mode = if rng.below(2) == 0 {
            PaymentMode::Especes
        } else {
            PaymentMode::Cheque {
                number: format!("{}", 1_000_000 + rng.below(9_000_000)),
                bank: ["La Banque Postale", "Crédit Agricole", "CIC"][rng.below(3)].into(),
            }
        };
        let cents = [2000, 3000, 4000][rng.below(3)];
        let take = |cents: i64, mode: PaymentMode| Request::PaymentAdd {
            person: external.clone(),
            cents,
            mode,
            payer: format!("Famille {}", name.rsplit(' ').next().unwrap_or_default()),
            by: "M. Garnier (régisseur)".into(),
            regie: None,
            note: String::new(),
        };
        let Some(receipt) = regie_op(&config, shared, gate, store, take(cents, mode.clone())).await
        else {
            continue;
        };
        println!(
            "{}",
            Msg::DemoPayment {
                receipt: &receipt,
                name: &name,
                class: &class,
                cents,
                mode: mode.code(),
            }
        );
        if with_mistake && i == 0 {
            // Ten times the amount, seen at once: cancelled, the number never given again.
            let Some(wrong) = regie_op(&config, shared, gate, store, take(cents * 10, mode)).await
            else {
                continue;
            };
            let cancel = Request::PaymentCancel {
                receipt: wrong.clone(),
                by: "M. Garnier (régisseur)".into(),
                reason: "erreur de saisie (montant)".into(),
            };
            if regie_op(&config, shared, gate, store, cancel)
                .await
                .is_some()
            {
                println!(
                    "{}",
                    Msg::DemoPaymentCancelled {
                        receipt: &wrong,
                        name: &name,
                        cents: cents * 10,
                    }
                );
            }
        }
    }
}

/// A régie operation made through the gate, as the kiosk makes it; the receipt concerned.
async fn regie_op(
    config: &Config,
    shared: &Arc<Shared>,
    gate: &GateHandle,
    store: &Store,
    req: Request,
) -> Option<String> {
    let planned = {
        let engine = shared.engine();
        control::plan_change(config, engine.roster(), store, req, shared.clock.now())
    };
    let (op, planned) = match planned {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("demo: régie: {e}");
            return None;
        }
    };
    let outcomes = gate.change(vec![op]).await.ok()?;
    match planned.answer(&outcomes) {
        Answer::Journaled { event } => match &event.kind {
            EventKind::Payment(p) => Some(p.receipt.to_string()),
            EventKind::PaymentCancel(c) => Some(c.receipt.to_string()),
            _ => None,
        },
        _ => None,
    }
}

async fn save_clock(writer: &Writer, at: DateTime<Utc>) {
    let op = WriteOp::SetMeta {
        key: CLOCK_KEY.into(),
        value: at.to_rfc3339().into_bytes(),
    };
    if let Err(e) = writer.submit(vec![op]).await {
        tracing::error!("cannot save the demo clock: {e}");
    }
}

/// The status line now, and the same line without its time: it is printed when that changes
/// (a pupil served or refused, a service opening or closing), not every second.
fn summary_line(shared: &Shared) -> (String, String) {
    let now = shared.clock.now();
    let config = shared.config();
    let local = now.with_timezone(&config.rules.timezone);
    let day = local.date_naive();
    let (service, served) = {
        let engine = shared.engine();
        let service = engine.open_service(&config.gate.id, now);
        let served = service.map_or(0, |s| engine.served().on(day, s).count());
        (service, served)
    };
    let c = &shared.counters;
    let denied = service
        .map(|s| shared.denied_on(day, s))
        .unwrap_or_default();
    let open = service.and_then(|s| config.rules.service(s)).map(|s| {
        (
            s.label.as_str(),
            s.start.format("%H:%M").to_string(),
            s.end.format("%H:%M").to_string(),
        )
    });
    let next = if service.is_none() {
        next_service(&config.rules, &config.gate.id, now).and_then(|(day, id, opens, _)| {
            let label = config.rules.service(id)?.label.as_str();
            let time = opens
                .with_timezone(&config.rules.timezone)
                .format("%H:%M")
                .to_string();
            Some((day.weekday().num_days_from_monday(), time, label))
        })
    } else {
        None
    };
    let line = |when: &str| {
        Msg::DemoStatus {
            weekday: local.weekday().num_days_from_monday(),
            when,
            service: open.as_ref().map(|(l, o, c)| (*l, o.as_str(), c.as_str())),
            next: next.as_ref().map(|(d, t, l)| (*d, t.as_str(), *l)),
            served,
            expected: service.map_or(0, |s| shared.expected(day, s)),
            denied: &denied,
            passes: c.passes.load(Ordering::Relaxed),
            denials: c.denials.load(Ordering::Relaxed),
            repeats: c.repeats.load(Ordering::Relaxed),
        }
        .to_string()
    };
    let when = local.format("%d/%m/%Y %H:%M").to_string();
    (line(&when), line(""))
}

/// `selfgate demo`.
pub fn command(opts: DemoOptions) -> anyhow::Result<std::process::ExitCode> {
    if !(opts.speed > 0.0 && opts.speed <= 10_000.0) {
        anyhow::bail!("{}", Msg::SpeedRange);
    }
    super::block_on(run(opts))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.data).with_context(|| text(Msg::Creating(&opts.data)))?;
    let data =
        std::fs::canonicalize(&opts.data).with_context(|| text(Msg::Resolving(&opts.data)))?;
    let config_path = data.join("selfgate.toml");
    // The school's time zone is in the configuration, not written yet on a first run.
    let today = selfgate_rules::model::school_day(chrono_tz::Europe::Paris, Utc::now());
    if !config_path.exists() {
        std::fs::write(&config_path, demo_config_text(&data, today))
            .with_context(|| text(Msg::CannotWrite(&config_path)))?;
    }
    let mut config = Config::load(&config_path)?;
    config.kiosk.listen = opts.listen;

    let mut store = Store::open(&config.data_dir)?;
    store.write_now(&[crate::store::describe_school(&config)])?;
    let mut rng = Rng(opts.seed);
    let saved = store
        .meta(CLOCK_KEY)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc));
    let last_event = store.events(None)?.iter().map(|e| e.at).max();
    let first_run = saved.is_none() && last_event.is_none();

    // Start at the first school day on or after today (and within the school year).
    let start_day = today.max(config.school.year_start);
    let tz = config.rules.timezone;
    let day_start = config.rules.midnight(start_day);
    let after = saved
        .into_iter()
        .chain(last_event)
        .max()
        .unwrap_or(day_start);
    let Some((first_day, _, _, _)) = next_service(&config.rules, &config.gate.id, after) else {
        anyhow::bail!("{}", Msg::NoServiceToSimulate(&config_path));
    };

    if first_run {
        let (ops, people) = generate_school(&config, &mut rng, first_day, after);
        if opts.prive {
            // The imports open the store themselves, as the commands do.
            drop(store);
            super::demo_prive::create(&config, &config_path, &data, ops, today)
                .with_context(|| text(Msg::CreatingDemoSchool))?;
            store = Store::open(&config.data_dir)?;
        } else {
            store
                .write_now(&ops)
                .with_context(|| text(Msg::CreatingDemoSchool))?;
        }
        println!(
            "{}",
            Msg::DemoCreated {
                persons: people.len(),
                dir: &data
            }
        );
        super::demo_billing::first_run(&config, &store, &data, today, Utc::now())?;
    } else {
        println!(
            "{}",
            Msg::DemoResumed {
                dir: &data,
                events: store.event_count()?
            }
        );
    }
    let clock = Arc::new(ScaledClock::new(after, opts.speed));
    let mut readers: Vec<Box<dyn Reader>> = Vec::new();
    let mut handles = Vec::new();
    for name in READERS {
        let (r, h) = SimReader::new(name);
        readers.push(Box::new(r));
        handles.push(h);
    }
    let pulse_log = match &config.gate.turnstile {
        crate::config::TurnstileConfig::Simulated { pulse_log } => pulse_log.clone(),
        _ => None, // the demo always runs on the simulated turnstile
    };
    let (turnstile, _t) = SimTurnstile::new("tourniquet", pulse_log, false)?;
    let turnstile: Arc<dyn Turnstile> = Arc::new(turnstile);
    let mut spec = NodeSpec::new(
        config.clone(),
        clock.clone() as Arc<dyn Clock>,
        Hardware { readers, turnstile },
    );
    spec.store = Some(store);
    // A school of its own: no hub, no scheduled exchanges, no control socket to share.
    spec.services = Services {
        kiosk: true,
        metrics: true,
        ..Services::NONE
    };
    let node = Node::start(spec).await?;
    let shared = node.shared().clone();
    let people = people_from_roster(shared.engine().roster(), first_day);
    let addr = node
        .kiosk_addr()
        .with_context(|| text(Msg::DemoKioskMissing))?;
    println!(
        "{}",
        Msg::DemoKiosk {
            addr,
            speed: opts.speed
        }
    );
    super::account::demo_account(&data, addr)?;
    if let Some(url) = node.metrics_url() {
        println!("{}", Msg::DemoMetrics(url));
    }

    let school = tokio::spawn(school_day_loop(
        clock.clone(),
        shared.clone(),
        node.gate().clone(),
        node.writer().clone(),
        node.store().clone(),
        handles,
        people,
        after,
        first_run,
        Rng(opts.seed ^ after.timestamp() as u64),
    ));
    let printer = {
        let shared = shared.clone();
        let mut stop = node.shutdown();
        tokio::spawn(async move {
            let mut last = String::new();
            loop {
                tokio::select! {
                    () = stop.recv() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                let (line, key) = summary_line(&shared);
                if key != last {
                    println!("{line}");
                    last = key;
                }
            }
        })
    };
    let run_for = opts.run_for;
    let terminated = crate::infra::signals::terminate_signal();
    match run_for {
        Some(d) => {
            tokio::select! {
                () = tokio::time::sleep(d) => {}
                () = terminated => {}
            }
        }
        None => terminated.await,
    }
    // The arrivals stop first: nothing is decided after the clock is saved.
    school.abort();
    let _ = school.await;
    let reached = clock.now();
    save_clock(node.writer(), reached).await;
    node.stop().await;
    let _ = printer.await;

    let c = &shared.counters;
    let when = reached
        .with_timezone(&tz)
        .format("%d/%m/%Y %H:%M")
        .to_string();
    println!(
        "{}",
        Msg::DemoStopped {
            when: &when,
            passes: c.passes.load(Ordering::Relaxed),
            denials: c.denials.load(Ordering::Relaxed),
            repeats: c.repeats.load(Ordering::Relaxed),
            not_recorded: c.not_recorded.load(Ordering::Relaxed),
        }
    );
    println!("{}", Msg::DemoJournal(&data));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn the_generated_school_has_the_announced_mix() {
        let config = Config::defaults();
        let (ops, people) =
            generate_school(&config, &mut Rng(7), config.school.year_start, Utc::now());
        assert_eq!(people.len(), 639);
        let count = |k: Kind| people.iter().filter(|p| p.kind == k).count();
        assert!(
            count(Kind::Dp5) > 180
                && count(Kind::Dp4) > 100
                && count(Kind::Interne) > 25
                && count(Kind::Ticket) > 60
        );
        assert!(people.iter().filter(|p| p.lost_badge.is_some()).count() >= 5);
        assert!(
            ops.iter()
                .filter(|o| matches!(o, WriteOp::PutOpposition(_)))
                .count()
                == 10
        );
    }
}
