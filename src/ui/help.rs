//! The key help over the screen (`?`, F1): the keys of the pane it was opened over, from
//! [`crate::keys`], in a box as large as the screen allows, descriptions wrapped beside
//! their keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use super::view::Scroller;
use crate::keys;
use crate::model::help::HelpOverlay;

/// Widest the box gets, in columns.
const MAX_WIDTH_COLUMNS: u16 = 100;

/// Draws the help over `area`.
pub fn render(
    help: &HelpOverlay,
    scroll: &mut Scroller,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    // Over everything but the status line; narrow screens give it every column, wide ones
    // a margin.
    let area = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    let width = if area.width <= MAX_WIDTH_COLUMNS {
        area.width
    } else {
        area.width.saturating_sub(4).min(MAX_WIDTH_COLUMNS)
    };
    let popup = super::centered(area, width, area.height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent)
        .title(Line::styled(" keys ", theme.heading))
        .title(Line::styled(" Esc close · ↑↓ scroll ", theme.muted).right_aligned());
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let lines = lines(help.pane, inner.width as usize, theme);
    let top = scroll.settle(lines.len(), usize::from(inner.height), |_| None);
    let visible: Vec<Line<'static>> = lines.into_iter().skip(top).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// Every row of the help at `width`: a title per section, then each key with its
/// description wrapped in the column beside it.
fn lines(pane: keys::Pane, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let sections = keys::sections_for(pane);
    let key_columns = sections
        .iter()
        .flat_map(|s| s.bindings)
        .map(|b| crate::text::width(b.keys))
        .max()
        .unwrap_or(0)
        .min(width / 3);
    let does_columns = width.saturating_sub(key_columns + 4).max(10);
    let mut out = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push(Line::default());
        }
        out.push(Line::styled(format!(" {}", section.title), theme.heading));
        for binding in section.bindings {
            let keys = crate::text::truncate(binding.keys, key_columns);
            let pad = " ".repeat(key_columns.saturating_sub(crate::text::width(&keys)));
            for (n, row) in wrap(binding.does, does_columns).into_iter().enumerate() {
                let left = if n == 0 {
                    format!(" {keys}{pad}  ")
                } else {
                    " ".repeat(key_columns + 3)
                };
                out.push(Line::from(vec![
                    Span::styled(left, theme.accent),
                    Span::raw(row),
                ]));
            }
        }
    }
    out
}

/// `text` in rows of at most `columns`, broken at spaces (a longer word is cut).
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut rows = vec![String::new()];
    for word in text.split(' ') {
        let Some(row) = rows.last_mut() else { break };
        let fits = crate::text::width(row) + 1 + crate::text::width(word) <= columns;
        if row.is_empty() {
            row.push_str(&crate::text::truncate(word, columns));
        } else if fits {
            row.push(' ');
            row.push_str(word);
        } else {
            rows.push(crate::text::truncate(word, columns));
        }
    }
    rows
}
