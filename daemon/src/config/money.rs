//! The bursar's side of the file: `[[regies]]` (cash desks and the node that numbers each one's
//! receipts), `[tiers]` (tariff tiers, their prices being in `[[tariffs]]`), and the low-balance
//! threshold.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Validator;

/// A régie (cash desk): its receipts are numbered `CODE-YEAR-NNNNN`, gap-free, by the one node
/// that holds it, so that numbers stay unique across the site even while that node is offline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regie {
    pub code: String,
    pub name: String,
    /// The `gate.id` of the node whose kiosk and command line take its payments.
    pub node: String,
}

/// The bursar's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyConfig {
    pub regies: Vec<Regie>,
    /// Tariff tiers, code → label, in the file's order of codes.
    pub tiers: BTreeMap<String, String>,
    /// A ticket balance worth fewer meals than this is low: listed on the kiosk, and the pupil
    /// reads "Plus que N repas" at the gate.
    pub low_balance_meals: u32,
}

impl MoneyConfig {
    /// The régies this node holds.
    pub fn regies_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Regie> + 'a {
        self.regies.iter().filter(move |r| r.node == node)
    }

    pub fn regie(&self, code: &str) -> Option<&Regie> {
        self.regies.iter().find(|r| r.code == code)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegie {
    code: String,
    name: String,
    node: Option<String>,
}

/// Codes printed on receipts: letters, digits, no separator (the receipt's own is `-`).
pub(super) fn valid_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 12 && code.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Validator {
    pub(super) fn money(
        &mut self,
        regies: Vec<RawRegie>,
        tiers: BTreeMap<String, String>,
        low_balance_meals: u32,
        own_node: &str,
    ) -> MoneyConfig {
        let mut out = Vec::new();
        for (i, r) in regies.into_iter().enumerate() {
            let key = format!("regies[{i}]");
            if !valid_code(&r.code) {
                self.err(
                    &format!("{key}.code"),
                    format!("`{}` must be 1 to 12 letters or digits", r.code),
                );
                continue;
            }
            if out.iter().any(|o: &Regie| o.code == r.code) {
                self.err(
                    &format!("{key}.code"),
                    format!("two régies have code `{}`", r.code),
                );
            }
            if r.name.trim().is_empty() {
                self.err(&format!("{key}.name"), "must not be empty");
            }
            out.push(Regie {
                code: r.code,
                name: r.name,
                node: r.node.unwrap_or_else(|| own_node.to_owned()),
            });
        }
        if out.is_empty() {
            out.push(Regie {
                code: "R".into(),
                name: "Régie".into(),
                node: own_node.to_owned(),
            });
        }
        for code in tiers.keys() {
            if !valid_code(code) {
                self.err(
                    &format!("tiers.{code}"),
                    "a tier's code must be 1 to 12 letters or digits",
                );
            }
        }
        MoneyConfig {
            regies: out,
            tiers,
            low_balance_meals,
        }
    }
}
