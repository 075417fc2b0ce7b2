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
                tracing::debug!(user_id = %session.user_id, "bearer token accepted");
                Outcome::signed_in(Identity::new(session))
            }
            Err(err) => Outcome::Respond(reject(err)),
        }
    }
}

pub(crate) fn reject(err: BearerError) -> response::CoreResponse {
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

async fn verify(ctx: &Context, token: &str) -> Result<SessionData, BearerError> {
    let config = &ctx.config;
    let metadata = ctx
        .provider
        .metadata()
        .await
        .map_err(|err| BearerError::Unavailable(err.0))?;
    let is_jwt = token.split('.').count() == 3;
    let claims = if is_jwt {
        let rules = Rules {
            issuer: &metadata.issuer,
            audiences: &config.audiences,
            algorithms: &config.allowed_algorithms,
            leeway_secs: config.leeway.as_secs(),
            required: &["exp", "iss", "aud"],
        };
        jwt::verify(&ctx.provider, token, &rules)
            .await
            .map_err(|err| BearerError::Invalid(err.to_string()))?
    } else if config.introspect_opaque_tokens {
        introspect::introspect(&ctx.provider, &metadata, config, token).await?
    } else {
        return Err(BearerError::Invalid(
            "not a JWT (opaque tokens need introspection to be enabled)".into(),
        ));
    };
    let user_id = bearer_user_id(&claims, &config.user_id_claim)
        .ok_or_else(|| BearerError::Invalid("the token names no user".into()))?;
    let now = crate::session::now();
    let expires_at = claims
        .get("exp")
        .and_then(Value::as_u64)
        .unwrap_or(now.saturating_add(60));
    let mut session = SessionData {
        sid: String::new(),
        user_id,
        claims,
        id_token: None,
        access_token: Some(token.to_owned()),
        refresh_token: None,
        access_expires_at: Some(expires_at),
        created_at: now,
        expires_at,
        user: None,
        user_loaded_at: None,
        bearer: true,
        typed_user: Default::default(),
    };
    crate::user::attach(config.user_hook.as_ref(), &mut session, now)
        .await
        .map_err(|no_user| match no_user {
            NoUser::Refused => BearerError::Refused,
            NoUser::Failed(reason) => BearerError::HookFailed(reason),
        })?;
    Ok(session)
}

/// Access tokens often lack profile claims: the configured claim, else `sub`, else the
/// client id of a client-credentials token.
fn bearer_user_id(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    [claim, "sub", "client_id"]
        .iter()
        .find_map(|name| match claims.get(*name) {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
}
