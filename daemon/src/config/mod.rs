//! The configuration file: TOML, every key documented in `config/selfgate.example.toml`.
//! Read into raw serde structs (unknown keys refused), then validated into typed values; every
//! error names the key at fault. Loading never panics.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::Deserialize;

use selfgate_rules::model::{Closure, SchoolRules, ServiceSet, parse_euros};

/// The annotated example shipped in `config/`, printed by `selfgate config-example`.
pub const EXAMPLE: &str = include_str!("../../../config/selfgate.example.toml");

pub mod billing;
pub mod charlemagne;
mod exchange;
mod hardware;
pub mod money;
pub mod net;
mod observe;
mod school;
pub mod sync;

pub use billing::BillingConfig;
use hardware::RawGate;
pub use hardware::{GateConfig, ReaderConfig, TurnstileConfig};
pub use observe::{KioskConfig, LogConfig, MetricsConfig, MetricsListen};
use observe::{RawKiosk, RawLog, RawMetrics};
pub use school::{CalendarConfig, DEFAULT_DP_DAYS, RegimeServices, School};
use school::{
    RawCalendar, RawClosure, RawRegimes, RawSchool, RawService, RawTariff, default_dp_days,
    dp_services, interne_services,
};

pub use net::Cidr;
pub use sync::TlsFiles;

pub use exchange::{
    EffectifsConfig, ExchangeConfig, ExchangeKind, FileFormat, KitchenSoftware, PronoteConfig,
    PronoteTransport, Target,
};

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub school: School,
    pub rules: SchoolRules,
    pub data_dir: PathBuf,
    pub gate: GateConfig,
    pub kiosk: KioskConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub regimes: RegimeServices,
    pub retention: RetentionConfig,
    /// `[sync]`: standalone, gate or hub (see `crate::node::sync`).
    pub sync: sync::SyncConfig,
    pub pronote: PronoteConfig,
    pub exchanges: Vec<ExchangeConfig>,
    /// Régies, tariff tiers, low balances (`money.rs`).
    pub money: money::MoneyConfig,
    /// `[calendar]`: the official school holidays' zone (its holidays are in `rules.closures`).
    pub calendar: CalendarConfig,
    /// `[billing]`: terms, forfait prices, remises, how to pay (`billing.rs`).
    pub billing: BillingConfig,
    /// `[charlemagne]`: the accounts of the consumptions sent to Charlemagne (`charlemagne.rs`).
    pub charlemagne: selfgate_money::charlemagne::Accounts,
}

/// How long passages keep the person they concern (BRIEF §6), and when the purge runs.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    pub passages_days: u32,
    /// Cron expression with seconds (`sec min hour day month weekday`), school time zone.
    pub schedule: cron::Schedule,
}

/// Everything wrong with a configuration file.
#[derive(Debug)]
pub struct ConfigErrors {
    pub file: String,
    pub errors: Vec<String>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {e}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---- raw file shape -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    school: RawSchool,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    gate: RawGate,
    #[serde(default)]
    kiosk: RawKiosk,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    log: RawLog,
    services: Option<Vec<RawService>>,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    closures: Vec<RawClosure>,
    tariffs: Option<Vec<RawTariff>>,
    #[serde(default)]
    regimes: RawRegimes,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    sync: sync::RawSync,
    #[serde(default)]
    pronote: exchange::RawPronote,
    #[serde(default)]
    exchanges: Vec<exchange::RawExchange>,
    #[serde(default)]
    regies: Vec<money::RawRegie>,
    #[serde(default)]
    tiers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    billing: billing::RawBilling,
    #[serde(default)]
    charlemagne: charlemagne::RawCharlemagne,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRetention {
    passages_days: u32,
    schedule: String,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            passages_days: 92,
            schedule: "0 30 2 * * *".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStore {
    data_dir: String,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            data_dir: "/var/lib/selfgate".into(),
        }
    }
}

