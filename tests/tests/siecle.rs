//! `selfgate import siecle` end to end: the real binary on SIÈCLE exports written for the tests
//! (`tests/fixtures/siecle/`, ISO-8859-15) and the real `../shared/data/siecle/Nomenclature.xml`;
//! the guardians (`--responsables`) kept and listed by `selfgate guardians`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use selfgate_tests::*;

const CONFIG: &str = r#"
[school]
year_start = "2025-09-01"
year_end = "2026-07-03"

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
dp_days = { 4 = "lun mar jeu ven" }
"#;

fn siecle(name: &str) -> PathBuf {
    fixture(&format!("siecle/{name}"))
}

/// The real Nomenclature when the shared folder is there, else our small one.
fn nomenclature() -> PathBuf {
    let real = workspace_root().join("../shared/data/siecle/Nomenclature.xml");
    if real.is_file() {
        real
    } else {
        {
            use std::io::Write as _;
            // Past the test runner, which hides what print macros write.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: ../shared/data/siecle/Nomenclature.xml absent"
            );
        }
        siecle("Nomenclature-small.xml")
    }
}

fn import(config: &Path, eleves: &Path, extra: &[&str]) -> Output {
    let mut cmd = selfgate();
    cmd.args(["import", "siecle", "--config"])
        .arg(config)
        .arg("--eleves")
        .arg(eleves)
        .arg("--nomenclature")
        .arg(nomenclature())
        .args(["--today", "2026-01-15"])
        .args(extra);
    run(&mut cmd)
}

