//! One model reply: its state on screen, and its [`Ledger`] — the same stamped progress the
//! request log records, so every number it shows is the log's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::RequestId;
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::{LlmError, NoteKind, StopReason, Usage};
use crate::prompts::Provenance;
use crate::records::MessageState;
use crate::request::{Ledger, Measure};

/// How a reply is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyState {
    /// Sent; no answer yet.
    Waiting,
    /// Text is arriving.
    Streaming,
    /// The model finished.
    Finished(StopReason),
    /// The user cancelled it (Esc); partial text is kept.
    Cancelled,
    /// It failed; partial text, if any, is kept and marked interrupted.
    Failed(LlmError),
}

/// A model's reply with everything measured about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub id: RequestId,
    /// The model that was asked first (a fallback's is the current attempt's).
    pub requested_model: String,
    /// A provider label such as "demo — not a model".
    pub label: Option<String>,
    /// Non-text blocks (thinking, tool calls), shown collapsed.
    pub notes: Vec<(NoteKind, String)>,
    /// How many of `notes` arrived before any text (thinking, usually): they are shown above
    /// the text, the others below, so the reply reads in the order it happened.
    pub notes_before_text: usize,
    pub state: ReplyState,
    /// When the user sent it.
    pub sent_at: Instant,
    /// Text, attempts, usage, time to first token and cost, folded from the same stamped
    /// progress the request log records (see [`crate::request::ledger`]).
    pub ledger: Ledger,
    /// Failed attempts so far: model and why.
    pub failed_attempts: Vec<FailedAttempt>,
    /// A retry waiting to start, for the countdown.
    pub retry: Option<RetryWait>,
    /// The prompt version that produced this reply, if a prompt was active.
    pub prompt: Option<Provenance>,
    /// Retried with Ctrl-R, or an earlier run of a repeated message: kept on screen, left
    /// out of the history sent to the model.
    pub superseded: bool,
    /// Which run of a repeated message it is (Alt-R, `--repeat`).
    pub run: Option<Run>,
    /// The live numbers as last shown (see [`Shown`]).
    pub shown: Shown,
    /// Its current attempt's row in the request log: the number `promptdeck log` and the
    /// inspector show, once the database has it.
    pub log_id: Option<crate::records::LogId>,
}

/// What providers counted for the text their models sent this session, per model: a live
/// estimate in tokens per byte that converges on the provider's count (text varies: code and
/// non-English text take more tokens a byte than English prose).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibration {
    /// Model → (reported output tokens, bytes of text).
    seen: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Calibration {
    /// Learns from a finished reply whose output count the provider reported.
    pub fn learn(&mut self, reply: &Reply) {
        let reported = reply.ledger.totals().usage.output_tokens;
        let bytes = reply.text().len() as u64;
        if let (Some(tokens), ReplyState::Finished(_)) = (reported, &reply.state)
            && bytes >= 64
            && tokens > 0
        {
            let entry = self.seen.entry(reply.model().to_string()).or_default();
            entry.0 += tokens;
            entry.1 += bytes;
        }
    }

    /// Tokens per byte for `model`, once some text was counted.
    pub fn rate(&self, model: &str) -> Option<f64> {
        self.seen
            .get(model)
            .filter(|(_, bytes)| *bytes > 0)
            .map(|(tokens, bytes)| *tokens as f64 / *bytes as f64)
    }
}

/// Below this many output tokens a reply shows no speed.
pub const SPEED_MIN_TOKENS: u64 = 16;
/// Below this much streaming time a reply shows no speed.
pub const SPEED_MIN_SECONDS: f64 = 0.25;

/// How often a streaming reply's live numbers (elapsed time, tokens, cost, speed) change on
/// screen: three times a second, a pace a reader can follow, not per token.
pub const COUNTER_REFRESH: Duration = Duration::from_millis(333);

/// A streaming reply's live numbers as last shown. They refresh every [`COUNTER_REFRESH`]
/// rather than with every token, so that a frame that adds a token's text does not also
/// rewrite the header's and the panel's counters: over SSH every byte is latency. Once the
/// reply ends, its exact numbers are shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// When they were taken; `None` before the first time.
    pub at: Option<Instant>,
    pub output: (u64, Measure),
    pub cost: CostView,
    pub speed: Option<(f64, Measure)>,
    /// Token counts as reported so far (input, cache).
    pub usage: Usage,
}

/// One of the runs of a message sent several times, to see how much replies vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// 1-based.
    pub number: u32,
    /// How many runs were sent.
    pub of: u32,
}

/// An attempt that failed before this reply's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAttempt {
    pub number: u32,
    pub model: String,
    pub error: LlmError,
}

