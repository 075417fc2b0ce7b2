//! Where an app under test keeps its sessions, for tests that run the same scenario on
//! each: the encrypted cookie, the memory store, SQLite, Redis and PostgreSQL (the last two
//! when their test servers are configured; see `stores.rs`).

use std::future::Future;
use std::path::PathBuf;

use tower_oidc::store::{RedisStore, SqlStore};
use tower_oidc::ConfigBuilder;

use crate::stores::{postgres_url, redis_url, remove_sqlite, sqlite_path};

pub enum Backend {
    Cookie,
    Memory,
    /// A SQLite file of the test's own, removed when dropped.
    Sqlite(PathBuf),
    Redis(String),
    Postgres(String),
}

impl Backend {
    /// Every backend whose server is available.
    pub fn all() -> Vec<Backend> {
        let mut all = vec![Backend::Cookie, Backend::Memory];
        all.extend(Self::shared());
        all
    }

    /// The stores that instances can share: SQLite (one file), Redis, PostgreSQL.
    pub fn shared() -> Vec<Backend> {
        let mut shared = vec![Backend::Sqlite(sqlite_path())];
        shared.extend(redis_url().map(Backend::Redis));
        shared.extend(postgres_url().map(Backend::Postgres));
        shared
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cookie => "cookie",
            Backend::Memory => "memory",
            Backend::Sqlite(_) => "sqlite",
            Backend::Redis(_) => "redis",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether the server keeps the session, so that an old cookie stops working once
    /// the session is over.
    pub fn server_side(&self) -> bool {
        !matches!(self, Backend::Cookie)
    }

    /// `builder` keeping sessions here; each call makes a store of its own, as another
    /// instance of the app would.
    pub fn configure(&self, builder: ConfigBuilder) -> ConfigBuilder {
        match self {
            Backend::Cookie => builder,
            Backend::Memory => builder.memory_sessions(),
            Backend::Sqlite(path) => builder.session_store(
                SqlStore::new(&format!("sqlite:///{}", path.display())).expect("sqlite URL"),
            ),
            Backend::Redis(url) => builder.session_store(RedisStore::new(url).expect("redis URL")),
            Backend::Postgres(url) => {
                builder.session_store(SqlStore::new(url).expect("postgres URL"))
            }
        }
    }
}

/// Runs `case` on each of `backends`, one after the other, each in a task of its own, and
/// fails naming every backend it failed on.
pub async fn on_each<F, Fut>(backends: Vec<Backend>, case: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failed = Vec::new();
    for backend in backends {
        let name = backend.name();
        if let Err(err) = tokio::spawn(case(backend)).await {
            let reason = match err.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
                Err(err) => err.to_string(),
            };
            failed.push(format!("{name}: {reason}"));
        }
    }
    assert!(failed.is_empty(), "failed with {}", failed.join("\n"));
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Backend::Sqlite(path) = self {
            remove_sqlite(path);
        }
    }
}
