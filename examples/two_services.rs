//! The frontend → API pattern of flaskoidc deployments such as the Amundsen data catalog:
//! a browser-facing frontend signs users in and calls an API service with the user's access
//! token; the API accepts only bearer tokens. Both load the application's user through a
//! user-detail hook. Runs against the mock provider with no environment:
//!
//! ```sh
//! cargo run --example two_services --features testing              # then open the URL
//! cargo run --example two_services --features testing -- --self-test
//! cargo run --example two_services --features testing -- --self-test --dpop
//! ```
//!
//! With `--dpop`, the frontend's tokens are bound to a key of each session (RFC 9449) and
//! the API accepts only DPoP-bound tokens with a proof from the caller.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_oidc::testing::MockProvider;
use tower_oidc::{Config, DpopMode, Identity, OidcLayer, User, UserDetails};

/// An Amundsen-style user record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CatalogUser {
    user_id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    display_name: Option<String>,
    is_active: bool,
    profile_url: Option<String>,
}

fn catalog_user(user_id: &str, claims: &serde_json::Map<String, serde_json::Value>) -> CatalogUser {
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let full_name = text("name");
    CatalogUser {
        user_id: user_id.to_owned(),
        email: text("email"),
        first_name: text("given_name"),
        last_name: text("family_name"),
        display_name: full_name.clone(),
        full_name,
        is_active: true,
        profile_url: Some(format!("/user/{user_id}")),
    }
}

/// The frontend's hook: builds the user from the login's claims. A real service would first
/// look it up in its database and store what it built (Amundsen's `get_user_details`).
pub(crate) struct CatalogUsers;

impl UserDetails for CatalogUsers {
    type User = CatalogUser;
    type Error = std::convert::Infallible;

    async fn load_user(&self, identity: &Identity) -> Result<Option<CatalogUser>, Self::Error> {
        Ok(Some(catalog_user(identity.user_id(), identity.claims())))
    }
}

/// The API's hook: an access token carries few profile claims, so the profile comes from
/// the provider's userinfo endpoint, called once per token with the caller's own token.
pub(crate) struct ProviderProfiles {
    userinfo: String,
    client: reqwest::Client,
}

impl UserDetails for ProviderProfiles {
    type User = CatalogUser;
    type Error = reqwest::Error;

    async fn load_user(&self, identity: &Identity) -> Result<Option<CatalogUser>, Self::Error> {
        // A DPoP-bound token is good only with its holder's proofs: the API cannot call
        // userinfo with it, and takes the profile from the token's own claims.
        if identity.claim("cnf").is_some() {
            return Ok(Some(catalog_user(identity.user_id(), identity.claims())));
        }
        let Some(token) = identity.access_token() else {
            return Ok(None);
        };
        let profile: serde_json::Map<String, serde_json::Value> = self
            .client
            .get(&self.userinfo)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(Some(catalog_user(identity.user_id(), &profile)))
    }
}

/// The frontend and API services, running on loopback.
pub(crate) struct Services {
    pub(crate) provider: MockProvider,
    pub(crate) frontend_url: String,
    pub(crate) api_url: String,
}

fn base(provider: &MockProvider) -> tower_oidc::ConfigBuilder {
    Config::builder()
        .issuer(provider.issuer())
        .client_id(provider.client_id())
        .client_secret(provider.client_secret())
        .generate_secret_key()
        .cookie_secure(false)
}

/// The API service: bearer tokens only (DPoP-bound ones only with `dpop`), answers with
/// the caller's catalog user.
fn api(provider: &MockProvider, dpop: bool) -> Result<Router, tower_oidc::ConfigError> {
    let profiles = ProviderProfiles {
        userinfo: format!("{}/userinfo", provider.issuer()),
        client: reqwest::Client::new(),
    };
    let layer = OidcLayer::new(
        base(provider)
            .bearer_only(true)
            .dpop(if dpop {
                DpopMode::Required
            } else {
                DpopMode::Off
            })
            .user_details(profiles)
            .build()?,
    );
    Ok(Router::new()
        .route(
            "/api/metadata/v0/user",
            get(|User(user): User<CatalogUser>| async move { Json((*user).clone()) }),
        )
        .layer(layer))
}

