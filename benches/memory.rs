//! Heap counts, not times: allocations per request (bare vs layered), the heap a
//! `MemoryStore` grows by per 10,000 sessions and the part of it that is the sessions
//! themselves, the process's RSS for 100,000 memory-store sessions, the decoded-session
//! cache at its bound, and floods of unauthenticated or invalid requests that must leave the
//! heap flat.
//!
//! ```sh
//! cargo bench --bench memory --features testing,axum
//! ```
//!
//! Every number comes from a counting global allocator (`stats_alloc`), on one thread (a
//! current-thread runtime runs the app, the layer and the mock provider), so nothing else
//! allocates while a region is counted. `GROWTH_SESSIONS` (default 10000) sets how many
//! sessions are signed in, each through the mock provider; `RSS_SESSIONS` (default 100000)
//! how many copies of a signed-in session are saved straight into a `MemoryStore`.
// Setup code: failing loudly is right here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::alloc::System;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use http::{HeaderValue, Request};
use serde_json::json;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use tower_oidc::store::{InProcessStore, MemoryStore, SessionData, SessionStore, StoreError};
use tower_oidc::testing::{MockAlg, MockProvider};

use common::{bare, bearer, config, layered, ready_layer, request, send};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Net heap bytes (allocated − freed) so far.
fn heap() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

/// Allocation calls (including reallocations) so far.
fn allocation_calls() -> usize {
    let stats = GLOBAL.stats();
    stats.allocations + stats.reallocations
}

/// Resident set size of this process, in bytes, from `/proc/self/status`.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// A `MemoryStore` that counts the net heap its `save` and `index` calls leave behind, and
/// how long they take.
struct Counted {
    inner: MemoryStore,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    net_bytes: AtomicU64,
    saves: AtomicUsize,
    /// Net bytes of a deep copy of each saved session: what the session itself holds.
    session_bytes: AtomicU64,
    /// The first session saved, for the RSS case.
    sample: std::sync::Mutex<Option<SessionData>>,
    /// Nanoseconds in `save` + `index`, per login, in order.
    write_ns: std::sync::Mutex<Vec<u64>>,
}

impl SessionStore for Counted {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        self.inner.load(id).await
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        let before = heap();
        let copy = session.clone();
        self.counters
            .session_bytes
            .fetch_add((heap() - before) as u64, Ordering::Relaxed);
        self.counters.sample.lock().unwrap().get_or_insert(copy);
        let (before, started) = (heap(), Instant::now());
        let result = self.inner.save(id, session, ttl).await;
        let elapsed = started.elapsed().as_nanos() as u64;
        self.counters
            .net_bytes
            .fetch_add((heap() - before) as u64, Ordering::Relaxed);
        self.counters.saves.fetch_add(1, Ordering::Relaxed);
        self.counters.write_ns.lock().unwrap().push(elapsed);
        result
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.inner.delete(id).await
    }

    async fn index(&self, id: &str, keys: &[String], ttl: Duration) -> Result<(), StoreError> {
        let (before, started) = (heap(), Instant::now());
        let result = self.inner.index(id, keys, ttl).await;
        let elapsed = started.elapsed().as_nanos() as u64;
        self.counters
            .net_bytes
            .fetch_add((heap() - before) as u64, Ordering::Relaxed);
        if let Some(last) = self.counters.write_ns.lock().unwrap().last_mut() {
            *last += elapsed;
        }
        result
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, StoreError> {
        self.inner.delete_indexed(key).await
    }
}

impl InProcessStore for Counted {
    fn load_now(&self, id: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        self.inner.load_now(id)
    }
}

/// Builds the `i`-th request of a case.
type MakeRequest<'a> = Box<dyn Fn(usize) -> Request<Body> + 'a>;

