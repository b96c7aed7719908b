//! The transcript pane: messages and replies, newest at the bottom.
//!
//! Only the entries that intersect the viewport are turned into terminal lines; their bodies
//! come from the lane's [`super::layout::TranscriptLayout`], kept in the [`View`]. Reply
//! headers are built per frame because they carry live numbers (elapsed time, tokens so far).

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Scrollbar, ScrollbarOrientation, ScrollbarState};

use super::layout::{BODY_INDENT_COLUMNS, header_rows};
use super::theme::{Theme, Tone};
use super::view::{LaneView, View};
use crate::llm::pricing::CostView;
use crate::model::Model;
use crate::model::lane::Lane;
use crate::model::transcript::{Entry, Measure, Reply, ReplyState, Row};
use crate::text;

/// Draws the visible part of the focused lane's transcript into `area`.
pub fn render(model: &Model, theme: &Theme, view: &mut View, frame: &mut Frame<'_>, area: Rect) {
    let now = model.now.unwrap_or_else(Instant::now);
    let lane_view = view.lane(model.lane.transcript.id());
    render_lane(
        &model.lane,
        lane_view,
        Headers::Full,
        now,
        theme,
        frame,
        area,
    );
}

/// How much a reply header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    /// Model and prompt version on every reply.
    Full,
    /// In a compare lane, whose title names them: only a model other than the lane's (a
    /// fallback's) and a prompt version other than the lane's.
    InLane,
}

/// Draws the visible part of `lane`'s transcript into `area`.
pub fn render_lane(
    lane: &Lane,
    view: &mut LaneView,
    headers: Headers,
    now: Instant,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    // One column for the scrollbar.
    let text_width = area.width.saturating_sub(1).max(1);
    let transcript = &lane.transcript;
    let rows_visible = area.height as usize;
    let layout = &mut view.layout;
    if layout.sync(transcript, text_width) {
        view.scroll.follow();
    }
    let total = layout.total_rows();
    let max_top = total.saturating_sub(rows_visible);
    let top = view.scroll.settle(total, rows_visible, |id| {
        transcript.position_of_reply(id).map(|i| layout.start_of(i))
    });
    let top = if view.scroll.at_bottom() && lane.is_streaming() {
        follow_a_page_at_a_time(max_top, rows_visible)
    } else {
        top
    };

    // The first entry that reaches into the viewport, found by binary search.
    let (mut index, entry_top) = layout.entry_at_row(top).unwrap_or((transcript.len(), top));
    let mut skip = top - entry_top;
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(rows_visible);
    // A streaming reply whose header scrolled above the view keeps it on the top row.
    let mut sticky: Option<Line<'static>> = None;
    let first_index = index;
    while index < transcript.len() && lines.len() < rows_visible {
        let Some(entry) = transcript.get(index) else {
            break;
        };
        let selected = matches!(entry, Entry::Reply(r) if lane.selected_reply == Some(r.id));
        // Rows above the view are skipped, and only the rows in it are styled: a long reply
        // costs a frame what the view shows of it.
        if header_rows(entry) > 0 {
            // The last run of a repeated message says how much the runs varied.
            let note = match entry {
                Entry::Reply(r) if r.run.is_some_and(|run| run.number == run.of) => {
                    lane.variation().map(super::compare::variation)
                }
                _ => None,
            };
            let context = match headers {
                Headers::Full => None,
                Headers::InLane => Some(lane),
            };
            let mut line = header(entry, note, context, theme, now, text_width as usize);
            if selected {
                // The reply the panel shows (Alt-↑/↓), marked where it is.
                line.spans.insert(0, Span::styled("▶ ", theme.accent));
                line = line.style(
                    ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
            let live = matches!(entry, Entry::Reply(r) if r.is_live());
            if index == first_index && skip > 0 && live {
                sticky = Some(line.clone());
            }
            place(line, &mut skip, &mut lines, rows_visible);
        }
        let indent = match entry {
            Entry::Welcome { .. } => 0,
            _ => BODY_INDENT_COLUMNS,
        };
        let body = layout.body(transcript, index);
        let from = skip.min(body.len());
        skip -= from;
        let room = rows_visible - lines.len();
        lines.extend(
            body.iter_from(from)
                .take(room)
                .map(|row| styled(row, theme, indent)),
        );
        place(Line::default(), &mut skip, &mut lines, rows_visible);
        index += 1;
    }
    if let (Some(header), Some(first)) = (sticky, lines.first_mut()) {
        *first = header;
    }
    let text_area = Rect {
        width: text_width,
        ..area
    };
    super::draw_lines(&lines, frame, text_area);

    if total > rows_visible {
        let mut state = ScrollbarState::new(max_top).position(top);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .style(theme.muted),
            area,
            &mut state,
        );
    }
}

/// Puts `line` in the view, or skips it while rows above the view are being skipped.
fn place(line: Line<'static>, skip: &mut usize, lines: &mut Vec<Line<'static>>, visible: usize) {
    if *skip > 0 {
        *skip -= 1;
    } else if lines.len() < visible {
        lines.push(line);
    }
}

/// The first row shown while following a streaming reply: the view stays put while the text
/// fills it, then turns a page, keeping the last few rows for context (as a pager does).
/// Scrolling a row per new line would repaint every row of the view for each line of text —
/// the costliest thing a terminal can be asked over SSH; a page turn repaints it once per
/// page. Once the reply ends the view settles on the bottom row.
pub fn follow_a_page_at_a_time(max_top: usize, visible: usize) -> usize {
    if max_top == 0 {
        return 0;
    }
    let context = (visible / 6).max(2).min(visible.saturating_sub(1));
    let step = visible.saturating_sub(context).max(1);
    max_top.div_ceil(step) * step
}

fn styled(row: &Row, theme: &Theme, indent: usize) -> Line<'static> {
    let mut spans = Vec::with_capacity(row.len() + 1);
    if indent > 0 {
        spans.push(Span::raw(" ".repeat(indent)));
    }
    spans.extend(
        row.iter()
            .map(|s| Span::styled(s.text.clone(), theme.style(s.style))),
    );
    Line::from(spans)
}

