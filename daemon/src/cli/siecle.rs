//! `selfgate import siecle`: the national pupil base's exports mapped to persons and rights.
//! The files are parsed whole first (`selfgate_rules::siecle`, pure); a file that does not
//! parse is refused and nothing is applied. A good set of files becomes one transaction.
//!
//! - Pupils are keyed on `ELEVE_ID` (`Person::external_id`), never on the INE.
//! - Régime → rights: DP n jours → `regimes.dp_days[n]` × `regimes.dp_services`; DP (2) → the
//!   5-day set; DP au ticket (29) → no forfait; internes (3, 31…36, 5…) →
//!   `regimes.interne_services` Monday to Friday; externes (0, 1, 4, 6) → no forfait. The
//!   forfait runs from max(year start, DATE_ENTREE) to the year's end, or to DATE_SORTIE.
//! - A pupil whose DATE_SORTIE is before the import date has left: rights closed (forfait up
//!   to that date), the person and their journal kept. One not yet in the store is not added.
//! - A SIÈCLE pupil of the store (category élève, numeric external id) absent from the file
//!   has left too: forfaits still running are closed the day before the import.
//! - Guardians (`--responsables`, with or without the pupils' file): kept for billing (who pays,
//!   where the notice goes; `docs/guardians.md`) when linked to at least one pupil the store
//!   knows (`Person::external_id` = `ELEVE_ID`), their links to pupils it does not know dropped.
//!   A guardian of the file replaces the stored one; one absent from it is kept (the retention
//!   purge deletes it later), but its links to pupils the file lists are ended (SIÈCLE gives
//!   those pupils' guardians without it: it no longer pays for them). Written in the same one
//!   transaction as the pupils.
//!
//! Re-importing the same files changes nothing.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;

use selfgate_rules::Roster;
use selfgate_rules::family::{Guardian, child_status, families};
use selfgate_rules::model::{
    Category, Forfait, Opposition, OppositionReason, Person, PersonId, Regime, WeekdaySet,
};
use selfgate_rules::siecle::{
    Eleve, Eleves, Nomenclature, RegimeKind, RegimeSource, Rejected, Responsables, classify_regime,
};

use super::words::{Msg, text};
use crate::config::Config;
use crate::store::WriteOp;

/// The bytes of an export: the file itself, or the one XML file of a `.zip`.
pub fn read_export(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| text(Msg::CannotRead(path)))?;
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(bytes);
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| text(Msg::NotAZip(path)))?;
    let xml: Vec<String> = zip
        .file_names()
        .filter(|n| n.to_ascii_lowercase().ends_with(".xml"))
        .map(str::to_owned)
        .collect();
    let name = match xml.as_slice() {
        [one] => one.clone(),
        [] => anyhow::bail!("{}", Msg::ZipWithoutXml(path)),
        many => anyhow::bail!(
            "{}",
            Msg::ZipWithManyXml {
                file: path,
                names: many
            }
        ),
    };
    let mut out = Vec::new();
    zip.by_name(&name)
        .and_then(|mut f| f.read_to_end(&mut out).map_err(Into::into))
        .with_context(|| {
            text(Msg::CannotUnzip {
                file: path,
                name: &name,
            })
        })?;
    Ok(out)
}

/// What an import does (or did).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SiecleReport {
    /// ELEVE_IDs.
    pub added: Vec<String>,
    pub updated: Vec<String>,
    /// Rights closed: a past DATE_SORTIE, or absent from the file.
    pub left: Vec<String>,
    pub unchanged: usize,
    /// Pupils of the file who had left before this import and are not in the store.
    pub left_not_added: usize,
    pub rejected: Vec<Rejected>,
    /// CODE_REGIME → (label, pupils), for the pupils of the file still here.
    pub regimes: BTreeMap<String, (String, usize)>,
    /// With a guardians file: pupils by number of legal guardians (0, 1, 2, 3+).
    pub guardians: Option<[usize; 4]>,
    pub warnings: Vec<String>,
}

/// What the import of a guardians file does (or did).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GuardiansReport {
    /// Guardians of the file (persons linked to at least one pupil).
    pub read: usize,
    /// Kept: new in the store, replacing a different record, or the same as stored.
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Guardians of the file none of whose children the store knows: not kept.
    pub left_out: usize,
    /// Links of kept guardians to pupils the store does not know: not kept.
    pub links_left_out: usize,
    /// Stored guardians the file no longer gives for a pupil it lists: those links ended.
    pub ended: usize,
    /// Enrolled SIÈCLE pupils of the store, after the import, with a payer.
    pub with_payer: usize,
    /// Enrolled SIÈCLE pupils of the store without one (ELEVE_IDs): no notice can be sent.
    pub without_payer: Vec<String>,
    /// Payers of several enrolled pupils (one notice per family).
    pub families: usize,
    /// The parser's warnings (a link to a person not in PERSONNES, a missing address…).
    pub warnings: Vec<String>,
}

