//! Operations end to end: a backup taken through the running daemon while passages stream in
//! restores to a journal that is a prefix of the live one; restore refuses a running daemon's
//! data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::Duration;

use selfgate_tests::{
    fifo_badge, fifo_gate, journal, open_fifo, selfgate, start_daemon, tempdir, terminate,
};

#[test]
fn backup_during_a_stream_of_passages_is_a_prefix_of_the_live_journal() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 300);
    let data = dir.path().join("data");
    let (mut child, _) = start_daemon(&config);
    let mut pipe = open_fifo(dir.path());

    let feeder = std::thread::spawn(move || {
        for i in 0..300 {
            writeln!(pipe, "{}", fifo_badge(i)).unwrap();
            pipe.flush().unwrap();
            std::thread::sleep(Duration::from_millis(8));
        }
    });
    std::thread::sleep(Duration::from_millis(1000));
    let file = dir.path().join("backup.redb");
    let out = selfgate()
        .args(["backup"])
        .arg(&file)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();

    // Restoring over the running daemon's data is refused, and changes nothing.
    let refused = selfgate()
        .args(["restore"])
        .arg(&file)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop it first"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    feeder.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminate(&mut child);
    let live = journal(&data);

    let other = dir.path().join("restored");
    let out = selfgate()
        .args(["restore"])
        .arg(&file)
        .arg("--data")
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = journal(&other);
    assert!(
        !restored.is_empty() && restored.len() < live.len(),
        "taken mid-stream: {} of {} ({said})",
        restored.len(),
        live.len()
    );
    assert_eq!(
        &live[..restored.len()],
        &restored[..],
        "the backup is a prefix of the live journal"
    );
    assert!(
        said.contains(&format!("({} journal events)", restored.len())),
        "{said}"
    );
}

#[test]
fn the_packaged_configuration_is_valid_and_runs_on_simulated_hardware() {
    let packaged = selfgate_tests::workspace_root().join("config/selfgate.deb.toml");
    let out = selfgate()
        .arg("check-config")
        .arg(&packaged)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same file with its data and kiosk moved into a temporary directory starts and stops.
    let dir = tempdir();
    let text = std::fs::read_to_string(&packaged).unwrap();
    let text = text
        .replace(
            "\"/var/lib/selfgate\"",
            &selfgate_tests::toml_str(&dir.path().join("data").display().to_string()),
        )
        .replace("127.0.0.1:8080", "127.0.0.1:0");
    let config = dir.path().join("selfgate.toml");
    std::fs::write(&config, text).unwrap();
    let (mut child, addr) = start_daemon(&config);
    let health = selfgate_tests::http_get(addr, "/healthz").unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    terminate(&mut child);
}
