//! The month's reconciliation (*rapprochement mensuel*) on the hand-built week: every person's
//! movements and balances, the identity per person and in total, every total against a sum
//! written here, the debtors, the meals per category, tier and régime, the month's edges in
//! Paris, CSV, and input no journal should hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use selfgate_money::{MonthReport, Movements, ReportError};
use selfgate_rules::journal::{Event, EventKind, PaymentMode, Reason, Verdict};
use selfgate_rules::model::{Category, PersonId, Regime, school_day};

fn october(events: &[Event]) -> MonthReport {
    MonthReport::compute(events, &persons(), 2026, 10, TZ).unwrap()
}

/// What one person's balance is after every event up to `last` (Paris), summed here by kind
/// without `balance_delta` or the report's code.
fn balance_until(events: &[Event], person: PersonId, last: chrono::NaiveDate) -> i64 {
    let mut b = 0;
    for e in events {
        if school_day(TZ, e.at) > last {
            continue;
        }
        match &e.kind {
            EventKind::Passage(p) if p.person == Some(person) && p.verdict == Verdict::Pass => {
                b -= p.charge_cents
            }
            EventKind::Correction(c) if c.person == person => b += c.refund_cents,
            EventKind::Credit(c) if c.person == person => b += c.cents,
            EventKind::Payment(p) if p.person == person => b += p.cents,
            EventKind::PaymentCancel(c) if c.person == person => b -= c.cents,
            EventKind::Refund(r) if r.person == person => b -= r.cents,
            _ => {}
        }
    }
    b
}

/// The identity, written out.
fn identity(m: &Movements) -> i64 {
    m.opening_cents() + m.payments_cents() - m.meals_cents() + m.corrections_cents()
        - m.cancellations_cents()
        - m.refunds_cents()
        + m.credits_cents()
}

#[test]
fn october_has_a_line_for_each_person_with_money_and_the_identity_holds() {
    let events = week();
    let r = october(&events);
    let names: Vec<&str> = r.rows().iter().map(|r| r.name.as_str()).collect();
    // Zoé has no money and no meal: no line. By name.
    assert_eq!(names, ["DURAND Bob", "MARTIN Alice", "PETIT Claire"]);

    let alice = &r.row(ALICE).unwrap().movements;
    assert_eq!(alice.opening_cents(), 1000 - PRICE_T2);
    assert_eq!(
        (alice.payments_count(), alice.payments_cents()),
        (2, 2000 + 1000)
    );
    assert_eq!(
        (alice.meals_count(), alice.meals_cents()),
        (3, 3 * PRICE_T2)
    );
    assert_eq!((alice.refunds_count(), alice.refunds_cents()), (1, 500));
    assert_eq!(alice.cancellations_cents(), 0);
    assert_eq!(alice.corrections_cents(), 0);
    assert_eq!(alice.credits_cents(), 0);
    assert_eq!(alice.closing_cents(), 610 + 3000 - 1170 - 500);

    let bob = &r.row(BOB).unwrap().movements;
    assert_eq!(bob.opening_cents(), -300);
    assert_eq!(bob.payments_cents(), 3000);
    assert_eq!(
        (bob.cancellations_count(), bob.cancellations_cents()),
        (1, 3000)
    );
    assert_eq!(bob.meals_count(), 0, "forfait meals charge nothing");
    assert_eq!(bob.closing_cents(), -300);

    let claire = &r.row(CLAIRE).unwrap().movements;
    assert_eq!(claire.opening_cents(), 0);
    assert_eq!(claire.payments_cents(), 1500 + 1050 + 700);
    assert_eq!(claire.cancellations_cents(), 1500);
    assert_eq!(claire.meals_cents(), 3 * PRICE_COMMENSAL);
    assert_eq!(
        (claire.corrections_count(), claire.corrections_cents()),
        (1, PRICE_COMMENSAL)
    );
    assert_eq!(claire.closing_cents(), 3250 - 1500 - 1560 + 520);

    let sept30 = day(2026, 9, 30);
    let oct31 = day(2026, 10, 31);
    for row in r.rows() {
        let m = &row.movements;
        assert_eq!(m.closing_cents(), identity(m), "{}", row.name);
        assert_eq!(m.closing_cents(), m.closing_check_cents(), "{}", row.name);
        assert_eq!(
            m.opening_cents(),
            balance_until(&events, row.person, sept30)
        );
        assert_eq!(m.closing_cents(), balance_until(&events, row.person, oct31));
    }
    let alice_row = r.row(ALICE).unwrap();
    assert_eq!(alice_row.class, "6A");
    assert_eq!(alice_row.category, Some(Category::Eleve));
    assert_eq!(alice_row.regime, Some(Regime::Externe));
    assert_eq!(alice_row.tier.as_deref(), Some("T2"));
}

