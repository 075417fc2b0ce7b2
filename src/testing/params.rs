//! Request parameter parsing and OAuth-style responses shared by the endpoints.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde_json::json;
use url::Url;

/// `application/x-www-form-urlencoded` parameters of one request.
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses a query string or form body. RFC 6749 §3.1: empty parameters
    /// count as absent, and a repeated parameter makes the request invalid.
    pub(crate) fn parse(input: &[u8]) -> Result<Params, OAuthError> {
        let mut params = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if params.insert(key.to_string(), value.to_string()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key} is repeated"
                )));
            }
        }
        Ok(Params(params))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub(crate) fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {key}")))
    }
}

/// An OAuth error answer: `{"error": .., "error_description": ..}`.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    challenge: Option<&'static str>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_grant`.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 401 `invalid_client`; RFC 6749 §5.2 wants the challenge of the scheme
    /// the client may use.
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            challenge: Some("Basic realm=\"tower-oidc-mock\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// Token responses and their errors must not be cached (RFC 6749 §5.1).
pub(crate) fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Parses a redirect target the RP handed in: absolute http(s), no fragment.
pub(crate) fn redirect_target(raw: &str, parameter: &str) -> Result<Url, OAuthError> {
    let url = Url::parse(raw)
        .map_err(|_| OAuthError::invalid_request(format!("{parameter} is not an absolute URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OAuthError::invalid_request(format!(
            "{parameter} must be http or https"
        )));
    }
    if url.fragment().is_some() {
        return Err(OAuthError::invalid_request(format!(
            "{parameter} must not have a fragment"
        )));
    }
    Ok(url)
}

/// 302 Found to `url`, the redirect OAuth front-channel responses use.
pub(crate) fn found(url: &Url) -> Result<Response, OAuthError> {
    // A parsed URL is always ASCII, so the error is unreachable in practice.
    let location = HeaderValue::from_str(url.as_str())
        .map_err(|_| OAuthError::invalid_request("redirect target is not a valid header value"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
