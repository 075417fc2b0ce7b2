//! Reading and writing sessions: the encrypted cookie itself, or a server-side store
//! behind a sealed random id.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::GetAll;
use http::HeaderValue;

use super::Context;
use crate::config::SessionBackend;
use crate::response::ErrorReply;
use crate::session::codec::SealedWith;
use crate::session::store::{DynStore, StoreError};
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
    /// The cookie was sealed with a key replaced in a rotation.
    pub(crate) reseal: bool,
}

impl Context {
    pub(crate) fn lookup_session(&self, headers: &http::HeaderMap) -> SessionLookup {
        self.lookup_session_resealing(headers).0
    }

    /// The request's session, and the cookies that seal it again with the current key
    /// when a key replaced in a rotation sealed it (empty otherwise). Only cookies sealed
    /// with the current key are cached, so an old one is seen as such on every request
    /// until the browser has the new one.
    pub(crate) fn lookup_session_resealing(
        &self,
        headers: &http::HeaderMap,
    ) -> (SessionLookup, Vec<HeaderValue>) {
        if !headers.contains_key(http::header::COOKIE) {
            return (SessionLookup::None, Vec::new());
        }
        let cookies = headers.get_all(http::header::COOKIE);
        self.lookup_session_in(&cookies, crate::session::now())
    }

    /// As [`lookup_session_resealing`](Self::lookup_session_resealing), among the request's
    /// `Cookie` headers, at `now` (Unix seconds): for a caller that needs the time again
    /// and reads the clock once.
    pub(crate) fn lookup_session_in(
        &self,
        cookies: &GetAll<'_, HeaderValue>,
        now: u64,
    ) -> (SessionLookup, Vec<HeaderValue>) {
        let name = self.session_cookie();
        // Borrowed where it was found: the chunks are not copied again.
        let found = self.codec.find_chunks_in(cookies, name);
        let Some(chunks) = &found else {
            let carried = self.codec.count_chunks_in(cookies, name);
            let lookup = if carried == 0 {
                SessionLookup::None
            } else {
                SessionLookup::Invalid { carried }
            };
            return (lookup, Vec::new());
        };
        let carried = chunks.parts().len();
        if let SessionBackend::Store(store) = &self.config.session {
            let (id, sealed_with) = match self.store_ids.get(chunks) {
                Some(id) => (id, SealedWith::CurrentKey),
                None => {
                    let Some((id, sealed_with)) = self
                        .open(chunks)
                        .and_then(|(id, with)| String::from_utf8(id).ok().map(|id| (id, with)))
                    else {
                        return (SessionLookup::Invalid { carried }, Vec::new());
                    };
                    let id: Arc<str> = Arc::from(id);
                    if sealed_with == SealedWith::CurrentKey {
                        self.store_ids.insert(chunks, Arc::clone(&id));
                    }
                    (id, sealed_with)
                }
            };
            let reseal = sealed_with == SealedWith::PreviousKey;
            let lookup = match store.load_now(&id) {
                None => SessionLookup::Store(StoreId {
                    id,
                    carried,
                    reseal,
                }),
                Some(Ok(Some(session))) if !self.session_is_over(&session, now) => {
                    let resealed = if reseal {
                        self.reseal(id.as_bytes(), &session, carried)
                    } else {
                        Vec::new()
                    };
                    return (SessionLookup::Valid(session), resealed);
                }
                Some(Ok(_)) => SessionLookup::Invalid { carried },
                Some(Err(StoreError::Corrupt { source })) => {
                    tracing::warn!(error = %source, "unreadable session record: no session");
                    SessionLookup::Invalid { carried }
                }
                Some(Err(err)) => {
                    tracing::error!(error = %err, "session store unavailable");
                    SessionLookup::StoreFailed(StoreId {
                        id,
                        carried,
                        reseal,
                    })
                }
            };
            return (lookup, Vec::new());
        }
        if let Some(session) = self.cache.get(chunks) {
            let lookup = if self.session_is_over(&session, now) {
                SessionLookup::Invalid { carried }
            } else {
                SessionLookup::Valid(session)
            };
            return (lookup, Vec::new());
        }
        let Some((plaintext, sealed_with)) = self.open(chunks) else {
            return (SessionLookup::Invalid { carried }, Vec::new());
        };
        let Some(session) = stored::from_binary(&plaintext) else {
            return (SessionLookup::Invalid { carried }, Vec::new());
        };
        if self.session_is_over(&session, now) {
            return (SessionLookup::Invalid { carried }, Vec::new());
        }
        let session = Arc::new(session);
        if sealed_with == SealedWith::PreviousKey {
            let resealed = self.reseal(&plaintext, &session, carried);
            return (SessionLookup::Valid(session), resealed);
        }
        self.cache.insert(chunks, Arc::clone(&session));
        (SessionLookup::Valid(session), Vec::new())
    }

