//! The memory store's sessions in use, decoded from their compact records.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::logout_index::Shared;
use super::store::StoreError;
use super::{stored, SessionData};

/// Decoded sessions by store id, at most `capacity` of them: when full it is emptied, which
/// costs one decoding per session in use. The store keeps every session as its compact
/// record (a few times smaller than the decoded session, whose claims map and tokens make
/// most of its size), so sessions not in use take only that.
///
/// An entry is only ever the decoding of the store's current record for its id: the store
/// removes it under its write lock whenever that record changes or goes, and adds one only
/// under its read lock, from the record it is reading.
///
/// Entries are keyed by the address of the record's id, not by its text: the store gives
/// every record an `Arc` of its own for the id, and the entry holds a clone of it, so no
/// other record's id can have that address while the entry lives. Hashing an address
/// costs less than hashing and comparing the id again on every request.
#[derive(Debug)]
pub(crate) struct DecodedSessions {
    /// Addresses are spread enough for a fast hasher.
    sessions: RwLock<HashMap<usize, Decoded, foldhash::fast::RandomState>>,
    capacity: usize,
}

#[derive(Debug)]
struct Decoded {
    /// The id of the record decoded, which keeps its address from being reused.
    id: Shared,
    session: Arc<SessionData>,
}

/// What entries are keyed by.
fn address(id: &Shared) -> usize {
    Arc::as_ptr(id).cast::<u8>().addr()
}

impl DecodedSessions {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            sessions: RwLock::new(HashMap::default()),
            capacity: capacity.max(1),
        }
    }

    /// The session `record` holds, decoded once while it stays in use.
    pub(crate) fn get_or_decode(
        &self,
        id: &Shared,
        record: &[u8],
    ) -> Result<Arc<SessionData>, StoreError> {
        // A poisoned map holds whole entries still: each insert and removal is one call.
        if let Some(decoded) = self
            .sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&address(id))
            .filter(|decoded| Arc::ptr_eq(&decoded.id, id))
        {
            return Ok(Arc::clone(&decoded.session));
        }
        let session = Arc::new(decode(record)?);
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= self.capacity {
            sessions.clear();
        }
        let decoded = sessions.entry(address(id)).or_insert(Decoded {
            id: Arc::clone(id),
            session,
        });
        Ok(Arc::clone(&decoded.session))
    }

    /// Forgets the decoded session of the record whose id is `id`, a record that changed or
    /// went (the store holds its write lock, so nothing else reads this map).
    pub(crate) fn forget(&mut self, id: &Shared) {
        self.sessions
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&address(id));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The compact record of `session`: its binary form, as a session cookie carries it.
pub(crate) fn encode(session: &SessionData) -> Result<Box<[u8]>, StoreError> {
    stored::to_binary(session)
        .map(Vec::into_boxed_slice)
        .map_err(StoreError::other)
}

fn decode(record: &[u8]) -> Result<SessionData, StoreError> {
    stored::from_binary(record).ok_or_else(|| StoreError::corrupt("unreadable session record"))
}
