//! Claim building and signing of the tokens the mock provider issues.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore as _;
use serde_json::{json, Map, Value};

use super::keys::{key_ring, MockKey};
use super::state::CLIENT_SECRET;
use super::{Misbehavior, MockAlg, MockUser};

/// Audience used wherever a token must name some other client.
pub(crate) const OTHER_CLIENT: &str = "other-client";

/// Seconds since the Unix epoch, the unit of every JWT time claim.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// 256 random bits, base64url: unguessable codes, tokens and ids.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Everything that decides which key signs a token and what its header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SigningSetup {
    pub(crate) alg: MockAlg,
    /// Index of the active RSA key in the key ring.
    pub(crate) active_rsa: usize,
    pub(crate) misbehavior: Option<Misbehavior>,
}

/// The key an asymmetric algorithm signs with; `None` for HMAC and `none`.
fn asymmetric_key(alg: MockAlg, active_rsa: usize) -> Option<&'static MockKey> {
    let ring = key_ring();
    match alg {
        MockAlg::Rs256 => Some(&ring.rsa[active_rsa]),
        MockAlg::Es256 => Some(&ring.ec),
        MockAlg::Hs256 | MockAlg::Hs384 | MockAlg::Hs512 | MockAlg::None => None,
    }
}

fn hmac_algorithm(alg: MockAlg) -> Option<Algorithm> {
    match alg {
        MockAlg::Hs256 => Some(Algorithm::HS256),
        MockAlg::Hs384 => Some(Algorithm::HS384),
        MockAlg::Hs512 => Some(Algorithm::HS512),
        _ => None,
    }
}

/// Signs correctly with `alg`: the asymmetric keys under their kid (or none when
/// `with_kid` is false), HMAC with the client secret (no kid), `none` unsigned.
pub(crate) fn sign_as(
    alg: MockAlg,
    active_rsa: usize,
    typ: &str,
    with_kid: bool,
    claims: &Value,
) -> String {
    if let Some(key) = asymmetric_key(alg, active_rsa) {
        let kid = with_kid.then_some(key.kid);
        return encode(header(key.alg, typ, kid), claims, &key.encoding);
    }
    match hmac_algorithm(alg) {
        Some(hmac) => encode(
            header(hmac, typ, None),
            claims,
            &EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        ),
        None => unsigned(claims),
    }
}

/// Signs `claims` with header type `typ`, committing the header and
/// signature faults of the setup's misbehavior (claim faults are already in
/// `claims`).
pub(crate) fn sign(setup: &SigningSetup, typ: &str, claims: &Value) -> String {
    let ring = key_ring();
    let active_rsa = &ring.rsa[setup.active_rsa];
    match setup.misbehavior {
        Some(Misbehavior::AlgNone) => unsigned(claims),
        // Only RS256 has a rogue key: other signatures are corrupted instead.
        Some(Misbehavior::BadSignature) if setup.alg == MockAlg::Rs256 => encode(
            header(Algorithm::RS256, typ, Some(active_rsa.kid)),
            claims,
            &ring.rogue,
        ),
        Some(Misbehavior::BadSignature) => {
            corrupt_signature(sign_as(setup.alg, setup.active_rsa, typ, true, claims))
        }
        Some(Misbehavior::HmacWithPublicKey) => {
            let pem = ring.rsa_public_pems[setup.active_rsa];
            encode(
                header(Algorithm::HS256, typ, Some(active_rsa.kid)),
                claims,
                &EncodingKey::from_secret(pem.as_bytes()),
            )
        }
        Some(Misbehavior::KidAbsentSingleKey) => encode(
            header(Algorithm::RS256, typ, None),
            claims,
            &active_rsa.encoding,
        ),
        Some(Misbehavior::KidAbsent) => sign_as(setup.alg, setup.active_rsa, typ, false, claims),
        _ => sign_as(setup.alg, setup.active_rsa, typ, true, claims),
    }
}

/// Signs with the active RSA key under a kid of the caller's choosing.
pub(crate) fn sign_with_kid(active_rsa: usize, kid: &str, claims: &Value) -> String {
    let key = &key_ring().rsa[active_rsa];
    encode(
        header(Algorithm::RS256, "JWT", Some(kid)),
        claims,
        &key.encoding,
    )
}

/// Signs with the key that is never published: the signature never verifies.
pub(crate) fn sign_rogue(active_rsa: usize, typ: &str, claims: &Value) -> String {
    let ring = key_ring();
    encode(
        header(Algorithm::RS256, typ, Some(ring.rsa[active_rsa].kid)),
        claims,
        &ring.rogue,
    )
}

