//! The model switcher (Alt-M): a box over the chat with the filter on top and the models
//! below, the highlighted one kept in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::model::Model;
use crate::model::switcher::{Catalog, ModelSwitcher, Origin};
use crate::text;

/// Rows of models shown at most (the box shrinks on short terminals).
const LIST_MAX_ROWS: u16 = 12;

/// Draws the switcher as a box centred over `area`.
pub fn render(
    model: &Model,
    switcher: &ModelSwitcher,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let choices = model.model_choices(&switcher.filter);
    // Borders, the filter, a blank line, the list (at least one row), the help line.
    let list_rows = (choices.len() as u16).clamp(1, LIST_MAX_ROWS);
    let height = (list_rows + 5).min(area.height);
    let width = area.width.saturating_sub(4).clamp(20, 72).min(area.width);
    let popup = super::centered(area, width, height);
    let title = format!(" model for the next message — now {} ", model.lane.model);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent)
        .title(Line::styled(
            text::truncate(&text::sanitize(&title), width.saturating_sub(2) as usize),
            theme.accent,
        ));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let room = inner.width as usize;

    let mut lines = Vec::new();
    let filter_room = room.saturating_sub(9);
    let filter = text::sanitize(&switcher.filter);
    // Show the end of a long filter: that is where typing happens.
    let shown: String = if text::width(&filter) > filter_room {
        let skip = filter
            .chars()
            .count()
            .saturating_sub(filter_room.saturating_sub(1));
        format!("…{}", filter.chars().skip(skip).collect::<String>())
    } else {
        filter
    };
    lines.push(Line::from(vec![
        Span::styled(" filter ", theme.muted),
        Span::raw(shown),
        Span::styled(" ", theme.normal.add_modifier(Modifier::REVERSED)),
    ]));
    let status = match &model.catalog {
        Catalog::NotLoaded | Catalog::Loading => {
            Some((theme.muted, "loading the endpoint's models…".to_string()))
        }
        Catalog::Failed(why) => Some((
            theme.warning,
            format!("the endpoint cannot list its models ({why}): type a name"),
        )),
        Catalog::Loaded(_) => None,
    };
    match status {
        Some((style, text_)) => lines.push(Line::styled(
            text::truncate(&format!(" {text_}"), room),
            style,
        )),
        None => lines.push(Line::default()),
    }

    let visible = list_rows as usize;
    let first = switcher
        .selected
        .saturating_sub(visible.saturating_sub(1))
        .min(choices.len().saturating_sub(visible));
    if choices.is_empty() {
        lines.push(Line::styled(" type a model name", theme.muted));
    }
    for (i, choice) in choices.iter().enumerate().skip(first).take(visible) {
        let selected = i == switcher.selected;
        let tag = match choice.origin {
            Origin::Typed => "use as typed".to_string(),
            other => other.tag().to_string(),
        };
        let name_room = room.saturating_sub(text::width(&tag) + 4);
        let name = text::truncate(&text::sanitize(&choice.model), name_room);
        let pad = name_room.saturating_sub(text::width(&name));
        let style = if selected {
            theme.accent.add_modifier(Modifier::REVERSED)
        } else {
            theme.normal
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {name}{} ", " ".repeat(pad)), style),
            Span::styled(format!(" {tag}"), theme.muted),
        ]));
    }
    let used = lines.len() as u16;
    let help_row = inner.height.saturating_sub(1);
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            height: help_row.min(used).min(inner.height),
            ..inner
        },
    );
    if inner.height > 1 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                text::truncate(
                    " type to filter · ↑↓ choose · Enter use · Tab compare · Esc close",
                    room,
                ),
                theme.muted,
            )),
            Rect {
                y: inner.y + help_row,
                height: 1,
                ..inner
            },
        );
    }
}
