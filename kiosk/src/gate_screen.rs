//! The gate screen, facing the pupils: `GET /gate/{gate}` without login. Large green or red,
//! the first name, the class, the reason in a pupil's words and, when a ticket balance gets
//! low, how many meals it still pays for ("Plus que 2 repas"; never an amount: the queue reads
//! the screen too); back to idle after a few seconds. Its event stream carries only those
//! fields: nothing more personal than a first name and a class leaves this module, and the
//! régie's lines of the staff's feed never reach it.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};
use serde::Serialize;

use crate::i18n::{Lang, pupil_reason, t};
use crate::{AppState, Caller, FeedItem, Live};

/// What the gate screen is sent for one decision.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GateView {
    pub pass: bool,
    pub first_name: String,
    pub class: String,
    /// The reason in a pupil's words.
    pub message: String,
    /// On a pass charged to a low balance only: "Plus que 2 repas".
    pub meals_left: Option<String>,
}

impl GateView {
    pub fn of(item: &FeedItem, lang: Lang) -> GateView {
        GateView {
            pass: item.pass,
            first_name: item.first_name.clone(),
            class: item.class.clone(),
            message: pupil_reason(lang, &item.reason).to_owned(),
            meals_left: item
                .meals_left
                .filter(|_| item.pass)
                .map(|n| crate::i18n::meals_left(lang, n)),
        }
    }
}

/// `/portique`: the gate screen of this gate.
pub async fn default_gate(State(app): AppState) -> Response {
    let gate = app.src.summary().gate;
    let path: String = gate
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    Redirect::to(&format!("/gate/{path}")).into_response()
}

pub async fn page(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(gate): Path<String>,
) -> Response {
    let lang = caller.lang;
    let school = app.src.summary().school;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(lang, "gate.title")) " " (gate) " — selfgate" }
                link rel="stylesheet" href="/assets/kiosk.css";
            }
            body.gate-screen {
                main #gate .idle data-gate=(gate) data-lang=(lang.code()) {
                    div.idle-view {
                        p.school { (school) }
                        p.prompt { (t(lang, "gate.idle")) }
                        p.gate-clock #clock {}
                    }
                    div.decision-view {
                        p.mark #mark {}
                        p.first #first {}
                        p.class #class {}
                        p.message #message {}
                        p.meals #meals {}
                    }
                }
                script src="/assets/gate.js" {}
            }
        }
    }
    .into_response()
}

/// `GET /gate/{gate}/events`: `decision` events with a [`GateView`], for this gate only.
pub async fn events(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(gate): Path<String>,
) -> Response {
    let lang = caller.lang;
    let rx = app.src.live();
    let stream = futures_util::stream::unfold(rx, move |mut rx| {
        let gate = gate.clone();
        async move {
            loop {
                match rx.recv().await {
                    // A decision of this gate; the régie's lines are for the staff only.
                    Ok(Live {
                        item: Some(item), ..
                    }) if item.gate == gate && item.money.is_none() => {
                        let view = GateView::of(&item, lang);
                        let ev = Event::default()
                            .event("decision")
                            .json_data(&view)
                            .unwrap_or_else(|_| Event::default().comment("skipped"));
                        return Some((Ok::<_, Infallible>(ev), rx));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    let stream = futures_util::StreamExt::take_until(stream, app.opts.stopped());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
