//! The scenarios, each on the axum and on the actix-web example.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::app::Framework;
use crate::harness::{scenario, Setup, SIGNED_OUT_PATH};

/// A scenario as two tests, `…::axum` and `…::actix`.
macro_rules! both {
    ($(#[$meta:meta])* async fn $name:ident($framework:ident: Framework) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($framework: Framework) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn axum() {
                run(Framework::Axum).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn actix() {
                run(Framework::Actix).await;
            }
        }
    };
}

both! {
    /// A user opening a private page signs in at the provider's form and lands on the page
    /// they asked for, query included; a reload keeps them signed in.
    async fn sign_in_lands_on_the_page_first_asked_for(framework: Framework) {
        scenario(Setup::new(framework), |world| async move {
            world.browser.goto(&world.at("/me?tab=profile")).await;
            world.wait_for_login_form().await;
            let (url, _) = world.sign_in("ann").await;
            assert_eq!(url, world.at("/me?tab=profile"));
            let me = world.page_json().await;
            assert_eq!(me["user_id"], "ann");
            assert_eq!(me["claims"]["email"], "ann@example.com");
            assert_eq!(world.grants("authorization_code").await, 1);
            world
        })
        .await;
    }
}

both! {
    /// A reload, and opening another private page, use the session: no trip to the
    /// provider, no second code exchange.
    async fn reload_stays_signed_in(framework: Framework) {
        scenario(Setup::new(framework), |world| async move {
            world.browser.goto(&world.at("/")).await;
            world.sign_in("ann").await;
            for _ in 0..3 {
                world.browser.client.refresh().await.expect("reload");
                let (url, text) = world
                    .browser
                    .wait_until("the home page", |url, _| world.at_app(url))
                    .await;
                assert_eq!(url, world.at("/"));
                assert_eq!(text.trim(), "Hello, ann!");
            }
            world.browser.goto(&world.at("/api/data")).await;
            assert_eq!(world.page_json().await["user_id"], "ann");
            assert_eq!(world.grants("authorization_code").await, 1);
            world
        })
        .await;
    }
}

both! {
    /// With a two-second access token, pages opened after it expired still show: the layer
    /// refreshed the token behind the user's back.
    async fn refresh_after_the_access_token_expires(framework: Framework) {
        let mut setup = Setup::new(framework);
        setup.access_token_ttl = Duration::from_secs(2);
        scenario(setup, |world| async move {
            world.browser.goto(&world.at("/me")).await;
            world.sign_in("ann").await;
            let first = world.page_json().await;
            assert_eq!(first["user_id"], "ann");
            tokio::time::sleep(Duration::from_secs(3)).await;
            world.browser.client.refresh().await.expect("reload");
            let (url, _) = world
                .browser
                .wait_until("the page again", |url, _| world.at_app(url))
                .await;
            assert_eq!(url, world.at("/me"), "no visit to the provider");
            assert_eq!(world.page_json().await["user_id"], "ann");
            assert!(world.grants("refresh_token").await >= 1, "the token was refreshed");
            assert_eq!(world.grants("authorization_code").await, 1);
            world
        })
        .await;
    }
}

both! {
    /// Logout ends the app's session and the provider's: afterwards the back button shows
    /// no private page, and the next visit asks for a password again.
    async fn logout_ends_both_sessions_and_back_shows_nothing_private(framework: Framework) {
        scenario(Setup::new(framework), |world| async move {
            world.browser.goto(&world.at("/me")).await;
            world.sign_in("ann").await;
            assert_eq!(world.page_json().await["user_id"], "ann");
            world.browser.goto(&world.at("/logout")).await;
            world.confirm_provider_logout().await;
            let (url, _) = world
                .browser
                .wait_until("the signed-out page", |url, _| world.at_app(url))
                .await;
            assert_eq!(url.path(), SIGNED_OUT_PATH);
            assert!(
                world.browser.cookies().await.iter().all(|(name, _)| !name.contains("tower_oidc")),
                "session cookies removed: {:?}",
                world.browser.cookies().await
            );
            // Back through the history: no page shows the user's data.
            for _ in 0..3 {
                world.browser.client.back().await.expect("back");
                tokio::time::sleep(Duration::from_millis(300)).await;
                let url = world.browser.url().await;
                let text = world.browser.text().await;
                assert!(
                    !text.contains("\"user_id\""),
                    "the back button showed a private page at {url}:\n{text}"
                );
            }
            // The provider's session is over too: it asks for the password again.
            world.browser.goto(&world.at("/me")).await;
            world.wait_for_login_form().await;
            world
        })
        .await;
    }
}

both! {
    /// Two tabs opened on private pages before signing in both end up signed in, each on
    /// its own page.
    async fn two_tabs_starting_logins_at_once_both_finish(framework: Framework) {
        scenario(Setup::new(framework), |world| async move {
            let client = &world.browser.client;
            let first = client.window().await.expect("window");
            world.browser.goto(&world.at("/me?tab=one")).await;
            world.wait_for_login_form().await;
            let second = client.new_window(true).await.expect("new tab").handle;
            client.switch_to_window(second.clone()).await.expect("switch");
            world.browser.goto(&world.at("/me?tab=two")).await;
            world.wait_for_login_form().await;

            client.switch_to_window(first).await.expect("switch");
            let (url, _) = world.sign_in("ann").await;
            assert_eq!(url, world.at("/me?tab=one"));
            assert_eq!(world.page_json().await["user_id"], "ann");

            client.switch_to_window(second).await.expect("switch");
            let (url, _) = world.sign_in("ann").await;
            assert_eq!(url, world.at("/me?tab=two"));
            assert_eq!(world.page_json().await["user_id"], "ann");
            world
        })
        .await;
    }
}

