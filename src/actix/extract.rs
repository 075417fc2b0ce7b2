//! actix-web extractors for the signed-in user.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use super::convert;
use crate::authz::found::{required_identity, required_user};
use crate::authz::Authentication;
use crate::identity::Identity;
use crate::rejection::IdentityRejection;
use crate::user::User;

/// `Identity` as a handler argument: the signed-in user, or a rejection answered with `401`
/// JSON (and `WWW-Authenticate: Bearer`) when no one is signed in, `500` when the
/// [`OidcMiddleware`](super::OidcMiddleware) did not handle the request.
///
/// `Option<Identity>` uses actix-web's generic `Option<T>` extractor, which turns *every*
/// rejection into `None`: also a missing middleware, which it logs at `debug` level only.
/// Take `Result<Identity, IdentityRejection>` to tell the two apart.
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl FromRequest for Identity {
    type Error = IdentityRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(required_identity(req.extensions().get::<Authentication>()))
    }
}

/// `User<T>` as a handler argument: the user-detail hook's user, as the hook's `User` type
/// or as `serde_json::Value`; rejected like `Identity`, and with `500` when no hook is
/// configured or `T` is another type.
///
/// `Option<User<T>>` is actix-web's generic `Option<T>` extractor: `None` when no one is
/// signed in, and also (logged at `debug` level only) for a missing middleware or a wrong
/// `T`, where axum answers `500`. Take `Result<User<T>, IdentityRejection>` to tell them
/// apart.
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl<T> FromRequest for User<T>
where
    T: Send + Sync + 'static,
{
    type Error = IdentityRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(required_user(req.extensions().get::<Authentication>()))
    }
}

/// The same answers as the axum rejection: status, JSON body and headers.
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl ResponseError for IdentityRejection {
    fn status_code(&self) -> StatusCode {
        convert::status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        convert::response(self.to_response())
    }
}
