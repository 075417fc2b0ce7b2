//! End-to-end tests in a real browser: headless Chromium, driven over WebDriver, signs in to
//! the example apps (`examples/axum_app.rs`, `examples/actix_app.rs`, run as child
//! processes configured from their environment) at the OpenID-Certified `oidc-provider`.
//!
//! The provider runs on `http://localhost:…` and the apps on `http://127.0.0.1:…`: two
//! sites, so the browser applies its SameSite rules as it does in production.
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver`, `node` and `npm ci` run in
//! `tests/interop`. Without them every test says why it did not run and passes, unless
//! `CI=true`, where that is a failure. Screenshots of the pages the layer renders land in
//! `target/browser-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod chrome;
mod harness;
mod pages;
#[allow(dead_code)]
#[path = "../interop/provider.rs"]
mod provider;
#[cfg(feature = "testing")]
mod providers;
mod scenarios;
