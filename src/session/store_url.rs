//! Session stores named by a URL, as deployments configure them: `cookie`, `memory`,
//! `redis://…` (and the cluster, Sentinel and TLS forms), `sqlite:///…`, `postgres://…`,
//! and SQLAlchemy database URLs such as
//! `postgresql+psycopg2://…`. Stores made here connect on first use, so reading a
//! configuration needs neither a runtime nor the network.

#[cfg(feature = "redis")]
use super::redis_store::RedisStore;
#[cfg(feature = "sql")]
use super::sql_store::SqlStore;

/// The store a URL names.
pub(crate) enum StoreUrl {
    /// Sessions in the encrypted cookie: no server-side store.
    Cookie,
    /// A bounded store in this process's memory.
    Memory,
    /// A Redis server.
    #[cfg(feature = "redis")]
    Redis(RedisStore),
    /// A SQLite or PostgreSQL database.
    #[cfg(feature = "sql")]
    Sql(SqlStore),
}

const REDIS_SCHEMES: &[&str] = &[
    "redis://",
    "rediss://",
    "redis+unix://",
    "redis+cluster://",
    "rediss+cluster://",
    "redis+sentinel://",
    "rediss+sentinel://",
];
const SQL_SCHEMES: &[&str] = &["sqlite:", "postgres://", "postgresql://"];

/// Reads `cookie` (or nothing), `memory`, or a store URL. The problem, if any, is worded
/// for the variable that carried the URL. `ca` is the PEM of the CA certificates a TLS
/// Redis store trusts: [`CaUnused`] for any other store.
pub(crate) fn parse(url: &str, ca: Option<&[u8]>) -> Result<StoreUrl, ParseError> {
    let url = url.trim();
    let has_scheme = |schemes: &[&str]| schemes.iter().any(|scheme| url.starts_with(scheme));
    let is_redis = has_scheme(REDIS_SCHEMES);
    if ca.is_some() && !url.to_ascii_lowercase().starts_with("rediss") {
        return Err(ParseError::CaUnused);
    }
    match url {
        "" | "cookie" => Ok(StoreUrl::Cookie),
        "memory" => Ok(StoreUrl::Memory),
        _ if is_redis => redis(url, ca),
        _ if has_scheme(SQL_SCHEMES) => sql(url),
        _ => Err(
            "must be `cookie`, `memory`, a `redis://` URL, a `sqlite:///` path or a \
                  `postgres://` URL"
                .into(),
        ),
    }
}

/// Why a store URL was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The URL's own problem.
    Url(String),
    /// A CA was given for a store that makes no TLS connection.
    CaUnused,
}

impl From<&str> for ParseError {
    fn from(problem: &str) -> Self {
        Self::Url(problem.to_owned())
    }
}

impl From<String> for ParseError {
    fn from(problem: String) -> Self {
        Self::Url(problem)
    }
}

/// An SQLAlchemy database URL as a store URL: the driver after `+` is dropped
/// (`postgresql+psycopg2://` is `postgresql://`), and databases other than SQLite and
/// PostgreSQL are refused.
pub(crate) fn from_sqlalchemy(url: &str) -> Result<String, String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").unwrap_or((url, ""));
    let dialect = scheme.split('+').next().unwrap_or(scheme);
    if !matches!(dialect, "sqlite" | "postgres" | "postgresql") {
        return Err(format!(
            "`{dialect}` databases are not supported for sessions: use SQLite or PostgreSQL"
        ));
    }
    Ok(format!("{dialect}://{rest}"))
}

#[cfg(feature = "redis")]
fn redis(url: &str, ca: Option<&[u8]>) -> Result<StoreUrl, ParseError> {
    let builder = RedisStore::builder(url);
    let builder = match ca {
        Some(pem) => builder.ca_pem(pem),
        None => builder,
    };
    builder
        .build()
        .map(StoreUrl::Redis)
        .map_err(|err| ParseError::Url(err.to_string()))
}

#[cfg(not(feature = "redis"))]
fn redis(_: &str, _: Option<&[u8]>) -> Result<StoreUrl, ParseError> {
    Err("the Redis store needs the `redis` feature of tower-oidc".into())
}

#[cfg(feature = "sql")]
fn sql(url: &str) -> Result<StoreUrl, ParseError> {
    SqlStore::new(url)
        .map(StoreUrl::Sql)
        .map_err(|err| ParseError::Url(err.to_string()))
}

