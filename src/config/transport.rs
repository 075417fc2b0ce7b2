//! How the one HTTP client reaches the provider: extra trusted CAs, a client certificate
//! (RFC 8705 mutual TLS), an outgoing proxy, timeouts — or a client the application built.
//! Files are read and checked when the configuration is built; the client is made once per
//! provider.

use std::fmt;
use std::time::Duration;

use url::Url;

/// The transport settings of a configuration.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    /// A client the application built; every other setting here is then its business.
    pub(crate) client: Option<reqwest::Client>,
    /// Trusted in addition to the platform's roots.
    pub(crate) extra_roots: Vec<reqwest::Certificate>,
    /// The client certificate and key presented to the provider.
    pub(crate) identity: Option<reqwest::Identity>,
    pub(crate) proxy: Option<Url>,
    pub(crate) connect_timeout: Option<Duration>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("custom_client", &self.client.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("client_certificate", &self.identity.is_some())
            .field("proxy", &self.proxy.as_ref().map(redacted_proxy))
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// A proxy URL without its password.
fn redacted_proxy(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("redacted"));
    }
    shown.to_string()
}

impl Transport {
    /// Whether requests carry a client certificate, so the provider's mutual-TLS endpoint
    /// aliases apply (RFC 8705, section 5).
    pub(crate) fn mutual_tls(&self) -> bool {
        self.identity.is_some()
    }

    /// The client: the application's, or one made from these settings.
    pub(crate) fn client(&self, timeout: Duration) -> reqwest::Client {
        if let Some(client) = &self.client {
            return client.clone();
        }
        match self.builder(timeout).build() {
            Ok(client) => client,
            Err(err) => {
                // Every input was checked when the configuration was built.
                tracing::error!(error = %err, "HTTP client settings refused; using the defaults");
                base(timeout, self.connect_timeout)
                    .build()
                    .unwrap_or_else(|_| reqwest::Client::new())
            }
        }
    }

    fn builder(&self, timeout: Duration) -> reqwest::ClientBuilder {
        let mut builder = base(timeout, self.connect_timeout);
        if !self.extra_roots.is_empty() {
            builder = builder.tls_certs_merge(self.extra_roots.iter().cloned());
        }
        if let Some(identity) = &self.identity {
            builder = builder.identity(identity.clone());
        }
        if let Some(proxy) = &self.proxy {
            if let Ok(proxy) = reqwest::Proxy::all(proxy.as_str()) {
                builder = builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_env()));
            }
        }
        builder
    }
}

fn base(timeout: Duration, connect_timeout: Option<Duration>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // Redirects from a token endpoint would forward the code and credentials elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(connect_timeout.unwrap_or(timeout.min(Duration::from_secs(5))))
        .user_agent(concat!("tower-oidc/", env!("CARGO_PKG_VERSION")))
}

/// Reads a PEM bundle of CA certificates.
pub(crate) fn read_ca_bundle(path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|err| format!("cannot read `{path}`: {err}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| format!("`{path}` is not a PEM bundle of certificates"))?;
    if certs.is_empty() {
        return Err(format!("`{path}` holds no certificate"));
    }
    Ok(certs)
}

/// Reads a client certificate (with its chain) and its private key, PEM.
pub(crate) fn read_identity(cert_path: &str, key_path: &str) -> Result<reqwest::Identity, String> {
    let mut pem =
        std::fs::read(cert_path).map_err(|err| format!("cannot read `{cert_path}`: {err}"))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!("`{cert_path}` holds no PEM certificate"));
    }
    let key = std::fs::read(key_path).map_err(|err| format!("cannot read `{key_path}`: {err}"))?;
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY-----") {
        return Err(format!("`{key_path}` holds no PEM private key"));
    }
    pem.push(b'\n');
    pem.extend_from_slice(&key);
    reqwest::Identity::from_pem(&pem)
        .map_err(|_| format!("`{cert_path}` and `{key_path}` are not a usable certificate and key"))
}

/// Checks a proxy URL: http(s) with a host.
pub(crate) fn parse_proxy(value: &str) -> Result<Url, String> {
    let url = Url::parse(value.trim()).map_err(|_| "must be a URL, e.g. `http://proxy:3128`")?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    reqwest::Proxy::all(url.as_str()).map_err(|_| "is not a usable proxy URL".to_owned())?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_checked_and_passwords_never_shown() {
        assert!(parse_proxy("http://proxy.example:3128").is_ok());
        for bad in [
            "proxy:3128",
            "ftp://proxy",
            "socks5://proxy:1080",
            "http://",
            "",
        ] {
            assert!(parse_proxy(bad).is_err(), "{bad}");
        }
        let transport = Transport {
            proxy: Some(parse_proxy("http://user:hunter2@proxy.example:3128").expect("url")),
            ..Transport::default()
        };
        let debug = format!("{transport:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("proxy.example"), "{debug}");
    }

    #[test]
    fn unreadable_or_empty_files_are_refused() {
        assert!(read_ca_bundle("/nonexistent/ca.pem").is_err());
        let path =
            std::env::temp_dir().join(format!("tower-oidc-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "no certificates here").expect("write");
        let shown = path.to_string_lossy().into_owned();
        assert!(read_ca_bundle(&shown).is_err());
        assert!(read_identity(&shown, &shown).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
