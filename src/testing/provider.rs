//! The running mock provider and its knobs.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::keys::{key_ring, EC_KID};
use super::state::{State, CLIENT_ID, CLIENT_SECRET};
use super::tokens::{self, SigningSetup};
use super::{
    routes, ClaimsPlace, LogoutTokenDefect, Misbehavior, MockAlg, MockClientAuth, MockUser,
};

/// Request counters of a [`MockProvider`], from [`MockProvider::stats`].
///
/// Requests turned away by [`MockProvider::set_available(false)`](MockProvider::set_available)
/// are not counted; everything else is, whether it succeeded or not.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MockStats {
    /// Discovery document requests.
    pub discovery: u64,
    /// JWKS requests.
    pub jwks: u64,
    /// Authorization requests.
    pub authorize: u64,
    /// Token requests with `grant_type=authorization_code`.
    pub token_code: u64,
    /// Token requests with `grant_type=refresh_token`.
    pub token_refresh: u64,
    /// Userinfo requests.
    pub userinfo: u64,
    /// End-session (logout) requests.
    pub end_session: u64,
    /// Introspection requests.
    pub introspection: u64,
    /// Token requests that presented HTTP Basic client credentials.
    pub client_auth_basic: u64,
    /// Token requests that presented client credentials as form fields.
    pub client_auth_post: u64,
    /// Code grants that presented an already redeemed code (the mock then
    /// revokes the tokens that code issued).
    pub code_replays: u64,
    /// Refresh grants that presented an already rotated refresh token.
    pub refresh_replays: u64,
    /// Requests to the distributed claims endpoint.
    pub claims_source: u64,
    /// Token revocation (RFC 7009) requests.
    pub revocation: u64,
    /// Token requests that carried a valid DPoP proof.
    pub dpop_proofs: u64,
}

/// One token the revocation endpoint was asked to revoke, from
/// [`MockProvider::revocations`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// The token.
    pub token: String,
    /// `token_type_hint` parameter (`refresh_token`, `access_token`).
    pub token_type_hint: Option<String>,
}

/// One request the end-session endpoint received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndSessionRequest {
    /// `id_token_hint` parameter.
    pub id_token_hint: Option<String>,
    /// `client_id` parameter.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri` parameter.
    pub post_logout_redirect_uri: Option<String>,
    /// `state` parameter.
    pub state: Option<String>,
}

