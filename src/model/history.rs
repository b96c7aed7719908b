//! Conversations from the database: the list (Ctrl-O), and reopening one (`--resume`).
//!
//! A resumed conversation's messages become the transcript (replies with their stored state:
//! complete, interrupted, cancelled, failed, and their usage), new messages are appended to the
//! same conversation, and the prompt version it was held with becomes active again.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::lane::Lane;
use super::prompt::Loadable;
use super::prompt::Tracking;
use super::transcript::{Entry, Reply, ReplyState};
use super::{Effect, Mode, Model, Status, StatusTone};
use crate::event::{RequestId, ResolvePurpose};
use crate::llm::retry::Progress;
use crate::llm::{LlmError, Role, StopReason, StreamEvent};
use crate::prompts::provenance::INLINE_PROMPT_NAME;
use crate::prompts::{ContentHash, GitState, Provenance, Reference};
use crate::records::{
    ConversationId, ConversationMessage, ConversationRow, ConversationWithMessages, HistoryError,
    ListedConversation, MessageState, PromptCommit, PromptVersion, Reopened, RequestRow,
};
use crate::request::{Stamp, Stamped};
use std::sync::Arc;

/// How many conversations the list shows.
pub const CONVERSATION_LIST_ROWS: usize = 200;

/// Which conversation to reopen at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeTarget {
    /// The most recently active one.
    Latest,
    /// This one.
    Id(ConversationId),
}

/// Longest search typed into the conversation list, in characters.
pub const SEARCH_MAX_CHARS: usize = 200;

/// The conversation list's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationList {
    /// The rows of the last answer (kept on screen while a new search runs).
    pub rows: Loadable<Vec<ListedConversation>>,
    pub selected: usize,
    /// What the user typed: words every listed conversation's title or messages contain.
    pub filter: String,
    /// The number of the newest search asked for; an answer to an older one is ignored.
    pub generation: u64,
    /// The search of the rows shown; differs from `generation` while a newer one runs.
    pub answered: u64,
}

impl ConversationList {
    /// Whether a search is running whose answer will replace the rows.
    pub fn is_waiting(&self) -> bool {
        self.answered != self.generation || matches!(self.rows, Loadable::Loading)
    }
}

/// A stored prompt version as the provenance the rest of promptdeck speaks.
pub fn provenance_of(version: &PromptVersion) -> Option<Provenance> {
    let hash = version
        .content_hash
        .rsplit_once(':')
        .map_or(version.content_hash.as_str(), |(_, h)| h);
    Some(Provenance {
        name: version.name.clone(),
        content_hash: ContentHash::from_hex(hash)?,
        git: match &version.commit {
            PromptCommit::Commit(id) => GitState::Commit(id.clone()),
            PromptCommit::Uncommitted => GitState::Uncommitted,
        },
    })
}

impl Model {
    pub(super) fn open_conversations(&mut self) -> Vec<Effect> {
        self.mode = Mode::Conversations(ConversationList {
            rows: Loadable::Loading,
            selected: 0,
            filter: String::new(),
            generation: 1,
            answered: 0,
        });
        vec![Effect::LoadConversations {
            filter: String::new(),
            limit: CONVERSATION_LIST_ROWS,
            generation: 1,
        }]
    }

    pub(super) fn on_conversations(
        &mut self,
        generation: u64,
        result: Result<Vec<ListedConversation>, HistoryError>,
    ) -> Vec<Effect> {
        if let Mode::Conversations(list) = &mut self.mode
            && generation == list.generation
        {
            list.answered = generation;
            list.selected = 0;
            list.rows = match result {
                Ok(rows) => Loadable::Ready(rows),
                Err(e) => Loadable::Failed(crate::text::sanitize(&e.to_string())),
            };
        }
        Vec::new()
    }

    /// The filter changed: a new search (the rows shown stay until it answers).
    fn search_conversations(list: &mut ConversationList) -> Vec<Effect> {
        list.generation += 1;
        vec![Effect::LoadConversations {
            filter: list.filter.clone(),
            limit: CONVERSATION_LIST_ROWS,
            generation: list.generation,
        }]
    }

