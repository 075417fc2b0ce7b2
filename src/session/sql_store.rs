//! A session store in SQLite or PostgreSQL (feature `sql`).

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::OnceCell;

use super::changes::{change_tag, ChangeListener};
use super::pg_changes::{notifying, PgFeed};
use super::store::{SessionStore, StoreError};
use super::SessionData;

/// The table; created at start when missing.
pub(crate) const TABLE: &str = "tower_oidc_sessions";
/// How long a request waits for a database connection before it is answered `503`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often saves also remove expired rows (in the background).
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// The most expired rows one purge removes, so it never holds locks for long; a full
/// batch lets the next save purge again right away.
const PURGE_BATCH: i64 = 1000;

/// Sessions in a SQL database: SQLite (a file, or memory) or PostgreSQL. PostgreSQL is
/// shared by every instance that uses it; a SQLite file by the processes of one machine.
///
/// The table `tower_oidc_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at
/// BIGINT NOT NULL)` is created when missing; `data` is the session's record
/// ([`SessionData::to_record`], JSON) and `expires_at` Unix time in milliseconds. Two more
/// tables sit beside it: `tower_oidc_sessions_logout_keys` finds sessions for
/// back-channel logout, which ends them in one transaction, and
/// `tower_oidc_sessions_used_keys (used_key TEXT PRIMARY KEY, expires_at BIGINT NOT
/// NULL)` holds single-use keys ([`SessionStore::first_use`]). A renewal replaces a
/// session only while its row is live (`UPDATE … WHERE id = … AND expires_at > now`).
/// Expired rows are never returned; saves remove them in bounded batches in the
/// background about once a minute, and [`SqlStore::purge_expired`] removes them on
/// demand.
///
/// On PostgreSQL, every statement that writes or deletes a session also notifies the
/// channel `tower_oidc_sessions_changes` with the session's
/// [`change_tag`](crate::store::change_tag), delivered when it commits; each layer listens
/// there ([`SessionStore::subscribe_changes`]) on a connection of its own, named after the
/// URL's `application_name` (or `tower-oidc`) with ` session changes` added, and keeps the
/// sessions it loaded in memory (a near cache), so a request on a session costs no query
/// while a logout on any instance still holds on every other at once. SQLite cannot tell
/// other processes of a change: every request reads its row.
///
/// URLs:
///
/// * `sqlite:///sessions.db`: SQLAlchemy's form, as flaskoidc deployments write it: three
///   slashes then a path relative to the working directory (`sqlite:////var/lib/app/s.db`,
///   four slashes, for an absolute path);
/// * `sqlite://sessions.db`, `sqlite:sessions.db`: sqlx's form, the same relative path;
/// * `sqlite::memory:` (or `sqlite://`): a database in this process's memory;
/// * `postgres://user:password@host:5432/db` or `postgresql://…`, with libpq's options
///   such as `?sslmode=require`.
///
/// A file database is created when missing (unless the URL sets `mode=`).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_oidc::{Config, store::SqlStore};
///
/// let store = SqlStore::connect("postgres://app@db.internal/app").await?;
/// let config = Config::builder_from_env()?.session_store(store).build()?;
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    /// Made on first use, inside the runtime.
    pool: std::sync::OnceLock<Pool>,
    /// Set once the table exists.
    schema: OnceCell<()>,
    /// Milliseconds since the epoch of the last background purge.
    last_purge: AtomicU64,
}

enum Target {
    Sqlite {
        options: SqliteConnectOptions,
        in_memory: bool,
    },
    Postgres(PgConnectOptions),
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Connection options may carry a password: name only the database kind.
        f.debug_struct("SqlStore")
            .field("database", &self.database())
            .field("table", &TABLE)
            .finish_non_exhaustive()
    }
}

/// Failures to reach the database, and answers that say it cannot serve now (too many
/// connections, shutting down, a locked SQLite file), are [`StoreError::Unavailable`]; the
/// rest, such as a table of the wrong shape, are [`StoreError::Other`].
pub(crate) fn sql_error(err: sqlx::Error) -> StoreError {
    use sqlx::Error;
    let transient = match &err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        Error::Database(db) => db.code().is_some_and(|code| {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_code_passes(&code)
            } else {
                postgres_code_passes(&code)
            }
        }),
        _ => false,
    };
    if transient {
        StoreError::unavailable(err)
    } else {
        StoreError::other(err)
    }
}

