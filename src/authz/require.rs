//! Composable requirements on the signed-in identity.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::claims::{contains, lookup};
use super::denied::{ClaimExpectation, Denied};
use crate::identity::Identity;

type Predicate = Arc<dyn Fn(&Identity) -> bool + Send + Sync>;

#[derive(Clone)]
enum Rule {
    ClaimEquals(String, Value),
    ClaimContains(String, String),
    EmailDomain(Vec<String>),
    Scope(String),
    Predicate(String, Predicate),
    AnyOf(Vec<Require>),
    Acr(Vec<String>),
    MaxAuthAge(std::time::Duration),
    Dpop,
}

/// Requirements a signed-in identity must meet; every rule added must hold.
///
/// Checked on the merged claims (ID token and userinfo) of a session, or on a bearer
/// token's claims. Apply them to every protected route with
/// [`ConfigBuilder::require`](crate::ConfigBuilder::require), or to some routes with
/// [`Require::layer`]. A signed-in user who fails gets `403`, never a login loop.
///
/// ```
/// use tower_oidc::Require;
///
/// let admins = Require::new()
///     .claim_contains("groups", "data-platform")
///     .email_domain(["example.com"]);
/// let keycloak_admins = Require::new().claim_contains("realm_access.roles", "admin");
/// let readers = Require::new().scope("read:data");
/// let either = Require::new().any_of([admins, keycloak_admins]);
/// # let _ = (readers, either);
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Require {
    rules: Vec<Rule>,
}

impl Require {
    /// No requirement yet: every signed-in identity passes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The claim at `path` (a name, or a dotted path into nested objects) equals `value`.
    pub fn claim_equals(mut self, path: impl Into<String>, value: impl Into<Value>) -> Self {
        self.rules
            .push(Rule::ClaimEquals(path.into(), value.into()));
        self
    }

    /// The claim at `path` contains `value`: an array holding it, the string itself, or a
    /// space-separated string with it as one word.
    pub fn claim_contains(mut self, path: impl Into<String>, value: impl Into<String>) -> Self {
        self.rules
            .push(Rule::ClaimContains(path.into(), value.into()));
        self
    }

    /// The `email` claim is at one of these domains (case-insensitive), and the provider
    /// does not say it is unverified.
    pub fn email_domain<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let domains = domains
            .into_iter()
            .map(|domain| {
                domain
                    .into()
                    .trim()
                    .trim_start_matches('@')
                    .to_ascii_lowercase()
            })
            .collect();
        self.rules.push(Rule::EmailDomain(domains));
        self
    }

    /// The token grants `scope`: in the `scope` claim (space separated) or `scp` (an array,
    /// as Azure Entra and Okta write it).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.rules.push(Rule::Scope(scope.into()));
        self
    }

    /// A custom check; `name` says what it checks in logs.
    pub fn predicate<F>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn(&Identity) -> bool + Send + Sync + 'static,
    {
        self.rules
            .push(Rule::Predicate(name.into(), Arc::new(check)));
        self
    }

    /// At least one of `alternatives` must hold.
    pub fn any_of(mut self, alternatives: impl IntoIterator<Item = Require>) -> Self {
        self.rules
            .push(Rule::AnyOf(alternatives.into_iter().collect()));
        self
    }

    /// Step-up authentication (RFC 9470): the login reached one of these authentication
    /// context classes (the `acr` claim).
    ///
    /// A browser that fails is sent back to the provider with `acr_values`, returning to
    /// the page it asked for; the new ID token's `acr` is checked at the callback, and a
    /// provider that still answers another class ends in `403`, never in a loop. An API
    /// client gets `401` with `WWW-Authenticate: Bearer
    /// error="insufficient_user_authentication", acr_values="…"`.
    ///
    /// ```
    /// use tower_oidc::Require;
    ///
    /// let payments = Require::new().acr(["urn:example:mfa"]);
    /// # let _ = payments;
    /// ```
    pub fn acr<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rules
            .push(Rule::Acr(values.into_iter().map(Into::into).collect()));
        self
    }

    /// Step-up authentication (RFC 9470): the user authenticated at most `max_age` ago
    /// (the `auth_time` claim). A browser that fails signs in again with `max_age`; an API
    /// client gets `401` with `error="insufficient_user_authentication", max_age=…`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_oidc::Require;
    ///
    /// let settings = Require::new().max_auth_age(Duration::from_secs(300));
    /// # let _ = settings;
    /// ```
    pub fn max_auth_age(mut self, max_age: std::time::Duration) -> Self {
        self.rules.push(Rule::MaxAuthAge(max_age));
        self
    }

    /// The identity comes from a DPoP-bound access token (RFC 9449) whose proof passed:
    /// for routes that must not take a plain bearer token or a browser session, whatever
    /// the layer's [`DpopMode`](crate::DpopMode) (which must not be `Off` for any request
    /// to pass). Others get `401` with a `DPoP` challenge.
    ///
    /// ```
    /// use tower_oidc::Require;
    ///
    /// let payments = Require::new().dpop().scope("payments");
    /// # let _ = payments;
    /// ```
    pub fn dpop(mut self) -> Self {
        self.rules.push(Rule::Dpop);
        self
    }

    /// Whether no rule was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks `identity` against every rule, in the order they were added.
    ///
    /// # Errors
    ///
    /// [`Denied`] for the first rule that fails: which one and how, for logs and for the
    /// application's own decisions, not for users.
    pub fn check(&self, identity: &Identity) -> Result<(), Denied> {
        self.rules.iter().try_for_each(|rule| rule.check(identity))
    }

    /// Whether `identity` meets every rule.
    #[must_use]
    pub fn allows(&self, identity: &Identity) -> bool {
        self.check(identity).is_ok()
    }

    pub(crate) fn and(mut self, other: Require) -> Self {
        self.rules.extend(other.rules);
        self
    }
}

