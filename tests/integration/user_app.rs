//! An app written the way the crate's users write theirs, tested with the public testing
//! API only: a notes service with its own handlers and a user-detail hook, signed in, not
//! signed in and called with bearer tokens, on axum and on actix-web.

use std::time::Duration;

use actix_web::App;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tower_oidc::actix::OidcMiddleware;
use tower_oidc::testing::{MockProvider, MockUser, SignInStep, TestClient, TestClientError};
use tower_oidc::{Config, Identity, OidcLayer, UserDetails};

/// The app's own record of a member, made by the hook from the sign-in's claims.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Member {
    id: String,
    display_name: String,
    admin: bool,
}

/// The user-detail hook: members are made from claims; a `banned` claim keeps one out.
struct Members;

impl UserDetails for Members {
    type User = Member;
    type Error = String;

    async fn load_user(&self, identity: &Identity) -> Result<Option<Member>, String> {
        if identity.claim("banned") == Some(&Value::Bool(true)) {
            return Ok(None);
        }
        let groups = identity.claim("groups").and_then(Value::as_array);
        Ok(Some(Member {
            id: identity.user_id().to_owned(),
            display_name: identity
                .claim("name")
                .and_then(Value::as_str)
                .unwrap_or(identity.user_id())
                .to_owned(),
            admin: groups.is_some_and(|groups| groups.contains(&json!("admins"))),
        }))
    }
}

/// What the handlers answer, shared by both frameworks.
mod pages {
    use serde_json::{json, Value};
    use tower_oidc::Identity;

    use super::Member;

    pub fn welcome(member: &Member) -> String {
        format!("welcome {}", member.display_name)
    }

    pub fn whoami(identity: &Identity) -> Value {
        json!({ "sub": identity.user_id(), "bearer": identity.is_bearer() })
    }

    pub fn note(identity: &Identity, note: &Value) -> Value {
        json!({ "author": identity.user_id(), "text": note["text"] })
    }
}

mod axum_app {
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::Value;
    use tower_oidc::{Identity, User};

    use super::{pages, Member};

    pub fn routes() -> Router {
        Router::new()
            .route(
                "/",
                get(|User(member): User<Member>| async move { pages::welcome(&member) }),
            )
            .route(
                "/api/profile",
                get(|User(member): User<Member>| async move { Json((*member).clone()) }),
            )
            .route(
                "/api/whoami",
                get(|identity: Identity| async move { Json(pages::whoami(&identity)) }),
            )
            .route(
                "/api/notes",
                axum::routing::post(|identity: Identity, Json(note): Json<Value>| async move {
                    (StatusCode::CREATED, Json(pages::note(&identity, &note)))
                }),
            )
            .route(
                "/admin",
                get(|User(member): User<Member>| async move {
                    if member.admin {
                        (StatusCode::OK, "admin panel")
                    } else {
                        (StatusCode::FORBIDDEN, "admins only")
                    }
                }),
            )
            .route("/health", get(|| async { "ok" }))
    }
}

mod actix_app {
    use actix_web::{web, HttpResponse};
    use serde_json::Value;
    use tower_oidc::{Identity, User};

    use super::{pages, Member};

    pub fn routes(config: &mut web::ServiceConfig) {
        config
            .route(
                "/",
                web::get().to(|User(member): User<Member>| async move { pages::welcome(&member) }),
            )
            .route(
                "/api/profile",
                web::get().to(|User(member): User<Member>| async move {
                    HttpResponse::Ok().json(&*member)
                }),
            )
            .route(
                "/api/whoami",
                web::get().to(|identity: Identity| async move {
                    HttpResponse::Ok().json(pages::whoami(&identity))
                }),
            )
            .route(
                "/api/notes",
                web::post().to(|identity: Identity, note: web::Json<Value>| async move {
                    HttpResponse::Created().json(pages::note(&identity, &note))
                }),
            )
            .route(
                "/admin",
                web::get().to(|User(member): User<Member>| async move {
                    if member.admin {
                        HttpResponse::Ok().body("admin panel")
                    } else {
                        HttpResponse::Forbidden().body("admins only")
                    }
                }),
            )
            .route("/health", web::get().to(|| async { "ok" }));
    }
}

#[derive(Clone, Copy)]
enum Framework {
    Axum,
    Actix,
}

/// The notes app configured for a mock provider, as its tests set it up.
struct NotesApp {
    provider: MockProvider,
    layer: OidcLayer,
    framework: Framework,
}

