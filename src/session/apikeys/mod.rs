//! Personal API keys (feature `api-keys`): a signed-in user makes keys at the layer's own
//! route; a key in `Authorization: Bearer toidc_…` then authenticates as that user on
//! protected routes, with the user-detail hook and the requirements applied as for a
//! session.

pub(crate) mod cache;
pub(crate) mod format;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sql")]
pub(crate) mod sql;
pub(crate) mod store;

use std::fmt;
use std::sync::Arc;

pub use memory::MemoryApiKeyStore;
pub use record::ApiKey;
pub use store::ApiKeyStore;

/// Keys per user unless configured.
pub(crate) const DEFAULT_PER_USER: usize = 100;

/// API keys as configured.
pub(crate) struct ApiKeys {
    /// The management route, base path included: `GET`/`POST` here, `DELETE` `{path}/{id}`.
    pub(crate) path: String,
    pub(crate) per_user: usize,
    /// Scopes any key may carry, beyond those the creating session has itself.
    pub(crate) scopes: Vec<String>,
    /// `end_sessions_for` revokes the user's keys too.
    pub(crate) end_with_sessions: bool,
    pub(crate) store: Arc<dyn store::DynKeyStore>,
    /// Identities of keys in use, with the hook's user.
    pub(crate) identities: cache::KeyIdentities,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("path", &self.path)
            .field("per_user", &self.per_user)
            .field("scopes", &self.scopes)
            .field("end_with_sessions", &self.end_with_sessions)
            .field("store", &self.store.name())
            .finish_non_exhaustive()
    }
}
