//! A parsed JSON Web Key Set, ready to verify signatures.

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Key sets larger than this are cut: a provider publishes a handful of keys.
const MAX_KEYS: usize = 32;

pub(crate) struct VerificationKey {
    pub(crate) kid: Option<String>,
    /// The algorithm the key is restricted to, when the JWK says.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) key: DecodingKey,
}

/// The provider's signature keys.
#[derive(Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<VerificationKey>,
}

impl KeySet {
    /// Parses a JWKS document, skipping keys that are not for signatures or that this crate
    /// cannot use, so one exotic key does not disable the rest.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_slice(body).map_err(|err| format!("JWKS is not valid: {err}"))?;
        let keys = document
            .keys
            .into_iter()
            .take(MAX_KEYS)
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter(|jwk| {
                !matches!(
                    jwk.common.public_key_use,
                    Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
                )
            })
            .filter_map(|jwk| {
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                let alg = jwk
                    .common
                    .key_algorithm
                    .and_then(|alg| alg.to_string().parse::<Algorithm>().ok());
                Some(VerificationKey {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    key,
                })
            })
            .collect();
        Ok(Self { keys })
    }

    /// Keys that may have signed a token with this `kid` and `alg`. Without a `kid`, every
    /// key of the algorithm's family is a candidate.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a VerificationKey> + 'a {
        self.keys.iter().filter(move |key| {
            key.key.family() == alg.family()
                && key.alg.is_none_or(|key_alg| key_alg == alg)
                && kid.is_none_or(|kid| key.kid.as_deref() == Some(kid))
        })
    }
}