// ---- loading --------------------------------------------------------------------------------

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: file.clone(),
            errors: vec![format!("cannot read: {e}")],
        })?;
        Config::parse(&text, &file)
    }

    /// Validates configuration text; `file` names it in messages. Relative paths in the file
    /// are kept as written.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigErrors {
            file: file.to_owned(),
            errors: vec![toml_message(&e, text)],
        })?;
        let mut v = Validator { errors: Vec::new() };
        let config = v.config(raw);
        match config {
            Some(c) if v.errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors {
                file: file.to_owned(),
                errors: v.errors,
            }),
        }
    }

    /// The school's own closures (`[[closures]]`): see [`School::own_closures`].
    pub fn own_closures(&self) -> &[Closure] {
        self.school.own_closures(&self.rules)
    }

    /// The official closures (public holidays, the zone's school holidays): see
    /// [`School::official_closures`].
    pub fn official_closures(&self) -> &[Closure] {
        self.school.official_closures(&self.rules)
    }

    /// The defaults, as a file with no keys gives them.
    pub fn defaults() -> Config {
        match Config::parse("", "(defaults)") {
            Ok(c) => c,
            Err(e) => unreachable_defaults(&e),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_defaults(e: &ConfigErrors) -> ! {
    // The empty file is valid by construction; a test keeps it so.
    panic!("built-in defaults are invalid: {e}")
}

fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let key = text.lines().nth(line - 1).unwrap_or("").trim();
            format!("line {line} (`{key}`): {msg}")
        }
        None => msg,
    }
}

struct Validator {
    errors: Vec<String>,
}

impl Validator {
    fn err(&mut self, key: &str, msg: impl fmt::Display) {
        self.errors.push(format!("{key}: {msg}"));
    }

