//! The management route: a signed-in browser session makes (`POST`), lists (`GET`) and
//! revokes (`DELETE {path}/{id}`) its user's keys. Never with a key or a bearer token, and
//! `POST` and `DELETE` only from the application's own pages.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, ORIGIN};
use http::{HeaderValue, Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::{is_scope_token, RedirectUri, SessionBackend};
use crate::context::{store_unavailable, Context, SessionLookup};
use crate::request::RequestView;
use crate::response::CoreResponse;
use crate::session::apikeys::ApiKey;
use crate::session::apikeys::{format, ApiKeys};
use crate::session::SessionData;
use crate::store::StoreError;

/// The largest body a `POST` may carry.
pub(crate) const MAX_BODY_BYTES: usize = 4096;
const MAX_NAME_CHARS: usize = 100;
const MAX_SCOPES: usize = 32;
/// Ten years.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;
/// Claims that speak of the login that made the key, not of the user: a key is no fresh
/// authentication (`acr`, `amr` and `auth_time` would pass step-up requirements for as
/// long as it lives), its scopes are its own, and it is bound to no DPoP key (`cnf` would
/// pass `Require::dpop`).
const LOGIN_CLAIMS: &[&str] = &[
    "scope",
    "scp",
    "acr",
    "amr",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "sid",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "cnf",
];

/// What the dispatcher does with a request on the management route.
pub(crate) enum Route {
    Respond(CoreResponse),
    /// Read the body, then [`Create::run`].
    ReadBody(Create),
    Wait(Manage),
}

/// A request on the management route, or `None` for another path.
pub(crate) fn decide(ctx: &Context, request: &RequestView<'_>, path: &str) -> Option<Route> {
    let keys = ctx.config.api_keys.as_deref()?;
    let rest = path.strip_prefix(keys.path.as_str())?;
    let target = match rest {
        "" => None,
        _ => Some(rest.strip_prefix('/').filter(|id| !id.contains('/'))?),
    };
    Some(route(ctx, request, target))
}

fn route(ctx: &Context, request: &RequestView<'_>, target: Option<&str>) -> Route {
    let method = request.method;
    let allowed = match target {
        None => *method == Method::GET || *method == Method::HEAD || *method == Method::POST,
        Some(_) => *method == Method::DELETE,
    };
    if !allowed {
        let allow = if target.is_none() {
            "GET, POST"
        } else {
            "DELETE"
        };
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that method",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return Route::Respond(response);
    }
    if request.headers.contains_key(AUTHORIZATION) {
        return Route::Respond(error(
            StatusCode::FORBIDDEN,
            "session_required",
            "API keys are managed from a signed-in browser session, not with a key or a token",
        ));
    }
    let changes = *method == Method::POST || *method == Method::DELETE;
    if changes && !same_origin(ctx, request) {
        tracing::info!("cross-site request to the API key route refused");
        return Route::Respond(error(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "API keys are made and revoked only from this application's own pages",
        ));
    }
    let session = match ctx.lookup_session(request.headers) {
        SessionLookup::Valid(session) => SessionRef::Loaded(session),
        SessionLookup::Store(id) => SessionRef::Stored(id.id),
        SessionLookup::StoreFailed(_) => return Route::Respond(store_unavailable(false)),
        SessionLookup::None | SessionLookup::Invalid { .. } => {
            return Route::Respond(sign_in_first())
        }
    };
    match target {
        None if *method == Method::POST => Route::ReadBody(Create { session }),
        None => Route::Wait(Manage {
            session,
            action: Action::List,
        }),
        Some(id) => Route::Wait(Manage {
            session,
            action: Action::Revoke(id.to_owned()),
        }),
    }
}

/// `Origin` is the application's (that of the redirect URI, or of the request when the
/// redirect URI is a path), or, without `Origin`, the browser says `Sec-Fetch-Site:
/// same-origin`. Anything else, including neither header, is refused.
fn same_origin(ctx: &Context, request: &RequestView<'_>) -> bool {
    match request.headers.get(ORIGIN) {
        Some(origin) => {
            let own = match &ctx.config.redirect_uri {
                RedirectUri::Absolute(url) => Some(url.origin().ascii_serialization()),
                RedirectUri::Path(_) => request.origin(&ctx.config),
            };
            own.is_some_and(|own| own.as_bytes() == origin.as_bytes())
        }
        None => request
            .headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"same-origin"),
    }
}

