use std::fmt;

/// A configuration that cannot start: names the setting (environment variable or builder
/// method) and what is wrong with it. Secret values are never included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    setting: String,
    problem: String,
}

impl ConfigError {
    pub(crate) fn new(setting: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            problem: problem.into(),
        }
    }

    /// The environment variable or builder setting at fault, e.g. `OIDC_CLIENT_ID`.
    #[must_use]
    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// What is wrong with it.
    #[must_use]
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid OIDC configuration: {}: {}",
            self.setting, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}
