//! Aggregated and distributed claims (OpenID Connect Core 1.0, section 5.6.2) and signed
//! userinfo, as the mock serves them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use super::provider::Shared;
use super::routes::bearer_token;
use super::state::{State as ProviderState, CLIENT_ID};
use super::tokens::{self, now_unix};
use super::{ClaimsPlace, Misbehavior};

/// The source name of aggregated claims.
pub(crate) const AGGREGATED_SOURCE: &str = "src-aggregated";
/// The source name of distributed claims.
pub(crate) const DISTRIBUTED_SOURCE: &str = "src-distributed";

/// Adds `_claim_names` and `_claim_sources` for the claims configured to go to `place`.
pub(crate) fn add_references(
    state: &ProviderState,
    place: ClaimsPlace,
    claims: &mut Map<String, Value>,
) {
    let mut names = Map::new();
    let mut sources = Map::new();
    if let Some((aggregated, _)) = state
        .aggregated_claims
        .as_ref()
        .filter(|(_, at)| *at == place)
    {
        for name in aggregated.keys() {
            names.insert(name.clone(), json!(AGGREGATED_SOURCE));
        }
        sources.insert(
            AGGREGATED_SOURCE.into(),
            json!({ "JWT": claims_jwt(state, aggregated) }),
        );
    }
    if let Some((distributed, _)) = state
        .distributed_claims
        .as_ref()
        .filter(|(_, at)| *at == place)
    {
        for name in distributed.keys() {
            names.insert(name.clone(), json!(DISTRIBUTED_SOURCE));
        }
        sources.insert(
            DISTRIBUTED_SOURCE.into(),
            json!({
                "endpoint": format!("{}/claims_source", state.issuer),
                "access_token": state.claims_source_token,
            }),
        );
    }
    if !names.is_empty() {
        claims.insert("_claim_names".into(), Value::Object(names));
        claims.insert("_claim_sources".into(), Value::Object(sources));
    }
}

/// A claims JWT issued by the provider: the claims with `iss` and `iat`.
fn claims_jwt(state: &ProviderState, claims: &Map<String, Value>) -> String {
    let mut body = claims.clone();
    body.insert("iss".into(), json!(state.issuer));
    body.insert("iat".into(), json!(now_unix()));
    let body = Value::Object(body);
    if state.misbehavior == Some(Misbehavior::ClaimSourceBadSignature) {
        tokens::sign_rogue(state.active_rsa, "JWT", &body)
    } else {
        tokens::sign(&state.published_key_signing(), "JWT", &body)
    }
}

fn jwt_response(token: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwt"),
        )],
        token,
    )
        .into_response()
}

/// The distributed claims endpoint: the configured claims as a signed JWT, for the
/// access token named in `_claim_sources` only.
pub(crate) async fn claims_source(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let (answer, misbehavior) = {
        let mut state = shared.lock();
        state.stats.claims_source += 1;
        if bearer_token(&headers) != Some(state.claims_source_token.as_str()) {
            return (StatusCode::UNAUTHORIZED, "wrong access token").into_response();
        }
        let Some((claims, _)) = state.distributed_claims.clone() else {
            return StatusCode::NOT_FOUND.into_response();
        };
        (claims_jwt(&state, &claims), state.misbehavior)
    };
    match misbehavior {
        Some(Misbehavior::SlowClaimSource) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            jwt_response(answer)
        }
        Some(Misbehavior::OversizedClaimSource) => jwt_response("a".repeat(1 << 20)),
        _ => jwt_response(answer),
    }
}

/// Userinfo as a JWT signed with the provider's keys, with `iss` and `aud`.
pub(crate) fn signed_userinfo(state: &ProviderState, mut claims: Map<String, Value>) -> Response {
    claims.insert("iss".into(), json!(state.issuer));
    claims.insert("aud".into(), json!(CLIENT_ID));
    let body = Value::Object(claims);
    let token = if state.misbehavior == Some(Misbehavior::UserinfoBadSignature) {
        tokens::sign_rogue(state.active_rsa, "JWT", &body)
    } else {
        tokens::sign(&state.published_key_signing(), "JWT", &body)
    };
    jwt_response(token)
}
