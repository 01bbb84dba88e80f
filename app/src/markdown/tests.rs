//! What a rendered reply may and may not hold.

use super::render;

#[test]
fn renders_the_common_markdown() {
    let html = render("Hi *there*\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n\nUse `x` and [docs](https://example.com).");
    assert!(html.contains("<em>there</em>"), "{html}");
    assert!(html.contains("<li>one</li>"), "{html}");
    assert!(html.contains("<pre><code"), "{html}");
    assert!(text_of(&html).contains("fn main() {}"), "{html}");
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
    assert!(
        text_of(&html).contains("<b onclick=\"x()\">hi</b>"),
        "{html}"
    );
    assert!(!html.contains("<b "), "{html}");
}

/// The text a browser would show: the HTML without its tags, entities decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    for (i, part) in html.split('<').enumerate() {
        let text = if i == 0 {
            part
        } else {
            part.split_once('>').map_or("", |(_, t)| t)
        };
        out.push_str(text);
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn fenced_code_is_highlighted_with_classes_and_keeps_its_text() {
    let source = "fn main() {\n    let s = \"hi\"; // greet\n}\n";
    let html = render(&format!("```rust\n{source}```"));
    assert!(html.contains("<pre><code>"), "{html}");
    assert!(
        html.contains(r#"<span class="hl-keyword">fn</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="hl-comment">// greet"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="hl-string">"hi"</span>"#),
        "{html}"
    );
    assert_eq!(text_of(&html).trim_end(), source.trim_end());
    // An unknown language, or none, is plain code.
    let plain = render("```klingon\nqapla'\n```");
    assert!(plain.contains("<pre><code>qapla'"), "{plain}");
    assert!(!plain.contains("<span"), "{plain}");
}

#[test]
fn highlighting_never_lets_markup_through() {
    let html = render("```html\n<script>alert(1)</script><b onclick=\"x()\">hi</b>\n```");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b "), "{html}");
    assert!(
        text_of(&html).contains("<script>alert(1)</script><b onclick=\"x()\">hi</b>"),
        "{html}"
    );
    // A class that is not the highlighter's does not survive on any span.
    let html = render("<span class=\"evil hl-x\">x</span>");
    assert!(!html.contains("<span"), "raw HTML stays text: {html}");
}

#[test]
fn latex_math_becomes_mathml() {
    let html = render("Euler: $e^{i\\pi} + 1 = 0$ and\n\n$$\\frac{a}{b}$$\n");
    assert!(html.contains("<math"), "{html}");
    assert!(html.contains("<msup>"), "{html}");
    assert!(html.contains("<mfrac>"), "{html}");
    assert!(html.contains(r#"display="block""#), "{html}");
    // What cannot be parsed is shown as its source.
    let html = render("$\\frac{a}{$ stays");
    assert!(!html.contains("<math"), "{html}");
}

#[test]
fn math_never_lets_markup_through() {
    for tex in [
        "$\\href{javascript:alert(1)}{x}$",
        "$<script>alert(1)</script>$",
        "$\\text{<img src=x onerror=alert(1)>}$",
        "$$\\style{color:red}{x}$$",
    ] {
        let html = render(tex);
        // Whatever shows as text, no element carries anything live.
        for tag in tags(&html) {
            let name = tag.split_whitespace().next().unwrap_or("");
            assert!(
                !["script", "img", "a"].contains(&name),
                "{tex}: <{tag}> in {html}"
            );
            for bad in ["javascript:", "onerror", "style=", "href="] {
                assert!(!tag.contains(bad), "{tex}: <{tag}> in {html}");
            }
        }
    }
}
