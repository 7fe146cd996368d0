//! The day's cash report (*journal de caisse*) on a hand-built week: every line, every total
//! against a sum written here, the day boundary in Paris, CSV, and input no journal should hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use selfgate_money::{CashLineKind, CashReport, ReportError};
use selfgate_rules::journal::{Event, EventKind, EventRef, PaymentMode};
use selfgate_rules::model::{PersonId, school_day};

fn report(events: &[Event], d: NaiveDate, regie: Option<&str>) -> CashReport {
    CashReport::compute(events, &names, d, TZ, regie).unwrap()
}

/// The day's takings summed straight from the events, without the report's code: payments of
/// the day, minus cancellations made that day, minus refunds of the day, for one régie.
fn independent_total(events: &[Event], d: NaiveDate, regie: Option<&str>) -> i64 {
    let ok = |r: &str| regie.is_none() || regie == Some(r);
    let mut total = 0;
    for e in events {
        if school_day(TZ, e.at) != d {
            continue;
        }
        match &e.kind {
            EventKind::Payment(p) if ok(&p.receipt.regie) => total += p.cents,
            EventKind::PaymentCancel(c) if ok(&c.receipt.regie) => total -= c.cents,
            EventKind::Refund(r) if ok(&r.regie) => total -= r.cents,
            _ => {}
        }
    }
    total
}

#[test]
fn monday_at_r1_lists_its_four_receipts_in_order_with_the_cancelled_ones_marked() {
    let events = week();
    let r = report(&events, day(2026, 10, 5), Some("R1"));
    let receipts: Vec<&str> = r
        .lines()
        .iter()
        .map(|l| l.receipt.as_deref().unwrap())
        .collect();
    assert_eq!(
        receipts,
        [
            "R1-2026-00001",
            "R1-2026-00002",
            "R1-2026-00003",
            "R1-2026-00004"
        ]
    );
    assert!(r.lines().iter().all(|l| l.kind == CashLineKind::Payment));
    let [first, cheque, wrong, right] = r.lines() else {
        panic!()
    };
    assert_eq!(first.name, "MARTIN Alice");
    assert_eq!(first.class, "6A");
    assert_eq!(first.time, "08:10");
    assert_eq!(first.payer, "Mme Martin");
    assert_eq!(first.mode_label, "Espèces");
    assert_eq!(first.by, "M. Lebrun");
    assert_eq!((first.cents, first.counted_cents), (2000, 2000));
    assert!(first.cancelled.is_none());

    // The cheque bounced on Wednesday: marked, but Monday's money it was.
    assert_eq!(cheque.mode_label, "Chèque");
    assert_eq!(cheque.mode_detail, "n° 1234567, La Banque Postale");
    let c = cheque.cancelled.as_ref().unwrap();
    assert_eq!(
        (c.day, c.time.as_str(), c.same_day),
        (day(2026, 10, 7), "10:00", false)
    );
    assert_eq!(c.reason, "chèque sans provision");
    assert_eq!((cheque.cents, cheque.counted_cents), (3000, 3000));

    // Cancelled within minutes: marked, counts nothing, no line of its own.
    let c = wrong.cancelled.as_ref().unwrap();
    assert!(c.same_day);
    assert_eq!((wrong.cents, wrong.counted_cents), (1500, 0));
    assert_eq!((right.cents, right.counted_cents), (1050, 1050));

    // Totals per mode, from the figures above.
    let cash = r.mode("especes").unwrap();
    assert_eq!(cash.label, "Espèces");
    assert_eq!(
        (cash.payments_count, cash.payments_cents),
        (3, 2000 + 1500 + 1050)
    );
    assert_eq!(
        (cash.cancellations_count, cash.cancellations_cents),
        (1, 1500)
    );
    assert_eq!(cash.refunds_cents, 0);
    assert_eq!(cash.net_cents, 2000 + 1050);
    let cheques = r.mode("cheque").unwrap();
    assert_eq!((cheques.payments_count, cheques.net_cents), (1, 3000));
    for code in ["carte", "virement", "en_ligne", "import"] {
        assert_eq!(r.mode(code).unwrap().net_cents, 0, "{code}");
    }
    assert!(r.mode("inconnu").is_none());

    assert_eq!(r.total_cents(), 2000 + 3000 + 1500 + 1050 - 1500);
    assert_eq!(
        r.total_cents(),
        independent_total(&events, day(2026, 10, 5), Some("R1"))
    );
    assert_eq!(r.payments_count(), 4);
    assert_eq!(r.cancelled_count(), 2);
    assert_eq!(r.cancellations_count(), 1);
    assert_eq!(r.refunds_count(), 0);
    assert_eq!(r.first_receipt(), Some("R1-2026-00001"));
    assert_eq!(r.last_receipt(), Some("R1-2026-00004"));
    assert_eq!(r.receipts().len(), 1);
    assert_eq!(r.receipts()[0].missing_count, 0);
    assert_eq!(r.regie(), Some("R1"));
    assert_eq!(r.timezone(), "Europe/Paris");
}

