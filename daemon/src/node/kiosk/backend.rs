//! What the kiosk reads and does, on the running gate: [`KioskBackend`] implements the kiosk
//! crate's `StaffSource`. Reads come from the in-memory engine (search, status today, counts)
//! and from the store (a person's passages, the day's report, receipts and the régie's
//! reports); staff actions go through the running gate ([`GateHandle::admit`] for admissions,
//! journaled with the staff member; [`GateHandle::change`] for badges, oppositions and the
//! régie's payments, cancellations and refunds, `regie.rs`), so the decision sees them at once.
//! The live feed is built from [`Shared::subscribe`]: one line per committed passage, payment,
//! cancellation or refund.
//!
//! What it hands the kiosk is values (reason codes, statuses, amounts, local times, a refusal's
//! [`Problem`]), which the kiosk tells in the viewer's language; the French fields it fills
//! beside them are the kiosk's own French words for the same values.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use tokio::sync::broadcast;

use selfgate_kiosk::billing::{BillingDone, BillingFile, BillingOp, TermDetail, TermSummary};
use selfgate_kiosk::i18n::{self, Lang};
use selfgate_kiosk::money::{
    CashView, LowBalances, MonthView, NewPayment, NewRefund, ReceiptView, RegieInfo, ReportFile,
};
use selfgate_kiosk::{
    Alert, BadgeRow, BoxFuture, DateField, DayReport, FeedItem, KioskSource, Live, NewOpposition,
    OppositionRow, PassageRow, PassageWords, PersonDetail, PersonRow, PersonStatus, Problem,
    ReportLine, ServiceReport, SourceError, StaffSource, Summary,
};
use selfgate_rules::ManualRefusal;
use selfgate_rules::journal::{EventKind, Reason, Verdict};
use selfgate_rules::model::{
    BadgeNumber, Credential, CredentialStatus, Opposition, OppositionReason, Person, PersonId,
    ServiceId, fold,
};

use crate::node::gate::{Change, GateHandle, Shared};
use crate::node::kiosk::{billing, regie, view};
use crate::node::sync::SyncState;
use crate::store::{Store, WriteOp};

/// Live items a slow kiosk client may fall behind by before it is told to reload.
const LIVE_BACKLOG: usize = 1024;
/// A lost badge presented stays an alert this long (school clock).
const LOST_ALERT: TimeDelta = TimeDelta::minutes(15);
/// A person's page shows passages of this many days back.
const PERSON_DAYS: i64 = 60;

