//! `selfgate report caisse --day D` and `selfgate report mois --month M`: the accounting
//! officer's reports (the day's cash report, the month's reconciliation), read from the
//! journal (a copy written by the daemon when one runs): printed as a summary, and written as
//! CSV, PDF or JSON when asked.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use selfgate_money::{CashReport, MonthReport};
use selfgate_rules::model::Person;

use super::ReportCommand;
use super::words::Msg;
use crate::infra::clock::{Clock, SystemClock};

/// Where a report goes besides the summary.
struct Outputs {
    csv: Option<PathBuf>,
    pdf: Option<PathBuf>,
    json: bool,
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    println!("{}", Msg::Written(path));
    Ok(())
}

/// `YYYY-MM` into (year, month).
fn month(s: &str) -> anyhow::Result<(i32, u32)> {
    let bad = || anyhow::anyhow!("--month: « {s} » : YYYY-MM, e.g. 2026-11");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

/// `selfgate report …`.
pub fn command(what: ReportCommand) -> anyhow::Result<ExitCode> {
    let (place, outputs) = match &what {
        ReportCommand::Caisse {
            place,
            csv,
            pdf,
            json,
            ..
        }
        | ReportCommand::Mois {
            place,
            csv,
            pdf,
            json,
            ..
        } => (
            place,
            Outputs {
                csv: csv.clone(),
                pdf: pdf.clone(),
                json: *json,
            },
        ),
    };
    let config = place.load()?;
    let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
    let today = config.rules.today(SystemClock.now());
    let engine = store.load_engine(config.rules.clone(), today)?;
    let persons: Vec<Person> = engine.roster().persons().cloned().collect();
    let events = store.events(None).context("reading the journal")?;
    let tz = config.rules.timezone;
    match what {
        ReportCommand::Caisse { day, regie, .. } => {
            let day: NaiveDate = day.unwrap_or(today);
            if let Some(r) = regie.as_deref().filter(|r| config.money.regie(r).is_none()) {
                anyhow::bail!("--regie: aucune régie de code {r}");
            }
            let report =
                CashReport::compute(&events, persons.as_slice(), day, tz, regie.as_deref())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            if outputs.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_cash(&report);
            }
            if let Some(p) = &outputs.csv {
                write(p, report.to_csv().as_bytes())?;
            }
            if let Some(p) = &outputs.pdf {
                write(p, &report.to_pdf())?;
            }
        }
        ReportCommand::Mois { month: m, .. } => {
            let (year, month) = month(&m)?;
            let report = MonthReport::compute(&events, &persons, year, month, tz)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if outputs.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_month(&report);
            }
            if let Some(p) = &outputs.csv {
                write(p, report.to_csv().as_bytes())?;
            }
            if let Some(p) = &outputs.pdf {
                write(p, &report.to_pdf())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_cash(r: &CashReport) {
    for l in r.lines() {
        println!(
            "{}",
            Msg::CashLine {
                receipt: l.receipt.as_deref().unwrap_or("—"),
                time: &l.time,
                name: &l.name,
                mode: &l.mode,
                cents: l.counted_cents,
                struck: l.cancelled.is_some(),
            }
        );
    }
    for m in r
        .modes()
        .iter()
        .filter(|m| m.payments_count + m.cancellations_count + m.refunds_count > 0)
    {
        println!(
            "{}",
            Msg::CashMode {
                mode: &m.mode,
                count: m.payments_count,
                cents: m.net_cents,
            }
        );
    }
    println!(
        "{}",
        Msg::CashTotal {
            day: r.day(),
            payments: r.payments_count(),
            cents: r.total_cents(),
            first: r.first_receipt(),
            last: r.last_receipt(),
        }
    );
}

fn print_month(r: &MonthReport) {
    let t = r.totals();
    println!(
        "{}",
        Msg::MonthTotals {
            year: r.year(),
            month: r.month(),
            opening: t.opening_cents(),
            payments: t.payments_cents(),
            meals: t.meals_cents(),
            corrections: t.corrections_cents(),
            cancellations: t.cancellations_cents(),
            refunds: t.refunds_cents(),
            credits: t.credits_cents(),
            closing: t.closing_cents(),
        }
    );
    println!(
        "{}",
        Msg::MonthDebtors {
            count: r.debtors().len(),
            cents: r.debt_cents(),
        }
    );
}