/// The one-line header above a message.
fn header(
    entry: &Entry,
    note: Option<String>,
    lane: Option<&Lane>,
    theme: &Theme,
    now: Instant,
    width: usize,
) -> Line<'static> {
    let mut parts: Vec<(Tone, String)> = match entry {
        Entry::Welcome { .. } => Vec::new(),
        Entry::User { .. } => vec![(Tone::User, "▌ you".into())],
        Entry::Reply(reply) => reply_header(reply, lane, now),
    };
    if let Some(note) = note {
        parts.push((Tone::Warning, format!(" · {note}")));
    }
    // Keep the header to one row: cut the last parts first.
    let mut used = 0usize;
    let mut spans = Vec::new();
    for (tone, part) in parts {
        let w = text::width(&part);
        if used + w > width {
            let cut = text::truncate(&part, width.saturating_sub(used));
            spans.push(Span::styled(cut, theme.style(tone)));
            break;
        }
        used += w;
        spans.push(Span::styled(part, theme.style(tone)));
    }
    Line::from(spans)
}

/// Formats a duration as `0.35s` under a minute, `2m05s` above.
pub fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The parts of a reply's header; in a compare lane (`lane`), the model and prompt version
/// only where they differ from the lane's title.
pub fn reply_header(reply: &Reply, lane: Option<&Lane>, now: Instant) -> Vec<(Tone, String)> {
    let model = reply.answered_model().unwrap_or(reply.model());
    let same_model = lane.is_some_and(|l| reply.model() == l.model);
    let mut parts = if same_model {
        vec![(Tone::Accent, "◆ reply".to_string())]
    } else {
        vec![(Tone::Accent, format!("◆ {}", text::sanitize(model)))]
    };
    // Its number in the request log (`promptdeck log`, the inspector, the panel).
    if let Some(number) = reply.number() {
        parts.push((Tone::Muted, format!(" {number}")));
    }
    if let Some(label) = &reply.label {
        parts.push((Tone::Warning, format!(" · {label}")));
    }
    // Last, so that a narrow header cuts it first (the status line names the prompt too).
    let lane_prompt = lane.and_then(|l| l.prompt.as_ref().map(|p| &p.provenance));
    let prompt = reply
        .prompt
        .as_ref()
        .filter(|p| lane.is_none() || lane_prompt != Some(*p))
        .map(|p| {
            (
                Tone::Code,
                format!(" · {}", text::sanitize(&p.as_reference())),
            )
        });
    if let Some(run) = reply.run {
        parts.push((Tone::Warning, format!(" · run {}/{}", run.number, run.of)));
    }
    let elapsed = seconds(reply.shown_elapsed());
    let tokens = match reply.shown_output() {
        (n, Measure::Reported) => format!("{n} tok"),
        (_, Measure::Estimated) if !reply.is_live() && !reply.output_reported() => {
            "usage not reported".to_string()
        }
        (n, Measure::Estimated) => format!("~{n} tok"),
    };
    let cost = match reply.shown_cost() {
        CostView::Unknown | CostView::NotReported => String::new(),
        cost => format!(" · {cost}"),
    };
    let state = match &reply.state {
        ReplyState::Waiting => (Tone::Muted, format!(" · waiting {elapsed}")),
        ReplyState::Streaming => (
            Tone::Muted,
            format!(" · streaming {elapsed} · {tokens}{cost}"),
        ),
        ReplyState::Finished(_) => {
            let ttft = reply.ttft().map(seconds).unwrap_or_else(|| "-".into());
            (
                Tone::Muted,
                format!(" · {elapsed} · first token {ttft} · {tokens}{cost}"),
            )
        }
        ReplyState::Cancelled => (Tone::Muted, format!(" · cancelled after {elapsed}")),
        ReplyState::Failed(e) => (Tone::Error, format!(" · failed: {}", e.kind())),
    };
    if let Some(wait) = &reply.retry {
        let left = seconds(wait.at.saturating_duration_since(now));
        let target = if wait.model == reply.model() {
            String::new()
        } else {
            format!(" with {}", text::sanitize(&wait.model))
        };
        parts.push((
            Tone::Warning,
            format!(" · {}: retry{target} in {left} · Esc cancels", wait.reason),
        ));
        parts.extend(prompt);
        return parts;
    }
    if let Some(first) = reply.failed_attempts.first() {
        let model_now = reply.model();
        let note = if first.model != model_now {
            format!(
                " · fallback after {} {}",
                text::sanitize(&first.model),
                first.error.kind()
            )
        } else {
            let n = reply.failed_attempts.len();
            format!(
                " · after {n} failed attempt{}",
                if n == 1 { "" } else { "s" }
            )
        };
        parts.push((Tone::Warning, note));
    }
    parts.push(state);
    parts.extend(prompt);
    parts
}
