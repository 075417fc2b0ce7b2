//! The signed-in user as handlers see it.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::session::SessionData;

/// The user as handlers downcast it: the user-detail hook's own `User` type behind `dyn Any`.
pub(crate) type AnyUser = Arc<dyn Any + Send + Sync>;

/// Decodes the stored JSON user into the user-detail hook's own `User` type.
pub(crate) trait DecodeUser: Send + Sync {
    fn decode(&self, stored: &Value) -> Result<AnyUser, serde_json::Error>;
}

/// The signed-in user of a request: user id, claims and tokens. Cheap to clone.
///
/// The layer puts it in the request extensions; read it with the axum or actix-web
/// extractor (`Identity` or `Option<Identity>`) or from the extensions directly.
#[derive(Clone)]
pub struct Identity {
    session: Arc<SessionData>,
    /// Decodes the stored user into the hook's `User` type.
    user_decoder: Option<Arc<dyn DecodeUser>>,
    /// The id of the personal API key the request authenticated with.
    api_key: Option<Arc<str>>,
}

impl Identity {
    pub(crate) fn new(session: Arc<SessionData>) -> Self {
        Self {
            session,
            user_decoder: None,
            api_key: None,
        }
    }

    /// This identity, authenticated by the personal API key `id`.
    #[cfg(feature = "api-keys")]
    #[must_use]
    pub(crate) fn with_api_key(mut self, id: Arc<str>) -> Self {
        self.api_key = Some(id);
        self
    }

    /// This identity, able to decode its user into the hook's `User` type.
    #[must_use]
    pub(crate) fn with_user_decoder(mut self, decoder: Option<Arc<dyn DecodeUser>>) -> Self {
        self.user_decoder = decoder;
        self
    }

    /// The user id: the value of the configured claim (`sub` by default).
    #[must_use]
    pub fn user_id(&self) -> &str {
        &self.session.user_id
    }

