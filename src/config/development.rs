//! The development switch: every request gets one configured identity and no provider
//! is used. Refused wherever it could reach production unnoticed: with `Secure` cookies
//! (the default, and what any https deployment has) or with any provider or client
//! setting (what a real deployment has).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Config, ConfigBuilder, ConfigError};

/// The identity every request gets while authentication is off.
#[derive(Debug, Clone)]
pub(crate) struct DevelopmentUser {
    pub(crate) user_id: String,
    /// The claims, with `sub` set to the user id when they lack it.
    pub(crate) claims: Map<String, Value>,
}

/// An issuer that resolves nowhere (`.invalid`, RFC 6761): the configuration needs one,
/// and nothing ever asks it.
const NO_ISSUER: &str = "https://auth-disabled.invalid";
const NO_CLIENT: &str = "authentication-disabled";

impl ConfigBuilder {
    /// **Development only — never in production.** Turns authentication off: every
    /// request is given the identity `user_id` with `claims` (a JSON object; `sub` is
    /// set to `user_id` when it lacks one), as if that user had signed in. No provider
    /// is used; the extractors, [`Require`](crate::Require) and the user-detail hook
    /// (called once, as at a login) see that identity. The login and logout routes
    /// redirect straight back into the application.
    ///
    /// It cannot be left on unnoticed: a warning is logged when the layer starts and
    /// every minute while it serves, and every response carries `X-OIDC-Auth: disabled`.
    /// [`build`](Self::build) refuses it unless cookies are explicitly not `Secure`
    /// ([`cookie_secure(false)`](Self::cookie_secure), so never on an https deployment),
    /// and refuses it alongside any provider or client setting (issuer, discovery URL,
    /// endpoints, client id or secret, redirect URI, audiences). The environment's form is
    /// `OIDC_DISABLE_AUTH=true` with `OIDC_DEV_USER` and `OIDC_DEV_CLAIMS`.
    ///
    /// ```
    /// use serde_json::json;
    ///
    /// let config = tower_oidc::Config::builder()
    ///     .danger_development_user("alice", json!({"email": "alice@example.com"}))
    ///     .cookie_secure(false)
    ///     .build()?;
    /// # let _ = config;
    /// let refused = tower_oidc::Config::builder()
    ///     .danger_development_user("alice", json!({}))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(refused.setting(), "danger_development_user");
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn danger_development_user(mut self, user_id: impl Into<String>, claims: Value) -> Self {
        self.auth_disabled = Some(self.sourced(true));
        self.development_user = Some(self.sourced(user_id.into()));
        self.development_claims = Some(self.sourced(claims));
        self
    }

    /// `OIDC_DISABLE_AUTH`.
    pub(super) fn auth_disabled(mut self, disabled: bool) -> Self {
        self.auth_disabled = Some(self.sourced(disabled));
        self
    }

    /// `OIDC_DEV_USER`.
    pub(super) fn development_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.development_user = Some(self.sourced(user_id.into()));
        self
    }

    /// `OIDC_DEV_CLAIMS`.
    pub(super) fn development_claims(mut self, claims: Value) -> Self {
        self.development_claims = Some(self.sourced(claims));
        self
    }

    /// Whether authentication is to be turned off.
    pub(super) fn disables_auth(&self) -> bool {
        self.auth_disabled
            .as_ref()
            .is_some_and(|switch| switch.value)
    }

    /// The configuration with authentication off, after every refusal.
    pub(super) fn build_development(mut self) -> Result<Config, ConfigError> {
        let switch = self.auth_disabled.take();
        self.providers.clear();
        let name = switch.as_ref().map_or("danger_development_user", |s| {
            s.name("danger_development_user")
        });
        let user = self.checked_development_user(name)?;
        self.refuse_production_settings(name)?;
        if self.secret_key.is_none() {
            self.generated_key = true;
        }
        let mut config = self.issuer(NO_ISSUER).client_id(NO_CLIENT).build()?;
        config.development = Some(Arc::new(user));
        Ok(config)
    }

    fn checked_development_user(&mut self, switch: &str) -> Result<DevelopmentUser, ConfigError> {
        let Some(user) = self.development_user.take() else {
            return Err(ConfigError::new(
                switch.to_owned(),
                "needs OIDC_DEV_USER, the user id every request is given",
            ));
        };
        let user_id = user.value.trim().to_owned();
        if user_id.is_empty() {
            return Err(ConfigError::new(
                user.name("danger_development_user"),
                "must name the user every request is given",
            ));
        }
        let claims = match self.development_claims.take() {
            None => Map::new(),
            Some(claims) => match claims.value {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                _ => {
                    return Err(ConfigError::new(
                        claims.name("danger_development_user"),
                        "the claims must be a JSON object",
                    ))
                }
            },
        };
        let mut claims = claims;
        claims
            .entry("sub")
            .or_insert_with(|| Value::String(user_id.clone()));
        Ok(DevelopmentUser { user_id, claims })
    }

    /// Settings a deployment has and a development machine does not need: any of them
    /// means this configuration may be a production one.
    fn refuse_production_settings(&self, switch: &str) -> Result<(), ConfigError> {
        let refuse = |reason: String| {
            Err(ConfigError::new(
                switch.to_owned(),
                format!(
                    "turns authentication off, which is refused {reason}; \
                     authentication may be off on a development machine only, never in production"
                ),
            ))
        };
        if self.cookie_secure != Some(false) {
            return refuse(
                "while cookies are Secure (the default): set OIDC_COOKIE_SECURE=false \
                 (`cookie_secure(false)`) to say this runs on plain http"
                    .to_owned(),
            );
        }
        let set = [
            self.issuer.as_ref().map(|s| s.name("issuer")),
            self.discovery_url.as_ref().map(|s| s.name("discovery_url")),
            self.endpoints.as_ref().map(|s| s.name("endpoints")),
            self.client_id.as_ref().map(|s| s.name("client_id")),
            self.client_secret.as_ref().map(|_| "a client secret"),
            self.client_auth.as_ref().map(|_| "client_auth"),
            self.redirect_uri.as_ref().map(|s| s.name("redirect_uri")),
            self.audiences.as_ref().map(|s| s.name("audiences")),
            self.bearer_only.then_some("bearer_only"),
            self.introspect_opaque_tokens
                .then_some("introspect_opaque_tokens"),
        ];
        match set.into_iter().flatten().next() {
            Some(setting) => refuse(format!(
                "while {setting} is set: a configuration for an identity provider is one \
                 that may serve users"
            )),
            None => Ok(()),
        }
    }
}