/// The request's session, found at once or kept in a store.
pub(crate) enum SessionRef {
    Loaded(Arc<SessionData>),
    Stored(Arc<str>),
}

impl SessionRef {
    /// The live session, allowed by the global requirements.
    async fn resolve(self, ctx: &Context) -> Result<Arc<SessionData>, CoreResponse> {
        let session = match self {
            SessionRef::Loaded(session) => session,
            SessionRef::Stored(id) => {
                let SessionBackend::Store(store) = &ctx.config.session else {
                    return Err(sign_in_first());
                };
                match store.load(&id).await {
                    Ok(Some(session)) if !ctx.session_is_over(&session, crate::session::now()) => {
                        Arc::new(session)
                    }
                    Ok(_) | Err(StoreError::Corrupt { .. }) => return Err(sign_in_first()),
                    Err(err) => {
                        tracing::error!(error = %err, "session store unavailable");
                        return Err(store_unavailable(false));
                    }
                }
            }
        };
        if ctx
            .config
            .require
            .check(&ctx.identity(Arc::clone(&session)))
            .is_err()
        {
            return Err(error(
                StatusCode::FORBIDDEN,
                "access_denied",
                "this account may not use this service",
            ));
        }
        Ok(session)
    }
}

pub(crate) enum Action {
    List,
    Revoke(String),
}

/// Listing or revoking, once the session is known.
pub(crate) struct Manage {
    session: SessionRef,
    action: Action,
}

impl Manage {
    pub(crate) async fn run(self, ctx: &Context) -> CoreResponse {
        let Some(keys) = ctx.config.api_keys.as_deref() else {
            return sign_in_first();
        };
        let session = match self.session.resolve(ctx).await {
            Ok(session) => session,
            Err(response) => return response,
        };
        let user_id = session.user_id.as_str();
        match self.action {
            Action::List => match keys.store.list(user_id).await {
                Ok(list) => {
                    let list: Vec<Value> = list.iter().map(ApiKey::listing).collect();
                    json_response(StatusCode::OK, &json!({ "keys": list }))
                }
                Err(err) => store_failed(&err),
            },
            Action::Revoke(id) => revoke(keys, user_id, &id).await,
        }
    }
}

async fn revoke(keys: &ApiKeys, user_id: &str, id: &str) -> CoreResponse {
    // Another user's key, a revoked one and one never made all look the same.
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "no such API key");
    if !format::is_id(id) {
        return not_found();
    }
    match keys.store.revoke(user_id, id).await {
        Ok(true) => {
            keys.identities.forget(id);
            tracing::info!(user_id, key_id = id, "API key revoked");
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(false) => not_found(),
        Err(err) => store_failed(&err),
    }
}

/// What a `POST` may ask for; every field optional, no other field.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: Option<String>,
    expires_in: Option<u64>,
    scopes: Option<Vec<String>>,
}

/// Making a key, once the body is read.
pub(crate) struct Create {
    session: SessionRef,
}

impl Create {
    pub(crate) async fn run(self, ctx: &Context, body: &[u8]) -> CoreResponse {
        let Some(keys) = ctx.config.api_keys.as_deref() else {
            return sign_in_first();
        };
        let session = match self.session.resolve(ctx).await {
            Ok(session) => session,
            Err(response) => return response,
        };
        let asked = if body.iter().all(u8::is_ascii_whitespace) {
            CreateRequest::default()
        } else {
            match serde_json::from_slice::<CreateRequest>(body) {
                Ok(asked) => asked,
                Err(err) => return bad_request(&format!("the body is not a valid request: {err}")),
            }
        };
        let now = crate::session::now();
        let key = match new_key(keys, &session, asked, now) {
            Ok(key) => key,
            Err(problem) => return bad_request(&problem),
        };
        let (record, secret) = key;
        match keys.store.create(&record, keys.per_user).await {
            Ok(true) => {
                tracing::info!(user_id = %record.user_id, key_id = %record.id, "API key made");
                let mut body = record.listing();
                if let Value::Object(body) = &mut body {
                    body.insert("key".into(), Value::String(secret));
                }
                json_response(StatusCode::CREATED, &body)
            }
            Ok(false) => error(
                StatusCode::CONFLICT,
                "too_many_keys",
                &format!(
                    "a user may have at most {} API keys; revoke one first",
                    keys.per_user
                ),
            ),
            Err(err) => store_failed(&err),
        }
    }
}

