//! The exchanges on a stopped daemon's store (`selfgate exchange run`): kitchen headcounts
//! checked exactly on a small school and parsed back, PRONOTE through an exchange folder, and a
//! malformed or truncated absence file changing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use selfgate::config::Config;
use selfgate::node::exchange::{Exchanges, RunStatus};
use selfgate::store::{Store, WriteOp};
use selfgate_rules::journal::{
    Correction, CorrectionKind, EventKind, EventRef, Passage, Reason, Verdict,
};
use selfgate_rules::model::{
    Category, Forfait, Opposition, OppositionReason, Person, PersonId, Regime, ServiceId,
    ServiceSet, WeekdaySet,
};

use common::TestClock;

fn clock(at: &str) -> Arc<TestClock> {
    TestClock::at(at)
}

const LUNCH: ServiceId = ServiceId(1);

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn config(dir: &std::path::Path, extra: &str) -> Config {
    let text = format!(
        r#"
[school]
uai = "0999999X"
timezone = "Europe/Paris"
public_holidays = false
year_start = "2026-09-01"
year_end = "2027-07-06"
[store]
data_dir = "{data}"
{extra}
"#,
        data = dir.display()
    );
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// P0–P3 demi-pensionnaires (DP 4 jours, lunch), P4–P6 on tickets.
fn school(store: &Store) {
    let forfait = Forfait {
        weekdays: WeekdaySet::DP4,
        services: ServiceSet::single(LUNCH),
        from: d("2026-09-01"),
        to: d("2027-07-06"),
    };
    let ops: Vec<WriteOp> = (0..7u32)
        .map(|i| {
            WriteOp::PutPerson(Person {
                id: PersonId(i),
                external_id: format!("{}", 1000 + i),
                last_name: format!("Nom{i}"),
                first_name: "Prénom".into(),
                class: "4C".into(),
                category: Category::Eleve,
                regime: if i < 4 {
                    Regime::DemiPensionnaire
                } else {
                    Regime::Externe
                },
                forfaits: if i < 4 { vec![forfait.clone()] } else { vec![] },
                passages_per_service: 1,
                tier: None,
            })
        })
        .collect();
    store.write_now(&ops).unwrap();
}

fn pass(person: u32, day: &str, reason: Reason) -> WriteOp {
    WriteOp::Append {
        gate: "ligne-1".into(),
        at: format!("{day}T11:30:00Z").parse().unwrap(),
        kind: EventKind::Passage(Passage {
            credential: Some(format!("B{person}")),
            person: Some(PersonId(person)),
            service: Some(LUNCH),
            day: d(day),
            verdict: Verdict::Pass,
            reason,
            charge_cents: if reason == Reason::Ticket { 390 } else { 0 },
            balance_after_cents: None,
            previous_at: None,
            by: None,
            note: None,
        }),
    }
}

#[tokio::test]
async fn headcounts_forecast_and_actual_exactly_and_the_csv_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("effectifs");
    let config = config(
        dir.path(),
        &format!(
            "[[exchanges]]\nname = \"cuisine\"\nkind = \"effectifs\"\nschedule = \"0 0 14 * * *\"\n\
             software = \"easilys\"\ntarget = \"{}\"\ndays_ahead = 2\nhistory_weeks = 4\n",
            out.display()
        ),
    );
    let store = Store::open(dir.path()).unwrap();
    school(&store);
    // Ticket meals at lunch on the four Mondays and Tuesdays before.
    let mut ops = Vec::new();
    for (day, n) in [
        ("2026-11-09", 4),
        ("2026-11-02", 2),
        ("2026-10-26", 2),
        ("2026-10-19", 1),
        ("2026-10-12", 9), // five weeks back: outside the history
        ("2026-11-10", 2),
        ("2026-11-03", 1),
        ("2026-10-27", 1),
        ("2026-10-20", 0),
    ] {
        for k in 0..n {
            ops.push(pass(4 + k % 3, day, Reason::Ticket));
        }
        // A denial counts for nothing.
        ops.push(WriteOp::Append {
            gate: "ligne-1".into(),
            at: format!("{day}T11:40:00Z").parse().unwrap(),
            kind: EventKind::Passage(Passage {
                verdict: Verdict::Deny,
                reason: Reason::InsufficientBalance,
                ..match pass(6, day, Reason::Ticket) {
                    WriteOp::Append {
                        kind: EventKind::Passage(p),
                        ..
                    } => p,
                    _ => unreachable!(),
                }
            }),
        });
    }
    store.write_now(&ops).unwrap();
    // The first of 9 November's ticket meals was cancelled: three count.
    let first = store
        .events(None)
        .unwrap()
        .into_iter()
        .find(|e| e.passage().is_some_and(|p| p.day == d("2026-11-09")))
        .unwrap();
    store
        .write_now(&[WriteOp::Append {
            gate: "ligne-1".into(),
            at: "2026-11-09T12:00:00Z".parse().unwrap(),
            kind: EventKind::Correction(Correction {
                refers_to: EventRef {
                    gate: first.gate.clone(),
                    seq: first.seq,
                },
                kind: CorrectionKind::Cancel,
                person: first.passage().unwrap().person.unwrap(),
                service: LUNCH,
                day: d("2026-11-09"),
                refund_cents: 390,
                by: Some("intendance".into()),
                note: "erreur".into(),
            }),
        }])
        .unwrap();
    // Today, Monday 16: P0 and P1 on their forfait, P4 on a ticket. P3 is absent on Tuesday.
    store
        .write_now(&[
            pass(0, "2026-11-16", Reason::Forfait),
            pass(1, "2026-11-16", Reason::Forfait),
            pass(4, "2026-11-16", Reason::Ticket),
            WriteOp::PutOpposition(Opposition {
                id: 1,
                person: PersonId(3),
                reason: OppositionReason::AbsentPronote,
                service: Some(LUNCH),
                from: d("2026-11-17"),
                to: Some(d("2026-11-17")),
                note: "PRONOTE".into(),
                lifted: false,
            }),
        ])
        .unwrap();

    // 14:00 in Paris, lunch is over.
    let x = Exchanges::offline(config, store, clock("2026-11-16T13:00:00Z"));
    let r = x.run_by_hand("cuisine").await.unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    let files: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().into_string().unwrap();
    assert_eq!(name, "effectifs-easilys-0999999X-20261116-140000.csv");
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(files[0].path())
        .unwrap();
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "date", "service", "libelle", "type", "inscrits", "absents", "tickets", "total"
        ]
    );
    let rows: BTreeMap<(String, String, String), [u32; 4]> = csv
        .records()
        .map(|r| {
            let r = r.unwrap();
            let n = |i: usize| r[i].parse::<u32>().unwrap();
            (
                (r[0].to_owned(), r[1].to_owned(), r[3].to_owned()),
                [n(4), n(5), n(6), n(7)],
            )
        })
        .collect();
    let row = |date: &str, service: &str, kind: &str| {
        rows.get(&(date.into(), service.into(), kind.into()))
            .copied()
            .unwrap_or_else(|| panic!("no row {date} {service} {kind} in {rows:#?}"))
    };
    // [inscrits, absents, tickets, total]
    assert_eq!(row("2026-11-16", "dejeuner", "reel"), [4, 2, 1, 3]);
    assert_eq!(row("2026-11-16", "petit_dejeuner", "reel"), [0, 0, 0, 0]);
    // Mondays: 3 (4 less the cancelled one), 2, 2, 1 → 2 expected; 9 five weeks back ignored.
    assert_eq!(row("2026-11-16", "dejeuner", "prevision"), [4, 0, 2, 6]);
    // Tuesdays: 2, 1, 1, 0 → 1; P3 absent.
    assert_eq!(row("2026-11-17", "dejeuner", "prevision"), [4, 1, 1, 4]);
    // Wednesday: not a DP 4 jours day, no ticket history.
    assert_eq!(row("2026-11-18", "dejeuner", "prevision"), [0, 0, 0, 0]);
    // Dinner of today (not over) has a forecast, no actual count; none on Sunday 15.
    assert!(rows.contains_key(&("2026-11-16".into(), "diner".into(), "prevision".into())));
    assert!(!rows.contains_key(&("2026-11-16".into(), "diner".into(), "reel".into())));
    assert!(!rows.keys().any(|k| k.0 == "2026-11-15"));
    // Days 16–18 × 3 services of forecasts (dinner is served Monday to Thursday) + today's
    // two services over.
    assert_eq!(rows.len(), 3 * 3 + 2, "{rows:#?}");
}

