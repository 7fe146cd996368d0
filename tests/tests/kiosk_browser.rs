//! The kiosk in a real browser: headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol) against the real `selfgate run`. A member of staff logs in, sees a badge
//! read at the gate's reader appear in the live feed without the page reloading, admits a pupil
//! by hand and sees the counts change; the gate screen shows the decisions. Screenshots of the
//! staff screen and the gate screen at 800×480 and 1920×1080 are saved in
//! `target/kiosk-screenshots/` (the paths are printed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use selfgate_tests::cdp::Browser;
use selfgate_tests::*;

const WAIT: Duration = Duration::from_secs(15);

fn screenshots_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => workspace_root().join(t),
        _ => workspace_root().join("target"),
    };
    target.join("kiosk-screenshots")
}

fn shot(b: &mut Browser, name: &str) {
    let path = screenshots_dir().join(format!("{name}.png"));
    b.screenshot(&path);
    println!("screenshot: {}", path.display());
}

fn count(b: &mut Browser, which: &str) -> u64 {
    b.eval(&format!(
        "Number(document.querySelector('[data-count={which}]').textContent)"
    ))
    .as_u64()
    .unwrap()
}

fn present(pipe: &mut std::fs::File, badge: &str) {
    writeln!(pipe, "{badge}").unwrap();
    pipe.flush().unwrap();
}