impl Rule {
    fn check(&self, identity: &Identity) -> Result<(), Denied> {
        let claims = identity.claims();
        match self {
            Rule::ClaimEquals(path, expected) => match lookup(claims, path) {
                None => Err(Denied::ClaimMissing {
                    path: path.clone(),
                    expected: ClaimExpectation::Equals(expected.clone()),
                }),
                Some(claim) if claim == expected => Ok(()),
                Some(_) => Err(Denied::ClaimNotEqual {
                    path: path.clone(),
                    expected: expected.clone(),
                }),
            },
            Rule::ClaimContains(path, value) => match lookup(claims, path) {
                None => Err(Denied::ClaimMissing {
                    path: path.clone(),
                    expected: ClaimExpectation::Contains(value.clone()),
                }),
                Some(claim) if contains(claim, value) => Ok(()),
                Some(_) => Err(Denied::ClaimLacksValue {
                    path: path.clone(),
                    value: value.clone(),
                }),
            },
            Rule::EmailDomain(domains) => {
                let domain = claims
                    .get("email")
                    .and_then(Value::as_str)
                    .and_then(|email| email.rsplit_once('@'))
                    .map(|(_, domain)| domain.to_ascii_lowercase());
                if !domain.is_some_and(|domain| domains.contains(&domain)) {
                    return Err(Denied::EmailDomain {
                        domains: domains.clone(),
                    });
                }
                if claims.get("email_verified") == Some(&Value::Bool(false)) {
                    return Err(Denied::UnverifiedEmail {
                        domains: domains.clone(),
                    });
                }
                Ok(())
            }
            Rule::Scope(scope) => {
                let granted = ["scope", "scp"].iter().any(|name| {
                    claims
                        .get(*name)
                        .is_some_and(|claim| contains(claim, scope))
                });
                if granted {
                    Ok(())
                } else {
                    Err(Denied::Scope {
                        scope: scope.clone(),
                    })
                }
            }
            Rule::Predicate(name, check) => {
                if check(identity) {
                    Ok(())
                } else {
                    Err(Denied::Predicate { name: name.clone() })
                }
            }
            Rule::Acr(values) => {
                let acr = claims.get("acr").and_then(Value::as_str);
                if acr.is_some_and(|acr| values.iter().any(|value| value == acr)) {
                    Ok(())
                } else {
                    Err(Denied::Acr {
                        values: values.clone(),
                    })
                }
            }
            Rule::MaxAuthAge(max_age) => {
                let auth_time = claims.get("auth_time").and_then(Value::as_u64);
                if auth_time.is_some_and(|at| !auth_too_old(at, max_age.as_secs())) {
                    Ok(())
                } else {
                    Err(Denied::AuthTooOld { max_age: *max_age })
                }
            }
            Rule::Dpop => {
                if crate::dpop::check::proved(identity) {
                    Ok(())
                } else {
                    Err(Denied::DpopRequired)
                }
            }
            Rule::AnyOf(alternatives) => {
                let mut denials = Vec::with_capacity(alternatives.len());
                for alternative in alternatives {
                    match alternative.check(identity) {
                        Ok(()) => return Ok(()),
                        Err(denied) => denials.push(denied),
                    }
                }
                Err(Denied::NoAlternative { denials })
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::ClaimEquals(path, value) => write!(f, "claim `{path}` equals {value}"),
            Rule::ClaimContains(path, value) => write!(f, "claim `{path}` contains `{value}`"),
            Rule::EmailDomain(domains) => write!(f, "verified email at {}", domains.join(", ")),
            Rule::Scope(scope) => write!(f, "scope `{scope}`"),
            Rule::Predicate(name, _) => write!(f, "check `{name}`"),
            Rule::AnyOf(alternatives) => write!(f, "one of {} alternatives", alternatives.len()),
            Rule::Acr(values) => write!(f, "acr one of {}", values.join(", ")),
            Rule::MaxAuthAge(max_age) => {
                write!(f, "authenticated within {} s", max_age.as_secs())
            }
            Rule::Dpop => f.write_str("a DPoP-bound token"),
        }
    }
}

/// Whether an authentication at `auth_time` is older than `max_age` seconds now; the
/// callback checks a step-up login by the same rule.
pub(crate) fn auth_too_old(auth_time: u64, max_age: u64) -> bool {
    auth_time.saturating_add(max_age) < crate::session::now()
}

impl fmt::Debug for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(ToString::to_string))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alice(claims: Value) -> Identity {
        Identity::for_tests(claims, None)
    }

    fn denial(require: &Require, claims: Value) -> Denied {
        require.check(&alice(claims)).expect_err("denied")
    }

    #[test]
    fn claim_rules_say_missing_from_unequal() {
        let tenant = Require::new().claim_equals("org.tenant", "acme");
        assert_eq!(
            denial(&tenant, json!({})),
            Denied::ClaimMissing {
                path: "org.tenant".into(),
                expected: ClaimExpectation::Equals(json!("acme")),
            }
        );
        let other = denial(&tenant, json!({"org": {"tenant": "other"}}));
        assert_eq!(
            other,
            Denied::ClaimNotEqual {
                path: "org.tenant".into(),
                expected: json!("acme"),
            }
        );
        assert_eq!(other.to_string(), "claim `org.tenant` equals \"acme\"");
        assert!(tenant.allows(&alice(json!({"org": {"tenant": "acme"}}))));

        let admins = Require::new().claim_contains("groups", "admins");
        let missing = denial(&admins, json!({}));
        assert_eq!(
            missing,
            Denied::ClaimMissing {
                path: "groups".into(),
                expected: ClaimExpectation::Contains("admins".into()),
            }
        );
        assert_eq!(missing.to_string(), "claim `groups` contains `admins`");
        assert_eq!(
            denial(&admins, json!({"groups": ["users"]})),
            Denied::ClaimLacksValue {
                path: "groups".into(),
                value: "admins".into(),
            }
        );
    }

    #[test]
    fn email_domain_says_wrong_domain_from_unverified() {
        let staff = Require::new().email_domain(["@Example.com", "example.org"]);
        let domains = vec!["example.com".to_owned(), "example.org".to_owned()];
        for claims in [
            json!({}),
            json!({"email": "eve@evil.example"}),
            json!({"email": "eve@evil.example", "email_verified": false}),
        ] {
            assert_eq!(
                denial(&staff, claims.clone()),
                Denied::EmailDomain {
                    domains: domains.clone()
                },
                "{claims}"
            );
        }
        let unverified = denial(
            &staff,
            json!({"email": "bob@EXAMPLE.org", "email_verified": false}),
        );
        assert_eq!(
            unverified,
            Denied::UnverifiedEmail {
                domains: domains.clone()
            }
        );
        assert_eq!(
            unverified.to_string(),
            "verified email at example.com, example.org"
        );
        assert!(staff.allows(&alice(json!({"email": "bob@example.com"}))));
    }

    #[test]
    fn scope_predicate_and_alternatives() {
        let readers = Require::new().scope("read:data");
        let denied = denial(&readers, json!({"scope": "openid read"}));
        assert_eq!(
            denied,
            Denied::Scope {
                scope: "read:data".into()
            }
        );
        assert_eq!(denied.to_string(), "scope `read:data`");
        assert!(readers.allows(&alice(json!({"scp": ["read:data"]}))));

        let staff = Require::new().predicate("staff id", |id| id.user_id().starts_with("staff-"));
        let denied = denial(&staff, json!({}));
        assert_eq!(
            denied,
            Denied::Predicate {
                name: "staff id".into()
            }
        );
        assert_eq!(denied.to_string(), "check `staff id`");

        let either = Require::new().any_of([staff, readers.clone()]);
        let denied = denial(&either, json!({}));
        assert_eq!(
            denied,
            Denied::NoAlternative {
                denials: vec![
                    Denied::Predicate {
                        name: "staff id".into()
                    },
                    Denied::Scope {
                        scope: "read:data".into()
                    },
                ]
            }
        );
        assert_eq!(denied.to_string(), "one of 2 alternatives");
        assert!(either.allows(&alice(json!({"scope": "read:data"}))));
    }

    #[test]
    fn the_first_failing_rule_is_reported() {
        let require = Require::new()
            .claim_contains("groups", "admins")
            .scope("write:data");
        assert_eq!(
            denial(&require, json!({"groups": ["admins"]})),
            Denied::Scope {
                scope: "write:data".into()
            }
        );
        assert!(Require::new().check(&alice(json!({}))).is_ok());
    }
}
