//! What keeps unknown opaque tokens from turning into a flood of introspection calls: a
//! short memory of refused tokens and a ceiling on calls per second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a refused token is answered from memory.
const REFUSED_TTL: Duration = Duration::from_secs(30);
/// Refused tokens remembered at most; past that, the call ceiling alone protects.
const REFUSED_ENTRIES: usize = 10_000;
/// Introspection calls allowed in a burst, and refilled per second.
const BURST: f64 = 20.0;
const PER_SECOND: f64 = 10.0;

/// The state shared by every request of a layer.
pub(crate) struct IntrospectionGuard {
    refused: Mutex<HashMap<[u8; 32], Instant>>,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Whether the provider may be asked about a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Ask,
    /// The provider refused this token moments ago.
    RefusedRecently,
    /// Too many calls right now.
    OverCeiling,
}

impl Default for IntrospectionGuard {
    fn default() -> Self {
        Self {
            refused: Mutex::new(HashMap::new()),
            bucket: Mutex::new(Bucket {
                tokens: BURST,
                updated: Instant::now(),
            }),
        }
    }
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl IntrospectionGuard {
    pub(crate) fn admit(&self, token: &str) -> Admission {
        let now = Instant::now();
        if let Ok(refused) = self.refused.lock() {
            if refused.get(&key(token)).is_some_and(|until| *until > now) {
                return Admission::RefusedRecently;
            }
        }
        let Ok(mut bucket) = self.bucket.lock() else {
            return Admission::OverCeiling;
        };
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * PER_SECOND).min(BURST);
        bucket.updated = now;
        if bucket.tokens < 1.0 {
            return Admission::OverCeiling;
        }
        bucket.tokens -= 1.0;
        Admission::Ask
    }

    /// Remembers that the provider refused `token`.
    pub(crate) fn refused(&self, token: &str) {
        let now = Instant::now();
        let Ok(mut refused) = self.refused.lock() else {
            return;
        };
        if refused.len() >= REFUSED_ENTRIES {
            refused.retain(|_, until| *until > now);
        }
        if refused.len() < REFUSED_ENTRIES {
            refused.insert(key(token), now + REFUSED_TTL);
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.refused.lock().map(|r| r.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_tokens_are_not_asked_again() {
        let guard = IntrospectionGuard::default();
        assert_eq!(guard.admit("t"), Admission::Ask);
        guard.refused("t");
        assert_eq!(guard.admit("t"), Admission::RefusedRecently);
        assert_eq!(guard.admit("u"), Admission::Ask);
    }

    #[test]
    fn a_flood_of_new_tokens_meets_the_ceiling_and_memory_stays_bounded() {
        let guard = IntrospectionGuard::default();
        let asked = (0..1_000)
            .filter(|i| guard.admit(&format!("random-{i}")) == Admission::Ask)
            .count();
        assert!(asked <= BURST as usize + 2, "{asked} calls let through");
        for i in 0..(REFUSED_ENTRIES + 100) {
            guard.refused(&format!("random-{i}"));
        }
        assert!(guard.remembered() <= REFUSED_ENTRIES);
    }
}
