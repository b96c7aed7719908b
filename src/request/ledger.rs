//! The ledger of one request: every number the user sees about it, worked out once.
//!
//! [`Ledger::apply`] folds one [`Stamped`] progress item (an attempt starting, a stream event,
//! an attempt failing) and returns the [`Write`]s the request log needs. It does no IO and
//! never reads the clock: time arrives inside the stamp, taken once where the bytes arrived.
//! The pump ([`super::pump`]) applies the writes to the database; the chat's reply folds the
//! **same** stamped items into its own ledger and ignores the writes. So the usage panel, the
//! request log, `ask --json` and the exports show the same time to first token, tokens and
//! cost for a request by construction.
//!
//! The rules, in one place:
//! - **Time to first token** is from the attempt's start to its first text, both stamped.
//! - **Output tokens.** A finished attempt counts what the provider reported (nothing when it
//!   reported nothing: a local server without usage is "not reported", never a number made
//!   up). An attempt that did not finish (cancelled, interrupted, failed mid-text, still
//!   streaming) counts the provider's number when it is at least the estimate from the text,
//!   else the estimate, marked as one — never the 1-token placeholder some APIs send at the
//!   start.
//! - **Cost** is priced for the model that answered when the table knows it (a dated
//!   snapshot of the requested name), else for the model asked; an estimated count makes it
//!   an estimate.
//! - **The request's totals** are the sums over its attempts (a failed attempt the provider
//!   billed counts).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::checkpoint::{Checkpoint, Checkpointer};
use crate::limit::system_now_ms;
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::retry::Progress;
use crate::llm::{LlmError, StreamEvent, Usage, estimate_tokens};
use crate::records::{
    ErrorInfo, MessageState, RateLimitHeaders, RequestOutcome, RequestStatus, ResponseStart,
};
use crate::text;

/// A moment, read once where something happened: monotonic for durations, wall clock for
/// the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// For durations (time to first token, latency).
    pub at: Instant,
    /// Milliseconds since the Unix epoch, for the log's `started_at`.
    pub unix_ms: u64,
}

impl Stamp {
    /// Reads both clocks. The pump calls this once per progress item, as it arrives.
    pub fn now() -> Stamp {
        Stamp {
            at: Instant::now(),
            unix_ms: system_now_ms(),
        }
    }

    /// This moment moved `by` later (for tests and replays).
    pub fn after(self, by: Duration) -> Stamp {
        Stamp {
            at: self.at + by,
            unix_ms: self
                .unix_ms
                .saturating_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// A progress item with the moment it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub stamp: Stamp,
    pub progress: Progress,
}

/// Whether a number came from the provider or is promptdeck's estimate (shown with `~`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// As the provider reported it.
    Reported,
    /// Estimated from the text (4 bytes per token), shown with a `~`.
    Estimated,
}

/// One attempt (the first try, a retry, a fallback) as the log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLog {
    /// 1-based, over the whole retry and fallback chain.
    pub number: u32,
    /// The model asked.
    pub model: String,
    pub started: Stamp,
    /// When its first text arrived.
    pub first_text: Option<Stamp>,
    /// When it ended (finished, failed, cancelled); `None` while it runs.
    pub ended: Option<Stamp>,
    /// Token counts as the provider reported them (cumulative reports merged).
    pub reported: Usage,
    /// Where its text starts in the request's text.
    text_from: usize,
    /// Bytes of text it produced so far.
    text_len: usize,
    pub response_model: Option<String>,
    pub response_id: Option<String>,
    pub provider_request_id: Option<String>,
    pub rate_limits: Vec<(String, String)>,
    /// How it ended; `None` while it runs.
    pub status: Option<RequestStatus>,
    pub finish_reasons: Vec<String>,
    pub error: Option<LlmError>,
}

impl AttemptLog {
    /// Time from its start to its first text, in whole milliseconds (as the log keeps it,
    /// so every place that shows it shows the same number).
    pub fn ttft(&self) -> Option<Duration> {
        let first = self.first_text?;
        let exact = first.at.saturating_duration_since(self.started.at);
        Some(Duration::from_millis(
            u64::try_from(exact.as_millis()).unwrap_or(u64::MAX),
        ))
    }

    /// Time from its start to its end (or to `now` while it runs).
    pub fn duration(&self, now: Instant) -> Duration {
        self.ended
            .map_or(now, |e| e.at)
            .saturating_duration_since(self.started.at)
    }

