//! `from_env`: the canonical `OIDC_*` names and flaskoidc's names as aliases.

use std::time::Duration;

use super::client_secrets::ClientSecrets;
use super::{ClientAuth, Config, ConfigBuilder, ConfigError};
use crate::authz::Require;

/// Each setting with its canonical variable first and its flaskoidc aliases after.
const ISSUER: &[&str] = &["OIDC_ISSUER"];
const CONFIG_URL: &[&str] = &["OIDC_CONFIG_URL", "FLASK_OIDC_CONFIG_URL"];
const CLIENT_ID: &[&str] = &["OIDC_CLIENT_ID", "FLASK_OIDC_CLIENT_ID"];
const CLIENT_SECRET: &[&str] = &["OIDC_CLIENT_SECRET", "FLASK_OIDC_CLIENT_SECRET"];
const REDIRECT_URI: &[&str] = &["OIDC_REDIRECT_URI", "FLASK_OIDC_REDIRECT_URI"];
/// flaskoidc 0.x: the absolute callback URL sent to the provider. Not the same as 1.x's
/// `FLASK_OIDC_OVERWRITE_REDIRECT_URI`, the landing page after login.
const OVERWRITE_REDIRECT_URI_0X: &[&str] = &["OVERWRITE_REDIRECT_URI"];
/// flaskoidc 0.x: the callback route.
const CALLBACK_ROUTE_0X: &[&str] = &["OIDC_CALLBACK_ROUTE"];
const SCOPES: &[&str] = &["OIDC_SCOPES", "FLASK_OIDC_SCOPES"];
const USER_ID_FIELD: &[&str] = &["OIDC_USER_ID_FIELD", "FLASK_OIDC_USER_ID_FIELD"];
const WHITELIST: &[&str] = &[
    "OIDC_WHITELISTED_ENDPOINTS",
    "FLASK_OIDC_WHITELISTED_ENDPOINTS",
];
const SECRET_KEY: &[&str] = &["OIDC_SECRET_KEY", "FLASK_OIDC_SECRET_KEY"];
const POST_LOGIN: &[&str] = &[
    "OIDC_POST_LOGIN_REDIRECT",
    "FLASK_OIDC_OVERWRITE_REDIRECT_URI",
];
const PROVIDER_NAME: &[&str] = &["OIDC_PROVIDER_NAME", "FLASK_OIDC_PROVIDER_NAME"];
const FORCE_SCHEME: &[&str] = &["OIDC_FORCE_SCHEME", "FLASK_OIDC_FORCE_SCHEME"];
const AUTH_PARAMS_FILE: &[&str] = &[
    "OIDC_AUTH_PARAMS_FILE",
    "FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH",
];
const AUTH_PARAMS: &[&str] = &["OIDC_AUTH_PARAMS"];
const CLIENT_SECRETS: &[&str] = &["OIDC_CLIENT_SECRETS"];
const COOKIE_SECURE: &[&str] = &["OIDC_COOKIE_SECURE"];
const COOKIE_NAME: &[&str] = &["OIDC_COOKIE_NAME"];
const SESSION_STORE: &[&str] = &["OIDC_SESSION_STORE"];
/// flask-session's store type and Flask-SQLAlchemy's database, as flaskoidc deployments set
/// them.
const SESSION_TYPE: &[&str] = &["SESSION_TYPE"];
const SQLALCHEMY_DATABASE_URI: &[&str] = &["SQLALCHEMY_DATABASE_URI"];
const SESSION_MAX_AGE: &[&str] = &["OIDC_SESSION_MAX_AGE"];
const POST_LOGOUT: &[&str] = &["OIDC_POST_LOGOUT_REDIRECT_URI"];
const LOGIN_PATH: &[&str] = &["OIDC_LOGIN_PATH"];
const LOGOUT_PATH: &[&str] = &["OIDC_LOGOUT_PATH"];
const BASE_PATH: &[&str] = &["OIDC_BASE_PATH"];
const BACKCHANNEL_LOGOUT_PATH: &[&str] = &["OIDC_BACKCHANNEL_LOGOUT_PATH"];
const LEEWAY: &[&str] = &["OIDC_LEEWAY"];
const TRUST_FORWARDED: &[&str] = &["OIDC_TRUST_FORWARDED_HEADERS"];
const FETCH_USERINFO: &[&str] = &["OIDC_FETCH_USERINFO"];
const CLIENT_AUTH: &[&str] = &["OIDC_CLIENT_AUTH"];
const AUDIENCES: &[&str] = &["OIDC_AUDIENCES"];
const BEARER_ONLY: &[&str] = &["OIDC_BEARER_ONLY"];
const INTROSPECT: &[&str] = &["OIDC_INTROSPECT_TOKENS"];
const USER_DETAILS_TTL: &[&str] = &["OIDC_USER_DETAILS_TTL"];
const ALLOWED_EMAIL_DOMAINS: &[&str] = &["OIDC_ALLOWED_EMAIL_DOMAINS"];
const REQUIRED_CLAIMS: &[&str] = &["OIDC_REQUIRED_CLAIMS"];
const ID_TOKEN_SIGNING_ALG: &[&str] = &["OIDC_ID_TOKEN_SIGNING_ALG"];
const RESOLVE_CLAIM_SOURCES: &[&str] = &["OIDC_RESOLVE_CLAIM_SOURCES"];

