//! The active prompt, its variables, and the picker: the prompt library as the chat sees it.
//!
//! All of this is pure state. Reading files and git happens in the app, off the event loop,
//! in answer to the effects asked for here ([`super::Effect::ScanPrompts`],
//! [`super::Effect::ResolvePrompt`], [`super::Effect::LoadVersions`]); the results come back
//! as events. Nothing is re-read on a keypress or a frame.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::prompts::{
    ContentHash, PromptError, PromptVersions, Provenance, Reference, SessionVersions, Version,
    VersionKind,
};

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

/// Which column of the picker has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerFocus {
    Prompts,
    Versions,
}

/// What the picker's right column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewMode {
    /// The selected version's text.
    Text,
    /// Its line diff against the base: the marked version (`m`), else the working file —
    /// shown as git shows a diff, the older of the two as `-` and the newer as `+`.
    Diff,
}

/// The prompt picker's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    /// Row 0 is "no prompt"; rows 1.. are the library's prompts.
    pub selected: usize,
    pub focus: PickerFocus,
    /// Versions of the selected prompt.
    pub versions: Loadable<PromptVersions>,
    pub version_selected: usize,
    pub preview: PreviewMode,
    /// The version chosen as the base of a diff (`m`); kept per prompt in
    /// [`PromptState::marks`], so it survives closing the picker.
    pub marked: Option<ContentHash>,
    /// First line of the preview shown.
    pub preview_scroll: usize,
}

/// The variables form: the active prompt's `{{names}}` and their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablesForm {
    pub names: Vec<String>,
    pub selected: usize,
}

/// What a choice in the picker is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Enter: the focused lane's prompt.
    Focused,
    /// `c`: a new lane beside it (a compare).
    NewLane,
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

impl Picker {
    /// A picker opened on `selected` (0 = no prompt).
    pub fn new(selected: usize) -> Picker {
        Picker {
            selected,
            focus: PickerFocus::Prompts,
            versions: Loadable::Loading,
            version_selected: 0,
            preview: PreviewMode::Text,
            marked: None,
            preview_scroll: 0,
        }
    }

    /// The selected version, when versions are loaded.
    pub fn version(&self) -> Option<&Version> {
        match &self.versions {
            Loadable::Ready(v) => v.versions.get(self.version_selected),
            _ => None,
        }
    }
}

/// A one-line label for a version in lists: `working · uncommitted`, `a1b2c3d · 2026-11-20 ·
/// subject`, `session #2`.
pub fn version_label(version: &Version) -> String {
    match &version.kind {
        VersionKind::Working { status } => format!("working file · {}", status.label()),
        VersionKind::Commit(c) => format!(
            "{} {} {}",
            c.short.get(..7).unwrap_or(&c.short),
            c.date_iso.get(..10).unwrap_or(&c.date_iso),
            c.subject
        ),
        VersionKind::Session { .. } => format!("session edit · #{}", version.id.short()),
    }
}

