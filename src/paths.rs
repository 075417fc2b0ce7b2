//! The layer's own routes, request-path normalization and whitelist matching.

use std::borrow::Cow;

/// The layer's own routes, base path included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routes {
    pub(crate) login: String,
    pub(crate) logout: String,
    pub(crate) callback: String,
    /// OpenID Connect Back-Channel Logout: the provider POSTs logout tokens here.
    pub(crate) backchannel_logout: String,
    /// OpenID Connect Front-Channel Logout: the provider frames this page.
    pub(crate) frontchannel_logout: String,
    /// Where logins land by default.
    pub(crate) home: String,
}

/// What a request path is, once normalized.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NormalizedPath<'a> {
    pub(crate) path: Cow<'a, str>,
    /// The raw path held dot segments, encoded separators, `\`, `;` parameters, empty
    /// segments or invalid encodings. Routers disagree on what such paths mean, so they are
    /// never whitelisted and never taken for one of the layer's own routes.
    pub(crate) ambiguous: bool,
}

/// Percent-decodes, resolves dot segments and collapses empty segments. The result is
/// what the path means; `ambiguous` says whether the raw text differed in structure.
pub(crate) fn normalize_path(raw: &str) -> NormalizedPath<'_> {
    if is_clean(raw) {
        return NormalizedPath {
            path: Cow::Borrowed(raw),
            ambiguous: false,
        };
    }
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8();
    let decoded = decoded.unwrap_or(Cow::Borrowed(raw)).replace('\\', "/");
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        let segment = segment.split(';').next().unwrap_or("");
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut path = String::with_capacity(decoded.len() + 1);
    for segment in &segments {
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() || (decoded.ends_with('/') && !segments.is_empty()) {
        path.push('/');
    }
    NormalizedPath {
        path: Cow::Owned(path),
        ambiguous: true,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    /// `/static/*`: the path `/static` and everything below it.
    Prefix(String),
}

/// Whether `raw` is already normalized: absolute, with no encoding, `\\`, `;`, empty or dot
/// segment. One pass over the bytes, as every request's path goes through it.
fn is_clean(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return false;
    }
    let is_dots = |segment: &[u8]| matches!(segment, b"." | b"..");
    let mut start = 1;
    for (at, &byte) in bytes.iter().enumerate().skip(1) {
        match byte {
            b'%' | b'\\' | b';' => return false,
            b'/' => {
                let segment = bytes.get(start..at).unwrap_or_default();
                if segment.is_empty() || is_dots(segment) {
                    return false;
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    !is_dots(bytes.get(start..).unwrap_or_default())
}

/// Paths that pass without a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Whitelist {
    patterns: Vec<Pattern>,
}

impl Whitelist {
    /// Accepts `health` (a bare name: the path `/health` under the base path), a Flask
    /// endpoint name such as `api.healthcheck` (its last part), `/exact/path` and `/prefix/*`.
    pub(crate) fn parse(entries: &[String], base_path: &str) -> Result<Self, String> {
        let mut patterns = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if entry.contains(['?', '#', '%', '\\', ';', ' ']) || entry.contains("..") {
                return Err(format!(
                    "entry `{entry}` must be a plain path, `/prefix/*` or an endpoint name"
                ));
            }
            let path = if entry.starts_with('/') {
                entry.to_owned()
            } else {
                let name = entry.rsplit('.').next().unwrap_or(entry);
                format!("{base_path}/{name}")
            };
            let pattern = match path.strip_suffix("/*") {
                Some(prefix) if !prefix.contains('*') => Pattern::Prefix(prefix.to_owned()),
                Some(_) => return Err(format!("entry `{entry}`: `*` only as the last segment")),
                None if path.contains('*') => {
                    return Err(format!("entry `{entry}`: `*` only as the last segment"))
                }
                None => Pattern::Exact(path.trim_end_matches('/').to_owned()),
            };
            patterns.push(pattern);
        }
        Ok(Self { patterns })
    }

    /// Whether a normalized, unambiguous path is whitelisted.
    pub(crate) fn matches_clean(&self, path: &str) -> bool {
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        self.patterns.iter().any(|pattern| match pattern {
            Pattern::Exact(exact) => exact == trimmed || (exact.is_empty() && trimmed == "/"),
            Pattern::Prefix(prefix) => {
                trimmed == prefix
                    || (trimmed.starts_with(prefix.as_str())
                        && trimmed.as_bytes().get(prefix.len()) == Some(&b'/'))
                    || prefix.is_empty()
            }
        })
    }

    /// Whether a raw request path is whitelisted: only unambiguous paths qualify.
    pub(crate) fn matches(&self, normalized: &NormalizedPath<'_>) -> bool {
        !normalized.ambiguous && self.matches_clean(&normalized.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Whitelist {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        Whitelist::parse(&entries, "").expect("valid")
    }

    #[test]
    fn clean_paths_borrow() {
        let normalized = normalize_path("/api/data");
        assert!(matches!(normalized.path, Cow::Borrowed("/api/data")));
        assert!(!normalized.ambiguous);
    }

    #[test]
    fn normalization_resolves_tricks() {
        for (raw, expected) in [
            ("/static/../admin", "/admin"),
            ("/static/%2e%2e/admin", "/admin"),
            ("/static%2F..%2Fadmin", "/admin"),
            ("/static/..\\admin", "/admin"),
            ("//health", "/health"),
            ("/health;jsessionid=1", "/health"),
            ("/./health", "/health"),
            ("/../../etc", "/etc"),
            ("/a/./", "/a/"),
        ] {
            let normalized = normalize_path(raw);
            assert_eq!(normalized.path, expected, "{raw}");
            assert!(normalized.ambiguous, "{raw}");
        }
    }

    #[test]
    fn whitelist_entries() {
        let whitelist = list(&["health", "api.healthcheck", "/static/*", "/exact"]);
        assert!(whitelist.matches_clean("/health"));
        assert!(whitelist.matches_clean("/health/"));
        assert!(whitelist.matches_clean("/healthcheck"));
        assert!(whitelist.matches_clean("/static"));
        assert!(whitelist.matches_clean("/static/js/app.js"));
        assert!(whitelist.matches_clean("/exact"));
        assert!(!whitelist.matches_clean("/staticfoo"));
        assert!(!whitelist.matches_clean("/healthz"));
        assert!(!whitelist.matches_clean("/exact/more"));
        assert!(!whitelist.matches_clean("/"));
    }

    #[test]
    fn whitelist_bypass_attempts_fail() {
        let whitelist = list(&["health", "/static/*"]);
        for raw in [
            "/static/../admin",
            "/static/%2e%2e/admin",
            "/static/%2E%2E/admin",
            "/static%2F..%2Fadmin",
            "/static/..%2fadmin",
            "/static/..\\admin",
            "/static/..;/admin",
            "/health/../admin",
            "/health;/../admin",
            "/%68ealth",
            "/health%00",
            "/health%zz",
        ] {
            assert!(!whitelist.matches(&normalize_path(raw)), "{raw} bypassed");
        }
        assert!(whitelist.matches(&normalize_path("/static/app.js")));
        assert!(whitelist.matches(&normalize_path("/health")));
    }

    #[test]
    fn base_path_applies_to_bare_names() {
        let entries = vec!["health".to_owned(), "/abs".to_owned()];
        let whitelist = Whitelist::parse(&entries, "/my_app").expect("valid");
        assert!(whitelist.matches_clean("/my_app/health"));
        assert!(!whitelist.matches_clean("/health"));
        assert!(whitelist.matches_clean("/abs"));
    }

    #[test]
    fn refuses_unclear_entries() {
        for entry in ["/a/*/b", "/x?y", "/../x", "/a%2f"] {
            assert!(
                Whitelist::parse(&[entry.to_owned()], "").is_err(),
                "{entry}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn normalized_paths_are_absolute_and_resolved(raw in "/[a-zA-Z0-9%./;\\\\_~-]{0,48}") {
            let normalized = normalize_path(&raw);
            proptest::prop_assert!(normalized.path.starts_with('/'));
            for segment in normalized.path.split('/').skip(1) {
                proptest::prop_assert!(segment != "." && segment != "..", "{raw} -> {}", normalized.path);
            }
            proptest::prop_assert!(!normalized.path.contains("//"), "{raw} -> {}", normalized.path);
        }

        #[test]
        fn the_one_pass_check_agrees_with_the_segment_rules(raw in "/?[a-z%./;\\\\]{0,24}") {
            let by_segments = raw.starts_with('/')
                && !raw.contains(['%', '\\', ';'])
                && !raw.contains("//")
                && !raw.split('/').any(|segment| segment == "." || segment == "..");
            proptest::prop_assert_eq!(is_clean(&raw), by_segments, "{}", raw);
        }

        #[test]
        fn only_unambiguous_paths_are_whitelisted(raw in "/[a-z%./;\\\\]{0,32}") {
            let whitelist = list(&["health", "/static/*"]);
            let normalized = normalize_path(&raw);
            if whitelist.matches(&normalized) {
                proptest::prop_assert!(!normalized.ambiguous);
                proptest::prop_assert_eq!(normalized.path.as_ref(), raw.as_str());
            }
        }
    }
}
