//! When a token names a key we lack, fetching the key set again: a new key right after a
//! rotation must be found at once, while made-up `kid`s must not make us hammer the
//! provider.
//!
//! Two limits: a `kid` looked for and still missing is not looked for again for
//! [`MISSING_KID_TTL`]; and all such fetches together draw from a token bucket of
//! [`BURST`] fetches, refilled one per [`REFILL_EVERY`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;

/// How long a `kid` still missing after a fetch is not looked for again.
pub(crate) const MISSING_KID_TTL: Duration = Duration::from_secs(10);
/// Fetches allowed in a burst.
pub(crate) const BURST: u32 = 5;
/// One more fetch allowed per this much time: at most six a minute once the burst is spent.
pub(crate) const REFILL_EVERY: Duration = Duration::from_secs(10);
/// Missing `kid`s remembered at most; beyond, the bucket alone limits.
const MAX_REMEMBERED: usize = 1024;

/// What a token asked for: its `kid`, or the algorithm family when it names no key.
pub(crate) fn lookup_key(kid: Option<&str>, alg: Algorithm) -> String {
    match kid {
        Some(kid) => format!("kid:{kid}"),
        None => format!("family:{:?}", alg.family()),
    }
}

pub(crate) struct RefetchLimiter {
    missing: HashMap<String, Instant>,
    tokens: u32,
    refilled_at: Instant,
}

impl RefetchLimiter {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            missing: HashMap::new(),
            tokens: BURST,
            refilled_at: now,
        }
    }

    /// Whether this key was looked for a moment ago and was not there.
    pub(crate) fn recently_missing(&self, key: &str, now: Instant) -> bool {
        self.missing
            .get(key)
            .is_some_and(|at| now.saturating_duration_since(*at) < MISSING_KID_TTL)
    }

    /// Takes one fetch from the bucket, if any is left.
    pub(crate) fn try_fetch(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        let earned = (elapsed.as_millis() / REFILL_EVERY.as_millis()).min(u128::from(BURST)) as u32;
        if earned > 0 {
            self.tokens = (self.tokens + earned).min(BURST);
            self.refilled_at = if self.tokens == BURST {
                now
            } else {
                self.refilled_at + REFILL_EVERY * earned
            };
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// Records that a fetch did not bring this key.
    pub(crate) fn remember_missing(&mut self, key: String, now: Instant) {
        if self.missing.len() >= MAX_REMEMBERED {
            self.missing
                .retain(|_, at| now.saturating_duration_since(*at) < MISSING_KID_TTL);
        }
        if self.missing.len() < MAX_REMEMBERED {
            self.missing.insert(key, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_kid_is_not_looked_for_again_for_a_while() {
        let start = Instant::now();
        let mut limiter = RefetchLimiter::new(start);
        assert!(!limiter.recently_missing("kid:a", start));
        limiter.remember_missing("kid:a".into(), start);
        assert!(limiter.recently_missing("kid:a", start + Duration::from_secs(9)));
        assert!(
            !limiter.recently_missing("kid:b", start),
            "other kids are not affected"
        );
        assert!(!limiter.recently_missing("kid:a", start + MISSING_KID_TTL));
    }

    #[test]
    fn the_bucket_allows_a_burst_then_one_fetch_per_interval() {
        let start = Instant::now();
        let mut limiter = RefetchLimiter::new(start);
        let granted = (0..50).filter(|_| limiter.try_fetch(start)).count();
        assert_eq!(granted, BURST as usize);
        assert!(!limiter.try_fetch(start + REFILL_EVERY / 2));
        assert!(limiter.try_fetch(start + REFILL_EVERY));
        assert!(!limiter.try_fetch(start + REFILL_EVERY));
        // A flood over a minute gets the burst and six more, no more.
        let mut limiter = RefetchLimiter::new(start);
        let granted = (0..600)
            .filter(|step| limiter.try_fetch(start + Duration::from_millis(100 * step)))
            .count();
        assert!(granted <= BURST as usize + 6, "{granted}");
        // Quiet time refills the bucket, never beyond the burst.
        let later = start + Duration::from_secs(3600);
        let granted = (0..50).filter(|_| limiter.try_fetch(later)).count();
        assert_eq!(granted, BURST as usize);
    }

    #[test]
    fn memory_stays_bounded() {
        let start = Instant::now();
        let mut limiter = RefetchLimiter::new(start);
        for n in 0..(MAX_REMEMBERED * 3) {
            limiter.remember_missing(format!("kid:{n}"), start);
        }
        assert!(limiter.missing.len() <= MAX_REMEMBERED);
        limiter.remember_missing("kid:late".into(), start + MISSING_KID_TTL);
        assert!(limiter.recently_missing("kid:late", start + MISSING_KID_TTL));
    }

    #[test]
    fn lookup_keys_separate_kids_from_families() {
        assert_eq!(lookup_key(Some("k"), Algorithm::RS256), "kid:k");
        assert_eq!(
            lookup_key(None, Algorithm::RS256),
            lookup_key(None, Algorithm::PS512)
        );
        assert_ne!(
            lookup_key(None, Algorithm::RS256),
            lookup_key(None, Algorithm::ES256)
        );
    }
}
