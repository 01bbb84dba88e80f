//! The replies of an answered turn: never none.

use super::NewReply;

/// One reply or more: a turn is answered by at least one model, so an empty answered turn
/// cannot be built and no store has to refuse one. Reads as a slice; grows only by `push`.
#[derive(Clone, Debug, PartialEq)]
pub struct Replies(Vec<NewReply>);

/// A turn was about to be answered by no model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoReplies;

impl Replies {
    pub fn one(reply: NewReply) -> Self {
        Replies(vec![reply])
    }

    pub fn first(&self) -> &NewReply {
        &self.0[0]
    }

    pub fn push(&mut self, reply: NewReply) {
        self.0.push(reply);
    }
}

impl TryFrom<Vec<NewReply>> for Replies {
    type Error = NoReplies;

    fn try_from(replies: Vec<NewReply>) -> Result<Self, NoReplies> {
        if replies.is_empty() {
            Err(NoReplies)
        } else {
            Ok(Replies(replies))
        }
    }
}

impl std::ops::Deref for Replies {
    type Target = [NewReply];

    fn deref(&self) -> &[NewReply] {
        &self.0
    }
}

/// Elements can change in place; a slice cannot shrink, so the invariant holds.
impl std::ops::DerefMut for Replies {
    fn deref_mut(&mut self) -> &mut [NewReply] {
        &mut self.0
    }
}
