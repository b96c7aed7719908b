//! Headless `promptdeck ask`: the same engine, no terminal.
//!
//! The reply is streamed to stdout as it arrives (sanitized: no control sequence from a model
//! reaches a terminal even here), a one-line usage summary goes to stderr, and the exit status
//! says which class of failure happened. `--json` prints one JSON object instead.
//!
//! `ask` keeps the same promises as the full-screen chat:
//!
//! - **Rate limit.** Every attempt (retries and fallbacks included) passes
//!   [`Limiter::admit`] first. A refusal sends nothing, says when the next slot frees, and exits
//!   with [`exit::LOCAL_LIMIT`] (10). The message is not lost: it was already stored.
//! - **History.** The conversation and the user message are stored *before* anything is sent;
//!   each attempt gets one `requests` row (created when it starts, finished when it ends, with
//!   usage, time to first token, duration, cost, error and the prompt version); the reply is
//!   checkpointed while it streams (through a [`Checkpointer`], at most every 500 ms) and
//!   finalised as `complete`, `interrupted`, `failed` or `cancelled`. A `kill -9` mid-reply
//!   therefore loses at most about the last second of text; the next process that opens the
//!   database marks the orphaned reply `interrupted`.
//! - **The reply comes first.** If the database cannot be opened or fails midway, a warning
//!   goes to stderr and the reply is still streamed and printed.
//!
//! Progress from [`retry::drive`] goes through a channel to one consumer that owns all the
//! state (output, database ids, checkpoint timer), so database round trips never sit inside
//! the retry loop's callbacks.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::cli::exit;
use crate::limit::{Admission, Limiter, system_now_ms};
use crate::llm::error::ErrorClass;
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::retry::{self, Next, Progress, RetryPolicy};
use crate::llm::{ChatRequest, LlmError, NoteKind, Provider, Role, StreamEvent, Usage};
use crate::prompts::Provenance;
use crate::store::{
    Checkpoint, Checkpointer, ConversationId, ErrorInfo, LogId, MessageId, MessageState,
    NewConversation, NewMessage, PromptVersion, RateLimitHeaders, RequestOutcome, RequestParams,
    RequestRecord, RequestStatus, ResponseStart, StoreError, StoreHandle,
};
use crate::text;

/// Longest conversation title stored for an `ask` (the first line of the message), in
/// characters.
pub const TITLE_MAX_CHARS: usize = 80;

/// What `ask` needs besides the provider: the limiter every attempt passes, the history
/// database and the prices for the cost column.
#[derive(Debug, Clone)]
pub struct AskServices {
    /// Admits each attempt; a refusal ends the run with [`exit::LOCAL_LIMIT`].
    pub limiter: Limiter,
    /// The history database; `None` when it could not be opened (the reply is still printed).
    pub store: Option<StoreHandle>,
    /// Prices used for each attempt's cost.
    pub prices: Arc<PriceTable>,
}

/// Everything `ask --json` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AskOutcome {
    pub text: String,
    pub provider: String,
    /// Label of a provider that is not a model (the demo).
    pub label: Option<String>,
    /// The model asked for.
    pub model: String,
    /// The model that answered, as the server said.
    pub response_model: Option<String>,
    pub response_id: Option<String>,
    pub request_id: Option<String>,
    pub usage: Usage,
    /// False when the server reported no usage at all (numbers are then null, never 0).
    pub usage_reported: bool,
    pub notes: Vec<AskNote>,
    pub time_to_first_token_ms: Option<u64>,
    pub total_ms: u64,
    pub stop_reason: Option<String>,
    pub error: Option<AskError>,
    /// Attempts made (retries and fallbacks included).
    pub attempts: u32,
    /// The prompt version that was the system prompt, if any.
    pub prompt: Option<Provenance>,
    /// The stored conversation (`promptdeck export ID`), when the history database works.
    pub conversation_id: Option<i64>,
}

