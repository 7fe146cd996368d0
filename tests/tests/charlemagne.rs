//! `selfgate import charlemagne eleves` end to end: the real binary on one private school's
//! roster as Charlemagne's three export formats give it (`tests/fixtures/charlemagne/`: CSV and
//! HTML in Windows-1252, an XLSX written by openpyxl), then a newer export, then bad files.

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

fn charlemagne(name: &str) -> PathBuf {
    fixture(&format!("charlemagne/{name}"))
}

fn import(config: &Path, file: &Path, today: &str, extra: &[&str]) -> Output {
    let mut cmd = selfgate();
    cmd.args(["import", "charlemagne", "eleves"])
        .arg(file)
        .arg("--config")
        .arg(config)
        .args(["--today", today])
        .args(extra);
    run(&mut cmd)
}

fn listing(what: &str, data: &Path) -> Vec<Value> {
    let out = selfgate_run([
        std::ffi::OsStr::new(what),
        "--data".as_ref(),
        data.as_os_str(),
        "--json".as_ref(),
    ]);
    out.success();
    parse_json_lines(&out.stdout)
}

fn journal_len(data: &Path) -> usize {
    journal(data).len()
}

/// The store as the commands show it: persons and guardians.
fn school(data: &Path) -> (Vec<Value>, Vec<Value>) {
    (listing("persons", data), listing("guardians", data))
}

