//! The official French school holidays (*vacances scolaires*, zones A, B and C), shipped with
//! the product as data: `daemon/rules/data/vacances-scolaires.csv`, one row per holiday period
//! and zone, compiled from the ministry's published calendar (its header names the source and
//! the licence; `docs/billing.md` says how to add a year).
//!
//! Pure: the file is compiled in (`include_str!`), parsed once on first use, and read here only.
//! A school year is *covered* when the data holds the summer holidays before it and the summer
//! holidays ending it, so that its first and last school day, and every holiday between, are
//! known. Asking for holidays in a year not covered is an error, never an empty answer: a day
//! off would otherwise count as a school day.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::journal::school_year;
use crate::model::{Closure, ParseError, ServiceSet};

/// The shipped data, as compiled in.
pub const DATA: &str = include_str!("../data/vacances-scolaires.csv");

/// The column line that follows the comments.
const HEADER: &str = "annee;zone;vacances;premier_jour;dernier_jour";

/// The name the summer holidays have in the data: they end a school year.
pub const SUMMER: &str = "Vacances d'été";

/// A school holiday zone of metropolitan France.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Zone {
    A,
    B,
    C,
}

impl Zone {
    pub const ALL: [Zone; 3] = [Zone::A, Zone::B, Zone::C];

    /// `A`, `B` or `C`.
    pub fn code(self) -> &'static str {
        match self {
            Zone::A => "A",
            Zone::B => "B",
            Zone::C => "C",
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Zone {
    type Err = ParseError;
    /// `A`, `b`, ` C ` (case and surrounding spaces do not matter).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(Zone::A),
            "B" => Ok(Zone::B),
            "C" => Ok(Zone::C),
            _ => Err(ParseError::new(s, "a school holiday zone: A, B or C")),
        }
    }
}

/// One holiday period of one zone: `from` and `to` are the first and last day without class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// The school year it belongs to, by its first calendar year (2026 for 2026-2027); the
    /// summer holidays belong to the year they end.
    pub year: u16,
    pub zone: Zone,
    /// "Vacances de la Toussaint", "Pont de l'Ascension"…
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Holiday {
    pub fn is_summer(&self) -> bool {
        self.label == SUMMER
    }

    /// As a closure of every service on every day of the period.
    pub fn closure(&self) -> Closure {
        Closure {
            label: self.label.clone(),
            from: self.from,
            to: self.to,
            services: ServiceSet::ALL,
        }
    }
}

/// What the calendar cannot answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The shipped file is malformed (the tests keep it from happening).
    #[error("vacances-scolaires.csv, line {line}: {message}")]
    Data { line: usize, message: String },
    /// A school year the data does not cover.
    #[error(
        "the school calendar shipped has no school year {} for zone {zone} (it covers {})",
        year_label(*year),
        covered_label(covered)
    )]
    NotCovered {
        zone: Zone,
        year: u16,
        covered: Vec<u16>,
    },
}

/// "2026-2027" for 2026.
pub fn year_label(year: u16) -> String {
    format!("{year}-{}", u32::from(year) + 1)
}

/// "2025-2026 to 2027-2028", "2026-2027", or "no school year".
pub fn covered_label(years: &[u16]) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a == b => year_label(*a),
        (Some(a), Some(b)) => format!("{} to {}", year_label(*a), year_label(*b)),
        _ => "no school year".into(),
    }
}

