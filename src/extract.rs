//! axum extractors for the signed-in user.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::StatusCode;

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::identity::{Authentication, Identity};

/// Why an [`Identity`] could not be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRejection {
    /// The request has no signed-in user (a whitelisted path without session): `401`.
    NotSignedIn,
    /// No `OidcLayer` handled the request: `500`, a setup mistake.
    LayerMissing,
    /// [`User`] was asked for, but no user-detail hook is configured or its `User` type is
    /// not the one asked for: `500`, a setup mistake.
    NoUserDetails,
}

impl IdentityRejection {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::LayerMissing | Self::NoUserDetails => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message sent in the body.
    #[must_use]
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::NotSignedIn => "authentication required",
            Self::LayerMissing => {
                "no signed-in identity: is the tower-oidc layer installed around this route?"
            }
            Self::NoUserDetails => {
                "no user details: configure a UserDetails hook whose User type is the one extracted"
            }
        }
    }
}

impl std::fmt::Display for IdentityRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for IdentityRejection {}

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        let code = match self {
            Self::NotSignedIn => "unauthorized",
            Self::LayerMissing => "layer_missing",
            Self::NoUserDetails => "no_user_details",
        };
        let body = serde_json::json!({ "error": code, "message": self.body_text() }).to_string();
        let mut response =
            (self.status(), [(CONTENT_TYPE, "application/json")], body).into_response();
        if self == Self::NotSignedIn {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication {
                identity: Some(identity),
                ..
            }) => Ok(identity.clone()),
            Some(_) => Err(IdentityRejection::NotSignedIn),
            None => Err(IdentityRejection::LayerMissing),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(authentication) => Ok(authentication.identity.clone()),
            None => Err(IdentityRejection::LayerMissing),
        }
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
