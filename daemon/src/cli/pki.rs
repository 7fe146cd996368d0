//! `selfgate pki`: the site's certificate authority for the hub and its gates.

use std::process::ExitCode;

use super::PkiCommand;
use crate::infra::pki::{self, Validity};

pub fn command(what: PkiCommand) -> anyhow::Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}
