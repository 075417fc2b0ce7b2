//! Interop tests against the OpenID-Certified `oidc-provider` (npm, 9.x), run by node on
//! 127.0.0.1: login, userinfo claims, refresh with rotation, RP-initiated logout and
//! authorization-code replay.
//!
//! Needs `node` on PATH and `npm ci` run in `tests/interop`. Without them every test says
//! why it did not run and passes, unless `CI=true`, where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod dpop;
mod enterprise;
mod flows;
mod harness;
mod provider;
mod providers;
