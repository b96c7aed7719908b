//! The prompt picker (Ctrl-P): a prompt's versions, their text or diff, and the choice of the
//! version that drives the focused lane (Enter) or a new compare lane (`c`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::prompt::{Loadable, Tracking, describe_error};
use super::{Effect, Mode, Model, StatusTone};
use crate::event::ResolvePurpose;
use crate::prompts::{ContentHash, PromptError, PromptVersions, Reference, Version, VersionKind};

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
    /// [`PromptState::marks`](crate::model::prompt::PromptState::marks), so it survives closing the picker.
    pub marked: Option<ContentHash>,
    /// First line of the preview shown.
    pub preview_scroll: usize,
}

/// What a choice in the picker is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// Enter: the focused lane's prompt.
    Focused,
    /// `c`: a new lane beside it (a compare).
    NewLane,
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

impl Model {
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
    pub(super) fn load_selected_versions(&mut self) -> Vec<Effect> {
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
