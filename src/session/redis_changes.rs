//! Session changes over Redis pub/sub: one channel per key prefix, a dedicated subscriber
//! connection per subscribing layer, watched with a `PING` and made again when it drops.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{PubSubSink, PubSubStream};
use futures_core::Stream;

use super::changes::ChangeListener;
use super::redis_connection::Backend;
use super::store::StoreError;

/// How often the subscription is checked with a `PING`, and how long its answer may take:
/// a connection that died silently (no reset, no end of stream) is noticed within their
/// sum, and the near cache stops serving then.
const PING_EVERY: Duration = Duration::from_secs(1);
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Waits between attempts to subscribe again, doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Listens on `channel` in a task of the current runtime until `listener` closes.
pub(crate) fn spawn(
    backend: Arc<Backend>,
    channel: String,
    listener: ChangeListener,
) -> Result<(), StoreError> {
    if backend.is_cluster() {
        return Err(StoreError::Unsupported);
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        StoreError::unavailable("no tokio runtime to listen for session changes on")
    })?;
    runtime.spawn(listen(backend, channel, listener));
    Ok(())
}

async fn listen(backend: Arc<Backend>, channel: String, listener: ChangeListener) {
    let _lost_when_dropped = LostWhenDropped(listener.clone());
    let mut retry = FIRST_RETRY;
    while !listener.is_closed() {
        match subscribe(&backend, &channel).await {
            Ok((sink, stream)) => {
                listener.subscribed();
                tracing::debug!("listening for session changes");
                retry = FIRST_RETRY;
                relay(sink, stream, &listener).await;
                listener.lost();
                if listener.is_closed() {
                    return;
                }
                tracing::warn!("lost the subscription to session changes; subscribing again");
            }
            Err(err) => {
                // Nothing was delivered: sessions are read from Redis meanwhile.
                listener.lost();
                tracing::warn!(error = %err, "cannot subscribe to session changes");
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Tells the listener that changes may be missed when the listening task ends in any way,
/// including its runtime shutting down while the layer lives on.
struct LostWhenDropped(ChangeListener);

impl Drop for LostWhenDropped {
    fn drop(&mut self) {
        self.0.lost();
    }
}

async fn subscribe(
    backend: &Backend,
    channel: &str,
) -> Result<(PubSubSink, PubSubStream), StoreError> {
    let pubsub = backend
        .pubsub()
        .await
        .ok_or(StoreError::Unsupported)?
        .map_err(super::redis_connection::redis_error)?;
    let (mut sink, stream) = pubsub.split();
    tokio::time::timeout(PING_TIMEOUT, sink.subscribe(channel))
        .await
        .map_err(|_| StoreError::unavailable("SUBSCRIBE timed out"))?
        .map_err(super::redis_connection::redis_error)?;
    Ok((sink, stream))
}

/// Hands every message to `listener` until the connection drops, stops answering a
/// `PING`, or the listener closes. The `PING`s go out beside the messages, never holding
/// one back.
async fn relay(mut sink: PubSubSink, mut stream: PubSubStream, listener: &ChangeListener) {
    let watch = async {
        loop {
            tokio::time::sleep(PING_EVERY).await;
            if listener.is_closed() {
                return;
            }
            let ping = sink.ping::<::redis::Value>();
            if !matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(_))) {
                return;
            }
        }
    };
    let read = async {
        while let Some(message) =
            std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
        {
            match std::str::from_utf8(message.get_payload_bytes()) {
                Ok(tag) => listener.changed(tag),
                // Not a tag: something else publishes here; safer to start over.
                Err(_) => return,
            }
        }
    };
    tokio::select! {
        () = watch => {}
        () = read => {}
    }
}
