//! Aggregated and distributed claims (OpenID Connect Core 1.0, section 5.6.2): claims the
//! ID token or userinfo only point to, in `_claim_names` and `_claim_sources`.
//!
//! An aggregated source carries a JWT; a distributed one names an endpoint (and usually an
//! access token for it) that answers with a JWT. Either JWT must be signed with the
//! issuer's keys; its claims named in `_claim_names` are then added to the user's claims.
//!
//! Resolution is off by default (`resolve_claim_sources`): it makes the relying party
//! fetch URLs named inside a token, which a deployment should choose knowingly. The limits
//! keep it from holding a login up: [`MAX_SOURCES`] sources, [`SOURCE_TIMEOUT`] each and
//! [`TOTAL_TIMEOUT`] in all, [`MAX_SOURCE_BYTES`] per answer, https (or loopback)
//! endpoints only, no redirects. A source that fails is skipped (and logged): its claims
//! are missing, never unverified. The session's own access token is never sent to a
//! claims endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::Url;

use super::id_token::is_loopback;
use super::jwt::{self, Rules};
use super::protocol_claims::PROTOCOL_CLAIMS;
use super::signing_alg;
use crate::config::Config;
use crate::provider::http::{self, FetchLimits};
use crate::provider::metadata::ProviderMetadata;
use crate::provider::Provider;

/// Sources resolved at most per login; further ones are skipped.
pub(crate) const MAX_SOURCES: usize = 8;
/// How long one distributed endpoint may take.
pub(crate) const SOURCE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long resolving may hold a login up in all.
pub(crate) const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer (and JWT) read from a source.
pub(crate) const MAX_SOURCE_BYTES: usize = 64 * 1024;

const CLAIM_NAMES: &str = "_claim_names";
const CLAIM_SOURCES: &str = "_claim_sources";

/// Where one source's claims come from.
#[derive(Debug, PartialEq, Eq)]
enum Origin {
    Aggregated(String),
    Distributed {
        endpoint: Url,
        access_token: Option<String>,
    },
}

/// One source to resolve and the claims it provides.
#[derive(Debug, PartialEq, Eq)]
struct Source {
    name: String,
    origin: Origin,
    claims: Vec<String>,
}

/// Moves `from`'s claim references into `into`'s, its source names prefixed with
/// `prefix.` so they cannot take over a source of the same name.
pub(crate) fn adopt(from: &mut Map<String, Value>, into: &mut Map<String, Value>, prefix: &str) {
    let (Some(Value::Object(names)), Some(Value::Object(sources))) =
        (from.remove(CLAIM_NAMES), from.remove(CLAIM_SOURCES))
    else {
        return;
    };
    let prefixed_names = names
        .into_iter()
        .filter_map(|(claim, source)| match source {
            Value::String(source) => Some((claim, Value::String(format!("{prefix}.{source}")))),
            _ => None,
        });
    extend_object(into, CLAIM_NAMES, prefixed_names);
    let prefixed_sources = sources
        .into_iter()
        .map(|(source, description)| (format!("{prefix}.{source}"), description));
    extend_object(into, CLAIM_SOURCES, prefixed_sources);
}

/// Adds `entries` to the object member `name` (made an object if it is not one).
fn extend_object(
    claims: &mut Map<String, Value>,
    name: &str,
    entries: impl Iterator<Item = (String, Value)>,
) {
    let mut object = match claims.remove(name) {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    };
    object.extend(entries);
    claims.insert(name.to_owned(), Value::Object(object));
}

/// Resolves the claim references in `claims` when the configuration asks for it: the
/// references are replaced by the claims they provide. Without the setting, `claims` stay
/// as the provider sent them.
pub(crate) async fn resolve(
    provider: &Provider,
    metadata: &ProviderMetadata,
    config: &Config,
    claims: &mut Map<String, Value>,
) {
    if !config.resolve_claim_sources {
        return;
    }
    let (Some(names), Some(sources)) = (claims.remove(CLAIM_NAMES), claims.remove(CLAIM_SOURCES))
    else {
        return;
    };
    let deadline = Instant::now() + TOTAL_TIMEOUT;
    for source in plan(&names, &sources) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let resolved = tokio::time::timeout(
            remaining,
            source_claims(provider, metadata, config, &source.origin, remaining),
        )
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        match resolved {
            Ok(provided) => {
                for claim in &source.claims {
                    if let Some(value) = provided.get(claim) {
                        claims.insert(claim.clone(), value.clone());
                    }
                }
                tracing::debug!(source = %source.name, "claim source resolved");
            }
            Err(reason) => {
                tracing::warn!(source = %source.name, %reason, "claim source skipped; its claims are missing");
            }
        }
    }
}

/// The sources `names` refer to, described in `sources`, at most [`MAX_SOURCES`]. Claims
/// about the protocol are never taken from a source.
fn plan(names: &Value, sources: &Value) -> Vec<Source> {
    let (Value::Object(names), Value::Object(sources)) = (names, sources) else {
        tracing::warn!("`_claim_names` or `_claim_sources` is not an object; ignored");
        return Vec::new();
    };
    let mut wanted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (claim, source) in names {
        if let Value::String(source) = source {
            if !PROTOCOL_CLAIMS.contains(&claim.as_str()) {
                wanted.entry(source).or_default().push(claim.clone());
            }
        }
    }
    if wanted.len() > MAX_SOURCES {
        tracing::warn!(
            sources = wanted.len(),
            "more claim sources than {MAX_SOURCES}; the rest are skipped"
        );
    }
    wanted
        .into_iter()
        .take(MAX_SOURCES)
        .filter_map(|(name, claims)| match origin(sources.get(name)) {
            Ok(origin) => Some(Source {
                name: name.to_owned(),
                origin,
                claims,
            }),
            Err(reason) => {
                tracing::warn!(source = %name, reason, "claim source skipped");
                None
            }
        })
        .collect()
}

