//! A Charlemagne pupils' export into pupils and their paying guardians.
//!
//! The header row is the first of the file's first [`HEADER_SEARCH`] rows that names every
//! required field of the [`Mapping`] (a title row above it is allowed). Below it, each
//! non-blank row is a pupil:
//!
//! - `id` (`IDELEVE`): digits, unique in the file; it becomes the person's external id.
//! - `nom`, `prenom`: not empty. `naissance`: `JJ/MM/AAAA` (also `J/M/AAAA`, `AAAA-MM-JJ`, or a
//!   spreadsheet's day number in an XLSX), checked and not kept (the store keeps no birth date).
//! - `classe`: as written, possibly empty. `regime`: the mapping's `[regimes]`, else the label's
//!   words, else a SIÈCLE code ([`crate::siecle::classify_regime`]).
//! - `famille` and the `payeur_*` fields: the guardian who pays, one per family (keyed
//!   `charlemagne-famille-<id>`, or `charlemagne-eleve-<IDELEVE>` without a family), linked to
//!   each of its pupils of the file as their legal guardian who pays.
//!
//! Every problem is an [`Error`] naming the place and the column, all of them collected: a file
//! with any error gives no pupils at all.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::mapping::{FIELDS, Field, Mapping};
use super::table::{self, Format, Row, Table};
use super::{Error, Errors, Place, fold};
use crate::family::{Guardian, GuardianLink};
use crate::siecle::{RegimeKind, classify_regime};

/// How many rows the header is looked for in.
pub const HEADER_SEARCH: usize = 30;

/// One pupil of the file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pupil {
    pub place: Place,
    /// `IDELEVE`.
    pub id: String,
    pub last_name: String,
    pub first_name: String,
    pub birth_date: NaiveDate,
    pub class: String,
    pub regime: RegimeKind,
    /// The régime as the file writes it.
    pub regime_label: String,
    /// The family's id, when the file has one.
    pub family: Option<String>,
    /// The id of the guardian who pays, when the file names one.
    pub payer: Option<String>,
}

/// A pupils' export, read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElevesFile {
    pub format: Format,
    pub encoding: Option<&'static str>,
    /// Where the header row is.
    pub header: Place,
    pub pupils: Vec<Pupil>,
    /// The paying guardians, by id, each with its links to the file's pupils.
    pub guardians: Vec<Guardian>,
    /// The file has payer columns: every pupil's payer is the one given (or none).
    pub has_payers: bool,
    /// Headers of the file no field names (ignored).
    pub unused_columns: Vec<String>,
    /// What was read although odd (an e-mail without `@`, dropped).
    pub warnings: Vec<String>,
}

/// The columns of the header row: per field, its column and header.
type Columns = BTreeMap<Field, (usize, String)>;

/// Reads a pupils' export with `mapping`.
pub fn parse(bytes: &[u8], mapping: &Mapping) -> Result<ElevesFile, Errors> {
    let table = table::read(bytes)?;
    parse_table(&table, mapping)
}

/// The header row's columns, or why there is none.
fn find_header(table: &Table, mapping: &Mapping) -> Result<(usize, Columns, Vec<String>), Error> {
    let mut best: Option<(usize, Columns)> = None;
    for (i, row) in table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_blank())
        .take(HEADER_SEARCH)
    {
        let mut columns = Columns::new();
        for (c, header) in row.cells.iter().enumerate() {
            let Some(field) = mapping.field_of(header) else {
                continue;
            };
            if let Some((_, first)) = columns.get(&field) {
                return Err(Error::new(
                    Some(row.place),
                    Some(header),
                    format!(
                        "two columns name the field `{}`: `{first}` and `{header}`; keep one \
                         in the export or the mapping",
                        field.name()
                    ),
                ));
            }
            columns.insert(field, (c, header.clone()));
        }
        let complete = FIELDS
            .iter()
            .enumerate()
            .all(|(f, (_, req))| !req || columns.contains_key(&Field(f)));
        if complete {
            let unused = row
                .cells
                .iter()
                .filter(|h| !h.is_empty() && mapping.field_of(h).is_none())
                .cloned()
                .collect();
            return Ok((i, columns, unused));
        }
        if best.as_ref().is_none_or(|(_, b)| columns.len() > b.len()) {
            best = Some((i, columns));
        }
    }
    let accepted = |f: Field| {
        mapping.headers[f.0]
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match best.filter(|(_, c)| !c.is_empty()) {
        Some((i, columns)) => {
            let row = &table.rows[i];
            let missing: Vec<String> = (0..FIELDS.len())
                .map(Field)
                .filter(|f| f.required() && !columns.contains_key(f))
                .map(|f| format!("`{}` (headers accepted: {})", f.name(), accepted(f)))
                .collect();
            let found: Vec<&str> = row
                .cells
                .iter()
                .filter(|c| !c.is_empty())
                .map(String::as_str)
                .collect();
            Err(Error::new(
                Some(row.place),
                None,
                format!(
                    "the header row lacks the required column{} {}; its columns are: {}. Add \
                     the column to the export, or its header to the mapping (--mapping)",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join("; "),
                    found.join(" | ")
                ),
            ))
        }
        None => Err(Error::file(format!(
            "no header row in the first {HEADER_SEARCH} rows: none has a column the mapping \
             knows (the pupil's id is one of {}); is this a pupils' export?",
            accepted(Field(0))
        ))),
    }
}