    /// The idle timeout in seconds, if sessions have one.
    pub(crate) fn idle_secs(&self) -> Option<u64> {
        self.config.session_idle_timeout.map(|idle| idle.as_secs())
    }

    /// Past its absolute end, unused for longer than the idle timeout, or signed in by a
    /// provider no longer configured.
    pub(crate) fn session_is_over(&self, session: &SessionData, now: u64) -> bool {
        session.is_expired(now)
            || session.is_idle(now, self.idle_secs())
            || !self.knows_provider_of(session)
    }

    /// `session` as written: stamped as seen `now` when sessions have an idle timeout.
    fn stamped<'a>(&self, session: &'a SessionData, now: u64) -> Cow<'a, SessionData> {
        if self.idle_secs().is_none() || session.last_seen == Some(now) {
            return Cow::Borrowed(session);
        }
        let mut stamped = session.clone();
        stamped.last_seen = Some(now);
        Cow::Owned(stamped)
    }

    /// How long a store keeps the record of `session`: to its end, or for the idle timeout
    /// if that comes first (a use within it saves the record again).
    fn store_ttl(&self, max_age: u64) -> std::time::Duration {
        let secs = self.idle_secs().map_or(max_age, |idle| max_age.min(idle));
        std::time::Duration::from_secs(secs)
    }

    fn open(
        &self,
        chunks: &crate::session::codec::SealedChunks<'_>,
    ) -> Option<(Vec<u8>, SealedWith)> {
        self.codec
            .open_telling_key(self.session_cookie(), &chunks.joined())
    }

    /// The cookies carrying `plaintext`, the unchanged contents of `session`'s cookie,
    /// sealed with the current key; none when that fails, which leaves the old cookie.
    pub(crate) fn reseal(
        &self,
        plaintext: &[u8],
        session: &SessionData,
        carried: usize,
    ) -> Vec<HeaderValue> {
        let max_age = session.expires_at.saturating_sub(crate::session::now());
        self.session_cookies(plaintext, max_age, carried)
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "could not seal the session with the current key");
                Vec::new()
            })
    }

    /// Persists a new `session` and returns the cookies that carry it, replacing `carried`
    /// chunks.
    pub(crate) async fn write_session(
        &self,
        session: &SessionData,
        carried: usize,
    ) -> Result<Vec<HeaderValue>, String> {
        let now = crate::session::now();
        let session = &*self.stamped(session, now);
        let max_age = session.expires_at.saturating_sub(now);
        let plaintext = match &self.config.session {
            SessionBackend::Cookie => stored::to_binary(session)?,
            SessionBackend::Store(store) => {
                let ttl = self.store_ttl(max_age);
                store
                    .save(&session.sid, session, ttl)
                    .await
                    .map_err(|err| err.to_string())?;
                self.index(store.as_ref(), session, ttl).await?;
                session.sid.clone().into_bytes()
            }
        };
        self.session_cookies(&plaintext, max_age, carried)
    }

    /// Persists `session`, renewed (a refreshed access token, a reloaded user), and
    /// returns the cookies that carry it; `Ok(None)` when the session ended while it was
    /// being renewed. A logout wins over a renewal that was under way: the renewal must
    /// not bring the session back, in the store nor in the browser.
    ///
    /// With a store, the store decides ([`SessionStore::save_existing`]). With cookie
    /// sessions, the sessions this process ended are remembered until they would have
    /// expired: a logout handled by another instance cannot be seen here.
    ///
    /// [`SessionStore::save_existing`]: crate::store::SessionStore::save_existing
    pub(crate) async fn renew_session(
        &self,
        session: &SessionData,
        carried: usize,
    ) -> Result<Option<Vec<HeaderValue>>, String> {
        let now = crate::session::now();
        let session = &*self.stamped(session, now);
        let max_age = session.expires_at.saturating_sub(now);
        let plaintext = match &self.config.session {
            SessionBackend::Cookie => {
                if self.ended_sessions.contains(&session.sid, now) != Some(false) {
                    return Ok(None);
                }
                stored::to_binary(session)?
            }
            SessionBackend::Store(store) => {
                let ttl = self.store_ttl(max_age);
                let kept = store
                    .save_existing(&session.sid, session, ttl)
                    .await
                    .map_err(|err| err.to_string())?;
                if !kept {
                    return Ok(None);
                }
                self.index(store.as_ref(), session, ttl).await?;
                session.sid.clone().into_bytes()
            }
        };
        self.session_cookies(&plaintext, max_age, carried).map(Some)
    }

    async fn index(
        &self,
        store: &dyn DynStore,
        session: &SessionData,
        ttl: std::time::Duration,
    ) -> Result<(), String> {
        store
            .index(&session.sid, &logout_keys(session), ttl)
            .await
            .map_err(|err| err.to_string())
    }

    /// The cookies carrying `plaintext`, sealed, replacing `carried` chunks.
    fn session_cookies(
        &self,
        plaintext: &[u8],
        max_age: u64,
        carried: usize,
    ) -> Result<Vec<HeaderValue>, String> {
        let name = self.session_cookie();
        let sealed = self
            .codec
            .seal(name, plaintext)
            .ok_or("session too large to seal")?;
        Ok(self.codec.write_chunks(name, &sealed, max_age, carried))
    }

    /// Deletes the session server-side (when stored) and returns cookie removals.
    pub(crate) async fn end_session(
        &self,
        session: Option<&SessionData>,
        carried: usize,
    ) -> Vec<HeaderValue> {
        match (&self.config.session, session) {
            (SessionBackend::Store(store), Some(session)) => {
                if let Err(err) = store.delete(&session.sid).await {
                    tracing::warn!(error = %err, "could not delete the session from the store");
                }
            }
            // The cookie cannot be taken back from the browser; a renewal under way must
            // at least not hand it a new one.
            (SessionBackend::Cookie, Some(session)) => {
                let now = crate::session::now();
                if self
                    .ended_sessions
                    .insert(&session.sid, now, session.expires_at)
                    .is_none()
                {
                    tracing::warn!("the record of ended sessions is unreadable");
                }
            }
            (_, None) => {}
        }
        self.codec.remove_chunks(self.session_cookie(), carried)
    }

    /// Ends every session of `user_id` in the server-side store; how many it ended.
    pub(crate) async fn end_sessions_for(&self, user_id: &str) -> Result<usize, StoreError> {
        #[cfg(feature = "api-keys")]
        crate::context::api_keys::end_for_user(self, user_id).await?;
        let SessionBackend::Store(store) = &self.config.session else {
            return Err(StoreError::Unsupported);
        };
        let ended = store.delete_indexed(&user_key(user_id)).await?;
        tracing::info!(user_id, ended, "sessions of the user ended");
        Ok(ended)
    }

    /// Session-id rotation: the session the browser had before a login is ended.
    pub(crate) async fn end_previous_session(&self, sid: &str) {
        match &self.config.session {
            SessionBackend::Store(store) => {
                if let Err(err) = store.delete(sid).await {
                    tracing::warn!(error = %err, "could not delete the previous session");
                }
            }
            // A renewal of the previous session under way must not overwrite the new one.
            SessionBackend::Cookie => {
                let now = crate::session::now();
                let expires = now.saturating_add(self.config.session_max_age.as_secs());
                if self.ended_sessions.insert(sid, now, expires).is_none() {
                    tracing::warn!("the record of ended sessions is unreadable");
                }
            }
        }
    }
}

/// The keys a logout may name this session by: the provider's session id and the subject
/// (back- and front-channel logout), and the user id (ending every session of a user).
pub(crate) fn logout_keys(session: &SessionData) -> Vec<String> {
    let mut keys: Vec<String> = ["sid", "sub"]
        .iter()
        .filter_map(|claim| {
            let value = session.claims.get(*claim)?.as_str()?;
            Some(crate::token::logout_token::key(
                session.provider.as_deref(),
                claim,
                value,
            ))
        })
        .collect();
    keys.push(user_key(&session.user_id));
    keys
}

/// The logout key naming every session of `user_id`.
pub(crate) fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
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
