//! When to try again, and how long to wait first.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Exponential backoff from 200 ms, capped at 10 s; how many retries is a setting
    /// (`max_retries`), so it has no default here.
    pub fn new(max_retries: u32) -> RetryPolicy {
        RetryPolicy { max_retries, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based): exponential with "equal jitter" (half fixed,
    /// half random) so that concurrent workers do not retry in lockstep; a server's
    /// Retry-After wins when it asks for longer, up to `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, random_unit: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let jittered = capped / 2 + capped.mul_f64(random_unit.clamp(0.0, 1.0) / 2.0);
        match retry_after {
            Some(ra) if ra > jittered => ra.min(self.max_delay),
            _ => jittered,
        }
    }
}

/// One failed attempt, as `RetryPolicy::run` needs to judge it.
pub struct Attempted<E> {
    pub error: E,
    /// Worth trying again (throttling, server trouble, the network).
    pub transient: bool,
    /// What the server asked for (Retry-After).
    pub retry_after: Option<Duration>,
}

impl RetryPolicy {
    /// Call `once` (given the attempt number, from 1) until it succeeds, fails for good, or
    /// the retries run out; between attempts wait `delay`. The one retry loop of every HTTP
    /// client here (Azure, Supabase Auth and Storage). On failure: the last error and the
    /// number of attempts made.
    pub fn run<T, E>(&self, mut once: impl FnMut(u32) -> Result<T, Attempted<E>>) -> Result<T, (E, u32)> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match once(attempt) {
                Ok(v) => return Ok(v),
                Err(a) if a.transient && attempt <= self.max_retries => {
                    std::thread::sleep(self.delay(attempt, a.retry_after, jitter_unit()));
                }
                Err(a) => return Err((a.error, attempt)),
            }
        }
    }
}

/// A cheap random number in [0, 1) for jitter; quality does not matter here.
pub fn jitter_unit() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds() {
        let p = RetryPolicy::new(3);
        assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(100));
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(p.delay(30, None, 1.0), Duration::from_secs(10));
    }

    #[test]
    fn run_retries_transient_failures_only_and_counts_attempts() {
        let fast = RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) };
        let mut calls = 0;
        let ok: Result<u32, (&str, u32)> = fast.run(|n| {
            calls += 1;
            if n < 3 { Err(Attempted { error: "busy", transient: true, retry_after: None }) } else { Ok(n) }
        });
        assert_eq!((ok, calls), (Ok(3), 3));
        let gave_up: Result<(), _> = fast.run(|_| Err(Attempted { error: "busy", transient: true, retry_after: None }));
        assert_eq!(gave_up, Err(("busy", 4)));
        let final_: Result<(), _> = fast.run(|_| Err(Attempted { error: "denied", transient: false, retry_after: None }));
        assert_eq!(final_, Err(("denied", 1)));
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let p = RetryPolicy::new(3);
        assert_eq!(p.delay(1, Some(Duration::from_secs(2)), 0.5), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(Duration::from_secs(600)), 0.5), Duration::from_secs(10));
        let u = jitter_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
