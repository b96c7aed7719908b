//! Sending: from Enter (or Ctrl-R) to the [`RequestSpec`] built once, its admission, and what
//! the request's pump reports until it ends.

use std::sync::Arc;
use std::time::Instant;

use super::admission::PendingSend;
use super::prompt::SystemPrompt;
use super::{
    Effect, Entry, Lane, Model, Reply, Status, StatusTone, fresh_composer, normalize_history,
};
use crate::event::RequestId;
use crate::llm::retry::Progress;
use crate::llm::{ChatRequest, LlmError, Message, Role, StreamEvent};
use crate::records::ConversationId;
use crate::request::{End, PumpEvent, RequestSpec};

impl Model {
    /// What the pump of request `id` reports, in order.
    pub(super) fn on_request_event(
        &mut self,
        id: RequestId,
        event: PumpEvent,
        now: Instant,
    ) -> Vec<Effect> {
        match event {
            PumpEvent::Admitted { attempt, decision } => {
                return self.on_admission(id, attempt, decision, now);
            }
            PumpEvent::Stored { conversation } => {
                // Only a lane on screen: after Ctrl-O another conversation may be shown.
                if let Some(lane) = self.lane_of(id) {
                    lane.conversation = Some(conversation);
                    if lane.active == Some(id) {
                        return start_waiting_runs(lane, Some(conversation));
                    }
                }
            }
            PumpEvent::Progress(stamped) => {
                // Attempt 1 starts after the message is stored; without a database nothing
                // was, and the other runs go now.
                if let Progress::AttemptStarted { number: 1, .. } = &stamped.progress
                    && let Some(lane) = self.lane_of(id)
                    && lane.active == Some(id)
                    && !lane.waiting_runs.is_empty()
                {
                    let conversation = lane.conversation;
                    let mut effects = start_waiting_runs(lane, conversation);
                    effects.extend(self.on_request_event(id, PumpEvent::Progress(stamped), now));
                    return effects;
                }
                if let Progress::Event(StreamEvent::Notice(notice)) = &stamped.progress
                    && self.lane_of(id).is_some()
                {
                    self.status = Some(Status {
                        tone: StatusTone::Warning,
                        text: format!("{}{}", self.lane_prefix(id), crate::text::sanitize(notice)),
                    });
                }
                if let Some(lane) = self.lane_of(id)
                    && lane.transcript.apply(id, &stamped)
                {
                    self.end_request(id);
                }
            }
            PumpEvent::Logged { log_id, .. } => {
                if let Some(lane) = self.lane_of(id) {
                    lane.transcript.set_log_id(id, log_id);
                }
            }
            PumpEvent::Warning(text) => {
                self.status = Some(Status {
                    tone: StatusTone::Warning,
                    text: format!("{}{}", self.lane_prefix(id), crate::text::sanitize(&text)),
                });
            }
        }
        Vec::new()
    }

    /// Request `id` is over and its log written.
    pub(super) fn on_request_ended(&mut self, id: RequestId, end: End, now: Instant) {
        let error = match end {
            End::Finished(_) | End::Cancelled => None,
            End::Failed(error) => Some(error),
            End::Refused { message, .. } => Some(LlmError::LocalLimit { message }),
            End::LimiterFailed { message, .. } => {
                self.on_limiter_failed(id, &message);
                Some(LlmError::LocalLimit { message })
            }
        };
        if let Some(lane) = self.lane_of(id) {
            let error = error.unwrap_or(LlmError::Interrupted);
            lane.transcript.fail(id, error, now);
            self.end_request(id);
        }
    }

    /// Bookkeeping when request `id` is over, however it ended: its lane stops streaming and
    /// adds it to its totals.
    pub(super) fn end_request(&mut self, id: RequestId) {
        let mut calibration = std::mem::take(&mut self.calibration);
        self.end_request_in_lane(id, &mut calibration);
        self.calibration = calibration;
    }

