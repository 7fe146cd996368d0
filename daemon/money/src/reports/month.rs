//! The month's reconciliation of ticket balances (*rapprochement mensuel*) for the accounting
//! officer: per person, the balance at the first instant of the month, the month's movements
//! and the closing balance; their totals; who is in debt at the end; the meals charged per
//! category, tariff tier and régime; the money per payment mode.
//!
//! The identity `opening + payments − meals ± corrections − cancellations − refunds + credits =
//! closing` holds by construction: the closing balance is computed from the movements, and
//! compared with the journal's direct sum of every balance change up to the month's end
//! ([`Movements::closing_check_cents`]); a report where they differ is refused
//! ([`ReportError::Identity`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use selfgate_rules::journal::{Event, EventKind, Verdict};
use selfgate_rules::model::{Category, Person, PersonId, Regime, format_euros, school_midnight};

use super::{
    Ledger, ModeTotal, ModeTotals, ReportError, UNKNOWN_MODE, add, chronological, day_of,
    report_name, sort_key, sub, unknown_name,
};
use crate::csv::{Cell, Csv};
use crate::fr;
use crate::pdf::{self, Column, Flow, Font, Row, RowStyle, Table};

/// What one person's ticket balance (or the month's total) did in the month. Built only by
/// [`MonthReport::compute`], so that `closing = opening + payments − meals + corrections −
/// cancellations − refunds + credits` always holds and equals the journal's direct sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Movements {
    opening_cents: i64,
    payments_count: usize,
    payments_cents: i64,
    meals_count: usize,
    meals_cents: i64,
    corrections_count: usize,
    corrections_cents: i64,
    cancellations_count: usize,
    cancellations_cents: i64,
    refunds_count: usize,
    refunds_cents: i64,
    credits_count: usize,
    credits_cents: i64,
    closing_cents: i64,
    closing_check_cents: i64,
}

impl Movements {
    /// The balance at the first instant of the month: every balance change before it.
    pub fn opening_cents(&self) -> i64 {
        self.opening_cents
    }
    /// Payments of the month (cancelled ones included: their cancellations are a column).
    pub fn payments_cents(&self) -> i64 {
        self.payments_cents
    }
    pub fn payments_count(&self) -> usize {
        self.payments_count
    }
    /// Meals charged on the balance (passages granted with a charge), positive.
    pub fn meals_cents(&self) -> i64 {
        self.meals_cents
    }
    pub fn meals_count(&self) -> usize {
        self.meals_count
    }
    /// Charges given back by corrections of passages (added to the balance).
    pub fn corrections_cents(&self) -> i64 {
        self.corrections_cents
    }
    pub fn corrections_count(&self) -> usize {
        self.corrections_count
    }
    /// Payments cancelled in the month, positive (taken off).
    pub fn cancellations_cents(&self) -> i64 {
        self.cancellations_cents
    }
    pub fn cancellations_count(&self) -> usize {
        self.cancellations_count
    }
    /// Refunds, positive (taken off).
    pub fn refunds_cents(&self) -> i64 {
        self.refunds_cents
    }
    pub fn refunds_count(&self) -> usize {
        self.refunds_count
    }
    /// Other credits (opening balances brought in by imports, adjustments), signed.
    pub fn credits_cents(&self) -> i64 {
        self.credits_cents
    }
    pub fn credits_count(&self) -> usize {
        self.credits_count
    }
    /// The balance at the end of the month, computed from the opening and the movements.
    pub fn closing_cents(&self) -> i64 {
        self.closing_cents
    }
    /// The balance at the end of the month as the journal's direct sum of every balance change
    /// up to then. Always equal to [`Movements::closing_cents`] (checked when the report is
    /// made).
    pub fn closing_check_cents(&self) -> i64 {
        self.closing_check_cents
    }

    fn has_any(&self) -> bool {
        self.opening_cents != 0
            || self.closing_cents != 0
            || self.payments_count
                + self.meals_count
                + self.corrections_count
                + self.cancellations_count
                + self.refunds_count
                + self.credits_count
                > 0
    }
}

/// The sums being made for one person (or all), before the closing is computed and checked.
#[derive(Clone, Debug, Default)]
struct Tally {
    opening: i64,
    payments: (usize, i64),
    meals: (usize, i64),
    corrections: (usize, i64),
    cancellations: (usize, i64),
    refunds: (usize, i64),
    credits: (usize, i64),
    /// Every balance change up to the end of the month, summed directly.
    direct: i64,
}

