//! Which signed-in people this process has named for operators.

use std::sync::Arc;

/// The owners this process has named for operators ([`super::ChatStore::label_owner`]): each once, so
/// a person's turns cost no extra write after their first.
#[derive(Clone, Default)]
pub struct Labelled(Arc<std::sync::Mutex<std::collections::HashSet<String>>>);

impl Labelled {
    /// True the first time `owner` is seen (and again after [`Labelled::forget`]).
    pub fn first_time(&self, owner: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: past it, everyone is named once more.
        if seen.len() >= 100_000 {
            seen.clear();
        }
        seen.insert(owner.to_string())
    }

    pub fn forget(&self, owner: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(owner);
    }
}
