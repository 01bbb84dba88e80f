//! The replies of an answered turn (never none), and how a turn ends.

use super::{NewReply, StoredMessage, TokenUsage, TurnStatus};
use crate::cost::Cost;

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
    /// No reply is kept; the error is stored as its code, with the tokens the failed call was
    /// billed for when the backend reported them (Gemini out of tokens after thinking).
    Failed {
        code: String,
        billed: Option<TokenUsage>,
        /// What those billed tokens cost.
        cost: Option<Cost>,
    },
    Stopped,
}

impl TurnOutcome {
    /// A failure with no billed tokens (or none reported).
    pub fn failed(code: String) -> TurnOutcome {
        TurnOutcome::Failed {
            code,
            billed: None,
            cost: None,
        }
    }

    /// What the user message is stored with (status and error code), and the replies to store
    /// after it: one reading for every store.
    pub fn parts(&self) -> (TurnStatus, Option<String>, &[NewReply]) {
        match self {
            TurnOutcome::Answered(r) => (TurnStatus::Complete, None, r),
            TurnOutcome::Partly { replies, failed } => {
                (TurnStatus::Complete, Some(failed.clone()), replies)
            }
            TurnOutcome::Failed { code, .. } => (TurnStatus::Failed, Some(code.clone()), &[]),
            TurnOutcome::Stopped => (TurnStatus::Stopped, None, &[]),
        }
    }

    /// What a failed turn's message keeps of the tokens its call was billed for.
    pub fn billed(&self) -> Option<TokenUsage> {
        match self {
            TurnOutcome::Failed { billed, .. } => *billed,
            _ => None,
        }
    }

    /// What a failed turn's billed tokens cost.
    pub fn billed_cost(&self) -> Option<Cost> {
        match self {
            TurnOutcome::Failed { cost, .. } => *cost,
            _ => None,
        }
    }

    /// The turn's user message as this outcome leaves it: its status, error code and, for a
    /// failure that was billed, the tokens. One reading for every store.
    pub fn settled(&self, user: StoredMessage) -> StoredMessage {
        let (status, error, _) = self.parts();
        StoredMessage {
            status,
            error,
            usage: self.billed().or(user.usage),
            cost: self.billed_cost().or(user.cost),
            ..user
        }
    }

    /// What the turn cost, in nano-dollars: its replies, and a failed call that was billed.
    pub fn cost_nano(&self) -> u64 {
        let replies = self.replies().map_or(0, |r| {
            r.iter().filter_map(|r| r.cost).map(|c| c.nano_usd).sum()
        });
        replies + self.billed_cost().map_or(0, |c| c.nano_usd)
    }

    /// The replies to store, if any.
    pub fn replies(&self) -> Option<&Replies> {
        match self {
            TurnOutcome::Answered(r) | TurnOutcome::Partly { replies: r, .. } => Some(r),
            _ => None,
        }
    }
}