#[test]
fn the_totals_are_the_columns_sums_and_reconcile() {
    let events = week();
    let r = october(&events);
    let t = r.totals();
    let rows = r.rows();
    let sum = |f: fn(&Movements) -> i64| rows.iter().map(|r| f(&r.movements)).sum::<i64>();
    assert_eq!(t.opening_cents(), sum(Movements::opening_cents));
    assert_eq!(t.payments_cents(), sum(Movements::payments_cents));
    assert_eq!(t.meals_cents(), sum(Movements::meals_cents));
    assert_eq!(t.corrections_cents(), sum(Movements::corrections_cents));
    assert_eq!(t.cancellations_cents(), sum(Movements::cancellations_cents));
    assert_eq!(t.refunds_cents(), sum(Movements::refunds_cents));
    assert_eq!(t.credits_cents(), sum(Movements::credits_cents));
    assert_eq!(t.closing_cents(), sum(Movements::closing_cents));

    // The same figures summed straight from the events of October.
    let mut payments = 0;
    let mut meals = (0, 0);
    let mut cancellations = 0;
    let mut refunds = 0;
    let mut corrections = 0;
    for e in &events {
        if school_day(TZ, e.at) < day(2026, 10, 1) {
            continue;
        }
        match &e.kind {
            EventKind::Payment(p) => payments += p.cents,
            EventKind::Passage(p) if p.verdict == Verdict::Pass && p.charge_cents != 0 => {
                meals.0 += 1;
                meals.1 += p.charge_cents;
            }
            EventKind::PaymentCancel(c) => cancellations += c.cents,
            EventKind::Refund(x) => refunds += x.cents,
            EventKind::Correction(c) => corrections += c.refund_cents,
            _ => {}
        }
    }
    assert_eq!(t.payments_cents(), payments);
    assert_eq!(t.payments_cents(), 9250);
    assert_eq!((t.meals_count(), t.meals_cents()), meals);
    assert_eq!(t.meals_cents(), 3 * PRICE_T2 + 3 * PRICE_COMMENSAL);
    assert_eq!(t.cancellations_cents(), cancellations);
    assert_eq!(t.refunds_cents(), refunds);
    assert_eq!(t.corrections_cents(), corrections);
    assert_eq!(t.opening_cents(), 1000 - PRICE_T2 - 300);
    assert_eq!(t.closing_cents(), 1940 - 300 + 710);
    assert_eq!(t.closing_cents(), identity(t));
    assert_eq!(t.closing_cents(), t.closing_check_cents());

    // The money per mode adds up to the columns.
    let modes = r.modes();
    assert_eq!(
        modes.iter().map(|m| m.payments_cents).sum::<i64>(),
        t.payments_cents()
    );
    assert_eq!(
        modes.iter().map(|m| m.cancellations_cents).sum::<i64>(),
        t.cancellations_cents()
    );
    assert_eq!(
        modes.iter().map(|m| m.refunds_cents).sum::<i64>(),
        t.refunds_cents()
    );
    let cheque = modes.iter().find(|m| m.mode == "cheque").unwrap();
    assert_eq!(
        (
            cheque.payments_cents,
            cheque.cancellations_cents,
            cheque.net_cents
        ),
        (3000, 3000, 0)
    );
    assert_eq!(r.credit_cents(), 1940 + 710);
    assert_eq!(r.debt_cents(), -300);
}

