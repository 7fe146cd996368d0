//! Forfaits billed per term end to end (`selfgate billing …`, `docs/billing.md`): pupils and
//! guardians from the SIÈCLE exports written for the tests (`tests/fixtures/siecle/`), the
//! zone B calendar of 2025–2026 shipped with the product, bad input refused with nothing
//! journaled, runs through the running daemon that journal the differences only, and the
//! documents checked by independent readers: `pdftotext` and `pdftoppm` (poppler-utils) for the
//! notices, Python's openpyxl for the bordereau's workbook. Σ notices = Σ bordereau lines = Σ
//! receivable events of `journal --json`, to the cent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use selfgate_tests::*;

fn config_text(dir: &Path, interne_price: bool) -> String {
    let interne = if interne_price {
        "[[billing.prices]]\nforfait = \"interne\"\nper_day = \"11,50\"\n"
    } else {
        ""
    };
    format!(
        r#"[school]
name = "Collège des Tests"
uai = "0310053P"
address = ["1 rue de l'École", "31000 Toulouse"]
year_start = "2025-09-01"
year_end = "2026-07-03"

[store]
data_dir = {data}

[gate]
id = "self-1"
[[gate.readers]]
name = "pipe"
kind = "line"
path = {fifo}
[gate.turnstile]
kind = "simulated"

[kiosk]
listen = "127.0.0.1:0"

[[services]]
code = "petit_dejeuner"
start = "07:00"
end = "08:00"

[[services]]
code = "dejeuner"
start = "11:30"
end = "13:30"

[[services]]
code = "diner"
start = "18:45"
end = "19:45"

[regimes]
dp_days = {{ 4 = "lun mar jeu ven" }}

[calendar]
zone = "B"

[billing]
payment = "À régler à la régie du collège."

[[billing.terms]]
code = "T1"
from = "2025-09-01"
to = "2025-12-31"

[[billing.terms]]
code = "T2"
from = "2026-01-01"
to = "2026-03-31"
remise_deadline = "2026-04-30"

[[billing.terms]]
code = "T3"
from = "2026-04-01"
to = "2026-07-03"

[[billing.prices]]
forfait = "dp4"
per_day = "4,10"

[[billing.prices]]
forfait = "dp5"
per_day = "3,90"

{interne}"#,
        data = toml_str(&data_dir(dir).to_string_lossy()),
        fifo = toml_str(&dir.join("reader.fifo").to_string_lossy()),
    )
}

fn write_config(dir: &Path, interne_price: bool) -> PathBuf {
    write_file(dir, "selfgate.toml", config_text(dir, interne_price))
}

fn siecle(name: &str) -> PathBuf {
    fixture(&format!("siecle/{name}"))
}

fn billing(config: &Path, args: &[&str]) -> Output {
    let mut cmd = selfgate();
    cmd.arg("billing").args(args).arg("--config").arg(config);
    run(&mut cmd)
}

fn billing_events(data: &Path) -> Vec<Value> {
    journal(data)
        .into_iter()
        .filter(|e| {
            matches!(
                e["kind"].as_str(),
                Some("billing_entry" | "receivable" | "term_closed")
            )
        })
        .collect()
}

fn receivables(data: &Path) -> Vec<Value> {
    billing_events(data)
        .into_iter()
        .filter(|e| e["kind"] == "receivable")
        .collect()
}

fn cents(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// "1 234,56 €", "-16,40 €" → cents.
fn parse_euros(text: &str) -> i64 {
    let t: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '-' || *c == ',')
        .collect();
    let (units, decimals) = t.split_once(',').unwrap_or((&t, "00"));
    let negative = units.starts_with('-');
    let units: i64 = units.trim_start_matches('-').parse().unwrap_or(0);
    let decimals: i64 = decimals.parse().unwrap();
    let v = units * 100 + decimals;
    if negative { -v } else { v }
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is missing: tests/run.sh installs it");
    assert!(out.status.success(), "pdftotext {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

/// The total a notice's text states: what the family pays, or minus what it is paid back.
fn notice_total(text: &str) -> i64 {
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("Total à payer :") {
            return parse_euros(rest);
        }
        if let Some(rest) = line.trim().strip_prefix("Somme qui vous sera versée :") {
            return -parse_euros(rest);
        }
    }
    panic!("no total in the notice:\n{text}");
}

/// The sum of the "Net (€)" column of the bordereau's CSV and its lines' pupils.
fn csv_net(path: &Path) -> (i64, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    // `;`-separated (docs/billing.md); no cell of these fixtures holds a `;` or a quote.
    let rows: Vec<Vec<String>> = text
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(';').map(str::to_owned).collect())
        .collect();
    let header = &rows[0];
    let net = header.iter().position(|h| h == "Net (€)").unwrap();
    let pupil = header
        .iter()
        .position(|h| h == "Identifiant élève")
        .unwrap();
    let mut sum = 0;
    let mut pupils = Vec::new();
    for r in &rows[1..] {
        sum += parse_euros(&r[net]);
        pupils.push(r[pupil].clone());
    }
    (sum, pupils)
}