pub(super) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    builder_from_lookup(lookup)?.build()
}

/// A value and the variable that carried it.
struct Found {
    name: &'static str,
    value: String,
}

/// Reads one setting under all its names; two names set to different values is an error,
/// since silently preferring one hides a misconfiguration.
fn find(
    lookup: &impl Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Result<Option<Found>, ConfigError> {
    let mut found: Option<Found> = None;
    for &name in names {
        let Some(value) = lookup(name) else { continue };
        match &found {
            Some(first) if first.value != value => {
                return Err(ConfigError::new(
                    format!("{} and {name}", first.name),
                    "both are set, to different values; keep one",
                ));
            }
            Some(_) => {}
            None => found = Some(Found { name, value }),
        }
    }
    Ok(found)
}

/// The callback URL from the 1.x name, the 0.x absolute URL and the 0.x route, which must
/// agree where more than one is set.
fn callback_url(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Found>, ConfigError> {
    let url = find(lookup, REDIRECT_URI)?;
    let overwrite = find(lookup, OVERWRITE_REDIRECT_URI_0X)?;
    let route = find(lookup, CALLBACK_ROUTE_0X)?;
    let url = match (url, overwrite) {
        (Some(a), Some(b)) => Some(agreeing_callback(a, b)?),
        (a, b) => a.or(b),
    };
    let Some(route) = route else { return Ok(url) };
    let Some(url) = url else {
        return Ok(Some(route));
    };
    let path = callback_path(&url.value);
    if path != route.value.trim() {
        return Err(ConfigError::new(
            format!("{} and {}", url.name, route.name),
            format!(
                "the callback URL's path `{path}` differs from the callback route `{}`",
                route.value.trim()
            ),
        ));
    }
    Ok(Some(url))
}

/// The path of a callback setting: an absolute URL's path, or the value itself.
fn callback_path(value: &str) -> String {
    url::Url::parse(value.trim())
        .map(|parsed| parsed.path().to_owned())
        .unwrap_or_else(|_| value.trim().to_owned())
}

/// Two names for the callback agree when they are equal, or when one is the path of the
/// other (flaskoidc deployments often set `/cb` in one and `https://host/cb` in the other);
/// the absolute URL wins.
fn agreeing_callback(a: Found, b: Found) -> Result<Found, ConfigError> {
    let absolute = |found: &Found| url::Url::parse(found.value.trim()).is_ok();
    if a.value.trim() == b.value.trim() {
        return Ok(a);
    }
    if callback_path(&a.value) == callback_path(&b.value) && absolute(&a) != absolute(&b) {
        return Ok(if absolute(&a) { a } else { b });
    }
    Err(ConfigError::new(
        format!("{} and {}", a.name, b.name),
        "both set the callback URL, to different values; keep one",
    ))
}

fn parse_bool(found: &Found) -> Result<bool, ConfigError> {
    match found.value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(found.name, "must be `true` or `false`")),
    }
}

