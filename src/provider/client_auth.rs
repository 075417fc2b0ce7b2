//! How the client authenticates at the provider — the token endpoint (code exchange and
//! refresh), introspection, revocation and pushed authorization requests alike.
//!
//! `client_secret_basic` and `client_secret_post` send the secret; `client_secret_jwt` and
//! `private_key_jwt` (OpenID Connect Core 1.0, section 9; RFC 7523) send a fresh assertion
//! for every call: `iss` and `sub` the client id, `aud` the token endpoint URL (or the
//! issuer, when configured so), a unique `jti`, and a lifetime of 60 seconds; `tls_client_auth` (RFC 8705) authenticates with the client
//! certificate of the connection and sends only the client id.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use url::Url;

use crate::config::{AssertionAudience, ClientAuth, Config};
use crate::provider::metadata::ProviderMetadata;

/// How long an assertion is valid.
const ASSERTION_LIFETIME_SECS: u64 = 60;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The method in use for one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Basic,
    Post,
    SecretJwt,
    PrivateKeyJwt,
    Tls,
    /// A public client: its id alone.
    None,
}

/// The configured method, or else one chosen from what the provider supports and the
/// credentials configured: a secret keeps `client_secret_basic` unless the provider lists
/// only `client_secret_post` (or, of the secret methods, only `client_secret_jwt`); without
/// a secret, a private key means `private_key_jwt` and a client certificate
/// `tls_client_auth`.
pub(crate) fn method(config: &Config, metadata: &ProviderMetadata) -> Method {
    match config.client_auth {
        Some(ClientAuth::Basic) => return Method::Basic,
        Some(ClientAuth::Post) => return Method::Post,
        Some(ClientAuth::SecretJwt) => return Method::SecretJwt,
        Some(ClientAuth::PrivateKeyJwt) => return Method::PrivateKeyJwt,
        Some(ClientAuth::TlsClientAuth) => return Method::Tls,
        None => {}
    }
    let supported = metadata.token_endpoint_auth_methods_supported.as_deref();
    let listed = |name: &str| supported.is_some_and(|list| list.iter().any(|m| m == name));
    if config.client_secret.is_some() {
        if listed("client_secret_basic") || supported.is_none() {
            Method::Basic
        } else if listed("client_secret_post") {
            Method::Post
        } else if listed("client_secret_jwt") {
            Method::SecretJwt
        } else {
            Method::Basic
        }
    } else if config.client_key.is_some() {
        Method::PrivateKeyJwt
    } else if config.transport.mutual_tls() {
        Method::Tls
    } else {
        Method::None
    }
}

/// What authenticates one request: form parameters and, for `client_secret_basic`, the
/// `Authorization` header's user and password (form-encoded first, RFC 6749 section 2.3.1).
pub(crate) struct Credentials {
    pub(crate) form: Vec<(&'static str, String)>,
    pub(crate) basic: Option<(String, String)>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

impl Credentials {
    /// The parameters other than `client_id` (which the OAuth layer adds itself).
    pub(crate) fn extra_params(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.form.iter().filter(|(name, _)| *name != "client_id")
    }

    /// A form POST to `url` with `params` and these credentials (a `client_id` among
    /// `params` is sent once).
    pub(crate) fn post(
        &self,
        client: &reqwest::Client,
        url: &Url,
        params: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(params.iter().copied());
        for (name, value) in &self.form {
            if !params.iter().any(|(given, _)| given == name) {
                form.append_pair(name, value);
            }
        }
        let mut request = client
            .post(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.finish());
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, Some(password));
        }
        request
    }
}

/// The credentials of one request (a fresh assertion for the JWT methods).
pub(crate) fn credentials(
    config: &Config,
    metadata: &ProviderMetadata,
) -> Result<Credentials, String> {
    let client_id = config.client_id.clone();
    let secret = || {
        config
            .client_secret
            .as_ref()
            .map(|secret| secret.expose().to_owned())
            .ok_or_else(|| "the client authentication method needs a client secret".to_owned())
    };
    let mut form = Vec::new();
    let mut basic = None;
    match method(config, metadata) {
        Method::Basic => match config.client_secret.as_ref() {
            Some(secret) => {
                basic = Some((form_encoded(&client_id), form_encoded(secret.expose())));
            }
            None => form.push(("client_id", client_id)),
        },
        Method::Post => {
            form.push(("client_id", client_id));
            if let Some(secret) = &config.client_secret {
                form.push(("client_secret", secret.expose().to_owned()));
            }
        }
        Method::SecretJwt => {
            let secret = secret()?;
            let alg = secret_algorithm(metadata);
            let assertion = sign(
                config,
                metadata,
                &Header::new(alg),
                &EncodingKey::from_secret(secret.as_bytes()),
            )?;
            form.push(("client_id", client_id));
            form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
            form.push(("client_assertion", assertion));
        }
        Method::PrivateKeyJwt => {
            let key = config
                .client_key
                .as_ref()
                .ok_or("private_key_jwt needs a private key (OIDC_CLIENT_PRIVATE_KEY_FILE)")?;
            let alg = key.algorithm(
                metadata
                    .token_endpoint_auth_signing_alg_values_supported
                    .as_deref(),
            );
            let assertion = sign(config, metadata, &key.header(alg)?, key.encoding_key())?;
            form.push(("client_id", client_id));
            form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
            form.push(("client_assertion", assertion));
        }
        Method::Tls | Method::None => form.push(("client_id", client_id)),
    }
    Ok(Credentials { form, basic })
}

