//! Logins per second: whole logins (`GET /login`, the provider's approval, the `/auth`
//! callback) against the in-process mock provider, and the layer's own CPU time per login.
//!
//! ```sh
//! cargo bench --bench logins --features testing,axum
//! ```
//!
//! Two runs per ID-token algorithm:
//!
//! 1. Everything on one thread (the app and the layer, the mock provider, the browser's
//!    requests): logins per second of the whole round on one core.
//! 2. The mock provider on a thread of its own: the app thread's CPU time per login (read
//!    from `/proc/thread-self/schedstat`), less the CPU time of the browser's own request to
//!    the authorization endpoint, timed alone, is the layer's work per login: its login
//!    redirect, its token and userinfo requests (client side), the ID token's checks and
//!    the session cookie. Its inverse is the logins per second one core could serve.
//!
//! `LOGINS` (default 1000) sets how many logins each run times, after a warm-up.
// Setup code: failing loudly is right here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use base64::Engine as _;
use http::StatusCode;
use sha2::Digest as _;
use tokio::runtime::Runtime;
use tower_oidc::testing::{MockAlg, MockProvider};

use common::{config, layered, ready_layer, send, sign_in};

/// This thread's CPU time so far (user and system), in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux only)")
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A mock provider served by a runtime on a thread of its own.
fn provider_on_own_thread() -> MockProvider {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let provider = MockProvider::start().await.expect("provider");
            sender.send(provider).expect("send");
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("provider started")
}

/// The browser's part of a login without the layer: the authorization endpoint's approval,
/// as `common::callback_request` asks for it.
async fn approval_only(provider: &MockProvider, http: &reqwest::Client) {
    let verifier = format!("{}{}", "v".repeat(40), rand::random::<u64>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = format!("http://{}/auth", common::HOST_NAME);
    let authorize = url::Url::parse_with_params(
        &format!("{}/authorize", provider.issuer()),
        [
            ("response_type", "code"),
            ("client_id", provider.client_id()),
            ("redirect_uri", &redirect_uri),
            ("state", "bench-state-0123456789abcdef0123456789abcdef"),
            ("nonce", "bench-nonce-0123456789abcdef0123456789abcdef"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("url");
    let approved = http.get(authorize).send().await.expect("authorize");
    assert_eq!(approved.status(), reqwest::StatusCode::FOUND, "approval");
    black_box(approved.headers().get(reqwest::header::LOCATION).cloned());
}

async fn app(provider: &MockProvider) -> Router {
    layered(ready_layer(config(provider).build().expect("config")).await)
}

/// Run 1: `n` whole logins with everything on this thread; logins per second.
fn one_thread(alg: MockAlg, n: usize) -> f64 {
    let rt = runtime();
    rt.block_on(async {
        let provider = MockProvider::start().await.expect("provider");
        provider.set_signing_alg(alg);
        let http = common::provider_client();
        let app = app(&provider).await;
        for _ in 0..50 {
            sign_in(&app, &http).await;
        }
        let started = Instant::now();
        for _ in 0..n {
            black_box(sign_in(&app, &http).await);
        }
        n as f64 / started.elapsed().as_secs_f64()
    })
}

/// What run 2 measured, per login.
struct OwnThread {
    /// Wall time of a whole login, with the provider on its own thread.
    wall: Duration,
    /// The app thread's CPU time per login.
    app_cpu_ns: f64,
    /// The app thread's CPU time per approval alone (the browser's request).
    approval_cpu_ns: f64,
}

/// Run 2: the provider on a thread of its own; this thread's CPU time per login, and per
/// approval without the layer, alternating in rounds so that drift hits both alike.
fn own_thread(alg: MockAlg, n: usize) -> OwnThread {
    let provider = provider_on_own_thread();
    provider.set_signing_alg(alg);
    let rt = runtime();
    rt.block_on(async {
        let http = common::provider_client();
        let app = app(&provider).await;
        for _ in 0..50 {
            sign_in(&app, &http).await;
            approval_only(&provider, &http).await;
        }
        let rounds = 10;
        let per_round = n.div_ceil(rounds);
        let (mut wall, mut app_cpu, mut approval_cpu) = (Duration::ZERO, 0u64, 0u64);
        for _ in 0..rounds {
            let (started, cpu) = (Instant::now(), thread_cpu_ns());
            for _ in 0..per_round {
                let (done, _) = send(&app, common::callback_request(&app, &http).await).await;
                assert_eq!(done.status(), StatusCode::FOUND, "callback");
            }
            app_cpu += thread_cpu_ns() - cpu;
            wall += started.elapsed();
            let cpu = thread_cpu_ns();
            for _ in 0..per_round {
                approval_only(&provider, &http).await;
            }
            approval_cpu += thread_cpu_ns() - cpu;
        }
        let logins = (rounds * per_round) as f64;
        OwnThread {
            wall: wall.div_f64(logins),
            app_cpu_ns: app_cpu as f64 / logins,
            approval_cpu_ns: approval_cpu as f64 / logins,
        }
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter is not supported here.
    let n: usize = std::env::var("LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    println!("logins: {n} timed per run (cookie sessions; userinfo fetched)");
    println!(
        "{:<8} {:>18} {:>22} {:>18} {:>20}",
        "ID token", "one thread /s", "provider apart /s", "layer CPU µs", "layer-only /s/core"
    );
    for (label, alg) in [("RS256", MockAlg::Rs256), ("ES256", MockAlg::Es256)] {
        let whole = one_thread(alg, n);
        let apart = own_thread(alg, n);
        let layer_us = (apart.app_cpu_ns - apart.approval_cpu_ns) / 1000.0;
        println!(
            "{label:<8} {whole:>18.0} {:>22.0} {layer_us:>18.1} {:>20.0}",
            1.0 / apart.wall.as_secs_f64(),
            1e6 / layer_us
        );
        eprintln!(
            "  {label}: app thread {:.1} µs CPU per login, of which the browser's approval request {:.1} µs",
            apart.app_cpu_ns / 1000.0,
            apart.approval_cpu_ns / 1000.0
        );
    }
}
