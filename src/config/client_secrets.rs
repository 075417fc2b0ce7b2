//! flask-oidc's `client_secrets.json`: `{"web": {...}}`, a plain object with the client
//! credentials, or either of them carrying a discovery document's endpoints.

use serde::Deserialize;
use url::Url;

use super::{ConfigBuilder, ProviderEndpoints};

#[derive(Deserialize)]
struct File {
    web: Option<Entry>,
    #[serde(flatten)]
    plain: Entry,
}

#[derive(Deserialize, Default)]
struct Entry {
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer: Option<String>,
    #[serde(alias = "auth_uri")]
    authorization_endpoint: Option<String>,
    #[serde(alias = "token_uri")]
    token_endpoint: Option<String>,
    #[serde(alias = "userinfo_uri")]
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    end_session_endpoint: Option<String>,
    #[serde(alias = "introspection_endpoint")]
    token_introspection_uri: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

pub(super) struct ClientSecrets(Entry);

impl ClientSecrets {
    /// Reads the file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or is not a `client_secrets.json`; the message says which.
    pub(super) fn load(path: &str) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("cannot read `{path}`: {err}"))?;
        let file: File =
            serde_json::from_str(&text).map_err(|err| format!("`{path}` is not valid: {err}"))?;
        Ok(Self(file.web.unwrap_or(file.plain)))
    }

    /// Fills in what the builder lacks, so that variables take precedence over the file
    /// whatever the order they are read in. The provider comes from the file only when no
    /// issuer, discovery URL or endpoints are given otherwise.
    pub(super) fn fill(self, mut builder: ConfigBuilder) -> ConfigBuilder {
        let entry = self.0;
        if let (None, Some(id)) = (&builder.client_id, entry.client_id) {
            builder = builder.client_id(id);
        }
        if let (None, Some(secret)) = (&builder.client_secret, entry.client_secret) {
            builder = builder.client_secret(secret);
        }
        if let (None, [only]) = (&builder.redirect_uri, entry.redirect_uris.as_slice()) {
            builder = builder.redirect_uri(only.clone());
        }
        if builder.has_provider() {
            return builder;
        }
        let parse = |value: &Option<String>| value.as_deref().and_then(|v| Url::parse(v).ok());
        match (
            &entry.issuer,
            parse(&entry.authorization_endpoint),
            parse(&entry.token_endpoint),
            parse(&entry.jwks_uri),
        ) {
            (Some(issuer), Some(authorization_endpoint), Some(token_endpoint), Some(jwks_uri)) => {
                builder = builder.endpoints(ProviderEndpoints {
                    issuer: issuer.clone(),
                    authorization_endpoint,
                    token_endpoint,
                    jwks_uri,
                    userinfo_endpoint: parse(&entry.userinfo_endpoint),
                    end_session_endpoint: parse(&entry.end_session_endpoint),
                    introspection_endpoint: parse(&entry.token_introspection_uri),
                });
            }
            (Some(issuer), ..) => builder = builder.issuer(issuer.clone()),
            _ => {}
        }
        builder
    }
}