/// A retry or fallback scheduled after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryWait {
    /// When the next attempt starts.
    pub at: Instant,
    /// The model the next attempt asks.
    pub model: String,
    /// Why (the failed attempt's error kind).
    pub reason: String,
}

impl Reply {
    /// A reply that was just requested.
    pub fn new(
        id: RequestId,
        model: String,
        label: Option<String>,
        sent_at: Instant,
        prices: Arc<PriceTable>,
    ) -> Reply {
        Reply {
            id,
            requested_model: model,
            label,
            notes: Vec::new(),
            notes_before_text: 0,
            state: ReplyState::Waiting,
            sent_at,
            ledger: Ledger::new(prices),
            failed_attempts: Vec::new(),
            retry: None,
            prompt: None,
            superseded: false,
            run: None,
            log_id: None,
            shown: Shown {
                at: None,
                output: (0, Measure::Estimated),
                cost: CostView::NotReported,
                speed: None,
                usage: Usage::default(),
            },
        }
    }

    /// Takes the live numbers at `now` when the last were taken [`COUNTER_REFRESH`] ago or
    /// more; returns whether it did.
    ///
    /// While the count is an estimate, `tokens_per_byte` (what this model's earlier replies
    /// in the session measured, if any) makes it converge on what the provider will report,
    /// instead of the flat 4 bytes a token.
    pub fn refresh_shown(&mut self, now: Instant, tokens_per_byte: Option<f64>) -> bool {
        // The first text shows its count at once; then at the refresh pace.
        let first_text = self.shown.output.0 == 0 && !self.text().is_empty();
        if self.shown.at.is_some_and(|at| now < at + COUNTER_REFRESH) && !first_text {
            return false;
        }
        let output = match (self.output_tokens(), tokens_per_byte) {
            ((_, Measure::Estimated), Some(rate)) if !self.output_reported() => {
                let tokens = (self.text().len() as f64 * rate).round() as u64;
                (tokens, Measure::Estimated)
            }
            (counted, _) => counted,
        };
        let speed = self.tokens_per_second(now).map(|(rate, measure)| {
            // The same calibrated count over the same time.
            match (self.output_tokens(), measure) {
                ((raw, Measure::Estimated), Measure::Estimated) if raw > 0 => {
                    (rate * output.0 as f64 / raw as f64, measure)
                }
                _ => (rate, measure),
            }
        });
        let totals = self.ledger.totals();
        self.shown = Shown {
            at: Some(now),
            output,
            cost: totals.cost,
            speed,
            usage: totals.usage,
        };
        true
    }

    /// `#1841`: its number in the request log, or `None` before the database gave one.
    pub fn number(&self) -> Option<String> {
        self.log_id.map(|id| format!("#{}", id.0))
    }

    /// Time since it was sent as shown: at the last refresh while it streams, exact once it
    /// ended.
    pub fn shown_elapsed(&self) -> Duration {
        self.elapsed(self.shown.at.unwrap_or(self.sent_at))
    }

    /// Output tokens as shown (see [`Reply::shown_elapsed`]).
    pub fn shown_output(&self) -> (u64, Measure) {
        if self.is_live() {
            self.shown.output
        } else {
            self.output_tokens()
        }
    }

    /// Token counts as shown (see [`Reply::shown_elapsed`]).
    pub fn shown_usage(&self) -> Usage {
        if self.is_live() {
            self.shown.usage
        } else {
            self.usage()
        }
    }

    /// Cost as shown (see [`Reply::shown_elapsed`]).
    pub fn shown_cost(&self) -> CostView {
        if self.is_live() {
            self.shown.cost
        } else {
            self.cost()
        }
    }

    /// Output tokens per second as shown (see [`Reply::shown_elapsed`]).
    pub fn shown_speed(&self) -> Option<(f64, Measure)> {
        if self.is_live() {
            self.shown.speed
        } else {
            self.tokens_per_second(self.sent_at)
        }
    }

    /// The raw reply text as streamed.
    pub fn text(&self) -> &str {
        self.ledger.text()
    }

    /// The model of the current attempt (a fallback's), else the one asked.
    pub fn model(&self) -> &str {
        self.ledger
            .current()
            .map_or(&self.requested_model, |a| a.model.as_str())
    }

    /// The model that answered, when the server said.
    pub fn answered_model(&self) -> Option<&str> {
        self.ledger.current()?.response_model.as_deref()
    }

    /// The current attempt (1 = the first try).
    pub fn attempt(&self) -> u32 {
        self.ledger.current().map_or(1, |a| a.number)
    }

