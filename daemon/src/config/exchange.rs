//! The data exchanges' keys: `[pronote]` (the PRONOTE link, its transport and tally times) and
//! `[[exchanges]]` (each scheduled exchange: name, kind, cron schedule, target, options),
//! validated into [`PronoteConfig`] and [`ExchangeConfig`]; every error names its key.
//! The exchanges themselves are in `crate::node::exchange`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::Deserialize;

use selfgate_rules::model::{Service, ServiceId};

use super::Validator;

/// `[pronote]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPronote {
    enabled: bool,
    auto_sync: bool,
    transport: String,
    folder: Option<String>,
    url: Option<String>,
    ca_file: Option<String>,
    key_file: Option<String>,
    timeout_s: u32,
    tally_time: String,
    tally_times: BTreeMap<String, String>,
    days_ahead: u32,
}

impl Default for RawPronote {
    fn default() -> Self {
        RawPronote {
            enabled: false,
            auto_sync: false,
            transport: "folder".into(),
            folder: None,
            url: None,
            ca_file: None,
            key_file: None,
            timeout_s: 10,
            tally_time: "10:00".into(),
            tally_times: BTreeMap::new(),
            days_ahead: 14,
        }
    }
}

/// One `[[exchanges]]` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExchange {
    name: String,
    kind: String,
    schedule: String,
    target: Option<String>,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_retry_delay")]
    retry_delay_s: u32,
    software: Option<String>,
    format: Option<String>,
    days_ahead: Option<u32>,
    history_weeks: Option<u32>,
    ca_file: Option<String>,
    token_file: Option<String>,
    timeout_s: Option<u32>,
}

fn default_retries() -> u32 {
    3
}
fn default_retry_delay() -> u32 {
    30
}

/// How we reach PRONOTE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PronoteTransport {
    /// Files in an exchange folder: we write `sortant/`, PRONOTE writes `entrant/`.
    Folder(PathBuf),
    /// HTTPS, every request signed with the imported security key.
    Https {
        url: String,
        ca_file: Option<PathBuf>,
    },
}

/// `[pronote]`: the PRONOTE link (our documented exchange format, `docs/pronote-exchange.md`).
#[derive(Clone, Debug)]
pub struct PronoteConfig {
    pub enabled: bool,
    /// The "synchronisation automatique" switch: scheduled PRONOTE exchanges run only when on
    /// (by hand, `selfgate exchange run`, they always can).
    pub auto_sync: bool,
    pub transport: PronoteTransport,
    /// The imported security key; default `DATA/pronote.key` (or the `pronote.key` credential).
    pub key_file: Option<PathBuf>,
    pub timeout: std::time::Duration,
    /// The tally time of each service (heure de pointage): absences are fetched from it until
    /// the service ends. Services without one are not fetched.
    pub tally: Vec<(ServiceId, NaiveTime)>,
    /// Meal days are sent for today and this many days after.
    pub days_ahead: u32,
}

impl PronoteConfig {
    pub fn tally_of(&self, service: ServiceId) -> Option<NaiveTime> {
        self.tally
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, t)| *t)
    }
}

/// What an exchange does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExchangeKind {
    /// → PRONOTE: the meal days each pupil is registered for.
    PronoteMealDays,
    /// ← PRONOTE: pupils absent before the meal, between the tally time and the service's end.
    PronoteAbsences,
    /// → PRONOTE: after each service, registered pupils who did not come.
    PronoteNoShows,
    /// → kitchen software: forecast and actual headcounts.
    Effectifs,
    /// ← Charlemagne: payment files dropped in a folder, credited once each
    /// (`node/exchange/charlemagne.rs`).
    CharlemagneEncaissements,
    /// → Charlemagne: the last month's consumptions written to a folder.
    CharlemagneConsommations,
}

