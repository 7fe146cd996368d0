//! The `selfgate` command: parses the command line and calls the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use clap::{Parser, Subcommand};

use selfgate::config::Config;
use selfgate::store::Store;

/// selfgate — access control for the school canteen (self).
#[derive(Parser)]
#[command(name = "selfgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long = "for", value_name = "DURATION", value_parser = selfgate::demo::parse_duration)]
        run_for: Option<std::time::Duration>,
        /// Seed of the demo school and of the arrivals.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
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
        #[arg(long, value_name = "FILE.csv")]
        roster: Option<PathBuf>,
    },
    /// Prints every person with their badges and ticket balance.
    Persons {
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
    /// The site's certificate authority for the hub and its gates (mutual TLS).
    Pki {
        #[command(subcommand)]
        what: PkiCommand,
    },
    /// Staff accounts of the kiosk (`DATA/accounts.toml`); works while the daemon runs.
    Account {
        #[command(subcommand)]
        what: AccountCommand,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Creates an account; the password is read from stdin (or --password-file).
    Add {
        name: String,
        /// surveillant, gestionnaire or administrateur.
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
enum PkiCommand {
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
enum ExchangeCommand {
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
enum PronoteCommand {
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
enum ImportCommand {
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
}

/// Where a command finds the school: its configuration, and its data directory.
#[derive(clap::Args)]
struct Place {
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/selfgate/selfgate.toml"
    )]
    config: PathBuf,
    /// Use this data directory instead of the configuration's.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

impl Place {
    /// The configuration, its data directory replaced by `--data` when given.
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(&self.config)?;
        if let Some(d) = &self.data {
            config.data_dir = d.clone();
        }
        Ok(config)
    }

    /// The data directory: `--data` when given (the configuration is not read), else the
    /// configuration's.
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data {
            Some(d) => Ok(d.clone()),
            None => Ok(Config::load(&self.config)?.data_dir),
        }
    }
}

#[derive(clap::Args)]
struct SiecleArgs {
    /// ElevesSansAdresses.xml or ElevesAvecAdresses.xml (or ExportXML_…zip).
    #[arg(long, value_name = "FILE")]
    eleves: PathBuf,
    /// Nomenclature.xml: the régime labels.
    #[arg(long, value_name = "FILE")]
    nomenclature: Option<PathBuf>,
    /// ResponsablesAvecAdresses.xml: guardians are counted, not stored.
    #[arg(long, value_name = "FILE")]
    responsables: Option<PathBuf>,
    #[command(flatten)]
    place: Place,
    /// Print what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Who has left is decided as of this date (YYYY-MM-DD; default: today, school time).
    #[arg(long, value_name = "DATE")]
    today: Option<chrono::NaiveDate>,
}

fn main() -> ExitCode {
    selfgate::logs::init();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        // `selfgate journal | head`: the reader went away, nothing is wrong.
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
fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(work: F) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the runtime")?;
    let result = rt.block_on(work);
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config: path } => {
            let config = Config::load(&path)?;
            selfgate::logs::use_config(&config.log);
            block_on(selfgate::daemon::run(config, path))?;
        }
        Command::Demo {
            data,
            listen,
            speed,
            run_for,
            seed,
        } => {
            if !(speed > 0.0 && speed <= 10_000.0) {
                anyhow::bail!("--speed must be above 0 and at most 10000");
            }
            let opts = selfgate::demo::DemoOptions {
                data,
                listen,
                speed,
                run_for,
                seed,
            };
            block_on(selfgate::demo::run(opts))?;
        }
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(c) => {
                println!(
                    "{}: ok — {} services, {} closures, {} tariffs, gate {}, data in {}",
                    file.display(),
                    c.rules.services.len(),
                    c.rules.closures.len(),
                    c.rules.tariffs.len(),
                    c.gate.id,
                    c.data_dir.display()
                );
            }
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
        },
        Command::ConfigExample => print!("{}", selfgate::config::EXAMPLE),
        Command::Simulate {
            config,
            reads,
            roster,
        } => return simulate(&config, &reads, roster.as_deref()),
        Command::Account { what } => {
            use selfgate::kiosk_accounts as acc;
            match what {
                AccountCommand::Add {
                    name,
                    role,
                    password_file,
                    place,
                } => acc::add(&place.data_dir()?, &name, &role, password_file.as_deref())?,
                AccountCommand::Passwd {
                    name,
                    password_file,
                    place,
                } => acc::passwd(&place.data_dir()?, &name, password_file.as_deref())?,
                AccountCommand::Remove { name, place } => acc::remove(&place.data_dir()?, &name)?,
                AccountCommand::List { place } => acc::list(&place.data_dir()?)?,
            }
        }
        Command::Persons { data, json } => {
            let store = Store::open_existing(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            selfgate::journal::print_persons(&store, json, &mut out)?;
            out.flush()?;
        }
        Command::Journal { data, since, json } => {
            let store = Store::open_existing(&data)?;
            let since = since.map(|s| parse_since(&s, &store)).transpose()?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            selfgate::journal::print(&store, since, json, &mut out)?;
            out.flush()?;
        }
        Command::Backup { file, place } => {
            let data = place.data_dir()?;
            let events = selfgate::backup::backup(&data, &file)?;
            println!(
                "{}: backup of {} written ({events} journal events)",
                file.display(),
                data.display()
            );
        }
        Command::Restore { file, place } => {
            let data = place.data_dir()?;
            let kept = selfgate::backup::restore(&data, &file)?;
            println!(
                "{} restored into {} (previous database kept as {})",
                file.display(),
                data.display(),
                kept.display()
            );
        }
        Command::Retention { place } => {
            let config = place.load()?;
            let store = Store::open_existing(&config.data_dir)?;
            let n = selfgate::retention::run_now(&store, &config, &selfgate::clock::SystemClock)?;
            println!(
                "{n} passages older than {} days anonymised",
                config.retention.passages_days
            );
        }
        Command::Cancel {
            data,
            event,
            by,
            reason,
        } => {
            let (gate, seq) = event
                .rsplit_once('/')
                .and_then(|(g, s)| s.parse::<u64>().ok().map(|s| (g.to_owned(), s)))
                .with_context(|| format!("--event `{event}` is not GATE/SEQ, e.g. ligne-1/42"))?;
            let store = Store::open_existing(&data)?;
            let c = selfgate::journal::cancel(&store, &gate, seq, &by, &reason, Utc::now())?;
            println!("{gate}/{seq} cancelled by correction {}/{}", c.gate, c.seq);
        }
        Command::Import {
            what:
                ImportCommand::Roster {
                    file,
                    place,
                    dry_run,
                },
        } => {
            return import_roster(&file, place.load()?, dry_run);
        }
        Command::Import {
            what: ImportCommand::Siecle(args),
        } => return selfgate::siecle::run_import(&args.into()),
        Command::Pki { what } => pki(what)?,
        Command::Exchange { what } => return exchange_command(what),
        Command::Pronote { what } => pronote_command(what)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn pki(what: PkiCommand) -> anyhow::Result<()> {
    use selfgate::pki::{self, Validity};
    match what {
        PkiCommand::Init { dir, name, days } => {
            pki::init(&dir, &name, days)?;
            println!(
                "authority `{name}` created in {}: copy ca.pem to the hub and every gate, keep ca.key here",
                dir.display()
            );
        }
        PkiCommand::IssueHub { names, dir, days } => {
            let cert = pki::issue_hub(&dir, &names, Validity::days(days)?)?;
            println!(
                "{} issued for {} (key hub.key, mode 600)",
                cert.display(),
                names.join(", ")
            );
        }
        PkiCommand::IssueGate { id, dir, days } => {
            let cert = pki::issue_gate(&dir, &id, Validity::days(days)?)?;
            println!(
                "{} issued for gate {id} (key gate-{id}.key, mode 600)",
                cert.display()
            );
        }
        PkiCommand::Revoke { name, dir } => {
            let n = pki::revoke(&dir, &name)?;
            println!(
                "{n} certificate(s) of `{name}` revoked; {} re-signed (the hub reads it again at the next connection)",
                dir.join(pki::CRL).display()
            );
        }
        PkiCommand::List { dir } => {
            for i in pki::list(&dir)? {
                println!(
                    "{}\t{}\t{}\tjusqu'au {}\t{}",
                    i.serial,
                    i.kind,
                    i.name,
                    i.not_after,
                    i.revoked_at
                        .map_or_else(|| "valide".to_owned(), |t| format!("révoqué le {t}"))
                );
            }
        }
    }
    Ok(())
}

fn parse_since(s: &str, store: &Store) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| {
        format!("--since `{s}` is not a date (YYYY-MM-DD) or an RFC 3339 instant")
    })?;
    let tz: chrono_tz::Tz = store
        .meta("school")?
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["timezone"].as_str().and_then(|t| t.parse().ok()))
        .unwrap_or(chrono_tz::Europe::Paris);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(tz
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)))
}

