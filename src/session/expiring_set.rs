//! A bounded set of keys that each expire: what single-use checks and ended sessions are
//! remembered in, inside this process.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The most expired keys one call removes on its way, so no call pays for a large
/// backlog; each insertion removes more than it adds, so the backlog never grows.
const PURGE_PER_CALL: usize = 64;

/// Keys, each remembered until its expiry, at most `capacity` of them. Times are in
/// whatever unit the owner counts in (seconds, nanoseconds), as long as it is the same for
/// `now` and expiries.
///
/// When full, expired keys go first, then the key closest to its expiry (the oldest of
/// those expiring together). Refusing to record a new key instead would let through the
/// very replay it is recorded against, while forgetting the oldest only lets through a
/// replay of a key that `capacity` newer ones have followed; and emptying the set when
/// full, as a flood could then force at will, would forget them all at once. Every
/// operation costs O(log n).
pub(crate) struct ExpiringSet {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    /// Keys to their expiry and insertion number. Keys may come from requests, so the
    /// hasher stays keyed.
    expires: HashMap<Arc<str>, (u64, u64)>,
    /// The same keys by expiry, then by insertion: the first expires first, and of keys
    /// expiring together (times in whole seconds) the oldest comes first.
    by_expiry: BTreeSet<(u64, u64, Arc<str>)>,
    /// Insertions so far.
    inserted: u64,
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some((key, (expires, number))) = self.expires.remove_entry(key) {
            self.by_expiry.remove(&(expires, number, key));
        }
    }

    /// Forgets the key closest to its expiry; `false` when there is none.
    fn pop_first(&mut self) -> bool {
        match self.by_expiry.pop_first() {
            Some((_, _, key)) => {
                self.expires.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Forgets up to a few keys that have expired at `now`.
    fn purge(&mut self, now: u64) {
        for _ in 0..PURGE_PER_CALL {
            match self.by_expiry.first() {
                Some((expires, _, _)) if *expires <= now => {
                    self.pop_first();
                }
                _ => break,
            }
        }
    }

    fn live(&self, key: &str, now: u64) -> bool {
        self.expires
            .get(key)
            .is_some_and(|(expires, _)| *expires > now)
    }
}

/// Shows how full the set is, never its keys.
impl std::fmt::Debug for ExpiringSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.inner.lock().map(|inner| inner.expires.len()).ok();
        f.debug_struct("ExpiringSet")
            .field("held", &held)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ExpiringSet {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                expires: HashMap::new(),
                by_expiry: BTreeSet::new(),
                inserted: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    /// Records `key` until `expires`. `Some(true)` when it was not recorded (or had
    /// expired) at `now`; `Some(false)` when it is, which leaves its expiry as it was;
    /// `None` when a thread panicked while changing the set.
    pub(crate) fn insert(&self, key: &str, now: u64, expires: u64) -> Option<bool> {
        let mut inner = self.inner.lock().ok()?;
        inner.purge(now);
        if inner.live(key, now) {
            return Some(false);
        }
        inner.remove(key);
        while inner.expires.len() >= self.capacity && inner.pop_first() {}
        let key: Arc<str> = Arc::from(key);
        let number = inner.inserted;
        inner.inserted += 1;
        inner.by_expiry.insert((expires, number, Arc::clone(&key)));
        inner.expires.insert(key, (expires, number));
        Some(true)
    }

    /// Forgets `key`; `None` when a thread panicked while changing the set.
    pub(crate) fn remove(&self, key: &str) -> Option<()> {
        let mut inner = self.inner.lock().ok()?;
        inner.remove(key);
        Some(())
    }

    /// Whether `key` is recorded and has not expired at `now`; `None` when a thread
    /// panicked while changing the set.
    pub(crate) fn contains(&self, key: &str, now: u64) -> Option<bool> {
        let inner = self.inner.lock().ok()?;
        Some(inner.live(key, now))
    }

    /// How many keys are held, expired ones included until they are purged.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.expires.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_new_once_until_they_expire() {
        let set = ExpiringSet::new(10);
        assert_eq!(set.insert("a", 0, 10), Some(true));
        assert_eq!(set.insert("a", 5, 20), Some(false));
        assert_eq!(set.contains("a", 9), Some(true));
        assert_eq!(set.contains("a", 10), Some(false));
        assert_eq!(set.insert("a", 10, 20), Some(true), "expired: new again");
        assert_eq!(set.insert("a", 19, 30), Some(false));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn when_full_expired_keys_go_first_then_the_closest_to_expiry() {
        let set = ExpiringSet::new(3);
        assert_eq!(set.insert("late", 0, 100), Some(true));
        assert_eq!(set.insert("early", 0, 5), Some(true));
        assert_eq!(set.insert("middle", 0, 50), Some(true));
        // Nothing expired: the key closest to its expiry makes room.
        assert_eq!(set.insert("new", 1, 60), Some(true));
        assert_eq!(set.len(), 3);
        assert_eq!(set.contains("early", 1), Some(false));
        for kept in ["late", "middle", "new"] {
            assert_eq!(set.contains(kept, 1), Some(true), "{kept}");
        }
        // `middle` has expired by 55: it goes, the others stay.
        assert_eq!(set.insert("newer", 55, 200), Some(true));
        assert_eq!(set.len(), 3);
        assert_eq!(set.contains("late", 55), Some(true));
        assert_eq!(set.contains("new", 55), Some(true));
    }

    #[test]
    fn a_large_backlog_of_expired_keys_is_worked_off_in_steps() {
        let set = ExpiringSet::new(10_000);
        for i in 0..1_000 {
            set.insert(&format!("k{i}"), 0, 10);
        }
        for i in 0..5 {
            set.insert(&format!("fresh{i}"), 20, 100);
        }
        assert_eq!(set.len(), 1_000 - 5 * PURGE_PER_CALL + 5, "a few at a time");
        for i in 5..40 {
            set.insert(&format!("fresh{i}"), 20, 100);
        }
        assert_eq!(set.len(), 40, "every expired key is gone");
    }
}
