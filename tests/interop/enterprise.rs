//! Client authentication and transport against oidc-provider: `private_key_jwt` and
//! `client_secret_jwt` at every authenticated call, pushed authorization requests required
//! by the provider, signed userinfo, a provider served over https by a private CA, and
//! `tls_client_auth` through the provider's mutual-TLS endpoint aliases.

use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tower_oidc::{AssertionAudience, ClientAuth, Config, ConfigBuilder, OidcLayer, ResponseMode};

use crate::browser::Browser;
use crate::harness::{can_run, Interop, TestApp, SIGNED_OUT_PATH, TEST_TIMEOUT};
use crate::provider::{OidcProvider, ProviderOptions};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testing/keys");
const CLIENT_CERT_SUBJECT: &str = "CN=tower-oidc-interop-mtls";

async fn run(test: impl Future<Output = ()>) {
    if !can_run() {
        return;
    }
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!("interop test did not finish within {TEST_TIMEOUT:?}");
    }
}

/// The provider with `options` (and the app's redirect URIs), then the app configured by
/// `config` over the usual settings.
async fn start(
    mut options: ProviderOptions,
    config: impl FnOnce(ConfigBuilder, &OidcProvider) -> ConfigBuilder,
) -> Interop {
    let (listener, app_url) = TestApp::bind().await;
    options.redirect_uris = vec![format!("{app_url}auth")];
    options.post_logout_redirect_uris =
        vec![app_url.join(SIGNED_OUT_PATH).expect("url").to_string()];
    let provider = OidcProvider::start(&options).await;
    let builder = config(Interop::builder(&provider, &app_url), &provider);
    let app = TestApp::serve(listener, app_url, builder.build().expect("config")).await;
    Interop {
        browser: Browser::trusting(options.tls_ca.as_deref()),
        provider,
        app,
    }
}

/// Registers further clients at the provider (each with its own authentication method).
fn clients(clients: Value) -> (&'static str, String) {
    ("EXTRA_CLIENTS", clients.to_string())
}

/// The public half of a private JWKS file's first key, with `kid` when given, else the
/// RFC 7638 thumbprint tower-oidc uses as the `kid` of a key without one.
fn public_jwk(jwks_file: &str, kid: Option<&str>) -> Value {
    let text = std::fs::read_to_string(format!("{KEYS}/{jwks_file}")).expect("jwks");
    let mut key = serde_json::from_str::<Value>(&text).expect("json")["keys"][0].clone();
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        key.as_object_mut().expect("object").remove(private);
    }
    let kid = match kid {
        Some(kid) => kid.to_owned(),
        None => serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.clone())
            .expect("jwk")
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .expect("thumbprint"),
    };
    key["kid"] = json!(kid);
    key
}

async fn hello(env: &Interop, login: &str) {
    let page = env.login(login).await;
    let status = page.status();
    let body = page.text().await.unwrap_or_default();
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, format!("hello {login}").as_str()),
        "provider log:\n{}",
        env.provider.log()
    );
}

