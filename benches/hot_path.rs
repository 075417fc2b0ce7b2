//! The layer's cost per request, each case measured beside a bare service in the same run.
//!
//! ```sh
//! cargo bench --bench hot_path --features testing,axum -- \
//!     --warm-up-time 1 --measurement-time 3 --sample-size 30
//! ```
//!
//! Every case drives an axum `Router` in-process with `tower::ServiceExt::oneshot` and reads
//! the whole answer, once without the layer (`bare`) and once wrapped in `OidcLayer`
//! (`layered`). The mock provider runs on loopback; only the login and callback cases and
//! the first sight of a bearer token use it (keys and metadata are loaded before timing).
//! At the end a table gives each case's overhead (layered − bare, in ns) and ratio
//! (layered / bare), from criterion's medians of this run.
// Setup code: failing loudly is right here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::Router;
use base64::Engine as _;
use criterion::Criterion;
use http::{HeaderValue, Request, StatusCode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_oidc::testing::{DpopKey, MockAlg, MockProvider};

use common::{bare, bearer, callback_request, config, layered, ready_layer, request, send};

/// More first-seen tokens than the bearer cache holds (10,000), so that cycling through
/// them never finds one still cached: the cache is emptied at least every 10,000 inserts.
const FIRST_SEEN_POOL: usize = 10_050;

/// Everything set up before timing starts.
struct Fixture {
    rs: MockProvider,
    es: MockProvider,
    http: reqwest::Client,
    bare: Router,
    /// Cookie sessions, against the RS256 provider.
    cookie_app: Router,
    cookie: HeaderValue,
    /// `.memory_sessions()`.
    memory_app: Router,
    memory_cookie: HeaderValue,
    /// The same two with an idle timeout, which stamps sessions as they are used.
    cookie_idle_app: Router,
    cookie_idle: HeaderValue,
    memory_idle_app: Router,
    memory_idle_cookie: HeaderValue,
    /// One layer per bearer case, so that the caches do not meet.
    first_rs_app: Router,
    first_es_app: Router,
    cached_app: Router,
    cached_token: HeaderValue,
    /// Personal API keys on, kept in this process; a key made by a signed-in session.
    #[cfg(feature = "api-keys")]
    api_key_app: Router,
    #[cfg(feature = "api-keys")]
    api_key: HeaderValue,
    /// DPoP (optional mode) with a bound token the cache knows.
    dpop_app: Router,
    dpop_key: Arc<DpopKey>,
    dpop_token: String,
    /// Callbacks against the ES256 provider (cheap signing keeps the mock's share small).
    callback_app: Router,
}

impl Fixture {
    async fn new() -> Self {
        let rs = MockProvider::start().await.expect("provider");
        rs.set_access_token_ttl(Duration::from_secs(3600));
        let es = MockProvider::start().await.expect("provider");
        es.set_signing_alg(MockAlg::Es256);
        es.set_access_token_ttl(Duration::from_secs(3600));
        let http = common::provider_client();

        let app_for = |layer| layered(layer);
        let cookie_app = app_for(ready_layer(config(&rs).build().expect("config")).await);
        let cookie = common::sign_in(&cookie_app, &http).await;
        let memory_app =
            app_for(ready_layer(config(&rs).memory_sessions().build().expect("config")).await);
        let memory_cookie = common::sign_in(&memory_app, &http).await;
        let idle = Duration::from_secs(1800);
        let cookie_idle_app = app_for(
            ready_layer(
                config(&rs)
                    .session_idle_timeout(idle)
                    .build()
                    .expect("config"),
            )
            .await,
        );
        let cookie_idle = common::sign_in(&cookie_idle_app, &http).await;
        let memory_idle_app = app_for(
            ready_layer(
                config(&rs)
                    .memory_sessions()
                    .session_idle_timeout(idle)
                    .build()
                    .expect("config"),
            )
            .await,
        );
        let memory_idle_cookie = common::sign_in(&memory_idle_app, &http).await;
        let first_rs_app = app_for(ready_layer(config(&rs).build().expect("config")).await);
        let first_es_app = app_for(ready_layer(config(&es).build().expect("config")).await);
        let cached_app = app_for(ready_layer(config(&rs).build().expect("config")).await);
        let cached_token = bearer(&rs.mint_access_token("svc-user", json!({})));
        let callback_app = app_for(ready_layer(config(&es).build().expect("config")).await);
        #[cfg(feature = "api-keys")]
        let (api_key_app, api_key) = {
            let app =
                app_for(ready_layer(config(&rs).api_keys(true).build().expect("config")).await);
            let cookie = common::sign_in(&app, &http).await;
            let key = common::make_api_key(&app, &cookie).await;
            (app, key)
        };
        let dpop_config = config(&rs).dpop(tower_oidc::DpopMode::Optional);
        let dpop_app = app_for(ready_layer(dpop_config.build().expect("config")).await);
        let dpop_key = Arc::new(DpopKey::generate());
        let dpop_token = rs.mint_dpop_token("svc-dpop", &dpop_key);
        Self {
            rs,
            es,
            http,
            bare: bare(),
            cookie_app,
            cookie,
            memory_app,
            memory_cookie,
            cookie_idle_app,
            cookie_idle,
            memory_idle_app,
            memory_idle_cookie,
            first_rs_app,
            first_es_app,
            cached_app,
            cached_token,
            #[cfg(feature = "api-keys")]
            api_key_app,
            #[cfg(feature = "api-keys")]
            api_key,
            dpop_app,
            dpop_key,
            dpop_token,
            callback_app,
        }
    }
}

/// Sends one request and checks the answer, so that no case measures an error path.
async fn expect(app: &Router, request: Request<Body>, status: StatusCode, body_has: &str) {
    let (response, body) = send(app, request).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(response.status(), status, "{body}");
    assert!(body.contains(body_has), "{body}");
}

async fn drain(app: Router, request: Request<Body>) {
    let response = app.oneshot(request).await.expect("infallible");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    black_box(body.expect("body"));
}

/// One case: the same request through each app, in one criterion group.
fn pair(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    apps: &[(&str, &Router)],
    make: impl Fn() -> Request<Body> + Copy,
) {
    let mut g = c.benchmark_group(group);
    for (id, app) in apps {
        g.bench_function(*id, |b| {
            b.to_async(rt).iter(|| drain((*app).clone(), make()));
        });
    }
    g.finish();
}

/// `Authorization` headers of fresh tokens, minted once (untimed) per provider.
fn pool(provider: &MockProvider, cell: &OnceLock<Arc<Vec<HeaderValue>>>) -> Arc<Vec<HeaderValue>> {
    Arc::clone(cell.get_or_init(|| {
        let started = Instant::now();
        let tokens: Vec<HeaderValue> = (0..FIRST_SEEN_POOL)
            .map(|i| bearer(&provider.mint_access_token(&format!("svc-{i}"), json!({}))))
            .collect();
        eprintln!(
            "minted {FIRST_SEEN_POOL} tokens in {:.1} s (untimed)",
            started.elapsed().as_secs_f64()
        );
        Arc::new(tokens)
    }))
}

/// Each iteration sends the next token of `tokens`; none of them is in the cache.
fn first_seen(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    apps: &[(&str, &Router)],
    provider: &MockProvider,
) {
    let cell = OnceLock::new();
    let mut g = c.benchmark_group(group);
    for (id, app) in apps {
        let next = Arc::new(AtomicUsize::new(0));
        g.bench_function(*id, |b| {
            let tokens = pool(provider, &cell);
            b.to_async(rt).iter_custom(|iters| {
                let (app, tokens, next) = ((*app).clone(), Arc::clone(&tokens), Arc::clone(&next));
                async move {
                    let started = Instant::now();
                    for _ in 0..iters {
                        let i = next.fetch_add(1, Ordering::Relaxed) % tokens.len();
                        let request = request("/api/data", false, None, Some(&tokens[i]));
                        drain(app.clone(), request).await;
                    }
                    started.elapsed()
                }
            });
        });
    }
    g.finish();
}

/// `GET /api/data` with a bound token and a fresh proof.
fn dpop_request(key: &DpopKey, token: &str) -> Request<Body> {
    let url = format!("http://{}/api/data", common::HOST_NAME);
    let proof = key.proof("GET", &url, Some(token));
    let mut request = request("/api/data", false, None, None);
    let headers = request.headers_mut();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("DPoP {token}")).expect("header"),
    );
    headers.insert("dpop", HeaderValue::from_str(&proof).expect("proof"));
    request
}

