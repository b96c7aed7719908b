//! The active prompt and its variables: the prompt library as the chat sees it (the picker is
//! in [`super::picker`]).
//!
//! All of this is pure state. Reading files and git happens in the app, off the event loop,
//! in answer to the effects asked for here ([`super::Effect::ScanPrompts`],
//! [`super::Effect::ResolvePrompt`], [`super::Effect::LoadVersions`]); the results come back
//! as events. Nothing is re-read on a keypress or a frame.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub use super::picker::{Picker, PickerFocus, PreviewMode, version_label};
use crate::prompts::{ContentHash, PromptError, Provenance, Reference, SessionVersions};

/// Whether the active prompt follows its file or stays on one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// The working-tree file: every save is picked up (hot reload).
    WorkingTree,
    /// A chosen version (a commit or a session text): saves do not change it.
    Pinned,
}

/// The prompt that drives the chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivePrompt {
    /// Name, content hash, git state.
    pub provenance: Provenance,
    /// The exact text, variables unfilled.
    pub text: Arc<str>,
    pub tracking: Tracking,
}

/// Something loading in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The variables form: the active prompt's `{{names}}` and their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablesForm {
    pub names: Vec<String>,
    pub selected: usize,
}

/// What a lane's next request sends as its system prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemPrompt {
    /// The text, variables filled.
    pub text: Option<String>,
    /// The exact version it came from (an inline text's too).
    pub provenance: Option<Provenance>,
    /// The values it used, for the log.
    pub variables: BTreeMap<String, String>,
}

/// Everything the chat knows about prompts.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptState {
    /// The prompts directory, for messages.
    pub dir: String,
    /// Prompt names in the library, sorted (from the last scan).
    pub library: Loadable<Vec<String>>,
    /// Variable values given at start (`--var`): the first lane's.
    pub start_vars: BTreeMap<String, String>,
    /// Every text of every prompt seen this session.
    pub session: SessionVersions,
    /// The diff base marked in the picker (`m`), per prompt.
    pub marks: BTreeMap<String, ContentHash>,
}

impl PromptState {
    /// A library not scanned yet.
    pub fn new(dir: String, vars: BTreeMap<String, String>) -> PromptState {
        PromptState {
            dir,
            library: Loadable::Loading,
            start_vars: vars,
            session: SessionVersions::new(),
            marks: BTreeMap::new(),
        }
    }

    /// The library's names, empty while loading or failed.
    pub fn names(&self) -> &[String] {
        match &self.library {
            Loadable::Ready(names) => names,
            _ => &[],
        }
    }

    /// `text` with `provenance` as a lane's prompt, recorded as a session version.
    pub fn activate(
        &mut self,
        provenance: Provenance,
        text: Arc<str>,
        tracking: Tracking,
    ) -> ActivePrompt {
        self.session.record(&provenance.name, &text);
        ActivePrompt {
            provenance,
            text,
            tracking,
        }
    }
}

/// The error text to show for a prompt error.
pub fn describe_error(error: &PromptError) -> String {
    crate::text::sanitize(&error.to_string())
}

use super::{Effect, Mode, Model, Status, StatusTone};
use crate::event::ResolvePurpose;
use crate::prompts::{LoadedPrompt, WatchEvent};

impl Model {
    pub(super) fn set_status(&mut self, tone: StatusTone, text: impl Into<String>) {
        self.status = Some(Status {
            tone,
            text: text.into(),
        });
    }

    /// The system prompt to send and its provenance: the active prompt with variables filled,
    /// else the configured `system` text. Refused (with a message naming them) while a
    /// variable has no value: a raw `{{name}}` is never sent.
    pub(super) fn system_prompt(&self) -> Result<SystemPrompt, String> {
        self.system_prompt_of(&self.lane)
    }

    /// [`Model::system_prompt`] for any lane.
    pub(super) fn system_prompt_of(&self, lane: &super::Lane) -> Result<SystemPrompt, String> {
        if let (None, Some(wanted)) = (&lane.prompt, &lane.unresolved) {
            return Err(format!(
                "not sent: the prompt {wanted} is not loaded — Ctrl-P picks one (or no prompt)"
            ));
        }
        let Some(active) = &lane.prompt else {
            let text = self.session.system.clone();
            let provenance = text.as_deref().map(Provenance::inline);
            return Ok(SystemPrompt {
                text,
                provenance,
                variables: BTreeMap::new(),
            });
        };
        match crate::prompts::fill(&active.text, &lane.vars) {
            Ok((text, variables)) => Ok(SystemPrompt {
                text: Some(text),
                provenance: Some(active.provenance.clone()),
                variables,
            }),
            Err(missing) => {
                let names: Vec<String> = missing.0.iter().map(|n| format!("{{{{{n}}}}}")).collect();
                Err(format!(
                    "not sent: Ctrl-G fills {} ({} needs {})",
                    names.join(", "),
                    active.provenance.name,
                    if names.len() == 1 { "it" } else { "them" }
                ))
            }
        }
    }

    pub(super) fn on_scanned(&mut self, result: Result<Vec<String>, PromptError>) -> Vec<Effect> {
        let previous = match &self.mode {
            Mode::Picker(p) => p
                .selected
                .checked_sub(1)
                .and_then(|i| self.prompts.names().get(i).cloned()),
            _ => None,
        };
        self.prompts.library = match result {
            Ok(names) => Loadable::Ready(names),
            Err(e) => Loadable::Failed(describe_error(&e)),
        };
        // Keep the picker on the same prompt when the list changes under it.
        let names = self.prompts.names().to_vec();
        if let Mode::Picker(picker) = &mut self.mode {
            let now_at = previous
                .as_ref()
                .and_then(|name| names.iter().position(|n| n == name))
                .map(|i| i + 1);
            match (previous, now_at) {
                (Some(_), Some(row)) if row != picker.selected => picker.selected = row,
                (Some(_), Some(_)) | (None, _) if picker.selected <= names.len() => {}
                _ => {
                    picker.selected = picker.selected.min(names.len());
                    return self.load_selected_versions();
                }
            }
        }
        Vec::new()
    }