/// A lost badge presented: when, and the alert's particulars (who, their class, at what time).
type LostBadgeAlert = (DateTime<Utc>, Vec<String>);

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
        let status = match service {
            None => PersonStatus::NoService,
            Some(s) => {
                if let Some(e) = engine.served().get(p.id, day, s) {
                    PersonStatus::Served {
                        at: e.last_at.with_timezone(&tz).format("%H:%M").to_string(),
                        times: e.count.into(),
                    }
                } else if let Some(o) = roster
                    .oppositions_of(p.id)
                    .iter()
                    .find(|o| o.effective(day, s))
                {
                    PersonStatus::Opposed { reason: o.reason }
                } else if p.forfait_covers(day, s) {
                    PersonStatus::Expected
                } else if p.has_forfait_on(day) {
                    PersonStatus::NotRegisteredToday
                } else {
                    PersonStatus::Ticket {
                        balance_cents: roster.balance(p.id),
                    }
                }
            }
        };
        PersonRow {
            id: p.id.0,
            name: p.display_name(),
            class: p.class.clone(),
            category: i18n::category(Lang::Fr, p.category).to_owned(),
            category_code: Some(p.category),
            status: i18n::person_status(Lang::Fr, &status),
            served: matches!(status, PersonStatus::Served { .. }),
            today: Some(status),
        }
    }

    fn alerts(&self, base: &Summary) -> Vec<Alert> {
        let mut out = Vec::new();
        if base.emergency {
            out.push(Alert::new("emergency", vec![]));
        }
        // In name order, from the gate's state: this runs at every live item, so not through
        // the whole /healthz document.
        let readers: BTreeMap<String, bool> = self.shared().readers_online().into_iter().collect();
        for (name, online) in readers {
            if !online {
                out.push(Alert::new("reader_offline", vec![name]));
            }
        }
        if let Some(sync) = self.sync_status() {
            if !sync.connected {
                out.push(Alert::new(
                    "hub_unreachable",
                    vec![
                        sync.last_exchange_at
                            .map(|t| t.format(i18n::ARG_TIME).to_string())
                            .unwrap_or_default(),
                        sync.events_waiting.to_string(),
                    ],
                ));
            }
        }
        let quarantined = self.sync.as_ref().map_or(0, |s| s.status().quarantined);
        if quarantined > 0 {
            out.push(Alert::new("quarantine", vec![quarantined.to_string()]));
        }
        let now = self.shared().clock.now();
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        while lost.front().is_some_and(|(at, _)| now - *at > LOST_ALERT) {
            lost.pop_front();
        }
        for (_, args) in lost.iter().rev() {
            out.push(Alert::new("lost_badge", args.clone()));
        }
        out
    }

    fn passage_rows(&self, person: PersonId) -> Result<Vec<PassageRow>, SourceError> {
        let since = self.shared().clock.now() - TimeDelta::days(PERSON_DAYS);
        let events = self.store.events(Some(since)).map_err(|e| {
            SourceError::Unavailable(Problem::JournalUnreadable {
                detail: e.to_string(),
            })
        })?;
        let tz = self.tz();
        let config = self.shared().config();
        let service_label = |s: Option<ServiceId>| {
            s.and_then(|s| config.rules.service(s))
                .map(|s| s.label.clone())
                .unwrap_or_default()
        };
        let row = |at: DateTime<Utc>, service: String, pass: bool, words: PassageWords| {
            let local = at.with_timezone(&tz).naive_local();
            let mut row = PassageRow {
                when: i18n::date_minute(Lang::Fr, local),
                at: Some(local),
                service,
                pass,
                words: Some(words),
                ..PassageRow::default()
            };
            row.label = i18n::passage_row_words(Lang::Fr, &row);
            (at, row)
        };
        let mut rows: Vec<(DateTime<Utc>, PassageRow)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Passage(p) if p.person == Some(person) => Some(row(
                    e.at,
                    service_label(p.service),
                    p.verdict == Verdict::Pass,
                    PassageWords::Passage(view::facts(self.shared(), p)),
                )),
                EventKind::Correction(c) if c.person == person => Some(row(
                    e.at,
                    service_label(Some(c.service)),
                    false,
                    PassageWords::Correction {
                        gate: c.refers_to.gate.clone(),
                        seq: c.refers_to.seq,
                        note: c.note.clone(),
                        refund_cents: c.refund_cents,
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
            SourceError::Unavailable(Problem::JournalUnreadable {
                detail: e.to_string(),
            })
        })?;
        let config = self.shared().config();
        #[derive(Default)]
        struct Acc {
            passes: BTreeMap<&'static str, (Reason, u64)>,
            denials: BTreeMap<&'static str, (Reason, u64)>,
            charged: i64,
            corrections: u64,
        }
        let mut by_service: BTreeMap<ServiceId, Acc> = BTreeMap::new();
        for e in &events {
            match &e.kind {
                EventKind::Passage(p) if p.day == day => {
                    let Some(s) = p.service else { continue };
                    let acc = by_service.entry(s).or_default();
                    let counts = if p.verdict == Verdict::Pass {
                        acc.charged += p.charge_cents;
                        &mut acc.passes
                    } else {
                        &mut acc.denials
                    };
                    counts.entry(p.reason.code()).or_insert((p.reason, 0)).1 += 1;
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
            // Most first; the same count in the reasons' codes' order.
            let sorted = |m: BTreeMap<&'static str, (Reason, u64)>| {
                let mut v: Vec<(Reason, u64)> = m.into_values().collect();
                v.sort_by_key(|x| std::cmp::Reverse(x.1));
                v
            };
            let french = |v: &[(Reason, u64)]| {
                v.iter()
                    .map(|(r, n)| (i18n::reason(Lang::Fr, *r).to_owned(), *n))
                    .collect()
            };
            let passes_by = sorted(acc.passes);
            let denials = sorted(acc.denials);
            services.push(ServiceReport {
                label: s.label.clone(),
                expected: runs.then_some(expected),
                // A correction undoes one pass.
                passes: passes_by
                    .iter()
                    .map(|x| x.1)
                    .sum::<u64>()
                    .saturating_sub(acc.corrections),
                passes_by: french(&passes_by),
                denials: french(&denials),
                passes_by_reason: passes_by,
                denials_by_reason: denials,
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
            .ok_or(SourceError::NotFound(Problem::UnknownPerson))
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
                        let args = vec![item.name.clone(), item.class.clone(), time];
                        b.lost
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push_back((e.at, args));
                    }
                    Some(item)
                }
                EventKind::Payment(_) | EventKind::PaymentCancel(_) | EventKind::Refund(_) => {
                    regie::money_item(b.shared(), e)
                }
                EventKind::Alarm(_) | EventKind::Correction(_) | EventKind::Credit(_) => None,
                EventKind::Retention(_)
                | EventKind::BillingEntry(_)
                | EventKind::Receivable(_)
                | EventKind::TermClosed(_) => continue,
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

fn parse_day(s: &str, field: DateField) -> Result<NaiveDate, SourceError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        SourceError::Invalid(Problem::NotADate {
            field,
            given: s.to_owned(),
        })
    })
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
        Some(self.sync.as_ref()?.status().view(self.tz()))
    }

    /// The reports the exchanges keep in the data directory (what `selfgate exchange status`
    /// prints), so that a run by hand from the command line shows here too.
    fn exchange_reports(&self) -> Vec<selfgate_kiosk::ExchangeReport> {
        let config = self.shared().config();
        let tz = config.rules.timezone;
        crate::node::exchange::status(&config)
            .into_iter()
            .map(|r| {
                let last_run = r
                    .finished_at
                    .or(r.started_at)
                    .map(|t| t.with_timezone(&tz).naive_local());
                selfgate_kiosk::ExchangeReport {
                    last_run: last_run.map(|t| i18n::date_time(Lang::Fr, t)),
                    last_run_at: last_run,
                    ok: r.status == crate::node::exchange::RunStatus::Ok,
                    message: match (&r.error, r.status) {
                        (Some(e), _) => e.clone(),
                        (None, status) => format!("{} ({})", status.label_fr(), r.schedule),
                    },
                    status: r.status.code().to_owned(),
                    error: r
                        .error
                        .as_ref()
                        .map(|e| report_line(e, r.codes.error.as_ref())),
                    retry_at: r
                        .codes
                        .retry_at
                        .map(|t| t.with_timezone(&tz).naive_local().time()),
                    sent: r.sent.join(" ; "),
                    received: r.received.join(" ; "),
                    sent_lines: report_lines(&r.sent, &r.codes.sent),
                    received_lines: report_lines(&r.received, &r.codes.received),
                    schedule: r.schedule,
                    name: r.name,
                }
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
                    .map(|o| {
                        let service = o.service.and_then(|s| config.rules.service(s));
                        OppositionRow {
                            id: o.id,
                            reason: i18n::opposition_reason(Lang::Fr, o.reason).to_owned(),
                            reason_code: Some(o.reason),
                            service: service.map_or_else(
                                || i18n::t(Lang::Fr, "opp.every").to_owned(),
                                |s| s.label.clone(),
                            ),
                            every_service: service.is_none(),
                            from: i18n::date(Lang::Fr, o.from),
                            to: o.to.map_or_else(
                                || i18n::t(Lang::Fr, "opp.open").to_owned(),
                                |d| i18n::date(Lang::Fr, d),
                            ),
                            from_day: Some(o.from),
                            to_day: o.to,
                            note: o.note.clone(),
                            lifted: o.lifted,
                        }
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
                regime: i18n::regime(Lang::Fr, p.regime).to_owned(),
                regime_code: Some(p.regime),
                balance_cents: balance,
                tier: p.tier.clone(),
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
                    ManualRefusal::NoServiceOpen => SourceError::Refused(Problem::NoServiceOpen),
                    ManualRefusal::UnknownPerson => SourceError::NotFound(Problem::UnknownPerson),
                    ManualRefusal::AlreadyServed { last_at } => {
                        SourceError::Refused(Problem::AlreadyServed {
                            at: last_at
                                .with_timezone(&self.tz())
                                .format("%H:%M")
                                .to_string(),
                        })
                    }
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
                _ => Err(SourceError::Unavailable(Problem::AdmissionUnconfirmed)),
            }
        })
    }

    fn tiers(&self) -> Vec<(String, String)> {
        self.shared()
            .config()
            .money
            .tiers
            .iter()
            .map(|(code, label)| (code.clone(), label.clone()))
            .collect()
    }

    fn set_tier(
        &self,
        person: u32,
        tier: Option<String>,
    ) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            if let Some(t) = tier
                .as_ref()
                .filter(|t| !self.shared().config().money.tiers.contains_key(t.as_str()))
            {
                return Err(SourceError::Invalid(Problem::UnknownTier {
                    given: t.clone(),
                }));
            }
            let updated = {
                let engine = self.shared().engine();
                let p = engine
                    .roster()
                    .person(PersonId(person))
                    .ok_or(SourceError::NotFound(Problem::UnknownPerson))?;
                Person { tier, ..p.clone() }
            };
            self.gate
                .change(vec![WriteOp::PutPerson(updated)])
                .await
                .map(|_| ())
                .map_err(not_recorded)
        })
    }

    fn declare_lost(&self, person: u32, badge: &str) -> BoxFuture<'_, Result<(), SourceError>> {
        let badge = badge.to_owned();
        Box::pin(async move {
            let cred: Credential = {
                let engine = self.shared().engine();
                let number: BadgeNumber = badge.parse().map_err(|_| {
                    SourceError::Invalid(Problem::NotABadge {
                        given: badge.clone(),
                    })
                })?;
                engine
                    .roster()
                    .credential(number.as_str())
                    .filter(|c| c.person == PersonId(person))
                    .cloned()
                    .ok_or_else(|| {
                        SourceError::NotFound(Problem::BadgeNotTheirs {
                            badge: badge.clone(),
                        })
                    })?
            };
            self.gate
                .change(vec![WriteOp::PutCredential(Credential {
                    status: CredentialStatus::Lost,
                    ..cred
                })])
                .await
                .map(|_| ())
                .map_err(not_recorded)
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
                    return Err(SourceError::NotFound(Problem::UnknownReader {
                        reader: r.clone(),
                    }));
                }
            }
            let rx = self.shared().capture_next_read(reader);
            let read = match tokio::time::timeout(wait, rx).await {
                Ok(Ok(c)) => c,
                Ok(Err(_)) => return Err(SourceError::Refused(Problem::EnrolInterrupted)),
                Err(_) => {
                    return Err(SourceError::Refused(Problem::NoBadgePresented {
                        seconds: wait.as_secs(),
                    }));
                }
            };
            let number: BadgeNumber = read
                .parse()
                .map_err(|_| SourceError::Invalid(Problem::ReadNotABadge { read: read.clone() }))?;
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
                    return Err(SourceError::Refused(Problem::BadgeAlreadyTheirs {
                        badge: number.to_string(),
                        name: p.display_name(),
                    }));
                }
                Some((id, _, name)) if id != p.id => {
                    return Err(SourceError::Refused(Problem::BadgeHeldByOther {
                        badge: number.to_string(),
                        name,
                    }));
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
                .map_err(not_recorded)?;
            Ok(number.to_string())
        })
    }

    fn add_opposition(&self, o: NewOpposition) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move {
            let p = self.person_named(o.person)?;
            let reason: OppositionReason = o.reason.parse().map_err(|_| {
                SourceError::Invalid(Problem::UnknownReason {
                    given: o.reason.clone(),
                })
            })?;
            let config = self.shared().config();
            let service = match &o.service {
                None => None,
                Some(code) => Some(
                    config
                        .rules
                        .service_by_code(code)
                        .map(|s| s.id)
                        .ok_or_else(|| {
                            SourceError::Invalid(Problem::UnknownService {
                                given: code.clone(),
                            })
                        })?,
                ),
            };
            let from = parse_day(&o.from, DateField::From)?;
            let to =
                o.to.as_deref()
                    .map(|t| parse_day(t, DateField::To))
                    .transpose()?;
            if to.is_some_and(|t| t < from) {
                return Err(SourceError::Invalid(Problem::EndBeforeStart));
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
                .map_err(not_recorded)
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
                .ok_or(SourceError::NotFound(Problem::UnknownOpposition))?;
            self.gate
                .change(vec![WriteOp::PutOpposition(Opposition {
                    lifted: true,
                    ..o
                })])
                .await
                .map(|_| ())
                .map_err(not_recorded)
        })
    }

    fn day_report(&self, day: Option<String>) -> BoxFuture<'_, Result<DayReport, SourceError>> {
        Box::pin(async move {
            let day = match day {
                Some(d) => parse_day(&d, DateField::Day)?,
                None => self.now().1,
            };
            let me = self.clone_for_blocking();
            tokio::task::spawn_blocking(move || me.report(day))
                .await
                .map_err(|e| {
                    SourceError::Unavailable(Problem::ReportFailed {
                        detail: e.to_string(),
                    })
                })?
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

    fn regies(&self) -> Vec<RegieInfo> {
        regie::regies(&self.shared().config())
    }

    fn take_payment(&self, p: NewPayment) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        Box::pin(regie::take_payment(&self.gate, p))
    }

    fn receipt(&self, number: &str) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        let (gate, store, number) = (self.gate.clone(), self.store.clone(), number.to_owned());
        Box::pin(blocking(move || {
            regie::receipt(gate.shared(), &store, &number)
        }))
    }

    fn receipt_pdf(&self, number: &str) -> BoxFuture<'_, Result<Vec<u8>, SourceError>> {
        let (gate, store, number) = (self.gate.clone(), self.store.clone(), number.to_owned());
        Box::pin(blocking(move || {
            regie::receipt_pdf(gate.shared(), &store, &number)
        }))
    }

    fn cancel_payment(
        &self,
        number: &str,
        by: &str,
        reason: &str,
    ) -> BoxFuture<'_, Result<ReceiptView, SourceError>> {
        let (number, by, reason) = (number.to_owned(), by.to_owned(), reason.to_owned());
        Box::pin(async move { regie::cancel(&self.gate, &self.store, &number, &by, &reason).await })
    }

    fn refund(&self, r: NewRefund) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(regie::refund(&self.gate, r))
    }

    fn payments_today(&self) -> BoxFuture<'_, Result<CashView, SourceError>> {
        let (gate, store, day) = (self.gate.clone(), self.store.clone(), self.now().1);
        Box::pin(blocking(move || {
            regie::cash(gate.shared(), &store, day, None, true)
        }))
    }

    fn cash_report(
        &self,
        day: NaiveDate,
        regie: Option<String>,
    ) -> BoxFuture<'_, Result<CashView, SourceError>> {
        let (gate, store) = (self.gate.clone(), self.store.clone());
        Box::pin(blocking(move || {
            regie::cash(gate.shared(), &store, day, regie.as_deref(), false)
        }))
    }

    fn month_report(&self, year: i32, month: u32) -> BoxFuture<'_, Result<MonthView, SourceError>> {
        let (gate, store) = (self.gate.clone(), self.store.clone());
        Box::pin(blocking(move || {
            regie::month(gate.shared(), &store, year, month)
        }))
    }

    fn report_file(&self, file: ReportFile) -> BoxFuture<'_, Result<Vec<u8>, SourceError>> {
        let (gate, store) = (self.gate.clone(), self.store.clone());
        Box::pin(blocking(move || {
            regie::report_file(gate.shared(), &store, &file)
        }))
    }

    fn low_balances(&self) -> BoxFuture<'_, Result<LowBalances, SourceError>> {
        let gate = self.gate.clone();
        Box::pin(blocking(move || Ok(regie::low_balances(gate.shared()))))
    }

    fn billing_terms(&self) -> BoxFuture<'_, Result<Vec<TermSummary>, SourceError>> {
        let (gate, store) = (self.gate.clone(), self.store.clone());
        Box::pin(blocking(move || {
            billing::terms(&gate.shared().config(), &store)
        }))
    }

    fn billing_term(&self, code: &str) -> BoxFuture<'_, Result<TermDetail, SourceError>> {
        let (gate, store, code) = (self.gate.clone(), self.store.clone(), code.to_owned());
        Box::pin(blocking(move || {
            billing::term(&gate.shared().config(), &store, &code)
        }))
    }

    fn billing(&self, op: BillingOp) -> BoxFuture<'_, Result<BillingDone, SourceError>> {
        Box::pin(async move { billing::apply(&self.gate, &self.store, op).await })
    }

    fn billing_file(
        &self,
        code: &str,
        file: BillingFile,
    ) -> BoxFuture<'_, Result<(String, Vec<u8>), SourceError>> {
        let (gate, store, code, day) = (
            self.gate.clone(),
            self.store.clone(),
            code.to_owned(),
            self.now().1,
        );
        Box::pin(blocking(move || {
            billing::file(&gate.shared().config(), &store, &code, file, day)
        }))
    }
}

/// Runs `f` (reads of the store, reports) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        SourceError::Unavailable(Problem::ReportFailed {
            detail: e.to_string(),
        })
    })?
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

/// The gate could not commit a staff action.
fn not_recorded(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(Problem::NotRecorded {
        detail: e.to_string(),
    })
}

/// A report's line for the kiosk: its French words, and the code and particulars its exchange
/// gave (none in a report written before they were kept).
fn report_line(text: &str, code: Option<&crate::node::exchange::LineCode>) -> ReportLine {
    match code {
        Some(c) => ReportLine {
            code: c.code.clone(),
            args: c.args.clone(),
            text: text.to_owned(),
        },
        None => ReportLine::text(text),
    }
}

/// A report's lines for the kiosk, each French line with its code when it has one.
fn report_lines(texts: &[String], codes: &[crate::node::exchange::LineCode]) -> Vec<ReportLine> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| report_line(t, codes.get(i).filter(|_| codes.len() == texts.len())))
        .collect()
}
