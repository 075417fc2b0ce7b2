//! Embedded key material of the mock provider.
//!
//! The keys are committed PEM files so that every run signs with the same
//! keys; they protect nothing and must never be used outside tests.

use std::sync::OnceLock;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

/// Key ids published in the JWKS, indexed like [`KeyRing::rsa`].
pub(crate) const RSA_KIDS: [&str; 2] = ["rsa-1", "rsa-2"];
/// Key id of the P-256 key.
pub(crate) const EC_KID: &str = "ec-1";

const RSA_PEMS: [&str; 2] = [include_str!("keys/rsa1.pem"), include_str!("keys/rsa2.pem")];
// The public halves are needed verbatim: the HMAC key-confusion attack uses
// the PEM text an RP might have lying around as the HMAC secret.
const RSA_PUBLIC_PEMS: [&str; 2] = [
    include_str!("keys/rsa1.pub.pem"),
    include_str!("keys/rsa2.pub.pem"),
];
const EC_PEM: &str = include_str!("keys/ec1.pem");
const ROGUE_PEM: &str = include_str!("keys/rogue.pem");

/// One signing key together with its public JWK.
pub(crate) struct MockKey {
    pub(crate) kid: &'static str,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: Jwk,
}

/// All keys the mock can sign with.
pub(crate) struct KeyRing {
    pub(crate) rsa: [MockKey; 2],
    pub(crate) rsa_public_pems: [&'static str; 2],
    pub(crate) ec: MockKey,
    /// Never published, so anything it signs fails verification.
    pub(crate) rogue: EncodingKey,
}

/// Which keys the JWKS endpoint publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwksContents {
    /// The active RSA key and the EC key (the normal case).
    ActiveRsaAndEc,
    /// Both RSA keys and the EC key, so a kid-less token is ambiguous.
    AllKeys,
    /// Only the active RSA key.
    ActiveRsaOnly,
}

/// The process-wide key ring; parsing it once keeps provider start-up cheap.
pub(crate) fn key_ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing {
        rsa: [rsa_key(0), rsa_key(1)],
        rsa_public_pems: RSA_PUBLIC_PEMS,
        ec: ec_key(),
        rogue: EncodingKey::from_rsa_pem(ROGUE_PEM.as_bytes())
            .expect("embedded rogue RSA key must parse"),
    })
}

impl KeyRing {
    /// The public key set for the given active RSA key.
    pub(crate) fn jwks(&self, active_rsa: usize, contents: JwksContents) -> JwkSet {
        let active = &self.rsa[active_rsa];
        let keys = match contents {
            JwksContents::ActiveRsaAndEc => vec![active.jwk.clone(), self.ec.jwk.clone()],
            JwksContents::AllKeys => vec![
                self.rsa[0].jwk.clone(),
                self.rsa[1].jwk.clone(),
                self.ec.jwk.clone(),
            ],
            JwksContents::ActiveRsaOnly => vec![active.jwk.clone()],
        };
        JwkSet { keys }
    }
}

fn rsa_key(index: usize) -> MockKey {
    let encoding =
        EncodingKey::from_rsa_pem(RSA_PEMS[index].as_bytes()).expect("embedded RSA key must parse");
    mock_key(RSA_KIDS[index], Algorithm::RS256, encoding)
}

fn ec_key() -> MockKey {
    let encoding = EncodingKey::from_ec_pem(EC_PEM.as_bytes()).expect("embedded EC key must parse");
    mock_key(EC_KID, Algorithm::ES256, encoding)
}

fn mock_key(kid: &'static str, alg: Algorithm, encoding: EncodingKey) -> MockKey {
    let mut jwk =
        Jwk::from_encoding_key(&encoding, alg).expect("embedded key must convert to a JWK");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    MockKey {
        kid,
        alg,
        encoding,
        jwk,
    }
}
