//! How DPoP is configured.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Whether the layer, as a resource server, accepts DPoP-bound access tokens
/// (`Authorization: DPoP <token>` with a `DPoP` proof header, RFC 9449).
///
/// Whatever the mode, a token bound to a key (its `cnf` claim, or the introspection
/// answer's) is never accepted as a plain `Bearer` token.
///
/// ```
/// use tower_oidc::DpopMode;
///
/// assert_eq!("required".parse::<DpopMode>(), Ok(DpopMode::Required));
/// assert!("sometimes".parse::<DpopMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopMode {
    /// `DPoP` credentials are left to the application, as any other scheme.
    #[default]
    Off,
    /// Both unbound `Bearer` tokens and DPoP-bound tokens with their proof are accepted.
    Optional,
    /// Only DPoP-bound tokens with their proof: a `Bearer` token gets `401` with a `DPoP`
    /// challenge.
    Required,
}

/// A DPoP mode that is not `off`, `optional` or `required`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DPoP mode `{0}`: use `off`, `optional` or `required`")]
pub struct UnknownDpopMode(String);

impl FromStr for DpopMode {
    type Err = UnknownDpopMode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            _ => Err(UnknownDpopMode(text.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for DpopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        })
    }
}

/// How old a proof may be (its `iat` in the past) by default.
const PROOF_MAX_AGE: Duration = Duration::from_secs(60);
/// How far in the future a proof's `iat` may be, for clocks running ahead.
const PROOF_MAX_FUTURE: Duration = Duration::from_secs(5);

/// Every DPoP setting.
#[derive(Debug, Clone)]
pub(crate) struct DpopOptions {
    pub(crate) mode: DpopMode,
    /// Proofs must carry a nonce this layer issued (`use_dpop_nonce`).
    pub(crate) nonces: bool,
    pub(crate) max_age: Duration,
    pub(crate) max_future: Duration,
    /// The browser login binds its tokens to a key of the session.
    pub(crate) bind_tokens: bool,
}

impl Default for DpopOptions {
    fn default() -> Self {
        Self {
            mode: DpopMode::Off,
            nonces: false,
            max_age: PROOF_MAX_AGE,
            max_future: PROOF_MAX_FUTURE,
            bind_tokens: false,
        }
    }
}

impl DpopOptions {
    /// How long a proof's `jti` is remembered: as long as its `iat` can pass.
    pub(crate) fn jti_lifetime_secs(&self) -> u64 {
        self.max_age
            .saturating_add(self.max_future)
            .as_secs()
            .saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for mode in [DpopMode::Off, DpopMode::Optional, DpopMode::Required] {
            assert_eq!(mode.to_string().parse::<DpopMode>(), Ok(mode));
        }
        assert_eq!(" Required ".parse::<DpopMode>(), Ok(DpopMode::Required));
        for bad in ["", "on", "true", "require"] {
            assert!(bad.parse::<DpopMode>().is_err(), "{bad}");
        }
        assert_eq!(DpopOptions::default().jti_lifetime_secs(), 66);
    }
}
