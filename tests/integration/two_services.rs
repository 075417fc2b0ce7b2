//! The two-service example, end to end: its own code, included here.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/two_services.rs"]
mod example;

#[tokio::test]
async fn frontend_calls_the_api_with_the_users_token() {
    let services = example::start().await.expect("services");
    let body = example::self_test(&services).await.expect("self-test");
    assert_eq!(body["api_user"]["display_name"], "Alice Example");
    assert_eq!(body["frontend_user"]["profile_url"], "/user/alice");
    assert!(
        services.provider.stats().jwks >= 1,
        "the API verified the token"
    );
}

#[tokio::test]
async fn frontend_calls_the_api_with_a_dpop_bound_token() {
    let services = example::start_with(true).await.expect("services");
    let body = example::self_test(&services).await.expect("self-test");
    assert_eq!(body["api_user"]["user_id"], "alice");
    assert_eq!(body["frontend_user"]["email"], "alice@example.com");
    assert_eq!(
        services.provider.stats().dpop_proofs,
        1,
        "the frontend's code exchange carried a proof"
    );
}
