//! Loading the hook's user again once the copy in the session is older than its TTL.

use std::sync::Arc;

use http::StatusCode;

use crate::engine::{Decision, Engine};
use crate::identity::Identity;
use crate::request::RequestView;
use crate::response::ErrorReply;
use crate::session::{now, SessionData};
use crate::user::Loaded;

pub(crate) struct ReloadUser {
    session: Arc<SessionData>,
    carried: usize,
    wants_html: bool,
}

impl ReloadUser {
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
            request.wants_html(),
        )
    }

    pub(crate) fn from_parts(session: Arc<SessionData>, carried: usize, wants_html: bool) -> Self {
        Self {
            session,
            carried,
            wants_html,
        }
    }

    pub(crate) async fn run(self, engine: &Engine) -> Decision {
        let Some(hook) = &engine.config.user_hook else {
            return self.keep();
        };
        match crate::user::load(hook, &self.session).await {
            Loaded::User(user) => {
                let mut renewed = (*self.session).clone();
                renewed.user = Some(user);
                renewed.user_loaded_at = Some(now());
                renewed.typed_user = Default::default();
                match engine.write_session(&renewed, self.carried).await {
                    Ok(set_cookies) => Decision::Continue {
                        identity: Some(Identity::new(Arc::new(renewed))),
                        set_cookies,
                    },
                    Err(err) => {
                        tracing::warn!(error = %err, "reloaded user could not be saved");
                        self.keep()
                    }
                }
            }
            Loaded::Refused => {
                tracing::info!(user_id = %self.session.user_id, "user no longer allowed; session ended");
                let removals = engine.end_session(Some(&self.session), self.carried).await;
                Decision::Respond(
                    ErrorReply {
                        status: StatusCode::FORBIDDEN,
                        code: "user_refused",
                        message: "this account may no longer use this application",
                        retry: None,
                    }
                    .render(self.wants_html, removals),
                )
            }
            Loaded::Failed(reason) => {
                // The cached user stays valid a while longer rather than locking everyone
                // out while the application's user directory is down.
                tracing::warn!(%reason, user_id = %self.session.user_id, "user reload failed; keeping the cached user");
                self.keep()
            }
        }
    }

    fn keep(self) -> Decision {
        Decision::Continue {
            identity: Some(Identity::new(self.session)),
            set_cookies: Vec::new(),
        }
    }
}
