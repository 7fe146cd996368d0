//! The command line: the subcommands' arguments here, each subcommand's body in a file of its
//! own (`run.rs`, `demo.rs`, `journal.rs`…). The top layer: it may use every other, and it is
//! the only one that speaks `anyhow` (errors with their context, for a person to read).

pub mod account;
pub mod backup;
pub mod billing;
pub mod billing_docs;
pub mod charlemagne;
pub mod charlemagne_payments;
pub mod check_config;
pub mod demo;
pub mod demo_billing;
pub mod demo_prive;
pub mod exchange;
pub mod export;
pub mod guardians;
pub mod import;
pub mod journal;
pub mod payment;
pub mod pki;
pub mod pronote;
pub mod report;
pub mod retention;
pub mod run;
pub mod siecle;
pub mod simulate;
pub mod staff;
pub mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use words::{Msg, text};

/// selfgate — access control for the school canteen (self).
#[derive(Parser)]
#[command(name = "selfgate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The language of what the command prints: fr (the default) or en; without it, an
    /// English locale (LC_ALL, LC_MESSAGES, LANG) means en.
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<words::Lang>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Runs the daemon.
    Run {
        #[arg(
            long,
            value_name = "FILE",
            default_value = "/etc/selfgate/selfgate.toml"
        )]
        config: PathBuf,
    },
    /// Creates a demo school and runs simulated services on simulated hardware.
    Demo {
        /// Where the demo school, its configuration and journal live.
        #[arg(long, value_name = "DIR", default_value = "selfgate-demo")]
        data: PathBuf,
        /// Where the kiosk pages are served.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// How many times faster than real time the simulated clock runs.
        #[arg(long, value_name = "N", default_value_t = 10.0)]
        speed: f64,
        /// Stops cleanly after this long (real time): 20s, 5m, 1h.
        #[arg(long = "for", value_name = "DURATION", value_parser = demo::parse_duration)]
        run_for: Option<std::time::Duration>,
        /// Seed of the demo school and of the arrivals.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// A private school under contract: its pupils and payments come from Charlemagne's
        /// files (written in DIR/charlemagne/ and imported), on the first run.
        #[arg(long)]
        prive: bool,
    },
    /// Validates a configuration file: exit status 0 when valid, 1 with the keys at fault.
    CheckConfig { file: PathBuf },
    /// Prints the annotated example configuration (every key, with its default).
    ConfigExample,
    /// Runs a scripted list of reads through the decision engine and prints each verdict.
    Simulate {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// CSV `time,gate,credential`, times in the school's local time.
        #[arg(long, value_name = "FILE.csv")]
        reads: PathBuf,
        /// Decide against this roster CSV instead of the store's roster.
        #[arg(long, value_name = "FILE.csv", conflicts_with = "data")]
        roster: Option<PathBuf>,
        /// Decide against the store in this directory (a copy, a restored backup: with its
        /// oppositions, lost badges and balances) instead of the configuration's.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Prints every person with their badges and ticket balance.
    Persons {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Prints the guardians kept from SIÈCLE (responsables): their children's identifiants,
    /// who pays (*), their city.
    Guardians {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Prints journal events.
    Journal {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Only events on or after this local date (YYYY-MM-DD) or instant (RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Cancels a granted passage (a mistake at the gate): a correction is journaled that refers
    /// to it, refunds its charge and frees the service. The passage itself stays in the journal.
    Cancel {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The passage, as GATE/SEQ (see `selfgate journal`).
        #[arg(long, value_name = "GATE/SEQ")]
        event: String,
        /// Who cancels it.
        #[arg(long, value_name = "NAME")]
        by: String,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Takes a consistent copy of the store, through the running daemon when there is one.
    Backup {
        /// The backup file to write.
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Puts a backup in place of the store; refuses while the daemon runs.
    Restore {
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Anonymises passages older than `retention.passages_days` now (the daemon does it on
    /// `retention.schedule`); needs the daemon stopped.
    Retention {
        #[command(flatten)]
        place: Place,
    },
    /// The scheduled data exchanges (`[[exchanges]]`): their sync reports, or one run by hand.
    Exchange {
        #[command(subcommand)]
        what: ExchangeCommand,
    },
    /// PRONOTE set-up: the school's security key, our pupil identifiers.
    Pronote {
        #[command(subcommand)]
        what: PronoteCommand,
    },
    /// Imports data into the store.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Writes files for other software: Charlemagne's consumptions.
    Export {
        #[command(subcommand)]
        what: export::ExportCommand,
    },
    /// The site's certificate authority for the hub and its gates (mutual TLS).
    Pki {
        #[command(subcommand)]
        what: PkiCommand,
    },
    /// Oppositions (a person refused at the gate for a while): put one in, lift one, list
    /// them; through the running daemon when there is one.
    Opposition {
        #[command(subcommand)]
        what: OppositionCommand,
    },
    /// Badges: declare one lost; through the running daemon when there is one.
    Badge {
        #[command(subcommand)]
        what: BadgeCommand,
    },
    /// The régie (cash desk): take a payment, cancel one, refund a balance, list them;
    /// through the running daemon when there is one.
    Payment {
        #[command(subcommand)]
        what: PaymentCommand,
    },
    /// Forfaits billed per term (droits constatés): constatation and re-constatations,
    /// remises d'ordre, aid, family notices and bordereaux.
    Billing {
        #[command(subcommand)]
        what: BillingCommand,
    },
    /// The accounting officer's reports, from the journal: the day's cash report (`caisse`)
    /// and the month's reconciliation (`mois`); CSV and PDF on request.
    Report {
        #[command(subcommand)]
        what: ReportCommand,
    },
    /// Staff accounts of the kiosk (`DATA/accounts.toml`); works while the daemon runs.
    Account {
        #[command(subcommand)]
        what: AccountCommand,
    },
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Creates an account; the password is read from stdin (or --password-file).
    Add {
        name: String,
        /// surveillant, regisseur, gestionnaire or administrateur.
        #[arg(long)]
        role: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Sets a new password, read from stdin (or --password-file).
    Passwd {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Removes an account (its sessions end).
    Remove {
        name: String,
        #[command(flatten)]
        place: Place,
    },
    /// Lists the accounts and their roles.
    List {
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum BillingCommand {
    /// Constates the term's receivables (droits constatés); run again, journals only the
    /// differences since the last run (re-constatations, positive or negative).
    Constate {
        /// The term's code (`[[billing.terms]]`): T1, T2…
        #[arg(long)]
        term: String,
        /// Who runs it (kept on every line).
        #[arg(long, default_value = "intendance")]
        by: String,
        /// Shows what would be journaled, journals nothing.
        #[arg(long)]
        dry_run: bool,
        /// The lines as JSON, one per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
    /// Closes a constated term: later runs journal re-constatations only.
    Clore {
        #[arg(long)]
        term: String,
        #[arg(long, default_value = "intendance")]
        by: String,
        #[command(flatten)]
        place: Place,
    },
    /// Enters a remise d'ordre on request: illness of at least `remise_min_days`
    /// consecutive school days, with a proof, asked by the term's deadline.
    Remise {
        /// The pupil's identifiant (`selfgate persons`).
        #[arg(long)]
        person: String,
        #[arg(long)]
        term: String,
        /// First and last day of the illness.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: chrono::NaiveDate,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: chrono::NaiveDate,
        /// The proof's reference (a medical certificate's date…).
        #[arg(long)]
        proof: String,
        /// The day the family asked (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        asked_on: Option<chrono::NaiveDate>,
        #[arg(long, default_value = "intendance")]
        by: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        place: Place,
    },
    /// Enters an aid deducted from a pupil's bill: bourse, fonds_social or collectivite.
    Aide {
        #[arg(long)]
        person: String,
        #[arg(long)]
        term: String,
        /// bourse, fonds_social or collectivite.
        #[arg(long)]
        kind: String,
        /// In euros: 120, 120,00 or 120.50.
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "")]
        reference: String,
        #[arg(long, default_value = "intendance")]
        by: String,
        #[command(flatten)]
        place: Place,
    },
    /// Imports aid from a CSV file (`identifiant;trimestre;aide;montant;reference`): every
    /// line checked, all journaled or none.
    Aides {
        file: PathBuf,
        #[arg(long, default_value = "intendance")]
        by: String,
        #[command(flatten)]
        place: Place,
    },
    /// Withdraws a remise or an aid entered by mistake (`GATE/SEQ`, as `billing etat` shows).
    Retrait {
        #[arg(long)]
        term: String,
        #[arg(long)]
        entry: String,
        #[arg(long, default_value = "intendance")]
        by: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        place: Place,
    },
    /// The term: each pupil's bill, the entries, the bordereaux journaled and what a run
    /// would journal now.
    Etat {
        #[arg(long)]
        term: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
    /// The family notices of the term as PDF: one per paying guardian in DIR, and all of
    /// them in one file to print.
    Avis {
        #[arg(long)]
        term: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// A bordereau of the term (default: the last) as PDF, CSV and XLSX in DIR.
    Bordereau {
        #[arg(long)]
        term: String,
        #[arg(long)]
        number: Option<u32>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// Takes a payment onto a person's ticket balance and prints its receipt number.
    Add {
        /// The person's identifiant (`selfgate persons`).
        #[arg(long)]
        person: String,
        /// In euros: 20, 20,00 or 20.50 (two decimals at most).
        #[arg(long)]
        amount: String,
        /// especes, cheque, carte, virement, en_ligne or import.
        #[arg(long)]
        mode: String,
        /// A cheque's number (with --bank).
        #[arg(long)]
        cheque_number: Option<String>,
        #[arg(long)]
        bank: Option<String>,
        /// The reference of an online or imported payment.
        #[arg(long)]
        reference: Option<String>,
        /// Who paid (a parent's name).
        #[arg(long, default_value = "")]
        payer: String,
        /// Who takes it.
        #[arg(long)]
        by: String,
        /// The régie's code (default: the first this node holds).
        #[arg(long)]
        regie: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        place: Place,
    },
    /// Cancels a mistaken payment by its receipt number (a new event; the number is never
    /// given again).
    Cancel {
        /// `R1-2026-00042`.
        #[arg(long)]
        receipt: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        place: Place,
    },
    /// Gives back part or all of a remaining balance (departure, end of year).
    Refund {
        #[arg(long)]
        person: String,
        #[arg(long)]
        amount: String,
        /// How it is paid back: especes, cheque, virement…
        #[arg(long)]
        mode: String,
        #[arg(long)]
        cheque_number: Option<String>,
        #[arg(long)]
        bank: Option<String>,
        #[arg(long)]
        reference: Option<String>,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        regie: Option<String>,
        #[command(flatten)]
        place: Place,
    },
    /// Lists payments in receipt order, cancelled ones marked.
    List {
        /// Only this school day's.
        #[arg(long, value_name = "YYYY-MM-DD")]
        day: Option<chrono::NaiveDate>,
        /// Only this person's (identifiant).
        #[arg(long)]
        person: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// The day's cash report (journal de caisse): every payment, totals per mode, cancelled
    /// ones marked, first and last receipt.
    Caisse {
        /// The school day (default: today).
        #[arg(long, value_name = "YYYY-MM-DD")]
        day: Option<chrono::NaiveDate>,
        /// One régie's (default: every régie's).
        #[arg(long)]
        regie: Option<String>,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
        /// The whole report as JSON on stdout, in place of the summary.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
    /// The month's reconciliation: opening balances + payments − meals ± corrections = closing
    /// balances, to the cent; the persons in debt; meals per category, tier and régime.
    Mois {
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum OppositionCommand {
    /// Puts an opposition in: the person is refused at the gate, with this reason, from the
    /// first day (today by default) to the last (none: until lifted).
    Add {
        /// The person's identifiant (`selfgate persons`).
        #[arg(long)]
        person: String,
        /// impaye, exclusion, manuelle, absent_pronote or depart.
        #[arg(long)]
        reason: String,
        /// One service's code; every service when absent.
        #[arg(long)]
        service: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<chrono::NaiveDate>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<chrono::NaiveDate>,
        #[arg(long, default_value = "")]
        note: String,
        /// Who puts it in (kept in its note).
        #[arg(long)]
        by: String,
        #[command(flatten)]
        place: Place,
    },
    /// Lifts an opposition (it stays in the history).
    Lift {
        #[arg(long)]
        person: String,
        /// Its number (`selfgate opposition list`).
        #[arg(long)]
        id: u64,
        #[command(flatten)]
        place: Place,
    },
    /// Lists the oppositions, of one person or all.
    List {
        #[arg(long)]
        person: Option<String>,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum BadgeCommand {
    /// Declares a badge lost: refused at the gate from now on, shown to staff if presented.
    Lost {
        badge: String,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Creates the authority (ca.pem, ca.key) and an empty revocation list (crl.pem).
    Init {
        #[arg(long, value_name = "DIR", default_value = "/etc/selfgate/pki")]
        dir: PathBuf,
        /// The authority's name, e.g. the school's.
        #[arg(long, default_value = "selfgate CA")]
        name: String,
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issues the hub's certificate (hub.pem, hub.key) for the names gates reach it by.
    IssueHub {
        /// Host names or IP addresses, as written in the gates' `sync.hub`.
        #[arg(long = "name", value_name = "HOST", required = true)]
        names: Vec<String>,
        #[arg(long, value_name = "DIR", default_value = "/etc/selfgate/pki")]
        dir: PathBuf,
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Issues a gate's certificate (gate-ID.pem, gate-ID.key), its name the gate id.
    IssueGate {
        id: String,
        #[arg(long, value_name = "DIR", default_value = "/etc/selfgate/pki")]
        dir: PathBuf,
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Revokes the certificates issued to a gate id (or `hub`) and re-signs crl.pem.
    Revoke {
        name: String,
        #[arg(long, value_name = "DIR", default_value = "/etc/selfgate/pki")]
        dir: PathBuf,
    },
    /// Lists the certificates issued.
    List {
        #[arg(long, value_name = "DIR", default_value = "/etc/selfgate/pki")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ExchangeCommand {
    /// Each exchange's last run: what was sent and received, when, errors; the next run.
    Status {
        #[command(flatten)]
        place: Place,
        /// One JSON object per exchange, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Runs one exchange now, through the running daemon when there is one.
    Run {
        /// The exchange's `name` in `[[exchanges]]`.
        name: String,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum PronoteCommand {
    /// Imports the school's PRONOTE security key (hex digits), stored owner-only in the data
    /// directory.
    ImportKey {
        file: std::path::PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Writes our identifier of each pupil (CSV) for PRONOTE to match its pupils with.
    ExportIds {
        file: std::path::PathBuf,
        #[command(flatten)]
        place: Place,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Imports persons from a roster CSV (staff, guests, private schools); see docs/roster-csv.md.
    Roster {
        file: PathBuf,
        #[command(flatten)]
        place: Place,
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Imports pupils, classes and régimes from SIÈCLE's XML exports (plain or zipped).
    Siecle(SiecleArgs),
    /// Imports from Charlemagne, the management software of private schools.
    #[command(subcommand)]
    Charlemagne(CharlemagneImport),
}

/// `selfgate import charlemagne …`.
#[derive(Subcommand)]
pub enum CharlemagneImport {
    /// The roster: pupils keyed on IDELEVE, classes, régimes and paying guardians, from an
    /// XLSX, HTML or CSV export through a column mapping; see docs/charlemagne.md.
    Eleves(charlemagne::ElevesArgs),
    /// Payments taken in Charlemagne (encaissements), credited once each on the balances;
    /// see docs/charlemagne-compta.md.
    Encaissements(charlemagne_payments::EncaissementsArgs),
}

/// Where a command finds the school: its configuration, and its data directory.
#[derive(clap::Args, Clone, Debug)]
pub struct Place {
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/selfgate/selfgate.toml"
    )]
    pub config: PathBuf,
    /// Use this data directory instead of the configuration's.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl Place {
    /// The configuration, its data directory replaced by `--data` when given.
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(&self.config)?;
        if let Some(d) = &self.data {
            config.data_dir = d.clone();
        }
        Ok(config)
    }

    /// The data directory: `--data` when given (the configuration is not read), else the
    /// configuration's.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data {
            Some(d) => Ok(d.clone()),
            None => Ok(Config::load(&self.config)?.data_dir),
        }
    }
}

#[derive(clap::Args)]
pub struct SiecleArgs {
    /// ElevesSansAdresses.xml or ElevesAvecAdresses.xml (or ExportXML_…zip); may be left out
    /// to import only the guardians.
    #[arg(long, value_name = "FILE", required_unless_present = "responsables")]
    pub eleves: Option<PathBuf>,
    /// Nomenclature.xml: the régime labels.
    #[arg(long, value_name = "FILE")]
    pub nomenclature: Option<PathBuf>,
    /// ResponsablesAvecAdresses.xml: the guardians, kept for billing (who pays, addresses);
    /// see docs/guardians.md.
    #[arg(long, value_name = "FILE")]
    pub responsables: Option<PathBuf>,
    #[command(flatten)]
    pub place: Place,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who has left is decided as of this date (YYYY-MM-DD; default: today, school time).
    #[arg(long, value_name = "DATE")]
    pub today: Option<chrono::NaiveDate>,
}

/// What a command's error becomes: its message on stderr and exit status 1; a closed pipe
/// (`selfgate journal | head`) is no error.
pub fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("selfgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a multi-threaded runtime. Once it returns, the process does not wait for
/// stray blocking work (a device read that never ends): everything durable is committed by then.
pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(
    work: F,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .with_context(|| text(Msg::StartingRuntime))?;
    let result = rt.block_on(work);
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Runs the command.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    words::set(words::Lang::detect(cli.lang, |k| std::env::var(k).ok()));
    match cli.command {
        Command::Run { config } => run::run(&config),
        Command::Demo {
            data,
            listen,
            speed,
            run_for,
            seed,
            prive,
        } => demo::command(demo::DemoOptions {
            data,
            listen,
            speed,
            run_for,
            seed,
            prive,
        }),
        Command::CheckConfig { file } => Ok(check_config::check(&file)),
        Command::ConfigExample => {
            print!("{}", crate::config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            config,
            reads,
            roster,
            data,
        } => simulate::command(&config, &reads, roster.as_deref(), data.as_deref()),
        Command::Account { what } => account::command(what),
        Command::Opposition { what } => staff::opposition(what),
        Command::Badge { what } => staff::badge(what),
        Command::Payment { what } => payment::command(what),
        Command::Billing { what } => billing::command(what),
        Command::Report { what } => report::command(what),
        Command::Persons { data, json } => journal::persons(&data, json),
        Command::Guardians { data, json } => guardians::command(&data, json),
        Command::Journal { data, since, json } => journal::journal(&data, since.as_deref(), json),
        Command::Backup { file, place } => backup::backup_command(&file, &place),
        Command::Restore { file, place } => backup::restore_command(&file, &place),
        Command::Retention { place } => retention::command(&place),
        Command::Cancel {
            data,
            event,
            by,
            reason,
        } => journal::cancel_command(&data, &event, &by, &reason),
        Command::Import {
            what:
                ImportCommand::Roster {
                    file,
                    place,
                    dry_run,
                },
        } => import::command(&file, place.load()?, dry_run),
        Command::Import {
            what: ImportCommand::Siecle(args),
        } => siecle::run_import(&args.into()),
        Command::Import {
            what: ImportCommand::Charlemagne(CharlemagneImport::Eleves(args)),
        } => charlemagne::run_eleves(&args),
        Command::Import {
            what: ImportCommand::Charlemagne(CharlemagneImport::Encaissements(args)),
        } => charlemagne_payments::encaissements(&args),
        Command::Export { what } => export::command(what),
        Command::Pki { what } => pki::command(what),
        Command::Exchange { what } => exchange::command(what),
        Command::Pronote { what } => pronote::command(what),
    }
}

/// A file's bytes, or an error naming it.
pub fn read_file(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| text(Msg::CannotRead(path)))
}

impl From<SiecleArgs> for siecle::ImportArgs {
    fn from(a: SiecleArgs) -> Self {
        siecle::ImportArgs {
            eleves: a.eleves,
            nomenclature: a.nomenclature,
            responsables: a.responsables,
            config: a.place.config,
            data: a.place.data,
            dry_run: a.dry_run,
            today: a.today,
        }
    }
}
