//! The page that asks a user to confirm a logout another site asked for.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};

use crate::response::{escape, CoreResponse};

/// A page with a same-origin POST form back to the logout route (browsers), or `403` JSON.
pub(crate) fn page(logout_path: &str, home: &str, html: bool) -> CoreResponse {
    let (status, content_type, body) = if html {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Sign out?</title><style>\
             body{{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2430;\
             margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}}\
             main{{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;\
             padding:2rem;max-width:26rem;margin:1rem}}\
             h1{{font-size:1.4rem;margin-top:0}}\
             button{{font:inherit;background:#1f5fbf;color:#fff;border:0;border-radius:8px;\
             padding:.6rem 1.2rem;cursor:pointer}}button:focus{{outline:3px solid #f0b400}}\
             a{{color:#1f5fbf;margin-left:1rem}}</style></head><body><main>\
             <h1>Sign out?</h1><p>Another site asked to sign you out of this application.\
             Sign out only if you meant to.</p>\
             <form method=\"post\" action=\"{}\"><button type=\"submit\">Sign out</button>\
             <a href=\"{}\">Stay signed in</a></form></main></body></html>",
            escape(logout_path),
            escape(home),
        );
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