fn origin(description: Option<&Value>) -> Result<Origin, &'static str> {
    let Some(Value::Object(description)) = description else {
        return Err("not described in `_claim_sources`");
    };
    if let Some(jwt) = description.get("JWT") {
        return match jwt {
            Value::String(jwt) => Ok(Origin::Aggregated(jwt.clone())),
            _ => Err("its `JWT` is not a string"),
        };
    }
    let Some(Value::String(endpoint)) = description.get("endpoint") else {
        return Err("neither `JWT` nor `endpoint`");
    };
    let endpoint = Url::parse(endpoint).map_err(|_| "its endpoint is not a URL")?;
    let allowed = match endpoint.scheme() {
        "https" => true,
        "http" => is_loopback(&endpoint),
        _ => false,
    };
    if !allowed {
        return Err("its endpoint is neither https nor on this machine");
    }
    let access_token = description
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .map(str::to_owned);
    Ok(Origin::Distributed {
        endpoint,
        access_token,
    })
}

/// The verified claims of one source.
async fn source_claims(
    provider: &Provider,
    metadata: &ProviderMetadata,
    config: &Config,
    origin: &Origin,
    remaining: Duration,
) -> Result<Map<String, Value>, String> {
    let fetched;
    let jwt = match origin {
        Origin::Aggregated(jwt) => jwt.as_str(),
        Origin::Distributed {
            endpoint,
            access_token,
        } => {
            let Some(access_token) = access_token else {
                return Err("the source gives no access token for its endpoint".into());
            };
            let limits = FetchLimits {
                accept: "application/jwt",
                max_bytes: MAX_SOURCE_BYTES,
                timeout: Some(SOURCE_TIMEOUT.min(remaining)),
            };
            let answer = http::fetch(&provider.client, endpoint, Some(access_token), &limits)
                .await
                .map_err(|err| err.to_string())?;
            if !answer.status.is_success() {
                return Err(format!("the endpoint answered {}", answer.status));
            }
            fetched = String::from_utf8(answer.body.to_vec())
                .map_err(|_| "the endpoint's answer is not text".to_owned())?;
            fetched.trim()
        }
    };
    let rules = Rules {
        issuer: &metadata.issuer,
        audiences: &[],
        algorithms: signing_alg::provider_algorithms(config),
        leeway_secs: config.leeway.as_secs(),
        required: &[],
    };
    jwt::verify_limited(provider, jwt, &rules, MAX_SOURCE_BYTES)
        .await
        .map_err(|err| format!("its JWT was refused ({}): {err}", err.stage()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn plans_each_referenced_source_once() {
        let names = json!({"a": "src1", "b": "src1", "c": "src2", "sub": "src1", "d": "gone"});
        let sources = json!({
            "src1": {"JWT": "h.p.s"},
            "src2": {"endpoint": "https://claims.example/c", "access_token": "tok"},
            "unused": {"JWT": "x.y.z"}
        });
        let plan = plan(&names, &sources);
        assert_eq!(
            plan,
            vec![
                Source {
                    name: "src1".into(),
                    origin: Origin::Aggregated("h.p.s".into()),
                    claims: vec!["a".into(), "b".into()],
                },
                Source {
                    name: "src2".into(),
                    origin: Origin::Distributed {
                        endpoint: Url::parse("https://claims.example/c").expect("url"),
                        access_token: Some("tok".into()),
                    },
                    claims: vec!["c".into()],
                },
            ]
        );
    }

    #[test]
    fn refuses_plain_http_and_odd_descriptions() {
        let names = json!({"a": "s1", "b": "s2", "c": "s3", "d": "s4", "e": "s5"});
        let sources = json!({
            "s1": {"endpoint": "http://claims.example/c", "access_token": "t"},
            "s2": {"endpoint": "file:///etc/passwd"},
            "s3": {"JWT": 5},
            "s4": "not an object",
            "s5": {"endpoint": "http://127.0.0.1:9/c"}
        });
        let plan = plan(&names, &sources);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].name, "s5");
        assert!(super::plan(&json!([]), &sources).is_empty());
    }

    #[test]
    fn at_most_max_sources() {
        let mut names = Map::new();
        let mut sources = Map::new();
        for n in 0..(MAX_SOURCES + 5) {
            names.insert(format!("claim{n}"), json!(format!("src{n}")));
            sources.insert(format!("src{n}"), json!({"JWT": "a.b.c"}));
        }
        let plan = plan(&Value::Object(names), &Value::Object(sources));
        assert_eq!(plan.len(), MAX_SOURCES);
    }

    #[test]
    fn adopt_prefixes_source_names() {
        let mut into = Map::new();
        into.insert(CLAIM_NAMES.into(), json!("garbage"));
        let mut from = json!({
            "_claim_names": {"a": "s"},
            "_claim_sources": {"s": {"JWT": "j"}},
            "other": 1
        })
        .as_object()
        .cloned()
        .expect("object");
        adopt(&mut from, &mut into, "userinfo");
        assert_eq!(into[CLAIM_NAMES], json!({"a": "userinfo.s"}));
        assert_eq!(into[CLAIM_SOURCES], json!({"userinfo.s": {"JWT": "j"}}));
        assert!(!from.contains_key(CLAIM_NAMES) && from.contains_key("other"));
    }
}
