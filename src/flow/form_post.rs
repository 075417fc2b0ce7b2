//! The callback of `response_mode=form_post` (OAuth 2.0 Form Post Response Mode): the
//! provider's page posts the authorization response to the callback.
//!
//! That POST comes from the provider's site, so the browser leaves out the `SameSite=Lax`
//! pending-login cookie. Such a POST is answered with a page that posts the same fields
//! again from this origin; the second POST is same-site, carries the cookie, and is checked
//! like a redirect to the callback: `state` against the cookie, then the code with its PKCE
//! verifier and the ID token's nonce. A POST that still has no matching cookie fails as a
//! redirect without one would, so the relay adds no way in: it only returns to the browser
//! fields the browser already sent.

use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use http::{HeaderMap, Method, StatusCode};

use super::{callback, login};
use crate::context::Context;
use crate::outcome::{Outcome, Step};
use crate::page;
use crate::request::RequestView;
use crate::response::{CoreResponse, ErrorReply};
use crate::session::{login_state, now};

/// The largest form body read: a code, a state, an issuer and an error description.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

/// The field marking a POST the relay page made; it is sent back at most once.
const RELAYED: &str = "tower_oidc_relayed";

/// The auto-submit script, allowed by its hash in the page's Content-Security-Policy.
const SUBMIT_SCRIPT: &str = "document.forms[0].submit()";
/// `sha256` of [`SUBMIT_SCRIPT`], base64.
const SUBMIT_SCRIPT_HASH: &str = "sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE=";

/// What a posted callback needs of its request once the body is read.
pub(crate) struct Posted {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) scheme: Option<String>,
}

impl Posted {
    pub(crate) fn of(request: &RequestView<'_>) -> Self {
        Self {
            path: request.path.to_owned(),
            headers: request.headers.clone(),
            scheme: request.scheme.map(str::to_owned),
        }
    }
}

/// Handles the posted authorization response `body`.
pub(crate) async fn handle(ctx: &Context, posted: Posted, body: &[u8]) -> CoreResponse {
    let request = RequestView {
        method: &Method::POST,
        path: &posted.path,
        query: None,
        headers: &posted.headers,
        scheme: posted.scheme.as_deref(),
    };
    let html = request.wants_html();
    let Ok(form) = std::str::from_utf8(body) else {
        return bad_request(html, "the posted authorization response is not text");
    };
    let fields = match callback::parse_query(form) {
        Ok(fields) => fields,
        Err(_) => return bad_request(html, "a field of the authorization response appears twice"),
    };
    let field = |name: &str| fields.get(name).and_then(serde_json::Value::as_str);
    let has_pending_login = field("state").is_some_and(|state| {
        login_state::find(
            &ctx.codec,
            request.headers,
            &ctx.config.cookie_name,
            state,
            now(),
        )
        .is_some()
    });
    if !has_pending_login && field(RELAYED).is_none() {
        return relay_page(&posted.path, form);
    }
    // From here on the body is read as a redirect's query would be.
    let request = RequestView {
        query: Some(form),
        ..request
    };
    let outcome = match login::retry_interactively(ctx, &request) {
        Some(Step::Done(outcome)) => outcome,
        Some(Step::Wait(start)) => start.run(ctx).await,
        None => match callback::decide(ctx, &request) {
            Step::Done(outcome) => outcome,
            Step::Wait(callback) => callback.run(ctx).await,
        },
    };
    match outcome {
        Outcome::Respond(response) => response,
        // A callback always answers; passing a POST on to the application would be wrong.
        Outcome::Continue(_) => bad_request(html, "the authorization response was not handled"),
    }
}

fn bad_request(html: bool, message: &str) -> CoreResponse {
    ErrorReply {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message,
        retry: None,
    }
    .render(html, Vec::new())
}

/// The page that posts `form` again to the callback at `path`, from this origin.
fn relay_page(path: &str, form: &str) -> CoreResponse {
    let mut inputs = String::new();
    for (name, value) in form_urlencoded::parse(form.as_bytes()) {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            page::escape(&name),
            page::escape(&value)
        ));
    }
    inputs.push_str(&format!(
        "<input type=\"hidden\" name=\"{RELAYED}\" value=\"1\">"
    ));
    let body = format!(
        "<form method=\"post\" action=\"{}\">{inputs}\
         <p>Finishing the sign-in…</p>\
         <noscript><div class=\"actions\"><button class=\"button\" type=\"submit\">Continue</button></div></noscript>\
         </form><script>{SUBMIT_SCRIPT}</script>",
        page::escape(path)
    );
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src '{SUBMIT_SCRIPT_HASH}'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    http::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header(REFERRER_POLICY, "no-referrer")
        .header(CONTENT_SECURITY_POLICY, csp)
        .body(bytes::Bytes::from(page::render("Signing in", &body)))
        .unwrap_or_else(|_| bad_request(true, "the sign-in could not continue"))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn the_script_hash_is_the_scripts() {
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(SUBMIT_SCRIPT.as_bytes()));
        assert_eq!(SUBMIT_SCRIPT_HASH, format!("sha256-{hash}"));
    }

    #[test]
    fn the_relay_page_posts_the_same_fields_escaped() {
        let response = relay_page("/auth", "code=a%22b&state=s%3Cx&iss=https%3A%2F%2Fop");
        let page = std::str::from_utf8(response.body()).expect("utf-8");
        assert!(
            page.contains(r#"<form method="post" action="/auth">"#),
            "{page}"
        );
        assert!(page.contains(r#"name="code" value="a&quot;b""#), "{page}");
        assert!(page.contains(r#"name="state" value="s&lt;x""#), "{page}");
        assert!(
            page.contains(&format!(r#"name="{RELAYED}" value="1""#)),
            "{page}"
        );
        assert!(!page.contains("s<x"), "{page}");
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp");
        assert!(csp.contains(SUBMIT_SCRIPT_HASH), "{csp}");
        assert_eq!(response.headers()[http::header::CACHE_CONTROL], "no-store");
    }
}
