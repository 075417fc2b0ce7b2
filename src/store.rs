//! Where signed-in sessions live when not in the cookie itself: the [`SessionStore`]
//! contract, the built-in stores, and the session record they keep.
//!
//! [`MemoryStore`] keeps sessions in this process; [`RedisStore`] (feature `redis`) and
//! [`SqlStore`] (feature `sql`) share them between instances. Any type that implements
//! [`SessionStore`] can be given to
//! [`ConfigBuilder::session_store`](crate::ConfigBuilder::session_store).

#[cfg(feature = "api-keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "api-keys")))]
pub use crate::session::apikeys::{ApiKey, ApiKeyStore, MemoryApiKeyStore};
pub use crate::session::changes::{change_tag, ChangeListener};
pub use crate::session::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::session::redis_store::{RedisStore, RedisStoreBuilder};
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub use crate::session::sql_store::SqlStore;
pub use crate::session::store::{InProcessStore, SessionStore, StoreError};
pub use crate::session::SessionData;
