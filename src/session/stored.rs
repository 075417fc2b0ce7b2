//! The serialized form of a session, in the cookie or a store: the claims the ID token
//! already carries are not written twice. Most providers put every claim in the ID token,
//! so this takes about a fifth off a session cookie.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::SessionData;

#[derive(Serialize, Deserialize)]
pub(super) struct StoredSession {
    sid: String,
    user_id: String,
    /// With `id_token_claims`, only the claims that the ID token lacks or that userinfo
    /// changed; otherwise all of them.
    claims: Map<String, Value>,
    /// The ID token's own claims complete `claims`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    id_token_claims: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<u64>,
    created_at: u64,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_loaded_at: Option<u64>,
}

/// The claims of a JWT's payload, read without checking anything: only for a token that
/// was verified before it was stored, and whose integrity the cookie's AEAD or the store
/// guards since.
fn payload_claims(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// `claims` less what `id_token` carries with the same value, if `id_token` carries no
/// claim that `claims` lacks (which the difference could not express).
fn beyond_id_token(
    claims: &Map<String, Value>,
    id_token: Option<&str>,
) -> Option<Map<String, Value>> {
    let carried = payload_claims(id_token?)?;
    if carried.keys().any(|name| !claims.contains_key(name)) {
        return None;
    }
    Some(
        claims
            .iter()
            .filter(|(name, value)| carried.get(*name) != Some(*value))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    )
}

impl From<SessionData> for StoredSession {
    fn from(session: SessionData) -> Self {
        let difference = beyond_id_token(&session.claims, session.id_token.as_deref());
        let id_token_claims = difference.is_some();
        Self {
            sid: session.sid,
            user_id: session.user_id,
            claims: difference.unwrap_or(session.claims),
            id_token_claims,
            id_token: session.id_token,
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            access_expires_at: session.access_expires_at,
            created_at: session.created_at,
            expires_at: session.expires_at,
            user: session.user,
            user_loaded_at: session.user_loaded_at,
        }
    }
}

impl TryFrom<StoredSession> for SessionData {
    type Error = &'static str;

    fn try_from(stored: StoredSession) -> Result<Self, Self::Error> {
        let claims = if stored.id_token_claims {
            let mut claims = stored
                .id_token
                .as_deref()
                .and_then(payload_claims)
                .ok_or("the session's ID token cannot be read")?;
            claims.extend(stored.claims);
            claims
        } else {
            stored.claims
        };
        Ok(Self {
            sid: stored.sid,
            user_id: stored.user_id,
            claims,
            id_token: stored.id_token,
            access_token: stored.access_token,
            refresh_token: stored.refresh_token,
            access_expires_at: stored.access_expires_at,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            user: stored.user,
            user_loaded_at: stored.user_loaded_at,
            bearer: false,
            typed_user: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn jwt(claims: &Value) -> String {
        let encode = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        format!(
            "{}.{}.c2lnbmF0dXJl",
            encode(&json!({"alg": "RS256"})),
            encode(claims)
        )
    }

    fn session(claims: Value, id_token: Option<String>) -> SessionData {
        let Value::Object(claims) = claims else {
            panic!("claims must be an object");
        };
        SessionData {
            sid: "s".into(),
            user_id: "alice".into(),
            claims,
            id_token,
            access_token: Some("at".into()),
            refresh_token: None,
            access_expires_at: Some(10),
            created_at: 1,
            expires_at: 2,
            user: Some(json!({"id": 7})),
            user_loaded_at: Some(1),
            bearer: false,
            typed_user: Default::default(),
        }
    }

    fn round_trip(session: &SessionData) -> (Value, SessionData) {
        let json = serde_json::to_value(session).expect("serialize");
        let back: SessionData = serde_json::from_value(json.clone()).expect("deserialize");
        (json, back)
    }

    #[test]
    fn claims_the_id_token_carries_are_written_once() {
        let id_claims = json!({"sub": "alice", "email": "a@example.com", "nonce": "n"});
        let claims = json!({"sub": "alice", "email": "a@example.com", "nonce": "n",
                            "groups": ["x"], "name": "From userinfo"});
        let original = session(claims.clone(), Some(jwt(&id_claims)));
        let (json, back) = round_trip(&original);
        assert_eq!(json["id_token_claims"], json!(true));
        assert_eq!(
            json["claims"],
            json!({"groups": ["x"], "name": "From userinfo"})
        );
        assert_eq!(Value::Object(back.claims), claims);
        assert_eq!(back.user, original.user);
        assert_eq!(back.access_expires_at, Some(10));
    }

    #[test]
    fn userinfo_values_that_differ_from_the_id_token_win() {
        let id_claims = json!({"sub": "alice", "email": "old@example.com"});
        let claims = json!({"sub": "alice", "email": "new@example.com"});
        let (json, back) = round_trip(&session(claims.clone(), Some(jwt(&id_claims))));
        assert_eq!(json["claims"], json!({"email": "new@example.com"}));
        assert_eq!(Value::Object(back.claims), claims);
    }

    #[test]
    fn all_claims_are_written_when_the_id_token_cannot_express_them() {
        // A claim of the ID token that the session dropped, an unreadable token, none.
        let dropped = session(
            json!({"sub": "alice"}),
            Some(jwt(&json!({"sub": "alice", "x": 1}))),
        );
        let unreadable = session(json!({"sub": "alice"}), Some("not-a-jwt".into()));
        let without = session(json!({"sub": "alice"}), None);
        for original in [dropped, unreadable, without] {
            let (json, back) = round_trip(&original);
            assert!(json.get("id_token_claims").is_none());
            assert_eq!(json["claims"], json!({"sub": "alice"}));
            assert_eq!(back.claims, original.claims);
        }
    }

    #[test]
    fn records_without_the_marker_still_read() {
        let record = json!({"sid": "s", "user_id": "u", "claims": {"sub": "u"},
                            "id_token": jwt(&json!({"sub": "other"})),
                            "created_at": 1, "expires_at": 2});
        let back: SessionData = serde_json::from_value(record).expect("deserialize");
        assert_eq!(Value::Object(back.claims), json!({"sub": "u"}));
    }

    #[test]
    fn a_marked_record_with_a_broken_id_token_is_refused() {
        let record = json!({"sid": "s", "user_id": "u", "claims": {}, "id_token_claims": true,
                            "id_token": "broken", "created_at": 1, "expires_at": 2});
        assert!(serde_json::from_value::<SessionData>(record).is_err());
    }
}