    /// The output count to record, by the rule in the module docs.
    pub fn output_tokens(&self, text: &str) -> (Option<u64>, Measure) {
        let own = text
            .get(self.text_from..self.text_from + self.text_len)
            .unwrap_or("");
        let estimate = estimate_tokens(own);
        let reported = self.reported.output_tokens;
        let finished = self.status == Some(RequestStatus::Ok);
        match reported {
            // A finished reply's count is the provider's; none reported stays none (a local
            // server without usage), never invented.
            Some(n) if finished => (Some(n), Measure::Reported),
            None if finished => (None, Measure::Reported),
            Some(n) if n >= estimate => (Some(n), Measure::Reported),
            None if own.is_empty() => (None, Measure::Reported),
            _ => (Some(estimate), Measure::Estimated),
        }
    }

    /// The counts to record: as reported, with the output count of [`Self::output_tokens`].
    pub fn counted(&self, text: &str) -> (Usage, Measure) {
        let (output, measure) = self.output_tokens(text);
        let mut usage = self.reported;
        usage.output_tokens = output;
        (usage, measure)
    }

    /// The model its price is looked up by: the one that answered when the table knows it,
    /// else the one asked.
    pub fn priced_model<'a>(&'a self, prices: &PriceTable) -> &'a str {
        self.response_model
            .as_deref()
            .filter(|m| prices.knows(m))
            .unwrap_or(&self.model)
    }

    /// What it cost, priced by the one rule.
    pub fn cost(&self, prices: &PriceTable, text: &str) -> CostView {
        let (usage, measure) = self.counted(text);
        match CostView::of(prices, self.priced_model(prices), &usage) {
            CostView::Known(usd) if measure == Measure::Estimated => CostView::Estimate(usd),
            cost => cost,
        }
    }
}

/// What the request log needs written after a progress item. Text and numbers are read
/// from the ledger when the write is carried out ([`Ledger::outcome`], [`Ledger::text`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Attempt `number` was sent: log it.
    AttemptStarted { number: u32 },
    /// The server's ids, headers or the time to first chunk for attempt `number`.
    ResponseStart { number: u32, start: ResponseStart },
    /// Write the reply's text so far with `state`.
    Reply { state: MessageState },
    /// Attempt `number` ended: finish its row with [`Ledger::outcome`].
    AttemptFinished { number: u32 },
}

/// The request's totals over its attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    /// Summed counts (`None` where no attempt reported the field).
    pub usage: Usage,
    /// Whether the output sum includes an estimate.
    pub output: Measure,
    /// The summed cost.
    pub cost: CostView,
}

/// Every number about one request, folded from its stamped progress.
#[derive(Debug, Clone)]
pub struct Ledger {
    prices: Arc<PriceTable>,
    text: String,
    attempts: Vec<AttemptLog>,
    checkpointer: Checkpointer,
    /// The reply's final state and when, once it ended.
    end: Option<(MessageState, Stamp)>,
    /// [`Ledger::totals`] since the last change (a frame reads them several times).
    totals: Cell<Option<Totals>>,
}

impl PartialEq for Ledger {
    fn eq(&self, other: &Ledger) -> bool {
        self.text == other.text && self.attempts == other.attempts && self.end == other.end
    }
}

impl Ledger {
    /// An empty ledger pricing with `prices`.
    pub fn new(prices: Arc<PriceTable>) -> Ledger {
        Ledger {
            prices,
            text: String::new(),
            attempts: Vec::new(),
            checkpointer: Checkpointer::default(),
            end: None,
            totals: Cell::new(None),
        }
    }

    /// The reply text over every attempt.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The attempts so far, in order.
    pub fn attempts(&self) -> &[AttemptLog] {
        &self.attempts
    }

    /// Attempt `number`.
    pub fn attempt(&self, number: u32) -> Option<&AttemptLog> {
        self.attempts.iter().find(|a| a.number == number)
    }

    /// The latest attempt (the one that answered, once the request is over).
    pub fn current(&self) -> Option<&AttemptLog> {
        self.attempts.last()
    }

    /// The reply's final state and when it ended.
    pub fn end(&self) -> Option<(MessageState, Stamp)> {
        self.end
    }

    /// Time to first token of the attempt that produced the text.
    pub fn ttft(&self) -> Option<Duration> {
        self.attempts.iter().rev().find_map(AttemptLog::ttft)
    }

    /// The prices this ledger uses.
    pub fn prices(&self) -> &Arc<PriceTable> {
        &self.prices
    }