/// Reads the calendar format: `#` comments and blank lines anywhere, the column line, then one
/// period per line. Every row is checked: a known zone, dates in order, the period starting in
/// its school year, no two periods of a zone overlapping.
pub fn parse(text: &str) -> Result<Vec<Holiday>, CalendarError> {
    let mut out: Vec<Holiday> = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let bad = |message: String| CalendarError::Data { line, message };
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        if !header_seen {
            if row != HEADER {
                return Err(bad(format!("expected the column line `{HEADER}`")));
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = row.split(';').map(str::trim).collect();
        let [annee, zone, label, from, to] = fields[..] else {
            return Err(bad(format!("{} fields, expected 5", fields.len())));
        };
        let year = parse_year(annee)
            .ok_or_else(|| bad(format!("`{annee}` is not a school year such as 2026-2027")))?;
        let zone: Zone = zone.parse().map_err(|e: ParseError| bad(e.to_string()))?;
        if label.is_empty() {
            return Err(bad("the holiday has no name".into()));
        }
        let date = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad(format!("`{s}` is not a date (YYYY-MM-DD)")))
        };
        let (from, to) = (date(from)?, date(to)?);
        if to < from {
            return Err(bad(format!("{to} is before {from}")));
        }
        if school_year(from) != year {
            return Err(bad(format!(
                "{from} is not in the school year {}",
                year_label(year)
            )));
        }
        if let Some(o) = out
            .iter()
            .find(|o| o.zone == zone && o.from <= to && from <= o.to)
        {
            return Err(bad(format!(
                "overlaps {} ({} to {}) in zone {zone}",
                o.label, o.from, o.to
            )));
        }
        out.push(Holiday {
            year,
            zone,
            label: label.to_owned(),
            from,
            to,
        });
    }
    if !header_seen {
        return Err(CalendarError::Data {
            line: 0,
            message: "no column line: the file is empty".into(),
        });
    }
    out.sort_by_key(|h| (h.zone, h.from));
    Ok(out)
}

/// `2026-2027` → 2026; the second year must follow the first.
fn parse_year(s: &str) -> Option<u16> {
    let (a, b) = s.split_once('-')?;
    let a: u16 = a.parse().ok()?;
    let b: u16 = b.parse().ok()?;
    (a.checked_add(1) == Some(b) && a >= 1900).then_some(a)
}

/// The shipped calendar, parsed once.
pub fn shipped() -> Result<&'static [Holiday], CalendarError> {
    static PARSED: OnceLock<Result<Vec<Holiday>, CalendarError>> = OnceLock::new();
    match PARSED.get_or_init(|| parse(DATA)) {
        Ok(v) => Ok(v),
        Err(e) => Err(e.clone()),
    }
}

