//! When an exchange runs: its cron schedule in the school's time zone, retries after a failure
//! with a doubling delay, and never two runs of one exchange at once. A pure state machine: the
//! time is always passed in, so the tests drive it with a controlled clock.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// The next occurrence of `cron` strictly after `now`, reading the expression in `tz`.
pub fn next_after(cron: &cron::Schedule, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// One exchange's timetable.
#[derive(Clone, Debug)]
pub struct Plan {
    cron: cron::Schedule,
    tz: Tz,
    retries: u32,
    base_delay: Duration,
    /// The next cron occurrence.
    next: Option<DateTime<Utc>>,
    /// The next retry: (attempt number, when).
    retry: Option<(u32, DateTime<Utc>)>,
    running: bool,
}

/// Why a run was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// 1 for the run on schedule, 2… for the retries after it.
    pub attempt: u32,
}

impl Plan {
    pub fn new(
        cron: cron::Schedule,
        tz: Tz,
        retries: u32,
        base_delay: Duration,
        now: DateTime<Utc>,
    ) -> Plan {
        let next = next_after(&cron, tz, now);
        Plan {
            cron,
            tz,
            retries,
            base_delay,
            next,
            retry: None,
            running: false,
        }
    }

    /// Starts a run if one is due at `now` and none is running. Cron occurrences that pass while
    /// a run lasts give one run after it, not one each.
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<Start> {
        if self.running {
            return None;
        }
        if self.next.is_some_and(|n| n <= now) {
            // A new occurrence supersedes a pending retry.
            self.next = next_after(&self.cron, self.tz, now);
            self.retry = None;
            self.running = true;
            return Some(Start { attempt: 1 });
        }
        if let Some((attempt, _)) = self.retry.filter(|(_, at)| *at <= now) {
            self.retry = None;
            self.running = true;
            return Some(Start { attempt });
        }
        None
    }

    /// Skips an occurrence due at `now` without running it (automatic sync switched off).
    pub fn skip(&mut self, now: DateTime<Utc>) -> bool {
        if !self.running && self.next.is_some_and(|n| n <= now) {
            self.next = next_after(&self.cron, self.tz, now);
            self.retry = None;
            return true;
        }
        false
    }

    /// Starts a run by hand, unless one is running.
    pub fn start_by_hand(&mut self) -> bool {
        if self.running {
            return false;
        }
        self.running = true;
        true
    }

