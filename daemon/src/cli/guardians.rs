//! `selfgate guardians --data DIR [--json]`: the guardians kept from SIÈCLE (`docs/guardians.md`),
//! one per line: their `PERSONNE_ID`, how an envelope names them, their city, and their
//! children's identifiants (`ELEVE_ID`), marked `*` for those they pay for.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use selfgate_rules::family::{Guardian, payer_of};

/// `selfgate guardians --data DIR [--json]`.
pub fn command(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (store, _copy) = super::backup::store_to_read(data)?;
    let guardians = store.guardians()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print_guardians(&guardians, json, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The listing of `guardians` (all of them: who pays is decided among them).
pub fn print_guardians(
    guardians: &[Guardian],
    as_json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let pays =
        |g: &Guardian, eleve_id: &str| payer_of(eleve_id, guardians).is_some_and(|p| p.id == g.id);
    if !as_json {
        writeln!(
            out,
            "{:<10} {:<32} {:<30} children (* pays)",
            "guardian", "name", "city"
        )?;
    }
    for g in guardians {
        if as_json {
            let v = json!({
                "guardian": g.id,
                "name": g.postal_name(),
                "postal_code": g.postal_code,
                "city": g.city,
                "country": g.country,
                "children": g.children.iter().map(|l| json!({
                    "eleve_id": l.eleve_id,
                    "legal": l.legal,
                    "payer": pays(g, &l.eleve_id),
                    "relation": l.relation,
                    "ended": l.ended.map(|d| d.to_string()),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{v}")?;
        } else {
            let children: Vec<String> = g
                .children
                .iter()
                .map(|l| match l.ended {
                    Some(d) => format!("{} (ended {d})", l.eleve_id),
                    None if pays(g, &l.eleve_id) => format!("{}*", l.eleve_id),
                    None => l.eleve_id.clone(),
                })
                .collect();
            let city = format!("{} {}", g.postal_code, g.city);
            writeln!(
                out,
                "{:<10} {:<32} {:<30} {}",
                g.id,
                g.postal_name(),
                city.trim(),
                children.join(" ")
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use selfgate_rules::siecle::parse_responsables;

    #[test]
    fn the_listing_marks_who_pays() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/siecle/ResponsablesAvecAdresses.xml"
        ))
        .unwrap();
        let mut r = parse_responsables(&bytes).unwrap();
        r.guardians[1].children[0].ended = "2026-03-02".parse().ok();
        let mut text = Vec::new();
        print_guardians(&r.guardians, false, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let line = |id: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{id} ")))
                .unwrap()
                .to_owned()
        };
        assert!(line("9001").contains("MME Anne CŒUR"), "{text}");
        assert!(line("9001").ends_with(" 1001*"), "{text}");
        assert!(line("9002").ends_with(" 1001 (ended 2026-03-02)"), "{text}");
        assert!(line("9005").contains("31450 MONTGISCARD"), "{text}");
        assert!(line("9005").ends_with(" 1004* 1008*"), "{text}");
        assert!(line("9006").ends_with(" 1004 1008"), "{text}");

        let mut json = Vec::new();
        print_guardians(&r.guardians, true, &mut json).unwrap();
        let rows: Vec<serde_json::Value> = String::from_utf8(json)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), r.guardians.len());
        let helene = rows.iter().find(|v| v["guardian"] == "9005").unwrap();
        assert_eq!(helene["city"], "MONTGISCARD");
        assert_eq!(helene["children"][1]["eleve_id"], "1008");
        assert_eq!(helene["children"][1]["payer"], true);
        assert!(helene["children"][1]["ended"].is_null());
    }
}
