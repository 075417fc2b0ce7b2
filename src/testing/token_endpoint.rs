//! The token endpoint: client authentication, code and refresh grants.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest as _, Sha256};

use super::params::{no_store, OAuthError, Params};
use super::provider::Shared;
use super::routes::is_pkce_string;
use super::state::{CLIENT_ID, CLIENT_SECRET};
use super::{Misbehavior, MockClientAuth};

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let params = Params::parse(&body)?;
    let grant_type = params.require("grant_type")?;
    {
        let mut state = shared.lock();
        match grant_type {
            "authorization_code" => state.stats.token_code += 1,
            "refresh_token" => state.stats.token_refresh += 1,
            _ => {}
        }
    }
    authenticate_client(&shared, &headers, &params)?;
    let proof_jkt = match super::dpop::token_request_proof(&shared, &headers) {
        Ok(jkt) => jkt,
        Err(refusal) => return Ok(*refusal),
    };
    match grant_type {
        "authorization_code" => code_grant(&shared, &params, proof_jkt),
        "refresh_token" => refresh_grant(&shared, &params, proof_jkt),
        _ => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code and refresh_token are supported",
        )),
    }
}

/// Credentials as the client presented them.
struct Credentials {
    id: String,
    secret: String,
}

/// RFC 6749 §2.3.1: HTTP Basic or form fields, never both.
fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    let authorization = headers.get(header::AUTHORIZATION);
    let uses_basic = authorization.is_some();
    let uses_post = params.get("client_secret").is_some();
    let accepted = {
        let mut state = shared.lock();
        state.stats.client_auth_basic += u64::from(uses_basic);
        state.stats.client_auth_post += u64::from(uses_post);
        state.client_auth
    };
    let credentials = match (uses_basic, uses_post) {
        (true, true) => {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method",
            ));
        }
        (false, false) => return Err(OAuthError::invalid_client("client authentication required")),
        (true, false) => {
            if accepted == MockClientAuth::Post {
                return Err(OAuthError::invalid_client(
                    "client_secret_basic is not allowed",
                ));
            }
            let credentials = authorization
                .and_then(basic_credentials)
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            // A client_id form field may accompany Basic, but must agree.
            if params
                .get("client_id")
                .is_some_and(|id| id != credentials.id)
            {
                return Err(OAuthError::invalid_client(
                    "client_id differs from the Basic credentials",
                ));
            }
            credentials
        }
        (false, true) => {
            if accepted == MockClientAuth::Basic {
                return Err(OAuthError::invalid_client(
                    "client_secret_post is not allowed",
                ));
            }
            let id = params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_secret without client_id"))?;
            Credentials {
                id: id.to_owned(),
                secret: params.get("client_secret").unwrap_or_default().to_owned(),
            }
        }
    };
    if credentials.id != CLIENT_ID || credentials.secret != CLIENT_SECRET {
        return Err(OAuthError::invalid_client("unknown client or wrong secret"));
    }
    Ok(())
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(value: &HeaderValue) -> Option<Credentials> {
    let (scheme, encoded) = value.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some(Credentials {
        id: form_decode(id),
        secret: form_decode(secret),
    })
}

/// Undoes `application/x-www-form-urlencoded` encoding of a single value.
fn form_decode(value: &str) -> String {
    let pair = format!("v={value}");
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, decoded)| decoded.into_owned())
        .unwrap_or_default()
}

