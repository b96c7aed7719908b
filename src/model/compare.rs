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
use super::reply::Run;
use super::{Effect, Entry, Model, Scroll, StatusTone, fresh_composer, normalize_history};
use crate::event::RequestId;
use crate::llm::{Message, Role};
use std::sync::Arc;

use crate::prompts::LoadedPrompt;
use crate::request::RequestSpec;
use crate::request::verdict::Contender;

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
    pub(super) fn scrolled_lanes(&mut self) -> Vec<&mut Lane> {
        match self.compare.scroll {
            ScrollLink::Together => self.lanes_mut().collect(),
            ScrollLink::Independent => vec![&mut self.lane],
        }
    }

    /// Enter in a compare: the message goes to every lane at once, each through the one
    /// request path. The message appears in every lane at once (a lane the limiter refuses
    /// says so in its own column, and its message is stored all the same).
    pub(super) fn send_to_every_lane(&mut self, message: String, now: Instant) -> Vec<Effect> {
        let mut systems = Vec::new();
        for (i, lane) in self.lanes().into_iter().enumerate() {
            let checked = if i == self.compare.focus {
                self.system_prompt()
            } else {
                self.system_prompt_of(lane)
            };
            match checked {
                Ok(system) => systems.push(system),
                Err(problem) => {
                    self.set_status(StatusTone::Error, format!("lane {}: {problem}", i + 1));
                    return Vec::new();
                }
            }
        }
        let mut effects = Vec::new();
        let runs = self.compare.repeat.clamp(1, MAX_REPEAT);
        for (i, system) in systems.into_iter().enumerate() {
            let ids: Vec<RequestId> = (0..runs).map(|_| self.next_request_id()).collect();
            let lane = self.lanes()[i];
            let mut messages = lane.transcript.history();
            messages.push(Message {
                role: Role::User,
                content: message.clone(),
            });
            let provenance = system.provenance.clone();
            let mut spec = self.spec_of(
                lane,
                system,
                normalize_history(messages),
                Some(message.clone()),
            );
            // The message leaves the shared composer at once: it is stored even when the
            // limiter refuses it.
            spec.store_even_if_refused = true;
            let mut replies = Vec::with_capacity(ids.len());
            let mut waiting = Vec::new();
            for (n, id) in ids.iter().enumerate() {
                let mut reply = self.new_reply(lane, *id, provenance.clone(), now);
                let number = n as u32 + 1;
                if runs > 1 {
                    reply.run = Some(Run { number, of: runs });
                    // The last run continues the conversation (as it will when reopened:
                    // its reply is stored last).
                    reply.superseded = number < runs;
                }
                replies.push(reply);
                if n > 0 {
                    // Later runs append to the conversation the first one stores the
                    // message in; they start once it has (`PumpEvent::Stored`).
                    let run = RequestSpec {
                        user_text: None,
                        ..spec.clone()
                    };
                    waiting.push((*id, Box::new(run)));
                }
            }
            let lane = self.lane_at_mut(i);
            lane.transcript.push(Entry::User {
                text: message.clone(),
            });
            for reply in replies {
                lane.transcript.push(Entry::Reply(Box::new(reply)));
            }
            lane.active = ids.first().copied();
            lane.runs = ids.iter().skip(1).copied().collect();
            lane.waiting_runs = waiting;
            lane.selected_reply = None;
            lane.scroll = Scroll::Follow;
            if let Some(id) = ids.first() {
                effects.push(Effect::StartRequest {
                    id: *id,
                    spec: Box::new(spec),
                });
            }
        }
        self.composer = fresh_composer(&self.composer);
        self.composer_changed(now);
        self.status = None;
        effects
    }

    /// The lane at screen position `i` (clamped to the last).
    fn lane_at_mut(&mut self, i: usize) -> &mut Lane {
        let focus = self.compare.focus.min(self.others.len());
        match i.cmp(&focus) {
            std::cmp::Ordering::Equal => &mut self.lane,
            std::cmp::Ordering::Less => &mut self.others[i],
            std::cmp::Ordering::Greater => {
                let last = self.others.len() - 1;
                &mut self.others[(i - 1).min(last)]
            }
        }
    }

    /// A save of prompt `name` produced `prompt` (already recorded as a session version): with
    /// re-run on save, every lane that answered its last message with an earlier text of it
    /// keeps that text (pinned) and a new lane beside it re-runs the message on the new one.
    /// Returns the requests started, or `None` when nothing was re-run (the lanes that follow
    /// the file then just pick the new text up).
    pub(super) fn rerun_on_save(
        &mut self,
        prompt: &ActivePrompt,
        now: Instant,
    ) -> Option<Vec<Effect>> {
        if self.compare.rerun_on_save == RerunOnSave::Off {
            return None;
        }
        let name = &prompt.provenance.name;
        let comparing = self.is_comparing();
        // In a compare, pinned lanes (an older commit, a session edit) are the baselines.
        let position = self.lanes().iter().position(|l| {
            l.prompt.as_ref().is_some_and(|p| {
                p.provenance.name == *name
                    && p.provenance.content_hash != prompt.provenance.content_hash
                    && (p.tracking == Tracking::WorkingTree || !comparing)
            }) && !l.is_streaming()
                && l.transcript
                    .entries()
                    .any(|e| matches!(e, Entry::User { .. }))
        })?;
        self.focus_lane(position);
        // The lane stays on the version that produced its replies.
        if let Some(old) = self.lane.prompt.as_mut() {
            old.tracking = Tracking::Pinned;
        }
        let mut lane = self.lane_like_focused(Some(prompt.clone()));
        // The new lane repeats the conversation up to the last message, then sends it.
        let entries: Vec<Entry> = self.lane.transcript.entries().cloned().collect();
        let last_user = entries
            .iter()
            .rposition(|e| matches!(e, Entry::User { .. }))?;
        let Entry::User { text } = &entries[last_user] else {
            return None;
        };
        let text = text.clone();
        for entry in entries.into_iter().take(last_user) {
            lane.transcript.push(entry);
        }
        if !self.add_lane(lane) {
            return Some(Vec::new());
        }
        let system = match self.system_prompt() {
            Ok(system) => system,
            Err(problem) => {
                self.set_status(StatusTone::Error, problem);
                return Some(Vec::new());
            }
        };
        let id = self.next_request_id();
        let mut messages = self.lane.transcript.history();
        messages.push(Message {
            role: Role::User,
            content: text.clone(),
        });
        let provenance = system.provenance.clone();
        let spec = self.spec_of(
            &self.lane,
            system,
            normalize_history(messages),
            Some(text.clone()),
        );
        let reply = self.new_reply(&self.lane, id, provenance, now);
        self.lane.transcript.push(Entry::User { text });
        self.lane.transcript.push(Entry::Reply(Box::new(reply)));
        self.lane.active = Some(id);
        self.set_status(
            StatusTone::Info,
            format!(
                "{} saved — re-running the last message in lane {}",
                crate::text::sanitize(name),
                self.compare.focus + 1
            ),
        );
        Some(vec![Effect::StartRequest {
            id,
            spec: Box::new(spec),
        }])
    }

    /// The lanes' latest replies as contenders for the summary row, once none is streaming.
    pub fn contenders(&self) -> Vec<Contender> {
        let lanes = self.lanes();
        if lanes.iter().any(|l| l.is_streaming()) {
            return Vec::new();
        }
        lanes
            .iter()
            .enumerate()
            .filter_map(|(i, lane)| {
                let reply = lane.transcript.last_reply()?;
                let cost = reply.cost();
                Some(Contender {
                    name: format!("lane {}", i + 1),
                    answered: !reply.text().is_empty(),
                    ttft_ms: reply.ttft().map(|d| d.as_millis() as u64),
                    cost_usd: cost.usd(),
                    cost_label: cost.to_string(),
                    output_tokens: Some(reply.output_tokens().0),
                })
            })
            .collect()
    }

    /// The two latest replies the word diff compares: the focused lane's and the next lane's
    /// (wrapping around), with their lanes' screen positions.
    pub fn diff_pair(&self) -> Option<(usize, usize)> {
        if self.compare.diff == DiffView::Off || !self.is_comparing() {
            return None;
        }
        let a = self.compare.focus.min(self.others.len());
        let b = (a + 1) % (self.others.len() + 1);
        Some((a, b))
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