/// HS256, unless the provider lists HMAC algorithms without it.
fn secret_algorithm(metadata: &ProviderMetadata) -> Algorithm {
    let Some(list) = metadata
        .token_endpoint_auth_signing_alg_values_supported
        .as_deref()
    else {
        return Algorithm::HS256;
    };
    let listed = |name: &str| list.iter().any(|alg| alg == name);
    if listed("HS256") {
        Algorithm::HS256
    } else if listed("HS512") {
        Algorithm::HS512
    } else if listed("HS384") {
        Algorithm::HS384
    } else {
        Algorithm::HS256
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    exp: u64,
}

fn sign(
    config: &Config,
    metadata: &ProviderMetadata,
    header: &Header,
    key: &EncodingKey,
) -> Result<String, String> {
    let now = crate::session::now();
    let claims = AssertionClaims {
        iss: &config.client_id,
        sub: &config.client_id,
        aud: match config.client_assertion_audience {
            AssertionAudience::Issuer => &metadata.issuer,
            _ => metadata.token_endpoint.as_str(),
        },
        jti: crate::session::random_id(),
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
    };
    jsonwebtoken::encode(header, &claims, key)
        .map_err(|err| format!("the client assertion could not be signed: {err}"))
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded first.
fn form_encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::Value;

    use super::*;

    fn metadata(methods: Option<&[&str]>) -> ProviderMetadata {
        let mut doc = serde_json::json!({
            "issuer": "https://op.example.com",
            "authorization_endpoint": "https://op.example.com/authorize",
            "token_endpoint": "https://op.example.com/token",
            "jwks_uri": "https://op.example.com/jwks",
        });
        if let Some(methods) = methods {
            doc["token_endpoint_auth_methods_supported"] = serde_json::json!(methods);
        }
        serde_json::from_value(doc).expect("metadata")
    }

    fn config(build: impl FnOnce(crate::ConfigBuilder) -> crate::ConfigBuilder) -> Config {
        build(
            Config::builder()
                .issuer("https://op.example.com")
                .client_id("app")
                .secret_key("0123456789abcdef0123456789abcdef"),
        )
        .build()
        .expect("valid")
    }

    fn claims(assertion: &str) -> (Value, Value) {
        let part = |i: usize| -> Value {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(assertion.split('.').nth(i).expect("part"))
                .expect("base64");
            serde_json::from_slice(&bytes).expect("json")
        };
        (part(0), part(1))
    }

    fn form<'a>(credentials: &'a Credentials, name: &str) -> Option<&'a str> {
        credentials
            .form
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_method_follows_the_credentials_and_the_provider() {
        let secret = config(|b| b.client_secret("s"));
        assert_eq!(method(&secret, &metadata(None)), Method::Basic);
        assert_eq!(
            method(&secret, &metadata(Some(&["client_secret_post"]))),
            Method::Post
        );
        assert_eq!(
            method(
                &secret,
                &metadata(Some(&["client_secret_jwt", "private_key_jwt"]))
            ),
            Method::SecretJwt
        );
        let public = config(|b| b);
        assert_eq!(method(&public, &metadata(None)), Method::None);
        let key = config(|b| b.client_private_key(include_str!("../testing/keys/client_ec.pem")));
        assert_eq!(method(&key, &metadata(None)), Method::PrivateKeyJwt);
        let forced = config(|b| b.client_secret("s").client_auth(ClientAuth::SecretJwt));
        assert_eq!(method(&forced, &metadata(None)), Method::SecretJwt);
    }

    #[test]
    fn every_call_gets_a_fresh_short_lived_assertion() {
        let config =
            config(|b| b.client_private_key(include_str!("../testing/keys/client_ec.pem")));
        let metadata = metadata(None);
        let first = credentials(&config, &metadata).expect("credentials");
        let second = credentials(&config, &metadata).expect("credentials");
        assert!(first.basic.is_none());
        assert_eq!(form(&first, "client_id"), Some("app"));
        assert_eq!(form(&first, "client_assertion_type"), Some(ASSERTION_TYPE));
        let (header, body) = claims(form(&first, "client_assertion").expect("assertion"));
        let (_, again) = claims(form(&second, "client_assertion").expect("assertion"));
        assert_eq!(header["alg"], "ES256");
        assert!(header["kid"].is_string(), "{header}");
        assert_eq!(body["iss"], "app");
        assert_eq!(body["sub"], "app");
        assert_eq!(body["aud"], "https://op.example.com/token");
        let (iat, exp) = (body["iat"].as_u64(), body["exp"].as_u64());
        assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(60));
        assert_ne!(body["jti"], again["jti"]);
        assert!(!format!("{first:?}").contains('.'), "{first:?}");
        let to_issuer = self::config(|b| {
            b.client_private_key(include_str!("../testing/keys/client_ec.pem"))
                .client_assertion_audience(AssertionAudience::Issuer)
        });
        let issuer = credentials(&to_issuer, &metadata).expect("credentials");
        let (_, body) = claims(form(&issuer, "client_assertion").expect("assertion"));
        assert_eq!(body["aud"], "https://op.example.com");
        assert_eq!(first.extra_params().count(), 2);
    }

    #[test]
    fn secret_methods() {
        let config = config(|b| b.client_secret("s&cret").client_auth(ClientAuth::Basic));
        let basic = credentials(&config, &metadata(None)).expect("credentials");
        assert_eq!(basic.basic, Some(("app".to_owned(), "s%26cret".to_owned())));
        assert!(basic.form.is_empty());
        let jwt = self::config(|b| b.client_secret("s").client_auth(ClientAuth::SecretJwt));
        let signed = credentials(&jwt, &metadata(None)).expect("credentials");
        let (header, _) = claims(form(&signed, "client_assertion").expect("assertion"));
        assert_eq!(header["alg"], "HS256");
        assert!(form(&signed, "client_secret").is_none());
    }
}
