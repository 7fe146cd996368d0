//! The aid file the bursar imports (`selfgate billing aides FILE`): one aid per line,
//! `identifiant;trimestre;aide;montant;reference` (`;` or `,`, a header line allowed, UTF-8 with
//! or without BOM). Pure: text in, lines or every error with its line number out; a file with
//! any bad line is refused whole (`docs/billing.md`).

use selfgate_rules::journal::AidKind;
use selfgate_rules::model::parse_euros;

/// One line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AidLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub person: String,
    pub term: String,
    pub kind: AidKind,
    pub cents: i64,
    pub reference: String,
}

/// Reads the whole file: every line, or every problem (`ligne N : …`).
pub fn parse_aids(text: &str) -> Result<Vec<AidLine>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let sep = if line.contains(';') { ';' } else { ',' };
        let cells: Vec<&str> = line.split(sep).map(str::trim).collect();
        if out.is_empty()
            && problems.is_empty()
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("identifiant"))
        {
            continue;
        }
        let (person, term, kind, amount, rest) = match cells.as_slice() {
            [p, t, k, a] => (*p, *t, *k, *a, ""),
            [p, t, k, a, r] => (*p, *t, *k, *a, *r),
            _ => {
                problems.push(format!(
                    "ligne {n} : {} colonne(s), 4 ou 5 attendues (identifiant;trimestre;aide;montant;reference)",
                    cells.len()
                ));
                continue;
            }
        };
        if person.is_empty() || term.is_empty() {
            problems.push(format!(
                "ligne {n} : identifiant et trimestre sont obligatoires"
            ));
            continue;
        }
        let kind: AidKind = match kind.parse() {
            Ok(k) => k,
            Err(e) => {
                problems.push(format!("ligne {n} : aide « {kind} » : {}", e.expected));
                continue;
            }
        };
        let cents = match parse_euros(amount) {
            Ok(c) if c > 0 => c,
            Ok(_) => {
                problems.push(format!(
                    "ligne {n} : le montant « {amount} » doit être positif"
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!(
                    "ligne {n} : montant « {} » : {}",
                    e.value, e.expected
                ));
                continue;
            }
        };
        out.push(AidLine {
            line: n,
            person: person.to_owned(),
            term: term.to_owned(),
            kind,
            cents,
            reference: rest.to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_whole_or_refused_with_every_bad_line() {
        let ok = "\u{feff}identifiant;trimestre;aide;montant;reference\n1001;T1;bourse;120,50;B-2026-12\n\n1002,T2,fonds_social,30\n";
        let lines = parse_aids(ok).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (
                lines[0].line,
                lines[0].cents,
                lines[0].kind,
                lines[0].reference.as_str()
            ),
            (2, 12_050, AidKind::Bourse, "B-2026-12")
        );
        assert_eq!((lines[1].line, lines[1].kind), (4, AidKind::FondsSocial));
        let bad = "1001;T1;bourse;120\n1002;T1;cadeau;10\n1003;T1;bourse;-5\n1004;T1\n1005;T1;bourse;1,234\n";
        let problems = parse_aids(bad).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems[0].starts_with("ligne 2 : aide « cadeau »"),
            "{}",
            problems[0]
        );
        assert!(problems[1].starts_with("ligne 3 :"));
        assert!(problems[2].starts_with("ligne 4 : 2 colonne(s)"));
        assert!(problems[3].starts_with("ligne 5 :"));
    }
}
