//! The public key a proof carries in its header: checked to be public and to fit the
//! proof's algorithm, turned into a verification key, and named by its RFC 7638 thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof's key, ready to verify with.
pub(crate) struct ProofKey {
    pub(crate) key: DecodingKey,
    /// `base64url(SHA-256)` of the key's RFC 7638 canonical form.
    pub(crate) thumbprint: String,
}

/// Reads `jwk` as a public key for `alg`.
pub(crate) fn public_key(
    jwk: &Map<String, Value>,
    alg: Algorithm,
) -> Result<ProofKey, &'static str> {
    if PRIVATE_MEMBERS.iter().any(|name| jwk.contains_key(*name)) {
        return Err("the jwk holds private key material");
    }
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kty = member("kty").ok_or("the jwk has no kty")?;
    let required: &[&str] = match (kty, member("crv"), alg) {
        ("EC", Some("P-256"), Algorithm::ES256) | ("EC", Some("P-384"), Algorithm::ES384) => {
            &["crv", "kty", "x", "y"]
        }
        ("OKP", Some("Ed25519"), Algorithm::EdDSA) => &["crv", "kty", "x"],
        (
            "RSA",
            _,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => &["e", "kty", "n"],
        _ => return Err("the jwk does not fit the proof's algorithm"),
    };
    let mut canonical = Map::new();
    for name in required {
        let value = member(name).ok_or("the jwk lacks a member its key type needs")?;
        canonical.insert((*name).to_owned(), Value::String(value.to_owned()));
    }
    let text = |name: &str| {
        canonical
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let key = match kty {
        "EC" => DecodingKey::from_ec_components(text("x"), text("y")),
        "OKP" => DecodingKey::from_ed_components(text("x")),
        _ => DecodingKey::from_rsa_components(text("n"), text("e")),
    }
    .map_err(|_| "the jwk's key is not valid base64url")?;
    Ok(ProofKey {
        key,
        thumbprint: thumbprint(&canonical),
    })
}

/// RFC 7638: the required members in lexicographic order, no white space. A `Map` keeps
/// its keys sorted, and serde_json escapes strings as the RFC's JSON form does.
pub(crate) fn thumbprint(canonical: &Map<String, Value>) -> String {
    let json = Value::Object(canonical.clone()).to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().expect("object").clone()
    }

    /// RFC 7638, section 3.1.
    #[test]
    fn the_rfc_example_thumbprint() {
        let jwk = map(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        let key = public_key(&jwk, Algorithm::RS256).expect("public RSA key");
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_members_are_refused() {
        let public = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"});
        for private in PRIVATE_MEMBERS {
            let mut jwk = map(public.clone());
            jwk.insert((*private).to_owned(), json!("AA"));
            assert_eq!(
                public_key(&jwk, Algorithm::ES256).err(),
                Some("the jwk holds private key material"),
                "{private}"
            );
        }
    }

    #[test]
    fn the_key_type_must_fit_the_algorithm() {
        let p256 = map(json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}));
        assert!(public_key(&p256, Algorithm::ES256).is_ok());
        assert!(public_key(&p256, Algorithm::ES384).is_err());
        assert!(public_key(&p256, Algorithm::RS256).is_err());
        assert!(public_key(&p256, Algorithm::HS256).is_err());
        let oct = map(json!({"kty": "oct"}));
        assert!(public_key(&oct, Algorithm::HS256).is_err());
        let ed = map(json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"}));
        assert!(public_key(&ed, Algorithm::EdDSA).is_ok());
        assert!(public_key(
            &map(json!({"kty": "EC", "crv": "P-256", "x": "AA"})),
            Algorithm::ES256
        )
        .is_err());
        assert!(public_key(
            &map(json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": 1})),
            Algorithm::ES256
        )
        .is_err());
    }
}