#[cfg(not(feature = "sql"))]
fn sql(_: &str) -> Result<StoreUrl, ParseError> {
    Err("the SQL store (SQLite, PostgreSQL) needs the `sql` feature of tower-oidc".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(url: &str) -> Result<&'static str, String> {
        let found = parse(url, None).map_err(|problem| match problem {
            ParseError::Url(problem) => problem,
            ParseError::CaUnused => "CA unused".to_owned(),
        })?;
        Ok(match found {
            StoreUrl::Cookie => "cookie",
            StoreUrl::Memory => "memory",
            #[cfg(feature = "redis")]
            StoreUrl::Redis(_) => "redis",
            #[cfg(feature = "sql")]
            StoreUrl::Sql(_) => "sql",
        })
    }

    #[test]
    fn names_and_schemes() {
        assert_eq!(kind(""), Ok("cookie"));
        assert_eq!(kind(" cookie "), Ok("cookie"));
        assert_eq!(kind("memory"), Ok("memory"));
        let cases = [
            ("redis://127.0.0.1:1/0", "redis", cfg!(feature = "redis")),
            ("rediss://:pw@127.0.0.1:1", "redis", cfg!(feature = "redis")),
            (
                "redis+unix:///run/redis.sock",
                "redis",
                cfg!(feature = "redis"),
            ),
            (
                "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
                "redis",
                cfg!(feature = "redis"),
            ),
            (
                "rediss+cluster://127.0.0.1:7000",
                "redis",
                cfg!(feature = "redis"),
            ),
            (
                "redis+sentinel://127.0.0.1:26379/mymaster",
                "redis",
                cfg!(feature = "redis"),
            ),
            (
                "rediss+sentinel://127.0.0.1/mymaster/1",
                "redis",
                cfg!(feature = "redis"),
            ),
            ("sqlite:///sessions.db", "sql", cfg!(feature = "sql")),
            ("sqlite::memory:", "sql", cfg!(feature = "sql")),
            (
                "postgres://u:pw@127.0.0.1:1/db",
                "sql",
                cfg!(feature = "sql"),
            ),
            ("postgresql://127.0.0.1:1/db", "sql", cfg!(feature = "sql")),
        ];
        for (url, expected, enabled) in cases {
            match kind(url) {
                Ok(found) => {
                    assert!(enabled, "{url}");
                    assert_eq!(found, expected, "{url}");
                }
                Err(problem) => {
                    assert!(!enabled, "{url}: {problem}");
                    assert!(problem.contains("feature"), "{url}: {problem}");
                }
            }
        }
    }

    #[test]
    fn a_ca_is_for_tls_redis_stores_only() {
        for url in [
            "",
            "cookie",
            "memory",
            "redis://h:6379",
            "redis+cluster://h:1",
            "sqlite:///s.db",
            "postgres://h/db",
        ] {
            assert!(
                matches!(parse(url, Some(b"pem")), Err(ParseError::CaUnused)),
                "{url}"
            );
        }
        if cfg!(feature = "redis") {
            // Reaches the Redis store, which finds the PEM holds no certificate.
            let problem = parse("rediss://h:6380", Some(b"pem")).err();
            assert!(
                matches!(&problem, Some(ParseError::Url(p)) if p.contains("no PEM certificate")),
                "{problem:?}"
            );
        }
    }

    #[test]
    fn unknown_stores_are_refused() {
        for url in ["mongodb://x", "file:///tmp/s", "Memory", "mysql://x/y"] {
            let problem = kind(url).expect_err(url);
            assert!(problem.contains("`redis://`"), "{url}: {problem}");
        }
    }

    #[test]
    fn sqlalchemy_urls_drop_the_driver() {
        assert_eq!(
            from_sqlalchemy("postgresql+psycopg2://u:p@127.0.0.1/db").as_deref(),
            Ok("postgresql://u:p@127.0.0.1/db")
        );
        assert_eq!(
            from_sqlalchemy(" sqlite:///sessions.db ").as_deref(),
            Ok("sqlite:///sessions.db")
        );
        assert_eq!(
            from_sqlalchemy("sqlite+pysqlite:////abs/sessions.db").as_deref(),
            Ok("sqlite:////abs/sessions.db")
        );
        assert_eq!(
            from_sqlalchemy("postgres://h/db").as_deref(),
            Ok("postgres://h/db")
        );
        for url in ["mysql://x/y", "mysql+pymysql://x/y", "oracle://x"] {
            let problem = from_sqlalchemy(url).expect_err(url);
            assert!(problem.contains("not supported"), "{url}: {problem}");
        }
        let problem = from_sqlalchemy("mysql+pymysql://u:secret@x/y").expect_err("mysql");
        assert!(problem.starts_with("`mysql`"), "{problem}");
        assert!(!problem.contains("secret"), "{problem}");
    }
}
