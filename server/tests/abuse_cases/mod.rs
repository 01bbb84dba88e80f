//! The abuse suite's cases, by what they attack.

mod budget;
mod deletes;
mod edge;
mod floods;
mod keys;
mod memory;
mod owners;
mod sizes;
mod stores;

use serde_json::json;

/// One attack's outcome.
#[derive(Default)]
pub struct Case {
    pub name: String,
    /// Attempts made.
    pub tried: usize,
    /// Attempts refused or bounded (cut off, held within a limit), as they should be.
    pub refused: usize,
    /// What the attack cost the service: tokens, store reads, memory, time held.
    pub cost: String,
    /// Every ordinary visitor running alongside was served.
    pub ordinary_ok: bool,
    /// What went wrong; the suite fails unless empty.
    pub problems: Vec<String>,
}

impl Case {
    pub fn new(name: impl Into<String>) -> Case {
        Case {
            name: name.into(),
            ordinary_ok: true,
            ..Case::default()
        }
    }

    /// One attempt, which must be refused (or bounded).
    pub fn attempt(&mut self, refused: bool, what: impl FnOnce() -> String) {
        self.tried += 1;
        if refused {
            self.refused += 1;
        } else {
            self.problems.push(what());
        }
    }

    pub fn require(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(what());
        }
    }

    /// An ordinary visitor's request alongside the attack.
    pub fn ordinary(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.ordinary_ok = false;
            self.problems.push(what());
        }
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "case": self.name,
            "tried": self.tried,
            "refused": self.refused,
            "cost": self.cost,
            "ordinary_visitors_served": self.ordinary_ok,
            "problems": self.problems,
        })
    }
}

pub async fn all() -> Vec<Case> {
    let emulator = testkit::Emulator::start().await;
    // For the stores this suite opens itself (seeding a long chat); nothing else runs yet.
    std::env::set_var("FIRESTORE_EMULATOR_HOST", &emulator.host);
    let mut cases = Vec::new();
    cases.extend(edge::cases().await);
    cases.push(memory::heavy_reads().await);
    cases.push(memory::crowd_of_pictures().await);
    for kind in [stores::Kind::Sqlite, stores::Kind::Firestore] {
        cases.push(owners::cookieless_gets(kind, &emulator).await);
        cases.push(sizes::emoji_texts(kind, &emulator).await);
        cases.push(floods::new_chats(kind, &emulator).await);
        cases.push(floods::reads(kind, &emulator).await);
        cases.push(deletes::leaves_nothing(kind, &emulator).await);
        cases.push(budget::stop_spam(kind, &emulator).await);
        cases.push(keys::rotated(kind, &emulator).await);
    }
    cases.push(deletes::half_failed(&emulator).await);
    cases
}
