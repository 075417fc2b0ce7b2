//! Settings that trade a safe default for compatibility with a provider or a deployment.
//! Each one is off (safe) unless set.

use std::time::Duration;

use super::ConfigBuilder;

/// How long a back-channel logout token stays acceptable after its `iat`.
pub(crate) const DEFAULT_LOGOUT_TOKEN_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// The compatibility switches, as configured.
#[derive(Debug, Clone)]
pub(crate) struct SecurityOptions {
    /// An `email` user id is taken even when `email_verified` is not `true`.
    pub(crate) trust_unverified_email: bool,
    /// A cross-site `GET /logout` signs out at once instead of asking to confirm.
    pub(crate) trust_cross_site_logout_get: bool,
    /// Back-channel logout tokens older than this (by `iat`) are refused.
    pub(crate) logout_token_max_age: Duration,
    /// `None`: the `__Host-` prefix when the cookie is `Secure` with path `/`.
    pub(crate) host_prefix: Option<bool>,
}

impl Default for SecurityOptions {
    fn default() -> Self {
        Self {
            trust_unverified_email: false,
            trust_cross_site_logout_get: false,
            logout_token_max_age: DEFAULT_LOGOUT_TOKEN_MAX_AGE,
            host_prefix: None,
        }
    }
}

impl ConfigBuilder {
    /// **Weakens account security; for providers that never send `email_verified`.**
    /// With `email` as the user id, a sign-in (or bearer token) is refused unless the
    /// provider says `email_verified: true`: at a provider where anyone can set any email
    /// address on their account, an unverified email lets one user sign in as another
    /// (the "nOAuth" account-takeover class at multi-tenant providers). Turn this on only
    /// for a provider that verifies every address it issues and omits the claim; prefer a
    /// user id the provider cannot let users choose (`sub`, or Azure Entra's `oid`).
    /// `OIDC_TRUST_UNVERIFIED_EMAIL=true`. Replaces any earlier value.
    pub fn danger_trust_unverified_email(mut self, trust: bool) -> Self {
        self.security.trust_unverified_email = trust;
        self
    }

    /// Whether a cross-site `GET /logout` (a link or image on another site) signs the user
    /// out at once. Off by default: such a request gets a small page asking the user to
    /// confirm with a same-origin POST, so no other site can end the user's session and
    /// their single sign-on session at the provider. Same-origin requests, and requests
    /// with neither `Sec-Fetch-Site` nor `Origin` (older clients, scripts), are never asked.
    /// `OIDC_LOGOUT_GET=redirect` turns it on, `confirm` (the default) off. Replaces any
    /// earlier value.
    pub fn trust_cross_site_logout_get(mut self, trust: bool) -> Self {
        self.security.trust_cross_site_logout_get = trust;
        self
    }

    /// How old (by its `iat`) a back-channel logout token may be; older ones are refused as
    /// possible replays. Default 5 minutes. `OIDC_LOGOUT_TOKEN_MAX_AGE` (seconds). Replaces
    /// any earlier value.
    pub fn logout_token_max_age(mut self, age: Duration) -> Self {
        self.security.logout_token_max_age = age;
        self
    }

    /// Whether cookie names carry the `__Host-` prefix, which browsers accept only on a
    /// `Secure` cookie with path `/` and no `Domain`, so a sibling subdomain cannot plant
    /// or overwrite the session. Default: on exactly when the cookie is `Secure` and the
    /// app is served at `/`. `OIDC_COOKIE_HOST_PREFIX`. Replaces any earlier value.
    pub fn cookie_host_prefix(mut self, on: bool) -> Self {
        self.security.host_prefix = Some(on);
        self
    }
}