#[tokio::test]
async fn headcounts_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = config(
        dir.path(),
        &format!(
            "[[exchanges]]\nname = \"cuisine\"\nkind = \"effectifs\"\nschedule = \"0 0 14 * * *\"\n\
             software = \"webgerest\"\nformat = \"json\"\ntarget = \"{}\"\ndays_ahead = 0\n",
            out.display()
        ),
    );
    let store = Store::open(dir.path()).unwrap();
    school(&store);
    let x = Exchanges::offline(config, store, clock("2026-11-16T08:00:00Z"));
    assert_eq!(
        x.run_by_hand("cuisine").await.unwrap().status,
        RunStatus::Ok
    );
    let file = std::fs::read_dir(&out).unwrap().flatten().next().unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
    assert_eq!(doc["logiciel"], "webgerest");
    let lunch = doc["lignes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["service"] == "dejeuner")
        .unwrap();
    assert_eq!(lunch["type"], "prevision");
    assert_eq!(
        (lunch["inscrits"].as_u64(), lunch["total"].as_u64()),
        (Some(4), Some(4))
    );
}

#[tokio::test]
async fn pronote_through_an_exchange_folder_and_bad_files_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pronote");
    let config = config(
        dir.path(),
        &format!(
            "[pronote]\nenabled = true\ntransport = \"folder\"\nfolder = \"{}\"\n\
             tally_times = {{ diner = \"17:00\" }}\n\
             [[exchanges]]\nname = \"absences\"\nkind = \"pronote_absences\"\n\
             schedule = \"0 */5 * * * *\"\n\
             [[exchanges]]\nname = \"non-venus\"\nkind = \"pronote_no_shows\"\n\
             schedule = \"0 0 14 * * *\"\n",
            folder.display()
        ),
    );
    let store = Store::open(dir.path()).unwrap();
    school(&store);
    let at = clock("2026-11-16T09:30:00Z"); // 10:30 in Paris
    let x = Exchanges::offline(config.clone(), store.clone(), at.clone());
    let oppositions = |store: &Store| {
        let e = store
            .load_engine(config.rules.clone(), d("2026-11-16"))
            .unwrap();
        let mut v: Vec<(u32, bool)> = e
            .roster()
            .oppositions()
            .map(|o| (o.person.0, o.lifted))
            .collect();
        v.sort();
        v
    };

    // No file from PRONOTE yet: an error that says so, nothing changed.
    let r = x.run_by_hand("absences").await.unwrap();
    assert_eq!(r.status, RunStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("pas (encore) déposé"),
        "{r:#?}"
    );

    let file = folder
        .join("entrant")
        .join("absences-2026-11-16-dejeuner.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let doc = |ids: &[&str]| {
        let absents: Vec<String> = ids.iter().map(|i| format!("{{\"id\": \"{i}\"}}")).collect();
        format!(
            "{{\n  \"format\": \"selfgate-pronote/1\",\n  \"kind\": \"absences\",\n  \
             \"uai\": \"0999999X\",\n  \"date\": \"2026-11-16\",\n  \"service\": \"dejeuner\",\n  \
             \"generated_at\": \"2026-11-16T09:00:00Z\",\n  \"absents\": [{}]\n}}\n",
            absents.join(", ")
        )
    };
    std::fs::write(&file, doc(&["1001", "1002", "7777"])).unwrap();
    let r = x.run_by_hand("absences").await.unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    assert!(
        r.received[0].contains("1 identifiant(s) inconnu(s) ici : 7777"),
        "{r:#?}"
    );
    assert_eq!(oppositions(&store), [(1, false), (2, false)]);

    // A truncated file, then one for another day: refused with where, nothing applied.
    let full = doc(&["1003"]);
    std::fs::write(&file, &full[..full.len() - 20]).unwrap();
    let r = x.run_by_hand("absences").await.unwrap();
    assert_eq!(r.status, RunStatus::Error);
    let e = r.error.unwrap();
    assert!(
        e.contains("document illisible, ligne 8") && e.contains("rien n'a été changé"),
        "{e}"
    );
    std::fs::write(
        &file,
        full.replace("2026-11-16\",\n  \"service", "2026-11-17\",\n  \"service"),
    )
    .unwrap();
    let r = x.run_by_hand("absences").await.unwrap();
    assert!(
        r.error.as_deref().unwrap().contains("champ `date`"),
        "{r:#?}"
    );
    assert_eq!(oppositions(&store), [(1, false), (2, false)]);

    // PRONOTE lifts 1002 and adds 1003.
    std::fs::write(&file, doc(&["1001", "1003"])).unwrap();
    assert_eq!(
        x.run_by_hand("absences").await.unwrap().status,
        RunStatus::Ok
    );
    assert_eq!(oppositions(&store), [(1, false), (2, true), (3, false)]);

    // After lunch: nobody passed, so every registered pupil is a no-show.
    at.set("2026-11-16T13:00:00Z");
    let r = x.run_by_hand("non-venus").await.unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    let sent: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            folder
                .join("sortant")
                .join("non-venus-2026-11-16-dejeuner.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let ids: Vec<(&str, bool)> = sent["eleves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap(),
                e["absent_pronote"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("1000", false),
            ("1001", true),
            ("1002", false),
            ("1003", true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headcounts_posted_over_https_with_a_token_and_a_timeout_reported() {
    use selfgate_tests::pronote_sim::{Behaviour, PronoteSim};
    let dir = tempfile::tempdir().unwrap();
    let sim = PronoteSim::start("0999999X");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let url = sim.url.replace("/pronote", "/effectifs/import");
    let config = config(
        dir.path(),
        &format!(
            "[[exchanges]]\nname = \"cuisine\"\nkind = \"effectifs\"\nschedule = \"0 0 14 * * *\"\n\
             software = \"adoria\"\ntarget = \"{url}\"\nca_file = \"{}\"\ntoken_file = \"{}\"\n\
             days_ahead = 0\ntimeout_s = 1\n",
            sim.ca_file.display(),
            token.display()
        ),
    );
    let store = Store::open(dir.path()).unwrap();
    school(&store);
    let x = Exchanges::offline(config, store, clock("2026-11-16T08:00:00Z"));
    let r = x.run_by_hand("cuisine").await.unwrap();
    assert_eq!(r.status, RunStatus::Ok, "{r:#?}");
    let posted = sim.posted();
    assert_eq!(posted.len(), 1);
    let (path, auth, body) = &posted[0];
    assert_eq!(path, "/effectifs/import");
    assert_eq!(auth, "Bearer s3cret");
    assert!(
        body.lines()
            .any(|l| l == "2026-11-16;dejeuner;Déjeuner;prevision;4;0;0;4"),
        "{body}"
    );

    sim.behave(Behaviour::Stall(std::time::Duration::from_secs(3)));
    let r = x.run_by_hand("cuisine").await.unwrap();
    assert_eq!(r.status, RunStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("délai dépassé"),
        "{r:#?}"
    );
}
