//! End-to-end tests of the one-shot commands: `check-config`, `config-example`,
//! `import roster`, `simulate` and `journal`, run as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use selfgate_tests::*;

// ---- helpers ----------------------------------------------------------------------------------

fn check_config(file: &Path) -> Output {
    run(selfgate().arg("check-config").arg(file))
}

/// The school of the simulate fixtures, with `ticket_fallback` set as asked.
fn school_rules(ticket_fallback: bool) -> String {
    let text = std::fs::read_to_string(fixture("simulate-school.toml")).unwrap();
    assert!(text.contains("ticket_fallback = false"));
    text.replace(
        "ticket_fallback = false",
        &format!("ticket_fallback = {ticket_fallback}"),
    )
}

/// `import roster FILE --config C --data D [--dry-run]`.
fn import(file: &Path, config: &Path, data: &Path, dry_run: bool) -> Output {
    let mut cmd = selfgate();
    cmd.args(["import", "roster"])
        .arg(file)
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data);
    if dry_run {
        cmd.arg("--dry-run");
    }
    run(&mut cmd)
}

/// The counts of an import report (`persons added:      12` → `"persons added" → 12`).
fn report(out: &Output) -> BTreeMap<String, usize> {
    out.stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let n = v.split_whitespace().next()?.parse().ok()?;
            Some((k.trim().to_owned(), n))
        })
        .collect()
}

#[track_caller]
fn assert_report(out: &Output, expected: &[(&str, usize)]) {
    let r = report(out);
    for (k, v) in expected {
        assert_eq!(r.get(*k), Some(v), "report line `{k}`:\n{out}");
    }
}

