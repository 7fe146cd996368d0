//! The reports' PDFs read by poppler: `pdftotext` finds the receipts, the French headings with
//! their accents and the totals, without a warning; `pdftoppm` renders the first page, saved as
//! a PNG in `target/kiosk-screenshots/` for people to look at. Without poppler-utils those parts
//! are skipped, and each test says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use selfgate_money::{CashReport, MonthReport};
use selfgate_rules::journal::PaymentMode;
use selfgate_rules::model::PersonId;

/// The text of `pdf` as `pdftotext -layout` reads it; `None` when poppler is not installed.
fn pdftotext(pdf: &[u8], dir: &Path, name: &str) -> Option<String> {
    if !have("pdftotext") {
        {
            use std::io::Write as _;
            // Past the test runner, which hides what print macros write.
            let _ = writeln!(
                std::io::stderr(),
                "pdftotext not installed (poppler-utils): skipped reading {name}.pdf"
            );
        }
        return None;
    }
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "pdftotext warns about {name}.pdf"
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Page 1 of `pdf` rendered at 50 dpi into `target/kiosk-screenshots/{name}.png`.
fn render_first_page(pdf: &[u8], dir: &Path, name: &str) {
    if !have("pdftoppm") {
        {
            use std::io::Write as _;
            // Past the test runner, which hides what print macros write.
            let _ = writeln!(
                std::io::stderr(),
                "pdftoppm not installed (poppler-utils): skipped rendering {name}.png"
            );
        }
        return;
    }
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let shots = screenshots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&path)
        .arg(shots.join(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm failed: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "pdftoppm warns about {name}.pdf"
    );
    let png = shots.join(format!("{name}.png"));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", png.display());
    // 50 dpi A4 landscape, rounded up: 585 × 414 pixels (IHDR width and height).
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (585, 414));
    println!("screenshot: {}", png.display());
}

#[test]
fn the_cash_report_pdf_reads_back_with_its_receipts_headings_and_totals() {
    let monday = CashReport::compute(&week(), &names, day(2026, 10, 5), TZ, Some("R1")).unwrap();
    let pdf = monday.to_pdf();
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert_eq!(pdf, monday.to_pdf(), "the same report, the same bytes");
    let dir = tempfile::tempdir().unwrap();
    render_first_page(&pdf, dir.path(), "journal-de-caisse");
    let Some(text) = pdftotext(&pdf, dir.path(), "journal-de-caisse") else {
        return;
    };
    for needle in [
        "Journal de caisse",
        "Régie R1 — lundi 5 octobre 2026 (Europe/Paris)",
        "4 quittances émises, de R1-2026-00001 à R1-2026-00004",
        "R1-2026-00001",
        "R1-2026-00002",
        "R1-2026-00003",
        "R1-2026-00004",
        "MARTIN Alice",
        "n° 1234567, La Banque Postale",
        "annulé le 07/10/2026 à 10:00",
        "annulé à 08:32",
        "Totaux par mode",
        "Espèces",
        "Chèque",
        "Carte bancaire",
        "Total général",
        "Arrêté le présent journal à la somme de 60,50 €.",
        "Page 1 / 1",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    // The mode lines: count, payments, cancellations, refunds, total.
    let line = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label) && l.contains(','))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(line("Espèces"), "Espèces 3 45,50 -15,00 0,00 30,50");
    assert_eq!(line("Chèque"), "Chèque 1 30,00 0,00 0,00 30,00");
    assert_eq!(
        line("Total général"),
        "Total général 4 75,50 -15,00 0,00 60,50"
    );

    // Wednesday's negative lines.
    let wednesday = CashReport::compute(&week(), &names, day(2026, 10, 7), TZ, Some("R1")).unwrap();
    let text = pdftotext(&wednesday.to_pdf(), dir.path(), "mercredi").unwrap();
    for needle in [
        "Annul. R1-2026-00002",
        "-30,00",
        "annule le versement du",
        "05/10/2026 : chèque sans",
        "Remboursement",
        "-5,00",
        "Aucune quittance émise ce jour",
        "la somme de -35,00 €",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn the_month_report_pdf_reads_back_with_its_balances_and_totals() {
    let october = MonthReport::compute(&week(), &persons(), 2026, 10, TZ).unwrap();
    let pdf = october.to_pdf();
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    let dir = tempfile::tempdir().unwrap();
    render_first_page(&pdf, dir.path(), "rapprochement-mensuel");
    let Some(text) = pdftotext(&pdf, dir.path(), "rapprochement-mensuel") else {
        return;
    };
    for needle in [
        "Rapprochement mensuel — octobre 2026",
        "du jeudi 1er octobre 2026 au samedi 31 octobre 2026 (Europe/Paris)",
        "DURAND Bob",
        "MARTIN Alice",
        "PETIT Claire",
        "Personnes débitrices au samedi 31 octobre 2026",
        "Total des dettes",
        "Repas par catégorie",
        "Élève",
        "Commensal",
        "Repas par tranche",
        "—",
        "Repas par régime",
        "Demi-pensionnaire",
        "Versements par mode",
        "Soldes créditeurs à la clôture : 26,50 € ; soldes débiteurs : -3,00 €.",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let row = |start: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(
        row("MARTIN Alice"),
        "MARTIN Alice 6A 6,10 30,00 3 -11,70 0,00 0,00 -5,00 0,00 19,40"
    );
    assert_eq!(
        row("Total (3 personnes)"),
        "Total (3 personnes) 3,10 92,50 6 -27,30 5,20 -45,00 -5,00 0,00 23,50"
    );
}

#[test]
fn a_long_day_runs_onto_several_pages_with_the_header_on_each() {
    let mut j = Journal::default();
    for n in 1..=140u32 {
        j.payment(
            local("2026-10-05 08:00") + chrono::TimeDelta::minutes(i64::from(n)),
            PersonId(n),
            100 * i64::from(n),
            if n % 3 == 0 {
                cheque(&format!("{:07}", 1000 + n), "Crédit Agricole")
            } else {
                PaymentMode::Especes
            },
            "Famille Lefèvre-Dupont de la Mothe-Houdancourt, pour le compte de M. et Mme \
             Lefèvre-Dupont de la Mothe-Houdancourt",
            receipt("R1", n),
        );
    }
    let r = CashReport::compute(&j.events, &names, day(2026, 10, 5), TZ, Some("R1")).unwrap();
    assert_eq!(r.total_cents(), 100 * (140 * 141 / 2));
    let dir = tempfile::tempdir().unwrap();
    let Some(text) = pdftotext(&r.to_pdf(), dir.path(), "long") else {
        return;
    };
    let squeezed = |t: &str| {
        t.split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let text = text.lines().map(squeezed).collect::<Vec<_>>().join("\n");
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 3, "{pages} pages");
    let last = format!("Page {pages} / {pages}");
    assert!(text.contains(&last), "{last} not in the text");
    let headers = text
        .lines()
        .filter(|l| l.trim_start().starts_with("Quittance") && l.contains("Montant (€)"))
        .count();
    assert!(headers >= pages - 1, "{headers} headers on {pages} pages");
    assert!(text.contains("R1-2026-00140"));
    assert!(text.contains("de R1-2026-00001 à R1-2026-00140"));
    // The payer's name wraps onto three lines in its column, the last cut with an ellipsis.
    assert!(
        text.contains("R1-2026-00001 08:01 MARTIN Alice 6A Famille"),
        "{text}"
    );
    assert_eq!(text.matches("…").count(), 140, "{text}");
}
