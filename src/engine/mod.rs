//! The framework-neutral engine: a request view in, a decision out.

#[cfg(all(test, feature = "testing"))]
mod flood_tests;
mod sessions;

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode};

use crate::bearer::cache::BearerCache;
use crate::bearer::BearerHeader;
use crate::config::Config;
use crate::flow::refresh::RefreshGate;
use crate::flow::{callback, login, logout, refresh};
use crate::identity::{AuthContext, Identity};
use crate::paths::normalize_path;
use crate::provider::Provider;
use crate::request::RequestView;
use crate::response::{self, CoreResponse, ErrorReply};
use crate::session::cache::SessionCache;
use crate::session::codec::CookieCodec;
use crate::session::login_state::UsedStates;
use crate::session::SessionData;

pub(crate) use sessions::SessionLookup;

/// What to do with a request.
pub(crate) enum Decision {
    /// Pass it to the application, with the identity (if any) and cookies to add.
    Continue {
        identity: Option<Identity>,
        set_cookies: Vec<HeaderValue>,
    },
    /// Answer it directly.
    Respond(CoreResponse),
    /// Needs the provider or a store first: run [`Engine::run`] on it.
    Defer(Pending),
    /// Needs the request body (at most `limit` bytes): hand it to [`Engine::run_with_body`].
    /// A body over the limit, or unreadable, is answered `413`/`400` by the adapter.
    ReadBody { limit: usize },
}

impl Decision {
    pub(crate) fn defer(work: Deferred) -> Self {
        Decision::Defer(Pending { work, html: false })
    }
}

/// Deferred work and what the answer must look like.
pub(crate) struct Pending {
    work: Deferred,
    /// The client accepts HTML, for an access-denied answer after the work.
    html: bool,
}

/// Work that needs to wait on the network. Owns everything it needs.
pub(crate) enum Deferred {
    Login(login::StartLogin),
    Callback(callback::Callback),
    Logout(logout::Logout),
    Refresh(refresh::Refresh),
    StoreSession(sessions::StoreLookup),
    Bearer(crate::bearer::verify::BearerCheck),
    ReloadUser(crate::flow::reload_user::ReloadUser),
}

/// Everything the layer shares between requests.
pub(crate) struct Engine {
    pub(crate) config: Config,
    pub(crate) provider: Arc<Provider>,
    pub(crate) codec: CookieCodec,
    pub(crate) cache: SessionCache,
    /// Session ids opened from cookies, for server-side stores.
    pub(crate) store_ids: SessionCache<Arc<str>>,
    pub(crate) used_states: UsedStates,
    pub(crate) refreshes: RefreshGate,
    pub(crate) bearer_cache: BearerCache,
    /// `jti`s of logout tokens already used.
    pub(crate) used_logout_tokens: UsedStates,
    pub(crate) auth_context: Arc<AuthContext>,
}

