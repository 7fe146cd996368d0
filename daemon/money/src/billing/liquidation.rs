//! The liquidation of a term (BRIEF §7): what a pupil's forfait costs and what is deducted.
//!
//! A **service day** of a forfait is a day of the term, within the forfait's dates, on one of its
//! weekdays, when at least one of its services is served that weekday and no official closure
//! (school holidays, public holidays) closes it. The forfait's line is those days × the price
//! (or the term's flat price × those days / the term's service days of that forfait, rounded to
//! the cent, half up): an arrival or a departure during the term (the forfait's dates, from
//! SIÈCLE) is billed pro rata by construction.
//!
//! Then the *remises d'ordre*, one line per cause, each service day deducted once, in this
//! order: the school's own closures (every service of the forfait closed that day), `exclusion`,
//! `stage` and `voyage` oppositions, illness on request (entered by the bursar: at least
//! `remise_min_days` consecutive school days, asked by the term's deadline). Aid lines come last.
//! Each line says why: the dates, the days and the price.

use chrono::{Datelike, Days, NaiveDate};

use selfgate_rules::journal::BillingInput;
use selfgate_rules::model::{
    Closure, Forfait, Opposition, OppositionReason, Person, Regime, Service, format_euros,
};

use super::{
    BillingError, ForfaitKind, Line, LineKind, Liquidation, Price, Prices, RemiseCause, Term,
};

/// The school's calendar as billing sees it.
#[derive(Clone, Copy, Debug)]
pub struct Calendar<'a> {
    pub services: &'a [Service],
    /// School holidays and public holidays: days no forfait counts.
    pub official: &'a [Closure],
    /// The school's own closures: days deducted as remises d'ordre.
    pub own: &'a [Closure],
}

/// One pupil and what was entered for them this term.
#[derive(Clone, Copy, Debug)]
pub struct Pupil<'a> {
    pub person: &'a Person,
    pub oppositions: &'a [Opposition],
    /// Remises on request and aid for this term, withdrawn ones already left out.
    pub entries: &'a [BillingInput],
}

/// The school's billing settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    pub prices: &'a Prices,
    /// A remise for illness needs at least this many consecutive school days.
    pub remise_min_days: u32,
}

impl Calendar<'_> {
    /// Is `service` served on `day` as far as the official calendar goes (its weekday, no
    /// holiday or public holiday)?
    fn served_officially(&self, day: NaiveDate, service: &Service) -> bool {
        service.weekdays.contains(day.weekday())
            && !self.official.iter().any(|c| c.closes(day, service.id))
    }

    /// A school day: some service is served on that weekday and no official closure shuts
    /// the whole day.
    pub fn is_school_day(&self, day: NaiveDate) -> bool {
        self.services.iter().any(|s| self.served_officially(day, s))
    }

    /// The forfait's services served officially on `day` (empty: not a service day).
    fn services_on<'s>(
        &'s self,
        forfait: &'s Forfait,
        day: NaiveDate,
    ) -> impl Iterator<Item = &'s Service> + 's {
        self.services
            .iter()
            .filter(move |s| forfait.services.contains(s.id) && self.served_officially(day, s))
    }

    /// Is `day` a service day of `forfait` (its dates ignored)?
    fn is_service_day(&self, forfait: &Forfait, day: NaiveDate) -> bool {
        forfait.weekdays.contains(day.weekday()) && self.services_on(forfait, day).next().is_some()
    }

    /// The school's own closure that shuts every service of the forfait served that day (its
    /// index in `own`), if one does.
    fn closed_for(&self, forfait: &Forfait, day: NaiveDate) -> Option<usize> {
        let mut first = None;
        for s in self.services_on(forfait, day) {
            let i = self.own.iter().position(|c| c.closes(day, s.id))?;
            first.get_or_insert(i);
        }
        first
    }
}

