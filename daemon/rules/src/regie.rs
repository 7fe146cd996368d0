//! What staff do at the régie (the cash desk), decided from the roster as it stands: a payment
//! taken, a mistaken payment cancelled, a remaining balance refunded. Pure: the caller commits the
//! result through the running gate (or on a stopped store); the store's writer gives a payment
//! its receipt number and refuses a second cancellation of one payment.

use chrono::NaiveDate;

use crate::engine::Roster;
use crate::journal::{
    Event, EventKind, EventRef, Payment, PaymentCancel, PaymentMode, Receipt, Refund, school_year,
};
use crate::model::format_euros;

/// The most one payment or refund may be: a family's year of meals, with room.
pub const MAX_PAYMENT_CENTS: i64 = 1_000_000;

/// Longest payer's name, staff name, note or reason, cheque number, bank or reference kept.
pub const MAX_TEXT_CHARS: usize = 200;

/// Why the régie refuses an operation. The messages are the staff's (French).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegieRefusal {
    #[error("aucune personne d'identifiant « {0} »")]
    UnknownPerson(String),
    #[error("montant de {} : il doit être positif et d'au plus {}", format_euros(*.0), format_euros(MAX_PAYMENT_CENTS))]
    Amount(i64),
    #[error("un chèque se note avec son numéro et sa banque")]
    ChequeWithoutNumber,
    #[error("un paiement {0} se note avec sa référence")]
    NoReference(&'static str),
    #[error("{0} : plus de {MAX_TEXT_CHARS} caractères")]
    TooLong(&'static str),
    #[error("{0} : à renseigner")]
    Missing(&'static str),
    #[error("aucun versement de quittance {0}")]
    UnknownReceipt(String),
    #[error("la quittance {0} est déjà annulée")]
    AlreadyCancelled(String),
    #[error("le solde de {name} est de {} : on ne peut rembourser {}", format_euros(*balance), format_euros(*cents))]
    MoreThanBalance {
        name: String,
        balance: i64,
        cents: i64,
    },
    #[error("la régie {0} n'est pas tenue par ce poste")]
    NotHere(String),
}

/// A payment as the staff enter it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPayment {
    /// The person's identifiant.
    pub person: String,
    pub cents: i64,
    pub mode: PaymentMode,
    pub payer: String,
    /// Who takes it.
    pub by: String,
    pub regie: String,
    /// The school day it is taken (its school year numbers the receipt).
    pub day: NaiveDate,
    pub note: String,
}

fn text(what: &'static str, s: &str) -> Result<String, RegieRefusal> {
    let s = s.trim();
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(RegieRefusal::TooLong(what));
    }
    Ok(s.to_owned())
}

fn amount(cents: i64) -> Result<i64, RegieRefusal> {
    if cents > 0 && cents <= MAX_PAYMENT_CENTS {
        Ok(cents)
    } else {
        Err(RegieRefusal::Amount(cents))
    }
}

fn mode(mode: &PaymentMode) -> Result<PaymentMode, RegieRefusal> {
    Ok(match mode {
        PaymentMode::Cheque { number, bank } => {
            let (number, bank) = (text("numéro de chèque", number)?, text("banque", bank)?);
            if number.is_empty() || bank.is_empty() {
                return Err(RegieRefusal::ChequeWithoutNumber);
            }
            PaymentMode::Cheque { number, bank }
        }
        PaymentMode::EnLigne { reference } | PaymentMode::Import { reference } => {
            let reference = text("référence", reference)?;
            if reference.is_empty() {
                return Err(RegieRefusal::NoReference(mode.code()));
            }
            match mode {
                PaymentMode::EnLigne { .. } => PaymentMode::EnLigne { reference },
                _ => PaymentMode::Import { reference },
            }
        }
        other => other.clone(),
    })
}

/// The payment `p` makes: checked, its receipt to be numbered by the store.
pub fn take_payment(roster: &Roster, p: &NewPayment) -> Result<Payment, RegieRefusal> {
    let person = roster
        .person_by_external(p.person.trim())
        .ok_or_else(|| RegieRefusal::UnknownPerson(p.person.clone()))?;
    let by = text("agent", &p.by)?;
    if by.is_empty() {
        return Err(RegieRefusal::Missing("agent"));
    }
    Ok(Payment {
        person: person.id,
        cents: amount(p.cents)?,
        mode: mode(&p.mode)?,
        payer: text("payeur", &p.payer)?,
        by,
        receipt: Receipt {
            regie: p.regie.clone(),
            year: school_year(p.day),
            number: 0,
        },
        note: text("note", &p.note)?,
    })
}

/// The cancellation of the payment journaled as `event` (`cancelled`: a cancellation of it is
/// already journaled).
pub fn cancel_payment(
    event: &Event,
    cancelled: bool,
    by: &str,
    reason: &str,
) -> Result<PaymentCancel, RegieRefusal> {
    let EventKind::Payment(p) = &event.kind else {
        return Err(RegieRefusal::UnknownReceipt(format!(
            "{}/{}",
            event.gate, event.seq
        )));
    };
    if cancelled {
        return Err(RegieRefusal::AlreadyCancelled(p.receipt.to_string()));
    }
    let (by, reason) = (text("agent", by)?, text("motif", reason)?);
    if by.is_empty() {
        return Err(RegieRefusal::Missing("agent"));
    }
    if reason.is_empty() {
        return Err(RegieRefusal::Missing("motif"));
    }
    Ok(PaymentCancel {
        refers_to: EventRef {
            gate: event.gate.clone(),
            seq: event.seq,
        },
        receipt: p.receipt.clone(),
        person: p.person,
        cents: p.cents,
        by,
        reason,
    })
}