/// A collapsed non-text block.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AskNote {
    pub kind: NoteKind,
    pub summary: String,
}

/// The failure, if any.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AskError {
    /// Stable short name (`auth`, `rate_limited`, `stalled`…).
    pub kind: String,
    pub message: String,
    /// Seconds the provider asked us to wait (429).
    pub retry_after_seconds: Option<f64>,
}

/// The exit status for an outcome.
pub fn exit_status(error: Option<&LlmError>) -> u8 {
    match error.map(LlmError::class) {
        None => exit::OK,
        Some(ErrorClass::Auth) => exit::AUTH,
        Some(ErrorClass::Request) => exit::REQUEST,
        Some(ErrorClass::RateLimited) => exit::RATE_LIMITED,
        Some(ErrorClass::Overloaded | ErrorClass::Server) => exit::PROVIDER,
        Some(ErrorClass::Network) => exit::NETWORK,
        Some(ErrorClass::Protocol) => exit::PROTOCOL,
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// How `ask` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// The reply text, exactly as streamed, to a pipe or file.
    Text,
    /// The reply text to a terminal: a final newline is added so the prompt starts on its
    /// own line.
    TextOnTerminal,
    /// One JSON object at the end.
    Json,
}

/// Why the limiter gate stopped the request before an attempt.
#[derive(Debug, Clone, PartialEq)]
enum GateStop {
    /// The rate limit or a budget is reached.
    Refused {
        /// `rate limit 3/1m reached — next slot in 45s`.
        message: String,
        /// Until the next slot.
        retry_after: Duration,
    },
    /// The limiter's store failed: nothing is sent unlimited.
    LimiterFailed(String),
}

/// Admits one attempt, or records why not and returns an error that ends [`retry::drive`].
async fn admit(limiter: &Limiter, stop: &Mutex<Option<GateStop>>) -> Result<(), LlmError> {
    let now_ms = system_now_ms();
    let gate_stop = match limiter.admit(now_ms).await {
        Ok(Admission::Admitted { .. }) => return Ok(()),
        Ok(Admission::Refused {
            retry_at_ms,
            reason,
        }) => GateStop::Refused {
            message: limiter.refusal_message(reason, retry_at_ms, now_ms),
            retry_after: Duration::from_millis(retry_at_ms.saturating_sub(now_ms)),
        },
        Err(e) => GateStop::LimiterFailed(format!("the rate limiter failed: {e}")),
    };
    *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(gate_stop);
    // Only carries the stop out of `drive`; the caller reads the reason from `stop`.
    Err(LlmError::RateLimited {
        message: "refused by the local rate limiter".into(),
        retry_after: None,
    })
}

/// One attempt in flight, as the request log will record it.
#[derive(Debug)]
struct Attempt {
    model: String,
    log: Option<LogId>,
    started: Instant,
    started_at_ms: u64,
    first_text: Option<Duration>,
    usage: Usage,
    response_model: Option<String>,
    response_id: Option<String>,
    provider_request_id: Option<String>,
}

/// The state of one `ask` run: what is printed and what is stored.
struct Recorder<'a> {
    prices: &'a PriceTable,
    limiter: &'a Limiter,
    /// `None` once the database failed (after one warning).
    store: Option<StoreHandle>,
    provider: &'static str,
    max_tokens: u32,
    temperature: Option<f32>,
    prompt: Option<PromptVersion>,
    conversation: Option<ConversationId>,
    user_message: Option<MessageId>,
    reply: Option<MessageId>,
    attempt: Option<Attempt>,
    checkpointer: Checkpointer,
    outcome: AskOutcome,
    started: Instant,
    mode: OutputMode,
    out: &'a mut (dyn Write + Send),
    err: &'a mut (dyn Write + Send),
}

