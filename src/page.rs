//! The one template of the pages the layer renders itself (errors, access denied, logout
//! confirmation): self-contained HTML with inline styles, readable on phones and desktops,
//! light and dark.

/// Inline styles shared by every page. Colours keep a contrast ratio of at least 4.5:1 in
/// both schemes; focus is always visible.
const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#f4f6f9;--card:#fff;--text:#1b2230;--muted:#4a5466;\
--accent:#1d5fc4;--on-accent:#fff;--border:#d5dbe5;--focus:#b35c00}\
@media (prefers-color-scheme:dark){:root{--bg:#11151c;--card:#1b212b;--text:#e8ecf2;\
--muted:#b4bdcb;--accent:#8ab4ff;--on-accent:#0b1220;--border:#323b49;--focus:#ffb454}}\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
padding:1rem;background:var(--bg);color:var(--text);\
font:1rem/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\
main{width:100%;max-width:32rem;background:var(--card);border:1px solid var(--border);\
border-radius:12px;padding:clamp(1.25rem,5vw,2.25rem);box-shadow:0 4px 24px #0000001a}\
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}\
p{margin:0 0 1rem;overflow-wrap:anywhere}\
.detail{color:var(--muted);font-size:.9rem}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin:1.5rem 0 0}\
.button{display:inline-block;font:inherit;font-weight:600;text-decoration:none;\
background:var(--accent);color:var(--on-accent);border:0;border-radius:8px;\
padding:.65rem 1.25rem;cursor:pointer}\
a{color:var(--accent)}\
a:focus-visible,button:focus-visible{outline:3px solid var(--focus);outline-offset:2px}\
code{font-size:.85rem}";

/// A complete page titled `title`, with `body` (HTML the caller built and escaped) inside
/// its `<main>`, headed by `title`.
pub(crate) fn render(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    )
}

/// A paragraph of text, escaped.
pub(crate) fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// HTML escaping for text placed in pages, in text and in quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_self_contained_and_escapes_its_title() {
        let page = render("<Hi & bye>", &paragraph("a \"b\" <c>"));
        assert!(page.starts_with("<!doctype html><html lang=\"en\">"));
        assert!(page.contains("name=\"viewport\""));
        assert!(page.contains("<title>&lt;Hi &amp; bye&gt;</title>"));
        assert!(page.contains("<h1>&lt;Hi &amp; bye&gt;</h1>"));
        assert!(page.contains("<p>a &quot;b&quot; &lt;c&gt;</p>"));
        // The empty icon keeps browsers from asking the application for /favicon.ico.
        assert!(page.contains("<link rel=\"icon\" href=\"data:,\">"));
        for external in [
            "src=",
            "href=\"http",
            "href=\"/",
            "url(",
            "@import",
            "<script",
        ] {
            assert!(!page.contains(external), "{external} in {page}");
        }
    }
}
