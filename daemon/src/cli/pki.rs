//! `selfgate pki`: the site's certificate authority for the hub and its gates.

use std::process::ExitCode;

use super::PkiCommand;
use super::words::Msg;
use crate::infra::pki::{self, Validity};

pub fn command(what: PkiCommand) -> anyhow::Result<ExitCode> {
    match what {
        PkiCommand::Init { dir, name, days } => {
            pki::init(&dir, &name, days)?;
            println!(
                "{}",
                Msg::AuthorityCreated {
                    name: &name,
                    dir: &dir
                }
            );
        }
        PkiCommand::IssueHub { names, dir, days } => {
            let cert = pki::issue_hub(&dir, &names, Validity::days(days)?)?;
            println!(
                "{}",
                Msg::HubIssued {
                    cert: &cert,
                    names: &names
                }
            );
        }
        PkiCommand::IssueGate { id, dir, days } => {
            let cert = pki::issue_gate(&dir, &id, Validity::days(days)?)?;
            println!(
                "{}",
                Msg::GateIssued {
                    cert: &cert,
                    id: &id
                }
            );
        }
        PkiCommand::Revoke { name, dir } => {
            let n = pki::revoke(&dir, &name)?;
            println!(
                "{}",
                Msg::Revoked {
                    count: n,
                    name: &name,
                    crl: &dir.join(pki::CRL)
                }
            );
        }
        PkiCommand::List { dir } => {
            for i in pki::list(&dir)? {
                println!(
                    "{}",
                    Msg::Certificate {
                        serial: &i.serial.to_string(),
                        kind: &i.kind,
                        name: &i.name,
                        not_after: &i.not_after,
                        revoked_at: i.revoked_at.as_deref(),
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