/// A refund of `cents` of the remaining balance of the person of identifiant `person`.
pub fn refund(
    roster: &Roster,
    person: &str,
    cents: i64,
    how: &PaymentMode,
    regie: &str,
    by: &str,
    reason: &str,
) -> Result<Refund, RegieRefusal> {
    let p = roster
        .person_by_external(person.trim())
        .ok_or_else(|| RegieRefusal::UnknownPerson(person.to_owned()))?;
    let cents = amount(cents)?;
    let balance = roster.balance(p.id);
    if cents > balance {
        return Err(RegieRefusal::MoreThanBalance {
            name: p.display_name(),
            balance,
            cents,
        });
    }
    let (by, reason) = (text("agent", by)?, text("motif", reason)?);
    if by.is_empty() {
        return Err(RegieRefusal::Missing("agent"));
    }
    if reason.is_empty() {
        return Err(RegieRefusal::Missing("motif"));
    }
    Ok(Refund {
        person: p.id,
        cents,
        mode: mode(how)?,
        regie: regie.to_owned(),
        by,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Person, PersonId, Regime};

    fn roster() -> Roster {
        let mut r = Roster::default();
        r.put_person(Person {
            id: PersonId(3),
            external_id: "E3".into(),
            last_name: "MARTIN".into(),
            first_name: "Léa".into(),
            class: "6A".into(),
            category: Category::Eleve,
            regime: Regime::Externe,
            forfaits: vec![],
            passages_per_service: 1,
            tier: None,
        });
        r.set_balance(PersonId(3), 1250);
        r
    }

    fn cash(cents: i64) -> NewPayment {
        NewPayment {
            person: "E3".into(),
            cents,
            mode: PaymentMode::Especes,
            payer: "M. Martin".into(),
            by: "intendance".into(),
            regie: "R1".into(),
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            note: String::new(),
        }
    }

    #[test]
    fn a_payment_is_checked_and_left_for_the_store_to_number() {
        let p = take_payment(&roster(), &cash(2000)).unwrap();
        assert_eq!(p.person, PersonId(3));
        assert_eq!(p.receipt.year, 2026);
        assert_eq!(p.receipt.number, 0);
        for bad in [0, -100, MAX_PAYMENT_CENTS + 1] {
            assert_eq!(
                take_payment(&roster(), &cash(bad)),
                Err(RegieRefusal::Amount(bad))
            );
        }
        let unknown = NewPayment {
            person: "E9".into(),
            ..cash(100)
        };
        assert!(matches!(
            take_payment(&roster(), &unknown),
            Err(RegieRefusal::UnknownPerson(_))
        ));
        let cheque = NewPayment {
            mode: PaymentMode::Cheque {
                number: " ".into(),
                bank: "La Poste".into(),
            },
            ..cash(100)
        };
        assert_eq!(
            take_payment(&roster(), &cheque),
            Err(RegieRefusal::ChequeWithoutNumber)
        );
        let online = NewPayment {
            mode: PaymentMode::EnLigne {
                reference: String::new(),
            },
            ..cash(100)
        };
        assert_eq!(
            take_payment(&roster(), &online),
            Err(RegieRefusal::NoReference("en_ligne"))
        );
        // September starts the next school year.
        let september = NewPayment {
            day: NaiveDate::from_ymd_opt(2027, 9, 1).unwrap_or_default(),
            ..cash(100)
        };
        assert_eq!(
            take_payment(&roster(), &september).unwrap().receipt.year,
            2027
        );
    }

    #[test]
    fn a_payment_is_cancelled_once_and_a_refund_never_exceeds_the_balance() {
        let mut p = take_payment(&roster(), &cash(2000)).unwrap();
        p.receipt.number = 7;
        let event = Event {
            gate: "ligne-1".into(),
            seq: 12,
            at: chrono::DateTime::UNIX_EPOCH,
            kind: EventKind::Payment(p),
        };
        let c = cancel_payment(&event, false, "intendance", "erreur de saisie").unwrap();
        assert_eq!((c.cents, c.refers_to.seq), (2000, 12));
        assert_eq!(
            cancel_payment(&event, true, "intendance", "encore"),
            Err(RegieRefusal::AlreadyCancelled("R1-2026-00007".into()))
        );
        assert_eq!(
            cancel_payment(&event, false, "intendance", " "),
            Err(RegieRefusal::Missing("motif"))
        );
        let r = roster();
        assert!(refund(&r, "E3", 1250, &PaymentMode::Especes, "R1", "int", "départ").is_ok());
        assert!(matches!(
            refund(&r, "E3", 1251, &PaymentMode::Especes, "R1", "int", "départ"),
            Err(RegieRefusal::MoreThanBalance { balance: 1250, .. })
        ));
    }
}
