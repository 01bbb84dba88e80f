//! Fenced code blocks highlighted on the server with syntect's grammars (the Sublime Text ones
//! it ships). Each run of text gets at most one class, from a handful of categories the
//! stylesheet colours in light and dark schemes (`hl-comment`, `hl-string`, …): the markup
//! stays small, and the sanitiser allows exactly these classes. An unknown language, or a block
//! too long to be worth it, is plain text.

use crate::html::escape_into;
use std::sync::LazyLock;
use syntect::easy::ScopeRegionIterator;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Scope name prefixes (TextMate's conventions) and the class each gets; the innermost scope
/// that matches one decides.
const CATEGORIES: [(&str, &str); 8] = [
    ("comment", "hl-comment"),
    ("string", "hl-string"),
    ("constant", "hl-constant"),
    ("keyword", "hl-keyword"),
    ("storage", "hl-keyword"),
    ("entity.name", "hl-name"),
    ("support.function", "hl-name"),
    ("support.type", "hl-name"),
];

/// Every class the highlighter writes: the sanitiser keeps these on `span` and no others.
pub const CLASSES: [&str; 5] = [
    "hl-comment",
    "hl-string",
    "hl-constant",
    "hl-keyword",
    "hl-name",
];

/// The longest block highlighted (a reply can be long; highlighting is linear but not free).
const MAX_CODE_BYTES: usize = 32_000;

/// Loaded on first use: a few milliseconds, once per process.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// [`CATEGORIES`] as parsed scopes, matched as prefixes without building strings per token.
static PREFIXES: LazyLock<Vec<(Scope, &'static str)>> = LazyLock::new(|| {
    CATEGORIES
        .iter()
        .filter_map(|(name, class)| Some((Scope::new(name).ok()?, *class)))
        .collect()
});

pub fn warm_up() {
    LazyLock::force(&SYNTAXES);
    LazyLock::force(&PREFIXES);
}

/// A code block as highlighted `<pre><code>`, if `info` names a language syntect knows (and
/// the block is not too long); `None`: show it plain.
pub fn block(info: &str, code: &str) -> Option<String> {
    // The info string's first word is the language (`rust`, `py`, `js`…).
    let lang = info.split_whitespace().next()?;
    if code.len() > MAX_CODE_BYTES {
        return None;
    }
    let set = &*SYNTAXES;
    let syntax = set.find_syntax_by_token(lang)?;
    let mut state = ParseState::new(syntax);
    let mut scopes = ScopeStack::new();
    let mut out = String::with_capacity(code.len() * 2);
    out.push_str("<pre><code>");
    let mut open: Option<&str> = None;
    for line in LinesWithEndings::from(code) {
        let ops = state.parse_line(line, set).ok()?;
        for (text, op) in ScopeRegionIterator::new(&ops, line) {
            scopes.apply(op).ok()?;
            if text.is_empty() {
                continue;
            }
            let class = category(&scopes);
            if class != open {
                if open.is_some() {
                    out.push_str("</span>");
                }
                if let Some(class) = class {
                    out.push_str("<span class=\"");
                    out.push_str(class);
                    out.push_str("\">");
                }
                open = class;
            }
            escape_into(&mut out, text);
        }
    }
    if open.is_some() {
        out.push_str("</span>");
    }
    out.push_str("</code></pre>\n");
    Some(out)
}

fn category(scopes: &ScopeStack) -> Option<&'static str> {
    scopes.as_slice().iter().rev().find_map(|scope| {
        PREFIXES
            .iter()
            .find(|(prefix, _)| prefix.is_prefix_of(*scope))
            .map(|(_, class)| *class)
    })
}