/// Group names long enough that the session needs several cookies.
fn many_groups() -> Vec<String> {
    (0..70)
        .map(|i| format!("platform-engineering-team-{i:03}"))
        .collect()
}

both! {
    /// A user with many groups: the session is split into several cookies, each under the
    /// browser's 4096-byte limit, all of them together under the 8 KiB most servers accept
    /// for one header; it survives reloads.
    async fn a_large_session_survives_in_cookie_chunks(framework: Framework) {
        let mut setup = Setup::new(framework);
        setup.extra_claims = json!({ "grace": { "groups": many_groups() } });
        scenario(setup, |world| async move {
            world.browser.goto(&world.at("/me")).await;
            world.sign_in("grace").await;
            for _ in 0..2 {
                let me = world.page_json().await;
                assert_eq!(me["user_id"], "grace");
                assert_eq!(me["claims"]["groups"], json!(many_groups()));
                world.browser.client.refresh().await.expect("reload");
            }
            let cookies = world.browser.cookies().await;
            let session: Vec<_> = cookies
                .iter()
                .filter(|(name, _)| name.contains("tower_oidc"))
                .collect();
            assert!(session.len() >= 2, "several chunks: {session:?}");
            for (name, value) in &cookies {
                assert!(
                    name.len() + value.len() <= 4096,
                    "cookie {name} has {} bytes",
                    name.len() + value.len()
                );
            }
            let header: usize = cookies
                .iter()
                .map(|(name, value)| name.len() + 1 + value.len())
                .sum::<usize>()
                + 2 * cookies.len().saturating_sub(1);
            assert!(header < 8192, "the Cookie header has {header} bytes");
            assert_eq!(world.grants("authorization_code").await, 1);
            world
        })
        .await;
    }
}

both! {
    /// Script on a public page calling the API without a session gets `401` JSON, not a
    /// redirect to the provider (which `fetch` could not follow anyway).
    async fn an_api_fetch_without_a_session_gets_401_json(framework: Framework) {
        scenario(Setup::new(framework), |world| async move {
            world.browser.goto(&world.at(SIGNED_OUT_PATH)).await;
            let answer = world
                .browser
                .run_async(
                    "const done = arguments[0];
                     fetch('/api/data').then(async (r) => done({
                         status: r.status,
                         redirected: r.redirected,
                         url: r.url,
                         type: r.headers.get('content-type'),
                         body: await r.text(),
                     })).catch((e) => done({ error: String(e) }));",
                )
                .await;
            assert_eq!(answer["status"], 401, "{answer}");
            assert_eq!(answer["redirected"], false, "{answer}");
            assert_eq!(answer["url"], world.at("/api/data").as_str());
            assert!(
                answer["type"].as_str().unwrap_or("").starts_with("application/json"),
                "{answer}"
            );
            let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or(""))
                .expect("a JSON body");
            assert!(body["error"].is_string(), "{body}");
            world
        })
        .await;
    }
}

both! {
    /// A signed-in user who lacks a required claim sees the 403 page, once: no loop back to
    /// the provider.
    async fn a_user_failing_a_requirement_sees_the_403_page(framework: Framework) {
        let mut setup = Setup::new(framework);
        setup.env.push(("OIDC_REQUIRED_CLAIMS", "groups=admins".into()));
        setup.extra_claims = json!({ "bob": { "groups": ["staff"] } });
        scenario(setup, move |world| async move {
            world.browser.goto(&world.at("/me")).await;
            let (url, _) = world.sign_in("bob").await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(world.browser.url().await, url, "it stays");
            assert_eq!(world.browser.title().await, "Access denied");
            let text = world.browser.text().await;
            assert!(text.contains("bob"), "{text}");
            assert_eq!(world.grants("authorization_code").await, 1, "signed in once");
            if framework == Framework::Axum {
                world.browser.screenshots("access-denied").await;
            }
            // The page's sign-out button works.
            world
                .browser
                .client
                .find(Locator::Css("form button[type=submit], a[href$=logout]"))
                .await
                .expect("a way to sign out")
                .click()
                .await
                .expect("sign out");
            world.confirm_provider_logout().await;
            world
                .browser
                .wait_until("the signed-out page", |url, _| url.path() == SIGNED_OUT_PATH)
                .await;
            world
        })
        .await;
    }
}

both! {
    /// A browser that refuses the app's cookies gets a page explaining that cookies are
    /// needed after signing in at the provider, and stays there: no redirect loop.
    async fn a_cookie_refusing_browser_gets_a_clear_page(framework: Framework) {
        let mut setup = Setup::new(framework);
        setup.refuse_app_cookies = true;
        scenario(setup, move |world| async move {
            world.browser.goto(&world.at("/me")).await;
            let (url, text) = world.sign_in("ann").await;
            assert_eq!(url.path(), "/auth");
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(world.browser.url().await, url, "no redirect after the page");
            assert!(text.to_lowercase().contains("cookie"), "{text}");
            assert_eq!(world.grants("authorization_code").await, 0);
            if framework == Framework::Axum {
                world.browser.screenshots("cookies-refused").await;
            }
            world
        })
        .await;
    }
}
