//! Renewing a session's last-seen stamp, so the idle timeout counts from its last use.

use std::sync::Arc;

use crate::context::Context;
use crate::outcome::{Outcome, Pass};
use crate::request::Detached;
use crate::session::SessionData;

pub(crate) struct Touch {
    pub(crate) session: Arc<SessionData>,
    pub(crate) request: Detached,
}

impl Touch {
    /// Writes the session again, stamped now (`renew_session` stamps it); a logout under
    /// way wins, and a failed write leaves the request signed in with the session as it was.
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        match ctx.renew_session(&self.session, self.request.carried).await {
            Ok(Some(set_cookies)) => {
                let mut touched = (*self.session).clone();
                touched.last_seen = Some(crate::session::now());
                Outcome::Continue(Pass {
                    identity: Some(ctx.identity(Arc::new(touched))),
                    set_cookies,
                })
            }
            Ok(None) => {
                tracing::info!(user_id = %self.session.user_id, "session ended while its use was recorded");
                let removals = ctx
                    .codec
                    .remove_chunks(ctx.session_cookie(), self.request.carried);
                super::login::unauthenticated(ctx, &self.request, removals).await
            }
            Err(err) => {
                tracing::warn!(error = %err, "the session's use could not be recorded");
                Outcome::signed_in(ctx.identity(self.session))
            }
        }
    }
}
