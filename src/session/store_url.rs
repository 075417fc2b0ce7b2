//! Session stores named by a URL, as deployments configure them: `cookie`, `memory`,
//! `redis://…`, `sqlite:///…`, `postgres://…`, and SQLAlchemy database URLs such as
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

const REDIS_SCHEMES: &[&str] = &["redis://", "rediss://", "redis+unix://"];
const SQL_SCHEMES: &[&str] = &["sqlite:", "postgres://", "postgresql://"];

/// Reads `cookie` (or nothing), `memory`, or a store URL. The problem, if any, is worded
/// for the variable that carried the URL.
pub(crate) fn parse(url: &str) -> Result<StoreUrl, String> {
    let url = url.trim();
    let has_scheme = |schemes: &[&str]| schemes.iter().any(|scheme| url.starts_with(scheme));
    match url {
        "" | "cookie" => Ok(StoreUrl::Cookie),
        "memory" => Ok(StoreUrl::Memory),
        _ if has_scheme(REDIS_SCHEMES) => redis(url),
        _ if has_scheme(SQL_SCHEMES) => sql(url),
        _ => Err(
            "must be `cookie`, `memory`, a `redis://` URL, a `sqlite:///` path or a \
                  `postgres://` URL"
                .to_owned(),
        ),
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
fn redis(url: &str) -> Result<StoreUrl, String> {
    RedisStore::new(url)
        .map(StoreUrl::Redis)
        .map_err(|err| err.to_string())
}

#[cfg(not(feature = "redis"))]
fn redis(_: &str) -> Result<StoreUrl, String> {
    Err("the Redis store needs the `redis` feature of tower-oidc".to_owned())
}

#[cfg(feature = "sql")]
fn sql(url: &str) -> Result<StoreUrl, String> {
    SqlStore::new(url)
        .map(StoreUrl::Sql)
        .map_err(|err| err.to_string())
}

#[cfg(not(feature = "sql"))]
fn sql(_: &str) -> Result<StoreUrl, String> {
    Err("the SQL store (SQLite, PostgreSQL) needs the `sql` feature of tower-oidc".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(url: &str) -> Result<&'static str, String> {
        parse(url).map(|store| match store {
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
