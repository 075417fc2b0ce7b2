//! Reading the `Cookie` request header without allocating.

use http::header::COOKIE;
use http::HeaderMap;

/// Every `name=value` pair of every `Cookie` header, in order.
pub(crate) fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| Pairs { rest: Some(header) })
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name.trim(), value))
        })
}

/// `header.split(';')`, with a vectorized search: a session cookie is kilobytes long and is
/// scanned on every request.
struct Pairs<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match memchr::memchr(b';', rest.as_bytes()) {
            Some(at) => {
                let (pair, tail) = rest.split_at(at);
                // `;` is one byte, so the rest after it starts on a character boundary.
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
    fn splits_like_str_split() {
        for header in [
            "",
            ";",
            ";;a=1;",
            "a=1",
            "a=1;",
            "a=1; b=2;; c=3",
            "é=1;x=ü;",
        ] {
            let pairs: Vec<&str> = Pairs { rest: Some(header) }.collect();
            let split: Vec<&str> = header.split(';').collect();
            assert_eq!(pairs, split, "{header:?}");
        }
    }
}
