//! `from_env`: one table of settings, each with its canonical `OIDC_*` variable, flaskoidc's
//! names for it, and how its value sets the builder. Every error names the variable that
//! was actually set.

use std::time::Duration;

use super::auth_params_file;
use super::client_secrets::ClientSecrets;
use super::flaskoidc;
use super::{AssertionAudience, ClientAuth, Config, ConfigBuilder, ConfigError, ResponseMode};
use crate::authz::Require;
use crate::session::store_url::{self, ParseError, StoreUrl};

/// One setting and every variable that can carry it.
struct Setting {
    /// The canonical variable.
    name: &'static str,
    /// Other names for the same value (flaskoidc's); two names set to different values are
    /// an error, since silently preferring one hides a misconfiguration.
    aliases: &'static [&'static str],
    /// Variables of older conventions (flaskoidc 0.x, flask-session) that carry the value
    /// under rules of their own, reconciled with what the names above gave.
    legacy: Option<Legacy>,
    /// Sets the value on the builder. Its errors, and those `build()` finds in the values
    /// it sets, name the variable that carried the value.
    apply: Apply,
    /// A setting of the provider, which each of several providers may set for itself as
    /// `OIDC_{NAME}_{SETTING}` (`OIDC_GOOGLE_CLIENT_ID` for `OIDC_CLIENT_ID`).
    per_provider: bool,
}

type Apply = fn(ConfigBuilder, Found) -> Result<ConfigBuilder, ConfigError>;
type Legacy = fn(&Vars<'_>, Option<Found>) -> Result<Option<Found>, ConfigError>;

impl Setting {
    const fn new(name: &'static str, apply: Apply) -> Self {
        Self {
            name,
            aliases: &[],
            legacy: None,
            apply,
            per_provider: false,
        }
    }

    const fn per_provider(mut self) -> Self {
        self.per_provider = true;
        self
    }

    const fn alias(mut self, alias: &'static [&'static str]) -> Self {
        self.aliases = alias;
        self
    }

    const fn legacy(mut self, legacy: Legacy) -> Self {
        self.legacy = Some(legacy);
        self
    }

    fn read(&self, vars: &Vars<'_>) -> Result<Option<Found>, ConfigError> {
        let found = vars.find(std::iter::once(self.name).chain(self.aliases.iter().copied()))?;
        match self.legacy {
            Some(reconcile) => reconcile(vars, found),
            None => Ok(found),
        }
    }
}

