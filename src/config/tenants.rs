//! Multi-tenant issuers (Microsoft Entra ID's `common` and `organizations` endpoints, one
//! Okta org per customer): one discovery document names an issuer template, and each
//! token's tenant fills it in. The tenant must be allowed, and the token's `iss` must be
//! exactly the filled-in template: the issuer check is never switched off.

use std::fmt;
use std::sync::Arc;

/// The placeholder a template's tenant goes in.
const PLACEHOLDER: &str = "{tenantid}";

type TenantCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// An issuer template such as `https://login.microsoftonline.com/{tenantid}/v2.0`, filled
/// in with each token's `tid` claim, and the tenants allowed to sign in.
///
/// ```
/// use tower_oidc::{Config, ProviderConfig, TenantIssuer};
///
/// let entra = TenantIssuer::new("https://login.microsoftonline.com/{tenantid}/v2.0")
///     .allow_tenants(["9188040d-6c67-4c5b-b112-36a304b66dad"]);
/// let config = Config::builder()
///     .provider(
///         "entra",
///         ProviderConfig::new()
///             .discovery_url(
///                 "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
///             )
///             .tenant_issuer(entra)
///             .client_id("my-app"),
///     )
///     .secret_key("a random string of at least 32 bytes!!")
///     .build()?;
/// # let _ = config;
/// # Ok::<(), tower_oidc::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct TenantIssuer {
    template: String,
    allowed: Vec<String>,
    check: Option<TenantCheck>,
}

impl TenantIssuer {
    /// `template` is the issuer the provider's metadata names, with `{tenantid}` where
    /// each tenant's id goes (Microsoft Entra ID's multi-tenant discovery documents name
    /// exactly that). No tenant is allowed until [`allow_tenants`](Self::allow_tenants) or
    /// [`allow_tenant_if`](Self::allow_tenant_if) says which.
    pub fn new(template: impl Into<String>) -> Self {
        Self {
            template: template.into(),
            allowed: Vec::new(),
            check: None,
        }
    }

    /// Tenant ids allowed to sign in. Adds to those given before.
    pub fn allow_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed.extend(tenants.into_iter().map(Into::into));
        self
    }

    /// Allows the tenants `check` accepts (a customer table, say), besides those of
    /// [`allow_tenants`](Self::allow_tenants). Replaces any earlier check.
    pub fn allow_tenant_if(mut self, check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    pub(crate) fn has_placeholder(&self) -> bool {
        self.template.contains(PLACEHOLDER)
    }

    /// Whether `tenant` may sign in.
    pub(crate) fn allows(&self, tenant: &str) -> bool {
        self.allowed.iter().any(|allowed| allowed == tenant)
            || self.check.as_ref().is_some_and(|check| check(tenant))
    }

    /// The issuer of an allowed `tenant`; `None` for a tenant that is not allowed, or an
    /// id that could change the issuer's shape.
    pub(crate) fn issuer_of(&self, tenant: &str) -> Option<String> {
        let plain = !tenant.is_empty()
            && tenant.len() <= 64
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        (plain && self.allows(tenant)).then(|| self.template.replace(PLACEHOLDER, tenant))
    }

    /// Whether `iss` is the issuer of an allowed tenant, `tenant` (the token's `tid`) when
    /// it names one, else the tenant read from `iss` itself.
    pub(crate) fn accepts(&self, iss: &str, tenant: Option<&str>) -> bool {
        let tenant = match tenant {
            Some(tenant) => Some(tenant.to_owned()),
            None => self.tenant_in(iss),
        };
        tenant
            .and_then(|tenant| self.issuer_of(&tenant))
            .is_some_and(|expected| crate::issuer::same_issuer(&expected, iss))
    }

    /// The tenant `iss` names where the template has its placeholder.
    pub(crate) fn tenant_in(&self, iss: &str) -> Option<String> {
        let (before, after) = self.template.split_once(PLACEHOLDER)?;
        let iss = iss.trim_end_matches('/');
        let after = after.trim_end_matches('/');
        let tenant = iss.strip_prefix(before)?.strip_suffix(after)?;
        (!tenant.is_empty()).then(|| tenant.to_owned())
    }
}

impl fmt::Debug for TenantIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantIssuer")
            .field("template", &self.template)
            .field("allowed", &self.allowed)
            .field("check", &self.check.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entra() -> TenantIssuer {
        TenantIssuer::new("https://login.microsoftonline.com/{tenantid}/v2.0").allow_tenants(["t1"])
    }

    #[test]
    fn only_allowed_tenants_fill_the_template() {
        let tenants = entra();
        assert!(tenants.accepts("https://login.microsoftonline.com/t1/v2.0", Some("t1")));
        assert!(tenants.accepts("https://login.microsoftonline.com/t1/v2.0", None));
        assert!(!tenants.accepts("https://login.microsoftonline.com/t2/v2.0", Some("t2")));
        // The `tid` and the issuer must name the same tenant.
        assert!(!tenants.accepts("https://login.microsoftonline.com/t2/v2.0", Some("t1")));
        assert!(!tenants.accepts("https://evil.example/t1/v2.0", Some("t1")));
        assert!(!tenants.accepts("https://login.microsoftonline.com/t1/x/v2.0", None));
    }

    #[test]
    fn a_hook_allows_more_tenants_and_odd_ids_are_refused() {
        let tenants = entra().allow_tenant_if(|tenant| tenant.starts_with("cust-"));
        assert!(tenants.accepts("https://login.microsoftonline.com/cust-9/v2.0", None));
        let slashed = entra().allow_tenant_if(|_| true);
        assert!(slashed.issuer_of("a/b").is_none());
        assert!(slashed.issuer_of("").is_none());
    }
}
