//! Why the provider cannot be used, and what a login is answered then.

use std::sync::Arc;

use http::StatusCode;
use url::Url;

use super::metadata::MetadataError;
use crate::response::ErrorReply;

/// Why the provider cannot be used right now: the reason (for logs and
/// [`ProviderNotReady`](crate::ProviderNotReady)) and, when the discovery document names
/// another issuer, that mismatch.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ProviderUnavailable(pub(crate) String, pub(crate) Option<Arc<IssuerMismatch>>);

/// The discovery document names another issuer than the configured one. A configuration
/// or deployment error, not an outage: retrying soon will not help.
#[derive(Debug)]
pub(crate) struct IssuerMismatch {
    /// For the error page: both issuers, no internals.
    message: String,
}

impl ProviderUnavailable {
    /// The provider could not be reached or answered something unusable.
    pub(crate) fn unreachable(reason: impl Into<String>) -> Self {
        Self(reason.into(), None)
    }

    pub(crate) fn from_metadata(discovery_url: &Url, err: MetadataError) -> Self {
        let reason = format!("discovery at {discovery_url}: {err}");
        match err {
            MetadataError::IssuerMismatch { expected, found } => Self(
                reason,
                Some(Arc::new(IssuerMismatch {
                    message: format!(
                        "the identity provider's discovery document names the issuer `{found}`, \
                         but this application is configured for `{expected}`; \
                         the issuer setting (OIDC_ISSUER) must match the provider's exactly"
                    ),
                })),
            ),
            MetadataError::Invalid(_) => Self::unreachable(reason),
        }
    }

    /// The error code of [`login_reply`](Self::login_reply).
    pub(crate) fn code(&self) -> &'static str {
        match &self.1 {
            Some(_) => "issuer_mismatch",
            None => "provider_unavailable",
        }
    }

    /// The answer to a login that cannot start: `502 issuer_mismatch` naming both issuers
    /// when the provider's discovery document names another issuer, else
    /// `503 provider_unavailable`.
    pub(crate) fn login_reply(&self) -> ErrorReply<'_> {
        match &self.1 {
            Some(mismatch) => ErrorReply {
                status: StatusCode::BAD_GATEWAY,
                code: "issuer_mismatch",
                message: &mismatch.message,
                retry: None,
            },
            None => ErrorReply {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "provider_unavailable",
                message: "the identity provider cannot be reached right now; try again shortly",
                retry: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_mismatch_is_named_not_called_an_outage() {
        let url = Url::parse("https://op.example/.well-known/openid-configuration").expect("url");
        let mismatch = ProviderUnavailable::from_metadata(
            &url,
            MetadataError::IssuerMismatch {
                expected: "https://op.example".into(),
                found: "https://evil.example".into(),
            },
        );
        let reply = mismatch.login_reply();
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        assert_eq!(reply.code, "issuer_mismatch");
        assert!(reply.message.contains("`https://evil.example`"));
        assert!(reply.message.contains("`https://op.example`"));

        let invalid =
            ProviderUnavailable::from_metadata(&url, MetadataError::Invalid("not JSON".into()));
        assert_eq!(
            invalid.login_reply().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(invalid.0.contains("not JSON"));
    }
}
