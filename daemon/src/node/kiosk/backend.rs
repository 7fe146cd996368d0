//! What the kiosk reads and does, on the running gate: [`KioskBackend`] implements the kiosk
//! crate's `StaffSource`. Reads come from the in-memory engine (search, status today, counts)
//! and from the store (a person's passages, the day's report); staff actions go through the
//! running gate ([`GateHandle::admit`] for admissions, journaled with the staff member;
//! [`GateHandle::change`] for badges and oppositions), so the decision sees them at once. The
//! live feed is built from [`Shared::subscribe`]: one line per committed passage.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use tokio::sync::broadcast;

use selfgate_kiosk::i18n::Lang;
use selfgate_kiosk::{
    Alert, BadgeRow, BoxFuture, DayReport, FeedItem, KioskSource, Live, NewOpposition,
    OppositionRow, PassageRow, PersonDetail, PersonRow, ServiceReport, SourceError, StaffSource,
    Summary,
};
use selfgate_rules::ManualRefusal;
use selfgate_rules::journal::{EventKind, Reason, Verdict};
use selfgate_rules::model::{
    BadgeNumber, Credential, CredentialStatus, Opposition, OppositionReason, Person, PersonId,
    Regime, ServiceId, fold, format_euros,
};

use crate::node::gate::{Change, GateHandle, Shared};
use crate::node::kiosk::view;
use crate::node::sync::SyncState;
use crate::store::{Store, WriteOp};

/// Live items a slow kiosk client may fall behind by before it is told to reload.
const LIVE_BACKLOG: usize = 1024;
/// A lost badge presented stays an alert this long (school clock).
const LOST_ALERT: TimeDelta = TimeDelta::minutes(15);
/// A person's page shows passages of this many days back.
const PERSON_DAYS: i64 = 60;

/// A lost badge presented: when, the alert's text, its particulars.
type LostBadgeAlert = (DateTime<Utc>, String, Vec<String>);

pub struct KioskBackend {
    gate: GateHandle,
    store: Store,
    live: broadcast::Sender<Live>,
    /// Lost badges presented lately.
    lost: Mutex<VecDeque<LostBadgeAlert>>,
    /// The hub sync's status (none when standalone).
    sync: Option<Arc<SyncState>>,
}

impl KioskBackend {
    /// The backend, and its task turning committed changes into live feed items (it ends with
    /// the gate's change stream).
    pub fn start(
        gate: GateHandle,
        store: Store,
        sync: Option<Arc<SyncState>>,
    ) -> Arc<KioskBackend> {
        let backend = Arc::new(KioskBackend {
            gate,
            store,
            sync,
            live: broadcast::channel(LIVE_BACKLOG).0,
            lost: Mutex::new(VecDeque::new()),
        });
        let changes = backend.shared().subscribe();
        tokio::spawn(forward(Arc::downgrade(&backend), changes));
        backend
    }

    fn shared(&self) -> &Arc<Shared> {
        self.gate.shared()
    }

    /// The school's local date and the service open at this gate now.
    fn now(&self) -> (DateTime<Utc>, NaiveDate, Option<ServiceId>) {
        let shared = self.shared();
        let now = shared.clock.now();
        let engine = shared.engine();
        let day = engine.local(now).0;
        (now, day, engine.open_service(&shared.config().gate.id, now))
    }

    fn tz(&self) -> chrono_tz::Tz {
        self.shared().config().rules.timezone
    }

