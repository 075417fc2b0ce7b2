//! The key itself: `toidc_<id>_<secret>`, made from the OS's random number generator, and
//! the digest of its secret that the store keeps.
//!
//! * `toidc_` marks it, so secret scanners (GitHub's, gitleaks, trufflehog) can be taught
//!   to find leaked keys with one pattern;
//! * `<id>`: 24 lowercase hexadecimal digits (96 random bits), which names the key in the
//!   store, so a key is found without scanning, and in the listing (`prefix`);
//! * `<secret>`: 43 characters of URL-safe base64 without padding: 256 random bits.
//!
//! The id has no `_`, so the first `_` after the id ends it whatever the secret holds.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What every key starts with.
pub(crate) const PREFIX: &str = "toidc_";
/// Hexadecimal digits of the id.
const ID_LEN: usize = 24;
/// Characters of the secret: 32 bytes in unpadded base64.
const SECRET_LEN: usize = 43;

/// A new key, shown to its owner once.
pub(crate) struct NewKey {
    pub(crate) id: String,
    /// The whole key, `toidc_<id>_<secret>`.
    pub(crate) key: String,
    /// [`digest`] of the secret.
    pub(crate) hash: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A key of 256 random bits and an id of 96, both from the OS.
pub(crate) fn generate() -> NewKey {
    let mut id = [0u8; ID_LEN / 2];
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let hash = digest(&secret);
    NewKey {
        key: format!("{PREFIX}{id}_{secret}"),
        id,
        hash,
    }
}

/// Whether `token` is meant as one of our keys (well formed or not).
pub(crate) fn is_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// The id and secret of a well-formed key.
pub(crate) fn split(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let secret_ok = secret.len() == SECRET_LEN && all_in(secret, &SECRET_BYTES);
    (is_id(id) && secret_ok).then_some((id, secret))
}

/// Whether `id` has the shape of a key id (a path segment of the revoke route).
pub(crate) fn is_id(id: &str) -> bool {
    id.len() == ID_LEN && all_in(id, &ID_BYTES)
}

/// Checked on every request that carries a key: a table lookup per byte.
fn all_in(text: &str, allowed: &[bool; 256]) -> bool {
    text.bytes().all(|b| allowed[usize::from(b)])
}

const ID_BYTES: [bool; 256] = byte_set(b"0123456789abcdef");
const SECRET_BYTES: [bool; 256] =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        set[bytes[i] as usize] = true;
        i += 1;
    }
    set
}

/// SHA-256 of the secret, hexadecimal. A plain hash is enough here, unlike for passwords:
/// the secret is 256 random bits, so a stolen digest cannot be reversed by guessing, and
/// a slow hash (bcrypt, Argon2) would only make every request slower.
pub(crate) fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `secret` hashes to `stored`, in time independent of where they differ.
pub(crate) fn matches(secret: &str, stored: &str) -> bool {
    let hash = Sha256::digest(secret.as_bytes());
    let stored = stored.as_bytes();
    if stored.len() != 64 {
        return false;
    }
    let mut diff = 0u8;
    for (i, byte) in hash.iter().enumerate() {
        let hi = HEX[usize::from(byte >> 4)];
        let lo = HEX[usize::from(byte & 0x0f)];
        diff |= (hi ^ stored[2 * i]) | (lo ^ stored[2 * i + 1]);
    }
    diff == 0
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape_and_verify_against_their_digest() {
        let new = generate();
        assert!(new.key.starts_with("toidc_"));
        assert_eq!(new.key.len(), 6 + 24 + 1 + 43);
        let (id, secret) = split(&new.key).expect("well formed");
        assert_eq!(id, new.id);
        assert!(is_id(id));
        assert!(matches(secret, &new.hash));
        assert_eq!(digest(secret), new.hash);
        assert!(!format!("{new:?}").contains(secret));
    }

    #[test]
    fn two_keys_share_nothing() {
        let (a, b) = (generate(), generate());
        assert_ne!(a.id, b.id);
        assert_ne!(a.key, b.key);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn malformed_keys_and_wrong_secrets_are_refused() {
        let new = generate();
        let (id, secret) = split(&new.key).expect("well formed");
        let mut other = secret.to_owned();
        other.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
        assert!(!matches(&other, &new.hash));
        assert!(!matches(secret, "00"));
        for bad in [
            "toidc_".to_owned(),
            format!("toidc_{id}"),
            format!("toidc_{id}_"),
            format!("toidc_{}_{secret}", id.to_uppercase()),
            format!("toidc_{id}x_{secret}"),
            format!("toidc_{id}_{secret}="),
            format!("toidc_{id}_{}", &secret[1..]),
            format!("toidc_{id}_{}.", &secret[1..]),
        ] {
            assert!(split(&bad).is_none(), "{bad}");
        }
        assert!(is_key("toidc_anything") && !is_key("eyJhbGciOi"));
    }
}
