//! One case of `hot_path` in a loop, for `valgrind --tool=callgrind`: instruction counts
//! are deterministic, where times on a shared machine are not. `benches/callgrind.sh` runs
//! every case and prints instructions per request, bare vs layered.
//!
//! ```sh
//! CALLGRIND_CASE=cookie CALLGRIND_VARIANT=layered CALLGRIND_N=2000 \
//!     valgrind --tool=callgrind --toggle-collect='*measured_loop*' \
//!     target/release/deps/callgrind-HASH
//! ```
//!
//! Only `measured_loop` is counted: setup (the mock provider, the sign-in, minting tokens)
//! is not. Without `CALLGRIND_CASE` (as under a plain `cargo bench`) it does nothing.
// Setup code: failing loudly is right here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{HeaderValue, Request};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Map, Value};
use tokio::runtime::Runtime;
use tower_oidc::testing::{MockAlg, MockProvider};

use common::{bare, bearer, config, layered, ready_layer, request, send};

const CASES: &str = "whitelisted | cookie | memory | cookie_idle | memory_idle | bearer_cached | api_key | bearer_first_rs256 \
                     (bare | layered), raw_rs256, or callback";

/// The loop callgrind counts: `n` requests, each built and answered.
#[inline(never)]
fn measured_loop(rt: &Runtime, app: &Router, make: &dyn Fn(usize) -> Request<Body>, n: usize) {
    rt.block_on(async {
        for i in 0..n {
            black_box(send(app, make(i)).await);
        }
    });
}

/// The raw verification, counted the same way.
#[inline(never)]
fn measured_loop_raw(tokens: &[String], key: &DecodingKey, validation: &Validation) {
    for token in tokens {
        black_box(
            jsonwebtoken::decode::<Map<String, Value>>(token, key, validation).expect("valid"),
        );
    }
}

fn main() {
    let Ok(case) = std::env::var("CALLGRIND_CASE") else {
        eprintln!("callgrind: set CALLGRIND_CASE ({CASES}) and run under valgrind, or use benches/callgrind.sh");
        return;
    };
    let variant = std::env::var("CALLGRIND_VARIANT").unwrap_or_else(|_| "layered".into());
    let n: usize = std::env::var("CALLGRIND_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let provider = rt.block_on(MockProvider::start()).expect("provider");
    provider.set_access_token_ttl(Duration::from_secs(3600));
    let http = common::provider_client();
    let builder = config(&provider);
    let builder = if case.starts_with("memory") {
        builder.memory_sessions()
    } else {
        builder
    };
    #[cfg(feature = "api-keys")]
    let builder = builder.api_keys(case == "api_key");
    let builder = if case.ends_with("_idle") {
        builder.session_idle_timeout(Duration::from_secs(1800))
    } else {
        builder
    };
    let layered_app = layered(rt.block_on(ready_layer(builder.build().expect("config"))));
    let app = if variant == "bare" {
        bare()
    } else {
        layered_app.clone()
    };
    let fresh_tokens = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| provider.mint_access_token(&format!("svc-{i}"), json!({})))
            .collect()
    };
    match case.as_str() {
        "whitelisted" => measured_loop(&rt, &app, &|_| request("/health", true, None, None), n),
        "cookie" | "memory" | "cookie_idle" | "memory_idle" => {
            let cookie = rt.block_on(common::sign_in(&layered_app, &http));
            measured_loop(&rt, &app, &|_| request("/", true, Some(&cookie), None), n);
        }
        "bearer_cached" => {
            let token = bearer(&provider.mint_access_token("svc-user", json!({})));
            let make = |_| request("/api/data", false, None, Some(&token));
            rt.block_on(send(&app, make(0)));
            measured_loop(&rt, &app, &make, n);
        }
        #[cfg(feature = "api-keys")]
        "api_key" => {
            let cookie = rt.block_on(common::sign_in(&layered_app, &http));
            let key = rt.block_on(common::make_api_key(&layered_app, &cookie));
            let make = |_| request("/api/data", false, None, Some(&key));
            rt.block_on(send(&app, make(0)));
            measured_loop(&rt, &app, &make, n);
        }
        "bearer_first_rs256" => {
            let tokens: Vec<HeaderValue> = fresh_tokens(n).iter().map(|t| bearer(t)).collect();
            measured_loop(
                &rt,
                &app,
                &|i| request("/api/data", false, None, Some(&tokens[i])),
                n,
            );
        }
        "raw_rs256" => {
            let tokens = fresh_tokens(n);
            let jwks: JwkSet = rt
                .block_on(async {
                    let url = format!("{}/jwks", provider.issuer());
                    http.get(url).send().await?.json().await
                })
                .expect("jwks");
            let key =
                DecodingKey::from_jwk(jwks.find(provider.active_kid()).expect("kid")).expect("key");
            let mut validation = Validation::new(Algorithm::RS256);
            validation.leeway = 60;
            validation.set_issuer(&[provider.issuer()]);
            validation.set_audience(&[provider.client_id()]);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            measured_loop_raw(&tokens, &key, &validation);
        }
        "callback" => {
            // Logins started (GET /login, the provider's approval) before counting; count the
            // layer's own functions only (see callgrind.sh), not the mock provider's tasks.
            provider.set_signing_alg(MockAlg::Es256);
            let callbacks: Vec<_> = (0..n)
                .map(|_| rt.block_on(common::callback_request(&layered_app, &http)))
                .collect();
            let callbacks = std::cell::RefCell::new(callbacks.into_iter());
            let next = |_| callbacks.borrow_mut().next().expect("callback request");
            measured_loop(&rt, &layered_app, &next, n);
        }
        other => panic!("unknown case {other}: {CASES}"),
    }
}
