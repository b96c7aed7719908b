//! The status line: provider, model and prompt on the left, the current state or message in
//! the middle, key hints on the right. A message too long for the line gets rows of its own
//! above it (up to [`MAX_MESSAGE_ROWS`]) rather than being cut where it says what to do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use crate::model::{Mode, Model, Status, StatusTone};
use crate::text;

/// Most rows a long status message takes above the status line.
pub const MAX_MESSAGE_ROWS: u16 = 2;

/// The keys that matter now, most useful first ([`crate::keys`] says what they are called):
/// as many as fit are shown.
fn hints(model: &Model) -> Vec<String> {
    use crate::keys::{self as k, Binding};
    let help = |question: bool| {
        if question {
            "? help".to_string()
        } else {
            "F1 help".to_string()
        }
    };
    if model.help.is_some() {
        return vec![format!("Esc {}", k::CLOSE.label)];
    }
    if model.mode != Mode::Chat {
        return vec![format!("Esc {}", k::CLOSE.label), help(false)];
    }
    let of = |bindings: &[Binding]| bindings.iter().map(Binding::hint).collect::<Vec<_>>();
    let empty = model.composer.is_empty();
    // What the state calls for comes first, then the help, then the rest.
    let (first, then) = if model.editing.is_some() {
        (vec![format!("{} earlier", k::EDIT_EARLIER.keys)], vec![])
    } else if model.streaming_lane().is_some() {
        let cancel = if model.is_comparing() {
            of(&[k::CANCEL, k::LANE_CANCEL])
        } else {
            of(&[k::CANCEL])
        };
        (cancel, vec![])
    } else if model.lane.transcript.retryable().is_some() {
        (of(&[k::RETRY]), of(&[k::NEW_CONVERSATION]))
    } else if model.is_comparing() {
        (
            of(&[k::LANE_FOCUS]),
            of(&[k::LANE_ADD_CLOSE, k::NEW_CONVERSATION]),
        )
    } else if empty {
        (
            vec![],
            of(&[k::PROMPTS, k::CONVERSATIONS, k::NEW_CONVERSATION, k::MODELS]),
        )
    } else {
        (of(&[k::EDITOR]), of(&[k::PROMPTS]))
    };
    let mut out = first;
    out.push(help(empty && model.editing.is_none()));
    out.extend(then);
    out.push(k::QUIT.hint());
    out
}

/// The longest run of `hints`, in order, that fits in `columns`, as shown.
fn fitting_hints(hints: &[String], columns: usize) -> String {
    let mut shown = String::new();
    for hint in hints {
        let next = if shown.is_empty() {
            format!(" {hint} ")
        } else {
            format!("{shown}· {hint} ")
        };
        if text::width(&next) > columns {
            break;
        }
        shown = next;
    }
    shown
}

fn left_part(model: &Model) -> String {
    let session = &model.session;
    let lane = if model.is_comparing() {
        format!(
            " · lane {}/{}",
            model.compare.focus + 1,
            model.others.len() + 1
        )
    } else {
        String::new()
    };
    let mut left = format!(
        " {}{lane} · {}",
        session.provider,
        text::sanitize(&model.lane.model)
    );
    if let Some(label) = &session.provider_label {
        left.push_str(&format!(" ({label})"));
    }
    if let Some(active) = &model.lane.prompt {
        left.push_str(" · ");
        left.push_str(&text::sanitize(&active.provenance.as_reference()));
    }
    left.push(' ');
    left
}

/// The message in the middle, with its style.
fn message(model: &Model, theme: &Theme) -> (String, Style) {
    let now = model.now.unwrap_or_else(std::time::Instant::now);
    let refusal = model.refusal_text(now).map(|text| Status {
        tone: StatusTone::Warning,
        text,
    });
    match refusal.as_ref().or(model.status.as_ref()) {
        Some(status) => (
            format!(" {} ", text::sanitize(&status.text)),
            match status.tone {
                StatusTone::Info => theme.status_bar,
                StatusTone::Warning => theme.status_bar.patch(theme.warning),
                StatusTone::Error => theme.status_bar.patch(theme.error),
            },
        ),
        None if model.streaming_lane().is_some() => (" streaming… ".to_string(), theme.status_bar),
        None => (String::new(), theme.status_bar),
    }
}

/// Rows the status area needs at `width`: 1, or more when the message does not fit beside the
/// left part (key hints give way first).
pub fn height(model: &Model, theme: &Theme, width: u16) -> u16 {
    let (middle, _) = message(model, theme);
    let width = width as usize;
    let beside = text::width(&left_part(model));
    if text::width(&middle) + beside <= width || width == 0 {
        return 1;
    }
    let rows = text::width(middle.trim()).div_ceil(width.max(1)) as u16;
    1 + rows.clamp(1, MAX_MESSAGE_ROWS)
}

/// Draws the status area.
pub fn render(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let (middle, style) = message(model, theme);
    let (line_area, middle) = if area.height > 1 {
        let [message_area, line_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        frame.render_widget(
            Paragraph::new(Line::styled(middle.trim().to_string(), style))
                .style(style)
                .wrap(Wrap { trim: true }),
            message_area,
        );
        (line_area, String::new())
    } else {
        (area, middle)
    };
    let width = line_area.width as usize;
    let left = text::truncate(&left_part(model), width);
    let rest = width.saturating_sub(text::width(&left));
    let middle = text::truncate(&middle, rest);
    let rest = rest.saturating_sub(text::width(&middle));
    let right = fitting_hints(&hints(model), rest);
    let pad = rest.saturating_sub(text::width(&right));
    let line = Line::from(vec![
        Span::styled(left, theme.status_bar.patch(theme.strong)),
        Span::styled(middle, style),
        Span::styled(" ".repeat(pad), theme.status_bar),
        Span::styled(right, theme.status_bar),
    ]);
    // The spans fill the row; the bar's style under them covers any column they leave.
    frame.buffer_mut().set_style(line_area, theme.status_bar);
    super::draw_lines(&[line], frame, line_area);
}
