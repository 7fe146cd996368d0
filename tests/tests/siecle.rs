//! `selfgate import siecle` end to end: the real binary on SIÈCLE exports written for the tests
//! (`tests/fixtures/siecle/`, ISO-8859-15) and the real `../shared/data/siecle/Nomenclature.xml`.

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
        "legal guardians:   none 4, one 1, two 1, more 0",
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
    // 1001 two legal guardians, 1003 one (and a contact), the others none.
    out.success()
        .stdout_has(&["legal guardians:   none 4, one 1, two 1, more 0"]);
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
