//! The chat transcript: a list of entries, each caching its wrapped rows per width.
//!
//! Rows are laid out once per (entry, width) and reused by every frame, so a frame costs the
//! same at message 10 and message 10,000: scrolling sums cached heights and only the visible
//! entries are turned into styled terminal lines. Text is kept raw (it is what the model said
//! and what goes back into the history) and sanitized when it is laid out.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use crate::event::RequestId;
use crate::llm::retry::{Next, Progress};
use crate::llm::{LlmError, Message, NoteKind, Role, StopReason, StreamEvent};
use crate::request::Stamped;
use crate::text::{self, StyledLine, StyledSpan, Tone};

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
    /// Body rows laid out for one width.
    layout: RefCell<Option<(u16, Rc<[Row]>)>>,
    /// For a streaming reply: the rows of its complete lines, kept while it grows (only the
    /// unfinished line and the line that completes are laid out again).
    live: RefCell<Option<text::markdown::LiveLayout>>,
}

/// Cumulative row counts for one width: `ends[i]` is the first row after entry `i`.
/// Entries change almost only at the tail (the streaming reply), so the sums stay valid up
/// to the first changed entry and are extended from there.
#[derive(Debug, Default)]
struct RowIndex {
    width: u16,
    ends: Vec<usize>,
}

/// The list of entries with their layout caches.
#[derive(Debug, Default)]
pub struct Transcript {
    items: Vec<Item>,
    index: RefCell<RowIndex>,
}

impl Transcript {
    /// Appends an entry.
    pub fn push(&mut self, entry: Entry) {
        self.items.push(Item {
            entry,
            layout: RefCell::new(None),
            live: RefCell::new(None),
        });
    }

    /// Keeps the first `len` entries (a branch drops what followed the edited message).
    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
        self.index.get_mut().ends.truncate(len);
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
        // Whoever mutates a reply changes its layout, and the row sums from it on.
        self.index.get_mut().ends.truncate(position);
        let item = &mut self.items[position];
        *item.layout.get_mut() = None;
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
        self.items.iter_mut().rev().any(|i| match &mut i.entry {
            Entry::Reply(r) if r.id == id => r.refresh_shown(now, tokens_per_byte),
            _ => false,
        })
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

    /// Height in rows of entry `index` at `width` (header, body, separator).
    pub fn entry_rows(&self, index: usize, width: u16) -> usize {
        self.body(index, width).len() + header_rows(&self.items[index].entry) + 1
    }

    /// Total height of the transcript at `width`.
    pub fn total_rows(&self, width: u16) -> usize {
        self.update_index(width);
        self.index.borrow().ends.last().copied().unwrap_or(0)
    }

    /// The entry containing row `row` at `width`, and the row at which that entry starts.
    /// `None` past the end.
    pub fn entry_at_row(&self, row: usize, width: u16) -> Option<(usize, usize)> {
        self.update_index(width);
        let index = self.index.borrow();
        let i = index.ends.partition_point(|&end| end <= row);
        (i < index.ends.len()).then(|| (i, if i == 0 { 0 } else { index.ends[i - 1] }))
    }

    /// The rows reply `id` spans at `width` (from its header to its end), if it is here.
    pub fn rows_of_reply(&self, id: RequestId, width: u16) -> Option<(usize, usize)> {
        let at = self
            .items
            .iter()
            .position(|i| matches!(&i.entry, Entry::Reply(r) if r.id == id))?;
        self.update_index(width);
        let index = self.index.borrow();
        let start = if at == 0 { 0 } else { index.ends[at - 1] };
        Some((start, index.ends[at]))
    }

    /// Extends the cumulative row counts to every entry, for `width`.
    fn update_index(&self, width: u16) {
        let mut index = self.index.borrow_mut();
        if index.width != width {
            index.width = width;
            index.ends.clear();
        }
        let mut end = index.ends.last().copied().unwrap_or(0);
        for i in index.ends.len()..self.items.len() {
            end += self.entry_rows(i, width);
            index.ends.push(end);
        }
    }

    /// The laid-out body rows of entry `index` at `width`, from the cache when possible.
    pub fn body(&self, index: usize, width: u16) -> Rc<[Row]> {
        let item = &self.items[index];
        if let Some((w, rows)) = item.layout.borrow().as_ref()
            && *w == width
        {
            return rows.clone();
        }
        let mut live = item.live.borrow_mut();
        let live = match &item.entry {
            Entry::Reply(reply) if reply.is_live() => {
                Some(live.get_or_insert_with(text::markdown::LiveLayout::new))
            }
            _ => {
                // Finished: the complete layout from now on.
                *live = None;
                None
            }
        };
        let rows: Rc<[Row]> = layout_body(&item.entry, width as usize, live).into();
        *item.layout.borrow_mut() = Some((width, rows.clone()));
        rows
    }

    /// The entry at `index`.
    pub fn get(&self, index: usize) -> Option<&Entry> {
        self.items.get(index).map(|i| &i.entry)
    }
}

