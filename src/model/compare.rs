//! Compare: two to four lanes side by side on one composer.
//!
//! A lane is a prompt version with its variables and a model with its parameters (see
//! [`super::lane`]). In a compare, Enter sends the composer's message to every lane at once:
//! one [`RequestSpec`](crate::request::RequestSpec) per lane, each through the one request
//! path (its own limiter gate, its own conversation, the compare run's id in the log). A lane
//! that fails, or that the limiter refuses, says so in its own column; the others go on.
//!
//! The focused lane lives in `Model::lane`, so everything that acts on one lane — the picker,
//! the variables form, the model switcher, Ctrl-R, the usage panel — acts on it; the other
//! lanes wait in `Model::others`, in screen order around [`Compare::focus`]. Moving the focus
//! swaps lanes between the two places; nothing else needs to know there are several.
//!
//! Keys (in the chat): Alt-N adds a lane (a copy of the focused one's prompt and model, with
//! a conversation of its own), `c` in the picker adds a lane with the selected version,
//! Alt-←/→ move the focus, Alt-W closes the focused lane, Alt-X cancels its reply (Esc
//! cancels every lane), Alt-Z zooms it, Alt-S scrolls lanes together or apart, Alt-D shows the
//! word differences between the focused lane's latest reply and the next lane's, Alt-A
//! re-runs the last message on every save of a lane's prompt file, in a new lane; Alt-T
//! cycles the focused lane's temperature, Alt-R how many times each message is sent.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::lane::Lane;
use super::prompt::{ActivePrompt, Tracking};
use super::{Effect, Model, StatusTone};
use crate::event::RequestId;
use std::sync::Arc;

use crate::prompts::LoadedPrompt;

/// Most lanes on one screen.
pub const MAX_LANES: usize = 4;

/// Whether the focused lane fills the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zoom {
    /// Every lane is shown.
    #[default]
    Off,
    /// Only the focused lane is shown (Alt-Z again shows them all).
    Focused,
}

/// How paging moves the lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScrollLink {
    /// Every lane scrolls with the keys (the same turn stays side by side).
    #[default]
    Together,
    /// Only the focused lane scrolls.
    Independent,
}

/// What the lanes' latest replies look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffView {
    /// As written (markdown).
    #[default]
    Off,
    /// The focused lane's latest reply and the next lane's, with the words only one of them
    /// has highlighted.
    Words,
}

/// What a save of a lane's prompt file does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RerunOnSave {
    /// The lanes that follow the file pick up the new text for their next message.
    #[default]
    Off,
    /// The lane keeps the version it answered with, and a new lane beside it re-runs the last
    /// message on the saved version, so an edit's effect is seen at once.
    On,
}

/// The compare screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// Screen position of the focused lane (0 is the leftmost or top one).
    pub focus: usize,
    /// The compare run's id, logged with every lane's requests (`promptdeck log --compare`);
    /// set when a second lane opens, kept while there are two or more.
    pub id: Option<String>,
    pub zoom: Zoom,
    pub scroll: ScrollLink,
    pub diff: DiffView,
    pub rerun_on_save: RerunOnSave,
    /// How many times Enter sends the message through each lane (Alt-R, `--repeat`), to see
    /// how much the replies vary; 1 is a plain send.
    pub repeat: u32,
    /// Makes this session's compare ids unique (given at start: time and process).
    pub seed: String,
    /// Compare runs started this session.
    runs: u32,
}

impl Default for Compare {
    fn default() -> Compare {
        Compare {
            focus: 0,
            id: None,
            zoom: Zoom::Off,
            scroll: ScrollLink::Together,
            diff: DiffView::Off,
            rerun_on_save: RerunOnSave::Off,
            repeat: 1,
            seed: String::new(),
            runs: 0,
        }
    }
}

/// The repeat counts Alt-R cycles through.
pub const REPEATS: [u32; 4] = [1, 3, 5, 10];

/// The temperatures Alt-T cycles a lane through (`None`: the provider's default).
pub const TEMPERATURES: [Option<f32>; 4] = [None, Some(0.0), Some(0.5), Some(1.0)];

