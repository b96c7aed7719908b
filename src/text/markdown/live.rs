//! Markdown while a reply streams: the complete lines read as Markdown, the unfinished last
//! line shown as plain text ([`layout_live`]), and [`LiveLayout`], which keeps the complete
//! lines' rows from one frame to the next. The Markdown itself is read by the parent module.

use std::rc::Rc;

use super::{Highlights, Logical, OpenFence, push_rows, render};
use crate::text::highlight::HighlightCache;
use crate::text::{self, StyledLine, StyledSpan, Tone};

/// Lays out a reply that is still streaming: the complete lines (up to the last `\n`) as
/// Markdown, the unfinished last line as plain text, wrapped to `width`.
///
/// The complete lines come out exactly as [`layout`](super::layout) would lay them out if they were the whole
/// reply (plus, inside an open code block, its blank last lines), so a row only changes when a
/// line completes. Inside an open fenced code block the unfinished line is shown as plain code
/// where the next code line will be; a line that is becoming a fence (only backticks or tildes
/// so far, or a fence's start) is not shown until it is complete. Once the reply is finished,
/// lay it out with [`layout`](super::layout). [`LiveLayout`] gives the same rows and re-reads the Markdown
/// only when a line completes.
pub fn layout_live(source: &str, width: usize) -> Vec<StyledLine<Tone>> {
    let clean = text::sanitize(source);
    let (complete, tail) = split_live(&clean);
    settle(complete, width, Highlights::Shared).with_tail(tail, width)
}

/// Lays out one streaming reply frame after frame, keeping the rows of its complete lines: the
/// Markdown is read again only when another line completes (or the width changes), and then
/// only code lines not highlighted before are highlighted; the other frames only wrap the
/// unfinished line. Keep one per streaming reply.
///
/// [`LiveLayout::layout`] gives exactly [`layout_live`]'s rows, [`LiveLayout::finish`] exactly
/// [`layout`](super::layout)'s.
#[derive(Default)]
pub struct LiveLayout {
    settled: Option<(String, usize, Settled)>,
    highlights: HighlightCache,
}

impl std::fmt::Debug for LiveLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLayout")
            .field(
                "settled_bytes",
                &self.settled.as_ref().map(|(text, _, _)| text.len()),
            )
            .finish_non_exhaustive()
    }
}

impl LiveLayout {
    /// An empty cache.
    pub fn new() -> LiveLayout {
        LiveLayout::default()
    }

    /// The rows of `source` (the reply so far) at `width`, as [`layout_live`] lays them out.
    pub fn layout(&mut self, source: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let (complete, tail) = self.layout_parts(source, width);
        let mut rows = complete.to_vec();
        rows.extend(tail);
        rows
    }

    /// [`LiveLayout::layout`] in two parts: the complete lines' rows, kept from call to call
    /// and shared (not copied) while no new line completes, and the unfinished line's.
    pub fn layout_parts(
        &mut self,
        source: &str,
        width: usize,
    ) -> (Rc<[StyledLine<Tone>]>, Vec<StyledLine<Tone>>) {
        let clean = text::sanitize(source);
        let (complete, tail) = split_live(&clean);
        let settled = self.settled(complete, width);
        (Rc::clone(&settled.rows), settled.tail_rows(tail, width))
    }

    /// The rows of the finished reply, as [`layout`](super::layout) lays them out.
    pub fn finish(&mut self, source: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let clean = text::sanitize(source);
        if let Some((complete, w, settled)) = &self.settled
            && *w == width
            && *complete == clean
            && settled.open_fence.is_none()
        {
            // Every line was complete and already laid out, trimmed as `layout` trims.
            return settled.rows.to_vec();
        }
        let mut doc = render(&clean, Highlights::Own(&mut self.highlights));
        doc.trim_trailing_blanks();
        doc.rows(width)
    }

