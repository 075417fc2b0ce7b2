//! The page that asks a user to confirm a logout another site asked for.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};

use crate::page::{self, escape};
use crate::response::CoreResponse;

/// A page with a same-origin POST form back to the logout route (browsers), or `403` JSON.
pub(crate) fn page(logout_path: &str, home: &str, html: bool) -> CoreResponse {
    let (status, content_type, body) = if html {
        let body = format!(
            "<p>Another site asked to sign you out of this application.</p>\
             <p class=\"detail\">Sign out only if you meant to.</p>\
             <form class=\"actions\" method=\"post\" action=\"{}\">\
             <button class=\"button\" type=\"submit\">Sign out</button>\
             <a href=\"{}\">Stay signed in</a></form>",
            escape(logout_path),
            escape(home),
        );
        let page = page::render("Sign out?", &body);
        (StatusCode::OK, "text/html; charset=utf-8", page)
    } else {
        let body = serde_json::json!({
            "error": "cross_site_logout",
            "message": "logout requests from other sites are not honoured; send a same-origin POST",
        });
        (StatusCode::FORBIDDEN, "application/json", body.to_string())
    };
    Response::builder()
        .status(status)
        .header(CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, content_type)
        // The page must not be framed by the site that sent the user here.
        .header("x-frame-options", "DENY")
        .header("content-security-policy", "frame-ancestors 'none'")
        .body(Bytes::from(body))
        .unwrap_or_else(|_| Response::new(Bytes::from_static(b"forbidden")))
}