    fn date(&mut self, key: &str, s: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.err(key, format!("`{s}` is not a date (expected YYYY-MM-DD)"));
                None
            }
        }
    }

    fn time(&mut self, key: &str, s: &str) -> Option<NaiveTime> {
        match NaiveTime::parse_from_str(s.trim(), "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                self.err(
                    key,
                    format!("`{s}` is not a time (expected HH:MM, 24-hour)"),
                );
                None
            }
        }
    }

    fn euros(&mut self, key: &str, s: &str) -> Option<i64> {
        match parse_euros(s) {
            Ok(c) if c >= 0 => Some(c),
            Ok(_) => {
                self.err(key, "must not be negative");
                None
            }
            Err(e) => {
                self.err(key, e);
                None
            }
        }
    }

    fn config(&mut self, raw: RawConfig) -> Option<Config> {
        let timezone = match raw.school.timezone.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.err(
                    "school.timezone",
                    format!(
                        "`{}` is not a time zone name such as Europe/Paris",
                        raw.school.timezone
                    ),
                );
                None
            }
        };
        // The school year in force: the one containing today in the school's time zone.
        let today = selfgate_rules::model::school_day(
            timezone.unwrap_or(chrono_tz::Europe::Paris),
            chrono::Utc::now(),
        );
        let (default_start, default_end) = default_school_year(today);
        let year_start = match &raw.school.year_start {
            Some(s) => self.date("school.year_start", s),
            None => Some(default_start),
        };
        let year_end = match &raw.school.year_end {
            Some(s) => self.date("school.year_end", s),
            None => Some(default_end),
        };
        if let (Some(a), Some(b)) = (year_start, year_end) {
            if b < a {
                self.err("school.year_end", "is before school.year_start");
            }
        }
        if !raw.school.uai.is_empty() && !is_uai(&raw.school.uai) {
            self.err(
                "school.uai",
                format!(
                    "`{}` is not a UAI (7 digits and a letter, e.g. 0999999X)",
                    raw.school.uai
                ),
            );
        }
        if raw.school.debounce_ms > 60_000 {
            self.err("school.debounce_ms", "must be at most 60000 (one minute)");
        }

        // Codes declared, valid or not: a service with a bad time is reported once, not again
        // as a missing code wherever it is named.
        let declared: Vec<String> = match &raw.services {
            Some(list) => list.iter().map(|s| s.code.clone()).collect(),
            None => Vec::new(),
        };
        let services = self.services(raw.services);
        let by_code = |code: &str| services.iter().find(|s| s.code == code).map(|s| s.id);

        let mut closures = Vec::new();
        for (i, c) in raw.closures.iter().enumerate() {
            let key = format!("closures[{i}]");
            let from = self.date(&format!("{key}.from"), &c.from);
            let to = match &c.to {
                Some(t) => self.date(&format!("{key}.to"), t),
                None => from,
            };
            let mut set = if c.services.is_empty() {
                ServiceSet::ALL
            } else {
                ServiceSet::EMPTY
            };
            for code in &c.services {
                match by_code(code) {
                    Some(id) => set = set.with(id),
                    None if declared.contains(code) => {}
                    None => self.err(
                        &format!("{key}.services"),
                        format!("no service has code `{code}`"),
                    ),
                }
            }
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    self.err(&format!("{key}.to"), "is before from");
                }
                closures.push(Closure {
                    label: c.label.clone(),
                    from,
                    to,
                    services: set,
                });
            }
        }
        // The school's own closures first, then the official ones: public holidays, then the
        // zone's school holidays (`School::own_closures` and `official_closures` rely on it).
        let own_closures = closures.len();
        let year = year_start.zip(year_end);
        let mut public_holidays = 0;
        if raw.school.public_holidays {
            if let Some((a, b)) = year {
                let holidays = french_public_holidays(a, b);
                public_holidays = holidays.len();
                closures.extend(holidays);
            }
        }
        let (calendar, school_holidays) = self.calendar(raw.calendar, year);
        let school_holidays_count = school_holidays.len();
        closures.extend(school_holidays);
        self.address(&raw.school.address);

        let tariffs = self.tariffs(raw.tariffs, &services, &declared, &raw.tiers);

        // Unset: the default codes that exist here. Set: every code must name a service.
        let mut regime = |key: &str, codes: Option<Vec<String>>, default: Vec<String>| {
            let mut set = ServiceSet::EMPTY;
            let explicit = codes.is_some();
            for code in codes.unwrap_or(default) {
                match by_code(&code) {
                    Some(id) => set = set.with(id),
                    None if !explicit || declared.contains(&code) => {}
                    None => self.err(key, format!("no service has code `{code}`")),
                }
            }
            set
        };
        let regimes = RegimeServices {
            dp: regime(
                "regimes.dp_services",
                raw.regimes.dp_services,
                dp_services(),
            ),
            interne: regime(
                "regimes.interne_services",
                raw.regimes.interne_services,
                interne_services(),
            ),
            dp_days: default_dp_days(),
        };
        let regimes = RegimeServices {
            dp_days: self.dp_days(raw.regimes.dp_days),
            ..regimes
        };

        let gate = self.gate(raw.gate);
        let billing = self.billing(raw.billing, year.filter(|(a, b)| a <= b), &raw.tiers);
        let money = self.money(
            raw.regies,
            raw.tiers,
            raw.school.low_balance_meals,
            gate.as_ref().map_or("", |g| g.id.as_str()),
        );
        let listen = match raw.kiosk.listen.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(
                    "kiosk.listen",
                    format!(
                        "`{}` is not an address such as 127.0.0.1:8080",
                        raw.kiosk.listen
                    ),
                );
                None
            }
        };
        let (tls_cert, tls_key) = match (raw.kiosk.tls_cert, raw.kiosk.tls_key) {
            (Some(c), Some(k)) => (Some(PathBuf::from(c)), Some(PathBuf::from(k))),
            (None, None) => (None, None),
            (Some(_), None) => {
                self.err("kiosk.tls_key", "tls_cert is set: give the key too");
                (None, None)
            }
            (None, Some(_)) => {
                self.err("kiosk.tls_cert", "tls_key is set: give the certificate too");
                (None, None)
            }
        };
        let metrics = self.metrics(raw.metrics, listen);
        let log = self.log(&raw.log);
        if raw.store.data_dir.trim().is_empty() {
            self.err("store.data_dir", "must not be empty");
        }

        let rules = SchoolRules {
            timezone: timezone?,
            services,
            closures,
            tariffs,
            ticket_fallback: raw.school.ticket_fallback,
            externe_tickets: raw.school.externe_tickets,
            debounce_ms: raw.school.debounce_ms,
        };
        if raw.retention.passages_days < 1 {
            self.err("retention.passages_days", "must be at least 1 day");
        }
        let schedule = match raw.retention.schedule.parse::<cron::Schedule>() {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(
                    "retention.schedule",
                    format!(
                        "`{}` is not a cron expression with seconds such as \"0 30 2 * * *\": {e}",
                        raw.retention.schedule
                    ),
                );
                None
            }
        };
        let sync = sync::validate(raw.sync, &mut |key, msg| self.err(key, msg));
        let pronote = self.pronote(raw.pronote, &rules.services);
        let exchanges = self.exchanges(raw.exchanges, &pronote);
        let charlemagne = self.charlemagne(raw.charlemagne, &rules.services);
        Some(Config {
            school: School {
                name: raw.school.name,
                uai: raw.school.uai,
                address: raw.school.address,
                year_start: year_start?,
                year_end: year_end?,
                own_closures,
                public_holidays,
                school_holidays: school_holidays_count,
            },
            rules,
            data_dir: PathBuf::from(raw.store.data_dir),
            gate: gate?,
            kiosk: KioskConfig {
                listen: listen?,
                tls_cert,
                tls_key,
            },
            metrics: metrics?,
            log,
            regimes,
            retention: RetentionConfig {
                passages_days: raw.retention.passages_days,
                schedule: schedule?,
            },
            sync: sync?,
            pronote,
            exchanges,
            money,
            calendar,
            billing,
            charlemagne,
        })
    }
}

