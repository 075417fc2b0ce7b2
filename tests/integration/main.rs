//! Integration tests: real loopback servers for the app and the mock OpenID Provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod authorization;
mod bearer;
mod callback_failures;
mod login_flow;
mod open_redirect;
mod outage;
mod refresh;
mod requests;
mod stores;
mod two_services;
mod user_details;
