//! The kiosk in a real browser: headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol) against the real `selfgate run`. A member of staff logs in, sees a badge
//! read at the gate's reader appear in the live feed without the page reloading, admits a pupil
//! by hand and sees the counts change; the gate screen shows the decisions. A régisseur takes
//! payments at the cash desk, prints a receipt (the print stylesheet leaves the receipt alone),
//! refunds a balance down to a low one, reads the cash report and the low balances, and the
//! pupil reads "no meals left" at the gate, never an amount. The gestionnaire constates a term
//! from the billing page, enters an aid and sees a remise refused there. Screenshots of the
//! staff screen, the gate screen, the cash desk's pages at 800×480 and 1920×1080 and the billing
//! page (`facturation.png`) are saved in `target/kiosk-screenshots/` (the paths are printed).

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
        b.wait_for(
            "document.getElementById('gate').dataset.connected === '1'",
            WAIT,
        );
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
        // 100 € at 3,90 € a meal is not low: no line, and never an amount.
        assert!(
            !shown.contains('€') && !shown.contains("Solde"),
            "the gate screen shows a balance: {shown}"
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

/// Logs in through the form as `name`.
fn browser_login(b: &mut Browser, base: &str, name: &str, password: &str) {
    b.goto(&format!("{base}/login"));
    b.wait_for_load();
    b.eval(&format!(
        "document.querySelector('input[name=name]').value = '{name}';
         document.querySelector('input[name=password]').value = '{password}';
         document.querySelector('form[action=\"/login\"]').submit(); true"
    ));
    b.wait_for(
        "location.pathname === '/' && document.readyState === 'complete'",
        WAIT,
    );
}

/// Screenshots of the page at both sizes, back at 1920×1080 after.
fn both_sizes(b: &mut Browser, name: &str) {
    for (w, h) in [(1920, 1080), (800, 480)] {
        b.viewport(w, h);
        std::thread::sleep(Duration::from_millis(200));
        shot(b, &format!("{name}-{w}x{h}"));
    }
    b.viewport(1920, 1080);
}

#[test]
fn the_cash_desk_takes_payments_prints_receipts_and_shows_its_reports() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 4);
    let data = data_dir(dir.path());
    add_account(&data, "caisse", "regisseur", "regie-du-college-2026");
    let (child, addr) = start_daemon(&config);
    let mut daemon = KillOnDrop::new(child);
    let mut pipe = open_fifo(dir.path());
    let base = format!("http://{addr}");
    let mut b = Browser::launch();
    b.viewport(1920, 1080);
    browser_login(&mut b, &base, "caisse", "regie-du-college-2026");
    let nav = b.eval("document.querySelector('header.top nav').innerText");
    assert!(nav.as_str().unwrap().contains("Régie"), "{nav}");

    // Find the pupil, take 20,50 € in cash: the receipt is shown, ready to print.
    b.goto(&format!("{base}/regie?q=Eleve1"));
    b.wait_for("document.querySelector('a[data-pay]') !== null", WAIT);
    b.eval("document.querySelector('a[data-pay]').click(); true");
    b.wait_for(
        "location.search.startsWith('?person=') && document.readyState === 'complete'",
        WAIT,
    );
    // A cheque's number and bank are asked only for a cheque.
    let hidden = b.eval("document.querySelector('label[data-cheque]').hidden");
    assert_eq!(hidden, true, "cheque fields shown for cash");
    b.eval(
        "var f = document.querySelector('form[action=\"/regie/pay\"]');
         f.amount.value = '20,50';
         f.payer.value = 'Mme Test';
         f.submit(); true",
    );
    b.wait_for(
        "location.search.includes('receipt=') && document.readyState === 'complete'",
        WAIT,
    );
    let receipt = b.eval("document.querySelector('section.receipt').innerText");
    let receipt = receipt.as_str().unwrap().to_owned();
    for needle in [
        "Quittance n° R-",
        "20,50 €",
        "vingt euros et cinquante centimes",
        "Espèces",
        "Mme Test",
        "caisse",
        "Eleve1 Test",
    ] {
        assert!(receipt.contains(needle), "{needle}: {receipt}");
    }
    assert!(
        b.eval("document.querySelector('button[data-print]') !== null")
            .as_bool()
            .unwrap()
    );
    both_sizes(&mut b, "regie-receipt");
    // Printed: the receipt alone.
    b.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "print" }),
    );
    let alone = b.eval(
        "getComputedStyle(document.querySelector('header.top')).display === 'none'
         && getComputedStyle(document.querySelector('section.day')).display === 'none'
         && getComputedStyle(document.querySelector('section.receipt')).display !== 'none'
         && getComputedStyle(document.querySelector('.receipt .actions')).display === 'none'",
    );
    assert_eq!(
        alone, true,
        "the print stylesheet shows more than the receipt"
    );
    shot(&mut b, "regie-receipt-print");
    b.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "" }),
    );

    // A cheque: its fields appear when the mode is chosen.
    b.goto(&format!("{base}/regie?q=Eleve1"));
    b.wait_for("document.querySelector('a[data-pay]') !== null", WAIT);
    b.eval("document.querySelector('a[data-pay]').click(); true");
    b.wait_for(
        "location.search.startsWith('?person=') && document.readyState === 'complete'",
        WAIT,
    );
    b.eval(
        "var s = document.querySelector('select[name=mode]');
         s.value = 'cheque'; s.dispatchEvent(new Event('change')); true",
    );
    assert_eq!(
        b.eval("document.querySelector('label[data-cheque]').hidden"),
        false
    );
    b.eval(
        "var f = document.querySelector('form[action=\"/regie/pay\"]');
         f.amount.value = '15.00'; f.cheque_number.value = '1234567'; f.bank.value = 'CIC';
         f.submit(); true",
    );
    b.wait_for(
        "location.search.includes('receipt=') && document.readyState === 'complete'",
        WAIT,
    );
    let day = b.eval("document.querySelector('section.day').innerText");
    assert!(day.as_str().unwrap().contains("Chèque"), "{day}");
    // The cheque was a mistake: cancelled from the day's list, after a confirmation.
    b.eval(
        "Array.from(document.querySelectorAll('section.day tr'))
           .find(r => r.innerText.includes('Chèque'))
           .querySelector('a.danger').click(); true",
    );
    b.wait_for(
        "location.pathname === '/regie/cancel' && document.readyState === 'complete'",
        WAIT,
    );
    b.eval(
        "var f = document.querySelector('form[action=\"/regie/cancel\"]');
         f.reason.value = 'saisi deux fois'; f.submit(); true",
    );
    b.wait_for(
        "location.search.includes('ok=regie.cancel.done') && document.readyState === 'complete'",
        WAIT,
    );
    let stamp = b.eval("document.querySelector('section.receipt .stamp').innerText");
    assert!(
        stamp.as_str().unwrap().contains("saisi deux fois"),
        "{stamp}"
    );
    let struck = b.eval("document.querySelectorAll('section.day tr.struck').length");
    assert_eq!(struck, 1);

    // Refunds from Eleve2's and Eleve3's pages leave 5 € each: low balances.
    for pupil in ["Eleve2", "Eleve3"] {
        b.goto(&format!("{base}/search?q={pupil}"));
        b.eval("document.querySelector('table.persons a').click(); true");
        b.wait_for("location.pathname.startsWith('/person/')", WAIT);
        b.wait_for_load();
        b.eval(
            "var f = document.querySelector('form[action=\"/regie/refund\"]');
             f.amount.value = '95'; f.mode.value = 'virement'; f.reason.value = 'départ';
             f.submit(); true",
        );
        b.wait_for(
            "location.search.includes('ok=regie.refund.done') && document.readyState === 'complete'",
            WAIT,
        );
        let balance = b.eval("document.querySelector('dd.balance').innerText");
        assert_eq!(balance, "5,00 €", "{pupil}");
    }
    shot(&mut b, "person-refund-1920x1080");

    // The day's cash report and the low balances.
    b.goto(&format!("{base}/regie/caisse"));
    b.wait_for_load();
    let cash = b.eval("document.body.innerText");
    let cash = cash.as_str().unwrap().to_owned();
    for needle in [
        "Journal de caisse",
        "Total du jour",
        "Espèces",
        "Chèque",
        "Virement",
    ] {
        assert!(cash.contains(needle), "{needle}: {cash}");
    }
    let total = b.eval("document.querySelector('[data-total-cents]').dataset.totalCents");
    assert_eq!(total, "-16950", "20,50 + (15,00 cancelled) − 2 × 95,00");
    let struck = b.eval("document.querySelectorAll('table.cash tr.struck').length");
    assert_eq!(struck, 1, "the cancelled cheque is struck through");
    both_sizes(&mut b, "regie-caisse");
    b.goto(&format!("{base}/regie/soldes-bas"));
    b.wait_for_load();
    let low = b.eval("document.querySelector('table.low').innerText");
    let low = low.as_str().unwrap().to_owned();
    assert!(low.contains("Eleve2") && low.contains("Eleve3"), "{low}");
    assert!(!low.contains("Eleve1"), "{low}");
    both_sizes(&mut b, "regie-soldes-bas");
    b.goto(&format!("{base}/regie/mois"));
    b.wait_for_load();
    shot(&mut b, "regie-mois-1920x1080");

    // At the gate, Eleve2 and Eleve3 read that no meal is paid in advance; not the amount.
    for (pupil, (w, h)) in [(2, (1920, 1080)), (3, (800, 480))] {
        b.viewport(w, h);
        b.goto(&format!("{base}/portique"));
        b.wait_for("document.querySelector('#gate.idle') !== null", WAIT);
        b.wait_for(
            "document.getElementById('gate').dataset.connected === '1'",
            WAIT,
        );
        present(&mut pipe, &fifo_badge(pupil));
        b.wait_for("document.querySelector('#gate.pass') !== null", WAIT);
        let shown = b.eval("document.getElementById('gate').innerText");
        let shown = shown.as_str().unwrap().to_owned();
        assert!(shown.contains(&format!("Eleve{pupil}")), "{shown}");
        // 5,00 − 3,90 = 1,10 €: not a meal's worth.
        assert!(shown.contains("Plus de repas d'avance"), "{shown}");
        assert!(!shown.contains('€') && !shown.contains("1,10"), "{shown}");
        shot(&mut b, &format!("gate-low-{w}x{h}"));
        b.wait_for("document.querySelector('#gate.idle') !== null", WAIT);
    }
    println!("screenshots in {}", screenshots_dir().display());

    // The journal has the two payments with their receipts, numbered one after the other.
    drop(b);
    terminate(&mut daemon);
    let receipts: Vec<String> = journal(&data)
        .iter()
        .filter(|e| e["kind"] == "payment")
        .map(|e| e["receipt"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    assert!(receipts[0].ends_with("-00001") && receipts[1].ends_with("-00002"));
}

#[test]
fn the_gestionnaire_constates_a_term_and_enters_aid_from_the_billing_page() {
    let dir = tempdir();
    let config = fifo_gate(dir.path(), 1);
    // Three demi-pensionnaires on forfaits billed per day; the forfaits eat at the gate's one
    // service. The terms are the school year's default ones.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "[regimes]\ndp_services = [\"tout\"]\n\
         [[billing.prices]]\nforfait = \"dp4\"\nper_day = \"4,10\"\n\
         [[billing.prices]]\nforfait = \"dp5\"\nper_day = \"3,90\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let roster = write_file(
        dir.path(),
        "forfaits.csv",
        "identifiant;nom;prenom;classe;categorie;regime;jours_forfait;badge;solde_initial\n\
         D001;Durand;Lea;4B;eleve;dp;lun mar jeu ven;;\n\
         D002;Bernard;Hugo;4B;eleve;dp;tous;;\n\
         D003;Petit;Nina;3A;eleve;dp;lun mar jeu ven;;\n",
    );
    import_roster(&roster, &config);
    let data = data_dir(dir.path());
    add_account(&data, "intendance", "gestionnaire", "gestion-2026-cantine");
    let (child, addr) = start_daemon(&config);
    let mut daemon = KillOnDrop::new(child);
    let base = format!("http://{addr}");
    let mut b = Browser::launch();
    b.viewport(1920, 1080);
    browser_login(&mut b, &base, "intendance", "gestion-2026-cantine");

    // The terms; the first one not constated yet, three pupils to bill.
    b.goto(&format!("{base}/facturation"));
    b.wait_for_load();
    let first = b.eval("document.querySelector('table.terms tbody tr').innerText");
    let first = first.as_str().unwrap().to_owned();
    assert!(first.contains("Pas encore constaté"), "{first}");
    assert!(first.contains("3 lignes à journaliser"), "{first}");
    b.eval("document.querySelector('table.terms tbody tr a.primary').click(); true");
    b.wait_for(
        "location.pathname.startsWith('/facturation/') && document.querySelector('[data-constate]') !== null",
        WAIT,
    );
    let term = b.eval("document.querySelector('main').dataset.term");
    let term = term.as_str().unwrap().to_owned();
    let due = b.eval("Number(document.querySelector('dd[data-due-cents]').dataset.dueCents)");
    let due = due.as_i64().unwrap();
    assert!(due > 0, "{due}");
    let lines = b.eval("document.querySelectorAll('table.run tbody tr[data-person]').length");
    assert_eq!(lines, 3);

    // Constated through the page.
    b.eval("document.querySelector('[data-constate]').click(); true");
    b.wait_for(
        "location.search.includes('ok=billing.constate.done') && document.readyState === 'complete'",
        WAIT,
    );
    let run = b.eval("document.querySelector('section.run').innerText");
    assert!(
        run.as_str().unwrap().contains("À jour"),
        "after the constatation: {run}"
    );
    let constated =
        b.eval("Number(document.querySelector('dd[data-constated-cents]').dataset.constatedCents)");
    assert_eq!(constated.as_i64().unwrap(), due);
    assert_eq!(
        b.eval("document.querySelectorAll('a[href$=\"/bordereau-1.xlsx\"]').length"),
        1
    );

    // An aid for Léa: a re-constatation of −20,00 € waits for the next run.
    b.eval(
        "var f = document.querySelector('form[action$=\"/aide\"]');
         f.person.value = 'D001'; f.kind.value = 'bourse'; f.amount.value = '20';
         f.reference.value = 'B-2026-1'; f.submit(); true",
    );
    b.wait_for(
        "location.search.includes('ok=billing.aid.done') && document.readyState === 'complete'",
        WAIT,
    );
    let pending = b.eval(
        "Array.from(document.querySelectorAll('table.run tbody tr[data-person]'))
           .map(r => r.dataset.person + ' ' + r.dataset.cents).join(',')",
    );
    assert_eq!(pending, "D001 -2000");
    let entries = b.eval("document.querySelector('section.entries').innerText");
    assert!(
        entries.as_str().unwrap().contains("Bourse 20,00 €"),
        "{entries}"
    );
    shot(&mut b, "facturation");
    b.viewport(800, 480);
    shot(&mut b, "facturation-800x480");
    b.viewport(1920, 1080);

    // A remise of two days: refused, in French, on the page; nothing journaled.
    b.eval(
        "var f = document.querySelector('form[action$=\"/remise\"]');
         f.person.value = 'D002'; f.from.value = f.asked_on.value; f.to.value = f.asked_on.value;
         f.proof.value = 'certificat 7'; f.submit(); true",
    );
    b.wait_for(
        "document.querySelector('.problems') !== null && document.readyState === 'complete'",
        WAIT,
    );
    let refusal = b.eval("document.querySelector('.problems').innerText");
    let refusal = refusal.as_str().unwrap().to_owned();
    assert!(
        refusal.contains("Refusé, rien n'est journalisé"),
        "{refusal}"
    );
    assert_eq!(
        b.eval("document.querySelector('form[action$=\"/remise\"]').proof.value"),
        "certificat 7"
    );
    shot(&mut b, "facturation-refus");
    println!("screenshots in {}", screenshots_dir().display());

    // The journal: one receivable per pupil on bordereau 1 of the term, summing to what the page
    // said was due, by the member of staff; the aid entered, no remise.
    drop(b);
    terminate(&mut daemon);
    let events = journal(&data);
    let receivables: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "receivable")
        .collect();
    assert_eq!(receivables.len(), 3, "{receivables:?}");
    for r in &receivables {
        assert_eq!(r["term"], term.as_str(), "{r}");
        assert_eq!(r["bordereau"], 1, "{r}");
        assert_eq!(r["by"], "intendance", "{r}");
    }
    let sum: i64 = receivables
        .iter()
        .map(|r| r["cents"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, due);
    let entries: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "billing_entry")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["by"], "intendance");
    assert!(
        entries[0]["input"].to_string().contains("2000"),
        "{}",
        entries[0]
    );
}
