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
    for (y, line) in (area.y..area.bottom()).zip(lines) {
        buffer.set_line(area.x, y, line, area.width);
    }
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
