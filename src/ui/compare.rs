//! The compare screen: two to four lanes side by side, each with a title (its number, prompt
//! version and model), its own transcript, and a footer with its latest reply's numbers (time
//! to first token, total time, tokens, cost, status); under them a summary row says which
//! lane was fastest to the first token, cheapest, shortest and longest, or the keys.
//!
//! Lanes are columns from [`COLUMNS_MIN_WIDTH`] columns on, stacked rows below; Alt-Z shows
//! the focused lane alone. With the word diff on (Alt-D), the focused lane and the next one
//! show their latest replies with the words only one of them has highlighted.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use super::transcript::{Headers, render_lane, seconds};
use super::view::{LaneView, View};
use crate::model::Model;
use crate::model::compare::{RerunOnSave, Zoom};
use crate::model::lane::{Lane, Variation};
use crate::model::transcript::{Measure, ReplyState};
use crate::request::verdict::verdict;
use crate::text::{self, diff};

/// From this width on, lanes are columns; below it they are stacked.
pub const COLUMNS_MIN_WIDTH: u16 = 100;

/// Draws the lanes and the summary row into `area`.
pub fn render(model: &Model, theme: &Theme, view: &mut View, frame: &mut Frame<'_>, area: Rect) {
    let [lanes_area, summary_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let now = model.now.unwrap_or_else(Instant::now);
    let lanes = model.lanes();
    let focus = model.compare.focus.min(lanes.len().saturating_sub(1));
    let shown: Vec<usize> = match model.compare.zoom {
        Zoom::Focused => vec![focus],
        Zoom::Off => (0..lanes.len()).collect(),
    };
    let columns = lanes_area.width >= COLUMNS_MIN_WIDTH;
    let constraints = vec![Constraint::Fill(1); shown.len()];
    let areas = if columns {
        Layout::horizontal(constraints).split(lanes_area)
    } else {
        Layout::vertical(constraints).split(lanes_area)
    };
    // The word diff is worked out again only when one of the two transcripts changed.
    let diff = model.diff_pair().and_then(|(a, b)| {
        let (left, right) = (lanes.get(a)?, lanes.get(b)?);
        let key = [left, right].map(|l| (l.transcript.id(), l.transcript.revision()));
        let pieces = view.word_diff(key, || {
            let text_of = |l: &Lane| l.transcript.last_reply().map(|r| text::sanitize(r.text()));
            Some(diff::word_diff(&text_of(left)?, &text_of(right)?))
        })?;
        Some([(a, b, pieces.clone(), 0), (b, a, pieces, 1)])
    });
    for (slot, &i) in shown.iter().enumerate() {
        let Some(lane) = lanes.get(i) else {
            continue;
        };
        let pieces = diff
            .as_ref()
            .and_then(|d| d.iter().find(|(at, _, _, _)| *at == i))
            .map(|(_, other, pieces, side)| {
                let side = if *side == 0 { &pieces.0 } else { &pieces.1 };
                (other + 1, side.as_slice())
            });
        let place = LanePlace {
            number: i + 1,
            focused: i == focus,
            // A separator left of every column but the first.
            separator: columns && slot > 0,
            now,
        };
        let lane_view = view.lane(lane.transcript.id());
        render_one(lane, lane_view, place, pieces, theme, frame, areas[slot]);
    }
    summary(model, theme, frame, summary_area);
}

/// Where (and when) a lane is drawn.
#[derive(Debug, Clone, Copy)]
struct LanePlace {
    /// 1-based screen number.
    number: usize,
    focused: bool,
    separator: bool,
    /// The time its live numbers are drawn for.
    now: Instant,
}

fn render_one(
    lane: &Lane,
    view: &mut LaneView,
    place: LanePlace,
    diff: Option<(usize, &[diff::Piece])>,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let block = Block::default()
        .borders(if place.separator {
            Borders::LEFT
        } else {
            Borders::NONE
        })
        .border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let footer_rows = u16::from(inner.height >= 3);
    let [title_area, body_area, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(footer_rows),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(title(lane, place, theme, inner.width)),
        title_area,
    );
    match diff {
        Some((other, pieces)) => {
            let mut lines = vec![Line::styled(
                text::truncate(
                    &format!("latest reply · words not in lane {other} highlighted · Alt-D ends"),
                    body_area.width as usize,
                ),
                theme.muted,
            )];
            lines.extend(diff_lines(pieces, theme));
            let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
            frame.render_widget(paragraph, body_area);
        }
        None => render_lane(
            lane,
            view,
            Headers::InLane,
            place.now,
            theme,
            frame,
            body_area,
        ),
    }
    if footer_rows > 0 {
        frame.render_widget(
            Paragraph::new(footer(lane, theme, inner.width)),
            footer_area,
        );
    }
}

/// `▶ 2 greeter@a1b2c3d · claude-…`: the lane's number, prompt version and model.
fn title(lane: &Lane, place: LanePlace, theme: &Theme, width: u16) -> Line<'static> {
    let marker = if place.focused { "▶" } else { " " };
    let prompt = lane.prompt.as_ref().map_or("no prompt".to_string(), |p| {
        text::sanitize(&p.provenance.as_reference())
    });
    let temperature = lane
        .temperature
        .map(|t| format!(" · t={t}"))
        .unwrap_or_default();
    let label = format!(
        "{marker} {} {prompt} · {}{temperature}",
        place.number,
        text::sanitize(&lane.model)
    );
    let style = if place.focused {
        theme.accent.add_modifier(Modifier::REVERSED)
    } else {
        theme.heading
    };
    Line::styled(text::truncate(&label, width as usize), style)
}

