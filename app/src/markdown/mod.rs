//! Model replies as safe HTML: Markdown rendered by pulldown-cmark, fenced code highlighted
//! (`highlight.rs`, syntect) and LaTeX math turned into MathML (`math.rs`, pulldown-latex),
//! then everything sanitised by ammonia, last, so nothing the first three produce escapes it.
//!
//! This runs only on the server (when a reply is produced and during SSR), so none of these
//! crates adds weight to the wasm bundle, and code and formulas render without JavaScript.

mod cache;
mod highlight;
mod math;

use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

/// Renders a reply. Raw HTML in the Markdown is shown as text, so a reply containing `<script>`
/// reads as `<script>` instead of silently vanishing; ammonia then removes anything unsafe that
/// Markdown itself can produce (e.g. `javascript:` links). Every page load renders the replies
/// it shows, so recent results are kept (`cache.rs`).
pub fn render(markdown: &str) -> String {
    cache::get_or_insert(markdown, render_uncached)
}

/// Loads the highlighter's grammars, so the first page with code does not wait for them.
pub fn warm_up() {
    highlight::warm_up();
}

fn render_uncached(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH;
    let mut events = Vec::new();
    // A fenced block's language and text, while inside it.
    let mut code: Option<(CowStr, String)> = None;
    for event in Parser::new_ext(markdown, options) {
        match (event, &mut code) {
            (Event::Text(text), Some((_, body))) => body.push_str(&text),
            (Event::Start(Tag::CodeBlock(kind)), _) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info,
                    CodeBlockKind::Indented => CowStr::Borrowed(""),
                };
                code = Some((lang, String::new()));
            }
            (Event::End(TagEnd::CodeBlock), _) => {
                if let Some((lang, body)) = code.take() {
                    match highlight::block(&lang, &body) {
                        Some(html) => events.push(Event::Html(html.into())),
                        None => events.extend([
                            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))),
                            Event::Text(body.into()),
                            Event::End(TagEnd::CodeBlock),
                        ]),
                    }
                }
            }
            (Event::InlineMath(tex), _) => events.push(formula(tex, false)),
            (Event::DisplayMath(tex), _) => events.push(formula(tex, true)),
            (Event::Html(raw) | Event::InlineHtml(raw), _) => events.push(Event::Text(raw)),
            (other, _) => events.push(other),
        }
    }
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    sanitizer().clean(&unsafe_html).to_string()
}

/// A formula as MathML, or as its source in `<code>` if it cannot be rendered. Display math is
/// inline in pulldown-cmark too (`$$…$$` sits in a paragraph); the stylesheet gives
/// `<math display="block">` a line of its own.
fn formula(tex: CowStr<'_>, block: bool) -> Event<'_> {
    match math::render(&tex, block) {
        Some(mathml) => Event::InlineHtml(mathml.into()),
        None => Event::Code(tex),
    }
}

/// ammonia's defaults, plus MathML (its elements and presentation attributes) and the
/// highlighter's classes on `span`, exactly those.
fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tags(math::TAGS)
        .add_allowed_classes("span", highlight::CLASSES);
    for tag in math::TAGS {
        builder.add_tag_attributes(tag, math::ATTRIBUTES);
    }
    builder
}

#[cfg(test)]
mod tests;
