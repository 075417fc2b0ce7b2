//! axum extractors for the signed-in user.

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::identity::{Authentication, Identity};
use crate::rejection::{optional_identity, required_identity, IdentityRejection};

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        self.to_response().map(Body::from)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required_identity(parts.extensions.get::<Authentication>())
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        optional_identity(parts.extensions.get::<Authentication>())
    }
}

/// The application's user loaded by the [`UserDetails`](crate::UserDetails) hook at login,
/// typed: `User<MyUser>` in a handler's arguments.
#[derive(Debug, Clone)]
pub struct User<T>(pub Arc<T>);

impl<S, T> FromRequestParts<S> for User<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let identity = <Identity as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        identity
            .user::<T>()
            .map(User)
            .ok_or(IdentityRejection::NoUserDetails)
    }
}
