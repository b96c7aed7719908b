//! The status line: provider and model on the left, the current state or message in the
//! middle, key hints on the right.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::model::{Model, Status, StatusTone};
use crate::text;

/// Draws the status line.
pub fn render(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let session = &model.session;
    let mut left = format!(" {} · {}", session.provider, text::sanitize(&session.model));
    if let Some(label) = &session.provider_label {
        left.push_str(&format!(" ({label})"));
    }
    if let Some(active) = &model.prompts.active {
        left.push_str(" · ");
        left.push_str(&text::sanitize(&active.provenance.as_reference()));
    }
    left.push(' ');
    let now = model.now.unwrap_or_else(std::time::Instant::now);
    let refusal = model.refusal_text(now).map(|text| Status {
        tone: StatusTone::Warning,
        text,
    });
    let (middle, style) = match refusal.as_ref().or(model.status.as_ref()) {
        Some(status) => (
            format!(" {} ", text::sanitize(&status.text)),
            match status.tone {
                StatusTone::Info => theme.status_bar,
                StatusTone::Warning => theme.status_bar.patch(theme.warning),
                StatusTone::Error => theme.status_bar.patch(theme.error),
            },
        ),
        None if model.active.is_some() => (" streaming… ".to_string(), theme.status_bar),
        None => (String::new(), theme.status_bar),
    };
    const HINTS: [&str; 3] = [
        " Ctrl-P prompts · Ctrl-T panel · Ctrl-C quit ",
        " Ctrl-P prompts · Ctrl-C quit ",
        " Ctrl-C quit ",
    ];
    let width = area.width as usize;
    let left = text::truncate(&left, width);
    let rest = width.saturating_sub(text::width(&left));
    let middle = text::truncate(&middle, rest);
    let rest = rest.saturating_sub(text::width(&middle));
    // The longest hint that fits.
    let right = HINTS
        .iter()
        .find(|h| text::width(h) <= rest)
        .copied()
        .unwrap_or("");
    let pad = rest.saturating_sub(text::width(right));
    let line = Line::from(vec![
        Span::styled(left, theme.status_bar.patch(theme.strong)),
        Span::styled(middle, style),
        Span::styled(" ".repeat(pad), theme.status_bar),
        Span::styled(right, theme.status_bar),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
}