/// State shared by the [`MockProvider`] handle and the server's handlers.
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// The provider's state. Never hold the guard across an `.await`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take every later request down.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An OpenID Provider running in-process on a loopback port, for tests.
///
/// It knows one confidential client ([`client_id`](Self::client_id),
/// [`client_secret`](Self::client_secret)), approves every authorization
/// request for the current [`MockUser`] without showing a page, and can be
/// told to misbehave in the ways an RP has to survive. Dropping it shuts the
/// server down.
pub struct MockProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    issuer: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockProvider {
    /// Starts a provider on a free port of 127.0.0.1.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the listening socket.
    pub async fn start() -> io::Result<MockProvider> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a provider listening on `addr` (port 0 picks a free port).
    ///
    /// Must be called within a Tokio runtime, which then runs the server.
    ///
    /// # Errors
    ///
    /// The I/O error of binding `addr`.
    pub async fn start_on(addr: SocketAddr) -> io::Result<MockProvider> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let issuer = issuer_url(addr);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(issuer.clone())),
        });
        let app = routes::router(Arc::clone(&shared));
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // A dropped sender is the shutdown signal too.
            let signal = async {
                let _ = shutdown_signal.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await;
        });
        Ok(MockProvider {
            shared,
            addr,
            issuer,
            shutdown: Some(shutdown),
        })
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` without a trailing slash.
    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one registered client's id: `tower-oidc-test-client`.
    pub fn client_id(&self) -> &str {
        CLIENT_ID
    }

    /// The one registered client's secret.
    pub fn client_secret(&self) -> &str {
        CLIENT_SECRET
    }

    /// Sets the user the authorize endpoint approves from now on.
    ///
    /// To sign one client in as someone else without changing who the next login is,
    /// use [`TestClient::sign_in_as`](super::TestClient::sign_in_as).
    pub fn set_user(&self, user: MockUser) {
        self.shared.lock().user = user;
    }

    /// The user the authorize endpoint approves now.
    pub fn user(&self) -> MockUser {
        self.shared.lock().user.clone()
    }

    /// A single-use ticket for the authorize request that approves `user` instead of the
    /// current user; it lapses after a minute.
    pub(crate) fn choose_user(&self, user: MockUser) -> String {
        self.shared.lock().choose_user(user)
    }

    /// Makes every later response commit `m` (`None` restores correct behaviour).
    pub fn set_misbehavior(&self, m: Option<Misbehavior>) {
        self.shared.lock().misbehavior = m;
    }

    /// Chooses the algorithm, and so the key, tokens are signed with
    /// (default [`MockAlg::Rs256`]).
    pub fn set_signing_alg(&self, alg: MockAlg) {
        self.shared.lock().signing_alg = alg;
    }

    /// Switches the active RSA key (`rsa-1` → `rsa-2` → `rsa-1` …). The JWKS
    /// then publishes only the new RSA key (and `ec-1`), so tokens signed by
    /// the old one stop verifying, as after a real key roll-over.
    pub fn rotate_signing_key(&self) {
        let mut state = self.shared.lock();
        state.active_rsa = 1 - state.active_rsa;
    }

    /// Sets the lifetime of issued access tokens (default 300 s).
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.shared.lock().access_token_ttl = ttl;
    }

    /// Sets the lifetime of issued ID tokens (default 300 s).
    pub fn set_id_token_ttl(&self, ttl: Duration) {
        self.shared.lock().id_token_ttl = ttl;
    }

    /// Whether code grants return a refresh token (default `true`). Refresh
    /// grants always return a new one, because refresh tokens are rotated.
    pub fn set_issue_refresh_tokens(&self, on: bool) {
        self.shared.lock().issue_refresh_tokens = on;
    }

    /// With `on`, ID tokens carry only the protocol claims and `sub`; the
    /// profile (email, names, extra claims) is only available from userinfo,
    /// as with node oidc-provider.
    pub fn set_minimal_id_token(&self, on: bool) {
        self.shared.lock().minimal_id_token = on;
    }

    /// Chooses which client authentication the token endpoint accepts
    /// (default [`MockClientAuth::Any`]); discovery advertises the same.
    pub fn set_client_auth(&self, m: MockClientAuth) {
        self.shared.lock().client_auth = m;
    }

    /// With `false`, every endpoint answers 503, as in an outage.
    pub fn set_available(&self, up: bool) {
        self.shared.lock().available = up;
    }

    /// Makes every endpoint wait `d` before answering (zero: no wait).
    pub fn set_delay(&self, d: Duration) {
        self.shared.lock().delay = d;
    }

    /// With `true`, DPoP proofs at the token endpoint must carry a nonce of the
    /// provider's: a proof without one is answered `400 use_dpop_nonce` with a
    /// `DPoP-Nonce` header (RFC 9449, section 8).
    ///
    /// Token requests with a valid `DPoP` proof get tokens bound to its key: access
    /// tokens with `cnf.jkt`, `token_type` `DPoP`, and refresh tokens that need a proof
    /// of the same key. An authorization request's `dpop_jkt` must name that key.
    pub fn require_dpop_nonce(&self, required: bool) {
        self.shared.lock().dpop_nonces =
            required.then(|| crate::dpop::nonce::Nonces::new(b"tower-oidc mock provider"));
    }

    /// With `true`, userinfo answers `application/jwt`: the claims with `iss` and `aud`,
    /// signed with the provider's published keys (the configured algorithm when it is
    /// asymmetric, else RS256).
    pub fn set_userinfo_signed(&self, signed: bool) {
        self.shared.lock().userinfo_signed = signed;
    }

    /// Serves `claims` (a JSON object; `null` stops) as aggregated claims: `place` carries
    /// `_claim_names` for each member and a `_claim_sources` entry whose `JWT` holds the
    /// claims (with `iss` and `iat`), signed like [`set_userinfo_signed`](Self::set_userinfo_signed)
    /// userinfo. The claims themselves are not in the ID token or userinfo.
    ///
    /// # Panics
    ///
    /// If `claims` is neither an object nor `null`.
    pub fn set_aggregated_claims(&self, claims: Value, place: ClaimsPlace) {
        self.shared.lock().aggregated_claims = claims_object(claims).map(|c| (c, place));
    }

    /// Serves `claims` (a JSON object; `null` stops) as distributed claims: `place`
    /// carries `_claim_names` for each member and a `_claim_sources` entry naming the
    /// endpoint `{issuer}/claims_source` and an access token for it. The endpoint answers
    /// that token (and no other) with the claims as a signed JWT (`application/jwt`).
    ///
    /// # Panics
    ///
    /// If `claims` is neither an object nor `null`.
    pub fn set_distributed_claims(&self, claims: Value, place: ClaimsPlace) {
        self.shared.lock().distributed_claims = claims_object(claims).map(|c| (c, place));
    }

    /// Where the mock posts a logout token (Back-Channel Logout 1.0) when the end-session
    /// endpoint receives an `id_token_hint`: for that token's `sub` and `sid`, signed with
    /// the provider's published keys. The post happens before the browser is redirected;
    /// [`backchannel_logout_statuses`](Self::backchannel_logout_statuses) records the
    /// answers. `None` stops.
    pub fn set_backchannel_logout_uri(&self, uri: Option<&str>) {
        self.shared.lock().backchannel_logout_uri = uri.map(str::to_owned);
    }

    /// Makes the logout tokens posted from now on carry `defect` (`None`: correct tokens).
    pub fn set_logout_token_defect(&self, defect: Option<LogoutTokenDefect>) {
        self.shared.lock().logout_token_defect = defect;
    }

    /// The statuses the back-channel logout URI answered, oldest first (0: unreachable).
    pub fn backchannel_logout_statuses(&self) -> Vec<u16> {
        self.shared.lock().backchannel_logout_statuses.clone()
    }

    /// Authorization responses carry RFC 9207's `iss` parameter (off by default), as a
    /// relying party with several providers sharing one callback requires.
    pub fn set_authorization_response_iss(&self, on: bool) {
        self.shared.lock().response_iss = on;
    }

    /// While on, an authorization request with `prompt=none` is answered
    /// `error=login_required`, as by a provider where the user has no session.
    pub fn set_login_required(&self, on: bool) {
        self.shared.lock().login_required = on;
    }

    /// The `acr` claim of the ID tokens of logins from now on. `None` (the default): the
    /// first value of the request's `acr_values`, and no `acr` without them.
    pub fn set_acr(&self, acr: Option<&str>) {
        self.shared.lock().acr = acr.map(str::to_owned);
    }

    /// Logins from now on say the user authenticated `age` ago (`auth_time`), as a
    /// provider that reuses its session whatever `max_age` asks. Default zero: now.
    pub fn set_auth_time_age(&self, age: Duration) {
        self.shared.lock().auth_age = age;
    }

    /// The request counters so far.
    pub fn stats(&self) -> MockStats {
        self.shared.lock().stats.clone()
    }

    /// Every token the revocation endpoint was asked to revoke, oldest first. A revoked
    /// refresh token no longer refreshes.
    pub fn revocations(&self) -> Vec<Revocation> {
        self.shared.lock().revocations.clone()
    }

    /// Every request the end-session endpoint received, oldest first.
    pub fn end_session_requests(&self) -> Vec<EndSessionRequest> {
        self.shared.lock().end_session_requests.clone()
    }

    /// An opaque (non-JWT) access token for `sub`, valid for the access-token TTL and known
    /// to the introspection and userinfo endpoints.
    pub fn mint_opaque_access_token(&self, sub: &str) -> String {
        self.mint_opaque(sub, None)
    }

    /// An access token for `sub` bound to `key` (its `cnf.jkt`, RFC 9449), as
    /// [`mint_access_token`](Self::mint_access_token) makes them.
    pub fn mint_dpop_token(&self, sub: &str, key: &super::DpopKey) -> String {
        self.mint_access_token(sub, serde_json::json!({ "cnf": { "jkt": key.jkt() } }))
    }

    /// An opaque access token for `sub` bound to `key`: introspection answers its
    /// `cnf.jkt` and `token_type` `DPoP`.
    pub fn mint_opaque_dpop_token(&self, sub: &str, key: &super::DpopKey) -> String {
        self.mint_opaque(sub, Some(key.jkt()))
    }

    fn mint_opaque(&self, sub: &str, jkt: Option<&str>) -> String {
        let mut state = self.shared.lock();
        let mut claims = tokens::access_token_claims(
            &state.issuer,
            CLIENT_ID,
            sub,
            "openid profile email",
            state.access_token_ttl,
            tokens::now_unix(),
        );
        if let Some(jkt) = jkt {
            claims.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
            claims.insert("token_type".into(), serde_json::json!("DPoP"));
        }
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let token = format!("opaque-{}", crate::session::random_id());
        let user = if state.user.sub == sub {
            state.user.clone()
        } else {
            MockUser::new(sub)
        };
        state.remember_access_token(token.clone(), None, user, claims, expires_at);
        token
    }

    /// An access token for `sub`, signed like the token endpoint's, that
    /// userinfo honours (for the current user if `sub` is theirs, else for
    /// [`MockUser::new(sub)`](MockUser::new)).
    ///
    /// `extra_claims` (a JSON object, or `null` for none) is merged over the
    /// defaults `iss`, `sub`, `aud` and `client_id` (the provider's client),
    /// `exp` (after the access-token TTL), `iat`, `jti` and `scope`
    /// (`openid profile email`); a `null` member removes that claim.
    /// [`access_token`](Self::access_token) builds the same tokens step by step.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use serde_json::json;
    /// use tower_oidc::testing::MockProvider;
    ///
    /// let provider = MockProvider::start().await?;
    /// let in_a_minute = std::time::SystemTime::now()
    ///     .duration_since(std::time::UNIX_EPOCH)
    ///     .map_or(0, |now| now.as_secs() + 60);
    /// let token = provider.mint_access_token(
    ///     "svc-reports",
    ///     json!({
    ///         "aud": [provider.client_id(), "billing-api"],
    ///         "scope": "reports:read",
    ///         "exp": in_a_minute,
    ///         "tenant": "acme",
    ///         "jti": null,
    ///     }),
    /// );
    /// // Send it as `Authorization: Bearer {token}` to the app under test.
    /// assert_eq!(token.split('.').count(), 3);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If `extra_claims` is neither an object nor `null`.
    pub fn mint_access_token(&self, sub: &str, extra_claims: Value) -> String {
        let mut state = self.shared.lock();
        let mut claims = tokens::access_token_claims(
            &state.issuer,
            CLIENT_ID,
            sub,
            "openid profile email",
            state.access_token_ttl,
            tokens::now_unix(),
        );
        match extra_claims {
            Value::Null => {}
            Value::Object(extra) => {
                for (key, value) in extra {
                    if value.is_null() {
                        claims.remove(&key);
                    } else {
                        claims.insert(key, value);
                    }
                }
            }
            other => panic!("mint_access_token: extra_claims must be a JSON object, got {other}"),
        }
        let user = if state.user.sub == sub {
            state.user.clone()
        } else {
            MockUser::new(sub)
        };
        state.sign_access_token(None, user, claims)
    }

    /// Signs `claims` as they are, with header `typ: JWT` and the kid of the
    /// active key for `header_alg`. No misbehavior is applied.
    pub fn mint_jwt(&self, header_alg: MockAlg, claims: Value) -> String {
        let setup = SigningSetup {
            alg: header_alg,
            active_rsa: self.shared.lock().active_rsa,
            misbehavior: None,
        };
        tokens::sign(&setup, "JWT", &claims)
    }

    /// Signs `claims` with the active RSA key (RS256) under the kid `kid`, published or
    /// not: for tests of how verifiers treat unknown kids.
    pub fn mint_jwt_with_kid(&self, kid: &str, claims: Value) -> String {
        tokens::sign_with_kid(self.shared.lock().active_rsa, kid, &claims)
    }

    /// The state behind the server, for tests that need to reach past HTTP.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The kid tokens are currently signed with (under correct behaviour); empty for
    /// HMAC and unsigned tokens, which carry none.
    pub fn active_kid(&self) -> &'static str {
        let state = self.shared.lock();
        match state.signing_alg {
            MockAlg::Rs256 => key_ring().rsa[state.active_rsa].kid,
            MockAlg::Es256 => EC_KID,
            MockAlg::Hs256 | MockAlg::Hs384 | MockAlg::Hs512 | MockAlg::None => "",
        }
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl std::fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProvider")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn claims_object(claims: Value) -> Option<serde_json::Map<String, Value>> {
    match claims {
        Value::Null => None,
        Value::Object(claims) => Some(claims),
        other => panic!("claims must be a JSON object or null, got {other}"),
    }
}

/// A loopback URL for the address, because clients cannot reach `0.0.0.0`.
fn issuer_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
