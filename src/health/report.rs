//! The health report: the provider's discovery and keys, the session store, and the
//! layer's readiness, as JSON. Times, counts and error kinds only: no URL, message,
//! secret or token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use crate::config::{ProviderSource, SessionBackend};
use crate::context::Context;
use crate::provider::status::{Document, Fetches};
use crate::response::CoreResponse;
use crate::session::store::StoreError;

/// How long the report waits for discovery (when the provider is not known yet) and for
/// the store's ping: a health check must answer even when both hang.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The part that fails while the provider's metadata is not loaded.
const DISCOVERY: &str = "provider.discovery";

/// `200` when every part works, else `503`; the body names the failing parts. With
/// several providers, each is reported under `providers`; some of them failing is
/// `degraded` (still `200`: the others sign users in, and every session keeps working),
/// all of them failing is `unavailable`.
pub(crate) async fn answer(ctx: &Context) -> CoreResponse {
    let mut failing: Vec<String> = Vec::new();
    let mut degraded = false;
    let mut providers = serde_json::Map::new();
    let provider = if ctx.config.development.is_some() {
        json!("disabled")
    } else if ctx.has_several_providers() {
        let mut working = 0;
        for slot in &ctx.providers {
            let mut own = Vec::new();
            let mut report = provider(&slot.provider, &slot.config, &mut own).await;
            let name = slot.config.provider_key.clone().unwrap_or_default();
            report["ready"] = json!(!own.contains(&DISCOVERY));
            if own.is_empty() {
                working += 1;
            }
            failing.extend(
                own.iter()
                    .map(|part| format!("providers.{name}.{}", &part["provider.".len()..])),
            );
            providers.insert(name, report);
        }
        degraded = working > 0;
        if working == 0 {
            failing.push(DISCOVERY.to_owned());
        }
        provider(&ctx.provider, &ctx.config, &mut Vec::new()).await
    } else {
        let mut own = Vec::new();
        let report = provider(&ctx.provider, &ctx.config, &mut own).await;
        failing.extend(own.into_iter().map(str::to_owned));
        report
    };
    let mut store_failing = Vec::new();
    let store = store(ctx, &mut store_failing).await;
    failing.extend(store_failing.into_iter().map(str::to_owned));
    let store_ok = !failing.iter().any(|part| part == "store");
    let all_ok = failing.is_empty();
    let healthy = all_ok || (degraded && store_ok);
    let ready = if ctx.has_several_providers() {
        providers
            .values()
            .any(|report| report["ready"] == json!(true))
    } else {
        !failing.iter().any(|part| part == DISCOVERY)
    };
    let status_text = match (all_ok, healthy) {
        (true, _) => "ok",
        (false, true) => "degraded",
        (false, false) => "unavailable",
    };
    let mut body = json!({
        "status": status_text,
        // What `ready()` waits for: the metadata, whatever the keys.
        "ready": ready,
        "auth": if ctx.config.development.is_some() { "disabled" } else { "enabled" },
        "failing": failing,
        "provider": provider,
        "store": store,
    });
    if !providers.is_empty() {
        body["providers"] = Value::Object(providers);
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Discovery (attempted now when the metadata is missing and no failure is recent, as
/// `ready()` does) and the key set.
async fn provider(
    provider: &crate::provider::Provider,
    config: &crate::config::Config,
    failing: &mut Vec<&'static str>,
) -> Value {
    let loaded = matches!(
        tokio::time::timeout(CHECK_TIMEOUT, provider.metadata()).await,
        Ok(Ok(_))
    );
    if !loaded {
        failing.push(DISCOVERY);
    }
    let key_count = provider.keys().keys.len();
    if key_count == 0 {
        failing.push("provider.keys");
    }
    let source = match config.provider {
        ProviderSource::Discovery { .. } => "discovery",
        ProviderSource::Manual(_) => "manual",
    };
    let mut discovery = fetches(provider.status.fetches(Document::Discovery));
    discovery["loaded"] = json!(loaded);
    discovery["source"] = json!(source);
    let mut keys = fetches(provider.status.fetches(Document::Jwks));
    keys["count"] = json!(key_count);
    json!({ "discovery": discovery, "keys": keys })
}

fn fetches(fetches: Fetches) -> Value {
    json!({
        "last_success": fetches.last_success.map(unix_seconds),
        "last_failure": fetches.last_failure.map(unix_seconds),
        "last_error": fetches.last_error,
    })
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Cookie sessions need no store; a server-side store is pinged.
async fn store(ctx: &Context, failing: &mut Vec<&'static str>) -> Value {
    let SessionBackend::Store(store) = &ctx.config.session else {
        return json!({ "backend": "cookie", "reachable": true, "error": null });
    };
    let error = match tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await {
        Ok(Ok(())) | Ok(Err(StoreError::Unsupported)) => None,
        Ok(Err(StoreError::Unavailable { .. })) => Some("unavailable"),
        Ok(Err(StoreError::Corrupt { .. })) => Some("corrupt"),
        Ok(Err(_)) => Some("other"),
        Err(_) => Some("timeout"),
    };
    if error.is_some() {
        failing.push("store");
    }
    json!({ "backend": "server", "reachable": error.is_none(), "error": error })
}