    /// A run ended at `now`. After a failed scheduled attempt with retries left, the next one is
    /// planned `base × 2^(attempt−1)` later; its time is returned.
    pub fn finished(
        &mut self,
        start: Option<Start>,
        ok: bool,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.running = false;
        let Start { attempt } = start?;
        if ok || attempt > self.retries {
            self.retry = None;
            return None;
        }
        let factor = 1u32 << (attempt - 1).min(16);
        let delay = TimeDelta::from_std(self.base_delay.saturating_mul(factor))
            .unwrap_or(TimeDelta::hours(1));
        let at = now + delay;
        self.retry = Some((attempt + 1, at));
        Some(at)
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The next time something is planned (a retry or the schedule).
    pub fn next_run(&self) -> Option<DateTime<Utc>> {
        match (self.retry.map(|r| r.1), self.next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn plan(cron: &str, retries: u32, now: &str) -> Plan {
        Plan::new(
            cron.parse().unwrap(),
            chrono_tz::Europe::Paris,
            retries,
            Duration::from_secs(30),
            at(now),
        )
    }

    #[test]
    fn cron_is_read_in_the_school_time_zone_across_dst() {
        let cron: cron::Schedule = "0 0 12 * * *".parse().unwrap();
        let tz = chrono_tz::Europe::Paris;
        // Winter: noon in Paris is 11:00 UTC; summer: 10:00 UTC. DST starts 2027-03-28.
        assert_eq!(
            next_after(&cron, tz, at("2026-11-16T08:00:00Z")),
            Some(at("2026-11-16T11:00:00Z"))
        );
        assert_eq!(
            next_after(&cron, tz, at("2027-03-27T12:00:00Z")),
            Some(at("2027-03-28T10:00:00Z"))
        );
        // Weekdays only: Friday evening → Monday.
        let weekdays: cron::Schedule = "0 30 13 * * Mon-Fri".parse().unwrap();
        assert_eq!(
            next_after(&weekdays, tz, at("2026-11-20T18:00:00Z")),
            Some(at("2026-11-23T12:30:00Z"))
        );
    }

    #[test]
    fn runs_when_due_and_never_twice_at_once() {
        let mut p = plan("0 */5 * * * *", 0, "2026-11-16T09:01:00Z");
        assert_eq!(p.due(at("2026-11-16T09:04:59Z")), None);
        let first = p.due(at("2026-11-16T09:05:00Z"));
        assert_eq!(first, Some(Start { attempt: 1 }));
        // Still running at the next occurrences: nothing starts, and a hand run is refused.
        assert_eq!(p.due(at("2026-11-16T09:10:00Z")), None);
        assert_eq!(p.due(at("2026-11-16T09:15:00Z")), None);
        assert!(!p.start_by_hand());
        p.finished(first, true, at("2026-11-16T09:16:00Z"));
        // The occurrences missed meanwhile make one run, then the schedule goes on.
        assert_eq!(
            p.due(at("2026-11-16T09:16:00Z")),
            Some(Start { attempt: 1 })
        );
        p.finished(Some(Start { attempt: 1 }), true, at("2026-11-16T09:16:01Z"));
        assert_eq!(p.due(at("2026-11-16T09:19:59Z")), None);
        assert_eq!(p.next_run(), Some(at("2026-11-16T09:20:00Z")));
        assert!(p.start_by_hand());
        assert!(p.is_running());
    }

    #[test]
    fn failures_are_retried_with_a_doubling_delay_then_given_up() {
        let mut p = plan("0 0 6 * * *", 3, "2026-11-16T00:00:00Z");
        let t0 = at("2026-11-16T05:00:00Z"); // 06:00 in Paris
        let s = p.due(t0);
        assert_eq!(s, Some(Start { attempt: 1 }));
        let retry = p.finished(s, false, t0 + TimeDelta::seconds(2)).unwrap();
        assert_eq!(retry, t0 + TimeDelta::seconds(32), "30 s after the failure");
        assert_eq!(p.due(retry - TimeDelta::seconds(1)), None);
        let s = p.due(retry);
        assert_eq!(s, Some(Start { attempt: 2 }));
        let retry = p.finished(s, false, retry).unwrap();
        assert_eq!(retry - t0, TimeDelta::seconds(32 + 60), "then 60 s");
        let s = p.due(retry);
        assert_eq!(s, Some(Start { attempt: 3 }));
        let retry = p.finished(s, false, retry).unwrap();
        assert_eq!(retry - t0, TimeDelta::seconds(32 + 60 + 120), "then 120 s");
        let s = p.due(retry);
        assert_eq!(s, Some(Start { attempt: 4 }));
        assert_eq!(
            p.finished(s, false, retry),
            None,
            "3 retries, then it waits"
        );
        assert_eq!(p.next_run(), Some(at("2026-11-17T05:00:00Z")));
        // A success ends the retries.
        let s = p.due(at("2026-11-17T05:00:00Z"));
        assert!(p.finished(s, false, at("2026-11-17T05:00:00Z")).is_some());
        let s = p.due(at("2026-11-17T05:00:30Z"));
        assert_eq!(p.finished(s, true, at("2026-11-17T05:00:31Z")), None);
        assert_eq!(p.next_run(), Some(at("2026-11-18T05:00:00Z")));
        // A run by hand is not retried.
        assert!(p.start_by_hand());
        assert_eq!(p.finished(None, false, at("2026-11-17T07:00:00Z")), None);
    }

    #[test]
    fn a_skipped_occurrence_moves_the_schedule_on() {
        let mut p = plan("0 */5 * * * *", 0, "2026-11-16T09:01:00Z");
        assert!(p.skip(at("2026-11-16T09:05:00Z")));
        assert_eq!(p.due(at("2026-11-16T09:05:00Z")), None);
        assert_eq!(p.next_run(), Some(at("2026-11-16T09:10:00Z")));
    }
}
