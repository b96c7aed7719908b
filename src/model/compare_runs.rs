//! A message through every lane of a compare: Enter sends one request per lane (and per
//! run, with repeats), a save of a lane's prompt re-runs the last message in a new lane, and
//! the lanes' latest replies are set against each other (the summary row, the word diff).
//! The lanes themselves, their keys and layout state are in [`super::compare`].

use std::time::Instant;

use super::compare::{DiffView, MAX_REPEAT, RerunOnSave};
use super::lane::Lane;
use super::prompt::{ActivePrompt, Tracking};
use super::reply::Run;
use super::{Effect, Entry, Model, StatusTone, fresh_composer, normalize_history};
use crate::event::RequestId;
use crate::llm::{Message, Role};
use crate::request::RequestSpec;
use crate::request::verdict::Contender;

impl Model {
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
}
