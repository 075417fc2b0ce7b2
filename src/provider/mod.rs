//! The OpenID Provider as seen by the relying party: metadata, signature keys, and the
//! calls made to it. Starts without the provider and keeps trying in the background.

pub(crate) mod client_auth;
pub(crate) mod http;
pub(crate) mod key_refetch;
pub(crate) mod keys;
pub(crate) mod metadata;
pub(crate) mod status;
mod unavailable;

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use ::http::StatusCode;
use jsonwebtoken::Algorithm;

use crate::config::{Config, ProviderSource};
use key_refetch::RefetchLimiter;
use keys::KeySet;
use metadata::ProviderMetadata;
use status::{Document, ProviderStatus};
pub(crate) use unavailable::ProviderUnavailable;

/// How long a login waits for discovery before answering 503.
const LOGIN_DISCOVERY_WAIT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

struct Failure {
    at: Instant,
    backoff: Duration,
    error: ProviderUnavailable,
}

pub(crate) struct Provider {
    source: ProviderSource,
    pub(crate) client: reqwest::Client,
    metadata: RwLock<Option<Arc<ProviderMetadata>>>,
    keys: RwLock<Arc<KeySet>>,
    /// Limits the fetches caused by tokens naming keys we lack.
    refetch: Mutex<RefetchLimiter>,
    failure: Mutex<Option<Failure>>,
    discovery: tokio::sync::Mutex<()>,
    key_fetch: tokio::sync::Mutex<()>,
    refresh_interval: Duration,
    /// The last fetches, for the health report.
    pub(crate) status: ProviderStatus,
}

impl Provider {
    pub(crate) fn new(config: &Config) -> Arc<Self> {
        let provider = Arc::new(Self {
            source: config.provider.clone(),
            client: config.transport.client(config.http_timeout),
            metadata: RwLock::new(None),
            keys: RwLock::new(Arc::new(KeySet::default())),
            refetch: Mutex::new(RefetchLimiter::new(Instant::now())),
            failure: Mutex::new(None),
            discovery: tokio::sync::Mutex::new(()),
            key_fetch: tokio::sync::Mutex::new(()),
            refresh_interval: config.jwks_refresh_interval,
            status: ProviderStatus::default(),
        });
        if let ProviderSource::Manual(endpoints) = &provider.source {
            let metadata = ProviderMetadata::from(endpoints.as_ref().clone());
            if let Ok(mut slot) = provider.metadata.write() {
                *slot = Some(Arc::new(metadata));
            }
        }
        provider
    }

