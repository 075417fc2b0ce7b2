//! RFC 9126 pushed authorization requests: the authorization request's parameters are
//! posted to the provider, authenticated as the token endpoint is, and the browser is sent
//! with only `client_id` and the `request_uri` the provider answered.

use serde::Deserialize;
use url::Url;

use crate::config::Config;
use crate::context::Context;
use crate::provider::client_auth;
use crate::provider::metadata::ProviderMetadata;

/// Answers larger than this are refused: a PAR answer is two short fields.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Whether logins push their requests: always when the provider requires it, otherwise
/// only when configured.
pub(crate) fn wanted(config: &Config, metadata: &ProviderMetadata) -> bool {
    metadata.require_pushed_authorization_requests || config.pushed_authorization_requests
}

#[derive(Deserialize)]
struct Pushed {
    request_uri: String,
}

/// Pushes the parameters of `authorization_url`; the URL the browser is sent to instead.
pub(crate) async fn push(
    ctx: &Context,
    metadata: &ProviderMetadata,
    authorization_url: &Url,
) -> Result<Url, String> {
    let config = &ctx.config;
    let endpoint = metadata
        .pushed_authorization_request_endpoint
        .as_ref()
        .ok_or("the provider publishes no pushed_authorization_request_endpoint")?;
    let endpoint = metadata.endpoint(
        "pushed_authorization_request_endpoint",
        endpoint,
        config.transport.mutual_tls(),
    );
    let credentials = client_auth::credentials(config, metadata)?;
    // Every authorization request parameter, `client_id` included even when the Basic
    // header names the client too (RFC 9126, section 2.1).
    let params: Vec<(String, String)> = authorization_url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let response = credentials
        .post(&ctx.provider.client, endpoint, &borrowed)
        .send()
        .await
        .map_err(|err| err.without_url().to_string())?;
    let status = response.status();
    if response
        .content_length()
        .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
    {
        return Err("the answer is too large".into());
    }
    let body = response
        .bytes()
        .await
        .map_err(|err| err.without_url().to_string())?;
    if status != http::StatusCode::CREATED && status != http::StatusCode::OK {
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer.get("error")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(format!(
            "the provider answered {status} {}",
            error.chars().take(64).collect::<String>()
        ));
    }
    let pushed: Pushed = serde_json::from_slice(&body[..body.len().min(MAX_ANSWER_BYTES)])
        .map_err(|_| "the answer has no request_uri".to_owned())?;
    Ok(redirect_url(
        metadata,
        &config.client_id,
        &pushed.request_uri,
    ))
}

/// The authorization endpoint with only `client_id` and `request_uri` (RFC 9126, 4).
fn redirect_url(metadata: &ProviderMetadata, client_id: &str, request_uri: &str) -> Url {
    let mut url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_gets_only_the_client_id_and_the_request_uri() {
        let metadata: ProviderMetadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://op.example.com",
            "authorization_endpoint": "https://op.example.com/authorize?tenant=x",
            "token_endpoint": "https://op.example.com/token",
            "jwks_uri": "https://op.example.com/jwks",
        }))
        .expect("metadata");
        let url = redirect_url(&metadata, "app", "urn:ietf:params:oauth:request_uri:abc");
        assert_eq!(
            url.as_str(),
            "https://op.example.com/authorize?tenant=x&client_id=app&\
             request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
        );
    }
}
