//! Pending logins: state, nonce and PKCE verifier in short-lived encrypted cookies, one per
//! login so that several tabs can sign in at once, bounded in number.

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::codec::CookieCodec;
use super::cookies::request_cookies;
use super::expiring_set::ExpiringSet;

/// How long a login may take at the provider.
pub(crate) const LOGIN_TTL_SECS: u64 = 600;
const STATE_PREFIX_LEN: usize = 16;

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    /// The same-origin path to land on afterwards.
    pub(crate) next: Option<String>,
    /// The redirect URI sent to the provider, to send it again with the code.
    pub(crate) redirect_uri: String,
    pub(crate) created_at: u64,
    /// Authorization parameters taken from the request (an allowlist), also what the
    /// callback checks the ID token against (`acr_values`, `max_age`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) params: Vec<(String, String)>,
    /// Sent with `prompt=none`: a `login_required` answer starts one interactive login.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) silent: bool,
    /// The DPoP key the login's tokens are to be bound to (PKCS#8, base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dpop_key: Option<String>,
    /// The provider the login went to, when several are configured: the callback takes it
    /// from here, never from its query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
}

fn prefix(base: &str) -> String {
    format!("{base}_login_")
}

/// The name encodes the creation time (to evict the oldest without decrypting) and the
/// start of the state (to find the cookie from the callback's `state`).
fn cookie_name(base: &str, login: &PendingLogin) -> String {
    let state_prefix: String = login.state.chars().take(STATE_PREFIX_LEN).collect();
    format!("{}{:010x}_{state_prefix}", prefix(base), login.created_at)
}

/// `Set-Cookie` values storing `login` and deleting the oldest pending logins beyond
/// `max_pending`.
pub(crate) fn store(
    codec: &CookieCodec,
    headers: &HeaderMap,
    base: &str,
    login: &PendingLogin,
    max_pending: usize,
) -> Vec<HeaderValue> {
    let prefix = prefix(base);
    let mut existing: Vec<&str> = request_cookies(headers)
        .map(|(name, _)| name)
        .filter(|name| name.starts_with(&prefix))
        .collect();
    existing.sort_unstable();
    existing.dedup();
    let excess = (existing.len() + 1).saturating_sub(max_pending.max(1));
    let mut set: Vec<HeaderValue> = existing
        .iter()
        .take(excess)
        .filter_map(|name| codec.removal(name))
        .collect();
    let name = cookie_name(base, login);
    if let Some(sealed) = serde_json::to_vec(login)
        .ok()
        .and_then(|json| codec.seal(&name, &json))
    {
        set.extend(codec.set_cookie(&name, &sealed, Some(LOGIN_TTL_SECS)));
    }
    set
}

/// The pending login matching `state`, with the cookie name holding it.
pub(crate) fn find(
    codec: &CookieCodec,
    headers: &HeaderMap,
    base: &str,
    state: &str,
    now: u64,
) -> Option<(String, PendingLogin)> {
    let prefix = prefix(base);
    let state_prefix: String = state.chars().take(STATE_PREFIX_LEN).collect();
    if state_prefix.is_empty() {
        return None;
    }
    request_cookies(headers)
        .filter(|(name, _)| {
            name.starts_with(&prefix) && name.ends_with(&format!("_{state_prefix}"))
        })
        .find_map(|(name, value)| {
            let json = codec.open(name, value.as_bytes())?;
            let login: PendingLogin = serde_json::from_slice(&json).ok()?;
            let fresh = now < login.created_at.saturating_add(LOGIN_TTL_SECS);
            (fresh && crate::secret::constant_time_eq(login.state.as_bytes(), state.as_bytes()))
                .then(|| (name.to_owned(), login))
        })
}

/// Single-use values already presented (states at the callback, logout-token ids), so a
/// replay is refused even when the browser (or an attacker) still holds the login cookie.
/// Each is remembered for `ttl_secs`, at most `capacity` of them: when full, expired
/// values go first, then the one closest to its expiry (see [`ExpiringSet`]), so a flood
/// can only push out the oldest values, never empty the set.
///
/// This is the record of this process; a server-side store that keeps single-use keys
/// ([`SessionStore::first_use`](crate::store::SessionStore::first_use)) extends it to every
/// instance sharing the store, and across restarts.
pub(crate) struct UsedStates {
    used: ExpiringSet,
    ttl_secs: u64,
}