fn parse_seconds(found: &Found) -> Result<Duration, ConfigError> {
    found
        .value
        .trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| ConfigError::new(found.name, "must be a whole number of seconds"))
}

/// Splits on commas and white space: flaskoidc 1.x writes scopes space separated,
/// 0.x deployments comma separated.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
}

/// Every flaskoidc 1.x name: when any is set, the deployment is a flaskoidc one and gets
/// flaskoidc's defaults where it left a setting out.
const FLASKOIDC_NAMES: &[&str] = &[
    "FLASK_OIDC_CONFIG_URL",
    "FLASK_OIDC_CLIENT_ID",
    "FLASK_OIDC_CLIENT_SECRET",
    "FLASK_OIDC_REDIRECT_URI",
    "FLASK_OIDC_SCOPES",
    "FLASK_OIDC_USER_ID_FIELD",
    "FLASK_OIDC_WHITELISTED_ENDPOINTS",
    "FLASK_OIDC_SECRET_KEY",
    "FLASK_OIDC_OVERWRITE_REDIRECT_URI",
    "FLASK_OIDC_PROVIDER_NAME",
    "FLASK_OIDC_FORCE_SCHEME",
    "FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH",
];
const FLASKOIDC_DEFAULT_USER_ID_FIELD: &str = "email";
const FLASKOIDC_DEFAULT_WHITELIST: [&str; 3] = ["status", "healthcheck", "health"];

/// flaskoidc's defaults for what a flaskoidc deployment left unset, so user ids and public
/// paths stay what they were: the user id is the `email`, `status`, `healthcheck` and
/// `health` are public, and Google logins ask for refresh tokens.
fn flaskoidc_defaults(
    lookup: &impl Fn(&str) -> Option<String>,
    mut builder: ConfigBuilder,
) -> Result<ConfigBuilder, ConfigError> {
    if !FLASKOIDC_NAMES.iter().any(|name| lookup(name).is_some()) {
        return Ok(builder);
    }
    if find(lookup, USER_ID_FIELD)?.is_none() {
        builder = builder.user_id_claim(FLASKOIDC_DEFAULT_USER_ID_FIELD);
    }
    if find(lookup, WHITELIST)?.is_none() {
        builder = builder.whitelist(FLASKOIDC_DEFAULT_WHITELIST);
    }
    let google = find(lookup, PROVIDER_NAME)?
        .is_some_and(|found| found.value.trim().eq_ignore_ascii_case("google"));
    if google && find(lookup, AUTH_PARAMS)?.is_none() && find(lookup, AUTH_PARAMS_FILE)?.is_none() {
        builder = builder
            .auth_param("access_type", "offline")
            .auth_param("prompt", "consent");
    }
    Ok(builder)
}

