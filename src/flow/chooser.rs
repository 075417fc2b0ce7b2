//! `/login` with several providers and no default: a page listing them for browsers, a
//! JSON list for API clients. Each entry links to `/login/{name}`, carrying `next`.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

use crate::context::Context;
use crate::page;
use crate::response::{escape, CoreResponse};

/// Where the list of providers goes in a replacement page.
pub(crate) const PLACEHOLDER: &str = "{providers}";

/// One provider as the chooser offers it.
struct Entry {
    name: String,
    display_name: String,
    login_url: String,
}

fn entries(ctx: &Context, next: Option<&str>) -> Vec<Entry> {
    let login = &ctx.config.routes.login;
    ctx.providers
        .iter()
        .filter_map(|slot| {
            let name = slot.config.provider_key.clone()?;
            let mut login_url = format!("{login}/{name}");
            if let Some(next) = next {
                login_url.push('?');
                login_url.push_str(
                    &form_urlencoded::Serializer::new(String::new())
                        .append_pair("next", next)
                        .finish(),
                );
            }
            Some(Entry {
                display_name: slot
                    .config
                    .provider_name
                    .clone()
                    .unwrap_or_else(|| name.clone()),
                name,
                login_url,
            })
        })
        .collect()
}

/// The chooser, keeping `next` (already checked to be a same-origin path) in each link.
pub(crate) fn page(
    ctx: &Context,
    next: Option<&str>,
    html: bool,
    set_cookies: Vec<HeaderValue>,
) -> CoreResponse {
    let entries = entries(ctx, next);
    let (content_type, body) = if html {
        let list: String = entries
            .iter()
            .map(|entry| {
                format!(
                    "<li><a class=\"button\" href=\"{}\">{}</a></li>",
                    escape(&entry.login_url),
                    escape(&entry.display_name)
                )
            })
            .collect();
        let list =
            format!("<ul style=\"list-style:none;padding:0;display:grid;gap:.75rem\">{list}</ul>");
        let body = match &ctx.config.chooser_page {
            Some(template) => template.replace(PLACEHOLDER, &list),
            None => page::render(
                "Sign in",
                &format!("{}{list}", page::paragraph("Choose how to sign in.")),
            ),
        };
        ("text/html; charset=utf-8", body)
    } else {
        let providers: Vec<serde_json::Value> = entries
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "name": entry.name,
                    "display_name": entry.display_name,
                    "login_url": entry.login_url,
                })
            })
            .collect();
        (
            "application/json",
            serde_json::json!({ "providers": providers }).to_string(),
        )
    };
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(CACHE_CONTROL, "no-store")
        .header(CONTENT_TYPE, content_type);
    for cookie in set_cookies {
        builder = builder.header(http::header::SET_COOKIE, cookie);
    }
    builder.body(Bytes::from(body)).unwrap_or_else(|_| {
        let mut response = Response::new(Bytes::from_static(b"internal error"));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// Where a browser without a session goes when no provider is chosen: the chooser,
/// keeping the page it asked for.
pub(crate) fn location(ctx: &Context, next: Option<&str>) -> String {
    let login = &ctx.config.routes.login;
    match next {
        Some(next) => format!(
            "{login}?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish()
        ),
        None => login.clone(),
    }
}
