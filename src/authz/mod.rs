//! Authorization on the signed-in identity: requirements on claims, checked per request,
//! and the gate the framework adapters put in front of a group of routes.

mod claims;
mod denied;
pub(crate) mod found;
pub(crate) mod gate;
mod page;
mod require;

pub use denied::{ClaimExpectation, Denied};
pub(crate) use found::{AuthContext, Authentication};
pub use page::AccessDeniedPage;
pub use require::Require;
