//! The chat transcript: a list of entries, each caching its wrapped rows per width.
//!
//! Rows are laid out once per (entry, width) and reused by every frame, so a frame costs the
//! same at message 10 and message 10,000: scrolling sums cached heights and only the visible
//! entries are turned into styled terminal lines. Text is kept raw (it is what the model said
//! and what goes back into the history) and sanitized when it is laid out.

use std::time::Instant;

use crate::event::RequestId;
use crate::llm::retry::{Next, Progress};
use crate::llm::{LlmError, Message, Role, StreamEvent};
use crate::request::Stamped;
use crate::text::{StyledLine, Tone};

/// A direction through the replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Earlier,
    Later,
}

pub use super::reply::{FailedAttempt, Reply, ReplyState, RetryWait};
pub use crate::request::Measure;

/// One row of laid-out text with semantic tones.
pub type Row = StyledLine<Tone>;

/// One item of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// The first-run screen: how to configure a real provider; the demo is active.
    Welcome { config_path: String },
    /// Something the user sent.
    User { text: String },
    /// A model's reply (boxed: it is much larger than the other entries).
    Reply(Box<Reply>),
}

#[derive(Debug)]
struct Item {
    entry: Entry,
    /// The transcript's revision when this entry last changed in a way its layout shows.
    revision: Revision,
}

/// A transcript's identity: the screen keeps its scroll position and layout per transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TranscriptId(u64);

/// A count of changes to one transcript; it only grows.
pub type Revision = u64;

/// What changed since a revision, as [`Transcript::changed_since`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Nothing: every entry looks as it did.
    Nothing,
    /// Entries from this index on (an append, a streaming reply, a cut) may differ; those
    /// before it are as they were.
    From(usize),
}

/// Changes remembered for [`Transcript::changed_since`]; older ones are forgotten and a
/// reader that far behind starts over.
const EDITS_KEPT: usize = 1024;

/// The list of entries, with a revision per change so that a view can keep what it laid out
/// for the entries that did not change (layout and its caches are the UI's: `ui::layout`).
#[derive(Debug)]
pub struct Transcript {
    id: TranscriptId,
    items: Vec<Item>,
    revision: Revision,
    /// `(revision, index)` of recent changes, oldest first; a run of changes to one entry
    /// (a streaming reply) is one element.
    edits: std::collections::VecDeque<(Revision, usize)>,
    /// Changes at or before this revision are forgotten.
    forgotten: Revision,
}

impl Default for Transcript {
    fn default() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Transcript {
            id: TranscriptId(NEXT.fetch_add(1, Ordering::Relaxed)),
            items: Vec::new(),
            revision: 0,
            edits: Default::default(),
            forgotten: 0,
        }
    }
}

impl Transcript {
    /// Appends an entry.
    pub fn push(&mut self, entry: Entry) {
        let revision = self.changed(self.items.len());
        self.items.push(Item { entry, revision });
    }

    /// Keeps the first `len` entries (a branch drops what followed the edited message).
    pub fn truncate(&mut self, len: usize) {
        if len < self.items.len() {
            self.items.truncate(len);
            self.changed(len);
        }
    }

    /// Notes a change at entry `index`; returns the new revision.
    fn changed(&mut self, index: usize) -> Revision {
        self.revision += 1;
        match self.edits.back_mut() {
            Some((revision, at)) if *at == index => *revision = self.revision,
            _ => self.edits.push_back((self.revision, index)),
        }
        if self.edits.len() > EDITS_KEPT {
            let dropped = self.edits.len() - EDITS_KEPT / 2;
            if let Some((revision, _)) = self.edits.get(dropped - 1) {
                self.forgotten = *revision;
            }
            self.edits.drain(..dropped);
        }
        self.revision
    }

    /// This transcript's identity (a new conversation is a new transcript).
    pub fn id(&self) -> TranscriptId {
        self.id
    }

    /// Its revision now.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// The revision at which entry `index` last changed.
    pub fn entry_revision(&self, index: usize) -> Option<Revision> {
        self.items.get(index).map(|i| i.revision)
    }