    /// The name of the provider that signed the user in (or issued the bearer token), when
    /// several are configured; `None` with a single provider.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.session.provider.as_deref()
    }

    /// All claims: the ID token's merged with userinfo's.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.session.claims
    }

    /// One claim by name.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.session.claims.get(name)
    }

    /// The access token, to call APIs on the user's behalf.
    #[must_use]
    pub fn access_token(&self) -> Option<&str> {
        self.session.access_token.as_deref()
    }

    /// The ID token as the provider issued it.
    #[must_use]
    pub fn id_token(&self) -> Option<&str> {
        self.session.id_token.as_deref()
    }

    /// Unix seconds when the access token expires, if known.
    #[must_use]
    pub fn access_token_expires_at(&self) -> Option<u64> {
        self.session.access_expires_at
    }

    /// Unix seconds when the session ends (for a bearer token: when the token expires).
    #[must_use]
    pub fn session_expires_at(&self) -> u64 {
        self.session.expires_at
    }

    /// Whether the identity comes from an `Authorization: Bearer` token rather than a
    /// browser session.
    #[must_use]
    pub fn is_bearer(&self) -> bool {
        self.session.bearer
    }

    /// The id of the personal API key (feature `api-keys`) the request authenticated with;
    /// `None` for a browser session or a provider's bearer token. A key's identity is also
    /// [`is_bearer`](Self::is_bearer), carries no access token, and has the claims of its
    /// owner when the key was made, with the key's scopes as `scope`.
    #[must_use]
    pub fn api_key_id(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// An `Authorization` header value carrying the caller's access token, ready to call
    /// downstream services on the user's behalf. Marked sensitive so HTTP stacks do not log it.
    #[must_use]
    pub fn authorization_header(&self) -> Option<http::HeaderValue> {
        let token = self.session.access_token.as_deref()?;
        let mut value = http::HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The headers of a call to a downstream service with a DPoP-bound access token
    /// (RFC 9449): `Authorization: DPoP <token>` and a `DPoP` proof for `method` on `url`
    /// (its query and fragment are left out of the proof), signed with the session's key.
    /// Both are marked sensitive so HTTP stacks do not log them. A proof is good for one
    /// request: ask again for each call.
    ///
    /// `None` unless the session's tokens are bound to a key of its own
    /// ([`ConfigBuilder::dpop_bind_tokens`](crate::ConfigBuilder::dpop_bind_tokens) and a
    /// provider that bound them); use
    /// [`authorization_header`](Self::authorization_header) then.
    ///
    /// ```
    /// use tower_oidc::Identity;
    ///
    /// fn call_orders(identity: &Identity, client: &reqwest::Client) -> reqwest::RequestBuilder {
    ///     let url = "https://orders.example.com/orders";
    ///     let request = client.get(url);
    ///     match identity.dpop_headers("GET", url) {
    ///         Some(headers) => request.headers(headers),
    ///         None => match identity.authorization_header() {
    ///             Some(bearer) => request.header(http::header::AUTHORIZATION, bearer),
    ///             None => request,
    ///         },
    ///     }
    /// }
    /// # let _ = call_orders;
    /// ```
    #[must_use]
    pub fn dpop_headers(&self, method: &str, url: &str) -> Option<http::HeaderMap> {
        self.dpop_headers_inner(method, url, None)
    }

    /// [`dpop_headers`](Self::dpop_headers) with the nonce a service asked for: it
    /// answers `401` with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and the nonce in
    /// its `DPoP-Nonce` header; send the call once more with these headers.
    #[must_use]
    pub fn dpop_headers_with_nonce(
        &self,
        method: &str,
        url: &str,
        nonce: &str,
    ) -> Option<http::HeaderMap> {
        self.dpop_headers_inner(method, url, Some(nonce))
    }

    fn dpop_headers_inner(
        &self,
        method: &str,
        url: &str,
        nonce: Option<&str>,
    ) -> Option<http::HeaderMap> {
        let key = crate::dpop::client_key::from_stored(self.session.dpop_key.as_deref())?;
        let token = self.session.access_token.as_deref()?;
        crate::provider::dpop_client::resource_headers(&key, method, url, token, nonce)
    }

    /// Whether the session's tokens are bound to a DPoP key of its own, so that calls with
    /// them need [`dpop_headers`](Self::dpop_headers).
    #[must_use]
    pub fn is_dpop_bound(&self) -> bool {
        self.session.dpop_key.is_some()
    }

    /// The application's user loaded by the [`UserDetails`](crate::UserDetails) hook: `T` is
    /// the hook's `User` type, or `serde_json::Value` for the user as stored. Decoded at
    /// most once per session and shared afterwards, whichever types are asked for.
    ///
    /// `None` without a hook or a loaded user, when `T` is another type, or when the stored
    /// user no longer decodes as the hook's type (a session from before a change of that
    /// type, until the hook reloads it; logged at `warn` level).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use serde::{Deserialize, Serialize};
    /// use tower_oidc::Identity;
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct AppUser { user_id: String, is_active: bool }
    ///
    /// fn is_active(identity: &Identity) -> bool {
    ///     identity.user::<AppUser>().is_some_and(|user| user.is_active)
    /// }
    ///
    /// fn as_json(identity: &Identity) -> Option<Arc<serde_json::Value>> {
    ///     identity.user::<serde_json::Value>()
    /// }
    /// # let _ = (is_active, as_json);
    /// ```
    #[must_use]
    pub fn user<T>(&self) -> Option<Arc<T>>
    where
        T: Send + Sync + 'static,
    {
        let stored = self.session.user.as_ref()?;
        if let Some(user) = self.typed_user(stored) {
            if let Ok(user) = user.downcast::<T>() {
                return Some(user);
            }
        }
        if TypeId::of::<T>() != TypeId::of::<Value>() {
            return None;
        }
        let json = self
            .session
            .typed_user
            .json
            .get_or_init(|| Arc::new(stored.clone()));
        (Arc::clone(json) as AnyUser).downcast::<T>().ok()
    }

    /// The stored user as the hook's `User` type, decoded on first use.
    fn typed_user(&self, stored: &Value) -> Option<AnyUser> {
        let decoder = self.user_decoder.as_ref()?;
        let typed = self
            .session
            .typed_user
            .typed
            .get_or_init(|| match decoder.decode(stored) {
                Ok(user) => Some(user),
                Err(err) => {
                    tracing::warn!(
                        user_id = %self.session.user_id,
                        error = %err,
                        "the stored user does not decode as the user-detail hook's User type"
                    );
                    None
                }
            });
        typed.clone()
    }

    /// The hook's user as stored, JSON.
    #[must_use]
    pub fn user_json(&self) -> Option<&Value> {
        self.session.user.as_ref()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("user_id", &self.session.user_id)
            .field("claims", &self.session.claims.len())
            .field(
                "access_token",
                &self.session.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("api_key_id", &self.api_key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl Identity {
    /// A signed-in identity `alice` with `claims` and the hook's stored `user`.
    pub(crate) fn for_tests(claims: Value, user: Option<Value>) -> Self {
        let Value::Object(claims) = claims else {
            panic!("claims must be an object");
        };
        Self::new(Arc::new(SessionData {
            sid: "s".into(),
            user_id: "alice".into(),
            claims,
            id_token: None,
            access_token: Some("at".into()),
            refresh_token: None,
            access_expires_at: None,
            created_at: 1,
            expires_at: u64::MAX,
            user,
            user_loaded_at: Some(1),
            last_seen: None,
            bearer: false,
            typed_user: Default::default(),
            dpop_key: None,
            provider: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::UserDetails;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct AppUser {
        user_id: String,
        is_active: bool,
    }

    struct Users;

    impl UserDetails for Users {
        type User = AppUser;
        type Error = std::io::Error;

        async fn load_user(&self, _: &Identity) -> Result<Option<AppUser>, Self::Error> {
            Ok(None)
        }
    }

    struct JsonUsers;

    impl UserDetails for JsonUsers {
        type User = Value;
        type Error = String;

        async fn load_user(&self, _: &Identity) -> Result<Option<Value>, Self::Error> {
            Ok(None)
        }
    }

    fn hook(details: impl UserDetails) -> Option<Arc<dyn DecodeUser>> {
        Some(Arc::new(details))
    }

    fn stored() -> Value {
        json!({ "user_id": "alice", "is_active": true })
    }

    #[test]
    fn json_and_the_hooks_type_in_either_order() {
        let expected = AppUser {
            user_id: "alice".into(),
            is_active: true,
        };
        let hook = hook(Users);
        let json_first =
            Identity::for_tests(json!({}), Some(stored())).with_user_decoder(hook.clone());
        assert_eq!(json_first.user::<Value>().as_deref(), Some(&stored()));
        assert_eq!(json_first.user::<AppUser>().as_deref(), Some(&expected));
        assert_eq!(json_first.user::<Value>().as_deref(), Some(&stored()));

        let typed_first =
            Identity::for_tests(json!({}), Some(stored())).with_user_decoder(hook.clone());
        assert_eq!(typed_first.user::<AppUser>().as_deref(), Some(&expected));
        assert_eq!(typed_first.user::<Value>().as_deref(), Some(&stored()));
        assert_eq!(typed_first.user::<AppUser>().as_deref(), Some(&expected));
    }

    #[test]
    fn decoded_once_and_shared_by_clones() {
        let identity =
            Identity::for_tests(json!({}), Some(stored())).with_user_decoder(hook(Users));
        let clone = identity.clone();
        let first = identity.user::<AppUser>().expect("typed");
        let again = clone.user::<AppUser>().expect("typed");
        assert!(Arc::ptr_eq(&first, &again));
        let json = identity.user::<Value>().expect("json");
        assert!(Arc::ptr_eq(&json, &clone.user::<Value>().expect("json")));
    }

    #[test]
    fn only_the_hooks_type_or_json() {
        let identity =
            Identity::for_tests(json!({}), Some(stored())).with_user_decoder(hook(Users));
        // Decodes from any JSON, but is not the hook's type.
        assert!(identity.user::<serde::de::IgnoredAny>().is_none());
        assert!(identity.user::<String>().is_none());
        assert!(identity.user::<AppUser>().is_some());
    }

    #[test]
    fn a_json_hook_answers_json() {
        let identity =
            Identity::for_tests(json!({}), Some(stored())).with_user_decoder(hook(JsonUsers));
        assert_eq!(identity.user::<Value>().as_deref(), Some(&stored()));
        assert!(identity.user::<AppUser>().is_none());
    }

    #[test]
    fn without_a_hook_or_a_user() {
        let no_hook = Identity::for_tests(json!({}), Some(stored()));
        assert!(no_hook.user::<AppUser>().is_none());
        assert_eq!(no_hook.user::<Value>().as_deref(), Some(&stored()));
        let no_user = Identity::for_tests(json!({}), None).with_user_decoder(hook(Users));
        assert!(no_user.user::<AppUser>().is_none());
        assert!(no_user.user::<Value>().is_none());
    }

    #[test]
    fn a_stored_user_of_another_shape_is_json_only() {
        let identity =
            Identity::for_tests(json!({}), Some(json!({ "id": 7 }))).with_user_decoder(hook(Users));
        assert!(identity.user::<AppUser>().is_none());
        assert_eq!(
            identity.user::<Value>().as_deref(),
            Some(&json!({ "id": 7 }))
        );
    }

    #[test]
    fn debug_hides_tokens() {
        let identity = Identity::for_tests(json!({}), Some(stored()));
        let debug = format!("{identity:?}");
        assert!(
            !debug.contains("\"at\"") && debug.contains("[redacted]"),
            "{debug}"
        );
    }
}
