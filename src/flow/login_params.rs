//! The authorization parameters a login may carry from its request: an allowlist, each
//! value bounded, so a link can ask for a locale or a stronger sign-in but never smuggle
//! arbitrary parameters (a `redirect_uri`, a `response_mode`) to the provider.

/// Names taken from the login request's query, in this order.
pub(crate) const FORWARDED: &[&str] = &[
    "prompt",
    "login_hint",
    "ui_locales",
    "acr_values",
    "max_age",
    "organization",
];

/// Longer values are dropped.
const MAX_VALUE_LEN: usize = 256;

/// What a login asks the provider for beyond the configured parameters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LoginParams {
    /// Allowed parameters, `prompt=none` excepted.
    pub(crate) params: Vec<(String, String)>,
    /// `prompt=none` was asked for.
    pub(crate) silent: bool,
    /// A silent login failed already: this one must not be silent.
    pub(crate) interactive: bool,
}

impl LoginParams {
    /// The allowed parameters of `query`; unknown names, repeated names (after the
    /// first), empty or overlong values, values with control characters and malformed
    /// `max_age` or `prompt` values are dropped.
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        let mut found = Self::default();
        let Some(query) = query else {
            return found;
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let Some(name) = FORWARDED.iter().find(|allowed| **allowed == name) else {
                continue;
            };
            let taken = found.params.iter().any(|(known, _)| known == name)
                || (*name == "prompt" && found.silent);
            if taken || !acceptable(name, &value) {
                continue;
            }
            if *name == "prompt" && value == "none" {
                found.silent = true;
            } else {
                found.params.push(((*name).to_owned(), value.into_owned()));
            }
        }
        found
    }

    /// The value asked for `name`, if any.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        find(&self.params, name)
    }

    /// Whether this login is sent with `prompt=none`: asked for, or by default
    /// (`silent_first`) when the login names no `prompt` and no silent login failed.
    pub(crate) fn is_silent(&self, silent_first: bool) -> bool {
        !self.interactive && (self.silent || (silent_first && self.get("prompt").is_none()))
    }
}

/// The value of `name` in `params`.
pub(crate) fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, value)| value.as_str())
}

fn acceptable(name: &str, value: &str) -> bool {
    if value.is_empty() || value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return false;
    }
    match name {
        "max_age" => value.len() <= 10 && value.bytes().all(|b| b.is_ascii_digit()),
        // OpenID Connect Core 1.0 §3.1.2.1, and `create` (Initiating User Registration).
        "prompt" => {
            let words: Vec<&str> = value.split(' ').collect();
            words.iter().all(|word| {
                matches!(
                    *word,
                    "none" | "login" | "consent" | "select_account" | "create"
                )
            }) && (words.len() == 1 || !words.contains(&"none"))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> LoginParams {
        LoginParams::from_query(Some(query))
    }

    #[test]
    fn only_allowed_parameters_pass() {
        let found = pairs(
            "login_hint=bob%40example.com&redirect_uri=https://evil.example&ui_locales=fr\
             &response_mode=form_post&acr_values=urn:mfa&max_age=300&organization=acme",
        );
        assert_eq!(
            found.params,
            [
                ("login_hint".to_owned(), "bob@example.com".to_owned()),
                ("ui_locales".to_owned(), "fr".to_owned()),
                ("acr_values".to_owned(), "urn:mfa".to_owned()),
                ("max_age".to_owned(), "300".to_owned()),
                ("organization".to_owned(), "acme".to_owned()),
            ]
        );
        assert!(!found.silent);
    }

    #[test]
    fn bad_values_are_dropped() {
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        let found = pairs(&format!(
            "login_hint={long}&max_age=-1&ui_locales=fr%0Aen&prompt=none%20login&acr_values="
        ));
        assert_eq!(found, LoginParams::default());
        assert_eq!(pairs("max_age=12345678901").get("max_age"), None);
        assert_eq!(pairs("prompt=bogus").get("prompt"), None);
    }

    #[test]
    fn prompt_none_is_a_silent_login_and_the_first_value_wins() {
        let found = pairs("prompt=none&prompt=login&login_hint=a&login_hint=b");
        assert!(found.silent);
        assert!(found.is_silent(false));
        assert_eq!(found.params, [("login_hint".to_owned(), "a".to_owned())]);
        let interactive = pairs("prompt=select_account");
        assert!(!interactive.silent);
        assert_eq!(interactive.get("prompt"), Some("select_account"));
        assert!(!interactive.is_silent(true));
        assert!(pairs("").is_silent(true));
        assert!(!pairs("").is_silent(false));
        let retried = LoginParams {
            interactive: true,
            ..pairs("prompt=none")
        };
        assert!(!retried.is_silent(true));
    }
}
