//! Lanes: what one column of a conversation view is made of.
//!
//! A lane is a prompt version with its variable values and a model with its parameters,
//! together with the transcript and the totals they produced. A plain chat is one lane; a
//! compare run puts two or more side by side on the same input, each with its own request
//! (through the one request path) and its own numbers. Reopening a conversation (Ctrl-O,
//! `--resume`) restores exactly its lanes' prompt versions and variables, or none.

use std::collections::BTreeMap;

use super::prompt::ActivePrompt;
use super::transcript::{Measure, Reply};
use super::{Effect, ScrollTarget, ScrollTo, Session, Transcript};
use crate::event::RequestId;
use crate::records::ConversationId;
use crate::request::RequestSpec;

/// One column of a conversation view.
#[derive(Debug)]
pub struct Lane {
    /// The prompt version behind its system prompt; `None` sends the session's inline
    /// `system` text, if any.
    pub prompt: Option<ActivePrompt>,
    /// Values for the prompt's `{{name}}` variables (from `--var` and the form).
    pub vars: BTreeMap<String, String>,
    /// The model its next message asks.
    pub model: String,
    /// `max_tokens` of its requests.
    pub max_tokens: u32,
    /// Sampling temperature of its requests, if set.
    pub temperature: Option<f32>,
    /// What was said in it.
    pub transcript: Transcript,
    /// Totals over its ended requests.
    pub totals: SessionTotals,
    /// Its request streaming now, if any (the first run of a repeated message).
    pub active: Option<RequestId>,
    /// The other runs of a repeated message still going (Alt-R, `--repeat`).
    pub runs: Vec<RequestId>,
    /// Runs waiting for the first to store the message, to append to its conversation.
    pub waiting_runs: Vec<(RequestId, Box<RequestSpec>)>,
    /// The reply its usage panel shows (Alt-↑/↓); `None` follows the latest.
    pub selected_reply: Option<RequestId>,
    /// A prompt that was asked for (`--prompt`, a resumed conversation) but could not be
    /// loaded: nothing is sent from this lane until one is chosen, rather than silently
    /// sending without it.
    pub unresolved: Option<String>,
    /// The stored conversation it appends to (after its first message, or resumed).
    pub conversation: Option<ConversationId>,
}

/// How much the runs of a repeated message differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variation {
    /// Runs that ended.
    pub runs: u32,
    /// Runs whose text is the first run's.
    pub identical: u32,
    /// Fewest and most output tokens among them.
    pub shortest: u64,
    pub longest: u64,
}

impl Lane {
    /// Whether a request of this lane is streaming (or waiting to be sent).
    pub fn is_streaming(&self) -> bool {
        self.active.is_some() || !self.runs.is_empty()
    }

    /// Every request of this lane still going.
    pub fn streaming_ids(&self) -> Vec<RequestId> {
        self.active.iter().chain(&self.runs).copied().collect()
    }

    /// How much the runs of its latest repeated message differ, once two or more ended.
    pub fn variation(&self) -> Option<Variation> {
        let mut runs: Vec<&Reply> = Vec::new();
        for entry in self.transcript.entries().rev() {
            match entry {
                super::Entry::Reply(r) if r.run.is_some() => runs.push(r),
                _ => break,
            }
        }
        runs.reverse();
        let first = runs
            .iter()
            .find(|r| r.run.is_some_and(|run| run.number == 1))?;
        let ended: Vec<&&Reply> = runs.iter().filter(|r| !r.is_live()).collect();
        if ended.len() < 2 {
            return None;
        }
        let lengths = ended.iter().map(|r| r.output_tokens().0);
        Some(Variation {
            runs: ended.len() as u32,
            identical: ended.iter().filter(|r| r.text() == first.text()).count() as u32,
            shortest: lengths.clone().min().unwrap_or(0),
            longest: lengths.max().unwrap_or(0),
        })
    }

    /// Moves its transcript's view (the screen keeps where it is).
    pub fn scroll(&self, to: ScrollTo) -> Effect {
        Effect::Scroll {
            target: ScrollTarget::Transcript(self.transcript.id()),
            to,
        }
    }

    /// An empty lane with the session's model and parameters, and no prompt.
    pub fn new(session: &Session) -> Lane {
        Lane {
            prompt: None,
            vars: BTreeMap::new(),
            model: session.model.clone(),
            max_tokens: session.max_tokens,
            temperature: session.temperature,
            transcript: Transcript::default(),
            totals: SessionTotals::default(),
            active: None,
            runs: Vec::new(),
            waiting_runs: Vec::new(),
            selected_reply: None,
            unresolved: None,
            conversation: None,
        }
    }
}

/// Session totals, updated once per request when it ends (not recomputed per frame).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionTotals {
    /// Requests that ended (finished, failed or cancelled).
    pub requests: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// Requests whose server reported no usage (their input tokens are not in the sums).
    pub unreported: u32,
    /// Requests whose output count is an estimate (cancelled, failed, or not reported): the
    /// output total is then shown with `~`.
    pub estimated_output: u32,
    /// Cost of the priced requests, in USD.
    pub cost_usd: f64,
    /// Requests whose cost is unknown (no price for the model, or no usage): not in
    /// `cost_usd`, so the total is shown as a lower bound.
    pub cost_unknown: u32,
}

impl SessionTotals {
    /// Adds one ended reply, by its ledger.
    pub fn add(&mut self, reply: &Reply) {
        self.requests += 1;
        match reply.cost().usd() {
            Some(usd) => self.cost_usd += usd,
            None => self.cost_unknown += 1,
        }
        if !reply.usage_reported() {
            self.unreported += 1;
        }
        let u = reply.usage();
        self.input_tokens += u.input_tokens.unwrap_or(0);
        let (output, measure) = reply.output_tokens();
        self.output_tokens += output;
        if measure == Measure::Estimated {
            self.estimated_output += 1;
        }
        self.cache_creation_input_tokens += u.cache_creation_input_tokens.unwrap_or(0);
        self.cache_read_input_tokens += u.cache_read_input_tokens.unwrap_or(0);
    }
}
