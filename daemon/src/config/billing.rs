//! `[billing]`: forfaits billed per term (*droits constatés*, BRIEF §7): the terms and their
//! deadlines for remises d'ordre, the forfaits' prices, the minimum illness a remise needs and
//! how families pay. Validated here, every error naming its key (`billing.terms[1].from`).
//!
//! What cannot be known from the file alone (a forfait in use without a price: it depends on
//! the pupils) is the billing run's to report.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use selfgate_money::billing::{ForfaitKind, Price, PriceEntry, Prices, Term};
use selfgate_rules::journal::school_year;
use selfgate_rules::model::parse_euros;

use super::Validator;
use super::money::valid_code;

/// What families read on their notice under "how to pay" when the file says nothing.
pub const DEFAULT_PAYMENT: &str = "À régler à la régie de l'établissement (espèces, chèque à \
l'ordre de l'agent comptable, carte bancaire) ou en ligne par paiement sécurisé.";

/// A remise d'ordre for illness needs at least this many consecutive school days by default.
pub const DEFAULT_REMISE_MIN_DAYS: u32 = 5;

/// A remise may be asked until this many days after its term's last day, by default.
pub const DEFAULT_DEADLINE_DAYS: u64 = 30;

/// The bursar's billing settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingConfig {
    /// A remise d'ordre for illness needs at least this many consecutive school days.
    pub remise_min_days: u32,
    /// How to pay, printed on the family notices.
    pub payment: String,
    /// The terms of the school year, in order of their days, none overlapping, all within
    /// `school.year_start..=year_end`.
    pub terms: Vec<Term>,
    /// The forfaits' prices, in the file's order. Every `tier` is a code of `[tiers]`, every
    /// `term` a code of `terms`, and no two entries share (forfait, tier, term).
    pub prices: Prices,
    /// True when the file gives no `[[billing.terms]]` and the terms are the defaults.
    pub default_terms: bool,
}