    /// A stamp for `at` on this ledger's clocks, its wall-clock part derived from the latest
    /// stamp it holds: the pure model, which reads no clock, ends a reply with it.
    pub fn stamp_at(&self, at: Instant) -> Stamp {
        let latest = self
            .attempts
            .last()
            .map(|a| a.ended.or(a.first_text).unwrap_or(a.started));
        match latest {
            Some(l) if at >= l.at => l.after(at - l.at),
            Some(l) => Stamp {
                at,
                unix_ms: l
                    .unix_ms
                    .saturating_sub(u64::try_from((l.at - at).as_millis()).unwrap_or(u64::MAX)),
            },
            None => Stamp { at, unix_ms: 0 },
        }
    }

    /// Folds one progress item; returns what the log must write.
    pub fn apply(&mut self, item: &Stamped) -> Vec<Write> {
        self.totals.set(None);
        let at = item.stamp;
        match &item.progress {
            Progress::AttemptStarted { number, model } => {
                self.attempts.push(AttemptLog {
                    number: *number,
                    model: model.clone(),
                    started: at,
                    first_text: None,
                    ended: None,
                    reported: Usage::default(),
                    text_from: self.text.len(),
                    text_len: 0,
                    response_model: None,
                    response_id: None,
                    provider_request_id: None,
                    rate_limits: Vec::new(),
                    status: None,
                    finish_reasons: Vec::new(),
                    error: None,
                });
                vec![Write::AttemptStarted { number: *number }]
            }
            Progress::Event(event) => self.on_event(event, at),
            Progress::AttemptFailed { number, error, .. } => {
                self.close(*number, RequestStatus::Error, Some(error.clone()), at)
            }
        }
    }

    fn on_event(&mut self, event: &StreamEvent, at: Stamp) -> Vec<Write> {
        let Some(attempt) = self.attempts.last_mut().filter(|a| a.ended.is_none()) else {
            return Vec::new();
        };
        let number = attempt.number;
        match event {
            StreamEvent::Started {
                model,
                response_id,
                request_id,
            } => {
                if model.is_some() {
                    attempt.response_model.clone_from(model);
                }
                attempt.response_id.clone_from(response_id);
                attempt.provider_request_id.clone_from(request_id);
                let start = ResponseStart {
                    response_model: model.clone(),
                    response_id: response_id.clone(),
                    provider_request_id: request_id.clone(),
                    ..ResponseStart::default()
                };
                vec![Write::ResponseStart { number, start }]
            }
            StreamEvent::TextDelta(delta) => {
                let mut writes = Vec::new();
                if attempt.first_text.is_none() {
                    attempt.first_text = Some(at);
                    let start = ResponseStart {
                        time_to_first_chunk_ms: attempt.ttft().map(millis_i64),
                        ..ResponseStart::default()
                    };
                    writes.push(Write::ResponseStart { number, start });
                }
                attempt.text_len += delta.len();
                self.text.push_str(delta);
                if self.checkpointer.on_change(at.at) == Checkpoint::Write {
                    writes.push(Write::Reply {
                        state: MessageState::Streaming,
                    });
                }
                writes
            }
            StreamEvent::RateLimits(headers) => {
                attempt.rate_limits.clone_from(headers);
                let start = ResponseStart {
                    ratelimit_headers: RateLimitHeaders::from_headers(
                        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    ),
                    ..ResponseStart::default()
                };
                vec![Write::ResponseStart { number, start }]
            }
            StreamEvent::Usage(usage) => {
                attempt.reported.merge(*usage);
                Vec::new()
            }
            StreamEvent::Finished { stop_reason } => {
                attempt.finish_reasons = vec![stop_reason.as_str().to_string()];
                self.close(number, RequestStatus::Ok, None, at)
            }
            StreamEvent::Note { .. } | StreamEvent::Notice(_) => Vec::new(),
        }
    }

    /// Ends attempt `number` with `status`, once.
    fn close(
        &mut self,
        number: u32,
        status: RequestStatus,
        error: Option<LlmError>,
        at: Stamp,
    ) -> Vec<Write> {
        let Some(attempt) = self
            .attempts
            .iter_mut()
            .find(|a| a.number == number && a.ended.is_none())
        else {
            return Vec::new();
        };
        attempt.ended = Some(at);
        attempt.status = Some(status);
        attempt.error = error;
        vec![Write::AttemptFinished { number }]
    }

    /// Held-back text is due at this time, if any is held back.
    pub fn checkpoint_deadline(&self) -> Option<Instant> {
        self.checkpointer.deadline()
    }

