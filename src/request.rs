//! The framework-neutral view of a request that the engine decides on.

use http::header::{ACCEPT, COOKIE, HOST};
use http::{HeaderMap, HeaderValue, Method};

use crate::config::Config;

/// Whether `Accept` header values (every one the request carries, as bytes) take HTML:
/// pages rather than JSON for errors. Adapters without a [`RequestView`] ask the same way.
pub(crate) fn accepts_html<'a>(accept: impl IntoIterator<Item = &'a [u8]>) -> bool {
    accept
        .into_iter()
        .filter_map(|value| std::str::from_utf8(value).ok())
        .any(|value| value.contains("text/html"))
}

/// Borrowed parts of a request; adapters build it from their framework's request type.
pub(crate) struct RequestView<'a> {
    pub(crate) method: &'a Method,
    /// The raw path, still percent-encoded.
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    /// The scheme the connection used, when the adapter knows it.
    pub(crate) scheme: Option<&'a str>,
}

impl RequestView<'_> {
    /// What work outliving this request needs to know of it; `carried` is the number of
    /// session cookie chunks the request carries.
    pub(crate) fn detach(&self, config: &Config, carried: usize) -> Detached {
        let mut cookies = HeaderMap::new();
        for value in self.headers.get_all(COOKIE) {
            cookies.append(COOKIE, value.clone());
        }
        Detached {
            navigation: self.is_navigation(),
            wants_html: self.wants_html(),
            next: crate::redirect::safe_return_to(&self.path_and_query()),
            origin: self.origin(config),
            cookies,
            carried,
        }
    }

    /// HTML is acceptable to the client: pages rather than JSON for errors.
    pub(crate) fn wants_html(&self) -> bool {
        accepts_html(
            self.headers
                .get_all(ACCEPT)
                .iter()
                .map(HeaderValue::as_bytes),
        )
    }

    /// A browser loading a page: such requests are sent to log in, anything else gets 401.
    pub(crate) fn is_navigation(&self) -> bool {
        (self.method == Method::GET || self.method == Method::HEAD) && self.wants_html()
    }

    /// The path and query, to come back to after login.
    pub(crate) fn path_and_query(&self) -> String {
        match self.query {
            Some(query) if !query.is_empty() => format!("{}?{query}", self.path),
            _ => self.path.to_owned(),
        }
    }

    /// `scheme://host` of the request as the client saw it, for relative redirect URIs.
    /// Forwarded headers count only when the configuration trusts them.
    pub(crate) fn origin(&self, config: &Config) -> Option<String> {
        let forwarded = |name: &str| {
            config
                .trust_forwarded_headers
                .then(|| self.headers.get(name)?.to_str().ok())
                .flatten()
                .and_then(|value| value.split(',').next())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let host =
            forwarded("x-forwarded-host").or_else(|| self.headers.get(HOST)?.to_str().ok())?;
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
        if !valid_host {
            return None;
        }
        let scheme = config
            .force_scheme
            .as_deref()
            .or_else(|| forwarded("x-forwarded-proto").filter(|p| matches!(*p, "http" | "https")))
            .or(self.scheme)
            .unwrap_or("http");
        Some(format!("{scheme}://{host}"))
    }
}

/// The facts of a request that deferred work needs after the request is gone.
pub(crate) struct Detached {
    /// A browser loading a page (see [`RequestView::is_navigation`]).
    pub(crate) navigation: bool,
    /// Errors are answered as pages rather than JSON.
    pub(crate) wants_html: bool,
    /// Where to come back to after a login, when it is a same-origin page.
    pub(crate) next: Option<String>,
    /// `scheme://host` as the client saw it.
    pub(crate) origin: Option<String>,
    /// The request's `Cookie` headers (pending logins are counted and replaced from them).
    pub(crate) cookies: HeaderMap,
    /// How many session cookie chunks the request carries, to replace or remove them.
    pub(crate) carried: usize,
}
