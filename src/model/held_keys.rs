//! Keys are never dropped: a key that needs what its pane is still loading waits for it.
//!
//! Over a laggy SSH link keys arrive in bursts: "Down Right Down Enter" in the picker comes
//! in one read, before the versions the Down asked for are listed. Applied at once, the Right
//! would find no versions to move to and be lost, and the next Down would move in the wrong
//! column. Instead such a key is held, with every key after it (order is kept), and the held
//! keys are applied as soon as the pane has what they act on — after whatever event brought
//! it (`Model::update` replays them after every event that is not a key).
//!
//! Esc is the way out of a wait that does not end (a git that hangs): it drops the held keys
//! and is applied at once.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};

use super::prompt::{Loadable, PickerFocus};
use super::{Effect, Mode, Model, StatusTone};

/// Most keys held at once; past it the oldest are dropped, and the user is told.
pub const MAX_HELD_KEYS: usize = 256;

impl Model {
    /// Holds `key` when its pane is not ready for it (or keys before it are held); true when
    /// held.
    pub(super) fn hold_key(&mut self, key: KeyEvent) -> bool {
        if key.code == KeyCode::Esc && !self.held_keys.is_empty() {
            self.held_keys.clear();
            return false;
        }
        if self.held_keys.is_empty() && !self.key_must_wait(&key) {
            return false;
        }
        if self.held_keys.len() >= MAX_HELD_KEYS {
            self.held_keys.pop_front();
            self.set_status(
                StatusTone::Warning,
                "too many keys while loading: the oldest were dropped",
            );
        }
        self.held_keys.push_back(key);
        true
    }

    /// Applies the held keys whose pane is now ready, in order, until one must wait again.
    pub(super) fn replay_held_keys(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Some(key) = self.held_keys.front().copied() {
            if self.key_must_wait(&key) {
                break;
            }
            self.held_keys.pop_front();
            effects.extend(self.apply_key(key, now));
        }
        effects
    }

    /// Whether `key` would act on something its pane is still loading.
    fn key_must_wait(&self, key: &KeyEvent) -> bool {
        if key.code == KeyCode::Esc || self.help.is_some() {
            return false;
        }
        match &self.mode {
            Mode::Picker(picker) => {
                if matches!(self.prompts.library, Loadable::Loading) {
                    return true;
                }
                let versions_pending =
                    picker.selected > 0 && matches!(picker.versions, Loadable::Loading);
                // Moving through the prompts needs no versions, nor Enter there (it takes the
                // working file); everything else acts on them.
                let moves_prompts = picker.focus == PickerFocus::Prompts
                    && matches!(
                        key.code,
                        KeyCode::Up
                            | KeyCode::Down
                            | KeyCode::Char('j')
                            | KeyCode::Char('k')
                            | KeyCode::Enter
                    );
                versions_pending && !moves_prompts
            }
            Mode::Conversations(list) => {
                list.is_waiting()
                    && matches!(
                        key.code,
                        KeyCode::Up
                            | KeyCode::Down
                            | KeyCode::PageUp
                            | KeyCode::PageDown
                            | KeyCode::Home
                            | KeyCode::End
                            | KeyCode::Enter
                    )
            }
            Mode::Inspector(inspector) => matches!(inspector.rows, Loadable::Loading),
            Mode::Chat | Mode::Variables(_) | Mode::Models(_) => false,
        }
    }
}
