//! Figures taken in Debian Chromium through node scripts in `end2end/bench/`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// First load to an interactive (hydrated) composer in Chromium, via end2end/bench/first-load.mjs.
pub(crate) fn browser(url: &str, cookie: Option<&str>) -> Value {
    node_json("first-load.mjs", url, "5", cookie)
}

/// Lighthouse's four category scores (mobile preset, Debian Chromium), median of `runs`, via
/// end2end/bench/lighthouse.mjs.
pub(crate) fn lighthouse(url: &str, cookie: Option<&str>, runs: u32) -> Value {
    node_json("lighthouse.mjs", url, &runs.to_string(), cookie)
}

/// Runs one of end2end/bench's Node scripts and reads the JSON object it prints.
fn node_json(script: &str, url: &str, runs: &str, cookie: Option<&str>) -> Value {
    // Run from the repository root (as .ci/bench and .ci/test do); else next to this source.
    let path = [
        PathBuf::from("end2end/bench").join(script),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../end2end/bench")
            .join(script),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("end2end/bench/{script} (run from the repository root)"));
    let mut cmd = Command::new("node");
    cmd.arg(&path).arg(url).arg(runs);
    if let Some(c) = cookie {
        cmd.arg(c);
    }
    let out = cmd.output().expect("run node");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} prints one JSON object: {e}"))
}
