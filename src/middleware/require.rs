//! Requirements on a group of routes: `Require` as a tower layer inside the `OidcLayer`.

use std::task::{Context, Poll};

use http::header::ACCEPT;
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{OidcBody, ResponseFuture};
use crate::authz::gate::{gate, Verdict};
use crate::authz::{Authentication, Require};

impl Require {
    /// A layer enforcing these requirements on the routes it wraps, inside the
    /// [`OidcLayer`](crate::OidcLayer): `403` for a signed-in identity that fails them,
    /// `401` when no one is signed in (a whitelisted path), and `500` JSON when the
    /// `OidcLayer` is not around it, exactly as the actix-web middleware answers. On an
    /// axum sub-router use `route_layer`, so the router's 404 fallback (which `layer` would
    /// also wrap) stays unguarded:
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use tower_oidc::Require;
    ///
    /// let admin: Router = Router::new()
    ///     .route("/admin", get(|| async { "admin area" }))
    ///     .route_layer(Require::new().claim_contains("groups", "admins").layer());
    /// ```
    pub fn layer(self) -> RequireLayer {
        RequireLayer { require: self }
    }
}

/// Enforces a [`Require`] on the routes it wraps. See [`Require::layer`].
#[derive(Clone, Debug)]
pub struct RequireLayer {
    require: Require,
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            require: self.require.clone(),
        }
    }
}

/// The service made by [`RequireLayer`].
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    require: Require,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<OidcBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let verdict = gate(
            request.extensions().get::<Authentication>(),
            &self.require,
            request
                .headers()
                .get_all(ACCEPT)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        match verdict {
            Verdict::Pass => ResponseFuture::inner(self.inner.call(request), Vec::new(), false),
            Verdict::Refuse(response) => ResponseFuture::ready(response),
        }
    }
}
