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
            Denied::NoAlternative { denials } => {
                write!(f, "one of {} alternatives", denials.len())
            }
        }
    }
}

impl std::error::Error for Denied {}