fn code_grant(
    shared: &Shared,
    params: &Params,
    proof_jkt: Option<String>,
) -> Result<Response, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    let mut state = shared.lock();
    if state.misbehavior == Some(Misbehavior::TokenEndpointError) {
        return Err(OAuthError::invalid_grant(
            "the mock provider was told to refuse",
        ));
    }
    let Some(pending) = state.codes.get_mut(code) else {
        return Err(OAuthError::invalid_grant("unknown authorization code"));
    };
    if pending.used {
        let grant_id = pending.grant.id.clone();
        state.stats.code_replays += 1;
        state.revoke_grant(&grant_id);
        return Err(OAuthError::invalid_grant("authorization code already used"));
    }
    if pending.expires_at <= Instant::now() {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    if pending.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !is_pkce_string(verifier) || pkce_challenge(verifier) != pending.code_challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match code_challenge",
        ));
    }
    super::dpop::bind(&mut pending.grant, proof_jkt)?;
    pending.used = true;
    let grant = pending.grant.clone();
    let nonce = pending.nonce.clone();
    let with_refresh_token = state.issue_refresh_tokens;
    let response = state.token_response(&grant, nonce.as_deref(), &grant.scope, with_refresh_token);
    Ok(token_json(response))
}

/// BASE64URL-NOPAD(SHA256(verifier)), the S256 transformation.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn refresh_grant(
    shared: &Shared,
    params: &Params,
    proof_jkt: Option<String>,
) -> Result<Response, OAuthError> {
    let refresh_token = params.require("refresh_token")?;
    let mut state = shared.lock();
    if state.misbehavior == Some(Misbehavior::RefreshFails) {
        return Err(OAuthError::invalid_grant(
            "the mock provider was told to refuse",
        ));
    }
    let Some(entry) = state.refresh_tokens.get_mut(refresh_token) else {
        return Err(OAuthError::invalid_grant("unknown refresh token"));
    };
    if !entry.active {
        state.stats.refresh_replays += 1;
        return Err(OAuthError::invalid_grant(
            "refresh token already used or revoked",
        ));
    }
    let mut grant = entry.grant.clone();
    super::dpop::check_refresh(&grant, proof_jkt.as_deref())?;
    // RFC 6749 §6: a refresh may narrow the scope, never widen it.
    let scope = match params.get("scope") {
        Some(requested) => {
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if !requested.split(' ').all(|s| granted.contains(&s)) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "requested scope exceeds the granted scope",
                ));
            }
            requested.to_owned()
        }
        None => grant.scope.clone(),
    };
    entry.active = false;
    grant.user = state.refreshed_user(&grant.user);
    let response = state.token_response(&grant, None, &scope, true);
    Ok(token_json(response))
}

fn token_json(body: serde_json::Value) -> Response {
    (no_store(), Json(body)).into_response()
}

/// RFC 7662 introspection: the client authenticates as at the token endpoint.
pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    shared.lock().stats.introspection += 1;
    let params = Params::parse(&body)?;
    authenticate_client(&shared, &headers, &params)?;
    let token = params.require("token")?;
    let state = shared.lock();
    let now = super::tokens::now_unix();
    let answer = match state.access_tokens.get(token) {
        Some(entry) if entry.expires_at.is_none_or(|exp| exp > now) => {
            let mut claims = entry.claims.clone();
            claims.insert("active".into(), serde_json::Value::Bool(true));
            serde_json::Value::Object(claims)
        }
        _ => serde_json::json!({ "active": false }),
    };
    Ok(Json(answer).into_response())
}

/// RFC 7009 revocation: the client authenticates as at the token endpoint. A revoked
/// refresh token ends its grant (its access tokens too, as RFC 7009 §2.1 allows); a
/// revoked access token is forgotten. Unknown tokens are answered `200` too.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    shared.lock().stats.revocation += 1;
    let params = Params::parse(&body)?;
    authenticate_client(&shared, &headers, &params)?;
    let token = params.require("token")?;
    let mut state = shared.lock();
    state.revocations.push(super::Revocation {
        token: token.to_owned(),
        token_type_hint: params.get("token_type_hint").map(str::to_owned),
    });
    if let Some(grant_id) = state
        .refresh_tokens
        .get(token)
        .map(|entry| entry.grant.id.clone())
    {
        state.revoke_grant(&grant_id);
    }
    state.access_tokens.remove(token);
    Ok(StatusCode::OK.into_response())
}
