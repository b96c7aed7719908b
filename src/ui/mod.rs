//! Rendering: a pure function from the model to a frame.
//!
//! One file per pane. [`render`] splits the screen and asks each pane to draw itself; panes
//! read the model and never change it. What the screen keeps between frames (each
//! transcript's layout, where each view is scrolled) is the [`View`]'s, owned by the app
//! beside the model.

pub mod compare;
pub mod composer;
pub mod conversations;
pub mod help;
pub mod inspector;
pub mod layout;
pub mod models;
pub mod picker;
pub mod stats;
pub mod status;
pub mod theme;
pub mod transcript;
pub mod variables;
pub mod view;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::model::{Mode, Model, PanelVisibility};
use theme::Theme;
pub use view::View;

/// Below this size the panes cannot be drawn usefully; a short notice is shown instead.
pub const MIN_WIDTH_COLUMNS: u16 = 20;
/// See [`MIN_WIDTH_COLUMNS`].
pub const MIN_HEIGHT_ROWS: u16 = 6;

/// Most rows the composer grows to before it scrolls.
pub const COMPOSER_MAX_TEXT_ROWS: u16 = 8;

/// Draws the whole screen, and the key help over it when open.
pub fn render(model: &Model, theme: &Theme, view: &mut View, frame: &mut Frame<'_>) {
    render_screen(model, theme, view, frame);
    let area = frame.area();
    if let Some(overlay) = &model.help
        && area.width >= MIN_WIDTH_COLUMNS
        && area.height >= MIN_HEIGHT_ROWS
    {
        help::render(overlay, &mut view.help, theme, frame, area);
    }
    view.forget_gone(model);
}

/// Draws the panes of the screen.
fn render_screen(model: &Model, theme: &Theme, view: &mut View, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < MIN_WIDTH_COLUMNS || area.height < MIN_HEIGHT_ROWS {
        let notice = Paragraph::new(Line::styled(
            format!(
                "promptdeck needs at least {MIN_WIDTH_COLUMNS}x{MIN_HEIGHT_ROWS}; enlarge the terminal"
            ),
            theme.warning,
        ))
        .wrap(Wrap { trim: true });
        frame.render_widget(notice, area);
        return;
    }
    let composer_rows = composer::height(model, area.height);
    let status_rows = status::height(model, theme, area.width);
    let [main_area, status_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(status_rows)]).areas(area);
    status::render(model, theme, frame, status_area);
    match &model.mode {
        Mode::Picker(picker) => {
            picker::render(model, picker, theme, frame, main_area);
            return;
        }
        Mode::Inspector(inspector) => {
            inspector::render(inspector, &mut view.detail, theme, frame, main_area);
            return;
        }
        Mode::Conversations(list) => {
            conversations::render(list, theme, frame, main_area);
            return;
        }
        Mode::Chat | Mode::Variables(_) | Mode::Models(_) => {}
    }
    if model.is_comparing() {
        // Each lane's footer carries its numbers: no panel beside the lanes.
        let [lanes_area, composer_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(composer_rows)])
                .areas(main_area);
        compare::render(model, theme, view, frame, lanes_area);
        composer::render(model, theme, frame, composer_area);
        draw_popups(model, theme, frame, main_area);
        return;
    }
    let show_panel = model.panel.shown_at(area.width);
    let chat_area = if show_panel {
        let [chat, panel] = Layout::horizontal([
            Constraint::Min(1),
            Constraint::Length(stats::PANEL_WIDTH_COLUMNS),
        ])
        .areas(main_area);
        stats::render(model, theme, frame, panel);
        chat
    } else {
        main_area
    };
    // Without the panel (a narrow terminal, or Ctrl-T), one row keeps its numbers in sight.
    let strip_rows = u16::from(!show_panel && model.panel != PanelVisibility::Hidden);
    let [transcript_area, strip_area, composer_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(strip_rows),
        Constraint::Length(composer_rows),
    ])
    .areas(chat_area);
    transcript::render(model, theme, view, frame, transcript_area);
    if strip_rows > 0 {
        stats::render_strip(model, theme, frame, strip_area);
    }
    composer::render(model, theme, frame, composer_area);
    draw_popups(model, theme, frame, main_area);
}

/// The popups over the chat: the variables form and the model switcher.
fn draw_popups(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    if let Mode::Variables(form) = &model.mode {
        variables::render(model, form, theme, frame, area);
    }
    if let Mode::Models(switcher) = &model.mode {
        models::render(model, switcher, theme, frame, area);
    }
}