impl Engine {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let provider = Provider::new(&config);
        provider.spawn_maintenance();
        let cookie_path = if config.routes.home.is_empty() {
            "/".to_owned()
        } else {
            config.routes.home.clone()
        };
        let codec = CookieCodec::new(config.cookie_key.clone(), config.cookie_secure, cookie_path);
        let auth_context = Arc::new(AuthContext {
            logout_path: config.routes.logout.clone(),
            denied_page: config.denied_page.clone(),
        });
        Arc::new(Self {
            config,
            provider,
            codec,
            cache: SessionCache::new(10_000),
            store_ids: SessionCache::new(10_000),
            used_states: UsedStates::new(100_000),
            refreshes: RefreshGate::default(),
            bearer_cache: BearerCache::new(10_000),
            used_logout_tokens: UsedStates::with_ttl(100_000, 3600),
            auth_context,
        })
    }

    pub(crate) fn session_cookie(&self) -> &str {
        &self.config.cookie_name
    }

    /// Decides without waiting where it can: whitelisted paths, cookie sessions that need
    /// no refresh, and answers to bad requests never touch the network.
    pub(crate) fn decide(&self, request: &RequestView<'_>) -> Decision {
        let normalized = normalize_path(request.path);
        if !normalized.ambiguous && !self.config.bearer_only {
            if let Some(decision) = self.own_route(request, &normalized.path) {
                return decision;
            }
        }
        if self.config.whitelist.matches(&normalized) {
            return Decision::Continue {
                identity: self.passive_identity(request),
                set_cookies: Vec::new(),
            };
        }
        match self.decide_protected(request) {
            Decision::Defer(mut pending) => {
                pending.html = request.wants_html();
                Decision::Defer(pending)
            }
            decision => self.authorize(decision, || request.wants_html()),
        }
    }

    /// The global requirements, on an identity about to reach a protected route. `html`
    /// reads the `Accept` header only when access is denied.
    fn authorize(&self, decision: Decision, html: impl FnOnce() -> bool) -> Decision {
        let Decision::Continue {
            identity: Some(identity),
            set_cookies,
        } = decision
        else {
            return decision;
        };
        match self.config.require.check(&identity) {
            Ok(()) => Decision::Continue {
                identity: Some(identity),
                set_cookies,
            },
            Err(rule) => {
                tracing::info!(user_id = %identity.user_id(), %rule, "access denied");
                Decision::Respond(self.auth_context.denied(&identity, html(), set_cookies))
            }
        }
    }

    fn decide_protected(&self, request: &RequestView<'_>) -> Decision {
        match crate::bearer::from_headers(request.headers) {
            BearerHeader::Token(token) => return self.bearer(&token),
            BearerHeader::Malformed(reason) => {
                return Decision::Respond(response::unauthorized(
                    reason,
                    Some("invalid_request"),
                    Vec::new(),
                ))
            }
            BearerHeader::Missing => {}
        }
        if self.config.bearer_only {
            return Decision::Respond(response::unauthorized(
                "a bearer token is required",
                None,
                Vec::new(),
            ));
        }
        match self.lookup_session(request.headers) {
            SessionLookup::Valid(session) => self.continue_with(request, session),
            SessionLookup::Store(lookup) => Decision::defer(Deferred::StoreSession(
                sessions::StoreLookup::new(lookup, request, self),
            )),
            SessionLookup::Invalid { carried } => {
                let removals = self.codec.remove_chunks(self.session_cookie(), carried);
                self.unauthenticated(request, removals)
            }
            SessionLookup::None => self.unauthenticated(request, Vec::new()),
            SessionLookup::StoreFailed(_) => {
                Decision::Respond(sessions::store_unavailable(request.wants_html()))
            }
        }
    }

    fn own_route(&self, request: &RequestView<'_>, path: &str) -> Option<Decision> {
        let routes = &self.config.routes;
        let is_get = request.method == Method::GET || request.method == Method::HEAD;
        if path == routes.callback {
            return Some(if is_get {
                callback::decide(self, request)
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if path == routes.login {
            return Some(if is_get {
                let next = login::next_from_query(request.query);
                login::decide(self, request, next, Vec::new())
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if path == routes.backchannel_logout {
            return Some(if request.method == Method::POST {
                Decision::ReadBody {
                    limit: crate::flow::backchannel::MAX_BODY_BYTES,
                }
            } else {
                method_not_allowed(request, "POST")
            });
        }
        if path == routes.logout {
            return Some(if is_get || request.method == Method::POST {
                logout::decide(self, request)
            } else {
                method_not_allowed(request, "GET, POST")
            });
        }
        None
    }

    /// An explicit bearer token wins over any session cookie.
    fn bearer(&self, token: &str) -> Decision {
        match self.bearer_cache.get(token, crate::session::now()) {
            Some(session) => Decision::Continue {
                identity: Some(Identity::new(session)),
                set_cookies: Vec::new(),
            },
            None => Decision::defer(Deferred::Bearer(crate::bearer::verify::BearerCheck {
                token: token.to_owned(),
            })),
        }
    }

    /// A session on a whitelisted path is offered to the handler but never refreshed,
    /// redirected or required.
    fn passive_identity(&self, request: &RequestView<'_>) -> Option<Identity> {
        if self.config.bearer_only {
            return None;
        }
        match self.lookup_session(request.headers) {
            SessionLookup::Valid(session) => Some(Identity::new(session)),
            _ => None,
        }
    }

    fn continue_with(&self, request: &RequestView<'_>, session: Arc<SessionData>) -> Decision {
        let now = crate::session::now();
        if session.needs_refresh(now, self.config.leeway.as_secs()) {
            return Decision::defer(Deferred::Refresh(refresh::Refresh::new(
                self, request, session,
            )));
        }
        if let Some(hook) = &self.config.user_hook {
            if session.user_is_stale(now, hook.ttl_secs) {
                return Decision::defer(Deferred::ReloadUser(
                    crate::flow::reload_user::ReloadUser::new(self, request, session),
                ));
            }
        }
        Decision::Continue {
            identity: Some(Identity::new(session)),
            set_cookies: Vec::new(),
        }
    }

    /// No usable session: browsers go to log in, everything else gets `401`.
    pub(crate) fn unauthenticated(
        &self,
        request: &RequestView<'_>,
        set_cookies: Vec<HeaderValue>,
    ) -> Decision {
        if request.is_navigation() {
            let next = crate::redirect::safe_return_to(&request.path_and_query());
            return login::decide(self, request, next, set_cookies);
        }
        Decision::Respond(response::unauthorized(
            "authentication required: sign in or send a bearer token",
            None,
            set_cookies,
        ))
    }

    /// Completes a [`Decision::ReadBody`]: today only back-channel logout reads a body.
    pub(crate) async fn run_with_body(self: Arc<Self>, body: bytes::Bytes) -> Decision {
        Decision::Respond(crate::flow::backchannel::handle(&self, &body).await)
    }

    /// Completes deferred work.
    pub(crate) async fn run(self: Arc<Self>, pending: Pending) -> Decision {
        use tracing::field::Empty;
        use tracing::Instrument;
        // One span per flow, recording who and how it ended; never tokens or secrets.
        let span = match &pending.work {
            Deferred::Login(_) => {
                tracing::info_span!("oidc.login", user_id = Empty, outcome = Empty)
            }
            Deferred::Callback(_) => {
                tracing::info_span!("oidc.callback", user_id = Empty, outcome = Empty)
            }
            Deferred::Logout(_) => {
                tracing::info_span!("oidc.logout", user_id = Empty, outcome = Empty)
            }
            Deferred::Refresh(_) => {
                tracing::info_span!("oidc.refresh", user_id = Empty, outcome = Empty)
            }
            Deferred::StoreSession(_) => {
                tracing::debug_span!("oidc.session_store", user_id = Empty, outcome = Empty)
            }
            Deferred::Bearer(_) => {
                tracing::info_span!("oidc.bearer", user_id = Empty, outcome = Empty)
            }
            Deferred::ReloadUser(_) => {
                tracing::info_span!("oidc.user_details", user_id = Empty, outcome = Empty)
            }
        };
        let engine = Arc::clone(&self);
        let html = pending.html;
        let decision = async move {
            match pending.work {
                Deferred::Login(start) => start.run(&engine).await,
                Deferred::Callback(callback) => callback.run(&engine).await,
                Deferred::Logout(logout) => logout.run(&engine).await,
                Deferred::Refresh(refresh) => refresh.run(&engine).await,
                Deferred::StoreSession(lookup) => lookup.run(&engine).await,
                Deferred::Bearer(check) => check.run(&engine).await,
                Deferred::ReloadUser(reload) => reload.run(&engine).await,
            }
        }
        .instrument(span.clone())
        .await;
        let decision = self.authorize(decision, || html);
        record_outcome(&span, &decision);
        decision
    }
}

/// `outcome` is `continue` or the status answered; `user_id` when the decision carries one
/// and the flow did not record it already.
fn record_outcome(span: &tracing::Span, decision: &Decision) {
    match decision {
        Decision::Continue { identity, .. } => {
            span.record("outcome", "continue");
            if let Some(identity) = identity {
                span.record("user_id", identity.user_id());
            }
        }
        Decision::Respond(response) => {
            span.record("outcome", response.status().as_u16());
        }
        Decision::Defer(_) | Decision::ReadBody { .. } => {}
    }
}

fn method_not_allowed(request: &RequestView<'_>, allow: &'static str) -> Decision {
    let mut response = ErrorReply {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "this route does not accept that method",
        retry: None,
    }
    .render(request.wants_html(), Vec::new());
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    Decision::Respond(response)
}