/// Plans the import of the guardians of `file` against `roster` (the store's pupils, with
/// those of the same run) and the guardians already `stored`, as of `today`: the ops to
/// commit and the report.
pub fn plan_guardians(
    roster: &Roster,
    stored: &[Guardian],
    file: &Responsables,
    today: NaiveDate,
) -> (Vec<WriteOp>, GuardiansReport) {
    let mut ops = Vec::new();
    let mut report = GuardiansReport {
        read: file.guardians.len(),
        warnings: file.warnings.clone(),
        ..GuardiansReport::default()
    };
    let mut after: BTreeMap<String, Guardian> =
        stored.iter().map(|g| (g.id.clone(), g.clone())).collect();
    let mut kept = HashSet::new();
    for g in &file.guardians {
        let (known, unknown): (Vec<_>, Vec<_>) = g
            .children
            .iter()
            .cloned()
            .partition(|l| roster.person_by_external(&l.eleve_id).is_some());
        if known.is_empty() {
            report.left_out += 1;
            continue;
        }
        report.links_left_out += unknown.len();
        let new = Guardian {
            children: known,
            ..g.clone()
        };
        kept.insert(new.id.clone());
        match after.get(&new.id) {
            Some(old) if *old == new => report.unchanged += 1,
            Some(_) => report.updated += 1,
            None => report.added += 1,
        }
        if after.get(&new.id) != Some(&new) {
            ops.push(WriteOp::PutGuardian(Box::new(new.clone())));
            after.insert(new.id.clone(), new);
        }
    }
    // The pupils whose guardians the file gives: a stored guardian it does not give for them
    // is no longer theirs.
    let listed: HashSet<&str> = file.per_pupil.keys().map(String::as_str).collect();
    for g in after.values_mut() {
        if kept.contains(&g.id) {
            continue;
        }
        let mut changed = false;
        for l in &mut g.children {
            if l.current() && listed.contains(l.eleve_id.as_str()) {
                l.ended = Some(today);
                changed = true;
            }
        }
        if changed {
            report.ended += 1;
            ops.push(WriteOp::PutGuardian(Box::new(g.clone())));
        }
    }

    let all: Vec<Guardian> = after.into_values().collect();
    let mut pupils: Vec<&str> = roster
        .persons()
        .filter(|p| {
            is_siecle_pupil(p) && child_status(p, roster.oppositions_of(p.id), today).enrolled
        })
        .map(|p| p.external_id.as_str())
        .collect();
    pupils.sort_unstable();
    let by_payer = families(pupils.iter().copied(), &all);
    let paid: HashSet<&str> = by_payer.values().flatten().map(String::as_str).collect();
    report.with_payer = paid.len();
    report.families = by_payer.values().filter(|c| c.len() > 1).count();
    report.without_payer = pupils
        .iter()
        .filter(|e| !paid.contains(*e))
        .map(|e| (*e).to_owned())
        .collect();
    (ops, report)
}

/// A store person that came from SIÈCLE: a pupil whose external id is an `ELEVE_ID`.
pub fn is_siecle_pupil(p: &Person) -> bool {
    p.category == Category::Eleve
        && !p.external_id.is_empty()
        && p.external_id.bytes().all(|b| b.is_ascii_digit())
}

/// The régime and forfait (weekdays, services) of a pupil.
fn rights(config: &Config, kind: RegimeKind) -> (Regime, Option<(WeekdaySet, bool)>) {
    match kind {
        RegimeKind::Externe => (Regime::Externe, None),
        RegimeKind::DpTicket => (Regime::DemiPensionnaire, None),
        RegimeKind::Dp { days } => (
            Regime::DemiPensionnaire,
            Some((config.regimes.dp_weekdays(days), false)),
        ),
        RegimeKind::Interne => (Regime::Interne, Some((WeekdaySet::SCHOOL_WEEK, true))),
    }
}

/// Forfaits running on or after `today` end the day before; later ones go.
fn close_forfaits(forfaits: &[Forfait], today: NaiveDate) -> Vec<Forfait> {
    let Some(last) = today.pred_opt() else {
        return forfaits.to_vec();
    };
    forfaits
        .iter()
        .filter(|f| f.from <= last)
        .map(|f| Forfait {
            to: f.to.min(last),
            ..f.clone()
        })
        .collect()
}

