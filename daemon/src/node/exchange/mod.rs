//! The scheduled data exchanges (`[[exchanges]]`): PRONOTE's three flows (`pronote.rs`, over
//! our documented format `format.rs`) and the kitchen headcounts (`effectifs.rs`), each on its
//! cron schedule in the school's time zone (`schedule.rs`), with retries and never two runs of
//! one exchange at once.
//!
//! [`Exchanges`] runs them, in the daemon (changes go through the running gate,
//! `GateHandle::change`, so the decision sees an absence as soon as it is committed) or on a
//! stopped daemon's store (`selfgate exchange run`). Each run leaves an [`ExchangeReport`] —
//! what was sent and received, when, the error — kept in `DATA/exchanges.json` so that
//! `selfgate exchange status` shows it after a restart, and given to the kiosk's management
//! page by [`Exchanges::reports`]. Nothing from the other side is applied unless it was read
//! whole and valid.

pub mod charlemagne;
pub mod effectifs;
pub mod format;
pub mod http;
pub mod pronote;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use selfgate_rules::Engine;

use crate::config::{Config, ExchangeConfig, ExchangeKind, Target};
use crate::infra::clock::Clock;
use crate::infra::shutdown::Shutdown;
use crate::node::gate::GateHandle;
use crate::store::{Store, WriteOp};
use schedule::{Plan, Start};

/// The reports' file in the data directory.
pub const STATUS_FILE: &str = "exchanges.json";

/// How a run went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Never,
    Running,
    Ok,
    Error,
}

impl RunStatus {
    /// The stable word of the reports' file (`never`, `running`, `ok`, `error`).
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Never => "never",
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Error => "error",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            RunStatus::Never => "jamais lancé",
            RunStatus::Running => "en cours",
            RunStatus::Ok => "réussi",
            RunStatus::Error => "en erreur",
        }
    }
}

/// What a report's line says, beside its French words: a kind (`code`) and its particulars
/// (`args`, in order), from which the kiosk tells it in the staff's language. An empty code
/// holds a lower layer's own words (an error's) in its first particular.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCode {
    pub code: String,
    pub args: Vec<String>,
}

impl LineCode {
    fn new(code: &str, args: &[&dyn std::fmt::Display]) -> LineCode {
        LineCode {
            code: code.to_owned(),
            args: args.iter().map(ToString::to_string).collect(),
        }
    }

    /// Words as a lower layer wrote them.
    fn words(text: &str) -> LineCode {
        LineCode {
            code: String::new(),
            args: vec![text.to_owned()],
        }
    }
}

/// A report's lines as codes, one for each French line of `sent` and `received`, and its
/// error without the retry that `error` ends with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCodes {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<LineCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<LineCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LineCode>,
    /// When a failed run is tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

impl ReportCodes {
    fn is_empty(&self) -> bool {
        *self == ReportCodes::default()
    }
}

/// The sync report of one exchange: its last run, for the command line and the kiosk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeReport {
    pub name: String,
    pub kind: String,
    /// The cron expression.
    pub schedule: String,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// 1 for a run on schedule or by hand, 2… for its retries.
    pub attempt: u32,
    pub by_hand: bool,
    /// What was sent, one line each (French).
    pub sent: Vec<String>,
    /// What was received and what it changed.
    pub received: Vec<String>,
    pub error: Option<String>,
    /// The same as codes, for the kiosk (empty in a file written before they were kept).
    #[serde(default, skip_serializing_if = "ReportCodes::is_empty")]
    pub codes: Box<ReportCodes>,
    pub next_run_at: Option<DateTime<Utc>>,
    /// False for a PRONOTE exchange while the automatic sync is off: it runs by hand only.
    #[serde(default)]
    pub on_schedule: bool,
}

/// Does `x` run on its schedule under `config` (PRONOTE's automatic sync switch)?
fn on_schedule(config: &Config, x: &ExchangeConfig) -> bool {
    !x.kind.is_pronote() || (config.pronote.enabled && config.pronote.auto_sync)
}

/// What a successful run did: its report's lines, in French and as codes.
#[derive(Clone, Debug, Default)]
struct Done {
    sent: Vec<(String, LineCode)>,
    received: Vec<(String, LineCode)>,
}

