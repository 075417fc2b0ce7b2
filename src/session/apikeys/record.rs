//! The record a store keeps for each key: never the key, only the digest of its secret.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::session::SessionData;
use crate::store::StoreError;

/// A personal API key as stored: its owner, name, scopes and times, the claims it
/// carries, and the SHA-256 digest of its secret (the secret itself is never stored).
///
/// Stores keep it as its record: [`to_record`](Self::to_record) when saving,
/// [`from_record`](Self::from_record) when loading (JSON text).
///
/// ```
/// use tower_oidc::store::ApiKey;
///
/// let key = ApiKey::from_record(
///     r#"{"id":"0123456789abcdef01234567","user_id":"alice","hash":"00","created":10,"expires":20}"#,
/// )?;
/// assert_eq!(key.user_id(), "alice");
/// assert!(key.is_expired(20) && !key.is_expired(19));
/// assert_eq!(ApiKey::from_record(key.to_record()?)?.id(), key.id());
/// # Ok::<(), tower_oidc::store::StoreError>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub(crate) id: String,
    pub(crate) user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// SHA-256 of the secret, hexadecimal.
    pub(crate) hash: String,
    /// Unix seconds.
    pub(crate) created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_used: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<u64>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    /// The owner's claims when the key was made, without those that speak of that login.
    #[serde(default)]
    pub(crate) claims: Map<String, Value>,
}

impl ApiKey {
    /// The key's id: the part after `toidc_` and before the secret. Not a secret.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The user the key authenticates as.
    #[must_use]
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Unix seconds when the key stops working, if it ever does.
    #[must_use]
    pub fn expires_at(&self) -> Option<u64> {
        self.expires
    }

    /// Whether the key has expired at `now` (Unix seconds).
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }

    /// Unix seconds of the last request the key made, as recorded (at most once a minute).
    #[must_use]
    pub fn last_used(&self) -> Option<u64> {
        self.last_used
    }

    /// Records a use at `now`; stores call it in [`ApiKeyStore::touch`].
    ///
    /// [`ApiKeyStore::touch`]: crate::store::ApiKeyStore::touch
    pub fn set_last_used(&mut self, now: u64) {
        self.last_used = Some(now);
    }

    /// The record to keep: JSON text holding the digest of the secret, never the secret.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if it cannot be encoded.
    pub fn to_record(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(StoreError::other)
    }

    /// A key from its record.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] if `record` is not one.
    pub fn from_record(record: impl AsRef<str>) -> Result<Self, StoreError> {
        serde_json::from_str(record.as_ref())
            .map_err(|err| StoreError::corrupt(format!("API key record: {err}")))
    }

    /// What the key authenticates as: its owner with the claims it was made with, its
    /// scopes as the `scope` claim, and no token to pass on.
    pub(crate) fn session(&self) -> SessionData {
        let mut claims = self.claims.clone();
        if !self.scopes.is_empty() {
            claims.insert("scope".into(), Value::String(self.scopes.join(" ")));
        }
        SessionData::of_credential(
            self.user_id.clone(),
            claims,
            self.created,
            self.expires.unwrap_or(u64::MAX),
        )
    }

    /// What the owner sees in the listing: never the digest nor the claims.
    pub(crate) fn listing(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "prefix": format!("{}{}", super::format::PREFIX, self.id),
            "created": self.created,
            "last_used": self.last_used,
            "expires": self.expires,
            "scopes": self.scopes,
        })
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}