impl BillingConfig {
    /// The term with this code.
    pub fn term(&self, code: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.code == code)
    }

    /// The term `day` falls in, if any (days between terms, or outside the year, have none).
    pub fn term_of(&self, day: NaiveDate) -> Option<&Term> {
        self.terms.iter().find(|t| t.contains(day))
    }

    /// The forfaits that have at least one price, in order (dp1…dp6, interne).
    pub fn priced_forfaits(&self) -> Vec<ForfaitKind> {
        let mut out: Vec<ForfaitKind> = self.prices.entries.iter().map(|e| e.forfait).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawBilling {
    remise_min_days: u32,
    payment: String,
    terms: Option<Vec<RawTerm>>,
    prices: Vec<RawPrice>,
}

impl Default for RawBilling {
    fn default() -> Self {
        RawBilling {
            remise_min_days: DEFAULT_REMISE_MIN_DAYS,
            payment: DEFAULT_PAYMENT.into(),
            terms: None,
            prices: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTerm {
    code: String,
    label: Option<String>,
    from: String,
    to: String,
    remise_deadline: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    forfait: String,
    per_day: Option<String>,
    flat: Option<String>,
    tier: Option<String>,
    term: Option<String>,
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn month(d: NaiveDate) -> &'static str {
    MONTHS.get(d.month0() as usize).copied().unwrap_or("")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A term's label from its days: "Septembre – décembre 2026", "Janvier 2027",
/// "Décembre 2026 – mars 2027".
pub fn term_label(from: NaiveDate, to: NaiveDate) -> String {
    let (a, b) = (month(from), month(to));
    if from.year() != to.year() {
        capitalised(&format!("{a} {} – {b} {}", from.year(), to.year()))
    } else if from.month() == to.month() {
        capitalised(&format!("{a} {}", from.year()))
    } else {
        capitalised(&format!("{a} – {b} {}", to.year()))
    }
}

/// The deadline for remises when a term gives none: 30 days after its last day.
pub fn default_deadline(to: NaiveDate) -> NaiveDate {
    to.checked_add_days(chrono::Days::new(DEFAULT_DEADLINE_DAYS))
        .unwrap_or(to)
}

fn make_term(code: String, label: Option<String>, from: NaiveDate, to: NaiveDate) -> Term {
    Term {
        code,
        label: label.unwrap_or_else(|| term_label(from, to)),
        year: school_year(from),
        from,
        to,
        remise_deadline: default_deadline(to),
    }
}

/// The terms when the file gives none (BRIEF §7): T1 from the year's first day to 31 December,
/// T2 from 1 January to 31 March, T3 from 1 April to the year's last day; each cut to the
/// school year, and left out when nothing of it remains.
pub fn default_terms(year_start: NaiveDate, year_end: NaiveDate) -> Vec<Term> {
    let next = year_start.year() + 1;
    let cut = |m: u32| NaiveDate::from_ymd_opt(next, m, 1);
    let (Some(jan), Some(apr)) = (cut(1), cut(4)) else {
        return Vec::new();
    };
    let bounds = [
        (year_start, jan.pred_opt()),
        (jan, apr.pred_opt()),
        (apr, Some(year_end)),
    ];
    let mut out = Vec::new();
    for (from, to) in bounds {
        let Some(to) = to else { continue };
        let (from, to) = (from.max(year_start), to.min(year_end));
        if from <= to {
            let code = format!("T{}", out.len() + 1);
            out.push(make_term(code, None, from, to));
        }
    }
    out
}

impl Validator {
    /// `[billing]`. `year` is the school year (`None` when its dates are wrong: they are
    /// reported under `school.`, and the terms are not checked against them); `tiers` the
    /// codes of `[tiers]`.
    pub(super) fn billing(
        &mut self,
        raw: RawBilling,
        year: Option<(NaiveDate, NaiveDate)>,
        tiers: &BTreeMap<String, String>,
    ) -> BillingConfig {
        if raw.remise_min_days < 1 {
            self.err("billing.remise_min_days", "must be at least 1 school day");
        }
        if raw.payment.trim().is_empty() {
            self.err(
                "billing.payment",
                "must not be empty: families read it on their notice",
            );
        }
        let defaulted = raw.terms.is_none();
        let terms = match raw.terms {
            None => year.map_or_else(Vec::new, |(a, b)| default_terms(a, b)),
            Some(list) if list.is_empty() => {
                self.err(
                    "billing.terms",
                    "give at least one term, or leave the terms out for the default ones",
                );
                Vec::new()
            }
            Some(list) => self.terms(list, year),
        };
        let prices = self.prices(raw.prices, &terms, tiers);
        BillingConfig {
            remise_min_days: raw.remise_min_days,
            payment: raw.payment,
            terms,
            prices,
            default_terms: defaulted,
        }
    }

    fn terms(&mut self, raw: Vec<RawTerm>, year: Option<(NaiveDate, NaiveDate)>) -> Vec<Term> {
        let mut out: Vec<Term> = Vec::new();
        for (i, t) in raw.into_iter().enumerate() {
            let key = format!("billing.terms[{i}]");
            if !valid_code(&t.code) {
                self.err(
                    &format!("{key}.code"),
                    format!("`{}` must be 1 to 12 letters or digits", t.code),
                );
            } else if out.iter().any(|o| o.code == t.code) {
                self.err(
                    &format!("{key}.code"),
                    format!("two terms have code `{}`", t.code),
                );
            }
            if t.label.as_ref().is_some_and(|l| l.trim().is_empty()) {
                self.err(
                    &format!("{key}.label"),
                    "must not be empty (leave it out for one made from the dates)",
                );
            }
            let from = self.date(&format!("{key}.from"), &t.from);
            let to = self.date(&format!("{key}.to"), &t.to);
            let deadline = match &t.remise_deadline {
                Some(s) => self.date(&format!("{key}.remise_deadline"), s).map(Some),
                None => Some(None),
            };
            let (Some(from), Some(to), Some(deadline)) = (from, to, deadline) else {
                continue;
            };
            if to < from {
                self.err(
                    &format!("{key}.to"),
                    format!("{to} is before from ({from})"),
                );
                continue;
            }
            if let Some((start, end)) = year {
                if from < start {
                    self.err(
                        &format!("{key}.from"),
                        format!("{from} is before the school year (school.year_start = {start})"),
                    );
                }
                if to > end {
                    self.err(
                        &format!("{key}.to"),
                        format!("{to} is after the school year (school.year_end = {end})"),
                    );
                }
            }
            if let Some(o) = out.iter().find(|o| o.from <= to && from <= o.to) {
                self.err(
                    &format!("{key}.from"),
                    format!(
                        "{from} to {to} overlaps term {} ({} to {})",
                        o.code, o.from, o.to
                    ),
                );
            }
            let mut term = make_term(t.code, t.label, from, to);
            if let Some(d) = deadline {
                if d < to {
                    self.err(
                        &format!("{key}.remise_deadline"),
                        format!("{d} is before the term's last day ({to})"),
                    );
                }
                term.remise_deadline = d;
            }
            // Pushed even when wrong (the file is refused anyway): a price naming it is not
            // reported again as naming no term.
            out.push(term);
        }
        out.sort_by_key(|t| t.from);
        out
    }

    fn prices(
        &mut self,
        raw: Vec<RawPrice>,
        terms: &[Term],
        tiers: &BTreeMap<String, String>,
    ) -> Prices {
        let mut entries: Vec<PriceEntry> = Vec::new();
        for (i, p) in raw.into_iter().enumerate() {
            let key = format!("billing.prices[{i}]");
            let forfait = match p.forfait.parse::<ForfaitKind>() {
                Ok(f) => Some(f),
                Err(e) => {
                    self.err(&format!("{key}.forfait"), e);
                    None
                }
            };
            let price = match (&p.per_day, &p.flat) {
                (Some(_), Some(_)) => {
                    self.err(
                        &key,
                        "give per_day (a day's price) or flat (the term's price), not both",
                    );
                    None
                }
                (None, None) => {
                    self.err(
                        &key,
                        "give per_day (a day's price) or flat (the term's price)",
                    );
                    None
                }
                (Some(a), None) => self
                    .positive(&format!("{key}.per_day"), a)
                    .map(Price::PerDay),
                (None, Some(a)) => self.positive(&format!("{key}.flat"), a).map(Price::Term),
            };
            let tier = p.tier.map(|t| t.trim().to_owned());
            let tier_ok = match &tier {
                Some(t) if !tiers.contains_key(t) => {
                    self.err(
                        &format!("{key}.tier"),
                        format!("no tier has code `{t}` (declare it under [tiers])"),
                    );
                    false
                }
                _ => true,
            };
            let term = p.term.map(|t| t.trim().to_owned());
            let term_ok = match &term {
                Some(t) if !terms.iter().any(|x| &x.code == t) => {
                    let known: Vec<&str> = terms.iter().map(|x| x.code.as_str()).collect();
                    self.err(
                        &format!("{key}.term"),
                        format!(
                            "no term has code `{t}` (the terms are {})",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                    false
                }
                _ => true,
            };
            let (Some(forfait), Some(price), true, true) = (forfait, price, tier_ok, term_ok)
            else {
                continue;
            };
            if entries
                .iter()
                .any(|e| e.forfait == forfait && e.tier == tier && e.term == term)
            {
                self.err(
                    &key,
                    format!(
                        "a second price for {forfait}{}{}",
                        tier.as_ref()
                            .map_or_else(String::new, |t| format!(", tier {t}")),
                        term.as_ref()
                            .map_or_else(String::new, |t| format!(", term {t}"))
                    ),
                );
                continue;
            }
            entries.push(PriceEntry {
                forfait,
                tier,
                term,
                price,
            });
        }
        Prices { entries }
    }

    /// An amount of euros more than zero, in cents.
    fn positive(&mut self, key: &str, s: &str) -> Option<i64> {
        match parse_euros(s) {
            Ok(c) if c > 0 => Some(c),
            Ok(_) => {
                self.err(key, "must be more than 0,00 €");
                None
            }
            Err(e) => {
                self.err(key, e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::config::{Config, EXAMPLE, test_errors as errors};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const YEAR: &str = "[school]\nyear_start = \"2026-09-01\"\nyear_end = \"2027-07-06\"\n\
                        [tiers]\nQ1 = \"QF < 600\"\n";

    fn billing(text: &str) -> BillingConfig {
        Config::parse(&format!("{YEAR}{text}"), "t.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .billing
    }

    fn term(code: &str, from: &str, to: &str) -> String {
        format!("[[billing.terms]]\ncode = \"{code}\"\nfrom = \"{from}\"\nto = \"{to}\"\n")
    }

    /// Each of `keys` starts one of the errors `text` (after the school year) gets.
    fn assert_keys(text: &str, keys: &[&str]) {
        let e = errors(&format!("{YEAR}{text}"));
        for key in keys {
            assert!(
                e.iter().any(|m| m.starts_with(&format!("{key}:"))),
                "no error for {key}: {e:?}"
            );
        }
        assert_eq!(e.len(), keys.len(), "{e:?}");
    }

    #[test]
    fn no_terms_given_gives_the_three_default_terms() {
        let b = billing("");
        assert!(b.default_terms);
        let shown: Vec<String> = b
            .terms
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {} {} {}",
                    t.code, t.label, t.year, t.from, t.to, t.remise_deadline
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "T1 Septembre – décembre 2026 2026 2026-09-01 2026-12-31 2027-01-30",
                "T2 Janvier – mars 2027 2026 2027-01-01 2027-03-31 2027-04-30",
                "T3 Avril – juillet 2027 2026 2027-04-01 2027-07-06 2027-08-05",
            ]
        );
        assert_eq!(b.remise_min_days, 5);
        assert_eq!(b.payment, DEFAULT_PAYMENT);
        assert!(b.prices.entries.is_empty());
        // A school year ending in February: two terms, the second cut to it.
        let t = default_terms(d("2026-09-01"), d("2027-02-15"));
        assert_eq!(t.len(), 2);
        assert_eq!((t[1].code.as_str(), t[1].to), ("T2", d("2027-02-15")));
        assert_eq!(
            term_label(d("2026-12-01"), d("2027-03-31")),
            "Décembre 2026 – mars 2027"
        );
        assert_eq!(term_label(d("2027-01-04"), d("2027-01-29")), "Janvier 2027");
    }

    #[test]
    fn terms_and_prices_are_read() {
        let b = billing(&format!(
            "[billing]\nremise_min_days = 10\npayment = \"Chèque\"\n\
             {}label = \"Automne\"\nremise_deadline = \"2026-12-20\"\n{}\
             [[billing.prices]]\nforfait = \"dp4\"\nper_day = \"4,10\"\n\
             [[billing.prices]]\nforfait = \"DP4\"\ntier = \"Q1\"\nper_day = \"1\"\n\
             [[billing.prices]]\nforfait = \"interne\"\nterm = \"H\"\nflat = \"420,00\"\n",
            term("A", "2026-09-01", "2026-12-18"),
            term("H", "2027-01-04", "2027-07-02"),
        ));
        assert!(!b.default_terms);
        assert_eq!((b.remise_min_days, b.payment.as_str()), (10, "Chèque"));
        let a = b.term("A").unwrap();
        assert_eq!(
            (a.label.as_str(), a.remise_deadline),
            ("Automne", d("2026-12-20"))
        );
        let h = b.term_of(d("2027-03-01")).unwrap();
        assert_eq!(
            (h.code.as_str(), h.label.as_str()),
            ("H", "Janvier – juillet 2027")
        );
        assert_eq!(h.remise_deadline, d("2027-08-01"));
        assert!(b.term_of(d("2026-12-25")).is_none(), "between two terms");
        assert_eq!(
            b.prices.find(ForfaitKind::Dp(4), None, "A"),
            Some(Price::PerDay(410))
        );
        assert_eq!(
            b.prices.find(ForfaitKind::Dp(4), Some("Q1"), "A"),
            Some(Price::PerDay(100))
        );
        assert_eq!(
            b.prices.find(ForfaitKind::Interne, None, "H"),
            Some(Price::Term(42000))
        );
        assert_eq!(b.prices.find(ForfaitKind::Interne, None, "A"), None);
        assert_eq!(
            b.priced_forfaits(),
            [ForfaitKind::Dp(4), ForfaitKind::Interne]
        );
    }

    #[test]
    fn bad_terms_name_their_key() {
        // Overlapping another.
        assert_keys(
            &format!(
                "{}{}",
                term("T1", "2026-09-01", "2026-12-31"),
                term("T2", "2026-12-15", "2027-03-31")
            ),
            &["billing.terms[1].from"],
        );
        // `to` before `from`.
        assert_keys(
            &term("T1", "2026-12-31", "2026-09-01"),
            &["billing.terms[0].to"],
        );
        // Outside the school year, on either side.
        assert_keys(
            &term("T1", "2026-08-25", "2026-12-31"),
            &["billing.terms[0].from"],
        );
        assert_keys(
            &term("T3", "2027-04-01", "2027-07-31"),
            &["billing.terms[0].to"],
        );
        // Duplicate codes, bad codes.
        assert_keys(
            &format!(
                "{}{}",
                term("T1", "2026-09-01", "2026-12-31"),
                term("T1", "2027-01-01", "2027-03-31")
            ),
            &["billing.terms[1].code"],
        );
        assert_keys(
            &term("T-1", "2026-09-01", "2026-12-31"),
            &["billing.terms[0].code"],
        );
        assert_keys(
            &term("TRIMESTRE1234", "2026-09-01", "2026-12-31"),
            &["billing.terms[0].code"],
        );
        // A deadline before the term's end, a bad date.
        assert_keys(
            &format!(
                "{}remise_deadline = \"2026-12-01\"\n",
                term("T1", "2026-09-01", "2026-12-31")
            ),
            &["billing.terms[0].remise_deadline"],
        );
        assert_keys(
            &term("T1", "1er septembre", "2026-12-31"),
            &["billing.terms[0].from"],
        );
        // No term at all, an empty label, an unknown key.
        assert_keys("[billing]\nterms = []\n", &["billing.terms"]);
        assert_keys(
            &format!("{}label = \" \"\n", term("T1", "2026-09-01", "2026-12-31")),
            &["billing.terms[0].label"],
        );
        let e = errors(&format!(
            "{YEAR}{}weeks = 12\n",
            term("T1", "2026-09-01", "2026-12-31")
        ));
        assert!(e.len() == 1 && e[0].contains("weeks"), "{e:?}");
        // Other billing keys.
        assert_keys(
            "[billing]\nremise_min_days = 0\npayment = \"  \"\n",
            &["billing.remise_min_days", "billing.payment"],
        );
    }

    #[test]
    fn bad_prices_name_their_key() {
        let price = |body: &str| format!("[[billing.prices]]\n{body}");
        assert_keys(
            &price("forfait = \"dp4\"\nper_day = \"4,10\"\nflat = \"180\"\n"),
            &["billing.prices[0]"],
        );
        assert_keys(&price("forfait = \"dp4\"\n"), &["billing.prices[0]"]);
        assert_keys(
            &price("forfait = \"dp4\"\nper_day = \"0,00\"\n"),
            &["billing.prices[0].per_day"],
        );
        assert_keys(
            &price("forfait = \"dp4\"\nflat = \"-180\"\n"),
            &["billing.prices[0].flat"],
        );
        assert_keys(
            &price("forfait = \"dp4\"\nper_day = \"quatre\"\n"),
            &["billing.prices[0].per_day"],
        );
        assert_keys(
            &price("forfait = \"dp7\"\nper_day = \"4\"\n"),
            &["billing.prices[0].forfait"],
        );
        assert_keys(
            &price("forfait = \"dp4\"\nper_day = \"4\"\ntier = \"Q9\"\n"),
            &["billing.prices[0].tier"],
        );
        // Default terms are T1 to T3: T4 names none.
        assert_keys(
            &price("forfait = \"dp4\"\nper_day = \"4\"\nterm = \"T4\"\n"),
            &["billing.prices[0].term"],
        );
        // Twice the same (forfait, tier, term); differing in the tier or term is fine.
        let e = format!(
            "{}{}{}{}",
            price("forfait = \"dp4\"\nper_day = \"4\"\ntier = \"Q1\"\nterm = \"T2\"\n"),
            price("forfait = \"dp4\"\nper_day = \"4\"\ntier = \"Q1\"\n"),
            price("forfait = \"dp4\"\nper_day = \"4\"\nterm = \"T2\"\n"),
            price("forfait = \"dp4\"\nflat = \"100\"\ntier = \"Q1\"\nterm = \"T2\"\n"),
        );
        assert_keys(&e, &["billing.prices[3]"]);
        let e = errors(&format!(
            "{YEAR}{}",
            price("forfait = \"dp4\"\nprice = \"4\"\n")
        ));
        assert!(e.len() == 1 && e[0].contains("price"), "{e:?}");
    }

    #[test]
    fn the_example_bills_zone_b_with_three_terms_and_its_prices() {
        let c = Config::parse(EXAMPLE, "selfgate.example.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.calendar.zone, Some(selfgate_rules::calendar::Zone::B));
        assert!(c.school.school_holidays > 0);
        assert_eq!(
            c.school.address,
            ["12 avenue des Tilleuls", "31000 Toulouse"]
        );
        let codes: Vec<&str> = c.billing.terms.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(codes, ["T1", "T2", "T3"]);
        assert!(!c.billing.default_terms);
        assert_eq!(
            c.billing.priced_forfaits(),
            [ForfaitKind::Dp(4), ForfaitKind::Dp(5), ForfaitKind::Interne]
        );
        assert_eq!(
            c.billing.prices.find(ForfaitKind::Dp(5), Some("T1"), "T2"),
            Some(Price::PerDay(100))
        );
        // The example's own closures are not the official holidays.
        assert!(
            c.own_closures()
                .iter()
                .all(|x| !x.label.starts_with("Vacances"))
        );
    }

    #[test]
    fn address_lines_are_checked() {
        let e = errors("[school]\naddress = [\"1 rue A\", \"\"]\n");
        assert!(
            e.len() == 1 && e[0].starts_with("school.address[1]:"),
            "{e:?}"
        );
        let e = errors("[school]\naddress = [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\"]\n");
        assert!(e.len() == 1 && e[0].starts_with("school.address:"), "{e:?}");
    }
}
