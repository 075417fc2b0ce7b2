//! Renewing an expiring access token with the refresh token, once per session even when
//! many requests of that session arrive together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use oauth2::{RefreshToken, TokenResponse as _};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::oauth::{self, TokenEndpointError};
use crate::engine::{Decision, Engine};
use crate::identity::Identity;
use crate::request::RequestView;
use crate::session::{now, SessionData};
use crate::token::id_token;

/// Outcomes stay this long so requests still carrying the old cookie reuse them instead of
/// presenting a refresh token the provider has already rotated away.
const OUTCOME_TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Outcome {
    Refreshed {
        session: Arc<SessionData>,
        cookies: Vec<HeaderValue>,
    },
    /// The provider refused the refresh token: the session is over.
    Rejected,
    /// The provider could not be asked; the session goes on with the token it has.
    Unavailable,
}

type Cell = Arc<OnceCell<Outcome>>;

/// Single-flight refreshes keyed by session and refresh token.
#[derive(Default)]
pub(crate) struct RefreshGate {
    cells: Mutex<HashMap<String, (Instant, Cell)>>,
}

impl RefreshGate {
    fn cell(&self, key: String) -> Cell {
        let Ok(mut cells) = self.cells.lock() else {
            return Arc::new(OnceCell::new());
        };
        cells.retain(|_, (created, _)| created.elapsed() < OUTCOME_TTL);
        Arc::clone(
            &cells
                .entry(key)
                .or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new())))
                .1,
        )
    }
}

pub(crate) struct Refresh {
    session: Arc<SessionData>,
    carried: usize,
    navigation: bool,
    wants_html: bool,
    next: Option<String>,
    origin: Option<String>,
    cookies: HeaderMap,
}

impl Refresh {
    pub(crate) fn new(
        engine: &Engine,
        request: &RequestView<'_>,
        session: Arc<SessionData>,
    ) -> Self {
        Self::from_parts(
            session,
            engine
                .codec
                .count_chunks(request.headers, engine.session_cookie()),
            request.is_navigation(),
            request.wants_html(),
            crate::redirect::safe_return_to(&request.path_and_query()),
            request.origin(&engine.config),
            super::login::login_cookie_headers(request.headers),
        )
    }

    pub(crate) fn from_parts(
        session: Arc<SessionData>,
        carried: usize,
        navigation: bool,
        wants_html: bool,
        next: Option<String>,
        origin: Option<String>,
        cookies: HeaderMap,
    ) -> Self {
        Self {
            session,
            carried,
            navigation,
            wants_html,
            next,
            origin,
            cookies,
        }
    }

    pub(crate) async fn run(self, engine: &Engine) -> Decision {
        let Some(refresh_token) = self.session.refresh_token.as_deref() else {
            return self.keep_going();
        };
        let key = format!(
            "{}:{:x}",
            self.session.sid,
            Sha256::digest(refresh_token.as_bytes())
        );
        tracing::Span::current().record("user_id", self.session.user_id.as_str());
        let cell = engine.refreshes.cell(key);
        let outcome = cell
            .get_or_init(|| refresh(engine, &self.session, self.carried))
            .await
            .clone();
        match outcome {
            Outcome::Refreshed { session, cookies } => Decision::Continue {
                identity: Some(Identity::new(session)),
                set_cookies: cookies,
            },
            Outcome::Unavailable => self.keep_going(),
            Outcome::Rejected => {
                let removals = engine.end_session(Some(&self.session), self.carried).await;
                let _ = self.wants_html;
                super::login::unauthenticated_owned(
                    engine,
                    self.navigation,
                    self.next,
                    self.origin,
                    &self.cookies,
                    removals,
                )
                .await
            }
        }
    }

    fn keep_going(self) -> Decision {
        Decision::Continue {
            identity: Some(Identity::new(self.session)),
            set_cookies: Vec::new(),
        }
    }
}

async fn refresh(engine: &Engine, session: &SessionData, carried: usize) -> Outcome {
    let Some(refresh_token) = session.refresh_token.clone() else {
        return Outcome::Unavailable;
    };
    let Ok(metadata) = engine.provider.metadata().await else {
        return Outcome::Unavailable;
    };
    let client = oauth::client(&engine.config, &metadata);
    let http = oauth::http_client(&engine.provider.client);
    let token = RefreshToken::new(refresh_token.clone());
    let tokens = match client
        .exchange_refresh_token(&token)
        .request_async(&http)
        .await
    {
        Ok(tokens) => tokens,
        Err(err) => {
            return match oauth::classify(err) {
                TokenEndpointError::Refused(error) => {
                    tracing::info!(user_id = %session.user_id, %error, "refresh refused; session ended");
                    Outcome::Rejected
                }
                TokenEndpointError::Unavailable(reason) => {
                    tracing::warn!(user_id = %session.user_id, %reason, "refresh failed; keeping the session");
                    Outcome::Unavailable
                }
            }
        }
    };
    let mut renewed = session.clone();
    if let Some(new_id_token) = tokens.extra_fields().id_token.clone() {
        // A refreshed ID token must be valid and about the same user.
        match id_token::verify(
            &engine.provider,
            &metadata,
            &engine.config,
            &new_id_token,
            None,
        )
        .await
        {
            Ok(claims) if claims.get("sub") == session.claims.get("sub") => {
                renewed.id_token = Some(new_id_token);
            }
            _ => {
                tracing::warn!(user_id = %session.user_id, "refreshed ID token refused; session ended");
                return Outcome::Rejected;
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
    match engine.write_session(&renewed, carried).await {
        Ok(cookies) => {
            tracing::debug!(user_id = %renewed.user_id, "access token refreshed");
            Outcome::Refreshed {
                session: Arc::new(renewed),
                cookies,
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "refreshed session could not be saved");
            Outcome::Unavailable
        }
    }
}
