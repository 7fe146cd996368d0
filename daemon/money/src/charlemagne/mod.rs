//! Charlemagne, the management software of private schools under contract (BRIEF §7): the
//! payments it takes, brought in as régie payments (`encaissements.rs`: the file's parser and
//! which of its payments are new, known or refused), and the month's consumptions sent back to
//! it (`consommations.rs`: per pupil, service and price, as accounting entries and as a CSV for
//! its billing). Charlemagne publishes none of these formats: ours are described in
//! `docs/charlemagne-compta.md`. Pure like the rest of the crate: bytes and events in, values
//! out.

pub mod consommations;
pub mod encaissements;

pub use consommations::{
    Accounts, Consommations, ConsumptionLine, EntryLine, PupilConsumption, Sens, month_bounds,
};
pub use encaissements::{
    Encaissement, ImportSorting, Known, REFERENCE_PREFIX, Rejected, journal_reference,
    parse_encaissements, sort_encaissements,
};
