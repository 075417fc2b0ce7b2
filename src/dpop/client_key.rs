//! The client side: an ES256 key of a browser session, and the proofs it signs.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// A P-256 key pair; its private half is only ever written sealed (in the encrypted
/// session, or the server-side store).
pub(crate) struct ClientKey {
    pair: EcdsaKeyPair,
    /// The public key as a JWK (`crv`, `kty`, `x`, `y`).
    jwk: Map<String, Value>,
    jkt: String,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A new random key.
    pub(crate) fn generate() -> Option<Self> {
        Self::from_pair(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?)
    }

    /// The key [`ClientKey::to_stored`] wrote.
    pub(crate) fn from_stored(stored: &str) -> Option<Self> {
        let pkcs8 = URL_SAFE_NO_PAD.decode(stored).ok()?;
        Self::from_pair(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).ok()?)
    }

    /// The private key as PKCS#8, base64url: for the sealed session only.
    pub(crate) fn to_stored(&self) -> Option<String> {
        let document = self.pair.to_pkcs8v1().ok()?;
        Some(URL_SAFE_NO_PAD.encode(document.as_ref()))
    }

    fn from_pair(pair: EcdsaKeyPair) -> Option<Self> {
        // An uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = point.get(1..)?.split_at_checked(32)?;
        if point.first() != Some(&4) || y.len() != 32 {
            return None;
        }
        let mut jwk = Map::new();
        jwk.insert("crv".into(), json!("P-256"));
        jwk.insert("kty".into(), json!("EC"));
        jwk.insert("x".into(), json!(URL_SAFE_NO_PAD.encode(x)));
        jwk.insert("y".into(), json!(URL_SAFE_NO_PAD.encode(y)));
        let jkt = super::jwk::thumbprint(&jwk);
        Some(Self { pair, jwk, jkt })
    }

    /// The RFC 7638 thumbprint of the public key: `dpop_jkt`, and `cnf.jkt` of the tokens.
    pub(crate) fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof for one request: `method` and `url` (its query and fragment left out), with
    /// `ath` when it accompanies `access_token`, and the server's `nonce` when it asked.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Option<String> {
        let mut htu = url::Url::parse(url).ok()?;
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": crate::session::random_id(),
            "htm": method,
            "htu": htu.as_str(),
            "iat": crate::session::now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        self.sign(&header, &claims)
    }

    /// A compact JWS of `header` and `claims` signed with this key, whatever they say.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> Option<String> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .ok()?;
        Some(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The public key as a JWK.
    #[cfg(test)]
    pub(crate) fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }
}

/// A new key for a login, when the configuration binds tokens; `None` otherwise (or, very
/// unlikely, when no key could be made: the login then goes on unbound).
pub(crate) fn new_login_key(config: &crate::config::Config) -> Option<String> {
    if !config.dpop.bind_tokens {
        return None;
    }
    let key = ClientKey::generate().and_then(|key| key.to_stored());
    if key.is_none() {
        tracing::warn!("no DPoP key could be made; this login's tokens are not bound");
    }
    key
}

/// The key a session or a pending login stores.
pub(crate) fn from_stored(stored: Option<&str>) -> Option<std::sync::Arc<ClientKey>> {
    ClientKey::from_stored(stored?).map(std::sync::Arc::new)
}

/// The thumbprint of a stored key, for `dpop_jkt`.
pub(crate) fn stored_jkt(stored: Option<&str>) -> Option<String> {
    from_stored(stored).map(|key| key.jkt().to_owned())
}

/// Whether a token response's `token_type` is `DPoP` (case-insensitive).
pub(crate) fn is_dpop_type(token_type: &oauth2::basic::BasicTokenType) -> bool {
    token_type.as_ref().eq_ignore_ascii_case("dpop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_comes_back_the_same() {
        let key = ClientKey::generate().expect("key");
        let stored = key.to_stored().expect("pkcs8");
        let again = ClientKey::from_stored(&stored).expect("reads back");
        assert_eq!(again.jkt(), key.jkt());
        assert_eq!(key.jkt().len(), 43);
        assert!(ClientKey::from_stored("bm90IGEga2V5").is_none());
        assert!(!format!("{key:?}").contains(&stored));
    }
}
