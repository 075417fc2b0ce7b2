//! Identities of keys in use: the session-like record a key authenticates as, with the
//! user-detail hook's user, built once and shared by the key's requests.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::session::SessionData;

/// Keys' identities by key id. Entries are checked against the store on each request
/// (the key must still exist), so a stale one is never used for a revoked key.
pub(crate) struct KeyIdentities {
    entries: RwLock<HashMap<Box<str>, Arc<SessionData>, foldhash::fast::RandomState>>,
    capacity: usize,
}

impl KeyIdentities {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::default()),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SessionData>> {
        self.entries.read().ok()?.get(id).cloned()
    }

    pub(crate) fn insert(&self, id: &str, session: Arc<SessionData>) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(id.into(), session);
    }

    pub(crate) fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }

    pub(crate) fn forget_user(&self, user_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, session| session.user_id != user_id);
        }
    }
}
