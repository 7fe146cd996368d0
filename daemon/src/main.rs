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
    /// Imports data into the store.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
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
    }
    Ok(ExitCode::SUCCESS)
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