/// `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6), with their extended codes.
fn sqlite_code_passes(code: &str) -> bool {
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 57
/// (operator intervention, such as a shutdown); serialization failures and deadlocks.
fn postgres_code_passes(code: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(code, "40001" | "40P01")
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Reads a SQLite URL. SQLAlchemy writes `sqlite:///relative.db` and
/// `sqlite:////absolute.db`; sqlx writes `sqlite://relative.db`, `sqlite:relative.db` and
/// `sqlite::memory:`. Returns the options and whether the database lives in memory.
fn sqlite_options(url: &str) -> Result<(SqliteConnectOptions, bool), String> {
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| "not a sqlite: URL".to_owned())?;
    let database = rest
        .strip_prefix("///")
        .or_else(|| rest.strip_prefix("//"))
        .unwrap_or(rest);
    let (path, params) = match database.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (database, None),
    };
    let in_memory = path.is_empty()
        || path == ":memory:"
        || params.is_some_and(|params| params.split('&').any(|p| p == "mode=memory"));
    if in_memory {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|err| format!("invalid SQLite URL: {err}"))?;
        return Ok((options, true));
    }
    // One leading slash for an absolute path: sqlx would read `sqlite://x` as relative.
    let path = if path.starts_with('/') {
        format!("/{}", path.trim_start_matches('/'))
    } else {
        path.to_owned()
    };
    let native = match params {
        Some(params) => format!("sqlite:{path}?{params}"),
        None => format!("sqlite:{path}"),
    };
    let mut options = SqliteConnectOptions::from_str(&native)
        .map_err(|err| format!("invalid SQLite URL: {err}"))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    if !params.is_some_and(|params| params.split('&').any(|p| p.starts_with("mode="))) {
        options = options.create_if_missing(true);
    }
    Ok((options, false))
}

impl SqlStore {
    /// A store for the database at `url` that connects (and creates its table) on first
    /// use: the service can start while the database is down. Only the URL is checked here.
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the URL is neither a SQLite nor a PostgreSQL URL, or is
    /// malformed.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        let target = if url.starts_with("sqlite:") {
            let (options, in_memory) = sqlite_options(url).map_err(StoreError::other)?;
            Target::Sqlite { options, in_memory }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|err| StoreError::other(format!("invalid PostgreSQL URL: {err}")))?;
            Target::Postgres(options)
        } else {
            return Err(StoreError::other(
                "the SQL store takes `sqlite:` or `postgres://` URLs",
            ));
        };
        Ok(Self {
            inner: Arc::new(Inner {
                target,
                pool: std::sync::OnceLock::new(),
                schema: OnceCell::new(),
                last_purge: AtomicU64::new(0),
            }),
        })
    }

    /// Connects to the database at `url` and creates the table when missing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the database cannot be reached;
    /// [`StoreError::Other`] if the URL is invalid or the table cannot be created.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::new(url)?;
        store.ready().await?;
        Ok(store)
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn database(&self) -> &'static str {
        match self.inner.target {
            Target::Sqlite { .. } => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }

    /// Removes up to 1000 expired sessions (and as many expired logout and single-use
    /// keys) and returns how many sessions it removed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the database cannot be reached;
    /// [`StoreError::Other`] if it refuses the statement.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let pool = self.ready().await?;
        purge(&pool).await
    }

    fn pool(&self) -> Pool {
        self.inner
            .pool
            .get_or_init(|| match &self.inner.target {
                Target::Sqlite { options, in_memory } => {
                    let pool = if *in_memory {
                        // An in-memory database lives as long as a connection to it: keep
                        // exactly one, for ever.
                        SqlitePoolOptions::new()
                            .max_connections(1)
                            .min_connections(1)
                            .idle_timeout(None)
                            .max_lifetime(None)
                    } else {
                        SqlitePoolOptions::new()
                    };
                    Pool::Sqlite(
                        pool.acquire_timeout(ACQUIRE_TIMEOUT)
                            .connect_lazy_with(options.clone()),
                    )
                }
                Target::Postgres(options) => Pool::Postgres(
                    PgPoolOptions::new()
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .connect_lazy_with(options.clone()),
                ),
            })
            .clone()
    }

    /// The pool, once the table exists.
    pub(crate) async fn ready(&self) -> Result<Pool, StoreError> {
        let pool = self.pool();
        let schema = self.inner.schema.get_or_try_init(|| async {
            // Instances starting together may race to create the table (PostgreSQL can
            // then fail one `IF NOT EXISTS`): a second try sees the winner's table.
            match create_schema(&pool).await {
                Err(sqlx::Error::Database(_)) => create_schema(&pool).await,
                done => done,
            }
            .map_err(sql_error)
        });
        // Waiting behind another request's attempt must not add up to more than that.
        tokio::time::timeout(ACQUIRE_TIMEOUT * 2, schema)
            .await
            .map_err(|_| StoreError::unavailable("timed out connecting to the database"))??;
        Ok(pool)
    }

    /// Starts a background purge when the last one is old enough.
    fn maybe_purge(&self, pool: &Pool) {
        let now = u64::try_from(now_millis()).unwrap_or(0);
        let last = self.inner.last_purge.load(Ordering::Relaxed);
        let interval = u64::try_from(PURGE_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) < interval
            || self
                .inner
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let pool = pool.clone();
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            match purge(&pool).await {
                // A full batch: there may be more, so let the next save go on.
                Ok(removed) if removed >= PURGE_BATCH.unsigned_abs() => {
                    inner.last_purge.store(0, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not purge expired sessions"),
            }
        });
    }
}

