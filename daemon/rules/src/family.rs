//! Guardians (*responsables*, SIÈCLE `BEE_RESPONSABLES`) and who pays for a pupil.
//!
//! Guardians are personal data of adults about minors (BRIEF §6): the store keeps what billing
//! and the family space need — name, postal address, e-mail, telephone, and the link to each
//! child — while one of their children is enrolled, plus the accounting period
//! (`Guardian::expires_after`), then the retention purge deletes them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A guardian, keyed on SIÈCLE's `PERSONNE_ID`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    /// SIÈCLE `PERSONNE_ID` (stable across exports).
    pub id: String,
    /// `M.`, `Mme`… as SIÈCLE gives it (`LC_CIVILITE`), possibly empty.
    pub civility: String,
    pub last_name: String,
    pub first_name: String,
    /// The address lines (`LIGNE1_ADRESSE`…`LIGNE4_ADRESSE`), empty ones left out.
    pub address: Vec<String>,
    pub postal_code: String,
    /// `LIBELLE_POSTAL` (the city as La Poste writes it).
    pub city: String,
    /// Country name when not France (`LL_PAYS`), else empty.
    pub country: String,
    pub email: String,
    pub phone: String,
    /// The pupils this person is a guardian of.
    pub children: Vec<GuardianLink>,
}

/// One guardian–pupil link (`RESPONSABLE_ELEVE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianLink {
    /// The pupil's SIÈCLE `ELEVE_ID` (our `Person::external_id`).
    pub eleve_id: String,
    /// A legal guardian (`RESP_LEGAL` 1 or 2 before 2018, `NIVEAU_RESPONSABILITE` 1 after).
    pub legal: bool,
    /// Rank among the pupil's guardians: `RESP_LEGAL` (1, 2; 0 not legal) or the order of the
    /// file for the 2018 generation (which has no rank).
    pub rank: u8,
    /// `PAIE_FRAIS_SCOLAIRES` = 1 (2018 generation only).
    pub pays: bool,
    /// `CODE_PARENTE` as given (the two generations code it differently).
    pub relation: String,
}

impl Guardian {
    /// "Mme Marie DURAND": how an envelope names the guardian.
    pub fn postal_name(&self) -> String {
        let mut s = String::new();
        if !self.civility.trim().is_empty() {
            s.push_str(self.civility.trim());
            s.push(' ');
        }
        s.push_str(self.first_name.trim());
        if !self.first_name.trim().is_empty() {
            s.push(' ');
        }
        s.push_str(&self.last_name.trim().to_uppercase());
        s
    }

    /// The lines of the postal address under the name (street lines, postcode and city,
    /// country when not France).
    pub fn postal_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .address
            .iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        let city = format!(
            "{} {}",
            self.postal_code.trim(),
            self.city.trim().to_uppercase()
        );
        if !city.trim().is_empty() {
            lines.push(city.trim().to_owned());
        }
        if !self.country.trim().is_empty() {
            lines.push(self.country.trim().to_uppercase());
        }
        lines
    }

    pub fn link(&self, eleve_id: &str) -> Option<&GuardianLink> {
        self.children.iter().find(|c| c.eleve_id == eleve_id)
    }
}

/// Who pays for pupil `eleve_id` (BRIEF §7): the guardian marked `PAIE_FRAIS_SCOLAIRES`, else
/// the first legal guardian (by rank, then by id), else none.
pub fn payer_of<'a>(eleve_id: &str, guardians: &'a [Guardian]) -> Option<&'a Guardian> {
    let linked = guardians
        .iter()
        .filter_map(|g| g.link(eleve_id).map(|l| (g, l)));
    let mut best: Option<(&Guardian, &GuardianLink)> = None;
    for (g, l) in linked {
        let better = match best {
            None => l.pays || l.legal,
            Some((bg, bl)) => {
                let key = |l: &GuardianLink| (!l.pays, !l.legal, l.rank);
                (key(l), g.id.as_str()) < (key(bl), bg.id.as_str())
            }
        };
        if better {
            best = Some((g, l));
        }
    }
    best.map(|(g, _)| g)
}

/// The last day a guardian may be kept when none of their children is enrolled any more since
/// `last_departure`: the end of the following accounting year (the *exercice* is the calendar
/// year; its accounts are closed in the year after it).
pub fn guardian_kept_until(last_departure: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    NaiveDate::from_ymd_opt(last_departure.year() + 1, 12, 31).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn g(id: &str, links: &[(&str, bool, u8, bool)]) -> Guardian {
        Guardian {
            id: id.into(),
            civility: "Mme".into(),
            last_name: format!("Nom{id}"),
            first_name: "Marie".into(),
            address: vec!["3 rue des Lilas".into(), "".into()],
            postal_code: "31000".into(),
            city: "Toulouse".into(),
            country: String::new(),
            email: String::new(),
            phone: String::new(),
            children: links
                .iter()
                .map(|(e, legal, rank, pays)| GuardianLink {
                    eleve_id: (*e).into(),
                    legal: *legal,
                    rank: *rank,
                    pays: *pays,
                    relation: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_one_who_pays_then_the_first_legal_guardian_then_nobody() {
        let all = vec![
            g("3", &[("A", true, 1, false), ("B", true, 2, false)]),
            g("2", &[("A", true, 2, true), ("B", true, 1, false)]),
            g("1", &[("C", false, 0, false)]),
        ];
        assert_eq!(
            payer_of("A", &all).unwrap().id,
            "2",
            "PAIE_FRAIS_SCOLAIRES wins"
        );
        assert_eq!(payer_of("B", &all).unwrap().id, "2", "rank 1 before rank 2");
        assert!(payer_of("C", &all).is_none(), "a contact never pays");
        assert!(payer_of("Z", &all).is_none());
    }

    #[test]
    fn an_envelope_names_and_addresses_the_guardian() {
        let x = g("1", &[]);
        assert_eq!(x.postal_name(), "Mme Marie NOM1");
        assert_eq!(x.postal_lines(), ["3 rue des Lilas", "31000 TOULOUSE"]);
        assert_eq!(
            guardian_kept_until(NaiveDate::from_ymd_opt(2026, 7, 3).unwrap()),
            NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()
        );
    }
}
