//! The HTTP client's transport: a configured proxy carries the calls to the provider, and a
//! client the application built is the one used. A stub proxy on loopback records the
//! request lines it gets and answers 502; the provider's host never resolves.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower_oidc::{Config, OidcLayer};

const KEY: &str = "transport-test-cookie-key-0123456789abcdef";
const ISSUER: &str = "http://op.invalid";

/// A proxy that records each request line and answers `502`.
async fn stub_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                if let Some(line) = text.lines().next() {
                    record.lock().unwrap().push(line.to_owned());
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, seen)
}

fn discovery_went_through(seen: &Mutex<Vec<String>>) -> bool {
    seen.lock()
        .unwrap()
        .iter()
        .any(|line| line == &format!("GET {ISSUER}/.well-known/openid-configuration HTTP/1.1"))
}

#[tokio::test]
async fn oidc_http_proxy_carries_the_calls_to_the_provider() {
    let (proxy, seen) = stub_proxy().await;
    let vars = [
        ("OIDC_ISSUER", ISSUER.to_owned()),
        ("OIDC_CLIENT_ID", "app".to_owned()),
        ("OIDC_SECRET_KEY", KEY.to_owned()),
        ("OIDC_HTTP_PROXY", proxy),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })
    .expect("config");
    let layer = OidcLayer::new(config);
    assert!(layer.ready(Duration::from_secs(2)).await.is_err());
    assert!(discovery_went_through(&seen), "{:?}", seen.lock().unwrap());
}

#[tokio::test]
async fn a_caller_built_client_is_the_one_used() {
    let (proxy, seen) = stub_proxy().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .proxy(reqwest::Proxy::all(&proxy).expect("proxy"))
        .build()
        .expect("client");
    let config = Config::builder()
        .issuer(ISSUER)
        .client_id("app")
        .secret_key(KEY)
        .http_client(client)
        .build()
        .expect("config");
    let layer = OidcLayer::new(config);
    assert!(layer.ready(Duration::from_secs(2)).await.is_err());
    assert!(discovery_went_through(&seen), "{:?}", seen.lock().unwrap());
}
