//! Session changes over Redis pub/sub: one channel per key prefix, a dedicated subscriber
//! connection per subscribing layer (on a cluster, to one node, the next one each time),
//! watched with a `PING` and made again when it drops.

use std::pin::Pin;
use std::sync::Arc;

use ::redis::aio::{PubSubSink, PubSubStream};
use futures_core::Stream;

use super::change_feed::{self, ChangeFeed, PING_EVERY, PING_TIMEOUT};
use super::changes::ChangeListener;
use super::redis_connection::Backend;
use super::store::StoreError;

/// The change channel of a Redis store.
struct RedisFeed {
    backend: Arc<Backend>,
    channel: String,
}

/// Listens on `channel` in a task of the current runtime until `listener` closes.
pub(crate) fn spawn(
    backend: Arc<Backend>,
    channel: String,
    listener: ChangeListener,
) -> Result<(), StoreError> {
    change_feed::spawn(|| RedisFeed { backend, channel }, listener)
}

impl ChangeFeed for RedisFeed {
    type Subscription = (PubSubSink, PubSubStream);

    async fn subscribe(&self) -> Result<Self::Subscription, StoreError> {
        subscribe(&self.backend, &self.channel).await
    }

    async fn relay(&self, (sink, stream): Self::Subscription, listener: &ChangeListener) {
        relay(sink, stream, listener).await;
    }
}

async fn subscribe(
    backend: &Backend,
    channel: &str,
) -> Result<(PubSubSink, PubSubStream), StoreError> {
    let pubsub = backend
        .pubsub()
        .await
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
