//! The words of the command line: every message a command prints is a [`Msg`], told in the
//! command's one language by `fr.rs` or `en.rs` (one file per language, every message in each).
//! French by default, as the kiosk; English with `--lang en`, or when the locale
//! (`LC_ALL`, `LC_MESSAGES`, `LANG`, in that order) is an English one.
//!
//! What the lower layers say (a configuration error naming its key, a roster line refused by
//! the parser, a store error) is shown as they word it, after the command's own words.

mod en;
mod fr;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use selfgate_rules::journal::Reason;

use super::import::ImportReport;
use super::siecle::{GuardiansReport, SiecleReport};
use crate::node::exchange::ExchangeReport;

/// A command's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// `--lang` when given, else the locale's language when it is English, else French.
    pub fn detect(flag: Option<Lang>, env: impl Fn(&str) -> Option<String>) -> Lang {
        if let Some(l) = flag {
            return l;
        }
        // The first of these that is set and not empty decides, as in POSIX.
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|k| env(k).filter(|v| !v.is_empty()));
        match locale {
            Some(l) if l.starts_with("en") => Lang::En,
            _ => Lang::Fr,
        }
    }
}

static LANG: OnceLock<Lang> = OnceLock::new();

/// Sets the process's language, once (later calls change nothing).
pub fn set(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The process's language (French until [`set`]).
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or(Lang::Fr)
}