    fn row(&self, p: &Person, day: NaiveDate, service: Option<ServiceId>) -> PersonRow {
        let engine = self.shared().engine();
        let roster = engine.roster();
        let tz = self.tz();
        let (status, served) = match service {
            None => ("Pas de service ouvert".to_owned(), false),
            Some(s) => {
                if let Some(e) = engine.served().get(p.id, day, s) {
                    let at = e.last_at.with_timezone(&tz).format("%H:%M");
                    let times = if e.count > 1 {
                        format!(" ({} fois)", e.count)
                    } else {
                        String::new()
                    };
                    (format!("Servi à {at}{times}"), true)
                } else if let Some(o) = roster
                    .oppositions_of(p.id)
                    .iter()
                    .find(|o| o.effective(day, s))
                {
                    (o.reason.label_fr().to_owned(), false)
                } else if p.forfait_covers(day, s) {
                    ("Attendu (forfait)".to_owned(), false)
                } else if p.has_forfait_on(day) {
                    ("Non inscrit ce jour".to_owned(), false)
                } else {
                    (
                        format!("Ticket, solde {}", format_euros(roster.balance(p.id))),
                        false,
                    )
                }
            }
        };
        PersonRow {
            id: p.id.0,
            name: p.display_name(),
            class: p.class.clone(),
            category: p.category.label_fr().to_owned(),
            status,
            served,
        }
    }

    fn alerts(&self, base: &Summary) -> Vec<Alert> {
        let mut out = Vec::new();
        if base.emergency {
            out.push(Alert {
                kind: "emergency".into(),
                text: "Entrée d'urgence active : le tourniquet est libre".into(),
                args: vec![],
            });
        }
        // In name order, from the gate's state: this runs at every live item, so not through
        // the whole /healthz document.
        let readers: BTreeMap<String, bool> = self.shared().readers_online().into_iter().collect();
        for (name, online) in readers {
            if !online {
                out.push(Alert {
                    kind: "reader_offline".into(),
                    text: format!("Lecteur hors ligne : {name}"),
                    args: vec![name],
                });
            }
        }
        if let Some(sync) = self.sync_status() {
            if !sync.connected {
                out.push(Alert {
                    kind: "hub_unreachable".into(),
                    text: format!(
                        "Serveur central injoignable{} · {} événements en attente",
                        sync.last_exchange
                            .as_ref()
                            .map(|t| format!(" depuis {t}"))
                            .unwrap_or_default(),
                        sync.events_waiting
                    ),
                    args: vec![
                        sync.last_exchange.clone().unwrap_or_default(),
                        sync.events_waiting.to_string(),
                    ],
                });
            }
        }
        let quarantined = self.sync.as_ref().map_or(0, |s| s.status().quarantined);
        if quarantined > 0 {
            out.push(Alert {
                kind: "quarantine".into(),
                text: format!(
                    "{quarantined} événement(s) des lignes refusé(s) par le concentrateur, en \
                     quarantaine : à examiner (journal du concentrateur)"
                ),
                args: vec![quarantined.to_string()],
            });
        }
        let now = self.shared().clock.now();
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        while lost
            .front()
            .is_some_and(|(at, _, _)| now - *at > LOST_ALERT)
        {
            lost.pop_front();
        }
        for (_, who, args) in lost.iter().rev() {
            out.push(Alert {
                kind: "lost_badge".into(),
                text: who.clone(),
                args: args.clone(),
            });
        }
        out
    }

    fn passage_rows(&self, person: PersonId) -> Result<Vec<PassageRow>, SourceError> {
        let since = self.shared().clock.now() - TimeDelta::days(PERSON_DAYS);
        let events = self.store.events(Some(since)).map_err(|e| {
            SourceError::Unavailable(format!("lecture du journal impossible : {e}"))
        })?;
        let tz = self.tz();
        let config = self.shared().config();
        let mut rows: Vec<(DateTime<Utc>, PassageRow)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Passage(p) if p.person == Some(person) => Some((
                    e.at,
                    PassageRow {
                        when: e.at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
                        service: p
                            .service
                            .and_then(|s| config.rules.service(s))
                            .map(|s| s.label.clone())
                            .unwrap_or_default(),
                        pass: p.verdict == Verdict::Pass,
                        label: view::label(self.shared(), Lang::Fr, p),
                    },
                )),
                EventKind::Correction(c) if c.person == person => Some((
                    e.at,
                    PassageRow {
                        when: e.at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
                        service: config
                            .rules
                            .service(c.service)
                            .map(|s| s.label.clone())
                            .unwrap_or_default(),
                        pass: false,
                        label: format!(
                            "Correction de {}/{} : {} (remboursé {})",
                            c.refers_to.gate,
                            c.refers_to.seq,
                            c.note,
                            format_euros(c.refund_cents)
                        ),
                    },
                )),
                _ => None,
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
        Ok(rows.into_iter().take(50).map(|r| r.1).collect())
    }

