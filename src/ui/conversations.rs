//! Earlier conversations (Ctrl-O): type to search them (titles and messages, SQLite FTS5),
//! pick one to reopen with its prompt version. A branch (an earlier message edited and
//! re-sent) names the conversation and message it came from; a search shows where each
//! conversation matched, the matched words highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use super::theme::Theme;
use crate::model::history::ConversationList;
use crate::model::prompt::Loadable;
use crate::records::{ListedConversation, MATCH_END, MATCH_START};
use crate::store::report::format_utc_ms;
use crate::text;

/// Draws the list into `area`.
pub fn render(list: &ConversationList, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let [help_area, search_area, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    super::help_line(
        " Conversations · type to search · ↑↓ choose · Enter reopen · Esc close · F1 keys",
        theme,
        frame,
        help_area,
    );
    let searching = if list.is_waiting() {
        "  searching…"
    } else {
        ""
    };
    let search = Line::from(vec![
        Span::styled(" search: ", theme.muted),
        Span::styled(text::sanitize(&list.filter), theme.strong),
        Span::styled("▏", theme.accent),
        Span::styled(searching, theme.muted),
    ]);
    frame.render_widget(Paragraph::new(search), search_area);
    let rows = match &list.rows {
        Loadable::Ready(rows) if rows.is_empty() => {
            let none = if list.filter.trim().is_empty() {
                " no conversations yet"
            } else {
                " no conversation matches"
            };
            frame.render_widget(Paragraph::new(Line::styled(none, theme.muted)), body);
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
    let table_rows = rows.iter().map(|c| row(c, theme));
    super::selectable_table(
        &["id", "active (UTC)", "title", "model", "prompt"],
        table_rows,
        &[
            Constraint::Length(5),
            // To the minute: the seconds are cut.
            Constraint::Length(16),
            Constraint::Fill(5),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ],
        list.selected,
        theme,
        frame,
        body,
    );
}

/// One conversation: a second line for a branch's origin and where a search matched.
fn row<'a>(c: &ListedConversation, theme: &Theme) -> Row<'a> {
    let r = &c.row;
    let title = Line::raw(text::sanitize(r.title.as_deref().unwrap_or("(untitled)")));
    let mut title_lines = vec![title];
    let mut second = vec![Span::raw("  ")];
    if let Some((parent, message)) = c.branch_of {
        second.push(Span::styled(
            format!("↳ branch of #{} at message {message}", parent.0),
            theme.accent,
        ));
    }
    if let Some(snippet) = &c.snippet {
        if second.len() > 1 {
            second.push(Span::styled(" · ", theme.muted));
        }
        second.extend(highlighted(snippet, theme.muted, theme.strong));
    }
    if second.len() > 1 {
        title_lines.push(Line::from(second));
    }
    let height = title_lines.len() as u16;
    Row::new(vec![
        Cell::from(r.id.0.to_string()),
        Cell::from(format_utc_ms(r.updated_at_ms)),
        Cell::from(ratatui::text::Text::from(title_lines)),
        Cell::from(text::sanitize(&r.model)),
        Cell::from(
            r.prompt
                .as_ref()
                .map_or("-".to_string(), |p| text::sanitize(&p.reference())),
        ),
    ])
    .height(height)
}

/// A search excerpt on one line, the matched words in `hit`.
fn highlighted<'a>(snippet: &str, plain: Style, hit: Style) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut inside = false;
    let mut piece = String::new();
    let flush = |piece: &mut String, inside: bool, spans: &mut Vec<Span<'a>>| {
        if !piece.is_empty() {
            let clean = text::sanitize(&piece.replace(['\n', '\r', '\t'], " "));
            spans.push(Span::styled(clean, if inside { hit } else { plain }));
            piece.clear();
        }
    };
    for ch in snippet.chars() {
        match ch {
            MATCH_START => {
                flush(&mut piece, inside, &mut spans);
                inside = true;
            }
            MATCH_END => {
                flush(&mut piece, inside, &mut spans);
                inside = false;
            }
            other => piece.push(other),
        }
    }
    flush(&mut piece, inside, &mut spans);
    spans
}
