//! Transcript layout: entries wrapped and read as Markdown for one width, kept between frames.
//!
//! Layout is the screen's business, so it and its caches live here, not in the model: the
//! model only says which entries changed ([`Transcript::changed_since`], a revision per
//! entry), and [`TranscriptLayout`] keeps, per transcript, each entry's rows for the width it
//! was drawn at and the running row counts that place entries on the screen. An entry is laid
//! out again only when its revision moved (in practice the streaming reply, whose complete
//! lines a [`LiveLayout`] keeps) or the width changed; the row counts are extended from the
//! first changed entry. So a frame costs the same at message 10 and message 10,000: scrolling
//! finds the first visible entry by binary search and only visible entries become lines.

use std::rc::Rc;

use crate::llm::{NoteKind, StopReason};
use crate::model::transcript::{
    Changed, Entry, ReplyState, Revision, Row, Transcript, TranscriptId,
};
use crate::text::markdown::LiveLayout;
use crate::text::{self, StyledSpan, Tone};

/// Text indent for message bodies, in columns.
pub const BODY_INDENT_COLUMNS: usize = 2;

/// An entry's body rows, in parts: a streaming reply's complete lines are one part, shared
/// with its [`LiveLayout`] from frame to frame rather than copied, so a frame's cost does not
/// grow with the reply.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    parts: Vec<Rc<[Row]>>,
    len: usize,
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows from row `from` on (whole parts are skipped, not walked).
    pub fn iter_from(&self, mut from: usize) -> impl Iterator<Item = &Row> {
        self.parts.iter().flat_map(move |part| {
            let skip = from.min(part.len());
            from -= skip;
            part[skip..].iter()
        })
    }

    /// Whether both start with the very same rows (not equal ones: the same allocation).
    #[cfg(test)]
    fn shares_first_part_with(&self, other: &Rows) -> bool {
        matches!(
            (self.parts.first(), other.parts.first()),
            (Some(a), Some(b)) if Rc::ptr_eq(a, b)
        )
    }

    /// Adds `rows` as a part, unless there are none.
    fn push(&mut self, rows: impl Into<Rc<[Row]>>) {
        let rows = rows.into();
        if !rows.is_empty() {
            self.len += rows.len();
            self.parts.push(rows);
        }
    }
}

/// One entry's rows at the layout's width.
#[derive(Debug)]
struct Body {
    revision: Revision,
    width: u16,
    rows: Rows,
    /// For a streaming reply: its complete lines' rows, kept while it grows.
    live: Option<LiveLayout>,
}

/// The layout of one transcript at one width.
#[derive(Debug)]
pub struct TranscriptLayout {
    id: TranscriptId,
    width: u16,
    /// The transcript's revision when `ends` was last brought up to date.
    synced: Revision,
    /// `ends[i]` is the first row after entry `i` (header, body and separator rows).
    ends: Vec<usize>,
    bodies: Vec<Option<Body>>,
}

impl TranscriptLayout {
    /// An empty layout for transcript `id`.
    pub fn new(id: TranscriptId) -> TranscriptLayout {
        TranscriptLayout {
            id,
            width: 0,
            synced: 0,
            ends: Vec::new(),
            bodies: Vec::new(),
        }
    }

    /// Brings the row counts up to date with `transcript` at `width`; only the entries that
    /// changed since the last call (or all of them, at a new width) are laid out. Returns
    /// true when a message the user sent appeared since the last call: the view then
    /// follows it.
    pub fn sync(&mut self, transcript: &Transcript, width: u16) -> bool {
        if self.id != transcript.id() {
            *self = TranscriptLayout::new(transcript.id());
        }
        if self.width != width {
            self.width = width;
            self.ends.clear();
        }
        let mut sent = false;
        if let Changed::From(first) = transcript.changed_since(self.synced) {
            self.ends.truncate(first);
            // Messages never change once there: one changed since is one just sent.
            sent = (first..transcript.len()).any(|i| {
                matches!(transcript.get(i), Some(Entry::User { .. }))
                    && transcript.entry_revision(i) > Some(self.synced)
            });
        }
        self.synced = transcript.revision();
        self.bodies.truncate(transcript.len());
        let mut end = self.ends.last().copied().unwrap_or(0);
        for i in self.ends.len()..transcript.len() {
            end += self.entry_rows(transcript, i);
            self.ends.push(end);
        }
        sent
    }

    /// Total rows (after [`TranscriptLayout::sync`]).
    pub fn total_rows(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The entry containing row `row`, and the row at which that entry starts; `None` past
    /// the end.
    pub fn entry_at_row(&self, row: usize) -> Option<(usize, usize)> {
        let i = self.ends.partition_point(|&end| end <= row);
        (i < self.ends.len()).then(|| (i, self.start_of(i)))
    }

    /// The first row of entry `index`.
    pub fn start_of(&self, index: usize) -> usize {
        match index {
            0 => 0,
            i => self
                .ends
                .get(i - 1)
                .copied()
                .unwrap_or_else(|| self.total_rows()),
        }
    }

    /// Height in rows of entry `index` (header, body, separator).
    fn entry_rows(&mut self, transcript: &Transcript, index: usize) -> usize {
        match transcript.get(index) {
            Some(entry) => header_rows(entry) + self.body(transcript, index).len() + 1,
            None => 0,
        }
    }

    /// The body rows of entry `index`, laid out again only if it changed.
    pub fn body(&mut self, transcript: &Transcript, index: usize) -> Rows {
        let (Some(entry), Some(revision)) =
            (transcript.get(index), transcript.entry_revision(index))
        else {
            return Rows::default();
        };
        if self.bodies.len() <= index {
            self.bodies.resize_with(index + 1, || None);
        }
        let slot = &mut self.bodies[index];
        if let Some(body) = slot
            && body.revision == revision
            && body.width == self.width
        {
            return body.rows.clone();
        }
        // A streaming reply keeps the rows of its complete lines from the last layout.
        let mut live = match entry {
            Entry::Reply(reply) if reply.is_live() => {
                Some(slot.take().and_then(|b| b.live).unwrap_or_default())
            }
            _ => None,
        };
        let rows = layout_body(entry, usize::from(self.width), live.as_mut());
        *slot = Some(Body {
            revision,
            width: self.width,
            rows: rows.clone(),
            live,
        });
        rows
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

fn layout_body(entry: &Entry, width: usize, live: Option<&mut LiveLayout>) -> Rows {
    let inner = width.saturating_sub(BODY_INDENT_COLUMNS).max(1);
    let mut parts = Rows::default();
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
                    Some(live) => {
                        let (complete, tail) = live.layout_parts(reply.text(), inner);
                        parts.push(std::mem::take(&mut rows));
                        parts.push(complete);
                        rows = tail;
                    }
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
    parts.push(rows);
    parts
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
        // The default itself, so the example never names a retired model.
        (
            Tone::Code,
            format!("  model = \"{}\"", crate::config::DEFAULT_ANTHROPIC_MODEL),
        ),
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

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
