//! The response future of the middleware's service.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::Error;
use pin_project_lite::pin_project;

use super::convert;
use super::error::{AuthDisabled, WithCookies};

type Reply<B> = Result<ServiceResponse<EitherBody<B>>, Error>;
type Deferred<B> = Pin<Box<dyn Future<Output = Reply<B>>>>;

pin_project! {
    /// The response future of [`OidcMiddlewareService`](super::OidcMiddlewareService).
    pub struct OidcMiddlewareFuture<F, B> {
        #[pin]
        state: State<F, B>,
        // Authentication is off: every answer says so.
        auth_disabled: bool,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        /// Passed to the application; cookies (a refreshed session) are added to its answer.
        Inner {
            #[pin]
            future: F,
            set_cookies: Vec<http::HeaderValue>,
            signed_in: bool,
        },
        /// Answered by the middleware without waiting.
        Ready { reply: Option<Reply<B>> },
        /// Waiting on the provider or a session store first.
        Deferred { future: Deferred<B> },
    }
}

impl<F, B> OidcMiddlewareFuture<F, B> {
    pub(super) fn inner(future: F, set_cookies: Vec<http::HeaderValue>, signed_in: bool) -> Self {
        Self {
            state: State::Inner {
                future,
                set_cookies,
                signed_in,
            },
            auth_disabled: false,
        }
    }

    pub(super) fn ready(response: ServiceResponse<EitherBody<B>>) -> Self {
        Self {
            state: State::Ready {
                reply: Some(Ok(response)),
            },
            auth_disabled: false,
        }
    }

    /// Marks the answer `X-OIDC-Auth: disabled` when `auth_disabled`.
    pub(super) fn marked(mut self, auth_disabled: bool) -> Self {
        self.auth_disabled = auth_disabled;
        self
    }

    pub(super) fn deferred(future: Deferred<B>) -> Self {
        Self {
            state: State::Deferred { future },
            auth_disabled: false,
        }
    }
}

impl<F, B> Future for OidcMiddlewareFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Reply<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let reply = match this.state.project() {
            StateProj::Inner {
                future,
                set_cookies,
                signed_in,
            } => {
                let result = ready!(future.poll(cx));
                let set_cookies = std::mem::take(set_cookies);
                Poll::Ready(match result {
                    Ok(response) => {
                        let mut response = response.map_into_left_body();
                        convert::append_cookies(response.headers_mut(), set_cookies, *signed_in);
                        Ok(response)
                    }
                    Err(err) => Err(WithCookies::wrap(err, set_cookies)),
                })
            }
            StateProj::Ready { reply } => Poll::Ready(reply.take().unwrap_or_else(|| {
                Err(actix_web::error::ErrorInternalServerError(
                    "tower-oidc: response future polled after completion",
                ))
            })),
            StateProj::Deferred { future } => future.as_mut().poll(cx),
        };
        if *this.auth_disabled {
            return reply.map(|reply| {
                reply
                    .map(convert::mark_auth_disabled)
                    .map_err(AuthDisabled::wrap)
            });
        }
        reply
    }
}
