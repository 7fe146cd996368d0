//! The decision: `Engine::decide` (and `Engine::process`, which applies it) with arbitrary
//! credential strings, gates and times against a small school (the `simulate` test school,
//! `tests/fixtures/simulate-school.toml`, with the demo roster `tests/fixtures/roster-demo.csv`).
//!
//! Invariants beyond "no panic":
//! - `decide` is pure: the same read twice gives the same passage;
//! - the credential shown is the normalised badge number, or `?…` when it is not one, and a
//!   badge written with separators or in lower case decides as its normalised number;
//! - a pass has a person, a service and an active badge of the roster; an unknown badge is
//!   refused as `unknown_badge` (or `service_closed`), never passed;
//! - a pass charges its price and nothing else: the balance moves by exactly the charge.
#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use selfgate::config::Config;
use selfgate_rules::model::{BadgeNumber, CredentialStatus};
use selfgate_rules::roster_csv::parse_roster;
use selfgate_rules::{Engine, Outcome, Reason, Verdict};

const SCHOOL: &str = include_str!("../../fixtures/simulate-school.toml");
const ROSTER: &[u8] = include_bytes!("../../fixtures/roster-demo.csv");

fn school() -> &'static (Engine, Vec<String>) {
    static ENGINE: OnceLock<(Engine, Vec<String>)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = Config::parse(SCHOOL, "simulate-school.toml").expect("the test school");
        let rows = parse_roster(ROSTER).expect("the demo roster");
        let mut engine = Engine::new(config.rules.clone());
        let at = Utc
            .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
            .single()
            .expect("a time");
        let (ops, _) =
            selfgate::cli::import::plan_roster(&config, engine.roster(), &rows, "ligne-1", at)
                .expect("the demo roster imports");
        selfgate::cli::import::apply_to_engine(&mut engine, &ops);
        let badges = rows
            .iter()
            .filter_map(|r| r.badge.as_ref())
            .map(|b| b.to_string())
            .collect();
        (engine, badges)
    })
}

fn credential(u: &mut Unstructured, badges: &[String]) -> String {
    match u.int_in_range(0..=3u8).unwrap_or(0) {
        // A badge of the roster as a reader might send it: separators, lower case.
        0 | 1 => {
            let b = u.choose(badges).cloned().unwrap_or_default();
            let mut out = String::new();
            for c in b.chars() {
                match u.int_in_range(0..=7u8).unwrap_or(0) {
                    0 => out.push('-'),
                    1 => out.push(':'),
                    2 => out.push(' '),
                    _ => {}
                }
                if u.arbitrary().unwrap_or(false) {
                    out.push(c.to_ascii_lowercase())
                } else {
                    out.push(c)
                }
            }
            out
        }
        _ => u.arbitrary::<String>().unwrap_or_default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let (base, badges) = school();
    let mut engine = base.clone();
    let mut u = Unstructured::new(data);
    // From Monday 16 November 2026 00:00 (Paris), up to two weeks later, and whatever order.
    let monday: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 15, 23, 0, 0)
        .single()
        .expect("a time");
    // `Unstructured` gives defaults once empty: stop there.
    while !u.is_empty() {
        let gate = match u.int_in_range(0..=3u8).unwrap_or(0) {
            0 => u.arbitrary::<String>().unwrap_or_default(),
            1 => "ligne-2".to_owned(),
            _ => "ligne-1".to_owned(),
        };
        let at = monday + TimeDelta::seconds(u.int_in_range(0..=14 * 86_400i64).unwrap_or(0));
        let raw = credential(&mut u, badges);

        let p = engine.decide(&gate, &raw, at);
        assert_eq!(engine.decide(&gate, &raw, at), p, "decide is not pure");
        let shown = p.credential.clone().expect("a read shows its credential");
        match raw.parse::<BadgeNumber>() {
            Ok(n) => {
                assert_eq!(shown, n.as_str());
                assert_eq!(
                    n.as_str().parse::<BadgeNumber>().as_ref(),
                    Ok(&n),
                    "not idempotent"
                );
                assert_eq!(
                    engine.decide(&gate, n.as_str(), at),
                    p,
                    "{raw:?} decides unlike {n}"
                );
            }
            Err(_) => assert!(shown.starts_with('?'), "{raw:?} shown as {shown:?}"),
        }
        let known = engine.roster().credential(&shown);
        match known {
            None => {
                assert_eq!(p.verdict, Verdict::Deny);
                assert!(
                    matches!(p.reason, Reason::UnknownBadge | Reason::ServiceClosed),
                    "{p:?}"
                );
            }
            Some(c) if p.verdict == Verdict::Pass => {
                assert_eq!(c.status, CredentialStatus::Active);
                assert_eq!(p.person, Some(c.person));
                assert!(p.service.is_some());
            }
            Some(_) => {}
        }
        assert!(p.charge_cents >= 0);

        let before = p.person.map(|id| engine.roster().balance(id));
        match engine.process(&gate, &raw, at) {
            Outcome::Repeat => {}
            Outcome::Decided(q) => {
                assert_eq!(q, p, "process decided otherwise than decide");
                if let (Some(id), Some(before)) = (q.person, before) {
                    let charged = if q.verdict == Verdict::Pass {
                        q.charge_cents
                    } else {
                        0
                    };
                    assert_eq!(engine.roster().balance(id), before - charged);
                }
            }
        }
    }
});
