//! The key help over the screen (`?` in an empty message, F1 anywhere), and the keys that
//! work on every screen: F1, Ctrl-L (repaint), F2 / Alt-I (the inspector).
//!
//! The help lists the keys of the pane it was opened over ([`crate::keys`] says what they
//! are); closing it gives that pane the keyboard back as it was.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, Mode, Model};
use crate::keys::Pane;

/// The open help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpOverlay {
    /// Whose keys it lists.
    pub pane: Pane,
    /// First row shown.
    pub scroll: u16,
    /// The last first row that still fills the box (written by the renderer, which knows
    /// how the descriptions wrap), so that scrolling stops at the end.
    pub max_scroll: std::cell::Cell<u16>,
}

/// Rows PgUp / PgDn move the help by.
const HELP_PAGE_ROWS: u16 = 10;

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
        if let Some(help) = &mut self.help {
            match key.code {
                KeyCode::Esc | KeyCode::F(1) | KeyCode::Char('?') => self.help = None,
                KeyCode::Up => help.scroll = help.scroll.saturating_sub(1),
                KeyCode::Down => {
                    help.scroll = help.scroll.saturating_add(1).min(help.max_scroll.get())
                }
                KeyCode::PageUp => help.scroll = help.scroll.saturating_sub(HELP_PAGE_ROWS),
                KeyCode::PageDown => {
                    help.scroll =
                        (help.scroll.saturating_add(HELP_PAGE_ROWS)).min(help.max_scroll.get());
                }
                KeyCode::Home => help.scroll = 0,
                // Any other key is for the screen under the help, which waits until it closes.
                _ => {}
            }
            return Some(Vec::new());
        }
        let question = key.code == KeyCode::Char('?')
            && !ctrl
            && !alt
            && self.mode == Mode::Chat
            && self.composer.is_empty();
        if key.code == KeyCode::F(1) || question {
            self.help = Some(HelpOverlay {
                pane: self.pane(),
                scroll: 0,
                max_scroll: std::cell::Cell::new(u16::MAX),
            });
            return Some(Vec::new());
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