fn forfaits(p: &Value) -> Vec<String> {
    p["forfaits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let services: Vec<&str> = f["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            format!(
                "{} [{}] {}..{}",
                f["days"].as_str().unwrap(),
                services.join(" "),
                f["from"].as_str().unwrap(),
                f["to"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn each_format_imports_the_same_school() {
    let mut schools = Vec::new();
    for (name, read_as) in [
        (
            "eleves.csv",
            "(CSV, encoding windows-1252), headers at line 1",
        ),
        (
            "eleves.html",
            "(HTML, encoding windows-1252), headers at line 8",
        ),
        ("eleves.xlsx", "(XLSX), headers at row 2"),
    ] {
        let dir = tempdir();
        let config = write_config(dir.path(), CONFIG);
        let out = import(&config, &charlemagne(name), "2026-01-15", &[]);
        out.success().stdout_has(&[
            read_as,
            ": 7 pupils, 5 payers",
            "7 pupils read",
            "pupils added:      7 (ELEVE_ID 20451, 20452, 20460, 20471, 20480, 20490, 20495)",
            "guardians kept:      5 (added 5, updated 0, unchanged 0)",
            "pupils with a payer: 6",
            "families:            1",
            "pupils without payer: 1 (ELEVE_ID 20495)",
        ]);
        assert!(!out.stdout.contains("columns ignored"), "{out}");
        schools.push((name, school(&data_dir(dir.path()))));
    }
    let (persons, guardians) = &schools[0].1;
    for (name, other) in &schools[1..] {
        assert_eq!(&other.0, persons, "{name}: persons differ from the CSV's");
        assert_eq!(
            &other.1, guardians,
            "{name}: guardians differ from the CSV's"
        );
    }

    let by_id = |id: &str| persons.iter().find(|p| p["person"] == id).unwrap();
    let row = |id: &str| {
        let p = by_id(id);
        format!(
            "{} | {} | {} | {}",
            p["name"].as_str().unwrap(),
            p["class"].as_str().unwrap(),
            p["regime"].as_str().unwrap(),
            forfaits(p).join(", ")
        )
    };
    let year = "2025-09-01..2026-07-03";
    assert_eq!(
        row("20451"),
        format!("Éloïse Cœur | 6e A | dp | lun mar mer jeu ven [dejeuner] {year}")
    );
    assert_eq!(
        row("20452"),
        format!("Noël Cœur | CM2 | dp | lun mar jeu ven [dejeuner] {year}")
    );
    assert_eq!(row("20460"), "Anaïs Lœwy | 5e B | externe | ");
    assert_eq!(
        row("20471"),
        format!(
            "Jérôme Bœuf-Durand | 4e C | interne | lun mar mer jeu ven \
             [petit_dejeuner dejeuner diner] {year}"
        )
    );
    assert_eq!(row("20480"), "François Ngô | 6e B | dp | ", "au ticket");
    assert_eq!(
        row("20490"),
        format!("Zoé Œhmichen | 6e A | dp | lun mar mer jeu ven [dejeuner] {year}")
    );
    assert_eq!(
        row("20495"),
        format!("Léa Martin | 5e B | dp | lun mar jeu ven [dejeuner] {year}")
    );

    let names: Vec<String> = guardians
        .iter()
        .map(|g| {
            let kids: Vec<String> = g["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    assert_eq!(c["payer"], true);
                    c["eleve_id"].as_str().unwrap().to_owned()
                })
                .collect();
            format!(
                "{} {} ({} {}) {}",
                g["guardian"].as_str().unwrap(),
                g["name"].as_str().unwrap(),
                g["postal_code"].as_str().unwrap(),
                g["city"].as_str().unwrap(),
                kids.join(" ")
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "charlemagne-famille-9101 Mme Hélène CŒUR (69003 Lyon) 20451 20452",
            "charlemagne-famille-9102 M. Raphaël LŒWY (69002 Lyon) 20460",
            "charlemagne-famille-9103 M. Benoît DURAND (01000 Bourg-en-Bresse) 20471",
            "charlemagne-famille-9104 Mme Thu NGÔ (69007 Lyon) 20480",
            "charlemagne-famille-9105 Mme Françoise ŒHMICHEN (69005 Lyon) 20490",
        ]
    );
}

#[test]
fn reimport_changes_nothing_and_a_newer_file_closes_who_is_gone() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let data = data_dir(dir.path());
    import(&config, &charlemagne("eleves.csv"), "2026-01-15", &[]).success();
    let before = school(&data);
    let journal = journal_len(&data);

    // The same school again, from another format: nothing to do, and the command says so.
    let out = import(
        &config,
        &charlemagne("eleves.xlsx"),
        "2026-01-20",
        &["--lang", "fr"],
    );
    out.success().stdout_has(&[
        "export Charlemagne lu (XLSX), en-têtes ligne 2 : 7 élèves, 5 payeurs",
        "élèves inchangés :     7",
        "rien n'a changé, la base est déjà à jour de ce fichier",
    ]);
    assert_eq!(school(&data), before);
    assert_eq!(journal_len(&data), journal);

    // March: the newer export no longer has Zoé Œhmichen (20490).
    let csv = std::fs::read(charlemagne("eleves.csv")).unwrap();
    let newer: Vec<u8> = csv
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.starts_with(b"20490;"))
        .flatten()
        .copied()
        .collect();
    assert!(newer.len() < csv.len(), "20490's line is gone");
    let newer = write_file(dir.path(), "eleves-mars.csv", newer);
    let out = import(&config, &newer, "2026-03-02", &[]);
    out.success().stdout_has(&[
        "6 pupils read",
        "pupils left:       1 (rights closed, history kept) (ELEVE_ID 20490)",
        "pupils unchanged:  6",
    ]);
    let (persons, guardians) = school(&data);
    assert_eq!(persons.len(), 7, "the person who left is kept");
    let zoe = persons.iter().find(|p| p["person"] == "20490").unwrap();
    assert_eq!(
        forfaits(zoe),
        ["lun mar mer jeu ven [dejeuner] 2025-09-01..2026-03-01"]
    );
    assert_eq!(zoe["left"], "2026-03-02");
    for (old, new) in before.0.iter().zip(&persons) {
        if old["person"] != "20490" {
            assert_eq!(old, new);
        }
    }
    assert_eq!(
        guardians, before.1,
        "her family's payer is kept (retention purges it)"
    );
    // And that newer file again: nothing.
    import(&config, &newer, "2026-03-09", &[])
        .success()
        .stdout_has(&["nothing changed, the store already holds this file"]);
    assert_eq!(school(&data), (persons, guardians));
}

#[test]
fn bad_files_are_refused_with_a_clear_error_and_nothing_changes() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let data = data_dir(dir.path());
    import(&config, &charlemagne("eleves.csv"), "2026-01-15", &[]).success();
    let before = school(&data);
    let journal = journal_len(&data);

    let bad_mapping = write_file(
        dir.path(),
        "mapping.toml",
        "[eleves]\nid = [\"IDELEVE\"]\nnom = [\"NOM\"]\nprenom = [\"PRENOM\"]\n",
    );
    let unknown_regime = write_file(
        dir.path(),
        "regime.csv",
        "IDELEVE;NOM;PRENOM;DATENAISSANCE;CLASSE;REGIME\n\
         20451;Cœur;Éloïse;03/04/2013;6e A;Pension complète\n",
    );
    let cases: Vec<(PathBuf, Vec<&str>, Vec<&str>)> = vec![
        (
            charlemagne("tronque.xlsx"),
            vec![],
            vec!["not a readable XLSX workbook", "truncated or damaged"],
        ),
        (
            charlemagne("mauvais-encodage.csv"),
            vec![],
            vec!["mauvais-encodage.csv: line 1: the file is UTF-16 text"],
        ),
        (
            charlemagne("colonne-manquante.csv"),
            vec![],
            vec![
                "colonne-manquante.csv: line 1: the header row lacks the required column \
                 `naissance` (headers accepted: `DATENAISSANCE`, `Date de naissance`",
                "its columns are: IDELEVE | NOM | PRENOM | CLASSE",
            ],
        ),
        (
            charlemagne("doublons.csv"),
            vec![],
            vec![
                "doublons.csv: line 6, column `IDELEVE`: the id 20452 is already the pupil \
                 of line 3: ids must be unique",
            ],
        ),
        (
            unknown_regime,
            vec![],
            vec!["regime.csv: line 2, column `REGIME`: the régime `Pension complète` is unknown"],
        ),
        (
            charlemagne("eleves.csv"),
            vec!["--mapping", bad_mapping.to_str().unwrap()],
            vec!["mapping.toml: mapping: the required field `eleves.naissance` is not mapped"],
        ),
    ];
    for (file, extra, errors) in cases {
        let out = import(&config, &file, "2026-03-02", &extra);
        out.failure()
            .stderr_has(&errors)
            .stderr_has(&["not imported; nothing was changed"]);
        assert!(out.stdout.is_empty(), "{out}");
        assert_eq!(school(&data), before, "{}", file.display());
        assert_eq!(journal_len(&data), journal, "{}", file.display());
    }

    // A dry run of a newer file says what it would do and does nothing.
    let out = import(
        &config,
        &charlemagne("eleves.html"),
        "2026-03-02",
        &["--dry-run"],
    );
    out.success().stdout_has(&["pupils unchanged:  7"]);
    assert_eq!(school(&data), before);
}

#[test]
fn an_own_mapping_reads_a_school_s_own_headers() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let mapping = write_file(
        dir.path(),
        "mapping.toml",
        "[eleves]\nid = [\"Matricule\"]\nnom = [\"Nom\"]\nprenom = [\"Prénom\"]\n\
         naissance = [\"Né le\"]\nclasse = [\"Classe\"]\nregime = [\"Formule\"]\n\
         [regimes]\n\"Forfait 4\" = \"dp4\"\n\"Pension\" = \"interne\"\n",
    );
    let file = write_file(
        dir.path(),
        "export.csv",
        "Matricule;Nom;Prénom;Né le;Classe;Formule;Remarque;;\n\
         31;Dupont;Jeanne;01/02/2013;6e A;forfait 4;;;\n\
         32;Durand;Paul;02/03/2012;5e B;PENSION;allergie;;\n",
    );
    // Ours does not know these headers: refused, naming what is missing.
    import(&config, &file, "2026-01-15", &[])
        .failure()
        .stderr_has(&["the header row lacks the required columns `id`"]);
    let out = import(
        &config,
        &file,
        "2026-01-15",
        &["--mapping", mapping.to_str().unwrap()],
    );
    out.success().stdout_has(&[
        "(CSV, encoding UTF-8)",
        "columns ignored (not in the mapping): Remarque",
        "pupils added:      2 (ELEVE_ID 31, 32)",
    ]);
    let persons = listing("persons", &data_dir(dir.path()));
    let regimes: Vec<&str> = persons
        .iter()
        .map(|p| p["regime"].as_str().unwrap())
        .collect();
    assert_eq!(regimes, ["dp", "interne"]);
    assert_eq!(
        forfaits(&persons[0]),
        ["lun mar jeu ven [dejeuner] 2025-09-01..2026-07-03"]
    );
}
