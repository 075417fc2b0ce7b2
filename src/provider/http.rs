//! The one HTTP client: reqwest over rustls, driving `oauth2` through its async-client
//! interface and making the few plain calls (discovery, JWKS, userinfo).

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

/// Responses above this are refused: discovery documents, key sets and tokens are small,
/// and a provider must not be able to exhaust our memory.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A failed call to the provider.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
}

/// A client with the default transport settings.
pub(crate) fn build_client(timeout: Duration) -> reqwest::Client {
    crate::config::transport::Transport::default().client(timeout)
}

async fn read_limited(response: reqwest::Response) -> Result<Bytes, HttpError> {
    read_at_most(response, MAX_RESPONSE_BYTES).await
}

async fn read_at_most(mut response: reqwest::Response, max: usize) -> Result<Bytes, HttpError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(HttpError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| HttpError::Request(err.without_url().to_string()))?
    {
        if body.len() + chunk.len() > max {
            return Err(HttpError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// Sends an `oauth2` request.
pub(crate) async fn execute(
    client: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, HttpError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|err| HttpError::Request(err.without_url().to_string()))?;
    let response = client
        .execute(request)
        .await
        .map_err(|err| HttpError::Request(err.without_url().to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_limited(response).await?;
    let mut out = http::Response::new(body.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// `GET url`, optionally with a bearer token; the status and the body.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &url::Url,
    bearer: Option<&str>,
) -> Result<(StatusCode, Bytes), HttpError> {
    let mut request = client
        .get(url.as_str())
        .header(http::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|err| HttpError::Request(err.without_url().to_string()))?;
    let status = response.status();
    Ok((status, read_limited(response).await?))
}

/// An answer read by [`fetch`].
pub(crate) struct Fetched {
    pub(crate) status: StatusCode,
    /// The media type, lower case, without parameters.
    pub(crate) media_type: Option<String>,
    pub(crate) body: Bytes,
    /// The nonce of a `use_dpop_nonce` challenge (RFC 9449, section 9), to retry with.
    pub(crate) dpop_nonce: Option<String>,
}

/// How [`fetch`] asks and what it accepts back.
pub(crate) struct FetchLimits<'a> {
    pub(crate) accept: &'a str,
    pub(crate) max_bytes: usize,
    /// Shorter than the client's own timeout, for calls that must not hold a login up.
    pub(crate) timeout: Option<Duration>,
}

/// `GET url`, optionally with a bearer token, within `limits`; the status, media type and
/// body.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &url::Url,
    bearer: Option<&str>,
    limits: &FetchLimits<'_>,
) -> Result<Fetched, HttpError> {
    let credential = bearer.map_or(Credential::None, Credential::Bearer);
    fetch_as(client, url, credential, limits).await
}

/// How a call proves its right to a resource.
pub(crate) enum Credential<'a> {
    None,
    Bearer(&'a str),
    /// `Authorization: DPoP` and the `DPoP` proof.
    Dpop(http::HeaderMap),
}

/// [`fetch`] with any [`Credential`].
pub(crate) async fn fetch_as(
    client: &reqwest::Client,
    url: &url::Url,
    credential: Credential<'_>,
    limits: &FetchLimits<'_>,
) -> Result<Fetched, HttpError> {
    let mut request = client
        .get(url.as_str())
        .header(http::header::ACCEPT, limits.accept);
    match credential {
        Credential::None => {}
        Credential::Bearer(token) => request = request.bearer_auth(token),
        Credential::Dpop(headers) => request = request.headers(headers),
    }
    if let Some(timeout) = limits.timeout {
        request = request.timeout(timeout);
    }
    let read = async {
        let response = request
            .send()
            .await
            .map_err(|err| HttpError::Request(err.without_url().to_string()))?;
        let status = response.status();
        let media_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase());
        let dpop_nonce = crate::dpop::token_client::nonce_challenge(response.headers());
        let body = read_at_most(response, limits.max_bytes).await?;
        Ok(Fetched {
            status,
            media_type,
            body,
            dpop_nonce,
        })
    };
    match limits.timeout {
        // The request timeout covers the body too; this also bounds a slow trickle.
        Some(timeout) => tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| HttpError::Request("timed out".into()))?,
        None => read.await,
    }
}
