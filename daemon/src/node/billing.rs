//! Forfaits billed per term on this node's store (BRIEF §7, `docs/billing.md`): the term's
//! state read from the journal, every pupil's liquidation (`selfgate_money::billing`), and the
//! writes of the bursar's operations — a constatation run, a remise d'ordre on request, an aid,
//! the withdrawal of an entry, the closing of a term. Each is planned here as journal appends
//! checked whole before anything is written, then committed by the caller (through the running
//! gate, or on a stopped store) in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use selfgate_money::billing::bordereau::{Bordereau, BordereauLine};
use selfgate_money::billing::constatation::{self, Billed, Constated};
use selfgate_money::billing::liquidation::{self, Calendar, Pupil, Settings};
use selfgate_money::billing::notice::{Child, Notice, SchoolHeader, merged_pdf};
use selfgate_money::billing::{BillingError, Liquidation, Prices, Term};
use selfgate_rules::family::{Guardian, payer_of};
use selfgate_rules::journal::{
    AidKind, BillingEntry, BillingInput, Event, EventKind, EventRef, Receivable, TermClosed,
};
use selfgate_rules::model::{
    Category, Closure, Opposition, Person, PersonId, Service, format_euros,
};
use selfgate_rules::regie::MAX_PAYMENT_CENTS;

use crate::config::Config;
use crate::store::{Store, StoreError, WriteOp};

/// What billing needs of the configuration.
#[derive(Clone, Debug)]
pub struct Setup {
    pub node: String,
    /// Terms are billed where the roster is kept: the hub, or a node alone. A gate of a site
    /// (`[sync] role = "gate"`) journals no billing event (the hub would refuse it).
    pub bills_here: bool,
    pub terms: Vec<Term>,
    pub prices: Prices,
    pub remise_min_days: u32,
    pub services: Vec<Service>,
    /// School holidays and public holidays.
    pub official: Vec<Closure>,
    /// The school's own closures (remises d'ordre).
    pub own: Vec<Closure>,
}

impl Setup {
    pub fn from_config(config: &Config) -> Setup {
        Setup {
            node: config.gate.id.clone(),
            bills_here: config.sync.role != crate::config::sync::Role::Gate,
            terms: config.billing.terms.clone(),
            prices: config.billing.prices.clone(),
            remise_min_days: config.billing.remise_min_days,
            services: config.rules.services.clone(),
            official: config.official_closures().to_vec(),
            own: config.own_closures().to_vec(),
        }
    }

