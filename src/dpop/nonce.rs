//! Server nonces (RFC 9449, section 9) without server state: a nonce names a time slot and
//! carries a MAC of it, so every instance sharing the secret key accepts the others' nonces.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// How long a nonce is issued for; one is accepted during its slot and the next one.
const SLOT_SECS: u64 = 300;
/// MAC bytes kept in a nonce.
const MAC_BYTES: usize = 16;

pub(crate) struct Nonces {
    key: hmac::Key,
}

impl Nonces {
    /// Nonces keyed from the layer's secret key.
    pub(crate) fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"tower-oidc dpop nonce"),
            secret,
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The nonce to hand out at `now` (Unix seconds).
    pub(crate) fn issue(&self, now: u64) -> String {
        self.for_slot(now / SLOT_SECS)
    }

    fn for_slot(&self, slot: u64) -> String {
        let slot = slot.to_be_bytes();
        let tag = hmac::sign(&self.key, &slot);
        let mut bytes = slot.to_vec();
        bytes.extend_from_slice(tag.as_ref().get(..MAC_BYTES).unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was issued by [`Nonces::issue`] in this slot or the previous one.
    pub(crate) fn is_fresh(&self, nonce: &str, now: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((slot, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let slot = u64::from_be_bytes(*slot);
        let current = now / SLOT_SECS;
        if slot != current && slot.saturating_add(1) != current {
            return false;
        }
        self.matches_truncated(slot, tag)
    }

    fn matches_truncated(&self, slot: u64, tag: &[u8]) -> bool {
        let full = hmac::sign(&self.key, &slot.to_be_bytes());
        let expected = full.as_ref().get(..MAC_BYTES).unwrap_or_default();
        tag.len() == MAC_BYTES
            && aws_lc_rs::constant_time::verify_slices_are_equal(expected, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_for_its_slot_and_the_next() {
        let nonces = Nonces::new(b"secret key material");
        let now = 1_000_000_000;
        let nonce = nonces.issue(now);
        assert!(nonces.is_fresh(&nonce, now));
        assert!(nonces.is_fresh(&nonce, now + SLOT_SECS));
        assert!(!nonces.is_fresh(&nonce, now + 2 * SLOT_SECS));
        assert!(!Nonces::new(b"another key").is_fresh(&nonce, now));
        assert!(!nonces.is_fresh("", now));
        assert!(!nonces.is_fresh("not base64!", now));
        let mut forged = URL_SAFE_NO_PAD.decode(&nonce).expect("base64");
        forged[10] ^= 1;
        assert!(!nonces.is_fresh(&URL_SAFE_NO_PAD.encode(forged), now));
    }
}