/// Allocation calls and bytes requested per request, over `n` requests after a warm-up.
async fn per_request(app: &Router, n: usize, make: impl Fn(usize) -> Request<Body>) -> (f64, f64) {
    for i in 0..50 {
        send(app, make(i)).await;
    }
    let (calls, bytes) = (allocation_calls(), GLOBAL.stats().bytes_allocated);
    for i in 0..n {
        send(app, make(50 + i)).await;
    }
    let calls = (allocation_calls() - calls) as f64 / n as f64;
    let bytes = (GLOBAL.stats().bytes_allocated - bytes) as f64 / n as f64;
    (calls, bytes)
}

async fn allocations(provider: &MockProvider, http: &reqwest::Client) {
    let cookie_app = layered(ready_layer(config(provider).build().expect("config")).await);
    let cookie = common::sign_in(&cookie_app, http).await;
    let memory_app =
        layered(ready_layer(config(provider).memory_sessions().build().expect("config")).await);
    let memory_cookie = common::sign_in(&memory_app, http).await;
    let token = bearer(&provider.mint_access_token("svc-user", json!({})));
    let bare = bare();
    let n = 2000;

    println!("\nallocations per request (mean of {n}, after a warm-up; the request's own building included in both)");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "case", "bare", "layered", "added", "bare bytes", "added bytes"
    );
    let cases: [(&str, &Router, MakeRequest); 4] = [
        (
            "a whitelisted GET /health",
            &cookie_app,
            Box::new(|_| request("/health", true, None, None)),
        ),
        (
            "b cookie session GET /",
            &cookie_app,
            Box::new(|_| request("/", true, Some(&cookie), None)),
        ),
        (
            "c memory-store session GET /",
            &memory_app,
            Box::new(|_| request("/", true, Some(&memory_cookie), None)),
        ),
        (
            "e cached bearer GET /api/data",
            &cookie_app,
            Box::new(|_| request("/api/data", false, None, Some(&token))),
        ),
    ];
    for (label, app, make) in cases {
        let (bare_calls, bare_bytes) = per_request(&bare, n, &make).await;
        let (calls, bytes) = per_request(app, n, &make).await;
        println!(
            "{label:<34} {bare_calls:>10.1} {calls:>10.1} {:>10.1} {bare_bytes:>12.0} {:>12.0}",
            calls - bare_calls,
            bytes - bare_bytes
        );
    }
}