fn bump(slot: &mut (usize, i64), cents: i64, what: &'static str) -> Result<(), ReportError> {
    slot.0 += 1;
    slot.1 = add(slot.1, cents, what)?;
    Ok(())
}

fn merge(
    slot: &mut (usize, i64),
    other: (usize, i64),
    what: &'static str,
) -> Result<(), ReportError> {
    slot.0 += other.0;
    slot.1 = add(slot.1, other.1, what)?;
    Ok(())
}

impl Tally {
    fn merge(&mut self, o: &Tally) -> Result<(), ReportError> {
        self.opening = add(self.opening, o.opening, "the opening balances")?;
        merge(&mut self.payments, o.payments, "the payments")?;
        merge(&mut self.meals, o.meals, "the meals")?;
        merge(&mut self.corrections, o.corrections, "the corrections")?;
        merge(
            &mut self.cancellations,
            o.cancellations,
            "the cancellations",
        )?;
        merge(&mut self.refunds, o.refunds, "the refunds")?;
        merge(&mut self.credits, o.credits, "the credits")?;
        self.direct = add(self.direct, o.direct, "the closing balances")?;
        Ok(())
    }

    /// The movements with the closing computed from them, refused when it is not the
    /// journal's direct sum.
    fn close(&self, person: Option<PersonId>) -> Result<Movements, ReportError> {
        let what = "a closing balance";
        let mut closing = add(self.opening, self.payments.1, what)?;
        closing = sub(closing, self.meals.1, what)?;
        closing = add(closing, self.corrections.1, what)?;
        closing = sub(closing, self.cancellations.1, what)?;
        closing = sub(closing, self.refunds.1, what)?;
        closing = add(closing, self.credits.1, what)?;
        if closing != self.direct {
            return Err(ReportError::Identity {
                person,
                computed: closing,
                direct: self.direct,
            });
        }
        Ok(Movements {
            opening_cents: self.opening,
            payments_count: self.payments.0,
            payments_cents: self.payments.1,
            meals_count: self.meals.0,
            meals_cents: self.meals.1,
            corrections_count: self.corrections.0,
            corrections_cents: self.corrections.1,
            cancellations_count: self.cancellations.0,
            cancellations_cents: self.cancellations.1,
            refunds_count: self.refunds.0,
            refunds_cents: self.refunds.1,
            credits_count: self.credits.0,
            credits_cents: self.credits.1,
            closing_cents: closing,
            closing_check_cents: self.direct,
        })
    }
}

/// One person's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    pub person: PersonId,
    /// `LAST First`, or `personne n° 17` for someone not among the persons given.
    pub name: String,
    pub class: String,
    /// `None` for someone not among the persons given (as are `regime` and `tier`).
    pub category: Option<Category>,
    pub regime: Option<Regime>,
    pub tier: Option<String>,
    pub movements: Movements,
}

/// Someone in debt at the end of the month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Debtor {
    pub person: PersonId,
    pub name: String,
    pub class: String,
    /// Negative.
    pub closing_cents: i64,
}

/// The meals of a group of persons (a category, a tariff tier or a régime).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MealGroup {
    /// The category's, tier's or régime's code; `""` for persons without a tier; `inconnu` for
    /// persons not among those given.
    pub code: String,
    /// What the report prints: `Élève`, `Demi-pensionnaire`, `—` for no tier…
    pub label: String,
    /// Meals charged on a balance, and their amount.
    pub meals: usize,
    pub cents: i64,
    /// Meals granted without a charge (a forfait, a free admission): eaten, not charged.
    pub free_meals: usize,
    /// Charges given back by corrections, and their amount.
    pub corrections: usize,
    pub corrections_cents: i64,
}

/// Charged passages whose person was removed by the retention purge (BRIEF §6): their charges
/// belong to no one's line. Before the month they make the journal's opening balances lower
/// than the store's; the report says so rather than guessing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unattributed {
    pub meals: usize,
    pub cents: i64,
    pub before_meals: usize,
    pub before_cents: i64,
}

/// The month's reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthReport {
    year: i32,
    month: u32,
    first_day: NaiveDate,
    last_day: NaiveDate,
    timezone: String,
    opening_at: DateTime<Utc>,
    closing_at: DateTime<Utc>,
    rows: Vec<MonthRow>,
    totals: Movements,
    debtors: Vec<Debtor>,
    debt_cents: i64,
    credit_cents: i64,
    by_category: Vec<MealGroup>,
    by_tier: Vec<MealGroup>,
    by_regime: Vec<MealGroup>,
    modes: Vec<ModeTotal>,
    unattributed: Unattributed,
}

