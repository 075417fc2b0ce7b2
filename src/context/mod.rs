//! What every flow works with: the configuration, the provider, the cookie codec, the
//! caches and the session I/O. Flows receive a [`Context`]; they never see the dispatcher.

#[cfg(feature = "api-keys")]
pub(crate) mod api_keys;
pub(crate) mod development;
mod dpop_state;
mod near_cache;
mod refreshes;
mod replay;
mod sessions;

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::authz::AuthContext;
use crate::bearer::cache::BearerCache;
use crate::bearer::introspect_guard::IntrospectionGuard;
use crate::config::Config;
use crate::provider::Provider;
use crate::session::cache::SessionCache;
use crate::session::codec::CookieCodec;
use crate::session::expiring_set::ExpiringSet;
use crate::session::login_state::UsedStates;

pub(crate) use refreshes::{RefreshGate, RefreshOutcome};
pub(crate) use replay::StoreVerdict;
pub(crate) use sessions::{store_unavailable, SessionLookup, StoreId};

/// Decoded sessions kept per sealed cookie value.
const SESSION_CACHE_ENTRIES: usize = 10_000;
/// Store ids opened from sealed cookies.
const STORE_ID_CACHE_ENTRIES: usize = 10_000;
/// `state`s of finished logins remembered against replay.
const USED_STATES: usize = 100_000;
/// Verified bearer tokens kept until they expire.
const BEARER_CACHE_ENTRIES: usize = 10_000;
/// Logout-token `jti`s remembered against replay, and for how long at least: longer when
/// tokens are accepted for longer.
const USED_LOGOUT_TOKENS: usize = 100_000;
const USED_LOGOUT_TOKEN_SECS: u64 = 3600;
/// Cookie sessions ended by a logout, remembered until they would have expired.
const ENDED_SESSIONS: usize = 100_000;

/// What a flow works with: one provider (its configuration and its metadata, keys and
/// status) and the state every provider shares, reached through `Deref`.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    pub(crate) provider: Arc<Provider>,
    /// The provider was chosen (by route, login state, session or token), or is the only
    /// or default one; `false` only for the first of several, shown before a choice.
    pub(crate) chosen: bool,
    shared: Arc<Shared>,
}

/// One configured provider.
pub(crate) struct ProviderSlot {
    pub(crate) config: Arc<Config>,
    pub(crate) provider: Arc<Provider>,
}

/// Everything the layer shares between requests, whichever the provider.
pub(crate) struct Shared {
    /// Every provider, in configuration order (one, unnamed, with a single provider).
    pub(crate) providers: Vec<ProviderSlot>,
    pub(crate) codec: CookieCodec,
    pub(crate) cache: SessionCache,
    /// Session ids opened from cookies, for server-side stores.
    pub(crate) store_ids: SessionCache<Arc<str>>,
    pub(crate) used_states: UsedStates,
    pub(crate) refreshes: RefreshGate,
    pub(crate) bearer_cache: BearerCache,
    /// `jti`s of logout tokens already used.
    pub(crate) used_logout_tokens: UsedStates,
    /// How long a logout token's `jti` is remembered.
    pub(crate) used_logout_token_secs: u64,
    /// Whether the session store keeps single-use keys; cleared when it answers that it
    /// cannot, so it is not asked again.
    pub(crate) store_keeps_used_keys: AtomicBool,
    /// Ids of cookie sessions ended in this process, until they would have expired, so a
    /// renewal under way at the logout does not hand the browser the session again.
    pub(crate) ended_sessions: ExpiringSet,
    pub(crate) auth_context: Arc<AuthContext>,
    /// Refused opaque tokens and the ceiling on introspection calls.
    pub(crate) introspection: IntrospectionGuard,
    /// Authentication is off: the identity every request gets.
    pub(crate) development: Option<development::DevelopmentSession>,
    /// Proof `jti`s and server nonces.
    pub(crate) dpop: dpop_state::DpopState,
}