#[test]
fn staff_see_passages_live_admit_by_hand_and_the_gate_screen_shows_decisions() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 6);
    let data = data_dir(dir.path());
    add_account(&data, "mleroy", "surveillant", "surveillance-2026");
    add_account(&data, "intendance", "gestionnaire", "gestion-2026-cantine");
    let (child, addr) = start_daemon(&config);
    let mut daemon = KillOnDrop::new(child);
    let mut pipe = open_fifo(dir.path());
    let base = format!("http://{addr}");
    let mut b = Browser::launch();
    b.viewport(1920, 1080);

    // Not logged in: the staff screen sends to the login form.
    b.goto(&format!("{base}/"));
    b.wait_for("location.pathname === '/login'", WAIT);
    b.eval(
        "document.querySelector('input[name=name]').value = 'mleroy';
         document.querySelector('input[name=password]').value = 'surveillance-2026';
         document.querySelector('form[action=\"/login\"]').submit(); true",
    );
    b.wait_for(
        "location.pathname === '/' && document.readyState === 'complete'",
        WAIT,
    );
    b.wait_for("document.querySelector('#live.on') !== null", WAIT);
    let served_before = count(&mut b, "served");

    // A badge at the reader appears in the feed, and the page was not reloaded.
    b.eval("window.selfgateMarker = 'same page'; true");
    present(&mut pipe, &fifo_badge(0));
    let row = b.wait_for("(document.querySelector('#feed tr') || {}).innerText", WAIT);
    let row = row.as_str().unwrap().to_owned();
    assert!(row.contains("Eleve0"), "first feed row: {row}");
    assert!(row.contains("Passage"), "first feed row: {row}");
    assert_eq!(
        b.eval("window.selfgateMarker"),
        "same page",
        "the page reloaded"
    );
    b.wait_for(
        &format!(
            "Number(document.querySelector('[data-count=served]').textContent) === {}",
            served_before + 1
        ),
        WAIT,
    );
    // A second pupil, refused: already served, in plain French.
    present(&mut pipe, &fifo_badge(1));
    b.wait_for(
        "(document.querySelector('#feed tr') || {}).innerText.includes('Eleve1')",
        WAIT,
    );
    std::thread::sleep(Duration::from_millis(2100));
    present(&mut pipe, &fifo_badge(1));
    let denied = b.wait_for(
        "Array.from(document.querySelectorAll('#feed tr.deny')).map(r => r.innerText).join('\\n')",
        WAIT,
    );
    assert!(
        denied.as_str().unwrap().contains("Déjà passé à"),
        "denied rows: {denied}"
    );
    assert_eq!(
        b.eval("window.selfgateMarker"),
        "same page",
        "the page reloaded"
    );
    shot(&mut b, "staff-1920x1080");
    b.viewport(800, 480);
    shot(&mut b, "staff-800x480");
    b.viewport(1920, 1080);

    // Admit a pupil by hand (forgotten badge): search, admit, the counts change.
    let served = count(&mut b, "served");
    b.goto(&format!("{base}/search?q=Eleve4"));
    b.wait_for(
        "document.querySelector('button[data-admit]') !== null",
        WAIT,
    );
    b.eval("document.querySelector('button[data-admit]').click(); true");
    b.wait_for(
        "location.pathname === '/' && location.search.includes('admitted')",
        WAIT,
    );
    b.wait_for_load();
    assert_eq!(
        count(&mut b, "served"),
        served + 1,
        "the served count after the admission"
    );
    let first = b.eval("document.querySelector('#feed tr').innerText");
    assert!(
        first.as_str().unwrap().contains("Admis par mleroy"),
        "the feed shows who admitted: {first}"
    );

    // The gate screen, no login: green with the first name, then red with a pupil's reason.
    for (w, h) in [(1920, 1080), (800, 480)] {
        b.viewport(w, h);
        b.goto(&format!("{base}/portique"));
        b.wait_for("location.pathname === '/gate/ligne-1'", WAIT);
        b.wait_for("document.querySelector('#gate.idle') !== null", WAIT);
        // Give the event stream a moment to connect.
        std::thread::sleep(Duration::from_millis(500));
        shot(&mut b, &format!("gate-idle-{w}x{h}"));
        let pupil = if w == 1920 { 2 } else { 3 };
        present(&mut pipe, &fifo_badge(pupil));
        b.wait_for("document.querySelector('#gate.pass') !== null", WAIT);
        let shown = b.eval("document.getElementById('gate').innerText");
        let shown = shown.as_str().unwrap();
        assert!(shown.contains(&format!("Eleve{pupil}")), "{shown}");
        assert!(shown.contains("Bon appétit"), "{shown}");
        assert!(
            !shown.contains("Test"),
            "the gate screen shows a last name: {shown}"
        );
        assert!(
            shown.contains("Solde"),
            "a ticket pass shows the balance: {shown}"
        );
        shot(&mut b, &format!("gate-pass-{w}x{h}"));
        // Back to idle after a few seconds.
        b.wait_for("document.querySelector('#gate.idle') !== null", WAIT);
        present(&mut pipe, &fifo_badge(0));
        b.wait_for("document.querySelector('#gate.deny') !== null", WAIT);
        let shown = b.eval("document.getElementById('gate').innerText");
        assert!(shown.as_str().unwrap().contains("déjà passé"), "{shown}");
        shot(&mut b, &format!("gate-deny-{w}x{h}"));
    }

    // The intendance: a person's page (badges, oppositions, balance, passages) and the report.
    b.viewport(1920, 1080);
    b.goto(&format!("{base}/"));
    b.eval("document.querySelector('form[action=\"/logout\"]').submit(); true");
    b.wait_for("location.pathname === '/login'", WAIT);
    b.wait_for_load();
    b.eval(
        "document.querySelector('input[name=name]').value = 'intendance';
         document.querySelector('input[name=password]').value = 'gestion-2026-cantine';
         document.querySelector('form[action=\"/login\"]').submit(); true",
    );
    b.wait_for(
        "location.pathname === '/' && document.readyState === 'complete'",
        WAIT,
    );
    b.goto(&format!("{base}/search?q=Eleve1"));
    b.eval("document.querySelector('table.persons a').click(); true");
    b.wait_for("location.pathname.startsWith('/person/')", WAIT);
    b.wait_for_load();
    let page = b.eval("document.body.innerText");
    let page = page.as_str().unwrap();
    for needle in [
        "Eleve1 Test",
        "Solde",
        "Déclarer perdu",
        "Ajouter une opposition",
        "Déjà passé à",
    ] {
        assert!(
            page.contains(needle),
            "{needle} missing from the person page:\n{page}"
        );
    }
    shot(&mut b, "person-1920x1080");
    b.viewport(800, 480);
    shot(&mut b, "person-800x480");
    b.viewport(1920, 1080);
    b.goto(&format!("{base}/report"));
    let report = b.eval("document.body.innerText");
    assert!(
        report.as_str().unwrap().contains("Bilan par service"),
        "{report}"
    );
    shot(&mut b, "report-1920x1080");
    println!("screenshots in {}", screenshots_dir().display());

    // The journal keeps the staff member of the manual admission.
    drop(b);
    terminate(&mut daemon);
    let manual: Vec<Value> = journal(&data)
        .into_iter()
        .filter(|e| e["reason"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1, "{manual:?}");
    assert_eq!(manual[0]["by"], "mleroy", "{:?}", manual[0]);
}
