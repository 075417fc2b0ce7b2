//! The userinfo call at login, merged into the ID token's claims.

use ::http::StatusCode;
use serde_json::{Map, Value};

use crate::provider::http;
use crate::provider::metadata::ProviderMetadata;

/// Claims about the protocol that userinfo must never override.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "azp",
    "auth_time",
    "at_hash",
    "c_hash",
    "sid",
    "acr",
    "amr",
    "jti",
];

pub(crate) enum UserinfoError {
    /// Userinfo speaks of another user: the login must fail.
    SubjectMismatch,
    /// Not available; the ID token's claims are used alone.
    Unavailable(String),
}

/// Fetches userinfo and merges it into `claims`.
pub(crate) async fn merge(
    client: &reqwest::Client,
    metadata: &ProviderMetadata,
    access_token: &str,
    claims: &mut Map<String, Value>,
) -> Result<(), UserinfoError> {
    let Some(endpoint) = &metadata.userinfo_endpoint else {
        return Ok(());
    };
    let (status, body) = http::get(client, endpoint, Some(access_token))
        .await
        .map_err(|err| UserinfoError::Unavailable(err.to_string()))?;
    if status != StatusCode::OK {
        return Err(UserinfoError::Unavailable(format!(
            "userinfo answered {status}"
        )));
    }
    let info: Map<String, Value> = serde_json::from_slice(&body).map_err(|_| {
        UserinfoError::Unavailable(
            "userinfo is not a JSON object (signed userinfo is not supported)".into(),
        )
    })?;
    if info.get("sub") != claims.get("sub") {
        return Err(UserinfoError::SubjectMismatch);
    }
    for (name, value) in info {
        if !PROTOCOL_CLAIMS.contains(&name.as_str()) {
            claims.insert(name, value);
        }
    }
    Ok(())
}
