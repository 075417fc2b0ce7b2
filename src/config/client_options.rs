//! Client authentication and transport settings of the builder: the private key of
//! `private_key_jwt`, the client certificate of mutual TLS, extra trusted CAs, a proxy,
//! timeouts, a caller-built HTTP client, pushed authorization requests and the response
//! mode.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::builder::Sourced;
use super::{ClientAuth, ConfigBuilder, ConfigError};
use crate::config::client_key::ClientKey;
use crate::config::transport::{self, Transport};
use crate::secret::Secret;

/// What the builder collected; read and checked by [`ClientOptions::build`].
#[derive(Default, Clone)]
pub(super) struct ClientOptions {
    private_key_file: Option<Sourced<String>>,
    private_key: Option<Secret>,
    assertion_alg: Option<Sourced<jsonwebtoken::Algorithm>>,
    cert_file: Option<Sourced<String>>,
    key_file: Option<Sourced<String>>,
    ca_bundle: Option<Sourced<String>>,
    proxy: Option<Sourced<String>>,
    connect_timeout: Option<Duration>,
    http_client: Option<reqwest::Client>,
    pub(super) pushed_authorization_requests: bool,
    pub(super) response_mode: super::ResponseMode,
    pub(super) assertion_audience: super::AssertionAudience,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("private_key_file", &self.private_key_file)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "[redacted]"),
            )
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("ca_bundle", &self.ca_bundle)
            .field("proxy", &self.proxy.as_ref().map(|_| "[set]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("custom_http_client", &self.http_client.is_some())
            .field(
                "pushed_authorization_requests",
                &self.pushed_authorization_requests,
            )
            .field("response_mode", &self.response_mode)
            .field("assertion_audience", &self.assertion_audience)
            .finish()
    }
}

/// The checked settings a configuration keeps.
pub(super) struct Built {
    pub(super) client_key: Option<Arc<ClientKey>>,
    pub(super) transport: Transport,
}

impl ClientOptions {
    pub(super) fn build(
        &self,
        client_auth: Option<&Sourced<ClientAuth>>,
        has_secret: bool,
    ) -> Result<Built, ConfigError> {
        let client_key = self.client_key()?;
        let identity = self.identity()?;
        let extra_roots = match &self.ca_bundle {
            Some(path) => transport::read_ca_bundle(path.value.trim())
                .map_err(|problem| ConfigError::new(path.name("ca_bundle_file"), problem))?,
            None => Vec::new(),
        };
        let proxy = match &self.proxy {
            Some(url) => Some(
                transport::parse_proxy(&url.value)
                    .map_err(|problem| ConfigError::new(url.name("http_proxy"), problem))?,
            ),
            None => None,
        };
        if let Some(timeout) = self.connect_timeout {
            if timeout.is_zero() {
                return Err(ConfigError::new("connect_timeout", "must not be zero"));
            }
        }
        if let Some(auth) = client_auth {
            let missing = match auth.value {
                ClientAuth::SecretJwt if !has_secret => Some("client_secret_jwt needs a client secret"),
                ClientAuth::PrivateKeyJwt if client_key.is_none() => Some(
                    "private_key_jwt needs a private key (OIDC_CLIENT_PRIVATE_KEY_FILE)",
                ),
                ClientAuth::TlsClientAuth if identity.is_none() && self.http_client.is_none() => {
                    Some("tls_client_auth needs a client certificate (OIDC_CLIENT_CERT_FILE and OIDC_CLIENT_KEY_FILE)")
                }
                _ => None,
            };
            if let Some(problem) = missing {
                return Err(ConfigError::new(auth.name("client_auth"), problem));
            }
        }
        Ok(Built {
            client_key,
            transport: Transport {
                client: self.http_client.clone(),
                extra_roots,
                identity,
                proxy,
                connect_timeout: self.connect_timeout,
            },
        })
    }