#[test]
fn monday_for_every_regie_adds_r2s_transfer() {
    let events = week();
    let r = report(&events, day(2026, 10, 5), None);
    assert_eq!(r.payments_count(), 5);
    assert_eq!(r.mode("virement").unwrap().net_cents, 700);
    assert_eq!(r.total_cents(), 6050 + 700);
    assert_eq!(
        r.total_cents(),
        independent_total(&events, day(2026, 10, 5), None)
    );
    assert_eq!(r.first_receipt(), Some("R1-2026-00001"));
    assert_eq!(r.last_receipt(), Some("R2-2026-00001"));
    assert_eq!(r.receipts().len(), 2);
    let r2 = report(&events, day(2026, 10, 5), Some("R2"));
    assert_eq!(r2.total_cents(), 700);
    assert!(
        report(&events, day(2026, 10, 5), Some("R9"))
            .lines()
            .is_empty()
    );
}

#[test]
fn wednesday_lists_mondays_cancelled_cheque_and_a_refund_as_negative_lines() {
    let events = week();
    let r = report(&events, day(2026, 10, 7), Some("R1"));
    let [cancel, refund] = r.lines() else {
        panic!("{:#?}", r.lines())
    };
    assert_eq!(cancel.kind, CashLineKind::Cancellation);
    assert_eq!(cancel.receipt.as_deref(), Some("R1-2026-00002"));
    assert_eq!(cancel.payment_day, Some(day(2026, 10, 5)));
    assert!(!cancel.unknown_payment);
    assert_eq!((cancel.mode.as_str(), cancel.cents), ("cheque", -3000));
    assert_eq!(cancel.payer, "M. Durand");
    assert_eq!(cancel.by, "Mme Roux");
    assert_eq!(refund.kind, CashLineKind::Refund);
    assert_eq!((refund.mode.as_str(), refund.cents), ("especes", -500));
    assert_eq!(refund.receipt, None);
    assert_eq!(refund.note, "trop-perçu");

    assert_eq!(r.mode("cheque").unwrap().cancellations_cents, 3000);
    assert_eq!(r.mode("cheque").unwrap().net_cents, -3000);
    assert_eq!(r.mode("especes").unwrap().refunds_cents, 500);
    assert_eq!(r.mode("especes").unwrap().net_cents, -500);
    assert_eq!(r.total_cents(), -3000 - 500);
    assert_eq!(
        r.total_cents(),
        independent_total(&events, day(2026, 10, 7), Some("R1"))
    );
    assert_eq!(r.payments_count(), 0);
    assert_eq!(r.first_receipt(), None);
    assert_eq!(r.cancellations_count(), 1);
    assert_eq!(r.refunds_count(), 1);
}

#[test]
fn every_day_of_the_week_adds_up_and_the_week_is_the_sum_of_its_days() {
    let events = week();
    let mut week_total = 0;
    for d in 5..=9 {
        for regie in [Some("R1"), Some("R2"), None] {
            let r = report(&events, day(2026, 10, d), regie);
            let lines: i64 = r.lines().iter().map(|l| l.counted_cents).sum();
            let modes: i64 = r.modes().iter().map(|m| m.net_cents).sum();
            let expected = independent_total(&events, day(2026, 10, d), regie);
            assert_eq!(r.total_cents(), expected, "{d} {regie:?}");
            assert_eq!(lines, expected, "{d} {regie:?}");
            assert_eq!(modes, expected, "{d} {regie:?}");
            for m in r.modes() {
                assert_eq!(
                    m.net_cents,
                    m.payments_cents - m.cancellations_cents - m.refunds_cents
                );
            }
            if regie == Some("R1") {
                week_total += r.total_cents();
            }
        }
    }
    // R1's week: payments 2000 + 3000 + 1500 + 1050 + 1000, cancellations 1500 + 3000, a 500
    // refund.
    assert_eq!(week_total, 8550 - 4500 - 500);
    assert_eq!(
        report(&events, day(2026, 10, 6), Some("R1")).lines().len(),
        0
    );
    assert_eq!(
        report(&events, day(2026, 10, 6), Some("R1")).total_cents(),
        0
    );
}

