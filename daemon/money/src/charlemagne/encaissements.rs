//! The payments Charlemagne took (*encaissements*), as its table export gives them: one payment
//! a line, `;` between cells (a tab is accepted too), UTF-8 (with or without a byte order mark)
//! or Windows-1252, a header line naming the columns. Charlemagne publishes no format and each
//! school chooses its export's columns, so the headers are matched with accepted variants
//! (accents, case, spaces and punctuation aside) and unknown columns are left alone:
//!
//! | column | accepted headers | value |
//! |---|---|---|
//! | date | `Date`, `Date encaissement`, `Date de paiement`, `Date règlement`… | `JJ/MM/AAAA` |
//! | pupil | `IDELEVE`, `Id élève`, `Identifiant élève`, `N° élève` | the pupil's identifiant |
//! | amount | `Montant`, `Montant réglé`, `Montant encaissé`… | `12,50` (more than zero) |
//! | mode | `Mode`, `Mode de règlement`, `Mode de paiement`, `Moyen de paiement` | free text |
//! | reference | `Référence`, `Réf.`, `N° pièce`, `IDREGLEMENT`, `N° règlement`… | unique per payment |
//! | payer (optional) | `Payeur`, `Tiers`, `Nom du payeur`, `Responsable` | free text |
//!
//! The whole file or nothing ([`parse_encaissements`]): any bad line and the file is refused,
//! every problem named with its line. A payment is credited once whatever the number of files
//! it comes in: [`sort_encaissements`] sets aside those whose reference the journal holds
//! already (`PaymentMode::Import` with reference `charlemagne:REF`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use selfgate_rules::journal::{Event, EventKind, PaymentMode};
use selfgate_rules::model::{PersonId, parse_euros};
use selfgate_rules::regie::{MAX_PAYMENT_CENTS, MAX_TEXT_CHARS};

/// What a Charlemagne payment's reference becomes in the journal: this prefix, then its own.
pub const REFERENCE_PREFIX: &str = "charlemagne:";

/// The journal's reference of a payment of reference `reference` in Charlemagne.
pub fn journal_reference(reference: &str) -> String {
    format!("{REFERENCE_PREFIX}{reference}")
}

/// One payment of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encaissement {
    /// 1-based line number in the file.
    pub line: usize,
    /// The day Charlemagne took it.
    pub date: NaiveDate,
    /// The pupil's identifiant (`IDELEVE`).
    pub pupil: String,
    /// More than zero, at most `MAX_PAYMENT_CENTS`.
    pub cents: i64,
    /// Charlemagne's mode (`Chèque`, `CB`, `Prélèvement`…), as written.
    pub mode: String,
    /// Charlemagne's reference of the payment, not empty.
    pub reference: String,
    /// Who paid, when the file says.
    pub payer: String,
}

impl Encaissement {
    /// The journal note of its payment: where it comes from, Charlemagne's date and mode.
    pub fn note(&self) -> String {
        let mut note = format!("Charlemagne, {}", self.date.format("%d/%m/%Y"));
        if !self.mode.is_empty() {
            note.push_str(", ");
            note.push_str(&self.mode);
        }
        note.chars().take(MAX_TEXT_CHARS).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Date,
    Pupil,
    Amount,
    Mode,
    Reference,
    Payer,
}

impl Col {
    const REQUIRED: [Col; 5] = [
        Col::Date,
        Col::Pupil,
        Col::Amount,
        Col::Mode,
        Col::Reference,
    ];

    fn name(self) -> &'static str {
        match self {
            Col::Date => "Date",
            Col::Pupil => "IDELEVE",
            Col::Amount => "Montant",
            Col::Mode => "Mode",
            Col::Reference => "Référence",
            Col::Payer => "Payeur",
        }
    }

