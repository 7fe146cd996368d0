//! The hub's side of the sync: a TLS listener (client certificates required), Sync API v1.
//!
//! Events up are merged under their own (gate, seq): a batch that repeats events the hub holds
//! changes nothing for those, so a gate resends freely after a cut. The hub's change log
//! (`Store::keep_change_log`) numbers every change; `/v1/live` sends a gate the changes after
//! the version it holds, then each new one as it is committed (woken by `Shared::subscribe`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::mpsc;

use selfgate_rules::journal::{Alarm, AlarmKind, EventKind, Verdict};
use selfgate_rules::model::PersonId;
use selfgate_rules::regie::MAX_PAYMENT_CENTS;

use super::SyncState;
use super::proto::{self, Ack, Change, Changes, Doubles, Live, SiteRules, Snapshot, Versioned};
use crate::config::TlsFiles;
use crate::node::gate::GateHandle;
use crate::store::{ChangeRef, Store, WriteOp};

/// A gate on the live stream hears from the hub at least this often.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// Failed handshakes are logged at most once a minute (a port scan would flood the log).
static HANDSHAKE_WARNINGS: crate::infra::logs::Throttled =
    crate::infra::logs::Throttled::new(Duration::from_secs(60));

/// How often the revocation list's file is looked at.
const CRL_CHECK: Duration = Duration::from_secs(2);
/// A connection lives at most this long: its certificate is checked again at the next one.
const MAX_CONNECTION: Duration = Duration::from_secs(3600);
/// A request head must come within this after the connection opens or its last answer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A TLS handshake takes at most this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The authenticated caller: the common name of its client certificate.
#[derive(Clone, Debug)]
struct Peer(Arc<str>);

struct Hub {
    handle: GateHandle,
    store: Store,
    state: Arc<SyncState>,
    /// One batch at a time: a batch's double passages are found against the state every
    /// batch before it left, whichever gate sent it.
    merging: tokio::sync::Mutex<()>,
    /// Live streams open per gate.
    live: Mutex<HashMap<String, usize>>,
}

/// The server's TLS configuration, built again when the revocation list changes on disk.
struct HubTls {
    files: TlsFiles,
    current: Mutex<(Option<SystemTime>, Arc<rustls::ServerConfig>)>,
}

impl HubTls {
    fn crl_stamp(files: &TlsFiles) -> Option<SystemTime> {
        files
            .crl
            .as_ref()
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
    }

    fn config(&self) -> Arc<rustls::ServerConfig> {
        let stamp = HubTls::crl_stamp(&self.files);
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if stamp != cur.0 {
            match crate::infra::tls::server_config(&self.files) {
                Ok(c) => {
                    tracing::info!("sync: revocation list reloaded");
                    *cur = (stamp, c);
                }
                Err(e) => tracing::error!("sync: revocation list not reloaded, previous kept: {e}"),
            }
        }
        cur.1.clone()
    }
}

