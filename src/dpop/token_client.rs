//! DPoP on the client's own calls: proofs on token requests (with the one retry RFC 9449,
//! section 8, allows when the server asks for a nonce), and the headers of a call to a
//! resource with a bound token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use super::client_key::ClientKey;
use super::{DPOP, DPOP_NONCE};
use crate::provider::http::{execute, HttpError};

type Sent = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send>>;

/// An `oauth2` async HTTP client that signs a proof for each token request with `key`;
/// without a key, requests go out as they are.
pub(crate) fn http_client(
    client: &reqwest::Client,
    key: Option<Arc<ClientKey>>,
) -> impl Fn(oauth2::HttpRequest) -> Sent + '_ {
    move |request| {
        let client = client.clone();
        let key = key.clone();
        Box::pin(async move {
            let Some(key) = key else {
                return execute(&client, request).await;
            };
            let response = execute(&client, with_proof(&request, &key, None)?).await?;
            match nonce_asked(&response) {
                Some(nonce) => execute(&client, with_proof(&request, &key, Some(&nonce))?).await,
                None => Ok(response),
            }
        })
    }
}

/// A copy of `request` with a fresh proof.
fn with_proof(
    request: &oauth2::HttpRequest,
    key: &ClientKey,
    nonce: Option<&str>,
) -> Result<oauth2::HttpRequest, HttpError> {
    let proof = key
        .proof(
            request.method().as_str(),
            &request.uri().to_string(),
            None,
            nonce,
        )
        .and_then(|proof| HeaderValue::from_str(&proof).ok())
        .ok_or_else(|| HttpError::Request("the DPoP proof could not be signed".into()))?;
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy.headers_mut().insert(DPOP, proof);
    Ok(copy)
}

/// The nonce of a `use_dpop_nonce` answer (`400` from a token endpoint, `401` from a
/// resource).
pub(crate) fn nonce_asked(response: &oauth2::HttpResponse) -> Option<String> {
    let nonce = response.headers().get(DPOP_NONCE)?.to_str().ok()?;
    let error = serde_json::from_slice::<serde_json::Value>(response.body())
        .ok()
        .and_then(|body| body.get("error")?.as_str().map(str::to_owned));
    let challenged = nonce_challenge(response.headers()).is_some();
    (error.as_deref() == Some("use_dpop_nonce") || challenged).then(|| nonce.to_owned())
}

/// The nonce a resource's `401` asks for: `WWW-Authenticate: DPoP error="use_dpop_nonce"`
/// with a `DPoP-Nonce` header.
pub(crate) fn nonce_challenge(headers: &HeaderMap) -> Option<String> {
    let nonce = headers.get(DPOP_NONCE)?.to_str().ok()?;
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("use_dpop_nonce"))
        .then(|| nonce.to_owned())
}

/// `Authorization: DPoP <token>` and a `DPoP` proof for `method` on `url`, both marked
/// sensitive so HTTP stacks do not log them.
pub(crate) fn resource_headers(
    key: &ClientKey,
    method: &str,
    url: &str,
    token: &str,
    nonce: Option<&str>,
) -> Option<HeaderMap> {
    let proof = key.proof(method, url, Some(token), nonce)?;
    let mut authorization = HeaderValue::from_str(&format!("DPoP {token}")).ok()?;
    authorization.set_sensitive(true);
    let mut proof = HeaderValue::from_str(&proof).ok()?;
    proof.set_sensitive(true);
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(AUTHORIZATION, authorization);
    headers.insert(DPOP, proof);
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> oauth2::HttpResponse {
        let mut response = http::Response::new(body.as_bytes().to_vec());
        *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
        for (name, value) in headers {
            response.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        response
    }

    #[test]
    fn a_nonce_is_taken_only_when_asked_for() {
        let asked = response(
            400,
            &[("dpop-nonce", "n1")],
            r#"{"error":"use_dpop_nonce"}"#,
        );
        assert_eq!(nonce_asked(&asked).as_deref(), Some("n1"));
        let challenged = response(
            401,
            &[
                ("dpop-nonce", "n2"),
                ("www-authenticate", "DPoP error=\"use_dpop_nonce\""),
            ],
            "",
        );
        assert_eq!(nonce_asked(&challenged).as_deref(), Some("n2"));
        let other = response(400, &[("dpop-nonce", "n3")], r#"{"error":"invalid_grant"}"#);
        assert_eq!(nonce_asked(&other), None);
        let no_header = response(400, &[], r#"{"error":"use_dpop_nonce"}"#);
        assert_eq!(nonce_asked(&no_header), None);
    }

    #[test]
    fn resource_headers_carry_the_token_and_a_proof_for_it() {
        let key = ClientKey::generate().expect("key");
        let headers =
            resource_headers(&key, "GET", "https://api.test/x?y=1", "tok", None).expect("headers");
        assert_eq!(headers[AUTHORIZATION], "DPoP tok");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[DPOP].to_str().expect("ascii").split('.').count(), 3);
    }
}
