//! A hand-built school week at Europe/Paris for the reports' tests: three persons with money,
//! one without, September's opening balances, and Monday 5 to Friday 9 October 2026 at the
//! régies R1 and R2 (payments in cash, by cheque, by card and by transfer, one payment cancelled
//! the same day and one two days later, a refund, passages charged at two prices, forfait
//! passages, a denial and a correction).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use selfgate_rules::journal::{
    Correction, CorrectionKind, Credit, Event, EventKind, EventRef, Passage, Payment,
    PaymentCancel, PaymentMode, Reason, Receipt, Refund, Verdict,
};
use selfgate_rules::model::{Category, Person, PersonId, Regime, ServiceId};

pub const TZ: Tz = chrono_tz::Europe::Paris;

pub const ALICE: PersonId = PersonId(1);
pub const BOB: PersonId = PersonId(2);
pub const CLAIRE: PersonId = PersonId(3);
pub const ZOE: PersonId = PersonId(4);

/// A pupil's meal at tier T2, and a commensal's.
pub const PRICE_T2: i64 = 390;
pub const PRICE_COMMENSAL: i64 = 520;

pub fn person(
    id: PersonId,
    last: &str,
    first: &str,
    class: &str,
    category: Category,
    regime: Regime,
    tier: Option<&str>,
) -> Person {
    Person {
        id,
        external_id: format!("E{}", id.0),
        last_name: last.to_owned(),
        first_name: first.to_owned(),
        class: class.to_owned(),
        category,
        regime,
        forfaits: Vec::new(),
        passages_per_service: 1,
        tier: tier.map(str::to_owned),
    }
}

pub fn persons() -> Vec<Person> {
    vec![
        person(
            ALICE,
            "MARTIN",
            "Alice",
            "6A",
            Category::Eleve,
            Regime::Externe,
            Some("T2"),
        ),
        person(
            BOB,
            "DURAND",
            "Bob",
            "5B",
            Category::Eleve,
            Regime::DemiPensionnaire,
            None,
        ),
        person(
            CLAIRE,
            "PETIT",
            "Claire",
            "",
            Category::Commensal,
            Regime::Externe,
            None,
        ),
        person(
            ZOE,
            "ÉTIENNE",
            "Zoé",
            "4C",
            Category::Eleve,
            Regime::Interne,
            Some("T1"),
        ),
    ]
}

/// `2026-10-05 08:10`, Paris time.
pub fn local(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    TZ.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// The Paris date at `at` (`school_day`'s, without its panic at the ends of chrono's range).
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    use chrono::Offset;
    let utc = at.naive_utc();
    let offset = TZ.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).unwrap_or(utc).date()
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn receipt(regie: &str, number: u32) -> Receipt {
    Receipt {
        regie: regie.to_owned(),
        year: 2026,
        number,
    }
}

pub fn cheque(number: &str, bank: &str) -> PaymentMode {
    PaymentMode::Cheque {
        number: number.to_owned(),
        bank: bank.to_owned(),
    }
}

/// A journal being written: one gate, numbers from 1.
#[derive(Default)]
pub struct Journal {
    pub events: Vec<Event>,
}

