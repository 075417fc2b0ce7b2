//! Comparing issuer identifiers.

/// Issuers compare exactly, except for one trailing slash, which operators and providers
/// (Auth0 publishes `https://tenant.auth0.com/`) write inconsistently.
pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::same_issuer;

    #[test]
    fn one_trailing_slash_is_ignored_nothing_else() {
        assert!(same_issuer("https://op.example/", "https://op.example"));
        assert!(!same_issuer("https://op.example/a", "https://op.example"));
        assert!(!same_issuer("https://OP.example", "https://op.example"));
    }
}
