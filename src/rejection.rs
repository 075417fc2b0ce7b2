//! Why the signed-in identity could not be extracted, shared by the framework adapters and
//! the per-route requirements.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use crate::response::CoreResponse;

/// Why an [`Identity`](crate::Identity) could not be extracted, or a per-route
/// [`Require`](crate::Require) could not check one: the same answer from the axum and
/// actix-web extractors and from `Require` as a tower layer or actix-web middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRejection {
    /// The request has no signed-in user (a whitelisted path without session): `401`.
    NotSignedIn,
    /// No `OidcLayer` (or actix-web `OidcMiddleware`) handled the request: `500`, a setup
    /// mistake.
    LayerMissing,
    /// The hook's user was asked for, but no user-detail hook is configured, its `User`
    /// type is not the one asked for (nor `serde_json::Value`), or the session holds no
    /// user: `500`, a setup mistake.
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

    /// The answer every adapter gives: `{"error", "message"}` JSON, never cached, and
    /// `WWW-Authenticate: Bearer` when no one is signed in.
    pub(crate) fn to_response(self) -> CoreResponse {
        let code = match self {
            Self::NotSignedIn => "unauthorized",
            Self::LayerMissing => "layer_missing",
            Self::NoUserDetails => "no_user_details",
        };
        let body = serde_json::json!({ "error": code, "message": self.body_text() }).to_string();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self == Self::NotSignedIn {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl std::fmt::Display for IdentityRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.body_text())
    }
}

impl std::error::Error for IdentityRejection {}