/// Every setting, in the order they are applied. The order matters only for
/// `OIDC_CLIENT_SECRETS`, last because the file fills in only what no variable set.
static SETTINGS: &[Setting] = &[
    Setting::new("OIDC_ISSUER", |b, v| Ok(b.issuer(v.value))).per_provider(),
    Setting::new("OIDC_CONFIG_URL", |b, v| Ok(b.discovery_url(v.value)))
        .alias(&[flaskoidc::CONFIG_URL])
        .per_provider(),
    Setting::new("OIDC_CLIENT_ID", |b, v| Ok(b.client_id(v.value)))
        .alias(&[flaskoidc::CLIENT_ID])
        .per_provider(),
    Setting::new("OIDC_CLIENT_SECRET", |b, v| Ok(b.client_secret(v.value)))
        .alias(&[flaskoidc::CLIENT_SECRET])
        .per_provider(),
    Setting::new("OIDC_REDIRECT_URI", |b, v| Ok(b.redirect_uri(v.value)))
        .alias(&[flaskoidc::REDIRECT_URI])
        .legacy(flaskoidc::callback)
        .per_provider(),
    Setting::new("OIDC_SCOPES", |b, v| Ok(b.scopes(v.list())))
        .alias(&[flaskoidc::SCOPES])
        .per_provider(),
    Setting::new("OIDC_USER_ID_FIELD", |b, v| {
        Ok(b.user_id_claim(v.value.trim()))
    })
    .alias(&[flaskoidc::USER_ID_FIELD])
    .per_provider(),
    Setting::new("OIDC_WHITELISTED_ENDPOINTS", |b, v| {
        Ok(b.whitelist(v.comma_list()))
    })
    .alias(&[flaskoidc::WHITELISTED_ENDPOINTS]),
    Setting::new("OIDC_SECRET_KEY", |b, v| Ok(b.secret_key(v.value)))
        .alias(&[flaskoidc::SECRET_KEY]),
    Setting::new("OIDC_SECRET_KEY_PREVIOUS", |b, v| {
        Ok(b.previous_secret_keys(v.comma_list()))
    }),
    Setting::new("OIDC_POST_LOGIN_REDIRECT", |b, v| {
        Ok(b.post_login_redirect(v.value))
    })
    .alias(&[flaskoidc::OVERWRITE_REDIRECT_URI]),
    Setting::new("OIDC_PROVIDER_NAME", |b, v| Ok(b.provider_name(v.value)))
        .alias(&[flaskoidc::PROVIDER_NAME])
        .per_provider(),
    Setting::new("OIDC_FORCE_SCHEME", |b, v| {
        Ok(b.force_scheme(v.value.trim().to_ascii_lowercase()))
    })
    .alias(&[flaskoidc::FORCE_SCHEME]),
    Setting::new("OIDC_AUTH_PARAMS_FILE", |b, v| {
        let params = auth_params_file::read(&v)?;
        Ok(params
            .into_iter()
            .fold(b, |b, (name, value)| b.auth_param(name, value)))
    })
    .alias(&[flaskoidc::ADDITIONAL_PARAMETERS_FILE_PATH])
    .per_provider(),
    Setting::new("OIDC_AUTH_PARAMS", |b, v| {
        let params = form_urlencoded::parse(v.value.trim().as_bytes());
        Ok(params.fold(b, |b, (name, value)| b.auth_param(name, value)))
    })
    .per_provider(),
    Setting::new("OIDC_COOKIE_SECURE", |b, v| Ok(b.cookie_secure(v.bool()?))),
    Setting::new("OIDC_COOKIE_NAME", |b, v| Ok(b.cookie_name(v.value))),
    // Before the store, which takes the CA.
    Setting::new("OIDC_SESSION_STORE_CA_FILE", session_store_ca_file),
    Setting::new("OIDC_SESSION_STORE", session_store).legacy(flaskoidc::session_store),
    Setting::new("OIDC_SESSION_MAX_AGE", |b, v| {
        Ok(b.session_max_age(v.seconds()?))
    }),
    Setting::new("OIDC_SESSION_IDLE_TIMEOUT", |b, v| {
        Ok(b.session_idle_timeout(v.seconds()?))
    }),
    Setting::new("OIDC_SESSION_NEAR_CACHE", |b, v| {
        Ok(b.session_near_cache(v.bool()?))
    }),
    Setting::new("OIDC_SESSION_NEAR_CACHE_CAPACITY", |b, v| {
        match v.value.trim().parse::<usize>() {
            Ok(0) | Err(_) => Err(v.error(
                "must be a whole number of sessions, at least 1 \
                 (OIDC_SESSION_NEAR_CACHE=false turns the near cache off)",
            )),
            Ok(sessions) => Ok(b.session_near_cache_capacity(sessions)),
        }
    }),
    Setting::new("OIDC_POST_LOGOUT_REDIRECT_URI", |b, v| {
        Ok(b.post_logout_redirect_uri(v.value))
    }),
    Setting::new("OIDC_LOGIN_PATH", |b, v| Ok(b.login_path(v.value))),
    Setting::new("OIDC_LOGOUT_PATH", |b, v| Ok(b.logout_path(v.value))),
    Setting::new("OIDC_BACKCHANNEL_LOGOUT_PATH", |b, v| {
        Ok(b.backchannel_logout_path(v.value))
    }),
    Setting::new("OIDC_FRONTCHANNEL_LOGOUT_PATH", |b, v| {
        Ok(b.frontchannel_logout_path(v.value))
    }),
    Setting::new("OIDC_SILENT_LOGIN", |b, v| {
        Ok(b.silent_login_first(v.bool()?))
    }),
    Setting::new("OIDC_BASE_PATH", |b, v| Ok(b.base_path(v.value))),
    Setting::new("OIDC_LEEWAY", |b, v| Ok(b.leeway(v.seconds()?))),
    Setting::new("OIDC_TRUST_FORWARDED_HEADERS", |b, v| {
        Ok(b.trust_forwarded_headers(v.bool()?))
    }),
    Setting::new(
        "OIDC_FETCH_USERINFO",
        |b, v| Ok(b.fetch_userinfo(v.bool()?)),
    )
    .per_provider(),
    Setting::new("OIDC_AUDIENCES", |b, v| Ok(b.audiences(v.list()))).per_provider(),
    Setting::new("OIDC_BEARER_ONLY", |b, v| Ok(b.bearer_only(v.bool()?))),
    Setting::new("OIDC_INTROSPECT_TOKENS", |b, v| {
        Ok(b.introspect_opaque_tokens(v.bool()?))
    })
    .per_provider(),
    Setting::new("OIDC_USER_DETAILS_TTL", |b, v| {
        Ok(b.user_details_ttl(v.seconds()?))
    }),
    Setting::new("OIDC_ALLOWED_EMAIL_DOMAINS", |b, v| {
        let domains = v.list();
        if domains.is_empty() {
            return Err(v.error("lists no domain"));
        }
        Ok(b.require(Require::new().email_domain(domains)))
    })
    .per_provider(),
    Setting::new("OIDC_REQUIRED_CLAIMS", |b, v| {
        Ok(b.require(required_claims(&v)?))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_AUTH", |b, v| {
        let auth =
            match v.value.trim() {
                "basic" | "client_secret_basic" => ClientAuth::Basic,
                "post" | "client_secret_post" => ClientAuth::Post,
                "client_secret_jwt" => ClientAuth::SecretJwt,
                "private_key_jwt" => ClientAuth::PrivateKeyJwt,
                "tls_client_auth" => ClientAuth::TlsClientAuth,
                _ => return Err(v.error(
                    "must be `client_secret_basic`, `client_secret_post`, `client_secret_jwt`, \
                     `private_key_jwt` or `tls_client_auth`",
                )),
            };
        Ok(b.client_auth(auth))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_PRIVATE_KEY_FILE", |b, v| {
        Ok(b.client_private_key_file(v.value))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_ASSERTION_ALG", |b, v| {
        let alg = v
            .value
            .trim()
            .parse::<jsonwebtoken::Algorithm>()
            .ok()
            .filter(|alg| {
                !matches!(
                    alg,
                    jsonwebtoken::Algorithm::HS256
                        | jsonwebtoken::Algorithm::HS384
                        | jsonwebtoken::Algorithm::HS512
                )
            })
            .ok_or_else(|| {
                v.error("must be RS256, RS384, RS512, PS256, PS384, PS512, ES256 or EdDSA")
            })?;
        Ok(b.client_assertion_alg(alg))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_ASSERTION_AUDIENCE", |b, v| {
        let audience = match v.value.trim() {
            "token_endpoint" => AssertionAudience::TokenEndpoint,
            "issuer" => AssertionAudience::Issuer,
            _ => return Err(v.error("must be `token_endpoint` or `issuer`")),
        };
        Ok(b.client_assertion_audience(audience))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_CERT_FILE", |b, v| {
        Ok(b.client_certificate_file(v.value))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_KEY_FILE", |b, v| {
        Ok(b.client_certificate_key_file(v.value))
    })
    .per_provider(),
    Setting::new("OIDC_CA_BUNDLE", |b, v| Ok(b.ca_bundle_file(v.value))).per_provider(),
    Setting::new("OIDC_HTTP_PROXY", |b, v| Ok(b.http_proxy(v.value))).per_provider(),
    Setting::new("OIDC_HTTP_TIMEOUT", |b, v| {
        Ok(b.http_timeout(v.positive_seconds()?))
    })
    .per_provider(),
    Setting::new("OIDC_CONNECT_TIMEOUT", |b, v| {
        Ok(b.connect_timeout(v.positive_seconds()?))
    })
    .per_provider(),
    Setting::new("OIDC_USE_PAR", |b, v| {
        Ok(b.pushed_authorization_requests(v.bool()?))
    })
    .per_provider(),
    Setting::new("OIDC_RESPONSE_MODE", |b, v| {
        let mode = match v.value.trim() {
            "query" => ResponseMode::Query,
            "form_post" => ResponseMode::FormPost,
            _ => return Err(v.error("must be `query` or `form_post`")),
        };
        Ok(b.response_mode(mode))
    })
    .per_provider(),
    Setting::new("OIDC_CLIENT_SECRETS", |b, v| {
        let secrets = ClientSecrets::load(v.value.trim()).map_err(|problem| v.error(problem))?;
        Ok(secrets.fill(b))
    })
    .per_provider(),
    Setting::new("OIDC_TRUST_UNVERIFIED_EMAIL", |b, v| {
        Ok(b.danger_trust_unverified_email(v.bool()?))
    })
    .per_provider(),
    Setting::new("OIDC_LOGOUT_GET", |b, v| {
        let trust = match v.value.trim() {
            "confirm" => false,
            "redirect" => true,
            _ => return Err(v.error("must be `confirm` or `redirect`")),
        };
        Ok(b.trust_cross_site_logout_get(trust))
    }),
    Setting::new("OIDC_LOGOUT_TOKEN_MAX_AGE", |b, v| {
        Ok(b.logout_token_max_age(v.seconds()?))
    }),
    Setting::new("OIDC_COOKIE_HOST_PREFIX", |b, v| {
        Ok(b.cookie_host_prefix(v.bool()?))
    }),
    Setting::new("OIDC_ID_TOKEN_SIGNING_ALG", |b, v| {
        let alg = v
            .value
            .parse()
            .map_err(|err: crate::UnknownSigningAlg| v.error(err.to_string()))?;
        Ok(b.id_token_signing_alg(alg))
    })
    .per_provider(),
    Setting::new("OIDC_RESOLVE_CLAIM_SOURCES", |b, v| {
        Ok(b.resolve_claim_sources(v.bool()?))
    })
    .per_provider(),
    Setting::new("OIDC_API_KEYS", |mut b, v| {
        let enabled = b.sourced(v.bool()?);
        b.api_keys.set_enabled(enabled);
        Ok(b)
    }),
    Setting::new("OIDC_API_KEYS_PATH", |mut b, v| {
        let path = b.sourced(v.value);
        b.api_keys.set_path(path);
        Ok(b)
    }),
    Setting::new("OIDC_API_KEYS_PER_USER", |mut b, v| {
        let limit = v
            .value
            .trim()
            .parse::<usize>()
            .map_err(|_| v.error("must be a whole number"))?;
        let limit = b.sourced(limit);
        b.api_keys.set_per_user(limit);
        Ok(b)
    }),
    Setting::new("OIDC_API_KEYS_SCOPES", |mut b, v| {
        let scopes = b.sourced(v.list());
        b.api_keys.set_scopes(scopes);
        Ok(b)
    }),
    Setting::new("OIDC_API_KEYS_END_WITH_SESSIONS", |mut b, v| {
        b.api_keys.set_end_with_sessions(v.bool()?);
        Ok(b)
    }),
    Setting::new("OIDC_DISABLE_AUTH", |b, v| Ok(b.auth_disabled(v.bool()?))),
    Setting::new("OIDC_DEV_USER", |b, v| match v.value.trim() {
        "" => Err(v.error("must name the user every request is given")),
        user => Ok(b.development_user_id(user)),
    }),
    Setting::new("OIDC_DEV_CLAIMS", |b, v| {
        match serde_json::from_str::<serde_json::Value>(&v.value) {
            Ok(claims @ serde_json::Value::Object(_)) => Ok(b.development_claims(claims)),
            _ => Err(v.error("must be a JSON object, e.g. {\"email\": \"alice@example.com\"}")),
        }
    }),
    Setting::new("OIDC_DPOP", |b, v| {
        let mode = v
            .value
            .parse()
            .map_err(|err: crate::UnknownDpopMode| v.error(err.to_string()))?;
        Ok(b.dpop(mode))
    }),
    Setting::new("OIDC_DPOP_NONCE", |b, v| Ok(b.dpop_nonces(v.bool()?))),
    Setting::new("OIDC_DPOP_BIND_TOKENS", |b, v| {
        Ok(b.dpop_bind_tokens(v.bool()?))
    }),
];

