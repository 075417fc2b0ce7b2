//! flaskoidc compatibility: its 1.x `FLASK_OIDC_*` names (aliases of the `OIDC_*` ones), its
//! 0.x callback names, the defaults a flaskoidc deployment keeps, and flask-session's
//! `SESSION_TYPE` with Flask-SQLAlchemy's `SQLALCHEMY_DATABASE_URI`.

use super::env::{Found, Vars};
use super::{ConfigBuilder, ConfigError};
use crate::session::store_url;

pub(super) const CONFIG_URL: &str = "FLASK_OIDC_CONFIG_URL";
pub(super) const CLIENT_ID: &str = "FLASK_OIDC_CLIENT_ID";
pub(super) const CLIENT_SECRET: &str = "FLASK_OIDC_CLIENT_SECRET";
pub(super) const REDIRECT_URI: &str = "FLASK_OIDC_REDIRECT_URI";
pub(super) const SCOPES: &str = "FLASK_OIDC_SCOPES";
pub(super) const USER_ID_FIELD: &str = "FLASK_OIDC_USER_ID_FIELD";
pub(super) const WHITELISTED_ENDPOINTS: &str = "FLASK_OIDC_WHITELISTED_ENDPOINTS";
pub(super) const SECRET_KEY: &str = "FLASK_OIDC_SECRET_KEY";
/// The landing page after every login (1.x). Not the same as 0.x's
/// [`OVERWRITE_REDIRECT_URI_0X`].
pub(super) const OVERWRITE_REDIRECT_URI: &str = "FLASK_OIDC_OVERWRITE_REDIRECT_URI";
pub(super) const PROVIDER_NAME: &str = "FLASK_OIDC_PROVIDER_NAME";
pub(super) const FORCE_SCHEME: &str = "FLASK_OIDC_FORCE_SCHEME";
pub(super) const ADDITIONAL_PARAMETERS_FILE_PATH: &str =
    "FLASK_OIDC_PROVIDER_ADDITIONAL_PARAMETERS_FILE_PATH";

/// Every flaskoidc 1.x name: when any is set, the deployment is a flaskoidc one and keeps
/// flaskoidc's defaults where it left a setting out.
pub(super) const NAMES: [&str; 12] = [
    CONFIG_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    SCOPES,
    USER_ID_FIELD,
    WHITELISTED_ENDPOINTS,
    SECRET_KEY,
    OVERWRITE_REDIRECT_URI,
    PROVIDER_NAME,
    FORCE_SCHEME,
    ADDITIONAL_PARAMETERS_FILE_PATH,
];

/// flaskoidc 0.x: the absolute callback URL sent to the provider. Not the same as 1.x's
/// [`OVERWRITE_REDIRECT_URI`], the landing page after login.
const OVERWRITE_REDIRECT_URI_0X: &str = "OVERWRITE_REDIRECT_URI";
/// flaskoidc 0.x: the callback route.
const CALLBACK_ROUTE_0X: &str = "OIDC_CALLBACK_ROUTE";

/// flask-session's store type, as flaskoidc deployments set it.
const SESSION_TYPE: &str = "SESSION_TYPE";
/// Flask-SQLAlchemy's database, where flask-session's `sqlalchemy` type keeps sessions.
const SQLALCHEMY_DATABASE_URI: &str = "SQLALCHEMY_DATABASE_URI";

/// The secret key flaskoidc documents as its example default; deployments that kept it sign
/// their sessions with a public value, so it is refused.
pub(super) const DEFAULT_SECRET_KEY: &str = "base-flask-oidc-secret-key";
/// flaskoidc's user id claim.
const DEFAULT_USER_ID_FIELD: &str = "email";
/// Paths flaskoidc serves without a session.
const DEFAULT_WHITELIST: [&str; 3] = ["status", "healthcheck", "health"];
/// What flaskoidc asks Google for, so that logins get refresh tokens.
const GOOGLE_AUTH_PARAMS: [(&str, &str); 2] = [("access_type", "offline"), ("prompt", "consent")];