#[test]
fn a_day_printed_again_later_keeps_its_totals() {
    let events = week();
    let monday = day(2026, 10, 5);
    let that_evening = report(&until_end_of(&events, monday), monday, Some("R1"));
    let friday = report(&events, monday, Some("R1"));
    assert_eq!(that_evening.total_cents(), friday.total_cents());
    assert_eq!(that_evening.modes(), friday.modes());
    // Only the cheque's mark is new.
    assert!(that_evening.lines()[1].cancelled.is_none());
    assert!(friday.lines()[1].cancelled.is_some());
    assert_eq!(that_evening.cancelled_count() + 1, friday.cancelled_count());
}

#[test]
fn half_past_midnight_in_paris_is_the_next_days_money() {
    let mut j = Journal::default();
    // 22:30 UTC on Monday is 00:30 on Tuesday in Paris (summer time).
    j.payment(
        utc("2026-10-05T22:30:00Z"),
        ALICE,
        1200,
        PaymentMode::Especes,
        "Mme Martin",
        receipt("R1", 7),
    );
    j.payment(
        local("2026-10-05 23:59"),
        ALICE,
        800,
        PaymentMode::Especes,
        "Mme Martin",
        receipt("R1", 6),
    );
    let monday = report(&j.events, day(2026, 10, 5), None);
    let tuesday = report(&j.events, day(2026, 10, 6), None);
    assert_eq!(monday.total_cents(), 800);
    assert_eq!(monday.lines()[0].time, "23:59");
    assert_eq!(tuesday.total_cents(), 1200);
    assert_eq!(tuesday.lines()[0].time, "00:30");
    assert_eq!(tuesday.first_receipt(), Some("R1-2026-00007"));
}

#[test]
fn the_csv_has_french_headers_marked_cancellations_and_numbers_for_amounts() {
    let events = week();
    let csv = report(&events, day(2026, 10, 5), Some("R1")).to_csv();
    assert!(csv.starts_with('\u{feff}'), "UTF-8 with a byte order mark");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Opération;Quittance;Régie;Date;Heure;Nom;Classe;Payeur;Mode;Détail du mode;Montant;\
         Montant retenu;Agent;Annulation;Observations"
    );
    assert_eq!(
        lines[1],
        "Versement;R1-2026-00001;R1;05/10/2026;08:10;MARTIN Alice;6A;Mme Martin;Espèces;;20,00;\
         20,00;M. Lebrun;;"
    );
    assert_eq!(
        lines[2],
        "Versement;R1-2026-00002;R1;05/10/2026;08:20;DURAND Bob;5B;M. Durand;Chèque;\
         n° 1234567, La Banque Postale;30,00;30,00;M. Lebrun;annulé le 07/10/2026 à 10:00 par \
         Mme Roux;chèque sans provision"
    );
    assert!(lines[3].contains(";15,00;0,00;"), "{}", lines[3]);
    assert!(
        lines.contains(&"Espèces;3;45,50;-15,00;0,00;30,50"),
        "{csv}"
    );
    assert!(lines.contains(&"Chèque;1;30,00;0,00;0,00;30,00"), "{csv}");
    assert!(
        lines.contains(&"Total général;4;75,50;-15,00;0,00;60,50"),
        "{csv}"
    );
    assert!(lines.contains(&"Première quittance;R1-2026-00001"));
    assert!(lines.contains(&"Dernière quittance;R1-2026-00004"));

    // Negative amounts are numbers, not defused text.
    let csv = report(&events, day(2026, 10, 7), Some("R1")).to_csv();
    assert!(csv.contains(";-30,00;-30,00;"), "{csv}");
    assert!(csv.contains("annule le versement du 05/10/2026"));
    assert!(!csv.contains("'-30,00"));
}

