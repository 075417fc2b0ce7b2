//! The callback: check the state, exchange the code (with the PKCE verifier), verify the ID
//! token, merge userinfo, map the user id, and start a fresh session.

use http::{HeaderValue, StatusCode};
use oauth2::{AuthorizationCode, PkceCodeVerifier, RedirectUrl, TokenResponse as _};
use serde_json::{Map, Value};

use super::oauth::{self, TokenEndpointError};
use super::userinfo::{self, UserinfoError};
use crate::context::{Context, SessionLookup, StoreVerdict};
use crate::outcome::{Outcome, Step};
use crate::request::RequestView;
use crate::response::{self, ErrorReply};
use crate::session::login_state::{self, PendingLogin};
use crate::session::{now, random_id, SessionData};
use crate::token::id_token;
use crate::user::NoUser;
use crate::user_id::UserIdError;

/// A callback whose request checks passed; it waits on the provider.
pub(crate) struct Callback {
    code: String,
    /// RFC 9207: the issuer the authorization response says it came from.
    iss: Option<String>,
    pending: PendingLogin,
    login_cookie: String,
    carried: usize,
    previous_sid: Option<String>,
    wants_html: bool,
}

/// A failed login, answered with a page (browsers) or JSON.
pub(crate) struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn fail(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

impl Failure {
    fn render(&self, ctx: &Context, html: bool, set_cookies: Vec<HeaderValue>) -> Outcome {
        tracing::warn!(status = self.status.as_u16(), reason = %self.message, "login failed");
        crate::telemetry::login_failed(self.code);
        Outcome::Respond(
            ErrorReply {
                status: self.status,
                code: self.code,
                message: &self.message,
                retry: Some(&ctx.config.routes.login),
            }
            .render(html, set_cookies),
        )
    }
}

/// Query parameters of the callback; a parameter given twice is refused, since which copy
/// counts would be ambiguous.
pub(crate) fn parse_query(query: &str) -> Result<Map<String, Value>, Failure> {
    let mut params = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params
            .insert(name.clone().into_owned(), Value::String(value.into_owned()))
            .is_some()
        {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("the callback parameter `{name}` appears twice"),
            ));
        }
    }
    Ok(params)
}

/// The provider's `error` and `error_description`, shortened and with control characters
/// escaped: they come from the query string, and a raw line break would let anyone who can
/// send a user to the callback write forged lines into the logs.
fn provider_error_text(error: &str, description: &str) -> String {
    let shown = |text: &str, max: usize| -> String {
        text.chars()
            .take(max)
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_debug().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect()
    };
    format!(
        "the identity provider refused the sign-in: {} {}",
        shown(error, 64),
        shown(description, 200)
    )
    .trim_end()
    .to_owned()
}

/// A callback whose `state` was used before, here or on an instance sharing the store.
fn completed_already() -> Failure {
    fail(
        StatusCode::BAD_REQUEST,
        "invalid_state",
        "this sign-in was completed already; start again",
    )
}

fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
}