/// The workbook read back by openpyxl: (Σ of the Net column over the lines, the total row's
/// Net), both in cents.
fn xlsx_net(path: &Path) -> (i64, i64) {
    let script = r#"
import sys, openpyxl
from decimal import Decimal
ws = openpyxl.load_workbook(sys.argv[1]).active
rows = list(ws.iter_rows(values_only=True))
net = list(rows[0]).index("Net (€)")
lines = [r for r in rows[1:] if r[0] != "Total"]
total = [r for r in rows[1:] if r[0] == "Total"][0]
cents = lambda v: int((Decimal(str(v)) * 100).to_integral_value())
print(sum(cents(r[net]) for r in lines), cents(total[net]))
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("/usr/bin/python3 is missing");
    assert!(
        out.status.success(),
        "openpyxl could not read {} (tests/run.sh installs python3-openpyxl): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|n| n.parse::<i64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn import_school(config: &Path) {
    let mut cmd = selfgate();
    cmd.args(["import", "siecle", "--config"])
        .arg(config)
        .arg("--eleves")
        .arg(siecle("ElevesSansAdresses.xml"))
        .arg("--nomenclature")
        .arg(siecle("Nomenclature-small.xml"))
        .arg("--responsables")
        .arg(siecle("ResponsablesAvecAdresses.xml"))
        .args(["--today", "2026-01-15"]);
    run(&mut cmd).success();
}

#[test]
fn bad_input_is_refused_with_the_pupil_named_and_nothing_journaled() {
    let dir = tempdir();
    let config = write_config(dir.path(), false);
    let data = data_dir(dir.path());
    import_school(&config);

    // The interne (1003, Zoé Œuvray) has no price: the run names her, journals nothing.
    billing(&config, &["constate", "--term", "T2"])
        .failure()
        .no_panic()
        .stderr_has(&["Œuvray", "interne", "T2"]);
    assert!(billing_events(&data).is_empty());

    let config = write_config(dir.path(), true);
    // A remise for an externe (1005): no forfait to deduct from.
    billing(
        &config,
        &[
            "remise",
            "--person",
            "1005",
            "--term",
            "T2",
            "--from",
            "2026-01-12",
            "--to",
            "2026-01-23",
            "--proof",
            "certificat",
            "--asked-on",
            "2026-01-26",
        ],
    )
    .failure()
    .no_panic()
    .stderr_has(&["Petit", "T2"]);
    // Asked after the term's deadline (30 April).
    billing(
        &config,
        &[
            "remise",
            "--person",
            "1001",
            "--term",
            "T2",
            "--from",
            "2026-01-12",
            "--to",
            "2026-01-23",
            "--proof",
            "certificat",
            "--asked-on",
            "2026-05-04",
        ],
    )
    .failure()
    .no_panic()
    .stderr_has(&["30/04/2026", "date limite"]);
    // Too short an illness: 3 school days.
    billing(
        &config,
        &[
            "remise",
            "--person",
            "1001",
            "--term",
            "T2",
            "--from",
            "2026-01-12",
            "--to",
            "2026-01-14",
            "--proof",
            "certificat",
            "--asked-on",
            "2026-01-20",
        ],
    )
    .failure()
    .no_panic();
    // An aid file with one bad line: refused whole, the line named.
    let aids = write_file(
        dir.path(),
        "aides.csv",
        "identifiant;trimestre;aide;montant;reference\n\
         1001;T2;bourse;50,00;B-1\n\
         1008;T2;cadeau;10,00;X\n",
    );
    let mut cmd = selfgate();
    cmd.args(["billing", "aides"])
        .arg(&aids)
        .arg("--config")
        .arg(&config);
    run(&mut cmd)
        .failure()
        .no_panic()
        .stderr_has(&["ligne 3", "cadeau"]);
    // An unknown term.
    billing(&config, &["constate", "--term", "T9"])
        .failure()
        .no_panic()
        .stderr_has(&["T9", "T1, T2, T3"]);
    assert!(
        billing_events(&data).is_empty(),
        "nothing is journaled by refused operations"
    );
}

#[test]
fn a_term_billed_through_the_running_daemon_reconciles_to_the_cent() {
    let dir = tempdir();
    let config = write_config(dir.path(), true);
    let data = data_dir(dir.path());
    import_school(&config);
    assert!(
        Command::new("mkfifo")
            .arg(dir.path().join("reader.fifo"))
            .status()
            .unwrap()
            .success()
    );
    let (mut daemon, _kiosk) = start_daemon(&config);

    // An illness of a school week (Monday 12 to Friday 16 January), asked in time; aid.
    billing(
        &config,
        &[
            "remise",
            "--person",
            "1001",
            "--term",
            "T2",
            "--from",
            "2026-01-12",
            "--to",
            "2026-01-16",
            "--proof",
            "certificat du Dr Martin",
            "--asked-on",
            "2026-01-20",
        ],
    )
    .success()
    .stdout_has(&["remise d'ordre du 2026-01-12 au 2026-01-16"]);
    let aids = write_file(
        dir.path(),
        "aides.csv",
        "identifiant;trimestre;aide;montant;reference\n\
         1008;T2;bourse;50,00;B-2026-17\n\
         1002;T2;fonds_social;250,00;FS-3\n",
    );
    let mut cmd = selfgate();
    cmd.args(["billing", "aides"])
        .arg(&aids)
        .arg("--config")
        .arg(&config);
    run(&mut cmd).success();

    // A dry run journals nothing; the run journals bordereau 1.
    billing(&config, &["constate", "--term", "T2", "--dry-run"]).success();
    assert!(receivables(&data).is_empty());
    billing(&config, &["constate", "--term", "T2"])
        .success()
        .stdout_has(&["bordereau n° 1 journalisé", "4 ligne(s)"]);
    let first = receivables(&data);
    assert_eq!(first.len(), 4, "1001, 1002, 1003, 1008: {first:?}");
    let line = |events: &[Value], person: &str| -> Value {
        events
            .iter()
            .find(|e| e["person"] == person)
            .cloned()
            .unwrap_or_else(|| panic!("no receivable for {person}"))
    };
    // By hand, zone B 2025–2026: the term's school weeks are 5 January to 13 February and
    // 2 to 27 March (winter holidays 14 February – 1 March), then Monday 30 and Tuesday 31
    // March: 10 weeks and 2 days. DP 4 jours (Mon, Tue, Thu, Fri): 42 days × 4,10 €; the
    // illness week is 4 of its days. DP 5 jours: 52 days × 3,90 €. The interne leaves on
    // Friday 13 February: 6 weeks, 30 days × 11,50 €.
    let l1001 = line(&first, "1001");
    assert_eq!(cents(&l1001, "forfait_cents"), 42 * 410);
    assert_eq!(cents(&l1001, "remises_cents"), 4 * 410);
    assert_eq!(l1001["debtor"], "9001");
    assert_eq!(cents(&line(&first, "1008"), "forfait_cents"), 52 * 390);
    assert_eq!(cents(&line(&first, "1008"), "aides_cents"), 5_000);
    assert_eq!(cents(&line(&first, "1003"), "forfait_cents"), 30 * 1_150);
    // 1002 arrives on 5 January: the whole term's days; the aid is above the forfait.
    assert_eq!(cents(&line(&first, "1002"), "cents"), 52 * 390 - 25_000);

    // Run again: nothing changed, nothing journaled.
    billing(&config, &["constate", "--term", "T2"])
        .success()
        .stdout_has(&["rien à journaliser"]);
    assert_eq!(receivables(&data).len(), 4);

    // A late aid: the notices wait for the run, which journals that difference only.
    billing(
        &config,
        &[
            "aide",
            "--person",
            "1001",
            "--term",
            "T2",
            "--kind",
            "collectivite",
            "--amount",
            "20,00",
        ],
    )
    .success();
    let notices = dir.path().join("avis");
    billing(
        &config,
        &["avis", "--term", "T2", "--out", notices.to_str().unwrap()],
    )
    .failure()
    .no_panic()
    .stderr_has(&["Cœur", "constate --term T2"]);
    billing(&config, &["clore", "--term", "T2"]).success();
    billing(&config, &["constate", "--term", "T2"])
        .success()
        .stdout_has(&[
            "bordereau n° 2 journalisé",
            "1 ligne(s) dont 1 re-constatation",
        ]);
    let all = receivables(&data);
    assert_eq!(all.len(), 5);
    let re = all.iter().find(|e| e["bordereau"] == 2).unwrap();
    assert_eq!(re["person"], "1001");
    assert_eq!(re["receivable"], "reconstatation");
    assert_eq!(cents(re, "cents"), -2_000);
    assert_eq!(cents(re, "forfait_cents"), 0);
    let journaled: i64 = all.iter().map(|e| cents(e, "cents")).sum();

    // The notices: one per payer, each total read back from the PDF's text.
    billing(
        &config,
        &["avis", "--term", "T2", "--out", notices.to_str().unwrap()],
    )
    .success()
    .stdout_has(&["4 avis aux familles"]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&notices)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("avis-2025-T2-")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let mut notices_sum = 0;
    let mut refunds = 0;
    for f in &files {
        let text = pdftotext(f);
        assert!(text.contains("Collège des Tests"), "{text}");
        assert!(text.contains("UAI 0310053P"), "{text}");
        if text.contains("Avis de versement") {
            refunds += 1;
        }
        notices_sum += notice_total(&text);
    }
    assert_eq!(refunds, 1, "1002's aid exceeds the forfait");
    let anne = files
        .iter()
        .map(|f| pdftotext(f))
        .find(|t| t.contains("Éloïse") || t.contains("CŒUR"))
        .expect("the notice of 1001's family");
    assert!(anne.contains("Remise d'ordre"), "{anne}");
    assert!(anne.contains("31000"), "the payer's address: {anne}");
    assert!(anne.contains("MME Anne CŒUR"), "the payer's name: {anne}");
    let merged = pdftotext(&notices.join("avis-2025-T2.pdf"));
    assert_eq!(merged.matches("Total à payer").count(), 3);
    assert_eq!(notices_sum, journaled, "Σ notices = Σ receivable events");

    // One notice rendered, beside the kiosk's screenshots.
    let shots = workspace_root().join("target/kiosk-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-singlefile"])
        .arg(&files[0])
        .arg(shots.join("avis-aux-familles"))
        .status()
        .expect("pdftoppm (poppler-utils) is missing");
    assert!(status.success());
    assert!(
        std::fs::metadata(shots.join("avis-aux-familles.png"))
            .unwrap()
            .len()
            > 1_000
    );

    // The bordereaux: CSV and the workbook read by openpyxl, against the journal.
    let out = dir.path().join("bordereaux");
    let mut bordereaux_sum = 0;
    for n in ["1", "2"] {
        billing(
            &config,
            &[
                "bordereau",
                "--term",
                "T2",
                "--number",
                n,
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .success()
        .stdout_has(&[&format!("0310053P-2025-T2-B0{n}")]);
        let base = out.join(format!("0310053P-2025-T2-B0{n}"));
        let (csv_sum, pupils) = csv_net(&base.with_extension("csv"));
        let of_journal: i64 = all
            .iter()
            .filter(|e| e["bordereau"].as_u64() == n.parse::<u64>().ok())
            .map(|e| cents(e, "cents"))
            .sum();
        assert_eq!(csv_sum, of_journal, "bordereau {n}: CSV = journal");
        assert_eq!(pupils.len(), if n == "1" { 4 } else { 1 });
        let (lines, total_row) = xlsx_net(&base.with_extension("xlsx"));
        assert_eq!(lines, of_journal, "bordereau {n}: XLSX lines = journal");
        assert_eq!(total_row, of_journal, "bordereau {n}: XLSX total row");
        let pdf = pdftotext(&base.with_extension("pdf"));
        assert!(pdf.contains("Bordereau des droits constatés"), "{pdf}");
        bordereaux_sum += csv_sum;
    }
    assert_eq!(
        bordereaux_sum, journaled,
        "Σ bordereaux = Σ receivable events"
    );
    billing(
        &config,
        &[
            "bordereau",
            "--term",
            "T2",
            "--number",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .failure()
    .no_panic()
    .stderr_has(&["bordereaux 1 à 2"]);
    terminate(&mut daemon);
}
