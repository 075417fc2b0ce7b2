//! OpenID Connect Back-Channel Logout: a valid logout token ends the sessions it names;
//! replays, nonces, wrong audiences and other defects are refused with 400.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::testing::{MockAlg, MockProvider};

use crate::harness::{Browser, TestApp};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn logout_claims(provider: &MockProvider, jti: &str) -> serde_json::Map<String, Value> {
    json!({
        "iss": provider.issuer(),
        "aud": provider.client_id(),
        "iat": now(),
        "exp": now() + 120,
        "jti": jti,
        "events": { EVENT: {} },
    })
    .as_object()
    .cloned()
    .expect("object")
}

async fn post_logout_token(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.at("/backchannel_logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("request")
        .status()
}

/// A signed-in browser and the provider's session id for it.
async fn signed_in(app: &TestApp) -> (Browser, String) {
    let browser = Browser::default();
    browser.login(app).await;
    let me: Value = browser.api(app.at("/me")).await.json().await.expect("json");
    let sid = me["claims"]["sid"].as_str().expect("sid claim").to_owned();
    (browser, sid)
}

async fn memory_app(provider: &MockProvider) -> TestApp {
    TestApp::start_with(provider, |c| c.memory_sessions()).await
}

#[tokio::test]
async fn a_valid_logout_token_ends_the_session_by_sid_or_sub() {
    let provider = MockProvider::start().await.expect("provider");
    let app = memory_app(&provider).await;

    let (browser, sid) = signed_in(&app).await;
    let (bystander, _) = signed_in(&app).await;
    let mut claims = logout_claims(&provider, "jti-sid");
    claims.insert("sid".into(), json!(sid));
    let token = provider.mint_jwt(MockAlg::Rs256, Value::Object(claims));
    assert_eq!(post_logout_token(&app, &token).await, StatusCode::OK);
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bystander.api(app.at("/api/data")).await.status(),
        StatusCode::OK,
        "other OP session"
    );

    let mut claims = logout_claims(&provider, "jti-sub");
    claims.insert("sub".into(), json!("alice"));
    let token = provider.mint_jwt(MockAlg::Rs256, Value::Object(claims));
    assert_eq!(post_logout_token(&app, &token).await, StatusCode::OK);
    assert_eq!(
        bystander.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn defective_logout_tokens_are_refused_with_400() {
    let provider = MockProvider::start().await.expect("provider");
    let app = memory_app(&provider).await;
    let (browser, sid) = signed_in(&app).await;
    let with = |jti: &str, edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = logout_claims(&provider, jti);
        claims.insert("sid".into(), json!(sid));
        edit(&mut claims);
        provider.mint_jwt(MockAlg::Rs256, Value::Object(claims))
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "nonce",
            with("j1", &|c| {
                c.insert("nonce".into(), json!("n"));
            }),
        ),
        (
            "wrong audience",
            with("j2", &|c| {
                c.insert("aud".into(), json!("another-client"));
            }),
        ),
        (
            "wrong issuer",
            with("j3", &|c| {
                c.insert("iss".into(), json!("https://elsewhere.example"));
            }),
        ),
        (
            "no event",
            with("j4", &|c| {
                c.remove("events");
            }),
        ),
        (
            "event not an object",
            with("j5", &|c| {
                c.insert("events".into(), json!({ EVENT: "yes" }));
            }),
        ),
        (
            "no sid nor sub",
            with("j6", &|c| {
                c.remove("sid");
            }),
        ),
        (
            "no jti",
            with("j7", &|c| {
                c.remove("jti");
            }),
        ),
        (
            "no iat",
            with("j8", &|c| {
                c.remove("iat");
            }),
        ),
        (
            "expired",
            with("j9", &|c| {
                c.insert("exp".into(), json!(now() - 3600));
            }),
        ),
        ("not a JWT", "garbage".to_owned()),
    ];
    for (name, token) in cases {
        assert_eq!(
            post_logout_token(&app, &token).await,
            StatusCode::BAD_REQUEST,
            "{name}"
        );
    }
    let forged = {
        let good = with("j10", &|_| {});
        let (rest, signature) = good.rsplit_once('.').expect("jwt");
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        format!("{rest}.{flipped}{}", &signature[1..])
    };
    assert_eq!(
        post_logout_token(&app, &forged).await,
        StatusCode::BAD_REQUEST,
        "bad signature"
    );
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK,
        "still signed in"
    );

    let valid = with("j-once", &|_| {});
    assert_eq!(post_logout_token(&app, &valid).await, StatusCode::OK);
    assert_eq!(
        post_logout_token(&app, &valid).await,
        StatusCode::BAD_REQUEST,
        "replayed jti"
    );
    let missing = reqwest::Client::new()
        .post(app.at("/backchannel_logout"))
        .form(&[("other", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let get = reqwest::get(app.at("/backchannel_logout"))
        .await
        .expect("request");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let huge = reqwest::Client::new()
        .post(app.at("/backchannel_logout"))
        .body("logout_token=".to_owned() + &"a".repeat(100_000))
        .send()
        .await
        .expect("request");
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn cookie_sessions_cannot_be_ended_from_the_back_channel() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let mut claims = logout_claims(&provider, "j");
    claims.insert("sub".into(), json!("alice"));
    let token = provider.mint_jwt(MockAlg::Rs256, Value::Object(claims));
    assert_eq!(
        post_logout_token(&app, &token).await,
        StatusCode::NOT_IMPLEMENTED
    );
}

/// A memory store whose logout index fails while `broken` is set, as a store does when
/// its server goes away between two commands.
struct IndexOutage {
    store: tower_oidc::store::MemoryStore,
    broken: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl tower_oidc::store::SessionStore for IndexOutage {
    async fn load(
        &self,
        id: &str,
    ) -> Result<Option<tower_oidc::store::SessionData>, tower_oidc::store::StoreError> {
        self.store.load(id).await
    }

    async fn save(
        &self,
        id: &str,
        session: &tower_oidc::store::SessionData,
        ttl: std::time::Duration,
    ) -> Result<(), tower_oidc::store::StoreError> {
        self.store.save(id, session, ttl).await
    }

    async fn delete(&self, id: &str) -> Result<(), tower_oidc::store::StoreError> {
        self.store.delete(id).await
    }

    async fn index(
        &self,
        id: &str,
        keys: &[String],
        ttl: std::time::Duration,
    ) -> Result<(), tower_oidc::store::StoreError> {
        self.store.index(id, keys, ttl).await
    }

    async fn delete_indexed(&self, key: &str) -> Result<usize, tower_oidc::store::StoreError> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(tower_oidc::store::StoreError::unavailable(
                "connection reset",
            ));
        }
        self.store.delete_indexed(key).await
    }

    async fn first_use(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, tower_oidc::store::StoreError> {
        self.store.first_use(key, ttl).await
    }

    async fn forget_use(&self, key: &str) -> Result<(), tower_oidc::store::StoreError> {
        self.store.forget_use(key).await
    }
}

#[tokio::test]
async fn a_logout_token_that_failed_on_the_store_ends_the_session_when_sent_again() {
    let provider = MockProvider::start().await.expect("provider");
    let broken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = IndexOutage {
        store: tower_oidc::store::MemoryStore::new(100),
        broken: broken.clone(),
    };
    let app = TestApp::start_with(&provider, |c| c.session_store(store)).await;
    let (browser, sid) = signed_in(&app).await;
    let mut claims = logout_claims(&provider, "jti-retried");
    claims.insert("sid".into(), json!(sid));
    let token = provider.mint_jwt(MockAlg::Rs256, Value::Object(claims));

    broken.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        post_logout_token(&app, &token).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::OK,
        "nothing ended yet"
    );
    assert_eq!(
        post_logout_token(&app, &token).await,
        StatusCode::OK,
        "the provider's retry is no replay"
    );
    assert_eq!(
        browser.api(app.at("/api/data")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post_logout_token(&app, &token).await,
        StatusCode::BAD_REQUEST,
        "once it ended the session, the token is used"
    );
}
