//! `selfgate account`: staff accounts of the kiosk in `DATA/accounts.toml`, the password read
//! from stdin or a file and never accepted on the command line, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use selfgate_tests::*;

fn account(data: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let out = output_with_stdin(
        selfgate().arg("account").args(args).arg("--data").arg(data),
        stdin,
    );
    Output {
        what: format!("selfgate account {}", args.join(" ")),
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn accounts_are_added_listed_changed_and_removed() {
    let dir = tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    account(
        &data,
        &["add", "mleroy", "--role", "surveillant"],
        "cantine-2026\n",
    )
    .success();
    let pw = write_file(dir.path(), "pw.txt", "intendance-2026\n");
    account(
        &data,
        &[
            "add",
            "compta",
            "--role",
            "gestionnaire",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        "",
    )
    .success();
    let list = account(&data, &["list"], "");
    list.success()
        .stdout_has(&["mleroy\tsurveillant", "compta\tgestionnaire"]);

    let text = std::fs::read_to_string(data.join("accounts.toml")).unwrap();
    assert!(
        text.contains("$argon2id$") && !text.contains("cantine-2026"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("accounts.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Errors name what is wrong, and change nothing.
    account(&data, &["add", "chef", "--role", "chef"], "0123456789\n")
        .failure()
        .stderr_has(&["`chef` is not a role"]);
    account(&data, &["add", "vide", "--role", "surveillant"], "")
        .failure()
        .stderr_has(&["no password given"]);
    account(&data, &["add", "court", "--role", "surveillant"], "abc\n")
        .failure()
        .stderr_has(&["at least 10 characters"]);
    account(
        &data,
        &["add", "mleroy", "--role", "surveillant"],
        "0123456789\n",
    )
    .failure()
    .stderr_has(&["already exists"]);
    // No password option on the command line.
    let with_arg = account(
        &data,
        &["add", "x", "--role", "surveillant", "--password", "p"],
        "",
    );
    assert!(!with_arg.status.success());

    account(&data, &["passwd", "mleroy"], "nouveau-mot-2026\n").success();
    let text2 = std::fs::read_to_string(data.join("accounts.toml")).unwrap();
    assert_ne!(text, text2, "the hash changed");
    account(&data, &["remove", "mleroy"], "").success();
    account(&data, &["remove", "mleroy"], "")
        .failure()
        .stderr_has(&["no account named `mleroy`"]);
    let list = account(&data, &["list"], "");
    assert!(!list.stdout.contains("mleroy"), "{}", list.stdout);
}
