//! Forfaits billed per term (*droits constatés*, BRIEF §7 "Au forfait").
//!
//! - [`liquidation`]: per pupil and term, what the forfait costs and what is deducted, line by
//!   line, each saying why (dates, days, price). Pure: the calendar, the pupil, the entries
//!   and the prices are arguments.
//! - [`constatation`]: what to journal: the term's receivables the first time, then only the
//!   differences with what was constated (*re-constatations*), never an edit.
//! - [`notice`]: the family notice (*avis aux familles*) as PDF, one per paying guardian.
//! - [`bordereau`]: the bordereau of receivables per term and run, as PDF, CSV and XLSX.
//!
//! Money is integer cents; every sum is checked.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use selfgate_rules::journal::AidKind;
use selfgate_rules::model::{ParseError, PersonId};

pub mod aids_csv;
pub mod bordereau;
pub mod constatation;
pub mod liquidation;
pub mod notice;
pub mod xlsx;

/// A billing term (*trimestre*): its days, inclusive, and the last day a family may ask for a
/// remise d'ordre on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// `T1`, `T2`… unique within the school year.
    pub code: String,
    /// "Septembre – décembre 2026".
    pub label: String,
    /// The school year's first calendar year (2026 for 2026–2027).
    pub year: u16,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Requests for a remise d'ordre asked after this day are refused.
    pub remise_deadline: NaiveDate,
}

impl Term {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// The forfait a pupil is billed for: demi-pension on `n` days a week, or the internat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ForfaitKind {
    /// Demi-pension, `n` (1 to 6) days a week.
    Dp(u8),
    Interne,
}

impl ForfaitKind {
    /// `dp4`, `dp5`, `interne`: the code in the configuration, the CSV and the journal.
    pub fn code(self) -> String {
        match self {
            ForfaitKind::Dp(n) => format!("dp{n}"),
            ForfaitKind::Interne => "interne".into(),
        }
    }

    /// "Demi-pension 4 jours", "Internat".
    pub fn label_fr(self) -> String {
        match self {
            ForfaitKind::Dp(1) => "Demi-pension 1 jour".into(),
            ForfaitKind::Dp(n) => format!("Demi-pension {n} jours"),
            ForfaitKind::Interne => "Internat".into(),
        }
    }
}

impl fmt::Display for ForfaitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for ForfaitKind {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new(s, "a forfait: dp1 to dp6, or interne");
        let t = s.trim().to_ascii_lowercase();
        if t == "interne" {
            return Ok(ForfaitKind::Interne);
        }
        let n: u8 = t
            .strip_prefix("dp")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        if (1..=6).contains(&n) {
            Ok(ForfaitKind::Dp(n))
        } else {
            Err(bad())
        }
    }
}

/// What a forfait costs: a price per service day (× the days), or a flat price for the term
/// (pro rata of the days for arrivals, departures and deductions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Price {
    PerDay(i64),
    Term(i64),
}

/// One price of the configuration: for a forfait, optionally only for one tariff tier and/or
/// one term. The most specific entry wins: tier and term, then tier, then term, then neither.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub forfait: ForfaitKind,
    pub tier: Option<String>,
    pub term: Option<String>,
    pub price: Price,
}

/// The school's forfait prices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prices {
    pub entries: Vec<PriceEntry>,
}

impl Prices {
    /// The price of `forfait` for a pupil of `tier` in `term`, if any entry gives one.
    pub fn find(&self, forfait: ForfaitKind, tier: Option<&str>, term: &str) -> Option<Price> {
        let score = |e: &PriceEntry| -> Option<u8> {
            if e.forfait != forfait {
                return None;
            }
            let tier_score = match (&e.tier, tier) {
                (None, _) => 0,
                (Some(t), Some(p)) if t == p => 2,
                (Some(_), _) => return None,
            };
            let term_score = match &e.term {
                None => 0,
                Some(t) if t == term => 1,
                Some(_) => return None,
            };
            Some(tier_score + term_score)
        };
        self.entries
            .iter()
            .filter_map(|e| score(e).map(|s| (s, e.price)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, p)| p)
    }
}

/// Why a remise d'ordre is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemiseCause {
    /// The service was closed (the school's own closure: strike, exams…).
    Fermeture,
    /// Excluded from the canteen or the school (an `exclusion` opposition).
    Exclusion,
    /// Work placement (a `stage` opposition).
    Stage,
    /// School trip (a `voyage` opposition).
    Voyage,
    /// Illness, on request with a proof (a remise entered by the bursar).
    Maladie,
}

