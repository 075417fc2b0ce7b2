//! The dispatcher: a request view in, a decision out. It routes each request to the flow
//! that owns it and applies the global requirements to whatever identity comes back; the
//! flows themselves live in [`crate::flow`] and never see the dispatcher.

pub(crate) mod development;
mod dispatch;
#[cfg(all(test, feature = "testing"))]
mod flood_tests;

use crate::context::Context;
use crate::flow::{
    bearer, callback, form_post, frontchannel, login, logout, resume, store_session,
};
use crate::outcome::{Outcome, Pass};
use crate::response::CoreResponse;

pub(crate) use dispatch::Engine;

/// What to do with a request, decided without waiting.
pub(crate) enum Decision {
    /// Pass it to the application, with the identity (if any) and cookies to add.
    Continue(Pass),
    /// Answer it directly.
    Respond(CoreResponse),
    /// Needs the provider or a store first: complete it with [`Engine::run`].
    Defer(Pending),
    /// Needs the request body (at most `limit` bytes): complete it with
    /// [`Engine::run_with_body`]. A body over the limit, or unreadable, is answered
    /// `413` by the adapter.
    ReadBody { limit: usize, work: BodyWork },
}

/// What a request body is read for.
pub(crate) enum BodyWork {
    BackChannelLogout,
    /// A `form_post` authorization response.
    FormPost(form_post::Posted),
    /// A personal API key to make for the signed-in user.
    #[cfg(feature = "api-keys")]
    CreateApiKey(crate::flow::api_key_routes::Create),
}

impl From<Outcome> for Decision {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Continue(pass) => Decision::Continue(pass),
            Outcome::Respond(response) => Decision::Respond(response),
        }
    }
}

/// Deferred work and what the answer must look like.
pub(crate) struct Pending {
    work: Deferred,
    /// The client accepts HTML, for an access-denied answer after the work.
    html: bool,
}

/// Work that waits on the network; it owns everything it needs.
pub(crate) enum Deferred {
    Login(login::StartLogin),
    Callback(callback::Callback),
    Logout(logout::Logout),
    FrontChannelLogout(frontchannel::FrontChannel),
    Renewal(resume::Renewal),
    StoreSession(store_session::StoreLookup),
    Bearer(bearer::BearerCheck),
    #[cfg(feature = "api-keys")]
    ApiKey(crate::flow::api_key_auth::KeyCheck),
    #[cfg(feature = "api-keys")]
    ManageApiKeys(crate::flow::api_key_routes::Manage),
    Development(development::LoadUser),
    Dpop(crate::flow::dpop_check::DpopCheck),
}

impl Deferred {
    async fn run(self, ctx: &Context) -> Outcome {
        match self {
            Deferred::Login(start) => start.run(ctx).await,
            Deferred::Callback(callback) => callback.run(ctx).await,
            Deferred::Logout(logout) => logout.run(ctx).await,
            Deferred::FrontChannelLogout(logout) => logout.run(ctx).await,
            Deferred::Renewal(renewal) => renewal.run(ctx).await,
            Deferred::StoreSession(lookup) => lookup.run(ctx).await,
            Deferred::Bearer(check) => check.run(ctx).await,
            #[cfg(feature = "api-keys")]
            Deferred::ApiKey(check) => check.run(ctx).await,
            #[cfg(feature = "api-keys")]
            Deferred::ManageApiKeys(manage) => Outcome::Respond(manage.run(ctx).await),
            Deferred::Development(load) => load.run(ctx).await,
            Deferred::Dpop(check) => check.run(ctx).await,
        }
    }

    /// One span per flow, recording who and how it ended; never tokens or secrets.
    fn span(&self) -> tracing::Span {
        use tracing::field::Empty;
        match self {
            Deferred::Login(_) => {
                tracing::info_span!("oidc.login", user_id = Empty, outcome = Empty)
            }
            Deferred::Callback(_) => {
                tracing::info_span!("oidc.callback", user_id = Empty, outcome = Empty)
            }
            Deferred::Logout(_) => {
                tracing::info_span!("oidc.logout", user_id = Empty, outcome = Empty)
            }
            Deferred::FrontChannelLogout(_) => {
                tracing::info_span!("oidc.frontchannel_logout", outcome = Empty)
            }
            Deferred::Renewal(resume::Renewal::Refresh(_)) => {
                tracing::info_span!("oidc.refresh", user_id = Empty, outcome = Empty)
            }
            Deferred::Renewal(resume::Renewal::ReloadUser(_)) => {
                tracing::info_span!("oidc.user_details", user_id = Empty, outcome = Empty)
            }
            Deferred::Renewal(resume::Renewal::Touch(_)) => {
                tracing::debug_span!("oidc.session_touch", user_id = Empty, outcome = Empty)
            }
            Deferred::StoreSession(_) => {
                tracing::debug_span!("oidc.session_store", user_id = Empty, outcome = Empty)
            }
            Deferred::Bearer(_) => {
                tracing::info_span!("oidc.bearer", user_id = Empty, outcome = Empty)
            }
            #[cfg(feature = "api-keys")]
            Deferred::ApiKey(_) => {
                tracing::debug_span!("oidc.api_key", user_id = Empty, outcome = Empty)
            }
            #[cfg(feature = "api-keys")]
            Deferred::ManageApiKeys(_) => {
                tracing::info_span!("oidc.api_keys", outcome = Empty)
            }
            Deferred::Development(_) => {
                tracing::info_span!("oidc.development_user", user_id = Empty, outcome = Empty)
            }
            Deferred::Dpop(_) => {
                tracing::info_span!("oidc.dpop", user_id = Empty, outcome = Empty)
            }
        }
    }
}