    /// Accepted headers, as [`fold`] leaves them.
    fn variants(self) -> &'static [&'static str] {
        match self {
            Col::Date => &[
                "date",
                "dateencaissement",
                "datedencaissement",
                "datepaiement",
                "datedepaiement",
                "datereglement",
                "datedereglement",
                "dateoperation",
            ],
            Col::Pupil => &[
                "ideleve",
                "ideleves",
                "identifianteleve",
                "neleve",
                "noeleve",
                "numeroeleve",
                "codeeleve",
            ],
            Col::Amount => &[
                "montant",
                "montantregle",
                "montantencaisse",
                "montantpaye",
                "montantreglement",
                "montanteur",
                "montanteuros",
            ],
            Col::Mode => &[
                "mode",
                "modereglement",
                "modedereglement",
                "modepaiement",
                "modedepaiement",
                "moyenpaiement",
                "moyendepaiement",
            ],
            Col::Reference => &[
                "reference",
                "ref",
                "referencereglement",
                "referencepaiement",
                "referenceencaissement",
                "npiece",
                "nopiece",
                "numeropiece",
                "idreglement",
                "idencaissement",
                "nreglement",
                "noreglement",
                "numeroreglement",
            ],
            Col::Payer => &["payeur", "tiers", "nomdupayeur", "nompayeur", "responsable"],
        }
    }
}

/// A header as compared: accents off, lower case, letters and digits only (`N° élève` →
/// `neleve`, `Réf.` → `ref`).
fn fold(header: &str) -> String {
    header
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'œ' => 'o',
            other => other,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// UTF-8 (byte order mark or not), else Windows-1252 (what Excel and Charlemagne's "ANSI"
/// exports write in France).
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => windows_1252(bytes),
    }
}

/// Latin-1 with printable characters in 0x80–0x9F (0x80 is €, 0x9C is œ); the five undefined
/// bytes map to the C1 control of the same value, as the WHATWG encoding standard does.
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// A line's cells: split on `sep`, `"…"` quoting as spreadsheets write it (`""` inside for a
/// quote). `None` when a quote is not closed on the line.
fn cells(line: &str, sep: char) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == sep {
            out.push(std::mem::take(&mut cell).trim().to_owned());
            at_start = true;
        } else {
            if !c.is_whitespace() {
                at_start = false;
            }
            cell.push(c);
        }
    }
    if quoted {
        return None;
    }
    out.push(cell.trim().to_owned());
    Some(out)
}