    /// The term of code `code` (`T1`), or an error listing the terms there are.
    pub fn term(&self, code: &str) -> Result<&Term, String> {
        self.terms
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| {
                format!(
                    "aucun trimestre « {code} » (trimestres : {})",
                    self.terms
                        .iter()
                        .map(|t| t.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    fn calendar(&self) -> Calendar<'_> {
        Calendar {
            services: &self.services,
            official: &self.official,
            own: &self.own,
        }
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            prices: &self.prices,
            remise_min_days: self.remise_min_days,
        }
    }
}

/// A term as the journal holds it.
#[derive(Clone, Debug, Default)]
pub struct TermState {
    /// Entries in force (withdrawn ones left out), with the event that journaled each.
    pub entries: Vec<(EventRef, DateTime<Utc>, BillingEntry)>,
    /// Entries withdrawn.
    pub withdrawn: BTreeSet<EventRef>,
    pub receivables: Vec<Receivable>,
    pub closed: Option<TermClosed>,
}

impl TermState {
    pub fn read(store: &Store, term: &Term) -> Result<TermState, StoreError> {
        let events = store.billing_events(term.year, &term.code)?;
        Ok(Self::from_events(&events))
    }

    pub fn from_events(events: &[Event]) -> TermState {
        let mut out = TermState::default();
        let mut entries = Vec::new();
        for e in events {
            match &e.kind {
                EventKind::BillingEntry(b) => {
                    if let BillingInput::Cancel { refers_to } = &b.input {
                        out.withdrawn.insert(refers_to.clone());
                    } else {
                        entries.push((e.as_ref(), e.at, b.clone()));
                    }
                }
                EventKind::Receivable(r) => out.receivables.push(r.clone()),
                EventKind::TermClosed(t) => out.closed = Some(t.clone()),
                _ => {}
            }
        }
        out.entries = entries
            .into_iter()
            .filter(|(r, _, _)| !out.withdrawn.contains(r))
            .collect();
        out.receivables.sort_by_key(|r| (r.bordereau, r.line));
        out
    }

    /// The inputs entered for `person`.
    pub fn inputs_of(&self, person: PersonId) -> Vec<BillingInput> {
        self.entries
            .iter()
            .filter(|(_, _, b)| b.person == person)
            .map(|(_, _, b)| b.input.clone())
            .collect()
    }

    /// The last bordereau journaled (0: none).
    pub fn last_bordereau(&self) -> u32 {
        self.receivables
            .iter()
            .map(|r| r.bordereau)
            .max()
            .unwrap_or(0)
    }
}

/// What a term's billing reads of the store: pupils, oppositions, guardians.
#[derive(Clone, Debug, Default)]
pub struct School {
    pub persons: Vec<Person>,
    pub oppositions: Vec<Opposition>,
    pub guardians: Vec<Guardian>,
}

impl School {
    pub fn read(store: &Store) -> Result<School, StoreError> {
        // No anti-passback rows are wanted: from the last day there is.
        let snapshot = store.roster_snapshot(NaiveDate::MAX)?;
        Ok(School {
            persons: snapshot.persons,
            oppositions: snapshot.oppositions,
            guardians: store.guardians()?,
        })
    }

    pub fn person(&self, id: PersonId) -> Option<&Person> {
        self.persons.iter().find(|p| p.id == id)
    }

    /// The person of school identifier `external` (SIÈCLE's `ELEVE_ID`, the roster's id).
    pub fn by_external(&self, external: &str) -> Result<&Person, String> {
        self.persons
            .iter()
            .find(|p| p.external_id == external.trim())
            .ok_or_else(|| format!("aucune personne d'identifiant « {} »", external.trim()))
    }

    /// The guardian who pays for `person`.
    pub fn payer(&self, person: &Person) -> Option<&Guardian> {
        payer_of(&person.external_id, &self.guardians)
    }
}

/// A pupil's bill with who pays it.
#[derive(Clone, Debug)]
pub struct Bill {
    pub person: Person,
    pub liquidation: Liquidation,
    pub payer: Option<Guardian>,
}

/// Every pupil billed in `term`: pupils with a forfait in the term, with an entry, or
/// constated before. In the order of the bordereau: class, name, first name, identifier.
/// Every pupil's error is listed; one error and no bill is made.
pub fn liquidate_term(
    setup: &Setup,
    school: &School,
    state: &TermState,
    term: &Term,
) -> Result<Vec<Bill>, Vec<BillingError>> {
    let mut ids: BTreeSet<PersonId> = school
        .persons
        .iter()
        .filter(|p| p.category == Category::Eleve)
        .filter(|p| {
            p.forfaits
                .iter()
                .any(|f| f.from <= term.to && term.from <= f.to)
        })
        .map(|p| p.id)
        .collect();
    ids.extend(state.entries.iter().map(|(_, _, b)| b.person));
    ids.extend(state.receivables.iter().map(|r| r.person));
    let mut oppositions: BTreeMap<PersonId, Vec<Opposition>> = BTreeMap::new();
    for o in &school.oppositions {
        oppositions.entry(o.person).or_default().push(o.clone());
    }
    let mut bills = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let Some(person) = school.person(id) else {
            continue;
        };
        let inputs = state.inputs_of(id);
        let opps = oppositions.get(&id).map_or(&[][..], Vec::as_slice);
        match liquidation::liquidate(
            term,
            &setup.calendar(),
            &setup.settings(),
            &Pupil {
                person,
                oppositions: opps,
                entries: &inputs,
            },
        ) {
            Ok(liquidation) => bills.push(Bill {
                person: person.clone(),
                liquidation,
                payer: school.payer(person).cloned(),
            }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    bills.sort_by(|a, b| {
        let key = |p: &Person| {
            (
                p.class.clone(),
                p.last_name.to_lowercase(),
                p.first_name.to_lowercase(),
                p.external_id.clone(),
            )
        };
        key(&a.person).cmp(&key(&b.person))
    });
    Ok(bills)
}

/// A bursar's billing operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BillingRequest {
    /// The term's receivables, or the differences since the last run. `dry_run`: planned and
    /// shown, nothing journaled.
    Constate {
        term: String,
        by: String,
        dry_run: bool,
    },
    /// The term closed: later runs journal re-constatations only.
    Close { term: String, by: String },
    /// A remise d'ordre on request (illness) for the person of identifier `person`.
    Remise {
        person: String,
        term: String,
        from: NaiveDate,
        to: NaiveDate,
        proof: String,
        asked_on: NaiveDate,
        by: String,
        note: String,
    },
    /// Aid for the person of identifier `person`; several at once (an import) are checked and
    /// journaled together.
    Aids { aids: Vec<NewAid>, by: String },
    /// An entry (remise or aid) withdrawn.
    Withdraw {
        term: String,
        entry: EventRef,
        by: String,
        note: String,
    },
}

/// One aid to enter: for the person of identifier `person`, in `term`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAid {
    pub person: String,
    pub term: String,
    pub kind: AidKind,
    pub cents: i64,
    pub reference: String,
    /// Where it came from, for errors ("ligne 4").
    pub origin: String,
}

/// What a run journals (or would): the receivable lines with the names on them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub term: String,
    pub year: u16,
    /// The bordereau the lines go on (none when there is nothing to journal).
    pub bordereau: Option<u32>,
    pub lines: Vec<RunLine>,
    /// Σ of the lines' net amounts.
    pub total_cents: i64,
    /// Pupils billed in the term now, and what they owe in all.
    pub pupils: usize,
    pub due_cents: i64,
    pub dry_run: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLine {
    pub receivable: Receivable,
    pub external_id: String,
    pub name: String,
    pub class: String,
}

/// A failed billing operation: every problem, nothing journaled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{}", problems.join("\n"))]
pub struct BillingRefused {
    pub problems: Vec<String>,
}

impl BillingRefused {
    fn one(message: impl Into<String>) -> Self {
        BillingRefused {
            problems: vec![message.into()],
        }
    }
}

impl From<StoreError> for BillingRefused {
    fn from(e: StoreError) -> Self {
        BillingRefused::one(e.to_string())
    }
}

/// The writes of `req` at `now`, and what to say once committed (a run's summary; for an
/// entry, `None`: the committed event says it).
pub fn plan(
    setup: &Setup,
    store: &Store,
    req: &BillingRequest,
    now: DateTime<Utc>,
) -> Result<(Vec<WriteOp>, Option<RunSummary>), BillingRefused> {
    let append = |kind| WriteOp::Append {
        gate: setup.node.clone(),
        at: now,
        kind,
    };
    let dry_run = matches!(req, BillingRequest::Constate { dry_run: true, .. });
    if !setup.bills_here && !dry_run {
        return Err(BillingRefused::one(
            "la facturation des forfaits se fait au concentrateur (ou sur un poste seul), pas sur une ligne d'un site",
        ));
    }
    match req {
        BillingRequest::Constate { term, by, dry_run } => {
            let term = setup.term(term).map_err(BillingRefused::one)?;
            let school = School::read(store)?;
            let state = TermState::read(store, term)?;
            let summary = run(setup, &school, &state, term, by, *dry_run)?;
            let ops = if *dry_run {
                Vec::new()
            } else {
                summary
                    .lines
                    .iter()
                    .map(|l| append(EventKind::Receivable(l.receivable.clone())))
                    .collect()
            };
            Ok((ops, Some(summary)))
        }
        BillingRequest::Close { term, by } => {
            let term = setup.term(term).map_err(BillingRefused::one)?;
            let state = TermState::read(store, term)?;
            if let Some(c) = &state.closed {
                return Err(BillingRefused::one(format!(
                    "le trimestre {} est déjà clos (par {})",
                    term.code, c.by
                )));
            }
            if state.receivables.is_empty() {
                return Err(BillingRefused::one(format!(
                    "le trimestre {} n'a pas encore été constaté : constatez-le avant de le clore",
                    term.code
                )));
            }
            Ok((
                vec![append(EventKind::TermClosed(TermClosed {
                    year: term.year,
                    term: term.code.clone(),
                    by: by.clone(),
                }))],
                None,
            ))
        }
        BillingRequest::Remise {
            person,
            term,
            from,
            to,
            proof,
            asked_on,
            by,
            note,
        } => {
            let term = setup.term(term).map_err(BillingRefused::one)?;
            if proof.trim().is_empty() {
                return Err(BillingRefused::one(
                    "une remise pour maladie demande la référence d'un justificatif",
                ));
            }
            let school = School::read(store)?;
            let state = TermState::read(store, term)?;
            let p = school.by_external(person).map_err(BillingRefused::one)?;
            let input = BillingInput::Remise {
                from: *from,
                to: *to,
                proof: proof.trim().to_owned(),
                asked_on: *asked_on,
            };
            check_with(setup, &school, &state, term, p, &input)?;
            Ok((
                vec![append(EventKind::BillingEntry(BillingEntry {
                    person: p.id,
                    year: term.year,
                    term: term.code.clone(),
                    input,
                    by: by.clone(),
                    note: note.clone(),
                }))],
                None,
            ))
        }
        BillingRequest::Aids { aids, by } => {
            let school = School::read(store)?;
            let mut problems = Vec::new();
            let mut ops = Vec::new();
            let mut states: BTreeMap<String, TermState> = BTreeMap::new();
            for aid in aids {
                let at = if aid.origin.is_empty() {
                    String::new()
                } else {
                    format!("{} : ", aid.origin)
                };
                let term = match setup.term(&aid.term) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(format!("{at}{e}"));
                        continue;
                    }
                };
                if aid.cents <= 0 || aid.cents > MAX_PAYMENT_CENTS {
                    problems.push(format!(
                        "{at}une aide de {} € : le montant doit être positif et au plus {} €",
                        format_euros(aid.cents),
                        format_euros(MAX_PAYMENT_CENTS)
                    ));
                    continue;
                }
                let p = match school.by_external(&aid.person) {
                    Ok(p) => p,
                    Err(e) => {
                        problems.push(format!("{at}{e}"));
                        continue;
                    }
                };
                if !states.contains_key(&term.code) {
                    states.insert(term.code.clone(), TermState::read(store, term)?);
                }
                let Some(state) = states.get_mut(&term.code) else {
                    continue;
                };
                let input = BillingInput::Aid {
                    kind: aid.kind,
                    cents: aid.cents,
                    reference: aid.reference.trim().to_owned(),
                };
                if let Err(e) = check_with(setup, &school, state, term, p, &input) {
                    problems.extend(e.problems.into_iter().map(|m| format!("{at}{m}")));
                    continue;
                }
                let entry = BillingEntry {
                    person: p.id,
                    year: term.year,
                    term: term.code.clone(),
                    input,
                    by: by.clone(),
                    note: String::new(),
                };
                // Later aids of the same import see this one (a pupil's total is checked with
                // all of them).
                state.entries.push((
                    EventRef {
                        gate: String::new(),
                        seq: 0,
                    },
                    now,
                    entry.clone(),
                ));
                ops.push(append(EventKind::BillingEntry(entry)));
            }
            if !problems.is_empty() {
                return Err(BillingRefused { problems });
            }
            if ops.is_empty() {
                return Err(BillingRefused::one("aucune aide à saisir"));
            }
            Ok((ops, None))
        }
        BillingRequest::Withdraw {
            term,
            entry,
            by,
            note,
        } => {
            let term = setup.term(term).map_err(BillingRefused::one)?;
            let state = TermState::read(store, term)?;
            if state.withdrawn.contains(entry) {
                return Err(BillingRefused::one(format!(
                    "la saisie {}/{} est déjà retirée",
                    entry.gate, entry.seq
                )));
            }
            let Some((_, _, b)) = state.entries.iter().find(|(r, _, _)| r == entry) else {
                return Err(BillingRefused::one(format!(
                    "aucune saisie {}/{} au trimestre {}",
                    entry.gate, entry.seq, term.code
                )));
            };
            Ok((
                vec![append(EventKind::BillingEntry(BillingEntry {
                    person: b.person,
                    year: term.year,
                    term: term.code.clone(),
                    input: BillingInput::Cancel {
                        refers_to: entry.clone(),
                    },
                    by: by.clone(),
                    note: note.clone(),
                }))],
                None,
            ))
        }
    }
}