    /// What changed after revision `since`: the first entry that may look different.
    pub fn changed_since(&self, since: Revision) -> Changed {
        if since >= self.revision {
            return Changed::Nothing;
        }
        if since < self.forgotten {
            return Changed::From(0);
        }
        let first = self
            .edits
            .partition_point(|(revision, _)| *revision <= since);
        let from = self.edits.range(first..).map(|(_, at)| *at).min();
        from.map_or(Changed::Nothing, Changed::From)
    }

    /// The index of the entry of reply `id`.
    pub fn position_of_reply(&self, id: RequestId) -> Option<usize> {
        self.items
            .iter()
            .rposition(|i| matches!(&i.entry, Entry::Reply(r) if r.id == id))
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + ExactSizeIterator {
        self.items.iter().map(|i| &i.entry)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is nothing in the transcript.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The reply with request id `id`.
    pub fn reply(&self, id: RequestId) -> Option<&Reply> {
        self.items.iter().rev().find_map(|i| match &i.entry {
            Entry::Reply(r) if r.id == id => Some(r.as_ref()),
            _ => None,
        })
    }

    /// The reply before (`Step::Earlier`) or after (`Step::Later`) reply `from`, or the
    /// latest one when `from` is `None`.
    pub fn neighbour_reply(&self, from: Option<RequestId>, step: Step) -> Option<RequestId> {
        let ids: Vec<RequestId> = self
            .items
            .iter()
            .filter_map(|i| match &i.entry {
                Entry::Reply(r) => Some(r.id),
                _ => None,
            })
            .collect();
        let at = match from {
            Some(id) => ids.iter().position(|i| *i == id)?,
            None => return ids.last().copied(),
        };
        match step {
            Step::Earlier => ids.get(at.checked_sub(1)?).copied(),
            Step::Later => ids.get(at + 1).copied(),
        }
    }

    /// The most recent reply.
    pub fn last_reply(&self) -> Option<&Reply> {
        self.items.iter().rev().find_map(|i| match &i.entry {
            Entry::Reply(r) => Some(r.as_ref()),
            _ => None,
        })
    }

    fn reply_mut(&mut self, id: RequestId) -> Option<&mut Reply> {
        let position = self
            .items
            .iter()
            .rposition(|i| matches!(&i.entry, Entry::Reply(r) if r.id == id))?;
        // Whoever mutates a reply changes its layout, and the rows from it on.
        let revision = self.changed(position);
        let item = &mut self.items[position];
        item.revision = revision;
        match &mut item.entry {
            Entry::Reply(r) => Some(r.as_mut()),
            _ => None,
        }
    }

    /// Folds one stamped progress item of request `id` into its reply; returns true when
    /// the reply is over.
    pub fn apply(&mut self, id: RequestId, item: &Stamped) -> bool {
        let Some(reply) = self.reply_mut(id) else {
            return true;
        };
        if !reply.is_live() {
            return true;
        }
        reply.ledger.apply(item);
        match &item.progress {
            Progress::AttemptStarted { number, .. } => {
                reply.retry = None;
                if *number > 1 {
                    // Retries only follow attempts that streamed no text; start clean.
                    reply.notes.clear();
                    reply.notes_before_text = 0;
                    reply.state = ReplyState::Waiting;
                }
                false
            }
            Progress::AttemptFailed {
                number,
                error,
                next,
            } => {
                let model = reply.answered_model().unwrap_or(reply.model()).to_string();
                reply.retry = match next {
                    Next::Retry { delay } => Some((model.clone(), *delay)),
                    Next::Fallback { model, delay } => Some((model.clone(), *delay)),
                    Next::GiveUp => None,
                }
                .map(|(model, delay)| RetryWait {
                    at: item.stamp.at + delay,
                    model,
                    reason: error.kind().to_string(),
                });
                reply.failed_attempts.push(FailedAttempt {
                    number: *number,
                    model,
                    error: error.clone(),
                });
                false
            }
            Progress::Event(event) => match event {
                StreamEvent::TextDelta(_) => {
                    reply.state = ReplyState::Streaming;
                    false
                }
                StreamEvent::Note { kind, summary } => {
                    if reply.text().is_empty() {
                        reply.notes_before_text += 1;
                    }
                    reply.notes.push((*kind, summary.clone()));
                    false
                }
                StreamEvent::Finished { stop_reason } => {
                    reply.end(ReplyState::Finished(stop_reason.clone()), item.stamp.at);
                    true
                }
                StreamEvent::Started { .. }
                | StreamEvent::RateLimits(_)
                | StreamEvent::Usage(_)
                | StreamEvent::Notice(_) => false,
            },
        }
    }

    /// Refreshes the live numbers of reply `id` if they are due at `now` (they sit in the
    /// header, built per frame: the laid-out body stays cached).
    pub fn refresh_shown(
        &mut self,
        id: RequestId,
        now: Instant,
        tokens_per_byte: Option<f64>,
    ) -> bool {
        // Found first, then refreshed: `any` over the refresh itself went on through every
        // older entry whenever the numbers were not due (most events), a cost per streamed
        // token that grew with the transcript.
        let reply = self
            .items
            .iter_mut()
            .rev()
            .find_map(|i| match &mut i.entry {
                Entry::Reply(r) if r.id == id => Some(r),
                _ => None,
            });
        reply.is_some_and(|r| r.refresh_shown(now, tokens_per_byte))
    }

    /// Records reply `id`'s row in the request log (its header shows it; the body's layout
    /// stays cached).
    pub fn set_log_id(&mut self, id: RequestId, log_id: crate::records::LogId) {
        if let Some(Entry::Reply(r)) = self
            .items
            .iter_mut()
            .rev()
            .map(|i| &mut i.entry)
            .find(|e| matches!(e, Entry::Reply(r) if r.id == id))
        {
            r.log_id = Some(log_id);
        }
    }

    /// The last reply, if it is the transcript's last entry and did not finish: what Ctrl-R
    /// can retry.
    pub fn retryable(&self) -> Option<RequestId> {
        match self.items.last().map(|i| &i.entry) {
            Some(Entry::Reply(r))
                if matches!(r.state, ReplyState::Failed(_) | ReplyState::Cancelled) =>
            {
                Some(r.id)
            }
            _ => None,
        }
    }

    /// Marks reply `id` as retried: it stays on screen but leaves the history.
    pub fn supersede(&mut self, id: RequestId) {
        if let Some(reply) = self.reply_mut(id) {
            reply.superseded = true;
        }
    }

    /// Marks reply `id` as failed with `error` at `now`, keeping its partial text.
    pub fn fail(&mut self, id: RequestId, error: LlmError, now: Instant) {
        if let Some(reply) = self.reply_mut(id)
            && reply.is_live()
        {
            reply.end(ReplyState::Failed(error), now);
        }
    }

    /// Marks reply `id` as cancelled by the user at `now`, keeping its partial text.
    pub fn cancel(&mut self, id: RequestId, now: Instant) {
        if let Some(reply) = self.reply_mut(id)
            && reply.is_live()
        {
            reply.end(ReplyState::Cancelled, now);
        }
    }

    /// The conversation to send: user messages and the text of replies (partial ones too,
    /// since the user saw them), normalized so roles alternate.
    pub fn history(&self) -> Vec<Message> {
        self.history_without(None)
    }

    /// [`Transcript::history`] as if reply `left_out` were superseded too (a retry's).
    pub fn history_without(&self, left_out: Option<RequestId>) -> Vec<Message> {
        let messages = self
            .items
            .iter()
            .filter_map(|i| match &i.entry {
                Entry::User { text } => Some(Message {
                    role: Role::User,
                    content: text.clone(),
                }),
                Entry::Reply(r) if r.superseded || Some(r.id) == left_out => None,
                Entry::Reply(r) => Some(Message {
                    role: Role::Assistant,
                    content: r.text().to_string(),
                }),
                Entry::Welcome { .. } => None,
            })
            .collect();
        super::normalize_history(messages)
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<&Entry> {
        self.items.get(index).map(|i| &i.entry)
    }
}