fn read_file(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn roster_rows(
    path: &std::path::Path,
) -> anyhow::Result<Result<Vec<selfgate_rules::roster_csv::RosterRow>, ExitCode>> {
    let bytes = read_file(path)?;
    match selfgate_rules::roster_csv::parse_roster(&bytes) {
        Ok(rows) => Ok(Ok(rows)),
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", path.display());
            }
            eprintln!(
                "{}: {} error(s); nothing was imported",
                path.display(),
                errors.len()
            );
            Ok(Err(ExitCode::FAILURE))
        }
    }
}

impl From<SiecleArgs> for selfgate::siecle::ImportArgs {
    fn from(a: SiecleArgs) -> Self {
        selfgate::siecle::ImportArgs {
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

fn import_roster(
    file: &std::path::Path,
    config: Config,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let rows = match roster_rows(file)? {
        Ok(rows) => rows,
        Err(code) => return Ok(code),
    };
    // A dry run on a school without a store yet plans against an empty roster, creating nothing.
    let store = if dry_run && !config.data_dir.join(selfgate::store::DB_FILE).is_file() {
        None
    } else {
        Some(Store::open(&config.data_dir)?)
    };
    let engine = match &store {
        Some(store) => store.load_engine(config.rules.clone(), Utc::now().date_naive())?,
        None => selfgate_rules::Engine::new(config.rules.clone()),
    };
    let (ops, report) = match selfgate::import::plan_roster(
        &config,
        engine.roster(),
        &rows,
        &config.gate.id,
        Utc::now(),
    ) {
        Ok(x) => x,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!(
                "{}: {} error(s); nothing was imported",
                file.display(),
                errors.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    match store {
        Some(store) if !dry_run => {
            let mut all = vec![selfgate::daemon::describe_school(&config)];
            all.extend(ops);
            store.write_now(&all)?;
            println!(
                "{}: {} rows imported into {}:\n{report}",
                file.display(),
                rows.len(),
                store.path().display()
            );
        }
        _ => println!(
            "{}: {} rows read; dry run, nothing written:\n{report}",
            file.display(),
            rows.len()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn simulate(
    config: &std::path::Path,
    reads: &std::path::Path,
    roster: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config)?;
    let text = String::from_utf8(read_file(reads)?)
        .with_context(|| format!("{} is not UTF-8 text", reads.display()))?;
    let script = match selfgate::simulate::parse_reads(&text, config.rules.timezone) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", reads.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut engine = match roster {
        Some(path) => {
            let rows = match roster_rows(path)? {
                Ok(rows) => rows,
                Err(code) => return Ok(code),
            };
            let mut engine = selfgate_rules::Engine::new(config.rules.clone());
            match selfgate::import::plan_roster(
                &config,
                engine.roster(),
                &rows,
                &config.gate.id,
                Utc::now(),
            ) {
                Ok((ops, _)) => selfgate::import::apply_to_engine(&mut engine, &ops),
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}: {e}", path.display());
                    }
                    return Ok(ExitCode::FAILURE);
                }
            }
            engine
        }
        None => {
            let store = Store::open_existing(&config.data_dir)?;
            let first = script.first().map_or_else(Utc::now, |r| r.at);
            store.load_engine(
                config.rules.clone(),
                first.with_timezone(&config.rules.timezone).date_naive(),
            )?
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    selfgate::simulate::simulate(&mut engine, &script, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn exchange_command(what: ExchangeCommand) -> anyhow::Result<ExitCode> {
    match what {
        ExchangeCommand::Status { place, json } => {
            let config = place.load()?;
            let reports = selfgate::exchange::status(&config);
            if json {
                for r in &reports {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else if reports.is_empty() {
                println!("aucun échange configuré ([[exchanges]])");
            } else {
                for r in &reports {
                    print!(
                        "{}",
                        selfgate::exchange::render_report(r, config.rules.timezone)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ExchangeCommand::Run { name, place } => {
            let config = place.load()?;
            let tz = config.rules.timezone;
            let report = selfgate::exchange::run_command(config, &name)?;
            print!("{}", selfgate::exchange::render_report(&report, tz));
            Ok(if report.status == selfgate::exchange::RunStatus::Ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn pronote_command(what: PronoteCommand) -> anyhow::Result<()> {
    match what {
        PronoteCommand::ImportKey { file, place } => {
            let data = place.data_dir()?;
            let stored = selfgate::exchange::pronote::import_key(&data, &file)?;
            println!(
                "clé de sécurité PRONOTE importée dans {} (lisible par le seul propriétaire)",
                stored.display()
            );
        }
        PronoteCommand::ExportIds { file, place } => {
            let config = place.load()?;
            let (csv, pupils) = selfgate::exchange::export_ids_command(&config)?;
            std::fs::write(&file, csv)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!(
                "{} : identifiants de {pupils} élève(s) écrits, à importer dans PRONOTE",
                file.display()
            );
        }
    }
    Ok(())
}
