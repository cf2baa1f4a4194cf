//! The engine's rules in numbers: escrow backoff, quarantine thresholds and schedule. Pure functions,
//! so the rules are tested here and documented in one place.
//!
//! **Escrow** (Entra: a failed object "is retried in the next sync cycle… gradually scaling back the
//! frequency"): attempt n waits `base × 2^(n-1)`, capped at 24 hours; `base` is the app's
//! `escrowRetrySeconds` (default 10 minutes). Escrow gives up on an object once its waits add up to
//! 28 days (Entra: "then daily for 28 days; after that the escrow is dropped"): the object is no
//! longer retried by itself, and its next change in the directory, an initial cycle or a restart tries
//! it again.
//!
//! **Quarantine by failure rate** (Entra: evaluated from 5,000 failures, quarantine above 40%): a job of
//! N objects is evaluated once a cycle has `min(5000, max(10, ceil(N / 10)))` failures, and is
//! quarantined when more than 40% of the objects it processed in that cycle failed. A 100-user app is
//! therefore evaluated from 10 failures; a 100,000-user app from 5,000, as in Entra.
//!
//! **Quarantine schedule** (Entra: +6 h, +12 h, +24 h, then daily): while quarantined the job's next
//! cycle is 6 h, 12 h, 24 h after each failed cycle, then every 24 h. A successful cycle or a restart
//! clears quarantine. A job still quarantined 4 weeks after it entered quarantine is turned Off
//! (Entra: "after more than 4 weeks the job is disabled"); Start or Restart turns it back On.

use std::time::Duration;

/// Entra's minimum failure count before the failure rate is evaluated.
pub const ENTRA_MIN_FAILURES: u64 = 5_000;
/// The failure share above which the job is quarantined.
pub const FAILURE_RATIO: f64 = 0.4;
/// The longest escrow wait.
pub const ESCROW_CAP: Duration = Duration::from_secs(24 * 3600);

/// How long escrow keeps retrying an object (the sum of its waits) before it gives up.
pub const ESCROW_MAX_AGE: Duration = Duration::from_secs(28 * 24 * 3600);
/// How long a job may stay quarantined before it is turned Off.
pub const QUARANTINE_MAX_AGE: Duration = Duration::from_secs(28 * 24 * 3600);

/// How long to wait before retrying an object that failed `attempts` times (1 = first failure).
pub fn escrow_delay(base: Duration, attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << shift).min(ESCROW_CAP)
}

/// Whether escrow gives up on an object that failed `attempts` times: the waits of its retries so far
/// add up to [`ESCROW_MAX_AGE`]. A zero `base` (retry at every cycle) never gives up.
pub fn escrow_expired(base: Duration, attempts: u32) -> bool {
    if base.is_zero() {
        return false;
    }
    let mut waited = Duration::ZERO;
    for n in 1..attempts {
        waited = waited.saturating_add(escrow_delay(base, n));
        if waited >= ESCROW_MAX_AGE {
            return true;
        }
    }
    false
}

/// Whether a job quarantined since `since_ms` (Unix ms) is turned Off at `now_ms`.
pub fn quarantine_expired(since_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(since_ms) > QUARANTINE_MAX_AGE.as_millis() as i64
}

/// The failure count from which a job of `objects_in_scope` objects is evaluated for quarantine.
pub fn min_failures(objects_in_scope: u64) -> u64 {
    objects_in_scope.div_ceil(10).clamp(10, ENTRA_MIN_FAILURES)
}

/// Whether a cycle with `failed` failures out of `processed` objects quarantines a job of
/// `objects_in_scope` objects.
pub fn failure_rate_quarantines(failed: u64, processed: u64, objects_in_scope: u64) -> bool {
    failed >= min_failures(objects_in_scope) && processed > 0 && (failed as f64) / (processed as f64) > FAILURE_RATIO
}

/// When the next cycle of a quarantined job runs, after its `level`-th failed cycle in quarantine
/// (1 = just quarantined): 6 h, 12 h, 24 h, then daily.
pub fn quarantine_delay(level: u32) -> Duration {
    let hours = match level {
        0 | 1 => 6,
        2 => 12,
        _ => 24,
    };
    Duration::from_secs(hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escrow_backs_off_and_caps() {
        let base = Duration::from_secs(600);
        assert_eq!(escrow_delay(base, 1), base);
        assert_eq!(escrow_delay(base, 2), base * 2);
        assert_eq!(escrow_delay(base, 4), base * 8);
        assert_eq!(escrow_delay(base, 40), ESCROW_CAP);
        assert_eq!(escrow_delay(Duration::ZERO, 5), Duration::ZERO);
    }

    #[test]
    fn escrow_gives_up_after_28_days_of_waits() {
        let base = Duration::from_secs(600);
        // Waits: 10, 20, 40, 80, 160, 320, 640, 1280 min (≈ 42.5 h in all), then 24 h each.
        let first_waits: u64 = (1..=8).map(|n| escrow_delay(base, n).as_secs()).sum();
        let daily_needed = (28 * 24 * 3600 - first_waits).div_ceil(24 * 3600);
        let giving_up = 9 + daily_needed as u32;
        assert!(!escrow_expired(base, giving_up - 1), "still inside 28 days");
        assert!(escrow_expired(base, giving_up), "gave up after 28 days of waits");
        assert!(!escrow_expired(Duration::ZERO, 10_000), "retry-every-cycle never gives up");
    }

    #[test]
    fn quarantine_turns_the_job_off_after_four_weeks() {
        let day = 24 * 3600 * 1000i64;
        assert!(!quarantine_expired(0, 28 * day));
        assert!(quarantine_expired(0, 28 * day + 1));
    }

    #[test]
    fn minimum_scales_with_job_size() {
        assert_eq!(min_failures(5), 10);
        assert_eq!(min_failures(100), 10);
        assert_eq!(min_failures(1_000), 100);
        assert_eq!(min_failures(100_000), 5_000);
        assert_eq!(min_failures(10_000_000), 5_000);
    }

    #[test]
    fn rate_rule() {
        // A small job: 45 of 100 fail -> quarantined; 9 of 10 fail -> not yet (minimum is 10).
        assert!(failure_rate_quarantines(45, 100, 100));
        assert!(!failure_rate_quarantines(9, 10, 10));
        assert!(failure_rate_quarantines(10, 20, 20));
        // 40% exactly is not "over 40%".
        assert!(!failure_rate_quarantines(40, 100, 100));
        // Entra's scale: 4,999 failures never quarantine a big job.
        assert!(!failure_rate_quarantines(4_999, 5_000, 100_000));
        assert!(failure_rate_quarantines(5_000, 10_000, 100_000));
    }

    #[test]
    fn quarantine_schedule() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!([1, 2, 3, 4, 9].map(quarantine_delay), [h(6), h(12), h(24), h(24), h(24)]);
    }
}
