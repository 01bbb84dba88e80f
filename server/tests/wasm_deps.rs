//! Server-only crates must never reach the browser bundle: every one of them is first-load
//! weight, and some (tokio, rusqlite) do not even build for wasm.

use std::process::Command;

const SERVER_ONLY: &[&str] = &[
    "tokio",
    "mio",
    "axum",
    "hyper",
    "reqwest",
    "rusqlite",
    "libsqlite3-sys",
    "leptos_axum",
    "tower-http",
    "ammonia",
    "html5ever",
    "pulldown-cmark",
    "syntect",
    "pulldown-latex",
    "tracing-subscriber",
];

fn tree(features: &str, target: Option<&str>) -> String {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(workspace).args([
        "tree",
        "--offline",
        "-p",
        "app",
        "--no-default-features",
        "--features",
        features,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let out = cmd.output().expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn crates(tree: &str) -> Vec<String> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[test]
fn the_hydrate_build_has_no_server_only_crates() {
    let wasm = crates(&tree("hydrate", Some("wasm32-unknown-unknown")));
    assert!(wasm.iter().any(|c| c == "leptos"), "the tree was read");
    let leaked: Vec<_> = SERVER_ONLY
        .iter()
        .filter(|c| wasm.iter().any(|w| w == *c))
        .collect();
    assert!(
        leaked.is_empty(),
        "server-only crates in the wasm build: {leaked:?}"
    );
}

#[test]
fn the_check_would_notice_them() {
    // The ssr build does pull them in, so the list above is not vacuous.
    let ssr = crates(&tree("ssr", None));
    for c in [
        "tokio",
        "ammonia",
        "pulldown-cmark",
        "syntect",
        "leptos_axum",
    ] {
        assert!(ssr.iter().any(|s| s == c), "{c} expected in the ssr tree");
    }
}