/// `JJ/MM/AAAA`, `J/M/AAAA`, `AAAA-MM-JJ`; in an XLSX, a day number (1900 date system).
fn parse_date(s: &str, format: Format) -> Option<NaiveDate> {
    let s = s.trim();
    let date = if let Ok(d) = NaiveDate::parse_from_str(s, "%d/%m/%Y") {
        d
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d
    } else if format == Format::Xlsx && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let days: i64 = s.parse().ok()?;
        if !(1..=2_958_465).contains(&days) {
            return None;
        }
        NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(chrono::Duration::days(days))?
    } else {
        return None;
    };
    (1900..=2100).contains(&date.year()).then_some(date)
}

/// A régime label's kind: the mapping's, else its words, else a SIÈCLE code.
fn regime_of(label: &str, mapping: &Mapping) -> Option<RegimeKind> {
    if let Some(k) = mapping.regime(label) {
        return Some(k);
    }
    let words = fold(label);
    let has = |w: &str| words.split(' ').any(|x| x == w);
    if words.contains("ticket") {
        return Some(RegimeKind::DpTicket);
    }
    if has("externe") {
        return Some(RegimeKind::Externe);
    }
    if has("interne") {
        return Some(RegimeKind::Interne);
    }
    if words.starts_with("demi pension") || has("dp") {
        let days = words
            .split(' ')
            .filter_map(|d| d.parse::<u8>().ok())
            .find(|d| (1..=6).contains(d))
            .unwrap_or(5);
        return Some(RegimeKind::Dp { days });
    }
    if !words.is_empty() && words.bytes().all(|b| b.is_ascii_digit()) {
        return classify_regime(&words, None).map(|(k, _)| k);
    }
    None
}

/// The payer columns of a row, as a guardian without links (`None` when all are empty).
fn payer_of(row: &Row, columns: &Columns) -> Option<Guardian> {
    let get = |name: &str| {
        Field::named(name)
            .and_then(|f| columns.get(&f))
            .map_or(String::new(), |(c, _)| row.cell(*c).to_owned())
    };
    let g = Guardian {
        id: String::new(),
        civility: get("payeur_civilite"),
        last_name: get("payeur_nom"),
        first_name: get("payeur_prenom"),
        address: ["payeur_adresse1", "payeur_adresse2", "payeur_adresse3"]
            .iter()
            .map(|f| get(f))
            .filter(|l| !l.is_empty())
            .collect(),
        postal_code: get("payeur_code_postal"),
        city: get("payeur_ville"),
        country: get("payeur_pays"),
        email: get("payeur_email"),
        phone: get("payeur_telephone"),
        children: Vec::new(),
    };
    let blank = g.civility.is_empty()
        && g.last_name.is_empty()
        && g.first_name.is_empty()
        && g.address.is_empty()
        && g.postal_code.is_empty()
        && g.city.is_empty()
        && g.country.is_empty()
        && g.email.is_empty()
        && g.phone.is_empty();
    (!blank).then_some(g)
}

