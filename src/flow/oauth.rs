//! The `oauth2` client for the token endpoint, driven by our one reqwest client.

use std::fmt;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::provider::client_auth::{self, Method};
use crate::provider::http::HttpError;
use crate::provider::metadata::ProviderMetadata;

/// The `id_token` of an OpenID Connect token response, kept as text: it is verified with
/// the provider's keys by our own verifier, not parsed by the OAuth layer.
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}

impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenField([redacted])")
    }
}

impl oauth2::ExtraTokenFields for IdTokenField {}

pub(crate) type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub(crate) fn client(config: &Config, metadata: &ProviderMetadata) -> OAuthClient {
    let method = client_auth::method(config, metadata);
    let token_endpoint = metadata.endpoint(
        "token_endpoint",
        &metadata.token_endpoint,
        config.transport.mutual_tls(),
    );
    let mut client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(token_endpoint.clone()))
        .set_auth_type(auth_type(method));
    // The secret travels only by the methods that send it; the others add their own
    // parameters to each request (see `assertion_params`).
    if matches!(method, Method::Basic | Method::Post) {
        if let Some(secret) = &config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
    }
    client
}

fn auth_type(method: Method) -> AuthType {
    match method {
        Method::Basic => AuthType::BasicAuth,
        _ => AuthType::RequestBody,
    }
}

/// The client-authentication parameters a token request adds to what the OAuth layer
/// sends (a fresh assertion, for the JWT methods).
pub(crate) fn assertion_params(
    config: &Config,
    metadata: &ProviderMetadata,
) -> Result<Vec<(&'static str, String)>, TokenEndpointError> {
    if matches!(
        client_auth::method(config, metadata),
        Method::Basic | Method::Post
    ) {
        return Ok(Vec::new());
    }
    let credentials =
        client_auth::credentials(config, metadata).map_err(TokenEndpointError::Unavailable)?;
    Ok(credentials.extra_params().cloned().collect())
}

/// Why the token endpoint gave no tokens.
#[derive(Debug)]
pub(crate) enum TokenEndpointError {
    /// The provider refused (`invalid_grant` and friends): the user must log in again.
    Refused(String),
    /// The provider could not be reached or answered nonsense.
    Unavailable(String),
}

pub(crate) fn classify(
    err: RequestTokenError<HttpError, BasicErrorResponse>,
) -> TokenEndpointError {
    match err {
        RequestTokenError::ServerResponse(response) => {
            use oauth2::basic::BasicErrorResponseType as Kind;
            let error = response.error().to_string();
            // Only answers about the grant itself are final; a provider that is busy,
            // failing or rejecting our client credentials may answer differently later.
            match response.error() {
                Kind::InvalidGrant
                | Kind::InvalidRequest
                | Kind::InvalidScope
                | Kind::UnauthorizedClient
                | Kind::UnsupportedGrantType => TokenEndpointError::Refused(error),
                _ => TokenEndpointError::Unavailable(format!("the provider answered `{error}`")),
            }
        }
        RequestTokenError::Request(err) => TokenEndpointError::Unavailable(err.to_string()),
        RequestTokenError::Parse(_, _) => {
            TokenEndpointError::Unavailable("the token response was not valid".into())
        }
        RequestTokenError::Other(message) => TokenEndpointError::Unavailable(message),
    }
}
