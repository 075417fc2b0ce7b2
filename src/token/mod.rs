//! Verifying JSON Web Tokens signed by the provider.

pub(crate) mod header;
pub(crate) mod id_token;
pub(crate) mod jwt;
