//! `[school]`, `[calendar]`, `[[services]]`, `[[closures]]`, `[[tariffs]]` and `[regimes]`: the
//! school, its services, closures (its own, public holidays, the official school holidays of
//! its zone) and prices, and what a régime's forfait pays for; each validated here, every error
//! naming its key.

use chrono::NaiveDate;
use serde::Deserialize;

use selfgate_rules::calendar::{self, Zone};
use selfgate_rules::model::{
    Category, Closure, Overdraft, Regime, SchoolRules, Service, ServiceId, ServiceSet, Tariff,
    TierPrice, WeekdaySet,
};

use super::Validator;

#[derive(Clone, Debug)]
pub struct School {
    pub name: String,
    pub uai: String,
    /// `school.address`: the postal address, one line per item (printed on family notices).
    pub address: Vec<String>,
    pub year_start: NaiveDate,
    pub year_end: NaiveDate,
    /// How many of the rules' closures, at their start, are the school's own `[[closures]]`
    /// (strikes, exams, outings: days billing deducts as *remises d'ordre*).
    pub own_closures: usize,
    /// How many public holidays (`school.public_holidays`) follow the school's own closures.
    pub public_holidays: usize,
    /// How many school holidays of `[calendar] zone` follow the public holidays.
    pub school_holidays: usize,
}

/// The closures of `SchoolRules::closures` as the configuration builds them, in this order:
/// the school's own `[[closures]]`, then the public holidays, then the official school
/// holidays of `[calendar] zone`. The last two are *official*: days that are never school days
/// (billing never counts them, and deducts nothing for them); the school's own are days a
/// forfait paid for and the service was closed (*remises d'ordre*). A day both kinds cover is
/// official. The counts hold for the rules loaded with this `School` (`Config::rules`).
impl School {
    /// The school's own closures (`[[closures]]`), in the file's order.
    pub fn own_closures<'r>(&self, rules: &'r SchoolRules) -> &'r [Closure] {
        let n = self.own_closures.min(rules.closures.len());
        &rules.closures[..n]
    }

    /// The official closures: public holidays, then the zone's school holidays.
    pub fn official_closures<'r>(&self, rules: &'r SchoolRules) -> &'r [Closure] {
        let n = self.own_closures.min(rules.closures.len());
        &rules.closures[n..]
    }

    /// True when an official closure covers `day` for every service: not a school day.
    pub fn is_official_day_off(&self, rules: &SchoolRules, day: NaiveDate) -> bool {
        self.official_closures(rules)
            .iter()
            .any(|c| c.from <= day && day <= c.to && c.services == ServiceSet::ALL)
    }
}

/// `[calendar]`: the official school holidays the school follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CalendarConfig {
    /// `calendar.zone`: A, B or C; `None` (no `[calendar]`) adds no school holidays.
    pub zone: Option<Zone>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSchool {
    pub(super) name: String,
    pub(super) uai: String,
    pub(super) address: Vec<String>,
    pub(super) timezone: String,
    pub(super) year_start: Option<String>,
    pub(super) year_end: Option<String>,
    pub(super) ticket_fallback: bool,
    pub(super) externe_tickets: bool,
    pub(super) low_balance_meals: u32,
    pub(super) public_holidays: bool,
    pub(super) debounce_ms: u32,
}

impl Default for RawSchool {
    fn default() -> Self {
        RawSchool {
            name: "Établissement".into(),
            uai: String::new(),
            address: Vec::new(),
            timezone: "Europe/Paris".into(),
            year_start: None,
            year_end: None,
            ticket_fallback: true,
            externe_tickets: true,
            low_balance_meals: 3,
            public_holidays: true,
            debounce_ms: 2000,
        }
    }
}

/// Which services a régime's forfait pays for (imports map régimes to rights with this).
#[derive(Clone, Copy, Debug)]
pub struct RegimeServices {
    pub dp: ServiceSet,
    pub interne: ServiceSet,
    /// `[regimes] dp_days`: the weekdays of a "DP n jours" forfait (SIÈCLE 21…26), index n - 1.
    pub dp_days: [WeekdaySet; 6],
}