pub(super) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    builder_from_lookup(lookup)?.build()
}

/// Reads every setting, then applies what was set: flaskoidc's defaults first (for a
/// flaskoidc deployment), then each variable, its values attributed to it.
pub(super) fn builder_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ConfigBuilder, ConfigError> {
    let vars = Vars { lookup: &lookup };
    let mut set = Vec::new();
    for setting in SETTINGS {
        if let Some(found) = setting.read(&vars)? {
            set.push((setting, found));
        }
    }
    let mut builder = Config::builder();
    if flaskoidc::is_deployment(&vars) {
        builder = flaskoidc::defaults(builder, |name| {
            debug_assert!(
                SETTINGS.iter().any(|setting| setting.name == name),
                "`{name}` is not a setting"
            );
            set.iter()
                .find(|(setting, _)| setting.name == name)
                .map(|(_, found)| found.value.as_str())
        });
    }
    let providers = vars.get("OIDC_PROVIDERS");
    if let Some(list) = &providers {
        refuse_shared_identity(list, &set)?;
    }
    for (setting, found) in set {
        builder = builder.set_by_variable(found.name, |builder| (setting.apply)(builder, found))?;
    }
    if let Some(list) = providers {
        builder = named_providers(&vars, builder, &list)?;
    }
    Ok(builder)
}

/// The settings that make a provider who it is: given once for several providers, they
/// would make them one.
const IDENTITY: &[&str] = &[
    "OIDC_ISSUER",
    "OIDC_CONFIG_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
];

fn refuse_shared_identity(list: &Found, set: &[(&Setting, Found)]) -> Result<(), ConfigError> {
    let shared = set
        .iter()
        .find(|(setting, _)| IDENTITY.contains(&setting.name));
    match shared {
        Some((setting, found)) => Err(found.error(format!(
            "is set together with {}; give each provider its own, as OIDC_{{NAME}}_{}",
            list.name,
            &setting.name["OIDC_".len()..]
        ))),
        None => Ok(()),
    }
}

/// `OIDC_PROVIDERS=google,okta`: each provider's settings from `OIDC_GOOGLE_*`, named like
/// the single provider's (every setting of the table marked `per_provider`); the
/// unprefixed ones are the defaults every provider starts from.
fn named_providers(
    vars: &Vars<'_>,
    mut builder: ConfigBuilder,
    list: &Found,
) -> Result<ConfigBuilder, ConfigError> {
    let names = list.comma_list();
    if names.is_empty() {
        return Err(list.error("lists no provider"));
    }
    for name in names {
        super::providers::check_name(&name).map_err(|problem| list.error(problem))?;
        let prefix = format!("OIDC_{}_", name.to_ascii_uppercase().replace('-', "_"));
        let mut provider = super::ProviderConfig::new();
        let mut any = false;
        for setting in SETTINGS.iter().filter(|setting| setting.per_provider) {
            let Some(found) =
                vars.get_owned(&format!("{prefix}{}", &setting.name["OIDC_".len()..]))
            else {
                continue;
            };
            any = true;
            let apply = setting.apply;
            provider = provider.variable(move |builder| {
                let found = Found {
                    name: found.name,
                    value: found.value.clone(),
                };
                builder.set_by_variable(found.name, |builder| apply(builder, found))
            });
        }
        if let Some(found) = vars.get_owned(&format!("{prefix}NAMESPACE_USER_IDS")) {
            provider = provider.namespace_user_ids(found.bool()?);
        }
        if let Some(template) = vars.get_owned(&format!("{prefix}ISSUER_TEMPLATE")) {
            let tenants_var = format!("{prefix}TENANTS");
            let Some(tenants) = vars.get_owned(&tenants_var) else {
                return Err(template.error(format!(
                    "needs {tenants_var}, the tenants allowed to sign in"
                )));
            };
            provider = provider.tenant_issuer(
                super::TenantIssuer::new(template.value.trim()).allow_tenants(tenants.comma_list()),
            );
        }
        if !any {
            return Err(list.error(format!(
                "names `{name}`, but no {prefix}* variable is set (e.g. {prefix}ISSUER)"
            )));
        }
        builder = builder.provider(name, provider);
    }
    if let Some(default) = vars.get("OIDC_DEFAULT_PROVIDER") {
        builder = builder.default_provider(default.value.trim());
    }
    Ok(builder)
}

