//! The switches that make the mock provider misbehave or change its setup.

/// A deliberate protocol violation the mock provider commits until cleared
/// with [`MockProvider::set_misbehavior(None)`](super::MockProvider::set_misbehavior).
///
/// Claim-level faults apply to ID tokens only; header and signature faults
/// ([`BadSignature`](Self::BadSignature), [`AlgNone`](Self::AlgNone),
/// [`HmacWithPublicKey`](Self::HmacWithPublicKey), [`KidAbsent`](Self::KidAbsent),
/// [`KidAbsentSingleKey`](Self::KidAbsentSingleKey)) apply to access tokens
/// too, including those from
/// [`MockProvider::mint_access_token`](super::MockProvider::mint_access_token),
/// so bearer-token validation can be tested against them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misbehavior {
    /// Tokens carry a signature that does not verify: RS256-signed by a key that is never
    /// published under the kid of the active RSA key, or, when ES256 is selected, an ES256
    /// signature with flipped bits.
    BadSignature,
    /// The ID token's `iss` is not the provider's issuer.
    WrongIssuer,
    /// The ID token's `aud` is another client.
    WrongAudience,
    /// The ID token's `aud` is `[client_id, "other-client"]` and it has no `azp`.
    MultipleAudiencesNoAzp,
    /// The ID token's `azp` is `"other-client"`.
    WrongAzp,
    /// The ID token expired ten minutes ago (`exp` = now − 600, `iat` = now − 900).
    Expired,
    /// The ID token's `iat` is an hour in the future (its `exp` is moved along).
    IatInFuture,
    /// The ID token has no `iat`.
    MissingIat,
    /// The ID token has no `sub`.
    MissingSub,
    /// The ID token has no `exp`.
    MissingExp,
    /// The ID token carries a nonce other than the one the RP sent.
    NonceMismatch,
    /// The ID token carries no nonce even though the RP sent one.
    MissingNonce,
    /// Tokens have the header `{"alg":"none"}` and an empty signature.
    AlgNone,
    /// Tokens are HS256-signed with the active RSA public key's PEM text as
    /// the HMAC secret (the key-confusion attack), under the active RSA kid.
    HmacWithPublicKey,
    /// Tokens carry no kid while the JWKS publishes several keys of the
    /// same type (both RSA keys and the EC key), so the key is ambiguous.
    KidAbsent,
    /// Tokens are RS256-signed by the active RSA key without a kid, and the
    /// JWKS publishes only that key.
    KidAbsentSingleKey,
    /// The userinfo endpoint answers with a `sub` other than the ID token's.
    UserinfoBadSub,
    /// The discovery document's `issuer` differs from the URL it was served from.
    DiscoveryIssuerMismatch,
    /// The JWKS endpoint answers 200 with the body `not json`.
    GarbageJwks,
    /// The token endpoint answers 400 `invalid_grant` to code grants.
    TokenEndpointError,
    /// The token endpoint answers 400 `invalid_grant` to refresh grants.
    RefreshFails,
    /// Token responses (code and refresh grants) carry no `id_token`.
    OmitIdToken,
    /// The authorize endpoint redirects back with `error=access_denied`.
    AuthorizeError,
    /// Signed userinfo (see
    /// [`MockProvider::set_userinfo_signed`](super::MockProvider::set_userinfo_signed))
    /// carries a signature that does not verify; ID and access tokens stay correct.
    UserinfoBadSignature,
    /// Aggregated claims JWTs and the answers of the distributed claims endpoint are
    /// signed by a key that is never published; ID and access tokens stay correct.
    ClaimSourceBadSignature,
    /// The distributed claims endpoint waits 30 seconds before answering.
    SlowClaimSource,
    /// The distributed claims endpoint answers a body of 1 MiB.
    OversizedClaimSource,
}

/// The algorithm (and so the key) tokens are signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockAlg {
    /// RS256 with the active RSA key (`rsa-1` or, after a rotation, `rsa-2`).
    Rs256,
    /// ES256 with the P-256 key `ec-1`.
    Es256,
    /// HS256 keyed with the client secret, no kid: for a client registered for HS256.
    Hs256,
    /// HS384 keyed with the client secret, no kid.
    Hs384,
    /// HS512 keyed with the client secret, no kid.
    Hs512,
    /// Unsigned (`{"alg":"none"}`, empty signature): for a client registered for `none`.
    None,
}

/// Where the mock puts the `_claim_names` and `_claim_sources` of aggregated or
/// distributed claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsPlace {
    /// In the ID token.
    IdToken,
    /// In the userinfo response.
    Userinfo,
}

/// A defect of the logout tokens the mock posts to the back-channel logout URI (see
/// [`MockProvider::set_backchannel_logout_uri`](super::MockProvider::set_backchannel_logout_uri)),
/// one per certification case `rp-backchannel-rpinitlogout-lt-*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutTokenDefect {
    /// Signed with another algorithm than the ID tokens, with a published key: ES256 with
    /// `ec-1` when ID tokens use RS256, else RS256 with the active RSA key.
    WrongAlg,
    /// Unsigned (`alg: none`).
    AlgNone,
    /// `aud` is another client.
    WrongAudience,
    /// No `events` claim.
    NoEvent,
    /// `events` lacks the back-channel logout event.
    WrongEvent,
    /// `iss` is not the provider's issuer.
    WrongIssuer,
    /// Carries a `nonce`.
    WithNonce,
    /// `sid` names no session the RP knows (`sub` is still the user's).
    WrongSid,
}

/// Which client authentication methods the token endpoint accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockClientAuth {
    /// `client_secret_basic` and `client_secret_post`.
    Any,
    /// Only `client_secret_basic` (HTTP Basic).
    Basic,
    /// Only `client_secret_post` (form fields).
    Post,
}

impl MockClientAuth {
    /// The discovery document's `token_endpoint_auth_methods_supported`.
    pub(crate) fn advertised(self) -> &'static [&'static str] {
        match self {
            MockClientAuth::Any => &["client_secret_basic", "client_secret_post"],
            MockClientAuth::Basic => &["client_secret_basic"],
            MockClientAuth::Post => &["client_secret_post"],
        }
    }
}
