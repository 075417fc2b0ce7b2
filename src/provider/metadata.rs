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
    /// RFC 7009 token revocation, used at logout.
    #[serde(default)]
    pub(crate) revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 9126 pushed authorization requests.
    #[serde(default)]
    pub(crate) pushed_authorization_request_endpoint: Option<Url>,
    #[serde(default)]
    pub(crate) require_pushed_authorization_requests: bool,
    /// RFC 8705 section 5: endpoints to use instead when presenting a client certificate.
    #[serde(default)]
    pub(crate) mtls_endpoint_aliases: std::collections::BTreeMap<String, Url>,
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
            revocation_endpoint: endpoints.revocation_endpoint,
            token_endpoint_auth_methods_supported: None,
            token_endpoint_auth_signing_alg_values_supported: None,
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
            mtls_endpoint_aliases: Default::default(),
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
        .chain(self.revocation_endpoint.iter())
        .chain(self.pushed_authorization_request_endpoint.iter())
        .chain(self.mtls_endpoint_aliases.values())
    }

    /// The endpoint `name` (`token_endpoint`, `userinfo_endpoint`, …) to call: its mutual
    /// TLS alias when the client presents a certificate and the provider has one.
    pub(crate) fn endpoint<'a>(&'a self, name: &str, url: &'a Url, mutual_tls: bool) -> &'a Url {
        if mutual_tls {
            self.mtls_endpoint_aliases.get(name).unwrap_or(url)
        } else {
            url
        }
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

    #[test]
    fn mutual_tls_aliases_apply_only_with_a_client_certificate() {
        let doc = DOC.replace(
            r#""jwks_uri""#,
            r#""mtls_endpoint_aliases": {"token_endpoint": "https://mtls.op.example.com/token"},
               "jwks_uri""#,
        );
        let metadata = ProviderMetadata::parse(doc.as_bytes(), &url(), None).expect("valid");
        let token = &metadata.token_endpoint;
        assert_eq!(
            metadata.endpoint("token_endpoint", token, false).host_str(),
            Some("op.example.com")
        );
        assert_eq!(
            metadata.endpoint("token_endpoint", token, true).as_str(),
            "https://mtls.op.example.com/token"
        );
        let jwks = &metadata.jwks_uri;
        assert_eq!(metadata.endpoint("jwks_uri", jwks, true), jwks);
        let downgraded = doc.replace("https://mtls.", "http://mtls.");
        assert!(ProviderMetadata::parse(downgraded.as_bytes(), &url(), None).is_err());
    }

    #[test]
    fn a_plain_http_revocation_endpoint_is_a_downgrade() {
        let with = |endpoint: &str| {
            DOC.replace(
                r#""jwks_uri""#,
                &format!(r#""revocation_endpoint": "{endpoint}", "jwks_uri""#),
            )
        };
        let https = with("https://op.example.com/revoke");
        let metadata = ProviderMetadata::parse(https.as_bytes(), &url(), None).expect("valid");
        assert_eq!(
            metadata.revocation_endpoint.map(|url| url.to_string()),
            Some("https://op.example.com/revoke".to_owned())
        );
        let http = with("http://op.example.com/revoke");
        assert!(ProviderMetadata::parse(http.as_bytes(), &url(), None).is_err());
    }
}