/// The frontend: browser sessions; `/` calls the API with the signed-in user's token.
fn frontend(
    provider: &MockProvider,
    frontend_url: &str,
    api_url: String,
    dpop: bool,
) -> Result<Router, tower_oidc::ConfigError> {
    let layer = OidcLayer::new(
        base(provider)
            .redirect_uri(format!("{frontend_url}/auth"))
            .dpop_bind_tokens(dpop)
            .user_details(CatalogUsers)
            .build()?,
    );
    let client = reqwest::Client::new();
    Ok(Router::new()
        .route(
            "/",
            get(
                |State((client, api_url)): State<(reqwest::Client, String)>, identity: Identity| async move {
                    let url = format!("{api_url}/api/metadata/v0/user");
                    // A bound token travels with a fresh proof for this one call.
                    let request = match identity.dpop_headers("GET", &url) {
                        Some(headers) => client.get(&url).headers(headers),
                        None => {
                            let Some(authorization) = identity.authorization_header() else {
                                return Err((StatusCode::UNAUTHORIZED, "no access token".to_owned()));
                            };
                            client
                                .get(&url)
                                .header(reqwest::header::AUTHORIZATION, authorization.as_bytes())
                        }
                    };
                    let response = request
                        .send()
                        .await
                        .map_err(|err| (StatusCode::BAD_GATEWAY, err.to_string()))?;
                    if !response.status().is_success() {
                        return Err((StatusCode::BAD_GATEWAY, format!("API answered {}", response.status())));
                    }
                    let from_api: CatalogUser = response
                        .json()
                        .await
                        .map_err(|err| (StatusCode::BAD_GATEWAY, err.to_string()))?;
                    let mine = identity.user::<CatalogUser>();
                    Ok(Json(serde_json::json!({ "frontend_user": mine.as_deref(), "api_user": from_api })))
                },
            ),
        )
        .with_state((client, api_url))
        .layer(layer))
}

pub(crate) async fn start() -> Result<Services, Box<dyn std::error::Error>> {
    start_with(false).await
}

/// Both services; with `dpop`, the frontend binds its tokens to session keys and the API
/// requires DPoP.
pub(crate) async fn start_with(dpop: bool) -> Result<Services, Box<dyn std::error::Error>> {
    let provider = MockProvider::start().await?;
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_url = format!("http://{}", api_listener.local_addr()?);
    let frontend_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let frontend_url = format!("http://{}", frontend_listener.local_addr()?);
    let api = api(&provider, dpop)?;
    let frontend = frontend(&provider, &frontend_url, api_url.clone(), dpop)?;
    tokio::spawn(async move { axum::serve(api_listener, api).await });
    tokio::spawn(async move { axum::serve(frontend_listener, frontend).await });
    Ok(Services {
        provider,
        frontend_url,
        api_url,
    })
}

/// Signs in at the frontend like a browser and checks that the API saw the same user.
pub(crate) async fn self_test(
    services: &Services,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    let page = browser
        .get(format!("{}/", services.frontend_url))
        .header("accept", "text/html")
        .send()
        .await?;
    if !page.status().is_success() {
        return Err(format!("frontend answered {}", page.status()).into());
    }
    let body: serde_json::Value = page.json().await?;
    if body["api_user"]["user_id"] != "alice"
        || body["frontend_user"]["email"] != "alice@example.com"
    {
        return Err(format!("unexpected answer: {body}").into());
    }
    let anonymous = reqwest::get(format!("{}/api/metadata/v0/user", services.api_url)).await?;
    if anonymous.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err("the API accepted a call without a token".into());
    }
    Ok(body)
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services = if std::env::args().any(|arg| arg == "--dpop") {
        start_with(true).await?
    } else {
        start().await?
    };
    if std::env::args().any(|arg| arg == "--self-test") {
        let body = self_test(&services).await?;
        println!("{}", serde_json::to_string_pretty(&body)?);
        println!("self-test passed");
        return Ok(());
    }
    println!("provider: {}", services.provider.issuer());
    println!(
        "frontend: {}/  (signs you in as alice, then calls the API)",
        services.frontend_url
    );
    println!(
        "API:      {}/api/metadata/v0/user  (bearer tokens only)",
        services.api_url
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
