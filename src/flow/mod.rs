//! The OpenID Connect flows: login, callback, logout, token refresh, bearer tokens and
//! back-channel logout. Each takes the shared [`Context`](crate::context::Context) and
//! what it needs of the request, and ends in an [`Outcome`](crate::outcome::Outcome).

#[cfg(feature = "api-keys")]
pub(crate) mod api_key_auth;
#[cfg(feature = "api-keys")]
pub(crate) mod api_key_routes;
pub(crate) mod backchannel;
pub(crate) mod bearer;
pub(crate) mod callback;
pub(crate) mod chooser;
pub(crate) mod dpop_check;
pub(crate) mod form_post;
pub(crate) mod frontchannel;
pub(crate) mod login;
pub(crate) mod login_params;
pub(crate) mod logout;
mod logout_confirm;
pub(crate) mod oauth;
mod par;
pub(crate) mod refresh;
pub(crate) mod reload_user;
pub(crate) mod resume;
pub(crate) mod revoke;
pub(crate) mod step_up;
pub(crate) mod store_session;
mod touch;
pub(crate) mod userinfo;
