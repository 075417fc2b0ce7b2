//! The dispatcher with DPoP credentials: each check of a request refusing alone, and the
//! modes.

use std::sync::Arc;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use super::client_key::ClientKey;
use super::{DpopMode, DPOP, DPOP_NONCE};
use crate::config::Config;
use crate::engine::{Decision, Engine};
use crate::outcome::Outcome;
use crate::request::RequestView;
use crate::testing::MockProvider;
use crate::Require;

const API: &str = "http://api.test/orders";

/// The status, `WWW-Authenticate` and `DPoP-Nonce` of the answer; `200` when the request
/// went on to the application.
struct Answer {
    status: u16,
    challenge: String,
    nonce: Option<String>,
}

async fn answer(engine: &Arc<Engine>, method: &Method, headers: &HeaderMap) -> Answer {
    let view = RequestView {
        method,
        path: "/orders",
        query: Some("page=2"),
        headers,
        scheme: None,
    };
    let outcome = match engine.decide(&view) {
        Decision::Continue(_) => return ok(),
        Decision::Respond(response) => Outcome::Respond(response),
        Decision::Defer(pending) => Arc::clone(engine).run(pending).await,
        Decision::ReadBody { .. } => panic!("no body expected"),
    };
    match outcome {
        Outcome::Continue(_) => ok(),
        Outcome::Respond(response) => Answer {
            status: response.status().as_u16(),
            challenge: response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            nonce: response
                .headers()
                .get(DPOP_NONCE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        },
    }
}

fn ok() -> Answer {
    Answer {
        status: 200,
        challenge: String::new(),
        nonce: None,
    }
}

struct Api {
    provider: MockProvider,
    engine: Arc<Engine>,
    key: ClientKey,
    /// A token bound to `key`.
    token: String,
}

async fn api(configure: impl FnOnce(crate::ConfigBuilder) -> crate::ConfigBuilder) -> Api {
    let provider = MockProvider::start().await.expect("provider");
    let builder = Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .secret_key("dpop-engine-test-key-0123456789abcdef")
        .bearer_only(true);
    let engine = Engine::new(configure(builder).build().expect("config"));
    let key = ClientKey::generate().expect("key");
    let token = provider.mint_access_token("alice", json!({"cnf": {"jkt": key.jkt()}}));
    Api {
        provider,
        engine,
        key,
        token,
    }
}

fn headers(authorization: &str, proofs: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("api.test"));
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(authorization).expect("header"),
    );
    for proof in proofs {
        headers.append(DPOP, HeaderValue::from_str(proof).expect("proof"));
    }
    headers
}

impl Api {
    fn proof(&self, method: &str, url: &str) -> String {
        self.key
            .proof(method, url, Some(&self.token), None)
            .expect("proof")
    }

    async fn send(&self, proofs: &[&str]) -> Answer {
        let authorization = format!("DPoP {}", self.token);
        answer(&self.engine, &Method::GET, &headers(&authorization, proofs)).await
    }
}

#[tokio::test]
async fn a_bound_token_with_its_proof_passes_and_each_proof_once() {
    let api = api(|b| b.dpop(DpopMode::Optional)).await;
    let proof = api.proof("GET", API);
    assert_eq!(api.send(&[&proof]).await.status, 200);
    // Verified and cached now: the next request's proof alone is checked.
    assert_eq!(api.send(&[&api.proof("GET", API)]).await.status, 200);
    let replayed = api.send(&[&proof]).await;
    assert_eq!(replayed.status, 401);
    assert!(
        replayed.challenge.contains("invalid_dpop_proof"),
        "{}",
        replayed.challenge
    );
}

#[tokio::test]
async fn the_proof_must_name_this_request() {
    let api = api(|b| b.dpop(DpopMode::Optional)).await;
    for proof in [
        api.proof("POST", API),
        api.proof("GET", "http://other.test/orders"),
        api.proof("GET", "http://api.test/payments"),
    ] {
        let refused = api.send(&[&proof]).await;
        assert_eq!(refused.status, 401);
        assert!(refused
            .challenge
            .starts_with("DPoP error=\"invalid_dpop_proof\", algs=\"ES256"));
    }
    let other_token = api
        .key
        .proof("GET", API, Some("another token"), None)
        .expect("proof");
    assert!(api
        .send(&[&other_token])
        .await
        .challenge
        .contains("invalid_dpop_proof"));
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let api = api(|b| b.dpop(DpopMode::Optional)).await;
    let (one, two) = (api.proof("GET", API), api.proof("GET", API));
    let refused = api.send(&[&one, &two]).await;
    assert_eq!(refused.status, 401);
    assert!(refused.challenge.contains("invalid_dpop_proof"));
    assert_eq!(api.send(&[]).await.status, 401, "no proof at all");
}

