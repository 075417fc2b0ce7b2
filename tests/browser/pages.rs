//! The pages the layer renders itself, opened in the browser, checked for what a person
//! needs (a language, a viewport, a title, nothing loaded from elsewhere) and saved as
//! screenshots in `target/browser-screenshots/`.

use std::time::Duration;

use fantoccini::Locator;

use crate::app::Framework;
use crate::harness::{scenario, Setup, World, SIGNED_OUT_PATH};

/// Checks the page the browser shows is one of the layer's: `title`, English, a mobile
/// viewport, no request for anything but the page, no horizontal scrolling on a phone.
async fn check_page(world: &World, title: &str, name: &str) {
    assert_eq!(world.browser.title().await, title);
    let facts = world
        .browser
        .client
        .execute(
            "return {
                lang: document.documentElement.lang,
                viewport: !!document.querySelector('meta[name=viewport]'),
                resources: performance.getEntriesByType('resource').map((r) => r.name),
                h1: (document.querySelector('h1') || {}).textContent || '',
             };",
            Vec::new(),
        )
        .await
        .expect("page facts");
    assert_eq!(facts["lang"], "en", "{facts}");
    assert_eq!(facts["viewport"], true, "{facts}");
    assert_eq!(
        facts["resources"],
        serde_json::json!([]),
        "nothing loaded from elsewhere: {facts}"
    );
    assert!(!facts["h1"].as_str().unwrap_or("").is_empty(), "{facts}");
    world.browser.screenshots(name).await;
    world
        .browser
        .client
        .set_window_size(390, 760)
        .await
        .expect("resize");
    let overflow = world
        .browser
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            Vec::new(),
        )
        .await
        .expect("overflow");
    world
        .browser
        .client
        .set_window_size(1024, 768)
        .await
        .expect("resize");
    assert_eq!(overflow, false, "the page fits a phone's width");
}

/// The user cancels at the provider: the provider's error comes back to the callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_error_page() {
    scenario(Setup::new(Framework::Axum), |world| async move {
        world.browser.goto(&world.at("/me")).await;
        world.wait_for_login_form().await;
        world
            .browser
            .client
            .find(Locator::Css("a[href$=abort]"))
            .await
            .expect("the provider's cancel link")
            .click()
            .await
            .expect("cancel");
        let (url, text) = world
            .browser
            .wait_until("the app's error page", |url, _| world.at_app(url))
            .await;
        assert_eq!(url.path(), "/auth");
        assert!(text.contains("access_denied"), "{text}");
        check_page(&world, "Sign-in failed", "provider-error").await;
        // Its link starts a new sign-in.
        world
            .browser
            .client
            .find(Locator::LinkText("Sign in again"))
            .await
            .expect("a link to sign in again")
            .click()
            .await
            .expect("click");
        world.wait_for_login_form().await;
        world
    })
    .await;
}

/// The provider cannot be reached: the sign-in cannot start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_unavailable_page() {
    let mut setup = Setup::new(Framework::Axum);
    setup.provider_down = true;
    scenario(setup, |world| async move {
        world.browser.goto(&world.at("/me")).await;
        let (url, _) = world
            .browser
            .wait_until("the error page", |url, _| world.at_app(url))
            .await;
        assert!(url.path() == "/me" || url.path() == "/login", "{url}");
        check_page(&world, "Sign-in unavailable", "provider-unavailable").await;
        world
    })
    .await;
}

/// A callback whose sign-in the browser never started (an old bookmark, a replay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_state_page() {
    scenario(Setup::new(Framework::Axum), |world| async move {
        // A sign-in started (its cookie set), then a callback for another one.
        world.browser.goto(&world.at("/me")).await;
        world.wait_for_login_form().await;
        world
            .browser
            .goto(&world.at("/auth?state=no-such-sign-in&code=abc"))
            .await;
        let text = world.browser.text().await;
        assert!(text.contains("invalid_state"), "{text}");
        check_page(&world, "Sign-in failed", "invalid-state").await;
        world
    })
    .await;
}

/// Another site sends the user to the logout route: the app asks first, and the user's
/// answer works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_logout_confirmation_page() {
    scenario(Setup::new(Framework::Axum), |world| async move {
        world.browser.goto(&world.at("/me")).await;
        world.sign_in("ann").await;
        // A page of the other site (the provider's) links to the app's logout.
        let elsewhere = world
            .provider()
            .issuer
            .join("/.well-known/openid-configuration")
            .expect("url");
        world.browser.goto(&elsewhere).await;
        world
            .browser
            .client
            .execute(
                "location.href = arguments[0];",
                vec![world.at("/logout").to_string().into()],
            )
            .await
            .expect("follow the link");
        world
            .browser
            .wait_until("the confirmation page", |url, _| world.at_app(url))
            .await;
        check_page(&world, "Sign out?", "logout-confirm").await;
        // "Stay signed in" keeps the session.
        world
            .browser
            .client
            .find(Locator::LinkText("Stay signed in"))
            .await
            .expect("stay link")
            .click()
            .await
            .expect("click");
        tokio::time::sleep(Duration::from_millis(300)).await;
        world.browser.goto(&world.at("/api/data")).await;
        assert_eq!(world.page_json().await["user_id"], "ann");
        // "Sign out" signs out.
        world.browser.goto(&elsewhere).await;
        world
            .browser
            .client
            .execute(
                "location.href = arguments[0];",
                vec![world.at("/logout").to_string().into()],
            )
            .await
            .expect("follow the link");
        world
            .browser
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("form button[type=submit]"))
            .await
            .expect("the sign-out button")
            .click()
            .await
            .expect("sign out");
        world.confirm_provider_logout().await;
        world
            .browser
            .wait_until("the signed-out page", |url, _| {
                world.at_app(url) && url.path() == SIGNED_OUT_PATH
            })
            .await;
        world
    })
    .await;
}