#[test]
fn the_debtors_are_those_below_zero_the_largest_debt_first() {
    let mut events = week();
    let mut j = Journal::default();
    j.meal(local("2026-10-20 12:00"), ZOE, 1250);
    j.meal(local("2026-10-21 12:00"), ZOE, 1250);
    for mut e in j.events {
        e.gate = "cantine".to_owned();
        events.push(e);
    }
    let r = october(&events);
    let debtors: Vec<(&str, i64)> = r
        .debtors()
        .iter()
        .map(|d| (d.name.as_str(), d.closing_cents))
        .collect();
    assert_eq!(debtors, [("ÉTIENNE Zoé", -2500), ("DURAND Bob", -300)]);
    assert_eq!(r.debt_cents(), -2800);
    // Sorted by name, Étienne comes between Durand and Martin.
    let names: Vec<&str> = r.rows().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["DURAND Bob", "ÉTIENNE Zoé", "MARTIN Alice", "PETIT Claire"]
    );
}

#[test]
fn meals_per_category_tier_and_regime_add_up_to_the_meals_column() {
    let r = october(&week());
    let cat: Vec<(&str, usize, i64, usize)> = r
        .by_category()
        .iter()
        .map(|g| (g.label.as_str(), g.meals, g.cents, g.free_meals))
        .collect();
    assert_eq!(
        cat,
        [
            ("Élève", 3, 3 * PRICE_T2, 2),
            ("Commensal", 3, 3 * PRICE_COMMENSAL, 0),
            ("Hôte de passage", 0, 0, 0),
        ]
    );
    let tiers: Vec<(&str, &str, usize, i64)> = r
        .by_tier()
        .iter()
        .map(|g| (g.code.as_str(), g.label.as_str(), g.meals, g.cents))
        .collect();
    assert_eq!(
        tiers,
        [
            ("T1", "T1", 0, 0),
            ("T2", "T2", 3, 3 * PRICE_T2),
            ("", "—", 3, 3 * PRICE_COMMENSAL),
        ]
    );
    let regimes: Vec<(&str, usize, i64, usize)> = r
        .by_regime()
        .iter()
        .map(|g| (g.label.as_str(), g.meals, g.cents, g.free_meals))
        .collect();
    assert_eq!(
        regimes,
        [
            ("Externe", 6, 3 * PRICE_T2 + 3 * PRICE_COMMENSAL, 0),
            ("Demi-pensionnaire", 0, 0, 2),
            ("Interne", 0, 0, 0),
        ]
    );
    let t = r.totals();
    for groups in [r.by_category(), r.by_tier(), r.by_regime()] {
        assert_eq!(
            groups.iter().map(|g| g.meals).sum::<usize>(),
            t.meals_count()
        );
        assert_eq!(groups.iter().map(|g| g.cents).sum::<i64>(), t.meals_cents());
        assert_eq!(
            groups.iter().map(|g| g.corrections_cents).sum::<i64>(),
            t.corrections_cents()
        );
    }
    let commensal = &r.by_category()[1];
    assert_eq!(
        (commensal.corrections, commensal.corrections_cents),
        (1, 520)
    );
}

