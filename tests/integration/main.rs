//! Integration tests: real loopback servers for the app and the mock OpenID Provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod authorization;
mod backchannel;
mod backends;
mod bearer;
mod behaviour;
mod callback_failures;
mod custom_store;
mod flaskoidc_env;
mod login_flow;
mod logout_wins;
mod open_redirect;
mod outage;
mod refresh;
mod replay;
mod requests;
mod rp_certification;
mod secrets;
mod security_review;
mod stores;
mod two_services;
mod user_app;
mod user_details;