impl ExchangeKind {
    pub const ALL: [ExchangeKind; 6] = [
        ExchangeKind::PronoteMealDays,
        ExchangeKind::PronoteAbsences,
        ExchangeKind::PronoteNoShows,
        ExchangeKind::Effectifs,
        ExchangeKind::CharlemagneEncaissements,
        ExchangeKind::CharlemagneConsommations,
    ];
    pub fn code(self) -> &'static str {
        match self {
            ExchangeKind::PronoteMealDays => "pronote_meal_days",
            ExchangeKind::PronoteAbsences => "pronote_absences",
            ExchangeKind::PronoteNoShows => "pronote_no_shows",
            ExchangeKind::Effectifs => "effectifs",
            ExchangeKind::CharlemagneEncaissements => "charlemagne_encaissements",
            ExchangeKind::CharlemagneConsommations => "charlemagne_consommations",
        }
    }
    pub fn is_pronote(self) -> bool {
        matches!(
            self,
            ExchangeKind::PronoteMealDays
                | ExchangeKind::PronoteAbsences
                | ExchangeKind::PronoteNoShows
        )
    }
}

/// Kitchen software an `effectifs` exchange writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KitchenSoftware {
    Easilys,
    Adoria,
    WebGerest,
}

impl KitchenSoftware {
    pub fn code(self) -> &'static str {
        match self {
            KitchenSoftware::Easilys => "easilys",
            KitchenSoftware::Adoria => "adoria",
            KitchenSoftware::WebGerest => "webgerest",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Json,
}

/// Where an exchange's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Folder(PathBuf),
    Https {
        url: String,
        ca_file: Option<PathBuf>,
        /// A bearer token, read from this secret file for each request.
        token_file: Option<PathBuf>,
    },
}

/// Options of an `effectifs` exchange.
#[derive(Clone, Debug)]
pub struct EffectifsConfig {
    pub software: KitchenSoftware,
    pub format: FileFormat,
    pub target: Target,
    /// Forecast for today and this many days after.
    pub days_ahead: u32,
    /// Expected ticket uptake: the mean over this many past same weekdays.
    pub history_weeks: u32,
}

/// One scheduled exchange.
#[derive(Clone, Debug)]
pub struct ExchangeConfig {
    pub name: String,
    pub kind: ExchangeKind,
    /// Cron with seconds (`sec min hour day month weekday`), in the school's time zone.
    pub schedule: cron::Schedule,
    /// Attempts after a failure, each after twice the previous delay.
    pub retries: u32,
    pub retry_delay: std::time::Duration,
    pub timeout: std::time::Duration,
    pub effectifs: Option<EffectifsConfig>,
    /// The folder of a Charlemagne exchange: watched for payment files, or written the
    /// consumptions.
    pub folder: Option<PathBuf>,
}

impl Validator {
    pub(super) fn pronote(&mut self, raw: RawPronote, services: &[Service]) -> PronoteConfig {
        let transport = match raw.transport.as_str() {
            "folder" => {
                if raw.url.is_some() {
                    self.err("pronote.url", "only for transport = \"https\"");
                }
                PronoteTransport::Folder(PathBuf::from(
                    raw.folder
                        .unwrap_or_else(|| "/var/lib/selfgate/pronote".into()),
                ))
            }
            "https" => {
                if raw.folder.is_some() {
                    self.err("pronote.folder", "only for transport = \"folder\"");
                }
                let url = raw.url.unwrap_or_default();
                self.https_url("pronote.url", &url);
                PronoteTransport::Https {
                    url,
                    ca_file: raw.ca_file.clone().map(PathBuf::from),
                }
            }
            other => {
                self.err(
                    "pronote.transport",
                    format!("`{other}` is neither \"folder\" nor \"https\""),
                );
                PronoteTransport::Folder(PathBuf::new())
            }
        };
        if raw.ca_file.is_some() && !matches!(transport, PronoteTransport::Https { .. }) {
            self.err("pronote.ca_file", "only for transport = \"https\"");
        }
        let timeout = self.timeout("pronote.timeout_s", raw.timeout_s);
        let default_tally = self.time("pronote.tally_time", &raw.tally_time);
        let mut tally = Vec::new();
        for (code, t) in &raw.tally_times {
            if !services.iter().any(|s| &s.code == code) {
                self.err(
                    &format!("pronote.tally_times.{code}"),
                    format!("no service has code `{code}`"),
                );
            }
            let _ = self.time(&format!("pronote.tally_times.{code}"), t);
        }
        for s in services {
            let t = match raw.tally_times.get(&s.code) {
                Some(t) => NaiveTime::parse_from_str(t.trim(), "%H:%M").ok(),
                None => default_tally,
            };
            // A tally after the service's end leaves no window: nothing is fetched for it.
            if let Some(t) = t.filter(|t| *t < s.end) {
                tally.push((s.id, t));
            }
        }
        if raw.days_ahead > 366 {
            self.err("pronote.days_ahead", "must be at most 366");
        }
        PronoteConfig {
            enabled: raw.enabled,
            auto_sync: raw.auto_sync,
            transport,
            key_file: raw.key_file.map(PathBuf::from),
            timeout,
            tally,
            days_ahead: raw.days_ahead,
        }
    }