/// Each iteration sends a new proof with the same bound token; signing the proof (the
/// client's work) is not timed.
fn dpop_case(c: &mut Criterion, rt: &Runtime, group: &str, apps: &[(&str, &Router)], fx: &Fixture) {
    let mut g = c.benchmark_group(group);
    for (id, app) in apps {
        g.bench_function(*id, |b| {
            b.to_async(rt).iter_custom(|iters| {
                let (app, key, token) = (
                    (*app).clone(),
                    Arc::clone(&fx.dpop_key),
                    fx.dpop_token.clone(),
                );
                async move {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let request = dpop_request(&key, &token);
                        let started = Instant::now();
                        drain(app.clone(), request).await;
                        timed += started.elapsed();
                    }
                    timed
                }
            });
        });
    }
    g.finish();
}

/// The provider's side of a callback as a plain HTTP client sees it: the token request
/// (code, PKCE verifier, client authentication) and the userinfo request.
async fn provider_round_trips(provider: &MockProvider, http: &reqwest::Client) -> Duration {
    let issuer = provider.issuer();
    let verifier = format!("{}{}", "v".repeat(40), rand::random::<u64>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = format!("http://{}/auth", common::HOST_NAME);
    let authorize = url::Url::parse_with_params(
        &format!("{issuer}/authorize"),
        [
            ("response_type", "code"),
            ("client_id", provider.client_id()),
            ("redirect_uri", &redirect_uri),
            ("state", "bench-state"),
            ("nonce", "bench-nonce"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("url");
    let approved = http.get(authorize).send().await.expect("authorize");
    let back = approved.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("ascii");
    let back = url::Url::parse(back).expect("url");
    let code = back
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("code");

    let started = Instant::now();
    let tokens: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(provider.client_id(), Some(provider.client_secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let access = tokens["access_token"].as_str().expect("access token");
    let userinfo = http
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo")
        .bytes()
        .await
        .expect("userinfo body");
    let elapsed = started.elapsed();
    black_box(userinfo);
    elapsed
}

/// The raw verification the first-seen bearer case is compared with: `jsonwebtoken`
/// (aws-lc-rs) with a key from the provider's JWKS, as the layer builds it.
fn raw_verify(c: &mut Criterion, rt: &Runtime, fx: &Fixture) {
    let (rs_key, es_key) = rt.block_on(async {
        (
            jwk_key(&fx.rs, &fx.http, fx.rs.active_kid()).await,
            jwk_key(&fx.es, &fx.http, fx.es.active_kid()).await,
        )
    });
    let rs_token = fx.rs.mint_access_token("svc-user", json!({}));
    let es_token = fx.es.mint_access_token("svc-user", json!({}));
    let validation = |alg, issuer: &str| {
        let mut v = Validation::new(alg);
        v.leeway = 60;
        v.set_issuer(&[issuer]);
        v.set_audience(&[fx.rs.client_id()]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v
    };
    let rs_validation = validation(Algorithm::RS256, &fx.rs.issuer());
    let es_validation = validation(Algorithm::ES256, &fx.es.issuer());
    let split = |token: &str| {
        let (message, signature) = token.rsplit_once('.').expect("jwt");
        (message.to_owned(), signature.to_owned())
    };
    let (rs_message, rs_signature) = split(&rs_token);
    let (es_message, es_signature) = split(&es_token);

    let mut g = c.benchmark_group("h_raw_verify");
    g.bench_function("rs256_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(
                black_box(&rs_token),
                &rs_key,
                &rs_validation,
            )
            .expect("valid")
        });
    });
    g.bench_function("rs256_signature_only", |b| {
        b.iter(|| {
            assert!(jsonwebtoken::crypto::verify(
                black_box(&rs_signature),
                rs_message.as_bytes(),
                &rs_key,
                Algorithm::RS256,
            )
            .expect("verify"));
        });
    });
    g.bench_function("es256_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(
                black_box(&es_token),
                &es_key,
                &es_validation,
            )
            .expect("valid")
        });
    });
    g.bench_function("es256_signature_only", |b| {
        b.iter(|| {
            assert!(jsonwebtoken::crypto::verify(
                black_box(&es_signature),
                es_message.as_bytes(),
                &es_key,
                Algorithm::ES256,
            )
            .expect("verify"));
        });
    });
    g.finish();
}

