//! Where the daemon's idea of "now" comes from: the system clock, or a scaled clock for the demo.
//! The decision itself never reads a clock: the gate reads one here and passes the time in.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Simulated time running `speed` times faster than real time, which can jump forward
/// (the demo skips the hours between services).
pub struct ScaledClock {
    origin: Mutex<(Instant, DateTime<Utc>)>,
    speed: f64,
}

impl ScaledClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        ScaledClock {
            origin: Mutex::new((Instant::now(), start)),
            speed: speed.max(0.001),
        }
    }
    pub fn speed(&self) -> f64 {
        self.speed
    }
    /// Sets simulated time to `to` from now on.
    pub fn jump(&self, to: DateTime<Utc>) {
        *self.origin.lock().unwrap_or_else(PoisonError::into_inner) = (Instant::now(), to);
    }
    /// The real time to wait until simulated time reaches `at` (zero when it has).
    pub fn real_until(&self, at: DateTime<Utc>) -> Duration {
        let ahead = at - self.now();
        match ahead.to_std() {
            Ok(d) => d.div_f64(self.speed),
            Err(_) => Duration::ZERO,
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let (real, sim) = *self.origin.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = real.elapsed().mul_f64(self.speed);
        sim + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_and_jumps() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let c = ScaledClock::new(start, 600.0);
        std::thread::sleep(Duration::from_millis(50));
        let ran = c.now() - start;
        assert!(ran >= TimeDelta::seconds(29), "{ran}");
        let later = start + TimeDelta::hours(5);
        c.jump(later);
        assert!(c.now() >= later && c.now() - later < TimeDelta::seconds(30));
        assert!(c.real_until(later + TimeDelta::seconds(600)) <= Duration::from_secs(1));
    }
}