/// The forfait a person's forfait record is billed as: the internat for internes, else the
/// demi-pension of as many days as its weekdays.
pub fn forfait_kind(person: &Person, forfait: &Forfait) -> ForfaitKind {
    if person.regime == Regime::Interne {
        ForfaitKind::Interne
    } else {
        ForfaitKind::Dp(
            u8::try_from(forfait.weekdays.len())
                .unwrap_or(u8::MAX)
                .clamp(1, 6),
        )
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(Some(from), |d| d.checked_add_days(Days::new(1)))
        .take_while(move |d| *d <= to)
}

/// `dd/mm/yyyy`.
fn fr_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn days_word(n: u32) -> &'static str {
    if n > 1 { "jours" } else { "jour" }
}

/// `a × b / c` rounded to the nearest cent, half up (all non-negative); `None` on overflow or
/// a zero divisor.
fn pro_rata(amount: i64, num: u32, den: u32) -> Option<i64> {
    if den == 0 {
        return None;
    }
    let n = i128::from(amount).checked_mul(i128::from(num))?;
    let d = i128::from(den);
    i64::try_from((n * 2 + d) / (d * 2)).ok()
}

/// One forfait record within the term, with its price.
struct Segment<'a> {
    forfait: &'a Forfait,
    kind: ForfaitKind,
    price: Price,
    /// The term's days within the forfait's dates.
    from: NaiveDate,
    to: NaiveDate,
    /// Service days of this forfait over the whole term (the flat price's divisor).
    term_days: u32,
}

impl Segment<'_> {
    /// The amount of `days` service days of this segment.
    fn amount(&self, days: u32, pupil: &str) -> Result<i64, BillingError> {
        let overflow = || BillingError::Overflow {
            what: format!("{pupil}: {days} days of {}", self.kind),
        };
        match self.price {
            Price::PerDay(cents) => cents.checked_mul(i64::from(days)).ok_or_else(overflow),
            Price::Term(cents) => pro_rata(cents, days, self.term_days).ok_or_else(overflow),
        }
    }

    fn price_text(&self) -> String {
        match self.price {
            Price::PerDay(c) => format!("{} €", format_euros(c)),
            Price::Term(c) => format!(
                "{} € / {} {}",
                format_euros(c),
                self.term_days,
                days_word(self.term_days)
            ),
        }
    }

    fn unit_cents(&self) -> i64 {
        match self.price {
            Price::PerDay(c) | Price::Term(c) => c,
        }
    }
}

/// Why one service day is deducted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Closure(usize),
    Opposition(usize),
    Entry(usize),
}

