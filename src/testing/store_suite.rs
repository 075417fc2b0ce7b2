//! A conformance suite for session stores: what the layer relies on a [`SessionStore`]
//! to do, checked against any store, yours included.
//!
//! [`run`] checks every [`Case`] in turn and panics, naming the case, at the first that
//! fails; run it from a test. Every case uses ids and logout keys of its own, so the store
//! may hold other sessions, and the suite may run against a shared server.
//!
//! ```
//! use tower_oidc::testing::store_suite;
//! use tower_oidc::store::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a `#[tokio::test]` of your own, with your store:
//! store_suite::run(MemoryStore::new(10_000)).await;
//! # }
//! ```
//!
//! A store without an index for back-channel logout (whose
//! [`delete_indexed`](SessionStore::delete_indexed) answers [`StoreError::Unsupported`])
//! passes [`Case::LogoutIndex`]; back-channel logout then answers `501`. Likewise a store
//! that keeps no single-use keys ([`first_use`](SessionStore::first_use) answers
//! [`StoreError::Unsupported`]) passes [`Case::FirstUse`]; the layer then remembers them in
//! its own process.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::session::store::{SessionStore, StoreError};
use crate::session::SessionData;

/// How long the cases' sessions live, unless a case says otherwise.
const TTL: Duration = Duration::from_secs(120);

/// One check of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Case {
    /// A saved session loads back whole.
    RoundTrip,
    /// An id never saved loads as `None`.
    MissingIsNone,
    /// A deleted session loads as `None`, and only that one.
    DeleteRemoves,
    /// Deleting a missing session, or one twice, is not an error.
    DeleteMissingIsOk,
    /// A session is gone once its time to live has passed, others stay, and saving again
    /// gives a fresh lifetime.
    TtlExpiry,
    /// Saving under an id again replaces the session.
    OverwriteKeepsLatest,
    /// Many tasks saving, loading and deleting at once each see their own sessions, and
    /// concurrent saves under one id leave one of them whole.
    Concurrent,
    /// Ids are opaque strings: spaces, quotes, globs, SQL, newlines, non-ASCII text and a
    /// kilobyte of text are ids like any other, and look-alikes stay apart.
    IdsAreOpaque,
    /// Sessions indexed under logout keys end by key, and the count says how many live
    /// sessions ended; or the store answers [`StoreError::Unsupported`].
    LogoutIndex,
    /// [`save_existing`](SessionStore::save_existing) replaces a live session and never
    /// brings back one that was deleted, ended by its logout key, expired or never saved;
    /// the session stays under its logout keys.
    SaveExisting,
    /// [`first_use`](SessionStore::first_use) answers `true` once per key until its time
    /// to live has passed or [`forget_use`](SessionStore::forget_use) forgets it, exactly
    /// once to concurrent calls, keeps keys apart from each other and from sessions; or
    /// the store answers [`StoreError::Unsupported`].
    FirstUse,
}

impl Case {
    /// Every case, in the order [`run`] checks them.
    pub const ALL: &'static [Case] = &[
        Case::RoundTrip,
        Case::MissingIsNone,
        Case::DeleteRemoves,
        Case::DeleteMissingIsOk,
        Case::TtlExpiry,
        Case::OverwriteKeepsLatest,
        Case::Concurrent,
        Case::IdsAreOpaque,
        Case::LogoutIndex,
        Case::SaveExisting,
        Case::FirstUse,
    ];

    /// The case's name, as in failure messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Case::RoundTrip => "round_trip",
            Case::MissingIsNone => "missing_is_none",
            Case::DeleteRemoves => "delete_removes",
            Case::DeleteMissingIsOk => "delete_missing_is_ok",
            Case::TtlExpiry => "ttl_expiry",
            Case::OverwriteKeepsLatest => "overwrite_keeps_latest",
            Case::Concurrent => "concurrent",
            Case::IdsAreOpaque => "ids_are_opaque",
            Case::LogoutIndex => "logout_index",
            Case::SaveExisting => "save_existing",
            Case::FirstUse => "first_use",
        }
    }

    /// Checks this case against `store`.
    ///
    /// # Panics
    ///
    /// When the store fails the case, or answers with an error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_oidc::testing::store_suite::Case;
    /// use tower_oidc::store::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// Case::RoundTrip.run(&Arc::new(MemoryStore::new(100))).await;
    /// # }
    /// ```
    pub async fn run<S: SessionStore>(self, store: &Arc<S>) {
        match self {
            Case::RoundTrip => round_trip(&**store).await,
            Case::MissingIsNone => missing_is_none(&**store).await,
            Case::DeleteRemoves => delete_removes(&**store).await,
            Case::DeleteMissingIsOk => delete_missing_is_ok(&**store).await,
            Case::TtlExpiry => ttl_expiry(&**store).await,
            Case::OverwriteKeepsLatest => overwrite_keeps_latest(&**store).await,
            Case::Concurrent => concurrent(store).await,
            Case::IdsAreOpaque => ids_are_opaque(&**store).await,
            Case::LogoutIndex => logout_index(&**store).await,
            Case::SaveExisting => save_existing(&**store).await,
            Case::FirstUse => first_use(store).await,
        }
    }
}

