//! The memory store's back-channel logout keys (`sid:…`, `sub:…`) and the sessions each
//! names, sharing the ids and keys the store already holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A session id or a logout key, shared between the store's map and its indexes.
pub(crate) type Shared = Arc<str>;

/// The sessions one key names. A provider session id (`sid:…`) names one session, so that
/// case holds the id itself: a set of one would cost a table per session.
#[derive(Debug)]
enum Ids {
    One(Shared),
    /// Ids are ours (random, and read from sealed cookies), so a fast hasher is safe. Boxed
    /// so that each key naming one id, the common case, does not take a set's room.
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<Shared, foldhash::fast::RandomState>>),
}

/// Logout keys to the sessions they name.
#[derive(Debug, Default)]
pub(crate) struct LogoutIndex {
    /// Keys come from the provider's tokens: the standard hasher keeps lookups even.
    by_key: HashMap<Shared, Ids>,
}

impl LogoutIndex {
    /// Files session `id` under `key`, and gives the key back as the index holds it, for the
    /// session to keep without another copy.
    pub(crate) fn insert(&mut self, key: &str, id: &Shared) -> Shared {
        let filed = self.by_key.get_key_value(key).map(|(k, _)| Arc::clone(k));
        if let Some(shared) = filed {
            let Some(ids) = self.by_key.get_mut(key) else {
                return shared;
            };
            match ids {
                Ids::One(one) if **one == **id => {}
                Ids::One(one) => {
                    let mut set = HashSet::with_capacity_and_hasher(2, Default::default());
                    set.insert(Arc::clone(one));
                    set.insert(Arc::clone(id));
                    *ids = Ids::Many(Box::new(set));
                }
                Ids::Many(set) => {
                    set.insert(Arc::clone(id));
                }
            }
            return shared;
        }
        let shared: Shared = Arc::from(key);
        self.by_key
            .insert(Arc::clone(&shared), Ids::One(Arc::clone(id)));
        shared
    }

    /// Unfiles session `id` from `key`; a key left naming nothing goes.
    pub(crate) fn remove(&mut self, key: &str, id: &str) {
        let Some(ids) = self.by_key.get_mut(key) else {
            return;
        };
        let now_empty = match ids {
            Ids::One(one) => **one == *id,
            Ids::Many(set) => {
                set.remove(id);
                set.is_empty()
            }
        };
        if now_empty {
            self.by_key.remove(key);
        }
    }

    /// The sessions `key` names, unfiling the key.
    pub(crate) fn take(&mut self, key: &str) -> Vec<Shared> {
        match self.by_key.remove(key) {
            None => Vec::new(),
            Some(Ids::One(id)) => vec![id],
            Some(Ids::Many(set)) => set.into_iter().collect(),
        }
    }

    /// Every key with the ids it names.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<(Shared, Vec<Shared>)> {
        self.by_key
            .iter()
            .map(|(key, ids)| {
                let ids = match ids {
                    Ids::One(id) => vec![Arc::clone(id)],
                    Ids::Many(set) => set.iter().cloned().collect(),
                };
                (Arc::clone(key), ids)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(index: &LogoutIndex, key: &str) -> Vec<String> {
        let mut found: Vec<String> = index
            .entries()
            .into_iter()
            .filter(|(k, _)| &**k == key)
            .flat_map(|(_, ids)| ids)
            .map(|id| id.to_string())
            .collect();
        found.sort();
        found
    }

    #[test]
    fn a_key_names_one_session_then_many_then_none() {
        let mut index = LogoutIndex::default();
        let (a, b): (Shared, Shared) = (Arc::from("a"), Arc::from("b"));
        let key = index.insert("sub:alice", &a);
        assert_eq!(&*key, "sub:alice");
        // Filing the same session again changes nothing.
        assert!(Arc::ptr_eq(&index.insert("sub:alice", &a), &key));
        assert_eq!(ids(&index, "sub:alice"), ["a"]);
        index.insert("sub:alice", &b);
        assert_eq!(ids(&index, "sub:alice"), ["a", "b"]);
        index.remove("sub:alice", "a");
        assert_eq!(ids(&index, "sub:alice"), ["b"]);
        index.remove("sub:alice", "b");
        assert!(index.entries().is_empty());
    }

    #[test]
    fn removing_another_session_keeps_the_one_filed() {
        let mut index = LogoutIndex::default();
        index.insert("sid:1", &Arc::from("a"));
        index.remove("sid:1", "b");
        index.remove("sid:2", "a");
        assert_eq!(ids(&index, "sid:1"), ["a"]);
        assert_eq!(
            index
                .take("sid:1")
                .iter()
                .map(|id| &**id)
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert!(index.take("sid:1").is_empty());
        assert!(index.entries().is_empty());
    }
}