async fn me(env: &Interop) -> Value {
    let response = env.browser.api(env.app.at("/me")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// Logs out; the provider counts the revocations it accepted.
async fn logout(env: &Interop) {
    let logout = env.browser.get(env.app.at("/logout")).await;
    assert_eq!(logout.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn private_key_jwt_from_a_pem_file_authenticates_exchange_refresh_and_revocation() {
    run(async {
        let options = ProviderOptions {
            access_token_ttl: Duration::from_secs(3),
            env: vec![clients(json!([{
                "client_id": "pkjwt-pem",
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public_jwk("client_rsa.jwks.json", None)]},
            }]))],
            ..ProviderOptions::default()
        };
        let env = start(options, |config, _| {
            // No secret and a private key: private_key_jwt is chosen without being named.
            config
                .client_id("pkjwt-pem")
                .client_secret("")
                .client_private_key_file(format!("{KEYS}/client_rsa.pem"))
                .leeway(Duration::from_secs(1))
        })
        .await;
        hello(&env, "alice").await;
        assert_eq!(env.provider.grants("auth:private_key_jwt").await, 1);
        let first = me(&env).await["access_token"].clone();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let second = me(&env).await["access_token"].clone();
        assert_ne!(first, second, "the access token was renewed");
        // oidc-provider refuses an assertion whose `jti` it has seen: each call signed anew.
        assert_eq!(env.provider.grants("refresh_token").await, 1);
        assert_eq!(env.provider.grants("auth:private_key_jwt").await, 2);
        logout(&env).await;
        assert!(env.provider.grants("revocation").await >= 1);
    })
    .await;
}

#[tokio::test]
async fn private_key_jwt_from_a_jwks_file_authenticates_introspection() {
    run(async {
        let options = ProviderOptions {
            env: vec![clients(json!([{
                "client_id": "pkjwt-jwks",
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public_jwk("client_ec.jwks.json", None)]},
            }]))],
            ..ProviderOptions::default()
        };
        let env = start(options, |config, _| {
            config
                .client_id("pkjwt-jwks")
                .client_secret("")
                .client_auth(ClientAuth::PrivateKeyJwt)
                .client_private_key_file(format!("{KEYS}/client_ec.jwks.json"))
                // oidc-provider accepts the issuer as the audience as well.
                .client_assertion_audience(AssertionAudience::Issuer)
                .introspect_opaque_tokens(true)
        })
        .await;
        hello(&env, "bob").await;
        assert_eq!(env.provider.grants("auth:private_key_jwt").await, 1);
        let token = me(&env).await["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        let api = reqwest::Client::new()
            .get(env.app.at("/api/data"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("bearer call");
        assert_eq!(api.status(), StatusCode::OK, "{}", env.provider.log());
        assert_eq!(env.provider.grants("introspection").await, 1);
    })
    .await;
}

#[tokio::test]
async fn client_secret_jwt_authenticates_exchange_and_revocation() {
    run(async {
        let secret = "client-secret-jwt-0123456789abcdef0123456789abcdef";
        let options = ProviderOptions {
            env: vec![clients(json!([{
                "client_id": "secret-jwt",
                "client_secret": secret,
                "token_endpoint_auth_method": "client_secret_jwt",
            }]))],
            ..ProviderOptions::default()
        };
        let env = start(options, |config, _| {
            config
                .client_id("secret-jwt")
                .client_secret(secret)
                .client_auth(ClientAuth::SecretJwt)
        })
        .await;
        hello(&env, "carol").await;
        assert_eq!(env.provider.grants("auth:client_secret_jwt").await, 1);
        logout(&env).await;
        assert!(env.provider.grants("revocation").await >= 1);
    })
    .await;
}

#[tokio::test]
async fn a_provider_requiring_pushed_requests_gets_them_and_the_browser_only_a_request_uri() {
    run(async {
        let options = ProviderOptions {
            env: vec![("REQUIRE_PAR", "1".to_owned())],
            ..ProviderOptions::default()
        };
        // No opt-in: the provider's discovery document turns it on.
        let env = start(options, |config, _| config).await;
        let origin = env.provider.origin();
        let authorize = env
            .browser
            .drive(env.app.at("/login"), &origin, "dave", |url| {
                url.path() == "/auth" && url.origin().ascii_serialization() == origin
            })
            .await
            .stopped();
        let mut names: Vec<String> = authorize
            .query_pairs()
            .map(|(n, _)| n.into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["client_id", "request_uri"], "{authorize}");
        assert_eq!(env.provider.grants("par").await, 1);
        let done = env
            .browser
            .drive(authorize, &origin, "dave", |_| false)
            .await
            .done();
        assert_eq!(done.text().await.unwrap_or_default(), "hello dave");
    })
    .await;
}

#[tokio::test]
async fn pushed_requests_are_opt_in_when_the_provider_does_not_require_them() {
    run(async {
        let env = start(ProviderOptions::default(), |config, _| {
            config.pushed_authorization_requests(true)
        })
        .await;
        hello(&env, "erin").await;
        assert_eq!(env.provider.grants("par").await, 1);
        let plain = start(ProviderOptions::default(), |config, _| config).await;
        hello(&plain, "erin").await;
        assert_eq!(plain.provider.grants("par").await, 0, "never on silently");
    })
    .await;
}

#[tokio::test]
async fn signed_userinfo_is_verified_and_merged() {
    run(async {
        let options = ProviderOptions {
            env: vec![clients(json!([{
                "client_id": "jwt-userinfo",
                "client_secret": "jwt-userinfo-secret-0123456789abcdef",
                "token_endpoint_auth_method": "client_secret_basic",
                "userinfo_signed_response_alg": "RS256",
            }]))],
            ..ProviderOptions::default()
        };
        let env = start(options, |config, _| {
            config
                .client_id("jwt-userinfo")
                .client_secret("jwt-userinfo-secret-0123456789abcdef")
        })
        .await;
        hello(&env, "frank").await;
        assert_eq!(env.provider.grants("userinfo_jwt").await, 1);
        let me = me(&env).await;
        // The ID token of the code flow has no email: it came from the signed userinfo.
        assert_eq!(me["claims"]["email"], "frank@example.com");
        assert_eq!(me["claims"]["name"], "Test User frank");
    })
    .await;
}

/// A throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client
/// certificate, made with openssl in a fresh directory.
struct Pki {
    dir: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tower-oidc-pki-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pki dir");
        let pki = Self { dir };
        pki.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=tower-oidc interop CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        pki.issue(
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.issue(
            "client",
            &format!("/{}", CLIENT_CERT_SUBJECT),
            "extendedKeyUsage=clientAuth\n",
        );
        pki
    }

    fn issue(&self, name: &str, subject: &str, extensions: &str) {
        let ext = format!("{name}.ext");
        std::fs::write(
            self.dir.join(&ext),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{extensions}"),
        )
        .expect("ext");
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).expect("ca")
    }

    /// Serve the provider over https with the server certificate; client certificates
    /// of this CA are verified.
    fn provider_options(&self, env: Vec<(&'static str, String)>) -> ProviderOptions {
        let mut all = vec![
            ("TLS_CERT_FILE", self.path("server.pem")),
            ("TLS_KEY_FILE", self.path("server.key")),
            ("TLS_CLIENT_CA_FILE", self.path("ca.pem")),
        ];
        all.extend(env);
        ProviderOptions {
            env: all,
            tls_ca: Some(self.ca()),
            ..ProviderOptions::default()
        }
    }
}

fn openssl_missing() -> bool {
    Command::new("openssl").arg("version").output().is_err()
}

#[tokio::test]
async fn a_provider_behind_a_private_ca_is_trusted_through_oidc_ca_bundle() {
    if openssl_missing() {
        return;
    }
    run(async {
        let pki = Pki::new("ca-bundle");
        let ca_file = pki.path("ca.pem");
        let env = start(pki.provider_options(Vec::new()), |config, _| {
            config.ca_bundle_file(ca_file.clone())
        })
        .await;
        assert!(env.provider.issuer().starts_with("https://"));
        hello(&env, "grace").await;

        // The variables as a deployment sets them: discovery over https succeeds with the
        // bundle and fails without it.
        let layer = |with_bundle: bool| {
            let mut vars = vec![
                ("OIDC_ISSUER", env.provider.issuer()),
                ("OIDC_CLIENT_ID", crate::provider::CLIENT_ID.to_owned()),
                (
                    "OIDC_SECRET_KEY",
                    "interop-test-cookie-key-0123456789abcdef".to_owned(),
                ),
                ("OIDC_HTTP_TIMEOUT", "5".to_owned()),
                ("OIDC_CONNECT_TIMEOUT", "2".to_owned()),
            ];
            if with_bundle {
                vars.push(("OIDC_CA_BUNDLE", ca_file.clone()));
            }
            let config = Config::from_lookup(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            })
            .expect("config");
            OidcLayer::new(config)
        };
        assert!(layer(true).ready(Duration::from_secs(5)).await.is_ok());
        assert!(layer(false).ready(Duration::from_secs(2)).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn tls_client_auth_uses_the_client_certificate_and_the_mutual_tls_aliases() {
    if openssl_missing() {
        return;
    }
    run(async {
        let pki = Pki::new("mtls");
        let options = pki.provider_options(vec![
            clients(json!([{
                "client_id": "mtls-client",
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": CLIENT_CERT_SUBJECT,
            }])),
            ("MTLS_ALIAS_HOST", "localhost".to_owned()),
        ]);
        let (ca, cert, key) = (
            pki.path("ca.pem"),
            pki.path("client.pem"),
            pki.path("client.key"),
        );
        let env = start(options, |config, _| {
            config
                .client_id("mtls-client")
                .client_secret("")
                .client_auth(ClientAuth::TlsClientAuth)
                .client_certificate_file(cert)
                .client_certificate_key_file(key)
                .ca_bundle_file(ca)
        })
        .await;
        hello(&env, "heidi").await;
        assert_eq!(env.provider.grants("auth:tls_client_auth").await, 1);
        assert_eq!(
            env.provider.grants("mtls_alias").await,
            1,
            "the alias was used"
        );
        logout(&env).await;
        assert!(env.provider.grants("revocation").await >= 1);
    })
    .await;
}

#[tokio::test]
async fn form_post_responses_are_relayed_same_site_and_checked_against_the_login_cookie() {
    run(async {
        let env = start(ProviderOptions::default(), |config, _| {
            config.response_mode(ResponseMode::FormPost)
        })
        .await;
        let origin = env.provider.origin();
        let app_origin = env.app.url.origin();
        let callback = env
            .browser
            .drive(env.app.at("/"), &origin, "ivan", |url| {
                url.origin() == app_origin && url.path() == "/auth"
            })
            .await
            .stopped();
        // The code travels in the body of the provider's POST, never in a URL.
        assert!(callback.query().is_none(), "{callback}");
        let fields = env.browser.last_form.lock().unwrap().clone();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"code") && names.contains(&"state"),
            "{names:?}"
        );

        // A real browser leaves the SameSite=Lax login cookie out of this cross-site POST.
        let cross_site = reqwest::Client::new()
            .post(callback.clone())
            .header("accept", "text/html")
            .form(&fields)
            .send()
            .await
            .expect("cross-site post");
        assert_eq!(cross_site.status(), StatusCode::OK);
        assert!(cross_site.headers().contains_key("content-security-policy"));
        let page = cross_site.text().await.expect("relay page");
        let relay = crate::browser::Form::parse(&page, &callback).expect("relay form");
        assert_eq!(relay.action, callback);
        for field in &fields {
            assert!(relay.hidden.contains(field), "{field:?} relayed");
        }

        // Forged: the relayed fields with another state find no login cookie.
        let mut forged = relay.hidden.clone();
        for (name, value) in &mut forged {
            if name == "state" {
                *value = "attacker-state".to_owned();
            }
        }
        let refused = env.browser.post_form(callback.clone(), &forged).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

        // The page's same-site POST carries the cookie: signed in.
        let signed_in = env.browser.post_form(relay.action, &relay.hidden).await;
        assert_eq!(
            signed_in.status(),
            StatusCode::FOUND,
            "{}",
            env.provider.log()
        );
        let home = env.browser.get(env.app.at("/")).await;
        assert_eq!(home.text().await.unwrap_or_default(), "hello ivan");
        assert_eq!(env.provider.grants("authorization_code").await, 1);
    })
    .await;
}