/// Data rows of a roster CSV (non-blank lines after the header; the fixtures have no quoted
/// line breaks).
fn roster_rows(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

const SIM_HEADER: &[&str] = &[
    "time",
    "gate",
    "credential",
    "person",
    "verdict",
    "reason",
    "charge_cents",
    "balance_cents",
];

// ---- check-config -----------------------------------------------------------------------------

#[test]
fn check_config_accepts_the_shipped_example() {
    let example = workspace_root().join("config/selfgate.example.toml");
    let out = check_config(&example);
    out.success()
        .stdout_has(&["ok", "3 services", "gate ligne-1"]);
}

#[test]
fn check_config_names_an_unknown_key_and_its_line() {
    let dir = tempdir();
    let file = write_file(
        dir.path(),
        "typo.toml",
        "[school]\nname = \"Collège\"\ncolour = \"blue\"\ntimezone = \"Europe/Paris\"\n",
    );
    let out = check_config(&file);
    out.failure().stderr_has(&["colour", "line 3", "typo.toml"]);
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn check_config_names_keys_with_bad_values() {
    let dir = tempdir();
    let file = write_file(
        dir.path(),
        "bad.toml",
        "[school]\ntimezone = \"Mars/Olympus\"\n\n[[services]]\ncode = \"dejeuner\"\nstart = \"25:00\"\nend = \"13:45\"\n",
    );
    let out = check_config(&file);
    out.failure().stderr_has(&[
        "school.timezone",
        "Mars/Olympus",
        "services[0].start",
        "25:00",
    ]);
}

#[test]
fn a_bad_service_time_is_reported_once_not_as_missing_codes() {
    let dir = tempdir();
    let file = write_file(
        dir.path(),
        "bad.toml",
        "[[services]]\ncode = \"dejeuner\"\nstart = \"25:00\"\nend = \"13:45\"\n\n[regimes]\ndp_services = [\"dejeuner\"]\ninterne_services = [\"dejeuner\"]\n",
    );
    let out = check_config(&file);
    out.failure().stderr_has(&["services[0].start"]);
    assert!(
        !out.stderr.contains("no service has code `dejeuner`"),
        "spurious errors for a defined service:\n{out}"
    );
}

#[test]
fn check_config_reports_a_missing_file() {
    let dir = tempdir();
    let missing = dir.path().join("nowhere.toml");
    let out = check_config(&missing);
    out.failure().stderr_has(&["nowhere.toml", "cannot read"]);
}

#[test]
fn check_config_refuses_binary_garbage_and_a_directory() {
    let dir = tempdir();
    let garbage = write_file(dir.path(), "garbage.toml", b"\x00\xff\xfe[[[ \x01=\n\xc3");
    check_config(&garbage)
        .failure()
        .stderr_has(&["garbage.toml"]);
    let broken = write_file(dir.path(), "broken.toml", "[school\nname = \"x\"\n");
    check_config(&broken)
        .failure()
        .stderr_has(&["broken.toml", "line 1"]);
    check_config(dir.path()).failure();
}

#[test]
fn config_example_prints_a_valid_configuration() {
    let out = selfgate_run(["config-example"]);
    out.success();
    let shipped =
        std::fs::read_to_string(workspace_root().join("config/selfgate.example.toml")).unwrap();
    assert_eq!(out.stdout, shipped, "config-example is the shipped example");
    let dir = tempdir();
    let file = write_file(dir.path(), "example.toml", &out.stdout);
    check_config(&file).success();
}

#[test]
fn the_test_configuration_helper_is_valid() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let out = check_config(&config);
    out.success().stdout_has(&[
        "1 services",
        "3 tariffs",
        &data_dir(dir.path()).display().to_string(),
    ]);
}

// ---- import roster ----------------------------------------------------------------------------

#[test]
fn import_roster_adds_every_row_and_credits_opening_balances_once() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("store");
    let roster = fixture("roster-demo.csv");
    let rows = roster_rows(&roster);
    assert_eq!(rows, 12);

    let out = import(&roster, &config, &data, false);
    out.success();
    assert_report(
        &out,
        &[
            ("persons added", rows),
            ("persons updated", 0),
            ("persons unchanged", 0),
            ("badges added", 10),
            ("opening balances", 6),
        ],
    );
    assert!(
        !data_dir(dir.path()).exists(),
        "--data wins over the configuration's data_dir"
    );

    let first = journal(&data);
    let credits: BTreeMap<String, i64> = first
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "credit", "{e}");
            (
                e["person"].as_str().unwrap().to_owned(),
                e["credit_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, i64> = [
        ("PRIV-2025-003", 1250),
        ("PRIV-2025-006", 500),
        ("PERS-001", 2500),
        ("PERS-002", -320),
        ("HOTE-2025-01", 1000),
        ("PRIV-2025-007", 123_400),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(credits, expected);
    assert_eq!(first.len(), 6, "one credit per non-zero opening balance");

    // The same file again changes nothing: no person, no badge, no second opening balance.
    let again = import(&roster, &config, &data, false);
    again.success();
    assert_report(
        &again,
        &[
            ("persons added", 0),
            ("persons updated", 0),
            ("persons unchanged", rows),
            ("badges added", 0),
            ("badges revoked", 0),
            ("opening balances", 0),
        ],
    );
    assert_eq!(
        journal(&data),
        first,
        "re-importing must not add journal events"
    );
}

#[test]
fn import_roster_dry_run_changes_nothing_in_an_existing_store() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = data_dir(dir.path());
    let roster = fixture("roster-demo.csv");
    import(&roster, &config, &data, false).success();
    let before = journal(&data);

    // An edited file: one person renamed, one added with an opening balance and a badge.
    let text = std::fs::read_to_string(&roster).unwrap();
    let edited = text.replace(
        "PRIV-2025-001;Martin;Léa",
        "PRIV-2025-001;Martin-Durand;Léa",
    ) + "NEW-001;Nouveau;Nina;6B;eleve;externe;;0400FEED01;7,50\n";
    let edited = write_file(dir.path(), "edited.csv", edited);

    for _ in 0..2 {
        let dry = import(&edited, &config, &data, true);
        dry.success().stdout_has(&["dry run"]);
        assert_report(
            &dry,
            &[
                ("persons added", 1),
                ("persons updated", 1),
                ("persons unchanged", 11),
                ("badges added", 1),
                ("opening balances", 1),
            ],
        );
    }
    assert_eq!(journal(&data), before, "a dry run writes no event");

    // Applied for real, then the same report shows nothing left to do.
    import(&edited, &config, &data, false).success();
    assert_eq!(journal(&data).len(), before.len() + 1);
    let dry = import(&edited, &config, &data, true);
    assert_report(
        &dry,
        &[
            ("persons added", 0),
            ("persons updated", 0),
            ("persons unchanged", 13),
        ],
    );
}