/// Checks every [`Case`] against `store`, one after the other. Takes a few seconds: the
/// expiry cases wait for sessions and keys of one second to expire.
///
/// Needs a Tokio runtime (the concurrency case spawns tasks).
///
/// # Panics
///
/// At the first case the store fails, naming it.
pub async fn run<S: SessionStore>(store: S) {
    let store = Arc::new(store);
    for &case in Case::ALL {
        let shared = Arc::clone(&store);
        let outcome = tokio::spawn(async move { case.run(&shared).await }).await;
        if let Err(err) = outcome {
            let reason = match err.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
                Err(err) => err.to_string(),
            };
            panic!(
                "session store suite: case `{}` failed: {reason}",
                case.name()
            );
        }
    }
}

/// Unique per call, so cases sharing a store (and earlier runs' leftovers) never meet.
fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn session(user: &str, note: &str) -> SessionData {
    let now = crate::session::now();
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::from(user));
    claims.insert("note".into(), Value::from(note));
    claims.insert("groups".into(), json!(["a", "b"]));
    SessionData {
        sid: nonce(),
        user_id: user.to_owned(),
        claims,
        id_token: Some("header.payload.signature".into()),
        access_token: Some(format!("at-{note}")),
        refresh_token: None,
        access_expires_at: None,
        created_at: now,
        expires_at: now + 3600,
        user: None,
        user_loaded_at: None,
        last_seen: None,
        bearer: false,
        typed_user: Default::default(),
        dpop_key: None,
        provider: None,
    }
}

fn as_json(session: &SessionData) -> Value {
    serde_json::to_value(session).expect("a session serializes")
}

fn note(session: &SessionData) -> Value {
    as_json(session)["claims"]["note"].clone()
}

async fn save<S: SessionStore>(store: &S, id: &str, session: &SessionData, ttl: Duration) {
    if let Err(err) = store.save(id, session, ttl).await {
        panic!("save failed: {err}");
    }
}

async fn load<S: SessionStore>(store: &S, id: &str) -> Option<SessionData> {
    match store.load(id).await {
        Ok(session) => session,
        Err(err) => panic!("load failed: {err}"),
    }
}

async fn delete<S: SessionStore>(store: &S, id: &str) {
    if let Err(err) = store.delete(id).await {
        panic!("delete failed: {err}");
    }
}

async fn round_trip<S: SessionStore>(store: &S) {
    let id = nonce();
    let saved = session("alice", "round trip");
    save(store, &id, &saved, TTL).await;
    let loaded = load(store, &id).await.expect("a saved session loads");
    assert_eq!(as_json(&loaded), as_json(&saved), "the session loads whole");
    delete(store, &id).await;
}

async fn missing_is_none<S: SessionStore>(store: &S) {
    assert!(
        load(store, &nonce()).await.is_none(),
        "an id never saved loads as None"
    );
}

async fn delete_removes<S: SessionStore>(store: &S) {
    let (id, other) = (nonce(), nonce());
    save(store, &id, &session("alice", "x"), TTL).await;
    save(store, &other, &session("bob", "y"), TTL).await;
    delete(store, &id).await;
    assert!(
        load(store, &id).await.is_none(),
        "a deleted session is gone"
    );
    assert!(
        load(store, &other).await.is_some(),
        "deleting one session leaves the others"
    );
    delete(store, &other).await;
}

async fn delete_missing_is_ok<S: SessionStore>(store: &S) {
    delete(store, &nonce()).await;
    let id = nonce();
    save(store, &id, &session("alice", "x"), TTL).await;
    delete(store, &id).await;
    delete(store, &id).await;
}

