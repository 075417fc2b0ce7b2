//! Back-Channel Logout 1.0 from the provider's side: at RP-initiated logout, a logout
//! token for the session the `id_token_hint` names is posted to the RP.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::state::{State, CLIENT_ID};
use super::tokens::{self, now_unix, random_token, OTHER_CLIENT};
use super::{LogoutTokenDefect, MockAlg};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The logout token for the session of `id_token_hint` (whose claims are read, not
/// verified: the hint is the mock's own token), with the configured defect.
pub(crate) fn logout_token(state: &State, id_token_hint: &str) -> Option<String> {
    let payload = id_token_hint.split('.').nth(1)?;
    let hint: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let now = now_unix();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.issuer));
    claims.insert("aud".into(), json!(CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 120));
    claims.insert("jti".into(), json!(random_token()));
    for name in ["sub", "sid"] {
        if let Some(value) = hint.get(name) {
            claims.insert(name.into(), value.clone());
        }
    }
    claims.insert("events".into(), json!({ EVENT: {} }));
    let defect = state.logout_token_defect;
    match defect {
        Some(LogoutTokenDefect::WrongAudience) => {
            claims.insert("aud".into(), json!(OTHER_CLIENT));
        }
        Some(LogoutTokenDefect::NoEvent) => {
            claims.remove("events");
        }
        Some(LogoutTokenDefect::WrongEvent) => {
            claims.insert(
                "events".into(),
                json!({ "http://schemas.openid.net/event/frontchannel-logout": {} }),
            );
        }
        Some(LogoutTokenDefect::WrongIssuer) => {
            claims.insert("iss".into(), json!("https://wrong-issuer.example"));
        }
        Some(LogoutTokenDefect::WithNonce) => {
            claims.insert("nonce".into(), json!(random_token()));
        }
        Some(LogoutTokenDefect::WrongSid) => {
            claims.insert("sid".into(), json!(random_token()));
        }
        _ => {}
    }
    let claims = Value::Object(claims);
    let setup = state.published_key_signing();
    let token = match defect {
        Some(LogoutTokenDefect::AlgNone) => tokens::sign_as(
            MockAlg::None,
            state.active_rsa,
            "logout+jwt",
            false,
            &claims,
        ),
        Some(LogoutTokenDefect::WrongAlg) => {
            let other = if setup.alg == MockAlg::Rs256 {
                MockAlg::Es256
            } else {
                MockAlg::Rs256
            };
            tokens::sign_as(other, state.active_rsa, "logout+jwt", true, &claims)
        }
        _ => tokens::sign(&setup, "logout+jwt", &claims),
    };
    Some(token)
}

/// Posts the logout token; the status the RP answered, or 0 when it could not be reached.
pub(crate) async fn post(uri: &str, token: &str) -> u16 {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", token)
        .finish();
    let sent = reqwest::Client::new()
        .post(uri)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    sent.map_or(0, |response| response.status().as_u16())
}