/// The first field two records of one payer differ in.
fn differs(a: &Guardian, b: &Guardian) -> Option<&'static str> {
    let pairs = [
        ("payeur_civilite", a.civility == b.civility),
        ("payeur_nom", a.last_name == b.last_name),
        ("payeur_prenom", a.first_name == b.first_name),
        ("payeur_adresse1", a.address == b.address),
        ("payeur_code_postal", a.postal_code == b.postal_code),
        ("payeur_ville", a.city == b.city),
        ("payeur_pays", a.country == b.country),
        ("payeur_email", a.email == b.email),
        ("payeur_telephone", a.phone == b.phone),
    ];
    pairs.iter().find(|(_, same)| !same).map(|(f, _)| *f)
}

/// Reads the rows of `table` with `mapping`.
pub fn parse_table(table: &Table, mapping: &Mapping) -> Result<ElevesFile, Errors> {
    let (header_index, columns, unused_columns) = find_header(table, mapping)?;
    let header = table.rows[header_index].place;
    let column = |name: &str| Field::named(name).and_then(|f| columns.get(&f));
    let has_payers = column("payeur_nom").is_some();
    let mut errors: Vec<Error> = Vec::new();
    let mut warnings = Vec::new();
    let mut pupils: Vec<Pupil> = Vec::new();
    let mut seen: BTreeMap<String, Place> = BTreeMap::new();
    // Guardian id → (where first given, the guardian).
    let mut guardians: BTreeMap<String, (Place, Guardian)> = BTreeMap::new();

    for row in table.rows[header_index + 1..]
        .iter()
        .filter(|r| !r.is_blank())
    {
        let before = errors.len();
        let mut value = |name: &str, required: bool| -> String {
            let Some((c, h)) = column(name) else {
                return String::new();
            };
            let v = row.cell(*c).to_owned();
            if required && v.is_empty() {
                errors.push(Error::new(Some(row.place), Some(h), "empty"));
            }
            v
        };
        let id = value("id", true);
        let last_name = value("nom", true);
        let first_name = value("prenom", true);
        let birth = value("naissance", true);
        let class = value("classe", false);
        let regime_label = value("regime", true);
        let family = Some(value("famille", false)).filter(|f| !f.is_empty());
        let header_of = |name: &str| column(name).map(|(_, h)| h.as_str());

        if !id.is_empty() && !id.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(Error::new(
                Some(row.place),
                header_of("id"),
                format!("`{id}` is not a Charlemagne pupil id (IDELEVE: digits only)"),
            ));
        }
        if !id.is_empty() {
            if let Some(first) = seen.get(&id) {
                errors.push(Error::new(
                    Some(row.place),
                    header_of("id"),
                    format!("the id {id} is already the pupil of {first}: ids must be unique"),
                ));
            } else {
                seen.insert(id.clone(), row.place);
            }
        }
        let birth_date = parse_date(&birth, table.format);
        if birth_date.is_none() && !birth.is_empty() {
            errors.push(Error::new(
                Some(row.place),
                header_of("naissance"),
                format!("`{birth}` is not a date JJ/MM/AAAA"),
            ));
        }
        let regime = regime_of(&regime_label, mapping);
        if regime.is_none() && !regime_label.is_empty() {
            errors.push(Error::new(
                Some(row.place),
                header_of("regime"),
                format!(
                    "the régime `{regime_label}` is unknown: add it to the mapping's [regimes] \
                     (externe, ticket, dp1 … dp6, interne)"
                ),
            ));
        }

        let mut payer = None;
        if let Some(mut g) = payer_of(row, &columns) {
            if g.last_name.is_empty() {
                errors.push(Error::new(
                    Some(row.place),
                    header_of("payeur_nom").or(Some("payeur_nom")),
                    "a payer without a name (the payer's other columns are filled)",
                ));
            }
            if !g.email.is_empty() && !g.email.contains('@') {
                warnings.push(format!(
                    "{}, column `{}`: `{}` is not an e-mail address; left out",
                    row.place,
                    header_of("payeur_email").unwrap_or("payeur_email"),
                    g.email
                ));
                g.email.clear();
            }
            g.id = match &family {
                Some(f) => format!("charlemagne-famille-{f}"),
                None => format!("charlemagne-eleve-{id}"),
            };
            match guardians.get(&g.id) {
                Some((first, known)) => {
                    if let Some(field) = differs(known, &g) {
                        let h = header_of(field).unwrap_or(field);
                        errors.push(Error::new(
                            Some(row.place),
                            Some(h),
                            format!(
                                "the family {} has another payer at {first}: one payer per \
                                 family",
                                family.as_deref().unwrap_or("?")
                            ),
                        ));
                    }
                }
                None => {
                    guardians.insert(g.id.clone(), (row.place, g.clone()));
                }
            }
            payer = Some(g.id);
        }
        if errors.len() > before {
            continue;
        }
        let (Some(birth_date), Some(regime)) = (birth_date, regime) else {
            continue;
        };
        if let Some(p) = &payer {
            if let Some((_, g)) = guardians.get_mut(p) {
                g.children.push(GuardianLink {
                    eleve_id: id.clone(),
                    legal: true,
                    rank: 1,
                    pays: true,
                    relation: String::new(),
                    ended: None,
                });
            }
        }
        pupils.push(Pupil {
            place: row.place,
            id,
            last_name,
            first_name,
            birth_date,
            class,
            regime,
            regime_label,
            family,
            payer,
        });
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    if pupils.is_empty() {
        return Err(Error::new(Some(header), None, "no pupil below the header row").into());
    }
    Ok(ElevesFile {
        format: table.format,
        encoding: table.encoding,
        header,
        pupils,
        guardians: guardians.into_values().map(|(_, g)| g).collect(),
        has_payers,
        unused_columns,
        warnings,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ElevesFile, Errors> {
        parse(text.as_bytes(), &Mapping::default_mapping())
    }

    const GOOD: &str = "Liste des élèves;;;;\n\
IDELEVE;Nom;Prénom;Né(e) le;Classe;Régime;N° famille;Nom payeur;Adresse;CP;Ville;E-mail;Couleur;;\n\
101;Cœur;Éloïse;03/04/2013;6A;Demi-pensionnaire;F1;DURAND;3 rue des Lilas;75011;Paris;m.durand@example.org;bleu;;\n\
102;Cœur;Noé;5/9/2015;CM2;DP 4 jours;F1;DURAND;3 rue des Lilas;75011;Paris;m.durand@example.org;;;\n\
;;;;;;;;;;;;;;\n\
103;Lœwy;Anaïs;2012-01-31;5B;Externe;;;;;;;;;\n\
104;Martin;Jules;11/11/2011;4C;interne;F2;MARTIN;1 place;69001;Lyon;pas-un-mail;;;\n\
105;Petit;Léo;01/02/2014;6B;au ticket;;;;;;;;;\n";

    #[test]
    fn pupils_families_and_payers() {
        let f = read(GOOD).unwrap();
        assert_eq!(f.header, Place::Line(2));
        assert_eq!(f.unused_columns, ["Couleur"]);
        let ids: Vec<&str> = f.pupils.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["101", "102", "103", "104", "105"]);
        let p = &f.pupils[1];
        assert_eq!(
            (
                p.last_name.as_str(),
                p.first_name.as_str(),
                p.class.as_str()
            ),
            ("Cœur", "Noé", "CM2")
        );
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(2015, 9, 5).unwrap());
        assert_eq!(p.regime, RegimeKind::Dp { days: 4 });
        assert_eq!(f.pupils[0].regime, RegimeKind::Dp { days: 5 });
        assert_eq!(f.pupils[2].regime, RegimeKind::Externe);
        assert_eq!(f.pupils[3].regime, RegimeKind::Interne);
        assert_eq!(
            f.pupils[4].regime,
            RegimeKind::DpTicket,
            "read from its words"
        );
        assert_eq!(
            f.pupils[2].place,
            Place::Line(6),
            "the blank line is counted"
        );
        assert_eq!(f.guardians.len(), 2);
        let g = &f.guardians[0];
        assert_eq!(g.id, "charlemagne-famille-F1");
        assert_eq!(g.address, ["3 rue des Lilas"]);
        assert_eq!(
            (g.postal_code.as_str(), g.city.as_str()),
            ("75011", "Paris")
        );
        let kids: Vec<&str> = g.children.iter().map(|l| l.eleve_id.as_str()).collect();
        assert_eq!(kids, ["101", "102"]);
        assert!(g.children.iter().all(|l| l.pays && l.legal));
        assert_eq!(f.pupils[2].payer, None);
        assert_eq!(f.guardians[1].email, "", "not an e-mail: dropped");
        assert_eq!(f.warnings.len(), 1);
        assert!(
            f.warnings[0].starts_with("line 7, column `E-mail`"),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn every_bad_row_is_named_with_its_column() {
        let bad = "IDELEVE;Nom;Prénom;Né(e) le;Classe;Régime;N° famille;Nom payeur;Ville\n\
101;Cœur;Éloïse;31/02/2013;6A;DP;F1;DURAND;Paris\n\
101;Cœur;Noé;01/02/2013;6A;DP;F1;DURAND;Lyon\n\
1x3;;Anaïs;01/02/2013;5B;pension complète;;;\n\
104;Martin;Jules;01/02/2013;4C;DP;;;Lyon\n";
        let e = read(bad).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "line 2, column `Né(e) le`: `31/02/2013` is not a date JJ/MM/AAAA",
                "line 3, column `IDELEVE`: the id 101 is already the pupil of line 2: ids must be unique",
                "line 3, column `Ville`: the family F1 has another payer at line 2: one payer per family",
                "line 4, column `Nom`: empty",
                "line 4, column `IDELEVE`: `1x3` is not a Charlemagne pupil id (IDELEVE: digits only)",
                "line 4, column `Régime`: the régime `pension complète` is unknown: add it to the mapping's [regimes] (externe, ticket, dp1 … dp6, interne)",
                "line 5, column `Nom payeur`: a payer without a name (the payer's other columns are filled)",
            ]
        );
    }

    #[test]
    fn a_missing_column_is_named_with_the_headers_accepted() {
        let e = read("IDELEVE;Nom;Prénom;Classe;Régime\n1;A;B;6A;DP\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 1: the header row lacks the required column `naissance` (headers accepted: `DATENAISSANCE`, `Date de naissance`"),
            "{e}"
        );
        assert!(
            e.contains("its columns are: IDELEVE | Nom | Prénom | Classe | Régime"),
            "{e}"
        );
        let e = read("a;b\n1;2\n").unwrap_err().to_string();
        assert!(e.starts_with("no header row in the first 30 rows"), "{e}");
        let e = read("IDELEVE;N° élève;Nom;Prénom;Né le;Classe;Régime\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("two columns name the field `id`: `IDELEVE` and `N° élève`"),
            "{e}"
        );
        let e = read("IDELEVE;Nom;Prénom;Né le;Classe;Régime\n;;;;;\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "line 1: no pupil below the header row");
    }

    #[test]
    fn an_own_mapping_reads_other_headers() {
        let mapping = Mapping::parse(
            "[eleves]\nid = [\"Matricule\"]\nnom = [\"Nom\"]\nprenom = [\"Prénom\"]\n\
             naissance = [\"Né\"]\nclasse = [\"Cl\"]\nregime = [\"Rég\"]\n\
             [regimes]\n\"Pension complète\" = \"interne\"\n",
        )
        .unwrap();
        let f = parse(
            "Matricule;Nom;Prénom;Né;Cl;Rég\n7;A;B;01/01/2012;3e;pension complete\n".as_bytes(),
            &mapping,
        )
        .unwrap();
        assert_eq!(f.pupils[0].regime, RegimeKind::Interne);
        assert!(!f.has_payers && f.guardians.is_empty());
        // With ours, the same file has no header row.
        assert!(read("Matricule;Nom;Prénom;Né;Cl;Rég\n7;A;B;01/01/2012;3e;x\n").is_err());
    }

    #[test]
    fn dates_and_regimes() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(parse_date("03/04/2013", Format::Csv), d(2013, 4, 3));
        assert_eq!(parse_date("41367", Format::Xlsx), d(2013, 4, 3));
        assert_eq!(parse_date("41367", Format::Csv), None);
        assert_eq!(parse_date("03/04/13", Format::Csv), None);
        assert_eq!(parse_date("03/04/0013", Format::Csv), None);
        let m = Mapping::default_mapping();
        assert_eq!(regime_of("24", &m), Some(RegimeKind::Dp { days: 4 }));
        assert_eq!(
            regime_of("Demi-pension 3 jours", &m),
            Some(RegimeKind::Dp { days: 3 })
        );
        assert_eq!(regime_of("INTERNE-EXTERNE", &m), Some(RegimeKind::Externe));
        assert_eq!(regime_of("?", &m), None);
    }
}
