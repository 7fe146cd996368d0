//! Charlemagne's money through the real binary (`docs/charlemagne-compta.md`): payment files
//! imported twice, then an overlapping export (Windows-1252) through the running daemon, then
//! a watched folder: each payment credited once, balances equal to an independent sum; bad
//! files refused with the line named and nothing credited; the month's consumptions exported,
//! read back by Python's csv module, their totals equal to the meals the journal charged in the
//! month and debits equal to credits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use selfgate_tests::*;

/// Three pupils whose identifiants are Charlemagne's IDELEVE; lunch and dinner in Paris; a
/// folder watched for payment files and one for the consumptions.
fn private_school(dir: &Path) -> PathBuf {
    let roster = "identifiant;nom;prenom;classe;categorie;regime;badge;tranche\n\
                  4521;Arnaud;Alice;6A;eleve;externe;0D00000001;T1\n\
                  4522;Bernard;Basile;5B;eleve;externe;0D00000002;\n\
                  4523;Cœurdevey;Chloé;4C;eleve;externe;0D00000003;\n";
    std::fs::write(dir.join("roster.csv"), roster).unwrap();
    let config = format!(
        r#"[school]
name = "Institution Sainte-Marie"
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
label = "Déjeuner"
start = "11:00"
end = "14:00"
days = "lun mar mer jeu ven"
[[services]]
code = "diner"
label = "Dîner"
start = "18:00"
end = "20:00"
days = "lun mar mer jeu ven"
[tiers]
T1 = "QF de 0 à 600 €"
[[tariffs]]
category = "eleve"
price = "4,00"
overdraft_meals = 2
[tariffs.service_prices]
diner = "3,20"
[tariffs.tiers.T1]
price = "1,00"
[charlemagne]
journal = "RS"
debit_account = "4111000"
debit_label = "Familles"
credit_account = "7061000"
credit_label = "Demi-pension"
[charlemagne.service_accounts.diner]
account = "7062000"
label = "Internat"
[[exchanges]]
name = "charlemagne-encaissements"
kind = "charlemagne_encaissements"
schedule = "0 0 3 1 1 *"
target = {inbox}
[[exchanges]]
name = "charlemagne-consommations"
kind = "charlemagne_consommations"
schedule = "0 0 3 1 1 *"
target = {outbox}
"#,
        data = toml_str(&dir.join("data").display().to_string()),
        fifo = toml_str(&dir.join("reader.fifo").display().to_string()),
        inbox = toml_str(&dir.join("inbox").display().to_string()),
        outbox = toml_str(&dir.join("outbox").display().to_string()),
    );
    let path = dir.join("selfgate.toml");
    std::fs::write(&path, config).unwrap();
    import_roster(&dir.join("roster.csv"), &path);
    std::fs::create_dir_all(dir.join("inbox")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("reader.fifo"))
            .status()
            .unwrap()
            .success()
    );
    path
}

fn fixture_file(name: &str) -> PathBuf {
    fixture(&format!("charlemagne-money/{name}"))
}

/// `selfgate import charlemagne encaissements FILE --config CONFIG`.
fn import(config: &Path, file: &Path) -> Output {
    selfgate_run([
        "import".as_ref(),
        "charlemagne".as_ref(),
        "encaissements".as_ref(),
        file.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ])
}