/// Most runs of one message per lane.
pub const MAX_REPEAT: u32 = 20;

/// A lane to open at start (several `--prompt` × `--model`).
#[derive(Debug, Clone)]
pub struct LaneStart {
    /// Its prompt, resolved, and whether it follows the file.
    pub prompt: Option<(LoadedPrompt, Tracking)>,
    pub model: String,
}

/// A lane's place: where a request's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Focused,
    Other(usize),
}

impl Model {
    /// Whether two or more lanes are open.
    pub fn is_comparing(&self) -> bool {
        !self.others.is_empty()
    }

    /// Lanes in screen order.
    pub fn lanes(&self) -> Vec<&Lane> {
        self.lanes_in_order().collect()
    }

    /// Lanes in screen order, without collecting them (for what runs on every update).
    pub fn lanes_in_order(&self) -> impl Iterator<Item = &Lane> {
        let focus = self.compare.focus.min(self.others.len());
        let (before, after) = self.others.split_at(focus);
        before
            .iter()
            .chain(std::iter::once(&self.lane))
            .chain(after.iter())
    }

    /// Every lane, in no particular order.
    pub(super) fn lanes_mut(&mut self) -> impl Iterator<Item = &mut Lane> {
        std::iter::once(&mut self.lane).chain(self.others.iter_mut())
    }

    fn place_of(&self, id: RequestId) -> Option<Place> {
        let owns = |l: &Lane| l.active == Some(id) || l.runs.contains(&id);
        if owns(&self.lane) {
            return Some(Place::Focused);
        }
        self.others.iter().position(owns).map(Place::Other)
    }

    /// The lane whose reply `id` is streaming.
    pub(super) fn lane_of(&mut self, id: RequestId) -> Option<&mut Lane> {
        match self.place_of(id)? {
            Place::Focused => Some(&mut self.lane),
            Place::Other(i) => self.others.get_mut(i),
        }
    }

    /// The 1-based screen number of the lane streaming request `id`.
    fn lane_number_of(&self, id: RequestId) -> Option<usize> {
        self.lanes_in_order()
            .position(|l| l.active == Some(id) || l.runs.contains(&id))
            .map(|i| i + 1)
    }

    /// The first lane (1-based) with a reply streaming.
    pub fn streaming_lane(&self) -> Option<usize> {
        self.lanes_in_order()
            .position(|l| l.is_streaming())
            .map(|i| i + 1)
    }

    /// Moves the focus to the lane at screen position `to`.
    pub(super) fn focus_lane(&mut self, to: usize) {
        let count = self.others.len() + 1;
        let from = self.compare.focus.min(self.others.len());
        if to >= count || to == from {
            return;
        }
        // Screen order: others[..from], lane, others[from..]. Take the lane at `to` out of
        // `others` and put the focused one in its place.
        let index = if to < from { to } else { to - 1 };
        let mut next = self.others.remove(index);
        std::mem::swap(&mut next, &mut self.lane);
        let previous = next;
        let insert_at = if to < from { from - 1 } else { from };
        self.others.insert(insert_at, previous);
        self.compare.focus = to;
    }

    /// The same model opening these lanes (none: one plain lane), the first focused.
    pub fn with_lanes(mut self, lanes: Vec<LaneStart>) -> Model {
        for (i, start) in lanes.into_iter().enumerate() {
            let mut lane = self.lane_like_focused(None);
            lane.model = start.model;
            lane.prompt = start.prompt.map(|(loaded, tracking)| {
                self.prompts
                    .activate(loaded.provenance, Arc::from(loaded.text), tracking)
            });
            if i == 0 {
                self.lane = lane;
            } else {
                self.add_lane(lane);
            }
        }
        if self.is_comparing() {
            self.focus_lane(0);
            self.status = None;
        }
        self
    }

