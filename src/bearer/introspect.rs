//! RFC 7662 token introspection for opaque access tokens.

use serde_json::{Map, Value};

use super::introspect_guard::{Admission, IntrospectionGuard};
use super::BearerError;
use crate::config::Config;
use crate::provider::metadata::ProviderMetadata;
use crate::provider::Provider;

/// Asks the provider whether `token` is active; its answer becomes the token's claims.
/// Tokens the provider refused moments ago, and calls past the ceiling, are refused
/// without asking.
pub(crate) async fn introspect(
    provider: &Provider,
    metadata: &ProviderMetadata,
    config: &Config,
    guard: &IntrospectionGuard,
    token: &str,
) -> Result<Map<String, Value>, BearerError> {
    match guard.admit(token) {
        Admission::Ask => {}
        Admission::RefusedRecently => {
            return Err(BearerError::Invalid("the token is not active".into()))
        }
        Admission::OverCeiling => {
            return Err(BearerError::Unavailable(
                "too many unknown tokens to introspect right now".into(),
            ))
        }
    }
    let timer = crate::telemetry::Timer::start();
    let answer = ask(provider, metadata, config, token).await;
    crate::telemetry::introspected(&timer, &answer);
    if matches!(answer, Err(BearerError::Invalid(_))) {
        guard.refused(token);
    }
    answer
}

async fn ask(
    provider: &Provider,
    metadata: &ProviderMetadata,
    config: &Config,
    token: &str,
) -> Result<Map<String, Value>, BearerError> {
    let Some(endpoint) = &metadata.introspection_endpoint else {
        return Err(BearerError::Unavailable(
            "the provider has no introspection endpoint".into(),
        ));
    };
    let credentials = crate::provider::client_auth::credentials(config, metadata)
        .map_err(BearerError::Unavailable)?;
    let endpoint = metadata.endpoint(
        "introspection_endpoint",
        endpoint,
        config.transport.mutual_tls(),
    );
    let request = credentials.post(
        &provider.client,
        endpoint,
        &[("token", token), ("token_type_hint", "access_token")],
    );
    let response = request
        .send()
        .await
        .map_err(|err| BearerError::Unavailable(err.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(BearerError::Unavailable(format!(
            "introspection answered {}",
            response.status()
        )));
    }
    let body = response
        .bytes()
        .await
        .map_err(|err| BearerError::Unavailable(err.without_url().to_string()))?;
    let claims: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|_| BearerError::Unavailable("introspection answer is not JSON".into()))?;
    if claims.get("active") != Some(&Value::Bool(true)) {
        return Err(BearerError::Invalid("the token is not active".into()));
    }
    let now = crate::session::now();
    if claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp + config.leeway.as_secs() <= now)
    {
        return Err(BearerError::Invalid("token expired".into()));
    }
    if let Some(iss) = claims.get("iss").and_then(Value::as_str) {
        if !crate::issuer::same_issuer(iss, &metadata.issuer) {
            return Err(BearerError::Invalid("wrong issuer".into()));
        }
    }
    let audience_ok = match claims.get("aud") {
        None => true,
        Some(Value::String(aud)) => config.audiences.contains(aud),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| config.audiences.iter().any(|ours| ours == aud)),
        Some(_) => false,
    };
    if !audience_ok {
        return Err(BearerError::Invalid("wrong audience".into()));
    }
    access_token_type(&claims).map_err(|reason| BearerError::Invalid(reason.into()))?;
    Ok(claims)
}

/// RFC 7662 `token_type`, when the answer has one, must be an access token's: a refresh
/// token is active too, and must not pass as a bearer token. A sender-constrained token
/// (`DPoP`, or a `cnf` key binding) passes here: its binding is checked against the
/// request's credential afterwards (see `dpop::binding`).
fn access_token_type(claims: &Map<String, Value>) -> Result<(), &'static str> {
    match claims.get("token_type") {
        None => Ok(()),
        Some(Value::String(kind))
            if kind.eq_ignore_ascii_case("bearer") || kind.eq_ignore_ascii_case("access_token") =>
        {
            Ok(())
        }
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("dpop") => Ok(()),
        Some(_) => Err("the token is not an access token"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_access_token_answers_pass() {
        let ok = |value: Value| access_token_type(value.as_object().expect("object")).is_ok();
        assert!(ok(json!({"active": true})));
        assert!(ok(json!({"active": true, "token_type": "Bearer"})));
        assert!(ok(json!({"active": true, "token_type": "access_token"})));
        assert!(!ok(json!({"active": true, "token_type": "refresh_token"})));
        assert!(ok(json!({"active": true, "token_type": "DPoP"})));
        assert!(!ok(json!({"active": true, "token_type": 1})));
        assert!(ok(json!({"active": true, "cnf": {"jkt": "x"}})));
    }
}
