//! Editing an earlier message and re-sending it as a branch (Alt-E).
//!
//! Alt-E puts the lane's last message of yours into the composer (again: the one before it),
//! marked "editing message N". Enter then asks the database for a branch
//! ([`Effect::BranchConversation`]): a new conversation holding the history before message N,
//! marked as a branch of the original, which stays exactly as it was (Ctrl-O lists both). Once
//! the branch exists the transcript drops message N and what followed, and the edited text is
//! sent into the branch like any message. Esc stops editing and gives the draft back.
//!
//! Without a stored conversation (no database) the branch lives on screen only: the
//! transcript is cut the same way and the message starts a new conversation. A compare is not
//! branched (its lanes' conversations would have to branch together): Ctrl-N starts afresh.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, Entry, Model, StatusTone};
use crate::records::{ConversationId, HistoryError};

/// An earlier message in the composer, to re-send as a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editing {
    /// Which of the lane's messages of yours it is (0 is the first).
    pub user_index: usize,
    /// The draft the composer held before, given back by Esc.
    pub stash: String,
}

impl Editing {
    /// The 1-based number the user sees.
    pub fn number(&self) -> usize {
        self.user_index + 1
    }
}

/// A branch asked of the database: what to send once it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBranch {
    pub parent: ConversationId,
    pub user_index: usize,
    pub text: String,
}

impl Model {
    /// The lane's messages of yours, as (entry index, text), oldest first.
    fn user_messages(&self) -> Vec<(usize, String)> {
        self.lane
            .transcript
            .entries()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Entry::User { text } => Some((i, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// Alt-E: the last message of yours into the composer, or the one before the one being
    /// edited.
    pub(super) fn edit_earlier(&mut self, now: Instant) {
        if self.is_comparing() {
            self.set_status(
                StatusTone::Info,
                "a compare is not branched — Ctrl-N starts every lane afresh",
            );
            return;
        }
        if self.branching.is_some() {
            return;
        }
        let mine = self.user_messages();
        let Some(last) = mine.len().checked_sub(1) else {
            self.set_status(StatusTone::Info, "no message of yours to edit yet");
            return;
        };
        let (index, stash) = match self.editing.take() {
            Some(e) => (e.user_index.saturating_sub(1).min(last), e.stash),
            None => (last, self.composer_text()),
        };
        let text = mine[index].1.clone();
        self.set_composer_text(&text, now);
        self.editing = Some(Editing {
            user_index: index,
            stash,
        });
        self.status = None;
    }

    /// Keys that mean something else while an earlier message is edited: Enter re-sends it
    /// as a branch, Esc stops editing.
    pub(super) fn editing_key(&mut self, key: KeyEvent, now: Instant) -> Option<Vec<Effect>> {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT | KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                if let Some(editing) = self.editing.take() {
                    self.set_composer_text(&editing.stash, now);
                    self.set_status(StatusTone::Info, "not edited — your draft is back");
                }
                Some(Vec::new())
            }
            KeyCode::Enter if plain => Some(self.send_branch(now)),
            _ => None,
        }
    }

    /// Enter while editing: branch the conversation, then send the edited message into it.
    fn send_branch(&mut self, now: Instant) -> Vec<Effect> {
        let text = self.composer_text();
        if text.trim().is_empty() || self.admission.pending.is_some() {
            return Vec::new();
        }
        if self.streaming_lane().is_some() {
            self.set_status(
                StatusTone::Warning,
                "a reply is still streaming — wait, or press Esc to cancel it",
            );
            return Vec::new();
        }
        let Some(editing) = self.editing.take() else {
            return Vec::new();
        };
        match self.lane.conversation {
            Some(parent) => {
                self.set_status(
                    StatusTone::Info,
                    format!(
                        "branching conversation {} at message {}…",
                        parent.0,
                        editing.number()
                    ),
                );
                self.branching = Some(PendingBranch {
                    parent,
                    user_index: editing.user_index,
                    text,
                });
                vec![Effect::BranchConversation {
                    parent,
                    before_user_message: editing.user_index,
                }]
            }
            None => {
                self.cut_before_user_message(editing.user_index);
                let effects = self.send_text(text, now);
                self.set_status(
                    StatusTone::Info,
                    format!(
                        "re-sent from message {} (not stored: there is no history database)",
                        editing.number()
                    ),
                );
                effects
            }
        }
    }

    /// The database made the branch: the transcript becomes it, and the message goes.
    pub(super) fn on_branched(
        &mut self,
        result: Result<ConversationId, HistoryError>,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(pending) = self.branching.take() else {
            return Vec::new();
        };
        let branch = match result {
            Ok(id) => id,
            Err(e) => {
                self.editing = Some(Editing {
                    user_index: pending.user_index,
                    stash: String::new(),
                });
                self.set_status(
                    StatusTone::Error,
                    format!(
                        "cannot branch: {} — the edited message is still here (Enter tries again)",
                        crate::text::sanitize(&e.to_string())
                    ),
                );
                return Vec::new();
            }
        };
        // Another conversation was opened meanwhile: the branch is in Ctrl-O, nothing sent.
        if self.lane.conversation != Some(pending.parent) || self.is_comparing() {
            return Vec::new();
        }
        self.cut_before_user_message(pending.user_index);
        self.lane.conversation = Some(branch);
        let effects = self.send_text(pending.text, now);
        self.set_status(
            StatusTone::Info,
            format!(
                "conversation {} is a branch of {} at message {} — the original is unchanged (Ctrl-O)",
                branch.0,
                pending.parent.0,
                pending.user_index + 1
            ),
        );
        effects
    }

    /// Drops the lane's user message number `user_index` (0-based) and everything after it.
    fn cut_before_user_message(&mut self, user_index: usize) {
        if let Some((entry, _)) = self.user_messages().get(user_index) {
            self.lane.transcript.truncate(*entry);
        }
        self.lane.selected_reply = None;
    }

    /// Sends `text` from the lane as Enter would.
    fn send_text(&mut self, text: String, now: Instant) -> Vec<Effect> {
        let effects = if self.compare.repeat > 1 {
            self.send_to_every_lane(text.clone(), now)
        } else {
            self.dispatch_send(text.clone(), now)
        };
        if !effects.is_empty() {
            self.remember_sent(&text);
        }
        effects
    }
}

#[cfg(test)]
#[path = "branch_tests.rs"]
mod tests;