#[derive(Clone, Debug, Default)]
struct GroupTally {
    meals: (usize, i64),
    free: usize,
    corrections: (usize, i64),
}

/// A person's groups: category, tier and régime codes (`inconnu` when unknown).
struct Groups {
    category: String,
    tier: String,
    regime: String,
}

const UNKNOWN: &str = "inconnu";

fn groups_of(person: Option<&Person>) -> Groups {
    match person {
        Some(p) => Groups {
            category: p.category.code().to_owned(),
            tier: p.tier.clone().unwrap_or_default(),
            regime: p.regime.code().to_owned(),
        },
        None => Groups {
            category: UNKNOWN.to_owned(),
            tier: UNKNOWN.to_owned(),
            regime: UNKNOWN.to_owned(),
        },
    }
}

fn regime_label(code: &str) -> String {
    match code {
        "externe" => "Externe",
        "dp" => "Demi-pensionnaire",
        "interne" => "Interne",
        _ => "Personne inconnue",
    }
    .to_owned()
}

fn category_label(code: &str) -> String {
    match Category::ALL.iter().find(|c| c.code() == code) {
        Some(c) => {
            let label = c.label_fr();
            let mut chars = label.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
        None => "Personne inconnue".to_owned(),
    }
}

fn tier_label(code: &str) -> String {
    match code {
        "" => "—".to_owned(),
        UNKNOWN => "Personne inconnue".to_owned(),
        other => other.to_owned(),
    }
}

fn group_list(
    tallies: &BTreeMap<String, GroupTally>,
    order: &[String],
    label: fn(&str) -> String,
) -> Vec<MealGroup> {
    let mut codes: Vec<&String> = order.iter().collect();
    for code in tallies.keys() {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
        .into_iter()
        .map(|code| {
            let t = tallies.get(code).cloned().unwrap_or_default();
            MealGroup {
                code: code.clone(),
                label: label(code),
                meals: t.meals.0,
                cents: t.meals.1,
                free_meals: t.free,
                corrections: t.corrections.0,
                corrections_cents: t.corrections.1,
            }
        })
        .collect()
}

impl MonthReport {
    /// The reconciliation of `month` of `year` in `tz`. `events` must hold every event up to
    /// the end of the month at least (the opening balances are their sums); their order does
    /// not matter and later ones are left out. `persons` gives names, classes, categories,
    /// régimes and tiers (as they are now).
    pub fn compute(
        events: &[Event],
        persons: &[Person],
        year: i32,
        month: u32,
        tz: Tz,
    ) -> Result<MonthReport, ReportError> {
        let bad = ReportError::BadMonth { year, month };
        let first_day = NaiveDate::from_ymd_opt(year, month, 1).ok_or(bad.clone())?;
        let next = if month == 12 {
            year.checked_add(1)
                .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or(bad.clone())?;
        let last_day = next.pred_opt().ok_or(bad)?;

        let by_id: HashMap<PersonId, &Person> = persons.iter().map(|p| (p.id, p)).collect();
        let sorted = chronological(events);
        let ledger = Ledger::new(&sorted);
        let cancel_index: HashMap<(&str, u64), usize> = ledger
            .cancels
            .iter()
            .enumerate()
            .map(|(i, (e, _, _))| ((e.gate.as_str(), e.seq), i))
            .collect();

        let mut tallies: BTreeMap<PersonId, Tally> = BTreeMap::new();
        let mut categories: BTreeMap<String, GroupTally> = BTreeMap::new();
        let mut tiers: BTreeMap<String, GroupTally> = BTreeMap::new();
        let mut regimes: BTreeMap<String, GroupTally> = BTreeMap::new();
        let mut modes = ModeTotals::new();
        let mut unattributed = Unattributed::default();

        for &e in &sorted {
            let day = day_of(tz, e.at);
            if day >= next {
                continue;
            }
            let before = day < first_day;
            if let Some((person, delta)) = e.kind.balance_delta() {
                let t = tallies.entry(person).or_default();
                t.direct = add(t.direct, delta, "a balance")?;
                if before {
                    t.opening = add(t.opening, delta, "an opening balance")?;
                }
            }
            let anonymised = match &e.kind {
                EventKind::Passage(p)
                    if p.verdict == Verdict::Pass && p.person.is_none() && p.charge_cents != 0 =>
                {
                    Some(p)
                }
                _ => None,
            };
            if let Some(p) = anonymised {
                if before {
                    unattributed.before_meals += 1;
                    unattributed.before_cents = add(
                        unattributed.before_cents,
                        p.charge_cents,
                        "anonymised meals",
                    )?;
                } else {
                    unattributed.meals += 1;
                    unattributed.cents =
                        add(unattributed.cents, p.charge_cents, "anonymised meals")?;
                }
            }
            if before {
                continue;
            }
            match &e.kind {
                EventKind::Passage(p) if p.verdict == Verdict::Pass => {
                    let Some(person) = p.person else { continue };
                    let g = groups_of(by_id.get(&person).copied());
                    for (map, code) in [
                        (&mut categories, &g.category),
                        (&mut tiers, &g.tier),
                        (&mut regimes, &g.regime),
                    ] {
                        let t = map.entry(code.clone()).or_default();
                        if p.charge_cents == 0 {
                            t.free += 1;
                        } else {
                            bump(&mut t.meals, p.charge_cents, "the meals")?;
                        }
                    }
                    if p.charge_cents != 0 {
                        let t = tallies.entry(person).or_default();
                        bump(&mut t.meals, p.charge_cents, "the meals")?;
                    }
                }
                EventKind::Correction(c) if c.refund_cents != 0 => {
                    let g = groups_of(by_id.get(&c.person).copied());
                    for (map, code) in [
                        (&mut categories, &g.category),
                        (&mut tiers, &g.tier),
                        (&mut regimes, &g.regime),
                    ] {
                        let t = map.entry(code.clone()).or_default();
                        bump(&mut t.corrections, c.refund_cents, "the corrections")?;
                    }
                    let t = tallies.entry(c.person).or_default();
                    bump(&mut t.corrections, c.refund_cents, "the corrections")?;
                }
                EventKind::Credit(c) => {
                    let t = tallies.entry(c.person).or_default();
                    bump(&mut t.credits, c.cents, "the credits")?;
                }
                EventKind::Payment(p) => {
                    modes.payment(p.mode.code(), p.cents)?;
                    let t = tallies.entry(p.person).or_default();
                    bump(&mut t.payments, p.cents, "the payments")?;
                }
                EventKind::PaymentCancel(c) => {
                    let mode = cancel_index
                        .get(&(e.gate.as_str(), e.seq))
                        .and_then(|&i| ledger.payment_of(i))
                        .map_or(UNKNOWN_MODE, |(_, p)| p.mode.code());
                    modes.cancellation(mode, c.cents)?;
                    let t = tallies.entry(c.person).or_default();
                    bump(&mut t.cancellations, c.cents, "the cancellations")?;
                }
                EventKind::Refund(r) => {
                    modes.refund(r.mode.code(), r.cents)?;
                    let t = tallies.entry(r.person).or_default();
                    bump(&mut t.refunds, r.cents, "the refunds")?;
                }
                EventKind::Passage(_)
                | EventKind::Correction(_)
                | EventKind::Alarm(_)
                | EventKind::Retention(_)
                | EventKind::BillingEntry(_)
                | EventKind::Receivable(_)
                | EventKind::TermClosed(_) => {}
            }
        }

        let mut total = Tally::default();
        let mut rows = Vec::new();
        for (person, t) in &tallies {
            let movements = t.close(Some(*person))?;
            if !movements.has_any() {
                continue;
            }
            total.merge(t)?;
            let known = by_id.get(person).copied();
            rows.push(MonthRow {
                person: *person,
                name: known.map_or_else(|| unknown_name(*person), report_name),
                class: known.map(|p| p.class.clone()).unwrap_or_default(),
                category: known.map(|p| p.category),
                regime: known.map(|p| p.regime),
                tier: known.and_then(|p| p.tier.clone()),
                movements,
            });
        }
        let totals = total.close(None)?;
        rows.sort_by(|a, b| {
            (sort_key(&a.name), &a.class, a.person).cmp(&(sort_key(&b.name), &b.class, b.person))
        });

        let mut debtors: Vec<Debtor> = rows
            .iter()
            .filter(|r| r.movements.closing_cents < 0)
            .map(|r| Debtor {
                person: r.person,
                name: r.name.clone(),
                class: r.class.clone(),
                closing_cents: r.movements.closing_cents,
            })
            .collect();
        debtors.sort_by(|a, b| {
            (a.closing_cents, sort_key(&a.name), a.person).cmp(&(
                b.closing_cents,
                sort_key(&b.name),
                b.person,
            ))
        });
        let debt_cents = debtors
            .iter()
            .try_fold(0i64, |t, d| add(t, d.closing_cents, "the debts"))?;
        let credit_cents = rows
            .iter()
            .filter(|r| r.movements.closing_cents > 0)
            .try_fold(0i64, |t, r| {
                add(t, r.movements.closing_cents, "the credits")
            })?;

        let category_order: Vec<String> =
            Category::ALL.iter().map(|c| c.code().to_owned()).collect();
        let regime_order: Vec<String> =
            [Regime::Externe, Regime::DemiPensionnaire, Regime::Interne]
                .iter()
                .map(|r| r.code().to_owned())
                .collect();
        let mut tier_order: Vec<String> = persons.iter().filter_map(|p| p.tier.clone()).collect();
        tier_order.extend(tiers.keys().filter(|k| *k != UNKNOWN).cloned());
        tier_order.sort_by(|a, b| (a.is_empty(), a).cmp(&(b.is_empty(), b)));
        tier_order.dedup();
        if !tier_order.iter().any(String::is_empty) {
            tier_order.push(String::new());
        }
        let (modes, _) = modes.finish()?;

        Ok(MonthReport {
            year,
            month,
            first_day,
            last_day,
            timezone: tz.name().to_owned(),
            opening_at: school_midnight(tz, first_day),
            closing_at: school_midnight(tz, next),
            rows,
            totals,
            debtors,
            debt_cents,
            credit_cents,
            by_category: group_list(&categories, &category_order, category_label),
            by_tier: group_list(&tiers, &tier_order, tier_label),
            by_regime: group_list(&regimes, &regime_order, regime_label),
            modes,
            unattributed,
        })
    }

    pub fn year(&self) -> i32 {
        self.year
    }
    pub fn month(&self) -> u32 {
        self.month
    }
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }
    pub fn last_day(&self) -> NaiveDate {
        self.last_day
    }
    pub fn timezone(&self) -> &str {
        &self.timezone
    }
    /// The first instant of the month (local midnight): opening balances are as of then.
    pub fn opening_at(&self) -> DateTime<Utc> {
        self.opening_at
    }
    /// The first instant of the next month: closing balances are as of then.
    pub fn closing_at(&self) -> DateTime<Utc> {
        self.closing_at
    }
    /// One line per person with a balance or a movement, by name.
    pub fn rows(&self) -> &[MonthRow] {
        &self.rows
    }
    pub fn row(&self, person: PersonId) -> Option<&MonthRow> {
        self.rows.iter().find(|r| r.person == person)
    }
    /// Every column summed, with its own identity checked.
    pub fn totals(&self) -> &Movements {
        &self.totals
    }
    /// Persons whose closing balance is negative, the largest debt first.
    pub fn debtors(&self) -> &[Debtor] {
        &self.debtors
    }
    /// The debts' sum (negative or zero).
    pub fn debt_cents(&self) -> i64 {
        self.debt_cents
    }
    /// The positive closing balances' sum: what the school holds for families.
    pub fn credit_cents(&self) -> i64 {
        self.credit_cents
    }
    /// Meals per category (every category, then persons not given).
    pub fn by_category(&self) -> &[MealGroup] {
        &self.by_category
    }
    /// Meals per tariff tier (the tiers, then `—` for none, then persons not given).
    pub fn by_tier(&self) -> &[MealGroup] {
        &self.by_tier
    }
    /// Meals per régime.
    pub fn by_regime(&self) -> &[MealGroup] {
        &self.by_regime
    }
    /// The month's payments, cancellations and refunds per mode.
    pub fn modes(&self) -> &[ModeTotal] {
        &self.modes
    }
    pub fn unattributed(&self) -> &Unattributed {
        &self.unattributed
    }

    fn period(&self) -> String {
        format!("{} {}", fr::month_name(self.month), self.year)
    }

    const HEADERS: [&'static str; 14] = [
        "Nom",
        "Classe",
        "Catégorie",
        "Régime",
        "Tranche",
        "Solde d'ouverture",
        "Versements",
        "Repas (nombre)",
        "Repas",
        "Corrections",
        "Annulations de versements",
        "Remboursements",
        "Autres crédits",
        "Solde de clôture",
    ];

    /// The report as CSV: one line per person and the totals, then the debtors, the meals per
    /// category, tier and régime, and the money per mode.
    pub fn to_csv(&self) -> String {
        let mut csv = Csv::new();
        csv.texts(&Self::HEADERS);
        let movement_cells = |m: &Movements| -> [i64; 8] {
            [
                m.opening_cents,
                m.payments_cents,
                m.meals_cents.saturating_neg(),
                m.corrections_cents,
                m.cancellations_cents.saturating_neg(),
                m.refunds_cents.saturating_neg(),
                m.credits_cents,
                m.closing_cents,
            ]
        };
        for r in &self.rows {
            let m = movement_cells(&r.movements);
            let category = r
                .category
                .map_or(UNKNOWN.to_owned(), |c| category_label(c.code()));
            let regime = r
                .regime
                .map_or(UNKNOWN.to_owned(), |g| regime_label(g.code()));
            let tier = match (&r.category, &r.tier) {
                (None, _) => UNKNOWN.to_owned(),
                (Some(_), None) => "—".to_owned(),
                (Some(_), Some(t)) => t.clone(),
            };
            csv.row(&[
                Cell::Text(&r.name),
                Cell::Text(&r.class),
                Cell::Text(&category),
                Cell::Text(&regime),
                Cell::Text(&tier),
                Cell::Amount(m[0]),
                Cell::Amount(m[1]),
                Cell::Count(r.movements.meals_count),
                Cell::Amount(m[2]),
                Cell::Amount(m[3]),
                Cell::Amount(m[4]),
                Cell::Amount(m[5]),
                Cell::Amount(m[6]),
                Cell::Amount(m[7]),
            ]);
        }
        let m = movement_cells(&self.totals);
        csv.row(&[
            Cell::Text("Total"),
            Cell::Text(""),
            Cell::Text(""),
            Cell::Text(""),
            Cell::Text(""),
            Cell::Amount(m[0]),
            Cell::Amount(m[1]),
            Cell::Count(self.totals.meals_count),
            Cell::Amount(m[2]),
            Cell::Amount(m[3]),
            Cell::Amount(m[4]),
            Cell::Amount(m[5]),
            Cell::Amount(m[6]),
            Cell::Amount(m[7]),
        ]);

        csv.blank();
        let title = format!("Personnes débitrices au {}", fr::date_short(self.last_day));
        csv.texts(&[&title, "Classe", "Solde"]);
        for d in &self.debtors {
            csv.row(&[
                Cell::Text(&d.name),
                Cell::Text(&d.class),
                Cell::Amount(d.closing_cents),
            ]);
        }
        csv.row(&[
            Cell::Text("Total des dettes"),
            Cell::Text(""),
            Cell::Amount(self.debt_cents),
        ]);

        for (title, groups) in [
            ("Catégorie", &self.by_category),
            ("Tranche", &self.by_tier),
            ("Régime", &self.by_regime),
        ] {
            csv.blank();
            csv.texts(&[
                title,
                "Repas facturés",
                "Montant",
                "Repas sans charge",
                "Corrections (nombre)",
                "Corrections",
            ]);
            for g in groups {
                csv.row(&[
                    Cell::Text(&g.label),
                    Cell::Count(g.meals),
                    Cell::Amount(g.cents),
                    Cell::Count(g.free_meals),
                    Cell::Count(g.corrections),
                    Cell::Amount(g.corrections_cents),
                ]);
            }
        }

        csv.blank();
        csv.texts(&[
            "Mode",
            "Versements (nombre)",
            "Versements",
            "Annulations",
            "Remboursements",
            "Net",
        ]);
        for m in &self.modes {
            csv.row(&[
                Cell::Text(&m.label),
                Cell::Count(m.payments_count),
                Cell::Amount(m.payments_cents),
                Cell::Amount(m.cancellations_cents.saturating_neg()),
                Cell::Amount(m.refunds_cents.saturating_neg()),
                Cell::Amount(m.net_cents),
            ]);
        }
        let t = &self.totals;
        csv.row(&[
            Cell::Text("Total"),
            Cell::Count(t.payments_count),
            Cell::Amount(t.payments_cents),
            Cell::Amount(t.cancellations_cents.saturating_neg()),
            Cell::Amount(t.refunds_cents.saturating_neg()),
            Cell::Amount(
                t.payments_cents
                    .saturating_sub(t.cancellations_cents)
                    .saturating_sub(t.refunds_cents),
            ),
        ]);
        if self.unattributed.meals + self.unattributed.before_meals > 0 {
            csv.blank();
            csv.row(&[
                Cell::Text("Repas anonymisés du mois"),
                Cell::Count(self.unattributed.meals),
                Cell::Amount(self.unattributed.cents),
            ]);
            csv.row(&[
                Cell::Text("Repas anonymisés avant le mois"),
                Cell::Count(self.unattributed.before_meals),
                Cell::Amount(self.unattributed.before_cents),
            ]);
        }
        csv.finish()
    }

    /// The report as a PDF (A4 landscape, French).
    pub fn to_pdf(&self) -> Vec<u8> {
        let period = self.period();
        let footer = format!("Rapprochement mensuel — {period} ({})", self.timezone);
        let mut flow = Flow::new(pdf::A4_LANDSCAPE, &footer);
        flow.heading(&format!("Rapprochement mensuel — {period}"), 16.0);
        flow.paragraph(
            Font::Regular,
            10.0,
            &format!(
                "Soldes au ticket du {} au {} ({}). Ouverture au premier instant du mois, \
                 clôture au premier instant du mois suivant. Montants en euros.",
                fr::date_long(self.first_day),
                fr::date_long(self.last_day),
                self.timezone
            ),
        );
        flow.space(6.0);

        let cells = |m: &Movements| -> Vec<String> {
            vec![
                fr::amount(m.opening_cents),
                fr::amount(m.payments_cents),
                m.meals_count.to_string(),
                fr::amount(m.meals_cents.saturating_neg()),
                fr::amount(m.corrections_cents),
                fr::amount(m.cancellations_cents.saturating_neg()),
                fr::amount(m.refunds_cents.saturating_neg()),
                fr::amount(m.credits_cents),
                fr::amount(m.closing_cents),
            ]
        };
        let mut rows: Vec<Row> = self
            .rows
            .iter()
            .map(|r| {
                let mut c = vec![r.name.clone(), r.class.clone()];
                c.extend(cells(&r.movements));
                Row::new(c)
            })
            .collect();
        let mut total = vec![
            format!(
                "Total ({})",
                fr::count(self.rows.len(), "personne", "personnes")
            ),
            String::new(),
        ];
        total.extend(cells(&self.totals));
        rows.push(Row::styled(total, RowStyle::Total));
        flow.table(&Table {
            columns: vec![
                Column::left("Nom", 2.6),
                Column::left("Classe", 0.8),
                Column::right("Ouverture", 1.05),
                Column::right("Versements", 1.05),
                Column::right("Repas", 0.6),
                Column::right("Repas (€)", 1.0),
                Column::right("Corrections", 1.05),
                Column::right("Annulations", 1.05),
                Column::right("Rembours.", 1.0),
                Column::right("Crédits", 0.95),
                Column::right("Clôture", 1.05),
            ],
            rows,
            size: 8.0,
        });
        flow.paragraph(
            Font::Regular,
            8.0,
            "Pour chaque ligne et au total : ouverture + versements − repas ± corrections − \
             annulations − remboursements + crédits = clôture, vérifié contre la somme directe \
             du journal.",
        );
        flow.paragraph(
            Font::Regular,
            9.0,
            &format!(
                "Soldes créditeurs à la clôture : {} ; soldes débiteurs : {}.",
                format_euros(self.credit_cents),
                format_euros(self.debt_cents)
            ),
        );
        if self.unattributed.meals + self.unattributed.before_meals > 0 {
            flow.paragraph(
                Font::Bold,
                9.0,
                &format!(
                    "Repas dont la personne a été effacée (durée de conservation) : {} ce mois \
                     ({}), {} avant ({}), comptés dans aucune ligne.",
                    self.unattributed.meals,
                    format_euros(self.unattributed.cents),
                    self.unattributed.before_meals,
                    format_euros(self.unattributed.before_cents)
                ),
            );
        }
        flow.space(6.0);

        flow.heading(
            &format!("Personnes débitrices au {}", fr::date_long(self.last_day)),
            12.0,
        );
        if self.debtors.is_empty() {
            flow.paragraph(Font::Regular, 9.0, "Aucune.");
        } else {
            let mut rows: Vec<Row> = self
                .debtors
                .iter()
                .map(|d| {
                    Row::new(vec![
                        d.name.clone(),
                        d.class.clone(),
                        fr::amount(d.closing_cents),
                    ])
                })
                .collect();
            rows.push(Row::styled(
                vec![
                    "Total des dettes".to_owned(),
                    String::new(),
                    fr::amount(self.debt_cents),
                ],
                RowStyle::Total,
            ));
            flow.table(&Table {
                columns: vec![
                    Column::left("Nom", 3.0),
                    Column::left("Classe", 1.0),
                    Column::right("Solde (€)", 1.2),
                ],
                rows,
                size: 8.5,
            });
        }
        flow.space(4.0);

        for (title, first, groups) in [
            ("Repas par catégorie", "Catégorie", &self.by_category),
            ("Repas par tranche", "Tranche", &self.by_tier),
            ("Repas par régime", "Régime", &self.by_regime),
        ] {
            flow.heading(title, 12.0);
            let mut rows: Vec<Row> = groups
                .iter()
                .map(|g| {
                    Row::new(vec![
                        g.label.clone(),
                        g.meals.to_string(),
                        fr::amount(g.cents),
                        g.free_meals.to_string(),
                        g.corrections.to_string(),
                        fr::amount(g.corrections_cents),
                    ])
                })
                .collect();
            let meals: usize = groups.iter().map(|g| g.meals).sum();
            let free: usize = groups.iter().map(|g| g.free_meals).sum();
            let corrections: usize = groups.iter().map(|g| g.corrections).sum();
            let cents = groups.iter().fold(0i64, |t, g| t.saturating_add(g.cents));
            let corrected = groups
                .iter()
                .fold(0i64, |t, g| t.saturating_add(g.corrections_cents));
            rows.push(Row::styled(
                vec![
                    "Total".to_owned(),
                    meals.to_string(),
                    fr::amount(cents),
                    free.to_string(),
                    corrections.to_string(),
                    fr::amount(corrected),
                ],
                RowStyle::Total,
            ));
            flow.table(&Table {
                columns: vec![
                    Column::left(first, 2.0),
                    Column::right("Repas facturés", 1.1),
                    Column::right("Montant (€)", 1.1),
                    Column::right("Repas sans charge", 1.2),
                    Column::right("Corrections", 1.0),
                    Column::right("Corrections (€)", 1.1),
                ],
                rows,
                size: 8.5,
            });
        }

        flow.heading("Versements par mode", 12.0);
        let mut rows = super::mode_rows(&self.modes);
        let t = &self.totals;
        let net = t
            .payments_cents
            .saturating_sub(t.cancellations_cents)
            .saturating_sub(t.refunds_cents);
        rows.push(Row::styled(
            vec![
                "Total".to_owned(),
                t.payments_count.to_string(),
                fr::amount(t.payments_cents),
                fr::amount(t.cancellations_cents.saturating_neg()),
                fr::amount(t.refunds_cents.saturating_neg()),
                fr::amount(net),
            ],
            RowStyle::Total,
        ));
        flow.table(&Table {
            columns: vec![
                Column::left("Mode", 2.0),
                Column::right("Versements (nombre)", 1.2),
                Column::right("Versements (€)", 1.2),
                Column::right("Annulations (€)", 1.2),
                Column::right("Remboursements (€)", 1.3),
                Column::right("Net (€)", 1.2),
            ],
            rows,
            size: 8.5,
        });
        let title = format!("Rapprochement mensuel — {period}");
        flow.finish().title(&title).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(category_label("eleve"), "Élève");
        assert_eq!(category_label("hote"), "Hôte de passage");
        assert_eq!(category_label("x"), "Personne inconnue");
        assert_eq!(tier_label(""), "—");
        assert_eq!(regime_label("dp"), "Demi-pensionnaire");
    }

    #[test]
    fn a_month_that_is_not_one_is_refused() {
        let tz = chrono_tz::Europe::Paris;
        for (y, m) in [(2026, 0), (2026, 13), (i32::MAX, 12)] {
            assert_eq!(
                MonthReport::compute(&[], &[], y, m, tz),
                Err(ReportError::BadMonth { year: y, month: m })
            );
        }
        let r = MonthReport::compute(&[], &[], 2026, 12, tz).unwrap();
        assert_eq!(r.last_day(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert!(r.rows().is_empty());
    }
}
