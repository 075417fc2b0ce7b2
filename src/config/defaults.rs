//! What a configuration uses for each setting left out, named once so that the builder and
//! its tests agree. A flaskoidc deployment gets flaskoidc's own defaults for the user id
//! claim, the whitelist and Google's parameters instead (see `flaskoidc.rs`).

use std::time::Duration;

use jsonwebtoken::Algorithm;

/// Scopes requested at login.
pub(crate) const SCOPES: &[&str] = &[OPENID_SCOPE, "email", "profile"];

/// The scope that makes a login an OpenID Connect one: always requested, added first when a
/// configuration leaves it out.
pub(crate) const OPENID_SCOPE: &str = "openid";

/// The claim whose value is the user id.
pub(crate) const USER_ID_CLAIM: &str = "sub";

/// The callback route, and the path of a relative redirect URI.
pub(crate) const CALLBACK_PATH: &str = "/auth";

/// The login route.
pub(crate) const LOGIN_PATH: &str = "/login";

/// The logout route.
pub(crate) const LOGOUT_PATH: &str = "/logout";

/// The OpenID Connect Back-Channel Logout route.
pub(crate) const BACKCHANNEL_LOGOUT_PATH: &str = "/backchannel_logout";

/// The OpenID Connect Front-Channel Logout route.
pub(crate) const FRONTCHANNEL_LOGOUT_PATH: &str = "/frontchannel_logout";

/// Where a login lands without a page to return to, when no base path is set.
pub(crate) const HOME_PATH: &str = "/";

/// The base name of the session cookies.
pub(crate) const COOKIE_NAME: &str = "tower_oidc";

/// Cookies are `Secure`: a browser sends them over https only.
pub(crate) const COOKIE_SECURE: bool = true;

/// How long a session lasts after login: a working day.
pub(crate) const SESSION_MAX_AGE: Duration = Duration::from_secs(8 * 3600);
/// Sessions the near cache of a store that tells of changes keeps.
pub(crate) const SESSION_NEAR_CACHE_CAPACITY: usize = 10_000;

/// Clock skew tolerated when checking token times.
pub(crate) const LEEWAY: Duration = Duration::from_secs(60);

/// Userinfo is fetched at login and its claims merged into the ID token's.
pub(crate) const FETCH_USERINFO: bool = true;

/// Timeout of each call to the provider.
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the provider's signing keys are fetched again.
pub(crate) const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);

/// Logins one browser may have in progress at once (one state cookie each); the oldest
/// gives way to a new one.
pub(crate) const MAX_PENDING_LOGINS: usize = 4;

/// How long the user-detail hook's user is kept in the session before it is loaded again.
pub(crate) const USER_DETAILS_TTL: Duration = Duration::from_secs(3600);

/// Signature algorithms accepted for tokens: the asymmetric families. HMAC is never among
/// them: with a public key as its secret, anyone can forge a signature.
pub(crate) const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The shortest secret key accepted, in bytes.
pub(crate) const MIN_SECRET_KEY_BYTES: usize = 32;

/// The length of a key made by `generate_secret_key`, in bytes.
pub(crate) const GENERATED_SECRET_KEY_BYTES: usize = 64;
