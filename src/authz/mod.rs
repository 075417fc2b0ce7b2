//! Authorization on the signed-in identity: requirements on claims, checked per request,
//! and the gate the framework adapters put in front of a group of routes.

mod claims;
mod denied;
pub(crate) mod found;
pub(crate) mod gate;
mod page;
mod require;
mod step_up;

pub use denied::{ClaimExpectation, Denied};
pub(crate) use found::{AuthContext, Authentication};
pub use page::AccessDeniedPage;
pub(crate) use require::auth_too_old;
pub use require::Require;