async fn jwk_key(provider: &MockProvider, http: &reqwest::Client, kid: &str) -> DecodingKey {
    let jwks: JwkSet = http
        .get(format!("{}/jwks", provider.issuer()))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    DecodingKey::from_jwk(jwks.find(kid).expect("kid")).expect("key")
}

fn benches(c: &mut Criterion, rt: &Runtime, fx: &Fixture) {
    // Every layered answer is checked once before timing.
    rt.block_on(async {
        expect(
            &fx.cookie_app,
            request("/health", true, None, None),
            StatusCode::OK,
            "ok",
        )
        .await;
        let session = Some(&fx.cookie);
        expect(
            &fx.cookie_app,
            request("/", true, session, None),
            StatusCode::OK,
            "Hello",
        )
        .await;
        let memory = Some(&fx.memory_cookie);
        expect(
            &fx.memory_app,
            request("/", true, memory, None),
            StatusCode::OK,
            "Hello",
        )
        .await;
        for (app, cookie) in [
            (&fx.cookie_idle_app, &fx.cookie_idle),
            (&fx.memory_idle_app, &fx.memory_idle_cookie),
        ] {
            expect(
                app,
                request("/", true, Some(cookie), None),
                StatusCode::OK,
                "Hello",
            )
            .await;
        }
        let cached = Some(&fx.cached_token);
        let api = request("/api/data", false, None, cached);
        expect(&fx.cached_app, api, StatusCode::OK, "svc-user").await;
        let api = dpop_request(&fx.dpop_key, &fx.dpop_token);
        expect(&fx.dpop_app, api, StatusCode::OK, "svc-dpop").await;
        let fresh = bearer(&fx.es.mint_access_token("svc-check", json!({})));
        let api = request("/api/data", false, None, Some(&fresh));
        expect(&fx.first_es_app, api, StatusCode::OK, "svc-check").await;
        let fresh = bearer(&fx.rs.mint_access_token("svc-check", json!({})));
        let api = request("/api/data", false, None, Some(&fresh));
        expect(&fx.first_rs_app, api, StatusCode::OK, "svc-check").await;
        expect(
            &fx.cookie_app,
            request("/login", true, None, None),
            StatusCode::FOUND,
            "",
        )
        .await;
        let callback = callback_request(&fx.callback_app, &fx.http).await;
        expect(&fx.callback_app, callback, StatusCode::FOUND, "").await;
    });

    let bare = &fx.bare;
    pair(
        c,
        rt,
        "a_whitelisted",
        &[("bare", bare), ("layered", &fx.cookie_app)],
        || request("/health", true, None, None),
    );
    // The idle-timeout apps signed in on their own, so each request carries its own app's
    // cookie; both cookies are the same size.
    for (group, plain, idle) in [
        (
            "b_cookie_session",
            (&fx.cookie_app, &fx.cookie),
            (&fx.cookie_idle_app, &fx.cookie_idle),
        ),
        (
            "c_memory_session",
            (&fx.memory_app, &fx.memory_cookie),
            (&fx.memory_idle_app, &fx.memory_idle_cookie),
        ),
    ] {
        let mut g = c.benchmark_group(group);
        for (id, app, cookie) in [
            ("bare", bare, plain.1),
            ("layered", plain.0, plain.1),
            ("layered_idle", idle.0, idle.1),
        ] {
            g.bench_function(id, |b| {
                b.to_async(rt)
                    .iter(|| drain(app.clone(), request("/", true, Some(cookie), None)));
            });
        }
        g.finish();
    }
    first_seen(
        c,
        rt,
        "d_bearer_first_rs256",
        &[("bare", bare), ("layered", &fx.first_rs_app)],
        &fx.rs,
    );
    first_seen(
        c,
        rt,
        "d_bearer_first_es256",
        &[("bare", bare), ("layered", &fx.first_es_app)],
        &fx.es,
    );
    let token = fx.cached_token.clone();
    let token = &token;
    pair(
        c,
        rt,
        "e_bearer_cached",
        &[("bare", bare), ("layered", &fx.cached_app)],
        move || request("/api/data", false, None, Some(token)),
    );
    #[cfg(feature = "api-keys")]
    {
        let key = fx.api_key.clone();
        let key = &key;
        pair(
            c,
            rt,
            "e_api_key",
            &[("bare", bare), ("layered", &fx.api_key_app)],
            move || request("/api/data", false, None, Some(key)),
        );
    }
    dpop_case(
        c,
        rt,
        "i_dpop_cached",
        &[("bare", bare), ("layered", &fx.dpop_app)],
        fx,
    );
    pair(
        c,
        rt,
        "f_login_redirect",
        &[("bare", bare), ("layered", &fx.cookie_app)],
        || request("/login", true, None, None),
    );

    let mut g = c.benchmark_group("g_callback");
    g.bench_function("bare", |b| {
        b.to_async(rt).iter(|| {
            drain(
                bare.clone(),
                request("/auth?code=x&state=y", true, None, None),
            )
        });
    });
    g.bench_function("layered", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (app, http) = (fx.callback_app.clone(), fx.http.clone());
            async move {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    // Untimed: GET /login and the provider's approval.
                    let callback = callback_request(&app, &http).await;
                    let started = Instant::now();
                    drain(app.clone(), callback).await;
                    timed += started.elapsed();
                }
                timed
            }
        });
    });
    // Each iteration times one callback and, right after it, the same provider round trips
    // made by a plain client; the difference of the sums is the callback without the
    // provider's time, with drift in the machine's load hitting both halves alike.
    g.bench_function("layered_minus_provider", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (app, http) = (fx.callback_app.clone(), fx.http.clone());
            async move {
                let (mut callbacks, mut provider) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    let callback = callback_request(&app, &http).await;
                    let started = Instant::now();
                    drain(app.clone(), callback).await;
                    callbacks += started.elapsed();
                    provider += provider_round_trips(&fx.es, &http).await;
                }
                callbacks.saturating_sub(provider)
            }
        });
    });
    g.bench_function("provider_only", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                timed += provider_round_trips(&fx.es, &fx.http).await;
            }
            timed
        });
    });
    g.finish();

    raw_verify(c, rt, fx);

    let mut g = c.benchmark_group("mint");
    g.bench_function("rs256", |b| {
        b.iter(|| fx.rs.mint_access_token("svc-user", json!({})));
    });
    g.bench_function("es256", |b| {
        b.iter(|| fx.es.mint_access_token("svc-user", json!({})));
    });
    g.finish();
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `target/criterion` (cargo runs benches in the package directory).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    target.join("criterion")
}

