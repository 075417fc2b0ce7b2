//! Integration tests: real loopback servers for the app and the mock OpenID Provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// `both!(case, ...)` defines `axum::case` and `actix::case` for each `async fn
/// case(Framework)` of the calling module (which imports `Framework`), so every case runs
/// on both frameworks. `both!(actix_runtime: ...)` runs the actix ones on actix's own
/// runtime, for cases whose futures are not `Send`.
macro_rules! both {
    (@with $actix_test:meta; $($case:ident),* $(,)?) => {
        mod axum {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Framework::Axum).await;
                }
            )*
        }
        mod actix {
            $(
                #[$actix_test]
                async fn $case() {
                    super::$case(super::Framework::Actix).await;
                }
            )*
        }
    };
    (actix_runtime: $($case:ident),* $(,)?) => {
        both!(@with actix_web::test; $($case),*);
    };
    ($($case:ident),* $(,)?) => {
        both!(@with tokio::test; $($case),*);
    };
}

mod harness;

mod api_keys;
mod authorization;
mod backchannel;
mod backends;
mod bearer;
mod behaviour;
mod callback_failures;
mod custom_store;
mod development;
mod dpop;
mod flaskoidc_env;
mod form_post;
mod health;
mod idle_timeout;
mod key_rotation;
mod lamini;
mod lifecycle;
mod login_flow;
mod logout_wins;
mod metrics;
mod near_cache;
mod near_cache_postgres;
mod open_redirect;
mod outage;
mod postgres_outage;
mod providers;
mod redis_deployments;
mod refresh;
mod replay;
mod requests;
mod rp_certification;
mod secrets;
mod security_review;
mod shared_refresh;
mod stores;
mod transport;
mod two_services;
mod user_app;
mod user_details;
