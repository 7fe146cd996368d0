//! The exchanges from the command line, against the PRONOTE simulator over HTTPS: the key
//! imported, our identifiers exported, an exchange run by hand with the daemon stopped (on the
//! store) and running (through its control socket), and the sync report of `exchange status`.

use selfgate_tests::pronote_sim::{Behaviour, PronoteSim};
use selfgate_tests::*;

#[test]
fn pronote_set_up_and_exchanges_by_hand_with_and_without_the_daemon() {
    let dir = tempdir();
    let sim = PronoteSim::start("0999999X");
    let config = write_config(
        dir.path(),
        &format!(
            "[school]\nuai = \"0999999X\"\n\
             [pronote]\nenabled = true\ntransport = \"https\"\nurl = {}\nca_file = {}\n\
             timeout_s = 2\n\
             [[exchanges]]\nname = \"inscriptions\"\nkind = \"pronote_meal_days\"\n\
             schedule = \"0 0 6 * * Mon-Fri\"\n\
             [[exchanges]]\nname = \"absences\"\nkind = \"pronote_absences\"\n\
             schedule = \"0 */5 * * * *\"\n",
            toml_str(&sim.url),
            toml_str(&sim.ca_file.to_string_lossy())
        ),
    );
    let cfg = config.to_string_lossy().to_string();

    // The security key: a bad file is refused, a good one stored owner-only.
    let bad = write_file(dir.path(), "bad.txt", "0123 not a key");
    selfgate_run([
        "--lang",
        "fr",
        "pronote",
        "import-key",
        bad.to_str().unwrap(),
        "--config",
        &cfg,
    ])
    .failure()
    .stderr_has(&["hexadécimaux"]);
    let key = write_file(dir.path(), "cle.txt", format!("{}\n", sim.key_hex));
    selfgate_run([
        "--lang",
        "fr",
        "pronote",
        "import-key",
        key.to_str().unwrap(),
        "--config",
        &cfg,
    ])
    .success()
    .stdout_has(&["clé de sécurité PRONOTE importée"]);
    let stored = data_dir(dir.path()).join("pronote.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(&stored).unwrap().trim(),
        sim.key_hex
    );

    // Pupils, then our identifiers for PRONOTE.
    selfgate_run([
        "--lang",
        "fr",
        "import",
        "roster",
        fixture("roster-demo.csv").to_str().unwrap(),
        "--config",
        &cfg,
    ])
    .success();
    let ids = dir.path().join("ids.csv");
    selfgate_run([
        "--lang",
        "fr",
        "pronote",
        "export-ids",
        ids.to_str().unwrap(),
        "--config",
        &cfg,
    ])
    .success()
    .stdout_has(&["élève(s) écrits"]);
    let text = std::fs::read_to_string(&ids).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(';').collect()).collect();
    assert_eq!(
        rows[0],
        ["identifiant", "nom", "prenom", "classe", "regime"]
    );
    assert!(
        rows.iter()
            .any(|r| r == &["PRIV-2025-001", "Martin", "Léa", "6A", "dp"]),
        "{text}"
    );

    // By hand, daemon stopped: on the store.
    selfgate_run([
        "--lang",
        "fr",
        "exchange",
        "run",
        "inscriptions",
        "--config",
        &cfg,
    ])
    .success()
    .stdout_has(&[
        "inscriptions (pronote_meal_days",
        "réussi",
        "PRONOTE a accusé réception",
    ]);
    let sent = sim.received("inscriptions");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["uai"], "0999999X");
    assert_eq!(sent[0]["format"], "selfgate-pronote/1");
    assert!(sim.refused().is_empty(), "{:?}", sim.refused());
    selfgate_run(["--lang", "fr", "exchange", "status", "--config", &cfg])
        .success()
        .stdout_has(&[
            "inscriptions",
            "réussi",
            "(à la main)",
            "absences",
            "jamais lancé",
            "à la main seulement (synchronisation automatique PRONOTE désactivée)",
        ]);

    // Daemon running: through its control socket.
    let (child, _) = start_daemon(&config);
    let mut child = KillOnDrop::new(child);
    selfgate_run([
        "--lang",
        "fr",
        "exchange",
        "run",
        "inscriptions",
        "--config",
        &cfg,
    ])
    .success()
    .stdout_has(&["réussi"]);
    assert_eq!(sim.received("inscriptions").len(), 2);
    let ids2 = dir.path().join("ids2.csv");
    selfgate_run([
        "--lang",
        "fr",
        "pronote",
        "export-ids",
        ids2.to_str().unwrap(),
        "--config",
        &cfg,
    ])
    .success();
    assert_eq!(std::fs::read_to_string(&ids2).unwrap(), text);
    selfgate_run(["--lang", "fr", "exchange", "run", "nope", "--config", &cfg])
        .failure()
        .stderr_has(&["pas d'échange nommé `nope`"]);

    // PRONOTE answers garbage: the run fails, the report says why.
    sim.behave(Behaviour::Garbage);
    selfgate_run([
        "--lang",
        "fr",
        "exchange",
        "run",
        "inscriptions",
        "--config",
        &cfg,
    ])
    .failure()
    .stdout_has(&["en erreur", "document illisible, ligne 1"]);
    terminate(&mut child.0);

    // The report is kept after the daemon stopped.
    let out = selfgate_run([
        "--lang", "fr", "exchange", "status", "--json", "--config", &cfg,
    ]);
    out.success();
    let reports = parse_json_lines(&out.stdout);
    let r = reports
        .iter()
        .find(|r| r["name"] == "inscriptions")
        .unwrap();
    assert_eq!(r["status"], "error");
    assert!(r["error"].as_str().unwrap().contains("document illisible"));
    assert!(r["last_success_at"].is_string());
}
