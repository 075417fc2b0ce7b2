//! Following a store's change notifications in the background: subscribe, relay what
//! arrives to the layer, and subscribe again when the subscription drops, telling the layer
//! whenever changes may have been missed.

use std::future::Future;
use std::time::Duration;

use super::changes::ChangeListener;
use super::store::StoreError;

/// How often a quiet subscription is checked, and how long its answer may take: a
/// connection that died silently (no reset, no end of stream) is noticed within their sum,
/// and the near cache stops serving then.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(1);
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Waits between attempts to subscribe again, doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Where a store's change notifications come from.
pub(crate) trait ChangeFeed: Send + Sync + 'static {
    /// A live subscription: every change from its start on will be relayed.
    type Subscription: Send;

    /// Subscribes, within a bounded time.
    fn subscribe(&self) -> impl Future<Output = Result<Self::Subscription, StoreError>> + Send;

    /// Hands every change to `listener` until the subscription drops, stops answering its
    /// check (within [`PING_EVERY`] + [`PING_TIMEOUT`] of going quiet), or the listener
    /// closes.
    fn relay(
        &self,
        subscription: Self::Subscription,
        listener: &ChangeListener,
    ) -> impl Future<Output = ()> + Send;
}

/// Follows the feed `make` makes in a task of the current runtime until `listener` closes.
/// The feed is made only inside a runtime, as its connections may need one from the start.
pub(crate) fn spawn<F: ChangeFeed>(
    make: impl FnOnce() -> F,
    listener: ChangeListener,
) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        StoreError::unavailable("no tokio runtime to listen for session changes on")
    })?;
    runtime.spawn(follow(make(), listener));
    Ok(())
}

async fn follow<F: ChangeFeed>(feed: F, listener: ChangeListener) {
    let _lost_when_dropped = LostWhenDropped(listener.clone());
    let mut retry = FIRST_RETRY;
    while !listener.is_closed() {
        match feed.subscribe().await {
            Ok(subscription) => {
                listener.subscribed();
                tracing::debug!("listening for session changes");
                retry = FIRST_RETRY;
                feed.relay(subscription, &listener).await;
                listener.lost();
                if listener.is_closed() {
                    return;
                }
                tracing::warn!("lost the subscription to session changes; subscribing again");
            }
            Err(err) => {
                // Nothing was delivered: sessions are read from the store meanwhile.
                listener.lost();
                tracing::warn!(error = %err, "cannot subscribe to session changes");
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Tells the listener that changes may be missed when the following task ends in any way,
/// including its runtime shutting down while the layer lives on.
struct LostWhenDropped(ChangeListener);

impl Drop for LostWhenDropped {
    fn drop(&mut self) {
        self.0.lost();
    }
}
