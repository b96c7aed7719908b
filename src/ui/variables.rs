//! The variables form (Ctrl-G): one line per `{{name}}` of the active prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::model::Model;
use crate::model::prompt::VariablesForm;
use crate::text;

/// Draws the form as a box over the chat.
pub fn render(
    model: &Model,
    form: &VariablesForm,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let height = (form.names.len() as u16 + 4).min(area.height);
    let width = area.width.saturating_sub(4).clamp(20, 90);
    let popup = super::centered(area, width, height);
    let title = match &model.lane.prompt {
        Some(a) => format!(" variables of {} ", a.provenance.name),
        None => " variables ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent)
        .title(Line::styled(title, theme.accent));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    // `{{name}}` and two spaces before the value.
    let label_width = form.names.iter().map(|n| text::width(n)).max().unwrap_or(0) + 6;
    let mut lines = Vec::new();
    for (i, name) in form.names.iter().enumerate() {
        let value = model.lane.vars.get(name).map(String::as_str).unwrap_or("");
        let selected = i == form.selected;
        let label = format!("{:<label_width$}", format!("{{{{{name}}}}}"));
        let shown = text::sanitize(value);
        let room = (inner.width as usize).saturating_sub(label_width + 1);
        // Show the end of long values: that is where typing happens.
        let shown: String = if text::width(&shown) > room {
            let skip = shown.chars().count().saturating_sub(room.saturating_sub(1));
            format!("…{}", shown.chars().skip(skip).collect::<String>())
        } else {
            shown
        };
        let mut spans = vec![Span::styled(
            label,
            if selected { theme.accent } else { theme.muted },
        )];
        if value.is_empty() && !selected {
            spans.push(Span::styled("(empty — required)", theme.warning));
        } else {
            spans.push(Span::raw(shown));
        }
        if selected {
            spans.push(Span::styled(
                " ",
                theme.normal.add_modifier(Modifier::REVERSED),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "↑↓/Tab move · type to edit · Ctrl-U clear · Enter/Esc done",
        theme.muted,
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}
