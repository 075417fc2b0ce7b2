//! Reading and writing sessions: the encrypted cookie itself, or a server-side store
//! behind a sealed random id.

use std::sync::Arc;

use http::HeaderValue;

use super::{Decision, Engine};
use crate::config::SessionBackend;
use crate::request::RequestView;
use crate::response::ErrorReply;
use crate::session::{stored, SessionData};

/// What the request's session cookie amounts to.
pub(crate) enum SessionLookup {
    None,
    /// Present but tampered, foreign, expired or unreadable: treated as no session, and the
    /// cookies are deleted.
    Invalid {
        carried: usize,
    },
    Valid(Arc<SessionData>),
    /// A server-side store must be asked for this id.
    Store(StoreId),
    /// The server-side store failed to answer for this id.
    StoreFailed(StoreId),
}

pub(crate) struct StoreId {
    pub(crate) id: Arc<str>,
    pub(crate) carried: usize,
}

impl Engine {
    pub(crate) fn lookup_session(&self, headers: &http::HeaderMap) -> SessionLookup {
        let name = self.session_cookie();
        let Some(chunks) = self.codec.find_chunks(headers, name) else {
            let carried = self.codec.count_chunks(headers, name);
            return if carried == 0 {
                SessionLookup::None
            } else {
                SessionLookup::Invalid { carried }
            };
        };
        let carried = chunks.parts().len();
        let now = crate::session::now();
        if let SessionBackend::Store(store) = &self.config.session {
            let id = match self.store_ids.get(&chunks) {
                Some(id) => id,
                None => {
                    let Some(id) = self.open(&chunks).and_then(|id| String::from_utf8(id).ok())
                    else {
                        return SessionLookup::Invalid { carried };
                    };
                    let id: Arc<str> = Arc::from(id);
                    self.store_ids.insert(&chunks, Arc::clone(&id));
                    id
                }
            };
            return match store.load_now(&id) {
                None => SessionLookup::Store(StoreId { id, carried }),
                Some(Ok(Some(session))) if !session.is_expired(now) => {
                    SessionLookup::Valid(session)
                }
                Some(Ok(_)) => SessionLookup::Invalid { carried },
                Some(Err(err)) => {
                    tracing::error!(error = %err, "session store unavailable");
                    SessionLookup::StoreFailed(StoreId { id, carried })
                }
            };
        }
        if let Some(session) = self.cache.get(&chunks) {
            return if session.is_expired(now) {
                SessionLookup::Invalid { carried }
            } else {
                SessionLookup::Valid(session)
            };
        }
        let Some(session) = self
            .open(&chunks)
            .and_then(|bytes| stored::from_binary(&bytes))
        else {
            return SessionLookup::Invalid { carried };
        };
        if session.is_expired(now) {
            return SessionLookup::Invalid { carried };
        }
        let session = Arc::new(session);
        self.cache.insert(&chunks, Arc::clone(&session));
        SessionLookup::Valid(session)
    }

    fn open(&self, chunks: &crate::session::codec::SealedChunks<'_>) -> Option<Vec<u8>> {
        self.codec.open(self.session_cookie(), &chunks.joined())
    }

    /// Persists `session` and returns the cookies that carry it, replacing `carried` chunks.
    pub(crate) async fn write_session(
        &self,
        session: &SessionData,
        carried: usize,
    ) -> Result<Vec<HeaderValue>, String> {
        let name = self.session_cookie();
        let now = crate::session::now();
        let max_age = session.expires_at.saturating_sub(now);
        let plaintext = match &self.config.session {
            SessionBackend::Cookie => stored::to_binary(session)?,
            SessionBackend::Store(store) => {
                let ttl = std::time::Duration::from_secs(max_age);
                store
                    .save(&session.sid, session, ttl)
                    .await
                    .map_err(|err| err.to_string())?;
                store
                    .index(&session.sid, &logout_keys(session), ttl)
                    .await
                    .map_err(|err| err.to_string())?;
                session.sid.clone().into_bytes()
            }
        };
        let sealed = self
            .codec
            .seal(name, &plaintext)
            .ok_or("session too large to seal")?;
        Ok(self.codec.write_chunks(name, &sealed, max_age, carried))
    }