#[test]
fn csv_cells_that_look_like_formulas_are_defused() {
    let mut j = Journal::default();
    j.payment(
        local("2026-10-05 08:00"),
        PersonId(9),
        1000,
        PaymentMode::Import {
            reference: "@SUM(A1:A9)".to_owned(),
        },
        "=HYPERLINK(\"http://x\";\"clic\")",
        receipt("R1", 1),
    );
    j.refund(
        local("2026-10-05 09:00"),
        PersonId(9),
        250,
        PaymentMode::Especes,
        "R1",
        "-trop perçu; remboursé",
    );
    let dangerous = |_: PersonId| Some(("+33 6 12 34 56 78".to_owned(), "-5B".to_owned()));
    let r = CashReport::compute(&j.events, &dangerous, day(2026, 10, 5), TZ, None).unwrap();
    let csv = r.to_csv();
    assert!(csv.contains(";'+33 6 12 34 56 78;'-5B;"), "{csv}");
    assert!(
        csv.contains(";\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\";"),
        "{csv}"
    );
    assert!(csv.contains(";'@SUM(A1:A9);10,00;10,00;"), "{csv}");
    assert!(csv.contains(";\"'-trop perçu; remboursé\""), "{csv}");
    assert!(csv.contains(";-2,50;-2,50;"), "amounts stay numbers: {csv}");
    for line in csv.split("\r\n") {
        assert!(!line.starts_with(['=', '+', '@']), "{line}");
    }
}

#[test]
fn a_cancellation_of_a_payment_not_in_the_journal_is_listed_as_such() {
    let mut j = Journal::default();
    let nowhere = EventRef {
        gate: "elsewhere".to_owned(),
        seq: 99,
    };
    j.cancel(
        local("2026-10-05 10:00"),
        &nowhere,
        receipt("R1", 41),
        ALICE,
        900,
        "doublon",
    );
    // One referring to a passage, not a payment, and with no receipt number to go by.
    let meal = j.meal(local("2026-10-05 12:00"), ALICE, PRICE_T2);
    j.cancel(
        local("2026-10-05 13:00"),
        &meal,
        receipt("R1", 0),
        ALICE,
        100,
        "?",
    );
    let r = report(&j.events, day(2026, 10, 5), Some("R1"));
    assert_eq!(r.lines().len(), 2);
    for l in r.lines() {
        assert_eq!(l.kind, CashLineKind::Cancellation);
        assert!(l.unknown_payment);
        assert_eq!(l.mode, "inconnu");
        assert_eq!(l.payment_day, None);
    }
    let unknown = r.mode("inconnu").unwrap();
    assert_eq!(unknown.label, "Mode inconnu");
    assert_eq!(unknown.cancellations_cents, 1000);
    assert_eq!(r.total_cents(), -1000);
    assert!(r.to_csv().contains("versement inconnu"));
    assert!(r.to_pdf().starts_with(b"%PDF-1.4"));
}

#[test]
fn a_cancellation_is_tied_to_its_payment_by_receipt_when_its_reference_is_unknown() {
    let mut j = Journal::default();
    j.payment(
        local("2026-10-05 08:00"),
        ALICE,
        1000,
        PaymentMode::Carte,
        "Mme Martin",
        receipt("R1", 3),
    );
    let nowhere = EventRef {
        gate: "hub".to_owned(),
        seq: 7,
    };
    j.cancel(
        local("2026-10-06 08:00"),
        &nowhere,
        receipt("R1", 3),
        ALICE,
        1000,
        "erreur",
    );
    let monday = report(&j.events, day(2026, 10, 5), None);
    assert!(monday.lines()[0].cancelled.is_some());
    let tuesday = report(&j.events, day(2026, 10, 6), None);
    assert_eq!(tuesday.lines()[0].mode, "carte");
    assert!(!tuesday.lines()[0].unknown_payment);
}