fn persons(data: &Path) -> Vec<Value> {
    let out = selfgate_run([
        std::ffi::OsStr::new("persons"),
        "--data".as_ref(),
        data.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success();
    parse_json_lines(&out.stdout)
}

fn guardians(data: &Path) -> Vec<Value> {
    let out = selfgate_run([
        std::ffi::OsStr::new("guardians"),
        "--data".as_ref(),
        data.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success();
    parse_json_lines(&out.stdout)
}

/// `selfgate import siecle --responsables FILE` alone (the pupils already in the store).
fn import_guardians(config: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut cmd = selfgate();
    cmd.args(["import", "siecle", "--config"])
        .arg(config)
        .arg("--responsables")
        .arg(file)
        .args(["--today", "2026-01-15"])
        .args(extra);
    run(&mut cmd)
}

fn forfaits(p: &Value) -> Vec<(String, Vec<String>, String, String)> {
    p["forfaits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["days"].as_str().unwrap().to_owned(),
                f["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect(),
                f["from"].as_str().unwrap().to_owned(),
                f["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn zip_of(dir: &Path, xml: &Path) -> PathBuf {
    let path = dir.join("ExportXML_ElevesSansAdresses.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    w.start_file(
        "ElevesSansAdresses.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(xml).unwrap()).unwrap();
    w.finish().unwrap();
    path
}

#[test]
fn import_zipped_export_then_reimport_changes_nothing() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let zipped = zip_of(dir.path(), &siecle("ElevesSansAdresses.xml"));
    let out = import(
        &config,
        &zipped,
        &[
            "--responsables",
            siecle("ResponsablesAvecAdresses.xml").to_str().unwrap(),
        ],
    );
    out.success().stdout_has(&[
        "8 pupils read",
        "pupils added:      6 (ELEVE_ID 1001, 1002, 1003, 1004, 1005, 1008)",
        "already gone:      1",
        "pupils rejected:   1",
        "line 90, ELEVE_ID 1007: no name",
        "régime 24 DEMI-PENSIONNAIRE DANS L'ETABLISSEMENT 4: 1",
        "legal guardians:   none 1, one 2, two 3, more 0",
        "8 guardians linked to pupils, imported into",
        "guardians kept:      7 (added 7, updated 0, unchanged 0)",
        "left out:            1 (none of their children is known here)",
        "pupils with a payer: 5",
        "families:            1 (one payer for several children: one notice)",
        "pupils without payer: 1 (ELEVE_ID 1005)",
        "warning: line 42: PERSONNE_ID 9007 (ELEVE_ID 1003) is not in PERSONNES",
    ]);

    let data = data_dir(dir.path());
    let all = persons(&data);
    let by_id = |id: &str| all.iter().find(|p| p["person"] == id).unwrap();
    let ids: Vec<&str> = all.iter().map(|p| p["person"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1001", "1002", "1003", "1004", "1005", "1008"]);
    let row = |id: &str| {
        let p = by_id(id);
        (
            p["name"].as_str().unwrap().to_owned(),
            p["class"].as_str().unwrap().to_owned(),
            p["regime"].as_str().unwrap().to_owned(),
        )
    };
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(row("1001"), s("Éloïse Cœur", "6A", "dp"));
    assert_eq!(row("1002"), s("Noé Lœwy", "4e 1", "dp"));
    assert_eq!(row("1003"), s("Zoé Œuvray", "61", "interne"));
    assert_eq!(row("1004"), s("Léa Martin", "", "dp"));
    assert_eq!(row("1005"), s("Jules Petit", "", "externe"));
    assert_eq!(row("1008"), s("Inès Durand-Bœuf", "", "dp"));
    let f = |days: &str, services: &[&str], from: &str, to: &str| {
        let services = services.iter().map(|s| (*s).to_owned()).collect();
        vec![(days.to_owned(), services, from.to_owned(), to.to_owned())]
    };
    // Services by their codes.
    assert_eq!(
        forfaits(by_id("1001")),
        f("lun mar jeu ven", &["dejeuner"], "2025-09-01", "2026-07-03")
    );
    assert_eq!(
        forfaits(by_id("1002")),
        f(
            "lun mar mer jeu ven",
            &["dejeuner"],
            "2026-01-05",
            "2026-07-03"
        )
    );
    assert_eq!(
        forfaits(by_id("1003")),
        f(
            "lun mar mer jeu ven",
            &["petit_dejeuner", "dejeuner", "diner"],
            "2025-09-01",
            "2026-02-13"
        )
    );
    // 1003 leaves on 13 February: refused from the 14th, and `persons` says so.
    assert_eq!(by_id("1003")["left"], "2026-02-14");
    assert!(by_id("1001")["left"].is_null());
    assert!(forfaits(by_id("1004")).is_empty(), "DP au ticket");
    assert!(forfaits(by_id("1005")).is_empty(), "externe");
    assert_eq!(
        forfaits(by_id("1008")),
        f(
            "lun mar mer jeu ven",
            &["dejeuner"],
            "2025-09-01",
            "2026-07-03"
        )
    );

    // The guardians, from the same transaction.
    let kept = guardians(&data);
    let ids: Vec<&str> = kept
        .iter()
        .map(|g| g["guardian"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["9001", "9002", "9003", "9004", "9005", "9006", "9007"]
    );
    let helene = kept.iter().find(|g| g["guardian"] == "9005").unwrap();
    assert_eq!(helene["name"], "MME Hélène DURAND-BŒUF");
    assert_eq!(helene["city"], "MONTGISCARD");
    let children: Vec<(&str, bool)> = helene["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["eleve_id"].as_str().unwrap(),
                c["payer"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(children, [("1004", true), ("1008", true)]);
    let anne = kept.iter().find(|g| g["guardian"] == "9001").unwrap();
    assert_eq!(anne["name"], "MME Anne CŒUR");
    assert_eq!(anne["children"][0]["payer"], true);

    let journal_before = journal(&data).len();
    // The same files again, plain this time: nothing changes.
    let out = import(&config, &siecle("ElevesSansAdresses.xml"), &[]);
    out.success().stdout_has(&[
        "pupils added:      0",
        "pupils updated:    0",
        "pupils left:       0",
        "pupils unchanged:  6",
    ]);
    assert_eq!(persons(&data), all);
    assert_eq!(journal(&data).len(), journal_before);
    assert_eq!(
        guardians(&data),
        kept,
        "no guardians file: guardians as they were"
    );
}

#[test]
fn guardians_alone_in_french_then_again_then_a_bad_file_changes_nothing() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let data = data_dir(dir.path());
    let file = siecle("ResponsablesAvecAdresses.xml");

    // Before the pupils: a dry run keeps nobody, and writes nothing.
    let out = import_guardians(&config, &file, &["--dry-run"]);
    out.success()
        .stdout_has(&["dry run, nothing written", "left out:            8"]);
    assert!(!data.join("selfgate.redb").exists());

    import(&config, &siecle("ElevesSansAdresses.xml"), &[]).success();
    assert!(guardians(&data).is_empty());
    let mut cmd = selfgate();
    cmd.args(["--lang", "fr", "import", "siecle", "--config"])
        .arg(&config)
        .arg("--responsables")
        .arg(&file)
        .args(["--today", "2026-01-15"]);
    let out = run(&mut cmd);
    out.success().stdout_has(&[
        "8 responsables liés à des élèves, importés dans",
        "responsables gardés :  7 (ajoutés 7, modifiés 0, inchangés 0)",
        "laissés de côté :      1",
        "élèves avec payeur :   5",
        "familles :             1",
        "élèves sans payeur :   1 (ELEVE_ID 1005)",
        "attention : line 42: PERSONNE_ID 9007",
    ]);
    assert!(
        !out.stdout.contains("élèves lus"),
        "no pupils' file, no pupils' report: {}",
        out.stdout
    );
    let kept = guardians(&data);
    assert_eq!(kept.len(), 7);
    let before = persons(&data);

    // Again: unchanged.
    import_guardians(&config, &file, &[])
        .success()
        .stdout_has(&["guardians kept:      7 (added 0, updated 0, unchanged 7)"]);
    assert_eq!(guardians(&data), kept);

    // A file cut in the middle of a person: refused with its element and line, nothing changed.
    let text = std::fs::read(&file).unwrap();
    let cut = text.len()
        - text
            .windows(9)
            .rev()
            .position(|w| w == b"<PERSONNE")
            .unwrap()
        - 9
        + 80;
    let bad = write_file(dir.path(), "cut.xml", &text[..cut]);
    import_guardians(&config, &bad, &[]).failure().stderr_has(&[
        "line ",
        "element <PERSONNE>",
        "nothing was changed",
    ]);
    assert_eq!(guardians(&data), kept);
    assert_eq!(persons(&data), before);

    // The listing in text: who pays is marked.
    let out = selfgate_run([
        std::ffi::OsStr::new("guardians"),
        "--data".as_ref(),
        data.as_os_str(),
    ]);
    out.success()
        .stdout_has(&["MME Hélène DURAND-BŒUF", "1004* 1008*"]);
}

#[test]
fn pre_2018_guardians_file_is_accepted() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let out = import(
        &config,
        &siecle("ElevesSansAdresses.xml"),
        &[
            "--dry-run",
            "--responsables",
            siecle("ResponsablesAvecAdresses-2017.xml")
                .to_str()
                .unwrap(),
        ],
    );
    // 1001 and 1002 two legal guardians, 1003 one (and a contact), the others none; the
    // first legal guardian pays (no PAIE_FRAIS_SCOLAIRES before 2018): 8001 for 1001 and 1002.
    out.success().stdout_has(&[
        "legal guardians:   none 3, one 1, two 2, more 0",
        "dry run, nothing written",
        "guardians kept:      4 (added 4, updated 0, unchanged 0)",
        "pupils with a payer: 3",
        "families:            1",
        "pupils without payer: 3 (ELEVE_ID 1004, 1005, 1008)",
    ]);
    assert!(!data_dir(dir.path()).join("selfgate.redb").exists());
}

#[test]
fn a_truncated_file_is_refused_with_element_and_line_and_nothing_applied() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    import(&config, &siecle("ElevesSansAdresses.xml"), &[]).success();
    let data = data_dir(dir.path());
    let before = persons(&data);

    let out = import(&config, &siecle("ElevesSansAdresses-truncated.xml"), &[]);
    out.failure().stderr_has(&[
        "line 79, element <PRENOM>: the file ends inside <PRENOM>",
        "truncated",
        "nothing was changed",
    ]);
    assert_eq!(persons(&data), before);

    // A bad guardians file refuses the whole import too.
    let bad = write_file(
        dir.path(),
        "resp.xml",
        "<BEE_RESPONSABLES>\n<RESPONSABLES>\n</BEE_RESPONSABLES>\n",
    );
    let out = import(
        &config,
        &siecle("ElevesSansAdresses.xml"),
        &["--responsables", bad.to_str().unwrap()],
    );
    out.failure()
        .stderr_has(&["line 3, element <RESPONSABLES>"]);
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let out = import(&config, &siecle("ElevesSansAdresses.xml"), &["--dry-run"]);
    out.success()
        .stdout_has(&["dry run", "nothing written", "pupils added:      6"]);
    assert!(!data_dir(dir.path()).join("selfgate.redb").exists());
}