#[test]

fn import_roster_dry_run_creates_no_store() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("never-created");
    let dry = import(&fixture("roster-demo.csv"), &config, &data, true);
    dry.success();
    assert_report(&dry, &[("persons added", 12)]);
    assert!(!data.exists(), "a dry run created {}", data.display());
}

#[test]
fn a_malformed_row_rejects_the_whole_file() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = data_dir(dir.path());
    import(&fixture("roster-demo.csv"), &config, &data, false).success();
    let before = journal(&data);

    // Good rows around a bad category (line 4): a new person with an opening balance, an update
    // of a known person, another new person.
    let good_1 = "N-001;Neuf;Jean;6A;eleve;dp;lun mar;0400AAAA01;5,00";
    let update = "PRIV-2025-001;Martin;Léa-Rose;6A;eleve;dp;lun mar jeu ven;04-00A1-B2C3;";
    let bad = "N-002;Grand;Paul;6A;martien;;;0400AAAA02;3,00";
    let good_2 = "N-003;Moyen;Luc;6B;eleve;;;0400AAAA03;";
    let header = "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial";
    let file = write_file(
        dir.path(),
        "bad-category.csv",
        [header, good_1, update, bad, good_2, ""].join("\n"),
    );

    let out = import(&file, &config, &data, false);
    out.failure()
        .stderr_has(&["line 4", "categorie", "martien", "nothing was imported"]);
    assert!(
        !out.stderr.contains("line 2")
            && !out.stderr.contains("line 3")
            && !out.stderr.contains("line 5"),
        "only line 4 is wrong:\n{out}"
    );
    assert_eq!(
        journal(&data),
        before,
        "no opening balance of the rejected file was credited"
    );

    // The persons are as before: the good rows of that file would still all be changes.
    let fixed = write_file(
        dir.path(),
        "fixed.csv",
        [header, good_1, update, good_2, ""].join("\n"),
    );
    let dry = import(&fixed, &config, &data, true);
    dry.success();
    assert_report(
        &dry,
        &[
            ("persons added", 2),
            ("persons updated", 1),
            ("badges added", 2),
            ("opening balances", 1),
        ],
    );
    // And nothing of the fixture was lost.
    let dry = import(&fixture("roster-demo.csv"), &config, &data, true);
    assert_report(
        &dry,
        &[
            ("persons added", 0),
            ("persons updated", 0),
            ("persons unchanged", 12),
        ],
    );
}