#[test]
fn amounts_that_overflow_are_an_error_not_a_panic() {
    let mut j = Journal::default();
    for n in 1..=2 {
        j.payment(
            local("2026-10-05 08:00"),
            ALICE,
            i64::MAX,
            PaymentMode::Especes,
            "x",
            receipt("R1", n),
        );
    }
    let r = CashReport::compute(&j.events, &names, day(2026, 10, 5), TZ, None);
    assert!(matches!(r, Err(ReportError::Overflow { .. })), "{r:?}");
    let mut j = Journal::default();
    j.refund(
        local("2026-10-05 08:00"),
        ALICE,
        i64::MIN,
        PaymentMode::Especes,
        "R1",
        "",
    );
    let r = CashReport::compute(&j.events, &names, day(2026, 10, 5), TZ, None);
    assert!(r.is_err());
}

#[test]
fn odd_journals_give_reports_that_still_add_up() {
    // A deterministic jumble: every kind of money event, amounts of any sign, references to
    // anything, receipts reused, several days and régies, events out of order.
    let mut seed: u64 = 0x5eed_0ffa_6f45;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let base = local("2026-10-05 00:00");
    let mut events: Vec<Event> = Vec::new();
    for i in 0..1500u64 {
        let at = base + chrono::TimeDelta::minutes(next(3 * 24 * 60) as i64);
        let person = PersonId(next(6) as u32);
        let cents = next(5000) as i64 - 500;
        let regie = ["R1", "R2"][next(2) as usize];
        let mode = match next(4) {
            0 => PaymentMode::Especes,
            1 => cheque("1", "B"),
            2 => PaymentMode::Carte,
            _ => PaymentMode::EnLigne {
                reference: "=x".to_owned(),
            },
        };
        let mut j = Journal::default();
        match next(5) {
            0 | 1 => {
                j.payment(
                    at,
                    person,
                    cents,
                    mode,
                    "p",
                    receipt(regie, next(40) as u32),
                );
            }
            2 => {
                let target = EventRef {
                    gate: "intendance".to_owned(),
                    seq: next(1600),
                };
                j.cancel(
                    at,
                    &target,
                    receipt(regie, next(40) as u32),
                    person,
                    cents,
                    "r",
                );
            }
            3 => {
                j.refund(at, person, cents, mode, regie, "r");
            }
            _ => {
                j.meal(at, person, cents);
            }
        }
        let mut e = j.events.remove(0);
        e.seq = i + 1;
        events.push(e);
    }
    events.reverse();
    for d in 4..=8 {
        for regie in [None, Some("R1"), Some("R2")] {
            let r = report(&events, day(2026, 10, d), regie);
            let lines: i64 = r.lines().iter().map(|l| l.counted_cents).sum();
            assert_eq!(lines, r.total_cents());
            if regie.is_none() {
                // (Per régie, a cancellation here may name another régie than its payment's.)
                assert_eq!(
                    r.total_cents(),
                    independent_total(&events, day(2026, 10, d), regie),
                    "{d}"
                );
            }
            assert!(r.to_pdf().starts_with(b"%PDF-1.4"));
            assert!(r.to_csv().starts_with('\u{feff}'));
        }
    }
}

#[test]
fn instants_at_the_ends_of_time_and_a_roster_as_directory_do_not_panic() {
    let mut j = Journal::default();
    for at in [
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ] {
        j.payment(at, ALICE, 100, PaymentMode::Especes, "x", receipt("R1", 1));
        j.refund(at, ALICE, 100, PaymentMode::Especes, "R1", "x");
    }
    for d in [NaiveDate::MIN, NaiveDate::MAX, day(2026, 10, 5)] {
        let r = CashReport::compute(&j.events, persons().as_slice(), d, TZ, None).unwrap();
        assert!(r.to_pdf().starts_with(b"%PDF-1.4"));
        let _ = r.to_csv();
    }
    let r = CashReport::compute(&week(), persons().as_slice(), day(2026, 10, 5), TZ, None).unwrap();
    assert_eq!(r.lines()[0].name, "MARTIN Alice");
}

#[test]
fn the_report_serialises_for_the_kiosk_and_the_command_line() {
    let r = report(&week(), day(2026, 10, 5), Some("R1"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["total_cents"], 6050);
    assert_eq!(json["day"], "2026-10-05");
    assert_eq!(json["lines"][1]["receipt"], "R1-2026-00002");
    assert_eq!(json["lines"][1]["kind"], "payment");
    assert_eq!(json["lines"][1]["cancelled"]["day"], "2026-10-07");
    assert_eq!(json["modes"][0]["label"], "Espèces");
}