/// Serves Sync API v1 on `listener` until `shutdown`. `handle` is the hub's own running gate
/// (its writer, engine and announcements); `store` its store, whose change log must be on
/// ([`Store::keep_change_log`], before the writer starts).
pub async fn serve(
    listener: tokio::net::TcpListener,
    files: TlsFiles,
    handle: GateHandle,
    store: Store,
    state: Arc<SyncState>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), crate::infra::tls::TlsError> {
    let tls = Arc::new(HubTls {
        current: Mutex::new((
            HubTls::crl_stamp(&files),
            crate::infra::tls::server_config(&files)?,
        )),
        files,
    });
    state.update(|s| s.connected = false);
    let hub = Arc::new(Hub {
        handle,
        store,
        state,
        merging: tokio::sync::Mutex::default(),
        live: Mutex::default(),
    });
    let router = router(hub.clone());
    // Connections already open do not see a new revocation list at their handshake: when it
    // changes, every connection is closed, and the gates connect again (a revoked one fails).
    let (generation, _) = tokio::sync::watch::channel(0u64);
    let watcher = {
        let (tls, generation) = (tls.clone(), generation.clone());
        tokio::spawn(async move {
            let mut seen = HubTls::crl_stamp(&tls.files);
            loop {
                tokio::time::sleep(CRL_CHECK).await;
                let now = HubTls::crl_stamp(&tls.files);
                if now != seen {
                    seen = now;
                    let _ = tls.config();
                    generation.send_modify(|g| *g += 1);
                }
            }
        })
    };
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("sync: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        // A gate that vanished (power cut, cable) is seen gone in about a minute.
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(30))
            .with_interval(Duration::from_secs(10))
            .with_retries(3);
        if let Err(e) = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive) {
            tracing::debug!("sync: {remote}: no TCP keepalive: {e}");
        }
        let mut revoked = generation.subscribe();
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.config());
        let router = router.clone();
        conns.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    if let Some(skipped) = HANDSHAKE_WARNINGS.allow() {
                        tracing::warn!(
                            "sync: {remote} refused: {e} ({skipped} more refused handshakes not logged)"
                        );
                    }
                    return;
                }
                Err(_) => {
                    if let Some(skipped) = HANDSHAKE_WARNINGS.allow() {
                        tracing::warn!(
                            "sync: {remote}: TLS handshake timed out ({skipped} more refused handshakes not logged)"
                        );
                    }
                    return;
                }
            };
            let gate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| crate::infra::tls::common_name(c));
            let Some(gate) = gate else {
                tracing::warn!("sync: {remote}: client certificate without a common name");
                return;
            };
            tracing::debug!("sync: gate {gate} connected from {remote}");
            let svc = hyper_util::service::TowerToHyperService::new(
                router.layer(Extension(Peer(gate.clone().into()))),
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(IDLE_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            // Closed when the revocation list changes, and after MAX_CONNECTION in any case
            // (a certificate that expires meanwhile is checked at the next handshake).
            tokio::select! {
                _ = &mut conn => {}
                _ = revoked.changed() => {
                    tracing::info!("sync: gate {gate}: revocation list changed, connection closed");
                }
                () = tokio::time::sleep(MAX_CONNECTION) => {
                    tracing::debug!("sync: gate {gate}: connection closed after {MAX_CONNECTION:?}");
                }
            }
        });
    }
    watcher.abort();
    conns.shutdown().await;
    Ok(())
}

fn router(hub: Arc<Hub>) -> axum::Router {
    let mut r = axum::Router::new();
    for (method, path) in proto::ROUTES {
        r = r.route(path, route(method, path));
    }
    // The batches the gates send, with room for their envelope.
    r.layer(axum::extract::DefaultBodyLimit::max(
        proto::MAX_BATCH_BYTES + 64 * 1024,
    ))
    .with_state(hub)
}

/// The handler of each route of [`proto::ROUTES`].
fn route(method: &str, path: &str) -> MethodRouter<Arc<Hub>> {
    use axum::routing::{get, post};
    match (method, path) {
        ("POST", "/v1/events") => post(post_events),
        ("GET", "/v1/events/ack") => get(get_ack),
        ("GET", "/v1/roster/snapshot") => get(get_snapshot),
        ("GET", "/v1/roster/changes") => get(get_changes),
        ("GET", "/v1/live") => get(get_live),
        ("GET", "/v1/doubles") => get(get_doubles),
        _ => MethodRouter::new(),
    }
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        proto::encode(value),
    )
        .into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json(
        status,
        &proto::ApiError {
            error: message.into(),
        },
    )
}

fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::error!("sync: store: {e}");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("stockage du concentrateur : {e}"),
    )
}

impl Hub {
    fn acked(&self, gate: &str) -> Result<u64, crate::store::StoreError> {
        Ok(self.store.last_seqs()?.get(gate).copied().unwrap_or(0))
    }

    /// What a change-log entry points to, as it is now.
    fn resolve(&self, r: &ChangeRef) -> Result<Option<Change>, crate::store::StoreError> {
        Ok(match r {
            ChangeRef::Event { gate, seq } => self.store.event(gate, *seq)?.map(Change::Event),
            ChangeRef::Person(id) => self.store.person(*id)?.map(Change::Person),
            ChangeRef::Credential(n) => self.store.credential(n)?.map(Change::Credential),
            ChangeRef::Opposition(id) => self.store.opposition(*id)?.map(Change::Opposition),
        })
    }

