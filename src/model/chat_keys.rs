//! The chat's daily-driver keys: a shell's habits in the composer, the history of sent
//! messages, a new conversation, the external editor.
//!
//! - **↑ / ↓ in an empty composer** recall the messages sent this session, older / newer, as
//!   a shell's history does; in a recalled message of several lines they move the cursor
//!   first, and go to the next message from the first (↑) or last (↓) line. ↓ past the
//!   newest gives the empty composer back.
//! - **Ctrl-U / Ctrl-K / Ctrl-W / Ctrl-A / Ctrl-E** behave as in zsh over a multi-line
//!   buffer: Ctrl-U deletes to the start of the line and, at its start, the newline before
//!   (joining the line above); Ctrl-K deletes to the end of the line and, at its end, joins
//!   the next line; Ctrl-W deletes the blanks before the cursor and the word before them,
//!   line breaks counting as blanks (`unix-word-rubout`); Ctrl-A / Ctrl-E go to the start /
//!   end of the line, and from there to the start of the line above / end of the line below.
//! - **Ctrl-N** starts a new conversation (every lane of a compare, with a new compare id);
//!   refused while a reply streams. The previous conversation is in the database (Ctrl-O).
//! - **Alt-V** hands the message to `$VISUAL` / `$EDITOR` ([`Effect::EditInEditor`]).

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, DataCursor};

use super::{Effect, Entry, Model, StatusTone, Transcript, fresh_composer};

/// The messages sent this session, and where ↑/↓ are among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recall {
    /// Oldest first; a message sent twice in a row is kept once.
    sent: Vec<String>,
    /// The index shown in the composer, while browsing.
    at: Option<usize>,
}

impl Recall {
    /// Remembers a sent message.
    pub fn push(&mut self, text: String) {
        if self.sent.last() != Some(&text) {
            self.sent.push(text);
        }
        self.at = None;
    }
}