    /// Deletes the session server-side (when stored) and returns cookie removals.
    pub(crate) async fn end_session(
        &self,
        session: Option<&SessionData>,
        carried: usize,
    ) -> Vec<HeaderValue> {
        if let (SessionBackend::Store(store), Some(session)) = (&self.config.session, session) {
            if let Err(err) = store.delete(&session.sid).await {
                tracing::warn!(error = %err, "could not delete the session from the store");
            }
        }
        self.codec.remove_chunks(self.session_cookie(), carried)
    }
}

/// The keys a back-channel logout may name this session by: the provider's session id and
/// the subject.
pub(crate) fn logout_keys(session: &SessionData) -> Vec<String> {
    ["sid", "sub"]
        .iter()
        .filter_map(|claim| {
            let value = session.claims.get(*claim)?.as_str()?;
            Some(format!("{claim}:{value}"))
        })
        .collect()
}

/// A request whose session lives in a server-side store.
pub(crate) struct StoreLookup {
    id: StoreId,
    navigation: bool,
    wants_html: bool,
    next: Option<String>,
    origin: Option<String>,
    login_cookies: http::HeaderMap,
}

impl StoreLookup {
    pub(super) fn new(id: StoreId, request: &RequestView<'_>, engine: &Engine) -> Self {
        Self {
            id,
            navigation: request.is_navigation(),
            wants_html: request.wants_html(),
            next: crate::redirect::safe_return_to(&request.path_and_query()),
            origin: request.origin(&engine.config),
            login_cookies: crate::flow::login::login_cookie_headers(request.headers),
        }
    }

    pub(super) async fn run(self, engine: &Engine) -> Decision {
        let SessionBackend::Store(store) = &engine.config.session else {
            return Decision::Continue {
                identity: None,
                set_cookies: Vec::new(),
            };
        };
        let loaded = match store.load(&self.id.id).await {
            Ok(loaded) => loaded,
            Err(err) => {
                tracing::error!(error = %err, "session store unavailable");
                return Decision::Respond(store_unavailable(self.wants_html));
            }
        };
        let now = crate::session::now();
        match loaded.filter(|session| !session.is_expired(now)) {
            Some(session) => {
                let session = Arc::new(session);
                if session.needs_refresh(now, engine.config.leeway.as_secs()) {
                    let refresh = crate::flow::refresh::Refresh::from_parts(
                        session,
                        self.id.carried,
                        self.navigation,
                        self.wants_html,
                        self.next,
                        self.origin,
                        self.login_cookies,
                    );
                    return refresh.run(engine).await;
                }
                if let Some(hook) = &engine.config.user_hook {
                    if session.user_is_stale(now, hook.ttl_secs) {
                        let reload = crate::flow::reload_user::ReloadUser::from_parts(
                            session,
                            self.id.carried,
                            self.wants_html,
                        );
                        return reload.run(engine).await;
                    }
                }
                Decision::Continue {
                    identity: Some(crate::identity::Identity::new(session)),
                    set_cookies: Vec::new(),
                }
            }
            None => {
                let removals = engine
                    .codec
                    .remove_chunks(engine.session_cookie(), self.id.carried);
                crate::flow::login::unauthenticated_owned(
                    engine,
                    self.navigation,
                    self.next,
                    self.origin,
                    &self.login_cookies,
                    removals,
                )
                .await
            }
        }
    }
}

/// The answer when the server-side store cannot be reached.
pub(crate) fn store_unavailable(html: bool) -> crate::response::CoreResponse {
    ErrorReply {
        status: http::StatusCode::SERVICE_UNAVAILABLE,
        code: "session_store_unavailable",
        message: "sessions are unavailable right now; try again shortly",
        retry: None,
    }
    .render(html, Vec::new())
}
