//! The return-to target after login: same-origin relative paths only.

use url::Url;

const PROBE_ORIGIN: &str = "http://app.invalid";

/// Turns a user-supplied `next` into a safe same-origin path with its query, or `None`.
///
/// The text is resolved the way a browser would (WHATWG URL parsing: `\` is `/`, tabs and
/// newlines vanish) against a placeholder origin; anything that leaves that origin, or that
/// would be read as protocol-relative when sent back as a `Location`, is refused.
pub(crate) fn safe_return_to(next: &str) -> Option<String> {
    if next.len() > 2048
        || !next.starts_with('/')
        || next.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    let base = Url::parse(PROBE_ORIGIN).ok()?;
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin()
        || resolved.username() != ""
        || resolved.password().is_some()
    {
        return None;
    }
    let path = resolved.path();
    if path.starts_with("//") || path.starts_with("/\\") {
        return None;
    }
    let mut target = path.to_owned();
    if let Some(query) = resolved.query() {
        target.push('?');
        target.push_str(query);
    }
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn keeps_same_origin_paths() {
        assert_eq!(safe_return_to("/").as_deref(), Some("/"));
        assert_eq!(
            safe_return_to("/a/b?x=1&y=2").as_deref(),
            Some("/a/b?x=1&y=2")
        );
        assert_eq!(safe_return_to("/a/../b").as_deref(), Some("/b"));
        assert_eq!(
            safe_return_to("/%2F%2Fevil").as_deref(),
            Some("/%2F%2Fevil")
        );
    }

    #[test]
    fn refuses_other_origins() {
        for attack in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            " //evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "/.//evil.example",
            "/..//evil.example",
            "///evil.example",
            "//%65vil.example",
            "evil.example",
            "",
        ] {
            let result = safe_return_to(attack);
            assert!(
                result
                    .as_deref()
                    .is_none_or(|path| path.starts_with('/') && !path.starts_with("//")),
                "{attack:?} -> {result:?}"
            );
            assert!(result.is_none(), "{attack:?} -> {result:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn accepted_targets_stay_on_the_origin(next in "\\PC{0,40}") {
            if let Some(target) = safe_return_to(&next) {
                proptest::prop_assert!(target.starts_with('/'));
                proptest::prop_assert!(!target.starts_with("//") && !target.starts_with("/\\"));
                let base = url::Url::parse("http://app.invalid/").expect("base");
                let resolved = base.join(&target).expect("joins");
                proptest::prop_assert_eq!(resolved.origin(), base.origin());
            }
        }

        #[test]
        fn slash_led_attacks_never_pass(host in "[a-z]{1,10}", sep in "(//|/\\\\|\\\\\\\\|/\t/|/%09/)") {
            let attack = format!("{sep}{host}.example");
            if let Some(target) = safe_return_to(&attack) {
                proptest::prop_assert!(!target.starts_with("//"), "{attack} -> {target}");
            }
        }
    }
}