#[test]
fn the_month_begins_and_ends_at_local_midnight_in_paris() {
    let mut j = Journal::default();
    // 23:59 on 30 September in Paris (21:59 UTC): September's, so October's opening balance.
    j.credit(local("2026-09-30 23:59"), ALICE, 100);
    // 23:30 UTC on 30 September is 01:30 on 1 October in Paris: October's.
    j.payment(
        utc("2026-09-30T23:30:00Z"),
        ALICE,
        2000,
        PaymentMode::Especes,
        "x",
        receipt("R1", 1),
    );
    // 23:59 on 31 October in Paris (winter time since the 25th: 22:59 UTC): October's.
    j.meal(local("2026-10-31 23:59"), ALICE, PRICE_T2);
    // 23:30 UTC on 31 October is 00:30 on 1 November in Paris; 00:00 UTC is 01:00: November's.
    j.meal(utc("2026-10-31T23:30:00Z"), ALICE, 10_000);
    j.payment(
        utc("2026-11-01T00:00:00Z"),
        ALICE,
        50_000,
        PaymentMode::Especes,
        "x",
        receipt("R1", 2),
    );
    let oct = MonthReport::compute(&j.events, &persons(), 2026, 10, TZ).unwrap();
    let m = &oct.row(ALICE).unwrap().movements;
    assert_eq!(m.opening_cents(), 100);
    assert_eq!(m.payments_cents(), 2000);
    assert_eq!((m.meals_count(), m.meals_cents()), (1, PRICE_T2));
    assert_eq!(m.closing_cents(), 100 + 2000 - PRICE_T2);
    assert_eq!(oct.opening_at(), utc("2026-09-30T22:00:00Z"));
    assert_eq!(oct.closing_at(), utc("2026-10-31T23:00:00Z"));

    let sept = MonthReport::compute(&j.events, &persons(), 2026, 9, TZ).unwrap();
    let m = &sept.row(ALICE).unwrap().movements;
    assert_eq!((m.opening_cents(), m.credits_cents()), (0, 100));
    assert_eq!(m.payments_cents(), 0);
    assert_eq!(m.closing_cents(), 100);

    let nov = MonthReport::compute(&j.events, &persons(), 2026, 11, TZ).unwrap();
    let m = &nov.row(ALICE).unwrap().movements;
    assert_eq!(m.opening_cents(), 100 + 2000 - PRICE_T2);
    assert_eq!(m.meals_cents(), 10_000);
    assert_eq!(m.payments_cents(), 50_000);
    // The closing of one month is the opening of the next.
    assert_eq!(
        oct.row(ALICE).unwrap().movements.closing_cents(),
        m.opening_cents()
    );

    // A UTC calendar would put the 23:30 UTC payment in September: Paris does not.
    let sept_total = sept.totals().payments_cents();
    assert_eq!(sept_total, 0);
}

#[test]
fn events_after_the_month_change_nothing() {
    let events = week();
    let only_october = until_end_of(&events, day(2026, 10, 31));
    let mut later = events.clone();
    let mut j = Journal::default();
    j.payment(
        local("2026-11-02 08:00"),
        BOB,
        9999,
        PaymentMode::Especes,
        "x",
        receipt("R1", 40),
    );
    later.extend(j.events.into_iter().map(|mut e| {
        e.gate = "later".to_owned();
        e
    }));
    assert_eq!(october(&only_october), october(&later));
}

#[test]
fn the_csv_has_french_headers_a_total_line_and_defused_names() {
    let mut people = persons();
    people[1].last_name = "=DURAND".to_owned();
    people[1].first_name = "Bob".to_owned();
    let r = MonthReport::compute(&week(), &people, 2026, 10, TZ).unwrap();
    let csv = r.to_csv();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Nom;Classe;Catégorie;Régime;Tranche;Solde d'ouverture;Versements;Repas (nombre);Repas;\
         Corrections;Annulations de versements;Remboursements;Autres crédits;Solde de clôture"
    );
    assert!(lines.contains(
        &"MARTIN Alice;6A;Élève;Externe;T2;6,10;30,00;3;-11,70;0,00;0,00;-5,00;0,00;19,40"
    ));
    assert!(lines.contains(
        &"'=DURAND Bob;5B;Élève;Demi-pensionnaire;—;-3,00;30,00;0;0,00;0,00;-30,00;0,00;0,00;-3,00"
    ), "{csv}");
    assert!(
        lines.contains(&"Total;;;;;3,10;92,50;6;-27,30;5,20;-45,00;-5,00;0,00;23,50"),
        "{csv}"
    );
    assert!(lines.contains(&"'=DURAND Bob;5B;-3,00"), "debtors: {csv}");
    assert!(lines.contains(&"Total des dettes;;-3,00"));
    assert!(lines.contains(&"—;3;15,60;2;1;5,20"), "tiers: {csv}");
    assert!(
        lines.contains(&"Chèque;1;30,00;-30,00;0,00;0,00"),
        "modes: {csv}"
    );
    assert!(
        lines.contains(&"Total;6;92,50;-45,00;-5,00;42,50"),
        "modes: {csv}"
    );
}

