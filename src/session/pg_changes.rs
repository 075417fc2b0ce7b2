//! Session changes over PostgreSQL `LISTEN`/`NOTIFY`: every write of a session row notifies
//! [`CHANNEL`] in the same statement, and each subscribing layer listens on a connection of
//! its own, checked with a query when quiet and made again when it drops.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::Executor;

use super::change_feed::{ChangeFeed, PING_EVERY, PING_TIMEOUT};
use super::changes::ChangeListener;
use super::sql_store::sql_error;
use super::store::StoreError;

/// The channel session changes are notified on: one per database, as the table is.
pub(crate) const CHANNEL: &str = "tower_oidc_sessions_changes";
/// How long connecting and `LISTEN` may take together.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `statement`, an `INSERT`, `UPDATE` or `DELETE` of session rows, made to notify
/// [`CHANNEL`] with the change tag bound as `$tag_param` when it changed a row, and to
/// answer one row per row changed. Notifications go out when the transaction commits, so
/// nobody hears of a change that was rolled back.
pub(crate) fn notifying(statement: &str, tag_param: usize) -> String {
    format!(
        "WITH changed AS ({statement} RETURNING id) \
         SELECT 1 FROM changed, pg_notify('{CHANNEL}', ${tag_param})"
    )
}

/// The listening side: a pool of its own, named so that operators can tell its connection
/// apart in `pg_stat_activity`. It uses one connection at a time; the second it may hold
/// is a listening connection that went quiet and is being let go (its `UNLISTEN` may wait
/// for TCP to give up), so that subscribing again does not wait behind it.
pub(crate) struct PgFeed {
    pool: PgPool,
}

impl PgFeed {
    pub(crate) fn new(options: &PgConnectOptions) -> Self {
        let name = format!(
            "{} session changes",
            options.get_application_name().unwrap_or("tower-oidc")
        );
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .acquire_timeout(SUBSCRIBE_TIMEOUT)
            .connect_lazy_with(options.clone().application_name(&name));
        Self { pool }
    }
}

impl ChangeFeed for PgFeed {
    type Subscription = PgListener;

    async fn subscribe(&self) -> Result<PgListener, StoreError> {
        let listen = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            // A lost connection ends the subscription; the next one is made afresh.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok(listener)
        };
        tokio::time::timeout(SUBSCRIBE_TIMEOUT, listen)
            .await
            .map_err(|_| StoreError::unavailable("LISTEN timed out"))?
            .map_err(sql_error)
    }

    /// A notification in flight when the wait is cut short stays buffered: waiting for
    /// one is cancel-safe in sqlx, so the check can interleave with it.
    async fn relay(&self, mut subscription: PgListener, listener: &ChangeListener) {
        loop {
            if listener.is_closed() {
                return;
            }
            match tokio::time::timeout(PING_EVERY, subscription.try_recv()).await {
                Ok(Ok(Some(notification))) => listener.changed(notification.payload()),
                // The connection dropped: what was notified meanwhile is gone.
                Ok(Ok(None) | Err(_)) => return,
                Err(_quiet) => {
                    let check = (&mut subscription).execute("SELECT 1");
                    if !matches!(tokio::time::timeout(PING_TIMEOUT, check).await, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }
}