pub(super) fn builder_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ConfigBuilder, ConfigError> {
    let mut builder = flaskoidc_defaults(&lookup, Config::builder())?;
    let note = |builder: &mut ConfigBuilder, setting: &'static str, found: &Found| {
        builder.sources.insert(setting, found.name.to_owned());
    };

    if let Some(found) = find(&lookup, CLIENT_SECRETS)? {
        let secrets = ClientSecrets::load(found.value.trim())
            .map_err(|problem| ConfigError::new(found.name, problem))?;
        builder = secrets.apply(builder);
    }
    if let Some(found) = find(&lookup, ISSUER)? {
        note(&mut builder, "issuer", &found);
        builder = builder.issuer(found.value);
    }
    if let Some(found) = find(&lookup, CONFIG_URL)? {
        note(&mut builder, "discovery_url", &found);
        builder = builder.discovery_url(found.value);
    }
    if let Some(found) = find(&lookup, CLIENT_ID)? {
        note(&mut builder, "client_id", &found);
        builder = builder.client_id(found.value);
    }
    if let Some(found) = find(&lookup, CLIENT_SECRET)? {
        builder = builder.client_secret(found.value);
    }
    if let Some(found) = callback_url(&lookup)? {
        note(&mut builder, "redirect_uri", &found);
        builder = builder.redirect_uri(found.value);
    }
    if let Some(found) = find(&lookup, SCOPES)? {
        builder = builder.scopes(
            split_list(&found.value)
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    if let Some(found) = find(&lookup, USER_ID_FIELD)? {
        note(&mut builder, "user_id_claim", &found);
        builder = builder.user_id_claim(found.value.trim());
    }
    if let Some(found) = find(&lookup, WHITELIST)? {
        note(&mut builder, "whitelist", &found);
        let entries: Vec<String> = found
            .value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_owned)
            .collect();
        builder = builder.whitelist(entries);
    }
    if let Some(found) = find(&lookup, SECRET_KEY)? {
        note(&mut builder, "secret_key", &found);
        builder = builder.secret_key(found.value);
    }
    if let Some(found) = find(&lookup, POST_LOGIN)? {
        note(&mut builder, "post_login_redirect", &found);
        builder = builder.post_login_redirect(found.value);
    }
    if let Some(found) = find(&lookup, PROVIDER_NAME)? {
        builder = builder.provider_name(found.value);
    }
    if let Some(found) = find(&lookup, FORCE_SCHEME)? {
        note(&mut builder, "force_scheme", &found);
        builder = builder.force_scheme(found.value.trim().to_ascii_lowercase());
    }
    if let Some(found) = find(&lookup, AUTH_PARAMS_FILE)? {
        for (name, value) in read_auth_params_file(&found)? {
            builder = builder.auth_param(name, value);
        }
    }
    if let Some(found) = find(&lookup, AUTH_PARAMS)? {
        for (name, value) in form_urlencoded::parse(found.value.trim().as_bytes()) {
            builder = builder.auth_param(name, value);
        }
    }
    if let Some(found) = find(&lookup, COOKIE_SECURE)? {
        builder = builder.cookie_secure(parse_bool(&found)?);
    }
    if let Some(found) = find(&lookup, COOKIE_NAME)? {
        note(&mut builder, "cookie_name", &found);
        builder = builder.cookie_name(found.value);
    }
    if let Some(found) = session_store_setting(&lookup)? {
        builder = apply_session_store(builder, &found)?;
    }
    if let Some(found) = find(&lookup, SESSION_MAX_AGE)? {
        builder = builder.session_max_age(parse_seconds(&found)?);
    }
    if let Some(found) = find(&lookup, POST_LOGOUT)? {
        note(&mut builder, "post_logout_redirect_uri", &found);
        builder = builder.post_logout_redirect_uri(found.value);
    }
    if let Some(found) = find(&lookup, LOGIN_PATH)? {
        note(&mut builder, "login_path", &found);
        builder = builder.login_path(found.value);
    }
    if let Some(found) = find(&lookup, LOGOUT_PATH)? {
        note(&mut builder, "logout_path", &found);
        builder = builder.logout_path(found.value);
    }
    if let Some(found) = find(&lookup, BACKCHANNEL_LOGOUT_PATH)? {
        note(&mut builder, "backchannel_logout_path", &found);
        builder = builder.backchannel_logout_path(found.value);
    }
    if let Some(found) = find(&lookup, BASE_PATH)? {
        note(&mut builder, "base_path", &found);
        builder = builder.base_path(found.value);
    }
    if let Some(found) = find(&lookup, LEEWAY)? {
        builder = builder.leeway(parse_seconds(&found)?);
    }
    if let Some(found) = find(&lookup, TRUST_FORWARDED)? {
        builder = builder.trust_forwarded_headers(parse_bool(&found)?);
    }
    if let Some(found) = find(&lookup, FETCH_USERINFO)? {
        builder = builder.fetch_userinfo(parse_bool(&found)?);
    }
    if let Some(found) = find(&lookup, AUDIENCES)? {
        note(&mut builder, "audiences", &found);
        builder = builder.audiences(
            split_list(&found.value)
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        );
    }
    if let Some(found) = find(&lookup, BEARER_ONLY)? {
        builder = builder.bearer_only(parse_bool(&found)?);
    }
    if let Some(found) = find(&lookup, INTROSPECT)? {
        builder = builder.introspect_opaque_tokens(parse_bool(&found)?);
    }
    if let Some(found) = find(&lookup, USER_DETAILS_TTL)? {
        builder = builder.user_details_ttl(parse_seconds(&found)?);
    }
    if let Some(found) = find(&lookup, ALLOWED_EMAIL_DOMAINS)? {
        let domains: Vec<String> = split_list(&found.value).map(str::to_owned).collect();
        if domains.is_empty() {
            return Err(ConfigError::new(found.name, "lists no domain"));
        }
        builder = builder.require(Require::new().email_domain(domains));
    }
    if let Some(found) = find(&lookup, REQUIRED_CLAIMS)? {
        builder = builder.require(parse_required_claims(&found)?);
    }
    if let Some(found) = find(&lookup, CLIENT_AUTH)? {
        let auth = match found.value.trim() {
            "basic" | "client_secret_basic" => ClientAuth::Basic,
            "post" | "client_secret_post" => ClientAuth::Post,
            _ => return Err(ConfigError::new(found.name, "must be `basic` or `post`")),
        };
        builder = builder.client_auth(auth);
    }
    if let Some(found) = find(&lookup, ID_TOKEN_SIGNING_ALG)? {
        note(&mut builder, "id_token_signing_alg", &found);
        let alg = found
            .value
            .parse()
            .map_err(|err: crate::UnknownSigningAlg| {
                ConfigError::new(found.name, err.to_string())
            })?;
        builder = builder.id_token_signing_alg(alg);
    }
    if let Some(found) = find(&lookup, RESOLVE_CLAIM_SOURCES)? {
        builder = builder.resolve_claim_sources(parse_bool(&found)?);
    }
    Ok(builder)
}

