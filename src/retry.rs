//! Backoff with jitter, shared by event deliveries, destinations, jobs and the Shopify applier.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries before giving up (event deliveries never give up on transient failures).
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long, up to `cap`.
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// Exponential, with "equal jitter": half the delay fixed, half random, so retrying
    /// processes spread out without retrying at once.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let full = exp.min(self.cap);
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).expect("the OS random source works");
        let fraction = f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX);
        full / 2 + full.mul_f64(fraction / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_exponentially_with_jitter_and_a_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.delay(30) <= Duration::from_secs(1));
        }
    }
}
