//! `Authorization: Bearer toidc_…` on a protected route: the key's user, as a session
//! would give it.

use std::sync::Arc;

use http::StatusCode;

use crate::bearer::BearerError;
use crate::context::Context;
use crate::identity::Identity;
use crate::outcome::{Outcome, Step};
use crate::response::{self, CoreResponse, ErrorReply};
use crate::session::apikeys::cache::Entry;
use crate::session::apikeys::format;
use crate::session::apikeys::ApiKey;
use crate::session::apikeys::ApiKeys;
use crate::store::StoreError;
use crate::user::Loaded;

/// A key's last use is written to the store at most this often.
pub(crate) const TOUCH_SECS: u64 = 60;

/// The identity of a key when it can be told at once: a key store in this process, a key
/// whose use was recorded within the minute and whose identity is built. `None` when the
/// token is not meant as a key, or keys are off.
pub(crate) fn decide(ctx: &Context, token: &str) -> Option<Step<KeyCheck>> {
    let keys = ctx.config.api_keys.as_deref()?;
    if !format::is_key(token) {
        return None;
    }
    let Some((id, secret)) = format::split(token) else {
        return Some(Step::Done(Outcome::Respond(refuse(
            "the API key is malformed",
        ))));
    };
    let wait = || {
        Step::Wait(KeyCheck {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    };
    let Some(found) = keys.store.load_now(id) else {
        return Some(wait());
    };
    let Some(record) = found else {
        return Some(Step::Done(Outcome::Respond(refuse(UNKNOWN))));
    };
    let now = crate::session::now();
    // A secret already found to match this very record needs no second digest.
    let known = keys.identities.get_checked(id, &record, secret);
    if known.is_none() && !format::matches(secret, &record.hash) {
        return Some(Step::Done(Outcome::Respond(refuse(UNKNOWN))));
    }
    if record.is_expired(now) {
        return Some(Step::Done(Outcome::Respond(refuse(EXPIRED))));
    }
    if touch_due(&record, now) {
        return Some(wait());
    }
    let entry = match known {
        Some(entry) if is_fresh(ctx, &entry, now) => entry,
        Some(_) => return Some(wait()),
        None => {
            let Some(entry) = fresh_identity(ctx, keys, id, now) else {
                return Some(wait());
            };
            keys.identities.remember_check(id, &record, secret);
            entry
        }
    };
    Some(Step::Done(Outcome::signed_in(identity(entry))))
}

/// A key the store must be asked about, or whose identity must be built.
pub(crate) struct KeyCheck {
    id: String,
    secret: String,
}

impl KeyCheck {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(keys) = ctx.config.api_keys.as_deref() else {
            return Outcome::Respond(refuse(UNKNOWN));
        };
        match self.check(ctx, keys).await {
            Ok(entry) => {
                tracing::debug!(user_id = %entry.1.user_id, key_id = %self.id, "API key accepted");
                Outcome::signed_in(identity(entry))
            }
            Err(response) => Outcome::Respond(response),
        }
    }

    async fn check(&self, ctx: &Context, keys: &ApiKeys) -> Result<Entry, CoreResponse> {
        let key = match keys.store.load(&self.id).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err(refuse(UNKNOWN)),
            Err(StoreError::Corrupt { source }) => {
                tracing::warn!(error = %source, "unreadable API key record");
                return Err(refuse(UNKNOWN));
            }
            Err(err) => {
                tracing::error!(error = %err, "API key store unavailable");
                return Err(store_unavailable());
            }
        };
        let now = crate::session::now();
        check(&key, &self.secret, now).map_err(refuse)?;
        if touch_due(&key, now) {
            if let Err(err) = keys.store.touch(&self.id, now).await {
                tracing::warn!(error = %err, "could not record the API key's use");
            }
        }
        if let Some(entry) = fresh_identity(ctx, keys, &self.id, now) {
            return Ok(entry);
        }
        let mut session = key.session();
        if let Some(hook) = &ctx.config.user_hook {
            // The hook sees the key, as handlers will.
            let asking = identity((Arc::from(self.id.as_str()), Arc::new(session.clone())))
                .with_user_decoder(Some(hook.decoder()));
            let refused = |err| crate::flow::bearer::reject(err);
            match hook.hook.load(&asking).await {
                Loaded::User(user) => {
                    session.user = Some(user);
                    session.user_loaded_at = Some(now);
                }
                Loaded::Refused => return Err(refused(BearerError::Refused)),
                Loaded::Failed(reason) => return Err(refused(BearerError::HookFailed(reason))),
            }
        }
        Ok(keys.identities.insert(&self.id, Arc::new(session)))
    }
}

const UNKNOWN: &str = "the API key is not valid (unknown or revoked)";
const EXPIRED: &str = "the API key has expired";

/// The key, if `secret` is its secret and it has not expired.
fn check<'k>(key: &'k ApiKey, secret: &str, now: u64) -> Result<&'k ApiKey, &'static str> {
    if !format::matches(secret, &key.hash) {
        return Err(UNKNOWN);
    }
    if key.is_expired(now) {
        return Err(EXPIRED);
    }
    Ok(key)
}

fn touch_due(key: &ApiKey, now: u64) -> bool {
    key.last_used
        .is_none_or(|used| now >= used.saturating_add(TOUCH_SECS))
}

/// The built identity of key `id`, unless the hook's user must be loaded again.
fn fresh_identity(ctx: &Context, keys: &ApiKeys, id: &str, now: u64) -> Option<Entry> {
    keys.identities
        .get(id)
        .filter(|entry| is_fresh(ctx, entry, now))
}

fn is_fresh(ctx: &Context, (_, session): &Entry, now: u64) -> bool {
    !ctx.config.user_hook.as_ref().is_some_and(|hook| {
        session.user_loaded_at.is_none() || session.user_is_stale(now, hook.ttl_secs)
    })
}

fn identity((id, session): Entry) -> Identity {
    Identity::new(session).with_api_key(id)
}

/// `401` as for any refused bearer credential.
fn refuse(reason: &str) -> CoreResponse {
    tracing::info!(%reason, "API key refused");
    response::unauthorized(reason, Some("invalid_token"), Vec::new())
}

pub(crate) fn store_unavailable() -> CoreResponse {
    ErrorReply {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "api_key_store_unavailable",
        message: "API keys cannot be checked right now; try again shortly",
        retry: None,
    }
    .render(false, Vec::new())
}
