//! Authorization on the signed-in identity: requirements on claims, checked per request.

mod claims;
mod denied;
mod layer;
mod require;

pub(crate) use denied::render_denied;
pub use denied::AccessDeniedPage;
pub use layer::{RequireLayer, RequireService};
pub use require::Require;