/// The school years (by first calendar year) the data covers for `zone`, in order.
pub fn covered_years_in(data: &[Holiday], zone: Zone) -> Vec<u16> {
    let summers: Vec<u16> = data
        .iter()
        .filter(|h| h.zone == zone && h.is_summer())
        .map(|h| h.year)
        .collect();
    let mut years: Vec<u16> = summers
        .iter()
        .filter(|y| y.checked_sub(1).is_some_and(|p| summers.contains(&p)))
        .copied()
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

/// The school years the shipped calendar covers for `zone` (2025, 2026, 2027 for
/// 2025-2026 to 2027-2028).
pub fn covered_years(zone: Zone) -> Result<Vec<u16>, CalendarError> {
    Ok(covered_years_in(shipped()?, zone))
}

/// The holidays of `zone` that overlap `from..=to`, in order, as closures of every service
/// (label "Vacances de la Toussaint" etc.), whole periods even where they run past the range.
/// Every school year the range touches must be covered.
pub fn closures(zone: Zone, from: NaiveDate, to: NaiveDate) -> Result<Vec<Closure>, CalendarError> {
    closures_in(shipped()?, zone, from, to)
}

/// [`closures`] on given data (tests, or a calendar read from elsewhere).
pub fn closures_in(
    data: &[Holiday],
    zone: Zone,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Closure>, CalendarError> {
    let covered = covered_years_in(data, zone);
    if from <= to {
        for year in school_year(from)..=school_year(to) {
            if !covered.contains(&year) {
                return Err(CalendarError::NotCovered {
                    zone,
                    year,
                    covered,
                });
            }
        }
    }
    Ok(data
        .iter()
        .filter(|h| h.zone == zone && h.from <= to && from <= h.to)
        .map(Holiday::closure)
        .collect())
}

/// The first and last school day of `year` (2026 for 2026-2027) in `zone`: the day after the
/// summer holidays before it, the day before the summer holidays ending it.
pub fn school_year_span(zone: Zone, year: u16) -> Result<(NaiveDate, NaiveDate), CalendarError> {
    let data = shipped()?;
    let summer = |y: Option<u16>| {
        data.iter()
            .find(|h| h.zone == zone && h.is_summer() && Some(h.year) == y)
    };
    let not_covered = || CalendarError::NotCovered {
        zone,
        year,
        covered: covered_years_in(data, zone),
    };
    let (Some(before), Some(after)) = (summer(year.checked_sub(1)), summer(Some(year))) else {
        return Err(not_covered());
    };
    match (before.to.succ_opt(), after.from.pred_opt()) {
        (Some(first), Some(last)) if first <= last && first.year() >= i32::from(year) => {
            Ok((first, last))
        }
        _ => Err(not_covered()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The period of `zone` named `label` in school year `year`, as "from to".
    fn period(zone: Zone, year: u16, label: &str) -> String {
        let h = shipped()
            .unwrap()
            .iter()
            .filter(|h| h.zone == zone && h.year == year && h.label == label)
            .collect::<Vec<_>>();
        assert_eq!(h.len(), 1, "{zone} {year} {label}: {h:?}");
        format!("{} {}", h[0].from, h[0].to)
    }

    #[test]
    fn every_row_of_the_shipped_file_parses() {
        let all = shipped().unwrap_or_else(|e| panic!("{e}"));
        let rows = DATA
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(all.len(), rows - 1, "every row but the column line");
        assert!(DATA.contains("MIT License") && DATA.contains("fr-en-calendrier-scolaire"));
    }

    #[test]
    fn dates_checked_against_the_official_calendar() {
        // Zone B, winter 2026: classes end Saturday 14 February, resume Monday 2 March.
        assert_eq!(
            period(Zone::B, 2025, "Vacances d'hiver"),
            "2026-02-14 2026-03-01"
        );
        // Zone A, spring 2027: 10 April to 26 April (resumption).
        assert_eq!(
            period(Zone::A, 2026, "Vacances de printemps"),
            "2027-04-10 2027-04-25"
        );
        // Zone C, winter 2026: 21 February to 9 March.
        assert_eq!(
            period(Zone::C, 2025, "Vacances d'hiver"),
            "2026-02-21 2026-03-08"
        );
        // Zone A, winter 2026: 7 February to 23 February.
        assert_eq!(
            period(Zone::A, 2025, "Vacances d'hiver"),
            "2026-02-07 2026-02-22"
        );
        for zone in Zone::ALL {
            // Toussaint 2026 and Christmas 2026, all zones.
            assert_eq!(
                period(zone, 2026, "Vacances de la Toussaint"),
                "2026-10-17 2026-11-01"
            );
            assert_eq!(
                period(zone, 2026, "Vacances de Noël"),
                "2026-12-19 2027-01-03"
            );
            // The summer of 2026 begins Saturday 4 July.
            assert_eq!(period(zone, 2025, SUMMER), "2026-07-04 2026-08-31");
            // The pont de l'Ascension of 2026, added from the ministry's calendar.
            assert_eq!(
                period(zone, 2025, "Pont de l'Ascension"),
                "2026-05-14 2026-05-15"
            );
        }
    }

    #[test]
    fn periods_of_a_zone_never_overlap_and_every_covered_year_is_complete() {
        let all = shipped().unwrap();
        for zone in Zone::ALL {
            let mine: Vec<&Holiday> = all.iter().filter(|h| h.zone == zone).collect();
            for w in mine.windows(2) {
                assert!(w[0].to < w[1].from, "{:?} overlaps {:?}", w[0], w[1]);
            }
            for year in covered_years(zone).unwrap() {
                for label in [
                    "Vacances de la Toussaint",
                    "Vacances de Noël",
                    "Vacances d'hiver",
                    "Vacances de printemps",
                    SUMMER,
                ] {
                    period(zone, year, label);
                }
            }
        }
    }

    #[test]
    fn the_data_covers_2025_2026_to_2027_2028() {
        for zone in Zone::ALL {
            assert_eq!(covered_years(zone).unwrap(), [2025, 2026, 2027]);
        }
        assert_eq!(covered_label(&[2025, 2026, 2027]), "2025-2026 to 2027-2028");
        assert_eq!(
            school_year_span(Zone::B, 2026).unwrap(),
            (d("2026-09-01"), d("2027-07-02"))
        );
        assert_eq!(
            school_year_span(Zone::A, 2025).unwrap(),
            (d("2025-09-01"), d("2026-07-03"))
        );
        assert!(matches!(
            school_year_span(Zone::C, 2028),
            Err(CalendarError::NotCovered { year: 2028, .. })
        ));
        assert!(school_year_span(Zone::C, 2024).is_err(), "no summer 2024");
    }

    #[test]
    fn closures_of_a_zone_over_a_range() {
        let c = closures(Zone::B, d("2026-09-01"), d("2027-07-06")).unwrap();
        let labels: Vec<String> = c
            .iter()
            .map(|c| format!("{} {} {}", c.label, c.from, c.to))
            .collect();
        assert_eq!(
            labels,
            [
                "Vacances de la Toussaint 2026-10-17 2026-11-01",
                "Vacances de Noël 2026-12-19 2027-01-03",
                "Vacances d'hiver 2027-02-20 2027-03-07",
                "Vacances de printemps 2027-04-17 2027-05-02",
                "Pont de l'Ascension 2027-05-06 2027-05-08",
                "Vacances d'été 2027-07-03 2027-08-31",
            ]
        );
        assert!(c.iter().all(|c| c.services == ServiceSet::ALL));
        // A range overlapping a period's end gets the whole period.
        let c = closures(Zone::A, d("2026-09-01"), d("2026-10-20")).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].from, c[0].to), (d("2026-10-17"), d("2026-11-01")));
        // Between two periods: none.
        assert!(
            closures(Zone::A, d("2026-11-02"), d("2026-12-18"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_year_not_shipped_is_an_error_naming_the_years_covered() {
        let e = closures(Zone::B, d("2028-09-01"), d("2029-07-06")).unwrap_err();
        assert_eq!(
            e,
            CalendarError::NotCovered {
                zone: Zone::B,
                year: 2028,
                covered: vec![2025, 2026, 2027]
            }
        );
        assert_eq!(
            e.to_string(),
            "the school calendar shipped has no school year 2028-2029 for zone B (it covers 2025-2026 to 2027-2028)"
        );
        // 2024-2025 has only its summer: not covered either.
        assert!(closures(Zone::A, d("2025-06-01"), d("2025-12-01")).is_err());
    }

    #[test]
    fn zones_read_in_either_case() {
        assert_eq!("A".parse::<Zone>(), Ok(Zone::A));
        assert_eq!(" b ".parse::<Zone>(), Ok(Zone::B));
        assert_eq!("c".parse::<Zone>(), Ok(Zone::C));
        assert!("D".parse::<Zone>().is_err());
        assert!("".parse::<Zone>().is_err());
        assert!("zone A".parse::<Zone>().is_err());
        assert_eq!(Zone::B.to_string(), "B");
    }

    #[test]
    fn malformed_rows_are_refused_with_their_line() {
        let head = format!("# comment\n{HEADER}\n");
        let line_of = |body: &str| match parse(&format!("{head}{body}")) {
            Err(CalendarError::Data { line, message }) => (line, message),
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(line_of("2026-2027;D;x;2026-10-17;2026-11-01\n").0, 3);
        assert!(
            line_of("2026-2028;A;x;2026-10-17;2026-11-01\n")
                .1
                .contains("school year")
        );
        assert!(line_of("2026-2027;A;x;2026-10-17\n").1.contains("4 fields"));
        assert!(
            line_of("2026-2027;A;x;2026-11-01;2026-10-17\n")
                .1
                .contains("before")
        );
        assert!(
            line_of("2026-2027;A;x;2027-10-17;2027-11-01\n")
                .1
                .contains("not in")
        );
        assert!(
            line_of("2026-2027;A;;2026-10-17;2026-11-01\n")
                .1
                .contains("name")
        );
        assert!(
            line_of("2026-2027;A;x;17/10/2026;2026-11-01\n")
                .1
                .contains("date")
        );
        let (line, msg) =
            line_of("2026-2027;A;x;2026-10-17;2026-11-01\n\n2026-2027;A;y;2026-10-31;2026-11-03\n");
        assert_eq!(line, 5);
        assert!(msg.contains("overlaps x"), "{msg}");
        // Other zones may share the days.
        assert!(
            parse(&format!(
                "{head}2026-2027;A;x;2026-10-17;2026-11-01\n2026-2027;B;x;2026-10-17;2026-11-01\n"
            ))
            .is_ok()
        );
        assert!(
            parse("2026-2027;A;x;2026-10-17;2026-11-01\n").is_err(),
            "no column line"
        );
        assert!(parse("# only comments\n").is_err());
    }
}
