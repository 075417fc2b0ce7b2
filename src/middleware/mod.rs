//! The tower `Layer` and `Service` over the engine.

mod body;
pub(crate) mod future;
mod layer;
mod require;
mod service;

pub use body::OidcBody;
pub use future::ResponseFuture;
pub use layer::{OidcLayer, ProviderNotReady};
pub use require::{RequireLayer, RequireService};
pub use service::OidcService;
