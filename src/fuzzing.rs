//! Entry points for the fuzz targets in `fuzz/`; compiled only under `cfg(fuzzing)`, which
//! cargo-fuzz sets. Each checks the invariants its input must never break.

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Session cookie decoding: any `Cookie` header opens to nothing, without panicking.
pub fn session_cookie(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, value);
    let key = cookie::Key::derive_from(&[7u8; 32]);
    let codec = crate::session::codec::CookieCodec::new(key, b"fuzz", true, "/".into());
    if let Some(sealed) = codec
        .find_chunks(&headers, "tower_oidc")
        .map(|chunks| chunks.joined())
    {
        assert!(
            codec.open("tower_oidc", &sealed).is_none(),
            "forged cookie opened"
        );
    }
    let _ = codec.count_chunks(&headers, "tower_oidc");
    let _ = crate::session::login_state::find(&codec, &headers, "tower_oidc", &text(data), 0);
}

/// The callback query: parsed or refused.
pub fn callback_query(data: &[u8]) {
    let _ = crate::flow::callback::parse_query(&text(data));
}

/// The return-to normalizer: whatever it accepts stays on the app's origin.
pub fn return_to(data: &[u8]) {
    if let Some(target) = crate::redirect::safe_return_to(&text(data)) {
        assert!(target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\"));
        let base = url::Url::parse("http://app.invalid/").expect("base URL");
        let resolved = base.join(&target).expect("a path joins");
        assert_eq!(resolved.origin(), base.origin(), "{target} left the origin");
    }
}

/// The path normalizer and whitelist matcher: only unambiguous paths ever match.
pub fn path_whitelist(data: &[u8]) {
    let raw = format!("/{}", text(data));
    let entries = ["health".to_owned(), "/static/*".to_owned()];
    let whitelist = crate::paths::Whitelist::parse(&entries, "").expect("valid whitelist");
    let normalized = crate::paths::normalize_path(&raw);
    assert!(normalized.path.starts_with('/'));
    if whitelist.matches(&normalized) {
        assert!(!normalized.ambiguous);
        assert_eq!(normalized.path.as_ref(), raw.as_str());
    }
}

/// The bearer header and JWT header parsers: classified or refused.
pub fn bearer_header(data: &[u8]) {
    let _ = crate::token::header::parse(&text(data), &[jsonwebtoken::Algorithm::RS256]);
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    if let crate::bearer::BearerHeader::Token(token) = crate::bearer::from_headers(&headers) {
        let token = std::str::from_utf8(&token).expect("a bearer token is visible ASCII");
        let _ = crate::token::header::parse(token, &[jsonwebtoken::Algorithm::RS256]);
    }
}
