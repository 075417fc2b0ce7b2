//! Conversions at the edge: actix-web 4 speaks `http` 0.2, the engine `http` 1.

use actix_web::http::header::{
    HeaderMap as ActixHeaderMap, HeaderName as ActixHeaderName, HeaderValue as ActixHeaderValue,
    CACHE_CONTROL, SET_COOKIE,
};
use actix_web::http::StatusCode as ActixStatusCode;
use actix_web::HttpResponse;

use crate::response::CoreResponse;

/// The request method as the engine's type. Both crates accept the same tokens, so this
/// fails only on a method actix itself would have refused.
pub(super) fn method(method: &actix_web::http::Method) -> Option<http::Method> {
    http::Method::from_bytes(method.as_str().as_bytes()).ok()
}

/// Every request header, by name and bytes, in the order received per name.
pub(super) fn headers(headers: &ActixHeaderMap) -> http::HeaderMap {
    let mut converted = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            converted.append(name, value);
        }
    }
    converted
}

pub(super) fn status(status: http::StatusCode) -> ActixStatusCode {
    ActixStatusCode::from_u16(status.as_u16()).unwrap_or(ActixStatusCode::INTERNAL_SERVER_ERROR)
}

fn header_value(value: &http::HeaderValue) -> Option<ActixHeaderValue> {
    ActixHeaderValue::from_bytes(value.as_bytes()).ok()
}

/// One of the engine's own answers as an actix response: status, every header, body.
pub(super) fn response(response: CoreResponse) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let mut converted = HttpResponse::with_body(status(parts.status), body).map_into_boxed_body();
    let headers = converted.headers_mut();
    for (name, value) in &parts.headers {
        let name = ActixHeaderName::from_bytes(name.as_str().as_bytes());
        if let (Ok(name), Some(value)) = (name, header_value(value)) {
            headers.append(name, value);
        }
    }
    converted
}

/// `response` marked `X-OIDC-Auth: disabled`: authentication is off.
pub(super) fn mark_auth_disabled<B>(
    mut response: actix_web::dev::ServiceResponse<B>,
) -> actix_web::dev::ServiceResponse<B> {
    mark_headers(response.headers_mut());
    response
}

/// Adds `X-OIDC-Auth: disabled`.
pub(super) fn mark_headers(headers: &mut ActixHeaderMap) {
    headers.insert(
        ActixHeaderName::from_static("x-oidc-auth"),
        ActixHeaderValue::from_static("disabled"),
    );
}

/// Adds the engine's `Set-Cookie` values to the application's response, which then must
/// not be stored by shared caches; an answer to a `signed_in` request is kept out of every
/// cache unless it says otherwise.
pub(super) fn append_cookies(
    headers: &mut ActixHeaderMap,
    cookies: Vec<http::HeaderValue>,
    signed_in: bool,
) {
    let cache_control = headers.get(CACHE_CONTROL).map(ActixHeaderValue::as_bytes);
    if crate::response::needs_no_store(!cookies.is_empty(), signed_in, cache_control) {
        headers.insert(
            CACHE_CONTROL,
            ActixHeaderValue::from_static(crate::response::NO_STORE),
        );
    }
    for cookie in &cookies {
        if let Some(value) = header_value(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_every_value_in_order() {
        let mut headers = ActixHeaderMap::new();
        headers.append(
            ActixHeaderName::from_static("cookie"),
            ActixHeaderValue::from_static("a=1"),
        );
        headers.append(
            ActixHeaderName::from_static("cookie"),
            ActixHeaderValue::from_static("a=2"),
        );
        headers.insert(
            ActixHeaderName::from_static("accept"),
            ActixHeaderValue::from_bytes(b"text/html; \xe9").expect("obs-text"),
        );
        let converted = headers_to_vec(&super::headers(&headers), "cookie");
        assert_eq!(converted, ["a=1", "a=2"]);
        assert_eq!(
            super::headers(&headers)["accept"].as_bytes(),
            b"text/html; \xe9"
        );
    }

    fn headers_to_vec(headers: &http::HeaderMap, name: &str) -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect()
    }

    #[test]
    fn responses_keep_status_headers_and_body() {
        let core = http::Response::builder()
            .status(http::StatusCode::FOUND)
            .header("location", "https://op.example/authorize?x=1")
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; Path=/")
            .body(bytes::Bytes::from_static(b"body"))
            .expect("response");
        let converted = response(core);
        assert_eq!(converted.status(), ActixStatusCode::FOUND);
        assert_eq!(
            converted.headers().get("location").expect("location"),
            "https://op.example/authorize?x=1"
        );
        let cookies: Vec<_> = converted.headers().get_all(SET_COOKIE).collect();
        assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
    }

    #[test]
    fn statuses_and_methods_convert() {
        assert_eq!(
            status(http::StatusCode::SEE_OTHER),
            ActixStatusCode::SEE_OTHER
        );
        let custom = actix_web::http::Method::from_bytes(b"PURGE").expect("token");
        assert_eq!(method(&custom).expect("method").as_str(), "PURGE");
        assert_eq!(
            method(&actix_web::http::Method::POST),
            Some(http::Method::POST)
        );
    }
}
