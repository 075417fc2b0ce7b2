//! The serialized form of a session, in the cookie or a store: the claims the ID token
//! already carries are not written twice (most providers put every claim in the ID token,
//! so this takes about a fifth off a session cookie), and in the cookie's binary form
//! (CBOR) signed tokens are kept as their decoded bytes, a quarter smaller than their
//! base64 text, which the cookie's own base64 would otherwise encode a second time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::store::StoreError;
use super::SessionData;

impl SessionData {
    /// The session as the record the Redis and SQL stores keep: JSON text, in which the
    /// claims the ID token already carries are not repeated. A custom store keeps this
    /// text (or its bytes) and gives it back to [`SessionData::from_record`].
    ///
    /// The record holds the session's tokens: keep it where only the application reads it.
    ///
    /// ```
    /// use tower_oidc::store::SessionData;
    ///
    /// let record = r#"{"sid":"s1","user_id":"alice","claims":{"sub":"alice"},"created_at":1,"expires_at":2}"#;
    /// let session = SessionData::from_record(record)?;
    /// let again = session.to_record()?;
    /// assert_eq!(SessionData::from_record(again.as_bytes())?.to_record()?, again);
    /// # Ok::<(), tower_oidc::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Other`] if the session cannot be encoded, which a session this crate
    /// built never causes.
    pub fn to_record(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|err| StoreError::other(RecordError::from(&err)))
    }

    /// The session a record from [`SessionData::to_record`] holds, as text or bytes.
    /// Records written by earlier versions of this crate's stores read too.
    ///
    /// ```
    /// use tower_oidc::{store::{SessionData, StoreError}};
    ///
    /// let err = SessionData::from_record(r#"{"sid":"s1","user_id":"alice""#).unwrap_err();
    /// assert!(matches!(err, StoreError::Corrupt { .. }));
    /// // The error says where the record broke off, never what it holds.
    /// assert!(!err.to_string().contains("alice"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] for a record that cannot be read (damaged, or written by an
    /// incompatible version); its message gives the position, never the record's contents.
    pub fn from_record(record: impl AsRef<[u8]>) -> Result<Self, StoreError> {
        serde_json::from_slice(record.as_ref())
            .map_err(|err| StoreError::corrupt(RecordError::from(&err)))
    }
}

/// What is wrong with a record, without any of its contents: a JSON error's message may
/// quote the values it met, tokens among them.
#[derive(Debug)]
struct RecordError {
    problem: &'static str,
    line: usize,
    column: usize,
}

impl From<&serde_json::Error> for RecordError {
    fn from(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let problem = match err.classify() {
            Category::Io => "cannot be read",
            Category::Syntax => "is not JSON",
            Category::Data => "is not a session",
            Category::Eof => "is cut short",
        };
        Self {
            problem,
            line: err.line(),
            column: err.column(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the record {} (line {}, column {})",
            self.problem, self.line, self.column
        )
    }
}

impl std::error::Error for RecordError {}

/// The session as the cookie carries it (before sealing).
pub(crate) fn to_binary(session: &SessionData) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(2048);
    ciborium::into_writer(session, &mut bytes).map_err(|err| format!("session encoding: {err}"))?;
    Ok(bytes)
}

/// A session from the cookie's opened bytes; `None` for a record this version cannot read.
pub(crate) fn from_binary(bytes: &[u8]) -> Option<SessionData> {
    ciborium::from_reader(bytes).ok()
}

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
    id_token: Option<StoredToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<StoredToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<StoredToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<u64>,
    created_at: u64,
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_loaded_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_seen: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
}

/// A token: as its text in text formats (JSON in the stores); in binary formats, a compact
/// JWS (three base64url parts) as its three parts decoded, anything else as its text. The
/// parts are taken only when encoding them again gives back the exact token.
struct StoredToken(String);

/// The decoded parts of a compact JWS, if `token` is one in canonical base64url.
fn jws_parts(token: &str) -> Option<[Vec<u8>; 3]> {
    let mut parts = token.split('.');
    let mut decoded = [Vec::new(), Vec::new(), Vec::new()];
    for slot in &mut decoded {
        let part = parts.next()?;
        *slot = URL_SAFE_NO_PAD.decode(part).ok()?;
        if URL_SAFE_NO_PAD.encode(&*slot) != part {
            return None;
        }
    }
    parts.next().is_none().then_some(decoded)
}

