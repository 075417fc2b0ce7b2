//! `response_mode=form_post` on both frameworks: the provider's cross-site POST reaches
//! the callback without the login cookie, is relayed once from the app's own origin, and
//! the relayed POST signs in only with the cookie whose state it names.

use reqwest::StatusCode;
use tower_oidc::testing::MockProvider;
use tower_oidc::ResponseMode;
use url::Url;

use crate::harness::{location, Browser, Framework, TestApp};

/// The `name="…" value="…"` hidden inputs of the relay page.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input ")
        .skip(1)
        .filter_map(|input| {
            let attr = |name: &str| {
                let start = input.find(&format!("{name}=\""))? + name.len() + 2;
                let end = input[start..].find('"')? + start;
                Some(
                    input[start..end]
                        .replace("&amp;", "&")
                        .replace("&quot;", "\""),
                )
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

async fn form_post_signs_in_through_the_same_site_relay(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |config| {
        config.response_mode(ResponseMode::FormPost)
    })
    .await;
    let browser = Browser::default();
    let authorize = location(&browser.get(app.at("/login")).await).expect("authorize");
    assert!(
        authorize
            .query_pairs()
            .any(|(name, value)| name == "response_mode" && value == "form_post"),
        "{authorize}"
    );
    // The mock answers with a redirect; its query is what a form_post page would post.
    let answer = location(&browser.get(authorize).await).expect("callback");
    let fields: Vec<(String, String)> = answer
        .query_pairs()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut callback: Url = answer.clone();
    callback.set_query(None);

    // The cross-site POST carries no SameSite=Lax cookie: the relay page answers.
    let relay = reqwest::Client::new()
        .post(callback.clone())
        .header("accept", "text/html")
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert_eq!(relay.status(), StatusCode::OK);
    let page = relay.text().await.expect("page");
    let relayed = hidden_fields(&page);
    for field in &fields {
        assert!(relayed.contains(field), "{field:?} in {page}");
    }
    assert!(!browser.has_session(&app));

    // Relayed a second time without the cookie: refused, never relayed again.
    let again = reqwest::Client::new()
        .post(callback.clone())
        .header("accept", "text/html")
        .form(&relayed)
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // The relayed POST from the app's page carries the cookie.
    let done = browser
        .client
        .post(callback)
        .header("accept", "text/html")
        .form(&relayed)
        .send()
        .await
        .expect("post");
    assert!(done.status().is_redirection(), "{}", done.status());
    assert!(browser.has_session(&app));
    assert_eq!(provider.stats().token_code, 1);
}

/// Without form_post configured, a POST to the callback is refused as before.
async fn the_callback_takes_posts_only_in_form_post_mode(framework: Framework) {
    let provider = MockProvider::start().await.expect("provider");
    let app = TestApp::start_on(framework, &provider, |config| config).await;
    let post = reqwest::Client::new()
        .post(app.at("/auth"))
        .form(&[("code", "x"), ("state", "y")])
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

both!(
    form_post_signs_in_through_the_same_site_relay,
    the_callback_takes_posts_only_in_form_post_mode
);
