//! The unsent draft, kept on disk while the user types: a `kill -9` or a lost machine loses
//! at most the last second of typing.
//!
//! Every change to the composer pushes a deadline [`DRAFT_DELAY`] later; when it passes with
//! no further change, the model asks the app to write the composer's text
//! ([`Effect::SaveDraft`], written atomically off the event loop). An empty composer (a sent
//! message) asks for the file to be removed. Quitting still writes the draft at once.

use std::time::{Duration, Instant};

use super::{Effect, Model};

/// How long after the last keystroke the draft is written.
pub const DRAFT_DELAY: Duration = Duration::from_secs(1);

/// When the draft is next due to be written, if it changed since the last write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DraftState {
    /// The app keeps a draft on disk (a model without one, as in most tests, does not).
    enabled: bool,
    due: Option<Instant>,
}

impl DraftState {
    /// When it must be written, if anything is unsaved.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }
}

impl Model {
    /// The same model keeping the unsent draft on disk while the user types.
    pub fn with_draft_autosave(mut self) -> Model {
        self.draft.enabled = true;
        self
    }

    /// The composer's text changed at `now`.
    pub(super) fn composer_changed(&mut self, now: Instant) {
        if self.draft.enabled {
            self.draft.due = Some(now + DRAFT_DELAY);
        }
    }

    /// The write of the draft, once it is due at `now`.
    pub(super) fn save_draft_if_due(&mut self, now: Instant) -> Option<Effect> {
        let due = self.draft.due?;
        if due > now {
            return None;
        }
        self.draft.due = None;
        Some(Effect::SaveDraft {
            text: self.composer_text(),
        })
    }
}