/// Plans the import of `eleves` against `roster` as of `today` (who has left is decided
/// against it): the ops to commit and the report.
pub fn plan_siecle(
    config: &Config,
    roster: &Roster,
    eleves: &Eleves,
    nomenclature: Option<&Nomenclature>,
    responsables: Option<&Responsables>,
    today: NaiveDate,
) -> (Vec<WriteOp>, SiecleReport) {
    let mut ops = Vec::new();
    let mut report = SiecleReport {
        rejected: eleves.rejected.clone(),
        warnings: eleves.warnings.clone(),
        ..SiecleReport::default()
    };
    let mut next_id = roster.next_person_id().0;
    let mut departures = Departures {
        roster,
        next_id: roster.next_opposition_id(),
    };
    let mut in_file = HashSet::new();
    let year = (config.school.year_start, config.school.year_end);

    for e in &eleves.pupils {
        in_file.insert(e.eleve_id.as_str());
        let existing = roster.person_by_external(&e.eleve_id);
        let gone = e.date_sortie.is_some_and(|d| d < today);
        if gone && existing.is_none() {
            report.left_not_added += 1;
            continue;
        }
        let code = e.code_regime.as_deref().unwrap_or("");
        let kind = match classify_regime(code, nomenclature) {
            Some((kind, source)) => {
                if source != RegimeSource::Known {
                    report.warnings.push(format!(
                        "ELEVE_ID {}: CODE_REGIME {code} unknown, read as {kind} (from its {})",
                        e.eleve_id,
                        if source == RegimeSource::Label {
                            "Nomenclature label"
                        } else {
                            "first digit"
                        }
                    ));
                }
                kind
            }
            None => {
                report.warnings.push(format!(
                    "ELEVE_ID {} (line {}): no usable CODE_REGIME `{code}`: externe, no forfait",
                    e.eleve_id, e.line
                ));
                RegimeKind::Externe
            }
        };
        if !gone {
            let label = nomenclature
                .and_then(|n| n.regimes.get(code))
                .map(|l| l.long.clone())
                .unwrap_or_else(|| kind.to_string());
            report
                .regimes
                .entry(code.to_owned())
                .or_insert((label, 0))
                .1 += 1;
        }
        let person = person_of(config, e, kind, existing, PersonId(next_id), year);
        // Leaving refuses them at the gate from the day after DATE_SORTIE (a ticket pupil has
        // no forfait to close): decided now, even for a date still ahead.
        ops.extend(departures.set(person.id, e.date_sortie.and_then(|d| d.succ_opt()), true));
        match existing {
            Some(old) if *old == person => report.unchanged += 1,
            Some(old) => {
                let closed = gone && forfait_end(old) != forfait_end(&person);
                if closed {
                    report.left.push(e.eleve_id.clone());
                } else {
                    report.updated.push(e.eleve_id.clone());
                }
                ops.push(WriteOp::PutPerson(person));
            }
            None => {
                next_id += 1;
                report.added.push(e.eleve_id.clone());
                ops.push(WriteOp::PutPerson(person));
            }
        }
    }

    // SIÈCLE pupils of the store absent from this file have left.
    let mut absent: Vec<&Person> = roster
        .persons()
        .filter(|p| is_siecle_pupil(p) && !in_file.contains(p.external_id.as_str()))
        .collect();
    absent.sort_by_key(|p| p.id);
    for p in absent {
        ops.extend(departures.set(p.id, Some(today), false));
        let forfaits = close_forfaits(&p.forfaits, today);
        if forfaits == p.forfaits {
            report.unchanged += 1;
        } else {
            report.left.push(p.external_id.clone());
            ops.push(WriteOp::PutPerson(Person {
                forfaits,
                ..p.clone()
            }));
        }
    }

    if let Some(r) = responsables {
        let mut g = [0usize; 4];
        for e in &eleves.pupils {
            if e.date_sortie.is_some_and(|d| d < today) {
                continue;
            }
            let legal = r.per_pupil.get(&e.eleve_id).map_or(0, |x| x.legal as usize);
            g[legal.min(3)] += 1;
        }
        report.guardians = Some(g);
    }
    (ops, report)
}

/// The `depart` oppositions of SIÈCLE pupils: one from the day they have left, lifted when they
/// are back (in the file again without a past DATE_SORTIE).
struct Departures<'a> {
    roster: &'a Roster,
    next_id: u64,
}

