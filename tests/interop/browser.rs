//! A browser over plain HTTP: a cookie jar that respects cookie paths, one redirect hop at a
//! time, and just enough HTML to submit oidc-provider's login, consent and logout forms.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};
use url::Url;

/// The password oidc-provider's development login accepts: any.
const PASSWORD: &str = "any-password";
const MAX_STEPS: usize = 25;

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    /// The fields of the last form [`Browser::drive`] submitted or stopped before.
    pub last_form: std::sync::Mutex<Vec<(String, String)>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::trusting(None)
    }
}

impl Browser {
    /// A browser that also trusts the CA certificate `ca_pem` (a provider served over https
    /// by a private CA).
    pub fn trusting(ca_pem: Option<&[u8]>) -> Self {
        let jar = Arc::new(Jar::default());
        let mut builder = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .no_proxy();
        if let Some(pem) = ca_pem {
            builder = builder.tls_certs_merge([reqwest::Certificate::from_pem(pem).expect("CA")]);
        }
        let client = builder.build().expect("client");
        Self {
            client,
            jar,
            last_form: Default::default(),
        }
    }
}

/// Where a redirect points, resolved against the URL that answered (oidc-provider sends
/// relative `Location`s).
pub fn location(response: &Response) -> Option<Url> {
    let location = response.headers().get("location")?.to_str().ok()?;
    response.url().join(location).ok()
}

pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Where [`Browser::drive`] ended.
pub enum Outcome {
    /// A response that is neither a redirect nor a provider form to submit.
    Done(Response),
    /// The next hop matched the stop condition; it was not requested.
    Stopped(Url),
}

impl Outcome {
    pub fn done(self) -> Response {
        match self {
            Self::Done(response) => response,
            Self::Stopped(url) => panic!("stopped before {url}"),
        }
    }

    pub fn stopped(self) -> Url {
        match self {
            Self::Stopped(url) => url,
            Self::Done(response) => panic!(
                "expected to stop, ended at {} with {}",
                response.url(),
                response.status()
            ),
        }
    }
}

impl Browser {
    pub async fn get(&self, url: Url) -> Response {
        self.client
            .get(url.clone())
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"))
    }

    /// An API-style request: JSON accepted, no HTML.
    pub async fn api(&self, url: Url) -> Response {
        self.client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"))
    }

