//! What a flow ends with, independent of any web framework.

use http::HeaderValue;

use crate::identity::Identity;
use crate::response::CoreResponse;

/// A request that goes on to the application.
pub(crate) struct Pass {
    /// The signed-in identity, if any, for the handlers.
    pub(crate) identity: Option<Identity>,
    /// Cookies (a new or renewed session, removals) added to the application's answer.
    pub(crate) set_cookies: Vec<HeaderValue>,
}

impl Pass {
    pub(crate) fn signed_in(identity: Identity) -> Self {
        Self {
            identity: Some(identity),
            set_cookies: Vec::new(),
        }
    }
}

/// The end of a flow: pass the request on, or answer it.
pub(crate) enum Outcome {
    Continue(Pass),
    Respond(CoreResponse),
}

impl Outcome {
    /// Goes on to the application with `identity` and no cookies to set.
    pub(crate) fn signed_in(identity: Identity) -> Self {
        Outcome::Continue(Pass::signed_in(identity))
    }

    /// The same outcome, setting `cookies` too when it goes on to the application.
    pub(crate) fn with_cookies(mut self, cookies: Vec<HeaderValue>) -> Self {
        if let Outcome::Continue(pass) = &mut self {
            pass.set_cookies.extend(cookies);
        }
        self
    }
}

/// A flow's synchronous first step: done at once, or work `W` that waits on the network.
pub(crate) enum Step<W> {
    Done(Outcome),
    Wait(W),
}

impl<W> From<Outcome> for Step<W> {
    fn from(outcome: Outcome) -> Self {
        Step::Done(outcome)
    }
}