impl Departures<'_> {
    /// The ops that make `person`'s departure `from` (or none) what the roster holds. `exact`:
    /// the file gives the date (DATE_SORTIE), which replaces another; otherwise (a pupil no
    /// longer in the file) an earlier departure stands.
    fn set(&mut self, person: PersonId, from: Option<NaiveDate>, exact: bool) -> Vec<WriteOp> {
        let held: Vec<&Opposition> = self
            .roster
            .oppositions_of(person)
            .iter()
            .filter(|o| o.reason == OppositionReason::Depart && !o.lifted)
            .collect();
        let Some(day) = from else {
            // Back in the school, or the date withdrawn: lifted, kept in the history.
            return held
                .iter()
                .map(|o| {
                    WriteOp::PutOpposition(Opposition {
                        lifted: true,
                        ..(*o).clone()
                    })
                })
                .collect();
        };
        if let Some(o) = held.first() {
            if o.from == day || (!exact && o.from <= day) {
                return vec![];
            }
        }
        let id = held.first().map_or_else(
            || {
                self.next_id += 1;
                self.next_id - 1
            },
            |o| o.id,
        );
        vec![WriteOp::PutOpposition(Opposition {
            id,
            person,
            reason: OppositionReason::Depart,
            service: None,
            from: day,
            to: None,
            note: "SIÈCLE : sortie de l'établissement".into(),
            lifted: false,
        })]
    }
}

fn forfait_end(p: &Person) -> Option<NaiveDate> {
    p.forfaits.iter().map(|f| f.to).max()
}

fn person_of(
    config: &Config,
    e: &Eleve,
    kind: RegimeKind,
    existing: Option<&Person>,
    new_id: PersonId,
    (year_start, year_end): (NaiveDate, NaiveDate),
) -> Person {
    let (regime, forfait) = rights(config, kind);
    let from = e.date_entree.map_or(year_start, |d| d.max(year_start));
    let to = e.date_sortie.map_or(year_end, |d| d.min(year_end));
    let forfaits = match forfait {
        Some((weekdays, interne)) if from <= to && !weekdays.is_empty() => vec![Forfait {
            weekdays,
            services: if interne {
                config.regimes.interne
            } else {
                config.regimes.dp
            },
            from,
            to,
        }],
        _ => Vec::new(),
    };
    Person {
        id: existing.map_or(new_id, |p| p.id),
        external_id: e.eleve_id.clone(),
        last_name: e.last_name.clone(),
        first_name: e.first_name.clone(),
        class: e.class.clone().unwrap_or_default(),
        category: Category::Eleve,
        regime,
        forfaits,
        passages_per_service: existing.map_or(1, |p| p.passages_per_service),
        tier: existing.and_then(|p| p.tier.clone()),
    }
}

/// The command line's arguments (`selfgate import siecle`).
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The pupils' file; without it, only the guardians are imported.
    pub eleves: Option<std::path::PathBuf>,
    pub nomenclature: Option<std::path::PathBuf>,
    pub responsables: Option<std::path::PathBuf>,
    pub config: std::path::PathBuf,
    pub data: Option<std::path::PathBuf>,
    pub dry_run: bool,
    pub today: Option<NaiveDate>,
}

/// Parses one export, printing its error (with element and line) when it does not parse.
fn parse_file<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> Result<T, selfgate_rules::siecle::SiecleError>,
) -> anyhow::Result<Option<T>> {
    let bytes = read_export(path)?;
    match parse(&bytes) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Ok(None)
        }
    }
}

