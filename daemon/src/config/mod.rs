//! The configuration file: TOML, every key documented in `config/selfgate.example.toml`.
//! Read into raw serde structs (unknown keys refused), then validated into typed values; every
//! error names the key at fault. Loading never panics.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::Deserialize;

use selfgate_rules::model::{
    Category, Closure, Overdraft, SchoolRules, Service, ServiceId, ServiceSet, Tariff, WeekdaySet,
    parse_euros,
};

/// The annotated example shipped in `config/`, printed by `selfgate config-example`.
pub const EXAMPLE: &str = include_str!("../../../config/selfgate.example.toml");

mod exchange;
mod hardware;
pub mod net;
pub mod sync;

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
}

/// How long passages keep the person they concern (BRIEF §6), and when the purge runs.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    pub passages_days: u32,
    /// Cron expression with seconds (`sec min hour day month weekday`), school time zone.
    pub schedule: cron::Schedule,
}

#[derive(Clone, Debug)]
pub struct School {
    pub name: String,
    pub uai: String,
    pub year_start: NaiveDate,
    pub year_end: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct GateConfig {
    pub id: String,
    pub pulse_ms: u32,
    /// With a "passage done" input: a granted person who has not gone through this long after
    /// the pulse gets a `not_passed` correction (refund, anti-passback freed).
    pub passage_timeout_ms: Option<u32>,
    pub readers: Vec<ReaderConfig>,
    pub turnstile: TurnstileConfig,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderConfig {
    /// One credential per line from a file or named pipe (simulated hardware).
    Line { name: String, path: PathBuf },
    /// Fed by the daemon itself (demo).
    Simulated { name: String },
    /// EM4100 / RDM6300 on a serial port.
    Em4100 {
        name: String,
        device: PathBuf,
        baud: u32,
    },
    /// A USB keyboard-wedge reader through evdev (grabbed).
    UsbWedge {
        name: String,
        device: PathBuf,
        layout: selfgate_hardware::wedge::WedgeLayout,
    },
    /// Wiegand 26/34 on two lines of a GPIO chip.
    Wiegand {
        name: String,
        chip: String,
        d0_line: u32,
        d1_line: u32,
    },
    /// An OSDP reader on an RS-485 bus.
    Osdp {
        name: String,
        device: PathBuf,
        baud: u32,
        address: u8,
        secure: bool,
        key_file: Option<PathBuf>,
        install_mode: bool,
        /// The reader's output pulsed (`osdp_OUT`) on a pass: a reader-side relay.
        relay_output: Option<u8>,
    },
}

impl ReaderConfig {
    pub fn name(&self) -> &str {
        match self {
            ReaderConfig::Line { name, .. }
            | ReaderConfig::Simulated { name }
            | ReaderConfig::Em4100 { name, .. }
            | ReaderConfig::UsbWedge { name, .. }
            | ReaderConfig::Wiegand { name, .. }
            | ReaderConfig::Osdp { name, .. } => name,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnstileConfig {
    Simulated {
        pulse_log: Option<PathBuf>,
    },
    /// A relay and optional inputs on a GPIO chip (character device).
    Gpio {
        chip: String,
        relay_line: u32,
        active_low: bool,
        passage_done_line: Option<u32>,
        emergency_line: Option<u32>,
    },
    /// The relay through rppal on a Raspberry Pi (BCM number; inputs on `chip`).
    Rpi {
        relay_pin: u32,
        active_low: bool,
        chip: String,
        passage_done_line: Option<u32>,
        emergency_line: Option<u32>,
    },
}

#[derive(Clone, Debug)]
pub struct KioskConfig {
    pub listen: SocketAddr,
    /// `kiosk.tls_cert` / `kiosk.tls_key`: PEM files; the kiosk is served over TLS when set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[metrics]`: the Prometheus page, `GET /metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub listen: MetricsListen,
    /// Client networks allowed to read the page; others get 403.
    pub allow: Vec<net::Cidr>,
}

/// Where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsListen {
    /// On the kiosk's listener.
    Kiosk,
    /// On a listener of its own.
    Addr(SocketAddr),
}

/// `[log]`: the level of the logs on stderr when `SELFGATE_LOG` is unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub level: tracing::level_filters::LevelFilter,
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

fn default_dp_days() -> [WeekdaySet; 6] {
    DEFAULT_DP_DAYS.map(|d| d.parse().unwrap_or(WeekdaySet::SCHOOL_WEEK))
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
struct RawSchool {
    name: String,
    uai: String,
    timezone: String,
    year_start: Option<String>,
    year_end: Option<String>,
    ticket_fallback: bool,
    public_holidays: bool,
    debounce_ms: u32,
}

impl Default for RawSchool {
    fn default() -> Self {
        RawSchool {
            name: "Établissement".into(),
            uai: String::new(),
            timezone: "Europe/Paris".into(),
            year_start: None,
            year_end: None,
            ticket_fallback: true,
            public_holidays: true,
            debounce_ms: 2000,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawGate {
    id: String,
    pulse_ms: u32,
    passage_timeout_ms: Option<u32>,
    readers: Vec<RawReader>,
    turnstile: RawTurnstile,
}

impl Default for RawGate {
    fn default() -> Self {
        RawGate {
            id: "ligne-1".into(),
            pulse_ms: 300,
            passage_timeout_ms: None,
            readers: Vec::new(),
            turnstile: RawTurnstile::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    name: Option<String>,
    kind: String,
    path: Option<String>,
    // Hardware readers' keys: `config/hardware.rs`.
    device: Option<String>,
    baud: Option<u32>,
    layout: Option<String>,
    chip: Option<String>,
    d0_line: Option<u32>,
    d1_line: Option<u32>,
    address: Option<u32>,
    secure: Option<bool>,
    key_file: Option<String>,
    install_mode: Option<bool>,
    relay_output: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurnstile {
    #[serde(default = "simulated")]
    kind: String,
    pulse_log: Option<String>,
    // GPIO turnstiles' keys: `config/hardware.rs`.
    chip: Option<String>,
    relay_line: Option<u32>,
    active_low: Option<bool>,
    passage_done_line: Option<u32>,
    emergency_line: Option<u32>,
}

fn simulated() -> String {
    "simulated".into()
}

impl Default for RawTurnstile {
    fn default() -> Self {
        RawTurnstile {
            kind: simulated(),
            pulse_log: None,
            chip: None,
            relay_line: None,
            active_low: None,
            passage_done_line: None,
            emergency_line: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawKiosk {
    listen: String,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

impl Default for RawKiosk {
    fn default() -> Self {
        RawKiosk {
            listen: "127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMetrics {
    enabled: bool,
    listen: String,
    allow: Vec<String>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            enabled: true,
            listen: "kiosk".into(),
            allow: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            level: "info".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    code: String,
    label: Option<String>,
    start: String,
    end: String,
    #[serde(default = "school_week")]
    days: String,
    #[serde(default)]
    gates: Vec<String>,
}

fn school_week() -> String {
    "lun mar mer jeu ven".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClosure {
    label: String,
    from: String,
    to: Option<String>,
    #[serde(default)]
    services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTariff {
    category: String,
    price: String,
    #[serde(default)]
    service_prices: std::collections::BTreeMap<String, String>,
    overdraft: Option<String>,
    overdraft_meals: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRegimes {
    dp_services: Option<Vec<String>>,
    interne_services: Option<Vec<String>>,
    dp_days: Option<std::collections::BTreeMap<String, String>>,
}

fn dp_services() -> Vec<String> {
    vec!["dejeuner".into()]
}
fn interne_services() -> Vec<String> {
    vec!["petit_dejeuner".into(), "dejeuner".into(), "diner".into()]
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
    /// `[regimes] dp_days = { 4 = "lun mar jeu ven" }`: keys 1 to 6, exactly that many days.
    fn dp_days(
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
        if raw.school.public_holidays {
            if let (Some(a), Some(b)) = (year_start, year_end) {
                closures.extend(french_public_holidays(a, b));
            }
        }

        let tariffs = self.tariffs(raw.tariffs, &services, &declared);

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
        Some(Config {
            school: School {
                name: raw.school.name,
                uai: raw.school.uai,
                year_start: year_start?,
                year_end: year_end?,
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
        })
    }

    fn services(&mut self, raw: Option<Vec<RawService>>) -> Vec<Service> {
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

    fn tariffs(
        &mut self,
        raw: Option<Vec<RawTariff>>,
        services: &[Service],
        declared: &[String],
    ) -> Vec<Tariff> {
        let Some(raw) = raw else {
            return vec![
                Tariff {
                    category: Category::Eleve,
                    price_cents: 390,
                    service_prices: vec![],
                    overdraft: Overdraft::Meals(2),
                },
                Tariff {
                    category: Category::Commensal,
                    price_cents: 520,
                    service_prices: vec![],
                    overdraft: Overdraft::Cents(0),
                },
                Tariff {
                    category: Category::Hote,
                    price_cents: 700,
                    service_prices: vec![],
                    overdraft: Overdraft::Cents(0),
                },
            ];
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
            let mut service_prices = Vec::new();
            for (code, p) in &t.service_prices {
                let k = format!("{key}.service_prices.{code}");
                match services.iter().find(|s| &s.code == code) {
                    None if declared.contains(code) => {}
                    Some(s) => {
                        if let Some(c) = self.euros(&k, p) {
                            service_prices.push((s.id, c));
                        }
                    }
                    None => self.err(&k, format!("no service has code `{code}`")),
                }
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
            });
        }
        out
    }

    fn metrics(&mut self, raw: RawMetrics, kiosk: Option<SocketAddr>) -> Option<MetricsConfig> {
        let text = raw.listen.trim();
        let listen = if text == "kiosk" {
            Some(MetricsListen::Kiosk)
        } else {
            match text.parse::<SocketAddr>() {
                Ok(a) if Some(a) == kiosk && a.port() != 0 => {
                    self.err(
                        "metrics.listen",
                        format!("`{text}` is the kiosk's address: write \"kiosk\" to share it"),
                    );
                    None
                }
                Ok(a) => Some(MetricsListen::Addr(a)),
                Err(_) => {
                    self.err(
                        "metrics.listen",
                        format!(
                            "`{text}` is neither \"kiosk\" nor an address such as 127.0.0.1:9101"
                        ),
                    );
                    None
                }
            }
        };
        let mut allow = Vec::new();
        for (i, net) in raw.allow.iter().enumerate() {
            match net.parse::<net::Cidr>() {
                Ok(n) => allow.push(n),
                Err(e) => self.err(&format!("metrics.allow[{i}]"), e),
            }
        }
        if raw.enabled && raw.allow.is_empty() {
            self.err(
                "metrics.allow",
                "is empty: no client could read /metrics (set enabled = false to turn it off)",
            );
        }
        Some(MetricsConfig {
            enabled: raw.enabled,
            listen: listen?,
            allow,
        })
    }

    fn log(&mut self, raw: &RawLog) -> LogConfig {
        use tracing::level_filters::LevelFilter;
        let level = match raw.level.trim().to_ascii_lowercase().as_str() {
            "off" => LevelFilter::OFF,
            "error" => LevelFilter::ERROR,
            "warn" => LevelFilter::WARN,
            "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            "trace" => LevelFilter::TRACE,
            _ => {
                self.err(
                    "log.level",
                    format!(
                        "`{}` is not a level (error, warn, info, debug, trace or off)",
                        raw.level
                    ),
                );
                LevelFilter::INFO
            }
        };
        LogConfig { level }
    }

    fn gate(&mut self, raw: RawGate) -> Option<GateConfig> {
        if raw.id.is_empty()
            || raw.id.len() > 32
            || !raw
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.err(
                "gate.id",
                format!("`{}` must be 1-32 letters, digits, - or _", raw.id),
            );
        }
        if !(50..=5000).contains(&raw.pulse_ms) {
            self.err(
                "gate.pulse_ms",
                format!("{} is outside 50..=5000 ms", raw.pulse_ms),
            );
        }
        if let Some(t) = raw.passage_timeout_ms {
            if !(1000..=600_000).contains(&t) {
                self.err(
                    "gate.passage_timeout_ms",
                    format!("{t} is outside 1000..=600000 ms"),
                );
            }
            if matches!(raw.turnstile.kind.as_str(), "gpio" | "rpi")
                && raw.turnstile.passage_done_line.is_none()
            {
                self.err(
                    "gate.passage_timeout_ms",
                    "needs the turnstile's \"passage done\" input (gate.turnstile.passage_done_line)",
                );
            }
        }
        let mut readers = Vec::new();
        for (i, r) in raw.readers.into_iter().enumerate() {
            let key = format!("gate.readers[{i}]");
            let name = r
                .name
                .clone()
                .unwrap_or_else(|| format!("lecteur-{}", i + 1));
            match (r.kind.as_str(), r.path.clone()) {
                ("line", Some(path)) => readers.push(ReaderConfig::Line {
                    name,
                    path: PathBuf::from(path),
                }),
                ("line", None) => self.err(
                    &format!("{key}.path"),
                    "a `line` reader needs a path (a file or named pipe)",
                ),
                ("simulated", _) => readers.push(ReaderConfig::Simulated { name }),
                _ => readers.extend(self.hardware_reader(&key, name, &r)),
            }
        }
        let turnstile = match raw.turnstile.kind.as_str() {
            "simulated" => TurnstileConfig::Simulated {
                pulse_log: raw.turnstile.pulse_log.map(PathBuf::from),
            },
            _ => self.hardware_turnstile(&raw.turnstile)?,
        };
        self.osdp_buses(&readers);
        Some(GateConfig {
            id: raw.id,
            pulse_ms: raw.pulse_ms,
            passage_timeout_ms: raw.passage_timeout_ms,
            readers,
            turnstile,
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
