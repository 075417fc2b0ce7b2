//! The access-denied answer: a small page for browsers, JSON for API clients.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};

use crate::identity::Identity;
use crate::page::{self, escape};
use crate::response::CoreResponse;

/// Renders the HTML body of the `403` page for a signed-in user who is not allowed in.
/// Receives the identity and the path of the logout route.
#[derive(Clone)]
pub struct AccessDeniedPage(pub(crate) Arc<RenderPage>);

type RenderPage = dyn Fn(&Identity, &str) -> String + Send + Sync;

impl AccessDeniedPage {
    /// A page rendered by `render(identity, logout_path)`.
    pub fn new<F>(render: F) -> Self
    where
        F: Fn(&Identity, &str) -> String + Send + Sync + 'static,
    {
        Self(Arc::new(render))
    }
}

impl fmt::Debug for AccessDeniedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessDeniedPage")
    }
}

fn default_page(identity: &Identity, logout_path: &str) -> String {
    let body = format!(
        "<p>You are signed in as <strong>{}</strong>, but this account may not open this \
         page.</p><p class=\"detail\">If you think it should, ask the people who run this \
         application for access, or sign in with another account.</p>\
         <p class=\"actions\"><a class=\"button\" href=\"{}\">Sign out</a></p>",
        escape(identity.user_id()),
        escape(logout_path)
    );
    page::render("Access denied", &body)
}

/// `403` for `identity`: the (possibly custom) page for browsers, JSON otherwise.
pub(crate) fn render_denied(
    identity: &Identity,
    html: bool,
    logout_path: &str,
    page: Option<&AccessDeniedPage>,
    set_cookies: Vec<HeaderValue>,
) -> CoreResponse {
    let (content_type, body) = if html {
        let body = match page {
            Some(page) => (page.0)(identity, logout_path),
            None => default_page(identity, logout_path),
        };
        ("text/html; charset=utf-8", body)
    } else {
        let body = serde_json::json!({
            "error": "forbidden",
            "message": "this account is not allowed to use this resource",
            "user_id": identity.user_id(),
        });
        ("application/json", body.to_string())
    };
    let mut builder = Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header(CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, content_type);
    for cookie in set_cookies {
        builder = builder.header(SET_COOKIE, cookie);
    }
    builder.body(Bytes::from(body)).unwrap_or_else(|_| {
        let mut response = Response::new(Bytes::from_static(b"forbidden"));
        *response.status_mut() = StatusCode::FORBIDDEN;
        response
    })
}
