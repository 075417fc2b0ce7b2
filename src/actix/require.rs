//! Requirements on a scope or resource: `Require` as an actix-web middleware, placed inside
//! the [`OidcMiddleware`](super::OidcMiddleware).

use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::ACCEPT;
use actix_web::{Error, HttpMessage};

use super::convert;
use crate::authz::gate::{gate, Verdict};
use crate::authz::{Authentication, Require};

/// `web::scope("/admin").wrap(Require::new().claim_contains("groups", "admins"))`: a
/// signed-in user who fails gets `403`, no one signed in `401`, and a request the
/// [`OidcMiddleware`](super::OidcMiddleware) did not handle `500` JSON, exactly as with
/// [`Require::layer`] on axum.
impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireMiddlewareService {
            service,
            require: self.clone(),
        }))
    }
}

/// The service made by `Require` as an actix-web middleware.
pub struct RequireMiddlewareService<S> {
    service: S,
    require: Require,
}

impl<S> std::fmt::Debug for RequireMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireMiddlewareService")
            .field("require", &self.require)
            .finish_non_exhaustive()
    }
}

type Reply<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, Error>>>>;

impl<S, B> Service<ServiceRequest> for RequireMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Reply<B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let verdict = gate(
            request.extensions().get::<Authentication>(),
            &self.require,
            request
                .headers()
                .get_all(ACCEPT)
                .map(|value| value.as_bytes()),
        );
        match verdict {
            Verdict::Pass => {
                let future = self.service.call(request);
                Box::pin(async move { Ok(future.await?.map_into_left_body()) })
            }
            Verdict::Refuse(response) => {
                let response = request
                    .into_response(convert::response(response))
                    .map_into_right_body();
                Box::pin(ready(Ok(response)))
            }
        }
    }
}