/// Signs in `n` sessions through `app` (cookies returned in order).
async fn sign_in_many(app: &Router, http: &reqwest::Client, n: usize) -> Vec<HeaderValue> {
    let started = Instant::now();
    let mut cookies = Vec::with_capacity(n);
    for _ in 0..n {
        cookies.push(common::sign_in(app, http).await);
    }
    eprintln!(
        "signed in {n} sessions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    cookies
}

/// A memory store app that counts what its saves leave behind.
async fn counted_app(provider: &MockProvider) -> (Router, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let store = Counted {
        inner: MemoryStore::default(),
        counters: Arc::clone(&counters),
    };
    let app = layered(
        ready_layer(
            config(provider)
                .in_process_session_store(store)
                .build()
                .expect("config"),
        )
        .await,
    );
    (app, counters)
}

/// One session signed in through the layer and the mock provider, as the store got it.
async fn sample_session(provider: &MockProvider, http: &reqwest::Client) -> SessionData {
    let (app, counters) = counted_app(provider).await;
    common::sign_in(&app, http).await;
    let sample = counters.sample.lock().unwrap().take();
    sample.expect("a session was saved")
}

async fn memory_store_growth(provider: &MockProvider, http: &reqwest::Client, n: usize) {
    let (app, counters) = counted_app(provider).await;
    let (rss_before, heap_before) = (rss(), heap());
    let cookies = sign_in_many(&app, http, n).await;
    let (rss_after, heap_after) = (rss(), heap());
    let store_bytes = counters.net_bytes.load(Ordering::Relaxed) as f64;
    let saves = counters.saves.load(Ordering::Relaxed);
    assert_eq!(saves, n);
    let sealed: usize = cookies.iter().map(HeaderValue::len).sum();
    println!("\nmemory store: {n} sessions signed in through the mock provider");
    println!(
        "  store heap (net bytes left by save + index): {:.1} MiB, {:.0} bytes per session, {:.1} MiB per 10,000",
        mib(store_bytes),
        store_bytes / n as f64,
        mib(store_bytes / n as f64 * 10_000.0)
    );
    let session_bytes = counters.session_bytes.load(Ordering::Relaxed) as f64 / n as f64;
    let record = std::mem::size_of::<SessionData>() + 2 * std::mem::size_of::<usize>();
    println!(
        "  a session decoded: {session_bytes:.0} bytes of its own heap (claims, tokens, ids) and its {record}-byte record, shared: what the store keeps for each session in use"
    );
    println!(
        "  whole process while signing in (store, mock provider's records, used states, the bench's cookie list of {:.1} MiB): heap +{:.1} MiB, RSS +{:.1} MiB",
        mib(sealed as f64),
        mib((heap_after - heap_before) as f64),
        mib(rss_after as f64 - rss_before as f64)
    );
    let times = counters.write_ns.lock().unwrap().clone();
    let window = (n / 10).clamp(1, 1000);
    let mean = |slice: &[u64]| slice.iter().sum::<u64>() as f64 / slice.len() as f64;
    println!(
        "  save + index per login: {:.1} µs for the first {window}, {:.1} µs for the last {window}",
        mean(&times[..window]) / 1000.0,
        mean(&times[times.len() - window..]) / 1000.0
    );
    // The first request of each decodes its session, which stays decoded while in use.
    let before = heap();
    for cookie in &cookies {
        send(&app, request("/", true, Some(cookie), None)).await;
    }
    let grown = (heap() - before) as f64;
    println!(
        "  first request of each session: heap +{:.1} MiB ({:.0} bytes per session): the sessions in use, decoded (at most 10,000 are kept)",
        mib(grown),
        grown / n as f64
    );
}

/// `n` copies of `session` saved into a fresh `MemoryStore` under ids and logout keys of
/// their own, as `n` users signing in once each leave it: heap and RSS growth.
async fn memory_store_rss(session: &SessionData, n: usize) -> MemoryStore {
    let store = MemoryStore::new(n);
    let ttl = Duration::from_secs(3600);
    let (rss_before, heap_before, started) = (rss(), heap(), Instant::now());
    for i in 0..n {
        // Ids as long as the layer's (43 characters of base64).
        let id = format!("{i:0>43}");
        store.save(&id, session, ttl).await.expect("save");
        let keys = [format!("sid:{i:0>36}"), format!("sub:user-{i}")];
        store.index(&id, &keys, ttl).await.expect("index");
    }
    let elapsed = started.elapsed();
    let (rss_after, heap_after) = (rss(), heap());
    assert_eq!(store.len(), n);
    let grown = (heap_after - heap_before) as f64;
    let rss_grown = rss_after as f64 - rss_before as f64;
    println!("\nmemory store: {n} copies of a signed-in session saved and indexed straight into the store");
    println!(
        "  heap +{:.1} MiB ({:.0} bytes per session), RSS +{:.1} MiB ({:.0} bytes per session); {:.2} µs per save + index",
        mib(grown),
        grown / n as f64,
        mib(rss_grown),
        rss_grown / n as f64,
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    // Then each one loaded once, as its first request does: at most 10,000 stay decoded.
    let (rss_before, heap_before, started) = (rss(), heap(), Instant::now());
    for i in 0..n {
        let found = store.load_now(&format!("{i:0>43}")).expect("load");
        assert!(found.is_some());
    }
    let elapsed = started.elapsed();
    println!(
        "  then one load of each: heap {:+.1} MiB, RSS {:+.1} MiB, {:.2} µs per load (decoding included); whole process RSS {:.1} MiB",
        mib((heap() - heap_before) as f64),
        mib(rss() as f64 - rss_before as f64),
        elapsed.as_secs_f64() * 1e6 / n as f64,
        mib(rss() as f64)
    );
    store
}

async fn session_cache_growth(provider: &MockProvider, http: &reqwest::Client, n: usize) {
    let app = layered(ready_layer(config(provider).build().expect("config")).await);
    let cookies = sign_in_many(&app, http, n).await;
    let sealed = cookies.iter().map(HeaderValue::len).sum::<usize>() as f64 / n as f64;
    // The first request with each cookie decrypts it and caches the decoded session.
    let (rss_before, heap_before) = (rss(), heap());
    for cookie in &cookies {
        send(&app, request("/", true, Some(cookie), None)).await;
    }
    let (rss_after, heap_after) = (rss(), heap());
    let grown = (heap_after - heap_before) as f64;
    println!("\ncookie sessions: first request of {n} distinct sessions (the decoded-session cache holds at most 10,000)");
    println!(
        "  heap +{:.1} MiB ({:.0} bytes per session), RSS +{:.1} MiB; the cookie itself is {sealed:.0} bytes, kept by the browser",
        mib(grown),
        grown / n as f64,
        mib(rss_after as f64 - rss_before as f64)
    );
    // Again: all cached now, nothing may grow.
    let before = heap();
    for cookie in &cookies {
        send(&app, request("/", true, Some(cookie), None)).await;
    }
    println!("  second request of each: heap {:+} bytes", heap() - before);
}

async fn floods(provider: &MockProvider) {
    let app = layered(ready_layer(config(provider).build().expect("config")).await);
    let invalid = HeaderValue::from_static(
        "tower_oidc.0=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    // A well-formed token whose signature does not verify: each one costs a verification
    // and is never cached.
    let mut forged = provider.mint_access_token("svc-user", json!({}));
    let flip = forged.rfind('.').expect("jwt") + 20;
    let replacement = if &forged[flip..=flip] == "A" {
        "B"
    } else {
        "A"
    };
    forged.replace_range(flip..=flip, replacement);
    let forged = bearer(&forged);
    let n = 20_000;
    println!(
        "\nfloods of {n} requests each: net heap after the flood (first 100 requests as warm-up)"
    );
    let cases: [(&str, MakeRequest); 4] = [
        (
            "no session, API client (401)",
            Box::new(|_| request("/api/data", false, None, None)),
        ),
        (
            "no session, browser (302 to login)",
            Box::new(|i| request(&format!("/page/{i}"), true, None, None)),
        ),
        (
            "invalid session cookie (401)",
            Box::new(|_| request("/api/data", false, Some(&invalid), None)),
        ),
        (
            "bearer with a bad signature (401)",
            Box::new(|_| request("/api/data", false, None, Some(&forged))),
        ),
    ];
    for (label, make) in cases {
        for i in 0..100 {
            send(&app, make(i)).await;
        }
        let (rss_before, before) = (rss(), heap());
        let started = Instant::now();
        for i in 0..n {
            send(&app, make(100 + i)).await;
        }
        println!(
            "  {label:<36} heap {:+} bytes, RSS {:+} KiB ({:.1} µs per request)",
            heap() - before,
            (rss() as i64 - rss_before as i64) / 1024,
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter is not supported here.
    let n: usize = std::env::var("GROWTH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_access_token_ttl(Duration::from_secs(3600));
        let http = common::provider_client();
        // A session as the growth cases below sign in (ES256), saved many times over first,
        // while the heap has no freed memory to reuse that would hide RSS growth; the store
        // is kept so that the later cases do not reuse its memory either.
        provider.set_signing_alg(MockAlg::Es256);
        let sample = sample_session(&provider, &http).await;
        let rss_sessions: usize = std::env::var("RSS_SESSIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let _kept = memory_store_rss(&sample, rss_sessions).await;
        provider.set_signing_alg(MockAlg::Rs256);
        allocations(&provider, &http).await;
        floods(&provider).await;
        // ES256 keeps the mock's signing cheap while thousands of sessions are signed in.
        provider.set_signing_alg(MockAlg::Es256);
        memory_store_growth(&provider, &http, n).await;
        session_cache_growth(&provider, &http, n).await;
    });
}
