//! Claims that belong to the protocol, not to the user's profile.

/// Claims about the protocol: userinfo and claim sources must never set them.
pub(crate) const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "azp",
    "auth_time",
    "at_hash",
    "c_hash",
    "sid",
    "acr",
    "amr",
    "jti",
];