#[test]
fn a_badge_held_by_another_person_is_rejected_with_its_line() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = data_dir(dir.path());
    import(&fixture("roster-demo.csv"), &config, &data, false).success();
    let before = journal(&data);

    // Line 2 is fine (and carries an opening balance); line 3 takes Léa Martin's badge, written
    // differently (the number is normalised).
    let file = write_file(
        dir.path(),
        "stolen.csv",
        "identifiant;nom;prenom;categorie;badge;solde_initial\nX-001;Petit;Jean;hote;0400BBBB01;9,00\nX-002;Voleur;Max;hote;0400-a1b2-c3;\n",
    );
    let out = import(&file, &config, &data, false);
    out.failure().stderr_has(&[
        "line 3",
        "badge",
        "0400A1B2C3",
        "PRIV-2025-001",
        "nothing was imported",
    ]);
    assert!(!out.stderr.contains("line 2"), "{out}");
    assert_eq!(journal(&data), before);

    let check = write_file(
        dir.path(),
        "check.csv",
        "identifiant;nom;prenom;categorie\nX-001;Petit;Jean;hote\nX-002;Voleur;Max;hote\n",
    );
    assert_report(
        &import(&check, &config, &data, true),
        &[("persons added", 2)],
    );

    // The same badge twice in one file: both lines named.
    let twice = write_file(
        dir.path(),
        "twice.csv",
        "identifiant;nom;prenom;categorie;badge\nY-001;Un;Alain;hote;0400CCCC01\nY-002;Deux;Brigitte;hote;0400CCCC01\n",
    );
    import(&twice, &config, &data, false)
        .failure()
        .stderr_has(&["line 2", "line 3", "0400CCCC01"]);
    assert_eq!(journal(&data), before);
}

#[test]
fn garbage_roster_files_are_refused_without_a_panic() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = data_dir(dir.path());
    let cases: &[(&str, &[u8])] = &[
        ("empty.csv", b""),
        ("header-only.csv", b"identifiant;nom;prenom;categorie\n"),
        (
            "binary.csv",
            b"\x00\x01\x02\xff\xfe\xfd\x80\x81;;\n\x00;\"\n",
        ),
        (
            "unclosed-quote.csv",
            b"identifiant;nom;prenom;categorie\nA1;\"Martin;Lea;eleve\n",
        ),
        (
            "too-many-fields.csv",
            b"identifiant;nom;prenom;categorie\nA1;Martin;Lea;eleve;extra\n",
        ),
        (
            "unknown-column.csv",
            b"identifiant;nom;prenom;categorie;couleur\nA1;Martin;Lea;eleve;bleu\n",
        ),
        ("utf16-odd.csv", b"\xff\xfei\x00d\x00\n"),
    ];
    for (name, bytes) in cases {
        let file = write_file(dir.path(), name, bytes);
        import(&file, &config, &data, false)
            .failure()
            .stderr_has(&[name]);
        // The simulator reads roster files with the same parser.
        let reads = write_file(
            dir.path(),
            "reads.csv",
            "time,gate,credential\n2026-11-16 12:00:00,ligne-1,0400000001\n",
        );
        let out = run(selfgate()
            .arg("simulate")
            .arg("--config")
            .arg(&config)
            .arg("--roster")
            .arg(&file)
            .arg("--reads")
            .arg(&reads));
        out.failure();
    }
    assert!(
        !data.join("selfgate.redb").exists(),
        "a rejected file must not even create the store"
    );
}

#[test]
fn a_new_badge_revokes_the_old_one_and_keeps_the_balance() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let data = data_dir(dir.path());
    let roster = fixture("simulate-roster.csv");
    import(&roster, &config, &data, false).success();
    let credits = journal(&data).len();

    // Jean Petit lost his card: the bursar gives him 0400000009.
    let text = std::fs::read_to_string(&roster).unwrap();
    assert!(text.contains("E-TKT;Petit;Jean;5B;eleve;externe;;0400000002;5,00"));
    let edited = write_file(
        dir.path(),
        "new-badge.csv",
        text.replace(";0400000002;", ";0400000009;"),
    );
    let out = import(&edited, &config, &data, false);
    out.success();
    assert_report(
        &out,
        &[
            ("persons added", 0),
            ("persons updated", 0),
            ("persons unchanged", 2),
            ("badges added", 1),
            ("badges revoked", 1),
            ("opening balances", 0),
        ],
    );
    assert_eq!(journal(&data).len(), credits, "no second opening balance");

    let reads = write_file(
        dir.path(),
        "reads.csv",
        "time,gate,credential\n2026-11-16 12:00:00,ligne-1,0400000002\n2026-11-16 12:00:30,ligne-1,0400000009\n",
    );
    let out = simulate(&config, None, &reads);
    out.success();
    assert_eq!(
        csv_rows(&out.stdout),
        strings(&[
            SIM_HEADER,
            &[
                "2026-11-16 12:00:00",
                "ligne-1",
                "0400000002",
                "E-TKT",
                "deny",
                "badge_revoked",
                "0",
                "500"
            ],
            &[
                "2026-11-16 12:00:30",
                "ligne-1",
                "0400000009",
                "E-TKT",
                "pass",
                "ticket",
                "390",
                "110"
            ],
        ]),
        "{out}"
    );
}