    /// The changes after `since` for `gate` (its own events left out), at most `limit`.
    fn changes(
        &self,
        gate: &str,
        since: u64,
        limit: usize,
    ) -> Result<(Vec<Versioned>, u64, bool), crate::store::StoreError> {
        let refs = self.store.changes_after(since, limit)?;
        let more = refs.len() == limit;
        let version = refs.last().map_or(since, |(v, _)| *v);
        let mut out = Vec::with_capacity(refs.len());
        for (v, r) in refs {
            if matches!(&r, ChangeRef::Event { gate: g, .. } if g == gate) {
                continue;
            }
            if let Some(change) = self.resolve(&r)? {
                out.push(Versioned { version: v, change });
            }
        }
        Ok((out, version, more))
    }

    /// A version the change log has not reached: the hub was restored from an older backup.
    fn unknown_version(&self, since: u64) -> Option<Response> {
        match self.store.change_version() {
            Ok(v) if since > v => Some(error(
                StatusCode::CONFLICT,
                format!(
                    "version {since} inconnue du concentrateur (il en est à {v}) : reprendre l'instantané"
                ),
            )),
            Ok(_) => None,
            Err(e) => Some(store_error(e)),
        }
    }

    fn rules(&self) -> SiteRules {
        SiteRules::of(&self.handle.shared().config().rules)
    }
}