/// The median (ns) of `group/id` if it was measured in this run.
fn median(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| modified >= since);
    if !fresh {
        return None;
    }
    let estimates: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn report(dir: &Path, since: SystemTime) {
    let get = |group: &str, id: &str| median(dir, group, id, since);
    let rows = [
        (
            "a whitelisted GET /health",
            "a_whitelisted",
            "bare",
            "layered",
        ),
        (
            "b cookie session GET /",
            "b_cookie_session",
            "bare",
            "layered",
        ),
        (
            "b ... with idle timeout",
            "b_cookie_session",
            "bare",
            "layered_idle",
        ),
        (
            "c memory-store session GET /",
            "c_memory_session",
            "bare",
            "layered",
        ),
        (
            "c ... with idle timeout",
            "c_memory_session",
            "bare",
            "layered_idle",
        ),
        (
            "d bearer first seen RS256",
            "d_bearer_first_rs256",
            "bare",
            "layered",
        ),
        (
            "d bearer first seen ES256",
            "d_bearer_first_es256",
            "bare",
            "layered",
        ),
        ("e bearer cached", "e_bearer_cached", "bare", "layered"),
        ("e API key (memory store)", "e_api_key", "bare", "layered"),
        (
            "i DPoP cached token + proof",
            "i_dpop_cached",
            "bare",
            "layered",
        ),
        (
            "f GET /login redirect",
            "f_login_redirect",
            "bare",
            "layered",
        ),
        ("g callback (incl. mock)", "g_callback", "bare", "layered"),
    ];
    println!("\nmedians of this run, ns per request (overhead = layered - bare)");
    println!(
        "{:<32} {:>12} {:>12} {:>12} {:>8}",
        "case", "bare", "layered", "overhead", "ratio"
    );
    for (label, group, base, with) in rows {
        if let (Some(bare), Some(layered)) = (get(group, base), get(group, with)) {
            println!(
                "{label:<32} {bare:>12.0} {layered:>12.0} {:>12.0} {:>7.2}x",
                layered - bare,
                layered / bare
            );
        }
    }
    if let (Some(callback), Some(bare)) = (
        get("g_callback", "layered_minus_provider"),
        get("g_callback", "bare"),
    ) {
        println!(
            "{:<32} {bare:>12.0} {callback:>12.0} {:>12.0} {:>7.2}x",
            "g callback minus provider",
            callback - bare,
            callback / bare
        );
    }
    if let Some(provider) = get("g_callback", "provider_only") {
        println!("the mock provider's token + userinfo round trips, from a plain client: {provider:.0} ns");
    }
    for (label, group, raw) in [
        ("RS256", "d_bearer_first_rs256", "rs256"),
        ("ES256", "d_bearer_first_es256", "es256"),
    ] {
        if let (Some(bare), Some(layered), Some(decode), Some(signature)) = (
            get(group, "bare"),
            get(group, "layered"),
            get("h_raw_verify", &format!("{raw}_decode")),
            get("h_raw_verify", &format!("{raw}_signature_only")),
        ) {
            let overhead = layered - bare;
            println!(
                "first-seen {label} bearer: layer overhead {overhead:.0} ns = {:.2}x one raw jsonwebtoken::decode ({decode:.0} ns), {:.2}x the signature check alone ({signature:.0} ns)",
                overhead / decode,
                overhead / signature
            );
        }
    }
    if let (Some(bare), Some(dpop), Some(bearer), Some(signature)) = (
        get("i_dpop_cached", "bare"),
        get("i_dpop_cached", "layered"),
        get("e_bearer_cached", "layered"),
        get("h_raw_verify", "es256_signature_only"),
    ) {
        println!(
            "DPoP on a cached token: {:.0} ns over the cached bearer case; one raw ES256 signature check is {signature:.0} ns (overhead over bare: {:.0} ns)",
            dpop - bearer,
            dpop - bare
        );
    }
    for alg in ["rs256", "es256"] {
        if let Some(mint) = get("mint", alg) {
            println!("minting one {alg} token in the mock (untimed in d): {mint:.0} ns");
        }
    }
}

fn main() {
    let dir = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    let since = SystemTime::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let fx = rt.block_on(Fixture::new());
    benches(&mut c, &rt, &fx);
    c.final_summary();
    report(&dir, since);
}