impl std::ops::Deref for Context {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl Context {
    /// The shared state for `config`; starts each provider's background maintenance.
    pub(crate) fn new(mut config: Config) -> Self {
        let near_cached = match &config.session {
            crate::config::SessionBackend::Store(store) => {
                near_cache::wrap(store, config.session_near_cache)
            }
            crate::config::SessionBackend::Cookie => None,
        };
        if let Some(cached) = &near_cached {
            config.session = crate::config::SessionBackend::Store(Arc::clone(cached));
        }
        let development = config
            .development
            .clone()
            .map(|user| development::DevelopmentSession::new(user, config.user_hook.is_some()));
        let views: Vec<Arc<Config>> = if config.providers.is_empty() {
            vec![Arc::new(config.clone())]
        } else {
            // Every provider's view shares the one near cache.
            config
                .providers
                .iter()
                .map(|view| match &near_cached {
                    Some(cached) => {
                        let mut view = Config::clone(view);
                        view.session = crate::config::SessionBackend::Store(Arc::clone(cached));
                        Arc::new(view)
                    }
                    None => Arc::clone(view),
                })
                .collect()
        };
        let providers: Vec<ProviderSlot> = views
            .into_iter()
            .map(|view| {
                let provider = Provider::new(&view);
                if development.is_none() {
                    provider.spawn_maintenance();
                }
                ProviderSlot {
                    config: view,
                    provider,
                }
            })
            .collect();
        let cookie_path = if config.routes.home.is_empty() {
            "/".to_owned()
        } else {
            config.routes.home.clone()
        };
        // Bound to the first provider, so adding providers keeps the sessions signed in.
        let binding = providers[0].config.cookie_binding();
        let codec = CookieCodec::new(
            config.cookie_key.clone(),
            &binding,
            config.cookie_secure,
            cookie_path,
        )
        .with_previous_keys(&config.previous_cookie_keys, &binding);
        let auth_context = Arc::new(AuthContext {
            logout_path: config.routes.logout.clone(),
            login_path: config.routes.login.clone(),
            denied_page: config.denied_page.clone(),
        });
        let used_logout_token_secs = USED_LOGOUT_TOKEN_SECS.max(
            config
                .security
                .logout_token_max_age
                .saturating_add(config.leeway)
                .as_secs(),
        );
        let dpop = dpop_state::DpopState::new(&config);
        let shown = config
            .default_provider
            .as_deref()
            .and_then(|name| {
                providers
                    .iter()
                    .position(|slot| slot.config.provider_key.as_deref() == Some(name))
            })
            .unwrap_or(0);
        let chosen = providers.len() == 1 || config.default_provider.is_some();
        let shared = Arc::new(Shared {
            providers,
            codec,
            cache: SessionCache::new(SESSION_CACHE_ENTRIES),
            store_ids: SessionCache::new(STORE_ID_CACHE_ENTRIES),
            used_states: UsedStates::new(USED_STATES),
            refreshes: RefreshGate::default(),
            bearer_cache: BearerCache::new(BEARER_CACHE_ENTRIES),
            used_logout_tokens: UsedStates::with_ttl(USED_LOGOUT_TOKENS, used_logout_token_secs),
            used_logout_token_secs,
            store_keeps_used_keys: AtomicBool::new(true),
            ended_sessions: ExpiringSet::new(ENDED_SESSIONS),
            auth_context,
            introspection: IntrospectionGuard::default(),
            development,
            dpop,
        });
        let mut ctx = Self::of_slot(&shared, shown);
        ctx.chosen = chosen;
        ctx
    }

    fn of_slot(shared: &Arc<Shared>, index: usize) -> Self {
        let slot = &shared.providers[index];
        Self {
            config: slot.config.clone(),
            provider: slot.provider.clone(),
            chosen: true,
            shared: shared.clone(),
        }
    }

    /// Several providers are configured.
    pub(crate) fn has_several_providers(&self) -> bool {
        self.providers.len() > 1
    }