    pub async fn post_form(&self, url: Url, fields: &[(String, String)]) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.client
            .post(url.clone())
            .header("accept", "text/html,application/xhtml+xml")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST {url}: {err}"))
    }

    /// Opens `start` and goes on like a user would: follows redirects, signs in at the
    /// provider as `login`, consents, and confirms logout. Forms are submitted only on
    /// pages of `provider_origin`. Stops before requesting a URL for which `stop` holds.
    pub async fn drive(
        &self,
        start: Url,
        provider_origin: &str,
        login: &str,
        stop: impl Fn(&Url) -> bool,
    ) -> Outcome {
        if stop(&start) {
            return Outcome::Stopped(start);
        }
        let mut response = self.get(start).await;
        for _ in 0..MAX_STEPS {
            if response.status().is_redirection() {
                let next = location(&response).expect("redirect has a location");
                if stop(&next) {
                    return Outcome::Stopped(next);
                }
                response = self.get(next).await;
                continue;
            }
            let at_provider = response.url().origin().ascii_serialization() == provider_origin;
            if response.status() != StatusCode::OK || !at_provider {
                return Outcome::Done(response);
            }
            let url = response.url().clone();
            let html = response.text().await.expect("provider page");
            let Some(form) = Form::parse(&html, &url) else {
                panic!("provider page at {url} has no form:\n{html}");
            };
            let mut fields = form.hidden.clone();
            match form.hidden_value("prompt") {
                Some("login") => {
                    fields.push(("login".into(), login.into()));
                    fields.push(("password".into(), PASSWORD.into()));
                }
                Some("consent") => {}
                _ if form.id.as_deref() == Some("op.logoutForm") => {
                    // The "Yes, sign me out" button: `<button form="op.logoutForm"
                    // name="logout" value="yes">`.
                    fields.push(("logout".into(), "yes".into()));
                }
                // A form_post authorization response, posted back to the application.
                _ if form.action.origin() != url.origin() => {}
                _ => panic!("unexpected provider form at {url}:\n{html}"),
            }
            assert!(form.method.eq_ignore_ascii_case("post"), "{html}");
            *self.last_form.lock().unwrap() = fields.clone();
            if stop(&form.action) {
                return Outcome::Stopped(form.action);
            }
            response = self.post_form(form.action, &fields).await;
        }
        panic!("more than {MAX_STEPS} steps");
    }

    /// The `Cookie` header this browser would send to `url`.
    pub fn cookies(&self, url: &Url) -> String {
        self.jar
            .cookies(url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The cookie pairs (`name=value`) sent to `url` whose name starts with `prefix`.
    pub fn cookies_named(&self, url: &Url, prefix: &str) -> Vec<String> {
        self.cookies(url)
            .split(';')
            .map(str::trim)
            .filter(|pair| pair.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }
}

/// The first `<form>` of a page: where it goes and its hidden inputs.
pub struct Form {
    pub id: Option<String>,
    pub method: String,
    pub action: Url,
    pub hidden: Vec<(String, String)>,
}

impl Form {
    pub fn parse(html: &str, base: &Url) -> Option<Self> {
        let start = find_tag(html, 0, "form")?;
        let (attrs, body_start) = tag_attributes(html, start)?;
        let end = html[body_start..]
            .find("</form")
            .map_or(html.len(), |i| body_start + i);
        let body = &html[body_start..end];
        let action = attribute(&attrs, "action").unwrap_or_default();
        let mut hidden = Vec::new();
        let mut at = 0;
        while let Some(input) = find_tag(body, at, "input") {
            let (input_attrs, next) = tag_attributes(body, input)?;
            at = next;
            if attribute(&input_attrs, "type").is_some_and(|t| t.eq_ignore_ascii_case("hidden")) {
                if let Some(name) = attribute(&input_attrs, "name") {
                    hidden.push((name, attribute(&input_attrs, "value").unwrap_or_default()));
                }
            }
        }
        Some(Self {
            id: attribute(&attrs, "id"),
            method: attribute(&attrs, "method").unwrap_or_else(|| "get".into()),
            action: base.join(&action).ok()?,
            hidden,
        })
    }

    pub fn hidden_value(&self, name: &str) -> Option<&str> {
        self.hidden
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The byte offset of the next `<name` tag (case-insensitive) at or after `from`.
fn find_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let lower = html.to_ascii_lowercase();
    let needle = format!("<{name}");
    let mut at = from;
    while let Some(i) = lower[at..].find(&needle) {
        let pos = at + i;
        let after = lower.as_bytes().get(pos + needle.len()).copied();
        if matches!(after, Some(b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')) {
            return Some(pos);
        }
        at = pos + needle.len();
    }
    None
}

/// The attributes of the tag starting at `start` (`<name ...>`), lower-cased names and
/// unescaped values, and the offset just after the tag.
fn tag_attributes(html: &str, start: usize) -> Option<(Vec<(String, String)>, usize)> {
    let bytes = html.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
        i += 1;
    }
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let end = html[i + 1..].find(quote as char)? + i + 1;
                    value = unescape(&html[i + 1..end]);
                    i = end + 1;
                }
                Some(_) => {
                    let value_start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value = unescape(&html[value_start..i]);
                }
                None => return None,
            }
        }
        attrs.push((name, value));
    }
}

fn attribute(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Character references as HTML templates write them in attribute values.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn parses_forms_like_oidc_provider_writes_them() {
    let html = r#"<html><body><FORM autocomplete="off" action="/interaction/a&#x2F;b?x=1&amp;y=2" method="post">
      <input type="hidden" name="prompt" value="login"/>
      <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
      <input type=hidden name=xsrf value='s&quot;1'>
    </form><form id="x" action="/other"><input type="hidden" name="no" value="no"></form>"#;
    let base = Url::parse("http://127.0.0.1:1/auth/zz").unwrap();
    let form = Form::parse(html, &base).unwrap();
    assert_eq!(
        form.action.as_str(),
        "http://127.0.0.1:1/interaction/a/b?x=1&y=2"
    );
    assert_eq!(form.method, "post");
    assert_eq!(
        form.hidden,
        [
            ("prompt".to_owned(), "login".to_owned()),
            ("xsrf".to_owned(), "s\"1".to_owned())
        ]
    );
    assert_eq!(form.hidden_value("prompt"), Some("login"));
    let logout = r#"<form id="op.logoutForm" method="post" action="http://127.0.0.1:2/session/end/confirm"><input type="hidden" name="xsrf" value="abc"/></form>"#;
    let form = Form::parse(logout, &base).unwrap();
    assert_eq!(form.id.as_deref(), Some("op.logoutForm"));
    assert_eq!(form.hidden_value("xsrf"), Some("abc"));
    assert_eq!(unescape("a&b &amp;&#47;&zz;"), "a&b &/&zz;");
}