impl Serialize for StoredToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            if let Some([header, payload, signature]) = jws_parts(&self.0) {
                return (
                    serde_bytes::Bytes::new(&header),
                    serde_bytes::Bytes::new(&payload),
                    serde_bytes::Bytes::new(&signature),
                )
                    .serialize(serializer);
            }
        }
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StoredToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TokenVisitor;

        impl<'de> Visitor<'de> for TokenVisitor {
            type Value = StoredToken;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a token, as text or as the three parts of a JWS")
            }

            fn visit_str<E: de::Error>(self, token: &str) -> Result<StoredToken, E> {
                Ok(StoredToken(token.to_owned()))
            }

            fn visit_string<E: de::Error>(self, token: String) -> Result<StoredToken, E> {
                Ok(StoredToken(token))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StoredToken, A::Error> {
                let mut parts: [serde_bytes::ByteBuf; 3] = Default::default();
                for (index, part) in parts.iter_mut().enumerate() {
                    *part = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(index, &self))?;
                }
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(4, &self));
                }
                let encoded_len = |part: &serde_bytes::ByteBuf| part.len().div_ceil(3) * 4;
                let mut token =
                    String::with_capacity(parts.iter().map(encoded_len).sum::<usize>() + 2);
                for (index, part) in parts.iter().enumerate() {
                    if index > 0 {
                        token.push('.');
                    }
                    URL_SAFE_NO_PAD.encode_string(part, &mut token);
                }
                Ok(StoredToken(token))
            }
        }

        deserializer.deserialize_any(TokenVisitor)
    }
}

/// The claims of a JWT's payload, read without checking anything: only for a token that
/// was verified before it was stored, and whose integrity the cookie's AEAD or the store
/// guards since.
fn payload_claims(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
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
            id_token: session.id_token.map(StoredToken),
            access_token: session.access_token.map(StoredToken),
            refresh_token: session.refresh_token.map(StoredToken),
            access_expires_at: session.access_expires_at,
            created_at: session.created_at,
            expires_at: session.expires_at,
            user: session.user,
            user_loaded_at: session.user_loaded_at,
            last_seen: session.last_seen,
            dpop_key: session.dpop_key,
            provider: session.provider,
        }
    }
}

impl TryFrom<StoredSession> for SessionData {
    type Error = &'static str;

