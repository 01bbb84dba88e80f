//! LaTeX math (`$…$` inline, `$$…$$` on its own) as MathML, which browsers render natively: no
//! script, no fonts to fetch. pulldown-latex follows MathML Core; what it cannot parse is shown
//! as the source, as code.

use pulldown_latex::config::{DisplayMode, RenderConfig};
use pulldown_latex::{push_mathml, Parser, Storage};

/// The MathML Core elements a formula may hold (the sanitiser allows these and no others).
pub const TAGS: [&str; 30] = [
    "math",
    "annotation",
    "semantics",
    "merror",
    "mfrac",
    "mi",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "menclose",
    "none",
];

/// Their presentation attributes. No `style`, no links, no event handlers.
pub const ATTRIBUTES: [&str; 27] = [
    "display",
    "displaystyle",
    "scriptlevel",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "form",
    "largeop",
    "movablelimits",
    "symmetric",
    "lspace",
    "rspace",
    "minsize",
    "maxsize",
    "accent",
    "accentunder",
    "linethickness",
    "width",
    "height",
    "depth",
    "voffset",
    "columnalign",
    "rowalign",
    "columnspan",
    "rowspan",
    "notation",
];

/// The longest formula rendered; a longer one is shown as its source.
const MAX_TEX_BYTES: usize = 4_000;

/// A formula as MathML; `None` if it cannot be parsed (or is too long): show the source.
pub fn render(tex: &str, block: bool) -> Option<String> {
    if tex.len() > MAX_TEX_BYTES {
        return None;
    }
    let storage = Storage::new();
    let events: Vec<_> = Parser::new(tex, &storage).collect();
    if events.iter().any(Result::is_err) {
        return None;
    }
    let config = RenderConfig {
        display_mode: if block {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        ..RenderConfig::default()
    };
    let mut mathml = String::new();
    push_mathml(&mut mathml, events.into_iter(), config).ok()?;
    Some(mathml)
}
