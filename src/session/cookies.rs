//! Reading the `Cookie` request header without allocating.

use http::header::COOKIE;
use http::HeaderMap;

/// Every `name=value` pair of every `Cookie` header, in order.
pub(crate) fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
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
}
