//! Identities of keys in use: the session-like record a key authenticates as, with the
//! user-detail hook's user, built once and shared by the key's requests.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::session::SessionData;

/// A key's identity and its id, shared by the identities handed out.
pub(crate) type Entry = (Arc<str>, Arc<SessionData>);

/// Keys' identities by key id. Entries are checked against the store on each request
/// (the key must still exist), so a stale one is never used for a revoked key.
pub(crate) struct KeyIdentities {
    entries: RwLock<HashMap<Arc<str>, Entry, foldhash::fast::RandomState>>,
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
        self.entries.read().ok()?.get(id).cloned()
    }

    pub(crate) fn insert(&self, id: &str, session: Arc<SessionData>) -> Entry {
        let id: Arc<str> = Arc::from(id);
        let entry = (Arc::clone(&id), session);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(id, entry.clone());
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
            entries.retain(|_, (_, session)| session.user_id != user_id);
        }
    }
}
