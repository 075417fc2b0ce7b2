//! The user-detail hook: called once per login, cached in the session, errors and refusals.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Json;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_oidc::testing::MockProvider;
use tower_oidc::{
    store::{MemoryStore, SessionData, SessionStore, StoreError},
    Identity, OidcLayer, User, UserDetails,
};

use crate::harness::{base_config, routes, Browser, TestApp};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct AppUser {
    user_id: String,
    email: Option<String>,
    display_name: String,
    is_active: bool,
}

#[derive(Clone, Copy)]
enum Mode {
    Load,
    Refuse,
    Fail,
}

#[derive(Clone)]
struct Directory {
    calls: Arc<AtomicUsize>,
    mode: Mode,
}

impl UserDetails for Directory {
    type User = AppUser;
    type Error = String;

    async fn load_user(&self, identity: &Identity) -> Result<Option<AppUser>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.mode {
            Mode::Refuse => Ok(None),
            Mode::Fail => Err("directory down".into()),
            Mode::Load => Ok(Some(AppUser {
                user_id: identity.user_id().to_owned(),
                email: identity
                    .claim("email")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                display_name: "Alice Example".into(),
                is_active: true,
            })),
        }
    }
}

/// Where the sessions live.
#[derive(Clone, Copy)]
enum Sessions {
    Cookie,
    /// The memory store, which answers loads without waiting.
    Memory,
    /// A store that answers only by waiting, as a networked one does.
    Remote,
}

struct Remote(MemoryStore);

impl SessionStore for Remote {
    async fn load(&self, id: &str) -> Result<Option<SessionData>, StoreError> {
        tokio::task::yield_now().await;
        self.0.load(id).await
    }

    async fn save(&self, id: &str, session: &SessionData, ttl: Duration) -> Result<(), StoreError> {
        self.0.save(id, session, ttl).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.0.delete(id).await
    }
}

async fn app(provider: &MockProvider, mode: Mode, ttl: Duration) -> (TestApp, Arc<AtomicUsize>) {
    app_with(provider, mode, ttl, Sessions::Cookie).await
}

async fn app_with(
    provider: &MockProvider,
    mode: Mode,
    ttl: Duration,
    sessions: Sessions,
) -> (TestApp, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = Directory {
        calls: Arc::clone(&calls),
        mode,
    };
    let builder = base_config(provider)
        .user_details(hook)
        .user_details_ttl(ttl);
    let builder = match sessions {
        Sessions::Cookie => builder,
        Sessions::Memory => builder.memory_sessions(),
        Sessions::Remote => builder.session_store(Remote(MemoryStore::new(100))),
    };
    let config = builder.build().expect("config");
    let app = TestApp::serve_router(config, |routes| {
        routes.route(
            "/app-user",
            get(|User(user): User<AppUser>| async move { Json((*user).clone()) }),
        )
    })
    .await;
    (app, calls)
}

