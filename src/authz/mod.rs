//! Authorization on the signed-in identity: requirements on claims, checked per request.

mod claims;
mod denied;
pub(crate) mod gate;
mod layer;
mod page;
mod require;

pub use denied::{ClaimExpectation, Denied};
pub use layer::{RequireLayer, RequireService};
pub(crate) use page::render_denied;
pub use page::AccessDeniedPage;
pub use require::Require;
