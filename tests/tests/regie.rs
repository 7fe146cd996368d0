//! The régie from the command line (`selfgate payment …`): bad input refused with a clear error
//! and nothing written; payments, cancellations and refunds through the running daemon, in force
//! at the gate at once; receipt numbers gap-free across SIGKILLs during a stream of payments,
//! with every balance equal to an independent sum over the journal; a school week at the régie
//! whose cash reports and month reconciliation agree to the cent with the journal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use selfgate_tests::*;

/// `selfgate payment ARGS… --config CONFIG`.
fn payment(config: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["payment"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--config", config.to_str().unwrap()]);
    selfgate_run(all)
}

/// Every person's balance from `selfgate persons --json`, by identifiant.
fn balances(data: &std::path::Path) -> BTreeMap<String, i64> {
    let out = selfgate_run(["persons", "--json", "--data", data.to_str().unwrap()]);
    out.success();
    parse_json_lines(&out.stdout)
        .iter()
        .map(|p| {
            (
                p["external_id"]
                    .as_str()
                    .or(p["identifiant"].as_str())
                    .or(p["person"].as_str())
                    .unwrap()
                    .to_owned(),
                p["balance_cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The independent sum: each person's balance from the journal's money events alone.
fn balances_from_journal(events: &[Value]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for e in events {
        let Some(person) = e["person"].as_str() else {
            continue;
        };
        let delta = match e["kind"].as_str().unwrap() {
            "passage" if e["verdict"] == "pass" => -e["charge_cents"].as_i64().unwrap(),
            "correction" => e["refund_cents"].as_i64().unwrap(),
            "credit" => e["credit_cents"].as_i64().unwrap(),
            "payment" | "payment_cancel" | "refund" => e["cents"].as_i64().unwrap(),
            _ => 0,
        };
        *out.entry(person.to_owned()).or_default() += delta;
    }
    out
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_nothing_is_written() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 2);
    let data = data_dir(dir.path());
    let before = journal(&data).len();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "add",
                "--person",
                "C0000",
                "--amount=-5",
                "--mode",
                "especes",
                "--by",
                "a",
            ],
            "doit être positif",
        ),
        (
            &[
                "add", "--person", "C0000", "--amount", "0", "--mode", "especes", "--by", "a",
            ],
            "doit être positif",
        ),
        (
            &[
                "add", "--person", "C0000", "--amount", "12,345", "--mode", "especes", "--by", "a",
            ],
            "12,345",
        ),
        (
            &[
                "add", "--person", "NOBODY", "--amount", "10", "--mode", "especes", "--by", "a",
            ],
            "NOBODY",
        ),
        (
            &[
                "add", "--person", "C0000", "--amount", "10", "--mode", "cheque", "--by", "a",
            ],
            "chèque se note avec son numéro",
        ),
        (
            &[
                "add", "--person", "C0000", "--amount", "10", "--mode", "bitcoin", "--by", "a",
            ],
            "bitcoin",
        ),
        (
            &[
                "cancel",
                "--receipt",
                "R-2026-00099",
                "--by",
                "a",
                "--reason",
                "x",
            ],
            "R-2026-00099",
        ),
        (
            &[
                "cancel",
                "--receipt",
                "nonsense",
                "--by",
                "a",
                "--reason",
                "x",
            ],
            "nonsense",
        ),
        (
            &[
                "refund", "--person", "C0001", "--amount", "100,01", "--mode", "especes", "--by",
                "a", "--reason", "départ",
            ],
            "100,01",
        ),
        (
            &[
                "add", "--person", "C0000", "--amount", "10", "--mode", "especes", "--by", "a",
                "--regie", "ZZ",
            ],
            "ZZ",
        ),
    ];
    for (args, says) in cases {
        let mut with_lang = args.to_vec();
        with_lang.extend_from_slice(&["--lang", "fr"]);
        payment(&config, &with_lang).failure().stderr_has(&[says]);
    }
    assert_eq!(
        journal(&data).len(),
        before,
        "a refused operation wrote nothing"
    );

    // A cancellation twice: the second is refused, the first stands.
    payment(
        &config,
        &[
            "add", "--person", "C0000", "--amount", "20", "--mode", "especes", "--by", "a",
        ],
    )
    .success()
    .stdout_has(&["R-", "00001"]);
    let receipt = {
        let out = payment(&config, &["list", "--json"]);
        out.success();
        parse_json_lines(&out.stdout)[0]["receipt"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    payment(
        &config,
        &[
            "cancel",
            "--receipt",
            &receipt,
            "--by",
            "a",
            "--reason",
            "erreur de saisie",
        ],
    )
    .success()
    .stdout_has(&["cancelled"]);
    payment(
        &config,
        &[
            "cancel",
            "--receipt",
            &receipt,
            "--by",
            "a",
            "--reason",
            "encore",
            "--lang",
            "fr",
        ],
    )
    .failure()
    .stderr_has(&["déjà annulée"]);
    assert_eq!(balances(&data)["C0000"], 10_000);
}

#[test]
fn payments_cancellations_and_refunds_through_the_running_daemon_are_in_force_at_once() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 3);
    let data = data_dir(dir.path());
    let (mut daemon, _kiosk) = start_daemon(&config);
    payment(
        &config,
        &[
            "add",
            "--person",
            "C0000",
            "--amount",
            "20,00",
            "--mode",
            "especes",
            "--payer",
            "Mme Eleve0",
            "--by",
            "intendance",
        ],
    )
    .success()
    .stdout_has(&["receipt R-", "00001", "€20.00", "€120.00"]);
    payment(
        &config,
        &[
            "add",
            "--person",
            "C0001",
            "--amount",
            "35",
            "--mode",
            "cheque",
            "--cheque-number",
            "8812345",
            "--bank",
            "Crédit Mutuel",
            "--by",
            "intendance",
            "--lang",
            "fr",
        ],
    )
    .success()
    .stdout_has(&["quittance R-", "00002", "35,00 €", "Chèque", "135,00 €"]);
    payment(
        &config,
        &[
            "add",
            "--person",
            "C0002",
            "--amount",
            "5",
            "--mode",
            "carte",
            "--by",
            "intendance",
        ],
    )
    .success();
    let list = payment(&config, &["list", "--json"]);
    list.success();
    let listed = parse_json_lines(&list.stdout);
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[1]["mode"], "cheque");
    assert_eq!(listed[1]["mode_detail"], "n° 8812345, Crédit Mutuel");
    let third = listed[2]["receipt"].as_str().unwrap().to_owned();
    payment(
        &config,
        &[
            "cancel",
            "--receipt",
            &third,
            "--by",
            "intendance",
            "--reason",
            "carte refusée",
        ],
    )
    .success();
    payment(
        &config,
        &[
            "refund",
            "--person",
            "C0002",
            "--amount",
            "100",
            "--mode",
            "virement",
            "--by",
            "intendance",
            "--reason",
            "départ de l'établissement",
        ],
    )
    .success()
    .stdout_has(&["refunded", "€0.00"]);

    // The gate decides on the new balances at once: C0002 has nothing left.
    let mut pipe = open_fifo(dir.path());
    for i in 0..3 {
        writeln!(pipe, "{}", fifo_badge(i)).unwrap();
        pipe.flush().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let passages = loop {
        let p: Vec<Value> = journal(&data)
            .into_iter()
            .filter(|e| e["kind"] == "passage")
            .collect();
        if p.len() >= 3 || Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The balances the gate decided on are those after the régie's operations.
    let decided: Vec<(&str, &str, i64)> = passages
        .iter()
        .map(|p| {
            (
                p["person"].as_str().unwrap(),
                p["reason"].as_str().unwrap(),
                p["balance_after_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decided,
        [
            ("C0000", "ticket", 12_000 - 390),
            ("C0001", "ticket", 13_500 - 390),
            // Refunded to zero, one meal on the overdraft.
            ("C0002", "ticket", -390),
        ]
    );
    terminate(&mut daemon);
    let events = journal(&data);
    assert_eq!(balances(&data), balances_from_journal(&events));
    assert_eq!(balances(&data)["C0000"], 12_000 - 390);
}

#[test]
fn receipt_numbers_stay_gap_free_when_the_daemon_is_killed_during_a_stream_of_payments() {
    let dir = tempdir();
    let persons = 20;
    let config = fifo_gate(dir.path(), persons);
    let data = data_dir(dir.path());
    // Receipts printed to the staff: each must be in the journal, with its amount.
    let printed: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut n = 0usize;
    for _cycle in 0..6 {
        let (mut daemon, _) = start_daemon(&config);
        let stop = Arc::new(AtomicBool::new(false));
        let stream = {
            let (stop, printed, config) = (stop.clone(), printed.clone(), config.clone());
            let start = n;
            std::thread::spawn(move || {
                let mut k = start;
                while !stop.load(Ordering::Relaxed) {
                    let cents = 100 + (k as i64 * 37) % 900;
                    let amount = format!("{},{:02}", cents / 100, cents % 100);
                    let person = format!("C{:04}", k % 20);
                    let out = payment(
                        &config,
                        &[
                            "add", "--person", &person, "--amount", &amount, "--mode", "especes",
                            "--by", "régie",
                        ],
                    );
                    if out.status.success() {
                        let receipt = out
                            .stdout
                            .split_whitespace()
                            .nth(1)
                            .unwrap()
                            .trim_end_matches(':')
                            .to_owned();
                        printed.lock().unwrap().push((receipt, cents));
                    }
                    k += 1;
                }
                k
            })
        };
        let mut pipe = open_fifo(dir.path());
        let kill_after = Duration::from_millis(300 + next() % 700);
        let started = Instant::now();
        let mut badge = 0;
        while started.elapsed() < kill_after {
            let _ = writeln!(pipe, "{}", fifo_badge(badge % persons)).and_then(|()| pipe.flush());
            badge += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        n = stream.join().unwrap();
    }
    let out = payment(&config, &["list", "--json"]);
    out.success();
    let listed = parse_json_lines(&out.stdout);
    let numbers: Vec<u64> = listed
        .iter()
        .map(|p| {
            p["receipt"]
                .as_str()
                .unwrap()
                .rsplit('-')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        numbers.len() >= 12,
        "too few payments went through: {numbers:?}"
    );
    eprintln!(
        "{} payments over 6 kills, {} printed to the staff",
        numbers.len(),
        printed.lock().unwrap().len()
    );
    assert_eq!(
        numbers,
        (1..=numbers.len() as u64).collect::<Vec<_>>(),
        "receipts numbered 1, 2, 3… with no gap and no repeat"
    );
    let by_receipt: HashMap<&str, i64> = listed
        .iter()
        .map(|p| (p["receipt"].as_str().unwrap(), p["cents"].as_i64().unwrap()))
        .collect();
    for (receipt, cents) in printed.lock().unwrap().iter() {
        assert_eq!(
            by_receipt.get(receipt.as_str()),
            Some(cents),
            "receipt {receipt} printed to the staff"
        );
    }
    let events = journal(&data);
    assert_eq!(
        balances(&data),
        balances_from_journal(&events),
        "every balance is the journal's sum"
    );
}

/// A school in Paris's time zone, lunch on weekdays, tiers T1 (1,00 €) and T2 (2,50 €) beside
/// the pupils' 4,00 €, one régie `INT` at this gate.
fn week_school(dir: &std::path::Path) -> std::path::PathBuf {
    let roster = "identifiant;nom;prenom;classe;categorie;regime;badge;tranche\n\
                  A1;Arnaud;Alice;6A;eleve;externe;0D00000001;T1\n\
                  B2;Bernard;Basile;5B;eleve;externe;0D00000002;T2\n\
                  C3;Caron;Chloé;4C;eleve;externe;0D00000003;\n\
                  D4;Dumas;Denis;3D;eleve;externe;0D00000004;\n";
    std::fs::write(dir.join("roster.csv"), roster).unwrap();
    let config = format!(
        r#"[school]
name = "Collège de la semaine"
timezone = "Europe/Paris"
public_holidays = false
year_start = "2026-09-01"
year_end = "2027-07-06"
debounce_ms = 0
[store]
data_dir = {data}
[gate]
id = "ligne-1"
pulse_ms = 50
[[gate.readers]]
name = "pipe"
kind = "line"
path = {fifo}
[gate.turnstile]
kind = "simulated"
[kiosk]
listen = "127.0.0.1:0"
[[services]]
code = "dejeuner"
start = "11:00"
end = "14:00"
days = "lun mar mer jeu ven"
[tiers]
T1 = "QF de 0 à 600 €"
T2 = "QF de 601 à 1 200 €"
[[tariffs]]
category = "eleve"
price = "4,00"
overdraft_meals = 1
[tariffs.tiers.T1]
price = "1,00"
[tariffs.tiers.T2]
price = "2,50"
[[regies]]
code = "INT"
name = "Intendance"
node = "ligne-1"
"#,
        data = toml_str(&dir.join("data").display().to_string()),
        fifo = toml_str(&dir.join("reader.fifo").display().to_string()),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, config).unwrap();
    import_roster(&dir.join("roster.csv"), &path);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(dir.join("reader.fifo"))
            .status()
            .unwrap()
            .success()
    );
    path
}

/// The receipt a `payment add` printed (`receipt INT-2026-00001: …`).
fn receipt_of(out: &Output) -> String {
    out.success();
    out.stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned()
}

#[test]
fn a_school_week_at_the_regie_reconciles_to_the_cent_with_the_journal() {
    let dir = tempdir();
    let config = week_school(dir.path());
    let data = data_dir(dir.path());
    let cfg = config.to_str().unwrap();
    let pay = |person: &str, amount: &str, mode: &[&str]| {
        let mut args = vec![
            "add",
            "--person",
            person,
            "--amount",
            amount,
            "--by",
            "régisseur",
            "--payer",
            "famille",
        ];
        args.extend_from_slice(mode);
        receipt_of(&payment(&config, &args))
    };
    let cash: &[&str] = &["--mode", "especes"];
    let cheque: &[&str] = &[
        "--mode",
        "cheque",
        "--cheque-number",
        "1234567",
        "--bank",
        "CIC",
    ];
    let days = [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ];
    let mut eaters: Vec<&str> = vec!["0D00000001", "0D00000002", "0D00000003", "0D00000004"];
    for (n, day) in days.iter().enumerate() {
        // The daemon's clock at 11:30 in Paris that day: payments and meals are that day's.
        let start = format!("{day}T11:30:00+01:00");
        let (mut daemon, _) =
            start_daemon_with(&config, &[("SELFGATE_TEST_CLOCK_START", start.as_str())]);
        match n {
            0 => {
                pay("A1", "20", cash);
                pay("B2", "30,00", cheque);
                pay("C3", "40", cash);
            }
            1 => {
                let wrong = pay("D4", "10", &["--mode", "carte"]);
                payment(
                    &config,
                    &[
                        "cancel",
                        "--receipt",
                        &wrong,
                        "--by",
                        "régisseur",
                        "--reason",
                        "mauvais élève",
                    ],
                )
                .success();
                pay("D4", "20", cash);
            }
            3 => {
                // A typing mistake, seen the same afternoon.
                let typo = pay("B2", "300", cheque);
                payment(
                    &config,
                    &[
                        "cancel",
                        "--receipt",
                        &typo,
                        "--by",
                        "régisseur",
                        "--reason",
                        "montant erroné",
                    ],
                )
                .success();
            }
            4 => {
                // Denis leaves the school: what is left is given back, and he does not eat.
                let left = balances(&data)["D4"];
                assert!(left > 0, "{left}");
                let amount = format!("{},{:02}", left / 100, left % 100);
                payment(
                    &config,
                    &[
                        "refund",
                        "--person",
                        "D4",
                        "--amount",
                        &amount,
                        "--mode",
                        "virement",
                        "--by",
                        "régisseur",
                        "--reason",
                        "départ de l'établissement",
                    ],
                )
                .success();
                eaters.retain(|b| *b != "0D00000004");
            }
            _ => {}
        }
        let mut pipe = open_fifo(dir.path());
        for b in &eaters {
            writeln!(pipe, "{b}").unwrap();
            pipe.flush().unwrap();
        }
        let want = eaters.len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while journal(&data)
            .iter()
            .filter(|e| e["kind"] == "passage" && e["day"] == *day)
            .count()
            < want
        {
            assert!(
                Instant::now() < deadline,
                "{day}: the meals were not journaled"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        terminate(&mut daemon);
    }

    let events = journal(&data);
    // Each person was charged their tier's price, every day they ate.
    for e in events.iter().filter(|e| e["kind"] == "passage") {
        assert_eq!(e["verdict"], "pass", "{e}");
        let price = match e["person"].as_str().unwrap() {
            "A1" => 100,
            "B2" => 250,
            _ => 400,
        };
        assert_eq!(e["charge_cents"], price, "{e}");
    }

    // The cash report of each day against an independent sum over the journal: the payments
    // taken that day, less the cancellations and refunds made that day.
    let mut week_total = 0;
    for day in days {
        let expected: i64 = events
            .iter()
            .filter(|e| e["local"].as_str().unwrap().starts_with(day))
            .map(|e| match e["kind"].as_str().unwrap() {
                "payment" | "payment_cancel" | "refund" => e["cents"].as_i64().unwrap(),
                _ => 0,
            })
            .sum();
        let pdf = dir.path().join(format!("caisse-{day}.pdf"));
        let csv = dir.path().join(format!("caisse-{day}.csv"));
        let json = selfgate_run([
            "report",
            "caisse",
            "--day",
            day,
            "--json",
            "--config",
            cfg,
            "--csv",
            csv.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
        ]);
        json.success();
        let start = json.stdout.find('{').unwrap();
        let end = json.stdout.rfind('}').unwrap();
        let report: Value = serde_json::from_str(&json.stdout[start..=end]).unwrap();
        assert_eq!(report["total_cents"], expected, "{day}");
        week_total += expected;
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-1.4"));
        let csv = std::fs::read_to_string(&csv).unwrap();
        for line in report["lines"].as_array().unwrap() {
            if let Some(receipt) = line["receipt"].as_str() {
                assert!(csv.contains(receipt), "{receipt} not in the CSV of {day}");
            }
        }
    }
    // 20 + 30 + 40 + (10 − 10 + 20) + (300 − 300) − Denis's refund.
    let denis_refund: i64 = events
        .iter()
        .filter(|e| e["kind"] == "refund")
        .map(|e| -e["cents"].as_i64().unwrap())
        .sum();
    assert_eq!(denis_refund, 2000 - 4 * 400);
    assert_eq!(week_total, 11_000 - denis_refund);

    // The day's report in French on the terminal: its totals and receipts.
    selfgate_run([
        "report",
        "caisse",
        "--day",
        "2026-11-16",
        "--lang",
        "fr",
        "--config",
        cfg,
    ])
    .success()
    .stdout_has(&["INT-2026-00001", "INT-2026-00003", "Chèque", "90,00 €"]);
    let pdf = dir.path().join("caisse-2026-11-19.pdf");
    match std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            for needle in ["Journal de caisse", "INT-2026-00006", "Chèque"] {
                assert!(text.contains(needle), "{needle} not in the PDF:\n{text}");
            }
        }
        _ => {
            use std::io::Write as _;
            // Past the test runner, which hides what print macros write.
            let _ = writeln!(
                std::io::stderr(),
                "pdftotext is not installed: the PDF's text was not checked"
            );
        }
    }

    // The month: opening + movements = closing, per person and in all, equal to the balances
    // the store holds and to the journal's own sum.
    let month = selfgate_run([
        "report", "mois", "--month", "2026-11", "--json", "--config", cfg,
    ]);
    month.success();
    let start = month.stdout.find('{').unwrap();
    let end = month.stdout.rfind('}').unwrap();
    let report: Value = serde_json::from_str(&month.stdout[start..=end]).unwrap();
    let held = balances(&data);
    let from_journal = balances_from_journal(&events);
    assert_eq!(held, from_journal);
    let t = &report["totals"];
    let total = |k: &str| t[k].as_i64().unwrap();
    assert_eq!(total("opening_cents"), 0);
    assert_eq!(total("payments_cents"), 11_000 + 1000 + 30_000);
    assert_eq!(total("cancellations_cents"), 1000 + 30_000);
    assert_eq!(total("refunds_cents"), denis_refund);
    let meals: i64 = events
        .iter()
        .filter(|e| e["kind"] == "passage")
        .map(|e| e["charge_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(total("meals_cents"), meals);
    assert_eq!(total("closing_cents"), held.values().sum::<i64>());
    for row in report["rows"].as_array().unwrap() {
        let id = row["person"].as_u64().unwrap();
        let name = row["name"].as_str().unwrap();
        let external = ["A1", "B2", "C3", "D4"][usize::try_from(id).unwrap()];
        assert_eq!(
            row["movements"]["closing_cents"].as_i64().unwrap(),
            held[external],
            "{name}"
        );
    }
    assert_eq!(held["D4"], 0, "Denis left with nothing owed either way");
}
