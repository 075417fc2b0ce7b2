//! Personal API keys: made, listed and revoked by a signed-in browser session, used as
//! `Authorization: Bearer toidc_…`, on both frameworks and every store.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tower_oidc::store::{RedisStore, SqlStore};
use tower_oidc::testing::{MockProvider, MockUser};
use tower_oidc::{ConfigBuilder, Identity, Require, UserDetails};

use crate::harness::{assert_status, Browser, Framework, TestApp};
use crate::stores::{nonce, postgres_url, redis_url, remove_sqlite, service_url, sqlite_path};

both!(
    a_key_is_made_used_listed_and_revoked_in_memory,
    a_key_is_made_used_listed_and_revoked_in_redis,
    a_key_is_made_used_listed_and_revoked_in_redis_cluster,
    a_key_is_made_used_listed_and_revoked_in_sqlite,
    a_key_is_made_used_listed_and_revoked_in_postgres,
    a_key_cannot_make_or_list_keys,
    cross_site_requests_cannot_make_or_revoke_keys,
    another_users_key_is_not_found,
    expired_keys_are_refused,
    scopes_requirements_and_the_hook_apply_to_keys,
    a_key_revoked_on_one_instance_fails_at_once_on_another,
    ending_a_users_sessions_revokes_their_keys,
    requests_are_bounded,
);

/// A signed-in browser and the key route of its app.
struct Owner<'a> {
    app: &'a TestApp,
    browser: Browser,
}

impl<'a> Owner<'a> {
    async fn sign_in(app: &'a TestApp) -> Self {
        let browser = Browser::default();
        assert_status(browser.login(app).await, StatusCode::OK).await;
        Self { app, browser }
    }

    fn origin(&self) -> String {
        self.app.url.as_str().trim_end_matches('/').to_owned()
    }