    fn report(&self, day: NaiveDate) -> Result<DayReport, SourceError> {
        let tz = self.tz();
        let start = tz
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or_else(|| self.shared().clock.now(), |t| t.with_timezone(&Utc))
            - TimeDelta::hours(2);
        let events = self.store.events(Some(start)).map_err(|e| {
            SourceError::Unavailable(format!("lecture du journal impossible : {e}"))
        })?;
        let config = self.shared().config();
        #[derive(Default)]
        struct Acc {
            passes: BTreeMap<String, u64>,
            denials: BTreeMap<String, u64>,
            charged: i64,
            corrections: u64,
        }
        let mut by_service: BTreeMap<ServiceId, Acc> = BTreeMap::new();
        for e in &events {
            match &e.kind {
                EventKind::Passage(p) if p.day == day => {
                    let Some(s) = p.service else { continue };
                    let acc = by_service.entry(s).or_default();
                    let label = p.reason.label_fr().to_owned();
                    if p.verdict == Verdict::Pass {
                        *acc.passes.entry(label).or_default() += 1;
                        acc.charged += p.charge_cents;
                    } else {
                        *acc.denials.entry(label).or_default() += 1;
                    }
                }
                EventKind::Correction(c) if c.day == day => {
                    let acc = by_service.entry(c.service).or_default();
                    acc.corrections += 1;
                    acc.charged -= c.refund_cents;
                }
                _ => {}
            }
        }
        let weekday = chrono::Datelike::weekday(&day);
        let mut services = Vec::new();
        for s in &config.rules.services {
            let expected = self.shared().expected(day, s.id);
            let acc = by_service.remove(&s.id);
            let runs = s.weekdays.contains(weekday) && config.rules.closure_on(day, s.id).is_none();
            if acc.is_none() && !(runs && expected > 0) {
                continue;
            }
            let acc = acc.unwrap_or_default();
            let sorted = |m: BTreeMap<String, u64>| {
                let mut v: Vec<(String, u64)> = m.into_iter().collect();
                v.sort_by_key(|x| std::cmp::Reverse(x.1));
                v
            };
            services.push(ServiceReport {
                label: s.label.clone(),
                expected: runs.then_some(expected),
                // A correction undoes one pass.
                passes: acc
                    .passes
                    .values()
                    .sum::<u64>()
                    .saturating_sub(acc.corrections),
                passes_by: sorted(acc.passes),
                denials: sorted(acc.denials),
                charged_cents: acc.charged,
                corrections: acc.corrections,
            });
        }
        Ok(DayReport {
            day: day.format("%Y-%m-%d").to_string(),
            services,
        })
    }

    fn person_named(&self, id: u32) -> Result<Person, SourceError> {
        self.shared()
            .engine()
            .roster()
            .person(PersonId(id))
            .cloned()
            .ok_or_else(|| SourceError::NotFound("Personne inconnue".to_owned()))
    }
}