#[test]
fn odd_input_is_reported_or_refused_never_a_panic() {
    // Someone not among the persons, an anonymised charged passage, a cancellation of nothing.
    let mut j = Journal::default();
    j.meal(local("2026-09-10 12:00"), PersonId(77), 400);
    j.passage(
        local("2026-09-11 12:00"),
        None,
        Verdict::Pass,
        Reason::Ticket,
        390,
    );
    j.passage(
        local("2026-10-12 12:00"),
        None,
        Verdict::Pass,
        Reason::Ticket,
        390,
    );
    let nowhere = selfgate_rules::journal::EventRef {
        gate: "x".to_owned(),
        seq: 1,
    };
    j.cancel(
        local("2026-10-13 12:00"),
        &nowhere,
        receipt("R1", 5),
        PersonId(77),
        100,
        "",
    );
    let r = MonthReport::compute(&j.events, &persons(), 2026, 10, TZ).unwrap();
    let row = r.row(PersonId(77)).unwrap();
    assert_eq!(row.name, "personne n° 77");
    assert_eq!(row.category, None);
    assert_eq!(row.movements.opening_cents(), -400);
    assert_eq!(row.movements.closing_cents(), -500);
    assert_eq!(r.unattributed().meals, 1);
    assert_eq!(r.unattributed().before_cents, 390);
    assert_eq!(r.modes().last().unwrap().mode, "inconnu");
    assert!(r.to_csv().contains("Repas anonymisés du mois;1;3,90"));
    assert!(r.to_pdf().starts_with(b"%PDF-1.4"));

    // Sums past 64 bits are refused.
    let mut j = Journal::default();
    j.credit(local("2026-10-01 09:00"), ALICE, i64::MAX);
    j.credit(local("2026-10-02 09:00"), ALICE, 1);
    let r = MonthReport::compute(&j.events, &persons(), 2026, 10, TZ);
    assert!(matches!(r, Err(ReportError::Overflow { .. })), "{r:?}");

    // A charge that cannot be negated moves no balance: the movements disagree with the
    // journal, and the report is refused rather than printed wrong.
    let mut j = Journal::default();
    j.meal(local("2026-10-05 12:00"), ALICE, i64::MIN);
    let r = MonthReport::compute(&j.events, &persons(), 2026, 10, TZ);
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn months_at_the_ends_of_the_calendar_do_not_panic() {
    let mut j = Journal::default();
    for at in [
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ] {
        j.credit(at, ALICE, 100);
        j.meal(at, ALICE, 100);
    }
    let first = chrono::NaiveDate::MIN;
    let last = chrono::NaiveDate::MAX;
    use chrono::Datelike;
    for (y, m) in [
        (first.year(), first.month()),
        (last.year(), last.month()),
        (2026, 10),
        (i32::MIN, 1),
    ] {
        match MonthReport::compute(&j.events, &persons(), y, m, TZ) {
            Ok(r) => {
                assert!(r.to_pdf().starts_with(b"%PDF-1.4"));
                let _ = r.to_csv();
            }
            Err(e) => assert!(matches!(e, ReportError::BadMonth { .. }), "{e}"),
        }
    }
}

#[test]
fn the_report_serialises_for_the_kiosk_and_the_command_line() {
    let r = october(&week());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["totals"]["closing_cents"], 2350);
    assert_eq!(json["totals"]["closing_check_cents"], 2350);
    assert_eq!(json["rows"][0]["name"], "DURAND Bob");
    assert_eq!(json["rows"][0]["regime"], "demi_pensionnaire");
    assert_eq!(json["debtors"][0]["closing_cents"], -300);
    assert_eq!(json["by_tier"][2]["label"], "—");
}