async fn ttl_expiry<S: SessionStore>(store: &S) {
    let (short, long) = (nonce(), nonce());
    save(
        store,
        &short,
        &session("alice", "short"),
        Duration::from_secs(1),
    )
    .await;
    save(store, &long, &session("bob", "long"), TTL).await;
    assert!(
        load(store, &short).await.is_some(),
        "a session of one second loads at first"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        load(store, &short).await.is_none(),
        "a session is gone once its time to live has passed"
    );
    assert!(
        load(store, &long).await.is_some(),
        "a longer session outlives it"
    );
    save(store, &short, &session("alice", "again"), TTL).await;
    assert!(
        load(store, &short).await.is_some(),
        "saving again gives a fresh lifetime"
    );
    delete(store, &short).await;
    delete(store, &long).await;
}

async fn overwrite_keeps_latest<S: SessionStore>(store: &S) {
    let id = nonce();
    for round in 0..5 {
        save(store, &id, &session("alice", &format!("v{round}")), TTL).await;
    }
    let loaded = load(store, &id)
        .await
        .expect("an overwritten session loads");
    assert_eq!(note(&loaded), "v4", "the latest save wins");
    delete(store, &id).await;
}

async fn concurrent<S: SessionStore>(store: &Arc<S>) {
    let shared = nonce();
    let tasks: Vec<_> = (0..64)
        .map(|task| {
            let store = Arc::clone(store);
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for round in 0..4 {
                    let id = nonce();
                    let note_text = format!("t{task}r{round}");
                    save(&*store, &id, &session("u", &note_text), TTL).await;
                    let back = load(&*store, &id).await.expect("a task's session loads");
                    assert_eq!(note(&back), note_text.as_str(), "each task its own session");
                    save(&*store, &shared, &session("shared", &note_text), TTL).await;
                    let any = load(&*store, &shared)
                        .await
                        .expect("the shared session loads");
                    assert_eq!(as_json(&any)["user_id"], "shared");
                    mine.push((id, note_text));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mine) => all.extend(mine),
            Err(err) => match err.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(err) => panic!("a task was cancelled: {err}"),
            },
        }
    }
    assert_eq!(all.len(), 256);
    for (n, (id, note_text)) in all.iter().enumerate() {
        let back = load(&**store, id).await.expect("every session is kept");
        assert_eq!(note(&back), note_text.as_str(), "sessions do not mix");
        if n % 2 == 0 {
            delete(&**store, id).await;
        }
    }
    for (n, (id, _)) in all.iter().enumerate() {
        assert_eq!(
            load(&**store, id).await.is_some(),
            n % 2 == 1,
            "exactly the deleted sessions are gone"
        );
        delete(&**store, id).await;
    }
    let last = load(&**store, &shared)
        .await
        .expect("the shared session is kept");
    let last_note = note(&last);
    assert!(
        last_note.as_str().is_some_and(|n| n.starts_with('t')),
        "concurrent saves under one id leave one of them, whole: {last_note}"
    );
    delete(&**store, &shared).await;
}

async fn ids_are_opaque<S: SessionStore>(store: &S) {
    let suffix = nonce();
    let odd = [
        "plain",
        "Plain",
        "plain ",
        "with space",
        "colon:sep:arated",
        "glob*?[]",
        "quote'\"`",
        "'; DROP TABLE tower_oidc_sessions; --",
        "percent%s%d%%",
        "slash/back\\slash",
        "ключ-🔑-鍵",
        "new\nline\ttab",
    ];
    let long = "x".repeat(1000);
    let ids: Vec<String> = odd
        .iter()
        .copied()
        .chain([long.as_str()])
        .map(|id| format!("{id}{suffix}"))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        save(store, id, &session("alice", &n.to_string()), TTL).await;
    }
    for (n, id) in ids.iter().enumerate() {
        let back = load(store, id).await;
        let back = back.unwrap_or_else(|| panic!("the session under {id:?} loads"));
        assert_eq!(note(&back), n.to_string(), "the session under {id:?}");
    }
    delete(store, &ids[0]).await;
    assert!(
        load(store, &ids[0]).await.is_none(),
        "{:?} is deleted",
        ids[0]
    );
    assert!(
        load(store, &ids[1]).await.is_some(),
        "deleting {:?} leaves {:?}",
        ids[0],
        ids[1]
    );
    assert!(
        load(store, &ids[2]).await.is_some(),
        "deleting {:?} leaves {:?}",
        ids[0],
        ids[2]
    );
    for id in &ids {
        delete(store, id).await;
    }
}

