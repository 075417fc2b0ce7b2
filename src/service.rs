//! The tower plumbing behind [`OidcLayer`](crate::OidcLayer) and
//! [`RequireLayer`](crate::RequireLayer): the services they make, their response future and
//! body. These types appear in signatures (a router's service type, a bound in generic
//! code); applications rarely name them.

pub use crate::middleware::{OidcBody, OidcService, RequireService, ResponseFuture};