/// Lines that fit their row already (wrapped or cut to `area`'s width), one a row from the
/// top of `area`, straight into the buffer: a `Paragraph` would style the whole area and walk
/// every line's graphemes once more to cut it, on every frame.
pub fn draw_lines(lines: &[Line<'_>], frame: &mut Frame<'_>, area: Rect) {
    let buffer = frame.buffer_mut();
    let area = area.intersection(buffer.area);
    for (y, line) in (area.y..area.bottom()).zip(lines) {
        let mut x = area.x;
        for span in line {
            let room = area.right().saturating_sub(x);
            if room == 0 {
                break;
            }
            let style = line.style.patch(span.style);
            x = if span.content.is_ascii() {
                draw_ascii(buffer, x, y, &span.content, room, style)
            } else {
                buffer
                    .set_stringn(x, y, &span.content, usize::from(room), style)
                    .0
            };
        }
    }
}

/// Writes ASCII text at (`x`, `y`), at most `room` cells, and returns the column after it:
/// what `Buffer::set_stringn` does, without splitting the text into graphemes and measuring
/// each. Most streamed text is ASCII, and the split was a tenth of a frame's cost. Control
/// characters are skipped, as `set_stringn` skips them.
fn draw_ascii(
    buffer: &mut ratatui::buffer::Buffer,
    mut x: u16,
    y: u16,
    text: &str,
    room: u16,
    style: ratatui::style::Style,
) -> u16 {
    let end = x.saturating_add(room);
    for ch in text.chars().filter(|c| !c.is_ascii_control()) {
        if x >= end {
            break;
        }
        if let Some(cell) = buffer.cell_mut((x, y)) {
            cell.set_char(ch).set_style(style);
        }
        x += 1;
    }
    x
}

/// A `width` x `height` box centred in `area`: where the popups (variables form, model
/// switcher) are drawn.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    use ratatui::layout::Flex;
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    popup
}

/// The one-line key help at the top of a full-screen pane (picker, inspector, list).
pub fn help_line(help: &str, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    frame.render_widget(
        Paragraph::new(Line::styled(
            crate::text::truncate(help, area.width as usize),
            theme.muted,
        )),
        area,
    );
}

/// A table with a header and one highlighted row: the shared look of the inspector and the
/// conversation list.
pub fn selectable_table<'a>(
    header: &[&'a str],
    rows: impl IntoIterator<Item = ratatui::widgets::Row<'a>>,
    widths: &[Constraint],
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    use ratatui::style::Modifier;
    use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};
    let header = Row::new(
        header
            .iter()
            .map(|h| Cell::from(*h).style(theme.heading))
            .collect::<Vec<_>>(),
    );
    let table = Table::new(rows, widths.to_vec())
        .header(header)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(theme.border),
        )
        .row_highlight_style(theme.accent.add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::style::{Color, Style};
    use ratatui::text::Span;

    use super::*;

    /// What ratatui's own `set_line` draws for `lines` in `area` of a `width` x 4 screen.
    fn drawn_by_ratatui(lines: &[Line<'_>], area: Rect, width: u16) -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, width, 4));
        let area = area.intersection(buffer.area);
        for (y, line) in (area.y..area.bottom()).zip(lines) {
            buffer.set_line(area.x, y, line, area.width);
        }
        buffer
    }

    fn drawn_by_draw_lines(lines: &[Line<'_>], area: Rect, width: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, 4)).expect("test backend");
        let frame = terminal.draw(|f| draw_lines(lines, f, area)).expect("draw");
        frame.buffer.clone()
    }

    #[test]
    fn ascii_rows_are_cut_at_the_area_and_keep_their_styles() {
        let lines = vec![
            Line::from(vec![
                Span::styled("plain ", Style::new().fg(Color::Red)),
                Span::styled(
                    "text\tthat runs past the edge",
                    Style::new().fg(Color::Blue),
                ),
            ]),
            Line::from("héllo wide 漢字 and emoji 🎉 past the edge")
                .style(Style::new().bg(Color::Black)),
        ];
        let area = Rect::new(2, 1, 14, 3);
        let ours = drawn_by_draw_lines(&lines, area, 20);
        assert_eq!(ours, drawn_by_ratatui(&lines, area, 20));
        // A tab is a control character: skipped, as ratatui skips it.
        assert_eq!(ours[(8, 1)].symbol(), "t");
        assert_eq!(ours[(12, 1)].symbol(), "t");
        assert_eq!(ours[(13, 1)].symbol(), "h");
        assert_eq!(ours[(16, 1)].symbol(), " ");
    }

    proptest! {
        /// The ASCII shortcut draws exactly what ratatui's grapheme walk draws, for any mix of
        /// ASCII, control characters, combining marks, wide characters and emoji.
        #[test]
        fn draw_lines_draws_what_set_line_draws(
            spans in proptest::collection::vec(
                "[a-z \\t\\x1b\\x7f]{0,12}|[a-zé\u{301}漢🎉 ]{0,8}", 0..5),
            x in 0u16..12,
            width in 0u16..14,
        ) {
            let line = Line::from(
                spans.iter().enumerate().map(|(i, s)| {
                    Span::styled(s.clone(), Style::new().fg(Color::Indexed(i as u8)))
                }).collect::<Vec<_>>(),
            );
            let lines = [line.clone(), line];
            let area = Rect::new(x, 1, width, 2);
            prop_assert_eq!(
                drawn_by_draw_lines(&lines, area, 16),
                drawn_by_ratatui(&lines, area, 16)
            );
        }
    }
}