/// Turns committed changes into live items: a line per passage, and fresh counts when an
/// alarm or an opposition changes them.
async fn forward(backend: std::sync::Weak<KioskBackend>, mut changes: broadcast::Receiver<Change>) {
    loop {
        let change = match changes.recv().await {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("kiosk feed fell {n} changes behind");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(b) = backend.upgrade() else { return };
        let item: Option<FeedItem> = match &change {
            Change::Event(e) => match &e.kind {
                EventKind::Passage(p) => {
                    let item = view::feed_item(b.shared(), &e.gate, Some(e.seq), e.at, p);
                    if p.reason == Reason::BadgeRevoked {
                        let tz = b.tz();
                        let time = e.at.with_timezone(&tz).format("%H:%M").to_string();
                        let who = format!(
                            "Badge déclaré perdu présenté : {}{} à {time}",
                            item.name,
                            if item.class.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", item.class)
                            },
                        );
                        let args = vec![item.name.clone(), item.class.clone(), time];
                        b.lost
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push_back((e.at, who, args));
                    }
                    Some(item)
                }
                EventKind::Alarm(_)
                | EventKind::Correction(_)
                | EventKind::Credit(_)
                | EventKind::Payment(_)
                | EventKind::PaymentCancel(_)
                | EventKind::Refund(_) => None,
                EventKind::Retention(_) => continue,
            },
            Change::Opposition(_) => None,
            Change::Person(_) | Change::Credential(_) => continue,
        };
        if b.live.receiver_count() == 0 {
            continue;
        }
        let summary = b.summary();
        let _ = b.live.send(Live { item, summary });
    }
}

fn regime_fr(r: Regime) -> &'static str {
    match r {
        Regime::Externe => "Externe",
        Regime::DemiPensionnaire => "Demi-pensionnaire",
        Regime::Interne => "Interne",
    }
}

fn parse_day(s: &str, key: &str) -> Result<NaiveDate, SourceError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| SourceError::Invalid(format!("{key} : « {s} » n'est pas une date AAAA-MM-JJ")))
}

impl KioskSource for KioskBackend {
    fn today(&self) -> NaiveDate {
        view::today(self.shared())
    }
    fn summary(&self) -> Summary {
        let mut s = view::summary(self.shared());
        s.to_come = self.not_served().len() as u64;
        s.alerts = self.alerts(&s);
        s
    }
    fn recent(&self, limit: usize) -> Vec<FeedItem> {
        view::recent(self.shared(), limit)
    }
    fn health(&self) -> serde_json::Value {
        let mut health = view::health(self.shared());
        if let Some(obj) = health.as_object_mut() {
            let sync = self
                .sync
                .as_ref()
                .map_or_else(|| serde_json::json!("standalone"), |s| s.json());
            obj.insert("sync".into(), sync);
        }
        health
    }
    fn updated(&self) -> DateTime<Utc> {
        self.shared().updated()
    }
}

impl StaffSource for KioskBackend {
    fn live(&self) -> broadcast::Receiver<Live> {
        self.live.subscribe()
    }