impl Recorder<'_> {
    /// Stops using the database after a failure, saying so once.
    fn store_failed(&mut self, e: &StoreError) {
        if self.store.take().is_some() {
            tracing::warn!("history database failed: {e}");
            let _ = writeln!(
                self.err,
                "promptdeck: warning: the history database failed ({e}); this reply is not \
                 being saved"
            );
        }
    }

    /// Sends a fire-and-forget command.
    fn send(&mut self, command: impl FnOnce(&StoreHandle) -> Result<(), StoreError>) {
        if let Some(store) = &self.store
            && let Err(e) = command(store)
        {
            self.store_failed(&e);
        }
    }

    /// Creates the conversation and stores the user message, before anything is sent.
    async fn begin(&mut self, request: &ChatRequest) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let message = request
            .messages
            .last()
            .map_or("", |m| m.content.as_str())
            .to_string();
        let title: String = message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .chars()
            .take(TITLE_MAX_CHARS)
            .collect();
        let new = NewConversation {
            title: Some(title).filter(|t| !t.is_empty()),
            provider: self.provider.to_string(),
            model: request.model.clone(),
            prompt: self.prompt.clone(),
        };
        let conversation = match store.create_conversation(new).wait().await {
            Ok(id) => id,
            Err(e) => return self.store_failed(&e),
        };
        self.conversation = Some(conversation);
        self.outcome.conversation_id = Some(conversation.0);
        let user = NewMessage {
            conversation_id: conversation,
            role: Role::User,
            content: message,
            state: MessageState::Complete,
            request_id: None,
        };
        match store.insert_message(user).wait().await {
            Ok(id) => self.user_message = Some(id),
            Err(e) => self.store_failed(&e),
        }
    }

    /// Handles progress until the retry loop ends, writing held-back reply text when its
    /// checkpoint deadline passes.
    async fn consume(&mut self, rx: &mut mpsc::UnboundedReceiver<Progress>) {
        loop {
            let deadline = self.checkpointer.deadline();
            let wake =
                deadline.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
            tokio::select! {
                progress = rx.recv() => match progress {
                    Some(progress) => self.on_progress(progress).await,
                    None => return,
                },
                () = tokio::time::sleep_until(wake), if deadline.is_some() => {
                    if self.checkpointer.on_timer(Instant::now()) == Checkpoint::Write {
                        self.write_reply(MessageState::Streaming);
                    }
                }
            }
        }
    }

    async fn on_progress(&mut self, progress: Progress) {
        match progress {
            Progress::AttemptStarted { number, model } => self.start_attempt(number, model).await,
            Progress::Event(event) => self.on_event(event).await,
            Progress::AttemptFailed {
                number,
                error,
                next,
            } => {
                let info = ErrorInfo {
                    error_type: error.kind().to_string(),
                    message: text::sanitize(&error.to_string()),
                };
                self.finish_attempt(RequestStatus::Error, Vec::new(), Some(info))
                    .await;
                let what = match &next {
                    Next::Retry { delay } => format!("retrying in {:.2}s", delay.as_secs_f64()),
                    Next::Fallback { model, .. } => {
                        format!("falling back to {}", text::sanitize(model))
                    }
                    Next::GiveUp => return,
                };
                let _ = writeln!(
                    self.err,
                    "promptdeck: attempt {number} failed ({}); {what}",
                    error.kind()
                );
            }
        }
    }

    /// Logs the attempt as sent and links the reply to it.
    async fn start_attempt(&mut self, number: u32, model: String) {
        for warning in self.limiter.take_warnings() {
            let _ = writeln!(self.err, "promptdeck: warning: {warning}");
        }
        self.outcome.attempts = number;
        if number > 1 {
            // A retry starts from scratch: it had no text (or it would not retry).
            self.outcome.model = model.clone();
            self.outcome.usage = Usage::default();
            self.outcome.usage_reported = false;
            self.outcome.notes.clear();
        }
        let mut attempt = Attempt {
            model: model.clone(),
            log: None,
            started: Instant::now(),
            started_at_ms: system_now_ms(),
            first_text: None,
            usage: Usage::default(),
            response_model: None,
            response_id: None,
            provider_request_id: None,
        };
        if let Some(store) = self.store.clone() {
            let record = RequestRecord {
                conversation_id: self.conversation,
                message_id: self.user_message,
                attempt: number,
                started_at_ms: i64::try_from(attempt.started_at_ms).unwrap_or(i64::MAX),
                provider: self.provider.to_string(),
                params: RequestParams {
                    model,
                    max_tokens: self.max_tokens,
                    temperature: self.temperature,
                },
                prompt: self.prompt.clone(),
            };
            match store.insert_request(record).wait().await {
                Ok(log) => attempt.log = Some(log),
                Err(e) => self.store_failed(&e),
            }
        }
        if let (Some(store), Some(log)) = (self.store.clone(), attempt.log) {
            match (self.reply, self.conversation) {
                (Some(reply), _) => self.send(|s| s.attach_request(reply, log)),
                (None, Some(conversation)) => {
                    let new = NewMessage {
                        conversation_id: conversation,
                        role: Role::Assistant,
                        content: String::new(),
                        state: MessageState::Streaming,
                        request_id: Some(log),
                    };
                    match store.insert_message(new).wait().await {
                        Ok(id) => self.reply = Some(id),
                        Err(e) => self.store_failed(&e),
                    }
                }
                (None, None) => {}
            }
        }
        self.attempt = Some(attempt);
    }

    async fn on_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Started {
                model,
                response_id,
                request_id,
            } => {
                self.outcome.response_model = model.clone();
                self.outcome.response_id = response_id.clone();
                self.outcome.request_id = request_id.clone();
                let Some(attempt) = &mut self.attempt else {
                    return;
                };
                attempt.response_model = model.clone();
                attempt.response_id = response_id.clone();
                attempt.provider_request_id = request_id.clone();
                if let Some(log) = attempt.log {
                    let start = ResponseStart {
                        response_model: model,
                        response_id,
                        provider_request_id: request_id,
                        time_to_first_chunk_ms: None,
                        ratelimit_headers: RateLimitHeaders::default(),
                    };
                    self.send(|s| s.record_response_start(log, start));
                }
            }
            StreamEvent::TextDelta(delta) => {
                if self.outcome.time_to_first_token_ms.is_none() {
                    self.outcome.time_to_first_token_ms = Some(millis(self.started.elapsed()));
                }
                if let Some(attempt) = &mut self.attempt
                    && attempt.first_text.is_none()
                {
                    let ttft = attempt.started.elapsed();
                    attempt.first_text = Some(ttft);
                    if let Some(log) = attempt.log {
                        let start = ResponseStart {
                            time_to_first_chunk_ms: Some(millis_i64(ttft)),
                            ..ResponseStart::default()
                        };
                        self.send(|s| s.record_response_start(log, start));
                    }
                }
                self.outcome.text.push_str(&delta);
                if self.checkpointer.on_change(Instant::now()) == Checkpoint::Write {
                    self.write_reply(MessageState::Streaming);
                }
                if self.mode != OutputMode::Json {
                    // Write errors (a closed pipe) end the output, not the accounting.
                    let _ = self
                        .out
                        .write_all(text::sanitize_for_output(&delta).as_bytes());
                    let _ = self.out.flush();
                }
            }
            StreamEvent::RateLimits(headers) => {
                let Some(log) = self.attempt.as_ref().and_then(|a| a.log) else {
                    return;
                };
                let start = ResponseStart {
                    ratelimit_headers: RateLimitHeaders::from_headers(
                        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    ),
                    ..ResponseStart::default()
                };
                self.send(|s| s.record_response_start(log, start));
            }
            StreamEvent::Note { kind, summary } => self.outcome.notes.push(AskNote {
                kind,
                summary: text::sanitize(&summary),
            }),
            StreamEvent::Usage(usage) => {
                self.outcome.usage.merge(usage);
                self.outcome.usage_reported = true;
                if let Some(attempt) = &mut self.attempt {
                    attempt.usage.merge(usage);
                }
            }
            StreamEvent::Finished { stop_reason } => {
                self.finish_attempt(
                    RequestStatus::Ok,
                    vec![stop_reason.as_str().to_string()],
                    None,
                )
                .await;
            }
        }
    }

    /// Overwrites the stored reply with the text so far.
    fn write_reply(&mut self, state: MessageState) {
        if let Some(reply) = self.reply {
            let content = self.outcome.text.clone();
            self.send(|s| s.checkpoint_message(reply, content, state));
        }
    }

    /// Records how the attempt in flight ended (its row, and its usage for the budgets).
    async fn finish_attempt(
        &mut self,
        status: RequestStatus,
        finish_reasons: Vec<String>,
        error: Option<ErrorInfo>,
    ) {
        let Some(attempt) = self.attempt.take() else {
            return;
        };
        let priced_model = attempt
            .response_model
            .as_deref()
            .filter(|m| self.prices.lookup(m).is_some())
            .unwrap_or(&attempt.model);
        let cost = CostView::of(self.prices, priced_model, &attempt.usage);
        if let Some(log) = attempt.log {
            let outcome = RequestOutcome {
                status,
                response_model: attempt.response_model.clone(),
                response_id: attempt.response_id.clone(),
                provider_request_id: attempt.provider_request_id.clone(),
                usage: attempt.usage,
                finish_reasons,
                time_to_first_chunk_ms: attempt.first_text.map(millis_i64),
                duration_ms: Some(millis_i64(attempt.started.elapsed())),
                cost,
                error,
                ratelimit_headers: RateLimitHeaders::default(),
            };
            self.send(|s| s.finish_request(log, outcome));
        }
        if !attempt.usage.is_unreported() {
            let u = &attempt.usage;
            let tokens = u.input_tokens.unwrap_or(0)
                + u.output_tokens.unwrap_or(0)
                + u.cache_creation_input_tokens.unwrap_or(0)
                + u.cache_read_input_tokens.unwrap_or(0);
            let key = match attempt.log {
                Some(log) => format!("request-{}", log.0),
                None => format!(
                    "ask-{}-{}-{}",
                    std::process::id(),
                    attempt.started_at_ms,
                    self.outcome.attempts
                ),
            };
            let usd = cost.usd().unwrap_or(0.0);
            if let Err(e) = self
                .limiter
                .record_usage(&key, tokens, usd, system_now_ms())
                .await
            {
                let _ = writeln!(
                    self.err,
                    "promptdeck: warning: could not record usage for the budgets: {e}"
                );
            }
        }
    }

    /// The final write of the reply, then waits until everything is on disk.
    async fn finish(&mut self, state: MessageState) {
        self.write_reply(state);
        self.checkpointer.wrote(Instant::now());
        if let Some(store) = self.store.clone()
            && let Err(e) = store.flush().wait().await
        {
            self.store_failed(&e);
        }
    }
}

