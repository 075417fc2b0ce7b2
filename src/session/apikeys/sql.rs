//! API keys in the SQL session store's database (feature `sql`): the table
//! `tower_oidc_sessions_api_keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, data TEXT
//! NOT NULL, expires_at BIGINT)`, created with the session tables; `data` is the key's
//! record ([`ApiKey::to_record`]), `expires_at` Unix milliseconds or `NULL`. A user's expired
//! rows are deleted when that user makes a key.

use super::record::ApiKey;
use super::store::ApiKeyStore;
use crate::session::sql_store::{now_millis, sql_error, Pool};
use crate::store::{SqlStore, StoreError};

/// The table beside the session table `sessions`.
fn table() -> String {
    format!("{}_api_keys", crate::session::sql_store::TABLE)
}

/// The statements creating the key table beside the session table `sessions`.
pub(crate) fn schema(sessions: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {sessions}_api_keys \
             (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, data TEXT NOT NULL, expires_at BIGINT)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {sessions}_api_keys_user_id \
             ON {sessions}_api_keys (user_id)"
        ),
    ]
}

/// Runs the same statement on either database.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

fn millis(secs: Option<u64>) -> Option<i64> {
    secs.map(|secs| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}

#[cfg_attr(docsrs, doc(cfg(all(feature = "sql", feature = "api-keys"))))]
impl ApiKeyStore for SqlStore {
    /// One statement: the row is inserted only while the user's live keys are fewer than
    /// `limit`. Two creations at the same instant on PostgreSQL may both see room.
    async fn create(&self, key: &ApiKey, limit: usize) -> Result<bool, StoreError> {
        let record = key.to_record()?;
        let pool = self.ready().await?;
        let table = table();
        let sql = format!(
            "INSERT INTO {table} (id, user_id, data, expires_at) SELECT $1, $2, $3, $4 \
             WHERE (SELECT COUNT(*) FROM {table} WHERE user_id = $2 \
             AND (expires_at IS NULL OR expires_at > $5)) < $6"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let now = now_millis();
        // The user's expired keys go here, a few rows at a time, rather than in a purge.
        let expired = format!(
            "DELETE FROM {table} WHERE user_id = $1 AND expires_at IS NOT NULL \
             AND expires_at <= $2"
        );
        on_pool!(&pool, |pool| sqlx::query(&expired)
            .bind(&key.user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(drop))
        .map_err(sql_error)?;
        let done = on_pool!(&pool, |pool| sqlx::query(&sql)
            .bind(&key.id)
            .bind(&key.user_id)
            .bind(&record)
            .bind(millis(key.expires))
            .bind(now)
            .bind(limit)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(sql_error)?;
        Ok(done > 0)
    }

    async fn load(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let pool = self.ready().await?;
        let sql = format!("SELECT data FROM {} WHERE id = $1", table());
        let row: Option<(String,)> = on_pool!(&pool, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(sql_error)?;
        row.map(|(record,)| ApiKey::from_record(record)).transpose()
    }

    async fn list(&self, user_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let pool = self.ready().await?;
        let sql = format!(
            "SELECT data FROM {} WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
            table()
        );
        let now = now_millis();
        let rows: Vec<(String,)> = on_pool!(&pool, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await)
        .map_err(sql_error)?;
        let mut keys = rows
            .into_iter()
            .map(|(record,)| ApiKey::from_record(record))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(keys)
    }

    /// Rewrites the record; an `UPDATE` of a revoked key finds no row.
    async fn touch(&self, id: &str, now: u64) -> Result<(), StoreError> {
        let Some(mut key) = ApiKeyStore::load(self, id).await? else {
            return Ok(());
        };
        key.set_last_used(now);
        let record = key.to_record()?;
        let pool = self.ready().await?;
        let sql = format!("UPDATE {} SET data = $1 WHERE id = $2", table());
        on_pool!(&pool, |pool| sqlx::query(&sql)
            .bind(&record)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))
        .map_err(sql_error)
    }

    async fn revoke(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let pool = self.ready().await?;
        let sql = format!("DELETE FROM {} WHERE id = $1 AND user_id = $2", table());
        let done = on_pool!(&pool, |pool| sqlx::query(&sql)
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(sql_error)?;
        Ok(done > 0)
    }

    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let pool = self.ready().await?;
        let sql = format!("DELETE FROM {} WHERE user_id = $1", table());
        let done = on_pool!(&pool, |pool| sqlx::query(&sql)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(sql_error)?;
        Ok(usize::try_from(done).unwrap_or(usize::MAX))
    }
}