pub(crate) fn decide(ctx: &Context, request: &RequestView<'_>) -> Step<Callback> {
    let html = request.wants_html();
    let params = match parse_query(request.query.unwrap_or("")) {
        Ok(params) => params,
        Err(failure) => return Step::Done(failure.render(ctx, html, Vec::new())),
    };
    let now = now();
    let found = param(&params, "state").and_then(|state| {
        login_state::find(
            &ctx.codec,
            request.headers,
            &ctx.config.cookie_name,
            state,
            now,
        )
    });
    let mut removals = Vec::new();
    if let Some((name, _)) = &found {
        removals.extend(ctx.codec.removal(name));
    }
    if let Some(error) = param(&params, "error") {
        let description = param(&params, "error_description").unwrap_or("");
        let status = if error == "access_denied" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        return fail(
            status,
            "provider_error",
            provider_error_text(error, description),
        )
        .render(ctx, html, removals)
        .into();
    }
    let Some(state) = param(&params, "state") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "missing_state",
            "the callback has no `state`",
        )
        .render(ctx, html, removals)
        .into();
    };
    let Some(code) = param(&params, "code") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "missing_code",
            "the callback has no `code`",
        )
        .render(ctx, html, removals)
        .into();
    };
    let Some((login_cookie, pending)) = found else {
        // No cookie at all: the browser refuses this site's cookies (or dropped them). A
        // page that says so, since signing in again would end here again.
        if request.headers.get(http::header::COOKIE).is_none() {
            return fail(
                StatusCode::BAD_REQUEST,
                "login_cookie_missing",
                "the browser sent no cookie with the sign-in; it may be blocking cookies for this site",
            )
            .render(ctx, html, removals)
            .into();
        }
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "this sign-in is unknown, expired or finished already; start again",
        )
        .render(ctx, html, removals)
        .into();
    };
    // The provider is the one the login went to, and its responses come to its own
    // callback; the query never chooses it.
    let on_its_callback = ctx
        .for_named(pending.provider.as_deref())
        .is_some_and(|own| {
            crate::paths::normalize_path(request.path).path == own.config.routes.callback
        });
    if !on_its_callback {
        return fail(
            StatusCode::BAD_REQUEST,
            "wrong_provider",
            "this sign-in was started with another identity provider",
        )
        .render(ctx, html, removals)
        .into();
    }
    // This process's record first: a replay here is refused without a round trip. The
    // store's record, shared by every instance, is asked before the code is redeemed.
    if !ctx.used_states.first_use(state, now) {
        return completed_already().render(ctx, html, removals).into();
    }
    let (carried, previous_sid) = match ctx.lookup_session(request.headers) {
        SessionLookup::None => (0, None),
        SessionLookup::Invalid { carried } => (carried, None),
        SessionLookup::Valid(session) => (
            ctx.codec
                .count_chunks(request.headers, ctx.session_cookie()),
            Some(session.sid.clone()),
        ),
        SessionLookup::Store(store) | SessionLookup::StoreFailed(store) => {
            (store.carried, Some(store.id.to_string()))
        }
    };
    Step::Wait(Callback {
        code: code.to_owned(),
        iss: param(&params, "iss").map(str::to_owned),
        pending,
        login_cookie,
        carried,
        previous_sid,
        wants_html: html,
    })
}