#[tokio::test]
async fn the_token_must_be_bound_to_the_proofs_key() {
    let api = api(|b| b.dpop(DpopMode::Optional)).await;
    let stranger = ClientKey::generate().expect("key");
    let proof = stranger
        .proof("GET", API, Some(&api.token), None)
        .expect("proof");
    let refused = api.send(&[&proof]).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.challenge.contains("invalid_token"),
        "{}",
        refused.challenge
    );
    // Once the token is cached, a stranger's proof still fails.
    assert_eq!(api.send(&[&api.proof("GET", API)]).await.status, 200);
    let proof = stranger
        .proof("GET", API, Some(&api.token), None)
        .expect("proof");
    assert!(api
        .send(&[&proof])
        .await
        .challenge
        .contains("invalid_token"));

    let unbound = api.provider.mint_access_token("bob", json!({}));
    let proof = api
        .key
        .proof("GET", API, Some(&unbound), None)
        .expect("proof");
    let refused = answer(
        &api.engine,
        &Method::GET,
        &headers(&format!("DPoP {unbound}"), &[&proof]),
    )
    .await;
    assert!(
        refused.challenge.contains("invalid_token"),
        "an unbound token is no DPoP token"
    );
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_in_every_mode() {
    for mode in [DpopMode::Off, DpopMode::Optional, DpopMode::Required] {
        let api = api(|b| b.dpop(mode)).await;
        let bearer = headers(&format!("Bearer {}", api.token), &[]);
        let refused = answer(&api.engine, &Method::GET, &bearer).await;
        assert_eq!(refused.status, 401, "{mode}");
        if mode != DpopMode::Off {
            // Known to the cache now: refused all the same.
            assert_eq!(api.send(&[&api.proof("GET", API)]).await.status, 200);
            assert_eq!(answer(&api.engine, &Method::GET, &bearer).await.status, 401);
        }
    }
}

#[tokio::test]
async fn the_modes() {
    let off = api(|b| b).await;
    let plain = off.provider.mint_access_token("bob", json!({}));
    let bearer = headers(&format!("Bearer {plain}"), &[]);
    assert_eq!(answer(&off.engine, &Method::GET, &bearer).await.status, 200);
    let dpop = off.send(&[&off.proof("GET", API)]).await;
    assert_eq!(dpop.status, 401, "off: DPoP is not taken as a credential");
    assert!(!dpop.challenge.contains("DPoP"));

    let optional = api(|b| b.dpop(DpopMode::Optional)).await;
    let plain = optional.provider.mint_access_token("bob", json!({}));
    let bearer = headers(&format!("Bearer {plain}"), &[]);
    assert_eq!(
        answer(&optional.engine, &Method::GET, &bearer).await.status,
        200
    );

    let required = api(|b| b.dpop(DpopMode::Required)).await;
    let plain = required.provider.mint_access_token("bob", json!({}));
    let bearer = headers(&format!("Bearer {plain}"), &[]);
    let refused = answer(&required.engine, &Method::GET, &bearer).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.challenge.starts_with("DPoP algs=\"ES256"),
        "{}",
        refused.challenge
    );
    assert_eq!(
        required.send(&[&required.proof("GET", API)]).await.status,
        200
    );
}

#[tokio::test]
async fn a_route_can_require_dpop() {
    let api = api(|b| b.dpop(DpopMode::Optional).require(Require::new().dpop())).await;
    let plain = api.provider.mint_access_token("bob", json!({}));
    let refused = answer(
        &api.engine,
        &Method::GET,
        &headers(&format!("Bearer {plain}"), &[]),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.challenge.starts_with("DPoP algs="),
        "{}",
        refused.challenge
    );
    assert_eq!(api.send(&[&api.proof("GET", API)]).await.status, 200);
}

#[tokio::test]
async fn nonces_when_switched_on() {
    let api = api(|b| b.dpop(DpopMode::Required).dpop_nonces(true)).await;
    let first = api.send(&[&api.proof("GET", API)]).await;
    assert_eq!(first.status, 401);
    assert!(
        first.challenge.contains("use_dpop_nonce"),
        "{}",
        first.challenge
    );
    let nonce = first.nonce.expect("DPoP-Nonce");
    let proof = api
        .key
        .proof("GET", API, Some(&api.token), Some(&nonce))
        .expect("proof");
    assert_eq!(api.send(&[&proof]).await.status, 200);
}
