//! # selfgate-kiosk
//!
//! The pages the daemon serves (axum + maud, everything in the binary, no CDN): for now the staff
//! overview of the current service and its live feed, and `GET /healthz`. The daemon provides
//! the data through [`KioskSource`]; this crate knows nothing of the store or the hardware.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Serialize;

/// One line of the live feed.
#[derive(Clone, Debug, Serialize)]
pub struct FeedItem {
    pub gate: String,
    pub seq: Option<u64>,
    /// Local time, `HH:MM:SS`.
    pub time: String,
    pub name: String,
    pub class: String,
    pub pass: bool,
    pub reason: String,
    /// The reason in plain French for the staff ("Déjà passé à 12:04").
    pub label: String,
}

/// Counts of the current (or last) service.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub school: String,
    pub gate: String,
    /// Local date and time, human readable.
    pub now: String,
    /// The service open now, if any.
    pub service: Option<String>,
    /// Registered today under a forfait for that service, minus oppositions.
    pub expected: u64,
    pub served: u64,
    /// Denials by reason code, with the French label.
    pub denied: Vec<(String, String, u64)>,
    pub emergency: bool,
}

/// What the kiosk reads from the daemon.
pub trait KioskSource: Send + Sync + 'static {
    fn summary(&self) -> Summary;
    /// The latest passages, newest first.
    fn recent(&self, limit: usize) -> Vec<FeedItem>;
    /// `GET /healthz`: status of readers, store and sync.
    fn health(&self) -> serde_json::Value;
    /// When the source last changed; the page polls for it.
    fn updated(&self) -> DateTime<Utc>;
}

/// The kiosk's routes.
pub fn router(source: Arc<dyn KioskSource>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/api/summary", get(summary))
        .route("/api/feed", get(feed))
        .route("/kiosk.css", get(css))
        .with_state(source)
}

type Src = State<Arc<dyn KioskSource>>;

async fn healthz(State(src): Src) -> Response {
    let health = src.health();
    let ok = health.get("status").and_then(|s| s.as_str()) == Some("ok");
    let code = if ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

async fn summary(State(src): Src) -> Json<Summary> {
    Json(src.summary())
}

async fn feed(State(src): Src) -> Json<Vec<FeedItem>> {
    Json(src.recent(50))
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn index(State(src): Src) -> Markup {
    let s = src.summary();
    let feed = src.recent(30);
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content="2";
                title { "selfgate — " (s.school) }
                link rel="stylesheet" href="/kiosk.css";
            }
            body {
                header {
                    h1 { (s.school) " · " (s.gate) }
                    p.now { (s.now) }
                }
                @if s.emergency {
                    p.alert { "Entrée d'urgence active : le tourniquet est libre." }
                }
                section.counts {
                    div { span.big { (s.service.as_deref().unwrap_or("Aucun service ouvert")) } }
                    div { "Attendus (forfait) " span.big { (s.expected) } }
                    div { "Servis " span.big.ok { (s.served) } }
                    div { "Restent " span.big { (s.expected.saturating_sub(s.served)) } }
                }
                @if !s.denied.is_empty() {
                    section.denied {
                        h2 { "Refus" }
                        ul { @for (_, label, n) in &s.denied { li { (label) " : " (n) } } }
                    }
                }
                section {
                    h2 { "Derniers passages" }
                    table {
                        thead { tr { th { "Heure" } th { "Nom" } th { "Classe" } th { "Décision" } th { "Motif" } } }
                        tbody {
                            @for item in &feed {
                                tr class=(if item.pass { "pass" } else { "deny" }) {
                                    td { (item.time) }
                                    td { (item.name) }
                                    td { (item.class) }
                                    td { @if item.pass { "Passage" } @else { "Refus" } }
                                    td { (item.label) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1rem;background:#f6f7f9;color:#111}\
header{display:flex;justify-content:space-between;align-items:baseline}\
h1{font-size:1.4rem;margin:0}.now{color:#555}\
.counts{display:flex;gap:2rem;margin:1rem 0;flex-wrap:wrap}.big{display:block;font-size:2rem;font-weight:700}\
.ok{color:#0a7a2f}.alert{background:#b00020;color:#fff;padding:.6rem;font-weight:700}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
tr.pass td:nth-child(4){color:#0a7a2f;font-weight:600}tr.deny td:nth-child(4){color:#b00020;font-weight:600}";
