//! The key help over the screen (`?` in an empty message, F1 anywhere), and the keys that
//! work on every screen: F1, Ctrl-L (repaint), F2 / Alt-I (the inspector).
//!
//! The help lists the keys of the pane it was opened over ([`crate::keys`] says what they
//! are); closing it gives that pane the keyboard back as it was.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, Mode, Model, ScrollTarget, ScrollTo};
use crate::keys::Pane;

/// The open help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpOverlay {
    /// Whose keys it lists (where it is scrolled is the screen's: the rows depend on how the
    /// descriptions wrap).
    pub pane: Pane,
}

impl Model {
    /// The pane that has the keyboard, as the key tables name it.
    pub fn pane(&self) -> Pane {
        match &self.mode {
            Mode::Chat if self.is_comparing() => Pane::Compare,
            Mode::Chat => Pane::Chat,
            Mode::Picker(_) => Pane::Picker,
            Mode::Variables(_) => Pane::Variables,
            Mode::Inspector(_) => Pane::Inspector,
            Mode::Conversations(_) => Pane::Conversations,
            Mode::Models(_) => Pane::Models,
        }
    }

    /// Keys that mean the same on every screen, and every key while the help is open;
    /// `None` when `key` is for the pane.
    pub(super) fn global_key(&mut self, key: KeyEvent) -> Option<Vec<Effect>> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if ctrl && key.code == KeyCode::Char('l') {
            return Some(vec![Effect::Repaint]);
        }
        if self.help.is_some() {
            let to = match key.code {
                KeyCode::Esc | KeyCode::F(1) | KeyCode::Char('?') => {
                    self.help = None;
                    None
                }
                KeyCode::Up => Some(ScrollTo::Rows(-1)),
                KeyCode::Down => Some(ScrollTo::Rows(1)),
                KeyCode::PageUp => Some(ScrollTo::Pages(-1)),
                KeyCode::PageDown => Some(ScrollTo::Pages(1)),
                KeyCode::Home => Some(ScrollTo::Top),
                KeyCode::End => Some(ScrollTo::Bottom),
                // Any other key is for the screen under the help, which waits until it closes.
                _ => None,
            };
            let target = ScrollTarget::Help;
            return Some(
                to.map(|to| Effect::Scroll { target, to })
                    .into_iter()
                    .collect(),
            );
        }
        let question = key.code == KeyCode::Char('?')
            && !ctrl
            && !alt
            && self.mode == Mode::Chat
            && self.composer.is_empty();
        if key.code == KeyCode::F(1) || question {
            self.help = Some(HelpOverlay { pane: self.pane() });
            return Some(vec![Effect::Scroll {
                target: ScrollTarget::Help,
                to: ScrollTo::Top,
            }]);
        }
        let inspector_key = key.code == KeyCode::F(2) || (alt && key.code == KeyCode::Char('i'));
        if inspector_key {
            return Some(match self.mode {
                Mode::Inspector(_) => {
                    self.mode = Mode::Chat;
                    Vec::new()
                }
                Mode::Chat => self.open_inspector(),
                // Another screen has the keyboard: close it first.
                _ => Vec::new(),
            });
        }
        None
    }
}