    fn sync_status(&self) -> Option<selfgate_kiosk::SyncStatus> {
        let status = self.sync.as_ref()?.status();
        let tz = self.shared().config().rules.timezone;
        Some(selfgate_kiosk::SyncStatus {
            connected: status.connected,
            last_exchange: status
                .last_exchange
                .map(|t| t.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S").to_string()),
            events_waiting: status.events_waiting,
        })
    }

    /// The reports the exchanges keep in the data directory (what `selfgate exchange status`
    /// prints), so that a run by hand from the command line shows here too.
    fn exchange_reports(&self) -> Vec<selfgate_kiosk::ExchangeReport> {
        let config = self.shared().config();
        let tz = config.rules.timezone;
        crate::node::exchange::status(&config)
            .into_iter()
            .map(|r| selfgate_kiosk::ExchangeReport {
                last_run: r
                    .finished_at
                    .or(r.started_at)
                    .map(|t| t.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S").to_string()),
                ok: r.status == crate::node::exchange::RunStatus::Ok,
                message: match (&r.error, r.status) {
                    (Some(e), _) => e.clone(),
                    (None, status) => format!("{} ({})", status.label_fr(), r.schedule),
                },
                sent: r.sent.join(" ; "),
                received: r.received.join(" ; "),
                name: r.name,
            })
            .collect()
    }

    fn search(&self, query: &str, limit: usize) -> Vec<PersonRow> {
        let (_, day, service) = self.now();
        let found: Vec<Person> = {
            let engine = self.shared().engine();
            let roster = engine.roster();
            let mut found: Vec<Person> = Vec::new();
            // A badge number: its holder.
            if let Ok(b) = query.parse::<BadgeNumber>() {
                if let Some(p) = roster
                    .credential(b.as_str())
                    .and_then(|c| roster.person(c.person))
                {
                    found.push(p.clone());
                }
            }
            let words: Vec<String> = fold(query).split_whitespace().map(str::to_owned).collect();
            if !words.is_empty() {
                for p in roster.persons() {
                    if found.len() >= limit {
                        break;
                    }
                    let hay = fold(&format!(
                        "{} {} {} {}",
                        p.first_name, p.last_name, p.class, p.external_id
                    ));
                    let class = fold(&p.class);
                    let matches = words
                        .iter()
                        .all(|w| hay.split_whitespace().any(|h| h.starts_with(w.as_str())))
                        || (words.len() == 1 && class == words[0]);
                    if matches && !found.iter().any(|f| f.id == p.id) {
                        found.push(p.clone());
                    }
                }
            }
            found
        };
        let mut rows: Vec<PersonRow> = found.iter().map(|p| self.row(p, day, service)).collect();
        rows.sort_by(|a, b| a.class.cmp(&b.class).then(a.name.cmp(&b.name)));
        rows.truncate(limit);
        rows
    }

    fn person(&self, id: u32) -> BoxFuture<'_, Option<PersonDetail>> {
        Box::pin(async move {
            let p = self.person_named(id).ok()?;
            let (_, day, service) = self.now();
            let row = self.row(&p, day, service);
            let (badges, oppositions, balance) = {
                let engine = self.shared().engine();
                let roster = engine.roster();
                let config = self.shared().config();
                let mut badges: Vec<BadgeRow> = roster
                    .credentials_of(p.id)
                    .map(|c| BadgeRow {
                        number: c.number.to_string(),
                        status: c.status.code().to_owned(),
                    })
                    .collect();
                badges.sort_by(|a, b| a.status.cmp(&b.status).then(a.number.cmp(&b.number)));
                let oppositions = roster
                    .oppositions_of(p.id)
                    .iter()
                    .map(|o| OppositionRow {
                        id: o.id,
                        reason: o.reason.label_fr().to_owned(),
                        service: o
                            .service
                            .and_then(|s| config.rules.service(s))
                            .map_or_else(|| "tous les services".to_owned(), |s| s.label.clone()),
                        from: o.from.format("%d/%m/%Y").to_string(),
                        to: o.to.map_or_else(
                            || "levée".to_owned(),
                            |d| d.format("%d/%m/%Y").to_string(),
                        ),
                        note: o.note.clone(),
                        lifted: o.lifted,
                    })
                    .collect();
                (badges, oppositions, roster.balance(p.id))
            };
            let passages = {
                let store_reader = self.clone_for_blocking();
                let person = p.id;
                tokio::task::spawn_blocking(move || store_reader.passage_rows(person))
                    .await
                    .ok()?
                    .unwrap_or_default()
            };
            Some(PersonDetail {
                row,
                external_id: p.external_id.clone(),
                regime: regime_fr(p.regime).to_owned(),
                balance_cents: balance,
                badges,
                oppositions,
                passages,
            })
        })
    }

    fn not_served(&self) -> Vec<PersonRow> {
        let (_, day, service) = self.now();
        let Some(service) = service else {
            return Vec::new();
        };
        let persons: Vec<Person> = {
            let engine = self.shared().engine();
            let roster = engine.roster();
            roster
                .expected(day, service)
                .filter(|p| engine.served().get(p.id, day, service).is_none())
                .cloned()
                .collect()
        };
        let mut rows: Vec<PersonRow> = persons
            .iter()
            .map(|p| self.row(p, day, Some(service)))
            .collect();
        rows.sort_by(|a, b| a.class.cmp(&b.class).then(a.name.cmp(&b.name)));
        rows
    }

    fn admit(
        &self,
        person: u32,
        by: &str,
        note: &str,
        second_meal: bool,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        let (by, note) = (by.to_owned(), note.to_owned());
        Box::pin(async move {
            // Answer once the admission is journaled (and so in the feed), not merely queued.
            let mut changes = self.shared().subscribe();
            self.gate
                .admit(PersonId(person), &by, &note, second_meal)
                .await
                .map_err(|e| match e {
                    ManualRefusal::NoServiceOpen => SourceError::Refused(
                        "Aucun service n'est ouvert : admission impossible maintenant".to_owned(),
                    ),
                    ManualRefusal::UnknownPerson => {
                        SourceError::NotFound("Personne inconnue".to_owned())
                    }
                    ManualRefusal::AlreadyServed { last_at } => SourceError::Refused(format!(
                        "Déjà servi à {} dans ce service : pour un autre repas, choisissez « second repas » sur sa fiche",
                        last_at.with_timezone(&self.tz()).format("%H:%M")
                    )),
                })?;
            let committed = async {
                loop {
                    match changes.recv().await {
                        Ok(Change::Event(e)) => {
                            if let EventKind::Passage(p) = &e.kind {
                                if p.person == Some(PersonId(person)) && p.reason == Reason::Manual
                                {
                                    return true;
                                }
                            }
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return false,
                    }
                }
            };
            match tokio::time::timeout(Duration::from_secs(5), committed).await {
                Ok(true) => Ok(()),
                _ => Err(SourceError::Unavailable("Admission transmise, mais son enregistrement n'est pas confirmé : vérifiez le journal".into())),
            }
        })
    }

    fn declare_lost(&self, person: u32, badge: &str) -> BoxFuture<'_, Result<(), SourceError>> {
        let badge = badge.to_owned();
        Box::pin(async move {
            let cred: Credential = {
                let engine = self.shared().engine();
                let number: BadgeNumber = badge.parse().map_err(|_| {
                    SourceError::Invalid(format!("« {badge} » n'est pas un numéro de badge"))
                })?;
                engine
                    .roster()
                    .credential(number.as_str())
                    .filter(|c| c.person == PersonId(person))
                    .cloned()
                    .ok_or_else(|| {
                        SourceError::NotFound(format!(
                            "Le badge {badge} n'appartient pas à cette personne"
                        ))
                    })?
            };
            self.gate
                .change(vec![WriteOp::PutCredential(Credential {
                    status: CredentialStatus::Lost,
                    ..cred
                })])
                .await
                .map(|_| ())
                .map_err(|e| SourceError::Unavailable(format!("Enregistrement impossible : {e}")))
        })
    }

    fn enrol_next(
        &self,
        person: u32,
        reader: Option<String>,
        wait: Duration,
    ) -> BoxFuture<'_, Result<String, SourceError>> {
        Box::pin(async move {
            let p = self.person_named(person)?;
            if let Some(r) = &reader {
                if !self.readers().contains(r) {
                    return Err(SourceError::NotFound(format!("Lecteur inconnu : {r}")));
                }
            }
            let rx = self.shared().capture_next_read(reader);
            let read = match tokio::time::timeout(wait, rx).await {
                Ok(Ok(c)) => c,
                Ok(Err(_)) => {
                    return Err(SourceError::Refused(
                        "Attente interrompue par une autre attribution".into(),
                    ));
                }
                Err(_) => {
                    return Err(SourceError::Refused(format!(
                        "Aucun badge présenté dans les {} secondes",
                        wait.as_secs()
                    )));
                }
            };
            let number: BadgeNumber = read.parse().map_err(|_| {
                SourceError::Invalid(format!(
                    "Lecture « {read} » : ce n'est pas un numéro de badge"
                ))
            })?;
            let holder = {
                let engine = self.shared().engine();
                let roster = engine.roster();
                roster.credential(number.as_str()).map(|c| {
                    (
                        c.person,
                        c.status,
                        roster.person(c.person).map(Person::display_name),
                    )
                })
            };
            match holder {
                Some((id, CredentialStatus::Active, _)) if id == p.id => {
                    return Err(SourceError::Refused(format!(
                        "Le badge {number} est déjà celui de {}",
                        p.display_name()
                    )));
                }
                Some((id, _, name)) if id != p.id => {
                    return Err(SourceError::Refused(format!(
                        "Le badge {number} appartient déjà à {} : déclarez-le perdu ou rendu d'abord",
                        name.unwrap_or_else(|| "une autre personne".into())
                    )));
                }
                _ => {}
            }
            self.gate
                .change(vec![WriteOp::PutCredential(Credential {
                    number: number.clone(),
                    person: p.id,
                    status: CredentialStatus::Active,
                })])
                .await
                .map_err(|e| {
                    SourceError::Unavailable(format!("Enregistrement impossible : {e}"))
                })?;
            Ok(number.to_string())
        })
    }