/// The pupil's liquidation with `input` added must be possible (a remise asked in time, long
/// enough, on a forfait; an aid on a forfait).
fn check_with(
    setup: &Setup,
    school: &School,
    state: &TermState,
    term: &Term,
    person: &Person,
    input: &BillingInput,
) -> Result<(), BillingRefused> {
    let mut inputs = state.inputs_of(person.id);
    let opps: Vec<Opposition> = school
        .oppositions
        .iter()
        .filter(|o| o.person == person.id)
        .cloned()
        .collect();
    let pupil = Pupil {
        person,
        oppositions: &opps,
        entries: &inputs,
    };
    liquidation::check_entry(term, &setup.calendar(), &setup.settings(), &pupil, input)
        .map_err(|e| BillingRefused::one(e.to_string()))?;
    // And the term's bill with it still adds up.
    inputs.push(input.clone());
    liquidation::liquidate(
        term,
        &setup.calendar(),
        &setup.settings(),
        &Pupil {
            person,
            oppositions: &opps,
            entries: &inputs,
        },
    )
    .map_err(|e| BillingRefused::one(e.to_string()))?;
    Ok(())
}

/// A constatation run's lines.
pub fn run(
    setup: &Setup,
    school: &School,
    state: &TermState,
    term: &Term,
    by: &str,
    dry_run: bool,
) -> Result<RunSummary, BillingRefused> {
    let bills = liquidate_term(setup, school, state, term).map_err(|errors| BillingRefused {
        problems: errors.iter().map(ToString::to_string).collect(),
    })?;
    let billed: Vec<Billed<'_>> = bills
        .iter()
        .map(|b| Billed {
            liquidation: &b.liquidation,
            debtor: b.payer.as_ref().map_or("", |g| g.id.as_str()),
        })
        .collect();
    let lines = constatation::plan(
        term,
        &state.receivables,
        &billed,
        state.closed.is_some(),
        by,
    )
    .map_err(|e| BillingRefused::one(e.to_string()))?;
    let mut total: i64 = 0;
    let mut due: i64 = 0;
    for l in &lines {
        total = total
            .checked_add(l.cents)
            .ok_or_else(|| BillingRefused::one("amounts overflow"))?;
    }
    for b in &bills {
        due = due
            .checked_add(b.liquidation.total_cents())
            .ok_or_else(|| BillingRefused::one("amounts overflow"))?;
    }
    let named = |r: Receivable| {
        let p = school.person(r.person);
        RunLine {
            external_id: p.map(|p| p.external_id.clone()).unwrap_or_default(),
            name: p.map(Person::display_name).unwrap_or_default(),
            class: p.map(|p| p.class.clone()).unwrap_or_default(),
            receivable: r,
        }
    };
    Ok(RunSummary {
        term: term.code.clone(),
        year: term.year,
        bordereau: lines.first().map(|l| l.bordereau),
        lines: lines.into_iter().map(named).collect(),
        total_cents: total,
        pupils: bills.len(),
        due_cents: due,
        dry_run,
    })
}

