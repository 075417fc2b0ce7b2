//! Verifying a DPoP proof JWT (RFC 9449, section 4.3) for one request: every check but the
//! single use of its `jti`, which needs the replay memory (see [`super::check`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::nonce::Nonces;
use super::DpopOptions;

/// Proofs larger than this are refused unread: a proof is a small header, a few claims and
/// a signature, an RSA key being its largest part.
const MAX_PROOF_BYTES: usize = 8 * 1024;
/// `jti`s longer than this are refused, so the replay memory holds small keys.
const MAX_JTI_BYTES: usize = 256;

/// What a proof must match.
pub(crate) struct Expected<'a> {
    /// The request's method.
    pub(crate) method: &'a str,
    /// The request's URL as the client addressed it.
    pub(crate) url: &'a Url,
    /// The access token the proof accompanies; `None` at a token endpoint, where proofs
    /// carry no `ath`.
    pub(crate) token: Option<&'a str>,
    pub(crate) now: u64,
    pub(crate) options: &'a DpopOptions,
    /// Set when proofs must carry a nonce this layer issued.
    pub(crate) nonces: Option<&'a Nonces>,
}

/// A proof whose signature and claims passed.
#[derive(Debug, Clone)]
pub(crate) struct Proven {
    /// The RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    pub(crate) jti: String,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// `invalid_dpop_proof`, and why.
    Invalid(&'static str),
    /// `use_dpop_nonce`: the proof lacks a current nonce of ours.
    NonceRequired,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    htm: Option<String>,
    #[serde(default)]
    htu: Option<String>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks `proof` against `expected`, cheapest checks first and the signature last.
pub(crate) fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proven, ProofError> {
    use ProofError::Invalid;
    if proof.len() > MAX_PROOF_BYTES {
        return Err(Invalid("the proof is too large"));
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid("the proof is not a signed JWT"));
    };
    let header: Header = decode(header_b64).ok_or(Invalid("the proof's header is unreadable"))?;
    if header.crit.is_some() {
        return Err(Invalid("the proof has critical header parameters"));
    }
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(Invalid("the proof's typ is not dpop+jwt"));
    }
    let alg = header
        .alg
        .parse::<Algorithm>()
        .ok()
        .filter(|alg| super::ALGORITHMS.contains(alg))
        .ok_or(Invalid("the proof's algorithm is not allowed"))?;
    let jwk = header.jwk.ok_or(Invalid("the proof has no jwk"))?;
    let key = super::jwk::public_key(&jwk, alg).map_err(Invalid)?;
    let claims: Claims = decode(claims_b64).ok_or(Invalid("the proof's claims are unreadable"))?;
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_BYTES)
        .ok_or(Invalid("the proof has no usable jti"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(Invalid("htm does not match the request's method"));
    }
    let htu = claims.htu.ok_or(Invalid("the proof has no htu"))?;
    super::htu::check(&htu, expected.url).map_err(Invalid)?;
    check_iat(claims.iat.as_ref(), expected)?;
    if let Some(token) = expected.token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err(Invalid("ath does not match the access token"));
        }
    }
    if let Some(nonces) = expected.nonces {
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|nonce| nonces.is_fresh(nonce, expected.now))
        {
            return Err(ProofError::NonceRequired);
        }
    }
    let signing_input = &proof[..header_b64.len() + 1 + claims_b64.len()];
    let verifies = jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key.key, alg)
        .unwrap_or(false);
    if !verifies {
        return Err(Invalid(
            "the proof's signature does not verify with its jwk",
        ));
    }
    Ok(Proven {
        jkt: key.thumbprint,
        jti,
    })
}

