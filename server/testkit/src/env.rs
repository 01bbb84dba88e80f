//! The environment every test server starts with, in a process ([`crate::Server`]), in-process
//! ([`crate::in_process`]) or for Playwright (`stack`): one list, so they cannot drift.

use std::path::Path;

/// SQLite in `dir`, both models at the stand-in (Gemini with `key`, a service-account file), and
/// timeouts short enough for tests.
pub fn app_env(dir: &Path, standin_url: &str, key: Option<&Path>) -> Vec<(String, String)> {
    let mut env = vec![
        ("CHAT_STORE", "sqlite".to_string()),
        (
            "SQLITE_PATH",
            dir.join("chat.sqlite3").display().to_string(),
        ),
        (
            "ATTACHMENTS_DIR",
            dir.join("attachments").display().to_string(),
        ),
        ("LEPTOS_SITE_ROOT", dir.join("site").display().to_string()),
        ("LEPTOS_OUTPUT_NAME", "hybrid-chat".to_string()),
        ("VLLM_BASE_URL", standin_url.to_string()),
        ("VERTEX_BASE_URL", standin_url.to_string()),
        ("MODEL_TIMEOUT_SECS", "3".to_string()),
        ("MODEL_PROBE_INTERVAL_SECS", "0.5".to_string()),
    ];
    if let Some(key) = key {
        env.push(("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// `extra` over `base`; a `{standin}` in a value is the stand-in's URL, and
/// [`crate::UNSET`] removes the variable.
pub fn overlay(
    mut base: Vec<(String, String)>,
    extra: &[(&str, &str)],
    standin_url: &str,
) -> Vec<(String, String)> {
    for (k, v) in extra {
        base.retain(|(name, _)| name != k);
        if *v != crate::UNSET {
            base.push((k.to_string(), v.replace("{standin}", standin_url)));
        }
    }
    base
}