/// Rows above the body: a header line for messages, none for the welcome screen.
pub fn header_rows(entry: &Entry) -> usize {
    match entry {
        Entry::Welcome { .. } => 0,
        Entry::User { .. } | Entry::Reply(_) => 1,
    }
}

fn span(tone: Tone, text: impl Into<String>) -> StyledSpan<Tone> {
    StyledSpan {
        style: tone,
        text: text.into(),
    }
}

/// Wraps a block of (sanitized) text, one logical line at a time, with an indent.
fn wrap_block(out: &mut Vec<Row>, raw: &str, tone: Tone, width: usize) {
    let clean = text::sanitize(raw);
    for line in clean.split('\n') {
        out.extend(text::wrap(&[span(tone, line)], width));
    }
}

/// Text indent for message bodies, in columns.
pub const BODY_INDENT_COLUMNS: usize = 2;

fn layout_body(
    entry: &Entry,
    width: usize,
    live: Option<&mut text::markdown::LiveLayout>,
) -> Vec<Row> {
    let inner = width.saturating_sub(BODY_INDENT_COLUMNS).max(1);
    let mut rows = Vec::new();
    match entry {
        Entry::Welcome { config_path } => layout_welcome(&mut rows, config_path, width),
        Entry::User { text } => wrap_block(&mut rows, text, Tone::Normal, inner),
        Entry::Reply(reply) => {
            let note_rows = |rows: &mut Vec<Row>, notes: &[(NoteKind, String)]| {
                for (kind, summary) in notes {
                    let what = match kind {
                        NoteKind::Thinking => "thinking",
                        NoteKind::ToolUse => "tool call",
                        NoteKind::Other => "block",
                    };
                    let line = format!("▸ {what}: {} (collapsed)", text::sanitize(summary));
                    rows.extend(text::wrap(&[span(Tone::Muted, line)], inner));
                }
            };
            let split = reply.notes_before_text.min(reply.notes.len());
            note_rows(&mut rows, &reply.notes[..split]);
            if !reply.text().is_empty() {
                // While it streams, the complete lines are Markdown and the unfinished one
                // plain text, so half-typed markup never flickers.
                match live {
                    Some(live) => rows.extend(live.layout(reply.text(), inner)),
                    None => rows.extend(text::markdown::layout(reply.text(), inner)),
                }
            }
            note_rows(&mut rows, &reply.notes[split..]);
            let footer: Option<(Tone, String)> = match &reply.state {
                ReplyState::Waiting => Some((Tone::Muted, "…".into())),
                ReplyState::Streaming => None,
                ReplyState::Finished(StopReason::MaxTokens) => Some((
                    Tone::Warning,
                    "⚠ cut short: the reply reached max_tokens".into(),
                )),
                ReplyState::Finished(StopReason::Refusal) => Some((
                    Tone::Warning,
                    "⚠ the provider refused or filtered this reply".into(),
                )),
                ReplyState::Finished(_) => None,
                ReplyState::Cancelled => Some((Tone::Muted, "⏹ cancelled".into())),
                ReplyState::Failed(error) => {
                    let prefix = if reply.text().is_empty() {
                        "✗ "
                    } else {
                        "✗ interrupted — "
                    };
                    Some((
                        Tone::Error,
                        format!("{prefix}{}", text::sanitize(&error.to_string())),
                    ))
                }
            };
            if let Some((tone, line)) = footer {
                rows.extend(text::wrap(&[span(tone, line)], inner));
            }
            if reply.superseded && reply.run.is_none() {
                rows.extend(text::wrap(
                    &[span(Tone::Muted, "↻ retried below (not sent as history)")],
                    inner,
                ));
            }
        }
    }
    rows
}

fn layout_welcome(rows: &mut Vec<Row>, config_path: &str, width: usize) {
    let lines: Vec<(Tone, String)> = vec![
        (Tone::Heading, "Welcome to promptdeck".into()),
        (Tone::Normal, String::new()),
        (
            Tone::Normal,
            "No model provider is configured, so this chat uses the built-in demo provider \
             (demo — not a model): it streams a canned reply offline and costs nothing. Try it: \
             type below and press Enter."
                .into(),
        ),
        (Tone::Normal, String::new()),
        (
            Tone::Normal,
            "To chat with a real model, set one of:".into(),
        ),
        (Tone::Code, "  export ANTHROPIC_API_KEY=sk-ant-…".into()),
        (Tone::Code, "  export OPENAI_API_KEY=sk-…".into()),
        (
            Tone::Code,
            "  export OPENAI_BASE_URL=http://127.0.0.1:11434/v1   # Ollama, llama.cpp, vLLM".into(),
        ),
        (Tone::Normal, format!("or write {config_path}:")),
        (Tone::Code, "  provider = \"anthropic\"".into()),
        (Tone::Code, "  model = \"claude-sonnet-4-5\"".into()),
        (Tone::Normal, String::new()),
        (
            Tone::Muted,
            "Then start promptdeck again. `promptdeck --help` lists every option.".into(),
        ),
    ];
    for (tone, line) in lines {
        rows.extend(text::wrap(&[span(tone, line)], width.max(1)));
    }
}