impl Callback {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let _timer = crate::telemetry::callback_timer();
        let Some(ctx) = &ctx.for_named(self.pending.provider.as_deref()) else {
            return fail(
                StatusCode::BAD_REQUEST,
                "wrong_provider",
                "this sign-in was started with an identity provider no longer configured",
            )
            .render(ctx, self.wants_html, Vec::new());
        };
        let removal: Vec<HeaderValue> = ctx.codec.removal(&self.login_cookie).into_iter().collect();
        match ctx.first_use_of_state(&self.pending.state).await {
            StoreVerdict::First | StoreVerdict::NotKept => {}
            StoreVerdict::Replayed => {
                return completed_already().render(ctx, self.wants_html, removal);
            }
            StoreVerdict::Failed(err) => {
                tracing::error!(error = %err, "login state: the session store is unavailable");
                return fail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "session_store_unavailable",
                    "sessions are unavailable right now; start again shortly",
                )
                .render(ctx, self.wants_html, removal);
            }
        }
        match self.complete(ctx).await {
            Ok(session) => {
                if let Some(previous) = &self.previous_sid {
                    ctx.end_previous_session(previous).await;
                }
                let cookies = match ctx.write_session(&session, self.carried).await {
                    Ok(cookies) => cookies,
                    Err(err) => {
                        return fail(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "session_store_unavailable",
                            format!("the session could not be saved: {err}"),
                        )
                        .render(ctx, self.wants_html, removal)
                    }
                };
                let mut set_cookies = removal;
                set_cookies.extend(cookies);
                let target = ctx
                    .config
                    .post_login_redirect
                    .clone()
                    .or(self.pending.next.clone())
                    .unwrap_or_else(|| ctx.config.routes.home.clone());
                tracing::Span::current().record("user_id", session.user_id.as_str());
                let identity = ctx.identity(std::sync::Arc::new(session));
                if let Err(denied) = ctx.config.require.check(&identity) {
                    // Answered here, not after a redirect: the page the user asked for would
                    // only refuse them again, and a whitelisted landing page would not. A
                    // login that was a step-up already ends here, never in another one.
                    let step_up_again = (!super::step_up::asked(&self.pending)).then_some(&target);
                    return Outcome::Respond(ctx.auth_context.deny_at(
                        &identity,
                        &denied,
                        self.wants_html,
                        step_up_again.map(String::as_str),
                        set_cookies,
                    ));
                }
                tracing::info!(user_id = %identity.user_id(), "login succeeded");
                crate::telemetry::login_completed();
                Outcome::Respond(response::redirect(StatusCode::FOUND, &target, set_cookies))
            }
            Err(failure) => failure.render(ctx, self.wants_html, removal),
        }
    }

    async fn complete(&self, ctx: &Context) -> Result<SessionData, Failure> {
        let config = &ctx.config;
        let metadata = ctx.provider.metadata().await.map_err(|err| {
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_unavailable",
                err.0,
            )
        })?;
        // Mix-up defence (RFC 9207): a response naming another issuer is not ours to redeem,
        // and where several providers share this callback, one naming none is not either.
        if self.iss.is_none() && config.require_iss {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "issuer_missing",
                "the authorization response does not name its issuer (RFC 9207 `iss`), \
                 which several identity providers sharing this callback must",
            ));
        }
        if let Some(iss) = &self.iss {
            let tenant_issuer = config
                .tenants
                .as_ref()
                .is_some_and(|tenants| tenants.accepts(iss, None));
            if !crate::issuer::same_issuer(iss, &metadata.issuer) && !tenant_issuer {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "issuer_mismatch",
                    "the authorization response comes from another issuer",
                ));
            }
        }
        let redirect_url = RedirectUrl::new(self.pending.redirect_uri.clone()).map_err(|_| {
            fail(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                "bad callback URL",
            )
        })?;
        let client = oauth::client(config, &metadata);
        let dpop_key = crate::dpop::client_key::from_stored(self.pending.dpop_key.as_deref());
        let http =
            crate::provider::dpop_client::http_client(&ctx.provider.client, dpop_key.clone());
        let client_auth = oauth::assertion_params(config, &metadata).map_err(|err| {
            let (TokenEndpointError::Refused(reason) | TokenEndpointError::Unavailable(reason)) =
                err;
            fail(StatusCode::BAD_GATEWAY, "provider_unavailable", reason)
        })?;
        let request = client
            .exchange_code(AuthorizationCode::new(self.code.clone()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect_url))
            .set_pkce_verifier(PkceCodeVerifier::new(self.pending.pkce_verifier.clone()));
        let tokens = client_auth
            .into_iter()
            .fold(request, |request, (name, value)| {
                request.add_extra_param(name, value)
            })
            .request_async(&http)
            .await
            .map_err(|err| match oauth::classify(err) {
                TokenEndpointError::Refused(error) => fail(
                    StatusCode::BAD_REQUEST,
                    "code_rejected",
                    format!("the identity provider refused the authorization code ({error})"),
                ),
                TokenEndpointError::Unavailable(reason) => fail(
                    StatusCode::BAD_GATEWAY,
                    "provider_unavailable",
                    format!("the token endpoint failed: {reason}"),
                ),
            })?;
        let id_token = tokens.extra_fields().id_token.clone().ok_or_else(|| {
            fail(
                StatusCode::BAD_GATEWAY,
                "missing_id_token",
                "the provider sent no ID token",
            )
        })?;
        let mut claims = id_token::verify(
            &ctx.provider,
            &metadata,
            config,
            &id_token,
            Some(&self.pending.nonce),
        )
        .await
        .map_err(|err| {
            fail(
                StatusCode::UNAUTHORIZED,
                "invalid_id_token",
                format!("the ID token was refused: {err}"),
            )
        })?;
        super::step_up::check(&self.pending, &claims)
            .map_err(|reason| fail(StatusCode::FORBIDDEN, "insufficient_authentication", reason))?;
        let access_token = tokens.access_token().secret().clone();
        // Tokens the provider did not bind leave the key unused.
        let dpop_key = dpop_key
            .as_deref()
            .filter(|_| crate::dpop::client_key::is_dpop_type(tokens.token_type()));
        if config.fetch_userinfo {
            match userinfo::merge(
                &ctx.provider,
                config,
                &metadata,
                &access_token,
                dpop_key,
                &mut claims,
            )
            .await
            {
                Ok(()) => {}
                Err(UserinfoError::SubjectMismatch) => {
                    return Err(fail(
                        StatusCode::UNAUTHORIZED,
                        "userinfo_subject_mismatch",
                        "userinfo describes a different user than the ID token",
                    ))
                }
                Err(UserinfoError::Refused(reason)) => {
                    return Err(fail(StatusCode::BAD_GATEWAY, "userinfo_refused", reason))
                }
                Err(UserinfoError::Unavailable(reason)) => {
                    tracing::warn!(%reason, "userinfo unavailable; using the ID token's claims");
                }
            }
        }
        crate::token::claim_sources::resolve(&ctx.provider, &metadata, config, &mut claims).await;
        let user_id = config.namespaced_user_id(user_id(&claims, config)?);
        let now = now();
        let mut session = SessionData {
            sid: random_id(),
            user_id,
            claims,
            id_token: Some(id_token),
            access_token: Some(access_token),
            refresh_token: tokens.refresh_token().map(|token| token.secret().clone()),
            access_expires_at: tokens
                .expires_in()
                .map(|lifetime| now.saturating_add(lifetime.as_secs())),
            created_at: now,
            expires_at: now.saturating_add(config.session_max_age.as_secs()),
            user: None,
            user_loaded_at: None,
            last_seen: None,
            bearer: false,
            typed_user: Default::default(),
            dpop_key: dpop_key.and_then(|key| key.to_stored()),
            provider: ctx.config.provider_key.clone(),
        };
        match crate::user::attach(config.user_hook.as_ref(), &mut session, now).await {
            Ok(()) => {}
            Err(NoUser::Refused) => {
                return Err(fail(
                    StatusCode::FORBIDDEN,
                    "user_refused",
                    "this account may not sign in to this application",
                ))
            }
            Err(NoUser::Failed(reason)) => {
                tracing::error!(%reason, user_id = %session.user_id, "user-detail hook failed");
                return Err(fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "user_details_failed",
                    "the user's details could not be loaded; try again later",
                ));
            }
        }
        Ok(session)
    }
}

/// The user id from the configured claim; a sign-in without it is refused.
fn user_id(claims: &Map<String, Value>, config: &crate::config::Config) -> Result<String, Failure> {
    let claim = &config.user_id_claim;
    crate::user_id::from_claims(claims, claim, config.security.trust_unverified_email).map_err(
        |err| match err {
            UserIdError::Missing => fail(
                StatusCode::FORBIDDEN,
                "missing_user_id_claim",
                format!(
                    "the identity provider sent no `{claim}` claim, which is used as the user id; \
                     request the scope that carries it"
                ),
            ),
            UserIdError::EmailNotVerified => fail(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "the email address is not verified at the identity provider",
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_reach_logs_without_control_characters() {
        let forged = "bad%0A2026-01-01T00:00:00Z  INFO login succeeded user_id=admin%1B[31m";
        let text = provider_error_text("invalid_request\r", &percent(forged));
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("\\n2026"), "{text:?}");
    }

    fn percent(text: &str) -> String {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    }

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(parse_query("state=a&state=b").is_err());
        assert!(parse_query("state=a&code=b").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_callback_query_parses_or_is_refused(query in "\\PC{0,120}") {
            let _ = parse_query(&query);
        }
    }
}