    /// Starts the background task (when a tokio runtime is running): discovery with
    /// backoff until it succeeds, then periodic key-set refreshes. It ends with the provider.
    pub(crate) fn spawn_maintenance(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut wait = Duration::from_millis(0);
            loop {
                tokio::time::sleep(wait).await;
                let Some(provider) = weak.upgrade() else {
                    return;
                };
                wait = match provider.maintain().await {
                    Ok(()) => provider.refresh_interval,
                    Err(_) => provider.current_backoff(),
                };
            }
        });
    }

    async fn maintain(&self) -> Result<(), ProviderUnavailable> {
        if self.cached_metadata().is_none() {
            self.discover().await.map(|_| ())
        } else {
            self.fetch_keys().await
        }
    }

    fn current_backoff(&self) -> Duration {
        self.failure
            .lock()
            .ok()
            .and_then(|failure| failure.as_ref().map(|f| f.backoff))
            .unwrap_or(Duration::from_secs(1))
    }

    pub(crate) fn cached_metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.metadata.read().ok().and_then(|slot| slot.clone())
    }

    /// The metadata, discovering it now if needed. A recent failure answers at once, so an
    /// outage costs logins no waiting.
    pub(crate) async fn metadata(&self) -> Result<Arc<ProviderMetadata>, ProviderUnavailable> {
        if let Some(metadata) = self.cached_metadata() {
            return Ok(metadata);
        }
        if let Some(error) = self.recent_failure() {
            return Err(error);
        }
        match tokio::time::timeout(LOGIN_DISCOVERY_WAIT, self.discover()).await {
            Ok(result) => result,
            Err(_) => Err(ProviderUnavailable::unreachable(
                "the identity provider did not answer in time",
            )),
        }
    }

    fn recent_failure(&self) -> Option<ProviderUnavailable> {
        let failure = self.failure.lock().ok()?;
        let failure = failure.as_ref()?;
        (failure.at.elapsed() < failure.backoff.min(Duration::from_secs(5)))
            .then(|| failure.error.clone())
    }

    fn record(&self, result: &Result<(), ProviderUnavailable>) {
        let Ok(mut failure) = self.failure.lock() else {
            return;
        };
        match result {
            Ok(()) => *failure = None,
            Err(err) => {
                let backoff = failure
                    .as_ref()
                    .map_or(Duration::from_secs(1), |f| (f.backoff * 2).min(MAX_BACKOFF));
                tracing::warn!(reason = %err.0, retry_in = ?backoff, "identity provider unavailable");
                *failure = Some(Failure {
                    at: Instant::now(),
                    backoff,
                    error: err.clone(),
                });
            }
        }
    }

    async fn discover(&self) -> Result<Arc<ProviderMetadata>, ProviderUnavailable> {
        let _one_at_a_time = self.discovery.lock().await;
        if let Some(metadata) = self.cached_metadata() {
            return Ok(metadata);
        }
        let result = self.fetch_metadata().await;
        let result = match result {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                // Keys first, so nobody sees metadata without them. Their failure does not
                // undo discovery: verification fetches again when it meets a key it lacks.
                let _ = self.fetch_keys_from(&metadata).await;
                if let Ok(mut slot) = self.metadata.write() {
                    *slot = Some(Arc::clone(&metadata));
                }
                Ok(metadata)
            }
            Err(err) => Err(err),
        };
        self.record(&result.as_ref().map(|_| ()).map_err(Clone::clone));
        result
    }

    async fn fetch_metadata(&self) -> Result<ProviderMetadata, ProviderUnavailable> {
        let result = self.request_metadata().await;
        let kind = result.as_ref().map(|_| ()).map_err(|(kind, _)| *kind);
        self.status.record(Document::Discovery, kind);
        result.map_err(|(_, err)| err)
    }

    /// The discovery document, or the kind of error and the error.
    async fn request_metadata(
        &self,
    ) -> Result<ProviderMetadata, (&'static str, ProviderUnavailable)> {
        let ProviderSource::Discovery {
            url,
            expected_issuer,
        } = &self.source
        else {
            return Err((
                status::INVALID_DOCUMENT,
                ProviderUnavailable::unreachable("no provider metadata"),
            ));
        };
        let (status, body) = http::get(&self.client, url, None).await.map_err(|err| {
            let err = ProviderUnavailable::unreachable(format!("discovery at {url}: {err}"));
            (status::UNREACHABLE, err)
        })?;
        if status != StatusCode::OK {
            let err =
                ProviderUnavailable::unreachable(format!("discovery at {url} answered {status}"));
            return Err((status::BAD_STATUS, err));
        }
        ProviderMetadata::parse(&body, url, expected_issuer.as_deref()).map_err(|err| {
            let err = ProviderUnavailable::from_metadata(url, err);
            let kind = match err.1 {
                Some(_) => status::ISSUER_MISMATCH,
                None => status::INVALID_DOCUMENT,
            };
            (kind, err)
        })
    }

    async fn fetch_keys(&self) -> Result<(), ProviderUnavailable> {
        let Some(metadata) = self.cached_metadata() else {
            return Err(ProviderUnavailable::unreachable(
                "provider not discovered yet",
            ));
        };
        self.fetch_keys_from(&metadata).await
    }

    async fn fetch_keys_from(
        &self,
        metadata: &ProviderMetadata,
    ) -> Result<(), ProviderUnavailable> {
        let _one_at_a_time = self.key_fetch.lock().await;
        self.download_keys(metadata).await
    }

    /// Fetches the key set; callers hold `key_fetch`.
    async fn download_keys(&self, metadata: &ProviderMetadata) -> Result<(), ProviderUnavailable> {
        let result = self.request_keys(metadata).await;
        let kind = result.as_ref().map(|_| ()).map_err(|(kind, _)| *kind);
        self.status.record(Document::Jwks, kind);
        result.map_err(|(_, err)| err)
    }

    async fn request_keys(
        &self,
        metadata: &ProviderMetadata,
    ) -> Result<(), (&'static str, ProviderUnavailable)> {
        let (status, body) = http::get(&self.client, &metadata.jwks_uri, None)
            .await
            .map_err(|err| {
                let err = ProviderUnavailable::unreachable(format!("JWKS: {err}"));
                (status::UNREACHABLE, err)
            })?;
        if status != StatusCode::OK {
            let err = ProviderUnavailable::unreachable(format!("JWKS answered {status}"));
            return Err((status::BAD_STATUS, err));
        }
        // A garbage answer keeps the keys we had: existing sessions and tokens stay valid.
        let keys = KeySet::parse(&body).map_err(|err| {
            (
                status::INVALID_DOCUMENT,
                ProviderUnavailable::unreachable(err),
            )
        })?;
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(keys);
        }
        Ok(())
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .map(|keys| Arc::clone(&keys))
            .unwrap_or_default()
    }

    /// The key set, holding keys that may have signed a token with this `kid` and `alg`
    /// if the provider publishes any: a key we lack is fetched again, unless the same key
    /// was looked for a moment ago or the fetches for unknown keys are used up (see
    /// [`key_refetch`]). Scheduled refreshes are not limited by this.
    pub(crate) async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Arc<KeySet> {
        let keys = self.keys();
        if keys.candidates(kid, alg).next().is_some() {
            return keys;
        }
        let lookup = key_refetch::lookup_key(kid, alg);
        if self.recently_missing(&lookup) {
            return keys;
        }
        let Ok(metadata) = self.metadata().await else {
            return keys;
        };
        let _one_at_a_time = self.key_fetch.lock().await;
        // Tokens with the same new kid wait here for one fetch, then find the key.
        let keys = self.keys();
        if keys.candidates(kid, alg).next().is_some() || self.recently_missing(&lookup) {
            return keys;
        }
        let granted = self
            .refetch
            .lock()
            .is_ok_and(|mut limiter| limiter.try_fetch(Instant::now()));
        if !granted {
            tracing::debug!("unknown signing key: key-set fetches are used up for now");
            return keys;
        }
        if let Err(err) = self.download_keys(&metadata).await {
            tracing::warn!(reason = %err, "key set could not be fetched for an unknown key");
        }
        let keys = self.keys();
        if keys.candidates(kid, alg).next().is_none() {
            if let Ok(mut limiter) = self.refetch.lock() {
                limiter.remember_missing(lookup, Instant::now());
            }
        }
        keys
    }

    fn recently_missing(&self, lookup: &str) -> bool {
        self.refetch
            .lock()
            .is_ok_and(|limiter| limiter.recently_missing(lookup, Instant::now()))
    }
}
