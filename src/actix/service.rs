//! The middleware's service: the engine's decision applied to an actix request.

use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};

use super::convert;
use super::future::OidcMiddlewareFuture;
use crate::authz::Authentication;
use crate::engine::{Decision, Engine};
use crate::identity::Identity;
use crate::outcome::{Outcome, Pass};
use crate::request::RequestView;
use crate::response::{CoreResponse, ErrorReply};

/// The service made by [`OidcMiddleware`](super::OidcMiddleware) around the application.
pub struct OidcMiddlewareService<S> {
    service: Rc<S>,
    engine: Arc<Engine>,
}

impl<S> OidcMiddlewareService<S> {
    pub(super) fn new(service: S, engine: Arc<Engine>) -> Self {
        Self {
            service: Rc::new(service),
            engine,
        }
    }
}

impl<S> std::fmt::Debug for OidcMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcMiddlewareService")
            .finish_non_exhaustive()
    }
}

/// The engine's decision for this request, from its parts converted to `http` 1 types.
fn decide(engine: &Engine, request: &ServiceRequest) -> Decision {
    let Some(method) = convert::method(request.method()) else {
        return Decision::Respond(bad_method());
    };
    let headers = convert::headers(request.headers());
    // actix knows when the connection is TLS; otherwise the scheme is left to the
    // configuration and the trusted forwarded headers, as with the tower layer.
    let secure = request.app_config().secure();
    let view = RequestView {
        method: &method,
        path: request.uri().path(),
        query: request.uri().query(),
        headers: &headers,
        scheme: request.uri().scheme_str().or(secure.then_some("https")),
    };
    engine.decide(&view)
}

fn bad_method() -> CoreResponse {
    ErrorReply {
        status: http::StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message: "unsupported request method",
        retry: None,
    }
    .render(false, Vec::new())
}

/// What handlers extract: the identity, and the mark that the middleware ran.
fn attach(request: &ServiceRequest, engine: &Engine, identity: Option<Identity>) {
    let mut extensions = request.extensions_mut();
    if let Some(identity) = &identity {
        extensions.insert(identity.clone());
    }
    // actix-web's `http` is another major version: the target is parsed again, cheaply.
    let target = request
        .uri()
        .path_and_query()
        .and_then(|target| target.as_str().parse().ok());
    extensions.insert(Authentication {
        identity,
        context: Arc::clone(&engine.context().auth_context),
        target,
    });
}

fn own_response<B>(
    request: ServiceRequest,
    response: CoreResponse,
) -> ServiceResponse<EitherBody<B>> {
    request
        .into_response(convert::response(response))
        .map_into_right_body()
}

/// Passes the request on; `set_cookies` are added to whatever the application answers.
fn pass_on<S, B>(
    service: &S,
    engine: &Engine,
    request: ServiceRequest,
    identity: Option<Identity>,
    set_cookies: Vec<http::HeaderValue>,
) -> OidcMiddlewareFuture<S::Future, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    let signed_in = identity.is_some();
    attach(&request, engine, identity);
    OidcMiddlewareFuture::inner(service.call(request), set_cookies, signed_in)
}

impl<S, B> Service<ServiceRequest> for OidcMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = OidcMiddlewareFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let future = match decide(&self.engine, &request) {
            Decision::Continue(Pass {
                identity,
                set_cookies,
            }) => pass_on(&*self.service, &self.engine, request, identity, set_cookies),
            Decision::Respond(response) => {
                OidcMiddlewareFuture::ready(own_response(request, response))
            }
            Decision::ReadBody { limit, work } => {
                let engine = Arc::clone(&self.engine);
                OidcMiddlewareFuture::deferred(Box::pin(async move {
                    use actix_web::FromRequest;
                    let (http_request, mut payload) = request.into_parts();
                    // Our limit, not the application's PayloadConfig: the app may allow
                    // far larger bodies, or far smaller ones, for its own routes.
                    let body =
                        match actix_web::web::Payload::from_request(&http_request, &mut payload)
                            .await
                        {
                            Ok(stream) => stream.to_bytes_limited(limit).await,
                            Err(_) => Ok(Err(actix_web::error::ErrorBadRequest("unreadable body"))),
                        };
                    let request = ServiceRequest::from_parts(http_request, payload);
                    let response = match body {
                        Ok(Ok(body)) => engine.run_with_body(work, body).await,
                        _ => crate::response::body_too_large(limit),
                    };
                    Ok(own_response(request, response))
                }))
            }
            Decision::Defer(work) => {
                let service = Rc::clone(&self.service);
                let engine = Arc::clone(&self.engine);
                OidcMiddlewareFuture::deferred(Box::pin(async move {
                    match Arc::clone(&engine).run(work).await {
                        Outcome::Continue(Pass {
                            identity,
                            set_cookies,
                        }) => pass_on(&*service, &engine, request, identity, set_cookies).await,
                        Outcome::Respond(response) => Ok(own_response(request, response)),
                    }
                }))
            }
        };
        future.marked(self.engine.auth_disabled())
    }
}
