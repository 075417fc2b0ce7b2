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
    #[error("response larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

pub(crate) fn build_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        // Redirects from a token endpoint would forward the code and credentials elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("tower-oidc/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

async fn read_limited(mut response: reqwest::Response) -> Result<Bytes, HttpError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(HttpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| HttpError::Request(err.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
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
