//! The engine's rules in numbers: escrow backoff, quarantine thresholds and schedule. Pure functions,
//! so the rules are tested here and documented in one place.
//!
//! **Escrow** (Entra: a failed object "is retried in the next sync cycle… gradually scaling back the
//! frequency"): attempt n waits `base × 2^(n-1)`, capped at 24 hours; `base` is the app's
//! `escrowRetrySeconds` (default 10 minutes).
//!
//! **Quarantine by failure rate** (Entra: evaluated from 5,000 failures, quarantine above 40%): a job of
//! N objects is evaluated once a cycle has `min(5000, max(10, ceil(N / 10)))` failures, and is
//! quarantined when more than 40% of the objects it processed in that cycle failed. A 100-user app is
//! therefore evaluated from 10 failures; a 100,000-user app from 5,000, as in Entra.
//!
//! **Quarantine schedule** (Entra: +6 h, +12 h, +24 h, then daily): while quarantined the job's next
//! cycle is 6 h, 12 h, 24 h after each failed cycle, then every 24 h. A successful cycle or a restart
//! clears quarantine.

use std::time::Duration;

/// Entra's minimum failure count before the failure rate is evaluated.
pub const ENTRA_MIN_FAILURES: u64 = 5_000;
/// The failure share above which the job is quarantined.
pub const FAILURE_RATIO: f64 = 0.4;
/// The longest escrow wait.
pub const ESCROW_CAP: Duration = Duration::from_secs(24 * 3600);

/// How long to wait before retrying an object that failed `attempts` times (1 = first failure).
pub fn escrow_delay(base: Duration, attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << shift).min(ESCROW_CAP)
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