#[tokio::test]
async fn called_once_per_login_and_cached() {
    let provider = MockProvider::start().await.expect("provider");
    let (app, calls) = app(&provider, Mode::Load, Duration::from_secs(3600)).await;
    let browser = Browser::default();
    browser.login(&app).await;
    for _ in 0..5 {
        let user: AppUser = browser
            .api(app.at("/app-user"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(user.user_id, "alice");
        assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reloaded_after_its_time_to_live() {
    reloaded_after_its_time_to_live_with(Sessions::Cookie).await;
}

#[tokio::test]
async fn reloaded_after_its_time_to_live_in_the_memory_store() {
    reloaded_after_its_time_to_live_with(Sessions::Memory).await;
}

#[tokio::test]
async fn reloaded_after_its_time_to_live_in_a_remote_store() {
    reloaded_after_its_time_to_live_with(Sessions::Remote).await;
}

async fn reloaded_after_its_time_to_live_with(sessions: Sessions) {
    let provider = MockProvider::start().await.expect("provider");
    // Times are whole seconds: a TTL of 3 s leaves at least 2 s between the reload and the
    // next request before that reload could count as stale.
    let (app, calls) = app_with(&provider, Mode::Load, Duration::from_secs(3), sessions).await;
    let browser = Browser::default();
    browser.login(&app).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(
        browser.api(app.at("/app-user")).await.status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        browser.api(app.at("/app-user")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the reloaded user is stored"
    );
}

#[tokio::test]
async fn a_failing_hook_fails_the_login_without_a_session() {
    let provider = MockProvider::start().await.expect("provider");
    let (app, calls) = app(&provider, Mode::Fail, Duration::from_secs(3600)).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(landed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = landed.text().await.expect("body");
    assert!(
        !body.contains("directory down"),
        "internals stay out of the page"
    );
    assert!(!browser.has_session(&app));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refusing_hook_answers_403() {
    let provider = MockProvider::start().await.expect("provider");
    let (app, _) = app(&provider, Mode::Refuse, Duration::from_secs(3600)).await;
    let browser = Browser::default();
    let landed = browser.login(&app).await;
    assert_eq!(landed.status(), StatusCode::FORBIDDEN);
    assert!(!browser.has_session(&app));
}

#[tokio::test]
async fn bearer_tokens_load_the_user_once_per_token() {
    let provider = MockProvider::start().await.expect("provider");
    let (app, calls) = app(&provider, Mode::Load, Duration::from_secs(3600)).await;
    let token = provider.mint_access_token("alice", json!({}));
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let user: AppUser = client
            .get(app.at("/app-user"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(user.user_id, "alice");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_user_extractor_without_a_hook_is_a_clear_500() {
    let provider = MockProvider::start().await.expect("provider");
    let config = base_config(&provider).build().expect("config");
    let layer = OidcLayer::new(config);
    let app = routes()
        .route(
            "/app-user",
            get(|User(user): User<AppUser>| async move { Json((*user).clone()) }),
        )
        .layer(layer);
    let token = provider.mint_access_token("alice", json!({}));
    let request = http::Request::get("/app-user")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app, request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
}

/// A handler taking the user as JSON and another taking it typed, on one session: each
/// gets the user, whichever ran first.
#[tokio::test]
async fn json_and_typed_users_on_one_session() {
    let provider = MockProvider::start().await.expect("provider");
    for sessions in [Sessions::Cookie, Sessions::Memory] {
        let calls = Arc::new(AtomicUsize::new(0));
        let hook = Directory {
            calls: Arc::clone(&calls),
            mode: Mode::Load,
        };
        let builder = base_config(&provider).user_details(hook);
        let builder = match sessions {
            Sessions::Memory => builder.memory_sessions(),
            _ => builder,
        };
        let app = TestApp::serve_router(builder.build().expect("config"), |routes| {
            routes
                .route(
                    "/app-user",
                    get(|User(user): User<AppUser>| async move { Json((*user).clone()) }),
                )
                .route(
                    "/json-user",
                    get(|User(user): User<serde_json::Value>| async move { Json((*user).clone()) }),
                )
        })
        .await;
        let browser = Browser::default();
        browser.login(&app).await;
        for path in ["/json-user", "/app-user", "/json-user", "/app-user"] {
            let response = browser.api(app.at(path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let user: AppUser = response.json().await.expect("json");
            assert_eq!(user.user_id, "alice", "{path}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

/// `Option<User<T>>` on axum: `None` for a visitor, the user once signed in, and still
/// `500` for a type that is not the hook's (even one the stored JSON would decode into)
/// or a missing layer.
#[tokio::test]
async fn the_optional_user_extractor() {
    #[derive(Deserialize)]
    struct JustTheId {
        user_id: String,
    }
    fn visitor_or(name: Option<String>) -> String {
        name.unwrap_or_else(|| "visitor".to_owned())
    }
    let provider = MockProvider::start().await.expect("provider");
    let hook = Directory {
        calls: Arc::new(AtomicUsize::new(0)),
        mode: Mode::Load,
    };
    let config = base_config(&provider)
        .user_details(hook)
        .whitelist(["/greeting", "/greeting-by-id"])
        .build()
        .expect("config");
    let mount = |routes: axum::Router| {
        routes
            .route(
                "/greeting",
                get(|user: Option<User<AppUser>>| async move {
                    visitor_or(user.map(|User(user)| user.display_name.clone()))
                }),
            )
            .route(
                "/greeting-by-id",
                get(|user: Option<User<JustTheId>>| async move {
                    visitor_or(user.map(|User(user)| user.user_id.clone()))
                }),
            )
    };
    let app = TestApp::serve_router(config, mount).await;
    let browser = Browser::default();
    for path in ["/greeting", "/greeting-by-id"] {
        let response = browser.api(app.at(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.expect("body"), "visitor", "{path}");
    }
    browser.login(&app).await;
    let greeting = browser.api(app.at("/greeting")).await;
    assert_eq!(greeting.text().await.expect("body"), "Alice Example");
    let by_id = browser.api(app.at("/greeting-by-id")).await;
    assert_eq!(by_id.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let json: serde_json::Value = by_id.json().await.expect("json");
    assert_eq!(json["error"], "no_user_details");

    let unwrapped = mount(routes());
    let request = http::Request::get("/greeting")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(unwrapped, request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
}
