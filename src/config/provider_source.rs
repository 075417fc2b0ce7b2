//! Where the provider's metadata comes from, from the issuer, the discovery URL and explicit
//! endpoints, whatever the order they were given in:
//!
//! | given | metadata | issuer expected |
//! |---|---|---|
//! | issuer | discovery at `{issuer}/.well-known/openid-configuration` | the issuer |
//! | discovery URL | discovery at the URL | the URL before `/.well-known/openid-configuration`, if it ends so |
//! | issuer and discovery URL | discovery at the URL | the issuer |
//! | endpoints | the endpoints | their `issuer` |
//! | endpoints and the same issuer | the endpoints | their `issuer` |
//! | endpoints and a discovery URL, or another issuer | an error naming both | |
//!
//! A blank issuer or discovery URL counts as not given.

use url::Url;

use super::build::both;
use super::builder::Sourced;
use super::{ConfigBuilder, ConfigError, ProviderEndpoints, ProviderSource};
use crate::issuer::same_issuer;

/// Where discovery documents are published, under the issuer.
const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

impl ConfigBuilder {
    /// Whether an issuer, a discovery URL or endpoints are given.
    pub(super) fn has_provider(&self) -> bool {
        self.endpoints.is_some()
            || given(&self.issuer).is_some()
            || given(&self.discovery_url).is_some()
    }

    pub(super) fn provider_source(&self) -> Result<ProviderSource, ConfigError> {
        let issuer = given(&self.issuer);
        let discovery_url = given(&self.discovery_url);
        match (&self.endpoints, issuer, discovery_url) {
            (Some(endpoints), _, Some(url)) => Err(ConfigError::new(
                both(endpoints.name("endpoints"), url.name("discovery_url")),
                "both give the provider's endpoints; keep one",
            )),
            (Some(endpoints), Some(issuer), None)
                if !same_issuer(&endpoints.value.issuer, issuer.value.trim()) =>
            {
                Err(ConfigError::new(
                    both(endpoints.name("endpoints"), issuer.name("issuer")),
                    format!(
                        "the endpoints are for issuer `{}`, not `{}`; keep one",
                        endpoints.value.issuer,
                        issuer.value.trim()
                    ),
                ))
            }
            (Some(endpoints), ..) => Ok(manual(&endpoints.value)),
            (None, Some(issuer), Some(url)) => {
                http_url(issuer, "issuer")?;
                Ok(ProviderSource::Discovery {
                    url: http_url(url, "discovery_url")?,
                    expected_issuer: Some(trimmed(issuer)),
                })
            }
            (None, Some(issuer), None) => {
                http_url(issuer, "issuer")?;
                let raw = trimmed(issuer);
                let url = Url::parse(&format!("{}{DISCOVERY_SUFFIX}", raw.trim_end_matches('/')))
                    .map_err(|_| invalid(issuer, "issuer"))?;
                Ok(ProviderSource::Discovery {
                    url,
                    expected_issuer: Some(raw),
                })
            }
            (None, None, Some(url)) => {
                let url = http_url(url, "discovery_url")?;
                let expected_issuer = url
                    .as_str()
                    .strip_suffix(DISCOVERY_SUFFIX)
                    .map(str::to_owned);
                Ok(ProviderSource::Discovery {
                    url,
                    expected_issuer,
                })
            }
            (None, None, None) => Err(ConfigError::new(
                "issuer",
                "missing: set the issuer URL (OIDC_ISSUER) or the discovery URL (OIDC_CONFIG_URL)",
            )),
        }
    }
}

fn manual(endpoints: &ProviderEndpoints) -> ProviderSource {
    ProviderSource::Manual(Box::new(endpoints.clone()))
}

/// The setting, unless it is missing or blank.
fn given(setting: &Option<Sourced<String>>) -> Option<&Sourced<String>> {
    setting
        .as_ref()
        .filter(|sourced| !sourced.value.trim().is_empty())
}

fn trimmed(setting: &Sourced<String>) -> String {
    setting.value.trim().to_owned()
}

fn http_url(setting: &Sourced<String>, name: &'static str) -> Result<Url, ConfigError> {
    Url::parse(setting.value.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| invalid(setting, name))
}

