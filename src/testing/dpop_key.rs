//! A DPoP client key for tests of a resource server.

use crate::dpop::client_key::ClientKey;

/// An ES256 DPoP key (RFC 9449) that signs proofs the way a client would, to test a
/// resource server that accepts DPoP-bound tokens. Bind tokens to it with
/// [`MockProvider::mint_dpop_token`](super::MockProvider::mint_dpop_token).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use tower_oidc::testing::{DpopKey, MockProvider};
///
/// let provider = MockProvider::start().await?;
/// let key = DpopKey::generate();
/// let token = provider.mint_dpop_token("alice", &key);
/// let proof = key.proof("GET", "https://api.example.com/orders", Some(&token));
/// // Send `Authorization: DPoP {token}` and `DPoP: {proof}`.
/// assert_eq!(proof.split('.').count(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DpopKey {
    key: ClientKey,
}

impl DpopKey {
    /// A new random key.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            key: ClientKey::generate().expect("a P-256 key can be generated"),
        }
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it.
    #[must_use]
    pub fn jkt(&self) -> &str {
        self.key.jkt()
    }

    /// A fresh proof for `method` on `url` (query and fragment left out), with `ath` for
    /// `access_token` when given.
    #[must_use]
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        self.key
            .proof(method, url, access_token, None)
            .expect("a proof for a valid URL")
    }

    /// Like [`proof`](Self::proof), carrying a nonce the server gave (`DPoP-Nonce`).
    #[must_use]
    pub fn proof_with_nonce(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: &str,
    ) -> String {
        self.key
            .proof(method, url, access_token, Some(nonce))
            .expect("a proof for a valid URL")
    }

    /// The same claims and key as [`proof`](Self::proof), with the header and claims
    /// given here instead: to test how a server refuses malformed proofs.
    #[must_use]
    pub fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        self.key.sign(header, claims).expect("signed")
    }
}
