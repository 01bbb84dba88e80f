//! Model replies as safe HTML: Markdown rendered by pulldown-cmark, then sanitised by ammonia.
//!
//! This runs only on the server (when a reply is produced and during SSR), so neither crate
//! adds weight to the wasm bundle.

use pulldown_cmark::{html, Event, Options, Parser};

/// Renders a reply. Raw HTML in the Markdown is shown as text, so a reply containing `<script>`
/// reads as `<script>` instead of silently vanishing; ammonia then removes anything unsafe that
/// Markdown itself can produce (e.g. `javascript:` links).
pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_the_common_markdown() {
        let html = render("Hi *there*\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n\nUse `x` and [docs](https://example.com).");
        assert!(html.contains("<em>there</em>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<pre><code"), "{html}");
        assert!(html.contains("fn main() {}"), "{html}");
        assert!(html.contains("<code>x</code>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com" rel="noopener noreferrer nofollow">docs</a>"#
            ),
            "{html}"
        );
    }

    #[test]
    fn script_tags_show_as_text() {
        let html = render("before <script>alert(1)</script> after");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        let html = render("<script>\nalert(1)\n</script>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    /// The tags of an HTML string (what a browser would parse as elements).
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(tag, _)| tag))
            .collect()
    }

    #[test]
    fn event_handlers_and_javascript_links_never_survive() {
        let html = render(concat!(
            r#"<img src=x onerror="alert(1)"> and ![i](https://example.com/i.png "t\" onerror=\"alert(2)") "#,
            "and [c](javascript:alert(3)) and <a href=\"javascript:alert(4)\">d</a>"
        ));
        for tag in tags(&html) {
            // Quoted attribute values are inert text; only what is outside quotes can be an attribute.
            let outside_quotes: String = tag.split('"').step_by(2).collect();
            assert!(
                !outside_quotes.to_lowercase().contains(" on"),
                "event handler in <{tag}>: {html}"
            );
            assert!(
                !tag.to_lowercase().contains("javascript:"),
                "script URL in <{tag}>: {html}"
            );
        }
        assert!(
            tags(&html).iter().any(|t| t.starts_with("img ")),
            "the safe image stays: {html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror="),
            "raw HTML shows as text: {html}"
        );
    }

    #[test]
    fn code_blocks_keep_html_as_text() {
        let html = render("```html\n<b onclick=\"x()\">hi</b>\n```");
        assert!(html.contains("&lt;b onclick="), "{html}");
        assert!(!html.contains("<b "), "{html}");
    }
}