/// Streams `request` and reports. `out` gets the text as it arrives (unless JSON), `err`
/// the summary or error. Every attempt passes `services.limiter`; the conversation, the
/// attempts and the reply are stored through `services.store`. Returns the exit status.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    provider: Arc<dyn Provider>,
    request: ChatRequest,
    prompt: Option<Provenance>,
    policy: &RetryPolicy,
    services: &AskServices,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> u8 {
    let json = mode == OutputMode::Json;
    let started = Instant::now();
    let mut rec = Recorder {
        prices: &services.prices,
        limiter: &services.limiter,
        store: services.store.clone(),
        provider: provider.name(),
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        prompt: prompt.as_ref().map(PromptVersion::from),
        conversation: None,
        user_message: None,
        reply: None,
        attempt: None,
        checkpointer: Checkpointer::default(),
        outcome: AskOutcome {
            text: String::new(),
            provider: provider.name().to_string(),
            label: provider.label().map(str::to_string),
            model: request.model.clone(),
            response_model: None,
            response_id: None,
            request_id: None,
            usage: Usage::default(),
            usage_reported: false,
            notes: Vec::new(),
            time_to_first_token_ms: None,
            total_ms: 0,
            stop_reason: None,
            error: None,
            attempts: 0,
            prompt,
            conversation_id: None,
        },
        started,
        mode,
        out,
        err,
    };
    rec.begin(&request).await;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop: Arc<Mutex<Option<GateStop>>> = Arc::default();
    let result = {
        let gate = |_attempt: u32| {
            let limiter = services.limiter.clone();
            let stop = Arc::clone(&stop);
            async move { admit(&limiter, &stop).await }
        };
        let report = move |progress: Progress| {
            let _ = tx.send(progress);
        };
        let drive = retry::drive(
            provider.as_ref(),
            request,
            policy,
            gate,
            retry::clock_jitter,
            report,
        );
        let consume = rec.consume(&mut rx);
        tokio::select! {
            (result, ()) = async { tokio::join!(drive, consume) } => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    // Progress reported before a Ctrl-C but not handled yet.
    while let Ok(progress) = rx.try_recv() {
        rec.on_progress(progress).await;
    }
    let gate_stop = stop.lock().unwrap_or_else(|p| p.into_inner()).take();
    let interrupted = result.is_none();
    let failure = match result {
        Some(Ok(stop_reason)) => {
            rec.outcome.stop_reason = Some(stop_reason.as_str().to_string());
            None
        }
        Some(Err(_)) if gate_stop.is_some() => None,
        Some(Err(error)) => Some(error),
        None => None,
    };
    let state = if interrupted {
        rec.finish_attempt(RequestStatus::Cancelled, Vec::new(), None)
            .await;
        MessageState::Cancelled
    } else if rec.outcome.stop_reason.is_some() {
        MessageState::Complete
    } else if rec.outcome.text.is_empty() {
        MessageState::Failed
    } else {
        MessageState::Interrupted
    };
    rec.finish(state).await;

    let Recorder {
        mut outcome,
        out,
        err,
        ..
    } = rec;
    outcome.total_ms = millis(started.elapsed());
    if let Some(e) = &failure {
        outcome.error = Some(AskError {
            kind: e.kind().to_string(),
            message: text::sanitize(&e.to_string()),
            retry_after_seconds: match e {
                LlmError::RateLimited { retry_after, .. } => retry_after.map(|d| d.as_secs_f64()),
                _ => None,
            },
        });
    } else if interrupted {
        outcome.error = Some(AskError {
            kind: "cancelled".into(),
            message: "interrupted by Ctrl-C".into(),
            retry_after_seconds: None,
        });
    } else if let Some(stop) = &gate_stop {
        outcome.error = Some(match stop {
            GateStop::Refused {
                message,
                retry_after,
            } => AskError {
                kind: "local_rate_limit".into(),
                message: message.clone(),
                retry_after_seconds: Some(retry_after.as_secs_f64()),
            },
            GateStop::LimiterFailed(message) => AskError {
                kind: "limiter".into(),
                message: message.clone(),
                retry_after_seconds: None,
            },
        });
    }
    outcome.text = text::sanitize_for_output(&outcome.text);

    if json {
        match serde_json::to_string(&outcome) {
            Ok(line) => {
                let _ = writeln!(out, "{line}");
            }
            Err(e) => {
                let _ = writeln!(err, "promptdeck: cannot encode the result: {e}");
                return exit::INTERNAL;
            }
        }
    } else {
        if mode == OutputMode::TextOnTerminal
            && !outcome.text.is_empty()
            && !outcome.text.ends_with('\n')
        {
            let _ = writeln!(out);
        }
        let _ = out.flush();
        // A request the limiter stopped before any attempt has nothing to summarise.
        if gate_stop.is_none() || outcome.attempts > 0 {
            let _ = writeln!(err, "{}", summary(&outcome));
            if gate_stop.is_none()
                && let Some(e) = &outcome.error
            {
                let _ = writeln!(err, "promptdeck: error: {}", e.message);
            }
        }
    }
    if let Some(stop) = &gate_stop {
        let (message, status) = match stop {
            GateStop::Refused { message, .. } => (message.as_str(), exit::LOCAL_LIMIT),
            GateStop::LimiterFailed(message) => (message.as_str(), exit::INTERNAL),
        };
        let _ = writeln!(err, "promptdeck: {message}");
        let _ = match outcome.conversation_id {
            Some(id) => writeln!(
                err,
                "promptdeck: the request was not sent; your message is saved in conversation \
                 {id} (`promptdeck export {id}`)"
            ),
            None => writeln!(
                err,
                "promptdeck: the request was not sent, and the history database is unavailable: \
                 your message was not saved"
            ),
        };
        return status;
    }
    if interrupted {
        return exit::INTERRUPTED;
    }
    exit_status(failure.as_ref())
}

fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The one-line usage summary printed to stderr.
pub fn summary(o: &AskOutcome) -> String {
    let mut parts = Vec::new();
    let model = o.response_model.as_deref().unwrap_or(&o.model);
    if let Some(prompt) = &o.prompt {
        parts.push(format!("prompt {}", prompt.describe()));
    }
    match &o.label {
        Some(label) => parts.push(format!("{} ({label})", text::sanitize(model))),
        None => parts.push(text::sanitize(model)),
    }
    if o.usage_reported {
        let n = |v: Option<u64>| v.map_or("n/r".to_string(), |v| v.to_string());
        parts.push(format!(
            "tokens in {} out {} cache write {} read {}",
            n(o.usage.input_tokens),
            n(o.usage.output_tokens),
            n(o.usage.cache_creation_input_tokens),
            n(o.usage.cache_read_input_tokens)
        ));
    } else {
        parts.push("usage not reported".into());
    }
    match o.time_to_first_token_ms {
        Some(ms) => parts.push(format!("first token {:.2}s", ms as f64 / 1000.0)),
        None => parts.push("no tokens".into()),
    }
    parts.push(format!("total {:.2}s", o.total_ms as f64 / 1000.0));
    match (&o.stop_reason, &o.error) {
        (Some(r), _) => parts.push(r.clone()),
        (None, Some(e)) => parts.push(format!("failed: {}", e.kind)),
        (None, None) => {}
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::Duration;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::limit::{LimitConfig, LimitSetting, RateLimit};
    use crate::llm::{EventStream, Message, StopReason};
    use crate::store::{ConversationId, RequestFilter, Store, StoreWriter};

    /// A provider answering each request with the next scripted list of events.
    struct Scripted(std::sync::Mutex<VecDeque<Vec<Result<StreamEvent, LlmError>>>>);

    impl Scripted {
        fn new(script: Vec<Vec<Result<StreamEvent, LlmError>>>) -> Arc<Scripted> {
            Arc::new(Scripted(std::sync::Mutex::new(script.into())))
        }

        fn left(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    impl Provider for Scripted {
        fn name(&self) -> &'static str {
            "anthropic"
        }

        fn stream(&self, _request: ChatRequest) -> EventStream {
            let events = self.0.lock().unwrap().pop_front().unwrap_or_default();
            Box::pin(futures_util::stream::iter(events))
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: None,
            messages: vec![Message {
                role: Role::User,
                content: "question".into(),
            }],
            max_tokens: 100,
            temperature: None,
        }
    }

    fn answer(text: &str) -> Vec<Result<StreamEvent, LlmError>> {
        vec![
            Ok(StreamEvent::TextDelta(text.into())),
            Ok(StreamEvent::Usage(Usage {
                input_tokens: Some(3),
                output_tokens: Some(2),
                ..Usage::default()
            })),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            }),
        ]
    }

    fn limiter(requests: LimitSetting) -> Limiter {
        Limiter::memory(LimitConfig {
            requests,
            ..LimitConfig::default()
        })
    }

    async fn ask(provider: Arc<Scripted>, services: &AskServices) -> (u8, String, String) {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            provider,
            request(),
            None,
            &policy,
            services,
            OutputMode::Text,
            &mut out,
            &mut err,
        )
        .await;
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (code, text(out), text(err))
    }

    #[tokio::test]
    async fn a_refusal_before_a_retry_sends_nothing_more_and_exits_10() {
        let writer =
            StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
        let services = AskServices {
            limiter: limiter(LimitSetting::Limit(RateLimit {
                max_requests: 1,
                window: Duration::from_secs(60),
            })),
            store: Some(writer.handle()),
            prices: Arc::new(PriceTable::builtin()),
        };
        let overloaded = LlmError::Overloaded {
            status: 529,
            message: "Overloaded".into(),
        };
        let provider = Scripted::new(vec![vec![Err(overloaded)], answer("never")]);
        let (code, out, err) = ask(Arc::clone(&provider), &services).await;
        assert_eq!(code, exit::LOCAL_LIMIT, "{err}");
        assert_eq!(out, "");
        assert_eq!(provider.left(), 1, "the retry was not sent");
        assert!(
            err.contains("rate limit 1/1m reached — next slot in"),
            "{err}"
        );
        assert!(err.contains("saved in conversation 1"), "{err}");
        let store = writer.handle();
        let rows = store
            .recent_requests(RequestFilter::default())
            .wait()
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, RequestStatus::Error);
        assert_eq!(rows[0].error_type.as_deref(), Some("overloaded"));
        let conversation = store
            .load_conversation(ConversationId(1))
            .wait()
            .await
            .unwrap();
        let states: Vec<(Role, MessageState)> = conversation
            .messages
            .iter()
            .map(|m| (m.message.role, m.message.state))
            .collect();
        assert_eq!(
            states,
            vec![
                (Role::User, MessageState::Complete),
                (Role::Assistant, MessageState::Failed)
            ]
        );
    }

    #[tokio::test]
    async fn without_a_database_the_reply_is_still_printed() {
        let services = AskServices {
            limiter: limiter(LimitSetting::Off),
            store: None,
            prices: Arc::new(PriceTable::builtin()),
        };
        let (code, out, err) = ask(Scripted::new(vec![answer("still here")]), &services).await;
        assert_eq!((code, out.as_str()), (exit::OK, "still here"), "{err}");
    }

    #[tokio::test]
    async fn a_reply_is_stored_complete_with_its_cost() {
        let writer =
            StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
        let services = AskServices {
            limiter: limiter(LimitSetting::Off),
            store: Some(writer.handle()),
            prices: Arc::new(PriceTable::builtin()),
        };
        let (code, _, err) = ask(Scripted::new(vec![answer("done")]), &services).await;
        assert_eq!(code, exit::OK, "{err}");
        let store = writer.handle();
        let conversation = store
            .load_conversation(ConversationId(1))
            .wait()
            .await
            .unwrap();
        assert_eq!(conversation.conversation.title.as_deref(), Some("question"));
        let reply = &conversation.messages[1];
        assert_eq!(
            (reply.message.content.as_str(), reply.message.state),
            ("done", MessageState::Complete)
        );
        let request = reply.request.as_ref().expect("the reply's request");
        assert_eq!(request.status, RequestStatus::Ok);
        assert_eq!(request.gen_ai_response_finish_reasons, vec!["end_turn"]);
        // 3 x $3 + 2 x $15 per million tokens.
        assert_eq!(request.cost(), CostView::Known(0.000_039));
    }
}
