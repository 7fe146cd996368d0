//! The `selfgate` command: parses the command line and dispatches to `selfgate::cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    selfgate::infra::logs::init();
    let cli = selfgate::cli::Cli::parse();
    selfgate::cli::exit(selfgate::cli::dispatch(cli))
}