impl NotesApp {
    async fn start(framework: Framework) -> Self {
        let provider = MockProvider::start().await.expect("mock provider");
        let config = Config::builder()
            .issuer(provider.issuer())
            .client_id(provider.client_id())
            .client_secret(provider.client_secret())
            .generate_secret_key()
            .whitelist(["health"])
            .audiences([provider.client_id(), "notes-api"])
            .user_details(Members)
            .build()
            .expect("config");
        NotesApp {
            provider,
            layer: OidcLayer::new(config),
            framework,
        }
    }

    /// A client with no session.
    async fn client(&self) -> TestClient {
        match self.framework {
            Framework::Axum => TestClient::new(axum_app::routes().layer(self.layer.clone())),
            Framework::Actix => {
                let oidc = OidcMiddleware::from(&self.layer);
                let app = App::new().wrap(oidc).configure(actix_app::routes);
                TestClient::actix(actix_web::test::init_service(app).await)
            }
        }
    }

    /// A client signed in as `user`.
    async fn signed_in(&self, user: MockUser) -> TestClient {
        let client = self.client().await;
        client
            .sign_in_as(&self.provider, user)
            .await
            .expect("signed in");
        client
    }
}

both!(
    actix_runtime:
    signed_in_members_get_their_pages,
    visitors_without_a_session_are_turned_away,
    services_call_with_bearer_tokens,
    a_member_the_hook_refuses_gets_no_session,
    the_session_cookie_works_on_requests_made_elsewhere,
);

async fn signed_in_members_get_their_pages(framework: Framework) {
    let app = NotesApp::start(framework).await;
    let mut bob = MockUser::new("bob");
    bob.name = Some("Bob Builder".into());
    let bob = app.signed_in(bob).await;

    let home = bob.get("/").await.expect("home");
    assert_eq!(
        (home.status(), home.text()),
        (StatusCode::OK, "welcome Bob Builder".to_owned())
    );
    let profile = bob.get("/api/profile").await.expect("profile");
    assert_eq!(
        profile.json::<Member>().expect("member"),
        Member {
            id: "bob".into(),
            display_name: "Bob Builder".into(),
            admin: false
        }
    );
    let whoami: Value = bob
        .get("/api/whoami")
        .await
        .expect("whoami")
        .json()
        .expect("json");
    assert_eq!(whoami, json!({ "sub": "bob", "bearer": false }));
    let note = bob
        .post("/api/notes")
        .json(&json!({ "text": "buy nails" }))
        .await
        .expect("note");
    assert_eq!(note.status(), StatusCode::CREATED);
    assert_eq!(
        note.json::<Value>().expect("json"),
        json!({ "author": "bob", "text": "buy nails" })
    );
    assert_eq!(
        bob.get("/admin").await.expect("admin").status(),
        StatusCode::FORBIDDEN
    );

    let root = app
        .signed_in(MockUser::new("root").claim("groups", json!(["admins"])))
        .await;
    let admin = root.get("/admin").await.expect("admin");
    assert_eq!(
        (admin.status(), admin.text()),
        (StatusCode::OK, "admin panel".to_owned())
    );
    // Each client kept its own session on the one provider.
    let whoami: Value = bob
        .get("/api/whoami")
        .await
        .expect("whoami")
        .json()
        .expect("json");
    assert_eq!(whoami["sub"], "bob");
}

async fn visitors_without_a_session_are_turned_away(framework: Framework) {
    let app = NotesApp::start(framework).await;
    let visitor = app.client().await;

    let api = visitor.get("/api/profile").await.expect("profile");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(api
        .header("www-authenticate")
        .is_some_and(|challenge| challenge.starts_with("Bearer")));
    let post = visitor
        .post("/api/notes")
        .json(&json!({ "text": "spam" }))
        .await
        .expect("note");
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(visitor.cookie_header(), None, "API calls start no login");

    let page = visitor
        .get("/")
        .header("accept", "text/html")
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::FOUND);
    let to = page.location().expect("location");
    assert!(
        to.starts_with(&format!("{}/authorize?", app.provider.issuer())),
        "{to}"
    );

    let health = visitor.get("/health").await.expect("health");
    assert_eq!(
        (health.status(), health.text()),
        (StatusCode::OK, "ok".to_owned())
    );
}