#[test]
fn demo_refuses_bad_arguments_before_creating_anything() {
    let dir = tempdir();
    let data = dir.path().join("demo");
    let out = run(selfgate()
        .args(["demo", "--speed", "0", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data));
    out.failure().stderr_has(&["--speed"]);
    let out = run(selfgate()
        .args(["demo", "--for", "soon", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data));
    out.no_panic().stderr_has(&["soon"]);
    assert!(!out.status.success(), "{out}");
    assert!(!data.exists(), "nothing created for refused arguments");
}

// ---- simulate ---------------------------------------------------------------------------------

fn simulate(config: &Path, roster: Option<&Path>, reads: &Path) -> Output {
    let mut cmd = selfgate();
    cmd.arg("simulate")
        .arg("--config")
        .arg(config)
        .arg("--reads")
        .arg(reads);
    if let Some(r) = roster {
        cmd.arg("--roster").arg(r);
    }
    run(&mut cmd)
}

/// The expected verdicts of `fixtures/simulate-reads.csv`; only the DP 4 jours pupil's
/// Wednesday read depends on `ticket_fallback`.
fn expected_simulation(ticket_fallback: bool) -> Vec<Vec<String>> {
    let wednesday_dp4: &[&str] = if ticket_fallback {
        &[
            "2026-11-18 12:00:00",
            "ligne-1",
            "0400000001",
            "E-DP4",
            "pass",
            "ticket",
            "390",
            "10",
        ]
    } else {
        &[
            "2026-11-18 12:00:00",
            "ligne-1",
            "0400000001",
            "E-DP4",
            "deny",
            "not_registered_today",
            "0",
            "400",
        ]
    };
    strings(&[
        SIM_HEADER,
        // Monday: before the service opens.
        &[
            "2026-11-16 10:00:00",
            "ligne-1",
            "0400000001",
            "",
            "deny",
            "service_closed",
            "0",
            "",
        ],
        // The forfait at 11:15 sharp (opening included); the number is normalised.
        &[
            "2026-11-16 11:15:00",
            "ligne-1",
            "0400000001",
            "E-DP4",
            "pass",
            "forfait",
            "0",
            "400",
        ],
        // The reader repeating the card 1 s later: one read.
        &[
            "2026-11-16 11:15:01",
            "ligne-1",
            "0400000001",
            "",
            "repeat",
            "debounce",
            "0",
            "",
        ],
        // The same card at the other gate is a second passage: anti-passback across gates.
        &[
            "2026-11-16 11:15:01",
            "ligne-2",
            "0400000001",
            "E-DP4",
            "deny",
            "already_served",
            "0",
            "400",
        ],
        &[
            "2026-11-16 11:20:00",
            "ligne-1",
            "0400000001",
            "E-DP4",
            "deny",
            "already_served",
            "0",
            "400",
        ],
        // Ticket pupil: 5,00 € − 3,90 €.
        &[
            "2026-11-16 11:40:00",
            "ligne-1",
            "0400000002",
            "E-TKT",
            "pass",
            "ticket",
            "390",
            "110",
        ],
        // Staff: 20,00 € − 5,20 €.
        &[
            "2026-11-16 11:41:00",
            "ligne-2",
            "0400000003",
            "P-STAFF",
            "pass",
            "ticket",
            "520",
            "1480",
        ],
        &[
            "2026-11-16 11:42:00",
            "ligne-1",
            "0400DEAD00",
            "",
            "deny",
            "unknown_badge",
            "0",
            "",
        ],
        // Garbage is journaled as what it was, marked so it never matches a badge.
        &[
            "2026-11-16 11:43:00",
            "ligne-1",
            "?$$$",
            "",
            "deny",
            "unknown_badge",
            "0",
            "",
        ],
        // 13:45 is the end, excluded: closed comes before already served.
        &[
            "2026-11-16 13:45:00",
            "ligne-1",
            "0400000003",
            "",
            "deny",
            "service_closed",
            "0",
            "",
        ],
        // Wednesday.
        wednesday_dp4,
        // 1,10 € left, no overdraft.
        &[
            "2026-11-18 12:01:00",
            "ligne-1",
            "0400000002",
            "E-TKT",
            "deny",
            "insufficient_balance",
            "0",
            "110",
        ],
    ])
}

#[test]
fn simulate_prints_the_expected_verdicts() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let out = simulate(
        &config,
        Some(&fixture("simulate-roster.csv")),
        &fixture("simulate-reads.csv"),
    );
    out.success();
    assert_eq!(csv_rows(&out.stdout), expected_simulation(false), "{out}");
    assert!(
        !data_dir(dir.path()).exists(),
        "simulate --roster touches no store"
    );
}

#[test]
fn simulate_with_ticket_fallback_lets_a_dp4_pupil_pay_on_wednesday() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(true));
    let out = simulate(
        &config,
        Some(&fixture("simulate-roster.csv")),
        &fixture("simulate-reads.csv"),
    );
    out.success();
    let rows = csv_rows(&out.stdout);
    assert_eq!(rows, expected_simulation(true), "{out}");
    assert_ne!(expected_simulation(true), expected_simulation(false));
}