    /// Opens `lane` right of the focused one and focuses it; refused past [`MAX_LANES`].
    pub(super) fn add_lane(&mut self, lane: Lane) -> bool {
        if self.others.len() + 1 >= MAX_LANES {
            self.set_status(
                StatusTone::Warning,
                format!("{MAX_LANES} lanes at most — Alt-W closes the focused one"),
            );
            return false;
        }
        if self.compare.id.is_none() {
            self.new_compare_run();
        }
        let at = self.compare.focus.min(self.others.len());
        self.others.insert(at, lane);
        // The new lane sits at `at + 1`; focus it.
        self.focus_lane(at + 1);
        let n = self.others.len() + 1;
        self.set_status(
            StatusTone::Info,
            format!(
                "lane {} of {n} — Enter sends to every lane · Alt-←/→ focus · Alt-W closes",
                at + 2
            ),
        );
        true
    }

    /// The lanes' next messages are a new compare run (a new id in the log).
    pub(super) fn new_compare_run(&mut self) {
        self.compare.runs += 1;
        self.compare.id = Some(format!("{}{}", self.compare.seed, self.compare.runs));
    }

    /// A new lane with the focused lane's prompt, variables and model, and `prompt` if given;
    /// it starts a conversation of its own.
    pub(super) fn lane_like_focused(&self, prompt: Option<ActivePrompt>) -> Lane {
        let mut lane = Lane::new(&self.session);
        lane.model = self.lane.model.clone();
        lane.max_tokens = self.lane.max_tokens;
        lane.temperature = self.lane.temperature;
        lane.vars = self.lane.vars.clone();
        lane.prompt = prompt.or_else(|| self.lane.prompt.clone());
        lane
    }

    /// Closes the focused lane (cancelling its reply); the last lane is never closed.
    fn close_focused_lane(&mut self, now: Instant) -> Vec<Effect> {
        if self.others.is_empty() {
            self.set_status(StatusTone::Info, "one lane left: nothing to close");
            return Vec::new();
        }
        let effects = self.cancel_focused(now);
        let from = self.compare.focus.min(self.others.len());
        // The lane right of it takes the focus (or the one left of it, at the end).
        let index = from.min(self.others.len() - 1);
        self.lane = self.others.remove(index);
        self.compare.focus = index;
        if self.others.is_empty() {
            // Back to a plain chat: a later compare is a new run.
            self.compare.id = None;
            self.compare.zoom = Zoom::Off;
            self.compare.diff = DiffView::Off;
        }
        self.set_status(StatusTone::Info, format!("lane {} closed", from + 1));
        effects
    }

    /// Alt-X: cancels the focused lane's reply (every run of it) only.
    pub(super) fn cancel_focused(&mut self, now: Instant) -> Vec<Effect> {
        let ids = self.lane.streaming_ids();
        self.cancel_requests(&ids, now)
    }

    /// Cancels requests `ids`, keeping their partial texts.
    fn cancel_requests(&mut self, ids: &[RequestId], now: Instant) -> Vec<Effect> {
        for id in ids {
            if let Some(lane) = self.lane_of(*id) {
                lane.transcript.cancel(*id, now);
                lane.waiting_runs.retain(|(waiting, _)| waiting != id);
            }
            self.end_request(*id);
        }
        ids.iter()
            .map(|id| Effect::CancelRequest { id: *id })
            .collect()
    }

    /// Esc in a compare: cancels every lane's reply, keeping their partial texts.
    pub(super) fn cancel_every_lane(&mut self, now: Instant) -> Vec<Effect> {
        let ids: Vec<RequestId> = self
            .lanes()
            .iter()
            .flat_map(|l| l.streaming_ids())
            .collect();
        let effects = self.cancel_requests(&ids, now);
        if ids.is_empty() {
            self.status = None;
        } else {
            self.set_status(
                StatusTone::Info,
                "every lane cancelled — the partial texts are kept",
            );
        }
        effects
    }

