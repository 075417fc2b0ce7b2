//! API keys in the Redis session store's server (feature `redis`): each key's record at
//! `{prefix}apikey:{id}` (expiring with the key), and each user's key ids in the set
//! `{prefix}apikeys_of:{user id}`. Making and revoking keys are Lua scripts, so the
//! record and the set change together.

use std::time::Duration;

use super::record::ApiKey;
use super::store::ApiKeyStore;
use crate::session::redis_store::redis_error;
use crate::store::{RedisStore, StoreError};

/// KEYS: the record, the user's set. ARGV: the record, the id, the limit, the time to
/// live in milliseconds (0: none), the prefix of records. Ids of records gone (expired)
/// leave the set first, so they do not count.
const CREATE: &str = r"
local live = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[5] .. id) == 1 then
    live = live + 1
  else
    redis.call('SREM', KEYS[2], id)
  end
end
if live >= tonumber(ARGV[3]) then return 0 end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
";

/// KEYS: the record, the user's set. ARGV: the id. Only a key in the user's set goes.
const REVOKE: &str = r"
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
return redis.call('DEL', KEYS[1])
";

/// KEYS: the user's set. ARGV: the prefix of records.
const REVOKE_ALL: &str = r"
local revoked = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  revoked = revoked + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return revoked
";

impl RedisStore {
    fn key_record(&self, id: &str) -> String {
        self.prefixed(&format!("apikey:{id}"))
    }

    fn keys_of(&self, user_id: &str) -> String {
        self.prefixed(&format!("apikeys_of:{user_id}"))
    }
}

#[cfg_attr(docsrs, doc(cfg(all(feature = "redis", feature = "api-keys"))))]
impl ApiKeyStore for RedisStore {
    async fn create(&self, key: &ApiKey, limit: usize) -> Result<bool, StoreError> {
        let ttl = match key.expires {
            Some(expires) => {
                let secs = expires.saturating_sub(crate::session::now()).max(1);
                u64::try_from(Duration::from_secs(secs).as_millis()).unwrap_or(u64::MAX)
            }
            None => 0,
        };
        let mut connection = self.connection().await?;
        let done: i64 = ::redis::cmd("EVAL")
            .arg(CREATE)
            .arg(2)
            .arg(self.key_record(&key.id))
            .arg(self.keys_of(&key.user_id))
            .arg(key.to_record()?)
            .arg(&key.id)
            .arg(limit)
            .arg(ttl)
            .arg(self.prefixed("apikey:"))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        Ok(done == 1)
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

    async fn list(&self, user_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let mut connection = self.connection().await?;
        let ids: Vec<String> = ::redis::cmd("SMEMBERS")
            .arg(self.keys_of(user_id))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = ::redis::cmd("MGET");
        for id in &ids {
            get.arg(self.key_record(id));
        }
        let records: Vec<Option<String>> = get
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        let now = crate::session::now();
        let mut keys = Vec::with_capacity(records.len());
        for record in records.into_iter().flatten() {
            let key = ApiKey::from_record(record)?;
            if !key.is_expired(now) {
                keys.push(key);
            }
        }
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

    async fn revoke(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        let done: i64 = ::redis::cmd("EVAL")
            .arg(REVOKE)
            .arg(2)
            .arg(self.key_record(id))
            .arg(self.keys_of(user_id))
            .arg(id)
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        Ok(done == 1)
    }

    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut connection = self.connection().await?;
        let done: i64 = ::redis::cmd("EVAL")
            .arg(REVOKE_ALL)
            .arg(1)
            .arg(self.keys_of(user_id))
            .arg(self.prefixed("apikey:"))
            .query_async(&mut connection)
            .await
            .map_err(redis_error)?;
        Ok(usize::try_from(done).unwrap_or(0))
    }
}
