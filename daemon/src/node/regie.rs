//! The régie's operations as journal writes: a payment taken, a payment cancelled, a refund,
//! each at a régie this node holds (`[[regies]]`: the node that holds a régie numbers its
//! receipts, so numbers stay unique at the site without asking anyone). Decided by
//! `selfgate_rules::regie` from the roster; committed by the caller (through the running gate,
//! or on a stopped store).

use chrono::{DateTime, Utc};

use selfgate_rules::Roster;
use selfgate_rules::journal::{EventKind, Receipt};
use selfgate_rules::regie::{self, NewPayment, RegieRefusal};

use super::control::Request;
use crate::config::Config;
use crate::store::{Store, WriteOp};

/// The régie an operation is made at: `wanted` when this node holds it, else the first it
/// holds.
pub fn regie_here(config: &Config, wanted: Option<&str>) -> Result<String, String> {
    let node = config.gate.id.as_str();
    match wanted {
        Some(code) => match config.money.regie(code) {
            Some(r) if r.node == node => Ok(r.code.clone()),
            Some(r) => Err(format!(
                "la régie {code} est tenue par le poste « {} », pas par celui-ci (« {node} »)",
                r.node
            )),
            None => Err(format!(
                "aucune régie de code {code} (régies : {})",
                config
                    .money
                    .regies
                    .iter()
                    .map(|r| r.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        None => config
            .money
            .regies_of(node)
            .next()
            .map(|r| r.code.clone())
            .ok_or_else(|| {
                format!("ce poste (« {node} ») ne tient aucune régie : voir [[regies]]")
            }),
    }
}

/// The write a régie request made at `now` makes; `None` when `req` is not one.
pub fn plan(
    config: &Config,
    roster: &Roster,
    store: &Store,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Option<WriteOp>, String> {
    let gate = config.gate.id.clone();
    let today = config.rules.today(now);
    let append = |kind| WriteOp::Append {
        gate: gate.clone(),
        at: now,
        kind,
    };
    let refused = |e: RegieRefusal| e.to_string();
    Ok(Some(match req {
        Request::PaymentAdd {
            person,
            cents,
            mode,
            payer,
            by,
            regie,
            note,
        } => {
            let p = regie::take_payment(
                roster,
                &NewPayment {
                    person: person.clone(),
                    cents: *cents,
                    mode: mode.clone(),
                    payer: payer.clone(),
                    by: by.clone(),
                    regie: regie_here(config, regie.as_deref())?,
                    day: today,
                    note: note.clone(),
                },
            )
            .map_err(refused)?;
            append(EventKind::Payment(p))
        }
        Request::PaymentCancel {
            receipt,
            by,
            reason,
        } => {
            let number: Receipt =
                receipt
                    .trim()
                    .parse()
                    .map_err(|e: selfgate_rules::model::ParseError| {
                        format!("« {receipt} » : {}", e.expected)
                    })?;
            regie_here(config, Some(&number.regie))?;
            let (payment, cancelled) = store
                .payment(&number)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| refused(RegieRefusal::UnknownReceipt(number.to_string())))?;
            let c = regie::cancel_payment(&payment, cancelled.is_some(), by, reason)
                .map_err(refused)?;
            append(EventKind::PaymentCancel(c))
        }
        Request::Refund {
            person,
            cents,
            mode,
            by,
            reason,
            regie,
        } => {
            let code = regie_here(config, regie.as_deref())?;
            let r =
                regie::refund(roster, person, *cents, mode, &code, by, reason).map_err(refused)?;
            append(EventKind::Refund(r))
        }
        _ => return Ok(None),
    }))
}