fn invalid(setting: &Sourced<String>, name: &'static str) -> ConfigError {
    ConfigError::new(setting.name(name), "must be an absolute http(s) URL")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn endpoints(issuer: &str) -> ProviderEndpoints {
        let url = |path: &str| Url::parse(&format!("{issuer}{path}")).expect("url");
        ProviderEndpoints {
            issuer: issuer.to_owned(),
            authorization_endpoint: url("/authorize"),
            token_endpoint: url("/token"),
            jwks_uri: url("/jwks"),
            userinfo_endpoint: None,
            end_session_endpoint: None,
            introspection_endpoint: None,
        }
    }

    fn source(
        configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Result<ProviderSource, ConfigError> {
        let builder = configure(Config::builder().client_id("c").secret_key(KEY));
        builder.build().map(|config| config.provider)
    }

    fn discovery(source: ProviderSource) -> (String, Option<String>) {
        match source {
            ProviderSource::Discovery {
                url,
                expected_issuer,
            } => (url.to_string(), expected_issuer),
            ProviderSource::Manual(endpoints) => panic!("expected discovery, got {endpoints:?}"),
        }
    }

    #[test]
    fn endpoints_with_a_discovery_url_are_refused_in_either_order() {
        let url = "https://op.example.com/.well-known/openid-configuration";
        let first = source(|b| {
            b.endpoints(endpoints("https://op.example.com"))
                .discovery_url(url)
        });
        let second = source(|b| {
            b.discovery_url(url)
                .endpoints(endpoints("https://op.example.com"))
        });
        for result in [first, second] {
            let err = result.expect_err("contradiction");
            assert_eq!(err.setting(), "endpoints and discovery_url");
        }
    }

    #[test]
    fn endpoints_win_over_the_same_issuer_in_either_order() {
        let op = "https://op.example.com";
        let first = source(|b| b.endpoints(endpoints(op)).issuer(format!("{op}/")));
        let second = source(|b| b.issuer(op).endpoints(endpoints(op)));
        for result in [first, second] {
            match result.expect("valid") {
                ProviderSource::Manual(found) => assert_eq!(found.issuer, op),
                ProviderSource::Discovery { url, .. } => panic!("expected endpoints, got {url}"),
            }
        }
    }

    #[test]
    fn endpoints_with_another_issuer_are_refused_in_either_order() {
        let first = source(|b| {
            b.endpoints(endpoints("https://op.example.com"))
                .issuer("https://other.example.com")
        });
        let second = source(|b| {
            b.issuer("https://other.example.com")
                .endpoints(endpoints("https://op.example.com"))
        });
        for result in [first, second] {
            let err = result.expect_err("contradiction");
            assert_eq!(err.setting(), "endpoints and issuer");
            assert!(err.problem().contains("other.example.com"), "{err}");
        }
    }

    #[test]
    fn a_discovery_url_with_an_issuer_expects_that_issuer_in_either_order() {
        let url = "https://login.example.com/tenant/v2.0/.well-known/openid-configuration?p=x";
        let issuer = "https://login.example.com/5d2c-guid/v2.0/";
        let first = source(|b| b.discovery_url(url).issuer(issuer));
        let second = source(|b| b.issuer(issuer).discovery_url(url));
        for result in [first, second] {
            let (found_url, expected) = discovery(result.expect("valid"));
            assert_eq!(found_url, url);
            assert_eq!(expected.as_deref(), Some(issuer));
        }
    }

    #[test]
    fn an_issuer_alone_discovers_under_it() {
        let (url, expected) =
            discovery(source(|b| b.issuer(" https://op.example.com/ ")).expect("valid"));
        assert_eq!(
            url,
            "https://op.example.com/.well-known/openid-configuration"
        );
        assert_eq!(expected.as_deref(), Some("https://op.example.com/"));
    }

    #[test]
    fn blank_settings_count_as_missing() {
        let (url, _) = discovery(
            source(|b| b.discovery_url(" ").issuer("https://op.example.com")).expect("valid"),
        );
        assert_eq!(
            url,
            "https://op.example.com/.well-known/openid-configuration"
        );
        let manual = source(|b| b.issuer("").endpoints(endpoints("https://op.example.com")));
        assert!(matches!(manual, Ok(ProviderSource::Manual(_))));
        let err = source(|b| b.issuer("  ")).expect_err("missing");
        assert_eq!(err.setting(), "issuer");
    }

    #[test]
    fn bad_urls_name_their_setting() {
        let err = source(|b| b.issuer("op.example.com")).expect_err("relative");
        assert_eq!(err.setting(), "issuer");
        let err = source(|b| b.discovery_url("ftp://op.example.com/x")).expect_err("ftp");
        assert_eq!(err.setting(), "discovery_url");
        let err = source(|b| {
            b.issuer("not a url")
                .discovery_url("https://op.example.com/d")
        })
        .expect_err("bad issuer");
        assert_eq!(err.setting(), "issuer");
    }
}