impl Done {
    fn sent(&mut self, text: String, code: LineCode) {
        self.sent.push((text, code));
    }
    fn received(&mut self, text: String, code: LineCode) {
        self.received.push((text, code));
    }
    /// A line of the other side's (or a lower layer's) own words.
    fn received_words(&mut self, text: String) {
        let code = LineCode::words(&text);
        self.received.push((text, code));
    }
}

/// Lines into the report's French words and their codes.
fn split(lines: Vec<(String, LineCode)>) -> (Vec<String>, Vec<LineCode>) {
    lines.into_iter().unzip()
}

/// A failed run: what it had done before failing, and why (in French, and as a code).
struct Failed {
    done: Done,
    error: String,
    code: LineCode,
}

impl Failed {
    fn new(done: Done, error: String, code: LineCode) -> Failed {
        Failed { done, error, code }
    }
}

impl<E: std::fmt::Display> From<E> for Failed {
    fn from(e: E) -> Failed {
        let error = e.to_string();
        Failed {
            done: Done::default(),
            code: LineCode::words(&error),
            error,
        }
    }
}

/// A failure of this module's own, with its code.
fn failed(error: String, code: LineCode) -> Failed {
    Failed::new(Done::default(), error, code)
}

/// Where runs read the roster and write their changes.
enum Place {
    /// In the daemon: through the running gate.
    Daemon { gate: GateHandle, store: Store },
    /// On a stopped daemon's store.
    Offline {
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
    },
}

/// The exchanges of a school and their state.
pub struct Exchanges {
    place: Place,
    exchanges: Vec<ExchangeConfig>,
    plans: Mutex<BTreeMap<String, Plan>>,
    reports: Mutex<BTreeMap<String, ExchangeReport>>,
    status_file: PathBuf,
}

impl Exchanges {
    /// The daemon's exchanges, changing the roster through `gate`. The list and schedules are
    /// read once (a change needs a restart).
    pub fn for_daemon(gate: GateHandle, store: Store) -> Arc<Exchanges> {
        let config = gate.shared().config();
        let now = gate.shared().clock.now();
        Exchanges::new(Place::Daemon { gate, store }, &config, now)
    }

    /// The exchanges run by hand on a stopped daemon's store.
    pub fn offline(config: Config, store: Store, clock: Arc<dyn Clock>) -> Arc<Exchanges> {
        let now = clock.now();
        let config = Arc::new(config);
        Exchanges::new(
            Place::Offline {
                config: config.clone(),
                store,
                clock,
            },
            &config,
            now,
        )
    }

    fn new(place: Place, config: &Config, now: DateTime<Utc>) -> Arc<Exchanges> {
        let status_file = config.data_dir.join(STATUS_FILE);
        let mut reports = read_reports(&status_file);
        let mut plans = BTreeMap::new();
        for x in &config.exchanges {
            let plan = Plan::new(
                x.schedule.clone(),
                config.rules.timezone,
                x.retries,
                x.retry_delay,
                now,
            );
            let r = reports.entry(x.name.clone()).or_default();
            r.name.clone_from(&x.name);
            r.kind = x.kind.code().to_owned();
            r.schedule = x.schedule.source().to_owned();
            r.next_run_at = plan.next_run();
            r.on_schedule = on_schedule(config, x);
            if r.status == RunStatus::Running {
                // The process stopped during that run.
                r.status = RunStatus::Error;
                r.error = Some("interrompu par l'arrêt du service".into());
                r.codes.error = Some(LineCode::new("interrupted", &[]));
                r.codes.retry_at = None;
            }
            plans.insert(x.name.clone(), plan);
        }
        reports.retain(|name, _| plans.contains_key(name));
        Arc::new(Exchanges {
            place,
            exchanges: config.exchanges.clone(),
            plans: Mutex::new(plans),
            reports: Mutex::new(reports),
            status_file,
        })
    }

