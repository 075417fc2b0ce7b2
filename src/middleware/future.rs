use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{Entry, CACHE_CONTROL, SET_COOKIE};
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use super::body::OidcBody;

type Deferred<B, E> = Pin<Box<dyn Future<Output = Result<Response<OidcBody<B>>, E>> + Send>>;

pin_project! {
    /// The response future of [`OidcService`](super::OidcService).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
        // Authentication is off: every answer says so.
        auth_disabled: bool,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        /// Passed to the application; cookies (a refreshed session) are added to its answer.
        Inner { #[pin] future: F, set_cookies: Vec<HeaderValue>, signed_in: bool },
        /// Answered by the layer without waiting.
        Ready { response: Option<Response<Bytes>> },
        /// Waiting on the provider or a session store first.
        Deferred { future: Deferred<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F, set_cookies: Vec<HeaderValue>, signed_in: bool) -> Self {
        Self {
            state: State::Inner {
                future,
                set_cookies,
                signed_in,
            },
            auth_disabled: false,
        }
    }

    pub(crate) fn ready(response: Response<Bytes>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
            auth_disabled: false,
        }
    }

    /// Marks the answer `X-OIDC-Auth: disabled` when `auth_disabled`.
    pub(crate) fn marked(mut self, auth_disabled: bool) -> Self {
        self.auth_disabled = auth_disabled;
        self
    }

    pub(crate) fn deferred(future: Deferred<B, E>) -> Self {
        Self {
            state: State::Deferred { future },
            auth_disabled: false,
        }
    }
}

pub(crate) fn own_response<B>(response: Response<Bytes>) -> Response<OidcBody<B>> {
    response.map(OidcBody::own)
}

/// The application's answer with `set_cookies` added; kept out of caches when it sets
/// cookies or answers a `signed_in` request (unless it says so itself).
pub(crate) fn with_cookies<B>(
    response: Response<B>,
    set_cookies: Vec<HeaderValue>,
    signed_in: bool,
) -> Response<OidcBody<B>> {
    let mut response = response.map(OidcBody::inner);
    let headers = response.headers_mut();
    let sets_cookies = !set_cookies.is_empty();
    // An answer that sets no cookie, to no one signed in, is left as it is.
    if sets_cookies || signed_in {
        // One lookup of the header, whether it is only read or also written.
        let no_store = const { HeaderValue::from_static(crate::response::NO_STORE) };
        match headers.entry(CACHE_CONTROL) {
            Entry::Occupied(mut cache_control) => {
                let current = Some(cache_control.get().as_bytes());
                if crate::response::needs_no_store(sets_cookies, signed_in, current) {
                    cache_control.insert(no_store);
                }
            }
            Entry::Vacant(cache_control) => {
                if crate::response::needs_no_store(sets_cookies, signed_in, None) {
                    cache_control.insert(no_store);
                }
            }
        }
    }
    for cookie in set_cookies {
        headers.append(SET_COOKIE, cookie);
    }
    response
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<OidcBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = match this.state.project() {
            StateProj::Inner {
                future,
                set_cookies,
                signed_in,
            } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(with_cookies(
                    response,
                    std::mem::take(set_cookies),
                    *signed_in,
                )))
            }
            StateProj::Ready { response } => {
                let response = response.take().unwrap_or_else(|| {
                    let mut gone = Response::new(Bytes::new());
                    *gone.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    gone
                });
                Poll::Ready(Ok(own_response(response)))
            }
            StateProj::Deferred { future } => future.as_mut().poll(cx),
        };
        if *this.auth_disabled {
            return answer.map_ok(crate::engine::development::mark);
        }
        answer
    }
}
