//! OpenID Connect Front-Channel Logout 1.0: the provider opens this route in a hidden
//! iframe with `iss` and `sid`, and the session the provider knows by that `sid` ends.
//!
//! With a server-side store the session is found through its `sid:` logout key. With
//! cookie sessions only the session whose cookie the browser sends can end, and browsers
//! send no `SameSite=Lax` cookie in a cross-site iframe: front-channel logout then works
//! only when the provider shares the app's site.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderValue, Response, StatusCode};

use crate::config::SessionBackend;
use crate::context::{Context, SessionLookup};
use crate::outcome::{Outcome, Step};
use crate::request::RequestView;
use crate::response::{CoreResponse, ErrorReply};
use crate::session::store::StoreError;

/// Longer `iss` or `sid` values are refused.
const MAX_PARAM_LEN: usize = 512;

/// A front-channel logout whose parameters are present; it waits on the provider's
/// metadata and the store.
pub(crate) struct FrontChannel {
    iss: String,
    sid: String,
    /// The session the browser's cookie carries, when it could be read at once.
    cookie_session: Option<std::sync::Arc<crate::session::SessionData>>,
    carried: usize,
}

pub(crate) fn decide(ctx: &Context, request: &RequestView<'_>) -> Step<FrontChannel> {
    let mut iss = None;
    let mut sid = None;
    for (name, value) in form_urlencoded::parse(request.query.unwrap_or("").as_bytes()) {
        let slot = match &*name {
            "iss" => &mut iss,
            "sid" => &mut sid,
            _ => continue,
        };
        if slot.is_some() {
            return Step::Done(refused("a front-channel logout parameter appears twice"));
        }
        *slot = Some(value.into_owned());
    }
    let usable = |value: &String| !value.is_empty() && value.len() <= MAX_PARAM_LEN;
    let (Some(iss), Some(sid)) = (iss.filter(usable), sid.filter(usable)) else {
        return Step::Done(refused("front-channel logout needs `iss` and `sid`"));
    };
    let (cookie_session, carried) = match ctx.lookup_session(request.headers) {
        SessionLookup::Valid(session) => (Some(session), ctx.carried_chunks(request.headers)),
        _ => (None, 0),
    };
    Step::Wait(FrontChannel {
        iss,
        sid,
        cookie_session,
        carried,
    })
}

impl FrontChannel {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(ctx) = &ctx.for_issuer(&self.iss, None) else {
            tracing::warn!("front-channel logout from an unknown issuer refused");
            return refused("`iss` is not one of this application's providers");
        };
        let metadata = match ctx.provider.metadata().await {
            Ok(metadata) => metadata,
            Err(err) => {
                tracing::warn!(reason = %err, "front-channel logout: provider unavailable");
                return Outcome::Respond(err.login_reply().render(true, Vec::new()));
            }
        };
        if !crate::issuer::same_issuer(&self.iss, &metadata.issuer) {
            tracing::warn!("front-channel logout from another issuer refused");
            return refused("`iss` is not this application's provider");
        }
        let mut removals = Vec::new();
        let mut ended = 0;
        if let SessionBackend::Store(store) = &ctx.config.session {
            let key = crate::token::logout_token::key(
                ctx.config.provider_key.as_deref(),
                "sid",
                &self.sid,
            );
            match store.delete_indexed(&key).await {
                Ok(count) => ended = count,
                Err(StoreError::Unsupported) => {
                    tracing::warn!("front-channel logout: the session store keeps no index");
                }
                Err(err) => {
                    tracing::error!(error = %err, "front-channel logout: store unavailable");
                    return Outcome::Respond(crate::context::store_unavailable(true));
                }
            }
        }
        let cookie_matches = self.cookie_session.as_ref().is_some_and(|session| {
            session
                .claims
                .get("sid")
                .and_then(serde_json::Value::as_str)
                == Some(self.sid.as_str())
        });
        if cookie_matches {
            removals = ctx
                .end_session(self.cookie_session.as_deref(), self.carried)
                .await;
            ended = ended.max(1);
        }
        tracing::info!(ended, "front-channel logout");
        Outcome::Respond(page(&metadata.issuer, removals))
    }
}

fn refused(message: &str) -> Outcome {
    Outcome::Respond(
        ErrorReply {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message,
            retry: None,
        }
        .render(true, Vec::new()),
    )
}

/// The page the provider frames: never cached, frameable by the provider's origin only.
fn page(issuer: &str, set_cookies: Vec<HeaderValue>) -> CoreResponse {
    let ancestors = url::Url::parse(issuer)
        .ok()
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .unwrap_or_else(|| "'none'".to_owned());
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header(
            "content-security-policy",
            format!("default-src 'none'; frame-ancestors {ancestors}"),
        );
    for cookie in set_cookies {
        builder = builder.header(SET_COOKIE, cookie);
    }
    let body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title>\
                </head><body>Signed out.</body></html>";
    builder
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap_or_else(|_| Response::new(Bytes::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_frameable_by_the_provider_only_and_never_cached() {
        let response = page("https://op.example.com/tenant", Vec::new());
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(
            response.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors https://op.example.com"
        );
        assert!(response.headers().get("x-frame-options").is_none());
        let odd = page("not a url", Vec::new());
        assert_eq!(
            odd.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
    }
}
