//! The browser bundle's weight is a budget, written here and nowhere else: a change that pushes
//! the wasm over it fails CI instead of quietly slowing every first load. Raise the budget only
//! with the reason in the commit (the README's Performance section keeps the history).
//!
//! Reads what `deploy/build.sh` made (it runs before the tests in `.ci/test`, as the README's test
//! command does); a missing or stale file fails.

use std::path::PathBuf;

/// Brotli-11 bytes of `hybrid-chat.wasm`, as the server sends it (KB = 1,000 bytes, as in the
/// README). 193.0 KB today. The turn controls cost 22.4 KB over the 210.8 KB before them: Stop,
/// Esc, the elapsed time and "Ask Gemini instead" 9.8 KB (most of it the working indicator's
/// reactive view; their no-JavaScript forms are written on the server and cost nothing here),
/// the last turn's actions 3.2 KB, Edit 3.1 KB, the picker kept true 2.3 KB, the chat's system
/// prompt 2.4 KB, the verdict and the Models link 0.6 KB (Copy is `public/copy.js`, outside the
/// wasm). Then the browser stopped reading JSON with serde_json (`app::codec`: the browser's own
/// JSON.parse through serde-wasm-bindgen) and the bundle lost 17.6 KB, from 232.2 KB, to 214.6 KB.
/// Then `deploy/build.sh` built it on a pinned nightly that recompiles std for size (immediate
/// abort, no panic locations, no `Debug`): 21.7 KB less. Then Gemini's thinking picker (its
/// type, parser and reactive view) and the model errors told apart (each finish reason's words,
/// which the browser shows) added 4.2 KB: 197.2 KB. Then Gemma's busy status and the button that
/// offers Gemini instead (#29) added 1.2 KB: 198.5 KB (a first version, the offer as a component
/// inside each status, cost 2.1 KB: each view-tree shape is code of its own). Keeping a stopped
/// message's words on screen until the Stop answers (#32) added 0.2 KB: 198.7 KB. What each
/// answer cost (#31) added 1.0 KB: 199.8 KB. Each reply's cost comes as the server's words (a
/// `Cost` the browser parsed and formatted was 0.3 KB more); the chat's running total, which
/// follows each turn in the page, is its element and text (0.6 KB) and the money format (0.35 KB).
/// The refusal at a model's daily spending ceiling, which the browser reads and words, 0.4 KB:
/// 200.2 KB. The refusal of a text over its byte limit (#30), 0.13 KB (a first version naming
/// which text, an enum inside the error, cost 1.5 KB of serde code): 200.3 KB. The refusal at
/// the new-chat limit (#30), which the page shows after a send, 0.17 KB: 200.5 KB. Attached files
/// (#28; the issue allows 8 KB) added 5.5 KB: the picker and Enter's press of Send when files are
/// picked, an edit's files carried again, the refusals the page words (what a file is, its size,
/// count, pixels, quota, the model that cannot read it) and the file store's failures, and each
/// message's files as HTML the server writes: 206.0 KB. Chips, upload progress, paste and drop
/// (#28) added 2.0 KB, 7.5 KB of the 8 KB in all: the form's files read at a send, Send
/// waiting for uploads, the chips' limits and words as the server writes them. The chips and
/// uploads themselves are `public/attach.js` (2.3 KB brotli): a first version in the wasm cost
/// 13.8 KB (the XMLHttpRequest bindings and closures 2.3 KB, the chips' views 8.2 KB, still
/// 2.6 KB as an HTML string): 208.0 KB.
const WASM_BROTLI_BUDGET: u64 = 208_100;

fn pkg() -> PathBuf {
    let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let site = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    workspace.join(site).join("pkg")
}

#[test]
fn the_wasm_stays_within_its_brotli_budget() {
    let wasm = pkg().join("hybrid-chat.wasm");
    let brotli = pkg().join("hybrid-chat.wasm.br");
    let meta = |p: &PathBuf| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}. Build it first: sh deploy/build.sh", p.display()))
    };
    let (raw, compressed) = (meta(&wasm), meta(&brotli));
    // Whole seconds: brotli copies the wasm's time to its output without the fraction.
    let modified = |m: &std::fs::Metadata| {
        m.modified()
            .expect("mtime")
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    };
    assert!(
        modified(&compressed) >= modified(&raw),
        "{} is older than the wasm: run deploy/precompress.sh again",
        brotli.display()
    );
    assert!(
        raw.len() > 100_000,
        "not a release bundle: {} bytes",
        raw.len()
    );
    println!(
        "wasm: {} bytes, {} brotli (budget {})",
        raw.len(),
        compressed.len(),
        WASM_BROTLI_BUDGET
    );
    assert!(
        compressed.len() <= WASM_BROTLI_BUDGET,
        "the wasm is {:.1} KB brotli, over its {:.1} KB budget",
        compressed.len() as f64 / 1000.0,
        WASM_BROTLI_BUDGET as f64 / 1000.0
    );
}