fn date(s: &str) -> Option<NaiveDate> {
    // `JJ/MM/AAAA`, possibly followed by a time (`12/03/2026 14:05`).
    let day = s.split_whitespace().next()?;
    let mut parts = day.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || d.is_empty()
        || d.len() > 2
        || m.is_empty()
        || m.len() > 2
        || ![d, m, y]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// The longest Charlemagne reference kept (its journal reference has the prefix before it).
pub const MAX_REFERENCE_CHARS: usize = MAX_TEXT_CHARS - REFERENCE_PREFIX.len();

/// Reads the whole file: every payment, or every problem (`ligne N : …`). A reference twice in
/// the file for the same payment (pupil, amount, date) is kept once; for two different payments
/// it is an error naming both lines.
pub fn parse_encaissements(bytes: &[u8]) -> Result<Vec<Encaissement>, Vec<String>> {
    let text = decode(bytes);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(vec![
            "fichier vide : une ligne d'en-têtes puis un encaissement par ligne attendus".into(),
        ]);
    };
    let sep = if header.contains(';') {
        ';'
    } else if header.contains('\t') {
        '\t'
    } else {
        ';'
    };
    let Some(headers) = cells(header, sep) else {
        return Err(vec![format!(
            "ligne {header_line} : guillemet non fermé dans les en-têtes"
        )]);
    };
    let mut problems = Vec::new();
    let mut index: BTreeMap<Col, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let folded = fold(h);
        if folded.is_empty() {
            continue;
        }
        for col in Col::REQUIRED.into_iter().chain([Col::Payer]) {
            if col.variants().contains(&folded.as_str()) {
                if let Some(&first) = index.get(&col) {
                    problems.push(format!(
                        "ligne {header_line} : les colonnes {} et {} sont toutes deux « {} »",
                        first + 1,
                        i + 1,
                        col.name()
                    ));
                } else {
                    index.insert(col, i);
                }
            }
        }
    }
    for col in Col::REQUIRED {
        if !index.contains_key(&col) {
            problems.push(format!(
                "ligne {header_line} : colonne « {} » absente (en-têtes acceptés : {}) ; \
                 en-têtes lus : {}",
                col.name(),
                col.variants().join(", "),
                headers
                    .iter()
                    .filter(|h| !h.is_empty())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let at = |col: Col| index.get(&col).copied();
    let mut out: Vec<Encaissement> = Vec::new();
    let mut by_reference: HashMap<String, usize> = HashMap::new();
    for (n, line) in lines {
        let Some(row) = cells(line, sep) else {
            problems.push(format!("ligne {n} : guillemet non fermé"));
            continue;
        };
        let get = |col: Col| at(col).and_then(|i| row.get(i)).map_or("", String::as_str);
        // Excel's trailing empty cells are nothing; a line shorter than the header is.
        let needed = Col::REQUIRED
            .iter()
            .filter_map(|c| at(*c))
            .max()
            .unwrap_or(0);
        if row.len() <= needed {
            problems.push(format!(
                "ligne {n} : {} cellule(s), {} au moins attendues",
                row.len(),
                needed + 1
            ));
            continue;
        }
        let mut bad = Vec::new();
        let day = date(get(Col::Date));
        if day.is_none() {
            bad.push(format!(
                "date « {} » : une date JJ/MM/AAAA attendue",
                get(Col::Date)
            ));
        }
        let pupil = get(Col::Pupil);
        if pupil.is_empty() {
            bad.push("IDELEVE vide".to_owned());
        } else if pupil.chars().count() > MAX_TEXT_CHARS || pupil.chars().any(char::is_control) {
            bad.push(format!("IDELEVE « {pupil} » illisible"));
        }
        let amount = get(Col::Amount);
        let cents = match parse_euros(amount) {
            Ok(c) if c > 0 && c <= MAX_PAYMENT_CENTS => Some(c),
            Ok(_) => {
                bad.push(format!(
                    "montant « {amount} » : il doit être positif et d'au plus {} €",
                    MAX_PAYMENT_CENTS / 100
                ));
                None
            }
            Err(e) => {
                bad.push(format!(
                    "montant « {} » : un montant tel que 12,50 attendu",
                    e.value
                ));
                None
            }
        };
        let reference = get(Col::Reference);
        if reference.is_empty() {
            bad.push("référence vide : chaque encaissement a la sienne".to_owned());
        } else if reference.chars().count() > MAX_REFERENCE_CHARS
            || reference.chars().any(char::is_control)
        {
            bad.push(format!(
                "référence « {reference} » : au plus {MAX_REFERENCE_CHARS} caractères imprimables"
            ));
        }
        let mode: String = get(Col::Mode).chars().take(60).collect();
        let payer: String = get(Col::Payer)
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TEXT_CHARS)
            .collect();
        let (Some(day), Some(cents), true) = (day, cents, bad.is_empty()) else {
            problems.push(format!("ligne {n} : {}", bad.join(" ; ")));
            continue;
        };
        let e = Encaissement {
            line: n,
            date: day,
            pupil: pupil.to_owned(),
            cents,
            mode: mode.chars().filter(|c| !c.is_control()).collect(),
            reference: reference.to_owned(),
            payer,
        };
        match by_reference.get(reference) {
            Some(&i) => {
                let first = &out[i];
                if (first.pupil.as_str(), first.cents, first.date) != (pupil, cents, day) {
                    problems.push(format!(
                        "ligne {n} : la référence « {reference} » est déjà celle d'un autre \
                         encaissement (ligne {})",
                        first.line
                    ));
                }
            }
            None => {
                by_reference.insert(reference.to_owned(), out.len());
                out.push(e);
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A payment of the file the journal holds already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub payment: Encaissement,
    /// Its receipt number in the journal (`R1-2026-00042`).
    pub receipt: String,
}

/// A payment of the file that cannot be credited, and why (French).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub payment: Encaissement,
    pub reason: String,
}

/// The file's payments sorted against the journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSorting {
    /// To credit now.
    pub new: Vec<Encaissement>,
    /// Credited already (by an earlier file or an overlapping export).
    pub known: Vec<Known>,
    /// Refused: nothing of the file is credited while there is one.
    pub rejected: Vec<Rejected>,
}

/// Which of `payments` are new, which the journal `events` holds already (a payment journaled
/// with their reference, cancelled or not: a cancelled import is not credited again), and
/// which cannot be credited: a pupil `person_of` does not know, a reference the journal holds
/// for another pupil or amount.
pub fn sort_encaissements(
    payments: &[Encaissement],
    events: &[Event],
    person_of: impl Fn(&str) -> Option<PersonId>,
) -> ImportSorting {
    let mut journaled: HashMap<&str, (PersonId, i64, String)> = HashMap::new();
    for e in events {
        if let EventKind::Payment(p) = &e.kind {
            if let PaymentMode::Import { reference } = &p.mode {
                if reference.starts_with(REFERENCE_PREFIX) {
                    journaled.entry(reference.as_str()).or_insert((
                        p.person,
                        p.cents,
                        p.receipt.to_string(),
                    ));
                }
            }
        }
    }
    let mut out = ImportSorting::default();
    for p in payments {
        let person = person_of(p.pupil.trim());
        let reference = journal_reference(&p.reference);
        match (journaled.get(reference.as_str()), person) {
            (Some((who, cents, receipt)), Some(person)) if *who == person && *cents == p.cents => {
                out.known.push(Known {
                    payment: p.clone(),
                    receipt: receipt.clone(),
                });
            }
            (Some((_, cents, receipt)), _) => out.rejected.push(Rejected {
                payment: p.clone(),
                reason: format!(
                    "la référence « {} » a déjà été créditée (quittance {receipt}, {}) pour un \
                     autre élève ou un autre montant",
                    p.reference,
                    selfgate_rules::model::format_euros(*cents)
                ),
            }),
            (None, None) => out.rejected.push(Rejected {
                payment: p.clone(),
                reason: format!("aucun élève d'IDELEVE « {} »", p.pupil),
            }),
            (None, Some(_)) => out.new.push(p.clone()),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use chrono::Utc;
    use selfgate_rules::journal::{Payment, Receipt};

    use super::*;

    const FILE: &str = "\u{feff}Date encaissement;IDELEVE;Nom;Montant réglé;Mode de règlement;N° pièce;;\r\n\
        02/03/2026;E100;DUPONT;12,50;Chèque;ENC-1;;\r\n\
        \r\n\
        03/03/2026;E101;\"MARTIN; Léa\";40;CB;ENC-2;;\r\n\
        03/03/2026;E101;MARTIN;40,00;CB;ENC-2;;\r\n";

    #[test]
    fn headers_are_matched_with_their_variants_and_excel_s_empty_columns_ignored() {
        let lines = parse_encaissements(FILE.as_bytes()).unwrap();
        assert_eq!(lines.len(), 2, "ENC-2 twice, the same payment: once");
        assert_eq!(
            (
                lines[0].line,
                lines[0].pupil.as_str(),
                lines[0].cents,
                lines[0].mode.as_str(),
                lines[0].reference.as_str()
            ),
            (2, "E100", 1250, "Chèque", "ENC-1")
        );
        assert_eq!(lines[1].date, NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
        assert_eq!((lines[1].line, lines[1].cents), (4, 4000));
    }

    #[test]
    fn windows_1252_is_read() {
        let mut bytes = b"Date;IDELEVE;Montant;Mode;R".to_vec();
        bytes.push(0xE9); // é
        bytes.extend_from_slice(
            b"f\xE9rence;Payeur\r\n01/03/2026;E1;5,00;Esp\xE8ces;A1;C\x9Cur\r\n",
        );
        let lines = parse_encaissements(&bytes).unwrap();
        assert_eq!(lines[0].mode, "Espèces");
        assert_eq!(lines[0].payer, "Cœur");
    }

    #[test]
    fn a_bad_file_is_refused_whole_with_every_line_named() {
        let bad = "Date;IDELEVE;Montant;Mode;Référence\n\
                   01/03/2026;E1;12,5,0;CB;A1\n\
                   31/02/2026;E2;5;CB;A2\n\
                   01/03/2026;;5;CB;A3\n\
                   01/03/2026;E4;-5;CB;A4\n\
                   01/03/2026;E5;5;CB;\n\
                   01/03/2026;E6;5;CB;A6\n\
                   01/03/2026;E7;6;CB;A6\n\
                   01/03/2026;E8\n";
        let problems = parse_encaissements(bad.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 7, "{problems:#?}");
        assert!(
            problems[0].starts_with("ligne 2 : montant « 12,5,0 »"),
            "{}",
            problems[0]
        );
        assert!(problems[1].starts_with("ligne 3 : date « 31/02/2026 »"));
        assert!(problems[2].starts_with("ligne 4 : IDELEVE vide"));
        assert!(problems[3].starts_with("ligne 5 : montant « -5 »"));
        assert!(problems[4].starts_with("ligne 6 : référence vide"));
        assert!(problems[5].starts_with("ligne 8 :") && problems[5].contains("ligne 7"));
        assert!(problems[6].starts_with("ligne 9 : 2 cellule(s)"));
    }

    #[test]
    fn a_missing_column_is_named() {
        let problems = parse_encaissements(b"Date;Eleve;Montant;Mode\n").unwrap_err();
        assert!(problems.iter().any(|p| p.contains("« IDELEVE » absente")));
        assert!(problems.iter().any(|p| p.contains("« Référence » absente")));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    fn payment(person: u32, cents: i64, reference: &str) -> Event {
        Event {
            gate: "g".into(),
            seq: 1,
            at: Utc::now(),
            kind: EventKind::Payment(Payment {
                person: PersonId(person),
                cents,
                mode: PaymentMode::Import {
                    reference: journal_reference(reference),
                },
                payer: String::new(),
                by: "import".into(),
                receipt: Receipt {
                    regie: "R1".into(),
                    year: 2025,
                    number: 7,
                },
                note: String::new(),
            }),
        }
    }

    #[test]
    fn journaled_references_are_known_and_conflicts_rejected() {
        let lines = parse_encaissements(
            b"Date;IDELEVE;Montant;Mode;Reference\n\
              01/03/2026;E1;5;CB;A1\n\
              01/03/2026;E1;6;CB;A2\n\
              01/03/2026;E1;7;CB;A3\n\
              01/03/2026;E9;7;CB;A4\n",
        )
        .unwrap();
        let events = [payment(1, 500, "A1"), payment(1, 999, "A2")];
        let s = sort_encaissements(&lines, &events, |id| (id == "E1").then_some(PersonId(1)));
        assert_eq!(s.known.len(), 1);
        assert_eq!(s.known[0].payment.reference, "A1");
        assert!(s.known[0].receipt.contains("7"));
        assert_eq!(s.new.len(), 1);
        assert_eq!(s.new[0].reference, "A3");
        let reasons: Vec<(&str, &str)> = s
            .rejected
            .iter()
            .map(|r| (r.payment.reference.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 2);
        assert!(reasons[0].0 == "A2" && reasons[0].1.contains("déjà été créditée"));
        assert!(reasons[1].0 == "A4" && reasons[1].1.contains("E9"));
    }
}
