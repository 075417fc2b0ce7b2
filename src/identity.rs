//! The signed-in user as handlers see it.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::authz::Denied;
use crate::session::SessionData;
use crate::user::{AnyUser, UserHook};

/// The signed-in user of a request: user id, claims and tokens. Cheap to clone.
///
/// The layer puts it in the request extensions; read it with the axum or actix-web
/// extractor (`Identity` or `Option<Identity>`) or from the extensions directly.
#[derive(Clone)]
pub struct Identity {
    session: Arc<SessionData>,
    /// The hook whose `User` type the stored user decodes into.
    user_hook: Option<UserHook>,
}

impl Identity {
    pub(crate) fn new(session: Arc<SessionData>) -> Self {
        Self {
            session,
            user_hook: None,
        }
    }

    /// This identity, able to decode its user with `hook`'s `User` type.
    #[must_use]
    pub(crate) fn with_user_hook(mut self, hook: Option<&UserHook>) -> Self {
        self.user_hook = hook.cloned();
        self
    }

    /// The user id: the value of the configured claim (`sub` by default).
    #[must_use]
    pub fn user_id(&self) -> &str {
        &self.session.user_id
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

    /// An `Authorization` header value carrying the caller's access token, ready to call
    /// downstream services on the user's behalf. Marked sensitive so HTTP stacks do not log it.
    #[must_use]
    pub fn authorization_header(&self) -> Option<http::HeaderValue> {
        let token = self.session.access_token.as_deref()?;
        let mut value = http::HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        value.set_sensitive(true);
        Some(value)
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
        let hook = self.user_hook.as_ref()?;
        let typed = self
            .session
            .typed_user
            .typed
            .get_or_init(|| match hook.decode(stored) {
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
            .finish_non_exhaustive()
    }
}

/// What the layer found for a request: present on every request it handled.
#[derive(Clone, Debug)]
pub(crate) struct Authentication {
    pub(crate) identity: Option<Identity>,
    pub(crate) context: Arc<AuthContext>,
}

/// What per-route checks need from the layer's configuration.
#[derive(Debug)]
pub(crate) struct AuthContext {
    pub(crate) logout_path: String,
    pub(crate) denied_page: Option<crate::authz::AccessDeniedPage>,
}

impl AuthContext {
    /// `403` for a signed-in identity a requirement turned away; the log names the rule.
    pub(crate) fn deny(
        &self,
        identity: &Identity,
        denied: &Denied,
        html: bool,
        set_cookies: Vec<http::HeaderValue>,
    ) -> crate::response::CoreResponse {
        tracing::info!(user_id = %identity.user_id(), rule = %denied, "access denied");
        crate::authz::render_denied(
            identity,
            html,
            &self.logout_path,
            self.denied_page.as_ref(),
            set_cookies,
        )
    }
}
