//! The cookies a [`TestClient`](super::TestClient) holds between requests.

use cookie::time::{Duration, OffsetDateTime};
use cookie::Cookie;
use http::header::SET_COOKIE;
use http::HeaderMap;

/// Cookies by name, in the order they were first set.
///
/// Every cookie goes with every request: a test client talks to one app, so domain, path
/// and `Secure` (the app may insist on it while being tested over plain HTTP) are ignored.
#[derive(Default)]
pub(crate) struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    /// Applies a response's `Set-Cookie` headers: new values replace old ones, and
    /// expired cookies (`Max-Age=0` or an `Expires` in the past) are removed.
    pub(crate) fn update(&mut self, headers: &HeaderMap) {
        let set_cookies = headers.get_all(SET_COOKIE).iter();
        for cookie in set_cookies.filter_map(|value| value.to_str().ok()) {
            let Ok(cookie) = Cookie::parse(cookie) else {
                continue;
            };
            let name = cookie.name();
            self.cookies.retain(|(held, _)| held != name);
            if !is_removal(&cookie) {
                self.cookies
                    .push((name.to_owned(), cookie.value().to_owned()));
            }
        }
    }

    /// The `Cookie` header value carrying every cookie, if there is any.
    pub(crate) fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        Some(pairs.join("; "))
    }

    /// The names of the cookies held, for debugging output that must not show values.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.cookies.iter().map(|(name, _)| name.as_str()).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.cookies.clear();
    }
}

fn is_removal(cookie: &Cookie<'_>) -> bool {
    let max_age_over = cookie.max_age().is_some_and(|age| age <= Duration::ZERO);
    let expired = cookie
        .expires_datetime()
        .is_some_and(|at| at <= OffsetDateTime::now_utc());
    max_age_over || expired
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn set(jar: &mut CookieJar, cookies: &[&str]) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        jar.update(&headers);
    }

    #[test]
    fn keeps_replaces_and_removes_cookies() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        set(
            &mut jar,
            &["a=1; Path=/; Secure; HttpOnly", "b=2; Max-Age=60", "c=3"],
        );
        assert_eq!(jar.header().as_deref(), Some("a=1; b=2; c=3"));
        set(
            &mut jar,
            &[
                "a=10",
                "b=; Max-Age=0",
                "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ],
        );
        assert_eq!(jar.header().as_deref(), Some("a=10"));
        assert_eq!(jar.names(), ["a"]);
        jar.clear();
        assert_eq!(jar.header(), None);
    }

    #[test]
    fn ignores_what_is_not_a_cookie() {
        let mut jar = CookieJar::default();
        set(&mut jar, &["no equals sign", "=nameless"]);
        assert_eq!(jar.header(), None);
    }
}