/// The error text to show for a prompt error.
pub fn describe_error(error: &PromptError) -> String {
    crate::text::sanitize(&error.to_string())
}

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

    pub(super) fn open_picker(&mut self) -> Vec<Effect> {
        let selected = match &self.lane.prompt {
            Some(active) => self
                .prompts
                .names()
                .iter()
                .position(|n| *n == active.provenance.name)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        self.mode = Mode::Picker(Picker::new(selected));
        let mut effects = vec![Effect::ScanPrompts];
        effects.extend(self.load_selected_versions());
        effects
    }

    /// Asks for the versions of the prompt selected in the picker.
    fn load_selected_versions(&mut self) -> Vec<Effect> {
        let Mode::Picker(picker) = &mut self.mode else {
            return Vec::new();
        };
        picker.version_selected = 0;
        picker.preview_scroll = 0;
        let name = picker
            .selected
            .checked_sub(1)
            .and_then(|i| self.prompts.names().get(i).cloned());
        picker.marked = name
            .as_ref()
            .and_then(|name| self.prompts.marks.get(name).cloned());
        match name {
            Some(name) => {
                picker.versions = Loadable::Loading;
                vec![Effect::LoadVersions {
                    name,
                    session: self.prompts.session.clone(),
                }]
            }
            None => {
                picker.versions = Loadable::Failed("no system prompt is sent".into());
                Vec::new()
            }
        }
    }

    pub(super) fn picker_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let rows = self.prompts.names().len() + 1;
        let Mode::Picker(picker) = &mut self.mode else {
            return Vec::new();
        };
        let version_count = match &picker.versions {
            Loadable::Ready(v) => v.versions.len(),
            _ => 0,
        };
        match (key.code, picker.focus) {
            (KeyCode::Esc, _) => self.mode = Mode::Chat,
            (KeyCode::Char('p'), _) if ctrl => self.mode = Mode::Chat,
            (KeyCode::Up | KeyCode::Char('k'), PickerFocus::Prompts) if picker.selected > 0 => {
                picker.selected -= 1;
                return self.load_selected_versions();
            }
            (KeyCode::Down | KeyCode::Char('j'), PickerFocus::Prompts)
                if picker.selected + 1 < rows =>
            {
                picker.selected += 1;
                return self.load_selected_versions();
            }
            (KeyCode::Up | KeyCode::Char('k'), PickerFocus::Versions) => {
                picker.version_selected = picker.version_selected.saturating_sub(1);
                picker.preview_scroll = 0;
            }
            (KeyCode::Down | KeyCode::Char('j'), PickerFocus::Versions)
                if picker.version_selected + 1 < version_count =>
            {
                picker.version_selected += 1;
                picker.preview_scroll = 0;
            }
            (KeyCode::Right | KeyCode::Tab | KeyCode::Char('l'), _) if version_count > 0 => {
                picker.focus = PickerFocus::Versions;
            }
            (KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h'), _) => {
                picker.focus = PickerFocus::Prompts;
            }
            (KeyCode::Char('d'), _) => {
                picker.preview = match picker.preview {
                    PreviewMode::Text => PreviewMode::Diff,
                    PreviewMode::Diff => PreviewMode::Text,
                };
                picker.preview_scroll = 0;
            }
            (KeyCode::Char('m'), _) => {
                let id = picker.version().map(|v| v.id.clone());
                let name = picker
                    .selected
                    .checked_sub(1)
                    .and_then(|i| self.prompts.names().get(i).cloned());
                if let (Some(id), Some(name)) = (id, name) {
                    if picker.marked.as_ref() == Some(&id) {
                        picker.marked = None;
                        self.prompts.marks.remove(&name);
                    } else {
                        picker.marked = Some(id.clone());
                        picker.preview = PreviewMode::Diff;
                        self.prompts.marks.insert(name, id);
                    }
                }
            }
            (KeyCode::PageDown, _) => picker.preview_scroll += 10,
            (KeyCode::PageUp, _) => {
                picker.preview_scroll = picker.preview_scroll.saturating_sub(10)
            }
            (KeyCode::Enter, _) => return self.choose_in_picker(Pick::Focused),
            (KeyCode::Char('c'), _) => return self.choose_in_picker(Pick::NewLane),
            _ => {}
        }
        Vec::new()
    }

    /// Enter in the picker: make the selected version (or no prompt) the focused lane's; `c`:
    /// open a lane for it beside the focused one (a compare).
    fn choose_in_picker(&mut self, pick: Pick) -> Vec<Effect> {
        let Mode::Picker(picker) = &self.mode else {
            return Vec::new();
        };
        if picker.selected == 0 && pick == Pick::NewLane {
            let mut lane = self.lane_like_focused(None);
            lane.prompt = None;
            if self.add_lane(lane) {
                self.mode = Mode::Chat;
            }
            return Vec::new();
        }
        if picker.selected == 0 {
            self.lane.prompt = None;
            self.lane.unresolved = None;
            self.mode = Mode::Chat;
            self.set_status(
                StatusTone::Info,
                "no prompt: requests carry no system prompt",
            );
            return Vec::new();
        }
        let Loadable::Ready(listing) = &picker.versions else {
            // Versions not listed yet (git is slow, or the user is quick): on the prompts
            // column Enter means "the working file", which needs no listing.
            let name = self.prompts.names().get(picker.selected - 1).cloned();
            if picker.focus == PickerFocus::Prompts
                && pick == Pick::Focused
                && let Some(name) = name
            {
                self.mode = Mode::Chat;
                return vec![Effect::ResolvePrompt {
                    reference: Reference::working(name),
                    purpose: ResolvePurpose::Activate,
                }];
            }
            self.set_status(StatusTone::Warning, "the versions are still loading");
            return Vec::new();
        };
        let index = match picker.focus {
            PickerFocus::Prompts => 0,
            PickerFocus::Versions => picker.version_selected,
        };
        let Some(version) = listing.versions.get(index) else {
            let why = listing
                .working_error
                .as_ref()
                .map(describe_error)
                .unwrap_or_else(|| "this prompt has no usable version".into());
            self.set_status(StatusTone::Error, why);
            return Vec::new();
        };
        let Some(text) = version.text.clone() else {
            let why = version.problem.clone().unwrap_or_default();
            self.set_status(StatusTone::Error, format!("cannot use this version: {why}"));
            return Vec::new();
        };
        let provenance = listing.provenance_of(version);
        let tracking = match version.kind {
            VersionKind::Working { .. } => Tracking::WorkingTree,
            _ => Tracking::Pinned,
        };
        let how = match tracking {
            Tracking::WorkingTree => "follows the file",
            Tracking::Pinned => "until the file is saved",
        };
        let describe = provenance.describe();
        let prompt = self.prompts.activate(provenance, text, tracking);
        match pick {
            Pick::Focused => {
                self.set_status(StatusTone::Info, format!("prompt {describe} ({how})"));
                self.lane.prompt = Some(prompt);
                self.lane.unresolved = None;
                self.mode = Mode::Chat;
            }
            Pick::NewLane => {
                let lane = self.lane_like_focused(Some(prompt));
                if self.add_lane(lane) {
                    self.mode = Mode::Chat;
                }
            }
        }
        Vec::new()
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
            (ResolvePurpose::Reload, Ok(loaded)) if self.is_comparing() => {
                return self.reload_lanes(loaded, now);
            }
            (ResolvePurpose::Reload, Ok(loaded)) => {
                let still_active = self
                    .lane
                    .prompt
                    .as_ref()
                    .is_some_and(|a| a.provenance.name == reference.name);
                let changed = self.lane.prompt.as_ref().is_some_and(|a| {
                    a.provenance != loaded.provenance || a.tracking == Tracking::Pinned
                });
                if still_active && changed {
                    self.set_status(
                        StatusTone::Info,
                        format!("reloaded {}", loaded.provenance.describe()),
                    );
                    let prompt = self.prompts.activate(
                        loaded.provenance,
                        Arc::from(loaded.text),
                        Tracking::WorkingTree,
                    );
                    if let Some(effects) = self.rerun_on_save(&prompt, now) {
                        return effects;
                    }
                    self.lane.prompt = Some(prompt);
                }
            }
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

    /// A lane's prompt file was saved, in a compare: re-run on save opens a lane for the new
    /// text; otherwise the lanes that follow the file take it, and pinned lanes (an older
    /// commit, a session edit) stay as they are — that is what they are compared against.
    fn reload_lanes(&mut self, loaded: LoadedPrompt, now: Instant) -> Vec<Effect> {
        let name = loaded.provenance.name.clone();
        let followers = self.lanes().iter().any(|l| {
            l.prompt.as_ref().is_some_and(|a| {
                a.provenance.name == name
                    && a.tracking == Tracking::WorkingTree
                    && a.provenance != loaded.provenance
            })
        });
        if !followers {
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
                && active.provenance.name == name
                && active.tracking == Tracking::WorkingTree
            {
                *active = prompt.clone();
                count += 1;
            }
        }
        self.set_status(
            StatusTone::Info,
            format!(
                "reloaded {} in {count} lane{}",
                prompt.provenance.describe(),
                if count == 1 { "" } else { "s" }
            ),
        );
        Vec::new()
    }

    pub(super) fn on_versions(
        &mut self,
        name: String,
        result: Result<PromptVersions, PromptError>,
    ) -> Vec<Effect> {
        let names = self.prompts.names();
        if let Mode::Picker(picker) = &mut self.mode {
            let showing = picker
                .selected
                .checked_sub(1)
                .and_then(|i| names.get(i))
                .is_some_and(|n| *n == name);
            if showing {
                let keep = picker.version().map(|v| v.id.clone());
                picker.versions = match result {
                    Ok(listing) => {
                        // A reload keeps the cursor on the same version.
                        if let Some(id) = keep
                            && let Some(i) = listing.versions.iter().position(|v| v.id == id)
                        {
                            picker.version_selected = i;
                        }
                        Loadable::Ready(listing)
                    }
                    Err(e) => Loadable::Failed(describe_error(&e)),
                };
            }
        }
        Vec::new()
    }
}
