//! The provider's HTTP endpoints, except the token endpoint.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use jsonwebtoken::jwk::JwkSet;
use serde_json::{json, Value};

use super::keys::{key_ring, JwksContents};
use super::params::{found, redirect_target, OAuthError, Params};
use super::provider::Shared;
use super::state::{State as ProviderState, CLIENT_ID, USER_TICKET_PARAM};
use super::token_endpoint::token;
use super::tokens::now_unix;
use super::{EndSessionRequest, Misbehavior};

/// The router serving every endpoint, behind the outage and delay switches.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/end_session", get(end_session).post(end_session))
        .route("/introspect", post(super::token_endpoint::introspect))
        .route("/revoke", post(super::token_endpoint::revoke))
        .route("/claims_source", get(super::claims::claims_source))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// Simulates a slow or unreachable provider before any endpoint runs.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let delay = shared.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let available = shared.lock().available;
    if !available {
        return OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the mock provider is switched off",
        )
        .into_response();
    }
    next.run(request).await
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let mut state = shared.lock();
    state.stats.discovery += 1;
    let base = state.issuer.clone();
    let issuer = if state.misbehavior == Some(Misbehavior::DiscoveryIssuerMismatch) {
        format!("{base}/not-this-issuer")
    } else {
        base.clone()
    };
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "end_session_endpoint": format!("{base}/end_session"),
        "introspection_endpoint": format!("{base}/introspect"),
        "revocation_endpoint": format!("{base}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256", "HS384", "HS512", "none"],
        "userinfo_signing_alg_values_supported": ["RS256", "ES256"],
        "claim_types_supported": ["normal", "aggregated", "distributed"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "acr_values_supported": ["urn:mace:incommon:iap:silver", "urn:example:mfa"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_methods_supported": state.client_auth.advertised(),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "sid",
            "email", "email_verified", "name", "given_name", "family_name"
        ],
    }))
    .into_response()
}

/// The key set the JWKS endpoint publishes in the current state.
pub(crate) fn published_jwks(state: &ProviderState) -> JwkSet {
    let contents = match state.misbehavior {
        Some(Misbehavior::KidAbsent) => JwksContents::AllKeys,
        Some(Misbehavior::KidAbsentSingleKey) => JwksContents::ActiveRsaOnly,
        _ => JwksContents::ActiveRsaAndEc,
    };
    key_ring().jwks(state.active_rsa, contents)
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    let mut state = shared.lock();
    state.stats.jwks += 1;
    if state.misbehavior == Some(Misbehavior::GarbageJwks) {
        let content_type = HeaderValue::from_static("application/json");
        return ([(header::CONTENT_TYPE, content_type)], "not json").into_response();
    }
    Json(published_jwks(&state)).into_response()
}