/// The pupil's bill for `term`.
pub fn liquidate(
    term: &Term,
    calendar: &Calendar<'_>,
    settings: &Settings<'_>,
    pupil: &Pupil<'_>,
) -> Result<Liquidation, BillingError> {
    let person = pupil.person;
    let who = format!(
        "{} {} ({})",
        person.first_name, person.last_name, person.external_id
    );

    // The forfait's segments in the term, in date order.
    let mut segments = Vec::new();
    let mut forfaits: Vec<&Forfait> = person
        .forfaits
        .iter()
        .filter(|f| f.from <= term.to && term.from <= f.to && !f.weekdays.is_empty())
        .collect();
    forfaits.sort_by_key(|f| f.from);
    for forfait in forfaits {
        let kind = forfait_kind(person, forfait);
        let price = settings
            .prices
            .find(kind, person.tier.as_deref(), &term.code)
            .ok_or_else(|| BillingError::NoPrice {
                pupil: who.clone(),
                forfait: kind.code(),
                term: term.code.clone(),
            })?;
        let term_days = u32::try_from(
            days_between(term.from, term.to)
                .filter(|d| calendar.is_service_day(forfait, *d))
                .count(),
        )
        .unwrap_or(u32::MAX);
        segments.push(Segment {
            forfait,
            kind,
            price,
            from: forfait.from.max(term.from),
            to: forfait.to.min(term.to),
            term_days,
        });
    }

    let mut out = Liquidation {
        person: person.id,
        year: term.year,
        term: term.code.clone(),
        forfait: segments.last().map(|s| s.kind),
        lines: Vec::new(),
    };

    // Requests were checked when entered (`check_entry`); a forfait gone since deducts nothing.
    let requests: Vec<(usize, NaiveDate, NaiveDate)> = pupil
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            BillingInput::Remise { from, to, .. } => Some((i, *from, *to)),
            _ => None,
        })
        .collect();

    // Each service day of each segment, and what (if anything) deducts it.
    let mut deductions: Vec<(usize, Source, RemiseCause, NaiveDate)> = Vec::new();
    for (si, seg) in segments.iter().enumerate() {
        let days: Vec<NaiveDate> = days_between(seg.from, seg.to)
            .filter(|d| calendar.is_service_day(seg.forfait, *d))
            .collect();
        let n = u32::try_from(days.len()).unwrap_or(u32::MAX);
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            continue;
        };
        out.lines.push(Line {
            kind: LineKind::Forfait,
            label: format!(
                "{} du {} au {} : {} {} × {}",
                seg.kind.label_fr(),
                fr_date(seg.from),
                fr_date(seg.to),
                n,
                days_word(n),
                seg.price_text()
            ),
            from: *first,
            to: *last,
            days: n,
            unit_cents: seg.unit_cents(),
            cents: seg.amount(n, &who)?,
        });
        for day in days {
            if let Some((source, cause)) = deduction(calendar, pupil, &requests, seg, day) {
                deductions.push((si, source, cause, day));
            }
        }
    }

    // One line per (segment, source), in the order causes are checked.
    let mut groups: Vec<(usize, Source, RemiseCause, Vec<NaiveDate>)> = Vec::new();
    for (si, source, cause, day) in deductions {
        match groups
            .iter_mut()
            .find(|(gs, gsrc, _, _)| *gs == si && *gsrc == source)
        {
            Some(g) => g.3.push(day),
            None => groups.push((si, source, cause, vec![day])),
        }
    }
    groups.sort_by_key(|(si, _, cause, days)| (*cause, *si, days.first().copied()));
    for (si, source, cause, days) in groups {
        let Some(seg) = segments.get(si) else {
            continue;
        };
        let n = u32::try_from(days.len()).unwrap_or(u32::MAX);
        let (Some(first), Some(last)) = (days.first().copied(), days.last().copied()) else {
            continue;
        };
        let what = match source {
            Source::Closure(i) => calendar
                .own
                .get(i)
                .map_or_else(String::new, |c| format!(" ({})", c.label)),
            Source::Entry(i) => match pupil.entries.get(i) {
                Some(BillingInput::Remise {
                    proof, asked_on, ..
                }) => format!(", justificatif {proof}, demandée le {}", fr_date(*asked_on)),
                _ => String::new(),
            },
            Source::Opposition(_) => String::new(),
        };
        let span = if first == last {
            format!("le {}", fr_date(first))
        } else {
            format!("du {} au {}", fr_date(first), fr_date(last))
        };
        let cents = seg.amount(n, &who)?;
        out.lines.push(Line {
            kind: LineKind::Remise(cause),
            label: format!(
                "Remise d'ordre — {}{what} {span} : {n} {} × {}",
                cause.label_fr(),
                days_word(n),
                seg.price_text()
            ),
            from: first,
            to: last,
            days: n,
            unit_cents: seg.unit_cents(),
            cents: -cents,
        });
    }

    for entry in pupil.entries {
        if let BillingInput::Aid {
            kind,
            cents,
            reference,
        } = entry
        {
            let reference = if reference.trim().is_empty() {
                String::new()
            } else {
                format!(" (réf. {})", reference.trim())
            };
            out.lines.push(Line {
                kind: LineKind::Aide(*kind),
                label: format!("{}{reference}", kind.label_fr()),
                from: term.from,
                to: term.to,
                days: 0,
                unit_cents: 0,
                cents: cents.checked_neg().ok_or_else(|| BillingError::Overflow {
                    what: format!("{who}: an aid"),
                })?,
            });
        }
    }

    // Checked once, so that the `sum()` of the accessors cannot overflow.
    out.lines.iter().try_fold(0i64, |acc, l| {
        acc.checked_add(l.cents)
            .ok_or_else(|| BillingError::Overflow {
                what: format!("{who}: the lines of term {}", term.code),
            })
    })?;
    Ok(out)
}