/// Flips bits in the middle of the signature, keeping its length and encoding valid.
fn corrupt_signature(token: String) -> String {
    let Some((signed, signature)) = token.rsplit_once('.') else {
        return token;
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(byte) = bytes.get_mut(10) {
        *byte ^= 0x5a;
    }
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn header(alg: Algorithm, typ: &str, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some(typ.to_owned());
    header.kid = kid.map(str::to_owned);
    header
}

fn encode(header: Header, claims: &Value, key: &EncodingKey) -> String {
    // The keys are embedded and the claims are plain JSON, so a failure here
    // is a broken build of the mock, not a bad request.
    jsonwebtoken::encode(&header, claims, key).expect("embedded mock key must sign")
}

/// An `alg: none` JWT: the header is exactly `{"alg":"none"}`, the signature empty.
fn unsigned(claims: &Value) -> String {
    let payload = serde_json::to_vec(claims).expect("JSON values always serialize");
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

/// The facts an ID token states.
pub(crate) struct IdTokenFacts<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) user: &'a MockUser,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) sid: &'a str,
    pub(crate) auth_time: u64,
    pub(crate) ttl: Duration,
    /// Leave the profile to userinfo, like node oidc-provider does.
    pub(crate) minimal: bool,
}

/// The claims of an ID token, with the claim faults of `misbehavior` applied.
pub(crate) fn id_token_claims(
    facts: &IdTokenFacts<'_>,
    misbehavior: Option<Misbehavior>,
    now: u64,
) -> Value {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(facts.issuer));
    claims.insert("sub".into(), json!(facts.user.sub));
    claims.insert("aud".into(), json!(facts.client_id));
    claims.insert("exp".into(), json!(now + facts.ttl.as_secs()));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(facts.auth_time));
    if let Some(nonce) = facts.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("azp".into(), json!(facts.client_id));
    claims.insert("sid".into(), json!(facts.sid));
    if !facts.minimal {
        for (key, value) in facts.user.profile_claims() {
            claims.entry(key).or_insert(value);
        }
    }
    if let Some(misbehavior) = misbehavior {
        break_id_token_claims(&mut claims, misbehavior, facts, now);
    }
    Value::Object(claims)
}

fn break_id_token_claims(
    claims: &mut Map<String, Value>,
    misbehavior: Misbehavior,
    facts: &IdTokenFacts<'_>,
    now: u64,
) {
    match misbehavior {
        Misbehavior::WrongIssuer => {
            claims.insert("iss".into(), json!("https://wrong-issuer.example"));
        }
        Misbehavior::WrongAudience => {
            claims.insert("aud".into(), json!(OTHER_CLIENT));
        }
        Misbehavior::MultipleAudiencesNoAzp => {
            claims.insert("aud".into(), json!([facts.client_id, OTHER_CLIENT]));
            claims.remove("azp");
        }
        Misbehavior::WrongAzp => {
            claims.insert("azp".into(), json!(OTHER_CLIENT));
        }
        Misbehavior::Expired => {
            claims.insert("exp".into(), json!(now.saturating_sub(600)));
            claims.insert("iat".into(), json!(now.saturating_sub(900)));
        }
        Misbehavior::IatInFuture => {
            // Move exp along so that only the iat check can catch the token.
            claims.insert("iat".into(), json!(now + 3600));
            claims.insert("exp".into(), json!(now + 3600 + facts.ttl.as_secs()));
        }
        Misbehavior::MissingIat => {
            claims.remove("iat");
        }
        Misbehavior::MissingSub => {
            claims.remove("sub");
        }
        Misbehavior::MissingExp => {
            claims.remove("exp");
        }
        Misbehavior::NonceMismatch => {
            claims.insert("nonce".into(), json!("not-the-nonce-you-sent"));
        }
        Misbehavior::MissingNonce => {
            claims.remove("nonce");
        }
        _ => {}
    }
}

/// The default claims of an access token.
pub(crate) fn access_token_claims(
    issuer: &str,
    client_id: &str,
    sub: &str,
    scope: &str,
    ttl: Duration,
    now: u64,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(sub));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("exp".into(), json!(now + ttl.as_secs()));
    claims.insert("iat".into(), json!(now));
    claims.insert("jti".into(), json!(random_token()));
    claims.insert("client_id".into(), json!(client_id));
    claims.insert("scope".into(), json!(scope));
    claims
}