/// The bills grouped by who pays (one notice per family, BRIEF §7), in the order of the first
/// child of each family on the bordereau; a pupil without a known payer is a family alone
/// (`None`: the notice goes to "the family of" the pupil, without an address).
pub fn families(bills: &[Bill]) -> Vec<(Option<Guardian>, Vec<&Bill>)> {
    let mut out: Vec<(Option<Guardian>, Vec<&Bill>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for b in bills {
        match &b.payer {
            Some(g) => match index.get(&g.id) {
                Some(&i) => {
                    if let Some(f) = out.get_mut(i) {
                        f.1.push(b);
                    }
                }
                None => {
                    index.insert(g.id.clone(), out.len());
                    out.push((Some(g.clone()), vec![b]));
                }
            },
            None => out.push((None, vec![b])),
        }
    }
    out
}

/// A term's family notices: one PDF per family (named for the file it goes in) and all of
/// them in one PDF for printing.
#[derive(Clone, Debug)]
pub struct Documents {
    /// `(file name, PDF)`: `avis-2026-T1-00001.pdf`…
    pub notices: Vec<(String, Vec<u8>)>,
    pub merged: Vec<u8>,
    /// Σ of the notices (= Σ of the term's receivables).
    pub total_cents: i64,
}

fn school_header(config: &Config) -> SchoolHeader {
    SchoolHeader {
        name: config.school.name.clone(),
        uai: config.school.uai.clone(),
        address: config.school.address.clone(),
        payment: config.billing.payment.clone(),
    }
}

/// The notices of `term` issued on `issued`, from the journal: every pupil with a receivable
/// in the term, grouped by who pays. The notices say what was constated: a pupil whose bill
/// changed since the last run (a remise entered after it) stops them, naming the pupil — run
/// the constatation first, so that the families and the accounting officer see the same sums.
pub fn notices(
    setup: &Setup,
    header: &SchoolHeader,
    store: &Store,
    term: &str,
    issued: NaiveDate,
) -> Result<Vec<Notice>, BillingRefused> {
    let term = setup.term(term).map_err(BillingRefused::one)?.clone();
    let school = School::read(store)?;
    let state = TermState::read(store, &term)?;
    let bills = liquidate_term(setup, &school, &state, &term).map_err(|errors| BillingRefused {
        problems: errors.iter().map(ToString::to_string).collect(),
    })?;
    let constated = constatation::constated(&term, &state.receivables)
        .map_err(|e| BillingRefused::one(e.to_string()))?;
    let mut stale = Vec::new();
    let mut billed = Vec::new();
    for b in bills {
        let now = Constated::of(&b.liquidation);
        match constated.get(&b.person.id) {
            Some(c) if *c == now => billed.push(b),
            None if now.is_zero() => {}
            _ => stale.push(format!(
                "{} ({}) : la facture a changé depuis la dernière constatation",
                b.person.display_name(),
                b.person.external_id
            )),
        }
    }
    if !stale.is_empty() {
        stale.push(format!(
            "lancez d'abord « selfgate billing constate --term {} »",
            term.code
        ));
        return Err(BillingRefused { problems: stale });
    }
    Ok(families(&billed)
        .into_iter()
        .enumerate()
        .map(|(n, (payer, bills))| Notice {
            school: header.clone(),
            payer,
            number: format!("{}-{}-{:05}", term.year, term.code, n + 1),
            issued,
            term: term.clone(),
            children: bills
                .iter()
                .map(|b| Child {
                    name: b.person.display_name(),
                    class: b.person.class.clone(),
                    liquidation: b.liquidation.clone(),
                })
                .collect(),
        })
        .collect())
}

/// The notices of `term` as PDF files (see [`notices`]).
pub fn notices_pdf(
    config: &Config,
    store: &Store,
    term: &str,
    issued: NaiveDate,
) -> Result<Documents, BillingRefused> {
    let setup = Setup::from_config(config);
    let notices = notices(&setup, &school_header(config), store, term, issued)?;
    Ok(Documents {
        merged: merged_pdf(&notices),
        total_cents: notices.iter().map(Notice::total_cents).sum(),
        notices: notices
            .iter()
            .map(|n| (format!("avis-{}.pdf", n.number), n.to_pdf()))
            .collect(),
    })
}

/// Bordereau number `number` of `term` (the last one when `None`) with the names of the
/// pupils and the debtors, from the journal.
pub fn bordereau_of(
    config: &Config,
    store: &Store,
    term: &str,
    number: Option<u32>,
    issued: NaiveDate,
) -> Result<Bordereau, BillingRefused> {
    let setup = Setup::from_config(config);
    let term = setup.term(term).map_err(BillingRefused::one)?.clone();
    let state = TermState::read(store, &term)?;
    let last = state.last_bordereau();
    let number = number.unwrap_or(last);
    if number == 0 || number > last {
        return Err(BillingRefused::one(if last == 0 {
            format!("aucun bordereau journalisé en {} {}", term.code, term.year)
        } else {
            format!(
                "pas de bordereau n° {number} en {} {} (bordereaux 1 à {last})",
                term.code, term.year
            )
        }));
    }
    let school = School::read(store)?;
    let lines = state
        .receivables
        .iter()
        .filter(|r| r.bordereau == number)
        .map(|r| {
            let pupil = school.person(r.person);
            let debtor = school.guardians.iter().find(|g| g.id == r.debtor);
            BordereauLine {
                line: r.line,
                kind: r.kind,
                pupil_id: pupil.map(|p| p.external_id.clone()).unwrap_or_default(),
                pupil: pupil.map(Person::display_name).unwrap_or_default(),
                class: pupil.map(|p| p.class.clone()).unwrap_or_default(),
                forfait: r.forfait.clone(),
                debtor_id: r.debtor.clone(),
                debtor: debtor.map(Guardian::postal_name).unwrap_or_default(),
                debtor_address: debtor.map(|g| g.address.join(", ")).unwrap_or_default(),
                postal_code: debtor.map(|g| g.postal_code.clone()).unwrap_or_default(),
                city: debtor.map(|g| g.city.clone()).unwrap_or_default(),
                forfait_cents: r.forfait_cents,
                remises_cents: r.remises_cents,
                aides_cents: r.aides_cents,
                cents: r.cents,
            }
        })
        .collect();
    Ok(Bordereau {
        school: config.school.name.clone(),
        uai: config.school.uai.clone(),
        term,
        number,
        issued,
        lines,
    })
}

/// A bordereau in its three forms.
#[derive(Clone, Debug)]
pub struct BordereauFiles {
    pub number: u32,
    /// `<UAI>-<year>-<term>-B<nn>`, also the files' name.
    pub reference: String,
    pub lines: usize,
    pub total_cents: i64,
    pub pdf: Vec<u8>,
    pub csv: String,
    pub xlsx: Vec<u8>,
}

pub fn bordereau_files(
    config: &Config,
    store: &Store,
    term: &str,
    number: Option<u32>,
    issued: NaiveDate,
) -> Result<BordereauFiles, BillingRefused> {
    let b = bordereau_of(config, store, term, number, issued)?;
    Ok(BordereauFiles {
        number: b.number,
        reference: b.reference(),
        lines: b.lines.len(),
        total_cents: b.totals().cents,
        pdf: b.to_pdf(),
        csv: b.to_csv(),
        xlsx: b
            .to_xlsx()
            .map_err(|e| BillingRefused::one(e.to_string()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(bills_here: bool) -> Setup {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap_or_default();
        Setup {
            node: "ligne-1".into(),
            bills_here,
            terms: vec![Term {
                code: "T1".into(),
                label: String::new(),
                year: 2026,
                from: day(9, 1),
                to: day(12, 31),
                remise_deadline: day(12, 31),
            }],
            prices: Prices::default(),
            remise_min_days: 5,
            services: Vec::new(),
            official: Vec::new(),
            own: Vec::new(),
        }
    }

    #[test]
    fn a_gate_of_a_site_bills_nothing_but_may_look() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let constate = |dry_run| BillingRequest::Constate {
            term: "T1".into(),
            by: "intendance".into(),
            dry_run,
        };
        let refused = plan(&setup(false), &store, &constate(false), Utc::now());
        assert!(
            matches!(&refused, Err(e) if e.problems[0].contains("concentrateur")),
            "{refused:?}"
        );
        assert!(plan(&setup(false), &store, &constate(true), Utc::now()).is_ok());
        let (ops, summary) = plan(&setup(true), &store, &constate(false), Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ops.is_empty(), "an empty school journals nothing");
        assert_eq!(summary.map(|s| s.pupils), Some(0));
    }

    #[test]
    fn a_payer_of_several_children_gets_one_notice_a_pupil_without_one_is_alone() {
        use selfgate_rules::model::Regime;
        let bill = |id: u32, payer: Option<&str>| Bill {
            person: Person {
                id: PersonId(id),
                external_id: id.to_string(),
                last_name: "X".into(),
                first_name: "Y".into(),
                class: String::new(),
                category: Category::Eleve,
                regime: Regime::DemiPensionnaire,
                forfaits: Vec::new(),
                passages_per_service: 1,
                tier: None,
            },
            liquidation: Liquidation {
                person: PersonId(id),
                year: 2026,
                term: "T1".into(),
                forfait: None,
                lines: Vec::new(),
            },
            payer: payer.map(|g| Guardian {
                id: g.into(),
                civility: String::new(),
                last_name: g.into(),
                first_name: String::new(),
                address: Vec::new(),
                postal_code: String::new(),
                city: String::new(),
                country: String::new(),
                email: String::new(),
                phone: String::new(),
                children: Vec::new(),
            }),
        };
        let bills = [
            bill(1, Some("A")),
            bill(2, None),
            bill(3, Some("B")),
            bill(4, Some("A")),
            bill(5, None),
        ];
        let f: Vec<(Option<String>, Vec<u32>)> = families(&bills)
            .into_iter()
            .map(|(g, b)| (g.map(|g| g.id), b.iter().map(|b| b.person.id.0).collect()))
            .collect();
        assert_eq!(
            f,
            [
                (Some("A".to_owned()), vec![1, 4]),
                (None, vec![2]),
                (Some("B".to_owned()), vec![3]),
                (None, vec![5]),
            ]
        );
    }
}