/// The first cause that deducts `day` of `seg`, if any.
fn deduction(
    calendar: &Calendar<'_>,
    pupil: &Pupil<'_>,
    requests: &[(usize, NaiveDate, NaiveDate)],
    seg: &Segment<'_>,
    day: NaiveDate,
) -> Option<(Source, RemiseCause)> {
    if let Some(i) = calendar.closed_for(seg.forfait, day) {
        return Some((Source::Closure(i), RemiseCause::Fermeture));
    }
    for (reason, cause) in [
        (OppositionReason::Exclusion, RemiseCause::Exclusion),
        (OppositionReason::Stage, RemiseCause::Stage),
        (OppositionReason::Voyage, RemiseCause::Voyage),
    ] {
        let hit = pupil.oppositions.iter().position(|o| {
            o.person == pupil.person.id
                && o.reason == reason
                && calendar
                    .services_on(seg.forfait, day)
                    .any(|s| o.effective(day, s.id))
        });
        if let Some(i) = hit {
            return Some((Source::Opposition(i), cause));
        }
    }
    requests
        .iter()
        .find(|(_, from, to)| *from <= day && day <= *to)
        .map(|(i, _, _)| (Source::Entry(*i), RemiseCause::Maladie))
}

/// What the bursar enters for `pupil` must make sense when entered: a remise asked by the
/// term's deadline, within the term, for at least `remise_min_days` consecutive school days;
/// a remise or an aid for a pupil with a forfait in the term. (Checked here and not by
/// [`liquidate`]: a forfait ended later, or a setting changed, must not stop the term's run.)
pub fn check_entry(
    term: &Term,
    calendar: &Calendar<'_>,
    settings: &Settings<'_>,
    pupil: &Pupil<'_>,
    input: &BillingInput,
) -> Result<(), BillingError> {
    let person = pupil.person;
    let who = format!(
        "{} {} ({})",
        person.first_name, person.last_name, person.external_id
    );
    if let BillingInput::Remise {
        from, to, asked_on, ..
    } = input
    {
        check_request(term, calendar, settings, &who, *from, *to, *asked_on)?;
    }
    let has_forfait = person
        .forfaits
        .iter()
        .any(|f| f.from <= term.to && term.from <= f.to && !f.weekdays.is_empty());
    if !has_forfait && !matches!(input, BillingInput::Cancel { .. }) {
        return Err(BillingError::NoForfait {
            pupil: who,
            term: term.code.clone(),
        });
    }
    Ok(())
}

/// A remise on request: asked by the deadline, within the term, long enough.
fn check_request(
    term: &Term,
    calendar: &Calendar<'_>,
    settings: &Settings<'_>,
    who: &str,
    from: NaiveDate,
    to: NaiveDate,
    asked_on: NaiveDate,
) -> Result<(), BillingError> {
    if asked_on > term.remise_deadline {
        return Err(BillingError::AfterDeadline {
            pupil: who.to_owned(),
            term: term.code.clone(),
            asked_on,
            deadline: term.remise_deadline,
        });
    }
    if to < from || to < term.from || term.to < from {
        return Err(BillingError::OutsideTerm {
            pupil: who.to_owned(),
            term: term.code.clone(),
            from,
            to,
        });
    }
    let days = school_days(calendar, from, to);
    if days < settings.remise_min_days {
        return Err(BillingError::TooShort {
            pupil: who.to_owned(),
            days,
            min: settings.remise_min_days,
        });
    }
    Ok(())
}

