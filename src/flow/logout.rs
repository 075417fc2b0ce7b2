//! Logout: end the local session (server side too), revoke its tokens at the provider's
//! revocation endpoint, then RP-initiated logout at the provider when it offers an
//! end-session endpoint.

use std::sync::Arc;

use http::header::ORIGIN;
use http::{Method, StatusCode};
use url::Url;

use super::logout_confirm;
use crate::config::SessionBackend;
use crate::context::{Context, SessionLookup};
use crate::outcome::{Outcome, Step};
use crate::request::RequestView;
use crate::response;
use crate::session::SessionData;

pub(crate) struct Logout {
    session: Option<Arc<SessionData>>,
    store_id: Option<Arc<str>>,
    carried: usize,
    status: StatusCode,
    origin: Option<String>,
}

/// The logout of this request, or a page asking to confirm it when another site sent the
/// browser here: a link or a form elsewhere must not end the user's session, nor their
/// single sign-on session at the provider.
pub(crate) fn decide(ctx: &Context, request: &RequestView<'_>) -> Step<Logout> {
    let trusted_get =
        request.method == Method::GET && ctx.config.security.trust_cross_site_logout_get;
    if !trusted_get && cross_site(ctx, request) {
        tracing::info!("cross-site logout request: asking to confirm");
        return Step::Done(Outcome::Respond(logout_confirm::page(
            &ctx.config.routes.logout,
            &ctx.config.routes.home,
            request.wants_html(),
        )));
    }
    Step::Wait(prepare(ctx, request))
}

/// Whether the browser says another site made this request: `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed or bookmarked), or an `Origin` that is not the app's.
/// Requests with neither header (older clients, scripts) are not cross-site.
fn cross_site(ctx: &Context, request: &RequestView<'_>) -> bool {
    let fetch_site = request
        .headers
        .get("sec-fetch-site")
        .map(|value| value.as_bytes());
    if matches!(fetch_site, Some(site) if site != b"same-origin" && site != b"none") {
        return true;
    }
    match request.headers.get(ORIGIN) {
        None => false,
        Some(origin) => {
            let own = request.origin(&ctx.config);
            own.as_deref().map(str::as_bytes) != Some(origin.as_bytes())
        }
    }
}

/// The logout of this request; it always waits (the store, the provider's metadata).
fn prepare(ctx: &Context, request: &RequestView<'_>) -> Logout {
    let (session, store_id, carried) = match ctx.lookup_session(request.headers) {
        SessionLookup::None => (None, None, 0),
        SessionLookup::Invalid { carried } => (None, None, carried),
        SessionLookup::Valid(session) => (Some(session), None, ctx.carried_chunks(request.headers)),
        SessionLookup::Store(store) | SessionLookup::StoreFailed(store) => {
            (None, Some(store.id), store.carried)
        }
    };
    // After a POST the browser must follow with GET.
    let status = if request.method == Method::POST {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    Logout {
        session,
        store_id,
        carried,
        status,
        origin: request.origin(&ctx.config),
    }
}

impl Logout {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let mut session = self.session.clone();
        if let (Some(id), SessionBackend::Store(store)) = (&self.store_id, &ctx.config.session) {
            session = store.load(id).await.ok().flatten().map(Arc::new);
            if let Err(err) = store.delete(id).await {
                tracing::warn!(error = %err, "could not delete the session from the store");
            }
        }
        let removals = ctx.end_session(session.as_deref(), self.carried).await;
        // The provider that signed the user in ends its session and revokes its tokens.
        let owner = session
            .as_deref()
            .and_then(|session| ctx.for_session(session));
        let ctx: &Context = owner.as_deref().unwrap_or(ctx);
        if let Some(session) = &session {
            tracing::Span::current().record("user_id", session.user_id.as_str());
            tracing::info!(user_id = %session.user_id, "logout");
            super::revoke::revoke_tokens(ctx, session).await;
        }
        let target = self.target(ctx, session.as_deref());
        Outcome::Respond(response::redirect(self.status, &target, removals))
    }

    /// The provider's end-session URL when it has one (with `id_token_hint`, `client_id`
    /// and `post_logout_redirect_uri`), else the configured landing page.
    fn target(&self, ctx: &Context, session: Option<&SessionData>) -> String {
        let config = &ctx.config;
        let post_logout = config.post_logout_redirect_uri.as_deref().map(|uri| {
            match (uri.starts_with('/'), &self.origin) {
                (true, Some(origin)) => format!("{origin}{uri}"),
                _ => uri.to_owned(),
            }
        });
        let end_session = Some(&ctx.provider)
            .filter(|_| ctx.chosen)
            .and_then(|provider| provider.cached_metadata())
            .and_then(|metadata| metadata.end_session_endpoint.clone());
        let Some(mut url) = end_session else {
            return config
                .post_logout_redirect_uri
                .clone()
                .unwrap_or_else(|| config.routes.home.clone());
        };
        append_logout_params(&mut url, session, &config.client_id, post_logout.as_deref());
        url.to_string()
    }
}

fn append_logout_params(
    url: &mut Url,
    session: Option<&SessionData>,
    client_id: &str,
    post_logout: Option<&str>,
) {
    let mut query = url.query_pairs_mut();
    if let Some(hint) = session.and_then(|s| s.id_token.as_deref()) {
        query.append_pair("id_token_hint", hint);
    }
    query.append_pair("client_id", client_id);
    if let Some(uri) = post_logout {
        query.append_pair("post_logout_redirect_uri", uri);
    }
}
