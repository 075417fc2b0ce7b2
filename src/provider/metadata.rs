//! The provider's metadata: OpenID Connect Discovery 1.0, or endpoints given by hand.

use serde::Deserialize;
use url::Url;

use crate::config::ProviderEndpoints;

/// What the relying party needs of the provider's metadata. Unknown fields are ignored, so
/// providers that publish extra or unusual values still work.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProviderMetadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: Url,
    pub(crate) jwks_uri: Url,
    #[serde(default)]
    pub(crate) userinfo_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) end_session_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) introspection_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl From<ProviderEndpoints> for ProviderMetadata {
    fn from(endpoints: ProviderEndpoints) -> Self {
        Self {
            issuer: endpoints.issuer,
            authorization_endpoint: endpoints.authorization_endpoint,
            token_endpoint: endpoints.token_endpoint,
            jwks_uri: endpoints.jwks_uri,
            userinfo_endpoint: endpoints.userinfo_endpoint,
            end_session_endpoint: endpoints.end_session_endpoint,
            introspection_endpoint: endpoints.introspection_endpoint,
            token_endpoint_auth_methods_supported: None,
        }
    }
}

/// Why a discovery document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetadataError {
    /// The document names another issuer than the configured one (OpenID Connect Discovery
    /// 1.0, section 4.3): its keys and endpoints are not this issuer's.
    IssuerMismatch { expected: String, found: String },
    /// Not a usable document.
    Invalid(String),
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataError::IssuerMismatch { expected, found } => write!(
                f,
                "discovery document names issuer `{found}`, expected `{expected}`"
            ),
            MetadataError::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl ProviderMetadata {
    /// Parses a discovery document and checks it against what the configuration expects.
    pub(crate) fn parse(
        body: &[u8],
        discovery_url: &Url,
        expected_issuer: Option<&str>,
    ) -> Result<Self, MetadataError> {
        let metadata: ProviderMetadata = serde_json::from_slice(body).map_err(|err| {
            MetadataError::Invalid(format!("discovery document is not valid: {err}"))
        })?;
        if let Some(expected) = expected_issuer {
            if !crate::issuer::same_issuer(&metadata.issuer, expected) {
                return Err(MetadataError::IssuerMismatch {
                    expected: expected.to_owned(),
                    found: metadata.issuer.chars().take(256).collect(),
                });
            }
        }
        // A document fetched over https must not send tokens over plain http.
        if discovery_url.scheme() == "https" {
            for url in metadata.endpoints() {
                if url.scheme() != "https" {
                    return Err(MetadataError::Invalid(format!(
                        "endpoint `{url}` is not https"
                    )));
                }
            }
        }
        Ok(metadata)
    }

    fn endpoints(&self) -> impl Iterator<Item = &Url> {
        [
            &self.authorization_endpoint,
            &self.token_endpoint,
            &self.jwks_uri,
        ]
        .into_iter()
        .chain(self.userinfo_endpoint.iter())
        .chain(self.end_session_endpoint.iter())
        .chain(self.introspection_endpoint.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
        "issuer": "https://op.example.com/",
        "authorization_endpoint": "https://op.example.com/authorize",
        "token_endpoint": "https://op.example.com/token",
        "jwks_uri": "https://op.example.com/jwks",
        "id_token_signing_alg_values_supported": ["RS256", "XYZ999"],
        "something_new": {"nested": true}
    }"#;

    fn url() -> Url {
        Url::parse("https://op.example.com/.well-known/openid-configuration").expect("url")
    }

    #[test]
    fn parses_and_checks_the_issuer() {
        let metadata =
            ProviderMetadata::parse(DOC.as_bytes(), &url(), Some("https://op.example.com"))
                .expect("valid");
        assert!(metadata.userinfo_endpoint.is_none());
        let err = ProviderMetadata::parse(DOC.as_bytes(), &url(), Some("https://other.example"))
            .unwrap_err();
        assert_eq!(
            err,
            MetadataError::IssuerMismatch {
                expected: "https://other.example".into(),
                found: "https://op.example.com/".into()
            }
        );
        assert!(err.to_string().contains("expected"), "{err}");
    }

    #[test]
    fn refuses_garbage_and_downgrades() {
        assert!(ProviderMetadata::parse(b"<html>", &url(), None).is_err());
        let downgraded = DOC.replace(
            "https://op.example.com/token",
            "http://op.example.com/token",
        );
        assert!(ProviderMetadata::parse(downgraded.as_bytes(), &url(), None).is_err());
    }
}