    /// The compare keys; `None` when `key` is not one of them.
    pub(super) fn compare_key(&mut self, key: KeyEvent, now: Instant) -> Option<Vec<Effect>> {
        if !key.modifiers.contains(KeyModifiers::ALT) {
            return None;
        }
        let effects = match key.code {
            KeyCode::Char('n') => {
                let lane = self.lane_like_focused(None);
                self.add_lane(lane);
                Vec::new()
            }
            KeyCode::Char('w') => self.close_focused_lane(now),
            KeyCode::Char('x') => {
                let effects = self.cancel_focused(now);
                if !effects.is_empty() {
                    self.set_status(
                        StatusTone::Info,
                        format!(
                            "lane {} cancelled — the others go on",
                            self.compare.focus + 1
                        ),
                    );
                }
                effects
            }
            KeyCode::Left if self.is_comparing() => {
                self.focus_lane(self.compare.focus.saturating_sub(1));
                Vec::new()
            }
            KeyCode::Right if self.is_comparing() => {
                self.focus_lane(self.compare.focus + 1);
                Vec::new()
            }
            KeyCode::Char('z') if self.is_comparing() => {
                self.compare.zoom = match self.compare.zoom {
                    Zoom::Off => Zoom::Focused,
                    Zoom::Focused => Zoom::Off,
                };
                Vec::new()
            }
            KeyCode::Char('s') if self.is_comparing() => {
                self.compare.scroll = match self.compare.scroll {
                    ScrollLink::Together => ScrollLink::Independent,
                    ScrollLink::Independent => ScrollLink::Together,
                };
                let how = match self.compare.scroll {
                    ScrollLink::Together => "lanes scroll together",
                    ScrollLink::Independent => "only the focused lane scrolls",
                };
                self.set_status(StatusTone::Info, how);
                Vec::new()
            }
            KeyCode::Char('d') if self.is_comparing() => {
                self.compare.diff = match self.compare.diff {
                    DiffView::Off => DiffView::Words,
                    DiffView::Words => DiffView::Off,
                };
                Vec::new()
            }
            KeyCode::Char('t') => {
                let at = TEMPERATURES
                    .iter()
                    .position(|t| *t == self.lane.temperature);
                self.lane.temperature = at
                    .and_then(|i| TEMPERATURES.get(i + 1))
                    .copied()
                    .unwrap_or(TEMPERATURES[0]);
                let what = match self.lane.temperature {
                    Some(t) => format!("temperature {t}"),
                    None => "the provider's default temperature".to_string(),
                };
                let whose = if self.is_comparing() {
                    format!("lane {}", self.compare.focus + 1)
                } else {
                    "this chat".to_string()
                };
                self.set_status(
                    StatusTone::Info,
                    format!("{whose}: {what} (Alt-T changes; Alt-N adds a lane to compare)"),
                );
                Vec::new()
            }
            KeyCode::Char('r') => {
                let at = REPEATS.iter().position(|r| *r == self.compare.repeat);
                self.compare.repeat = at
                    .and_then(|i| REPEATS.get(i + 1))
                    .copied()
                    .unwrap_or(REPEATS[0]);
                let how = match self.compare.repeat {
                    1 => "repeat off: Enter sends each message once".to_string(),
                    n => format!(
                        "repeat ×{n}: Enter sends each message {n} times per lane, to see how much the replies vary (Alt-R changes)"
                    ),
                };
                self.set_status(StatusTone::Info, how);
                Vec::new()
            }
            KeyCode::Char('a') => {
                self.compare.rerun_on_save = match self.compare.rerun_on_save {
                    RerunOnSave::Off => RerunOnSave::On,
                    RerunOnSave::On => RerunOnSave::Off,
                };
                let how = match self.compare.rerun_on_save {
                    RerunOnSave::On => {
                        "re-run on save: on — saving a lane's prompt re-runs the last message in a new lane"
                    }
                    RerunOnSave::Off => "re-run on save: off",
                };
                self.set_status(StatusTone::Info, how);
                Vec::new()
            }
            _ => return None,
        };
        Some(effects)
    }

    /// The lanes the paging keys move.
    pub(super) fn scrolled_lanes(&self) -> impl Iterator<Item = &Lane> {
        let all = self.compare.scroll == ScrollLink::Together;
        std::iter::once(&self.lane).chain(self.others.iter().filter(move |_| all))
    }

    /// Says which lane a request's warning is about, in a compare.
    pub(super) fn lane_prefix(&self, id: RequestId) -> String {
        match (self.is_comparing(), self.lane_number_of(id)) {
            (true, Some(n)) => format!("lane {n}: "),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
