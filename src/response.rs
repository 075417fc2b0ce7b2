//! The answers the layer gives on its own: redirects, error pages and JSON errors.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use crate::page;
pub(crate) use crate::page::escape;

/// A response produced by the engine, independent of any web framework.
pub(crate) type CoreResponse = Response<Bytes>;

fn base(status: StatusCode, set_cookies: Vec<HeaderValue>) -> http::response::Builder {
    let mut builder = Response::builder()
        .status(status)
        .header(CACHE_CONTROL, "no-store");
    for cookie in set_cookies {
        builder = builder.header(SET_COOKIE, cookie);
    }
    builder
}

fn finish(builder: http::response::Builder, body: Bytes) -> CoreResponse {
    builder.body(body).unwrap_or_else(|_| {
        let mut response = Response::new(Bytes::from_static(b"internal error"));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// A redirect; `303` after a POST so the browser follows with GET.
pub(crate) fn redirect(
    status: StatusCode,
    location: &str,
    set_cookies: Vec<HeaderValue>,
) -> CoreResponse {
    let builder = match HeaderValue::from_str(location) {
        Ok(location) => base(status, set_cookies).header(LOCATION, location),
        Err(_) => base(StatusCode::INTERNAL_SERVER_ERROR, set_cookies),
    };
    finish(builder, Bytes::new())
}

/// An error as a small HTML page for browsers or as `{"error", "message"}` JSON.
pub(crate) struct ErrorReply<'a> {
    pub(crate) status: StatusCode,
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    /// A link offered on the page, e.g. to try the login again.
    pub(crate) retry: Option<&'a str>,
}

impl ErrorReply<'_> {
    /// The page's heading and its first sentence, in words for the person reading it; the
    /// message follows as the detail.
    fn heading(&self) -> (&'static str, &'static str) {
        match self.code {
            "provider_unavailable" => (
                "Sign-in unavailable",
                "The sign-in service cannot be reached right now. Please try again in a moment.",
            ),
            "session_store_unavailable" => (
                "Service unavailable",
                "Sign-in sessions are unavailable right now. Please try again in a moment.",
            ),
            "login_cookie_missing" => (
                "Sign-in failed",
                "Your browser did not send back the cookie this site set when the sign-in \
                 started. Allow cookies for this site, then sign in again.",
            ),
            _ if self.retry.is_some() => ("Sign-in failed", "We could not sign you in."),
            _ if self.status == StatusCode::FORBIDDEN => {
                ("Access denied", "You may not open this page.")
            }
            _ => (
                "Something went wrong",
                "This request could not be completed.",
            ),
        }
    }

    pub(crate) fn render(&self, html: bool, set_cookies: Vec<HeaderValue>) -> CoreResponse {
        let builder = base(self.status, set_cookies);
        if html {
            let (title, lead) = self.heading();
            let retry = self.retry.map_or(String::new(), |href| {
                format!(
                    "<p class=\"actions\"><a class=\"button\" href=\"{}\">Sign in again</a></p>",
                    escape(href)
                )
            });
            let body = format!(
                "{}<p class=\"detail\">{} <span>(<code>{}</code>, HTTP {})</span></p>{retry}",
                page::paragraph(lead),
                escape(&sentence(self.message)),
                escape(self.code),
                self.status.as_u16(),
            );
            finish(
                builder.header(CONTENT_TYPE, "text/html; charset=utf-8"),
                Bytes::from(page::render(title, &body)),
            )
        } else {
            let body = serde_json::json!({ "error": self.code, "message": self.message });
            finish(
                builder.header(CONTENT_TYPE, "application/json"),
                Bytes::from(body.to_string()),
            )
        }
    }
}

/// A message as a sentence: capitalised, ending with a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `401` for API clients: JSON and `WWW-Authenticate: Bearer`.
pub(crate) fn unauthorized(
    message: &str,
    bearer_error: Option<&str>,
    set_cookies: Vec<HeaderValue>,
) -> CoreResponse {
    let challenge = match bearer_error {
        Some(error) => format!("Bearer error=\"{error}\""),
        None => "Bearer".to_owned(),
    };
    let body =
        serde_json::json!({ "error": bearer_error.unwrap_or("unauthorized"), "message": message });
    let builder = base(StatusCode::UNAUTHORIZED, set_cookies)
        .header(CONTENT_TYPE, "application/json")
        .header(WWW_AUTHENTICATE, challenge);
    finish(builder, Bytes::from(body.to_string()))
}

/// `413` for a body that could not be read within `limit` bytes.
pub(crate) fn body_too_large(limit: usize) -> CoreResponse {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": format!("the body is unreadable or larger than {limit} bytes"),
    });
    finish(
        base(StatusCode::PAYLOAD_TOO_LARGE, Vec::new()).header(CONTENT_TYPE, "application/json"),
        Bytes::from(body.to_string()),
    )
}

