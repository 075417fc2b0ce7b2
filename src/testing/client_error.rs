//! Why a [`TestClient`](super::TestClient) request or sign-in did not get an answer.

use std::fmt;

use http::StatusCode;

/// What went wrong while a [`TestClient`](super::TestClient) talked to the app or the
/// mock provider. An answer with an error status is not an error: it comes back as a
/// [`TestResponse`](super::TestResponse), except during sign-in, where it is
/// [`SignIn`](Self::SignIn).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestClientError {
    /// The request could not be built: a bad path, header or JSON body.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The app failed instead of answering: the service returned an error, or its
    /// response body did.
    #[error("the app failed instead of answering: {0}")]
    App(String),
    /// The mock provider, or an app served on a port, could not be reached.
    #[error("no answer over HTTP: {0}")]
    Network(String),
    /// Sign-in stopped because the app or the provider did not answer with the redirect
    /// the login flow goes on with.
    #[error("sign-in stopped at the {step} step with {status}: {message}")]
    SignIn {
        /// Where the flow stopped.
        step: SignInStep,
        /// The status of the answer that stopped it.
        status: StatusCode,
        /// What was wrong, with the start of the answer's body.
        message: String,
    },
}

/// A step of the login flow a [`TestClient`](super::TestClient) drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInStep {
    /// `GET` on the app's login route, which must redirect to the provider.
    Login,
    /// The provider's authorization endpoint, which must redirect to the callback.
    Authorize,
    /// The app's callback, which must set the session and redirect to the landing page.
    Callback,
}

impl fmt::Display for SignInStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignInStep::Login => "login",
            SignInStep::Authorize => "authorize",
            SignInStep::Callback => "callback",
        })
    }
}