fn is_uai(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8 && b[..7].iter().all(u8::is_ascii_digit) && b[7].is_ascii_alphabetic()
}

/// The school year containing `today`: 1 September to 6 July.
pub fn default_school_year(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let y = if today.month() >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    let start = NaiveDate::from_ymd_opt(y, 9, 1).unwrap_or(today);
    let end = NaiveDate::from_ymd_opt(y + 1, 7, 6).unwrap_or(today);
    (start, end)
}

/// French public holidays (jours fériés) between two dates, as whole-day closures.
pub fn french_public_holidays(from: NaiveDate, to: NaiveDate) -> Vec<Closure> {
    let mut out = Vec::new();
    for year in from.year()..=to.year() {
        let easter = easter_sunday(year);
        let fixed = [
            (1, 1, "Jour de l'an"),
            (5, 1, "Fête du Travail"),
            (5, 8, "Victoire 1945"),
            (7, 14, "Fête nationale"),
            (8, 15, "Assomption"),
            (11, 1, "Toussaint"),
            (11, 11, "Armistice 1918"),
            (12, 25, "Noël"),
        ];
        let mut days: Vec<(NaiveDate, &str)> = fixed
            .iter()
            .filter_map(|(m, d, l)| NaiveDate::from_ymd_opt(year, *m, *d).map(|x| (x, *l)))
            .collect();
        if let Some(e) = easter {
            for (offset, label) in [
                (1, "Lundi de Pâques"),
                (39, "Ascension"),
                (50, "Lundi de Pentecôte"),
            ] {
                days.push((e + chrono::Days::new(offset), label));
            }
        }
        for (d, label) in days {
            if from <= d && d <= to {
                out.push(Closure {
                    label: label.to_owned(),
                    from: d,
                    to: d,
                    services: ServiceSet::ALL,
                });
            }
        }
    }
    out.sort_by_key(|c| c.from);
    out
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let date = NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
    debug_assert_eq!(date.weekday(), Weekday::Sun);
    Some(date)
}

