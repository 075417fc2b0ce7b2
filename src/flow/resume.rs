//! A valid session on its way to a protected route: its access token and the hook's user
//! are renewed first when they are due.

use std::sync::Arc;

use super::refresh::Refresh;
use super::reload_user::ReloadUser;
use super::touch::Touch;
use crate::context::Context;
use crate::identity::Identity;
use crate::outcome::{Outcome, Step};
use crate::request::Detached;
use crate::session::SessionData;

/// Renewal a session waits for.
pub(crate) enum Renewal {
    Refresh(Refresh),
    ReloadUser(ReloadUser),
    Touch(Touch),
}

impl Renewal {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        // Refreshes and user reloads go to the provider that signed the user in.
        let session = match &self {
            Renewal::Refresh(refresh) => &refresh.session,
            Renewal::ReloadUser(reload) => &reload.session,
            Renewal::Touch(touch) => &touch.session,
        };
        let Some(ctx) = &ctx.for_session(session) else {
            return Outcome::Respond(super::login::authentication_required(Vec::new()));
        };
        match self {
            Renewal::Refresh(refresh) => refresh.run(ctx).await,
            Renewal::ReloadUser(reload) => reload.run(ctx).await,
            Renewal::Touch(touch) => touch.run(ctx).await,
        }
    }
}

/// Passes `session` on at once unless something is due `now` (Unix seconds); `detach` is
/// called only then, so the common case copies nothing from the request.
pub(crate) fn resume(
    ctx: &Context,
    session: Arc<SessionData>,
    now: u64,
    detach: impl FnOnce() -> Detached,
) -> Step<Renewal> {
    let Some(ctx) = &ctx.for_session(&session) else {
        // Signed in by a provider no longer configured.
        return Step::Done(Outcome::Respond(super::login::authentication_required(
            Vec::new(),
        )));
    };
    if session.needs_refresh(now, ctx.config.leeway.as_secs()) {
        return Step::Wait(Renewal::Refresh(Refresh {
            session,
            request: detach(),
        }));
    }
    if let Some(hook) = &ctx.config.user_hook {
        if session.user_is_stale(now, hook.ttl_secs) {
            return Step::Wait(Renewal::ReloadUser(ReloadUser {
                session,
                request: detach(),
            }));
        }
    }
    if session.needs_touch(now, ctx.idle_secs()) {
        return Step::Wait(Renewal::Touch(Touch {
            session,
            request: detach(),
        }));
    }
    Step::Done(Outcome::signed_in(Identity::new(session)))
}
