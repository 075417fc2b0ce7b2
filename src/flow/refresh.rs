//! Renewing an expiring access token with the refresh token, once per session even when
//! many requests of that session arrive together.

use std::sync::Arc;
use std::time::Duration;

use oauth2::{RefreshToken, TokenResponse as _};
use sha2::{Digest, Sha256};

use super::oauth::{self, TokenEndpointError};
use crate::config::SessionBackend;
use crate::context::{Context, RefreshOutcome, StoreVerdict};
use crate::identity::Identity;
use crate::outcome::{Outcome, Pass};
use crate::request::Detached;
use crate::session::{now, SessionData};
use crate::token::id_token;

/// A session whose access token is due for renewal.
pub(crate) struct Refresh {
    pub(crate) session: Arc<SessionData>,
    pub(crate) request: Detached,
}

impl Refresh {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(refresh_token) = self.session.refresh_token.as_deref() else {
            return self.keep_going();
        };
        let key = format!(
            "{}:{:x}",
            self.session.sid,
            Sha256::digest(refresh_token.as_bytes())
        );
        tracing::Span::current().record("user_id", self.session.user_id.as_str());
        let cell = ctx.refreshes.cell(key.clone());
        let outcome = cell
            .get_or_init(|| async {
                let outcome = refresh(ctx, &self.session, self.request.carried, &key).await;
                crate::telemetry::refreshed(&outcome);
                outcome
            })
            .await
            .clone();
        match outcome {
            RefreshOutcome::Refreshed { session, cookies } => Outcome::Continue(Pass {
                identity: Some(Identity::new(session)),
                set_cookies: cookies,
            }),
            RefreshOutcome::Unavailable => self.keep_going(),
            RefreshOutcome::Ended => {
                tracing::info!(user_id = %self.session.user_id, "session ended during its refresh");
                let removals = ctx
                    .codec
                    .remove_chunks(ctx.session_cookie(), self.request.carried);
                super::login::unauthenticated(ctx, &self.request, removals).await
            }
            RefreshOutcome::Rejected => {
                let removals = ctx
                    .end_session(Some(&self.session), self.request.carried)
                    .await;
                super::login::unauthenticated(ctx, &self.request, removals).await
            }
        }
    }

    fn keep_going(self) -> Outcome {
        Outcome::signed_in(Identity::new(self.session))
    }
}

/// How long an instance waits for another one's refresh of the same session to be saved.
const AWAIT_OTHER_REFRESH: Duration = Duration::from_secs(3);
/// How often it looks at the store meanwhile.
const AWAIT_POLL: Duration = Duration::from_millis(100);

async fn refresh(
    ctx: &Context,
    session: &SessionData,
    carried: usize,
    key: &str,
) -> RefreshOutcome {
    let Some(refresh_token) = session.refresh_token.clone() else {
        return RefreshOutcome::Unavailable;
    };
    match ctx.first_to_refresh(key).await {
        StoreVerdict::First | StoreVerdict::NotKept => {}
        StoreVerdict::Replayed => return refreshed_elsewhere(ctx, session).await,
        // Refreshing without the lock risks a second use of the token; not refreshing
        // leaves the session with an expired one.
        StoreVerdict::Failed(err) => {
            tracing::warn!(error = %err, "refresh lock unavailable; refreshing anyway");
        }
    }
    let Ok(metadata) = ctx.provider.metadata().await else {
        return RefreshOutcome::Unavailable;
    };
    let client = oauth::client(&ctx.config, &metadata);
    let dpop_key = crate::dpop::client_key::from_stored(session.dpop_key.as_deref());
    let http = crate::dpop::token_client::http_client(&ctx.provider.client, dpop_key);
    let token = RefreshToken::new(refresh_token.clone());
    let Ok(client_auth) = oauth::assertion_params(&ctx.config, &metadata) else {
        return RefreshOutcome::Unavailable;
    };
    let request = client_auth.into_iter().fold(
        client.exchange_refresh_token(&token),
        |request, (name, value)| request.add_extra_param(name, value),
    );
    let tokens = match request.request_async(&http).await {
        Ok(tokens) => tokens,
        Err(err) => {
            return match oauth::classify(err) {
                TokenEndpointError::Refused(error) => {
                    tracing::info!(user_id = %session.user_id, %error, "refresh refused; session ended");
                    RefreshOutcome::Rejected
                }
                TokenEndpointError::Unavailable(reason) => {
                    tracing::warn!(user_id = %session.user_id, %reason, "refresh failed; keeping the session");
                    RefreshOutcome::Unavailable
                }
            }
        }
    };
    let mut renewed = session.clone();
    if let Some(new_id_token) = tokens.extra_fields().id_token.clone() {
        // A refreshed ID token must be valid and about the same user.
        match id_token::verify(&ctx.provider, &metadata, &ctx.config, &new_id_token, None).await {
            Ok(claims) if claims.get("sub") == session.claims.get("sub") => {
                renewed.id_token = Some(new_id_token);
            }
            _ => {
                tracing::warn!(user_id = %session.user_id, "refreshed ID token refused; session ended");
                return RefreshOutcome::Rejected;
            }
        }
    }
    let now = now();
    renewed.access_token = Some(tokens.access_token().secret().clone());
    renewed.access_expires_at = tokens
        .expires_in()
        .map(|lifetime| now.saturating_add(lifetime.as_secs()));
    if let Some(rotated) = tokens.refresh_token() {
        renewed.refresh_token = Some(rotated.secret().clone());
    }
    match ctx.renew_session(&renewed, carried).await {
        Ok(Some(cookies)) => {
            tracing::debug!(user_id = %renewed.user_id, "access token refreshed");
            RefreshOutcome::Refreshed {
                session: Arc::new(renewed),
                cookies,
            }
        }
        Ok(None) => RefreshOutcome::Ended,
        Err(err) => {
            tracing::warn!(error = %err, "refreshed session could not be saved");
            RefreshOutcome::Unavailable
        }
    }
}

/// Another instance sharing the store is refreshing `session`: its result, once saved,
/// rather than a second use of the same refresh token.
async fn refreshed_elsewhere(ctx: &Context, session: &SessionData) -> RefreshOutcome {
    let SessionBackend::Store(store) = &ctx.config.session else {
        return RefreshOutcome::Unavailable;
    };
    let deadline = tokio::time::Instant::now() + AWAIT_OTHER_REFRESH;
    loop {
        match store.load(&session.sid).await {
            Ok(None) => return RefreshOutcome::Ended,
            Ok(Some(saved))
                if saved.refresh_token != session.refresh_token
                    || saved.access_token != session.access_token =>
            {
                tracing::debug!(user_id = %session.user_id, "access token refreshed by another instance");
                // The cookie names the session, which kept its id: nothing to set.
                return RefreshOutcome::Refreshed {
                    session: Arc::new(saved),
                    cookies: Vec::new(),
                };
            }
            Ok(Some(_)) => {}
            Err(err) => {
                tracing::warn!(error = %err, "session store unavailable while awaiting a refresh");
                return RefreshOutcome::Unavailable;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(user_id = %session.user_id, "another instance's refresh was not saved in time; keeping the session");
            return RefreshOutcome::Unavailable;
        }
        tokio::time::sleep(AWAIT_POLL).await;
    }
}