    fn client_key(&self) -> Result<Option<Arc<ClientKey>>, ConfigError> {
        let key = self.unpinned_client_key()?;
        match (&self.assertion_alg, key) {
            (None, key) => Ok(key.map(Arc::new)),
            (Some(alg), Some(key)) => key
                .with_algorithm(alg.value)
                .map(|key| Some(Arc::new(key)))
                .map_err(|problem| ConfigError::new(alg.name("client_assertion_alg"), problem)),
            (Some(alg), None) => Err(ConfigError::new(
                alg.name("client_assertion_alg"),
                "applies to the private key of private_key_jwt, and none is given",
            )),
        }
    }

    fn unpinned_client_key(&self) -> Result<Option<ClientKey>, ConfigError> {
        if let Some(key) = &self.private_key {
            return ClientKey::parse(key.expose())
                .map(Some)
                .map_err(|problem| ConfigError::new("client_private_key", problem));
        }
        let Some(path) = &self.private_key_file else {
            return Ok(None);
        };
        let name = path.name("client_private_key_file");
        let text = std::fs::read_to_string(path.value.trim()).map_err(|err| {
            ConfigError::new(name, format!("cannot read `{}`: {err}", path.value))
        })?;
        ClientKey::parse(&text)
            .map(Some)
            .map_err(|problem| ConfigError::new(name, problem))
    }

    fn identity(&self) -> Result<Option<reqwest::Identity>, ConfigError> {
        match (&self.cert_file, &self.key_file) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => {
                transport::read_identity(cert.value.trim(), key.value.trim())
                    .map(Some)
                    .map_err(|problem| {
                        let name = if problem.contains(key.value.trim())
                            && !problem.contains(cert.value.trim())
                        {
                            key.name("client_certificate_key_file")
                        } else {
                            cert.name("client_certificate_file")
                        };
                        ConfigError::new(name, problem)
                    })
            }
            (Some(cert), None) => {
                // An unreadable certificate is the first thing to fix.
                std::fs::metadata(cert.value.trim()).map_err(|err| {
                    ConfigError::new(
                        cert.name("client_certificate_file"),
                        format!("cannot read `{}`: {err}", cert.value),
                    )
                })?;
                Err(ConfigError::new(
                    cert.name("client_certificate_file"),
                    "needs the certificate's private key too (OIDC_CLIENT_KEY_FILE)",
                ))
            }
            (None, Some(key)) => Err(ConfigError::new(
                key.name("client_certificate_key_file"),
                "needs the client certificate too (OIDC_CLIENT_CERT_FILE)",
            )),
        }
    }
}

impl ConfigBuilder {
    /// A file with the private key of `private_key_jwt` client authentication: PEM (PKCS#8
    /// RSA, P-256 or Ed25519, or PKCS#1 RSA; a certificate in the same file adds its
    /// `x5t#S256` thumbprint to every assertion), or a JWKS whose first private key is used
    /// (its `kid` and `alg` are honoured). Read at `build()`. Replaces any earlier key.
    ///
    /// With a key and no client secret, `private_key_jwt` is chosen unless
    /// [`client_auth`](Self::client_auth) says otherwise.
    pub fn client_private_key_file(mut self, path: impl Into<String>) -> Self {
        self.client_options.private_key = None;
        self.client_options.private_key_file = Some(self.sourced(path.into()));
        self
    }

    /// The private key of `private_key_jwt` itself, as the text of a PEM or JWKS file (see
    /// [`client_private_key_file`](Self::client_private_key_file)). Replaces any earlier
    /// key.
    ///
    /// ```
    /// let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINmUDv+1BoEcuZOAfQAQ3mBXh4ehTmm3sfMxuvBbZv0Y\n-----END PRIVATE KEY-----";
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://login.example.com")
    ///     .client_id("my-app")
    ///     .client_private_key(pem)
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .build()?;
    /// # Ok::<(), tower_oidc::ConfigError>(())
    /// ```
    pub fn client_private_key(mut self, key: impl Into<String>) -> Self {
        self.client_options.private_key_file = None;
        self.client_options.private_key = Some(Secret::new(key));
        self
    }