    fn add_opposition(&self, o: NewOpposition) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let p = self.person_named(o.person)?;
            let reason: OppositionReason = o
                .reason
                .parse()
                .map_err(|_| SourceError::Invalid(format!("motif : « {} » inconnu", o.reason)))?;
            let config = self.shared().config();
            let service = match &o.service {
                None => None,
                Some(code) => Some(
                    config
                        .rules
                        .service_by_code(code)
                        .map(|s| s.id)
                        .ok_or_else(|| {
                            SourceError::Invalid(format!("service : « {code} » inconnu"))
                        })?,
                ),
            };
            let from = parse_day(&o.from, "du")?;
            let to = o.to.as_deref().map(|t| parse_day(t, "au")).transpose()?;
            if to.is_some_and(|t| t < from) {
                return Err(SourceError::Invalid(
                    "au : la fin est avant le début".into(),
                ));
            }
            let note = if o.note.trim().is_empty() {
                format!("saisie par {}", o.by)
            } else {
                format!("{} (saisie par {})", o.note.trim(), o.by)
            };
            let id = self.shared().engine().roster().next_opposition_id();
            self.gate
                .change(vec![WriteOp::PutOpposition(Opposition {
                    id,
                    person: p.id,
                    reason,
                    service,
                    from,
                    to,
                    note,
                    lifted: false,
                })])
                .await
                .map(|_| ())
                .map_err(|e| SourceError::Unavailable(format!("Enregistrement impossible : {e}")))
        })
    }

    fn lift_opposition(&self, person: u32, id: u64) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let o = self
                .shared()
                .engine()
                .roster()
                .oppositions_of(PersonId(person))
                .iter()
                .find(|o| o.id == id)
                .cloned()
                .ok_or_else(|| {
                    SourceError::NotFound("Opposition inconnue pour cette personne".to_owned())
                })?;
            self.gate
                .change(vec![WriteOp::PutOpposition(Opposition {
                    lifted: true,
                    ..o
                })])
                .await
                .map(|_| ())
                .map_err(|e| SourceError::Unavailable(format!("Enregistrement impossible : {e}")))
        })
    }

    fn day_report(&self, day: Option<String>) -> BoxFuture<'_, Result<DayReport, SourceError>> {
        Box::pin(async move {
            let day = match day {
                Some(d) => parse_day(&d, "jour")?,
                None => self.now().1,
            };
            let me = self.clone_for_blocking();
            tokio::task::spawn_blocking(move || me.report(day))
                .await
                .map_err(|e| SourceError::Unavailable(format!("bilan impossible : {e}")))?
        })
    }

    fn services(&self) -> Vec<(String, String)> {
        self.shared()
            .config()
            .rules
            .services
            .iter()
            .map(|s| (s.code.clone(), s.label.clone()))
            .collect()
    }

    fn readers(&self) -> Vec<String> {
        self.shared()
            .config()
            .gate
            .readers
            .iter()
            .map(|r| r.name().to_owned())
            .collect()
    }
}

impl KioskBackend {
    /// A handle for blocking reads of the store off the async threads.
    fn clone_for_blocking(&self) -> Arc<KioskBackend> {
        Arc::new(KioskBackend {
            gate: self.gate.clone(),
            store: self.store.clone(),
            live: self.live.clone(),
            lost: Mutex::new(VecDeque::new()),
            sync: self.sync.clone(),
        })
    }
}