/// Whether any flaskoidc 1.x name is set.
pub(super) fn is_deployment(vars: &Vars<'_>) -> bool {
    NAMES.iter().any(|&name| vars.get(name).is_some())
}

/// flaskoidc's defaults for what a flaskoidc deployment left unset, so user ids and public
/// paths stay what they were: the user id is the `email`, `status`, `healthcheck` and
/// `health` are public, and Google logins ask for refresh tokens. `set` gives the value of a
/// setting, by its canonical name, when the deployment set it.
pub(super) fn defaults<'a>(
    mut builder: ConfigBuilder,
    set: impl Fn(&str) -> Option<&'a str>,
) -> ConfigBuilder {
    if set("OIDC_USER_ID_FIELD").is_none() {
        builder = builder.user_id_claim(DEFAULT_USER_ID_FIELD);
    }
    if set("OIDC_WHITELISTED_ENDPOINTS").is_none() {
        builder = builder.whitelist(DEFAULT_WHITELIST);
    }
    let google =
        set("OIDC_PROVIDER_NAME").is_some_and(|name| name.trim().eq_ignore_ascii_case("google"));
    if google && set("OIDC_AUTH_PARAMS").is_none() && set("OIDC_AUTH_PARAMS_FILE").is_none() {
        for (name, value) in GOOGLE_AUTH_PARAMS {
            builder = builder.auth_param(name, value);
        }
    }
    builder
}

/// The callback URL from the 1.x names (`url`), the 0.x absolute URL and the 0.x route,
/// which must agree where more than one is set.
pub(super) fn callback(vars: &Vars<'_>, url: Option<Found>) -> Result<Option<Found>, ConfigError> {
    let overwrite = vars.get(OVERWRITE_REDIRECT_URI_0X);
    let route = vars.get(CALLBACK_ROUTE_0X);
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

/// The session store from `OIDC_SESSION_STORE` (`ours`), or from flask-session's
/// `SESSION_TYPE` with `SQLALCHEMY_DATABASE_URI`; the two ways must not contradict each
/// other.
pub(super) fn session_store(
    vars: &Vars<'_>,
    ours: Option<Found>,
) -> Result<Option<Found>, ConfigError> {
    let session_type = vars.get(SESSION_TYPE);
    let database = vars.get(SQLALCHEMY_DATABASE_URI);
    let flask = match (&session_type, &database) {
        (None, None) => None,
        // flaskoidc's own default session type is `sqlalchemy`.
        (None, Some(database)) => Some(sqlalchemy_store(database)?),
        (Some(kind), database) => match kind.value.trim().to_ascii_lowercase().as_str() {
            "sqlalchemy" => match database {
                Some(database) => Some(sqlalchemy_store(database)?),
                None => {
                    return Err(ConfigError::new(
                        format!("{} and {SQLALCHEMY_DATABASE_URI}", kind.name),
                        "`sqlalchemy` sessions need the database URI",
                    ))
                }
            },
            "null" | "" => None,
            other => {
                return Err(kind.error(format!(
                    "`{other}` sessions are not supported: use `sqlalchemy`, or set \
                     OIDC_SESSION_STORE to `cookie`, `memory`, `redis://…`, `sqlite:///…` \
                     or `postgres://…`"
                )))
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

/// The database URL as a store URL, still attributed to `SQLALCHEMY_DATABASE_URI`.
fn sqlalchemy_store(database: &Found) -> Result<Found, ConfigError> {
    let value =
        store_url::from_sqlalchemy(&database.value).map_err(|problem| database.error(problem))?;
    Ok(Found {
        name: database.name,
        value,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::test_support::config;

    fn config_of(vars: &[(&str, &str)]) -> Config {
        config(vars).expect("valid")
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef-key";

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
}