#[test]
fn simulate_against_the_imported_store_gives_the_same_verdicts() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let data = data_dir(dir.path());
    import(&fixture("simulate-roster.csv"), &config, &data, false).success();
    let before = journal(&data);
    let out = simulate(&config, None, &fixture("simulate-reads.csv"));
    out.success();
    assert_eq!(csv_rows(&out.stdout), expected_simulation(false), "{out}");
    assert_eq!(journal(&data), before, "simulate writes nothing");
}

#[test]
fn simulate_refuses_a_reads_file_with_bad_lines_and_names_them() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let reads = write_file(
        dir.path(),
        "reads.csv",
        "time,gate,credential\n2026-11-16 12:00:00,ligne-1,0400000001\nnoon,ligne-1,0400000001\n2026-11-16 12:01:00,ligne-1,0400000002\n2026-11-16 12:02:00,ligne-1\n",
    );
    let out = simulate(&config, Some(&fixture("simulate-roster.csv")), &reads);
    out.failure()
        .stderr_has(&["reads.csv", "line 3", "noon", "line 5"]);
    assert!(
        !out.stderr.contains("line 2") && !out.stderr.contains("line 4"),
        "{out}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is simulated when a line is bad:\n{out}"
    );

    for (name, text) in [
        ("no-header.csv", "2026-11-16 12:00:00,ligne-1,0400000001\n"),
        ("empty.csv", ""),
        ("binary.csv", "\u{0}\u{1}\u{fffd},\"\n"),
        (
            "dst-gap.csv",
            "time,gate,credential\n2026-03-29 02:30:00,ligne-1,0400000001\n",
        ),
    ] {
        let reads = write_file(dir.path(), name, text);
        simulate(&config, Some(&fixture("simulate-roster.csv")), &reads)
            .failure()
            .stderr_has(&[name]);
    }
    let not_utf8 = write_file(
        dir.path(),
        "latin1.csv",
        b"time,gate,credential\n2026-11-16 12:00:00,ligne-1,\xe9\xe9\n",
    );
    simulate(&config, Some(&fixture("simulate-roster.csv")), &not_utf8).failure();
}

