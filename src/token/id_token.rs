//! ID token checks of OpenID Connect Core 1.0, section 3.1.3.7.

use serde_json::{Map, Value};
use url::{Host, Url};

use super::jwt::{self, Rules, TokenError};
use super::signing_alg;
use crate::config::{Config, IdTokenSigningAlg};
use crate::provider::metadata::ProviderMetadata;
use crate::provider::Provider;

/// Verifies an ID token: signature and algorithm, `iss`, `aud`, `azp`, `exp`, `iat`, `sub`,
/// and `nonce` when one was sent (at login; refresh responses carry none).
///
/// `token` must come straight from the token endpoint's response (the code exchange or a
/// refresh): only there may a client registered for `none` accept an unsigned token.
pub(crate) async fn verify(
    provider: &Provider,
    metadata: &ProviderMetadata,
    config: &Config,
    token: &str,
    expected_nonce: Option<&str>,
) -> Result<Map<String, Value>, TokenError> {
    let audiences = [config.client_id.clone()];
    let issuer = super::peek::expected_issuer(config, &metadata.issuer, token);
    let rules = Rules {
        issuer: &issuer,
        audiences: &audiences,
        algorithms: signing_alg::provider_algorithms(config),
        leeway_secs: config.leeway.as_secs(),
        required: &["iss", "aud", "exp", "iat", "sub"],
    };
    let claims = match config.id_token_signing_alg {
        Some(IdTokenSigningAlg::Signed(alg)) if super::header::is_hmac(alg) => {
            let secret = config
                .client_secret
                .as_ref()
                .ok_or(TokenError::BadSignature(
                    "no client secret to verify HMAC with",
                ))?;
            jwt::verify_hmac(token, secret.expose().as_bytes(), alg, &rules)?
        }
        Some(IdTokenSigningAlg::Unsigned) => {
            if !may_trust_unsigned_from(&metadata.token_endpoint) {
                return Err(TokenError::BadSignature(
                    "unsigned ID tokens are accepted only from an https (or loopback) token endpoint",
                ));
            }
            jwt::verify_unsigned(token, &rules)?
        }
        _ => jwt::verify(provider, token, &rules).await?,
    };
    check_claims(&claims, &config.client_id, expected_nonce)?;
    Ok(claims)
}

/// An unsigned token is only as good as the channel it came over: TLS, or a connection
/// that never leaves the machine.
fn may_trust_unsigned_from(token_endpoint: &Url) -> bool {
    match token_endpoint.scheme() {
        "https" => true,
        "http" => is_loopback(token_endpoint),
        _ => false,
    }
}

/// Whether the URL names this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    expected_nonce: Option<&str>,
) -> Result<(), TokenError> {
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => {}
        _ => return Err(TokenError::InvalidClaim("sub")),
    }
    let audience_count = match claims.get("aud") {
        Some(Value::Array(values)) => values.len(),
        _ => 1,
    };
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => {}
        Some(_) => return Err(TokenError::InvalidClaim("azp")),
        None if audience_count > 1 => return Err(TokenError::MissingClaim("azp".into())),
        None => {}
    }
    if let Some(expected) = expected_nonce {
        match claims.get("nonce") {
            Some(Value::String(nonce)) if nonce == expected => {}
            Some(_) => return Err(TokenError::InvalidClaim("nonce")),
            None => return Err(TokenError::MissingClaim("nonce".into())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::claims;

    #[test]
    fn azp_rules() {
        let ok = claims(json!({"sub": "a", "aud": ["me", "other"], "azp": "me", "nonce": "n"}));
        assert!(check_claims(&ok, "me", Some("n")).is_ok());
        let missing = claims(json!({"sub": "a", "aud": ["me", "other"], "nonce": "n"}));
        assert!(check_claims(&missing, "me", Some("n")).is_err());
        let wrong = claims(json!({"sub": "a", "aud": "me", "azp": "other", "nonce": "n"}));
        assert!(check_claims(&wrong, "me", Some("n")).is_err());
    }

    #[test]
    fn unsigned_only_over_tls_or_loopback() {
        let trusted = |url: &str| may_trust_unsigned_from(&Url::parse(url).expect("url"));
        assert!(trusted("https://op.example/token"));
        assert!(trusted("http://127.0.0.1:8080/token"));
        assert!(trusted("http://127.8.9.10/token"));
        assert!(trusted("http://[::1]:9/token"));
        assert!(trusted("http://localhost/token"));
        assert!(!trusted("http://op.example/token"));
        assert!(!trusted("http://10.0.0.1/token"));
        assert!(!trusted("http://localhost.example.com/token"));
        assert!(!trusted("ftp://127.0.0.1/token"));
    }

    #[test]
    fn nonce_and_sub_rules() {
        let token = claims(json!({"sub": "a", "aud": "me", "nonce": "n"}));
        assert!(check_claims(&token, "me", Some("n")).is_ok());
        assert!(check_claims(&token, "me", Some("other")).is_err());
        assert!(check_claims(&token, "me", None).is_ok());
        let no_nonce = claims(json!({"sub": "a", "aud": "me"}));
        assert!(check_claims(&no_nonce, "me", Some("n")).is_err());
        let empty_sub = claims(json!({"sub": "", "aud": "me"}));
        assert!(check_claims(&empty_sub, "me", None).is_err());
        let numeric_sub = claims(json!({"sub": 5, "aud": "me"}));
        assert!(check_claims(&numeric_sub, "me", None).is_err());
    }
}