    pub(super) fn on_prompts_changed(&mut self, change: WatchEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        // A save of the active prompt's file is picked up even when an older version was
        // pinned: the user is editing that prompt and wants to try the edit.
        let mut lane_names: Vec<String> = self
            .lanes()
            .iter()
            .filter_map(|l| l.prompt.as_ref().map(|a| a.provenance.name.clone()))
            .collect();
        lane_names.sort();
        lane_names.dedup();
        let picker_name = match &self.mode {
            Mode::Picker(p) => p
                .selected
                .checked_sub(1)
                .and_then(|i| self.prompts.names().get(i).cloned()),
            _ => None,
        };
        match change {
            WatchEvent::Changed(names) => {
                for name in lane_names.into_iter().filter(|n| names.contains(n)) {
                    effects.push(Effect::ResolvePrompt {
                        reference: Reference::working(name),
                        purpose: ResolvePurpose::Reload,
                    });
                }
                if let Some(name) = picker_name.filter(|n| names.contains(n)) {
                    effects.push(Effect::LoadVersions {
                        name,
                        session: self.prompts.session.clone(),
                    });
                }
                effects.push(Effect::ScanPrompts);
            }
            WatchEvent::Removed(names) => {
                if let Some(active) = &self.lane.prompt
                    && names.contains(&active.provenance.name)
                {
                    let text = format!(
                        "{} was deleted — keeping its last text #{}",
                        active.provenance.name,
                        active.provenance.content_hash.short()
                    );
                    self.set_status(StatusTone::Warning, text);
                }
                effects.push(Effect::ScanPrompts);
            }
            WatchEvent::Rescan => effects.push(Effect::ScanPrompts),
            WatchEvent::Error(message) => {
                self.set_status(
                    StatusTone::Warning,
                    format!("prompt watcher: {}", crate::text::sanitize(&message)),
                );
            }
        }
        effects
    }

    pub(super) fn on_resolved(
        &mut self,
        reference: Reference,
        purpose: ResolvePurpose,
        result: Result<LoadedPrompt, PromptError>,
        now: Instant,
    ) -> Vec<Effect> {
        match (purpose, result) {
            (ResolvePurpose::Activate, Ok(loaded)) => {
                let tracking = match reference.selector {
                    crate::prompts::Selector::Working => Tracking::WorkingTree,
                    _ => Tracking::Pinned,
                };
                self.set_status(
                    StatusTone::Info,
                    format!("prompt {}", loaded.provenance.describe()),
                );
                let prompt =
                    self.prompts
                        .activate(loaded.provenance, Arc::from(loaded.text), tracking);
                self.lane.prompt = Some(prompt);
                self.lane.unresolved = None;
            }
            (ResolvePurpose::Activate, Err(e)) => {
                self.lane.unresolved = Some(reference.to_string());
                self.set_status(StatusTone::Error, describe_error(&e));
            }
            (ResolvePurpose::Reload, Ok(loaded)) => return self.reload_lanes(loaded, now),
            (ResolvePurpose::Reload, Err(e)) => {
                if let Some(active) = &self.lane.prompt {
                    let text = format!(
                        "{} — keeping #{}",
                        describe_error(&e),
                        active.provenance.content_hash.short()
                    );
                    self.set_status(StatusTone::Error, text);
                }
            }
        }
        Vec::new()
    }

    /// A prompt's file was saved. The lanes that follow the file take the new text — a
    /// lane on the working file, and in a plain chat the one lane whatever version it had
    /// (the user is editing that prompt and wants to try the edit); in a compare, pinned
    /// lanes (an older commit, a session edit) stay: they are the baseline. With re-run on
    /// save, a new lane re-runs the last message on the new text instead.
    fn reload_lanes(&mut self, loaded: LoadedPrompt, now: Instant) -> Vec<Effect> {
        let name = loaded.provenance.name.clone();
        let comparing = self.is_comparing();
        let follows = |a: &ActivePrompt| {
            a.provenance.name == name && (a.tracking == Tracking::WorkingTree || !comparing)
        };
        let changed = self.lanes_in_order().any(|l| {
            l.prompt.as_ref().is_some_and(|a| {
                follows(a) && (a.provenance != loaded.provenance || a.tracking == Tracking::Pinned)
            })
        });
        if !changed {
            return Vec::new();
        }
        let prompt = self.prompts.activate(
            loaded.provenance,
            Arc::from(loaded.text),
            Tracking::WorkingTree,
        );
        if let Some(effects) = self.rerun_on_save(&prompt, now) {
            return effects;
        }
        let mut count = 0;
        for lane in self.lanes_mut() {
            if let Some(active) = &mut lane.prompt
                && follows(active)
            {
                *active = prompt.clone();
                count += 1;
            }
        }
        let lanes = if comparing {
            format!(" in {count} lane{}", if count == 1 { "" } else { "s" })
        } else {
            String::new()
        };
        self.set_status(
            StatusTone::Info,
            format!("reloaded {}{lanes}", prompt.provenance.describe()),
        );
        Vec::new()
    }
}