impl UsedStates {
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_ttl(capacity, LOGIN_TTL_SECS)
    }

    pub(crate) fn with_ttl(capacity: usize, ttl_secs: u64) -> Self {
        Self {
            used: ExpiringSet::new(capacity),
            ttl_secs,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.used.len()
    }

    /// Records `state` at `now` (Unix seconds); `false` if it was used before, or if the
    /// record cannot be read (a thread panicked while changing it).
    pub(crate) fn first_use(&self, state: &str, now: u64) -> bool {
        self.used
            .insert(state, now, now.saturating_add(self.ttl_secs))
            .unwrap_or(false)
    }

    /// Forgets `state`, so that its next [`first_use`](Self::first_use) is first again.
    pub(crate) fn forget(&self, state: &str) {
        let _ = self.used.remove(state);
    }
}

#[cfg(test)]
mod tests {
    use http::header::COOKIE;

    use super::*;

    fn login(state: &str, created_at: u64) -> PendingLogin {
        PendingLogin {
            state: state.to_owned(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: Some("/x".into()),
            redirect_uri: "http://127.0.0.1/auth".into(),
            created_at,
            params: Vec::new(),
            silent: false,
            dpop_key: None,
            provider: None,
        }
    }

    fn as_request(set: &[HeaderValue]) -> HeaderMap {
        let pairs: Vec<String> = set
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| !v.contains("Max-Age=0"))
            .filter_map(|v| v.split(';').next().map(str::to_owned))
            .collect();
        let mut headers = HeaderMap::new();
        if !pairs.is_empty() {
            headers.insert(COOKIE, pairs.join("; ").parse().expect("header"));
        }
        headers
    }

    #[test]
    fn stores_finds_and_bounds() {
        let codec = CookieCodec::new(cookie::Key::generate(), b"test", false, "/".into());
        let now = 1_000_000;
        let first = login("aaaaaaaaaaaaaaaaaaaa-state-one", now);
        let set = store(&codec, &HeaderMap::new(), "t", &first, 2);
        let headers = as_request(&set);
        let (_, found) = find(&codec, &headers, "t", &first.state, now + 1).expect("found");
        assert_eq!(found.next.as_deref(), Some("/x"));
        assert!(find(&codec, &headers, "t", "aaaaaaaaaaaaaaaaaaaa-other", now).is_none());
        assert!(find(&codec, &headers, "t", &first.state, now + LOGIN_TTL_SECS).is_none());

        let second = login("bbbbbbbbbbbbbbbbbbbb", now + 1);
        let set = store(&codec, &headers, "t", &second, 2);
        assert_eq!(set.len(), 1, "room for two");
        let mut both = as_request(&set);
        let old = headers
            .get(COOKIE)
            .expect("cookie")
            .to_str()
            .expect("ascii")
            .to_owned();
        let new = both
            .get(COOKIE)
            .expect("cookie")
            .to_str()
            .expect("ascii")
            .to_owned();
        both.insert(COOKIE, format!("{old}; {new}").parse().expect("header"));
        let third = login("cccccccccccccccccccc", now + 2);
        let set = store(&codec, &both, "t", &third, 2);
        let removed = set[0].to_str().expect("ascii");
        assert!(removed.contains("Max-Age=0") && removed.contains("_aaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn used_states_refuse_replays() {
        let used = UsedStates::new(2);
        assert!(used.first_use("a", 10));
        assert!(!used.first_use("a", 11));
        assert!(used.first_use("b", 11));
        assert!(used.first_use("c", 11));
        assert!(!used.first_use("b", 12));
        assert!(used.first_use("a", 10 + LOGIN_TTL_SECS), "expired");
    }

    #[test]
    fn a_flood_does_not_empty_the_used_state_set() {
        const CAPACITY: usize = 1_000;
        let used = UsedStates::new(CAPACITY);
        let now = 1_000_000;
        for i in 0..CAPACITY - 1 {
            assert!(used.first_use(&format!("flood-{i}"), now));
        }
        assert!(used.first_use("victim", now + 1));
        // The set is full of live states; more keep arriving.
        for i in CAPACITY..CAPACITY + 100 {
            assert!(used.first_use(&format!("flood-{i}"), now + 2));
        }
        assert_eq!(used.len(), CAPACITY, "full, not emptied");
        assert!(
            !used.first_use("victim", now + 3),
            "the victim's state stays used"
        );
        for i in [CAPACITY / 2, CAPACITY - 2, CAPACITY + 99] {
            assert!(
                !used.first_use(&format!("flood-{i}"), now + 3),
                "recent state {i} stays used"
            );
        }
        // Only the oldest made room.
        assert!(used.first_use("flood-0", now + 3));
    }
}
