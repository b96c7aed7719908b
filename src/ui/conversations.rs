//! Earlier conversations (Ctrl-O): pick one to reopen with its prompt version.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

use super::theme::Theme;
use crate::model::history::ConversationList;
use crate::model::prompt::Loadable;
use crate::store::report::format_utc_ms;
use crate::text;

/// Draws the list into `area`.
pub fn render(list: &ConversationList, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let [help_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    super::help_line(
        " Conversations · ↑↓ choose · Enter reopen · Esc close",
        theme,
        frame,
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
    super::selectable_table(
        &["id", "last active (UTC)", "title", "model", "prompt"],
        table_rows,
        &[
            Constraint::Length(5),
            Constraint::Length(19),
            Constraint::Fill(3),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ],
        list.selected,
        theme,
        frame,
        body,
    );
}
