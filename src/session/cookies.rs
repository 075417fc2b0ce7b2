//! Reading the `Cookie` request header without allocating or validating more than needed:
//! a session cookie is kilobytes long and is read on every request.

use http::header::{GetAll, COOKIE};
use http::{HeaderMap, HeaderValue};

/// Every `name=value` pair of every `Cookie` header, in order, as text. Pairs that are not
/// UTF-8 are skipped, not the header around them.
pub(crate) fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    request_cookie_bytes(headers).filter_map(|(name, value)| {
        Some((
            std::str::from_utf8(name).ok()?,
            std::str::from_utf8(value).ok()?,
        ))
    })
}

/// Every `name=value` pair of every `Cookie` header, in order, as the bytes sent: only the
/// separators are looked at, so the values are checked by whoever uses them.
pub(crate) fn request_cookie_bytes(headers: &HeaderMap) -> impl Iterator<Item = (&[u8], &[u8])> {
    cookie_pairs(&headers.get_all(COOKIE))
}

/// As [`request_cookie_bytes`], over `Cookie` headers already looked up.
pub(crate) fn cookie_pairs<'a>(
    cookies: &GetAll<'a, HeaderValue>,
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    cookies
        .iter()
        .flat_map(|header| Pairs::of(header.as_bytes()))
        .filter_map(name_and_value)
}

/// A `name=value` pair split at its first `=`, both trimmed, the value unquoted; `None`
/// without `=`.
pub(crate) fn name_and_value(pair: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = memchr::memchr(b'=', pair)?;
    let (name, value) = (pair.get(..at)?, pair.get(at + 1..)?);
    let value = value.trim_ascii();
    let value = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value);
    Some((name.trim_ascii(), value))
}

/// `header.split(b';')`, with a vectorized search.
pub(crate) struct Pairs<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Pairs<'a> {
    /// The `;`-separated parts of one `Cookie` header.
    pub(crate) fn of(header: &'a [u8]) -> Self {
        Self { rest: Some(header) }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match memchr::memchr(b';', rest) {
            Some(at) => {
                let (pair, tail) = rest.split_at(at);
                self.rest = tail.get(1..);
                Some(pair)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_headers_and_quotes() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "a=1; b=\"2\"".parse().expect("header"));
        headers.append(COOKIE, "c=3;bad;d=".parse().expect("header"));
        let pairs: Vec<_> = request_cookies(&headers).collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2"), ("c", "3"), ("d", "")]);
    }

    #[test]
    fn a_pair_that_is_not_utf8_leaves_the_others_readable() {
        let mut headers = HeaderMap::new();
        let value = http::HeaderValue::from_bytes(b"a=1; junk=\xff\xfe; b=2").expect("header");
        headers.append(COOKIE, value);
        let pairs: Vec<_> = request_cookies(&headers).collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2")]);
        assert_eq!(request_cookie_bytes(&headers).count(), 3);
    }

    #[test]
    fn reads_pairs_as_split_at_semicolons() {
        for header in [
            "",
            ";",
            ";;a=1;",
            "a=1",
            "a=1;",
            "a=1; b=2;; c=3",
            "é=1;x=ü;",
            " a = 1 ; b=\"x\" ;c;=v;n=;q=\"",
        ] {
            let mut headers = HeaderMap::new();
            headers.append(COOKIE, HeaderValue::from_str(header).expect("header"));
            headers.append(COOKIE, HeaderValue::from_static("z=9"));
            let pairs: Vec<(&[u8], &[u8])> = request_cookie_bytes(&headers).collect();
            let expected: Vec<(&[u8], &[u8])> = header
                .split(';')
                .chain(["z=9"])
                .filter_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    let value = value.trim_ascii();
                    let value = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value);
                    Some((name.trim_ascii().as_bytes(), value.as_bytes()))
                })
                .collect();
            assert_eq!(pairs, expected, "{header:?}");
        }
    }
}
