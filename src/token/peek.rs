//! The `iss` (and `tid`) of a token read before its signature is checked: only to choose
//! which provider's keys and rules verify it, never to trust anything it says.

use std::borrow::Cow;

use crate::config::Config;

/// The unverified `iss` and `tid` of a JWT; `None` for anything else.
pub(crate) fn issuer_and_tenant(token: &str) -> Option<(String, Option<String>)> {
    let body = super::body::split(token).ok()?;
    let iss = body.claims.get("iss")?.as_str()?.to_owned();
    let tid = body
        .claims
        .get("tid")
        .and_then(|tid| tid.as_str())
        .map(str::to_owned);
    Some((iss, tid))
}

/// The issuer `token` must name: the provider's, or for a multi-tenant provider the
/// template filled in with the token's allowed tenant. The verification that follows
/// still compares the token's `iss` with it exactly.
pub(crate) fn expected_issuer<'a>(
    config: &Config,
    metadata_issuer: &'a str,
    token: &str,
) -> Cow<'a, str> {
    let Some(tenants) = &config.tenants else {
        return Cow::Borrowed(metadata_issuer);
    };
    match issuer_and_tenant(token) {
        Some((iss, tid)) if tenants.accepts(&iss, tid.as_deref()) => Cow::Owned(iss),
        _ => Cow::Borrowed(metadata_issuer),
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn token(claims: &serde_json::Value) -> String {
        let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
        format!(
            "{}.{}.c2ln",
            encode(&serde_json::json!({"alg": "RS256"})),
            encode(claims)
        )
    }

    #[test]
    fn reads_iss_and_tid_without_trusting_them() {
        let jwt = token(&serde_json::json!({"iss": "https://op.example", "tid": "t1"}));
        assert_eq!(
            issuer_and_tenant(&jwt),
            Some(("https://op.example".to_owned(), Some("t1".to_owned())))
        );
        assert_eq!(issuer_and_tenant("opaque-token"), None);
        assert_eq!(
            issuer_and_tenant(&token(&serde_json::json!({"iss": 5}))),
            None
        );
    }
}
