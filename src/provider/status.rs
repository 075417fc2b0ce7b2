//! What the health report tells of the provider: when its documents were last fetched,
//! how many keys it publishes, and the kind of the last error. Kinds, never messages:
//! a message may quote what the provider answered.

use std::sync::Mutex;
use std::time::SystemTime;

/// The document a fetch was for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Document {
    Discovery,
    Jwks,
}

impl Document {
    fn label(self) -> &'static str {
        match self {
            Document::Discovery => "discovery",
            Document::Jwks => "jwks",
        }
    }
}

/// Kinds of fetch errors.
pub(crate) const UNREACHABLE: &str = "unreachable";
pub(crate) const BAD_STATUS: &str = "bad_status";
pub(crate) const INVALID_DOCUMENT: &str = "invalid_document";
pub(crate) const ISSUER_MISMATCH: &str = "issuer_mismatch";

/// The last fetches of one document.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fetches {
    pub(crate) last_success: Option<SystemTime>,
    pub(crate) last_failure: Option<SystemTime>,
    /// The kind of error of the last fetch, `None` when it succeeded.
    pub(crate) last_error: Option<&'static str>,
}

/// The last fetches of the discovery document and of the key set.
#[derive(Debug, Default)]
pub(crate) struct ProviderStatus {
    discovery: Mutex<Fetches>,
    jwks: Mutex<Fetches>,
}

impl ProviderStatus {
    /// Records a fetch of `document` and counts it in the metrics.
    pub(crate) fn record(&self, document: Document, result: Result<(), &'static str>) {
        crate::telemetry::provider_fetch(document.label(), result);
        let slot = match document {
            Document::Discovery => &self.discovery,
            Document::Jwks => &self.jwks,
        };
        let Ok(mut fetches) = slot.lock() else {
            return;
        };
        let now = SystemTime::now();
        match result {
            Ok(()) => {
                fetches.last_success = Some(now);
                fetches.last_error = None;
            }
            Err(kind) => {
                fetches.last_failure = Some(now);
                fetches.last_error = Some(kind);
            }
        }
    }

    pub(crate) fn fetches(&self, document: Document) -> Fetches {
        let slot = match document {
            Document::Discovery => &self.discovery,
            Document::Jwks => &self.jwks,
        };
        slot.lock().map(|fetches| *fetches).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_clears_the_last_error_but_keeps_when_it_failed() {
        let status = ProviderStatus::default();
        status.record(Document::Jwks, Err(BAD_STATUS));
        let failed = status.fetches(Document::Jwks);
        assert_eq!(failed.last_error, Some(BAD_STATUS));
        assert!(failed.last_success.is_none());
        status.record(Document::Jwks, Ok(()));
        let fixed = status.fetches(Document::Jwks);
        assert_eq!(fixed.last_error, None);
        assert!(fixed.last_success.is_some() && fixed.last_failure.is_some());
        assert!(status.fetches(Document::Discovery).last_success.is_none());
    }
}