impl Model {
    /// The chat's keys handled here; `None` for the others.
    pub(super) fn chat_key(&mut self, key: KeyEvent, now: Instant) -> Option<Vec<Effect>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if self.editing.is_some()
            && let Some(effects) = self.editing_key(key, now)
        {
            return Some(effects);
        }
        let effects = match key.code {
            KeyCode::Char('n') if ctrl => self.new_conversation(),
            KeyCode::Char('v') if alt => vec![Effect::EditInEditor {
                text: self.composer_text(),
            }],
            KeyCode::Char('e') if alt => {
                self.edit_earlier(now);
                Vec::new()
            }
            KeyCode::Up if !ctrl && !alt => return self.recall_step(Direction::Older, now),
            KeyCode::Down if !ctrl && !alt => return self.recall_step(Direction::Newer, now),
            KeyCode::Char('u') if ctrl => {
                // At the start of a line the widget deletes the newline before it.
                self.edited(|c| c.delete_line_by_head(), now);
                Vec::new()
            }
            KeyCode::Char('k') if ctrl => {
                // At the end of a line the widget deletes the newline after it.
                self.edited(|c| c.delete_line_by_end(), now);
                Vec::new()
            }
            KeyCode::Char('w') if ctrl => {
                self.edited(unix_word_rubout, now);
                Vec::new()
            }
            KeyCode::Char('a') if ctrl => {
                let DataCursor(row, col) = self.composer.cursor();
                if col == 0 && row > 0 {
                    self.composer.move_cursor(jump(row - 1, 0));
                } else {
                    self.composer.move_cursor(CursorMove::Head);
                }
                Vec::new()
            }
            KeyCode::Char('e') if ctrl => {
                let DataCursor(row, col) = self.composer.cursor();
                let lines = self.composer.lines();
                let at_end = lines.get(row).is_some_and(|l| col >= l.chars().count());
                if at_end && row + 1 < lines.len() {
                    let end = lines[row + 1].chars().count();
                    self.composer.move_cursor(jump(row + 1, end));
                } else {
                    self.composer.move_cursor(CursorMove::End);
                }
                Vec::new()
            }
            _ => return None,
        };
        Some(effects)
    }

    /// Applies an edit to the composer, noting the change when there was one.
    fn edited(
        &mut self,
        edit: impl FnOnce(&mut ratatui_textarea::TextArea<'static>) -> bool,
        now: Instant,
    ) {
        if edit(&mut self.composer) {
            self.composer_changed(now);
        }
    }

    /// Replaces the composer's text, the cursor at its end.
    pub(super) fn set_composer_text(&mut self, text: &str, now: Instant) {
        self.composer = fresh_composer(&self.composer);
        self.composer.insert_str(text);
        self.composer_changed(now);
    }

    /// Remembers a message as sent, for ↑.
    pub(super) fn remember_sent(&mut self, text: &str) {
        self.recall.push(text.to_string());
    }

    /// ↑ / ↓: the next message of the history, when the composer is empty or shows one
    /// recalled unchanged and the cursor is on its first (↑) or last (↓) line; `None`
    /// lets the widget move the cursor.
    fn recall_step(&mut self, direction: Direction, now: Instant) -> Option<Vec<Effect>> {
        let text = self.composer_text();
        let DataCursor(row, _) = self.composer.cursor();
        let last_row = self.composer.lines().len().saturating_sub(1);
        let browsing = self
            .recall
            .at
            .filter(|i| self.recall.sent.get(*i) == Some(&text));
        let next = match (browsing, direction) {
            (None, Direction::Older) if text.is_empty() => self.recall.sent.len().checked_sub(1),
            (None, _) => return None,
            (Some(_), Direction::Older) if row > 0 => return None,
            (Some(_), Direction::Newer) if row < last_row => return None,
            (Some(i), Direction::Older) => Some(i.saturating_sub(1)),
            (Some(i), Direction::Newer) => Some(i + 1).filter(|n| *n < self.recall.sent.len()),
        };
        match next {
            Some(i) => {
                let recalled = self.recall.sent[i].clone();
                self.set_composer_text(&recalled, now);
                self.recall.at = Some(i);
            }
            None if browsing.is_some() => {
                self.set_composer_text("", now);
                self.recall.at = None;
            }
            None => {}
        }
        Some(Vec::new())
    }

    /// Ctrl-N: every lane starts a new conversation with the same prompt, model and
    /// variables; the old one stays in the database.
    fn new_conversation(&mut self) -> Vec<Effect> {
        if let Some(n) = self.streaming_lane() {
            let what = if self.is_comparing() {
                format!("lane {n} is streaming")
            } else {
                "a reply is streaming".to_string()
            };
            self.set_status(
                StatusTone::Warning,
                format!("{what} — wait, or Esc cancels it, before a new conversation"),
            );
            return Vec::new();
        }
        if self.admission.pending.is_some() {
            self.set_status(
                StatusTone::Warning,
                "a message is waiting for the rate limit — Esc takes it back first",
            );
            return Vec::new();
        }
        let had = self.lanes().iter().any(|l| {
            l.conversation.is_some()
                || l.transcript
                    .entries()
                    .any(|e| matches!(e, Entry::User { .. }))
        });
        // A new transcript is a new view, at the bottom.
        for lane in self.lanes_mut() {
            lane.transcript = Transcript::default();
            lane.conversation = None;
            lane.selected_reply = None;
        }
        self.editing = None;
        self.branching = None;
        if self.is_comparing() {
            self.new_compare_run();
        }
        let text = match (had, self.is_comparing()) {
            (false, _) => "new conversation".to_string(),
            (true, false) => "new conversation — the previous one is in Ctrl-O".to_string(),
            (true, true) => format!(
                "new conversation in all {} lanes — the previous ones are in Ctrl-O",
                self.lanes().len()
            ),
        };
        self.set_status(StatusTone::Info, text);
        Vec::new()
    }

    /// The editor exited: its text replaces the message, or the message stays as it was.
    pub(super) fn on_editor_closed(&mut self, result: Result<String, String>, now: Instant) {
        match result {
            Ok(text) => {
                // Editors end a file with a newline; a message does not.
                let text = crate::text::sanitize(text.trim_end_matches(['\n', '\r']));
                if text != self.composer_text() {
                    self.set_composer_text(&text, now);
                }
                self.status = None;
            }
            Err(why) => self.set_status(
                StatusTone::Error,
                format!(
                    "the editor failed: {} — the message is as it was",
                    crate::text::sanitize(&why)
                ),
            ),
        }
    }
}

/// Which way ↑/↓ go through the sent messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Older,
    Newer,
}

fn jump(row: usize, col: usize) -> CursorMove {
    CursorMove::Jump(
        u16::try_from(row).unwrap_or(u16::MAX),
        u16::try_from(col).unwrap_or(u16::MAX),
    )
}

/// Deletes the blanks before the cursor (line breaks included) and the word before them.
fn unix_word_rubout(composer: &mut ratatui_textarea::TextArea<'static>) -> bool {
    let DataCursor(row, col) = composer.cursor();
    let lines = composer.lines();
    // The text before the cursor, walked backwards.
    let mut before: Vec<char> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(row + 1) {
        if i > 0 {
            before.push('\n');
        }
        if i == row {
            before.extend(line.chars().take(col));
        } else {
            before.extend(line.chars());
        }
    }
    let mut start = before.len();
    while start > 0 && before[start - 1].is_whitespace() {
        start -= 1;
    }
    while start > 0 && !before[start - 1].is_whitespace() {
        start -= 1;
    }
    let count = before.len() - start;
    if count == 0 {
        return false;
    }
    let start_row = before[..start].iter().filter(|c| **c == '\n').count();
    let start_col = before[..start]
        .iter()
        .rev()
        .take_while(|c| **c != '\n')
        .count();
    composer.move_cursor(jump(start_row, start_col));
    composer.delete_str(count)
}

#[cfg(test)]
#[path = "chat_keys_tests.rs"]
pub(super) mod tests;