    fn end_request_in_lane(&mut self, id: RequestId, calibration: &mut super::reply::Calibration) {
        let Some(lane) = self.lane_of(id) else {
            return;
        };
        if lane.active == Some(id) {
            lane.active = None;
        }
        lane.runs.retain(|run| *run != id);
        if let Some(reply) = lane.transcript.reply(id) {
            lane.totals.add(reply);
            calibration.learn(reply);
        }
        // The first run ended before storing the message: the others are never sent.
        if lane.active.is_none() {
            let why = match lane.transcript.reply(id).map(|r| &r.state) {
                Some(super::ReplyState::Failed(e)) => format!(" ({})", e.kind()),
                _ => String::new(),
            };
            // When the first run ended: no clock is read here.
            let ended = lane
                .transcript
                .reply(id)
                .map(|r| r.ended_at().unwrap_or(r.sent_at));
            for (waiting, _) in std::mem::take(&mut lane.waiting_runs) {
                lane.runs.retain(|run| *run != waiting);
                let error = LlmError::LocalLimit {
                    message: format!("run 1 ended before the message was stored{why}"),
                };
                let at = ended.or_else(|| lane.transcript.reply(waiting).map(|r| r.sent_at));
                if let Some(at) = at {
                    lane.transcript.fail(waiting, error, at);
                }
            }
        }
    }

    pub(super) fn send(&mut self, now: Instant) -> Vec<Effect> {
        let message = self.composer_text();
        if message.trim().is_empty() {
            return Vec::new();
        }
        if let Some(n) = self.streaming_lane() {
            let text = if self.is_comparing() {
                format!("lane {n} is still streaming — wait, or press Esc to cancel every lane")
            } else {
                "a reply is still streaming — wait, or press Esc to cancel it".into()
            };
            self.status = Some(Status {
                tone: StatusTone::Warning,
                text,
            });
            return Vec::new();
        }
        if self.admission.pending.is_some() {
            return Vec::new();
        }
        let effects = if self.is_comparing() || self.compare.repeat > 1 {
            self.send_to_every_lane(message.clone(), now)
        } else {
            self.dispatch_send(message.clone(), now)
        };
        if !effects.is_empty() {
            self.remember_sent(&message);
        }
        effects
    }

    /// Ctrl-R: sends the last user message again after a failed or cancelled reply.
    pub(super) fn retry(&mut self, now: Instant) -> Vec<Effect> {
        if self.lane.active.is_some() || self.admission.pending.is_some() {
            return Vec::new();
        }
        let Some(failed) = self.lane.transcript.retryable() else {
            self.status = Some(Status {
                tone: StatusTone::Info,
                text: "nothing to retry: the last reply did not fail".into(),
            });
            return Vec::new();
        };
        let Ok(system) = self.checked_system_prompt() else {
            return Vec::new();
        };
        let messages = self.lane.transcript.history_without(Some(failed));
        self.start_request(messages, system, None, Some(failed), now)
    }

    /// Builds the request for the composer's message and starts it.
    pub(super) fn dispatch_send(&mut self, message: String, now: Instant) -> Vec<Effect> {
        let Ok(system) = self.checked_system_prompt() else {
            return Vec::new();
        };
        let mut messages = self.lane.transcript.history();
        messages.push(Message {
            role: Role::User,
            content: message.clone(),
        });
        let messages = normalize_history(messages);
        self.start_request(messages, system, Some(message), None, now)
    }

    /// The system prompt and its version, or why it cannot be built (said on the status line).
    fn checked_system_prompt(&mut self) -> Result<SystemPrompt, ()> {
        self.system_prompt().map_err(|problem| {
            self.status = Some(Status {
                tone: StatusTone::Error,
                text: problem,
            });
        })
    }

    /// Builds the [`RequestSpec`] once and starts it. Without a limiter the message moves to
    /// the transcript at once; with one, when attempt 1 is admitted.
    fn start_request(
        &mut self,
        messages: Vec<Message>,
        system: SystemPrompt,
        user_text: Option<String>,
        retry_of: Option<RequestId>,
        now: Instant,
    ) -> Vec<Effect> {
        let id = self.next_request_id();
        let spec = self.spec_of(&self.lane, system.clone(), messages, user_text.clone());
        let pending = PendingSend {
            id,
            user_text,
            retry_of,
            prompt: system.provenance,
        };
        if self.admission.limits.is_some() {
            self.admission.pending = Some(pending);
        } else {
            self.commit(pending, now);
        }
        vec![Effect::StartRequest {
            id,
            spec: Box::new(spec),
        }]
    }

