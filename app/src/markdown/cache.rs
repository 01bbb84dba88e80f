//! Replies rendered recently, by their Markdown: a page load renders every reply it shows, and
//! highlighting code is the slow part of that. Bounded by the bytes it holds; past them it
//! starts afresh. The source is kept beside its HTML and compared on a hit, so two replies can
//! never be confused.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{LazyLock, Mutex};

/// Sources plus their HTML, at most.
const MAX_BYTES: usize = 16 << 20;

struct Cache {
    hasher: RandomState,
    entries: HashMap<u64, (String, String)>,
    bytes: usize,
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| {
    Mutex::new(Cache {
        hasher: RandomState::new(),
        entries: HashMap::new(),
        bytes: 0,
    })
});

pub fn get_or_insert(markdown: &str, render: impl FnOnce(&str) -> String) -> String {
    let key = match CACHE.lock() {
        Ok(cache) => {
            let key = cache.hasher.hash_one(markdown);
            if let Some((source, html)) = cache.entries.get(&key) {
                if source == markdown {
                    return html.clone();
                }
            }
            Some(key)
        }
        Err(_) => None,
    };
    // Rendered outside the lock: other requests are not held up by it.
    let html = render(markdown);
    if let (Some(key), Ok(mut cache)) = (key, CACHE.lock()) {
        let size = markdown.len() + html.len();
        if cache.bytes + size > MAX_BYTES {
            cache.entries.clear();
            cache.bytes = 0;
        }
        if size <= MAX_BYTES {
            if let Some((s, h)) = cache
                .entries
                .insert(key, (markdown.to_string(), html.clone()))
            {
                cache.bytes -= s.len() + h.len();
            }
            cache.bytes += size;
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_render_of_the_same_source_is_the_kept_one() {
        let source = "cache test: **unique** 7f3a9c";
        let first = get_or_insert(source, |s| format!("<p>{s}</p>"));
        let second = get_or_insert(source, |_| panic!("rendered again"));
        assert_eq!(first, second);
        let other = get_or_insert("cache test: another 7f3a9c", |s| s.to_uppercase());
        assert_eq!(other, "CACHE TEST: ANOTHER 7F3A9C");
    }
}