/// The school days from `from` to `to` (inclusive): days some service is served, holidays and
/// public holidays left out. An illness over a holiday stays one run of consecutive school days.
pub fn school_days(calendar: &Calendar<'_>, from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from(
        days_between(from, to)
            .filter(|d| calendar.is_school_day(*d))
            .count(),
    )
    .unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::billing::PriceEntry;
    use chrono::NaiveTime;
    use selfgate_rules::journal::AidKind;
    use selfgate_rules::model::{Category, PersonId, ServiceId, ServiceSet, WeekdaySet};

    fn d(m: u32, day: u32) -> NaiveDate {
        let y = if m >= 9 { 2026 } else { 2027 };
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn lunch() -> Vec<Service> {
        vec![Service {
            id: ServiceId(1),
            code: "dejeuner".into(),
            label: "Déjeuner".into(),
            start: NaiveTime::from_hms_opt(11, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(13, 30, 0).unwrap(),
            weekdays: WeekdaySet::SCHOOL_WEEK,
            gates: Vec::new(),
        }]
    }

    fn closure(label: &str, from: NaiveDate, to: NaiveDate) -> Closure {
        Closure {
            label: label.into(),
            from,
            to,
            services: ServiceSet::ALL,
        }
    }

    /// Zone B, 2026–2027, first term: Toussaint 17 Oct – 1 Nov, Christmas from 19 Dec; 11 Nov.
    fn official() -> Vec<Closure> {
        vec![
            closure("Vacances de la Toussaint", d(10, 17), d(11, 1)),
            closure("Armistice", d(11, 11), d(11, 11)),
            closure("Vacances de Noël", d(12, 19), d(1, 3)),
        ]
    }

    fn term() -> Term {
        Term {
            code: "T1".into(),
            label: "Septembre – décembre".into(),
            year: 2026,
            from: d(9, 1),
            to: d(12, 31),
            remise_deadline: d(1, 31),
        }
    }

    fn pupil(days: &str, from: NaiveDate, to: NaiveDate) -> Person {
        Person {
            id: PersonId(7),
            external_id: "1007".into(),
            last_name: "Durand".into(),
            first_name: "Léa".into(),
            class: "5B".into(),
            category: Category::Eleve,
            regime: Regime::DemiPensionnaire,
            forfaits: vec![Forfait {
                weekdays: days.parse().unwrap(),
                services: ServiceSet::single(ServiceId(1)),
                from,
                to,
            }],
            passages_per_service: 1,
            tier: None,
        }
    }

    fn prices() -> Prices {
        Prices {
            entries: vec![
                PriceEntry {
                    forfait: ForfaitKind::Dp(4),
                    tier: None,
                    term: None,
                    price: Price::PerDay(410),
                },
                PriceEntry {
                    forfait: ForfaitKind::Dp(5),
                    tier: None,
                    term: None,
                    price: Price::PerDay(395),
                },
                PriceEntry {
                    forfait: ForfaitKind::Dp(4),
                    tier: Some("Q1".into()),
                    term: None,
                    price: Price::PerDay(100),
                },
            ],
        }
    }

    fn run(
        person: &Person,
        oppositions: &[Opposition],
        entries: &[BillingInput],
        own: &[Closure],
    ) -> Result<Liquidation, BillingError> {
        let services = lunch();
        let official = official();
        let prices = prices();
        liquidate(
            &term(),
            &Calendar {
                services: &services,
                official: &official,
                own,
            },
            &Settings {
                prices: &prices,
                remise_min_days: 5,
            },
            &Pupil {
                person,
                oppositions,
                entries,
            },
        )
    }

    // September–December 2026, zone B: Mon/Tue/Thu/Fri from Tue 1 Sep to Fri 18 Dec, minus
    // the Toussaint (17 Oct–1 Nov) and Wed 11 Nov (not a DP4 day anyway).
    // Weeks: 1 Sep (Tue–Fri: Tue Thu Fri = 3), then 6 full weeks to 16 Oct (6 × 4 = 24),
    // 2 Nov – 18 Dec: 7 weeks × 4 = 28. Total 55.
    #[test]
    fn a_four_day_forfait_counts_its_service_days_in_the_term() {
        let p = pupil("lun mar jeu ven", d(9, 1), d(7, 3));
        let l = run(&p, &[], &[], &[]).unwrap();
        assert_eq!(l.forfait, Some(ForfaitKind::Dp(4)));
        assert_eq!(l.lines.len(), 1);
        assert_eq!(l.lines[0].days, 55);
        assert_eq!(l.total_cents(), 55 * 410);
        assert!(
            l.lines[0]
                .label
                .contains("du 01/09/2026 au 31/12/2026 : 55 jours × 4,10 €"),
            "{}",
            l.lines[0].label
        );
        // Five days: the 14 Wednesdays outside the Toussaint too, minus Wed 11 Nov.
        let p5 = pupil("lun mar mer jeu ven", d(9, 1), d(7, 3));
        let l5 = run(&p5, &[], &[], &[]).unwrap();
        assert_eq!(l5.lines[0].days, 55 + 14 - 1);
    }

    #[test]
    fn an_arrival_is_billed_from_its_first_day_and_a_tier_has_its_price() {
        // Arrives Monday 2 November: 28 days.
        let mut p = pupil("lun mar jeu ven", d(11, 2), d(7, 3));
        assert_eq!(run(&p, &[], &[], &[]).unwrap().total_cents(), 28 * 410);
        p.tier = Some("Q1".into());
        assert_eq!(run(&p, &[], &[], &[]).unwrap().total_cents(), 28 * 100);
        // Leaves on Friday 6 November: 2–6 Nov = 4 days.
        let gone = pupil("lun mar jeu ven", d(11, 2), d(11, 6));
        assert_eq!(run(&gone, &[], &[], &[]).unwrap().lines[0].days, 4);
    }

    #[test]
    fn closures_oppositions_and_illness_are_deducted_once_each_day() {
        let p = pupil("lun mar jeu ven", d(9, 1), d(7, 3));
        // The school shuts the canteen Thu 10 and Fri 11 Dec; a trip Wed 9 – Fri 11 Dec (Thu
        // and Fri already deducted as a closure: only… Wed is no DP4 day: nothing more).
        let own = [closure("Grève", d(12, 10), d(12, 11))];
        let trip = Opposition {
            id: 1,
            person: p.id,
            reason: OppositionReason::Voyage,
            service: None,
            from: d(12, 9),
            to: Some(d(12, 14)),
            note: String::new(),
            lifted: false,
        };
        // Ill Mon 30 Nov – Mon 7 Dec: 6 school days (5 weekdays + Mon), 5 DP4 days.
        let ill = BillingInput::Remise {
            from: d(11, 30),
            to: d(12, 7),
            proof: "certificat du 29/11".into(),
            asked_on: d(12, 8),
        };
        let aid = BillingInput::Aid {
            kind: AidKind::Bourse,
            cents: 5000,
            reference: "B-12".into(),
        };
        let l = run(&p, std::slice::from_ref(&trip), &[ill, aid], &own).unwrap();
        let kinds: Vec<(LineKind, u32, i64)> =
            l.lines.iter().map(|l| (l.kind, l.days, l.cents)).collect();
        assert_eq!(
            kinds,
            [
                (LineKind::Forfait, 55, 55 * 410),
                (LineKind::Remise(RemiseCause::Fermeture), 2, -2 * 410),
                (LineKind::Remise(RemiseCause::Voyage), 1, -410), // Mon 14 Dec
                (LineKind::Remise(RemiseCause::Maladie), 5, -5 * 410),
                (LineKind::Aide(AidKind::Bourse), 0, -5000),
            ]
        );
        assert_eq!(l.remises_cents(), 8 * 410);
        assert_eq!(l.aides_cents(), 5000);
        assert_eq!(l.total_cents(), 47 * 410 - 5000);
        assert!(
            l.lines[1]
                .label
                .contains("(Grève) du 10/12/2026 au 11/12/2026 : 2 jours")
        );
        assert!(
            l.lines[3]
                .label
                .contains("justificatif certificat du 29/11")
        );
    }

    #[test]
    fn an_aid_larger_than_the_bill_makes_it_negative() {
        let p = pupil("lun mar jeu ven", d(12, 14), d(7, 3)); // 14–18 Dec: 4 days
        let aid = BillingInput::Aid {
            kind: AidKind::FondsSocial,
            cents: 2000,
            reference: String::new(),
        };
        let l = run(&p, &[], &[aid], &[]).unwrap();
        assert_eq!(l.total_cents(), 4 * 410 - 2000);
        assert!(l.total_cents() < 0);
    }

    fn check(person: &Person, input: &BillingInput) -> Result<(), BillingError> {
        let services = lunch();
        let official = official();
        let prices = prices();
        check_entry(
            &term(),
            &Calendar {
                services: &services,
                official: &official,
                own: &[],
            },
            &Settings {
                prices: &prices,
                remise_min_days: 5,
            },
            &Pupil {
                person,
                oppositions: &[],
                entries: &[],
            },
            input,
        )
    }

    #[test]
    fn bad_requests_and_missing_prices_are_refused_with_the_pupil() {
        let p = pupil("lun mar jeu ven", d(9, 1), d(7, 3));
        let req = |from, to, asked| BillingInput::Remise {
            from,
            to,
            proof: "x".into(),
            asked_on: asked,
        };
        let late = check(&p, &req(d(11, 30), d(12, 7), d(2, 1))).unwrap_err();
        assert!(matches!(late, BillingError::AfterDeadline { .. }), "{late}");
        assert!(late.to_string().contains("Léa Durand (1007)"));
        // Mon 30 Nov – Thu 3 Dec: 4 school days.
        let short = check(&p, &req(d(11, 30), d(12, 3), d(12, 8))).unwrap_err();
        assert_eq!(
            short,
            BillingError::TooShort {
                pupil: "Léa Durand (1007)".into(),
                days: 4,
                min: 5
            }
        );
        // Across the Toussaint: Thu 15 Oct – Wed 4 Nov is 2 + 3 school days.
        assert!(check(&p, &req(d(10, 15), d(11, 4), d(11, 5))).is_ok());
        let outside = check(&p, &req(d(1, 4), d(1, 12), d(1, 13))).unwrap_err();
        assert!(matches!(outside, BillingError::OutsideTerm { .. }));
        let mut none = p.clone();
        none.forfaits.clear();
        let no_forfait = check(&none, &req(d(11, 30), d(12, 7), d(12, 8))).unwrap_err();
        assert!(matches!(no_forfait, BillingError::NoForfait { .. }));
        // Entered when it had one, the forfait gone since: the run deducts nothing, and goes on.
        let ill = req(d(11, 30), d(12, 7), d(12, 8));
        assert_eq!(run(&none, &[], &[ill], &[]).unwrap().total_cents(), 0);
        let mut three = p.clone();
        three.forfaits[0].weekdays = "lun mar jeu".parse().unwrap();
        let missing = run(&three, &[], &[], &[]).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "Léa Durand (1007) : aucun prix pour le forfait dp3 au trimestre T1 (ajoutez-le dans [[billing.prices]])"
        );
    }

    #[test]
    fn a_flat_price_is_shared_pro_rata_to_the_cent() {
        let p = pupil("lun mar jeu ven", d(11, 2), d(7, 3)); // 28 of 55 days
        let services = lunch();
        let official = official();
        let prices = Prices {
            entries: vec![PriceEntry {
                forfait: ForfaitKind::Dp(4),
                tier: None,
                term: Some("T1".into()),
                price: Price::Term(20_000),
            }],
        };
        let l = liquidate(
            &term(),
            &Calendar {
                services: &services,
                official: &official,
                own: &[],
            },
            &Settings {
                prices: &prices,
                remise_min_days: 5,
            },
            &Pupil {
                person: &p,
                oppositions: &[],
                entries: &[],
            },
        )
        .unwrap();
        // 200 € × 28 / 55 = 101.818… → 101,82 €.
        assert_eq!(l.total_cents(), 10_182);
        assert_eq!(pro_rata(20_000, 55, 55), Some(20_000));
        assert_eq!(pro_rata(1, 1, 2), Some(1), "half up");
        assert_eq!(pro_rata(1, 1, 3), Some(0));
    }

    #[test]
    fn a_change_of_forfait_mid_term_bills_each_part_at_its_price() {
        let mut p = pupil("lun mar jeu ven", d(9, 1), d(10, 16));
        p.forfaits.push(Forfait {
            weekdays: "lun mar mer jeu ven".parse().unwrap(),
            services: ServiceSet::single(ServiceId(1)),
            from: d(11, 2),
            to: d(7, 3),
        });
        let l = run(&p, &[], &[], &[]).unwrap();
        assert_eq!(l.forfait, Some(ForfaitKind::Dp(5)));
        // 27 DP4 days to 16 Oct; 2 Nov – 18 Dec: 7 weeks × 5 - 11 Nov = 34 DP5 days.
        let days: Vec<u32> = l.lines.iter().map(|l| l.days).collect();
        assert_eq!(days, [27, 34]);
        assert_eq!(l.total_cents(), 27 * 410 + 34 * 395);
    }
}