    pub(super) fn conversations_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Mode::Conversations(list) = &mut self.mode else {
            return Vec::new();
        };
        let count = match &list.rows {
            Loadable::Ready(rows) => rows.len(),
            _ => 0,
        };
        let last = count.saturating_sub(1);
        match key.code {
            KeyCode::Esc => self.mode = Mode::Chat,
            KeyCode::Char('o') if ctrl => self.mode = Mode::Chat,
            KeyCode::Up => list.selected = list.selected.saturating_sub(1),
            KeyCode::Down => list.selected = (list.selected + 1).min(last),
            KeyCode::PageUp => list.selected = list.selected.saturating_sub(10),
            KeyCode::PageDown => list.selected = (list.selected + 10).min(last),
            KeyCode::Home => list.selected = 0,
            KeyCode::End => list.selected = last,
            KeyCode::Backspace if !list.filter.is_empty() => {
                list.filter.pop();
                return Self::search_conversations(list);
            }
            KeyCode::Char('u') if ctrl && !list.filter.is_empty() => {
                list.filter.clear();
                return Self::search_conversations(list);
            }
            KeyCode::Char(c)
                if !ctrl && !c.is_control() && list.filter.chars().count() < SEARCH_MAX_CHARS =>
            {
                list.filter.push(c);
                return Self::search_conversations(list);
            }
            KeyCode::Enter => {
                let id = match &list.rows {
                    Loadable::Ready(rows) => rows.get(list.selected).map(|r| r.row.id),
                    _ => None,
                };
                if let Some(id) = id {
                    self.mode = Mode::Chat;
                    return self.request_resume(ResumeTarget::Id(id));
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Asks for a conversation to reopen, unless a reply is streaming.
    pub(super) fn request_resume(&mut self, target: ResumeTarget) -> Vec<Effect> {
        if self.streaming_lane().is_some() {
            self.status = Some(Status {
                tone: StatusTone::Warning,
                text: "a reply is streaming — cancel it (Esc) before opening another conversation"
                    .into(),
            });
            return Vec::new();
        }
        vec![Effect::LoadConversation { target }]
    }

    /// A conversation was read: it becomes the transcript, and later messages continue it. A
    /// lane of a compare run comes back with the run's other lanes, as a compare.
    pub(super) fn on_conversation_loaded(
        &mut self,
        result: Result<Reopened, HistoryError>,
        now: Instant,
    ) -> Vec<Effect> {
        let reopened = match result {
            Ok(c) => c,
            Err(e) => {
                self.status = Some(Status {
                    tone: StatusTone::Error,
                    text: format!(
                        "cannot reopen the conversation: {}",
                        crate::text::sanitize(&e.to_string())
                    ),
                });
                return Vec::new();
            }
        };
        if self.streaming_lane().is_some() || reopened.lanes.is_empty() {
            return Vec::new();
        }
        let focus = reopened.focus.min(reopened.lanes.len() - 1);
        let comparing = reopened.lanes.len() > 1;
        let mut lanes = Vec::with_capacity(reopened.lanes.len());
        let mut effects = Vec::new();
        for (i, loaded) in reopened.lanes.iter().enumerate() {
            let (mut lane, resolve) = self.lane_from_stored(loaded, now);
            if comparing {
                // Lanes may differ by model: each asks the model of its last request again.
                if let Some(model) = loaded
                    .messages
                    .iter()
                    .rev()
                    .find_map(|m| Some(m.request.as_ref()?.gen_ai_request_model.clone()))
                {
                    lane.model = model;
                }
                // … and its temperature.
                if let Some(params) = loaded
                    .messages
                    .iter()
                    .rev()
                    .find_map(|m| m.request.as_ref()?.request_params.as_ref())
                {
                    lane.temperature = params.temperature;
                }
            }
            // A prompt resolved from git is activated into the focused lane; another lane
            // with an unresolved prompt refuses to send until one is picked for it.
            if i == focus {
                effects.extend(resolve);
            }
            lanes.push(lane);
        }
        let focused = &reopened.lanes[focus];
        let conversation = &focused.conversation;
        let lanes_note = if comparing {
            format!(" · compare of {} lanes", lanes.len())
        } else {
            String::new()
        };
        self.status = Some(Status {
            tone: StatusTone::Info,
            text: format!(
                "resumed conversation {}{} ({} messages){lanes_note}",
                conversation.id.0,
                conversation
                    .title
                    .as_deref()
                    .map(|t| format!(": {}", crate::text::sanitize(t)))
                    .unwrap_or_default(),
                focused.messages.len()
            ),
        });
        self.lane = lanes.remove(focus);
        self.others = lanes;
        // An edit of the conversation shown before is over.
        self.editing = None;
        self.branching = None;
        self.compare.focus = focus;
        self.compare.id = if comparing { reopened.compare_id } else { None };
        effects
    }

    /// A lane showing a stored conversation: its transcript, its totals, its prompt version
    /// and variable values, exactly, or none. Returns the lane, and the resolution to ask for
    /// when the prompt's text is not in the database.
    fn lane_from_stored(
        &mut self,
        loaded: &ConversationWithMessages,
        now: Instant,
    ) -> (Lane, Vec<Effect>) {
        let mut lane = Lane::new(&self.session);
        lane.model = self.lane.model.clone();
        lane.max_tokens = self.lane.max_tokens;
        lane.temperature = self.lane.temperature;
        for item in &loaded.messages {
            let m = &item.message;
            match m.role {
                Role::User => lane.transcript.push(Entry::User {
                    text: m.content.clone(),
                }),
                Role::Assistant => {
                    let id = self.next_request_id();
                    let reply = self.stored_reply(id, item, &loaded.conversation, now);
                    // Two replies in a row: the first was retried (Ctrl-R) by the second.
                    if let Some(Entry::Reply(previous)) = lane.transcript.entries().last() {
                        let previous = previous.id;
                        lane.transcript.supersede(previous);
                    }
                    lane.transcript.push(Entry::Reply(Box::new(reply)));
                }
            }
        }
        let conversation = &loaded.conversation;
        lane.conversation = Some(conversation.id);
        // The variable values of the last request come back with its prompt.
        if let Some(params) = loaded
            .messages
            .iter()
            .rev()
            .find_map(|m| m.request.as_ref()?.request_params.as_ref())
        {
            for (name, value) in &params.variables {
                lane.vars.insert(name.clone(), value.clone());
            }
        }
        // The prompt version of the last reply (else the conversation's first) becomes
        // active again: from its stored text when the database has it (an uncommitted or
        // session version may no longer exist anywhere else), else resolved from git.
        let version = loaded
            .messages
            .iter()
            .rev()
            .find_map(|m| m.request.as_ref()?.prompt.clone())
            .or_else(|| conversation.prompt.clone());
        // Reopened without a prompt: the prompt of the conversation shown before must not
        // drive this one (it would be sent silently as its system prompt).
        let Some(version) = version else {
            return (lane, Vec::new());
        };
        let stored = loaded.prompt_texts.get(&version.content_hash);
        match (provenance_of(&version), stored) {
            (Some(provenance), Some(text)) if provenance.name != INLINE_PROMPT_NAME => {
                let prompt =
                    self.prompts
                        .activate(provenance, Arc::from(text.as_str()), Tracking::Pinned);
                lane.prompt = Some(prompt);
                (lane, Vec::new())
            }
            // Made with an inline system text: no library prompt either.
            (Some(provenance), _) if provenance.name == INLINE_PROMPT_NAME => (lane, Vec::new()),
            _ => {
                // Until it is resolved nothing is sent, rather than the prompt shown before.
                lane.unresolved = Some(version.reference());
                let resolve = match Reference::parse(&version.reference()) {
                    Ok(reference) => vec![Effect::ResolvePrompt {
                        reference,
                        purpose: ResolvePurpose::Activate,
                    }],
                    Err(_) => Vec::new(),
                };
                (lane, resolve)
            }
        }
    }

    /// A stored reply rebuilt by replaying its request row through the ledger.
    fn stored_reply(
        &self,
        id: RequestId,
        item: &ConversationMessage,
        conversation: &ConversationRow,
        now: Instant,
    ) -> Reply {
        let m = &item.message;
        let row = item.request.as_ref();
        let model = row.map_or(conversation.model.clone(), |r| {
            r.gen_ai_request_model.clone()
        });
        let mut reply = Reply::new(
            id,
            model.clone(),
            self.session.provider_label.clone(),
            now,
            std::sync::Arc::clone(&self.prices),
        );
        reply.prompt = row.and_then(|r| r.prompt.as_ref().and_then(provenance_of));
        reply.log_id = row.map(|r| r.id);
        // The stored numbers go through the ledger like live ones: one rule.
        for item in replayed(row, &model, &m.content, now) {
            reply.ledger.apply(&item);
        }
        let stop = row
            .and_then(|r| r.gen_ai_response_finish_reasons.first())
            .map_or(StopReason::EndTurn, |s| StopReason::from_wire(s));
        let state = match m.state {
            MessageState::Complete => ReplyState::Finished(stop),
            MessageState::Cancelled => ReplyState::Cancelled,
            MessageState::Interrupted | MessageState::Streaming => {
                ReplyState::Failed(LlmError::Interrupted)
            }
            MessageState::Failed => ReplyState::Failed(LlmError::Stream {
                kind: row
                    .and_then(|r| r.error_type.clone())
                    .unwrap_or_else(|| "error".into()),
                message: row
                    .and_then(|r| r.error_message.clone())
                    .unwrap_or_else(|| "the request failed".into()),
            }),
        };
        let took = row
            .and_then(|r| r.duration_ms)
            .and_then(|v| u64::try_from(v).ok())
            .map(Duration::from_millis)
            .unwrap_or_default();
        reply.end(state, now + took);
        reply
    }
}

/// A stored reply as the stamped progress that would have produced it: its attempt, the
/// server's ids, the text at its time to first token, the usage, and the end.
fn replayed(row: Option<&RequestRow>, model: &str, text: &str, now: Instant) -> Vec<Stamped> {
    let ms = |v: Option<i64>| {
        v.and_then(|v| u64::try_from(v).ok())
            .map(Duration::from_millis)
            .unwrap_or_default()
    };
    let start = Stamp {
        at: now,
        unix_ms: row.map_or(0, |r| u64::try_from(r.started_at_ms).unwrap_or(0)),
    };
    let item = |after: Duration, progress: Progress| Stamped {
        stamp: start.after(after),
        progress,
    };
    let first = ms(row.and_then(|r| r.time_to_first_chunk_ms));
    let mut items = vec![item(
        Duration::ZERO,
        Progress::AttemptStarted {
            number: 1,
            model: row
                .map_or(model, |r| r.gen_ai_request_model.as_str())
                .to_string(),
        },
    )];
    if let Some(r) = row {
        items.push(item(
            Duration::ZERO,
            Progress::Event(StreamEvent::Started {
                model: r.gen_ai_response_model.clone(),
                response_id: r.gen_ai_response_id.clone(),
                request_id: r.provider_request_id.clone(),
            }),
        ));
    }
    if !text.is_empty() {
        items.push(item(
            first,
            Progress::Event(StreamEvent::TextDelta(text.to_string())),
        ));
    }
    if let Some(r) = row {
        let mut usage = r.usage();
        if r.output_estimated {
            // The log's number was an estimate from this text: the ledger makes it again.
            usage.output_tokens = None;
        }
        if !usage.is_unreported() {
            items.push(item(first, Progress::Event(StreamEvent::Usage(usage))));
        }
    }
    items
}
