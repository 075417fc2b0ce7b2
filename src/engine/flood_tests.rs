//! A flood of strangers and forgeries leaves no state behind and never a 5xx.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method};

use super::{Decision, Engine};
use crate::config::Config;
use crate::outcome::Outcome;
use crate::request::RequestView;
use crate::testing::MockProvider;

async fn answer(engine: &Arc<Engine>, method: &Method, path: &str, headers: &HeaderMap) -> u16 {
    let (path, query) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let view = RequestView {
        method,
        path,
        query,
        headers,
        scheme: None,
    };
    match engine.decide(&view) {
        Decision::Continue(_) => 200,
        Decision::Respond(response) => response.status().as_u16(),
        Decision::Defer(pending) => match Arc::clone(engine).run(pending).await {
            Outcome::Respond(response) => response.status().as_u16(),
            Outcome::Continue(_) => 200,
        },
        Decision::ReadBody { .. } => 0,
    }
}

#[tokio::test]
async fn strangers_leave_no_state() {
    let provider = MockProvider::start().await.expect("provider");
    let config = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key("flood-test-key-0123456789abcdef-0123")
        .whitelist(["health"])
        .build()
        .expect("config");
    let engine = Engine::new(config);
    let get = Method::GET;
    let good = provider.mint_access_token("svc", serde_json::json!({}));
    let forged_signature = format!("{}x", &good[..good.len() - 1]);
    for i in 0..2_000 {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("app.test"));
        let (path, cookie, authorization) = match i % 6 {
            0 => ("/api/data", format!("tower_oidc.0=forged{i}"), None),
            1 => (
                "/api/data",
                String::new(),
                Some(format!("Bearer garbage.{i}.x")),
            ),
            2 => (
                "/api/data",
                String::new(),
                Some(format!("Bearer {forged_signature}")),
            ),
            3 => (
                "/auth?state=s{i}&code=c",
                format!("tower_oidc_login_{i:010x}_s{i}=x"),
                None,
            ),
            4 => ("/login", format!("tower_oidc.0={}", "A".repeat(3000)), None),
            _ => ("/health", format!("tower_oidc.{}={i}", i % 10), None),
        };
        let path = path.replace("{i}", &i.to_string());
        if !cookie.is_empty() {
            headers.insert("cookie", HeaderValue::from_str(&cookie).expect("cookie"));
        }
        if let Some(authorization) = authorization {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&authorization).expect("auth"),
            );
        }
        let status = answer(&engine, &get, &path, &headers).await;
        assert!(status < 500 || status == 503, "{path} answered {status}");
    }
    assert_eq!(
        engine.context().cache.len(),
        0,
        "no decoded session for strangers"
    );
    assert_eq!(
        engine.context().bearer_cache.len(),
        0,
        "only verified tokens are cached"
    );
    assert_eq!(
        engine.context().used_states.len(),
        0,
        "states are recorded only for real pending logins"
    );
}
