//! API keys in the Redis session store's deployment (feature `redis`): each key's record
//! at `{prefix}apikey:{id}` (expiring with the key), found from the key alone, and each
//! user's keys in the hash `{prefix}apikeys_of:{<user tag>}` (key id → expiry, `0` for
//! none), which bounds, lists and revokes them.
//!
//! On a Redis Cluster the records of one user live on many slots, so no command or script
//! touches two keys: the per-user cap is one script on the user's hash alone, and records
//! change one key at a time, in an order that never leaves a usable key out of its user's
//! hash. The user tag is a hash tag (`{…}`) so anything later kept beside the hash shares
//! its slot; it is a digest of the user id, which may hold braces itself.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::record::ApiKey;
use super::store::ApiKeyStore;
use crate::session::redis_connection::{redis_error, Connection};
use crate::store::{RedisStore, StoreError};

/// KEYS: the user's hash. ARGV: the id, the limit, now and the key's expiry (Unix
/// seconds; `0`: none). Entries of keys gone by expiry leave the hash first, so they do
/// not count.
const ADD_UNDER_LIMIT: &str = r"
local now = tonumber(ARGV[3])
local live = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local expires = tonumber(entries[i + 1])
  if expires ~= 0 and expires <= now then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    live = live + 1
  end
end
if live >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
";

impl RedisStore {
    fn key_record(&self, id: &str) -> String {
        self.prefixed(&format!("apikey:{id}"))
    }

    fn keys_of(&self, user_id: &str) -> String {
        let digest = Sha256::digest(user_id.as_bytes());
        let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.prefixed(&format!("apikeys_of:{{{tag}}}"))
    }

    /// The records of `ids`, `None` for those gone: one `MGET` on a single server, one
    /// `GET` each on a cluster, where they live on different slots.
    async fn key_records(
        &self,
        connection: &mut Connection,
        ids: &[String],
    ) -> Result<Vec<Option<String>>, StoreError> {
        if !self.is_cluster() {
            let mut get = ::redis::cmd("MGET");
            for id in ids {
                get.arg(self.key_record(id));
            }
            return get.query_async(connection).await.map_err(redis_error);
        }
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            let record: Option<String> = ::redis::cmd("GET")
                .arg(self.key_record(id))
                .query_async(connection)
                .await
                .map_err(redis_error)?;
            records.push(record);
        }
        Ok(records)
    }
}

/// The ids a user's hash names.
async fn key_ids(connection: &mut Connection, hash: &str) -> Result<Vec<String>, StoreError> {
    ::redis::cmd("HKEYS")
        .arg(hash)
        .query_async(connection)
        .await
        .map_err(redis_error)
}

async fn forget(
    connection: &mut Connection,
    hash: &str,
    ids: &[impl AsRef<str>],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut hdel = ::redis::cmd("HDEL");
    hdel.arg(hash);
    for id in ids {
        hdel.arg(id.as_ref());
    }
    hdel.query_async::<()>(connection)
        .await
        .map_err(redis_error)
}

#[cfg_attr(docsrs, doc(cfg(all(feature = "redis", feature = "api-keys"))))]
impl ApiKeyStore for RedisStore {
    /// The record first, then the user's hash under the cap: a key is shown only once both
    /// are written, and a record left by a refusal whose clean-up failed is unusable, its
    /// secret never shown.
    async fn create(&self, key: &ApiKey, limit: usize) -> Result<bool, StoreError> {
        let now = crate::session::now();
        let mut set = ::redis::cmd("SET");
        set.arg(self.key_record(&key.id))
            .arg(key.to_record()?)
            .arg("NX");
        if let Some(expires) = key.expires {
            let secs = expires.saturating_sub(now).max(1);
            let ttl = u64::try_from(Duration::from_secs(secs).as_millis()).unwrap_or(u64::MAX);
            set.arg("PX").arg(ttl);
        }
        let mut connection = self.connection().await?;
        let written: Option<String> = set
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        if written.is_none() {
            return Err(StoreError::other("an API key with this id already exists"));
        }
        let added: Result<i64, StoreError> = ::redis::cmd("EVAL")
            .arg(ADD_UNDER_LIMIT)
            .arg(1)
            .arg(self.keys_of(&key.user_id))
            .arg(&key.id)
            .arg(limit)
            .arg(now)
            .arg(key.expires.unwrap_or(0))
            .query_async(&mut connection)
            .await
            .map_err(redis_error);
        if matches!(added, Ok(1)) {
            return Ok(true);
        }
        ::redis::cmd("DEL")
            .arg(self.key_record(&key.id))
            .query_async::<()>(&mut connection)
            .await
            .map_err(redis_error)?;
        added.map(|_| false)
    }

    async fn load(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<String> = ::redis::cmd("GET")
            .arg(self.key_record(id))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        record.map(ApiKey::from_record).transpose()
    }

    /// Entries whose record is gone (revoked, expired) leave the user's hash: records are
    /// written before their entry, so such an entry never names a key being made.
    async fn list(&self, user_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let hash = self.keys_of(user_id);
        let mut connection = self.connection().await?;
        let ids = key_ids(&mut connection, &hash).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records = self.key_records(&mut connection, &ids).await?;
        let now = crate::session::now();
        let mut keys = Vec::with_capacity(records.len());
        let mut gone = Vec::new();
        for (id, record) in ids.iter().zip(records) {
            let Some(record) = record else {
                gone.push(id);
                continue;
            };
            let key = ApiKey::from_record(record)?;
            if key.user_id == user_id && !key.is_expired(now) {
                keys.push(key);
            }
        }
        forget(&mut connection, &hash, &gone).await?;
        keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(keys)
    }

    /// `SET … XX KEEPTTL`: a revoked key stays gone.
    async fn touch(&self, id: &str, now: u64) -> Result<(), StoreError> {
        let Some(mut key) = ApiKeyStore::load(self, id).await? else {
            return Ok(());
        };
        key.set_last_used(now);
        let mut connection = self.connection().await?;
        ::redis::cmd("SET")
            .arg(self.key_record(id))
            .arg(key.to_record()?)
            .arg("XX")
            .arg("KEEPTTL")
            .query_async::<Option<String>>(&mut connection)
            .await
            .map(drop)
            .map_err(redis_error)
    }

    /// Only a key in the user's hash goes. The record goes before the entry: a failure in
    /// between leaves the entry for a retry, never a usable key out of the hash.
    async fn revoke(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let hash = self.keys_of(user_id);
        let mut connection = self.connection().await?;
        let owned: bool = ::redis::cmd("HEXISTS")
            .arg(&hash)
            .arg(id)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        if !owned {
            return Ok(false);
        }
        let deleted: i64 = ::redis::cmd("DEL")
            .arg(self.key_record(id))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        forget(&mut connection, &hash, &[id]).await?;
        Ok(deleted == 1)
    }

    /// One record at a time (a cluster keeps them on different slots); the ids read leave
    /// the hash only once their records are gone, and a key made meanwhile stays listed.
    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let hash = self.keys_of(user_id);
        let mut connection = self.connection().await?;
        let ids = key_ids(&mut connection, &hash).await?;
        let mut revoked = 0;
        for id in &ids {
            let deleted: usize = ::redis::cmd("DEL")
                .arg(self.key_record(id))
                .query_async(&mut connection)
                .await
                .map_err(redis_error)?;
            revoked += deleted;
        }
        forget(&mut connection, &hash, &ids).await?;
        Ok(revoked)
    }
}
