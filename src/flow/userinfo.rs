//! The userinfo call at login, merged into the ID token's claims. A signed answer
//! (`application/jwt`, OpenID Connect Core 1.0, section 5.3.2) is verified with the
//! provider's keys first.

use ::http::StatusCode;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::provider::http::{self, FetchLimits};
use crate::provider::metadata::ProviderMetadata;
use crate::provider::Provider;
use crate::token::claim_sources;
use crate::token::jwt::{self, Rules};
use crate::token::protocol_claims::PROTOCOL_CLAIMS;
use crate::token::signing_alg;

const USERINFO_MEDIA_TYPES: &str = "application/json, application/jwt";

pub(crate) enum UserinfoError {
    /// Userinfo speaks of another user: the login must fail.
    SubjectMismatch,
    /// Signed, and the signature or its `iss` / `aud` did not verify: the login must fail,
    /// since the answer was tampered with or comes from elsewhere.
    Refused(String),
    /// Not available; the ID token's claims are used alone.
    Unavailable(String),
}

/// Fetches userinfo and merges it into `claims`.
pub(crate) async fn merge(
    provider: &Provider,
    config: &Config,
    metadata: &ProviderMetadata,
    access_token: &str,
    dpop_key: Option<&crate::dpop::client_key::ClientKey>,
    claims: &mut Map<String, Value>,
) -> Result<(), UserinfoError> {
    let Some(endpoint) = &metadata.userinfo_endpoint else {
        return Ok(());
    };
    let endpoint = metadata.endpoint("userinfo_endpoint", endpoint, config.transport.mutual_tls());
    let limits = FetchLimits {
        accept: USERINFO_MEDIA_TYPES,
        max_bytes: 1 << 20,
        timeout: None,
    };
    let credential = |nonce: Option<&str>| match dpop_key {
        Some(key) => crate::dpop::token_client::resource_headers(
            key,
            "GET",
            endpoint.as_str(),
            access_token,
            nonce,
        )
        .map(http::Credential::Dpop)
        .ok_or_else(|| UserinfoError::Unavailable("no DPoP proof for userinfo".into())),
        None => Ok(http::Credential::Bearer(access_token)),
    };
    let fetch = |credential| async {
        http::fetch_as(&provider.client, endpoint, credential, &limits)
            .await
            .map_err(|err| UserinfoError::Unavailable(err.to_string()))
    };
    let mut answer = fetch(credential(None)?).await?;
    // RFC 9449, section 9: one retry with the nonce the provider asks for.
    if let (Some(nonce), true, StatusCode::UNAUTHORIZED) =
        (answer.dpop_nonce.take(), dpop_key.is_some(), answer.status)
    {
        answer = fetch(credential(Some(&nonce))?).await?;
    }
    if answer.status != StatusCode::OK {
        return Err(UserinfoError::Unavailable(format!(
            "userinfo answered {}",
            answer.status
        )));
    }
    let info = if answer.media_type.as_deref() == Some("application/jwt") {
        let token = std::str::from_utf8(&answer.body)
            .map_err(|_| UserinfoError::Refused("signed userinfo is not text".into()))?;
        verify_signed(provider, config, metadata, token.trim()).await?
    } else {
        serde_json::from_slice::<Map<String, Value>>(&answer.body)
            .map_err(|_| UserinfoError::Unavailable("userinfo is not a JSON object".into()))?
    };
    merge_info(info, claims)
}

/// A signed userinfo response, checked as an ID token is: the provider's keys and
/// algorithms, `iss` the issuer and `aud` naming this client, both required.
async fn verify_signed(
    provider: &Provider,
    config: &Config,
    metadata: &ProviderMetadata,
    token: &str,
) -> Result<Map<String, Value>, UserinfoError> {
    let audiences = [config.client_id.clone()];
    let rules = Rules {
        issuer: &metadata.issuer,
        audiences: &audiences,
        algorithms: signing_alg::provider_algorithms(config),
        leeway_secs: config.leeway.as_secs(),
        required: &["sub", "iss", "aud"],
    };
    jwt::verify(provider, token, &rules).await.map_err(|err| {
        tracing::warn!(stage = err.stage(), reason = %err, "signed userinfo refused");
        UserinfoError::Refused(format!("signed userinfo refused: {err}"))
    })
}

/// Userinfo must speak of the ID token's subject; its aggregated and distributed claim
/// references join the ID token's, under their own source names.
fn merge_info(
    mut info: Map<String, Value>,
    claims: &mut Map<String, Value>,
) -> Result<(), UserinfoError> {
    if info.get("sub") != claims.get("sub") {
        return Err(UserinfoError::SubjectMismatch);
    }
    claim_sources::adopt(&mut info, claims, "userinfo");
    for (name, value) in info {
        if !PROTOCOL_CLAIMS.contains(&name.as_str()) {
            claims.insert(name, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::claims as object;

    #[test]
    fn merges_profile_claims_but_never_protocol_claims() {
        let mut claims = object(json!({"sub": "a", "iss": "https://op", "name": "old"}));
        let info = object(json!({"sub": "a", "iss": "https://evil", "name": "new", "x": 1}));
        assert!(merge_info(info, &mut claims).is_ok());
        assert_eq!(claims["iss"], "https://op");
        assert_eq!(claims["name"], "new");
        assert_eq!(claims["x"], 1);
    }

    #[test]
    fn another_subject_is_refused() {
        let mut claims = object(json!({"sub": "a"}));
        let info = object(json!({"sub": "b", "name": "Mallory"}));
        assert!(matches!(
            merge_info(info, &mut claims),
            Err(UserinfoError::SubjectMismatch)
        ));
        assert!(claims.get("name").is_none());
        let no_sub = object(json!({"name": "Nobody"}));
        assert!(matches!(
            merge_info(no_sub, &mut claims),
            Err(UserinfoError::SubjectMismatch)
        ));
    }

    #[test]
    fn claim_references_of_both_documents_are_kept() {
        let mut claims = object(json!({
            "sub": "a",
            "_claim_names": {"credit": "src1"},
            "_claim_sources": {"src1": {"endpoint": "https://a.example/c"}}
        }));
        let info = object(json!({
            "sub": "a",
            "_claim_names": {"shipping": "src1"},
            "_claim_sources": {"src1": {"JWT": "x.y.z"}}
        }));
        assert!(merge_info(info, &mut claims).is_ok());
        assert_eq!(claims["_claim_names"]["credit"], "src1");
        assert_eq!(claims["_claim_names"]["shipping"], "userinfo.src1");
        assert_eq!(
            claims["_claim_sources"]["src1"]["endpoint"],
            "https://a.example/c"
        );
        assert_eq!(claims["_claim_sources"]["userinfo.src1"]["JWT"], "x.y.z");
    }
}
