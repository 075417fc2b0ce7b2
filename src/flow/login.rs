//! Starting a login: state, nonce and PKCE (S256) in a pending-login cookie, then the
//! redirect to the provider's authorization endpoint.

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, StatusCode};
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope};

use super::login_params::{self, LoginParams};
use super::par;
use crate::config::{RedirectUri, ResponseMode};
use crate::context::Context;
use crate::outcome::{Outcome, Step};
use crate::provider::metadata::ProviderMetadata;
use crate::request::{Detached, RequestView};
use crate::response::{self, ErrorReply};
use crate::session::login_state::{self, PendingLogin};
use crate::session::{now, random_id};

/// The `next` query parameter, if it names a same-origin page.
pub(crate) fn next_from_query(query: Option<&str>) -> Option<String> {
    let query = query?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "next")
        .and_then(|(_, value)| crate::redirect::safe_return_to(&value))
}

/// A login whose pending state is made; it waits only for the provider's metadata.
pub(crate) struct StartLogin {
    pending: PendingLogin,
    set_cookies: Vec<HeaderValue>,
    wants_html: bool,
}

pub(crate) fn decide(
    ctx: &Context,
    request: &RequestView<'_>,
    next: Option<String>,
    params: LoginParams,
    set_cookies: Vec<HeaderValue>,
) -> Step<StartLogin> {
    let span = tracing::info_span!("oidc.login", outcome = tracing::field::Empty);
    let _entered = span.enter();
    let origin = request.origin(&ctx.config);
    match prepare(
        ctx,
        request.headers,
        origin,
        next,
        params,
        request.wants_html(),
        set_cookies,
    ) {
        Ok(start) => start.respond_now_or_wait(ctx),
        Err(refused) => Step::Done(*refused),
    }
}

/// No usable session, found after the request was detached (store lookups, failed
/// refreshes): browsers go to log in, everything else gets `401`.
pub(crate) async fn unauthenticated(
    ctx: &Context,
    request: &Detached,
    set_cookies: Vec<HeaderValue>,
) -> Outcome {
    if !request.navigation {
        return Outcome::Respond(authentication_required(set_cookies));
    }
    match prepare(
        ctx,
        &request.cookies,
        request.origin.clone(),
        request.next.clone(),
        LoginParams::default(),
        true,
        set_cookies,
    ) {
        Ok(start) => start.run(ctx).await,
        Err(refused) => *refused,
    }
}

/// The `401` for an API client without a session.
pub(crate) fn authentication_required(set_cookies: Vec<HeaderValue>) -> response::CoreResponse {
    response::unauthorized(
        "authentication required: sign in or send a bearer token",
        None,
        set_cookies,
    )
}

fn prepare(
    ctx: &Context,
    headers: &HeaderMap,
    origin: Option<String>,
    next: Option<String>,
    params: LoginParams,
    wants_html: bool,
    mut set_cookies: Vec<HeaderValue>,
) -> Result<StartLogin, Box<Outcome>> {
    let config = &ctx.config;
    if !ctx.chosen {
        // Several providers and no default: the user chooses first.
        let location = super::chooser::location(ctx, next.as_deref());
        return Err(Box::new(Outcome::Respond(response::redirect(
            StatusCode::FOUND,
            &location,
            set_cookies,
        ))));
    }
    let redirect_uri =
        match &config.redirect_uri {
            RedirectUri::Absolute(url) => url.to_string(),
            RedirectUri::Path(path) => match origin {
                Some(origin) => format!("{origin}{path}"),
                None => return Err(Box::new(Outcome::Respond(
                    ErrorReply {
                        status: StatusCode::BAD_REQUEST,
                        code: "missing_host",
                        message:
                            "the request has no valid Host header to build the callback URL from",
                        retry: None,
                    }
                    .render(wants_html, set_cookies),
                ))),
            },
        };
    let pending = PendingLogin {
        state: random_id(),
        nonce: random_id(),
        pkce_verifier: PkceCodeVerifier::new(random_id() + &random_id())
            .secret()
            .clone(),
        next,
        redirect_uri,
        created_at: now(),
        silent: params.is_silent(config.silent_login_first),
        params: params.params,
        dpop_key: crate::dpop::client_key::new_login_key(config),
        provider: config.provider_key.clone(),
    };
    set_cookies.extend(login_state::store(
        &ctx.codec,
        headers,
        &config.cookie_name,
        &pending,
        config.max_pending_logins,
    ));
    Ok(StartLogin {
        pending,
        set_cookies,
        wants_html,
    })
}