fn check_iat(iat: Option<&Value>, expected: &Expected<'_>) -> Result<(), ProofError> {
    let iat = iat
        .and_then(Value::as_f64)
        .filter(|iat| iat.is_finite() && *iat >= 0.0)
        .ok_or(ProofError::Invalid("the proof has no iat"))?;
    // Whole seconds: a fractional iat counts from the second it falls in.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let iat = iat as u64;
    let options = expected.options;
    if iat.saturating_add(options.max_age.as_secs()) < expected.now {
        return Err(ProofError::Invalid("the proof is too old (iat)"));
    }
    if iat > expected.now.saturating_add(options.max_future.as_secs()) {
        return Err(ProofError::Invalid(
            "the proof is dated in the future (iat)",
        ));
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dpop::client_key::ClientKey;

    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    const URL: &str = "https://api.example.com/orders";
    const NOW: u64 = 1_700_000_000;

    struct Case {
        key: ClientKey,
        header: Value,
        claims: Value,
    }

    impl Case {
        fn new() -> Self {
            let key = ClientKey::generate().expect("key");
            let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk()});
            let claims = json!({
                "jti": "j-1",
                "htm": "GET",
                "htu": URL,
                "iat": NOW,
                "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(TOKEN.as_bytes())),
            });
            Self {
                key,
                header,
                claims,
            }
        }

        fn proof(&self) -> String {
            self.key.sign(&self.header, &self.claims).expect("signed")
        }

        fn check_with(&self, proof: &str, nonces: Option<&Nonces>) -> Result<Proven, ProofError> {
            let url = Url::parse(URL).expect("url");
            let options = DpopOptions::default();
            verify(
                proof,
                &Expected {
                    method: "GET",
                    url: &url,
                    token: Some(TOKEN),
                    now: NOW,
                    options: &options,
                    nonces,
                },
            )
        }

        fn check(&self) -> Result<Proven, ProofError> {
            self.check_with(&self.proof(), None)
        }

        fn refused(&self) -> &'static str {
            match self.check() {
                Err(ProofError::Invalid(reason)) => reason,
                other => panic!("not refused as invalid: {other:?}"),
            }
        }
    }

    /// `header.claims.` with the given signature, for algorithms the key cannot sign with.
    fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn a_good_proof_names_its_key() {
        let case = Case::new();
        let proven = case.check().expect("accepted");
        assert_eq!(proven.jkt, case.key.jkt());
        assert_eq!(proven.jti, "j-1");
        let mut case = Case::new();
        case.header["typ"] = json!("DPoP+JWT");
        case.claims["iat"] = json!(NOW as f64 + 0.5);
        assert!(case.check().is_ok());
    }

    #[test]
    fn the_method_must_match() {
        let mut case = Case::new();
        case.claims["htm"] = json!("POST");
        assert_eq!(case.refused(), "htm does not match the request's method");
        case.claims["htm"] = json!("get");
        assert_eq!(case.refused(), "htm does not match the request's method");
    }

    #[test]
    fn htu_with_a_query_or_another_host_is_refused() {
        let mut case = Case::new();
        case.claims["htu"] = json!(format!("{URL}?id=7"));
        assert_eq!(case.refused(), "htu must not carry a query or a fragment");
        case.claims["htu"] = json!("https://evil.example.com/orders");
        assert_eq!(case.refused(), "htu does not match the request's URL");
        case.claims.as_object_mut().expect("object").remove("htu");
        assert_eq!(case.refused(), "the proof has no htu");
    }

    #[test]
    fn a_stale_proof_is_refused() {
        let mut case = Case::new();
        case.claims["iat"] = json!(NOW - 60);
        assert!(case.check().is_ok(), "60 s old is within the window");
        case.claims["iat"] = json!(NOW - 61);
        assert_eq!(case.refused(), "the proof is too old (iat)");
    }

    #[test]
    fn a_proof_from_the_future_is_refused() {
        let mut case = Case::new();
        case.claims["iat"] = json!(NOW + 5);
        assert!(case.check().is_ok(), "5 s ahead is within the window");
        case.claims["iat"] = json!(NOW + 6);
        assert_eq!(case.refused(), "the proof is dated in the future (iat)");
        case.claims["iat"] = json!("now");
        assert_eq!(case.refused(), "the proof has no iat");
    }

    #[test]
    fn ath_must_hash_the_token() {
        let mut case = Case::new();
        case.claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(b"another token")));
        assert_eq!(case.refused(), "ath does not match the access token");
        case.claims.as_object_mut().expect("object").remove("ath");
        assert_eq!(case.refused(), "ath does not match the access token");
    }

    #[test]
    fn a_private_key_in_the_jwk_is_refused() {
        let mut case = Case::new();
        case.header["jwk"]["d"] = json!("c2VjcmV0");
        assert_eq!(case.refused(), "the jwk holds private key material");
    }

    #[test]
    fn alg_none_is_refused() {
        let case = Case::new();
        let mut header = case.header.clone();
        header["alg"] = json!("none");
        let proof = unsigned(&header, &case.claims, "");
        assert_eq!(
            case.check_with(&proof, None).err(),
            Some(ProofError::Invalid("the proof's algorithm is not allowed"))
        );
    }

    #[test]
    fn hmac_is_refused() {
        let case = Case::new();
        for jwk in [
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!(case.key.jwk()),
        ] {
            let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk});
            let proof = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(Algorithm::HS256),
                &case.claims,
                &jsonwebtoken::EncodingKey::from_secret(b"secret"),
            )
            .expect("hs256");
            let signature = proof.rsplit('.').next().expect("signature");
            let proof = unsigned(&header, &case.claims, signature);
            assert_eq!(
                case.check_with(&proof, None).err(),
                Some(ProofError::Invalid("the proof's algorithm is not allowed"))
            );
        }
    }

    #[test]
    fn the_typ_must_be_dpop_jwt() {
        let mut case = Case::new();
        case.header["typ"] = json!("JWT");
        assert_eq!(case.refused(), "the proof's typ is not dpop+jwt");
        case.header.as_object_mut().expect("object").remove("typ");
        assert_eq!(case.refused(), "the proof's typ is not dpop+jwt");
    }

    #[test]
    fn the_signature_must_verify_with_the_embedded_key() {
        let case = Case::new();
        let other = ClientKey::generate().expect("key");
        let proof = other.sign(&case.header, &case.claims).expect("signed");
        assert_eq!(
            case.check_with(&proof, None).err(),
            Some(ProofError::Invalid(
                "the proof's signature does not verify with its jwk"
            ))
        );
        let mut tampered = case.claims.clone();
        tampered["jti"] = json!("j-2");
        let (_, signature) = case
            .proof()
            .rsplit_once('.')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .expect("parts");
        let proof = unsigned(&case.header, &tampered, &signature);
        assert!(matches!(
            case.check_with(&proof, None),
            Err(ProofError::Invalid(_))
        ));
    }

    #[test]
    fn a_proof_needs_a_jti_and_a_jwk() {
        let mut case = Case::new();
        case.claims["jti"] = json!("");
        assert_eq!(case.refused(), "the proof has no usable jti");
        case.claims["jti"] = json!("x".repeat(MAX_JTI_BYTES + 1));
        assert_eq!(case.refused(), "the proof has no usable jti");
        let mut case = Case::new();
        case.header.as_object_mut().expect("object").remove("jwk");
        assert_eq!(case.refused(), "the proof has no jwk");
        let mut case = Case::new();
        case.header["crit"] = json!(["x"]);
        assert_eq!(case.refused(), "the proof has critical header parameters");
        assert!(matches!(
            case.check_with("a.b", None),
            Err(ProofError::Invalid(_))
        ));
        assert!(matches!(
            case.check_with(&"a".repeat(MAX_PROOF_BYTES + 1), None),
            Err(ProofError::Invalid("the proof is too large"))
        ));
    }

    #[test]
    fn a_nonce_is_required_when_switched_on() {
        let nonces = Nonces::new(b"layer secret");
        let mut case = Case::new();
        assert_eq!(
            case.check_with(&case.proof(), Some(&nonces)).err(),
            Some(ProofError::NonceRequired)
        );
        case.claims["nonce"] = json!("made-up");
        assert_eq!(
            case.check_with(&case.proof(), Some(&nonces)).err(),
            Some(ProofError::NonceRequired)
        );
        case.claims["nonce"] = json!(nonces.issue(NOW));
        assert!(case.check_with(&case.proof(), Some(&nonces)).is_ok());
    }

    #[test]
    fn eddsa_proofs_verify() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::generate().expect("ed25519");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let case = Case::new();
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA",
            "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(case.claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref());
        let proven = case
            .check_with(&format!("{input}.{signature}"), None)
            .expect("EdDSA proof");
        assert_eq!(proven.jkt.len(), 43);
    }
}
