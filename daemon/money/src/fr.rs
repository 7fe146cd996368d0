//! Dates, months and amounts as French readers expect them.

use chrono::{Datelike, NaiveDate, Weekday};

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

/// `octobre`, or `?` for a month that is not one.
pub(crate) fn month_name(month: u32) -> &'static str {
    usize::try_from(month)
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("?")
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "lundi",
        Weekday::Tue => "mardi",
        Weekday::Wed => "mercredi",
        Weekday::Thu => "jeudi",
        Weekday::Fri => "vendredi",
        Weekday::Sat => "samedi",
        Weekday::Sun => "dimanche",
    }
}

/// `lundi 5 octobre 2026`, `jeudi 1er octobre 2026`.
pub(crate) fn date_long(day: NaiveDate) -> String {
    let d = day.day();
    let d = if d == 1 {
        "1er".to_owned()
    } else {
        d.to_string()
    };
    format!(
        "{} {d} {} {}",
        weekday_name(day.weekday()),
        month_name(day.month()),
        day.year()
    )
}

/// `05/10/2026`.
pub(crate) fn date_short(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// `12,50`, `−3,20` (a minus sign), for tables whose header says the unit.
pub(crate) fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "−" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{},{:02}", abs / 100, abs % 100)
}

/// `1 quittance`, `3 quittances` (French: 0 and 1 take the singular).
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n <= 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_french() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
        assert_eq!(date_long(d), "lundi 5 octobre 2026");
        let d = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        assert_eq!(date_long(d), "jeudi 1er octobre 2026");
        assert_eq!(date_short(d), "01/10/2026");
        assert_eq!(month_name(8), "août");
        assert_eq!(month_name(0), "?");
        assert_eq!(month_name(13), "?");
        assert_eq!(amount(-320), "−3,20");
        assert_eq!(count(0, "quittance", "quittances"), "0 quittance");
        assert_eq!(count(2, "quittance", "quittances"), "2 quittances");
    }
}