/// `selfgate import siecle`: parse every file, plan, then write in one transaction (unless a
/// dry run). Any file that does not parse: nothing is imported, exit status 1.
pub fn run_import(args: &ImportArgs) -> anyhow::Result<std::process::ExitCode> {
    use selfgate_rules::siecle;
    use std::process::ExitCode;

    let mut config = Config::load(&args.config)?;
    if let Some(d) = &args.data {
        config.data_dir = d.clone();
    }
    let refused = |path: &Path| {
        eprintln!("{}", Msg::SiecleNotImported(path));
        Ok(ExitCode::FAILURE)
    };
    let eleves = match &args.eleves {
        Some(p) => match parse_file(p, siecle::parse_eleves)? {
            Some(e) => Some((p.as_path(), e)),
            None => return refused(p),
        },
        None => None,
    };
    let nomenclature = match &args.nomenclature {
        Some(p) => match parse_file(p, siecle::parse_nomenclature)? {
            Some(n) => Some(n),
            None => return refused(p),
        },
        None => None,
    };
    let responsables = match &args.responsables {
        Some(p) => match parse_file(p, siecle::parse_responsables)? {
            Some(r) => Some((p.as_path(), r)),
            None => return refused(p),
        },
        None => None,
    };
    let today = args
        .today
        .unwrap_or_else(|| config.rules.today(chrono::Utc::now()));
    // A dry run on a school without a store yet plans against an empty roster, creating nothing.
    let store = if args.dry_run && !config.data_dir.join(crate::store::DB_FILE).is_file() {
        None
    } else {
        Some(crate::store::Store::open(&config.data_dir)?)
    };
    let mut engine = match &store {
        Some(store) => store.load_engine(config.rules.clone(), today)?,
        None => selfgate_rules::Engine::new(config.rules.clone()),
    };
    let mut ops = Vec::new();
    let pupils = eleves.as_ref().map(|(file, eleves)| {
        let (pupil_ops, report) = plan_siecle(
            &config,
            engine.roster(),
            eleves,
            nomenclature.as_ref(),
            responsables.as_ref().map(|(_, r)| r),
            today,
        );
        ops.extend(pupil_ops);
        (*file, eleves.pupils.len() + eleves.rejected.len(), report)
    });
    let guardians = match &responsables {
        Some((file, r)) => {
            // Against the pupils as this run leaves them.
            crate::cli::import::apply_to_engine(&mut engine, &ops);
            let stored = match &store {
                Some(store) => store.guardians()?,
                None => Vec::new(),
            };
            let (guardian_ops, report) = plan_guardians(engine.roster(), &stored, r, today);
            ops.extend(guardian_ops);
            Some((*file, report))
        }
        None => None,
    };
    let written = match store {
        Some(store) if !args.dry_run => {
            if !ops.is_empty() {
                let mut all = vec![crate::store::describe_school(&config)];
                all.extend(ops);
                store.write_now(&all)?;
            }
            Some(store.path().to_owned())
        }
        _ => None,
    };
    if let Some((file, read, report)) = &pupils {
        match &written {
            Some(store) => println!(
                "{}",
                Msg::SiecleImported {
                    file,
                    read: *read,
                    store,
                    today,
                    report,
                }
            ),
            None => println!(
                "{}",
                Msg::SiecleDryRun {
                    file,
                    read: *read,
                    today,
                    report,
                }
            ),
        }
    }
    if let Some((file, report)) = &guardians {
        println!(
            "{}",
            Msg::GuardiansImported {
                file,
                store: written.as_deref(),
                report,
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use selfgate_rules::model::ServiceSet;
    use selfgate_rules::siecle::{parse_eleves, parse_nomenclature, parse_responsables};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/siecle/");

    pub(crate) const CONFIG: &str = r#"
[school]
year_start = "2025-09-01"
year_end = "2026-07-03"

[[services]]
code = "petit_dejeuner"
start = "07:00"
end = "08:00"

[[services]]
code = "dejeuner"
start = "11:30"
end = "13:30"

[[services]]
code = "diner"
start = "18:45"
end = "19:45"

[regimes]
dp_days = { 4 = "lun mar jeu ven", 3 = "lun mar ven" }
"#;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{name}")).unwrap()
    }

    fn apply(engine: &mut selfgate_rules::Engine, ops: &[WriteOp]) {
        crate::cli::import::apply_to_engine(engine, ops);
    }

    fn person<'a>(e: &'a selfgate_rules::Engine, id: &str) -> &'a Person {
        e.roster().person_by_external(id).unwrap()
    }

    #[test]
    fn dp_days_config() {
        let c = Config::parse(CONFIG, "t").unwrap();
        assert_eq!(c.regimes.dp_weekdays(4).to_string(), "lun mar jeu ven");
        assert_eq!(c.regimes.dp_weekdays(3).to_string(), "lun mar ven");
        assert_eq!(c.regimes.dp_weekdays(5).to_string(), "lun mar mer jeu ven");
        assert_eq!(c.regimes.dp_weekdays(1).to_string(), "lun");
        assert_eq!(
            c.regimes.dp_weekdays(6).to_string(),
            "lun mar mer jeu ven sam"
        );
        let bad = "[regimes]\ndp_days = { 4 = \"lun mar\", 9 = \"lun\", 2 = \"lun funday\" }\n";
        let e = Config::parse(bad, "t").unwrap_err().to_string();
        for key in [
            "regimes.dp_days.4",
            "regimes.dp_days.9",
            "regimes.dp_days.2",
        ] {
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn import_maps_regimes_to_rights_exactly_then_reimport_changes_nothing() {
        let config = Config::parse(CONFIG, "t").unwrap();
        let dp = ServiceSet::single(selfgate_rules::model::ServiceId(1));
        assert_eq!(config.regimes.dp, dp);
        let interne = config.regimes.interne;
        assert_eq!(interne.bits(), 0b111);

        let eleves = parse_eleves(&fixture("ElevesSansAdresses.xml")).unwrap();
        let nomenclature = match std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/siecle/Nomenclature.xml"
        )) {
            Ok(bytes) => parse_nomenclature(&bytes).unwrap(),
            Err(_) => {
                {
                    use std::io::Write as _;
                    // Past the test runner, which hides what print macros write.
                    let _ = writeln!(
                        std::io::stderr(),
                        "skipped: ../shared/data/siecle/Nomenclature.xml absent"
                    );
                }
                parse_nomenclature(&fixture("Nomenclature-small.xml")).unwrap()
            }
        };
        let resp = parse_responsables(&fixture("ResponsablesAvecAdresses.xml")).unwrap();
        let today = d(2026, 1, 15);
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let (ops, report) = plan_siecle(
            &config,
            engine.roster(),
            &eleves,
            Some(&nomenclature),
            Some(&resp),
            today,
        );
        assert_eq!(
            report.added,
            ["1001", "1002", "1003", "1004", "1005", "1008"]
        );
        assert_eq!(report.left_not_added, 1, "1006 left in July 2025");
        assert!(report.updated.is_empty() && report.left.is_empty());
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].eleve_id, "1007");
        assert_eq!(
            report.regimes["24"],
            ("DEMI-PENSIONNAIRE DANS L'ETABLISSEMENT 4".into(), 1)
        );
        assert_eq!(report.regimes["29"].0, "DEMI-PENSIONNAIRE AU TICKET");
        // 1001, 1004, 1008: 2 legal guardians; 1002, 1003: 1; 1005: none in this file.
        assert_eq!(report.guardians, Some([1, 2, 3, 0]));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        // Six pupils, and 1003's departure on the day after its DATE_SORTIE.
        assert_eq!(ops.len(), 7);
        apply(&mut engine, &ops);
        let gone = engine
            .roster()
            .oppositions_of(person(&engine, "1003").id)
            .to_vec();
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(
            (gone[0].reason, gone[0].from, gone[0].to),
            (OppositionReason::Depart, d(2026, 2, 14), None)
        );

        let year = (d(2025, 9, 1), d(2026, 7, 3));
        let f = |days: &str, services, from, to| Forfait {
            weekdays: days.parse().unwrap(),
            services,
            from,
            to,
        };
        let p = person(&engine, "1001");
        assert_eq!(
            (
                p.last_name.as_str(),
                p.first_name.as_str(),
                p.class.as_str()
            ),
            ("Cœur", "Éloïse", "6A")
        );
        assert_eq!(
            (p.category, p.regime),
            (Category::Eleve, Regime::DemiPensionnaire)
        );
        assert_eq!(p.forfaits, [f("lun mar jeu ven", dp, year.0, year.1)]);
        let p = person(&engine, "1002");
        assert_eq!((p.last_name.as_str(), p.class.as_str()), ("Lœwy", "4e 1"));
        assert_eq!(
            p.forfaits,
            [f("lun mar mer jeu ven", dp, d(2026, 1, 5), year.1)]
        );
        let p = person(&engine, "1003");
        assert_eq!(
            (p.last_name.as_str(), p.regime),
            ("Œuvray", Regime::Interne)
        );
        assert_eq!(
            p.forfaits,
            [f("lun mar mer jeu ven", interne, year.0, d(2026, 2, 13))]
        );
        let p = person(&engine, "1004");
        assert_eq!(p.regime, Regime::DemiPensionnaire);
        assert!(p.forfaits.is_empty(), "au ticket");
        let p = person(&engine, "1005");
        assert_eq!((p.regime, p.class.as_str()), (Regime::Externe, ""));
        assert!(p.forfaits.is_empty());
        let p = person(&engine, "1008");
        assert_eq!(p.last_name, "Durand-Bœuf");
        assert_eq!(p.forfaits, [f("lun mar mer jeu ven", dp, year.0, year.1)]);
        assert!(engine.roster().person_by_external("1006").is_none());
        assert!(engine.roster().person_by_external("1007").is_none());

        let (ops, report) = plan_siecle(&config, engine.roster(), &eleves, None, None, today);
        assert!(ops.is_empty(), "{ops:?}");
        assert_eq!(report.unchanged, 6);

        // Later in the year: 1003 has left (DATE_SORTIE past): rights stay closed at that
        // date, and the file no longer holds 1005 nor 1008: their rights close the day before.
        let later = d(2026, 3, 2);
        let mut fewer = eleves.clone();
        fewer
            .pupils
            .retain(|p| p.eleve_id != "1005" && p.eleve_id != "1008");
        let (ops, report) = plan_siecle(&config, engine.roster(), &fewer, None, None, later);
        assert_eq!(report.left, ["1008"], "1005 had no forfait to close");
        assert_eq!(report.unchanged, 5);
        apply(&mut engine, &ops);
        assert_eq!(
            person(&engine, "1008").forfaits,
            [f("lun mar mer jeu ven", dp, year.0, d(2026, 3, 1))]
        );
        assert_eq!(person(&engine, "1003").forfaits[0].to, d(2026, 2, 13));
        let (ops, _) = plan_siecle(&config, engine.roster(), &fewer, None, None, later);
        assert!(ops.is_empty(), "{ops:?}");
        let (ops, _) = plan_siecle(&config, engine.roster(), &fewer, None, None, d(2026, 4, 1));
        assert!(
            ops.is_empty(),
            "closing is not moved by later imports: {ops:?}"
        );
    }

    #[test]
    fn a_pupil_in_the_store_whose_date_sortie_passed_has_rights_closed() {
        let config = Config::parse(CONFIG, "t").unwrap();
        let eleves = parse_eleves(&fixture("ElevesSansAdresses.xml")).unwrap();
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let mut still_here = eleves.clone();
        for p in &mut still_here.pupils {
            if p.eleve_id == "1003" {
                p.date_sortie = None;
            }
        }
        let (ops, _) = plan_siecle(
            &config,
            engine.roster(),
            &still_here,
            None,
            None,
            d(2026, 1, 15),
        );
        apply(&mut engine, &ops);
        assert_eq!(person(&engine, "1003").forfaits[0].to, d(2026, 7, 3));
        let (ops, report) =
            plan_siecle(&config, engine.roster(), &eleves, None, None, d(2026, 3, 2));
        assert_eq!(report.left, ["1003"]);
        apply(&mut engine, &ops);
        assert_eq!(person(&engine, "1003").forfaits[0].to, d(2026, 2, 13));
    }

    #[test]
    fn a_pupil_who_has_left_is_refused_with_their_own_reason_and_back_again_passes() {
        use selfgate_rules::journal::{Reason, Verdict};
        use selfgate_rules::model::{Credential, CredentialStatus};
        let config = Config::parse(CONFIG, "t").unwrap();
        let eleves = parse_eleves(&fixture("ElevesSansAdresses.xml")).unwrap();
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let (ops, _) = plan_siecle(
            &config,
            engine.roster(),
            &eleves,
            None,
            None,
            d(2026, 1, 15),
        );
        apply(&mut engine, &ops);
        // 1004 eats on tickets, with a badge and an overdraft allowed; SIÈCLE says it left
        // on 20 January.
        let id = person(&engine, "1004").id;
        engine.roster_mut().put_credential(Credential {
            number: "0A00001004".parse().unwrap(),
            person: id,
            status: CredentialStatus::Active,
        });
        let mut left = eleves.clone();
        for p in &mut left.pupils {
            if p.eleve_id == "1004" {
                p.date_sortie = Some(d(2026, 1, 20));
            }
        }
        let (ops, _) = plan_siecle(&config, engine.roster(), &left, None, None, d(2026, 1, 15));
        apply(&mut engine, &ops);
        let lunch = |engine: &selfgate_rules::Engine, day: &str| {
            let local = format!("{day}T12:15:00");
            let at = chrono::TimeZone::from_local_datetime(
                &config.rules.timezone,
                &local.parse::<chrono::NaiveDateTime>().unwrap(),
            )
            .unwrap()
            .with_timezone(&chrono::Utc);
            let p = engine.decide(&config.gate.id, "0A00001004", at);
            (p.verdict, p.reason)
        };
        assert_eq!(
            lunch(&engine, "2026-01-20").0,
            Verdict::Pass,
            "still there that day"
        );
        assert_eq!(
            lunch(&engine, "2026-01-22"),
            (Verdict::Deny, Reason::Opposition(OppositionReason::Depart))
        );
        // Back in the school: the departure is lifted, kept in the history.
        let (ops, _) = plan_siecle(
            &config,
            engine.roster(),
            &eleves,
            None,
            None,
            d(2026, 1, 25),
        );
        apply(&mut engine, &ops);
        assert_eq!(lunch(&engine, "2026-01-26").0, Verdict::Pass);
        let history = engine.roster().oppositions_of(id);
        assert!(history.len() == 1 && history[0].lifted, "{history:?}");
    }

    #[test]
    fn zipped_export_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ExportXML_ElevesSansAdresses.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        w.start_file(
            "ElevesSansAdresses.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut w, &fixture("ElevesSansAdresses.xml")).unwrap();
        w.finish().unwrap();
        assert_eq!(
            read_export(&path).unwrap(),
            fixture("ElevesSansAdresses.xml")
        );
        let plain = dir.path().join("plain.xml");
        std::fs::write(&plain, b"<x/>").unwrap();
        assert_eq!(read_export(&plain).unwrap(), b"<x/>");
    }

    fn guardian_ids(ops: &[WriteOp]) -> Vec<String> {
        ops.iter()
            .filter_map(|o| match o {
                WriteOp::PutGuardian(g) => Some(g.id.clone()),
                _ => None,
            })
            .collect()
    }

    fn put(engine: &mut selfgate_rules::Engine, stored: &mut Vec<Guardian>, ops: &[WriteOp]) {
        apply(engine, ops);
        for op in ops {
            if let WriteOp::PutGuardian(g) = op {
                stored.retain(|x| x.id != g.id);
                stored.push((**g).clone());
            }
        }
        stored.sort_by(|a, b| a.id.cmp(&b.id));
    }

    #[test]
    fn guardians_of_known_pupils_are_kept_and_who_pays_is_counted() {
        let config = Config::parse(CONFIG, "t").unwrap();
        let eleves = parse_eleves(&fixture("ElevesSansAdresses.xml")).unwrap();
        let resp = parse_responsables(&fixture("ResponsablesAvecAdresses.xml")).unwrap();
        let today = d(2026, 1, 15);
        let mut engine = selfgate_rules::Engine::new(config.rules.clone());
        let mut stored = Vec::new();

        // Without the pupils in the store, nobody is kept.
        let (ops, report) = plan_guardians(engine.roster(), &stored, &resp, today);
        assert!(ops.is_empty());
        assert_eq!((report.read, report.left_out), (8, 8));

        let (ops, _) = plan_siecle(&config, engine.roster(), &eleves, None, None, today);
        apply(&mut engine, &ops);
        let (ops, report) = plan_guardians(engine.roster(), &stored, &resp, today);
        assert_eq!(
            guardian_ids(&ops),
            ["9001", "9002", "9003", "9004", "9005", "9006", "9007"],
            "9008's only child (1006) left before the store knew it"
        );
        assert_eq!(
            (
                report.added,
                report.updated,
                report.unchanged,
                report.left_out
            ),
            (7, 0, 0, 1)
        );
        assert_eq!(report.ended, 0);
        // 1001 (9001 pays), 1002 (its tutor), 1003 (9007), 1004 and 1008 (9005, one family).
        assert_eq!(report.with_payer, 5);
        assert_eq!(report.families, 1);
        assert_eq!(report.without_payer, ["1005"]);
        assert_eq!(report.warnings.len(), 3);
        put(&mut engine, &mut stored, &ops);

        // The same file again changes nothing.
        let (ops, report) = plan_guardians(engine.roster(), &stored, &resp, today);
        assert!(ops.is_empty(), "{ops:?}");
        assert_eq!(report.unchanged, 7);

        // A newer file: 1001's father is no longer given (his link ends, he is kept), 9005 has
        // moved, 1004's guardians are not in it at all (their links stay as they were).
        let mut newer = resp.clone();
        newer.guardians.retain(|g| g.id != "9002" && g.id != "9006");
        for g in &mut newer.guardians {
            g.children.retain(|l| l.eleve_id != "1004");
            if g.id == "9005" {
                g.city = "TOULOUSE".into();
            }
        }
        newer.per_pupil.remove("1004");
        let later = d(2026, 3, 2);
        let (ops, report) = plan_guardians(engine.roster(), &stored, &newer, later);
        assert_eq!(guardian_ids(&ops), ["9005", "9002", "9006"]);
        assert_eq!((report.updated, report.ended), (1, 2));
        put(&mut engine, &mut stored, &ops);
        let g = |id: &str| stored.iter().find(|g| g.id == id).unwrap();
        assert_eq!(g("9002").children[0].ended, Some(later));
        let links: Vec<(&str, Option<NaiveDate>)> = g("9006")
            .children
            .iter()
            .map(|l| (l.eleve_id.as_str(), l.ended))
            .collect();
        assert_eq!(links, [("1004", None), ("1008", Some(later))]);
        assert_eq!(g("9005").city, "TOULOUSE");
        let pays = |e: &str| selfgate_rules::family::payer_of(e, &stored).map(|g| g.id.clone());
        assert_eq!(pays("1008").as_deref(), Some("9005"));
        assert_eq!(
            pays("1004").as_deref(),
            Some("9006"),
            "9005's link to 1004 went"
        );
        assert_eq!(report.families, 0);
    }
}
