//! The OpenID Provider as seen by the relying party: metadata, signature keys, and the
//! calls made to it. Starts without the provider and keeps trying in the background.

pub(crate) mod http;
pub(crate) mod keys;
pub(crate) mod metadata;

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use ::http::StatusCode;
use jsonwebtoken::Algorithm;

use crate::config::{Config, ProviderSource};
use keys::KeySet;
use metadata::ProviderMetadata;

/// Unknown `kid`s trigger a key-set fetch at most this often, so forged tokens cannot make
/// us hammer the provider.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a login waits for discovery before answering 503.
const LOGIN_DISCOVERY_WAIT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why the provider cannot be used right now.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ProviderUnavailable(pub(crate) String);

struct KeyState {
    keys: Arc<KeySet>,
    /// When an unknown `kid` last caused a fetch; scheduled fetches do not count, so a key
    /// rotated right after one is still picked up.
    unknown_kid_fetch_at: Option<Instant>,
}

struct Failure {
    at: Instant,
    backoff: Duration,
    reason: String,
}

pub(crate) struct Provider {
    source: ProviderSource,
    pub(crate) client: reqwest::Client,
    metadata: RwLock<Option<Arc<ProviderMetadata>>>,
    keys: RwLock<KeyState>,
    failure: Mutex<Option<Failure>>,
    discovery: tokio::sync::Mutex<()>,
    key_fetch: tokio::sync::Mutex<()>,
    refresh_interval: Duration,
}

impl Provider {
    pub(crate) fn new(config: &Config) -> Arc<Self> {
        let provider = Arc::new(Self {
            source: config.provider.clone(),
            client: http::build_client(config.http_timeout),
            metadata: RwLock::new(None),
            keys: RwLock::new(KeyState {
                keys: Arc::new(KeySet::default()),
                unknown_kid_fetch_at: None,
            }),
            failure: Mutex::new(None),
            discovery: tokio::sync::Mutex::new(()),
            key_fetch: tokio::sync::Mutex::new(()),
            refresh_interval: config.jwks_refresh_interval,
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
        if let Some(reason) = self.recent_failure() {
            return Err(ProviderUnavailable(reason));
        }
        match tokio::time::timeout(LOGIN_DISCOVERY_WAIT, self.discover()).await {
            Ok(result) => result,
            Err(_) => Err(ProviderUnavailable(
                "the identity provider did not answer in time".into(),
            )),
        }
    }

    fn recent_failure(&self) -> Option<String> {
        let failure = self.failure.lock().ok()?;
        let failure = failure.as_ref()?;
        (failure.at.elapsed() < failure.backoff.min(Duration::from_secs(5)))
            .then(|| failure.reason.clone())
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
                    reason: err.0.clone(),
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
        let ProviderSource::Discovery {
            url,
            expected_issuer,
        } = &self.source
        else {
            return Err(ProviderUnavailable("no provider metadata".into()));
        };
        let (status, body) = http::get(&self.client, url, None)
            .await
            .map_err(|err| ProviderUnavailable(format!("discovery at {url}: {err}")))?;
        if status != StatusCode::OK {
            return Err(ProviderUnavailable(format!(
                "discovery at {url} answered {status}"
            )));
        }
        ProviderMetadata::parse(&body, url, expected_issuer.as_deref())
            .map_err(|err| ProviderUnavailable(format!("discovery at {url}: {err}")))
    }

    async fn fetch_keys(&self) -> Result<(), ProviderUnavailable> {
        let Some(metadata) = self.cached_metadata() else {
            return Err(ProviderUnavailable("provider not discovered yet".into()));
        };
        self.fetch_keys_from(&metadata).await
    }

    async fn fetch_keys_from(
        &self,
        metadata: &ProviderMetadata,
    ) -> Result<(), ProviderUnavailable> {
        let _one_at_a_time = self.key_fetch.lock().await;
        let (status, body) = http::get(&self.client, &metadata.jwks_uri, None)
            .await
            .map_err(|err| ProviderUnavailable(format!("JWKS: {err}")))?;
        if status != StatusCode::OK {
            return Err(ProviderUnavailable(format!("JWKS answered {status}")));
        }
        // A garbage answer keeps the keys we had: existing sessions and tokens stay valid.
        let keys = KeySet::parse(&body).map_err(ProviderUnavailable)?;
        if let Ok(mut state) = self.keys.write() {
            state.keys = Arc::new(keys);
        }
        Ok(())
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .map(|state| Arc::clone(&state.keys))
            .unwrap_or_default()
    }

    /// Re-fetches the key set because a token named a key we lack; at most once per
    /// [`KEY_REFETCH_INTERVAL`]. Returns whether new keys were loaded.
    pub(crate) async fn refetch_keys_for_unknown_kid(&self) -> bool {
        {
            let Ok(mut state) = self.keys.write() else {
                return false;
            };
            // Claim the slot before fetching so concurrent tokens do not all fetch.
            if state
                .unknown_kid_fetch_at
                .is_some_and(|at| at.elapsed() < KEY_REFETCH_INTERVAL)
            {
                return false;
            }
            state.unknown_kid_fetch_at = Some(Instant::now());
        }
        if self.cached_metadata().is_none() && self.metadata().await.is_err() {
            return false;
        }
        self.fetch_keys().await.is_ok()
    }

    /// Whether keys of `alg`'s family with this `kid` are known.
    pub(crate) fn has_candidates(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.keys().candidates(kid, alg).next().is_some()
    }
}
