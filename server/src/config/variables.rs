//! The list of every variable the server reads (`variables.tsv`): what `--help` prints, what the
//! README's table repeats (a test keeps them equal) and what CI's deploy check reads.

/// One environment variable the server reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// As the README shows it (Markdown).
    pub default: &'static str,
    /// `config` (this module), or the library that reads it itself: `leptos`, `tracing`,
    /// `gcp_auth`.
    pub read_by: &'static str,
    pub meaning: &'static str,
}

pub fn variables() -> Vec<Variable> {
    include_str!("variables.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cells = l.splitn(4, '\t');
            Some(Variable {
                name: cells.next()?,
                default: cells.next()?,
                read_by: cells.next()?,
                meaning: cells.next()?,
            })
        })
        .collect()
}

/// `hybrid-chat --help`: what the binary is and every variable it reads.
pub fn help() -> String {
    let plain = |s: &str| s.replace('`', "");
    let mut out = String::from(
        "hybrid-chat: one chat, two models (Gemma on vLLM, Gemini on Vertex AI).\n\n\
         Configured only by environment variables; each works unset on a laptop:\n\n",
    );
    for v in variables() {
        out.push_str(&format!(
            "  {}\n      default: {}\n      {}\n",
            v.name,
            plain(v.default),
            plain(v.meaning)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use leptos::config::LeptosOptions;
    use std::collections::BTreeSet;

    /// The list is the reader: every variable `from_lookup` asks for is listed, and every one
    /// listed as read here is asked for in some configuration.
    #[test]
    fn the_variable_list_is_exactly_what_the_config_reads() {
        let listed: BTreeSet<&str> = variables()
            .iter()
            .filter(|v| v.read_by == "config")
            .map(|v| v.name)
            .collect();
        let everything: BTreeSet<&str> = variables().iter().map(|v| v.name).collect();
        let key = "ab".repeat(32);
        let scenarios: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![
                ("CHAT_STORE", "firestore"),
                ("GOOGLE_CLOUD_PROJECT", "p"),
                ("OWNER_KEY", &key),
                ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
                ("IAP_REQUIRED", "true"),
                ("METRICS_ADDR", "0.0.0.0:9090"),
                ("CLIENT_IP_SOURCE", "google-lb"),
                ("ATTACHMENTS_BUCKET", "hc-files"),
                ("STORAGE_EMULATOR_HOST", "127.0.0.1:4443"),
            ],
            vec![
                ("IAP_AUDIENCE", "/projects/1/global/backendServices/2"),
                ("TURNS_PER_WINDOW", "5"),
            ],
        ];
        let mut asked = BTreeSet::new();
        for env in scenarios {
            let seen = std::cell::RefCell::new(Vec::new());
            let leptos = LeptosOptions::builder().output_name("hybrid-chat").build();
            let _ = Config::from_lookup(leptos, |key| {
                seen.borrow_mut().push(key.to_string());
                env.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            });
            asked.extend(seen.into_inner());
        }
        let unlisted: Vec<&String> = asked
            .iter()
            .filter(|k| !everything.contains(k.as_str()))
            .collect();
        assert!(unlisted.is_empty(), "read but not listed: {unlisted:?}");
        let never_read: Vec<&&str> = listed.iter().filter(|k| !asked.contains(**k)).collect();
        assert!(
            never_read.is_empty(),
            "listed but never read: {never_read:?}"
        );
    }

    /// The README's table of variables is the list, row for row.
    #[test]
    fn the_readme_table_is_the_variable_list() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md");
        let rows: Vec<String> = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.split('|').count() == 5)
            .filter(|l| l[3..].starts_with(|c: char| c.is_ascii_uppercase()))
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = variables()
            .iter()
            .map(|v| format!("| `{}` | {} | {} |", v.name, v.default, v.meaning))
            .collect();
        assert_eq!(rows, expected);
        assert!(help().contains("OWNER_KEY"));
    }
}
