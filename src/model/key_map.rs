//! What a key does on the chat screen: the screens that own the keyboard first (picker, forms,
//! lists), then the compare and shell-editing keys, then the chat's own; what is left is
//! typing in the composer.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Effect, Mode, Model, PanelVisibility, ScrollTo, Step};

impl Model {
    /// One key press.
    pub(super) fn on_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.quit(now);
        }
        if self.hold_key(key) {
            return Vec::new();
        }
        self.apply_key(key, now)
    }

    /// Applies a key now (it was not held, or its pane has what it needs).
    pub(super) fn apply_key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        if let Some(effects) = self.global_key(key) {
            return effects;
        }
        match self.mode {
            Mode::Picker(_) => return self.picker_key(key),
            Mode::Variables(_) => return self.variables_key(key),
            Mode::Inspector(_) => return self.inspector_key(key),
            Mode::Conversations(_) => return self.conversations_key(key),
            Mode::Models(_) => return self.switcher_key(key),
            Mode::Chat => {}
        }
        if let Some(effects) = self.compare_key(key, now) {
            return effects;
        }
        if let Some(effects) = self.chat_key(key, now) {
            return effects;
        }
        match key.code {
            KeyCode::Char('p') if ctrl => self.open_picker(),
            KeyCode::Char('o') if ctrl => self.open_conversations(),
            KeyCode::Char('r') if ctrl => self.retry(now),
            KeyCode::Char('m') if alt => self.open_switcher(),
            KeyCode::Char('y') if alt => self.copy(),
            KeyCode::Char('k') if alt => {
                self.next_code_block();
                Vec::new()
            }
            // Ctrl-Z undoes (Ctrl-U and the other shell keys: `chat_keys`).
            KeyCode::Char('z') if ctrl => {
                if self.composer.undo() {
                    self.composer_changed(now);
                }
                Vec::new()
            }
            KeyCode::Char('g') if ctrl => {
                self.open_variables();
                Vec::new()
            }
            KeyCode::Char('d') if ctrl && self.composer.is_empty() => self.quit(now),
            KeyCode::Enter if alt || shift => {
                self.composer.insert_newline();
                self.composer_changed(now);
                Vec::new()
            }
            KeyCode::Char('t') if ctrl => {
                let drawn = !self.is_comparing() && self.panel.shown_at(self.screen.0);
                self.panel = if drawn {
                    PanelVisibility::Hidden
                } else {
                    PanelVisibility::Shown
                };
                Vec::new()
            }
            KeyCode::Up if alt => {
                let from = self.lane.selected_reply;
                let earlier = match from {
                    None => self
                        .lane
                        .transcript
                        .neighbour_reply(None, Step::Later)
                        .and_then(|last| {
                            self.lane
                                .transcript
                                .neighbour_reply(Some(last), Step::Earlier)
                        }),
                    Some(_) => self.lane.transcript.neighbour_reply(from, Step::Earlier),
                };
                match earlier {
                    Some(id) => {
                        self.lane.selected_reply = Some(id);
                        vec![self.lane.scroll(ScrollTo::Reply(id))]
                    }
                    None => Vec::new(),
                }
            }
            KeyCode::Down if alt => {
                let later = self
                    .lane
                    .transcript
                    .neighbour_reply(self.lane.selected_reply, Step::Later);
                // Past the newest: follow the latest again.
                self.lane.selected_reply = later.filter(|id| {
                    self.lane
                        .transcript
                        .neighbour_reply(Some(*id), Step::Later)
                        .is_some()
                });
                vec![self.lane.scroll(match self.lane.selected_reply {
                    Some(id) => ScrollTo::Reply(id),
                    None => ScrollTo::Bottom,
                })]
            }
            KeyCode::Char('j') if ctrl => {
                self.composer.insert_newline();
                self.composer_changed(now);
                Vec::new()
            }
            KeyCode::Enter => self.send(now),
            KeyCode::Esc => self.cancel(now),
            KeyCode::PageUp => self.scroll_lanes(ScrollTo::Pages(-1)),
            KeyCode::PageDown => self.scroll_lanes(ScrollTo::Pages(1)),
            KeyCode::Home => self.scroll_lanes(ScrollTo::Top),
            KeyCode::End => self.scroll_lanes(ScrollTo::Bottom),
            _ => {
                if self.composer.input(key) {
                    self.composer_changed(now);
                }
                Vec::new()
            }
        }
    }

    /// Moves the focused lane's view, or every lane's when they scroll together.
    fn scroll_lanes(&self, to: ScrollTo) -> Vec<Effect> {
        self.scrolled_lanes().map(|lane| lane.scroll(to)).collect()
    }
}
