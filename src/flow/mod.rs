//! The OpenID Connect flows: login, callback, logout and token refresh.

pub(crate) mod backchannel;
pub(crate) mod callback;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod oauth;
pub(crate) mod refresh;
pub(crate) mod reload_user;
pub(crate) mod userinfo;
