//! axum extractors for the signed-in user.

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::authz::found::{optional_identity, optional_user, required_identity, required_user};
use crate::authz::Authentication;
use crate::identity::Identity;
use crate::rejection::IdentityRejection;
use crate::user::User;

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        self.to_response().map(Body::from)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required_identity(parts.extensions.get::<Authentication>())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        optional_identity(parts.extensions.get::<Authentication>())
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S, T> FromRequestParts<S> for User<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required_user(parts.extensions.get::<Authentication>())
    }
}

/// `Option<User<T>>`: `None` when no one is signed in; a missing layer or a `T` other than
/// the hook's `User` type (or `serde_json::Value`) is still rejected with `500`.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S, T> OptionalFromRequestParts<S> for User<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        optional_user(parts.extensions.get::<Authentication>())
    }
}