async fn create_schema(pool: &Pool) -> Result<(), sqlx::Error> {
    let table = format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} \
         (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at BIGINT NOT NULL)"
    );
    let index = format!("CREATE INDEX IF NOT EXISTS {TABLE}_expires_at ON {TABLE} (expires_at)");
    // Back-channel logout keys (`sid:…`, `sub:…`) to session ids.
    let logout_keys = format!(
        "CREATE TABLE IF NOT EXISTS {TABLE}_logout_keys \
         (logout_key TEXT NOT NULL, id TEXT NOT NULL, expires_at BIGINT NOT NULL, \
         PRIMARY KEY (logout_key, id))"
    );
    // Single-use keys (login states, logout-token ids) and until when they count.
    let used_keys = format!(
        "CREATE TABLE IF NOT EXISTS {TABLE}_used_keys \
         (used_key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)"
    );
    let used_index = format!(
        "CREATE INDEX IF NOT EXISTS {TABLE}_used_keys_expires_at \
         ON {TABLE}_used_keys (expires_at)"
    );
    #[cfg_attr(not(feature = "api-keys"), allow(unused_mut))]
    let mut statements = vec![table, index, logout_keys, used_keys, used_index];
    #[cfg(feature = "api-keys")]
    statements.extend(crate::session::apikeys::sql::schema(TABLE));
    for statement in &statements {
        match pool {
            Pool::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop)?,
        }
    }
    Ok(())
}

async fn purge(pool: &Pool) -> Result<u64, StoreError> {
    let now = now_millis();
    let keys = format!(
        "DELETE FROM {TABLE}_logout_keys WHERE (logout_key, id) IN \
         (SELECT logout_key, id FROM {TABLE}_logout_keys WHERE expires_at <= $1 LIMIT $2)"
    );
    if let Err(err) = delete_expired_batch(pool, &keys, now).await {
        tracing::warn!(error = %sql_error(err), "could not purge expired logout keys");
    }
    let used = format!(
        "DELETE FROM {TABLE}_used_keys WHERE used_key IN \
         (SELECT used_key FROM {TABLE}_used_keys WHERE expires_at <= $1 LIMIT $2)"
    );
    if let Err(err) = delete_expired_batch(pool, &used, now).await {
        tracing::warn!(error = %sql_error(err), "could not purge expired single-use keys");
    }
    let sessions = format!(
        "DELETE FROM {TABLE} WHERE id IN \
         (SELECT id FROM {TABLE} WHERE expires_at <= $1 LIMIT $2)"
    );
    delete_expired_batch(pool, &sessions, now)
        .await
        .map_err(sql_error)
}

/// Runs a `DELETE` of at most [`PURGE_BATCH`] rows expired by `now` (`$1`, `$2`); the rows
/// it removed.
async fn delete_expired_batch(pool: &Pool, sql: &str, now: i64) -> Result<u64, sqlx::Error> {
    match pool {
        Pool::Sqlite(pool) => sqlx::query(sql)
            .bind(now)
            .bind(PURGE_BATCH)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        Pool::Postgres(pool) => sqlx::query(sql)
            .bind(now)
            .bind(PURGE_BATCH)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
    }
}