    async fn create(&self, body: Value) -> Response {
        self.browser
            .client
            .post(self.app.at("/api-keys"))
            .header("origin", self.origin())
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A new key: its id and the key itself.
    async fn new_key(&self, body: Value) -> (String, String) {
        let made: Value = serde_json::from_str(
            &assert_status(self.create(body).await, StatusCode::CREATED).await,
        )
        .expect("json");
        (
            made["id"].as_str().expect("id").to_owned(),
            made["key"].as_str().expect("key").to_owned(),
        )
    }

    async fn list(&self) -> Value {
        let listed = self.browser.api(self.app.at("/api-keys")).await;
        serde_json::from_str(&assert_status(listed, StatusCode::OK).await).expect("json")
    }

    async fn revoke(&self, id: &str) -> StatusCode {
        self.browser
            .client
            .delete(self.app.at(&format!("/api-keys/{id}")))
            .header("origin", self.origin())
            .send()
            .await
            .expect("request")
            .status()
    }
}

/// `GET path` with only the key: no cookie.
async fn with_key(app: &TestApp, path: &str, key: &str) -> Response {
    reqwest::Client::new()
        .get(app.at(path))
        .bearer_auth(key)
        .header("accept", "application/json")
        .send()
        .await
        .expect("request")
}

fn keys_on(config: ConfigBuilder) -> ConfigBuilder {
    config.api_keys(true).api_key_scopes(["read", "write"])
}

/// Made, used, listed, revoked, refused; `config` puts sessions (and so keys) in a store.
async fn lifecycle(
    framework: Framework,
    provider: &MockProvider,
    config: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) {
    let app = TestApp::start_on(framework, provider, |c| config(keys_on(c))).await;
    let user = provider.user();
    let owner = Owner::sign_in(&app).await;

    let (_, short_lived) = owner.new_key(json!({"expires_in": 1})).await;
    let made = owner
        .create(json!({"name": "ci deploy", "expires_in": 3600, "scopes": ["read"]}))
        .await;
    assert_eq!(made.headers()["cache-control"], "no-store");
    let made: Value =
        serde_json::from_str(&assert_status(made, StatusCode::CREATED).await).expect("json");
    let id = made["id"].as_str().expect("id").to_owned();
    let key = made["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with(&format!("toidc_{id}_")), "{key}");
    assert_eq!(key.len(), 74);
    assert_eq!(made["name"], "ci deploy");
    assert_eq!(made["scopes"], json!(["read"]));

    // Used: as its owner, with its scope, and no token of the owner's to pass on.
    let me = with_key(&app, "/me", &key).await;
    let me: Value = serde_json::from_str(&assert_status(me, StatusCode::OK).await).expect("json");
    assert_eq!(me["user_id"], user.sub);
    assert_eq!(me["claims"]["scope"], "read");
    assert_eq!(me["claims"]["email"], json!(user.email));
    assert!(me["access_token"].is_null());
    let data = with_key(&app, "/api/data", &key).await;
    assert_status(data, StatusCode::OK).await;
    // Another secret under the key's id is refused, also after the real one was accepted.
    let forged = format!("toidc_{id}_{}", "A".repeat(43));
    let forged = with_key(&app, "/api/data", &forged).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let data = with_key(&app, "/api/data", &key).await;
    assert_status(data, StatusCode::OK).await;

    // Listed, with its use, never with its secret or digest.
    let listed = owner.list().await;
    let listed_text = listed.to_string();
    let entry = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|entry| entry["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(entry["name"], "ci deploy");
    assert_eq!(entry["prefix"], format!("toidc_{id}"));
    assert_eq!(entry["scopes"], json!(["read"]));
    assert!(entry["created"].is_u64() && entry["expires"].is_u64());
    assert!(entry["last_used"].is_u64(), "{entry}");
    // Everything after the id: the secret's own alphabet has `_` in it.
    let secret = key.strip_prefix(&format!("toidc_{id}_")).expect("secret");
    assert!(!listed_text.contains(secret), "{listed_text}");
    assert!(!listed_text.contains("hash"), "{listed_text}");

    // Revoked: refused at once, with a JSON body, and gone from the list.
    assert_eq!(owner.revoke(&id).await, StatusCode::NO_CONTENT);
    let refused = with_key(&app, "/api/data", &key).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .contains("invalid_token"));
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "invalid_token");
    assert!(!owner.list().await.to_string().contains(&id));
    assert_eq!(owner.revoke(&id).await, StatusCode::NOT_FOUND);

    // Expired: refused, and no longer listed.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = with_key(&app, "/api/data", &short_lived).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(owner.list().await["keys"], json!([]));
}

/// A user of its own, so tests sharing a database never see each other's keys.
fn own_user(provider: &MockProvider) {
    let sub = format!("user-{}", nonce());
    provider.set_user(MockUser::new(sub));
}

async fn a_key_is_made_used_listed_and_revoked_in_memory(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    lifecycle(framework, &provider, |c| c).await;
    let provider = MockProvider::start().await.expect("provider");
    lifecycle(framework, &provider, ConfigBuilder::memory_sessions).await;
}

async fn a_key_is_made_used_listed_and_revoked_in_redis(framework: Framework) {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    own_user(&provider);
    let store = RedisStore::new(&url).expect("url");
    lifecycle(framework, &provider, |c| c.session_store(store)).await;
}

fn redis_cluster_url() -> Option<String> {
    service_url("TOWER_OIDC_TEST_REDIS_CLUSTER_URL", "redis cluster")
}

async fn a_key_is_made_used_listed_and_revoked_in_redis_cluster(framework: Framework) {
    let Some(url) = redis_cluster_url() else {
        return;
    };
    let provider = MockProvider::start().await.expect("provider");
    own_user(&provider);
    let store = RedisStore::new(&url).expect("url");
    lifecycle(framework, &provider, |c| c.session_store(store)).await;
}

/// One user's keys live on many slots of a cluster: the cap, the listing, revocation and
/// revoking them all still see every one.
#[tokio::test]
async fn a_users_keys_on_many_cluster_slots_are_capped_listed_and_revoked() {
    let Some(url) = redis_cluster_url() else {
        return;
    };
    let provider = MockProvider::start().await.expect("provider");
    own_user(&provider);
    let user = provider.user().sub;
    let store = RedisStore::new(&url).expect("url");
    let app = TestApp::start_on(Framework::Axum, &provider, |c| {
        keys_on(c).session_store(store.clone()).api_keys_per_user(6)
    })
    .await;
    let owner = Owner::sign_in(&app).await;
    let mut keys = Vec::new();
    for _ in 0..6 {
        keys.push(owner.new_key(json!({"expires_in": 3600})).await);
    }
    assert_eq!(owner.create(json!({})).await.status(), StatusCode::CONFLICT);

    let hosts = url.strip_prefix("redis+cluster://").expect("cluster URL");
    let nodes: Vec<String> = hosts.split(',').map(|h| format!("redis://{h}")).collect();
    let client = ::redis::cluster::ClusterClient::new(nodes).expect("client");
    let mut raw = client.get_async_connection().await.expect("connect");
    let mut slots = HashSet::new();
    for (id, _) in &keys {
        let slot: u16 = ::redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(store.key(&format!("apikey:{id}")))
            .query_async(&mut raw)
            .await
            .expect("keyslot");
        slots.insert(slot);
    }
    assert!(slots.len() > 1, "keys spread over slots: {slots:?}");

    let listed = owner.list().await;
    assert_eq!(
        listed["keys"].as_array().expect("keys").len(),
        6,
        "{listed}"
    );
    let (first, first_key) = &keys[0];
    assert_eq!(owner.revoke(first).await, StatusCode::NO_CONTENT);
    assert_eq!(
        with_key(&app, "/api/data", first_key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(owner.revoke(first).await, StatusCode::NOT_FOUND);
    keys[0] = owner.new_key(json!({})).await;
    assert_eq!(
        owner.list().await["keys"].as_array().expect("keys").len(),
        6
    );

    app.layer.end_sessions_for(&user).await.expect("ended");
    for (_, key) in &keys {
        assert_eq!(
            with_key(&app, "/api/data", key).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let again = Owner::sign_in(&app).await;
    assert_eq!(again.list().await["keys"], json!([]));
}

/// A key is no provider token: a service taking only DPoP-bound tokens still takes keys,
/// and still refuses a plain bearer token.
#[tokio::test]
async fn keys_work_where_dpop_is_required() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(Framework::Axum, &provider, |c| {
        keys_on(c).dpop(tower_oidc::DpopMode::Required)
    })
    .await;
    let owner = Owner::sign_in(&app).await;
    let (_, key) = owner.new_key(json!({})).await;
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
    let token = provider.mint_access_token("alice", json!({}));
    assert_eq!(
        with_key(&app, "/api/data", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn a_key_is_made_used_listed_and_revoked_in_sqlite(framework: Framework) {
    let path = sqlite_path();
    let store = SqlStore::connect(&format!("sqlite:///{}", path.display()))
        .await
        .expect("sqlite");
    let provider = MockProvider::start().await.expect("provider");
    lifecycle(framework, &provider, |c| c.session_store(store)).await;
    remove_sqlite(&path);
}

async fn a_key_is_made_used_listed_and_revoked_in_postgres(framework: Framework) {
    let Some(url) = postgres_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    own_user(&provider);
    let store = SqlStore::connect(&url).await.expect("postgres");
    lifecycle(framework, &provider, |c| c.session_store(store)).await;
}

async fn a_key_cannot_make_or_list_keys(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, keys_on).await;
    let owner = Owner::sign_in(&app).await;
    let (id, key) = owner.new_key(json!({})).await;
    let client = reqwest::Client::new();
    let token = provider.mint_access_token("alice", json!({}));
    for credential in [key.as_str(), token.as_str()] {
        let list = client
            .get(app.at("/api-keys"))
            .bearer_auth(credential)
            .send()
            .await
            .expect("list");
        assert_eq!(list.status(), StatusCode::FORBIDDEN);
        let body: Value = list.json().await.expect("json");
        assert_eq!(body["error"], "session_required");
        let create = client
            .post(app.at("/api-keys"))
            .bearer_auth(credential)
            .header("origin", owner.origin())
            .json(&json!({}))
            .send()
            .await
            .expect("create");
        assert_eq!(create.status(), StatusCode::FORBIDDEN);
        let revoke = client
            .delete(app.at(&format!("/api-keys/{id}")))
            .bearer_auth(credential)
            .header("origin", owner.origin())
            .send()
            .await
            .expect("revoke");
        assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    }
    // Not even beside the owner's session cookie.
    let both = owner
        .browser
        .client
        .get(app.at("/api-keys"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list");
    assert_eq!(both.status(), StatusCode::FORBIDDEN);
    // Without a session at all.
    let anonymous = client.get(app.at("/api-keys")).send().await.expect("list");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(owner.list().await["keys"].as_array().map(Vec::len), Some(1));
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
}

async fn cross_site_requests_cannot_make_or_revoke_keys(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, keys_on).await;
    let owner = Owner::sign_in(&app).await;
    let (id, key) = owner.new_key(json!({})).await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = owner
            .browser
            .client
            .post(app.at("/api-keys"))
            .json(&json!({}));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("origin", "http://evil.example")][..],
        &[("origin", "null")][..],
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[][..],
        &[
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ][..],
    ] {
        let refused = post(headers).await.expect("post");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"], "cross_site_request");
    }
    let same_origin = post(&[("sec-fetch-site", "same-origin")])
        .await
        .expect("post");
    assert_eq!(same_origin.status(), StatusCode::CREATED);

    let delete = owner
        .browser
        .client
        .delete(app.at(&format!("/api-keys/{id}")))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("delete");
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
    assert_eq!(owner.list().await["keys"].as_array().map(Vec::len), Some(2));
}

async fn another_users_key_is_not_found(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, keys_on).await;
    let alice = Owner::sign_in(&app).await;
    let (id, key) = alice.new_key(json!({"name": "alice's"})).await;
    provider.set_user(MockUser::new("bob"));
    let bob = Owner::sign_in(&app).await;
    assert_eq!(bob.list().await["keys"], json!([]));
    assert_eq!(bob.revoke(&id).await, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.revoke("0123456789abcdef01234567").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(bob.revoke("not-an-id").await, StatusCode::NOT_FOUND);
    let me = with_key(&app, "/me", &key).await;
    let me: Value = serde_json::from_str(&assert_status(me, StatusCode::OK).await).expect("json");
    assert_eq!(me["user_id"], "alice");
}

async fn expired_keys_are_refused(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, keys_on).await;
    let owner = Owner::sign_in(&app).await;
    let (_, key) = owner.new_key(json!({"expires_in": 2})).await;
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let expired = with_key(&app, "/api/data", &key).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.expect("json");
    assert_eq!(body["error"], "invalid_token");
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("expired"));
    assert_eq!(owner.list().await["keys"], json!([]));
}

/// The hook's user, telling how the request authenticated; refuses keys once told to.
struct Directory(Arc<AtomicBool>);

impl UserDetails for Directory {
    type User = Value;
    type Error = String;

    async fn load_user(&self, identity: &Identity) -> Result<Option<Value>, String> {
        if identity.api_key_id().is_some() && self.0.load(Ordering::SeqCst) {
            return Ok(None);
        }
        Ok(Some(json!({
            "user_id": identity.user_id(),
            "api_key": identity.api_key_id(),
        })))
    }
}

async fn scopes_requirements_and_the_hook_apply_to_keys(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    // Keys need the `read` scope; browser sessions pass.
    let readers = Require::new().any_of([
        Require::new().scope("read"),
        Require::new().predicate("a browser session", |id| id.api_key_id().is_none()),
    ]);
    let refuse_keys = Arc::new(AtomicBool::new(false));
    let directory = Directory(Arc::clone(&refuse_keys));
    let app = TestApp::start_on(framework, &provider, |c| {
        keys_on(c).require(readers).user_details(directory)
    })
    .await;
    let owner = Owner::sign_in(&app).await;
    let (read_id, reader) = owner.new_key(json!({"scopes": ["read", "write"]})).await;
    let (_, writer) = owner.new_key(json!({"scopes": ["write"]})).await;
    let (_, bare) = owner.new_key(json!({})).await;

    let user = with_key(&app, "/user", &reader).await;
    let user: Value =
        serde_json::from_str(&assert_status(user, StatusCode::OK).await).expect("json");
    assert_eq!(user, json!({"user_id": "alice", "api_key": read_id}));
    for key in [&writer, &bare] {
        let denied = with_key(&app, "/api/data", key).await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    }
    // The route's own requirement holds too: alice is in no admin group.
    assert_eq!(
        with_key(&app, "/admin", &reader).await.status(),
        StatusCode::FORBIDDEN
    );
    // A scope neither offered to keys nor granted to the session.
    let refused = owner.create(json!({"scopes": ["admin"]})).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // The hook refuses: the key is refused as a session would be.
    refuse_keys.store(true, Ordering::SeqCst);
    let (_, refused) = owner.new_key(json!({"scopes": ["read"]})).await;
    let refused = with_key(&app, "/api/data", &refused).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "user_refused");
}

async fn a_key_revoked_on_one_instance_fails_at_once_on_another(framework: Framework) {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    let prefix = format!("tower_oidc_test:{}:", nonce());
    let store = || {
        RedisStore::new(&url)
            .expect("url")
            .with_prefix(prefix.clone())
    };
    let a = TestApp::start_on(framework, &provider, |c| keys_on(c).session_store(store())).await;
    let b = TestApp::start_on(framework, &provider, |c| keys_on(c).session_store(store())).await;
    let owner = Owner::sign_in(&a).await;
    let (id, key) = owner.new_key(json!({})).await;
    // Known on B, whose identity of the key is then built and kept.
    for _ in 0..3 {
        assert_status(with_key(&b, "/api/data", &key).await, StatusCode::OK).await;
    }
    assert_eq!(owner.revoke(&id).await, StatusCode::NO_CONTENT);
    assert_eq!(
        with_key(&b, "/api/data", &key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_key(&a, "/api/data", &key).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn ending_a_users_sessions_revokes_their_keys(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| keys_on(c).memory_sessions()).await;
    let owner = Owner::sign_in(&app).await;
    let (_, key) = owner.new_key(json!({})).await;
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
    assert_eq!(app.layer.end_sessions_for("alice").await.expect("ended"), 1);
    assert_eq!(
        with_key(&app, "/api/data", &key).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Unless configured otherwise.
    let app = TestApp::start_on(framework, &provider, |c| {
        keys_on(c)
            .memory_sessions()
            .api_keys_end_with_sessions(false)
    })
    .await;
    let owner = Owner::sign_in(&app).await;
    let (_, key) = owner.new_key(json!({})).await;
    app.layer.end_sessions_for("alice").await.expect("ended");
    assert_status(with_key(&app, "/api/data", &key).await, StatusCode::OK).await;
}

async fn requests_are_bounded(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |c| keys_on(c).api_keys_per_user(2)).await;
    let owner = Owner::sign_in(&app).await;
    for bad in [
        json!({"name": "x", "admin": true}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "tab\there"}),
        json!({"expires_in": 0}),
        json!({"expires_in": -1}),
        json!({"expires_in": 400_000_000}),
        json!({"scopes": ["read write"]}),
        json!({"scopes": "read"}),
        json!([]),
    ] {
        let refused = owner.create(bad.clone()).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"], "invalid_request", "{bad}");
    }
    let huge = owner
        .browser
        .client
        .post(app.at("/api-keys"))
        .header("origin", owner.origin())
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(5000)))
        .send()
        .await
        .expect("post");
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // No body at all is a key with every default.
    let empty = owner
        .browser
        .client
        .post(app.at("/api-keys"))
        .header("origin", owner.origin())
        .send()
        .await
        .expect("post");
    assert_eq!(empty.status(), StatusCode::CREATED);
    let (id, _) = owner.new_key(json!({"name": "second"})).await;
    let third = owner.create(json!({"name": "third"})).await;
    assert_eq!(third.status(), StatusCode::CONFLICT);
    assert_eq!(owner.revoke(&id).await, StatusCode::NO_CONTENT);
    owner.new_key(json!({"name": "third"})).await;

    // Other methods, and a malformed key.
    let put = owner
        .browser
        .client
        .put(app.at("/api-keys"))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    let malformed = with_key(&app, "/api/data", "toidc_nothing").await;
    assert_eq!(malformed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_are_off_unless_switched_on() {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start(&provider).await;
    let owner = Owner::sign_in(&app).await;
    // The route is the application's, which has none.
    let create = owner.create(json!({})).await;
    assert_eq!(create.status(), StatusCode::NOT_FOUND);
    let key = "toidc_0123456789abcdef01234567_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        with_key(&app, "/api/data", key).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_environment_switches_keys_on_and_keeps_them_in_the_session_redis() {
    let Some(url) = redis_url() else { return };
    let provider = MockProvider::start().await.expect("provider");
    own_user(&provider);
    let issuer = provider.issuer();
    let vars = [
        ("OIDC_ISSUER", issuer.as_str()),
        ("OIDC_CLIENT_ID", provider.client_id()),
        ("OIDC_CLIENT_SECRET", provider.client_secret()),
        ("OIDC_SECRET_KEY", "integration-test-key-0123456789abcdef"),
        ("OIDC_COOKIE_SECURE", "false"),
        ("OIDC_SESSION_STORE", url.as_str()),
        ("OIDC_API_KEYS", "true"),
        ("OIDC_API_KEYS_PATH", "/keys"),
    ];
    let config = tower_oidc::Config::from_lookup(|name| {
        vars.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .expect("config");
    let app = TestApp::serve(config).await;
    let owner = Owner::sign_in(&app).await;
    let made = owner
        .browser
        .client
        .post(app.at("/keys"))
        .header("origin", owner.origin())
        .json(&json!({"name": "from env"}))
        .send()
        .await
        .expect("post");
    let made: Value =
        serde_json::from_str(&assert_status(made, StatusCode::CREATED).await).expect("json");
    let id = made["id"].as_str().expect("id");
    let redis = RedisStore::new(&url).expect("url");
    let stored = tower_oidc::store::ApiKeyStore::load(&redis, id)
        .await
        .expect("redis")
        .expect("the key is in the session store's Redis");
    assert_eq!(stored.user_id(), provider.user().sub);
}