    fn https_url(&mut self, key: &str, url: &str) {
        match super::net::parse_https_url(url) {
            Ok(_) => {}
            Err(e) => self.err(key, e),
        }
    }

    fn timeout(&mut self, key: &str, s: u32) -> std::time::Duration {
        if !(1..=600).contains(&s) {
            self.err(key, format!("{s} is outside 1..=600 seconds"));
        }
        std::time::Duration::from_secs(u64::from(s.clamp(1, 600)))
    }

    pub(super) fn exchanges(
        &mut self,
        raw: Vec<RawExchange>,
        pronote: &PronoteConfig,
    ) -> Vec<ExchangeConfig> {
        let mut out: Vec<ExchangeConfig> = Vec::new();
        for (i, x) in raw.into_iter().enumerate() {
            let key = format!("exchanges[{i}]");
            if x.name.is_empty()
                || x.name.len() > 64
                || !x
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.err(
                    &format!("{key}.name"),
                    format!("`{}` must be 1-64 letters, digits, - or _", x.name),
                );
            } else if out.iter().any(|o| o.name == x.name) {
                self.err(
                    &format!("{key}.name"),
                    format!("`{}` is already the name of another exchange", x.name),
                );
            }
            let kind = ExchangeKind::ALL.into_iter().find(|k| k.code() == x.kind);
            if kind.is_none() {
                self.err(
                    &format!("{key}.kind"),
                    format!(
                        "`{}` is not a kind (pronote_meal_days, pronote_absences, \
                         pronote_no_shows, effectifs, charlemagne_encaissements, \
                         charlemagne_consommations)",
                        x.kind
                    ),
                );
            }
            let schedule = match x.schedule.parse::<cron::Schedule>() {
                Ok(s) => Some(s),
                Err(e) => {
                    self.err(
                        &format!("{key}.schedule"),
                        format!(
                            "`{}` is not a cron expression with seconds such as \
                             \"0 */5 * * * *\": {e}",
                            x.schedule
                        ),
                    );
                    None
                }
            };
            if x.retries > 10 {
                self.err(&format!("{key}.retries"), "must be at most 10");
            }
            if !(1..=3600).contains(&x.retry_delay_s) {
                self.err(
                    &format!("{key}.retry_delay_s"),
                    format!("{} is outside 1..=3600 seconds", x.retry_delay_s),
                );
            }
            let timeout = match x.timeout_s {
                Some(t) => self.timeout(&format!("{key}.timeout_s"), t),
                None => pronote.timeout,
            };
            let mut folder = None;
            let effectifs = match kind {
                Some(ExchangeKind::Effectifs) => self.effectifs(&key, &x),
                Some(
                    ExchangeKind::CharlemagneEncaissements | ExchangeKind::CharlemagneConsommations,
                ) => {
                    folder = self.charlemagne_folder(&key, &x);
                    None
                }
                Some(_) => {
                    for (field, set) in [
                        ("target", x.target.is_some()),
                        ("software", x.software.is_some()),
                        ("format", x.format.is_some()),
                        ("days_ahead", x.days_ahead.is_some()),
                        ("history_weeks", x.history_weeks.is_some()),
                        ("ca_file", x.ca_file.is_some()),
                        ("token_file", x.token_file.is_some()),
                    ] {
                        if set {
                            self.err(
                                &format!("{key}.{field}"),
                                "not a key of a PRONOTE exchange (its link is [pronote])",
                            );
                        }
                    }
                    if !pronote.enabled {
                        self.err(&format!("{key}.kind"), "needs [pronote] enabled = true");
                    }
                    None
                }
                None => None,
            };
            if let (Some(kind), Some(schedule)) = (kind, schedule) {
                out.push(ExchangeConfig {
                    name: x.name,
                    kind,
                    schedule,
                    retries: x.retries.min(10),
                    retry_delay: std::time::Duration::from_secs(u64::from(
                        x.retry_delay_s.clamp(1, 3600),
                    )),
                    timeout,
                    effectifs,
                    folder,
                });
            }
        }
        out
    }

    /// The folder of a Charlemagne exchange (`target`), and no key of other kinds.
    fn charlemagne_folder(&mut self, key: &str, x: &RawExchange) -> Option<PathBuf> {
        for (field, set) in [
            ("software", x.software.is_some()),
            ("format", x.format.is_some()),
            ("days_ahead", x.days_ahead.is_some()),
            ("history_weeks", x.history_weeks.is_some()),
            ("ca_file", x.ca_file.is_some()),
            ("token_file", x.token_file.is_some()),
        ] {
            if set {
                self.err(
                    &format!("{key}.{field}"),
                    "not a key of a Charlemagne exchange (it has a target folder)",
                );
            }
        }
        match x.target.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && !t.contains("://") => Some(PathBuf::from(t)),
            _ => {
                self.err(&format!("{key}.target"), "missing: a folder");
                None
            }
        }
    }

    fn effectifs(&mut self, key: &str, x: &RawExchange) -> Option<EffectifsConfig> {
        let software = match x.software.as_deref() {
            Some("easilys") => Some(KitchenSoftware::Easilys),
            Some("adoria") => Some(KitchenSoftware::Adoria),
            Some("webgerest") => Some(KitchenSoftware::WebGerest),
            Some(other) => {
                self.err(
                    &format!("{key}.software"),
                    format!("`{other}` is not easilys, adoria or webgerest"),
                );
                None
            }
            None => {
                self.err(
                    &format!("{key}.software"),
                    "missing: easilys, adoria or webgerest",
                );
                None
            }
        };
        let format = match x.format.as_deref().unwrap_or("csv") {
            "csv" => Some(FileFormat::Csv),
            "json" => Some(FileFormat::Json),
            other => {
                self.err(
                    &format!("{key}.format"),
                    format!("`{other}` is neither csv nor json"),
                );
                None
            }
        };
        let target = match x.target.as_deref() {
            Some(t) if t.starts_with("https://") => {
                self.https_url(&format!("{key}.target"), t);
                Some(Target::Https {
                    url: t.to_owned(),
                    ca_file: x.ca_file.clone().map(PathBuf::from),
                    token_file: x.token_file.clone().map(PathBuf::from),
                })
            }
            Some(t) if t.contains("://") => {
                self.err(
                    &format!("{key}.target"),
                    format!("`{t}`: only https:// URLs or a folder"),
                );
                None
            }
            Some(t) if !t.trim().is_empty() => {
                for (field, set) in [
                    ("ca_file", x.ca_file.is_some()),
                    ("token_file", x.token_file.is_some()),
                ] {
                    if set {
                        self.err(&format!("{key}.{field}"), "only for an https:// target");
                    }
                }
                Some(Target::Folder(PathBuf::from(t)))
            }
            _ => {
                self.err(
                    &format!("{key}.target"),
                    "missing: a folder or an https:// URL",
                );
                None
            }
        };
        let days_ahead = x.days_ahead.unwrap_or(5);
        if days_ahead > 60 {
            self.err(&format!("{key}.days_ahead"), "must be at most 60");
        }
        let history_weeks = x.history_weeks.unwrap_or(4);
        if !(1..=52).contains(&history_weeks) {
            self.err(&format!("{key}.history_weeks"), "must be 1 to 52");
        }
        Some(EffectifsConfig {
            software: software?,
            format: format?,
            target: target?,
            days_ahead,
            history_weeks,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use crate::config::test_errors as errors;

    #[test]
    fn exchanges_are_read_with_their_defaults() {
        let c = Config::parse(
            "[pronote]\nenabled = true\nauto_sync = true\ntransport = \"https\"\n\
             url = \"https://pronote.example.invalid/selfgate\"\n\
             tally_times = { diner = \"16:30\" }\n\
             [[exchanges]]\nname = \"absences\"\nkind = \"pronote_absences\"\n\
             schedule = \"0 */5 * * * *\"\n\
             [[exchanges]]\nname = \"cuisine\"\nkind = \"effectifs\"\nschedule = \"0 0 9 * * *\"\n\
             software = \"easilys\"\ntarget = \"/srv/effectifs\"\n",
            "t.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.pronote.enabled && c.pronote.auto_sync);
        // Breakfast ends before 10:00: no window; lunch at 10:00; dinner at 16:30.
        let tally: Vec<String> = c
            .pronote
            .tally
            .iter()
            .map(|(s, t)| format!("{} {}", s.0, t.format("%H:%M")))
            .collect();
        assert_eq!(tally, ["1 10:00", "2 16:30"]);
        assert_eq!(c.exchanges.len(), 2);
        assert_eq!(c.exchanges[0].retries, 3);
        let e = c.exchanges[1].effectifs.as_ref().unwrap();
        assert_eq!((e.days_ahead, e.history_weeks), (5, 4));
    }

    #[test]
    fn bad_exchange_keys_are_named() {
        let e = errors(
            "[pronote]\ntransport = \"ftp\"\ntally_times = { gouter = \"15:00\" }\n\
             [[exchanges]]\nname = \"a b\"\nkind = \"pronote_absences\"\nschedule = \"soon\"\n\
             target = \"/tmp\"\n\
             [[exchanges]]\nname = \"k\"\nkind = \"effectifs\"\nschedule = \"0 0 9 * * *\"\n\
             software = \"excel\"\ntarget = \"ftp://x\"\nhistory_weeks = 0\n\
             [[exchanges]]\nname = \"k\"\nkind = \"telepathy\"\nschedule = \"0 0 9 * * *\"\n",
        );
        for key in [
            "pronote.transport",
            "pronote.tally_times.gouter",
            "exchanges[0].name",
            "exchanges[0].schedule",
            "exchanges[0].target",
            "exchanges[0].kind",
            "exchanges[1].software",
            "exchanges[1].target",
            "exchanges[1].history_weeks",
            "exchanges[2].name",
            "exchanges[2].kind",
        ] {
            assert!(
                e.iter().any(|m| m.starts_with(key)),
                "no error for {key}: {e:?}"
            );
        }
        let e = errors("[pronote]\ntransport = \"https\"\nurl = \"http://x/\"\n");
        assert!(e.iter().any(|m| m.starts_with("pronote.url")), "{e:?}");
        let e = errors(
            "[[exchanges]]\nname = \"x\"\nkind = \"effectifs\"\nschedule = \"0 0 9 * * *\"\nsoftware = \"adoria\"\ntarget = \"/x\"\ncolour = 1\n",
        );
        assert!(e.len() == 1 && e[0].contains("colour"), "{e:?}");
    }
}