    /// The request was admitted: its message leaves the composer and its reply appears (the
    /// view follows a message sent: `ui::layout`).
    pub(super) fn commit(&mut self, pending: PendingSend, now: Instant) {
        if let Some(text) = &pending.user_text {
            self.lane
                .transcript
                .push(Entry::User { text: text.clone() });
            if self.composer_text() == *text {
                self.composer = fresh_composer(&self.composer);
                self.composer_changed(now);
            }
        }
        if let Some(failed) = pending.retry_of {
            self.lane.transcript.supersede(failed);
        }
        let reply = self.new_reply(&self.lane, pending.id, pending.prompt, now);
        self.lane.transcript.push(Entry::Reply(Box::new(reply)));
        self.lane.active = Some(pending.id);
        self.status = None;
    }

    /// A fresh id for a request.
    pub(super) fn next_request_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    /// The [`RequestSpec`] of a message from `lane`: its model and parameters, its
    /// conversation, and (in a compare) the compare run's id.
    pub(super) fn spec_of(
        &self,
        lane: &Lane,
        system: SystemPrompt,
        messages: Vec<Message>,
        user_text: Option<String>,
    ) -> RequestSpec {
        let comparing = self.is_comparing();
        RequestSpec {
            request: ChatRequest {
                model: lane.model.clone(),
                system: system.text,
                messages,
                max_tokens: lane.max_tokens,
                temperature: lane.temperature,
            },
            prompt: system.provenance,
            prompt_text: match &lane.prompt {
                Some(active) => Some(active.text.clone()),
                None => self.session.system.as_deref().map(Arc::from),
            },
            variables: system.variables,
            conversation: lane.conversation,
            user_text,
            // A lane refused by the limit keeps its message in the database: the composer
            // is shared, and the other lanes have taken the message out of it.
            store_even_if_refused: comparing,
            compare_id: if comparing {
                self.compare.id.clone()
            } else {
                None
            },
        }
    }

    /// The reply of request `id` about to stream into `lane`.
    pub(super) fn new_reply(
        &self,
        lane: &Lane,
        id: RequestId,
        prompt: Option<crate::prompts::Provenance>,
        now: Instant,
    ) -> Reply {
        let mut reply = Reply::new(
            id,
            lane.model.clone(),
            self.session.provider_label.clone(),
            now,
            Arc::clone(&self.prices),
        );
        reply.prompt = prompt;
        reply
    }

    pub(super) fn cancel(&mut self, now: Instant) -> Vec<Effect> {
        if let Some(pending) = self.admission.pending.take() {
            self.status = Some(Status {
                tone: StatusTone::Info,
                text: "not sent — the message stays here".into(),
            });
            return vec![Effect::CancelRequest { id: pending.id }];
        }
        if self.is_comparing() || !self.lane.runs.is_empty() {
            return self.cancel_every_lane(now);
        }
        match self.lane.active {
            Some(id) => {
                self.lane.transcript.cancel(id, now);
                self.end_request(id);
                self.status = Some(Status {
                    tone: StatusTone::Info,
                    text: "reply cancelled — the partial text is kept".into(),
                });
                vec![Effect::CancelRequest { id }]
            }
            None => {
                self.status = None;
                Vec::new()
            }
        }
    }

    pub(super) fn quit(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = self.cancel(now);
        effects.push(Effect::Quit);
        effects
    }
}

/// Starts the runs of `lane` that waited for the first to store the message in
/// `conversation`.
fn start_waiting_runs(lane: &mut Lane, conversation: Option<ConversationId>) -> Vec<Effect> {
    std::mem::take(&mut lane.waiting_runs)
        .into_iter()
        .map(|(id, mut spec)| {
            spec.conversation = conversation;
            Effect::StartRequest { id, spec }
        })
        .collect()
}