/// The latest reply's numbers: time to first token, total time, tokens, cost, status.
fn footer(lane: &Lane, theme: &Theme, width: u16) -> Line<'static> {
    let Some(reply) = lane.transcript.last_reply() else {
        return Line::styled(text::truncate("no reply yet", width as usize), theme.muted);
    };
    let ttft = reply
        .ttft()
        .map_or("-".to_string(), |d| format!("first {}", seconds(d)));
    let tokens = match reply.shown_output() {
        (n, Measure::Reported) => format!("{n} tok"),
        (n, Measure::Estimated) => format!("~{n} tok"),
    };
    let (status, tone) = match &reply.state {
        ReplyState::Waiting => ("waiting".to_string(), theme.muted),
        ReplyState::Streaming => ("streaming".to_string(), theme.muted),
        ReplyState::Finished(stop) => (stop.as_str().to_string(), theme.success),
        ReplyState::Cancelled => ("cancelled".to_string(), theme.warning),
        ReplyState::Failed(e) => (format!("failed: {}", e.kind()), theme.error),
    };
    let runs = lane
        .variation()
        .map(|v| format!("{} · ", variation(v)))
        .unwrap_or_default();
    let numbers = format!(
        "{runs}{ttft} · {} · {tokens} · {} · ",
        seconds(reply.shown_elapsed()),
        reply.shown_cost()
    );
    let numbers = text::truncate(&numbers, width as usize);
    let rest = (width as usize).saturating_sub(text::width(&numbers));
    Line::from(vec![
        Span::styled(numbers, theme.muted),
        Span::styled(text::truncate(&status, rest), tone),
    ])
}

/// `3 runs: 2 identical, 40–52 tok`.
pub fn variation(v: Variation) -> String {
    let spread = if v.shortest == v.longest {
        format!("{} tok each", v.shortest)
    } else {
        format!("{}–{} tok", v.shortest, v.longest)
    };
    format!("{} runs: {} identical, {spread}", v.runs, v.identical)
}

/// The pieces of a reply as lines, the words only this lane has highlighted.
fn diff_lines(pieces: &[diff::Piece], theme: &Theme) -> Vec<Line<'static>> {
    let changed = theme.warning.add_modifier(Modifier::REVERSED);
    let mut lines = vec![Line::default()];
    for piece in pieces {
        let style = if piece.changed { changed } else { theme.normal };
        for (n, part) in piece.text.split('\n').enumerate() {
            if n > 0 {
                lines.push(Line::default());
            }
            if !part.is_empty()
                && let Some(line) = lines.last_mut()
            {
                line.spans.push(Span::styled(part.to_string(), style));
            }
        }
    }
    lines
}

/// The summary row: the verdict once every lane has answered, else the compare keys.
fn summary(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let parts = verdict(&model.contenders());
    let mut line = if parts.is_empty() {
        " Alt-←/→ lane · Alt-N add · Alt-W close · Alt-Z zoom · Alt-D diff · Alt-S scroll · Alt-X cancel lane".to_string()
    } else {
        format!(" {}", parts.join(" · "))
    };
    if model.compare.rerun_on_save == RerunOnSave::On {
        line = format!(" re-run on save ·{line}");
    }
    let style = if parts.is_empty() {
        theme.muted
    } else {
        theme.success
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            text::truncate(&line, area.width as usize),
            style,
        )),
        area,
    );
}
