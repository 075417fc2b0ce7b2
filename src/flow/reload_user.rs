//! Loading the hook's user again once the copy in the session is older than its TTL.

use std::sync::Arc;

use http::StatusCode;

use crate::context::Context;
use crate::identity::Identity;
use crate::outcome::{Outcome, Pass};
use crate::request::Detached;
use crate::response::ErrorReply;
use crate::session::{now, SessionData};
use crate::user::Loaded;

pub(crate) struct ReloadUser {
    pub(crate) session: Arc<SessionData>,
    pub(crate) request: Detached,
}

impl ReloadUser {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(hook) = &ctx.config.user_hook else {
            return self.keep();
        };
        match crate::user::load(hook, &self.session).await {
            Loaded::User(user) => {
                let mut renewed = (*self.session).clone();
                renewed.user = Some(user);
                renewed.user_loaded_at = Some(now());
                renewed.typed_user = Default::default();
                match ctx.renew_session(&renewed, self.request.carried).await {
                    Ok(Some(set_cookies)) => Outcome::Continue(Pass {
                        identity: Some(Identity::new(Arc::new(renewed))),
                        set_cookies,
                    }),
                    Ok(None) => {
                        // A logout while the hook ran: the logout wins.
                        tracing::info!(user_id = %self.session.user_id, "session ended during its user reload");
                        let removals = ctx
                            .codec
                            .remove_chunks(ctx.session_cookie(), self.request.carried);
                        super::login::unauthenticated(ctx, &self.request, removals).await
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "reloaded user could not be saved");
                        self.keep()
                    }
                }
            }
            Loaded::Refused => {
                tracing::info!(user_id = %self.session.user_id, "user no longer allowed; session ended");
                let removals = ctx
                    .end_session(Some(&self.session), self.request.carried)
                    .await;
                Outcome::Respond(
                    ErrorReply {
                        status: StatusCode::FORBIDDEN,
                        code: "user_refused",
                        message: "this account may no longer use this application",
                        retry: None,
                    }
                    .render(self.request.wants_html, removals),
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

    fn keep(self) -> Outcome {
        Outcome::signed_in(Identity::new(self.session))
    }
}