impl RegimeServices {
    /// The weekdays of a "DP `n` jours" forfait (`n` in 1..=6; 5 days otherwise).
    pub fn dp_weekdays(&self, n: u8) -> WeekdaySet {
        match n {
            1..=6 => self.dp_days[usize::from(n) - 1],
            _ => self.dp_days[4],
        }
    }
}

/// `dp_days` when unset: 1 lun, 2 lun jeu, 3 lun mar jeu, 4 lun mar jeu ven, 5 lun–ven,
/// 6 lun–sam.
pub const DEFAULT_DP_DAYS: [&str; 6] = [
    "lun",
    "lun jeu",
    "lun mar jeu",
    "lun mar jeu ven",
    "lun mar mer jeu ven",
    "lun mar mer jeu ven sam",
];

pub(super) fn default_dp_days() -> [WeekdaySet; 6] {
    DEFAULT_DP_DAYS.map(|d| d.parse().unwrap_or(WeekdaySet::SCHOOL_WEEK))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) code: String,
    pub(super) label: Option<String>,
    pub(super) start: String,
    pub(super) end: String,
    #[serde(default = "school_week")]
    pub(super) days: String,
    #[serde(default)]
    pub(super) gates: Vec<String>,
}

pub(super) fn school_week() -> String {
    "lun mar mer jeu ven".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClosure {
    pub(super) label: String,
    pub(super) from: String,
    pub(super) to: Option<String>,
    #[serde(default)]
    pub(super) services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTariff {
    pub(super) category: String,
    pub(super) price: String,
    #[serde(default)]
    pub(super) service_prices: std::collections::BTreeMap<String, String>,
    pub(super) overdraft: Option<String>,
    pub(super) overdraft_meals: Option<u32>,
    /// Prices per tariff tier: `[tariffs.tiers.T1] price = "1,00"`.
    #[serde(default)]
    pub(super) tiers: std::collections::BTreeMap<String, RawTierPrice>,
    /// The overdraft per régime, an amount (`externe = "0,00"`) or a number of meals (`dp = 2`).
    #[serde(default)]
    pub(super) regime_overdraft: std::collections::BTreeMap<String, RawOverdraft>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTierPrice {
    pub(super) price: String,
    #[serde(default)]
    pub(super) service_prices: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawOverdraft {
    Amount(String),
    Meals(u32),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegimes {
    pub(super) dp_services: Option<Vec<String>>,
    pub(super) interne_services: Option<Vec<String>>,
    pub(super) dp_days: Option<std::collections::BTreeMap<String, String>>,
}

pub(super) fn dp_services() -> Vec<String> {
    vec!["dejeuner".into()]
}

pub(super) fn interne_services() -> Vec<String> {
    vec!["petit_dejeuner".into(), "dejeuner".into(), "diner".into()]
}

impl Validator {
    /// `school.address`: at most 6 lines (a French postal address), none empty.
    pub(super) fn address(&mut self, lines: &[String]) {
        if lines.len() > 6 {
            self.err("school.address", "at most 6 lines, as on an envelope");
        }
        for (i, l) in lines.iter().enumerate() {
            if l.trim().is_empty() {
                self.err(&format!("school.address[{i}]"), "must not be empty");
            }
        }
    }

    /// `[calendar] zone`: the zone and its school holidays overlapping the school year, as
    /// closures of every service. `year` is `None` when the year's dates are wrong (reported
    /// under `school.`): no holidays then.
    pub(super) fn calendar(
        &mut self,
        raw: RawCalendar,
        year: Option<(NaiveDate, NaiveDate)>,
    ) -> (CalendarConfig, Vec<Closure>) {
        let Some(code) = raw.zone else {
            return (CalendarConfig::default(), Vec::new());
        };
        let zone = match code.parse::<Zone>() {
            Ok(z) => z,
            Err(e) => {
                self.err("calendar.zone", e);
                return (CalendarConfig::default(), Vec::new());
            }
        };
        let config = CalendarConfig { zone: Some(zone) };
        let Some((start, end)) = year.filter(|(a, b)| a <= b) else {
            return (config, Vec::new());
        };
        match calendar::closures(zone, start, end) {
            Ok(c) => (config, c),
            Err(e @ calendar::CalendarError::NotCovered { .. }) => {
                self.err(
                    "calendar.zone",
                    format!(
                        "{e}: set school.year_start and school.year_end within those years \
                         (now {start} to {end}), or give the holidays as [[closures]]"
                    ),
                );
                (config, Vec::new())
            }
            Err(e) => {
                self.err("calendar.zone", e);
                (config, Vec::new())
            }
        }
    }

    /// `[regimes] dp_days = { 4 = "lun mar jeu ven" }`: keys 1 to 6, exactly that many days.
    pub(super) fn dp_days(
        &mut self,
        raw: Option<std::collections::BTreeMap<String, String>>,
    ) -> [WeekdaySet; 6] {
        let mut days = default_dp_days();
        for (n, value) in raw.unwrap_or_default() {
            let key = format!("regimes.dp_days.{n}");
            let Some(i) = n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|i| (1..=6).contains(i))
            else {
                self.err(
                    &key,
                    "expected a number of days from 1 to 6 (DP 1 jour … DP 6 jours)",
                );
                continue;
            };
            match value.parse::<WeekdaySet>() {
                Ok(set) if set.len() as usize == i => days[i - 1] = set,
                Ok(set) => self.err(
                    &key,
                    format!("`{value}` has {} day(s), DP {i} jours needs {i}", set.len()),
                ),
                Err(e) => self.err(&key, e),
            }
        }
        days
    }

    pub(super) fn services(&mut self, raw: Option<Vec<RawService>>) -> Vec<Service> {
        let raw = raw.unwrap_or_else(|| {
            vec![
                RawService {
                    code: "petit_dejeuner".into(),
                    label: Some("Petit-déjeuner".into()),
                    start: "07:00".into(),
                    end: "08:15".into(),
                    days: school_week(),
                    gates: vec![],
                },
                RawService {
                    code: "dejeuner".into(),
                    label: Some("Déjeuner".into()),
                    start: "11:15".into(),
                    end: "13:45".into(),
                    days: school_week(),
                    gates: vec![],
                },
                RawService {
                    code: "diner".into(),
                    label: Some("Dîner".into()),
                    start: "18:45".into(),
                    end: "19:45".into(),
                    days: "lun mar mer jeu".into(),
                    gates: vec![],
                },
            ]
        });
        if raw.len() > ServiceSet::CAPACITY {
            self.err(
                "services",
                format!("at most {} services", ServiceSet::CAPACITY),
            );
        }
        let mut out: Vec<Service> = Vec::new();
        for (i, s) in raw.into_iter().take(ServiceSet::CAPACITY).enumerate() {
            let key = format!("services[{i}]");
            if s.code.is_empty()
                || !s
                    .code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                self.err(
                    &format!("{key}.code"),
                    format!("`{}` must be lower-case letters, digits and _", s.code),
                );
            }
            if out.iter().any(|o| o.code == s.code) {
                self.err(
                    &format!("{key}.code"),
                    format!("`{}` is used twice", s.code),
                );
            }
            let start = self.time(&format!("{key}.start"), &s.start);
            let end = self.time(&format!("{key}.end"), &s.end);
            let weekdays = match s.days.parse::<WeekdaySet>() {
                Ok(w) => w,
                Err(e) => {
                    self.err(&format!("{key}.days"), e);
                    WeekdaySet::EMPTY
                }
            };
            let (Some(start), Some(end)) = (start, end) else {
                continue;
            };
            if end <= start {
                self.err(&format!("{key}.end"), "must be after start");
                continue;
            }
            let id = ServiceId(u8::try_from(i).unwrap_or(u8::MAX));
            let service = Service {
                id,
                label: s.label.unwrap_or_else(|| s.code.clone()),
                code: s.code,
                start,
                end,
                weekdays,
                gates: s.gates,
            };
            for o in &out {
                let shares_gate = o.gates.is_empty()
                    || service.gates.is_empty()
                    || o.gates.iter().any(|g| service.gates.contains(g));
                let shares_day = o.weekdays.bits() & service.weekdays.bits() != 0;
                if shares_gate && shares_day && service.start < o.end && o.start < service.end {
                    self.err(
                        &key,
                        format!(
                            "`{}` overlaps `{}` on the same days and gates",
                            service.code, o.code
                        ),
                    );
                }
            }
            out.push(service);
        }
        out
    }

    pub(super) fn tariffs(
        &mut self,
        raw: Option<Vec<RawTariff>>,
        services: &[Service],
        declared: &[String],
        tiers: &std::collections::BTreeMap<String, String>,
    ) -> Vec<Tariff> {
        let Some(raw) = raw else {
            return Category::ALL.into_iter().map(default_tariff).collect();
        };
        let mut out: Vec<Tariff> = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            let key = format!("tariffs[{i}]");
            let category = match t.category.parse::<Category>() {
                Ok(c) => c,
                Err(e) => {
                    self.err(&format!("{key}.category"), e);
                    continue;
                }
            };
            if out.iter().any(|o| o.category == category) {
                self.err(
                    &format!("{key}.category"),
                    format!("`{}` has two tariffs", category.code()),
                );
            }
            let price = self.euros(&format!("{key}.price"), &t.price).unwrap_or(0);
            let service_prices = self.service_prices(
                &format!("{key}.service_prices"),
                &t.service_prices,
                services,
                declared,
            );
            let mut tier_prices = Vec::new();
            for (tier, p) in &t.tiers {
                let k = format!("{key}.tiers.{tier}");
                if !tiers.contains_key(tier) {
                    self.err(
                        &k,
                        format!("no tier has code `{tier}` (declare it under [tiers])"),
                    );
                    continue;
                }
                tier_prices.push(TierPrice {
                    tier: tier.clone(),
                    price_cents: self.euros(&format!("{k}.price"), &p.price).unwrap_or(0),
                    service_prices: self.service_prices(
                        &format!("{k}.service_prices"),
                        &p.service_prices,
                        services,
                        declared,
                    ),
                });
            }
            let mut regime_overdraft = Vec::new();
            for (code, o) in &t.regime_overdraft {
                let k = format!("{key}.regime_overdraft.{code}");
                let regime = match code.parse::<Regime>() {
                    Ok(r) if !code.trim().is_empty() => r,
                    _ => {
                        self.err(&k, "expected externe, dp or interne");
                        continue;
                    }
                };
                let o = match o {
                    RawOverdraft::Amount(a) => Overdraft::Cents(self.euros(&k, a).unwrap_or(0)),
                    RawOverdraft::Meals(n) => Overdraft::Meals(*n),
                };
                regime_overdraft.push((regime, o));
            }
            let overdraft = match (&t.overdraft, t.overdraft_meals) {
                (Some(_), Some(_)) => {
                    self.err(
                        &format!("{key}.overdraft"),
                        "give overdraft or overdraft_meals, not both",
                    );
                    Overdraft::Cents(0)
                }
                (Some(a), None) => {
                    Overdraft::Cents(self.euros(&format!("{key}.overdraft"), a).unwrap_or(0))
                }
                (None, Some(n)) => Overdraft::Meals(n),
                (None, None) => Overdraft::Cents(0),
            };
            out.push(Tariff {
                category,
                price_cents: price,
                service_prices,
                overdraft,
                tiers: tier_prices,
                regime_overdraft,
            });
        }
        // A category left out gets its default tariff, as when `[[tariffs]]` is absent: with no
        // tariff the gate refused its every ticket meal as `insufficient_balance`, whatever the
        // balance the régie had taken payments for. A list naming only `eleve` is common (and
        // valid) in schools whose staff rarely eat on tickets.
        for category in Category::ALL {
            if !out.iter().any(|t| t.category == category) {
                out.push(default_tariff(category));
            }
        }
        out
    }

    /// `{ service_code = "1,50" }` into prices by service id.
    fn service_prices(
        &mut self,
        key: &str,
        raw: &std::collections::BTreeMap<String, String>,
        services: &[Service],
        declared: &[String],
    ) -> Vec<(ServiceId, i64)> {
        let mut out = Vec::new();
        for (code, p) in raw {
            let k = format!("{key}.{code}");
            match services.iter().find(|s| &s.code == code) {
                None if declared.contains(code) => {}
                Some(s) => {
                    if let Some(c) = self.euros(&k, p) {
                        out.push((s.id, c));
                    }
                }
                None => self.err(&k, format!("no service has code `{code}`")),
            }
        }
        out
    }
}

/// A category's tariff when the configuration gives none: élève 3,90 € with two meals of
/// overdraft, commensal 5,20 €, hôte 7,00 €, no overdraft for either.
pub(super) fn default_tariff(category: Category) -> Tariff {
    let (price_cents, overdraft) = match category {
        Category::Eleve => (390, Overdraft::Meals(2)),
        Category::Commensal => (520, Overdraft::Cents(0)),
        Category::Hote => (700, Overdraft::Cents(0)),
    };
    Tariff {
        category,
        price_cents,
        service_prices: vec![],
        overdraft,
        tiers: vec![],
        regime_overdraft: vec![],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::config::Config;

    fn tariffs(toml: &str) -> Vec<Tariff> {
        Config::parse(toml, "t.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .rules
            .tariffs
    }

    #[test]
    fn a_category_left_out_of_the_tariffs_gets_its_default_tariff() {
        let t = tariffs("[[tariffs]]\ncategory = \"eleve\"\nprice = \"3,00\"\n");
        let of = |c: Category| t.iter().filter(|x| x.category == c).collect::<Vec<_>>();
        assert_eq!(t.len(), 3, "{t:#?}");
        assert_eq!(of(Category::Eleve)[0].price_cents, 300, "as given");
        assert_eq!(
            of(Category::Eleve)[0].overdraft,
            Overdraft::Cents(0),
            "as given"
        );
        assert_eq!(
            of(Category::Commensal),
            [&default_tariff(Category::Commensal)]
        );
        assert_eq!(of(Category::Hote), [&default_tariff(Category::Hote)]);
        assert_eq!(default_tariff(Category::Commensal).price_cents, 520);
        assert_eq!(default_tariff(Category::Hote).price_cents, 700);

        // None given: the three defaults; all three given: nothing added.
        let none = tariffs("");
        assert_eq!(none, Category::ALL.map(default_tariff).to_vec());
        let all = tariffs(
            "[[tariffs]]\ncategory = \"eleve\"\nprice = \"3\"\n\
             [[tariffs]]\ncategory = \"commensal\"\nprice = \"4\"\n\
             [[tariffs]]\ncategory = \"hote\"\nprice = \"5\"\n",
        );
        assert_eq!(
            all.iter().map(|t| t.price_cents).collect::<Vec<_>>(),
            [300, 400, 500]
        );
    }

    #[test]
    fn a_commensal_eats_on_tickets_when_only_pupils_have_a_tariff() {
        use selfgate_rules::model::{Person, PersonId, Regime};
        use selfgate_rules::{Engine, Reason, Verdict};
        let config = Config::parse(
            "[[tariffs]]\ncategory = \"eleve\"\nprice = \"3,00\"\n",
            "t.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let rules = config.rules.clone();
        let lunch = rules
            .service_by_code("dejeuner")
            .expect("the default lunch")
            .clone();
        let mut e = Engine::new(rules);
        e.roster_mut().put_person(Person {
            id: PersonId(0),
            external_id: "P1".into(),
            last_name: "Moreau".into(),
            first_name: "Claire".into(),
            class: String::new(),
            category: Category::Commensal,
            regime: Regime::Externe,
            forfaits: vec![],
            passages_per_service: 1,
            tier: None,
        });
        e.roster_mut().set_balance(PersonId(0), 1000);
        e.roster_mut()
            .put_credential(selfgate_rules::model::Credential {
                number: "0A01".parse().unwrap(),
                person: PersonId(0),
                status: selfgate_rules::model::CredentialStatus::Active,
            });
        // The first school day at lunch, on any weekday the default service is open.
        let mut day = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
        while !lunch.weekdays.contains(chrono::Datelike::weekday(&day)) {
            day = day.succ_opt().unwrap();
        }
        let at = e.rules().midnight(day)
            + (lunch.start - chrono::NaiveTime::MIN)
            + chrono::TimeDelta::minutes(1);
        let p = e.decide("self-1", "0A01", at);
        assert_eq!(
            (p.verdict, p.reason),
            (Verdict::Pass, Reason::Ticket),
            "{p:?}"
        );
        assert_eq!(p.charge_cents, 520);
    }
}