/// A message of the command line, with what it tells.
#[derive(Clone, Copy, Debug)]
pub enum Msg<'a> {
    // check-config
    ConfigOk {
        file: &'a Path,
        services: usize,
        /// The school's own closures.
        closures: usize,
        public_holidays: usize,
        /// The official school holidays of `calendar.zone` (0 without a zone).
        school_holidays: usize,
        zone: Option<&'a str>,
        tariffs: usize,
        gate: &'a str,
        data: &'a Path,
        /// `[billing]`: the terms, and the forfaits that have a price (`dp4`, `interne`).
        terms: &'a [selfgate_money::billing::Term],
        priced: &'a [String],
    },
    // files
    CannotRead(&'a Path),
    CannotWrite(&'a Path),
    Creating(&'a Path),
    Resolving(&'a Path),
    NotUtf8(&'a Path),
    StartingRuntime,
    DaemonAnswered(&'a str),
    // account
    AccountAdded {
        name: &'a str,
        role: &'a str,
        file: &'a Path,
    },
    PasswordChanged(&'a str),
    AccountRemoved(&'a str),
    NoPassword,
    ReadingPasswordFile(&'a Path),
    ReadingPasswordStdin,
    // run
    Ready {
        gate: &'a str,
        persons: usize,
        kiosk: &'a str,
    },
    SystemdStatus {
        gate: &'a str,
        persons: usize,
        kiosk: &'a str,
    },
    MetricsOn(&'a str),
    HubOn(SocketAddr),
    Stopped,
    // demo
    SpeedRange,
    NoServiceToSimulate(&'a Path),
    CreatingDemoSchool,
    DemoCreated {
        persons: usize,
        dir: &'a Path,
    },
    DemoResumed {
        dir: &'a Path,
        events: u64,
    },
    DemoKioskMissing,
    DemoKiosk {
        addr: SocketAddr,
        speed: f64,
    },
    DemoAccount {
        password: &'a str,
        addr: SocketAddr,
    },
    DemoMetrics(&'a str),
    /// A family's payment at the demo school's régie.
    DemoPayment {
        receipt: &'a str,
        name: &'a str,
        class: &'a str,
        cents: i64,
        mode: &'a str,
    },
    DemoPaymentCancelled {
        receipt: &'a str,
        name: &'a str,
        cents: i64,
    },
    /// The status line, printed when what it says changes: the simulated time (weekday 0 =
    /// Monday), the service open then (label, opening and closing times) with its counts, or
    /// the next service to open (weekday, time, label).
    DemoStatus {
        weekday: u32,
        when: &'a str,
        service: Option<(&'a str, &'a str, &'a str)>,
        next: Option<(u32, &'a str, &'a str)>,
        served: usize,
        expected: u64,
        denied: &'a [(Reason, u64)],
        passes: u64,
        denials: u64,
        repeats: u64,
    },
    DemoStopped {
        when: &'a str,
        passes: u64,
        denials: u64,
        repeats: u64,
        not_recorded: u64,
    },
    DemoJournal(&'a Path),
    // backup, restore, retention
    BackupWritten {
        file: &'a Path,
        data: &'a Path,
        events: u64,
    },
    Restored {
        file: &'a Path,
        data: &'a Path,
        kept: &'a Path,
    },
    Anonymised {
        passages: u64,
        days: u32,
    },
    // journal, cancel
    EventNotGateSeq(&'a str),
    Cancelled {
        gate: &'a str,
        seq: u64,
        by_gate: &'a str,
        by_seq: u64,
    },
    SinceNotDate(&'a str),
    // import roster
    NothingImported {
        file: &'a Path,
        errors: usize,
    },
    RosterImported {
        file: &'a Path,
        rows: usize,
        store: &'a Path,
        report: &'a ImportReport,
    },
    RosterDryRun {
        file: &'a Path,
        rows: usize,
        report: &'a ImportReport,
    },
    // import siecle
    NotAZip(&'a Path),
    ZipWithoutXml(&'a Path),
    ZipWithManyXml {
        file: &'a Path,
        names: &'a [String],
    },
    CannotUnzip {
        file: &'a Path,
        name: &'a str,
    },
    SiecleNotImported(&'a Path),
    SiecleImported {
        file: &'a Path,
        read: usize,
        store: &'a Path,
        today: chrono::NaiveDate,
        report: &'a SiecleReport,
    },
    SiecleDryRun {
        file: &'a Path,
        read: usize,
        today: chrono::NaiveDate,
        report: &'a SiecleReport,
    },
    /// The guardians of a `--responsables` file; `store` is `None` in a dry run.
    GuardiansImported {
        file: &'a Path,
        store: Option<&'a Path>,
        report: &'a GuardiansReport,
    },
    /// `selfgate retention`: guardians deleted.
    GuardiansPurged(u64),
    /// `selfgate import charlemagne eleves`: what the file was read as.
    CharlemagneRead {
        file: &'a Path,
        /// `XLSX`, `HTML`, `CSV`.
        format: &'a str,
        /// A text file's encoding.
        encoding: Option<&'a str>,
        /// Where the header row is (`line 2`, `row 1`).
        header: &'a str,
        pupils: usize,
        payers: usize,
        /// Headers no field of the mapping names.
        unused: &'a [String],
    },
    /// A Charlemagne import that found the store already as the file says.
    CharlemagneUnchanged(&'a Path),
    // exchange, pronote
    NoExchanges,
    ExchangeReport {
        report: &'a ExchangeReport,
        tz: chrono_tz::Tz,
    },
    PronoteKeyImported(&'a Path),
    IdsWritten {
        file: &'a Path,
        pupils: usize,
    },
    // oppositions, badges
    OppositionSet {
        person: &'a str,
        id: u64,
        reason: &'a str,
        from: chrono::NaiveDate,
        to: Option<chrono::NaiveDate>,
    },
    OppositionLifted {
        person: &'a str,
        id: u64,
    },
    OppositionLine {
        person: &'a str,
        id: u64,
        reason: &'a str,
        service: Option<&'a str>,
        from: chrono::NaiveDate,
        to: Option<chrono::NaiveDate>,
        lifted: bool,
        note: &'a str,
    },
    BadgeLost {
        badge: &'a str,
    },
    // payment
    PaymentTaken {
        receipt: &'a str,
        name: &'a str,
        cents: i64,
        mode: &'a str,
        balance: i64,
    },
    PaymentCancelled {
        receipt: &'a str,
        name: &'a str,
        cents: i64,
        balance: i64,
    },
    Refunded {
        name: &'a str,
        cents: i64,
        balance: i64,
    },
    // report
    Written(&'a Path),
    CashLine {
        receipt: &'a str,
        time: &'a str,
        name: &'a str,
        mode: &'a str,
        cents: i64,
        struck: bool,
    },
    CashMode {
        mode: &'a str,
        count: usize,
        cents: i64,
    },
    CashTotal {
        day: chrono::NaiveDate,
        payments: usize,
        cents: i64,
        first: Option<&'a str>,
        last: Option<&'a str>,
    },
    MonthTotals {
        year: i32,
        month: u32,
        opening: i64,
        payments: i64,
        meals: i64,
        corrections: i64,
        cancellations: i64,
        refunds: i64,
        credits: i64,
        closing: i64,
    },
    MonthDebtors {
        count: usize,
        cents: i64,
    },
    /// One payment of `selfgate payment list`.
    PaymentLine {
        receipt: &'a str,
        when: &'a str,
        name: &'a str,
        cents: i64,
        mode: &'a str,
        payer: &'a str,
        cancelled: bool,
    },
    // pki
    AuthorityCreated {
        name: &'a str,
        dir: &'a Path,
    },
    HubIssued {
        cert: &'a Path,
        names: &'a [String],
    },
    GateIssued {
        cert: &'a Path,
        id: &'a str,
    },
    Revoked {
        count: usize,
        name: &'a str,
        crl: &'a Path,
    },
    Certificate {
        serial: &'a str,
        kind: &'a str,
        name: &'a str,
        not_after: &'a str,
        revoked_at: Option<&'a str>,
    },
}

impl std::fmt::Display for Msg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let said = match lang() {
            Lang::Fr => fr::text(self),
            Lang::En => en::text(self),
        };
        f.write_str(&said)
    }
}

/// `msg` in the command's language.
pub fn text(msg: Msg<'_>) -> String {
    msg.to_string()
}

/// A time for people: `16/11/2026 12:04:00` in `tz`, or a dash.
fn when(t: Option<chrono::DateTime<chrono::Utc>>, tz: chrono_tz::Tz) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| t.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S").to_string(),
    )
}

/// ` (ELEVE_ID 1, 2)` after a count, or nothing.
fn ids(v: &[String]) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!(" (ELEVE_ID {})", v.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn french_unless_asked_or_the_locale_is_english() {
        assert_eq!(Lang::detect(None, env(&[])), Lang::Fr);
        assert_eq!(Lang::detect(None, env(&[("LANG", "C.UTF-8")])), Lang::Fr);
        assert_eq!(
            Lang::detect(None, env(&[("LANG", "fr_FR.UTF-8")])),
            Lang::Fr
        );
        assert_eq!(
            Lang::detect(None, env(&[("LANG", "en_GB.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::detect(None, env(&[("LANG", "en_GB.UTF-8"), ("LC_ALL", "fr_FR")])),
            Lang::Fr,
            "LC_ALL comes first"
        );
        assert_eq!(
            Lang::detect(None, env(&[("LANG", "fr_FR"), ("LC_MESSAGES", "en_US")])),
            Lang::En
        );
        assert_eq!(
            Lang::detect(None, env(&[("LC_ALL", ""), ("LANG", "en_US")])),
            Lang::En,
            "an empty variable is unset"
        );
        assert_eq!(
            Lang::detect(Some(Lang::Fr), env(&[("LANG", "en_US")])),
            Lang::Fr
        );
        assert_eq!(Lang::detect(Some(Lang::En), env(&[])), Lang::En);
    }

    static GUARDIANS: GuardiansReport = GuardiansReport {
        read: 0,
        added: 0,
        updated: 0,
        unchanged: 0,
        left_out: 0,
        links_left_out: 0,
        ended: 0,
        with_payer: 0,
        without_payer: Vec::new(),
        families: 0,
        warnings: Vec::new(),
    };

    /// One of each message, for the test that both languages tell each.
    fn samples<'a>(
        report: &'a ImportReport,
        siecle: &'a SiecleReport,
        x: &'a ExchangeReport,
    ) -> Vec<Msg<'a>> {
        let p = Path::new("/tmp/f");
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_default();
        vec![
            Msg::ConfigOk {
                file: p,
                services: 3,
                closures: 1,
                public_holidays: 11,
                school_holidays: 6,
                zone: Some("B"),
                tariffs: 2,
                gate: "ligne-1",
                data: p,
                terms: &[],
                priced: &[],
            },
            Msg::CannotRead(p),
            Msg::CannotWrite(p),
            Msg::Creating(p),
            Msg::Resolving(p),
            Msg::NotUtf8(p),
            Msg::StartingRuntime,
            Msg::DaemonAnswered("x"),
            Msg::AccountAdded {
                name: "a",
                role: "surveillant",
                file: p,
            },
            Msg::PasswordChanged("a"),
            Msg::AccountRemoved("a"),
            Msg::NoPassword,
            Msg::ReadingPasswordFile(p),
            Msg::ReadingPasswordStdin,
            Msg::Ready {
                gate: "g",
                persons: 2,
                kiosk: "127.0.0.1:1",
            },
            Msg::SystemdStatus {
                gate: "g",
                persons: 2,
                kiosk: "127.0.0.1:1",
            },
            Msg::MetricsOn("http://x/metrics"),
            Msg::HubOn(addr),
            Msg::Stopped,
            Msg::SpeedRange,
            Msg::NoServiceToSimulate(p),
            Msg::CreatingDemoSchool,
            Msg::DemoCreated {
                persons: 600,
                dir: p,
            },
            Msg::DemoResumed { dir: p, events: 9 },
            Msg::DemoKioskMissing,
            Msg::DemoKiosk { addr, speed: 10.0 },
            Msg::DemoAccount {
                password: "pw",
                addr,
            },
            Msg::DemoMetrics("http://x/metrics"),
            Msg::DemoPayment {
                receipt: "INT-2026-00001",
                name: "Léa MARTIN",
                class: "6A",
                cents: 2000,
                mode: "cheque",
            },
            Msg::DemoPaymentCancelled {
                receipt: "INT-2026-00002",
                name: "Léa MARTIN",
                cents: 2000,
            },
            Msg::PaymentTaken {
                receipt: "R-2026-00001",
                name: "Léa",
                cents: 2000,
                mode: "especes",
                balance: 2390,
            },
            Msg::PaymentCancelled {
                receipt: "R-2026-00001",
                name: "Léa",
                cents: 2000,
                balance: 390,
            },
            Msg::Refunded {
                name: "Léa",
                cents: 390,
                balance: 0,
            },
            Msg::PaymentLine {
                receipt: "R-2026-00001",
                when: "2026-11-16 08:10",
                name: "Léa",
                cents: 2000,
                mode: "carte",
                payer: "M. Martin",
                cancelled: true,
            },
            Msg::Written(p),
            Msg::CashLine {
                receipt: "R-2026-00001",
                time: "08:10",
                name: "Léa",
                mode: "virement",
                cents: 2000,
                struck: true,
            },
            Msg::CashMode {
                mode: "especes",
                count: 2,
                cents: 4000,
            },
            Msg::CashTotal {
                day,
                payments: 2,
                cents: 4000,
                first: Some("R-2026-00001"),
                last: Some("R-2026-00002"),
            },
            Msg::MonthTotals {
                year: 2026,
                month: 11,
                opening: 0,
                payments: 4000,
                meals: 390,
                corrections: 0,
                cancellations: 0,
                refunds: 0,
                credits: 0,
                closing: 3610,
            },
            Msg::MonthDebtors {
                count: 1,
                cents: -390,
            },
            Msg::DemoStatus {
                weekday: 0,
                when: "16/11/2026 12:04",
                service: Some(("Déjeuner", "11:15", "13:30")),
                next: None,
                served: 1,
                expected: 2,
                denied: &[(Reason::AlreadyServed, 1)],
                passes: 1,
                denials: 1,
                repeats: 0,
            },
            Msg::DemoStatus {
                weekday: 6,
                when: "22/11/2026 09:00",
                service: None,
                next: Some((0, "11:15", "Déjeuner")),
                served: 0,
                expected: 0,
                denied: &[],
                passes: 1,
                denials: 1,
                repeats: 0,
            },
            Msg::DemoStopped {
                when: "x",
                passes: 1,
                denials: 2,
                repeats: 3,
                not_recorded: 0,
            },
            Msg::DemoJournal(p),
            Msg::BackupWritten {
                file: p,
                data: p,
                events: 4,
            },
            Msg::Restored {
                file: p,
                data: p,
                kept: p,
            },
            Msg::Anonymised {
                passages: 3,
                days: 120,
            },
            Msg::EventNotGateSeq("x"),
            Msg::Cancelled {
                gate: "g",
                seq: 1,
                by_gate: "g",
                by_seq: 2,
            },
            Msg::SinceNotDate("x"),
            Msg::NothingImported { file: p, errors: 2 },
            Msg::RosterImported {
                file: p,
                rows: 2,
                store: p,
                report,
            },
            Msg::RosterDryRun {
                file: p,
                rows: 2,
                report,
            },
            Msg::NotAZip(p),
            Msg::ZipWithoutXml(p),
            Msg::ZipWithManyXml {
                file: p,
                names: &[],
            },
            Msg::CannotUnzip {
                file: p,
                name: "a.xml",
            },
            Msg::SiecleNotImported(p),
            Msg::SiecleImported {
                file: p,
                read: 6,
                store: p,
                today: day,
                report: siecle,
            },
            Msg::SiecleDryRun {
                file: p,
                read: 6,
                today: day,
                report: siecle,
            },
            Msg::GuardiansImported {
                file: p,
                store: Some(p),
                report: &GUARDIANS,
            },
            Msg::GuardiansImported {
                file: p,
                store: None,
                report: &GUARDIANS,
            },
            Msg::GuardiansPurged(2),
            Msg::CharlemagneRead {
                file: p,
                format: "CSV",
                encoding: Some("windows-1252"),
                header: "line 2",
                pupils: 6,
                payers: 4,
                unused: &[],
            },
            Msg::CharlemagneUnchanged(p),
            Msg::NoExchanges,
            Msg::ExchangeReport {
                report: x,
                tz: chrono_tz::Europe::Paris,
            },
            Msg::PronoteKeyImported(p),
            Msg::IdsWritten { file: p, pupils: 6 },
            Msg::AuthorityCreated { name: "CA", dir: p },
            Msg::HubIssued {
                cert: p,
                names: &[],
            },
            Msg::GateIssued {
                cert: p,
                id: "ligne-1",
            },
            Msg::Revoked {
                count: 1,
                name: "ligne-1",
                crl: p,
            },
            Msg::Certificate {
                serial: "1",
                kind: "gate",
                name: "ligne-1",
                not_after: "2027",
                revoked_at: None,
            },
            Msg::OppositionSet {
                person: "E1",
                id: 3,
                reason: "impaye",
                from: day,
                to: None,
            },
            Msg::OppositionLifted {
                person: "E1",
                id: 3,
            },
            Msg::OppositionLine {
                person: "E1",
                id: 3,
                reason: "impaye",
                service: None,
                from: day,
                to: Some(day),
                lifted: true,
                note: "x",
            },
            Msg::BadgeLost { badge: "0A" },
        ]
    }

    #[test]
    fn every_message_is_told_in_both_languages_and_they_differ() {
        let (r, s, x) = (
            ImportReport::default(),
            SiecleReport::default(),
            ExchangeReport::default(),
        );
        let same_in_both = ["DaemonAnswered"];
        for m in samples(&r, &s, &x) {
            let (fr, en) = (fr::text(&m), en::text(&m));
            assert!(!fr.trim().is_empty() && !en.trim().is_empty(), "{m:?}");
            let name = format!("{m:?}");
            if !same_in_both.iter().any(|n| name.starts_with(n)) {
                assert_ne!(fr, en, "{m:?} is told alike in both languages");
            }
        }
        // French typography: a space before the colon.
        assert!(fr::text(&Msg::PasswordChanged("a")).contains("a"));
        assert!(fr::text(&Msg::CannotRead(Path::new("/x"))).contains("/x"));
    }
}