/// The variables a configuration is read from.
pub(super) struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Vars<'_> {
    /// The variable `name`, if set.
    pub(super) fn get(&self, name: &'static str) -> Option<Found> {
        (self.lookup)(name).map(|value| Found { name, value })
    }

    /// A variable whose name is made at run time (a provider's), if set.
    fn get_owned(&self, name: &str) -> Option<Found> {
        (self.lookup)(name).map(|value| Found {
            name: variable_name(name),
            value,
        })
    }

    /// One value under several names: the first set, or an error naming two set to
    /// different values.
    fn find(
        &self,
        names: impl IntoIterator<Item = &'static str>,
    ) -> Result<Option<Found>, ConfigError> {
        let mut found: Option<Found> = None;
        for next in names.into_iter().filter_map(|name| self.get(name)) {
            match &found {
                Some(first) if first.value != next.value => {
                    return Err(ConfigError::new(
                        format!("{} and {}", first.name, next.name),
                        "both are set, to different values; keep one",
                    ));
                }
                Some(_) => {}
                None => found = Some(next),
            }
        }
        Ok(found)
    }
}

/// `name` for the life of the process, as errors and builder values keep the variables'
/// names: each distinct name is kept once, and only names of variables that are set, so
/// what is kept is bounded by the environment's own size.
fn variable_name(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(Mutex::default);
    let mut names = match names.lock() {
        Ok(names) => names,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(known) = names.get(name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

/// A value and the variable that carried it.
pub(super) struct Found {
    pub(super) name: &'static str,
    pub(super) value: String,
}

impl Found {
    /// An error about this value, naming its variable.
    pub(super) fn error(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::new(self.name, problem)
    }

    fn bool(&self) -> Result<bool, ConfigError> {
        match self.value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(self.error("must be `true` or `false`")),
        }
    }

    fn seconds(&self) -> Result<Duration, ConfigError> {
        self.value
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| self.error("must be a whole number of seconds"))
    }

    fn positive_seconds(&self) -> Result<Duration, ConfigError> {
        match self.seconds()? {
            zero if zero.is_zero() => Err(self.error("must be at least 1 second")),
            seconds => Ok(seconds),
        }
    }

    /// Items separated by commas or white space: flaskoidc 1.x writes scopes space
    /// separated, 0.x deployments comma separated.
    fn list(&self) -> Vec<String> {
        self.value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Items separated by commas only, trimmed.
    fn comma_list(&self) -> Vec<String> {
        self.value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn session_store(mut builder: ConfigBuilder, found: Found) -> Result<ConfigBuilder, ConfigError> {
    let ca = builder.session_store_ca.take();
    let store = match store_url::parse(&found.value, ca.as_ref().map(|ca| ca.value.as_slice())) {
        Ok(store) => store,
        Err(ParseError::Url(problem)) => return Err(found.error(problem)),
        Err(ParseError::CaUnused) => {
            let ca_name = ca.map_or("session_store_ca", |ca| ca.name("session_store_ca"));
            return Err(ConfigError::new(
                ca_name,
                format!(
                    "is set, but {} names no `rediss` Redis store, the only kind it applies to",
                    found.name
                ),
            ));
        }
    };
    match store {
        StoreUrl::Cookie => Ok(builder),
        StoreUrl::Memory => Ok(builder.memory_sessions()),
        #[cfg(feature = "redis")]
        StoreUrl::Redis(store) => Ok(builder.session_store(store)),
        #[cfg(feature = "sql")]
        StoreUrl::Sql(store) => Ok(builder.session_store(store)),
    }
}

/// The CA certificates a `rediss` session store trusts instead of the system's: a PEM
/// file, read now so that a wrong path is named here rather than at the first connection.
fn session_store_ca_file(
    mut builder: ConfigBuilder,
    found: Found,
) -> Result<ConfigBuilder, ConfigError> {
    let path = found.value.trim();
    let pem =
        std::fs::read(path).map_err(|err| found.error(format!("cannot read {path}: {err}")))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(found.error(format!("{path} holds no PEM certificate")));
    }
    builder.session_store_ca = Some(builder.sourced(pem));
    Ok(builder)
}

/// `groups=admins,realm_access.roles=admin`: each claim (a dotted path for nested claims)
/// must contain its value.
fn required_claims(found: &Found) -> Result<Require, ConfigError> {
    let mut require = Require::new();
    for entry in found.comma_list() {
        let claim = entry
            .split_once('=')
            .map(|(path, value)| (path.trim(), value.trim()))
            .filter(|(path, value)| !path.is_empty() && !value.is_empty());
        let Some((path, value)) = claim else {
            return Err(found.error(format!("`{entry}` must be `claim=value`")));
        };
        require = require.claim_contains(path, value);
    }
    if require.is_empty() {
        return Err(found.error("lists no requirement"));
    }
    Ok(require)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::test_support::config;

    const KEY: &str = "0123456789abcdef0123456789abcdef-key";

    #[test]
    fn canonical_names() {
        let config = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            ("OIDC_SECRET_KEY", KEY),
            ("OIDC_SCOPES", "openid email offline_access"),
            ("OIDC_WHITELISTED_ENDPOINTS", "health,/static/*"),
            ("OIDC_USER_ID_FIELD", "email"),
            ("OIDC_COOKIE_SECURE", "false"),
        ])
        .expect("valid");
        assert_eq!(config.client_id, "app");
        assert_eq!(config.scopes, ["openid", "email", "offline_access"]);
        assert_eq!(config.user_id_claim, "email");
        assert!(!config.cookie_secure);
        assert!(config.whitelist.matches_clean("/health"));
        assert!(config.whitelist.matches_clean("/static/app.js"));
    }

    #[test]
    fn the_near_cache_is_on_by_default_and_sized_or_turned_off_by_variables() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars).expect("valid").session_near_cache
        };
        assert_eq!(with(&[]), 10_000);
        assert_eq!(with(&[("OIDC_SESSION_NEAR_CACHE_CAPACITY", " 500 ")]), 500);
        assert_eq!(with(&[("OIDC_SESSION_NEAR_CACHE", "false")]), 0);
        assert_eq!(
            with(&[
                ("OIDC_SESSION_NEAR_CACHE", "off"),
                ("OIDC_SESSION_NEAR_CACHE_CAPACITY", "500"),
            ]),
            0
        );
        assert_eq!(with(&[("OIDC_SESSION_NEAR_CACHE", "true")]), 10_000);
    }

    #[test]
    fn errors_name_the_variable_the_user_set() {
        let err = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("FLASK_OIDC_CLIENT_ID", ""),
            ("FLASK_OIDC_SECRET_KEY", KEY),
        ])
        .unwrap_err();
        assert_eq!(err.setting(), "FLASK_OIDC_CLIENT_ID");
        let err = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("FLASK_OIDC_SECRET_KEY", "base-flask-oidc-secret-key"),
        ])
        .unwrap_err();
        assert_eq!(err.setting(), "FLASK_OIDC_SECRET_KEY");
        let err = config(&[("OIDC_CLIENT_ID", "app"), ("OIDC_SECRET_KEY", KEY)]).unwrap_err();
        assert_eq!(err.setting(), "issuer");
        assert!(err.problem().contains("OIDC_ISSUER"));
    }

    #[test]
    fn several_providers_from_prefixed_variables() {
        let config = config(&[
            ("OIDC_PROVIDERS", "google, okta"),
            ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("OIDC_GOOGLE_CLIENT_ID", "g"),
            ("OIDC_GOOGLE_AUTH_PARAMS", "access_type=offline"),
            ("OIDC_OKTA_ISSUER", "https://acme.okta.com"),
            ("OIDC_OKTA_CLIENT_ID", "o"),
            ("OIDC_OKTA_SCOPES", "openid groups"),
            ("OIDC_OKTA_REDIRECT_URI", "/auth/okta"),
            ("OIDC_OKTA_NAMESPACE_USER_IDS", "false"),
            ("OIDC_OKTA_PROVIDER_NAME", "Acme staff"),
            ("OIDC_SCOPES", "openid email"),
            ("OIDC_DEFAULT_PROVIDER", "okta"),
            ("OIDC_SECRET_KEY", KEY),
        ])
        .expect("valid");
        let [google, okta] = &config.providers[..] else {
            panic!("two providers")
        };
        assert_eq!(google.client_id, "g");
        assert_eq!(google.scopes, ["openid", "email"]);
        assert_eq!(
            google.auth_params,
            [("access_type".into(), "offline".into())]
        );
        assert!(google.namespace_user_ids);
        assert_eq!(okta.scopes, ["openid", "groups"]);
        assert_eq!(okta.routes.callback, "/auth/okta");
        assert!(!okta.namespace_user_ids);
        assert_eq!(okta.provider_name.as_deref(), Some("Acme staff"));
        assert_eq!(config.client_id, "o", "the default provider is shown");
    }

    #[test]
    fn provider_errors_name_the_prefixed_variable() {
        let base = [
            ("OIDC_PROVIDERS", "google,okta"),
            ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("OIDC_GOOGLE_CLIENT_ID", "g"),
            ("OIDC_OKTA_ISSUER", "https://acme.okta.com"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars).unwrap_err()
        };
        let err = with(&[("OIDC_OKTA_CLIENT_ID", " ")]);
        assert_eq!(err.setting(), "OIDC_OKTA_CLIENT_ID");
        let err = with(&[
            ("OIDC_OKTA_CLIENT_ID", "o"),
            ("OIDC_OKTA_LEEWAY", "x"),
            ("OIDC_OKTA_FETCH_USERINFO", "maybe"),
        ]);
        assert_eq!(err.setting(), "OIDC_OKTA_FETCH_USERINFO");
        let err = with(&[("OIDC_OKTA_CLIENT_ID", "o"), ("OIDC_CLIENT_ID", "shared")]);
        assert_eq!(err.setting(), "OIDC_CLIENT_ID");
        let err = with(&[
            ("OIDC_OKTA_CLIENT_ID", "o"),
            ("OIDC_PROVIDERS", "google,okta,azure"),
        ]);
        assert!(err.problem().contains("OIDC_AZURE_"), "{err}");
    }

    #[test]
    fn every_provider_setting_has_a_prefixed_form() {
        for setting in SETTINGS.iter().filter(|setting| setting.per_provider) {
            let suffix = &setting.name["OIDC_".len()..];
            let variable = format!("OIDC_ONE_{suffix}");
            let lookup = |name: &str| {
                (name == "OIDC_PROVIDERS")
                    .then(|| "one".to_owned())
                    .or_else(|| {
                        (name == variable).then(|| "\u{1}not a valid value\u{1}".to_owned())
                    })
            };
            // Read: either accepted, or refused in its own name.
            if let Err(err) = Config::from_lookup(lookup) {
                assert!(
                    err.setting() == variable || err.setting().starts_with("provider(\"one\")"),
                    "{variable}: {err}"
                );
            }
        }
    }

    #[test]
    fn contradictory_aliases_are_refused() {
        let err = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("FLASK_OIDC_CLIENT_ID", "b"),
            ("OIDC_SECRET_KEY", KEY),
        ])
        .unwrap_err();
        assert_eq!(err.setting(), "OIDC_CLIENT_ID and FLASK_OIDC_CLIENT_ID");
    }

    #[test]
    fn bad_booleans_and_stores_are_named() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let mut vars = base.to_vec();
        vars.push(("OIDC_COOKIE_SECURE", "maybe"));
        assert_eq!(config(&vars).unwrap_err().setting(), "OIDC_COOKIE_SECURE");
        let mut vars = base.to_vec();
        vars.push(("OIDC_SESSION_STORE", "mongodb://x"));
        assert_eq!(config(&vars).unwrap_err().setting(), "OIDC_SESSION_STORE");
    }

    /// Store URLs build lazily-connecting stores: no runtime and no server needed here
    /// (port 1 has nothing listening). Without the feature, the error says which one.
    #[test]
    fn session_store_urls() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let cases = [
            (
                "redis://127.0.0.1:1/0",
                "RedisStore",
                cfg!(feature = "redis"),
            ),
            (
                "rediss://:pw@127.0.0.1:1",
                "RedisStore",
                cfg!(feature = "redis"),
            ),
            ("sqlite:///sessions.db", "SqlStore", cfg!(feature = "sql")),
            ("sqlite::memory:", "SqlStore", cfg!(feature = "sql")),
            (
                "postgres://u:pw@127.0.0.1:1/db",
                "SqlStore",
                cfg!(feature = "sql"),
            ),
            (
                "postgresql://127.0.0.1:1/db",
                "SqlStore",
                cfg!(feature = "sql"),
            ),
        ];
        for (url, store, enabled) in cases {
            let mut vars = base.to_vec();
            vars.push(("OIDC_SESSION_STORE", url));
            match config(&vars) {
                Ok(config) => {
                    assert!(enabled, "{url}");
                    let debug = format!("{:?}", config.session);
                    assert!(debug.contains(store), "{url}: {debug}");
                }
                Err(err) => {
                    assert!(!enabled, "{url}: {err}");
                    assert_eq!(err.setting(), "OIDC_SESSION_STORE");
                    assert!(err.problem().contains("feature"), "{err}");
                }
            }
        }
        let mut vars = base.to_vec();
        vars.push(("OIDC_SESSION_STORE", "sqlite:x.db?bogus=1"));
        if cfg!(feature = "sql") {
            assert_eq!(config(&vars).unwrap_err().setting(), "OIDC_SESSION_STORE");
        }
    }

    /// A method without its credentials is refused, naming `OIDC_CLIENT_AUTH`.
    #[test]
    fn client_auth_methods_need_their_credentials() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        for method in ["client_secret_jwt", "private_key_jwt", "tls_client_auth"] {
            let mut vars = base.to_vec();
            vars.push(("OIDC_CLIENT_AUTH", method));
            let err = config(&vars).unwrap_err();
            assert_eq!(err.setting(), "OIDC_CLIENT_AUTH", "{method}: {err}");
        }
        let key = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/testing/keys/client_ec.jwks.json"
        );
        let mut vars = base.to_vec();
        vars.extend([
            ("OIDC_CLIENT_AUTH", "private_key_jwt"),
            ("OIDC_CLIENT_PRIVATE_KEY_FILE", key),
        ]);
        let config = config(&vars).expect("valid");
        assert_eq!(config.client_auth, Some(ClientAuth::PrivateKeyJwt));
        assert!(config.client_key.is_some());
        assert!(!format!("{config:?}").contains("\"d\""));
        let mut vars = base.to_vec();
        vars.push(("OIDC_CLIENT_KEY_FILE", key));
        assert_eq!(
            self::config(&vars).unwrap_err().setting(),
            "OIDC_CLIENT_KEY_FILE"
        );
        let rsa = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/testing/keys/client_rsa.pem"
        );
        for (alg, fits) in [("PS256", true), ("ES256", false)] {
            let mut vars = base.to_vec();
            vars.extend([
                ("OIDC_CLIENT_PRIVATE_KEY_FILE", rsa),
                ("OIDC_CLIENT_ASSERTION_ALG", alg),
            ]);
            match self::config(&vars) {
                Ok(_) => assert!(fits, "{alg}"),
                Err(err) => {
                    assert!(!fits, "{alg}: {err}");
                    assert_eq!(err.setting(), "OIDC_CLIENT_ASSERTION_ALG");
                }
            }
        }
        let mut vars = base.to_vec();
        vars.push((
            "OIDC_CLIENT_PRIVATE_KEY_FILE",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ));
        assert_eq!(
            self::config(&vars).unwrap_err().setting(),
            "OIDC_CLIENT_PRIVATE_KEY_FILE"
        );
    }

    /// The CA applies to a `rediss` Redis store only; set for any other store, or none,
    /// it is an error naming it.
    #[test]
    fn the_session_store_ca_needs_a_tls_redis_store() {
        let path = std::env::temp_dir().join(format!("tower-oidc-ca-{}.pem", std::process::id()));
        let not_pem =
            std::env::temp_dir().join(format!("tower-oidc-not-ca-{}.pem", std::process::id()));
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        std::fs::write(&not_pem, "just text").expect("write");
        let (file, not_pem_file) = (
            path.to_string_lossy().into_owned(),
            not_pem.to_string_lossy().into_owned(),
        );
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let stores: &[Option<&str>] = &[
            None,
            Some("memory"),
            Some("cookie"),
            Some("redis://127.0.0.1:1/0"),
            Some("sqlite:///sessions.db"),
        ];
        for store in stores {
            let mut vars = base.to_vec();
            vars.push(("OIDC_SESSION_STORE_CA_FILE", &file));
            vars.extend(store.map(|store| ("OIDC_SESSION_STORE", store)));
            let err = config(&vars).expect_err("an unused CA");
            assert_eq!(
                err.setting(),
                "OIDC_SESSION_STORE_CA_FILE",
                "{store:?}: {err}"
            );
            assert!(err.problem().contains("rediss"), "{store:?}: {err}");
        }
        let mut vars = base.to_vec();
        vars.push(("OIDC_SESSION_STORE_CA_FILE", &not_pem_file));
        vars.push(("OIDC_SESSION_STORE", "rediss://127.0.0.1:1"));
        let err = config(&vars).expect_err("not a PEM file");
        assert_eq!(err.setting(), "OIDC_SESSION_STORE_CA_FILE");
        assert!(err.problem().contains("no PEM certificate"), "{err}");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&not_pem);
    }

    #[test]
    fn flask_oidc_client_secrets_json() {
        let path =
            std::env::temp_dir().join(format!("tower-oidc-secrets-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"web": {"issuer": "https://op.example.com", "client_id": "from-file",
                "client_secret": "file-secret", "auth_uri": "https://op.example.com/authorize",
                "token_uri": "https://op.example.com/token",
                "redirect_uris": ["https://app.example.com/oidc/callback"]}}"#,
        )
        .expect("write");
        let file = path.to_string_lossy().into_owned();
        let from_file =
            config(&[("OIDC_CLIENT_SECRETS", &file), ("OIDC_SECRET_KEY", KEY)]).expect("valid");
        assert_eq!(from_file.client_id, "from-file");
        assert_eq!(
            from_file
                .client_secret
                .as_ref()
                .map(|s| s.expose().to_owned())
                .as_deref(),
            Some("file-secret")
        );
        assert_eq!(from_file.routes.callback, "/oidc/callback");
        assert!(matches!(
            from_file.provider,
            crate::config::ProviderSource::Discovery { .. }
        ));
        // Variables set explicitly take precedence over the file.
        let overridden = config(&[
            ("OIDC_CLIENT_SECRETS", &file),
            ("OIDC_SECRET_KEY", KEY),
            ("OIDC_CLIENT_ID", "from-env"),
        ])
        .expect("valid");
        assert_eq!(overridden.client_id, "from-env");
        let _ = std::fs::remove_file(&path);
        let missing = config(&[("OIDC_CLIENT_SECRETS", "/nonexistent/secrets.json")]).unwrap_err();
        assert_eq!(missing.setting(), "OIDC_CLIENT_SECRETS");
    }

    #[test]
    fn authlib_style_parameter_files() {
        let path =
            std::env::temp_dir().join(format!("tower-oidc-authlib-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"authorize_params": {"audience": "api"}, "client_kwargs": {"scope": "x"}}"#,
        )
        .expect("write");
        let file = path.to_string_lossy().into_owned();
        let config = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
            ("OIDC_AUTH_PARAMS_FILE", &file),
        ])
        .expect("valid");
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            config.auth_params,
            [("audience".to_owned(), "api".to_owned())]
        );
    }

    #[test]
    fn required_claims_syntax() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        for bad in ["groups", "=x", "groups=", ",", ""] {
            let mut vars = base.to_vec();
            vars.push(("OIDC_REQUIRED_CLAIMS", bad));
            assert_eq!(
                config(&vars).unwrap_err().setting(),
                "OIDC_REQUIRED_CLAIMS",
                "{bad:?}"
            );
        }
        let mut vars = base.to_vec();
        vars.push((
            "OIDC_REQUIRED_CLAIMS",
            "groups=admins, realm_access.roles=admin",
        ));
        let config = config(&vars).expect("valid");
        assert!(!config.require.is_empty());
    }

    #[test]
    fn additional_parameters_file() {
        let dir = std::env::temp_dir().join(format!("tower-oidc-params-{}", std::process::id()));
        std::fs::write(&dir, r#"{"access_type": "offline", "prompt": "consent"}"#).expect("write");
        let path = dir.to_string_lossy().into_owned();
        let config = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
            ("FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH", &path),
        ])
        .expect("valid");
        let _ = std::fs::remove_file(&dir);
        assert!(config
            .auth_params
            .contains(&("access_type".to_owned(), "offline".to_owned())));
    }

    /// A bad value for every variable that can have one (canonical names, flaskoidc
    /// aliases, 0.x and flask-session names), whether the problem shows when it is read or
    /// in `build()`.
    const BAD_VALUES: &[(&str, &str)] = &[
        ("OIDC_ISSUER", "op.example.com"),
        ("OIDC_CONFIG_URL", "ftp://op.example.com/x"),
        ("FLASK_OIDC_CONFIG_URL", "ftp://op.example.com/x"),
        ("OIDC_CLIENT_ID", " "),
        ("FLASK_OIDC_CLIENT_ID", " "),
        ("OIDC_REDIRECT_URI", "javascript:alert(1)"),
        ("FLASK_OIDC_REDIRECT_URI", "javascript:alert(1)"),
        ("OVERWRITE_REDIRECT_URI", "javascript:alert(1)"),
        ("OIDC_CALLBACK_ROUTE", "callback"),
        ("OIDC_USER_ID_FIELD", " "),
        ("FLASK_OIDC_USER_ID_FIELD", " "),
        ("OIDC_WHITELISTED_ENDPOINTS", "health,/a?b"),
        ("FLASK_OIDC_WHITELISTED_ENDPOINTS", "health,/a?b"),
        ("OIDC_SECRET_KEY", "short"),
        ("FLASK_OIDC_SECRET_KEY", "base-flask-oidc-secret-key"),
        (
            "OIDC_SECRET_KEY_PREVIOUS",
            "0123456789abcdef0123456789abcdef-previous,short",
        ),
        ("OIDC_POST_LOGIN_REDIRECT", "javascript:alert(1)"),
        ("FLASK_OIDC_OVERWRITE_REDIRECT_URI", "//evil.example.com"),
        ("OIDC_FORCE_SCHEME", "ftp"),
        ("FLASK_OIDC_FORCE_SCHEME", "ftp"),
        ("OIDC_AUTH_PARAMS_FILE", "/nonexistent/params.json"),
        (
            "FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH",
            "/nonexistent/params.json",
        ),
        ("OIDC_AUTH_PARAMS", "audience=api&scope=admin"),
        ("OIDC_COOKIE_SECURE", "maybe"),
        ("OIDC_COOKIE_NAME", "my cookie"),
        ("OIDC_SESSION_STORE", "mongodb://x"),
        ("OIDC_SESSION_STORE_CA_FILE", "/nonexistent/redis-ca.pem"),
        ("SESSION_TYPE", "filesystem"),
        ("SQLALCHEMY_DATABASE_URI", "mysql://x/y"),
        ("OIDC_SESSION_MAX_AGE", "8h"),
        ("OIDC_SESSION_IDLE_TIMEOUT", "1"),
        ("OIDC_SESSION_NEAR_CACHE", "maybe"),
        ("OIDC_SESSION_NEAR_CACHE_CAPACITY", "0"),
        ("OIDC_POST_LOGOUT_REDIRECT_URI", "not a url"),
        ("OIDC_LOGIN_PATH", "login"),
        ("OIDC_LOGOUT_PATH", "/log out"),
        ("OIDC_BACKCHANNEL_LOGOUT_PATH", "//x"),
        ("OIDC_FRONTCHANNEL_LOGOUT_PATH", "//x"),
        ("OIDC_SILENT_LOGIN", "maybe"),
        ("OIDC_BASE_PATH", "app"),
        ("OIDC_LEEWAY", "-1"),
        ("OIDC_TRUST_FORWARDED_HEADERS", "maybe"),
        ("OIDC_FETCH_USERINFO", "2"),
        ("OIDC_AUDIENCES", ","),
        ("OIDC_BEARER_ONLY", "maybe"),
        ("OIDC_INTROSPECT_TOKENS", "maybe"),
        ("OIDC_USER_DETAILS_TTL", "1h"),
        ("OIDC_ALLOWED_EMAIL_DOMAINS", ","),
        ("OIDC_REQUIRED_CLAIMS", "groups"),
        ("OIDC_CLIENT_AUTH", "kerberos"),
        ("OIDC_CLIENT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
        ("OIDC_CLIENT_ASSERTION_ALG", "HS256"),
        ("OIDC_CLIENT_ASSERTION_AUDIENCE", "resource"),
        ("OIDC_CLIENT_CERT_FILE", "/nonexistent/cert.pem"),
        ("OIDC_CLIENT_KEY_FILE", "/nonexistent/key.pem"),
        ("OIDC_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("OIDC_HTTP_PROXY", "proxy.example.com:3128"),
        ("OIDC_HTTP_TIMEOUT", "0"),
        ("OIDC_CONNECT_TIMEOUT", "5s"),
        ("OIDC_USE_PAR", "maybe"),
        ("OIDC_RESPONSE_MODE", "fragment"),
        ("OIDC_CLIENT_SECRETS", "/nonexistent/secrets.json"),
        ("OIDC_TRUST_UNVERIFIED_EMAIL", "maybe"),
        ("OIDC_LOGOUT_GET", "always"),
        ("OIDC_LOGOUT_TOKEN_MAX_AGE", "5m"),
        ("OIDC_COOKIE_HOST_PREFIX", "maybe"),
        ("OIDC_ID_TOKEN_SIGNING_ALG", "RS1"),
        ("OIDC_RESOLVE_CLAIM_SOURCES", "maybe"),
        ("OIDC_API_KEYS", "maybe"),
        ("OIDC_API_KEYS_PATH", "api-keys"),
        ("OIDC_API_KEYS_PER_USER", "0"),
        ("OIDC_API_KEYS_SCOPES", "read \"write\""),
        ("OIDC_API_KEYS_END_WITH_SESSIONS", "maybe"),
        ("OIDC_DISABLE_AUTH", "maybe"),
        ("OIDC_DEV_USER", " "),
        ("OIDC_DEV_CLAIMS", "[\"admin\"]"),
        ("OIDC_DPOP", "on"),
        ("OIDC_DPOP_NONCE", "maybe"),
        ("OIDC_DPOP_BIND_TOKENS", "maybe"),
    ];

    /// Variables every value of which is accepted.
    const ALWAYS_VALID: &[&str] = &[
        "OIDC_CLIENT_SECRET",
        "FLASK_OIDC_CLIENT_SECRET",
        "OIDC_SCOPES",
        "FLASK_OIDC_SCOPES",
        "OIDC_PROVIDER_NAME",
        "FLASK_OIDC_PROVIDER_NAME",
    ];

    #[test]
    fn every_error_names_the_variable_set() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        for &(name, bad) in BAD_VALUES {
            // The base names the same setting under its canonical name: leave it out.
            let setting = SETTINGS
                .iter()
                .find(|setting| setting.name == name || setting.aliases.contains(&name));
            let mut vars: Vec<(&str, &str)> = base
                .iter()
                .copied()
                .filter(|(base_name, _)| setting.is_none_or(|s| s.name != *base_name))
                .collect();
            vars.push((name, bad));
            let err = config(&vars).expect_err(name);
            assert_eq!(err.setting(), name, "{name}={bad:?}: {err}");
        }
    }

    #[test]
    fn every_variable_is_covered_by_the_error_test() {
        for setting in SETTINGS {
            for name in std::iter::once(setting.name).chain(setting.aliases.iter().copied()) {
                assert!(
                    BAD_VALUES.iter().any(|(bad, _)| *bad == name) || ALWAYS_VALID.contains(&name),
                    "{name} has no bad value in BAD_VALUES"
                );
            }
        }
    }

    #[test]
    fn each_name_belongs_to_one_setting_and_every_flaskoidc_name_is_an_alias() {
        let mut names: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|setting| {
                std::iter::once(setting.name).chain(setting.aliases.iter().copied())
            })
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a variable names two settings");
        let mut aliases: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|setting| setting.aliases.iter().copied())
            .collect();
        aliases.sort_unstable();
        let mut flaskoidc_names = flaskoidc::NAMES.to_vec();
        flaskoidc_names.sort_unstable();
        assert_eq!(aliases, flaskoidc_names);
    }

    #[test]
    fn values_from_client_secrets_json_name_the_file_variable() {
        let path = std::env::temp_dir().join(format!(
            "tower-oidc-bad-secrets-{}.json",
            std::process::id()
        ));
        let file = path.to_string_lossy().into_owned();
        let cases = [
            r#"{"web": {"issuer": "op.example.com", "client_id": "app"}}"#,
            r#"{"web": {"issuer": "https://op.example.com", "client_id": " "}}"#,
            r#"{"issuer": "https://op.example.com", "client_id": "app",
                "redirect_uris": ["javascript:alert(1)"]}"#,
        ];
        for json in cases {
            std::fs::write(&path, json).expect("write");
            let err = config(&[("OIDC_CLIENT_SECRETS", &file), ("OIDC_SECRET_KEY", KEY)])
                .expect_err(json);
            assert_eq!(err.setting(), "OIDC_CLIENT_SECRETS", "{json}: {err}");
        }
        let _ = std::fs::remove_file(&path);
    }

    /// The file's endpoints give way to a provider variable read before the file.
    #[test]
    fn variables_take_precedence_over_the_client_secrets_provider() {
        let path = std::env::temp_dir().join(format!(
            "tower-oidc-endpoint-secrets-{}.json",
            std::process::id()
        ));
        std::fs::write(
            &path,
            r#"{"issuer": "https://file.example.com", "client_id": "from-file",
                "authorization_endpoint": "https://file.example.com/authorize",
                "token_endpoint": "https://file.example.com/token",
                "jwks_uri": "https://file.example.com/jwks"}"#,
        )
        .expect("write");
        let file = path.to_string_lossy().into_owned();
        let from_file =
            config(&[("OIDC_CLIENT_SECRETS", &file), ("OIDC_SECRET_KEY", KEY)]).expect("valid");
        assert!(matches!(
            from_file.provider,
            crate::config::ProviderSource::Manual(_)
        ));
        let overridden = config(&[
            ("OIDC_CLIENT_SECRETS", &file),
            ("OIDC_SECRET_KEY", KEY),
            ("OIDC_ISSUER", "https://env.example.com"),
        ])
        .expect("valid");
        let _ = std::fs::remove_file(&path);
        match overridden.provider {
            crate::config::ProviderSource::Discovery { url, .. } => assert_eq!(
                url.as_str(),
                "https://env.example.com/.well-known/openid-configuration"
            ),
            crate::config::ProviderSource::Manual(_) => panic!("the variable should win"),
        }
    }

    /// A builder method called after `builder_from_env` owns the value it sets: errors
    /// about it name the method, not the variable it replaced.
    #[test]
    fn builder_calls_after_the_environment_are_named_as_methods() {
        let lookup = |name: &str| match name {
            "OIDC_ISSUER" => Some("https://op.example.com".to_owned()),
            "OIDC_CLIENT_ID" => Some("app".to_owned()),
            "OIDC_SECRET_KEY" => Some(KEY.to_owned()),
            "OIDC_WHITELISTED_ENDPOINTS" => Some("health".to_owned()),
            "OIDC_AUTH_PARAMS" => Some("audience=api".to_owned()),
            _ => None,
        };
        let builder = || builder_from_lookup(lookup).expect("valid");
        assert_eq!(
            builder().client_id(" ").build().unwrap_err().setting(),
            "client_id"
        );
        assert_eq!(
            builder().whitelist(["/a?b"]).build().unwrap_err().setting(),
            "whitelist"
        );
        let err = builder()
            .auth_param("audience", "other")
            .build()
            .unwrap_err();
        assert_eq!(err.setting(), "OIDC_AUTH_PARAMS and auth_params");
        assert!(builder().auth_param("audience", "api").build().is_ok());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut vars = vec![
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_CLIENT_SECRET", "client-secret-value"),
            ("OIDC_SECRET_KEY", "secret-key-value-0123456789abcdef"),
        ];
        if cfg!(feature = "redis") {
            vars.push((
                "OIDC_SESSION_STORE",
                "redis://:redis-password@127.0.0.1:1/0",
            ));
        }
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let builder = builder_from_lookup(|name| map.get(name).cloned()).expect("valid");
        let builder_debug = format!("{builder:?}");
        let config_debug = format!("{:?}", builder.build().expect("valid"));
        for debug in [builder_debug, config_debug] {
            for secret in ["client-secret-value", "secret-key-value", "redis-password"] {
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            assert!(debug.contains("client_secret: Some([redacted])"), "{debug}");
            assert!(debug.contains("app"), "{debug}");
        }
    }
}