    fn try_from(stored: StoredSession) -> Result<Self, Self::Error> {
        let claims = if stored.id_token_claims {
            let mut claims = stored
                .id_token
                .as_ref()
                .and_then(|token| payload_claims(&token.0))
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
            id_token: stored.id_token.map(|token| token.0),
            access_token: stored.access_token.map(|token| token.0),
            refresh_token: stored.refresh_token.map(|token| token.0),
            access_expires_at: stored.access_expires_at,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            user: stored.user,
            user_loaded_at: stored.user_loaded_at,
            last_seen: stored.last_seen,
            bearer: false,
            typed_user: Default::default(),
            dpop_key: stored.dpop_key,
            provider: stored.provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn jwt(claims: &Value) -> String {
        let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
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
            last_seen: Some(3),
            bearer: false,
            typed_user: Default::default(),
            dpop_key: None,
            provider: None,
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
    fn records_are_the_json_the_stores_kept() {
        let original = session(
            json!({"sub": "alice", "email": "a@example.com"}),
            Some(jwt(&json!({"sub": "alice"}))),
        );
        let record = original.to_record().expect("encode");
        assert_eq!(record, serde_json::to_string(&original).expect("json"));
        let back = SessionData::from_record(&record).expect("decode");
        assert_eq!(back.claims, original.claims);
        assert_eq!(back.id_token, original.id_token);
        assert_eq!(back.access_token, original.access_token);
        assert_eq!(back.expires_at, original.expires_at);
    }

    #[test]
    fn unreadable_records_are_corrupt_and_the_error_quotes_nothing() {
        let secret = "at-secret-value";
        let wrong_type = json!({"sid": "s", "user_id": "u", "claims": {}, "access_token": 7,
                                "created_at": secret, "expires_at": 2});
        let records = [
            wrong_type.to_string(),
            format!("{{\"sid\": \"{secret}"),
            format!("{secret} not json"),
            String::new(),
        ];
        for record in records {
            let err = SessionData::from_record(&record).expect_err("unreadable");
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
            let chain = format!("{err} {:?}", std::error::Error::source(&err));
            assert!(!chain.contains("secret"), "{chain}");
        }
        assert!(matches!(
            SessionData::from_record(b"\xff\xfe"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_marked_record_with_a_broken_id_token_is_refused() {
        let record = json!({"sid": "s", "user_id": "u", "claims": {}, "id_token_claims": true,
                            "id_token": "broken", "created_at": 1, "expires_at": 2});
        assert!(serde_json::from_value::<SessionData>(record).is_err());
    }

    #[test]
    fn the_binary_form_keeps_signed_tokens_as_bytes_and_gives_them_back() {
        let id_token = jwt(&json!({"sub": "alice", "email": "a@example.com"}));
        let mut original = session(
            json!({"sub": "alice", "email": "a@example.com"}),
            Some(id_token.clone()),
        );
        original.access_token = Some(jwt(&json!({"scope": "openid"})));
        original.refresh_token = Some("opaque-refresh_token.value".into());
        let bytes = to_binary(&original).expect("encode");
        let json = serde_json::to_string(&original).expect("json");
        assert!(
            bytes.len() < json.len() * 9 / 10,
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        let back = from_binary(&bytes).expect("decode");
        assert_eq!(back.id_token.as_deref(), Some(id_token.as_str()));
        assert_eq!(back.access_token, original.access_token);
        assert_eq!(back.refresh_token, original.refresh_token);
        assert_eq!(back.claims, original.claims);
        assert_eq!(back.user, original.user);
        assert_eq!(back.user_loaded_at, original.user_loaded_at);
        assert_eq!(back.last_seen, Some(3));
        // The text form stays text: stores keep readable JSON.
        let text: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(text["id_token"], json!(id_token));
    }

    #[test]
    fn tokens_that_would_not_come_back_exactly_stay_text() {
        // Padding, non-canonical trailing bits, a fourth part, a part that is not base64url.
        for token in [
            "YQ==.YQ.YQ",
            "YR.YQ.YQ",
            "YQ.YQ.YQ.YQ",
            "YQ.Y+Q.YQ",
            "YQ.YQ",
            "",
            "..",
            "a b",
        ] {
            let mut original = session(json!({"sub": "alice"}), None);
            original.access_token = Some(token.to_owned());
            let back = from_binary(&to_binary(&original).expect("encode")).expect("decode");
            assert_eq!(back.access_token.as_deref(), Some(token), "{token:?}");
        }
    }

    #[test]
    fn damaged_binary_records_are_refused() {
        let original = session(json!({"sub": "alice"}), Some(jwt(&json!({"sub": "alice"}))));
        let bytes = to_binary(&original).expect("encode");
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(from_binary(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        assert!(from_binary(b"\xff\xff\xff").is_none());
        // A token of byte-string parts must have three of them.
        let record = |parts: usize| {
            use ciborium::Value as Cbor;
            let text = |s: &str| Cbor::Text(s.into());
            let token = Cbor::Array(vec![Cbor::Bytes(b"x".to_vec()); parts]);
            let map = Cbor::Map(vec![
                (text("sid"), text("s")),
                (text("user_id"), text("u")),
                (text("claims"), Cbor::Map(Vec::new())),
                (text("access_token"), token),
                (text("created_at"), Cbor::Integer(1.into())),
                (text("expires_at"), Cbor::Integer(2.into())),
            ]);
            let mut bytes = Vec::new();
            ciborium::into_writer(&map, &mut bytes).expect("encode");
            from_binary(&bytes)
        };
        assert_eq!(
            record(3).and_then(|s| s.access_token).as_deref(),
            Some("eA.eA.eA")
        );
        for parts in [0, 2, 4] {
            assert!(record(parts).is_none(), "{parts} parts");
        }
    }
}
