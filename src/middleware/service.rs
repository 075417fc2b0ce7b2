use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::body::OidcBody;
use super::future::{own_response, with_cookies, ResponseFuture};
use crate::authz::Authentication;
use crate::engine::{Decision, Engine};
use crate::identity::Identity;
use crate::outcome::{Outcome, Pass};
use crate::request::RequestView;

/// The service made by [`OidcLayer`](super::OidcLayer).
#[derive(Clone)]
pub struct OidcService<S> {
    inner: S,
    engine: Arc<Engine>,
}

impl<S> OidcService<S> {
    pub(crate) fn new(inner: S, engine: Arc<Engine>) -> Self {
        Self { inner, engine }
    }
}

impl<S> std::fmt::Debug for OidcService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcService").finish_non_exhaustive()
    }
}

fn attach<B>(request: &mut Request<B>, engine: &Engine, identity: Option<Identity>) {
    if let Some(identity) = &identity {
        request.extensions_mut().insert(identity.clone());
    }
    let target = request.uri().path_and_query().cloned();
    request.extensions_mut().insert(Authentication {
        identity,
        context: Arc::clone(&engine.context().auth_context),
        target,
    });
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OidcService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    ReqBody: http_body::Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: 'static,
{
    type Response = Response<OidcBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let decision = {
            let view = RequestView {
                method: request.method(),
                path: request.uri().path(),
                query: request.uri().query(),
                headers: request.headers(),
                scheme: request.uri().scheme_str(),
            };
            self.engine.decide(&view)
        };
        let future = match decision {
            Decision::Continue(Pass {
                identity,
                set_cookies,
            }) => {
                let signed_in = identity.is_some();
                attach(&mut request, &self.engine, identity);
                ResponseFuture::inner(self.inner.call(request), set_cookies, signed_in)
            }
            Decision::Respond(response) => ResponseFuture::ready(response),
            Decision::ReadBody { limit, work } => {
                let engine = Arc::clone(&self.engine);
                ResponseFuture::deferred(Box::pin(async move {
                    use http_body_util::BodyExt;
                    let limited = http_body_util::Limited::new(request.into_body(), limit);
                    let response = match limited.collect().await {
                        Ok(collected) => engine.run_with_body(work, collected.to_bytes()).await,
                        Err(_) => crate::response::body_too_large(limit),
                    };
                    Ok(own_response(response))
                }))
            }
            Decision::Defer(work) => {
                // The clone that was polled ready must serve the request.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let engine = Arc::clone(&self.engine);
                ResponseFuture::deferred(Box::pin(async move {
                    match Arc::clone(&engine).run(work).await {
                        Outcome::Continue(Pass {
                            identity,
                            set_cookies,
                        }) => {
                            let signed_in = identity.is_some();
                            attach(&mut request, &engine, identity);
                            let response = inner.call(request).await?;
                            Ok(with_cookies(response, set_cookies, signed_in))
                        }
                        Outcome::Respond(response) => Ok(own_response(response)),
                    }
                }))
            }
        };
        future.marked(self.engine.auth_disabled())
    }
}
