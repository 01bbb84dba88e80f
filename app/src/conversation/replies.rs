//! The replies of an answered turn (never none), and how a turn ends.

use super::{NewReply, TurnStatus};

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

/// How an accepted turn ends.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnOutcome {
    /// Every target model answered; the replies are stored after the user message.
    Answered(Replies),
    /// Asked of both models, one answered and one failed: the replies that came are kept, and
    /// the failure's code is stored with the user message (its model can be asked again).
    Partly {
        replies: Replies,
        failed: String,
    },
    /// No reply is kept; the error is stored as its code.
    Failed(String),
    Stopped,
}

impl TurnOutcome {
    /// What the user message is stored with (status and error code), and the replies to store
    /// after it: one reading for every store.
    pub fn parts(&self) -> (TurnStatus, Option<String>, &[NewReply]) {
        match self {
            TurnOutcome::Answered(r) => (TurnStatus::Complete, None, r),
            TurnOutcome::Partly { replies, failed } => {
                (TurnStatus::Complete, Some(failed.clone()), replies)
            }
            TurnOutcome::Failed(code) => (TurnStatus::Failed, Some(code.clone()), &[]),
            TurnOutcome::Stopped => (TurnStatus::Stopped, None, &[]),
        }
    }

    /// The replies to store, if any.
    pub fn replies(&self) -> Option<&Replies> {
        match self {
            TurnOutcome::Answered(r) | TurnOutcome::Partly { replies: r, .. } => Some(r),
            _ => None,
        }
    }
}
