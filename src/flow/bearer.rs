//! Verifying a bearer token the cache does not know.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::bearer::{introspect, BearerError};
use crate::context::Context;
use crate::identity::Identity;
use crate::outcome::Outcome;
use crate::response::{self, ErrorReply};
use crate::session::SessionData;
use crate::token::jwt::{self, Rules};
use crate::user::NoUser;
use crate::user_id::UserIdError;

pub(crate) struct BearerCheck {
    pub(crate) token: String,
}

impl BearerCheck {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        match verify(ctx, &self.token).await {
            Ok(session) => {
                let session = Arc::new(session);
                ctx.bearer_cache
                    .insert(&self.token, Arc::clone(&session), crate::session::now());
                if let Some(refusal) =
                    crate::dpop::binding::refuse_as_bearer(&ctx.config, Some(&session))
                {
                    return Outcome::Respond(refusal);
                }
                tracing::debug!(user_id = %session.user_id, "bearer token accepted");
                crate::telemetry::bearer_accepted("verified");
                Outcome::signed_in(Identity::new(session))
            }
            Err(err) => Outcome::Respond(reject(err)),
        }
    }
}

pub(crate) fn reject(err: BearerError) -> response::CoreResponse {
    crate::telemetry::bearer_rejected_because(err.reason_code());
    let reply = |status, code, message: &str| {
        ErrorReply {
            status,
            code,
            message,
            retry: None,
        }
        .render(false, Vec::new())
    };
    match err {
        BearerError::Invalid(reason) => {
            tracing::info!(%reason, "bearer token refused");
            response::unauthorized(
                &format!("invalid bearer token: {reason}"),
                Some("invalid_token"),
                Vec::new(),
            )
        }
        BearerError::Unavailable(reason) => {
            tracing::warn!(%reason, "bearer token could not be checked");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                "the token cannot be checked right now; try again shortly",
            )
        }
        BearerError::Refused => reply(
            StatusCode::FORBIDDEN,
            "user_refused",
            "this account may not use this service",
        ),
        BearerError::HookFailed(reason) => {
            tracing::error!(%reason, "user-detail hook failed for a bearer token");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "user_details_failed",
                "the user's details could not be loaded",
            )
        }
    }
}

pub(crate) async fn verify(ctx: &Context, token: &str) -> Result<SessionData, BearerError> {
    let ctx = &issuing_provider(ctx, token)?;
    let config = &ctx.config;
    let metadata = ctx
        .provider
        .metadata()
        .await
        .map_err(|err| BearerError::Unavailable(err.0))?;
    let is_jwt = token.split('.').count() == 3;
    let claims = if is_jwt {
        let issuer = crate::token::peek::expected_issuer(config, &metadata.issuer, token);
        let rules = Rules {
            issuer: &issuer,
            audiences: &config.audiences,
            algorithms: &config.allowed_algorithms,
            leeway_secs: config.leeway.as_secs(),
            required: &["exp", "iss", "aud"],
        };
        jwt::verify(&ctx.provider, token, &rules)
            .await
            .map_err(|err| BearerError::Invalid(err.to_string()))?
    } else if config.introspect_opaque_tokens {
        introspect::introspect(&ctx.provider, &metadata, config, &ctx.introspection, token).await?
    } else {
        return Err(BearerError::Invalid(
            "not a JWT (opaque tokens need introspection to be enabled)".into(),
        ));
    };
    if is_jwt {
        access_token_kind(crate::token::header::typ(token).as_deref(), &claims)
            .map_err(|reason| BearerError::Invalid(reason.into()))?;
    }
    let claim = &config.user_id_claim;
    let user_id =
        crate::user_id::from_claims(&claims, claim, config.security.trust_unverified_email)
            .map(|user_id| config.namespaced_user_id(user_id))
            .map_err(|err| {
                BearerError::Invalid(match err {
                    UserIdError::Missing => {
                        format!("the token has no `{claim}` claim to name its user")
                    }
                    UserIdError::EmailNotVerified => {
                        "the token's email address is not verified".into()
                    }
                })
            })?;
    let now = crate::session::now();
    let expires_at = claims
        .get("exp")
        .and_then(Value::as_u64)
        .unwrap_or(now.saturating_add(60));
    let mut session = SessionData::of_credential(user_id, claims, now, expires_at);
    session.access_token = Some(token.to_owned());
    session.access_expires_at = Some(expires_at);
    session.provider = ctx.config.provider_key.clone();
    crate::user::attach(config.user_hook.as_ref(), &mut session, now)
        .await
        .map_err(|no_user| match no_user {
            NoUser::Refused => BearerError::Refused,
            NoUser::Failed(reason) => BearerError::HookFailed(reason),
        })?;
    Ok(session)
}

/// With several providers, the one whose issuer a JWT names: its keys, audiences and rules
/// verify the token. A token naming no configured issuer is refused before any network
/// call; an opaque token goes to the provider shown first (introspection).
fn issuing_provider<'a>(
    ctx: &'a Context,
    token: &str,
) -> Result<std::borrow::Cow<'a, Context>, BearerError> {
    if !ctx.has_several_providers() || token.split('.').count() != 3 {
        return Ok(std::borrow::Cow::Borrowed(ctx));
    }
    let (iss, tid) = crate::token::peek::issuer_and_tenant(token)
        .ok_or_else(|| BearerError::Invalid("the token names no issuer".into()))?;
    ctx.for_issuer(&iss, tid.as_deref())
        .ok_or_else(|| BearerError::Invalid("the token's issuer is not trusted here".into()))
}

/// An ID token or a logout token is not an access token, though the provider signs all
/// three with the same keys and an ID token's audience is the client id: an ID token
/// travels in logout URLs (`id_token_hint`), so browser history and proxy logs hold it.
/// RFC 9068's `at+jwt` marks an access token; any other `typ` but plain `JWT` names
/// another kind of token.
fn access_token_kind(typ: Option<&str>, claims: &Map<String, Value>) -> Result<(), &'static str> {
    match typ {
        None | Some("jwt" | "at+jwt") => {}
        Some("logout+jwt") => return Err("a logout token is not an access token"),
        Some(_) => return Err("the token's typ says it is not an access token"),
    }
    if claims.contains_key("nonce") {
        return Err("an ID token is not an access token");
    }
    if claims.contains_key("events") {
        return Err("a logout token is not an access token");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::claims;

    #[test]
    fn only_access_tokens_are_bearer_tokens() {
        let plain = claims(json!({"sub": "a", "scope": "read"}));
        for typ in [None, Some("jwt"), Some("at+jwt")] {
            assert_eq!(access_token_kind(typ, &plain), Ok(()), "{typ:?}");
        }
        for typ in ["logout+jwt", "id_token+jwt", "dpop+jwt", "secevent+jwt"] {
            assert!(access_token_kind(Some(typ), &plain).is_err(), "{typ}");
        }
        let id_token = claims(json!({"sub": "a", "nonce": "n"}));
        assert!(access_token_kind(None, &id_token).is_err());
        assert!(access_token_kind(Some("at+jwt"), &id_token).is_err());
        let logout_token = claims(json!({"sub": "a", "events": {}}));
        assert!(access_token_kind(Some("jwt"), &logout_token).is_err());
    }
}
