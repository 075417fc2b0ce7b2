//! A request whose session lives in a server-side store that answers by waiting (Redis,
//! SQL, custom stores).

use std::sync::Arc;

use super::resume::resume;
use crate::config::SessionBackend;
use crate::context::{store_unavailable, Context, StoreId};
use crate::outcome::{Outcome, Pass, Step};
use crate::request::Detached;
use crate::session::store::StoreError;

pub(crate) struct StoreLookup {
    pub(crate) id: StoreId,
    pub(crate) request: Detached,
}

impl StoreLookup {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let SessionBackend::Store(store) = &ctx.config.session else {
            return Outcome::Continue(Pass {
                identity: None,
                set_cookies: Vec::new(),
            });
        };
        let loaded = match store.load(&self.id.id).await {
            Ok(loaded) => loaded,
            // A retry cannot read it either: sign in again rather than wait for it to expire.
            Err(StoreError::Corrupt { source }) => {
                tracing::warn!(error = %source, "unreadable session record: no session");
                None
            }
            Err(err) => {
                tracing::error!(error = %err, "session store unavailable");
                return Outcome::Respond(store_unavailable(self.request.wants_html));
            }
        };
        let now = crate::session::now();
        match loaded.filter(|session| !ctx.session_is_over(session, now)) {
            Some(session) => {
                let resealed = if self.id.reseal {
                    ctx.reseal(self.id.id.as_bytes(), &session, self.id.carried)
                } else {
                    Vec::new()
                };
                let request = self.request;
                match resume(ctx, Arc::new(session), now, move || request) {
                    Step::Done(outcome) => outcome.with_cookies(resealed),
                    // A renewal writes the session's cookie anew, with the current key.
                    Step::Wait(renewal) => renewal.run(ctx).await,
                }
            }
            None => {
                let removals = ctx
                    .codec
                    .remove_chunks(ctx.session_cookie(), self.id.carried);
                super::login::unauthenticated(ctx, &self.request, removals).await
            }
        }
    }
}