/// The record of a new key for `session`'s user, and the key itself.
fn new_key(
    keys: &ApiKeys,
    session: &SessionData,
    asked: CreateRequest,
    now: u64,
) -> Result<(ApiKey, String), String> {
    let name = match asked.name {
        Some(name) if name.chars().count() > MAX_NAME_CHARS => {
            return Err(format!("`name` is longer than {MAX_NAME_CHARS} characters"))
        }
        Some(name) if name.chars().any(char::is_control) => {
            return Err("`name` holds control characters".into())
        }
        name => name.filter(|name| !name.trim().is_empty()),
    };
    let expires = match asked.expires_in {
        Some(secs) if secs == 0 || secs > MAX_EXPIRES_IN => {
            return Err(format!(
                "`expires_in` must be between 1 and {MAX_EXPIRES_IN} seconds"
            ))
        }
        Some(secs) => Some(now.saturating_add(secs)),
        None => None,
    };
    let scopes = checked_scopes(keys, session, asked.scopes.unwrap_or_default())?;
    let mut claims: Map<String, Value> = session.claims.clone();
    claims.retain(|name, _| !LOGIN_CLAIMS.contains(&name.as_str()));
    let new = format::generate();
    let record = ApiKey {
        id: new.id,
        user_id: session.user_id.clone(),
        name,
        hash: new.hash,
        created: now,
        last_used: None,
        expires,
        scopes,
        claims,
    };
    Ok((record, new.key))
}

/// A key may carry a scope the configuration offers to every key, or one the session
/// itself was granted: never more than its owner has.
fn checked_scopes(
    keys: &ApiKeys,
    session: &SessionData,
    mut asked: Vec<String>,
) -> Result<Vec<String>, String> {
    if asked.len() > MAX_SCOPES {
        return Err(format!("at most {MAX_SCOPES} scopes"));
    }
    asked.sort();
    asked.dedup();
    let granted = session_scopes(&session.claims);
    for scope in &asked {
        if !is_scope_token(scope) {
            return Err(
                "a scope is 1 to 64 printable characters without spaces, quotes or backslashes"
                    .into(),
            );
        }
        if !keys.scopes.contains(scope) && !granted.contains(&scope.as_str()) {
            return Err(format!("scope `{scope}` may not be given to a key"));
        }
    }
    Ok(asked)
}

/// The session's own scopes: `scope` (space separated) or `scp` (an array).
fn session_scopes(claims: &Map<String, Value>) -> Vec<&str> {
    let mut scopes: Vec<&str> = claims
        .get("scope")
        .and_then(Value::as_str)
        .map(|scope| scope.split_whitespace().collect())
        .unwrap_or_default();
    if let Some(Value::Array(scp)) = claims.get("scp") {
        scopes.extend(scp.iter().filter_map(Value::as_str));
    }
    scopes
}

fn store_failed(err: &StoreError) -> CoreResponse {
    tracing::error!(error = %err, "API key store failed");
    super::api_key_auth::store_unavailable()
}

fn sign_in_first() -> CoreResponse {
    error(
        StatusCode::UNAUTHORIZED,
        "authentication_required",
        "sign in to manage API keys",
    )
}

fn bad_request(message: &str) -> CoreResponse {
    error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn error(status: StatusCode, code: &str, message: &str) -> CoreResponse {
    json_response(status, &json!({ "error": code, "message": message }))
}

fn json_response(status: StatusCode, body: &Value) -> CoreResponse {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        for good in ["read", "read:data", "https://api.example.com/x", "a!#[]~"] {
            assert!(is_scope_token(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", &"x".repeat(65)] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }

    #[test]
    fn the_sessions_scopes_come_from_scope_and_scp() {
        let claims = crate::test_support::claims(json!({"scope": "a b", "scp": ["c"]}));
        assert_eq!(session_scopes(&claims), ["a", "b", "c"]);
    }
}