/// Whether an application's `Cache-Control` already keeps its answer out of shared caches.
/// An answer that sets a session cookie must never be stored by a proxy, or the next user
/// of that proxy would receive the cookie.
pub(crate) fn keeps_out_of_shared_caches(cache_control: Option<&[u8]>) -> bool {
    let Some(value) = cache_control.and_then(|v| std::str::from_utf8(v).ok()) else {
        return false;
    };
    value.split(',').any(|directive| {
        let directive = directive.trim();
        directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("private")
    })
}

/// Whether an application's answer needs `Cache-Control: no-store` added. One that sets
/// session cookies must stay out of shared caches (see [`keeps_out_of_shared_caches`]). One
/// to a signed-in request shows that user's data: without a `Cache-Control` of its own, a
/// browser may show it again from its cache, e.g. on the back button after logout.
pub(crate) fn needs_no_store(
    sets_cookies: bool,
    signed_in: bool,
    cache_control: Option<&[u8]>,
) -> bool {
    if sets_cookies {
        !keeps_out_of_shared_caches(cache_control)
    } else {
        signed_in && cache_control.is_none()
    }
}

/// The `Cache-Control` put on an application's answer that sets session cookies or answers
/// a signed-in request.
pub(crate) const NO_STORE: &str = "no-store";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_messages() {
        let reply = ErrorReply {
            status: StatusCode::BAD_REQUEST,
            code: "x",
            message: "<script>alert(1)</script>",
            retry: Some("/login?next=\"x"),
        };
        let page = reply.render(true, vec![]);
        let body = String::from_utf8(page.body().to_vec()).expect("utf8");
        assert!(!body.contains("<script>"));
        assert!(body.contains("&lt;script&gt;"));
        assert!(!body.contains("next=\"x"));
    }

    #[test]
    fn shared_caches_are_kept_out_only_by_private_or_no_store() {
        assert!(!keeps_out_of_shared_caches(None));
        assert!(!keeps_out_of_shared_caches(Some(b"public, max-age=60")));
        assert!(!keeps_out_of_shared_caches(Some(b"max-age=0, s-maxage=60")));
        assert!(keeps_out_of_shared_caches(Some(b"private, max-age=60")));
        assert!(keeps_out_of_shared_caches(Some(b"max-age=0, NO-STORE")));
    }

    #[test]
    fn signed_in_answers_without_cache_control_are_not_stored() {
        assert!(needs_no_store(false, true, None));
        assert!(!needs_no_store(false, true, Some(b"private, max-age=60")));
        assert!(!needs_no_store(false, false, None));
        assert!(needs_no_store(true, false, Some(b"public")));
        assert!(!needs_no_store(true, true, Some(b"no-store")));
    }

    #[test]
    fn error_pages_speak_to_people_and_keep_the_code() {
        let reply = ErrorReply {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_state",
            message: "this sign-in is unknown",
            retry: Some("/login"),
        };
        let page = reply.render(true, vec![]);
        let body = String::from_utf8(page.body().to_vec()).expect("utf8");
        assert!(body.contains("<title>Sign-in failed</title>"), "{body}");
        assert!(body.contains("This sign-in is unknown."), "{body}");
        assert!(body.contains("<code>invalid_state</code>"), "{body}");
        assert!(body.contains("href=\"/login\""), "{body}");
    }

    #[test]
    fn json_errors_and_401() {
        let reply = ErrorReply {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_state",
            message: "m",
            retry: None,
        };
        let json = reply.render(false, vec![]);
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        let response = unauthorized("no session", None, vec![]);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    }
}