async fn post_events(
    State(hub): State<Arc<Hub>>,
    Extension(Peer(gate)): Extension<Peer>,
    body: Bytes,
) -> Response {
    let batch: proto::EventBatch = match proto::decode(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if let Err(e) = proto::check_batch(&batch, &gate) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    let _one_at_a_time = hub.merging.lock().await;
    let acked = match hub.acked(&gate) {
        Ok(a) => a,
        Err(e) => return store_error(e),
    };
    if let Some(first) = batch.events.first() {
        if first.seq > acked && !selfgate_rules::journal::follows(acked, first.seq) {
            // A gap: the gate must send from acked + 1 (or the first number of a new epoch,
            // after a restore).
            return json(
                StatusCode::CONFLICT,
                &Ack {
                    gate: gate.to_string(),
                    acked,
                    refused: Vec::new(),
                },
            );
        }
    }
    let (held, new): (Vec<_>, Vec<_>) = batch.events.into_iter().partition(|e| e.seq <= acked);
    for e in &held {
        // Sent again after a cut: the same event. Anything else under that number is a gate
        // that reused it (restored while the hub was out of reach): kept out, and said.
        if let Ok(Some(mine)) = hub.store.event(&e.gate, e.seq) {
            if mine != *e {
                tracing::error!(
                    "sync: {}/{} sent again with another content; the hub keeps the first one",
                    e.gate,
                    e.seq
                );
            }
        }
    }
    let last = new.last().map_or(acked, |e| e.seq);
    let mut refused = Vec::new();
    if !new.is_empty() {
        // What a gate says is checked before it is applied: a refused event is kept in
        // quarantine, its number taken (the gate goes on), its effects never applied.
        let (accepted, quarantined) = {
            let config = hub.handle.shared().config();
            let engine = hub.handle.shared().engine();
            let mut accepted = Vec::new();
            let mut quarantined = Vec::new();
            for e in new {
                let referred = |r: &selfgate_rules::journal::EventRef| {
                    hub.store.event(&r.gate, r.seq).ok().flatten()
                };
                match check_event(&engine, &config.money.regies, &e, referred) {
                    Ok(()) => accepted.push(e),
                    Err(reason) => quarantined.push((e, reason)),
                }
            }
            (accepted, quarantined)
        };
        let hub_gate = hub.handle.shared().config().gate.id.clone();
        let doubles = double_passages(&hub, &accepted, &hub_gate);
        let mut ops: Vec<WriteOp> = accepted.into_iter().map(WriteOp::Merge).collect();
        ops.extend(doubles);
        for (e, reason) in &quarantined {
            tracing::error!(
                "sync: {}/{} refused and kept in quarantine: {reason}",
                e.gate,
                e.seq
            );
            let record = serde_json::json!({
                "event": e,
                "reason": reason,
                "at": chrono::Utc::now().to_rfc3339(),
            });
            ops.push(WriteOp::SetMeta {
                key: quarantine_key(&e.gate, e.seq),
                value: record.to_string().into_bytes(),
            });
            refused.push(proto::Refused {
                seq: e.seq,
                reason: reason.clone(),
            });
        }
        // The gate's numbering goes on past what was refused.
        ops.push(WriteOp::SeqFloor {
            gate: gate.to_string(),
            seq: last,
        });
        if let Err(e) = hub.handle.change(ops).await {
            return store_error(e);
        }
        if !quarantined.is_empty() {
            let n = quarantined.len() as u64;
            hub.state.update(|s| s.quarantined += n);
        }
    }
    hub.state.exchanged();
    json(
        StatusCode::OK,
        &Ack {
            gate: gate.to_string(),
            acked: last,
            refused,
        },
    )
}

/// The store's meta key of a quarantined event.
pub fn quarantine_key(gate: &str, seq: u64) -> String {
    format!("{QUARANTINE_PREFIX}{gate}/{seq:020}")
}

/// Where quarantined events are kept in the store's meta.
pub const QUARANTINE_PREFIX: &str = "quarantine/";

/// Whether the hub applies an event a gate sent: what it says must agree with what the hub
/// knows. A passage names a known person and charges nothing or a price of the hub's tariff
/// for that person (a denial charges nothing); a correction refunds at most what its passage
/// charged; plain credits never come from a gate; a payment or a refund comes from the node
/// that holds its régie (`[[regies]]`), for a known person, a positive amount within
/// `MAX_PAYMENT_CENTS`, a numbered receipt; a cancelled payment is one the hub holds, for its
/// person, amount and receipt.
pub fn check_event(
    engine: &selfgate_rules::Engine,
    regies: &[crate::config::money::Regie],
    e: &selfgate_rules::journal::Event,
    referred: impl Fn(&selfgate_rules::journal::EventRef) -> Option<selfgate_rules::journal::Event>,
) -> Result<(), String> {
    use selfgate_rules::journal::EventKind as K;
    let known = |p: PersonId| {
        engine
            .roster()
            .person(p)
            .ok_or_else(|| format!("personne inconnue du concentrateur (n° {})", p.0))
    };
    match &e.kind {
        K::Passage(p) => {
            let (Verdict::Pass, Some(person)) = (p.verdict, p.person) else {
                return if p.charge_cents == 0 {
                    Ok(())
                } else {
                    Err(format!(
                        "un refus ne se facture pas ({} centimes)",
                        p.charge_cents
                    ))
                };
            };
            let person = known(person)?;
            if p.charge_cents == 0 {
                return Ok(());
            }
            let price = p.service.and_then(|s| {
                engine
                    .rules()
                    .tariff(person.category)
                    .map(|t| t.price_for(person, s))
            });
            match price {
                Some(price) if price == p.charge_cents => Ok(()),
                _ => Err(format!(
                    "montant {} centimes : ni 0 ni le tarif du concentrateur pour ce repas ({})",
                    p.charge_cents,
                    price.map_or_else(|| "aucun".to_owned(), |c| format!("{c} centimes"))
                )),
            }
        }
        K::Correction(c) => {
            known(c.person)?;
            if c.refund_cents < 0 {
                return Err(format!(
                    "remboursement négatif ({} centimes)",
                    c.refund_cents
                ));
            }
            // Never more than its passage charged, when the hub holds that passage.
            let charged = referred(&c.refers_to).and_then(|r| r.passage().map(|p| p.charge_cents));
            match charged {
                Some(charged) if c.refund_cents > charged => Err(format!(
                    "remboursement de {} centimes pour un passage facturé {charged}",
                    c.refund_cents
                )),
                _ => Ok(()),
            }
        }
        K::Credit(c) => Err(format!(
            "un versement de {} centimes ne vient pas d'une ligne (les paiements passent par une régie)",
            c.cents
        )),
        K::Payment(p) => {
            known(p.person)?;
            held_here(regies, &p.receipt.regie, &e.gate)?;
            amount_in_range(p.cents)?;
            if p.receipt.number == 0 {
                return Err("versement sans numéro de quittance".into());
            }
            Ok(())
        }
        K::PaymentCancel(c) => {
            known(c.person)?;
            let Some(original) = referred(&c.refers_to) else {
                return Err(format!(
                    "annulation d'un versement inconnu ({}/{})",
                    c.refers_to.gate, c.refers_to.seq
                ));
            };
            match &original.kind {
                K::Payment(p)
                    if p.person == c.person && p.cents == c.cents && p.receipt == c.receipt =>
                {
                    Ok(())
                }
                _ => Err(format!(
                    "l'annulation ne correspond pas au versement {}/{}",
                    c.refers_to.gate, c.refers_to.seq
                )),
            }
        }
        K::Refund(r) => {
            known(r.person)?;
            held_here(regies, &r.regie, &e.gate)?;
            amount_in_range(r.cents)
        }
        K::Alarm(_) | K::Retention(_) => Ok(()),
        // Terms are billed where the roster is kept (the hub, or a node alone): a gate bills
        // nothing.
        K::BillingEntry(_) | K::Receivable(_) | K::TermClosed(_) => {
            Err("la facturation des forfaits se fait au concentrateur, pas à une ligne".into())
        }
    }
}

fn amount_in_range(cents: i64) -> Result<(), String> {
    if cents > 0 && cents <= MAX_PAYMENT_CENTS {
        Ok(())
    } else {
        Err(format!(
            "montant de {cents} centimes hors des bornes (1 à {MAX_PAYMENT_CENTS})"
        ))
    }
}

/// The régie `code` is held by `node` (money comes in at a régie's own node only).
fn held_here(regies: &[crate::config::money::Regie], code: &str, node: &str) -> Result<(), String> {
    match regies.iter().find(|r| r.code == code) {
        Some(r) if r.node == node => Ok(()),
        Some(r) => Err(format!(
            "la régie {code} est tenue par « {} », pas par « {node} »",
            r.node
        )),
        None => Err(format!("régie inconnue : {code}")),
    }
}

/// Passes in `events` for a person already served as often as allowed for that service and
/// day, by another gate (two gates that could not see each other): one alarm each, for staff
/// review. Both passages stay in the journal.
fn double_passages(
    hub: &Hub,
    events: &[selfgate_rules::journal::Event],
    hub_gate: &str,
) -> Vec<WriteOp> {
    let engine = hub.handle.shared().engine();
    let config = hub.handle.shared().config();
    let mut extra: HashMap<(PersonId, chrono::NaiveDate, u8), u8> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let EventKind::Passage(p) = &e.kind else {
            continue;
        };
        let (Verdict::Pass, Some(person), Some(service)) = (p.verdict, p.person, p.service) else {
            continue;
        };
        let allowed = engine
            .roster()
            .person(person)
            .map_or(1, |x| x.passages_per_service.max(1));
        let seen = engine.served().get(person, p.day, service);
        let added = extra.entry((person, p.day, service.0)).or_default();
        let count = seen.map_or(0, |s| s.count).saturating_add(*added);
        *added += 1;
        if count >= allowed {
            let external = engine
                .roster()
                .person(person)
                .map_or_else(|| format!("#{}", person.0), |x| x.external_id.clone());
            let code = config
                .rules
                .service(service)
                .map_or_else(|| service.0.to_string(), |s| s.code.clone());
            let before = seen.map_or_else(String::new, |s| {
                format!(", déjà servi à {}", s.last_at.format("%H:%M:%S UTC"))
            });
            out.push(WriteOp::Append {
                gate: hub_gate.to_owned(),
                at: chrono::Utc::now(),
                kind: EventKind::Alarm(Alarm {
                    kind: AlarmKind::DoublePassage,
                    detail: format!(
                        "double passage : personne {external} (n° {}), service {code} du {}, \
                         {}/{} à {}{before}",
                        person.0,
                        p.day,
                        e.gate,
                        e.seq,
                        e.at.format("%H:%M:%S UTC"),
                    ),
                }),
            });
        }
    }
    out
}