    /// Token counts over its attempts (`None` fields were not reported); the output count
    /// follows the ledger's rule ([`Reply::output_tokens`] says whether it is an estimate).
    pub fn usage(&self) -> Usage {
        self.ledger.totals().usage
    }

    /// The provider's rate-limit headers on the current attempt's response.
    pub fn rate_limits(&self) -> &[(String, String)] {
        self.ledger
            .current()
            .map_or(&[], |a| a.rate_limits.as_slice())
    }

    /// The provider's response id (`msg_...`) and request id header.
    pub fn server_ids(&self) -> (Option<&str>, Option<&str>) {
        let current = self.ledger.current();
        (
            current.and_then(|a| a.response_id.as_deref()),
            current.and_then(|a| a.provider_request_id.as_deref()),
        )
    }

    /// When the first text of the answering attempt arrived.
    pub fn first_token_at(&self) -> Option<Instant> {
        self.ledger
            .attempts()
            .iter()
            .rev()
            .find_map(|a| a.first_text)
            .map(|s| s.at)
    }

    /// When it ended, once it did.
    pub fn ended_at(&self) -> Option<Instant> {
        self.ledger.end().map(|(_, at)| at.at)
    }

    /// Time to first token of the attempt that answered.
    pub fn ttft(&self) -> Option<Duration> {
        self.ledger.ttft()
    }

    /// Time from sending to the end, or to `now` while it runs.
    pub fn elapsed(&self, now: Instant) -> Duration {
        let start = self
            .ledger
            .attempts()
            .first()
            .map_or(self.sent_at, |a| a.started.at);
        self.ended_at()
            .unwrap_or(now)
            .saturating_duration_since(start)
    }

    /// Output tokens per second over the streaming time (after the first token). While the
    /// reply streams, or when the server reported no count, the rate uses the marked
    /// estimate and the flag says so.
    /// `None` until enough tokens and time make the rate mean something ("14986.7 tok/s"
    /// for a 3-token reply says nothing).
    pub fn tokens_per_second(&self, now: Instant) -> Option<(f64, Measure)> {
        let first = self.first_token_at()?;
        let end = self.ended_at().unwrap_or(now);
        let seconds = end.saturating_duration_since(first).as_secs_f64();
        let (tokens, measure) = self.output_tokens();
        if seconds < SPEED_MIN_SECONDS || tokens < SPEED_MIN_TOKENS {
            return None;
        }
        Some((tokens as f64 / seconds, measure))
    }

    /// Output tokens by the ledger's rule: the provider's count once an attempt finished,
    /// otherwise (or when none was reported) an estimate from the text, marked.
    pub fn output_tokens(&self) -> (u64, Measure) {
        let totals = self.ledger.totals();
        match totals.usage.output_tokens {
            Some(n) => (n, totals.output),
            // Finished without a count (a local server): the view's own estimate, marked.
            None => (crate::llm::estimate_tokens(self.text()), Measure::Estimated),
        }
    }

    /// What this reply cost, by the ledger's one pricing rule.
    pub fn cost(&self) -> CostView {
        self.ledger.totals().cost
    }

    /// The model name a price is looked up by: the one that answered when it has a price
    /// (a dated snapshot of the requested name), else the one requested.
    pub fn priced_model(&self) -> &str {
        self.ledger.current().map_or(&self.requested_model, |a| {
            a.priced_model(self.ledger.prices())
        })
    }

    /// Whether the provider reported any token count for it.
    pub fn usage_reported(&self) -> bool {
        self.ledger
            .attempts()
            .iter()
            .any(|a| !a.reported.is_unreported())
    }

    /// Whether the provider reported an output count for it.
    pub fn output_reported(&self) -> bool {
        self.ledger
            .attempts()
            .iter()
            .any(|a| a.reported.output_tokens.is_some())
    }

    /// True while the reply may still change.
    pub fn is_live(&self) -> bool {
        matches!(self.state, ReplyState::Waiting | ReplyState::Streaming)
    }

    /// Ends it with `state` at `now` (the ledger closes its open attempt by the same rule as
    /// the log).
    pub(crate) fn end(&mut self, state: ReplyState, now: Instant) {
        let stored = match &state {
            ReplyState::Finished(_) => MessageState::Complete,
            ReplyState::Cancelled => MessageState::Cancelled,
            ReplyState::Failed(_) if self.text().is_empty() => MessageState::Failed,
            _ => MessageState::Interrupted,
        };
        let at = self.ledger.stamp_at(now);
        self.ledger.finish(stored, at);
        self.state = state;
        self.retry = None;
    }
}