/// Validates an authorization request and approves it for the current user, or for the
/// user its ticket names.
async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Result<Response, OAuthError> {
    shared.lock().stats.authorize += 1;
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes())?;
    if params.require("response_type")? != "code" {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if params.require("client_id")? != CLIENT_ID {
        return Err(OAuthError::invalid_request("unknown client_id"));
    }
    let redirect_uri = params.require("redirect_uri")?;
    let mut target = redirect_target(redirect_uri, "redirect_uri")?;
    let state_param = params.require("state")?;
    let scope = params.require("scope")?;
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(OAuthError::invalid_request("scope must contain openid"));
    }
    let code_challenge = params.require("code_challenge")?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    if !is_pkce_string(code_challenge) {
        return Err(OAuthError::invalid_request("code_challenge is malformed"));
    }
    let nonce = params.get("nonce");

    let mut state = shared.lock();
    let user = match params.get(USER_TICKET_PARAM) {
        Some(ticket) => state.take_chosen_user(ticket).ok_or_else(|| {
            OAuthError::invalid_request(format!("{USER_TICKET_PARAM} is unknown or expired"))
        })?,
        None => state.user.clone(),
    };
    if state.misbehavior == Some(Misbehavior::AuthorizeError) {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "the mock provider was told to refuse")
            .append_pair("state", state_param);
        return found(&target);
    }
    if state.login_required && params.get("prompt") == Some("none") {
        target
            .query_pairs_mut()
            .append_pair("error", "login_required")
            .append_pair("state", state_param);
        return found(&target);
    }
    let acr = state.acr.clone().or_else(|| {
        params
            .get("acr_values")
            .and_then(|values| values.split(' ').next())
            .map(str::to_owned)
    });
    let code = state.new_code(user, scope, nonce, redirect_uri, code_challenge);
    if let Some(pending) = state.codes.get_mut(&code) {
        pending.grant.acr = acr;
        pending.grant.dpop_jkt = params.get("dpop_jkt").map(str::to_owned);
    }
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state_param);
    if state.response_iss {
        target.query_pairs_mut().append_pair("iss", &state.issuer);
    }
    found(&target)
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
pub(crate) fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut state = shared.lock();
    state.stats.userinfo += 1;
    let Some(token) = bearer_token(&headers) else {
        // RFC 6750 §3.1: no error code when the request carried no token.
        return unauthorized("Bearer realm=\"tower-oidc-mock\"");
    };
    let now = now_unix();
    let Some(entry) = state.access_tokens.get(token) else {
        return unauthorized("Bearer error=\"invalid_token\"");
    };
    let bound = entry.claims.contains_key("cnf");
    if bound != super::dpop::uses_dpop_scheme(&headers) {
        return unauthorized("Bearer error=\"invalid_token\", error_description=\"wrong scheme\"");
    }
    if entry.expires_at.is_some_and(|exp| exp <= now) {
        return unauthorized("Bearer error=\"invalid_token\", error_description=\"expired\"");
    }
    let user = &entry.user;
    let sub = if state.misbehavior == Some(Misbehavior::UserinfoBadSub) {
        format!("{}-impostor", user.sub)
    } else {
        user.sub.clone()
    };
    let mut claims = user.profile_claims();
    claims.insert("sub".into(), Value::String(sub));
    super::claims::add_references(&state, super::ClaimsPlace::Userinfo, &mut claims);
    if state.userinfo_signed {
        return super::claims::signed_userinfo(&state, claims);
    }
    Json(Value::Object(claims)).into_response()
}

/// The token of an `Authorization: Bearer ..` header (scheme case-insensitive).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let scheme_known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop");
    (scheme_known && !token.is_empty()).then_some(token)
}

fn unauthorized(challenge: &'static str) -> Response {
    let body = json!({ "error": "invalid_token", "error_description": "missing, unknown or expired access token" });
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )],
        Json(body),
    )
        .into_response()
}

async fn end_session(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Result<Response, OAuthError> {
    shared.lock().stats.end_session += 1;
    // RP-initiated logout sends its parameters in the query (GET) or a form (POST).
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        uri.query().unwrap_or_default().as_bytes().to_vec()
    };
    let params = Params::parse(&raw)?;
    let request = EndSessionRequest {
        id_token_hint: params.get("id_token_hint").map(str::to_owned),
        client_id: params.get("client_id").map(str::to_owned),
        post_logout_redirect_uri: params.get("post_logout_redirect_uri").map(str::to_owned),
        state: params.get("state").map(str::to_owned),
    };
    let backchannel = {
        let mut state = shared.lock();
        state.end_session_requests.push(request.clone());
        let token = request
            .id_token_hint
            .as_deref()
            .and_then(|hint| super::backchannel::logout_token(&state, hint));
        state.backchannel_logout_uri.clone().zip(token)
    };
    // Like a provider that notifies RPs before it redirects the browser back.
    if let Some((uri, token)) = backchannel {
        let status = super::backchannel::post(&uri, &token).await;
        shared.lock().backchannel_logout_statuses.push(status);
    }
    let Some(raw_target) = request.post_logout_redirect_uri.as_deref() else {
        return Ok("signed out".into_response());
    };
    let mut target = redirect_target(raw_target, "post_logout_redirect_uri")?;
    if let Some(state) = request.state.as_deref() {
        target.query_pairs_mut().append_pair("state", state);
    }
    found(&target)
}