async fn index<S: SessionStore>(store: &S, id: &str, keys: &[String]) {
    if let Err(err) = store.index(id, keys, TTL).await {
        panic!("index failed: {err}");
    }
}

/// How many sessions `delete_indexed` ended, or `None` for a store without an index.
async fn delete_indexed<S: SessionStore>(store: &S, key: &str) -> Option<usize> {
    match store.delete_indexed(key).await {
        Ok(ended) => Some(ended),
        Err(StoreError::Unsupported) => None,
        Err(err) => panic!("delete_indexed failed: {err}"),
    }
}

async fn logout_index<S: SessionStore>(store: &S) {
    let (a, b, c, gone) = (nonce(), nonce(), nonce(), nonce());
    let sid = format!("sid:{}", nonce());
    let sub = format!("sub:{}", nonce());
    let other = format!("sub:{}", nonce());
    for id in [&a, &b, &c, &gone] {
        save(store, id, &session("alice", "indexed"), TTL).await;
    }
    index(store, &a, &[sid.clone(), sub.clone()]).await;
    index(store, &b, std::slice::from_ref(&sub)).await;
    index(store, &gone, std::slice::from_ref(&other)).await;

    let Some(ended) = delete_indexed(store, &sid).await else {
        for id in [&a, &b, &c, &gone] {
            delete(store, id).await;
        }
        return;
    };
    assert_eq!(ended, 1, "the provider session's key names one session");
    assert!(load(store, &a).await.is_none(), "the session named is gone");
    assert!(
        load(store, &b).await.is_some(),
        "a session under another key stays"
    );
    assert_eq!(
        delete_indexed(store, &sub).await,
        Some(1),
        "the subject's key ends the session left under it, not the one already ended"
    );
    assert!(
        load(store, &b).await.is_none(),
        "the subject's session is gone"
    );
    assert!(
        load(store, &c).await.is_some(),
        "a session under no key stays"
    );

    delete(store, &gone).await;
    assert_eq!(
        delete_indexed(store, &other).await,
        Some(0),
        "a session deleted before does not count"
    );
    assert_eq!(
        delete_indexed(store, &format!("sub:{}", nonce())).await,
        Some(0),
        "a key never indexed ends nothing"
    );
    delete(store, &c).await;
}

async fn save_existing_<S: SessionStore>(store: &S, id: &str, session: &SessionData) -> bool {
    match store.save_existing(id, session, TTL).await {
        Ok(replaced) => replaced,
        Err(err) => panic!("save_existing failed: {err}"),
    }
}

async fn save_existing<S: SessionStore>(store: &S) {
    // Started first, so that it has expired by the end.
    let short = nonce();
    save(
        store,
        &short,
        &session("carol", "short"),
        Duration::from_secs(1),
    )
    .await;
    let started = tokio::time::Instant::now();

    let never = nonce();
    assert!(
        !save_existing_(store, &never, &session("alice", "x")).await,
        "an id never saved is not replaced"
    );
    assert!(
        load(store, &never).await.is_none(),
        "nor does it come into being"
    );

    let id = nonce();
    save(store, &id, &session("alice", "v1"), TTL).await;
    assert!(
        save_existing_(store, &id, &session("alice", "v2")).await,
        "a live session is replaced"
    );
    let loaded = load(store, &id).await.expect("the replaced session loads");
    assert_eq!(note(&loaded), "v2", "with the new session");

    delete(store, &id).await;
    assert!(
        !save_existing_(store, &id, &session("alice", "v3")).await,
        "a deleted session is not replaced"
    );
    assert!(
        load(store, &id).await.is_none(),
        "a deleted session stays deleted"
    );

    let indexed = nonce();
    let sub = format!("sub:{}", nonce());
    save(store, &indexed, &session("bob", "v1"), TTL).await;
    index(store, &indexed, std::slice::from_ref(&sub)).await;
    assert!(save_existing_(store, &indexed, &session("bob", "v2")).await);
    match delete_indexed(store, &sub).await {
        Some(ended) => {
            assert_eq!(ended, 1, "a replaced session stays under its logout key");
            assert!(
                !save_existing_(store, &indexed, &session("bob", "v3")).await,
                "a session ended by its logout key is not replaced"
            );
            assert!(
                load(store, &indexed).await.is_none(),
                "a session ended by its logout key stays ended"
            );
        }
        None => delete(store, &indexed).await,
    }

    tokio::time::sleep_until(started + Duration::from_millis(1500)).await;
    assert!(
        !save_existing_(store, &short, &session("carol", "again")).await,
        "an expired session is not replaced"
    );
    assert!(
        load(store, &short).await.is_none(),
        "an expired session stays gone"
    );
}