impl Journal {
    pub fn push(&mut self, at: DateTime<Utc>, kind: EventKind) -> EventRef {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event {
            gate: "intendance".to_owned(),
            seq,
            at,
            kind,
        });
        EventRef {
            gate: "intendance".to_owned(),
            seq,
        }
    }

    pub fn credit(&mut self, at: DateTime<Utc>, person: PersonId, cents: i64) -> EventRef {
        self.push(
            at,
            EventKind::Credit(Credit {
                person,
                cents,
                note: "solde repris".to_owned(),
            }),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn payment(
        &mut self,
        at: DateTime<Utc>,
        person: PersonId,
        cents: i64,
        mode: PaymentMode,
        payer: &str,
        receipt: Receipt,
    ) -> EventRef {
        self.push(
            at,
            EventKind::Payment(Payment {
                person,
                cents,
                mode,
                payer: payer.to_owned(),
                by: "M. Lebrun".to_owned(),
                receipt,
                note: String::new(),
            }),
        )
    }

    pub fn cancel(
        &mut self,
        at: DateTime<Utc>,
        payment: &EventRef,
        receipt: Receipt,
        person: PersonId,
        cents: i64,
        reason: &str,
    ) -> EventRef {
        self.push(
            at,
            EventKind::PaymentCancel(PaymentCancel {
                refers_to: payment.clone(),
                receipt,
                person,
                cents,
                by: "Mme Roux".to_owned(),
                reason: reason.to_owned(),
            }),
        )
    }

    pub fn refund(
        &mut self,
        at: DateTime<Utc>,
        person: PersonId,
        cents: i64,
        mode: PaymentMode,
        regie: &str,
        reason: &str,
    ) -> EventRef {
        self.push(
            at,
            EventKind::Refund(Refund {
                person,
                cents,
                mode,
                regie: regie.to_owned(),
                by: "Mme Roux".to_owned(),
                reason: reason.to_owned(),
            }),
        )
    }

    pub fn passage(
        &mut self,
        at: DateTime<Utc>,
        person: Option<PersonId>,
        verdict: Verdict,
        reason: Reason,
        charge: i64,
    ) -> EventRef {
        self.push(
            at,
            EventKind::Passage(Passage {
                credential: Some("0004123456".to_owned()),
                person,
                service: Some(ServiceId(0)),
                day: local_day(at),
                verdict,
                reason,
                charge_cents: charge,
                balance_after_cents: None,
                previous_at: None,
                by: None,
                note: None,
            }),
        )
    }

    /// A meal charged on the balance.
    pub fn meal(&mut self, at: DateTime<Utc>, person: PersonId, charge: i64) -> EventRef {
        self.passage(at, Some(person), Verdict::Pass, Reason::Ticket, charge)
    }

    pub fn correction(
        &mut self,
        at: DateTime<Utc>,
        passage: &EventRef,
        person: PersonId,
        refund: i64,
    ) -> EventRef {
        self.push(
            at,
            EventKind::Correction(Correction {
                refers_to: passage.clone(),
                kind: CorrectionKind::Cancel,
                person,
                service: ServiceId(0),
                day: local_day(at),
                refund_cents: refund,
                by: Some("Mme Roux".to_owned()),
                note: "passé deux fois par erreur".to_owned(),
            }),
        )
    }
}

/// September's balances carried over, then the week of 5 to 9 October 2026.
pub fn week() -> Vec<Event> {
    let mut j = Journal::default();
    // September: opening balances (Alice in credit, Bob in debt) and one meal.
    j.credit(local("2026-09-01 09:00"), ALICE, 1000);
    j.credit(local("2026-09-01 09:01"), BOB, -300);
    j.meal(local("2026-09-15 12:00"), ALICE, PRICE_T2);

    // Monday 5: four receipts at R1 (one cancelled at once and taken again), one at R2.
    j.payment(
        local("2026-10-05 08:10"),
        ALICE,
        2000,
        PaymentMode::Especes,
        "Mme Martin",
        receipt("R1", 1),
    );
    let bob_cheque = j.payment(
        local("2026-10-05 08:20"),
        BOB,
        3000,
        cheque("1234567", "La Banque Postale"),
        "M. Durand",
        receipt("R1", 2),
    );
    let wrong = j.payment(
        local("2026-10-05 08:30"),
        CLAIRE,
        1500,
        PaymentMode::Especes,
        "Claire Petit",
        receipt("R1", 3),
    );
    j.cancel(
        local("2026-10-05 08:32"),
        &wrong,
        receipt("R1", 3),
        CLAIRE,
        1500,
        "erreur de montant",
    );
    j.payment(
        local("2026-10-05 08:33"),
        CLAIRE,
        1050,
        PaymentMode::Especes,
        "Claire Petit",
        receipt("R1", 4),
    );
    j.payment(
        local("2026-10-05 09:00"),
        CLAIRE,
        700,
        PaymentMode::Virement,
        "Claire Petit",
        receipt("R2", 1),
    );
    j.meal(local("2026-10-05 12:05"), ALICE, PRICE_T2);
    j.passage(
        local("2026-10-05 12:06"),
        Some(BOB),
        Verdict::Pass,
        Reason::Forfait,
        0,
    );
    j.meal(local("2026-10-05 12:07"), CLAIRE, PRICE_COMMENSAL);
    j.passage(
        local("2026-10-05 12:08"),
        Some(ALICE),
        Verdict::Deny,
        Reason::AlreadyServed,
        0,
    );

    // Tuesday 6: two meals, one of them corrected.
    j.meal(local("2026-10-06 12:05"), ALICE, PRICE_T2);
    let twice = j.meal(local("2026-10-06 12:10"), CLAIRE, PRICE_COMMENSAL);
    j.correction(local("2026-10-06 14:00"), &twice, CLAIRE, PRICE_COMMENSAL);

    // Wednesday 7: Monday's cheque bounced; a refund.
    j.cancel(
        local("2026-10-07 10:00"),
        &bob_cheque,
        receipt("R1", 2),
        BOB,
        3000,
        "chèque sans provision",
    );
    j.refund(
        local("2026-10-07 10:30"),
        ALICE,
        500,
        PaymentMode::Especes,
        "R1",
        "trop-perçu",
    );
    j.passage(
        local("2026-10-07 12:05"),
        Some(BOB),
        Verdict::Pass,
        Reason::Forfait,
        0,
    );

    // Thursday 8 and Friday 9.
    j.meal(local("2026-10-08 12:05"), ALICE, PRICE_T2);
    j.payment(
        local("2026-10-09 08:15"),
        ALICE,
        1000,
        PaymentMode::Carte,
        "Mme Martin",
        receipt("R1", 5),
    );
    j.meal(local("2026-10-09 12:05"), CLAIRE, PRICE_COMMENSAL);
    j.events
}

/// Every event up to the end of `day` (Paris).
pub fn until_end_of(events: &[Event], last: NaiveDate) -> Vec<Event> {
    events
        .iter()
        .filter(|e| selfgate_rules::model::school_day(TZ, e.at) <= last)
        .cloned()
        .collect()
}

/// The names the cash report prints.
pub fn names(person: PersonId) -> Option<(String, String)> {
    persons()
        .into_iter()
        .find(|p| p.id == person)
        .map(|p| (format!("{} {}", p.last_name, p.first_name), p.class))
}

/// Where the PNG renderings go for people to look at: `target/kiosk-screenshots/` of the
/// workspace (or of `CARGO_TARGET_DIR`).
pub fn screenshots_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => root.join(t),
        _ => root.join("target"),
    };
    target.join("kiosk-screenshots")
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    std::process::Command::new("which")
        .arg(program)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
