//! Which of a chat's messages a read asks for.

/// Which of a chat's messages to read: the newest `limit` of those with
/// `from <= seq < before` (no `before`: to the end), and of those only the newest whose texts
/// add up to at most `bytes` (the newest one always, whatever its size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageRange {
    pub from: u64,
    pub before: Option<u64>,
    pub limit: usize,
    pub bytes: usize,
}

impl MessageRange {
    /// The whole chat (its export).
    pub const ALL: MessageRange = MessageRange {
        from: 0,
        before: None,
        limit: usize::MAX,
        bytes: usize::MAX,
    };

    /// The newest `limit` messages.
    pub fn newest(limit: usize) -> MessageRange {
        MessageRange {
            limit,
            ..MessageRange::ALL
        }
    }

    /// The same range, reading at most `bytes` of text.
    pub fn within_bytes(self, bytes: usize) -> MessageRange {
        MessageRange { bytes, ..self }
    }

    /// Whether `seq` is in the range (the limit aside).
    pub fn contains(&self, seq: u64) -> bool {
        seq >= self.from && self.before.is_none_or(|b| seq < b)
    }
}
