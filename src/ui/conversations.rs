//! Earlier conversations (Ctrl-O): pick one to reopen with its prompt version.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

use super::theme::Theme;
use crate::model::history::ConversationList;
use crate::model::prompt::Loadable;
use crate::store::report::format_utc_ms;
use crate::text;

/// Draws the list into `area`.
pub fn render(list: &ConversationList, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let [help_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            text::truncate(
                " Conversations · ↑↓ choose · Enter reopen · Esc close",
                area.width as usize,
            ),
            theme.muted,
        )),
        help_area,
    );
    let rows = match &list.rows {
        Loadable::Ready(rows) if rows.is_empty() => {
            frame.render_widget(
                Paragraph::new(Line::styled(" no conversations yet", theme.muted)),
                body,
            );
            return;
        }
        Loadable::Ready(rows) => rows,
        Loadable::Loading => {
            frame.render_widget(Paragraph::new(Line::styled(" reading…", theme.muted)), body);
            return;
        }
        Loadable::Failed(e) => {
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" {e}"), theme.error)),
                body,
            );
            return;
        }
    };
    let header = Row::new(
        ["id", "last active (UTC)", "title", "model", "prompt"]
            .map(|h| Cell::from(h).style(theme.heading)),
    );
    let table_rows = rows.iter().map(|c| {
        Row::new(vec![
            Cell::from(c.id.0.to_string()),
            Cell::from(format_utc_ms(c.updated_at_ms)),
            Cell::from(text::sanitize(c.title.as_deref().unwrap_or("(untitled)"))),
            Cell::from(text::sanitize(&c.model)),
            Cell::from(
                c.prompt
                    .as_ref()
                    .map_or("-".to_string(), |p| text::sanitize(&p.reference())),
            ),
        ])
    });
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(5),
            Constraint::Length(19),
            Constraint::Fill(3),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ],
    )
    .header(header)
    .block(
        Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border),
    )
    .row_highlight_style(theme.accent.add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(list.selected));
    frame.render_stateful_widget(table, body, &mut state);
}
