//! Identities of keys in use: the session-like record a key authenticates as, with the
//! user-detail hook's user, built once and shared by the key's requests.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::ApiKey;
use crate::secret::constant_time_eq;
use crate::session::SessionData;

/// A key's identity and its id, shared by the identities handed out.
pub(crate) type Entry = (Arc<str>, Arc<SessionData>);

struct Slot {
    entry: Entry,
    /// The record a secret was last checked against, and that secret: while an in-process
    /// store still hands out this very record (not revoked, not touched since), the same
    /// secret is known to match without hashing it again.
    checked: Option<(Arc<ApiKey>, Box<str>)>,
}

/// Keys' identities by key id. Entries are checked against the store on each request
/// (the key must still exist), so a stale one is never used for a revoked key.
pub(crate) struct KeyIdentities {
    entries: RwLock<HashMap<Arc<str>, Slot, foldhash::fast::RandomState>>,
    capacity: usize,
}

impl KeyIdentities {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::default()),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Entry> {
        Some(self.entries.read().ok()?.get(id)?.entry.clone())
    }

    /// The identity of key `id`, if `secret` was found to match `record` before, and
    /// `record` is the store's record as it is now (the same allocation).
    pub(crate) fn get_checked(
        &self,
        id: &str,
        record: &Arc<ApiKey>,
        secret: &str,
    ) -> Option<Entry> {
        let entries = self.entries.read().ok()?;
        let slot = entries.get(id)?;
        let (checked, known) = slot.checked.as_ref()?;
        (Arc::ptr_eq(checked, record) && constant_time_eq(known.as_bytes(), secret.as_bytes()))
            .then(|| slot.entry.clone())
    }

    /// Notes that `secret` matched `record`, the store's record of key `id`.
    pub(crate) fn remember_check(&self, id: &str, record: &Arc<ApiKey>, secret: &str) {
        if let Ok(mut entries) = self.entries.write() {
            if let Some(slot) = entries.get_mut(id) {
                slot.checked = Some((Arc::clone(record), secret.into()));
            }
        }
    }

    pub(crate) fn insert(&self, id: &str, session: Arc<SessionData>) -> Entry {
        let id: Arc<str> = Arc::from(id);
        let entry = (Arc::clone(&id), session);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity {
                entries.clear();
            }
            let slot = Slot {
                entry: entry.clone(),
                checked: None,
            };
            entries.insert(id, slot);
        }
        entry
    }

    pub(crate) fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }

    pub(crate) fn forget_user(&self, user_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, slot| slot.entry.1.user_id != user_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Arc<ApiKey> {
        Arc::new(ApiKey {
            id: "k1".into(),
            user_id: "alice".into(),
            name: None,
            hash: String::new(),
            created: 0,
            last_used: None,
            expires: None,
            scopes: Vec::new(),
            claims: serde_json::Map::new(),
        })
    }

    fn session() -> Arc<SessionData> {
        Arc::new(record().session())
    }

    #[test]
    fn a_remembered_check_holds_for_the_same_record_and_secret_only() {
        let cache = KeyIdentities::new(10);
        let record = record();
        cache.insert("k1", session());
        assert!(cache.get_checked("k1", &record, "s3cret").is_none());
        cache.remember_check("k1", &record, "s3cret");
        assert!(cache.get_checked("k1", &record, "s3cret").is_some());
        assert!(cache.get_checked("k1", &record, "s3creT").is_none());
        assert!(cache.get_checked("k1", &record, "s3cre").is_none());
        // A record replaced in the store (revoked and remade, or its use recorded) must be
        // checked again.
        let replaced = Arc::new((*record).clone());
        assert!(cache.get_checked("k1", &replaced, "s3cret").is_none());
        assert!(cache.get_checked("k2", &record, "s3cret").is_none());
    }

    #[test]
    fn a_check_is_remembered_only_beside_an_identity_and_goes_with_it() {
        let cache = KeyIdentities::new(10);
        let record = record();
        cache.remember_check("k1", &record, "s3cret");
        assert!(cache.get_checked("k1", &record, "s3cret").is_none());
        cache.insert("k1", session());
        cache.remember_check("k1", &record, "s3cret");
        cache.forget_user("alice");
        assert!(cache.get_checked("k1", &record, "s3cret").is_none());
        cache.insert("k1", session());
        assert!(cache.get_checked("k1", &record, "s3cret").is_none());
    }
}
