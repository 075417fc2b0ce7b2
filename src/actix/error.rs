//! An error of the application that must still carry the engine's cookies.

use actix_web::http::StatusCode;
use actix_web::{Error, HttpResponse, ResponseError};

use super::convert;

/// The inner service failed after a refresh: the error is still an `Err` for outer
/// middlewares, but its response, wherever it is rendered, carries the refreshed session;
/// otherwise a rotated refresh token would be lost. Holding the request to render the
/// error here is not an option: actix-web's routing needs the only reference to it.
pub(super) struct WithCookies {
    error: Error,
    set_cookies: Vec<http::HeaderValue>,
}

impl WithCookies {
    pub(super) fn wrap(error: Error, set_cookies: Vec<http::HeaderValue>) -> Error {
        if set_cookies.is_empty() {
            return error;
        }
        Self { error, set_cookies }.into()
    }
}

impl std::fmt::Debug for WithCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.error, f)
    }
}

impl std::fmt::Display for WithCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl ResponseError for WithCookies {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.error.error_response();
        convert::append_cookies(response.headers_mut(), self.set_cookies.clone(), false);
        response
    }
}

/// An error of the application while authentication is off: its response, wherever it is
/// rendered, says so as every answer does then.
pub(super) struct AuthDisabled(Error);

impl AuthDisabled {
    pub(super) fn wrap(error: Error) -> Error {
        Self(error).into()
    }
}

impl std::fmt::Debug for AuthDisabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for AuthDisabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for AuthDisabled {
    fn status_code(&self) -> StatusCode {
        self.0.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.0.error_response();
        convert::mark_headers(response.headers_mut());
        response
    }
}