/// `None` for a store that keeps no single-use keys.
async fn first_use_<S: SessionStore>(store: &S, key: &str, ttl: Duration) -> Option<bool> {
    match store.first_use(key, ttl).await {
        Ok(first) => Some(first),
        Err(StoreError::Unsupported) => None,
        Err(err) => panic!("first_use failed: {err}"),
    }
}

/// `false` for a store that keeps single-use keys but cannot forget them.
async fn forget_use_<S: SessionStore>(store: &S, key: &str) -> bool {
    match store.forget_use(key).await {
        Ok(()) => true,
        Err(StoreError::Unsupported) => false,
        Err(err) => panic!("forget_use failed: {err}"),
    }
}

async fn first_use<S: SessionStore>(store: &Arc<S>) {
    let short = format!("short:{}", nonce());
    let Some(first) = first_use_(&**store, &short, Duration::from_secs(1)).await else {
        return;
    };
    let started = tokio::time::Instant::now();
    assert!(first, "a key is new the first time");
    assert_eq!(
        first_use_(&**store, &short, Duration::from_secs(1)).await,
        Some(false),
        "and used the second"
    );

    let key = format!("state:{}", nonce());
    assert_eq!(first_use_(&**store, &key, TTL).await, Some(true));
    for _ in 0..3 {
        assert_eq!(
            first_use_(&**store, &key, TTL).await,
            Some(false),
            "a used key stays used"
        );
    }

    let forgotten = format!("forgotten:{}", nonce());
    let kept = format!("kept:{}", nonce());
    for key in [&forgotten, &kept] {
        assert_eq!(first_use_(&**store, key, TTL).await, Some(true));
    }
    if forget_use_(&**store, &forgotten).await {
        assert!(forget_use_(&**store, &format!("never-used:{}", nonce())).await);
        assert_eq!(
            first_use_(&**store, &forgotten, TTL).await,
            Some(true),
            "a forgotten key is new again"
        );
        assert_eq!(
            first_use_(&**store, &kept, TTL).await,
            Some(false),
            "forgetting one key leaves the others used"
        );
    }

    let suffix = nonce();
    let odd = [
        "Plain",
        "plain",
        "plain ",
        "glob*?[]",
        "quote'\"`",
        "ключ-🔑",
        "new\nline",
    ];
    for key in odd {
        let key = format!("{key}{suffix}");
        assert_eq!(
            first_use_(&**store, &key, TTL).await,
            Some(true),
            "{key:?} is a key of its own"
        );
    }
    for key in odd {
        let key = format!("{key}{suffix}");
        assert_eq!(
            first_use_(&**store, &key, TTL).await,
            Some(false),
            "{key:?} is used"
        );
    }

    // Keys and session ids live apart.
    let id = nonce();
    save(&**store, &id, &session("alice", "kept"), TTL).await;
    assert_eq!(
        first_use_(&**store, &id, TTL).await,
        Some(true),
        "a session id is not a used key"
    );
    let loaded = load(&**store, &id)
        .await
        .expect("the session is still there");
    assert_eq!(note(&loaded), "kept", "and whole");
    let fresh = nonce();
    first_use_(&**store, &fresh, TTL).await;
    assert!(
        load(&**store, &fresh).await.is_none(),
        "a used key is not a session"
    );
    delete(&**store, &id).await;

    let contested = format!("contested:{}", nonce());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = Arc::clone(store);
            let contested = contested.clone();
            tokio::spawn(async move { first_use_(&*store, &contested, TTL).await })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        match task.await {
            Ok(Some(true)) => firsts += 1,
            Ok(_) => {}
            Err(err) => match err.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(err) => panic!("a task was cancelled: {err}"),
            },
        }
    }
    assert_eq!(
        firsts, 1,
        "concurrent uses of one key: exactly one is first"
    );

    tokio::time::sleep_until(started + Duration::from_millis(1500)).await;
    assert_eq!(
        first_use_(&**store, &short, Duration::from_secs(1)).await,
        Some(true),
        "a key is new again once its time to live has passed"
    );
    assert_eq!(
        first_use_(&**store, &short, Duration::from_secs(1)).await,
        Some(false),
        "and used again after"
    );
    assert_eq!(
        first_use_(&**store, &key, TTL).await,
        Some(false),
        "a key with a longer time to live stays used"
    );
}