impl SessionStore for SqlStore {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        let pool = self.ready().await?;
        let sql = format!("SELECT data FROM {TABLE} WHERE id = $1 AND expires_at > $2");
        let now = now_millis();
        let row: Option<(String,)> = match &pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as(&sql)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(&sql)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(sql_error)?;
        row.map(|(record,)| SessionData::from_record(record))
            .transpose()
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let record = session.to_record()?;
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = now_millis().saturating_add(ttl);
        let pool = self.ready().await?;
        let sql = format!(
            "INSERT INTO {TABLE} (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at"
        );
        match &pool {
            Pool::Sqlite(pool) => sqlx::query(&sql)
                .bind(id)
                .bind(&record)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(drop),
            Pool::Postgres(pool) => sqlx::query(&notifying(&sql, 4))
                .bind(id)
                .bind(&record)
                .bind(expires_at)
                .bind(change_tag(id))
                .execute(pool)
                .await
                .map(drop),
        }
        .map_err(sql_error)?;
        self.maybe_purge(&pool);
        Ok(())
    }

    /// One `UPDATE`, which finds no row once the session is deleted or expired.
    async fn save_existing(
        &self,
        id: &str,
        session: &SessionData,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let record = session.to_record()?;
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let now = now_millis();
        let expires_at = now.saturating_add(ttl);
        let pool = self.ready().await?;
        let sql = format!(
            "UPDATE {TABLE} SET data = $2, expires_at = $3 WHERE id = $1 AND expires_at > $4"
        );
        let updated = match &pool {
            Pool::Sqlite(pool) => sqlx::query(&sql)
                .bind(id)
                .bind(&record)
                .bind(expires_at)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            Pool::Postgres(pool) => sqlx::query(&notifying(&sql, 5))
                .bind(id)
                .bind(&record)
                .bind(expires_at)
                .bind(now)
                .bind(change_tag(id))
                .fetch_all(pool)
                .await
                .map(|changed| changed.len() as u64),
        }
        .map_err(sql_error)?;
        Ok(updated > 0)
    }

    /// One `INSERT … ON CONFLICT`: a live key is left alone (no row changes), an expired
    /// one is taken over as if new. Expired keys are purged with expired sessions.
    async fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let now = now_millis();
        let expires_at = now.saturating_add(ttl);
        let pool = self.ready().await?;
        let sql = format!(
            "INSERT INTO {TABLE}_used_keys (used_key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (used_key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE {TABLE}_used_keys.expires_at <= $3"
        );
        let recorded = match &pool {
            Pool::Sqlite(pool) => sqlx::query(&sql)
                .bind(key)
                .bind(expires_at)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            Pool::Postgres(pool) => sqlx::query(&sql)
                .bind(key)
                .bind(expires_at)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        }
        .map_err(sql_error)?;
        self.maybe_purge(&pool);
        Ok(recorded > 0)
    }

    async fn forget_use(&self, key: &str) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        let sql = format!("DELETE FROM {TABLE}_used_keys WHERE used_key = $1");
        match &pool {
            Pool::Sqlite(pool) => sqlx::query(&sql).bind(key).execute(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::query(&sql).bind(key).execute(pool).await.map(drop),
        }
        .map_err(sql_error)
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let pool = self.ready().await?;
        let sql = format!("DELETE FROM {TABLE} WHERE id = $1");
        match &pool {
            Pool::Sqlite(pool) => sqlx::query(&sql).bind(id).execute(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::query(&notifying(&sql, 2))
                .bind(id)
                .bind(change_tag(id))
                .execute(pool)
                .await
                .map(drop),
        }
        .map_err(sql_error)?;
        Ok(())
    }

    async fn index(&self, id: &str, keys: &[String], ttl: Duration) -> Result<(), StoreError> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = now_millis().saturating_add(ttl);
        let pool = self.ready().await?;
        let sql = format!(
            "INSERT INTO {TABLE}_logout_keys (logout_key, id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (logout_key, id) DO UPDATE SET expires_at = excluded.expires_at"
        );
        for key in keys {
            match &pool {
                Pool::Sqlite(pool) => sqlx::query(&sql)
                    .bind(key)
                    .bind(id)
                    .bind(expires_at)
                    .execute(pool)
                    .await
                    .map(drop),
                Pool::Postgres(pool) => sqlx::query(&sql)
                    .bind(key)
                    .bind(id)
                    .bind(expires_at)
                    .execute(pool)
                    .await
                    .map(drop),
            }
            .map_err(sql_error)?;
        }
        Ok(())
    }

    /// One transaction: the logout key's rows go first, returning the sessions they
    /// name, then those sessions. A failure anywhere rolls everything back, so the rows a
    /// retry needs to find the sessions are never lost while the sessions live on.
    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        let pool = self.ready().await?;
        let keys = format!("DELETE FROM {TABLE}_logout_keys WHERE logout_key = $1 RETURNING id");
        let session = format!("DELETE FROM {TABLE} WHERE id = $1");
        let mut ended: u64 = 0;
        match &pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin().await.map_err(sql_error)?;
                let ids: Vec<(String,)> = sqlx::query_as(&keys)
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(sql_error)?;
                for (id,) in &ids {
                    let done = sqlx::query(&session)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(sql_error)?;
                    ended += done.rows_affected();
                }
                tx.commit().await.map_err(sql_error)?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(sql_error)?;
                let ids: Vec<(String,)> = sqlx::query_as(&keys)
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(sql_error)?;
                let session = notifying(&session, 2);
                for (id,) in &ids {
                    let changed = sqlx::query(&session)
                        .bind(id)
                        .bind(change_tag(id))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(sql_error)?;
                    ended += changed.len() as u64;
                }
                tx.commit().await.map_err(sql_error)?;
            }
        }
        Ok(usize::try_from(ended).unwrap_or(usize::MAX))
    }

    /// PostgreSQL: `LISTEN` on a connection of its own (see [`SqlStore`]). SQLite:
    /// [`StoreError::Unsupported`], as it has no way to tell other processes.
    fn subscribe_changes(&self, listener: ChangeListener) -> Result<(), StoreError> {
        match &self.inner.target {
            Target::Postgres(options) => {
                super::change_feed::spawn(|| PgFeed::new(options), listener)
            }
            Target::Sqlite { .. } => Err(StoreError::Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: &str) -> String {
        let (options, in_memory) = sqlite_options(url).expect("valid");
        assert!(!in_memory, "{url}");
        options.get_filename().to_string_lossy().into_owned()
    }

    #[test]
    fn sqlite_urls_in_both_styles() {
        // SQLAlchemy (flaskoidc): three slashes, then a relative path.
        assert_eq!(file("sqlite:///sessions.db"), "sessions.db");
        assert_eq!(file("sqlite:///data/sessions.db"), "data/sessions.db");
        // Four slashes: absolute.
        assert_eq!(file("sqlite:////var/lib/app/s.db"), "/var/lib/app/s.db");
        // sqlx.
        assert_eq!(file("sqlite://sessions.db"), "sessions.db");
        assert_eq!(file("sqlite:sessions.db"), "sessions.db");
        assert_eq!(file("sqlite:sessions.db?mode=rwc"), "sessions.db");
        for memory in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite:///:memory:",
            "sqlite://?mode=memory",
        ] {
            assert!(sqlite_options(memory).expect("valid").1, "{memory}");
        }
        assert!(sqlite_options("sqlite:x.db?bogus=1").is_err());
    }

    #[test]
    fn database_errors_that_pass_are_unavailability() {
        // SQLite: busy, locked, and their extended codes; not a corrupt file, a read-only
        // database, a generic error.
        for code in ["5", "6", "261", "517"] {
            assert!(sqlite_code_passes(code), "{code}");
        }
        for code in ["11", "8", "1", "x"] {
            assert!(!sqlite_code_passes(code), "{code}");
        }
        // PostgreSQL: too many connections, shutting down, a broken connection, a
        // deadlock; not a missing table or a unique violation.
        for code in ["53300", "57P01", "57P03", "08006", "40P01"] {
            assert!(postgres_code_passes(code), "{code}");
        }
        for code in ["42P01", "23505"] {
            assert!(!postgres_code_passes(code), "{code}");
        }
        assert!(matches!(
            sql_error(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            sql_error(sqlx::Error::RowNotFound),
            StoreError::Other { .. }
        ));
    }

    #[test]
    fn listening_needs_a_runtime_and_never_panics_without_one() {
        let store = SqlStore::new("postgres://app@127.0.0.1:1/app").expect("url");
        assert!(matches!(
            store.subscribe_changes(ChangeListener::detached()),
            Err(StoreError::Unavailable { .. })
        ));
        let sqlite = SqlStore::new("sqlite::memory:").expect("url");
        assert!(matches!(
            sqlite.subscribe_changes(ChangeListener::detached()),
            Err(StoreError::Unsupported)
        ));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            assert!(store.subscribe_changes(ChangeListener::detached()).is_ok());
        });
    }

    #[test]
    fn urls_are_checked_without_connecting() {
        let store = SqlStore::new("postgresql://app:hunter2@127.0.0.1:1/app").expect("valid");
        assert_eq!(store.database(), "postgres");
        assert!(!format!("{store:?}").contains("hunter2"));
        assert_eq!(
            SqlStore::new("sqlite:///sessions.db")
                .expect("valid")
                .database(),
            "sqlite"
        );
        assert!(matches!(
            SqlStore::new("mysql://localhost/app"),
            Err(StoreError::Other { .. })
        ));
    }
}