impl StartLogin {
    fn respond_now_or_wait(self, ctx: &Context) -> Step<StartLogin> {
        match ctx.provider.cached_metadata() {
            Some(metadata) if !par::wanted(&ctx.config, &metadata) => {
                Step::Done(self.redirect(ctx, &metadata))
            }
            _ => Step::Wait(self),
        }
    }

    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(ctx) = &ctx.for_named(self.pending.provider.as_deref()) else {
            return Outcome::Respond(unknown_provider(self.wants_html));
        };
        match ctx.provider.metadata().await {
            Ok(metadata) if par::wanted(&ctx.config, &metadata) => self.push(ctx, &metadata).await,
            Ok(metadata) => self.redirect(ctx, &metadata),
            Err(err) => {
                tracing::warn!(reason = %err, "login refused: identity provider unavailable");
                crate::telemetry::login_failed(err.code());
                Outcome::Respond(err.login_reply().render(self.wants_html, Vec::new()))
            }
        }
    }

    fn redirect(self, ctx: &Context, metadata: &ProviderMetadata) -> Outcome {
        match self.authorization_url(ctx, metadata) {
            Ok(url) => {
                tracing::debug!(provider = %metadata.issuer, "login started");
                crate::telemetry::login_started();
                Outcome::Respond(response::redirect(
                    StatusCode::FOUND,
                    url.as_str(),
                    self.set_cookies,
                ))
            }
            Err(reply) => Outcome::Respond(reply.render(self.wants_html, Vec::new())),
        }
    }

    /// RFC 9126: the request's parameters go to the provider directly; the browser carries
    /// only the `request_uri` it answered.
    async fn push(self, ctx: &Context, metadata: &ProviderMetadata) -> Outcome {
        let url = match self.authorization_url(ctx, metadata) {
            Ok(url) => url,
            Err(reply) => return Outcome::Respond(reply.render(self.wants_html, Vec::new())),
        };
        match par::push(ctx, metadata, &url).await {
            Ok(url) => {
                tracing::debug!(provider = %metadata.issuer, "login started (pushed request)");
                crate::telemetry::login_started();
                Outcome::Respond(response::redirect(
                    StatusCode::FOUND,
                    url.as_str(),
                    self.set_cookies,
                ))
            }
            Err(reason) => {
                tracing::warn!(%reason, "login refused: pushed authorization request failed");
                Outcome::Respond(
                    ErrorReply {
                        status: StatusCode::BAD_GATEWAY,
                        code: "provider_unavailable",
                        message: "the identity provider did not accept the sign-in request",
                        retry: None,
                    }
                    .render(self.wants_html, Vec::new()),
                )
            }
        }
    }

    fn authorization_url(
        &self,
        ctx: &Context,
        metadata: &ProviderMetadata,
    ) -> Result<url::Url, ErrorReply<'static>> {
        let config = &ctx.config;
        let Ok(redirect_url) = RedirectUrl::new(self.pending.redirect_uri.clone()) else {
            return Err(ErrorReply {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_redirect_uri",
                message: "the callback URL could not be built from this request",
                retry: None,
            });
        };
        let verifier = PkceCodeVerifier::new(self.pending.pkce_verifier.clone());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let state = self.pending.state.clone();
        let client = super::oauth::client(config, metadata);
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_redirect_uri(Cow::Owned(redirect_url))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", self.pending.nonce.clone())
            .add_scopes(config.scopes.iter().cloned().map(Scope::new));
        // What the request asked for replaces a configured parameter of the same name.
        let asked = |name: &str| {
            (self.pending.silent && name == "prompt")
                || login_params::find(&self.pending.params, name).is_some()
        };
        for (name, value) in &config.auth_params {
            if !asked(name) {
                request = request.add_extra_param(name.clone(), value.clone());
            }
        }
        for (name, value) in &self.pending.params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        if self.pending.silent {
            request = request.add_extra_param("prompt", "none");
        }
        let configured = |name: &str| config.auth_params.iter().any(|(n, _)| n == name);
        if config.response_mode == ResponseMode::FormPost
            && !asked("response_mode")
            && !configured("response_mode")
        {
            request = request.add_extra_param("response_mode", "form_post");
        }
        if let Some(jkt) = crate::dpop::client_key::stored_jkt(self.pending.dpop_key.as_deref()) {
            request = request.add_extra_param("dpop_jkt", jkt);
        }
        let (url, _) = request.url();
        Ok(url)
    }
}

/// A login naming a provider that is not configured.
pub(crate) fn unknown_provider(html: bool) -> response::CoreResponse {
    ErrorReply {
        status: StatusCode::NOT_FOUND,
        code: "unknown_provider",
        message: "no identity provider of that name is configured",
        retry: None,
    }
    .render(html, Vec::new())
}

/// Errors by which a provider says a `prompt=none` login needs the user's interaction.
const NEEDS_INTERACTION: &[&str] = &["login_required", "consent_required", "interaction_required"];

/// A callback answering a silent login with "the user must interact": one interactive
/// login, with the same return-to page and parameters. Its pending login is not silent,
/// so a second such answer ends at the callback's error page, never in a loop. `None`
/// for every other callback.
pub(crate) fn retry_interactively(
    ctx: &Context,
    request: &RequestView<'_>,
) -> Option<Step<StartLogin>> {
    let mut error = None;
    let mut state = None;
    for (name, value) in form_urlencoded::parse(request.query?.as_bytes()) {
        match &*name {
            "error" => error = Some(value),
            "state" => state = Some(value),
            _ => {}
        }
    }
    if !NEEDS_INTERACTION.contains(&&*error?) {
        return None;
    }
    let (cookie, pending) = login_state::find(
        &ctx.codec,
        request.headers,
        &ctx.config.cookie_name,
        &state?,
        now(),
    )?;
    if !pending.silent || !ctx.used_states.first_use(&pending.state, now()) {
        return None;
    }
    tracing::info!("silent login needs the user: signing in interactively");
    let params = LoginParams {
        params: pending.params,
        silent: false,
        interactive: true,
    };
    let removal = ctx.codec.removal(&cookie).into_iter().collect();
    let ctx = &ctx.for_named(pending.provider.as_deref())?;
    Some(decide(ctx, request, pending.next, params, removal))
}
