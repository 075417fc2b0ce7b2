//! Verifying JSON Web Tokens signed by the provider, and the claims they lead to.

pub(crate) mod body;
pub(crate) mod claim_sources;
pub(crate) mod header;
pub(crate) mod id_token;
pub(crate) mod jwt;
pub(crate) mod logout_token;
pub(crate) mod peek;
pub(crate) mod protocol_claims;
pub(crate) mod registered_claims;
pub(crate) mod signing_alg;