/// `groups=admins,realm_access.roles=admin`: each claim (a dotted path for nested claims)
/// must contain its value.
fn parse_required_claims(found: &Found) -> Result<Require, ConfigError> {
    let mut require = Require::new();
    for entry in found
        .value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let Some((path, value)) = entry.split_once('=') else {
            return Err(ConfigError::new(
                found.name,
                format!("`{entry}` must be `claim=value`"),
            ));
        };
        let (path, value) = (path.trim(), value.trim());
        if path.is_empty() || value.is_empty() {
            return Err(ConfigError::new(
                found.name,
                format!("`{entry}` must be `claim=value`"),
            ));
        }
        require = require.claim_contains(path, value);
    }
    if require.is_empty() {
        return Err(ConfigError::new(found.name, "lists no requirement"));
    }
    Ok(require)
}

/// The session store from `OIDC_SESSION_STORE`, or from flask-session's `SESSION_TYPE` with
/// `SQLALCHEMY_DATABASE_URI`; the two ways must not contradict each other.
fn session_store_setting(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Found>, ConfigError> {
    let ours = find(lookup, SESSION_STORE)?;
    let session_type = find(lookup, SESSION_TYPE)?;
    let database = find(lookup, SQLALCHEMY_DATABASE_URI)?;
    let flask = match (&session_type, &database) {
        (None, None) => None,
        // flaskoidc's own default session type is `sqlalchemy`.
        (None, Some(database)) => Some(sqlalchemy_store(database)?),
        (Some(kind), database) => match kind.value.trim().to_ascii_lowercase().as_str() {
            "sqlalchemy" => match database {
                Some(database) => Some(sqlalchemy_store(database)?),
                None => {
                    return Err(ConfigError::new(
                        format!("{} and {}", kind.name, SQLALCHEMY_DATABASE_URI[0]),
                        "`sqlalchemy` sessions need the database URI",
                    ))
                }
            },
            "null" | "" => None,
            other => {
                return Err(ConfigError::new(
                    kind.name,
                    format!(
                        "`{other}` sessions are not supported: use `sqlalchemy`, or set \
                         OIDC_SESSION_STORE to `cookie`, `memory`, `redis://…`, `sqlite:///…` \
                         or `postgres://…`"
                    ),
                ))
            }
        },
    };
    match (ours, flask) {
        (Some(ours), Some(flask)) if ours.value.trim() != flask.value => Err(ConfigError::new(
            format!("{} and {}", ours.name, flask.name),
            "both choose the session store, differently; keep one",
        )),
        (ours, flask) => Ok(ours.or(flask)),
    }
}

/// An SQLAlchemy URL as a store URL: `postgresql+psycopg2://` is `postgresql://`.
fn sqlalchemy_store(database: &Found) -> Result<Found, ConfigError> {
    let value = database.value.trim();
    let (scheme, rest) = value.split_once("://").unwrap_or((value, ""));
    let scheme = scheme.split('+').next().unwrap_or(scheme);
    if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
        return Err(ConfigError::new(
            database.name,
            format!(
                "`{scheme}` databases are not supported for sessions: use SQLite or PostgreSQL"
            ),
        ));
    }
    Ok(Found {
        name: database.name,
        value: format!("{scheme}://{rest}"),
    })
}

