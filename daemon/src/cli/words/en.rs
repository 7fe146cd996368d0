//! The command line's words in English.

use super::{Msg, ids, when};
use crate::node::exchange::RunStatus;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub(super) fn text(m: &Msg<'_>) -> String {
    match *m {
        Msg::ConfigOk {
            file,
            services,
            closures,
            public_holidays,
            school_holidays,
            zone,
            tariffs,
            gate,
            data,
            terms,
            priced,
        } => {
            let holidays = match zone {
                Some(z) => format!(", {school_holidays} school holiday periods of zone {z}"),
                None => String::new(),
            };
            let terms = if terms.is_empty() {
                "none".to_owned()
            } else {
                terms
                    .iter()
                    .map(|t| format!("{} {} to {}", t.code, t.from, t.to))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let priced = if priced.is_empty() {
                "no forfait price".to_owned()
            } else {
                format!("prices for {}", priced.join(", "))
            };
            format!(
                "{}: ok — {services} services, {closures} closures (and {public_holidays} public holidays{holidays}), {tariffs} tariffs, gate {gate}, data in {}\nbilling: terms {terms}; {priced}",
                file.display(),
                data.display()
            )
        }
        Msg::CannotRead(p) => format!("cannot read {}", p.display()),
        Msg::CannotWrite(p) => format!("cannot write {}", p.display()),
        Msg::Creating(p) => format!("while creating {}", p.display()),
        Msg::Resolving(p) => format!("while resolving {}", p.display()),
        Msg::NotUtf8(p) => format!("{} is not UTF-8 text", p.display()),
        Msg::StartingRuntime => "while starting the runtime".into(),
        Msg::DaemonAnswered(a) => format!("the running daemon answered {a}"),
        Msg::AccountAdded { name, role, file } => {
            format!("account {name} ({role}) added to {}", file.display())
        }
        Msg::PasswordChanged(name) => format!("password of {name} changed"),
        Msg::AccountRemoved(name) => format!("account {name} removed"),
        Msg::NoPassword => "no password given: write it on stdin or in --password-file".into(),
        Msg::ReadingPasswordFile(p) => {
            format!("while reading the password file {}", p.display())
        }
        Msg::ReadingPasswordStdin => "while reading the password from stdin".into(),
        Msg::Ready {
            gate,
            persons,
            kiosk,
        } => {
            format!("selfgate: ready, gate {gate} with {persons} persons, kiosk on {kiosk}")
        }
        Msg::SystemdStatus {
            gate,
            persons,
            kiosk,
        } => format!("gate {gate}: {persons} persons, kiosk on {kiosk}"),
        Msg::MetricsOn(url) => format!("selfgate: metrics on {url}"),
        Msg::HubOn(addr) => format!("selfgate: hub on https://{addr}/"),
        Msg::Stopped => "selfgate: stopped".into(),
        Msg::SpeedRange => "--speed must be above 0 and at most 10000".into(),
        Msg::NoServiceToSimulate(p) => format!(
            "no service to simulate: check the services and closures in {}",
            p.display()
        ),
        Msg::CreatingDemoSchool => "while creating the demo school".into(),
        Msg::DemoCreated { persons, dir } => {
            format!(
                "demo: created a school of {persons} persons in {}",
                dir.display()
            )
        }
        Msg::DemoResumed { dir, events } => format!(
            "demo: resuming the school in {} ({events} journal events so far)",
            dir.display()
        ),
        Msg::DemoKioskMissing => "the demo's kiosk did not start".into(),
        Msg::DemoKiosk { addr, speed } => {
            format!("demo: kiosk on http://{addr}/ · speed ×{speed} · Ctrl-C stops")
        }
        Msg::DemoAccount { password, addr } => format!(
            "demo: kiosk account `demo` (administrateur), password {password} · log in at http://{addr}/login · gate screen http://{addr}/portique"
        ),
        Msg::DemoMetrics(url) => format!("demo: metrics on {url}"),
        Msg::DemoPayment {
            receipt,
            name,
            class,
            cents,
            mode,
        } => format!(
            "demo: cash desk, receipt {receipt}: {} ({}) for {name} ({class})",
            euros(cents),
            selfgate_rules::journal::mode_label_en(mode).to_lowercase()
        ),
        Msg::DemoPaymentCancelled {
            receipt,
            name,
            cents,
        } => format!(
            "demo: cash desk, receipt {receipt} cancelled (typing mistake): {} taken back off {name}'s balance",
            euros(cents)
        ),
        Msg::DemoStatus {
            weekday,
            when,
            service,
            next,
            served,
            expected,
            denied,
            passes,
            denials,
            repeats,
        } => {
            let day = WEEKDAYS.get(weekday as usize).copied().unwrap_or("?");
            let head = format!("[{day} {when}]");
            match service {
                None => {
                    let next = match next {
                        Some((d, time, label)) => format!(
                            " · next: {} {} at {time}",
                            label.to_lowercase(),
                            WEEKDAYS.get(d as usize).copied().unwrap_or("?")
                        ),
                        None => String::new(),
                    };
                    format!(
                        "{head} canteen closed{next} · since start: {passes} passes, {denials} denials, {repeats} repeated reads merged"
                    )
                }
                Some((label, opens, closes)) => {
                    let total: u64 = denied.iter().map(|(_, n)| n).sum();
                    let detail: Vec<String> = denied
                        .iter()
                        .map(|(r, n)| format!("{} {n}", r.label_en().to_lowercase()))
                        .collect();
                    format!(
                        "{head} canteen open ({label}, {opens}–{closes}) · served {served} (forfaits expected {expected}) · denied {total}{}{}",
                        if detail.is_empty() { "" } else { ": " },
                        detail.join(", ")
                    )
                }
            }
        }
        Msg::DemoStopped {
            when,
            passes,
            denials,
            repeats,
            not_recorded,
        } => format!(
            "demo: stopped at {when} · this run: {passes} passes, {denials} denials, {repeats} repeated reads merged, {not_recorded} not recorded"
        ),
        Msg::DemoJournal(dir) => format!(
            "demo: journal in {} — see it with `selfgate journal --data {}`",
            dir.display(),
            dir.display()
        ),
        Msg::BackupWritten { file, data, events } => format!(
            "{}: backup of {} written ({events} journal events)",
            file.display(),
            data.display()
        ),
        Msg::Restored { file, data, kept } => format!(
            "{} restored into {} (previous database kept as {})",
            file.display(),
            data.display(),
            kept.display()
        ),
        Msg::Anonymised { passages, days } => {
            format!("{passages} passages older than {days} days anonymised")
        }
        Msg::EventNotGateSeq(e) => format!("--event `{e}` is not GATE/SEQ, e.g. ligne-1/42"),
        Msg::Cancelled {
            gate,
            seq,
            by_gate,
            by_seq,
        } => format!("{gate}/{seq} cancelled by correction {by_gate}/{by_seq}"),
        Msg::SinceNotDate(s) => {
            format!("--since `{s}` is not a date (YYYY-MM-DD) or an RFC 3339 instant")
        }
        Msg::NothingImported { file, errors } => {
            format!(
                "{}: {errors} error(s); nothing was imported",
                file.display()
            )
        }
        Msg::RosterImported {
            file,
            rows,
            store,
            report,
        } => format!(
            "{}: {rows} rows imported into {}:\n{}",
            file.display(),
            store.display(),
            roster_report(report)
        ),
        Msg::RosterDryRun { file, rows, report } => format!(
            "{}: {rows} rows read; dry run, nothing written:\n{}",
            file.display(),
            roster_report(report)
        ),
        Msg::NotAZip(p) => format!("{}: not a readable zip archive", p.display()),
        Msg::ZipWithoutXml(p) => format!("{}: the zip archive holds no .xml file", p.display()),
        Msg::ZipWithManyXml { file, names } => format!(
            "{}: the zip archive holds {} XML files ({}); unzip it and give one",
            file.display(),
            names.len(),
            names.join(", ")
        ),
        Msg::CannotUnzip { file, name } => format!("{}: cannot unzip {name}", file.display()),
        Msg::SiecleNotImported(p) => format!("{}: not imported; nothing was changed", p.display()),
        Msg::SiecleImported {
            file,
            read,
            store,
            today,
            report,
        } => format!(
            "{}: {read} pupils read, imported into {} as of {today}:\n{}",
            file.display(),
            store.display(),
            siecle_report(report)
        ),
        Msg::SiecleDryRun {
            file,
            read,
            today,
            report,
        } => format!(
            "{}: {read} pupils read; dry run as of {today}, nothing written:\n{}",
            file.display(),
            siecle_report(report)
        ),
        Msg::GuardiansImported {
            file,
            store,
            report: r,
        } => {
            let whither = match store {
                Some(s) => format!("imported into {}", s.display()),
                None => "dry run, nothing written".to_owned(),
            };
            let mut s = format!(
                "{}: {} guardians linked to pupils, {whither}:\n\
                 guardians kept:      {} (added {}, updated {}, unchanged {})\n\
                 left out:            {} (none of their children is known here)\n\
                 links ended:         {} guardian(s) the file no longer gives for a child it lists\n\
                 pupils with a payer: {}\n\
                 families:            {} (one payer for several children: one notice)\n\
                 pupils without payer: {}{}\n",
                file.display(),
                r.read,
                r.added + r.updated + r.unchanged,
                r.added,
                r.updated,
                r.unchanged,
                r.left_out,
                r.ended,
                r.with_payer,
                r.families,
                r.without_payer.len(),
                ids(&r.without_payer)
            );
            if r.links_left_out > 0 {
                s.push_str(&format!(
                    "links to pupils unknown here, not kept: {}\n",
                    r.links_left_out
                ));
            }
            for w in &r.warnings {
                s.push_str(&format!("warning: {w}\n"));
            }
            s
        }
        Msg::CharlemagneRead {
            file,
            format,
            encoding,
            header,
            pupils,
            payers,
            unused,
        } => {
            let encoding = encoding.map_or(String::new(), |e| format!(", encoding {e}"));
            let mut s = format!(
                "{}: Charlemagne export read ({format}{encoding}), headers at {header}: \
                 {pupils} pupils, {payers} payers",
                file.display()
            );
            if !unused.is_empty() {
                s.push_str(&format!(
                    "\ncolumns ignored (not in the mapping): {}",
                    unused.join(", ")
                ));
            }
            s
        }
        Msg::CharlemagneUnchanged(p) => format!(
            "{}: nothing changed, the store already holds this file",
            p.display()
        ),
        Msg::GuardiansPurged(n) => format!(
            "{n} guardians deleted (no child enrolled any more, the following accounting year over)"
        ),
        Msg::NoExchanges => "no exchange configured ([[exchanges]])".into(),
        Msg::ExchangeReport { report: r, tz } => {
            let status = match r.status {
                RunStatus::Never => "never run",
                RunStatus::Running => "running",
                RunStatus::Ok => "succeeded",
                RunStatus::Error => "failed",
            };
            let mut s = format!(
                "{} ({}, \"{}\"): {status}\n  last run: {} → {}{}, last success: {}\n  next: {}\n",
                r.name,
                r.kind,
                r.schedule,
                when(r.started_at, tz),
                when(r.finished_at, tz),
                if r.by_hand {
                    " (by hand)".to_owned()
                } else if r.attempt > 1 {
                    format!(" (attempt {})", r.attempt)
                } else {
                    String::new()
                },
                when(r.last_success_at, tz),
                if r.on_schedule {
                    when(r.next_run_at, tz)
                } else {
                    "by hand only (PRONOTE's automatic sync is off)".to_owned()
                },
            );
            for l in &r.sent {
                s.push_str(&format!("  sent: {l}\n"));
            }
            for l in &r.received {
                s.push_str(&format!("  received: {l}\n"));
            }
            if let Some(e) = &r.error {
                s.push_str(&format!("  error: {e}\n"));
            }
            s
        }
        Msg::PronoteKeyImported(p) => format!(
            "PRONOTE security key imported into {} (readable by its owner only)",
            p.display()
        ),
        Msg::IdsWritten { file, pupils } => format!(
            "{}: identifiers of {pupils} pupil(s) written, to import into PRONOTE",
            file.display()
        ),
        Msg::OppositionSet {
            person,
            id,
            reason,
            from,
            to,
        } => format!(
            "opposition {id} ({reason}) put in for {person} from {from}{}: refused at the gate",
            to.map_or_else(|| ", until lifted".to_owned(), |t| format!(" to {t}"))
        ),
        Msg::OppositionLifted { person, id } => {
            format!("opposition {id} of {person} lifted (kept in the history)")
        }
        Msg::OppositionLine {
            person,
            id,
            reason,
            service,
            from,
            to,
            lifted,
            note,
        } => format!(
            "{person}\t{id}\t{reason}\t{}\t{from} → {}\t{}\t{note}",
            service.unwrap_or("every service"),
            to.map_or_else(|| "…".to_owned(), |t| t.to_string()),
            if lifted { "lifted" } else { "in force" }
        ),
        Msg::BadgeLost { badge } => {
            format!("badge {badge} declared lost: refused at the gate from now on")
        }
        Msg::PaymentTaken {
            receipt,
            name,
            cents,
            mode,
            balance,
        } => format!(
            "receipt {receipt}: {} received for {name} ({}), new balance {}",
            euros(cents),
            selfgate_rules::journal::mode_label_en(mode),
            euros(balance)
        ),
        Msg::PaymentCancelled {
            receipt,
            name,
            cents,
            balance,
        } => format!(
            "receipt {receipt} cancelled: {} taken back off {name}'s balance, new balance {} (the number is never given again)",
            euros(cents),
            euros(balance)
        ),
        Msg::Refunded {
            name,
            cents,
            balance,
        } => format!(
            "{} refunded to {name}, new balance {}",
            euros(cents),
            euros(balance)
        ),
        Msg::Written(path) => format!("written: {}", path.display()),
        Msg::CashLine {
            receipt,
            time,
            name,
            mode,
            cents,
            struck,
        } => format!(
            "{receipt:<16} {time}  {name:<28} {:<17} {:>12}{}",
            selfgate_rules::journal::mode_label_en(mode),
            euros(cents),
            if struck { "  (cancelled)" } else { "" }
        ),
        Msg::CashMode { mode, count, cents } => format!(
            "  {:<17} {count:>4} payment(s)  {:>12}",
            selfgate_rules::journal::mode_label_en(mode),
            euros(cents)
        ),
        Msg::CashTotal {
            day,
            payments,
            cents,
            first,
            last,
        } => format!(
            "cash report of {day}: {payments} payment(s), total {}{}",
            euros(cents),
            match (first, last) {
                (Some(f), Some(l)) => format!(", receipts {f} to {l}"),
                _ => String::new(),
            }
        ),
        Msg::MonthTotals {
            year,
            month,
            opening,
            payments,
            meals,
            corrections,
            cancellations,
            refunds,
            credits,
            closing,
        } => format!(
            "reconciliation {year}-{month:02}: opening balances {} + payments {} - meals {} + corrections {} - cancellations {} - refunds {} + other credits {} = closing balances {}",
            euros(opening),
            euros(payments),
            euros(meals),
            euros(corrections),
            euros(cancellations),
            euros(refunds),
            euros(credits),
            euros(closing)
        ),
        Msg::MonthDebtors { count, cents } => {
            format!(
                "{count} person(s) in debt at the end of the month, for {}",
                euros(cents)
            )
        }
        Msg::PaymentLine {
            receipt,
            when,
            name,
            cents,
            mode,
            payer,
            cancelled,
        } => format!(
            "{receipt}  {when}  {name:<28} {:>12}  {:<17} {payer}{}",
            euros(cents),
            selfgate_rules::journal::mode_label_en(mode),
            if cancelled { "  CANCELLED" } else { "" }
        ),
        Msg::AuthorityCreated { name, dir } => format!(
            "authority `{name}` created in {}: copy ca.pem to the hub and every gate, keep ca.key here",
            dir.display()
        ),
        Msg::HubIssued { cert, names } => format!(
            "{} issued for {} (key hub.key, mode 600)",
            cert.display(),
            names.join(", ")
        ),
        Msg::GateIssued { cert, id } => format!(
            "{} issued for gate {id} (key gate-{id}.key, mode 600)",
            cert.display()
        ),
        Msg::Revoked { count, name, crl } => format!(
            "{count} certificate(s) of `{name}` revoked; {} re-signed (the hub reads it again at the next connection)",
            crl.display()
        ),
        Msg::Certificate {
            serial,
            kind,
            name,
            not_after,
            revoked_at,
        } => format!(
            "{serial}\t{kind}\t{name}\tuntil {not_after}\t{}",
            revoked_at.map_or_else(|| "valid".to_owned(), |t| format!("revoked on {t}"))
        ),
    }
}

fn roster_report(r: &crate::cli::import::ImportReport) -> String {
    let mut s = format!(
        "persons added:      {}\npersons updated:    {}\npersons unchanged:  {}\n\
         badges added:       {}\nbadges revoked:     {} (replaced by a new badge)\n\
         opening balances:   {}",
        r.added.len(),
        r.updated.len(),
        r.unchanged,
        r.badges_added,
        r.badges_revoked,
        r.opening_balances
    );
    if !r.siecle_kept.is_empty() {
        s.push_str(&format!(
            "\nSIÈCLE pupils kept:  {} (names, class, category, régime and forfait are SIÈCLE's: {})",
            r.siecle_kept.len(),
            r.siecle_kept.join(", ")
        ));
    }
    s
}

fn siecle_report(r: &crate::cli::siecle::SiecleReport) -> String {
    let mut s = format!(
        "pupils added:      {}{}\npupils updated:    {}{}\n\
         pupils left:       {} (rights closed, history kept){}\npupils unchanged:  {}\n\
         already gone:      {} (left before this import, not added)\npupils rejected:   {}\n",
        r.added.len(),
        ids(&r.added),
        r.updated.len(),
        ids(&r.updated),
        r.left.len(),
        ids(&r.left),
        r.unchanged,
        r.left_not_added,
        r.rejected.len()
    );
    for x in &r.rejected {
        s.push_str(&format!("  rejected: {x}\n"));
    }
    for (code, (label, n)) in &r.regimes {
        s.push_str(&format!("  régime {code} {label}: {n}\n"));
    }
    if let Some(g) = r.guardians {
        s.push_str(&format!(
            "legal guardians:   none {}, one {}, two {}, more {}\n",
            g[0], g[1], g[2], g[3]
        ));
    }
    for w in &r.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

/// Cents the English way: `€3.90`, `-€3.20`.
fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}€{}.{:02}", abs / 100, abs % 100)
}