/// Every person's balance from `selfgate persons --json`, by identifiant.
fn balances(data: &Path) -> BTreeMap<String, i64> {
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

/// The journal's imported payments, as (reference, person, cents).
fn imported(data: &Path) -> Vec<(String, String, i64)> {
    journal(data)
        .iter()
        .filter(|e| e["kind"] == "payment" && e["mode"] == "import")
        .map(|e| {
            (
                e["mode_detail"].as_str().unwrap_or_default().to_owned(),
                e["person"].as_str().unwrap().to_owned(),
                e["cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// What the payments of the fixtures are, written down by hand: (reference, IDELEVE, cents).
const PAYMENTS: [(&str, &str, i64); 6] = [
    ("ENC-2026-0101", "4521", 2000),
    ("ENC-2026-0102", "4522", 3550),
    ("ENC-2026-0103", "4523", 1250),
    ("ENC-2026-0104", "4521", 1500),
    ("ENC-2026-0105", "4523", 730),
    ("ENC-2026-0106", "4522", 1000),
];

/// Each pupil's sum of the payments of `refs`, each counted once.
fn expected(refs: &[&str]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = ["4521", "4522", "4523"].map(|p| (p.to_owned(), 0)).into();
    for (r, pupil, cents) in PAYMENTS {
        if refs.contains(&r) {
            *out.get_mut(pupil).unwrap() += cents;
        }
    }
    out
}

#[test]
fn payments_imported_twice_then_an_overlapping_export_are_credited_once() {
    let dir = tempdir();
    let config = private_school(dir.path());
    let data = data_dir(dir.path());

    // On the stopped store: the first file, then the same file again.
    import(&config, &fixture_file("encaissements-a.csv"))
        .success()
        .stdout_has(&["3 encaissement(s) crédité(s)", "0 déjà connu(s)"]);
    assert_eq!(
        balances(&data),
        expected(&["ENC-2026-0101", "ENC-2026-0102", "ENC-2026-0103"])
    );
    import(&config, &fixture_file("encaissements-a.csv"))
        .success()
        .stdout_has(&["0 encaissement(s) crédité(s)", "3 déjà connu(s)"]);
    assert_eq!(imported(&data).len(), 3);

    // Through the running daemon: an overlapping export, in Windows-1252.
    let (mut daemon, _) = start_daemon(&config);
    import(&config, &fixture_file("encaissements-b-windows-1252.csv"))
        .success()
        .stdout_has(&["2 encaissement(s) crédité(s)", "2 déjà connu(s)"]);
    // The imports wait for each other: two at once still credit each payment once.
    let c = fixture_file("encaissements-c.csv");
    let (cfg1, cfg2, c1, c2) = (config.clone(), config.clone(), c.clone(), c.clone());
    let t1 = std::thread::spawn(move || import(&cfg1, &c1));
    let t2 = std::thread::spawn(move || import(&cfg2, &c2));
    let (o1, o2) = (t1.join().unwrap(), t2.join().unwrap());
    o1.success();
    o2.success();
    let credited = [&o1, &o2]
        .iter()
        .filter(|o| o.stdout.contains("1 encaissement(s) crédité(s)"))
        .count();
    assert_eq!(credited, 1, "{o1}\n{o2}");
    // The watched folder, run through the daemon: the same export once more, all known.
    let inbox = dir.path().join("inbox");
    std::fs::copy(&c, inbox.join("export-dimanche.csv")).unwrap();
    selfgate_run([
        "exchange",
        "run",
        "charlemagne-encaissements",
        "--config",
        config.to_str().unwrap(),
    ])
    .success();
    let done = std::fs::read_to_string(inbox.join("done/export-dimanche.txt")).unwrap();
    assert!(
        done.contains("0 encaissement(s)") && done.contains("2 déjà connu(s)"),
        "{done}"
    );
    terminate(&mut daemon);

    // The watched folder on the stopped store: the first file once more, and a bad one.
    std::fs::copy(
        fixture_file("encaissements-a.csv"),
        inbox.join("export-lundi.csv"),
    )
    .unwrap();
    std::fs::copy(
        fixture_file("encaissements-montant-faux.csv"),
        inbox.join("export-mardi.csv"),
    )
    .unwrap();
    selfgate_run([
        "exchange",
        "run",
        "charlemagne-encaissements",
        "--config",
        config.to_str().unwrap(),
    ])
    .success();
    assert!(inbox.join("done/export-lundi.csv").exists());
    let done = std::fs::read_to_string(inbox.join("done/export-lundi.txt")).unwrap();
    assert!(done.contains("3 déjà connu(s)"), "{done}");
    assert!(inbox.join("rejected/export-mardi.csv").exists());
    let why = std::fs::read_to_string(inbox.join("rejected/export-mardi.txt")).unwrap();
    assert!(
        why.contains("ligne 3") && why.contains("12,5,0"),
        "the refusal names the line: {why}"
    );
    assert!(!inbox.join("export-lundi.csv").exists() && !inbox.join("export-mardi.csv").exists());

    // Each payment once, with its reference; balances equal to the sum written by hand, and to
    // the journal's own sum.
    let mut refs: Vec<String> = imported(&data).into_iter().map(|(r, _, _)| r).collect();
    refs.sort();
    let want: Vec<String> = PAYMENTS
        .iter()
        .map(|(r, _, _)| format!("charlemagne:{r}"))
        .collect();
    assert_eq!(refs, want, "each reference journaled once");
    let all: Vec<&str> = PAYMENTS.iter().map(|(r, _, _)| *r).collect();
    assert_eq!(balances(&data), expected(&all));
    let mut from_journal: BTreeMap<String, i64> = BTreeMap::new();
    for (_, person, cents) in imported(&data) {
        *from_journal.entry(person).or_default() += cents;
    }
    assert_eq!(from_journal, expected(&all));
}

#[test]
fn a_bad_file_is_refused_with_its_line_named_and_nothing_credited() {
    let dir = tempdir();
    let config = private_school(dir.path());
    let data = data_dir(dir.path());
    let before = journal(&data).len();
    let balances_before = balances(&data);

    import(&config, &fixture_file("encaissements-montant-faux.csv"))
        .failure()
        .no_panic()
        .stderr_has(&["ligne 3", "12,5,0", "rien n'a été crédité"]);
    // A pupil Charlemagne knows and we do not: the whole file waits, the good line too.
    import(&config, &fixture_file("encaissements-eleve-inconnu.csv"))
        .failure()
        .no_panic()
        .stdout_has(&["ligne 3", "9999"])
        .stderr_has(&["rien n'a été crédité"]);
    let missing = write_file(
        dir.path(),
        "sans-reference.csv",
        "Date;IDELEVE;Montant;Mode\n01/11/2026;4521;5,00;CB\n",
    );
    import(&config, &missing)
        .failure()
        .stderr_has(&["« Référence » absente"]);
    import(&config, &dir.path().join("absent.csv")).failure();

    // The same through the running daemon.
    let (mut daemon, _) = start_daemon(&config);
    import(&config, &fixture_file("encaissements-montant-faux.csv"))
        .failure()
        .stderr_has(&["ligne 3", "12,5,0"]);
    import(&config, &fixture_file("encaissements-eleve-inconnu.csv")).failure();
    terminate(&mut daemon);

    assert_eq!(journal(&data).len(), before, "nothing journaled");
    assert_eq!(balances(&data), balances_before, "no balance changed");
}

/// Reads the two exported files with Python's csv module: the entries' debits and credits,
/// whether each piece balances and each date is the month's last day, the CSV's rows (quantity
/// × unit price = amount) and their sum per pupil.
fn python_reads(tsv: &Path, csv: &Path) -> Value {
    let script = r#"
import csv, json, sys
from decimal import Decimal
def cents(s):
    return int(Decimal(s.replace(',', '.')) * 100)
out = {"debit": 0, "credit": 0, "pieces": {}, "dates": [], "columns": None,
       "per_pupil": {}, "rows_ok": True, "rows": 0, "csv_header": None}
with open(sys.argv[1], encoding='utf-8', newline='') as f:
    r = csv.reader(f, delimiter='\t')
    out["columns"] = next(r)
    for row in r:
        amount = cents(row[6])
        sign = 1 if row[7] == 'D' else -1
        assert row[7] in ('D', 'C'), row
        out["debit" if sign == 1 else "credit"] += amount
        out["pieces"][row[4]] = out["pieces"].get(row[4], 0) + sign * amount
        out["dates"].append(row[0])
with open(sys.argv[2], encoding='utf-8-sig', newline='') as f:
    r = csv.reader(f, delimiter=';')
    out["csv_header"] = next(r)
    for row in r:
        qty, unit, amount = int(row[7]), cents(row[8]), cents(row[9])
        out["rows"] += 1
        if qty * unit != amount:
            out["rows_ok"] = False
        out["per_pupil"][row[0]] = out["per_pupil"].get(row[0], 0) + amount
print(json.dumps(out))
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(tsv)
        .arg(csv)
        .output()
        .expect("/usr/bin/python3 is missing");
    assert!(
        out.status.success(),
        "python could not read the files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_month_s_consumptions_reconcile_with_the_journal_and_balance() {
    let dir = tempdir();
    let config = private_school(dir.path());
    let data = data_dir(dir.path());
    import(&config, &fixture_file("encaissements-a.csv")).success();
    import(&config, &fixture_file("encaissements-b-windows-1252.csv")).success();

    // Three November days of lunches (everyone) and dinners (two of them), and a lunch on the
    // first of December that November's export must leave out.
    let sittings: [(&str, &[&str]); 7] = [
        (
            "2026-11-16T11:30:00+01:00",
            &["0D00000001", "0D00000002", "0D00000003"],
        ),
        ("2026-11-16T18:30:00+01:00", &["0D00000002", "0D00000003"]),
        (
            "2026-11-17T11:30:00+01:00",
            &["0D00000001", "0D00000002", "0D00000003"],
        ),
        ("2026-11-17T18:30:00+01:00", &["0D00000003"]),
        // Basile badges twice: the second is refused (already served), not a meal.
        (
            "2026-11-18T11:30:00+01:00",
            &["0D00000001", "0D00000002", "0D00000002"],
        ),
        ("2026-11-18T18:30:00+01:00", &["0D00000002", "0D00000003"]),
        ("2026-12-01T11:30:00+01:00", &["0D00000001", "0D00000003"]),
    ];
    let mut decided = 0;
    for (start, badges) in sittings {
        let (mut daemon, _) = start_daemon_with(&config, &[("SELFGATE_TEST_CLOCK_START", start)]);
        let mut pipe = open_fifo(dir.path());
        for b in badges {
            writeln!(pipe, "{b}").unwrap();
            pipe.flush().unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        decided += badges.len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while journal(&data)
            .iter()
            .filter(|e| e["kind"] == "passage")
            .count()
            < decided
        {
            assert!(Instant::now() < deadline, "{start}: passages not journaled");
            std::thread::sleep(Duration::from_millis(100));
        }
        terminate(&mut daemon);
    }

    // The independent count: the meals the journal charged in November, per pupil.
    let events = journal(&data);
    let mut charged: BTreeMap<String, i64> = BTreeMap::new();
    let mut meals = 0;
    for e in &events {
        if e["kind"] == "passage"
            && e["verdict"] == "pass"
            && e["local"].as_str().unwrap().starts_with("2026-11")
            && e["charge_cents"].as_i64().unwrap() != 0
        {
            *charged
                .entry(e["person"].as_str().unwrap().to_owned())
                .or_default() += e["charge_cents"].as_i64().unwrap();
            meals += 1;
        }
    }
    assert_eq!(meals, 13, "13 November meals charged: {events:#?}");
    let total: i64 = charged.values().sum();
    assert!(
        events.iter().any(|e| e["verdict"] == "deny"),
        "Basile's second lunch was refused"
    );

    let out = dir.path().join("export");
    selfgate_run([
        "export",
        "charlemagne",
        "consommations",
        "--month",
        "2026-11",
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ])
    .success()
    .stdout_has(&["3 élève(s)", "13 repas"]);
    let tsv = out.join("charlemagne-ecritures-2026-11.txt");
    let csv = out.join("charlemagne-consommations-2026-11.csv");
    let read = python_reads(&tsv, &csv);

    let columns: Vec<&str> = read["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        &columns[..8],
        [
            "Date",
            "Journal",
            "Compte",
            "Libellé compte",
            "Pièce",
            "Libellé opération",
            "Montant",
            "Sens"
        ]
    );
    assert_eq!(read["debit"], read["credit"], "debits equal credits");
    assert_eq!(read["debit"].as_i64().unwrap(), total);
    for (piece, balance) in read["pieces"].as_object().unwrap() {
        assert_eq!(balance, 0, "piece {piece} balances");
    }
    assert!(
        read["dates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d == "20261130")
    );
    assert_eq!(read["rows_ok"], true, "quantity × unit price = amount");
    let per_pupil: BTreeMap<String, i64> = read["per_pupil"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .collect();
    assert_eq!(
        per_pupil, charged,
        "each pupil's month is what the journal charged"
    );
    let text = std::fs::read_to_string(&tsv).unwrap();
    assert!(text.contains("\tRS\t7062000\tInternat\t"), "{text}");
    assert!(
        text.contains("\tRS\t4111000\tFamilles\tCONSO-202611-4523\t"),
        "{text}"
    );

    // The scheduled exchange, run on the first of December, writes the same files.
    let (mut daemon, _) = start_daemon_with(
        &config,
        &[("SELFGATE_TEST_CLOCK_START", "2026-12-01T08:00:00+01:00")],
    );
    selfgate_run([
        "exchange",
        "run",
        "charlemagne-consommations",
        "--config",
        config.to_str().unwrap(),
    ])
    .success();
    terminate(&mut daemon);
    let outbox = dir.path().join("outbox");
    assert_eq!(
        std::fs::read(outbox.join("charlemagne-ecritures-2026-11.txt")).unwrap(),
        std::fs::read(&tsv).unwrap()
    );
    assert_eq!(
        std::fs::read(outbox.join("charlemagne-consommations-2026-11.csv")).unwrap(),
        std::fs::read(&csv).unwrap()
    );

    // A month that is not one.
    selfgate_run([
        "export",
        "charlemagne",
        "consommations",
        "--month",
        "2026-13",
        "--config",
        config.to_str().unwrap(),
    ])
    .failure()
    .stderr_has(&["--month"]);
}