    /// The algorithm of `private_key_jwt` assertions, when neither the key's own `alg` nor
    /// the default fits the provider: by default RSA keys sign RS256 (PS256 when the
    /// provider lists only that), P-256 keys ES256 and Ed25519 keys EdDSA. Microsoft Entra
    /// ID documents PS256 for certificate credentials. Replaces any earlier algorithm.
    pub fn client_assertion_alg(mut self, alg: jsonwebtoken::Algorithm) -> Self {
        self.client_options.assertion_alg = Some(self.sourced(alg));
        self
    }

    /// The `aud` of client assertions: the token endpoint URL (the default) or the issuer.
    /// Replaces any earlier choice.
    pub fn client_assertion_audience(mut self, audience: super::AssertionAudience) -> Self {
        self.client_options.assertion_audience = audience;
        self
    }

    /// The client certificate (PEM, with its chain) presented to the provider over mutual
    /// TLS (RFC 8705), for `tls_client_auth`; needs
    /// [`client_certificate_key_file`](Self::client_certificate_key_file). The provider's
    /// `mtls_endpoint_aliases` are used when it publishes them. Replaces any earlier file.
    pub fn client_certificate_file(mut self, path: impl Into<String>) -> Self {
        self.client_options.cert_file = Some(self.sourced(path.into()));
        self
    }

    /// The private key (PEM) of the [client certificate](Self::client_certificate_file).
    /// Replaces any earlier file.
    pub fn client_certificate_key_file(mut self, path: impl Into<String>) -> Self {
        self.client_options.key_file = Some(self.sourced(path.into()));
        self
    }

    /// A PEM bundle of CA certificates trusted, besides the platform's, for the provider's
    /// TLS certificate (a provider behind a private CA). Replaces any earlier bundle.
    pub fn ca_bundle_file(mut self, path: impl Into<String>) -> Self {
        self.client_options.ca_bundle = Some(self.sourced(path.into()));
        self
    }

    /// An http(s) proxy for every call to the provider; hosts listed in `NO_PROXY` are
    /// reached directly. Without it, `HTTPS_PROXY` and `HTTP_PROXY` apply as usual.
    /// Replaces any earlier proxy.
    pub fn http_proxy(mut self, url: impl Into<String>) -> Self {
        self.client_options.proxy = Some(self.sourced(url.into()));
        self
    }

    /// How long connecting to the provider may take. Default: the
    /// [HTTP timeout](Self::http_timeout), at most 5 seconds. Replaces any earlier value.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.client_options.connect_timeout = Some(timeout);
        self
    }

    /// A `reqwest` client built by the application, used for every call to the provider
    /// instead of one made from the settings here: the CA bundle, client certificate,
    /// proxy and timeouts are then the client's own (and the provider's mutual-TLS endpoint
    /// aliases are used only with a certificate given through
    /// [`client_certificate_file`](Self::client_certificate_file)). Give it no redirect
    /// policy other than
    /// [`reqwest::redirect::Policy::none`]: a redirected token request would carry the code
    /// and credentials elsewhere. Replaces any earlier client.
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let config = tower_oidc::Config::builder()
    ///     .issuer("https://login.example.com")
    ///     .client_id("my-app")
    ///     .http_client(http)
    ///     .secret_key("a random string of at least 32 bytes!!")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client_options.http_client = Some(client);
        self
    }

    /// Pushes each authorization request to the provider first (RFC 9126) and redirects
    /// the browser with only `client_id` and the `request_uri` it answered; the request's
    /// parameters then never pass through the browser. Always on for a provider that
    /// publishes `require_pushed_authorization_requests`; off by default otherwise.
    /// Replaces any earlier choice.
    pub fn pushed_authorization_requests(mut self, enabled: bool) -> Self {
        self.client_options.pushed_authorization_requests = enabled;
        self
    }

    /// How the provider returns the authorization response: [`ResponseMode::Query`] (the
    /// default) or [`ResponseMode::FormPost`], whose callback accepts the provider's POST.
    /// Replaces any earlier mode.
    ///
    /// [`ResponseMode::Query`]: super::ResponseMode::Query
    /// [`ResponseMode::FormPost`]: super::ResponseMode::FormPost
    pub fn response_mode(mut self, mode: super::ResponseMode) -> Self {
        self.client_options.response_mode = mode;
        self
    }
}