    /// The context of the provider named `name`.
    pub(crate) fn for_provider(&self, name: &str) -> Option<Self> {
        let index = self
            .providers
            .iter()
            .position(|slot| slot.config.provider_key.as_deref() == Some(name))?;
        Some(Self::of_slot(&self.shared, index))
    }

    /// The context of the provider a session or login names: this one, borrowed, when it
    /// is the one named (or, with a single unnamed provider, none is), as on every request
    /// of a session; `None` for a provider not configured (any longer), or none named
    /// where providers have names.
    pub(crate) fn for_named(&self, name: Option<&str>) -> Option<Cow<'_, Self>> {
        if name == self.config.provider_key.as_deref() && (self.chosen || name.is_none()) {
            return Some(Cow::Borrowed(self));
        }
        self.for_provider(name?).map(Cow::Owned)
    }

    /// Whether the provider that signed `session` in is configured: a session of a
    /// provider since removed (or from before providers had names) is no session.
    pub(crate) fn knows_provider_of(&self, session: &crate::session::SessionData) -> bool {
        match session.provider.as_deref() {
            None => self.config.provider_key.is_none(),
            Some(name) => self
                .providers
                .iter()
                .any(|slot| slot.config.provider_key.as_deref() == Some(name)),
        }
    }

    /// Whether `path` is the callback of one of the providers.
    pub(crate) fn is_callback(&self, path: &str) -> bool {
        self.providers
            .iter()
            .any(|slot| slot.config.routes.callback == path)
    }

    /// Whether a provider whose callback is `path` answers with `form_post`.
    pub(crate) fn takes_form_post_at(&self, path: &str) -> bool {
        self.providers.iter().any(|slot| {
            slot.config.routes.callback == path
                && slot.config.response_mode == crate::config::ResponseMode::FormPost
        })
    }

    /// The requirements `identity` must meet: those of the provider that signed it in
    /// (the application's included).
    pub(crate) fn requirements_of(
        &self,
        identity: &crate::identity::Identity,
    ) -> &crate::authz::Require {
        let named = identity.provider().and_then(|name| {
            self.providers
                .iter()
                .find(|slot| slot.config.provider_key.as_deref() == Some(name))
        });
        match named {
            Some(slot) => &slot.config.require,
            None => &self.config.require,
        }
    }

    /// The context of the provider that signed `session` in.
    pub(crate) fn for_session(
        &self,
        session: &crate::session::SessionData,
    ) -> Option<Cow<'_, Self>> {
        self.for_named(session.provider.as_deref())
    }

    /// The context of the provider whose issuer is `iss` (its template, for a multi-tenant
    /// provider, with the token's `tid`); `None` for an issuer no provider has.
    pub(crate) fn for_issuer(&self, iss: &str, tenant: Option<&str>) -> Option<Cow<'_, Self>> {
        if !self.has_several_providers() {
            return Some(Cow::Borrowed(self));
        }
        let index = self
            .providers
            .iter()
            .position(|slot| match &slot.config.tenants {
                Some(tenants) => tenants.accepts(iss, tenant),
                None => crate::issuer::same_issuer(slot.config.issuer_key(), iss),
            })?;
        Some(Cow::Owned(Self::of_slot(&self.shared, index)))
    }

    pub(crate) fn session_cookie(&self) -> &str {
        &self.config.cookie_name
    }

    /// The identity of `session`, able to decode the hook's user.
    pub(crate) fn identity(
        &self,
        session: Arc<crate::session::SessionData>,
    ) -> crate::identity::Identity {
        crate::identity::Identity::new(session).with_user_decoder(self.user_decoder())
    }

    /// What decodes a session's stored user into the user-detail hook's `User` type.
    pub(crate) fn user_decoder(&self) -> Option<Arc<dyn crate::identity::DecodeUser>> {
        self.config
            .user_hook
            .as_ref()
            .map(crate::user::UserHook::decoder)
    }

    /// How many chunks of the session cookie the request carries.
    pub(crate) fn carried_chunks(&self, headers: &http::HeaderMap) -> usize {
        self.codec.count_chunks(headers, self.session_cookie())
    }
}