    /// The checkpoint timer fired at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Write> {
        if self.end.is_none() && self.checkpointer.on_timer(now) == Checkpoint::Write {
            vec![Write::Reply {
                state: MessageState::Streaming,
            }]
        } else {
            Vec::new()
        }
    }

    /// The request is over with the reply in `state`: an attempt still open ends with the
    /// matching status, and the reply's final text is written. Does nothing the second time.
    pub fn finish(&mut self, state: MessageState, at: Stamp) -> Vec<Write> {
        if self.end.is_some() {
            return Vec::new();
        }
        self.totals.set(None);
        let mut writes = Vec::new();
        if let Some(open) = self.attempts.last().filter(|a| a.ended.is_none()) {
            let status = match state {
                MessageState::Complete => RequestStatus::Ok,
                MessageState::Cancelled => RequestStatus::Cancelled,
                MessageState::Failed => RequestStatus::Error,
                MessageState::Interrupted | MessageState::Streaming => RequestStatus::Interrupted,
            };
            writes.extend(self.close(open.number, status, None, at));
        }
        self.checkpointer.wrote(at.at);
        self.end = Some((state, at));
        writes.push(Write::Reply { state });
        writes
    }

    /// The row of attempt `number` as it ended (or as it stands).
    pub fn outcome(&self, number: u32) -> Option<RequestOutcome> {
        let attempt = self.attempt(number)?;
        let (usage, measure) = attempt.counted(&self.text);
        let priced = attempt.priced_model(&self.prices);
        let now = attempt.ended.map_or(attempt.started.at, |e| e.at);
        Some(RequestOutcome {
            status: attempt.status.unwrap_or(RequestStatus::Interrupted),
            response_model: attempt.response_model.clone(),
            response_id: attempt.response_id.clone(),
            provider_request_id: attempt.provider_request_id.clone(),
            usage,
            output_estimated: measure == Measure::Estimated,
            finish_reasons: attempt.finish_reasons.clone(),
            time_to_first_chunk_ms: attempt.ttft().map(millis_i64),
            duration_ms: Some(millis_i64(attempt.duration(now))),
            cost: attempt.cost(&self.prices, &self.text),
            cost_source: self.prices.source(priced).map(|s| s.label().to_string()),
            error: attempt.error.as_ref().map(|e| ErrorInfo {
                error_type: e.kind().to_string(),
                message: text::sanitize(&e.to_string()),
            }),
            ratelimit_headers: RateLimitHeaders::default(),
        })
    }

    /// The sums over every attempt.
    pub fn totals(&self) -> Totals {
        if let Some(totals) = self.totals.get() {
            return totals;
        }
        let totals = self.sum();
        self.totals.set(Some(totals));
        totals
    }

    fn sum(&self) -> Totals {
        let mut usage = Usage::default();
        let mut output = Measure::Reported;
        let mut usd = 0.0;
        let (mut priced, mut unpriced, mut estimate) = (0u32, 0u32, false);
        for attempt in &self.attempts {
            let (counted, measure) = attempt.counted(&self.text);
            add(&mut usage, &counted);
            if measure == Measure::Estimated {
                output = Measure::Estimated;
            }
            if counted.is_unreported() {
                continue;
            }
            match attempt.cost(&self.prices, &self.text) {
                CostView::Known(v) => {
                    usd += v;
                    priced += 1;
                }
                CostView::Estimate(v) => {
                    usd += v;
                    priced += 1;
                    estimate = true;
                }
                CostView::Unknown | CostView::NotReported => unpriced += 1,
            }
        }
        let cost = match (priced, unpriced) {
            (0, 0) => CostView::NotReported,
            (0, _) => CostView::Unknown,
            (_, 0) if !estimate => CostView::Known(usd),
            _ => CostView::Estimate(usd),
        };
        Totals {
            usage,
            output,
            cost,
        }
    }

    /// Whether the reply is still open (no final state yet).
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }
}

/// Adds `b` into `a` field by field (a field stays `None` only when neither has it).
fn add(a: &mut Usage, b: &Usage) {
    fn sum(x: &mut Option<u64>, y: Option<u64>) {
        if let Some(y) = y {
            *x = Some(x.unwrap_or(0) + y);
        }
    }
    sum(&mut a.input_tokens, b.input_tokens);
    sum(&mut a.output_tokens, b.output_tokens);
    sum(
        &mut a.cache_creation_input_tokens,
        b.cache_creation_input_tokens,
    );
    sum(&mut a.cache_read_input_tokens, b.cache_read_input_tokens);
    sum(
        &mut a.cache_creation_1h_input_tokens,
        b.cache_creation_1h_input_tokens,
    );
}

/// Milliseconds as the log stores them.
pub fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