/// The errors `text` gets from the parser (none when it parses): the key-naming tests of every
/// configuration table use it.
#[cfg(test)]
pub(crate) fn test_errors(text: &str) -> Vec<String> {
    match Config::parse(text, "t.toml") {
        Ok(_) => vec![],
        Err(e) => e.errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_errors as errors;

    #[test]
    fn empty_file_gives_the_documented_defaults() {
        let c = Config::defaults();
        assert_eq!(c.rules.timezone, chrono_tz::Europe::Paris);
        let windows: Vec<String> = c
            .rules
            .services
            .iter()
            .map(|s| {
                format!(
                    "{} {}-{}",
                    s.code,
                    s.start.format("%H:%M"),
                    s.end.format("%H:%M")
                )
            })
            .collect();
        assert_eq!(
            windows,
            [
                "petit_dejeuner 07:00-08:15",
                "dejeuner 11:15-13:45",
                "diner 18:45-19:45"
            ]
        );
        assert_eq!(c.gate.pulse_ms, 300);
        assert_eq!(c.rules.debounce_ms, 2000);
        assert_eq!(c.kiosk.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let c = Config::parse(EXAMPLE, "selfgate.example.toml").unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.rules.closures.is_empty());
    }

    #[test]
    fn tiers_regime_overdrafts_and_regies_are_read_and_checked() {
        let c = Config::parse(EXAMPLE, "selfgate.example.toml").unwrap_or_else(|e| panic!("{e}"));
        let eleve = c.rules.tariff(selfgate_rules::model::Category::Eleve);
        let eleve = eleve.unwrap_or_else(|| panic!("no eleve tariff"));
        assert_eq!(eleve.tiers.len(), 2);
        assert_eq!(eleve.tiers[0].price_cents, 100);
        assert_eq!(eleve.regime_overdraft.len(), 1);
        assert_eq!(c.money.regies[0].code, "R1");
        assert_eq!(c.money.low_balance_meals, 3);
        assert!(c.rules.externe_tickets);
        // None given: one régie, held here.
        let plain =
            Config::parse("[gate]\nid = \"ligne-2\"\n", "t.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.money.regies[0].node, "ligne-2");

        let e = errors(
            "[tiers]\nT1 = \"a\"\n\"T 2\" = \"b\"\n[[tariffs]]\ncategory = \"eleve\"\nprice = \"3\"\n\
             [tariffs.tiers.T9]\nprice = \"1\"\n[tariffs.regime_overdraft]\nlycee = \"0\"\n\
             [[regies]]\ncode = \"R-1\"\nname = \"x\"\n[[regies]]\ncode = \"A\"\nname = \"x\"\n\
             [[regies]]\ncode = \"A\"\nname = \"\"\n",
        );
        for key in [
            "tiers.T 2",
            "tariffs[0].tiers.T9",
            "tariffs[0].regime_overdraft.lycee",
            "regies[0].code",
            "regies[2].code",
            "regies[2].name",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let e = errors("[school]\nname = \"x\"\ncolour = \"blue\"\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("line 3") && e[0].contains("colour"), "{e:?}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = errors(
            "[school]\ntimezone = \"Mars/Olympus\"\nuai = \"123\"\n[[services]]\ncode = \"dejeuner\"\nstart = \"25:00\"\nend = \"13:45\"\n[kiosk]\nlisten = \"nowhere\"\n[gate]\npulse_ms = 10\n",
        );
        for key in [
            "school.timezone",
            "school.uai",
            "services[0].start",
            "kiosk.listen",
            "gate.pulse_ms",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
    }

    #[test]
    fn overlapping_services_and_unknown_service_codes_are_refused() {
        let e = errors(
            "[[services]]\ncode = \"a\"\nstart = \"11:00\"\nend = \"12:00\"\n[[services]]\ncode = \"b\"\nstart = \"11:30\"\nend = \"12:30\"\n[[closures]]\nlabel = \"x\"\nfrom = \"2026-01-01\"\nservices = [\"zzz\"]\n",
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("services[1]") && m.contains("overlaps")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.starts_with("closures[0].services")),
            "{e:?}"
        );
    }

    #[test]
    fn metrics_and_log_defaults() {
        let c = Config::defaults();
        assert!(c.metrics.enabled);
        assert_eq!(c.metrics.listen, MetricsListen::Kiosk);
        let allow: Vec<String> = c.metrics.allow.iter().map(|n| n.to_string()).collect();
        assert_eq!(allow, ["127.0.0.1/32", "::1/128"]);
        assert_eq!(c.log.level, tracing::level_filters::LevelFilter::INFO);
    }

    #[test]
    fn metrics_and_log_keys_are_read() {
        let c = Config::parse(
            "[metrics]\nenabled = false\nlisten = \"127.0.0.1:9101\"\nallow = [\"10.0.0.0/8\"]\n[log]\nlevel = \"DEBUG\"\n",
            "t.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.metrics.enabled);
        assert_eq!(
            c.metrics.listen,
            MetricsListen::Addr("127.0.0.1:9101".parse().unwrap())
        );
        assert_eq!(c.metrics.allow[0].to_string(), "10.0.0.0/8");
        assert_eq!(c.log.level, tracing::level_filters::LevelFilter::DEBUG);
        // Port 0 for both (tests) is not the same listener.
        assert!(
            errors("[kiosk]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n")
                .is_empty()
        );
    }

    #[test]
    fn metrics_and_log_bad_values_name_their_key() {
        let e = errors(
            "[metrics]\nlisten = \"port 9101\"\nallow = [\"127.0.0.1/32\", \"10.0.0.0/40\", \"intranet\"]\n[log]\nlevel = \"verbose\"\n",
        );
        for key in [
            "metrics.listen",
            "metrics.allow[1]",
            "metrics.allow[2]",
            "log.level",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
        assert!(
            !e.iter().any(|m| m.starts_with("metrics.allow[0]")),
            "{e:?}"
        );
        let e = errors("[metrics]\nallow = []\n");
        assert!(e.len() == 1 && e[0].starts_with("metrics.allow:"), "{e:?}");
        assert!(errors("[metrics]\nenabled = false\nallow = []\n").is_empty());
        let e = errors(
            "[kiosk]\nlisten = \"127.0.0.1:8080\"\n[metrics]\nlisten = \"127.0.0.1:8080\"\n",
        );
        assert!(
            e.len() == 1 && e[0].starts_with("metrics.listen") && e[0].contains("kiosk"),
            "{e:?}"
        );
        let e = errors("[metrics]\nport = 9101\n");
        assert!(e.len() == 1 && e[0].contains("port"), "{e:?}");
        let e = errors("[log]\nfile = \"/tmp/x\"\n");
        assert!(e.len() == 1 && e[0].contains("file"), "{e:?}");
    }

    const YEAR_2026: &str = "[school]\nyear_start = \"2026-09-01\"\nyear_end = \"2027-07-06\"\n";

    #[test]
    fn zone_b_closes_the_toussaint_2026_for_the_gate_and_counts_it_as_official() {
        use chrono::TimeZone;
        let text = format!(
            "{YEAR_2026}[calendar]\nzone = \"B\"\n[[closures]]\nlabel = \"Grève\"\nfrom = \"2026-11-16\"\n"
        );
        let c = Config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.calendar.zone, Some(selfgate_rules::calendar::Zone::B));
        let day = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
        let lunch = c.rules.service_by_code("dejeuner").unwrap().id;
        let closure = c.rules.closure_on(day, lunch).unwrap();
        assert_eq!(closure.label, "Vacances de la Toussaint");
        assert_eq!(
            (closure.from.to_string(), closure.to.to_string()),
            ("2026-10-17".into(), "2026-11-01".into())
        );
        // Tuesday 20 October 2026 at 12:00 in Paris: no service at the gate.
        let noon = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 10, 20, 12, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(c.rules.service_at("ligne-1", noon), None);
        // The Tuesday after the holidays, the gate is open again.
        let after = chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 11, 3, 12, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(c.rules.service_at("ligne-1", after), Some(lunch));

        // Own closures first, then the official ones: public holidays, then school holidays.
        let own: Vec<&str> = c.own_closures().iter().map(|c| c.label.as_str()).collect();
        assert_eq!(own, ["Grève"]);
        assert_eq!(c.school.own_closures, 1);
        assert_eq!(
            c.school.public_holidays, 9,
            "1 Nov 2026 to the Pentecost Monday 2027"
        );
        assert_eq!(
            c.school.school_holidays, 6,
            "four holidays, the pont, the summer"
        );
        let official = c.official_closures();
        assert_eq!(official.len(), 15);
        assert_eq!(c.rules.closures.len(), 16);
        assert!(official.iter().any(|c| c.label == "Vacances d'hiver"
            && c.from == NaiveDate::from_ymd_opt(2027, 2, 20).unwrap()));
        assert!(official.iter().all(|c| c.label != "Grève"));
        assert!(c.school.is_official_day_off(&c.rules, day));
        assert!(
            !c.school
                .is_official_day_off(&c.rules, NaiveDate::from_ymd_opt(2026, 11, 16).unwrap()),
            "the strike is the school's own"
        );

        // Without [calendar], no school holidays: today's behaviour.
        let plain = Config::parse(YEAR_2026, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.calendar.zone, None);
        assert_eq!(plain.school.school_holidays, 0);
        assert!(plain.rules.closure_on(day, lunch).is_none());
        assert_eq!(plain.official_closures().len(), 9);
        assert!(plain.own_closures().is_empty());
    }

    #[test]
    fn a_zone_or_a_year_the_calendar_lacks_is_refused_naming_calendar_zone() {
        let e = errors(
            "[school]\nyear_start = \"2028-09-01\"\nyear_end = \"2029-07-06\"\n[calendar]\nzone = \"a\"\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("calendar.zone: ")
                && e[0].contains("2028-2029")
                && e[0].contains("2025-2026 to 2027-2028"),
            "{e:?}"
        );
        let e = errors(&format!("{YEAR_2026}[calendar]\nzone = \"D\"\n"));
        assert!(e.len() == 1 && e[0].starts_with("calendar.zone"), "{e:?}");
        let e = errors(&format!(
            "{YEAR_2026}[calendar]\nzone = \"B\"\nzones = \"A\"\n"
        ));
        assert!(e.len() == 1 && e[0].contains("zones"), "{e:?}");
        // Zone C, lower case, in a covered year.
        assert!(errors(&format!("{YEAR_2026}[calendar]\nzone = \"c\"\n")).is_empty());
    }

    #[test]
    fn public_holidays_follow_easter() {
        let h = french_public_holidays(
            NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            NaiveDate::from_ymd_opt(2027, 7, 6).unwrap(),
        );
        let find = |label: &str| {
            h.iter()
                .find(|c| c.label == label)
                .map(|c| c.from.to_string())
        };
        assert_eq!(find("Lundi de Pâques").as_deref(), Some("2027-03-29"));
        assert_eq!(find("Ascension").as_deref(), Some("2027-05-06"));
        assert_eq!(find("Armistice 1918").as_deref(), Some("2026-11-11"));
        assert!(find("Fête nationale").is_none(), "after the year's end");
    }
}
