//! Change notification: a store tells every instance sharing it which sessions changed,
//! so each can keep loaded sessions in memory and still see a logout at once.

use std::fmt;
use std::sync::Weak;

use sha2::{Digest, Sha256};

/// What the layer does with the notifications a store delivers.
pub(crate) trait ChangeTarget: Send + Sync {
    /// Every change from now on is delivered; changes before may have been missed.
    fn subscribed(&self);
    /// Changes may be missed from now on, until [`subscribed`](Self::subscribed).
    fn lost(&self);
    /// The session whose [`change_tag`] is `tag` was written or deleted.
    fn changed(&self, tag: &str);
}

/// Where a [`SessionStore`](crate::store::SessionStore) delivers change notifications:
/// given to [`SessionStore::subscribe_changes`](crate::store::SessionStore::subscribe_changes).
///
/// A store that implements change notification publishes, on every write of a session
/// (`save`, `save_existing`, `delete`, and each session `delete_indexed` ends), the
/// session's [`change_tag`] to every instance sharing the store; each instance hands the
/// tags it receives to [`changed`](Self::changed). It calls
/// [`subscribed`](Self::subscribed) once it receives every change (and again after each
/// reconnection), and [`lost`](Self::lost) as soon as it may miss one (a dropped
/// connection, a subscriber that fell behind). While lost, the layer asks the store on
/// every request, so a missed notification never serves a session that has ended.
///
/// The listener is cheap to clone; once the layer is gone, [`is_closed`](Self::is_closed)
/// answers `true` and the store may stop listening.
///
/// ```
/// use tower_oidc::store::{change_tag, ChangeListener};
///
/// // A listener no layer listens through, as a store's unit test may use.
/// let listener = ChangeListener::detached();
/// listener.subscribed();
/// listener.changed(&change_tag("a session id"));
/// listener.lost();
/// assert!(listener.is_closed());
/// ```
#[derive(Clone)]
pub struct ChangeListener {
    target: Option<Weak<dyn ChangeTarget>>,
}

impl fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeListener")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl ChangeListener {
    pub(crate) fn new(target: Weak<dyn ChangeTarget>) -> Self {
        Self {
            target: Some(target),
        }
    }

    /// A listener that delivers nowhere: closed from the start.
    #[must_use]
    pub fn detached() -> Self {
        Self { target: None }
    }

    fn with(&self, deliver: impl FnOnce(&dyn ChangeTarget)) {
        if let Some(target) = self.target.as_ref().and_then(Weak::upgrade) {
            deliver(&*target);
        }
    }

    /// Every change from now on will be delivered: the subscription is in place. Changes
    /// before it may have been missed, so the layer forgets what it kept.
    pub fn subscribed(&self) {
        self.with(|target| target.subscribed());
    }

    /// Changes may be missed from now on (the subscription's connection dropped, or the
    /// subscriber fell behind), until the next [`subscribed`](Self::subscribed).
    pub fn lost(&self) {
        self.with(|target| target.lost());
    }

    /// The session whose [`change_tag`] is `tag` was written or deleted, by any instance.
    pub fn changed(&self, tag: &str) {
        self.with(|target| target.changed(tag));
    }

    /// Whether nothing listens any more: the layer is gone, the store may stop listening.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.target
            .as_ref()
            .is_none_or(|target| target.strong_count() == 0)
    }
}

/// What a store publishes for the session `id` when it changes: 32 hexadecimal digits of a
/// SHA-256 digest of the id, never the id itself. An id is as good as the session it names;
/// its tag names it for whoever knows the id already, and tells anyone else nothing (ids the
/// layer makes are 256 random bits).
///
/// ```
/// use tower_oidc::store::change_tag;
///
/// let tag = change_tag("a session id");
/// assert_eq!(tag.len(), 32);
/// assert_eq!(tag, change_tag("a session id"));
/// assert_ne!(tag, change_tag("another session id"));
/// assert!(!tag.contains("session"));
/// ```
#[must_use]
pub fn change_tag(id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"tower-oidc session change\0")
        .chain_update(id.as_bytes())
        .finalize();
    let mut tag = String::with_capacity(32);
    for byte in &digest[..16] {
        tag.push(char::from(HEX[usize::from(byte >> 4)]));
        tag.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    tag
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl ChangeTarget for Recorder {
        fn subscribed(&self) {
            self.0.lock().expect("lock").push("subscribed".into());
        }
        fn lost(&self) {
            self.0.lock().expect("lock").push("lost".into());
        }
        fn changed(&self, tag: &str) {
            self.0.lock().expect("lock").push(tag.into());
        }
    }

    #[test]
    fn a_listener_delivers_while_its_target_lives() {
        let recorder = Arc::new(Recorder::default());
        let weak: Weak<dyn ChangeTarget> = Arc::downgrade(&recorder) as Weak<dyn ChangeTarget>;
        let listener = ChangeListener::new(weak);
        assert!(!listener.is_closed());
        listener.subscribed();
        listener.changed("t");
        listener.lost();
        assert_eq!(
            *recorder.0.lock().expect("lock"),
            ["subscribed", "t", "lost"]
        );
        drop(recorder);
        assert!(listener.is_closed());
        listener.changed("ignored");
    }

    #[test]
    fn tags_are_hex_digests_of_the_id() {
        let tag = change_tag("id");
        assert_eq!(tag.len(), 32);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(tag, change_tag("id2"));
    }
}
