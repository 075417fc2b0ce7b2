//! axum extractors for the signed-in user.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::StatusCode;

use crate::identity::{Authentication, Identity};

/// Why an [`Identity`] could not be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRejection {
    /// The request has no signed-in user (a whitelisted path without session): `401`.
    NotSignedIn,
    /// No `OidcLayer` handled the request: `500`, a setup mistake.
    LayerMissing,
}

impl IdentityRejection {
    /// The HTTP status of this rejection.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotSignedIn => StatusCode::UNAUTHORIZED,
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
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
            Some(Authentication(Some(identity))) => Ok(identity.clone()),
            Some(Authentication(None)) => Err(IdentityRejection::NotSignedIn),
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
            Some(Authentication(identity)) => Ok(identity.clone()),
            None => Err(IdentityRejection::LayerMissing),
        }
    }
}