    fn config(&self) -> Arc<Config> {
        match &self.place {
            Place::Daemon { gate, .. } => gate.shared().config(),
            Place::Offline { config, .. } => config.clone(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        match &self.place {
            Place::Daemon { gate, .. } => gate.shared().clock.now(),
            Place::Offline { clock, .. } => clock.now(),
        }
    }

    fn store(&self) -> &Store {
        match &self.place {
            Place::Daemon { store, .. } | Place::Offline { store, .. } => store,
        }
    }

    /// Reads the decision's state: the running gate's, or loaded from the store.
    fn with_engine<R>(&self, f: impl FnOnce(&Engine) -> R) -> Result<R, Failed> {
        match &self.place {
            Place::Daemon { gate, .. } => Ok(f(&gate.shared().engine())),
            Place::Offline { config, store, .. } => {
                let today = config.rules.today(self.now());
                let engine = store.load_engine(config.rules.clone(), today)?;
                Ok(f(&engine))
            }
        }
    }

    /// Commits roster changes (and, in the daemon, applies them to the running gate).
    async fn apply(&self, ops: Vec<WriteOp>) -> Result<(), Failed> {
        if ops.is_empty() {
            return Ok(());
        }
        match &self.place {
            Place::Daemon { gate, .. } => {
                gate.change(ops).await?;
            }
            Place::Offline { store, .. } => {
                store.write_now(&ops)?;
            }
        }
        Ok(())
    }

    /// Every exchange's report, in name order (the kiosk's management page shows them).
    pub fn reports(&self) -> Vec<ExchangeReport> {
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Runs `name` now, by hand (no retries); refused while it runs already.
    pub async fn run_by_hand(&self, name: &str) -> Result<ExchangeReport, String> {
        let Some(x) = self.exchanges.iter().find(|x| x.name == name).cloned() else {
            let names: Vec<&str> = self.exchanges.iter().map(|x| x.name.as_str()).collect();
            return Err(format!(
                "pas d'échange nommé `{name}` (configurés : {})",
                if names.is_empty() {
                    "aucun".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        };
        let started = self
            .plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(name)
            .is_some_and(Plan::start_by_hand);
        if !started {
            return Err(format!("l'échange `{name}` est déjà en cours"));
        }
        Ok(self.attempt(&x, None).await)
    }

    /// Starts the runs due now (each in a task of its own) and returns their tasks.
    pub fn tick(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<ExchangeReport>> {
        let now = self.now();
        let config = self.config();
        let mut tasks = Vec::new();
        for x in &self.exchanges {
            let start = {
                let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(plan) = plans.get_mut(&x.name) else {
                    continue;
                };
                if !on_schedule(&config, x) {
                    // Automatic sync switched off: the occurrence passes.
                    if plan.skip(now) {
                        tracing::debug!("{}: PRONOTE automatic sync is off, skipped", x.name);
                    }
                    continue;
                }
                plan.due(now)
            };
            if let Some(start) = start {
                let me = self.clone();
                let x = x.clone();
                tasks.push(tokio::spawn(
                    async move { me.attempt(&x, Some(start)).await },
                ));
            }
        }
        tasks
    }

    /// Runs the schedules until the task is dropped, looking every `every` (1 s in the daemon).
    /// Runs due exchanges every `every` until `shutdown`; then waits for the runs under way.
    pub async fn scheduled(self: Arc<Self>, every: Duration, mut shutdown: Shutdown) {
        if self.exchanges.is_empty() {
            return;
        }
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = Vec::new();
        loop {
            tokio::select! {
                () = shutdown.recv() => break,
                _ = ticks.tick() => {
                    running.retain(|t: &tokio::task::JoinHandle<ExchangeReport>| !t.is_finished());
                    running.extend(self.tick());
                }
            }
        }
        for t in running {
            let _ = t.await;
        }
    }

    /// One attempt of `x` (scheduled when `start` is given), reported and persisted.
    async fn attempt(&self, x: &ExchangeConfig, start: Option<Start>) -> ExchangeReport {
        let began = self.now();
        self.update(&x.name, |r| {
            r.status = RunStatus::Running;
            r.started_at = Some(began);
            r.attempt = start.map_or(1, |s| s.attempt);
            r.by_hand = start.is_none();
        });
        let result = self.execute(x).await;
        let ended = self.now();
        let ok = result.is_ok();
        let retry = {
            let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
            plans.get_mut(&x.name).map(|p| {
                let retry = p.finished(start, ok, ended);
                (retry, p.next_run())
            })
        };
        let (retry, next) = retry.unwrap_or((None, None));
        match &result {
            Ok(_) => {
                tracing::info!(exchange = %x.name, "exchange done");
                crate::infra::telemetry::exchange_succeeded(x.kind.code(), ended);
            }
            Err(f) => tracing::warn!(exchange = %x.name, "exchange failed: {}", f.error),
        }
        let scheduled = on_schedule(&self.config(), x);
        let report = self.update(&x.name, |r| {
            r.finished_at = Some(ended);
            r.next_run_at = next;
            r.on_schedule = scheduled;
            match result {
                Ok(done) => {
                    r.status = RunStatus::Ok;
                    r.last_success_at = Some(ended);
                    (r.sent, r.codes.sent) = split(done.sent);
                    (r.received, r.codes.received) = split(done.received);
                    r.error = None;
                    r.codes.error = None;
                    r.codes.retry_at = None;
                }
                Err(f) => {
                    r.status = RunStatus::Error;
                    (r.sent, r.codes.sent) = split(f.done.sent);
                    (r.received, r.codes.received) = split(f.done.received);
                    r.codes.error = Some(f.code);
                    r.codes.retry_at = retry;
                    r.error = Some(match retry {
                        Some(at) => format!(
                            "{} (nouvel essai à {})",
                            f.error,
                            at.with_timezone(&self.config().rules.timezone)
                                .format("%H:%M:%S")
                        ),
                        None => f.error,
                    });
                }
            }
        });
        self.persist();
        report
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut ExchangeReport)) -> ExchangeReport {
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        let r = reports.entry(name.to_owned()).or_default();
        f(r);
        r.clone()
    }

    /// Writes the reports to the status file. The lock is held until the file is written: two
    /// runs ending together must not write their snapshots out of order (an older one, where
    /// the other run is still "running", landing last and staying after a restart).
    fn persist(&self) {
        let reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        let json = serde_json::to_vec_pretty(&*reports).unwrap_or_default();
        if let Err(e) = pronote::write_atomically(&self.status_file, &json) {
            tracing::warn!(
                "cannot write the exchanges' reports to {}: {e}",
                self.status_file.display()
            );
        }
        drop(reports);
    }

    async fn execute(&self, x: &ExchangeConfig) -> Result<Done, Failed> {
        match x.kind {
            ExchangeKind::PronoteMealDays => self.meal_days().await,
            ExchangeKind::PronoteAbsences => self.absences().await,
            ExchangeKind::PronoteNoShows => self.no_shows().await,
            ExchangeKind::Effectifs => self.effectifs(x).await,
            ExchangeKind::CharlemagneEncaissements => self.charlemagne_encaissements(x).await,
            ExchangeKind::CharlemagneConsommations => self.charlemagne_consommations(x).await,
        }
    }

    fn pronote(&self, config: &Config) -> Result<pronote::PronoteLink, Failed> {
        if !config.pronote.enabled {
            return Err(failed(
                "PRONOTE n'est pas activé ([pronote] enabled = false)".into(),
                LineCode::new("pronote_disabled", &[]),
            ));
        }
        Ok(pronote::PronoteLink::from_config(config)?)
    }

    async fn meal_days(&self) -> Result<Done, Failed> {
        let config = self.config();
        let link = self.pronote(&config)?;
        let now = self.now();
        let today = config.rules.today(now);
        let doc = self.with_engine(|e| pronote::meal_days(&config, e.roster(), today, now))?;
        let meals: usize = doc.eleves.iter().map(|p| p.repas.len()).sum();
        let sent = format!(
            "jours de repas du {} au {} : {} élève(s), {meals} jour(s) inscrits, vers {}",
            doc.from,
            doc.to,
            doc.eleves.len(),
            link.describe()
        );
        let (kind, place) = match &link {
            pronote::PronoteLink::Folder(f) => ("folder", f.dir.display().to_string()),
            pronote::PronoteLink::Https(h) => ("https", h.base.clone()),
        };
        let code = LineCode::new(
            "meal_days_sent",
            &[&doc.from, &doc.to, &doc.eleves.len(), &meals, &kind, &place],
        );
        let answer = link.send_meal_days(&doc).await?;
        let mut done = Done::default();
        done.sent(sent, code);
        done.received_words(answer);
        Ok(done)
    }

    async fn absences(&self) -> Result<Done, Failed> {
        let config = self.config();
        let now = self.now();
        let (day, services) = pronote::absence_window(&config, now);
        let mut done = Done::default();
        if services.is_empty() {
            done.received(
                "aucun service entre son heure de pointage et sa fin : rien à relever".into(),
                LineCode::new("absences_none", &[]),
            );
            return Ok(done);
        }
        let link = self.pronote(&config)?;
        for service in services {
            let code = config
                .rules
                .service(service)
                .map(|s| s.code.clone())
                .unwrap_or_default();
            let doc = match link.fetch_absences(&config.school.uai, day, &code).await {
                Ok(doc) => doc,
                Err(e) => {
                    let words = LineCode::new("absences_failed", &[&day, &code, &e]);
                    return Err(Failed::new(
                        done,
                        format!(
                            "absences du {day} ({code}) : {e} ; rien n'a été changé pour ce service"
                        ),
                        words,
                    ));
                }
            };
            let changes =
                self.with_engine(|e| pronote::absence_changes(e.roster(), &doc, day, service))?;
            let mut line = format!(
                "absences du {day} ({code}) : {} absent(s) selon PRONOTE ; {} opposition(s) posée(s), {} levée(s), {} inchangée(s)",
                doc.absents.len(),
                changes.added,
                changes.lifted,
                changes.kept
            );
            let shown: Vec<&str> = changes
                .unknown
                .iter()
                .take(10)
                .map(String::as_str)
                .collect();
            let shown = shown.join(", ");
            if !changes.unknown.is_empty() {
                line.push_str(&format!(
                    " ; {} identifiant(s) inconnu(s) ici : {shown}",
                    changes.unknown.len(),
                ));
            }
            let line_code = LineCode::new(
                "absences",
                &[
                    &day,
                    &code,
                    &doc.absents.len(),
                    &changes.added,
                    &changes.lifted,
                    &changes.kept,
                    &changes.unknown.len(),
                    &shown,
                ],
            );
            if let Err(f) = self.apply(changes.ops).await {
                let words = LineCode::new("absences_not_recorded", &[&day, &code, &f.error]);
                return Err(Failed::new(
                    done,
                    format!("absences du {day} ({code}) non enregistrées : {}", f.error),
                    words,
                ));
            }
            done.received(line, line_code);
        }
        Ok(done)
    }

    async fn no_shows(&self) -> Result<Done, Failed> {
        let config = self.config();
        let now = self.now();
        let (day, services) = pronote::ended_services(&config, now);
        let mut done = Done::default();
        if services.is_empty() {
            done.sent(
                format!("aucun service terminé le {day} : rien à envoyer"),
                LineCode::new("no_shows_none", &[&day]),
            );
            return Ok(done);
        }
        let link = self.pronote(&config)?;
        for service in services {
            let doc = self.with_engine(|e| {
                pronote::no_shows(&config, e.roster(), e.served(), day, service, now)
            })?;
            match link.send_no_shows(&doc).await {
                Ok(answer) => {
                    done.sent(
                        format!(
                            "non-venus du {day} ({}) : {} sur {} inscrit(s)",
                            doc.service,
                            doc.eleves.len(),
                            doc.inscrits
                        ),
                        LineCode::new(
                            "no_shows",
                            &[&day, &doc.service, &doc.eleves.len(), &doc.inscrits],
                        ),
                    );
                    done.received_words(answer);
                }
                Err(e) => {
                    let words = LineCode::new("no_shows_failed", &[&day, &doc.service, &e]);
                    return Err(Failed::new(
                        done,
                        format!("non-venus du {day} ({}) : {e}", doc.service),
                        words,
                    ));
                }
            }
        }
        Ok(done)
    }

    async fn effectifs(&self, x: &ExchangeConfig) -> Result<Done, Failed> {
        let config = self.config();
        let Some(opts) = &x.effectifs else {
            return Err(failed(
                "options d'effectifs absentes".into(),
                LineCode::new("effectifs_options_missing", &[]),
            ));
        };
        let now = self.now();
        let since = effectifs::history_start(opts, now);
        let store = self.store().clone();
        let events = tokio::task::spawn_blocking(move || store.events(Some(since)))
            .await
            .map_err(|e| {
                failed(
                    format!("lecture du journal interrompue : {e}"),
                    LineCode::new("journal_read_interrupted", &[&e]),
                )
            })??;
        let rows =
            self.with_engine(|e| effectifs::headcounts(&config, opts, e.roster(), &events, now))?;
        let body = effectifs::render(&config, opts, &rows, now);
        let name = effectifs::file_name(&config, opts, now);
        let forecasts = rows
            .iter()
            .filter(|r| r.kind == effectifs::RowKind::Prevision)
            .count();
        let software = opts.software.code();
        let counts = rows.len() - forecasts;
        let what = format!(
            "effectifs {software} : {forecasts} prévision(s), {counts} comptage(s) réel(s)"
        );
        let mut done = Done::default();
        match &opts.target {
            Target::Folder(dir) => {
                let path = dir.join(&name);
                pronote::write_atomically(&path, &body).map_err(|e| file_error(&path, &e))?;
                done.sent(
                    format!("{what}, écrits dans {}", path.display()),
                    LineCode::new(
                        "effectifs_written",
                        &[&software, &forecasts, &counts, &path.display()],
                    ),
                );
                Ok(done)
            }
            Target::Https {
                url,
                ca_file,
                token_file,
            } => {
                let client = http::HttpsClient::new(ca_file.as_deref(), x.timeout)?;
                let mut headers = vec![
                    (
                        "content-type".to_owned(),
                        match opts.format {
                            crate::config::FileFormat::Csv => "text/csv; charset=utf-8",
                            crate::config::FileFormat::Json => "application/json",
                        }
                        .to_owned(),
                    ),
                    (
                        "content-disposition".to_owned(),
                        format!("attachment; filename=\"{name}\""),
                    ),
                ];
                if let Some(file) = token_file {
                    let path = crate::infra::secrets::secret_file("effectifs.token", Some(file))?;
                    let token =
                        std::fs::read_to_string(&path).map_err(|e| file_error(&path, &e))?;
                    headers.push((
                        "authorization".to_owned(),
                        format!("Bearer {}", token.trim()),
                    ));
                }
                let answer = client.send("POST", url, &headers, body).await?;
                if !(200..300).contains(&answer.status) {
                    return Err(failed(
                        format!("{url} a répondu {}", answer.status),
                        LineCode::new("http_status", &[url, &answer.status]),
                    ));
                }
                done.sent(
                    format!("{what}, envoyés à {url}"),
                    LineCode::new("effectifs_sent", &[&software, &forecasts, &counts, url]),
                );
                done.received(
                    format!("réponse {}", answer.status),
                    LineCode::new("http_answer", &[&answer.status]),
                );
                Ok(done)
            }
        }
    }

    /// Our pupil identifiers for PRONOTE (CSV), from the roster in force.
    pub fn export_ids(&self) -> Result<String, String> {
        self.with_engine(|e| pronote::export_ids(e.roster()))
            .map_err(|f| f.error)
    }
}

/// A file that could not be read or written.
fn file_error(path: &Path, e: &dyn std::fmt::Display) -> Failed {
    failed(
        format!("{} : {e}", path.display()),
        LineCode::new("file_error", &[&path.display(), e]),
    )
}

fn read_reports(path: &Path) -> BTreeMap<String, ExchangeReport> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("{}: unreadable, reports start afresh: {e}", path.display());
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

/// `selfgate exchange status`: the configured exchanges with their last reports.
pub fn status(config: &Config) -> Vec<ExchangeReport> {
    let now = Utc::now();
    let mut stored = read_reports(&config.data_dir.join(STATUS_FILE));
    config
        .exchanges
        .iter()
        .map(|x| {
            let mut r = stored.remove(&x.name).unwrap_or_default();
            r.name.clone_from(&x.name);
            r.kind = x.kind.code().to_owned();
            r.schedule = x.schedule.source().to_owned();
            r.on_schedule = on_schedule(config, x);
            if r.next_run_at.is_none_or(|t| t < now) {
                r.next_run_at = schedule::next_after(&x.schedule, config.rules.timezone, now);
            }
            r
        })
        .collect()
}
