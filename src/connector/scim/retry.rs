//! Retry timing: full-jitter exponential backoff, `Retry-After`, request spacing for a rate limit, and a
//! pause shared by every request of a connector (a 429's `Retry-After` holds them all back).

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The first backoff ceiling.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The largest backoff ceiling.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// The longest `Retry-After` waited for within one call; a longer one fails the call as unavailable
/// (the object is retried in a later cycle).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The backoff ceiling before retry number `retry` (1 for the first retry): `base · 2^(retry-1)`,
/// capped.
pub fn backoff_ceiling(retry: u32) -> Duration {
    let shift = retry.saturating_sub(1).min(20);
    BACKOFF_BASE.saturating_mul(1u32 << shift).min(BACKOFF_CAP)
}

/// A full-jitter backoff: uniformly random between zero and [`backoff_ceiling`].
pub fn backoff(retry: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(retry).as_millis() as u64;
    Duration::from_millis(rng.gen_range(0..=ceiling))
}

/// Reads a `Retry-After` value: delay seconds (`120`, also `1.5`), or an HTTP-date (IMF-fixdate, RFC 850
/// or asctime), which is turned into the time left after `now` (zero when past). `None` when unreadable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    if let Ok(f) = v.parse::<f64>() {
        return (f.is_finite() && f >= 0.0).then(|| Duration::from_secs_f64(f.min(1e9)));
    }
    let at = DateTime::parse_from_rfc2822(v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(v, "%A, %d-%b-%y %H:%M:%S GMT").ok().map(|n| n.and_utc()))
        .or_else(|| NaiveDateTime::parse_from_str(v, "%a %b %e %H:%M:%S %Y").ok().map(|n| n.and_utc()))?;
    let at: SystemTime = at.into();
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Spaces requests `1/rate` seconds apart, shared by every request of a connector.
#[derive(Debug)]
pub struct Spacing {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Spacing {
    /// Spacing for `per_sec` requests per second.
    pub fn new(per_sec: f64) -> Spacing {
        let interval = Duration::from_secs_f64(1.0 / per_sec.clamp(1e-3, 1e6));
        Spacing { interval, next: Mutex::new(None) }
    }

    /// Reserves the next slot and returns when to send.
    pub fn reserve(&self) -> Instant {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.interval);
        slot
    }

    /// Waits for the next slot.
    pub async fn wait(&self) {
        tokio::time::sleep_until(self.reserve()).await;
    }
}

/// A moment before which no request may be sent (set from `Retry-After`), shared by all requests.
#[derive(Debug, Default)]
pub struct Pause {
    until: Mutex<Option<Instant>>,
}

impl Pause {
    /// Holds every request back until at least `until`.
    pub fn extend(&self, until: Instant) {
        let mut u = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if u.is_none_or(|cur| cur < until) {
            *u = Some(until);
        }
    }

    /// How long requests must still wait.
    pub fn remaining(&self) -> Duration {
        let u = self.until.lock().unwrap_or_else(|p| p.into_inner());
        u.map_or(Duration::ZERO, |t| t.saturating_duration_since(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(2), Duration::from_millis(400));
        assert_eq!(backoff_ceiling(4), Duration::from_millis(1600));
        assert_eq!(backoff_ceiling(7), Duration::from_secs(10));
        assert_eq!(backoff_ceiling(1000), Duration::from_secs(10));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for retry in 1..12 {
            for _ in 0..200 {
                assert!(backoff(retry, &mut rng) <= backoff_ceiling(retry));
            }
        }
        // Full jitter: spread over the whole range.
        let samples: Vec<Duration> = (0..500).map(|_| backoff(6, &mut rng)).collect();
        assert!(samples.iter().any(|d| *d < Duration::from_secs(1)));
        assert!(samples.iter().any(|d| *d > Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("1.5", now), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:57 1994", now), Some(Duration::from_secs(20)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[tokio::test]
    async fn spacing_and_pause() {
        let s = Spacing::new(10.0);
        let a = s.reserve();
        let b = s.reserve();
        let c = s.reserve();
        assert_eq!(b - a, Duration::from_millis(100));
        assert_eq!(c - b, Duration::from_millis(100));
        let p = Pause::default();
        assert_eq!(p.remaining(), Duration::ZERO);
        p.extend(Instant::now() + Duration::from_secs(5));
        p.extend(Instant::now() + Duration::from_secs(1));
        assert!(p.remaining() > Duration::from_secs(4));
    }
}
