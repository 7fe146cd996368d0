//! What staff do in the kiosk, from the command line: oppositions (add, lift, list) and lost
//! badges, on a stopped store and through the running daemon, in force at the gate at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::{Duration, Instant};

use selfgate_tests::*;

#[test]
fn oppositions_and_lost_badges_from_the_command_line() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 3);
    let cfg = config.to_str().unwrap();
    let data = data_dir(dir.path());

    // The daemon stopped: on the store.
    selfgate_run([
        "opposition",
        "add",
        "--person",
        "C0000",
        "--reason",
        "impaye",
        "--by",
        "compta",
        "--config",
        cfg,
    ])
    .success()
    .stdout_has(&["opposition 1 (impaye) put in for C0000", "until lifted"]);
    selfgate_run(["badge", "lost", &fifo_badge(1), "--config", cfg])
        .success()
        .stdout_has(&["declared lost"]);
    selfgate_run([
        "opposition",
        "add",
        "--person",
        "NOBODY",
        "--reason",
        "impaye",
        "--by",
        "x",
        "--config",
        cfg,
    ])
    .failure()
    .stderr_has(&["NOBODY"]);

    // The daemon running: through it, in force at once.
    let (mut daemon, _kiosk) = start_daemon(&config);
    selfgate_run([
        "opposition",
        "add",
        "--person",
        "C0002",
        "--reason",
        "exclusion",
        "--by",
        "cpe",
        "--config",
        cfg,
    ])
    .success()
    .stdout_has(&["opposition 2 (exclusion) put in for C0002"]);
    selfgate_run([
        "opposition",
        "lift",
        "--person",
        "C0000",
        "--id",
        "1",
        "--config",
        cfg,
    ])
    .success()
    .stdout_has(&["lifted"]);
    selfgate_run(["opposition", "list", "--config", cfg])
        .success()
        .stdout_has(&[
            "C0000\t1\timpaye",
            "lifted",
            "C0002\t2\texclusion",
            "in force",
        ]);
    selfgate_run(["opposition", "list", "--lang", "fr", "--config", cfg])
        .success()
        .stdout_has(&["levée", "en vigueur", "tous les services"]);

    let mut pipe = open_fifo(dir.path());
    for i in 0..3 {
        writeln!(pipe, "{}", fifo_badge(i)).unwrap();
        pipe.flush().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let reasons = loop {
        let out = selfgate_run(["journal", "--json", "--data", data.to_str().unwrap()]);
        let reasons: Vec<String> = parse_json_lines(&out.stdout)
            .iter()
            .filter_map(|e| e["reason"].as_str().map(str::to_owned))
            .collect();
        if reasons.len() >= 3 || Instant::now() > deadline {
            break reasons;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        reasons,
        ["ticket", "badge_revoked", "opposition:exclusion"],
        "lifted, lost, excluded"
    );
    terminate(&mut daemon);

    // What if: reads against this store (its oppositions and lost badge), today at noon.
    let today = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    let today = String::from_utf8(today.stdout).unwrap().trim().to_owned();
    let reads = write_file(
        dir.path(),
        "reads.csv",
        format!(
            "time,gate,credential\n{today} 12:00,ligne-1,{}\n{today} 12:01,ligne-1,{}\n",
            fifo_badge(1),
            fifo_badge(2)
        ),
    );
    let out = selfgate_run([
        "simulate",
        "--config",
        cfg,
        "--reads",
        reads.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    out.success()
        .stdout_has(&["deny,badge_revoked", "deny,opposition:exclusion"]);
}
