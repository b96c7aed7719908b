//! The composer pane: the multi-line message editor (ratatui-textarea) with its frame.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

use super::COMPOSER_MAX_TEXT_ROWS;
use super::theme::Theme;
use crate::model::Model;

/// Rows the composer takes: its text (1 to [`COMPOSER_MAX_TEXT_ROWS`]) plus the top border,
/// never more than a third of the screen.
pub fn height(model: &Model, screen_rows: u16) -> u16 {
    let text_rows = (model.composer.lines().len().min(u16::MAX as usize) as u16)
        .clamp(1, COMPOSER_MAX_TEXT_ROWS)
        .min((screen_rows / 3).max(1));
    text_rows + 1
}

/// Draws the composer.
pub fn render(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let lanes = model.lanes().len();
    let times = match model.compare.repeat {
        1 => String::new(),
        n => format!(" ×{n}"),
    };
    let hint = if model.is_comparing() && model.streaming_lane().is_some() {
        " Esc cancel all · Alt-X this lane ".to_string()
    } else if model.is_comparing() {
        format!(" Enter sends{times} to {lanes} lanes · Ctrl-J newline ")
    } else if model.lane.is_streaming() && !model.lane.runs.is_empty() {
        " Esc cancel all runs ".to_string()
    } else if model.compare.repeat > 1 && !model.lane.is_streaming() {
        format!(" Enter sends{times} · Alt-R repeat · Ctrl-J newline ")
    } else if model.lane.active.is_some() {
        " Esc cancel ".to_string()
    } else if model.lane.transcript.retryable().is_some() {
        " Ctrl-R retry · Enter send · Ctrl-J newline ".to_string()
    } else {
        " Enter send · Ctrl-J newline ".to_string()
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border);
    // Editing an earlier message: what Enter will do matters more than the usual hint.
    let block = match &model.editing {
        Some(editing) => block.title(Line::styled(
            crate::text::truncate(
                &format!(
                    " editing message {} — Enter re-sends from there as a branch, Esc cancels ",
                    editing.number()
                ),
                area.width as usize,
            ),
            theme.accent,
        )),
        None => block
            .title(Line::styled(" message ", theme.muted))
            .title(Line::styled(hint, theme.muted).right_aligned()),
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(&model.composer, inner);
}