impl RemiseCause {
    pub fn code(self) -> &'static str {
        match self {
            RemiseCause::Fermeture => "fermeture",
            RemiseCause::Exclusion => "exclusion",
            RemiseCause::Stage => "stage",
            RemiseCause::Voyage => "voyage",
            RemiseCause::Maladie => "maladie",
        }
    }
    pub fn label_fr(self) -> &'static str {
        match self {
            RemiseCause::Fermeture => "Fermeture du service",
            RemiseCause::Exclusion => "Exclusion",
            RemiseCause::Stage => "Stage en entreprise",
            RemiseCause::Voyage => "Voyage ou sortie scolaire",
            RemiseCause::Maladie => "Maladie (sur demande)",
        }
    }
}

/// What a line of a liquidation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "cause")]
pub enum LineKind {
    /// The forfait: days × price (or the term's flat price pro rata).
    Forfait,
    /// A remise d'ordre: days × price, deducted.
    Remise(RemiseCause),
    /// An aid, deducted.
    Aide(AidKind),
}

impl LineKind {
    /// The column of the bordereau this line adds to.
    pub fn code(self) -> String {
        match self {
            LineKind::Forfait => "forfait".into(),
            LineKind::Remise(c) => format!("remise:{}", c.code()),
            LineKind::Aide(k) => format!("aide:{}", k.code()),
        }
    }
}

/// One line of a pupil's liquidation, saying why: a parent can check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub kind: LineKind,
    /// "Demi-pension 4 jours du 01/09/2026 au 18/12/2026 : 54 jours × 4,10 €".
    pub label: String,
    /// The days the line is about (the term's for an aid).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Service days counted (0 for an aid).
    pub days: u32,
    /// The price of one day in cents (0 for an aid; for a flat price, the term's price).
    pub unit_cents: i64,
    /// The line's amount: positive for the forfait, negative for what is deducted.
    pub cents: i64,
}

/// A pupil's bill for a term: the forfait, the deductions and the aid, line by line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liquidation {
    pub person: PersonId,
    pub year: u16,
    pub term: String,
    /// `None`: no forfait in this term (nothing is due; an earlier constatation is undone).
    pub forfait: Option<ForfaitKind>,
    pub lines: Vec<Line>,
}

impl Liquidation {
    /// The forfait's amount (≥ 0).
    pub fn forfait_cents(&self) -> i64 {
        self.sum(|k| matches!(k, LineKind::Forfait))
    }
    /// The remises d'ordre, as a positive amount deducted.
    pub fn remises_cents(&self) -> i64 {
        -self.sum(|k| matches!(k, LineKind::Remise(_)))
    }
    /// The aid, as a positive amount deducted.
    pub fn aides_cents(&self) -> i64 {
        -self.sum(|k| matches!(k, LineKind::Aide(_)))
    }
    /// What the family owes for this pupil (negative: the school owes the family, an *avis
    /// de versement*).
    pub fn total_cents(&self) -> i64 {
        self.lines.iter().map(|l| l.cents).sum()
    }
    fn sum(&self, f: impl Fn(LineKind) -> bool) -> i64 {
        self.lines
            .iter()
            .filter(|l| f(l.kind))
            .map(|l| l.cents)
            .sum()
    }
}

/// Errors of billing: each names the pupil, the term or the entry at fault, in French (the
/// bursar reads them on the command line and on the kiosk's billing page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error(
        "{pupil} : aucun prix pour le forfait {forfait} au trimestre {term} (ajoutez-le dans [[billing.prices]])"
    )]
    NoPrice {
        pupil: String,
        forfait: String,
        term: String,
    },
    #[error(
        "{pupil} : une remise d'ordre ou une aide demande un forfait au trimestre {term}, et il n'y en a pas"
    )]
    NoForfait { pupil: String, term: String },
    #[error(
        "{pupil} : la remise demandée le {} arrive après la date limite du trimestre {term} ({})",
        asked_on.format("%d/%m/%Y"),
        deadline.format("%d/%m/%Y")
    )]
    AfterDeadline {
        pupil: String,
        term: String,
        asked_on: NaiveDate,
        deadline: NaiveDate,
    },
    #[error(
        "{pupil} : une maladie de {days} jour(s) d'école consécutif(s), c'est moins que les {min} jours qu'une remise demande"
    )]
    TooShort { pupil: String, days: u32, min: u32 },
    #[error(
        "{pupil} : du {} au {} n'est pas dans le trimestre {term}",
        from.format("%d/%m/%Y"),
        to.format("%d/%m/%Y")
    )]
    OutsideTerm {
        pupil: String,
        term: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    #[error("montants hors limites en additionnant {what}")]
    Overflow { what: String },
}