async fn services_call_with_bearer_tokens(framework: Framework) {
    let app = NotesApp::start(framework).await;
    let client = app.client().await;
    let provider = &app.provider;

    let token = provider.access_token().subject("svc-import").mint();
    let whoami = client
        .get("/api/whoami")
        .bearer(&token)
        .await
        .expect("whoami");
    assert_eq!(
        whoami.json::<Value>().expect("json"),
        json!({ "sub": "svc-import", "bearer": true })
    );
    let profile = client
        .get("/api/profile")
        .bearer(&token)
        .await
        .expect("profile");
    assert_eq!(
        profile.json::<Member>().expect("member").display_name,
        "svc-import"
    );
    let note = client
        .post("/api/notes")
        .bearer(&token)
        .json(&json!({ "text": "imported" }))
        .await
        .expect("note");
    assert_eq!(note.status(), StatusCode::CREATED);

    let for_notes_api = provider
        .access_token()
        .subject("svc-batch")
        .audiences(["notes-api", "search-api"])
        .claim("groups", json!(["admins"]))
        .expires_in(Duration::from_secs(120))
        .mint();
    let admin = client
        .get("/admin")
        .bearer(&for_notes_api)
        .await
        .expect("admin");
    assert_eq!(admin.status(), StatusCode::OK);
    let legacy = provider.mint_access_token("svc-legacy", json!({ "aud": "notes-api" }));
    let whoami = client
        .get("/api/whoami")
        .bearer(&legacy)
        .await
        .expect("whoami");
    assert_eq!(whoami.json::<Value>().expect("json")["sub"], "svc-legacy");

    for (case, refused, status) in [
        (
            "expired",
            provider.access_token().expired().mint(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "other audience",
            provider.access_token().audience("billing-api").mint(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no exp",
            provider.access_token().without_claim("exp").mint(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "refused by the hook",
            provider.access_token().claim("banned", true).mint(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let answer = client
            .get("/api/whoami")
            .bearer(&refused)
            .await
            .expect(case);
        assert_eq!(answer.status(), status, "{case}: {}", answer.text());
    }
    assert_eq!(
        client.cookie_header(),
        None,
        "bearer calls leave no cookies"
    );
}

async fn a_member_the_hook_refuses_gets_no_session(framework: Framework) {
    let app = NotesApp::start(framework).await;
    let client = app.client().await;
    let refused = client
        .sign_in_as(
            &app.provider,
            MockUser::new("mallory").claim("banned", true),
        )
        .await;
    match refused {
        Err(TestClientError::SignIn { step, status, .. }) => {
            assert_eq!(
                (step, status),
                (SignInStep::Callback, StatusCode::FORBIDDEN)
            );
        }
        other => panic!("mallory signed in: {other:?}"),
    }
    let api = client.get("/api/profile").await.expect("profile");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // The same client can still sign in as someone the hook accepts.
    client
        .sign_in_as(&app.provider, MockUser::new("trent"))
        .await
        .expect("trent signs in");
    let whoami = client.get("/api/whoami").await.expect("whoami");
    assert_eq!(whoami.json::<Value>().expect("json")["sub"], "trent");
}

async fn the_session_cookie_works_on_requests_made_elsewhere(framework: Framework) {
    let app = NotesApp::start(framework).await;
    let client = app.signed_in(MockUser::new("peggy")).await;
    let cookie = client.cookie_header().expect("session cookie");

    let (status, body) = match framework {
        Framework::Axum => {
            use tower::ServiceExt;
            let request = http::Request::get("/api/whoami")
                .header("host", "localhost")
                .header("cookie", &cookie)
                .body(::axum::body::Body::empty())
                .expect("request");
            let response = axum_app::routes()
                .layer(app.layer.clone())
                .oneshot(request)
                .await
                .expect("answer");
            let status = response.status().as_u16();
            let body = ::axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .expect("body");
            (status, body)
        }
        Framework::Actix => {
            let oidc = OidcMiddleware::from(&app.layer);
            let service =
                actix_web::test::init_service(App::new().wrap(oidc).configure(actix_app::routes))
                    .await;
            let request = actix_web::test::TestRequest::get()
                .uri("/api/whoami")
                .insert_header(("cookie", cookie.as_str()))
                .to_request();
            let response = actix_web::test::call_service(&service, request).await;
            let status = response.status().as_u16();
            (status, actix_web::test::read_body(response).await)
        }
    };
    assert_eq!(status, 200);
    let whoami: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(whoami["sub"], "peggy");
}
