//! `selfgate retention`: the purge of old personal data now, on a stopped daemon's store: old
//! passages anonymised, guardians no longer needed deleted.

use std::process::ExitCode;

use super::Place;
use super::words::Msg;
use crate::infra::clock::SystemClock;
use crate::store::Store;

pub fn command(place: &Place) -> anyhow::Result<ExitCode> {
    let config = place.load()?;
    let store = Store::open_existing(&config.data_dir)?;
    let n = crate::store::retention::run_now(&store, &config, &SystemClock)?;
    println!(
        "{}",
        Msg::Anonymised {
            passages: n,
            days: config.retention.passages_days
        }
    );
    let n = crate::store::retention::purge_guardians_now(&store, &config, &SystemClock)?;
    println!("{}", Msg::GuardiansPurged(n));
    Ok(ExitCode::SUCCESS)
}
