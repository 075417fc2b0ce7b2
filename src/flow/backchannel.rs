//! OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed logout token; the
//! sessions it names are deleted from the server-side store.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::{Map, Value};

use crate::config::SessionBackend;
use crate::context::Context;
use crate::response::CoreResponse;
use crate::session::store::StoreError;
use crate::token::jwt::{self, Rules};

pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024;
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn answer(status: StatusCode, error: Option<(&str, &str)>) -> CoreResponse {
    let body = match error {
        Some((code, description)) => {
            serde_json::json!({ "error": code, "error_description": description }).to_string()
        }
        None => String::new(),
    };
    Response::builder()
        .status(status)
        .header(CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::from(body))
        .unwrap_or_else(|_| Response::new(Bytes::new()))
}

fn bad_request(description: &str) -> CoreResponse {
    tracing::info!(reason = description, "back-channel logout refused");
    answer(
        StatusCode::BAD_REQUEST,
        Some(("invalid_request", description)),
    )
}

pub(crate) async fn handle(ctx: &Context, body: &[u8]) -> CoreResponse {
    let SessionBackend::Store(store) = &ctx.config.session else {
        return answer(
            StatusCode::NOT_IMPLEMENTED,
            Some((
                "unsupported",
                "back-channel logout needs a server-side session store (memory, Redis, SQL)",
            )),
        );
    };
    let token = form_urlencoded::parse(body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return bad_request("the body has no logout_token");
    };
    // With several providers, the token's `iss` chooses whose keys verify it.
    let owner = crate::token::peek::issuer_and_tenant(&token)
        .and_then(|(iss, tid)| ctx.for_issuer(&iss, tid.as_deref()));
    let Some(ctx) = &owner else {
        return bad_request("the logout token's issuer is not one of this application's providers");
    };
    let (claims, jti) = match verify(ctx, &token).await {
        Ok(verified) => verified,
        Err(description) => return bad_request(&description),
    };
    let keys =
        crate::token::logout_token::session_keys(&claims, ctx.config.provider_key.as_deref());
    let mut ended = 0;
    for key in &keys {
        match store.delete_indexed(key).await {
            Ok(count) => ended += count,
            Err(StoreError::Unsupported) => {
                ctx.forget_logout_token(&jti).await;
                return answer(
                    StatusCode::NOT_IMPLEMENTED,
                    Some((
                        "unsupported",
                        "this session store cannot find sessions to end",
                    )),
                );
            }
            Err(err) => {
                tracing::error!(error = %err, "back-channel logout: store unavailable");
                // The provider sends the token again after a 5xx: that retry must end the
                // sessions, not be refused as a replay.
                ctx.forget_logout_token(&jti).await;
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some((
                        "temporarily_unavailable",
                        "the session store is unavailable",
                    )),
                );
            }
        }
    }
    tracing::info!(sessions = ended, "back-channel logout");
    answer(StatusCode::OK, None)
}

/// A `typ` other than `logout+jwt` (or a generic `JWT`, which several providers put on every
/// token they sign) names another kind of token: an access token must not end sessions.
fn logout_token_kind(typ: Option<&str>) -> Result<(), String> {
    match typ {
        None | Some("jwt" | "logout+jwt") => Ok(()),
        Some(_) => Err("the token's typ says it is not a logout token".into()),
    }
}

/// A logout token is used at once; an old one is a replay, or a token held back to end
/// sessions later. `iat` must lie within `max_age` seconds before now (with `leeway`).
fn issued_recently(
    claims: &Map<String, Value>,
    now: u64,
    max_age: u64,
    leeway: u64,
) -> Result<(), String> {
    let Some(iat) = claims.get("iat").and_then(Value::as_u64) else {
        return Err("the logout token has no numeric iat".into());
    };
    if iat > now.saturating_add(leeway) {
        return Err("the logout token was issued in the future".into());
    }
    if iat.saturating_add(max_age).saturating_add(leeway) < now {
        return Err("the logout token is too old".into());
    }
    Ok(())
}

/// Section 2.6 of the specification: signature, `iss`, `aud`, `iat`, the logout event,
/// `sid` and/or `sub`, no `nonce`, and a `jti` never seen before, which is recorded and
/// returned beside the claims.
async fn verify(ctx: &Context, token: &str) -> Result<(Map<String, Value>, String), String> {
    let metadata = ctx
        .provider
        .metadata()
        .await
        .map_err(|err| format!("the provider is unavailable: {}", err.0))?;
    let audiences = [ctx.config.client_id.clone()];
    let issuer = crate::token::peek::expected_issuer(&ctx.config, &metadata.issuer, token);
    let rules = Rules {
        issuer: &issuer,
        audiences: &audiences,
        algorithms: crate::token::signing_alg::provider_algorithms(&ctx.config),
        leeway_secs: ctx.config.leeway.as_secs(),
        required: &["iss", "aud", "iat", "exp"],
    };
    let claims = jwt::verify(&ctx.provider, token, &rules)
        .await
        .map_err(|err| format!("the logout token was refused: {err}"))?;
    logout_token_kind(crate::token::header::typ(token).as_deref())?;
    issued_recently(
        &claims,
        crate::session::now(),
        ctx.config.security.logout_token_max_age.as_secs(),
        ctx.config.leeway.as_secs(),
    )?;
    let has_event = claims
        .get("events")
        .and_then(Value::as_object)
        .is_some_and(|events| events.get(LOGOUT_EVENT).is_some_and(Value::is_object));
    if !has_event {
        return Err("the logout token has no back-channel logout event".into());
    }
    if claims.contains_key("nonce") {
        return Err("a logout token must not contain a nonce".into());
    }
    let names_session = ["sid", "sub"].iter().any(|claim| {
        claims
            .get(*claim)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    });
    if !names_session {
        return Err("the logout token names neither sid nor sub".into());
    }
    let Some(jti) = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
    else {
        return Err("the logout token has no jti".into());
    };
    if !ctx.first_use_of_logout_token(jti).await {
        return Err("this logout token was used already".into());
    }
    let jti = jti.to_owned();
    Ok((claims, jti))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_logout_tokens_end_sessions() {
        for typ in [None, Some("jwt"), Some("logout+jwt")] {
            assert!(logout_token_kind(typ).is_ok(), "{typ:?}");
        }
        for typ in ["at+jwt", "id_token+jwt", "secevent+jwt"] {
            assert!(logout_token_kind(Some(typ)).is_err(), "{typ}");
        }
    }

    #[test]
    fn logout_tokens_must_be_fresh() {
        let at = |iat: Value| {
            json!({ "iat": iat })
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let now = 1_000_000;
        assert!(issued_recently(&at(json!(now - 10)), now, 300, 60).is_ok());
        assert!(issued_recently(&at(json!(now - 300 - 60)), now, 300, 60).is_ok());
        assert!(issued_recently(&at(json!(now - 300 - 61)), now, 300, 60).is_err());
        assert!(issued_recently(&at(json!(now + 61)), now, 300, 60).is_err());
        assert!(issued_recently(&at(json!("now")), now, 300, 60).is_err());
    }
}