#[test]
fn garbage_credentials_are_unknown_badges_never_a_panic() {
    let dir = tempdir();
    let config = write_config(dir.path(), &school_rules(false));
    let long = "9".repeat(5000);
    let creds = [
        "$$$",
        "",
        "\u{1}\u{7f}",
        "'; DROP TABLE persons;--",
        "ÉÉÉ€€€",
        "0x0400000001",
        long.as_str(),
        "\"quoted, with comma\"",
    ];
    let mut text = String::from("time,gate,credential\n");
    for (i, c) in creds.iter().enumerate() {
        // A quoted field so that commas and quotes survive the CSV.
        text.push_str(&format!(
            "2026-11-16 12:{:02}:00,ligne-1,\"{}\"\n",
            i * 3,
            c.replace('"', "\"\"")
        ));
    }
    let reads = write_file(dir.path(), "garbage.csv", text);
    let out = simulate(&config, Some(&fixture("simulate-roster.csv")), &reads);
    out.success();
    let rows = csv_rows(&out.stdout);
    assert_eq!(rows.len(), creds.len() + 1, "{out}");
    for row in &rows[1..] {
        assert_eq!(row.len(), 8, "{row:?}");
        assert_eq!(
            (row[3].as_str(), row[4].as_str(), row[5].as_str()),
            ("", "deny", "unknown_badge"),
            "{row:?}"
        );
        assert!(
            row[2].len() <= 200,
            "the credential shown is kept short: {} bytes",
            row[2].len()
        );
    }
}

// ---- journal ----------------------------------------------------------------------------------

#[test]
fn journal_json_lines_and_since() {
    let dir = tempdir();
    let config = write_config(dir.path(), "");
    let data = data_dir(dir.path());
    import(&fixture("roster-demo.csv"), &config, &data, false).success();

    let events = journal(&data);
    assert_eq!(events.len(), 6);
    let mut keys = std::collections::HashSet::new();
    for e in &events {
        for k in ["seq", "at", "gate", "kind"] {
            assert!(
                e.get(k).is_some_and(|v| !v.is_null()),
                "`{k}` missing in {e}"
            );
        }
        assert!(e["seq"].as_u64().is_some_and(|s| s >= 1), "{e}");
        assert!(
            e["at"].as_str().is_some_and(|t| t.contains('T')),
            "RFC 3339: {e}"
        );
        assert!(
            keys.insert((e["gate"].to_string(), e["seq"].as_u64())),
            "duplicate (gate, seq): {e}"
        );
    }
    let mut seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=6).collect::<Vec<u64>>(),
        "numbered from 1 without gaps"
    );

    let arg = |since: &str| {
        run(selfgate()
            .arg("journal")
            .arg("--data")
            .arg(&data)
            .arg("--json")
            .arg("--since")
            .arg(since))
    };
    let future = arg("2999-01-01");
    future.success();
    assert!(future.stdout.trim().is_empty(), "{future}");
    let future = arg("2999-01-01T00:00:00Z");
    future.success();
    assert!(future.stdout.trim().is_empty(), "{future}");
    let past = arg("2000-01-01");
    past.success();
    assert_eq!(parse_json_lines(&past.stdout), events);

    arg("garbage").failure().stderr_has(&["--since", "garbage"]);
    arg("2026-13-45").failure().stderr_has(&["2026-13-45"]);

    // The table form prints a header and one line per event.
    let table = run(selfgate().arg("journal").arg("--data").arg(&data));
    table.success();
    assert_eq!(table.stdout.lines().count(), 7, "{table}");
}

#[test]

fn journal_on_a_missing_data_directory_is_an_error() {
    let dir = tempdir();
    let missing = dir.path().join("typo");
    let out = run(selfgate()
        .arg("journal")
        .arg("--data")
        .arg(&missing)
        .arg("--json"));
    out.failure().stderr_has(&["typo"]);
    assert!(
        !missing.exists(),
        "a read-only command created {}",
        missing.display()
    );
}
