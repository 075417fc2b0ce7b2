//! Routing a request to its flow, synchronously where it can be decided at once.

use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode};

use super::{BodyWork, Decision, Deferred, Pending};
use crate::bearer::BearerHeader;
use crate::config::Config;
use crate::context::{store_unavailable, Context, SessionLookup};
use crate::flow::login_params::LoginParams;
use crate::flow::{
    backchannel, bearer, callback, form_post, frontchannel, login, logout, resume, store_session,
};
use crate::identity::Identity;
use crate::outcome::{Outcome, Pass, Step};
use crate::paths::normalize_path;
use crate::request::RequestView;
use crate::response::{self, CoreResponse, ErrorReply};

/// The layer's shared state and the dispatcher over it.
pub(crate) struct Engine {
    ctx: Context,
}

impl Engine {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let engine = Arc::new(Self {
            ctx: Context::new(config),
        });
        super::development::announce(&engine);
        engine
    }

    /// Authentication is off: every answer says so.
    pub(crate) fn auth_disabled(&self) -> bool {
        self.ctx.development.is_some()
    }

    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    /// Decides without waiting where it can: whitelisted paths, cookie sessions that need
    /// no refresh, and answers to bad requests never touch the network.
    pub(crate) fn decide(&self, request: &RequestView<'_>) -> Decision {
        let ctx = &self.ctx;
        let normalized = normalize_path(request.path);
        if let Some(development) = &ctx.development {
            return match super::development::decide(ctx, development, request, &normalized.path) {
                Decision::Continue(pass) => self
                    .authorize(Outcome::Continue(pass), || request.wants_html(), || None)
                    .into(),
                decision => decision,
            };
        }
        if !normalized.ambiguous && !ctx.config.bearer_only {
            if let Some(decision) = self.own_route(request, &normalized.path) {
                return decision;
            }
        }
        if ctx.config.whitelist.matches(&normalized) {
            let (identity, set_cookies) = self.passive_identity(request);
            return Decision::Continue(Pass {
                identity,
                set_cookies,
            });
        }
        match self.decide_protected(request) {
            Decision::Defer(mut pending) => {
                pending.html = request.wants_html();
                Decision::Defer(pending)
            }
            Decision::Continue(pass) => self
                .authorize(
                    Outcome::Continue(pass),
                    || request.wants_html(),
                    || crate::redirect::safe_return_to(&request.path_and_query()),
                )
                .into(),
            decision => decision,
        }
    }

    /// Completes deferred work.
    pub(crate) async fn run(self: Arc<Self>, pending: Pending) -> Outcome {
        use tracing::Instrument;
        let span = pending.work.span();
        let outcome = pending.work.run(&self.ctx).instrument(span.clone()).await;
        let outcome = self.authorize(outcome, || pending.html, || None);
        record_outcome(&span, &outcome);
        outcome
    }

    /// Completes a [`Decision::ReadBody`].
    pub(crate) async fn run_with_body(
        self: Arc<Self>,
        work: BodyWork,
        body: bytes::Bytes,
    ) -> CoreResponse {
        match work {
            BodyWork::BackChannelLogout => {
                let response = backchannel::handle(&self.ctx, &body).await;
                crate::telemetry::backchannel_logout(response.status());
                response
            }
            BodyWork::FormPost(posted) => {
                use tracing::Instrument;
                let span = tracing::info_span!(
                    "oidc.callback",
                    user_id = tracing::field::Empty,
                    outcome = tracing::field::Empty
                );
                form_post::handle(&self.ctx, posted, &body)
                    .instrument(span)
                    .await
            }
            #[cfg(feature = "api-keys")]
            BodyWork::CreateApiKey(create) => create.run(&self.ctx, &body).await,
        }
    }

    /// The global requirements, on an identity about to reach a protected route, which
    /// gets the hook that decodes its user first. `html` reads the `Accept` header, and
    /// `return_to` parses the request's target, only when access is denied.
    fn authorize(
        &self,
        outcome: Outcome,
        html: impl FnOnce() -> bool,
        return_to: impl FnOnce() -> Option<String>,
    ) -> Outcome {
        let Outcome::Continue(Pass {
            identity: Some(identity),
            set_cookies,
        }) = outcome
        else {
            return outcome;
        };
        let identity = identity.with_user_decoder(self.ctx.user_decoder());
        match self.ctx.requirements_of(&identity).check(&identity) {
            Ok(()) => Outcome::Continue(Pass {
                identity: Some(identity),
                set_cookies,
            }),
            Err(denied) => Outcome::Respond(self.ctx.auth_context.deny_at(
                &identity,
                &denied,
                html(),
                return_to().as_deref(),
                set_cookies,
            )),
        }
    }

    fn decide_protected(&self, request: &RequestView<'_>) -> Decision {
        let ctx = &self.ctx;
        if let Some(step) = crate::flow::dpop_check::from_request(ctx, request) {
            return self.step(step, Deferred::Dpop);
        }
        match crate::bearer::from_headers(request.headers) {
            BearerHeader::Token(token) => return self.bearer(&token),
            BearerHeader::Malformed(reason) => {
                crate::telemetry::bearer_rejected_because("malformed");
                return Decision::Respond(response::unauthorized(
                    reason,
                    Some("invalid_request"),
                    Vec::new(),
                ));
            }
            BearerHeader::Missing => {}
        }
        if ctx.config.bearer_only {
            return Decision::Respond(response::unauthorized(
                "a bearer token is required",
                None,
                Vec::new(),
            ));
        }
        // Read once, for the session's expiry and for what is due on it.
        let now = crate::session::now();
        let cookies = request.headers.get_all(http::header::COOKIE);
        let (lookup, resealed) = ctx.lookup_session_in(&cookies, now);
        match lookup {
            SessionLookup::Valid(session) => {
                let detach = || request.detach(&ctx.config, ctx.carried_chunks(request.headers));
                match resume::resume(ctx, session, now, detach) {
                    Step::Done(outcome) if resealed.is_empty() => outcome.into(),
                    Step::Done(outcome) => outcome.with_cookies(resealed).into(),
                    // A renewal writes the session's cookie anew, with the current key.
                    Step::Wait(renewal) => defer(Deferred::Renewal(renewal)),
                }
            }
            SessionLookup::Store(id) => {
                let request = request.detach(&ctx.config, id.carried);
                defer(Deferred::StoreSession(store_session::StoreLookup {
                    id,
                    request,
                }))
            }
            SessionLookup::Invalid { carried } => {
                let removals = ctx.codec.remove_chunks(ctx.session_cookie(), carried);
                self.unauthenticated(request, removals)
            }
            SessionLookup::None => self.unauthenticated(request, Vec::new()),
            SessionLookup::StoreFailed(_) => {
                Decision::Respond(store_unavailable(request.wants_html()))
            }
        }
    }

    fn step<W>(&self, step: Step<W>, deferred: impl FnOnce(W) -> Deferred) -> Decision {
        match step {
            Step::Done(outcome) => outcome.into(),
            Step::Wait(work) => defer(deferred(work)),
        }
    }

    fn own_route(&self, request: &RequestView<'_>, path: &str) -> Option<Decision> {
        let ctx = &self.ctx;
        let routes = &ctx.config.routes;
        let is_get = request.method == Method::GET || request.method == Method::HEAD;
        #[cfg(feature = "api-keys")]
        if let Some(route) = crate::flow::api_key_routes::decide(ctx, request, path) {
            return Some(api_keys_route(route));
        }
        if ctx.is_callback(path) {
            return Some(if is_get {
                match login::retry_interactively(ctx, request) {
                    Some(login) => self.step(login, Deferred::Login),
                    None => self.step(callback::decide(ctx, request), Deferred::Callback),
                }
            } else if request.method == Method::POST && ctx.takes_form_post_at(path) {
                Decision::ReadBody {
                    limit: form_post::MAX_BODY_BYTES,
                    work: BodyWork::FormPost(form_post::Posted::of(request)),
                }
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if let Some(name) = path
            .strip_prefix(routes.login.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|_| ctx.has_several_providers())
        {
            return Some(if !is_get {
                method_not_allowed(request, "GET")
            } else if let Some(chosen) = ctx.for_provider(name) {
                let next = login::next_from_query(request.query);
                let params = LoginParams::from_query(request.query);
                self.step(
                    login::decide(&chosen, request, next, params, Vec::new()),
                    Deferred::Login,
                )
            } else {
                Decision::Respond(login::unknown_provider(request.wants_html()))
            });
        }
        if path == routes.login && !ctx.chosen {
            return Some(if is_get {
                let next = login::next_from_query(request.query);
                Decision::Respond(crate::flow::chooser::page(
                    ctx,
                    next.as_deref(),
                    request.wants_html(),
                    Vec::new(),
                ))
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if path == routes.login {
            return Some(if is_get {
                let next = login::next_from_query(request.query);
                let params = LoginParams::from_query(request.query);
                self.step(
                    login::decide(ctx, request, next, params, Vec::new()),
                    Deferred::Login,
                )
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if path == routes.backchannel_logout {
            return Some(if request.method == Method::POST {
                Decision::ReadBody {
                    limit: backchannel::MAX_BODY_BYTES,
                    work: BodyWork::BackChannelLogout,
                }
            } else {
                method_not_allowed(request, "POST")
            });
        }
        if path == routes.frontchannel_logout {
            return Some(if is_get {
                self.step(
                    frontchannel::decide(ctx, request),
                    Deferred::FrontChannelLogout,
                )
            } else {
                method_not_allowed(request, "GET")
            });
        }
        if path == routes.logout {
            return Some(if is_get || request.method == Method::POST {
                self.step(logout::decide(ctx, request), Deferred::Logout)
            } else {
                method_not_allowed(request, "GET, POST")
            });
        }
        None
    }

    /// An explicit bearer token wins over any session cookie. `token` is visible ASCII
    /// ([`BearerHeader::Token`]): a cached one is found by its bytes, and only a token
    /// that must be verified (or an API key) is read as text.
    fn bearer(&self, token: &[u8]) -> Decision {
        #[cfg(feature = "api-keys")]
        if self.ctx.config.api_keys.is_some() {
            if let Some(step) = std::str::from_utf8(token)
                .ok()
                .and_then(|token| crate::flow::api_key_auth::decide(&self.ctx, token))
            {
                return self.step(step, Deferred::ApiKey);
            }
        }
        let now = crate::session::now();
        if self.ctx.config.dpop.mode != crate::DpopMode::Required {
            if let Some(session) = self.ctx.bearer_cache.get_unbound(token, now) {
                crate::telemetry::bearer_accepted("cached");
                return Decision::Continue(Pass::signed_in(Identity::new(session)));
            }
        }
        let cached = self.ctx.bearer_cache.get(token, now);
        if let Some(refusal) =
            crate::dpop::binding::refuse_as_bearer(&self.ctx.config, cached.as_deref())
        {
            crate::telemetry::bearer_rejected_because("dpop_bound");
            return Decision::Respond(refusal);
        }
        match cached {
            Some(session) => {
                crate::telemetry::bearer_accepted("cached");
                Decision::Continue(Pass::signed_in(Identity::new(session)))
            }
            None => match std::str::from_utf8(token) {
                Ok(token) => defer(Deferred::Bearer(bearer::BearerCheck {
                    token: token.to_owned(),
                })),
                Err(_) => Decision::Respond(response::unauthorized(
                    "the bearer token has invalid characters",
                    Some("invalid_request"),
                    Vec::new(),
                )),
            },
        }
    }

    /// A session on a whitelisted path is offered to the handler but never refreshed,
    /// redirected or required; an identity that fails the global requirements is not
    /// offered at all, so no handler ever sees one.
    /// A session sealed with a previous key gets its cookie sealed with the current one.
    fn passive_identity(&self, request: &RequestView<'_>) -> (Option<Identity>, Vec<HeaderValue>) {
        if self.ctx.config.bearer_only {
            return (None, Vec::new());
        }
        match self.ctx.lookup_session_resealing(request.headers) {
            (SessionLookup::Valid(session), resealed) => (
                Some(self.ctx.identity(session))
                    .filter(|identity| self.ctx.requirements_of(identity).check(identity).is_ok()),
                resealed,
            ),
            _ => (None, Vec::new()),
        }
    }

    /// No usable session: browsers go to log in, everything else gets `401`.
    fn unauthenticated(
        &self,
        request: &RequestView<'_>,
        set_cookies: Vec<HeaderValue>,
    ) -> Decision {
        if request.is_navigation() {
            let next = crate::redirect::safe_return_to(&request.path_and_query());
            return self.step(
                login::decide(
                    &self.ctx,
                    request,
                    next,
                    LoginParams::default(),
                    set_cookies,
                ),
                Deferred::Login,
            );
        }
        Decision::Respond(login::authentication_required(set_cookies))
    }
}

/// The management route of personal API keys.
#[cfg(feature = "api-keys")]
fn api_keys_route(route: crate::flow::api_key_routes::Route) -> Decision {
    use crate::flow::api_key_routes::{Route, MAX_BODY_BYTES};
    match route {
        Route::Respond(response) => Decision::Respond(response),
        Route::ReadBody(create) => Decision::ReadBody {
            limit: MAX_BODY_BYTES,
            work: BodyWork::CreateApiKey(create),
        },
        Route::Wait(manage) => defer(Deferred::ManageApiKeys(manage)),
    }
}

fn defer(work: Deferred) -> Decision {
    Decision::Defer(Pending { work, html: false })
}

/// `outcome` is `continue` or the status answered; `user_id` when the outcome carries one
/// and the flow did not record it already.
fn record_outcome(span: &tracing::Span, outcome: &Outcome) {
    match outcome {
        Outcome::Continue(pass) => {
            span.record("outcome", "continue");
            if let Some(identity) = &pass.identity {
                span.record("user_id", identity.user_id());
            }
        }
        Outcome::Respond(response) => {
            span.record("outcome", response.status().as_u16());
        }
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