    fn settled(&mut self, complete: &str, width: usize) -> &Settled {
        let kept = match self.settled.take() {
            Some((c, w, settled)) if w == width && c == complete => (c, w, settled),
            _ => (
                complete.to_string(),
                width,
                settle(complete, width, Highlights::Own(&mut self.highlights)),
            ),
        };
        &self.settled.insert(kept).2
    }
}

/// The complete lines of a (sanitized) reply, up to and including the last `\n`, and the
/// unfinished line after them.
pub(super) fn split_live(clean: &str) -> (&str, &str) {
    match clean.rfind('\n') {
        Some(i) => clean.split_at(i + 1),
        None => ("", clean),
    }
}

/// The complete lines of a streaming reply, laid out.
pub(super) struct Settled {
    rows: Rc<[StyledLine<Tone>]>,
    /// Set when the lines end inside a fenced code block with no closing fence yet.
    open_fence: Option<OpenFence>,
    /// Whether the last complete line is blank (the unfinished one starts a new block).
    ends_blank: bool,
}

pub(super) fn settle(complete: &str, width: usize, highlights: Highlights<'_>) -> Settled {
    let mut doc = render(complete, highlights);
    let open_fence = doc.open_fence.take();
    // Blank code lines at the end of an open block are code, not spacing: keep them.
    if open_fence.is_none() {
        doc.trim_trailing_blanks();
    }
    Settled {
        rows: doc.rows(width).into(),
        open_fence,
        ends_blank: ends_with_blank_line(complete),
    }
}

impl Settled {
    /// These rows followed by the unfinished line's.
    pub(super) fn with_tail(&self, tail: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let mut rows = self.rows.to_vec();
        rows.extend(self.tail_rows(tail, width));
        rows
    }

    /// The rows of the unfinished line `tail`, which follow these.
    pub(super) fn tail_rows(&self, tail: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let mut rows = Vec::new();
        match &self.open_fence {
            Some(fence) => {
                if !tail.is_empty() && !becomes_fence(tail, Some(fence.fence_char)) {
                    let line = Logical {
                        first_prefix: fence.prefix.clone(),
                        rest_prefix: fence.prefix.clone(),
                        spans: vec![StyledSpan {
                            style: Tone::Code,
                            text: tail.to_string(),
                        }],
                    };
                    push_rows(&mut rows, line, width);
                }
            }
            None => {
                if tail.trim().is_empty() || becomes_fence(tail, None) {
                    return rows;
                }
                if !self.rows.is_empty() && self.ends_blank {
                    rows.push(Vec::new());
                }
                // Markdown drops a line's leading spaces (up to three at the start of a
                // block, all of them on a paragraph's next line): so does the unfinished line,
                // or it would shift a column when it completes.
                let tail = if self.ends_blank || self.rows.is_empty() {
                    let spaces = tail.len() - tail.trim_start_matches(' ').len();
                    &tail[spaces.min(3)..]
                } else {
                    tail.trim_start_matches(' ')
                };
                rows.extend(text::wrap(
                    &[StyledSpan {
                        style: Tone::Normal,
                        text: tail.to_string(),
                    }],
                    width,
                ));
            }
        }
        rows
    }
}

/// Whether an unfinished line is (so far) a code fence: inside a block fenced with
/// `fence_char`, a run of that character (the closing fence being typed); elsewhere, a run of
/// backticks or the start of a fence.
fn becomes_fence(tail: &str, fence_char: Option<char>) -> bool {
    let t = tail.trim_start_matches([' ', '>']).trim_end();
    match fence_char {
        Some(c) => !t.is_empty() && t.chars().all(|x| x == c),
        None => {
            (!t.is_empty() && t.chars().all(|x| x == '`'))
                || t.starts_with("```")
                || t.starts_with("~~~")
        }
    }
}

fn ends_with_blank_line(complete: &str) -> bool {
    let body = complete.strip_suffix('\n').unwrap_or(complete);
    body.rsplit('\n')
        .next()
        .is_some_and(|l| l.trim().is_empty())
}