async fn get_ack(State(hub): State<Arc<Hub>>, Extension(Peer(gate)): Extension<Peer>) -> Response {
    match hub.acked(&gate) {
        Ok(acked) => {
            hub.state.exchanged();
            json(
                StatusCode::OK,
                &Ack {
                    gate: gate.to_string(),
                    acked,
                    refused: Vec::new(),
                },
            )
        }
        Err(e) => store_error(e),
    }
}

async fn get_snapshot(
    State(hub): State<Arc<Hub>>,
    Extension(Peer(gate)): Extension<Peer>,
) -> Response {
    let rules = hub.rules();
    let today = {
        let shared = hub.handle.shared();
        let now = shared.clock.now();
        shared.engine().local(now).0
    };
    let store = hub.store.clone();
    let g = gate.clone();
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let s = store
            .roster_snapshot(today.pred_opt().unwrap_or(today))
            .map_err(|e| e.to_string())?;
        let snap = Snapshot {
            version: s.version,
            acked: s.seqs.get(&*g).copied().unwrap_or(0),
            rules,
            persons: s.persons,
            credentials: s.credentials,
            oppositions: s.oppositions,
            balances: s.balances,
            served: s
                .served
                .into_iter()
                .map(|(day, service, person, count, last_at)| proto::ServedRow {
                    day,
                    service,
                    person,
                    count,
                    last_at,
                })
                .collect(),
        };
        Ok(proto::encode(&snap))
    })
    .await;
    match body {
        Ok(Ok(b)) => {
            hub.state.exchanged();
            ([(header::CONTENT_TYPE, "application/json")], b).into_response()
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn get_changes(
    State(hub): State<Arc<Hub>>,
    Extension(Peer(gate)): Extension<Peer>,
    Query(q): Query<Since>,
) -> Response {
    let since = q.since.unwrap_or(0);
    if let Some(refused) = hub.unknown_version(since) {
        return refused;
    }
    match hub.changes(&gate, since, proto::MAX_CHANGES) {
        Ok((changes, version, more)) => {
            hub.state.exchanged();
            json(
                StatusCode::OK,
                &Changes {
                    since,
                    version,
                    more,
                    rules: hub.rules(),
                    changes,
                },
            )
        }
        Err(e) => store_error(e),
    }
}

async fn get_doubles(State(hub): State<Arc<Hub>>) -> Response {
    let id = hub.handle.shared().config().gate.id.clone();
    match hub.store.journal_after(&id, 0, usize::MAX) {
        Ok(events) => json(
            StatusCode::OK,
            &Doubles {
                doubles: events
                    .into_iter()
                    .filter(|e| {
                        matches!(&e.kind, EventKind::Alarm(a) if a.kind == AlarmKind::DoublePassage)
                    })
                    .collect(),
            },
        ),
        Err(e) => store_error(e),
    }
}

/// A response body fed line by line by a task.
struct Lines(mpsc::Receiver<Bytes>);

impl http_body::Body for Lines {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

fn line(value: &Live, out: &mut Vec<u8>) {
    out.extend(proto::encode(value));
    out.push(b'\n');
}

async fn get_live(
    State(hub): State<Arc<Hub>>,
    Extension(Peer(gate)): Extension<Peer>,
    Query(q): Query<Since>,
) -> Response {
    if let Some(refused) = hub.unknown_version(q.since.unwrap_or(0)) {
        return refused;
    }
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let mut changes = hub.handle.shared().subscribe();
    let hub2 = hub.clone();
    tokio::spawn(async move {
        let hub = hub2;
        let gate = gate.to_string();
        {
            let mut live = hub.live.lock().unwrap_or_else(PoisonError::into_inner);
            *live.entry(gate.clone()).or_default() += 1;
            let mut gates: Vec<String> = live.keys().cloned().collect();
            gates.sort();
            hub.state.update(|s| {
                s.connected = true;
                s.gates = gates;
            });
        }
        let mut version = q.since.unwrap_or(0);
        let mut rules = hub.rules();
        let mut buf = Vec::new();
        line(&Live::Rules(rules.clone()), &mut buf);
        let mut ok = tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_ok();
        while ok {
            match hub.changes(&gate, version, 1000) {
                Ok((list, v, more)) => {
                    for c in list {
                        line(&Live::Change(c), &mut buf);
                    }
                    version = v;
                    if !buf.is_empty() {
                        ok = tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_ok();
                        hub.state.exchanged();
                    }
                    if more {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::error!("sync: live stream for {gate}: {e}");
                    break;
                }
            }
            let now = hub.rules();
            if now != rules {
                rules = now;
                line(&Live::Rules(rules.clone()), &mut buf);
                ok = tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_ok();
            }
            tokio::select! {
                r = changes.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        break;
                    }
                }
                () = tokio::time::sleep(HEARTBEAT) => {
                    line(&Live::Heartbeat { version }, &mut buf);
                    ok = tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_ok();
                }
                () = tx.closed() => break,
            }
        }
        let mut live = hub.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = live.get_mut(&gate) {
            *n -= 1;
            if *n == 0 {
                live.remove(&gate);
            }
        }
        let mut gates: Vec<String> = live.keys().cloned().collect();
        gates.sort();
        hub.state.update(|s| {
            s.connected = !gates.is_empty();
            s.gates = gates;
        });
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::new(Lines(rx)),
    )
        .into_response()
}
