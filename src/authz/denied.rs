//! Why a requirement turned an identity away.

use std::fmt;

use serde_json::Value;

/// The first rule of a [`Require`](crate::Require) that an identity failed, and how.
///
/// Meant for logs and for the application's own decisions, never for the user: its
/// `Display` names the rule the way the layer logs it (`claim `groups` contains `admins``).
///
/// ```
/// use tower_oidc::Denied;
///
/// fn explain(denied: &Denied) -> &'static str {
///     match denied {
///         Denied::ClaimMissing { .. } => "the token lacks a claim",
///         Denied::UnverifiedEmail { .. } => "verify your email first",
///         Denied::Scope { .. } => "the token lacks a scope",
///         _ => "not allowed",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Denied {
    /// A `claim_equals` or `claim_contains` rule found no claim at `path`.
    ClaimMissing {
        /// The claim's name or dotted path.
        path: String,
        /// What the rule wanted of it.
        expected: ClaimExpectation,
    },
    /// A `claim_equals` rule found the claim with another value.
    ClaimNotEqual {
        /// The claim's name or dotted path.
        path: String,
        /// The value the rule wanted.
        expected: Value,
    },
    /// A `claim_contains` rule found the claim without the value.
    ClaimLacksValue {
        /// The claim's name or dotted path.
        path: String,
        /// The value the rule looked for.
        value: String,
    },
    /// An `email_domain` rule found no `email` claim, or one at another domain.
    EmailDomain {
        /// The allowed domains, lower case.
        domains: Vec<String>,
    },
    /// An `email_domain` rule found an email at an allowed domain that the provider says
    /// is not verified (`email_verified: false`).
    UnverifiedEmail {
        /// The allowed domains, lower case.
        domains: Vec<String>,
    },
    /// A `scope` rule found the scope in neither `scope` nor `scp`.
    Scope {
        /// The scope the rule wanted.
        scope: String,
    },
    /// A `predicate` rule's check answered `false`.
    Predicate {
        /// The name given to the check.
        name: String,
    },
    /// An `acr` rule found no `acr` claim, or another class: the user must step up.
    Acr {
        /// The classes the rule accepts.
        values: Vec<String>,
    },
    /// A `max_auth_age` rule found no `auth_time`, or an older one: the user must sign in
    /// again.
    AuthTooOld {
        /// The oldest authentication the rule accepts.
        max_age: std::time::Duration,
    },
    /// A `dpop` rule found an identity that did not come from a DPoP-bound token with a
    /// valid proof: answered `401` with a `DPoP` challenge.
    DpopRequired,
    /// An `any_of` rule whose alternatives all failed: why each did, in order.
    NoAlternative {
        /// One denial per alternative.
        denials: Vec<Denied>,
    },
}

/// What a claim rule wanted of a claim it did not find.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClaimExpectation {
    /// The claim equal to this value (`claim_equals`).
    Equals(Value),
    /// The claim containing this value (`claim_contains`).
    Contains(String),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::ClaimMissing {
                path,
                expected: ClaimExpectation::Equals(value),
            }
            | Denied::ClaimNotEqual {
                path,
                expected: value,
            } => write!(f, "claim `{path}` equals {value}"),
            Denied::ClaimMissing {
                path,
                expected: ClaimExpectation::Contains(value),
            }
            | Denied::ClaimLacksValue { path, value } => {
                write!(f, "claim `{path}` contains `{value}`")
            }
            Denied::EmailDomain { domains } | Denied::UnverifiedEmail { domains } => {
                write!(f, "verified email at {}", domains.join(", "))
            }
            Denied::Scope { scope } => write!(f, "scope `{scope}`"),
            Denied::Predicate { name } => write!(f, "check `{name}`"),
            Denied::Acr { values } => write!(f, "acr one of {}", values.join(", ")),
            Denied::AuthTooOld { max_age } => {
                write!(f, "authenticated within {} s", max_age.as_secs())
            }
            Denied::NoAlternative { denials } => {
                write!(f, "one of {} alternatives", denials.len())
            }
            Denied::DpopRequired => f.write_str("a DPoP-bound token"),
        }
    }
}

impl std::error::Error for Denied {}

/// What a stronger or fresher sign-in must ask the provider for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StepUp {
    pub(crate) acr_values: Option<String>,
    pub(crate) max_age: Option<u64>,
}

impl Denied {
    /// The step-up that would satisfy this denial, when a new sign-in can.
    pub(crate) fn step_up(&self) -> Option<StepUp> {
        match self {
            Denied::Acr { values } => Some(StepUp {
                acr_values: Some(values.join(" ")),
                max_age: None,
            }),
            Denied::AuthTooOld { max_age } => Some(StepUp {
                acr_values: None,
                max_age: Some(max_age.as_secs()),
            }),
            _ => None,
        }
    }
}