fn apply_session_store(
    builder: ConfigBuilder,
    found: &Found,
) -> Result<ConfigBuilder, ConfigError> {
    let value = found.value.trim();
    match value {
        "" | "cookie" => Ok(builder),
        "memory" => Ok(builder.memory_sessions()),
        url if is_redis_url(url) => redis_store(builder, found, url),
        url if is_sql_url(url) => sql_store(builder, found, url),
        _ => Err(ConfigError::new(
            found.name,
            "must be `cookie`, `memory`, a `redis://` URL, a `sqlite:///` path or a \
             `postgres://` URL",
        )),
    }
}

fn is_redis_url(url: &str) -> bool {
    ["redis://", "rediss://", "redis+unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

fn is_sql_url(url: &str) -> bool {
    ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// A Redis store that connects on first use: no network at configuration time.
#[cfg(feature = "redis")]
fn redis_store(
    builder: ConfigBuilder,
    found: &Found,
    url: &str,
) -> Result<ConfigBuilder, ConfigError> {
    let store = crate::session::redis_store::RedisStore::new(url)
        .map_err(|err| ConfigError::new(found.name, err.to_string()))?;
    Ok(builder.session_store(store))
}

#[cfg(not(feature = "redis"))]
fn redis_store(_: ConfigBuilder, found: &Found, _: &str) -> Result<ConfigBuilder, ConfigError> {
    Err(ConfigError::new(
        found.name,
        "the Redis store needs the `redis` feature of tower-oidc",
    ))
}

/// A SQL store that connects (and creates its table) on first use, so configuration stays
/// synchronous and free of network calls.
#[cfg(feature = "sql")]
fn sql_store(
    builder: ConfigBuilder,
    found: &Found,
    url: &str,
) -> Result<ConfigBuilder, ConfigError> {
    let store = crate::session::sql_store::SqlStore::new(url)
        .map_err(|err| ConfigError::new(found.name, err.to_string()))?;
    Ok(builder.session_store(store))
}

#[cfg(not(feature = "sql"))]
fn sql_store(_: ConfigBuilder, found: &Found, _: &str) -> Result<ConfigBuilder, ConfigError> {
    Err(ConfigError::new(
        found.name,
        "the SQL store (SQLite, PostgreSQL) needs the `sql` feature of tower-oidc",
    ))
}

fn read_auth_params_file(found: &Found) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(found.value.trim())
        .map_err(|err| ConfigError::new(found.name, format!("cannot read the file: {err}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| ConfigError::new(found.name, format!("not a JSON object: {err}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ConfigError::new(found.name, "must hold a JSON object"))?;
    // flaskoidc hands this file to Authlib's client registration, where authorization
    // parameters sit under `authorize_params`; other registration settings do not apply here.
    let object = match object.get("authorize_params") {
        Some(serde_json::Value::Object(params)) => params,
        _ => object,
    };
    object
        .iter()
        .filter(|(name, value)| {
            let nested = value.is_object() || value.is_array();
            if nested {
                tracing::warn!(parameter = %name, "ignored: not an authorization parameter");
            }
            !nested
        })
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => Ok((name.clone(), text.clone())),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                Ok((name.clone(), value.to_string()))
            }
            _ => Err(ConfigError::new(
                found.name,
                format!("parameter `{name}` must be a string, number or boolean"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

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
    fn flaskoidc_names_are_aliases() {
        let config = config(&[
            (
                "FLASK_OIDC_CONFIG_URL",
                "https://tenant.auth0.com/.well-known/openid-configuration",
            ),
            ("FLASK_OIDC_CLIENT_ID", "app"),
            ("FLASK_OIDC_CLIENT_SECRET", "s3cret"),
            ("FLASK_OIDC_SECRET_KEY", KEY),
            ("FLASK_OIDC_REDIRECT_URI", "/authorization-code/callback"),
            ("FLASK_OIDC_SCOPES", "openid,email"),
            ("FLASK_OIDC_USER_ID_FIELD", "email"),
            (
                "FLASK_OIDC_WHITELISTED_ENDPOINTS",
                "status,healthcheck,health",
            ),
            ("FLASK_OIDC_PROVIDER_NAME", "auth0"),
            ("FLASK_OIDC_OVERWRITE_REDIRECT_URI", "/landing"),
            ("FLASK_OIDC_FORCE_SCHEME", "https"),
        ])
        .expect("valid");
        assert_eq!(config.routes.callback, "/authorization-code/callback");
        assert_eq!(config.scopes, ["openid", "email"]);
        assert_eq!(config.post_login_redirect.as_deref(), Some("/landing"));
        assert_eq!(config.force_scheme.as_deref(), Some("https"));
        assert!(config.whitelist.matches_clean("/healthcheck"));
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
    fn overwrite_redirect_uri_0x_and_1x_mean_different_things() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let mut vars = base.to_vec();
        vars.extend([
            (
                "OVERWRITE_REDIRECT_URI",
                "http://192.168.1.2:5000/authorization-code/callback",
            ),
            ("OIDC_CALLBACK_ROUTE", "/authorization-code/callback"),
            ("FLASK_OIDC_OVERWRITE_REDIRECT_URI", "/landing"),
        ]);
        let config = config(&vars).expect("valid");
        // 0.x: the callback sent to the provider.
        match &config.redirect_uri {
            crate::config::RedirectUri::Absolute(url) => {
                assert_eq!(
                    url.as_str(),
                    "http://192.168.1.2:5000/authorization-code/callback"
                );
            }
            crate::config::RedirectUri::Path(path) => panic!("expected absolute, got {path}"),
        }
        assert_eq!(config.routes.callback, "/authorization-code/callback");
        // 1.x: where the login lands.
        assert_eq!(config.post_login_redirect.as_deref(), Some("/landing"));

        // An empty 1.x value returns to the page first asked for.
        let mut vars = base.to_vec();
        vars.push(("FLASK_OIDC_OVERWRITE_REDIRECT_URI", ""));
        assert_eq!(config_of(&vars).post_login_redirect, None);

        let mut vars = base.to_vec();
        vars.push(("OIDC_CALLBACK_ROUTE", "/cb"));
        assert_eq!(config_of(&vars).routes.callback, "/cb");
    }

    fn config_of(vars: &[(&str, &str)]) -> Config {
        config(vars).expect("valid")
    }

    #[test]
    fn contradictory_callback_settings_name_both_variables() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let mut vars = base.to_vec();
        vars.extend([
            ("FLASK_OIDC_REDIRECT_URI", "https://app.example.com/auth"),
            ("OVERWRITE_REDIRECT_URI", "https://app.example.com/other"),
        ]);
        let err = config(&vars).unwrap_err();
        assert_eq!(
            err.setting(),
            "FLASK_OIDC_REDIRECT_URI and OVERWRITE_REDIRECT_URI"
        );
        let mut vars = base.to_vec();
        vars.extend([
            ("FLASK_OIDC_REDIRECT_URI", "/authorization-code/callback"),
            (
                "OVERWRITE_REDIRECT_URI",
                "http://10.0.0.2:5000/authorization-code/callback",
            ),
        ]);
        assert!(config(&vars).is_ok(), "a path and its absolute URL agree");
        let mut vars = base.to_vec();
        vars.extend([
            ("OVERWRITE_REDIRECT_URI", "https://app.example.com/auth"),
            ("OIDC_CALLBACK_ROUTE", "/callback"),
        ]);
        let err = config(&vars).unwrap_err();
        assert_eq!(
            err.setting(),
            "OVERWRITE_REDIRECT_URI and OIDC_CALLBACK_ROUTE"
        );
    }

    #[test]
    fn flask_session_settings_choose_the_store() {
        let base = [
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_SECRET_KEY", KEY),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let err = with(&[("SESSION_TYPE", "filesystem")]).unwrap_err();
        assert_eq!(err.setting(), "SESSION_TYPE");
        let err = with(&[("SESSION_TYPE", "sqlalchemy")]).unwrap_err();
        assert_eq!(err.setting(), "SESSION_TYPE and SQLALCHEMY_DATABASE_URI");
        let err = with(&[("SQLALCHEMY_DATABASE_URI", "mysql://x/y")]).unwrap_err();
        assert_eq!(err.setting(), "SQLALCHEMY_DATABASE_URI");
        let err = with(&[
            ("SESSION_TYPE", "sqlalchemy"),
            ("SQLALCHEMY_DATABASE_URI", "sqlite:///sessions.db"),
            ("OIDC_SESSION_STORE", "memory"),
        ])
        .unwrap_err();
        assert_eq!(
            err.setting(),
            "OIDC_SESSION_STORE and SQLALCHEMY_DATABASE_URI"
        );
        assert!(with(&[("SESSION_TYPE", "null")]).is_ok());
        #[cfg(feature = "sql")]
        {
            let config = with(&[
                ("SESSION_TYPE", "sqlalchemy"),
                (
                    "SQLALCHEMY_DATABASE_URI",
                    "postgresql+psycopg2://u:p@127.0.0.1/db",
                ),
            ])
            .expect("valid");
            assert!(matches!(
                config.session,
                crate::config::SessionBackend::Store(_)
            ));
        }
    }

    #[test]
    fn a_flaskoidc_deployment_keeps_flaskoidc_defaults() {
        let flask = config(&[
            (
                "FLASK_OIDC_CONFIG_URL",
                "https://accounts.google.com/.well-known/openid-configuration",
            ),
            ("FLASK_OIDC_CLIENT_ID", "app"),
            ("FLASK_OIDC_SECRET_KEY", KEY),
            ("FLASK_OIDC_PROVIDER_NAME", "google"),
        ])
        .expect("valid");
        assert_eq!(flask.user_id_claim, "email");
        assert!(flask.whitelist.matches_clean("/healthcheck"));
        assert!(flask
            .auth_params
            .contains(&("access_type".to_owned(), "offline".to_owned())));
        let ours = config(&[
            ("OIDC_ISSUER", "https://op.example.com"),
            ("OIDC_CLIENT_ID", "app"),
            ("OIDC_SECRET_KEY", KEY),
        ])
        .expect("valid");
        assert_eq!(ours.user_id_claim, "sub");
        assert!(!ours.whitelist.matches_clean("/health"));
        let explicit = config(&[
            (
                "FLASK_OIDC_CONFIG_URL",
                "https://op.example.com/.well-known/openid-configuration",
            ),
            ("FLASK_OIDC_CLIENT_ID", "app"),
            ("FLASK_OIDC_SECRET_KEY", KEY),
            ("FLASK_OIDC_USER_ID_FIELD", "sub"),
            ("FLASK_OIDC_WHITELISTED_ENDPOINTS", "ping"),
        ])
        .expect("valid");
        assert_eq!(explicit.user_id_claim, "sub");
        assert!(!explicit.whitelist.matches_clean("/health"));
        assert!(explicit.whitelist.matches_clean("/ping"));
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
}
