//! `selfgate billing avis` and `selfgate billing bordereau`: a term's family notices and a
//! bordereau written as files, from the journal (a copy of it when the daemon runs).

use std::path::Path;

use anyhow::Context;
use selfgate_rules::model::format_euros;

use crate::config::Config;
use crate::infra::clock::{Clock, SystemClock};
use crate::node::billing;

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Every family's notice as its own PDF in `out`, and all of them in `avis-<year>-<term>.pdf`.
pub fn notices(config: &Config, term: &str, out: &Path) -> anyhow::Result<()> {
    let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
    let issued = config.rules.today(SystemClock.now());
    let docs =
        billing::notices_pdf(config, &store, term, issued).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let count = docs.notices.len();
    for (i, (name, pdf)) in docs.notices.iter().enumerate() {
        write(&out.join(name), pdf)?;
        if count >= 50 && (i + 1) % 50 == 0 {
            eprintln!("  {} / {count} avis écrits", i + 1);
        }
    }
    let setup = billing::Setup::from_config(config);
    let term = setup.term(term).map_err(|m| anyhow::anyhow!("{m}"))?;
    let merged = out.join(format!("avis-{}-{}.pdf", term.year, term.code));
    write(&merged, &docs.merged)?;
    println!(
        "{count} avis aux familles ({}) dans {} ; tous ensemble : {}",
        format_euros(docs.total_cents),
        out.display(),
        merged.display()
    );
    Ok(())
}

/// Bordereau `number` (the last when none) as `<reference>.pdf`, `.csv` and `.xlsx` in `out`.
pub fn bordereau(
    config: &Config,
    term: &str,
    number: Option<u32>,
    out: &Path,
) -> anyhow::Result<()> {
    let (store, _copy) = super::backup::store_to_read(&config.data_dir)?;
    let issued = config.rules.today(SystemClock.now());
    let files = billing::bordereau_files(config, &store, term, number, issued)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (ext, bytes) in [
        ("pdf", files.pdf.as_slice()),
        ("csv", files.csv.as_bytes()),
        ("xlsx", files.xlsx.as_slice()),
    ] {
        write(&out.join(format!("{}.{ext}", files.reference)), bytes)?;
    }
    println!(
        "bordereau {} : {} ligne(s), net {} ; {}/{}.pdf, .csv, .xlsx",
        files.reference,
        files.lines,
        format_euros(files.total_cents),
        out.display(),
        files.reference
    );
    Ok(())
}
