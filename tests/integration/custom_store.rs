//! A store written with the public API only, as `SessionStore`'s documentation shows it:
//! it passes the exported conformance suite, signs users in and out through the layer, and
//! serves back-channel logout.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_oidc::store::{SessionData, SessionStore, StoreError};
use tower_oidc::testing::store_suite;

use crate::stores::{backchannel_logout_with, login_round_trip};

#[derive(Default)]
pub struct HashMapStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Session ids to their records and when these expire (`None`: beyond `Instant`).
    records: HashMap<String, (String, Option<Instant>)>,
    /// Logout keys (`sid:…`, `sub:…`) to the ids of the sessions they name.
    by_logout_key: HashMap<String, HashSet<String>>,
}

fn is_live(expires: Option<Instant>, now: Instant) -> bool {
    expires.is_none_or(|expires| now < expires)
}

impl HashMapStore {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A thread panicked while holding the lock: the maps may be half updated.
        self.inner
            .lock()
            .map_err(|_| StoreError::other("session map lock poisoned"))
    }
}

impl SessionStore for HashMapStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        let inner = self.lock()?;
        match inner.records.get(id) {
            Some((record, expires)) if is_live(*expires, Instant::now()) => {
                SessionData::from_record(record).map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let record = session.to_record()?;
        let now = Instant::now();
        let mut inner = self.lock()?;
        // Expired sessions go when another is saved: O(n), fine for a small map.
        inner
            .records
            .retain(|_, (_, expires)| is_live(*expires, now));
        let Inner {
            records,
            by_logout_key,
        } = &mut *inner;
        by_logout_key.retain(|_, ids| {
            ids.retain(|id| records.contains_key(id));
            !ids.is_empty()
        });
        inner
            .records
            .insert(id.to_owned(), (record, now.checked_add(ttl)));
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.lock()?.records.remove(id);
        Ok(())
    }

    async fn index(&self, id: &str, keys: &[String], _ttl: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for key in keys {
            inner
                .by_logout_key
                .entry(key.clone())
                .or_default()
                .insert(id.to_owned());
        }
        Ok(())
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        let ids = inner.by_logout_key.remove(key).unwrap_or_default();
        let ended = ids
            .iter()
            .filter_map(|id| inner.records.remove(id))
            .filter(|(_, expires)| is_live(*expires, now))
            .count();
        Ok(ended)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_store_conforms() {
    store_suite::run(HashMapStore::default()).await;
}

#[tokio::test]
async fn the_documented_store_signs_in_and_out() {
    let store = Arc::new(HashMapStore::default());
    login_round_trip(Arc::clone(&store)).await;
    let inner = store.inner.lock().expect("lock");
    assert!(inner.records.is_empty(), "logout deleted the record");
}

#[tokio::test]
async fn the_documented_store_serves_backchannel_logout() {
    backchannel_logout_with(HashMapStore::default()).await;
}

#[tokio::test]
async fn an_unreadable_record_is_corrupt() {
    let store = HashMapStore::default();
    store
        .lock()
        .expect("lock")
        .records
        .insert("id".into(), ("{\"sid\":".into(), None));
    assert!(matches!(
        store.load("id").await,
        Err(StoreError::Corrupt { .. })
    ));
}
