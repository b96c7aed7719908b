//! Recording one request in the history database: shared by `promptdeck ask` and the
//! full-screen chat, so both keep the same promises.
//!
//! - **The user message first.** [`RequestRecorder::begin`] stores it (in a new conversation,
//!   or in the one given) and waits until it is stored, before anything is sent.
//! - **One log row per attempt.** Every [`Progress::AttemptStarted`] inserts a `requests` row
//!   (linked to the user message, with the exact prompt version); it is finished when the
//!   attempt ends, with usage, time to first token, duration, cost, rate-limit headers and the
//!   error. Usage also goes to the [`Limiter`] for the token and spending budgets.
//! - **The reply as it streams.** The reply row is created with the first attempt and
//!   checkpointed through a [`Checkpointer`] (at most every 500 ms); its final state is
//!   `complete`, `interrupted`, `failed` or `cancelled`.
//! - **Cancelling by dropping.** The chat cancels a request by aborting its task, which drops
//!   the future of [`run_recorded`] wherever it is. A drop guard then writes the text received
//!   so far as `cancelled` and finishes the open attempt row as `cancelled`, with
//!   fire-and-forget commands (the [`StoreHandle`] never blocks), so no reply stays
//!   `streaming`. Dropping an unfinished [`RequestRecorder`] does the same.
//! - **Recording never stops the reply.** A database failure turns recording off for the rest
//!   of the request and leaves one warning in [`RequestRecorder::take_warnings`].
//!
//! Progress from [`retry::drive`] goes through a channel to one consumer that owns the
//! recorder, so database round trips never sit inside the retry loop's callbacks.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::limit::{Admission, Limiter, system_now_ms};
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::retry::{self, Progress, RetryPolicy};
use crate::llm::{ChatRequest, LlmError, Provider, Role, StopReason, StreamEvent, Usage};
use crate::store::{
    Checkpoint, Checkpointer, ConversationId, ErrorInfo, LogId, MessageId, MessageState,
    NewConversation, NewMessage, Pending, PromptVersion, RateLimitHeaders, RequestOutcome,
    RequestParams, RequestRecord, RequestStatus, ResponseStart, StoreError, StoreHandle,
};
use crate::text;

/// Longest conversation title stored for a new conversation (the first non-empty line of the
/// first message), in characters.
pub const TITLE_MAX_CHARS: usize = 80;

/// What every recorded request needs.
#[derive(Debug, Clone)]
pub struct RecordContext {
    /// The history database; `None` records nothing (it could not be opened).
    pub store: Option<StoreHandle>,
    /// Admits attempts and receives usage; `None`: no gate, no usage recorded.
    pub limiter: Option<Limiter>,
    /// Prices for each attempt's cost.
    pub prices: Arc<PriceTable>,
    /// `gen_ai.provider.name` ([`Provider::name`]).
    pub provider: String,
    /// `max_tokens` of the request.
    pub max_tokens: u32,
    /// Sampling temperature of the request, when set.
    pub temperature: Option<f32>,
    /// The prompt version that is the system prompt, if any.
    pub prompt: Option<PromptVersion>,
    /// The values its `{{variables}}` were filled with.
    pub variables: std::collections::BTreeMap<String, String>,
}

/// What [`run_recorded`] hands to its `forward` callback, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Something the user should read (the database failed and recording stopped, the limiter
    /// fell back from Redis, usage could not be recorded). Sent before the progress item
    /// whose recording caused it.
    Warning(String),
    /// A progress item of the request, after it was recorded.
    Progress(Progress),
}

/// How a recorded request ended. The reply's final state is already written.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedEnd {
    /// The model finished the reply (stored `complete`).
    Finished(StopReason),
    /// The last attempt failed (stored `failed`, or `interrupted` when text had arrived).
    Failed(LlmError),
    /// The limiter refused an attempt: it was not sent. The user message stays stored.
    Refused {
        /// `rate limit 3/1m reached — next slot in 45s`.
        message: String,
        /// Until the next slot.
        retry_after: Duration,
    },
    /// The limiter's store failed: nothing is sent unlimited.
    LimiterFailed(String),
    /// The `cancel` future of [`run_recorded_until`] completed (stored `cancelled`).
    Cancelled,
}

/// Why the limiter gate stopped the request before an attempt.
#[derive(Debug, Clone, PartialEq)]
enum GateStop {
    Refused {
        message: String,
        retry_after: Duration,
    },
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

fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One attempt in flight, as the request log will record it.
#[derive(Debug)]
struct Attempt {
    number: u32,
    model: String,
    log: Option<LogId>,
    /// The row's id while it is still being inserted (only when the attempt started after
    /// the run was dropped: see [`RequestRecorder::abandon`]).
    pending_log: Option<Pending<LogId>>,
    started: Instant,
    started_at_ms: u64,
    first_text: Option<Duration>,
    usage: Usage,
    response_model: Option<String>,
    response_id: Option<String>,
    provider_request_id: Option<String>,
}

/// Usage of a finished attempt, for the limiter's budgets.
#[derive(Debug)]
struct UsageToRecord {
    key: String,
    tokens: u64,
    usd: f64,
}

/// The recording of one request (one user message and its reply, over every attempt).
#[derive(Debug)]
pub struct RequestRecorder {
    /// `ctx.store` becomes `None` once the database failed (after one warning).
    ctx: RecordContext,
    conversation: Option<ConversationId>,
    user_message: Option<MessageId>,
    reply: Option<MessageId>,
    attempt: Option<Attempt>,
    checkpointer: Checkpointer,
    /// The reply text so far (every attempt's: a retry only follows an attempt without text).
    text: String,
    warnings: Vec<String>,
    /// The final state written, once written.
    finished: Option<MessageState>,
    /// Set when the whole app is going away (SIGTERM, SIGHUP from an SSH drop): an
    /// abandoned reply is then `interrupted`, not `cancelled` by the user.
    shutting_down: Option<Arc<AtomicBool>>,
}

impl RequestRecorder {
    /// Stores the user message before anything is sent: in `conversation` when given (a
    /// continuing chat, a resumed conversation), else in a new conversation titled from the
    /// message. Waits until it is stored. [`RequestRecorder::conversation`] gives the id used.
    pub async fn begin(
        ctx: RecordContext,
        conversation: Option<ConversationId>,
        model: &str,
        user_message: &str,
    ) -> RequestRecorder {
        RequestRecorder::begin_with(ctx, conversation, model, Some(user_message)).await
    }

    /// Like [`RequestRecorder::begin`] for a retry of the conversation's last user message
    /// (Ctrl-R): that message is stored already, so nothing is stored again.
    pub async fn begin_retry(
        ctx: RecordContext,
        conversation: Option<ConversationId>,
        model: &str,
    ) -> RequestRecorder {
        RequestRecorder::begin_with(ctx, conversation, model, None).await
    }

    async fn begin_with(
        ctx: RecordContext,
        conversation: Option<ConversationId>,
        model: &str,
        user_message: Option<&str>,
    ) -> RequestRecorder {
        let mut rec = RequestRecorder {
            ctx,
            conversation,
            user_message: None,
            reply: None,
            attempt: None,
            checkpointer: Checkpointer::default(),
            text: String::new(),
            warnings: Vec::new(),
            finished: None,
            shutting_down: None,
        };
        let Some(store) = rec.ctx.store.clone() else {
            return rec;
        };
        let conversation = match conversation {
            Some(id) => id,
            None => {
                let new = NewConversation {
                    title: Some(title_of(user_message.unwrap_or(""))).filter(|t| !t.is_empty()),
                    provider: rec.ctx.provider.clone(),
                    model: model.to_string(),
                    prompt: rec.ctx.prompt.clone(),
                };
                match store.create_conversation(new).wait().await {
                    Ok(id) => id,
                    Err(e) => {
                        rec.store_failed(&e);
                        return rec;
                    }
                }
            }
        };
        rec.conversation = Some(conversation);
        let Some(user_message) = user_message else {
            return rec;
        };
        let user = NewMessage {
            conversation_id: conversation,
            role: Role::User,
            content: user_message.to_string(),
            state: MessageState::Complete,
            request_id: None,
        };
        match store.insert_message(user).wait().await {
            Ok(id) => rec.user_message = Some(id),
            Err(e) => rec.store_failed(&e),
        }
        rec
    }

    /// Keeps the exact text of this request's prompt version (the one in the context), so a
    /// resumed conversation can restore it even after its file changed.
    pub fn save_prompt_text(&mut self, text: &str) {
        let Some(prompt) = self.ctx.prompt.clone() else {
            return;
        };
        let text = text.to_string();
        self.send(|s| s.save_prompt_text(prompt.content_hash, prompt.name, text));
    }

    /// The conversation of this request: the one given to [`RequestRecorder::begin`], or the
    /// one it created (`None` when none was given and the database is unavailable).
    pub fn conversation(&self) -> Option<ConversationId> {
        self.conversation
    }

    /// The stored user message, if the database works.
    pub fn user_message(&self) -> Option<MessageId> {
        self.user_message
    }

    /// The stored reply, once the first attempt started.
    pub fn reply(&self) -> Option<MessageId> {
        self.reply
    }

    /// The reply text received so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Records one progress item: attempt rows, the response start, time to first token,
    /// usage, rate-limit headers, reply checkpoints, finished rows and usage for the budgets.
    pub async fn on_progress(&mut self, progress: &Progress) {
        match progress {
            Progress::AttemptStarted { number, model } => {
                self.start_attempt(*number, model.clone()).await;
            }
            Progress::Event(StreamEvent::Finished { stop_reason }) => {
                let reasons = vec![stop_reason.as_str().to_string()];
                self.finish_attempt(RequestStatus::Ok, reasons, None).await;
            }
            Progress::Event(event) => self.on_event(event),
            Progress::AttemptFailed { error, .. } => {
                let info = error_info(error);
                self.finish_attempt(RequestStatus::Error, Vec::new(), Some(info))
                    .await;
            }
        }
    }

    /// When held-back reply text must be written: call
    /// [`RequestRecorder::on_checkpoint_timer`] then.
    pub fn checkpoint_deadline(&self) -> Option<Instant> {
        self.checkpointer.deadline()
    }

    /// The checkpoint timer fired: writes the held-back text if it is due.
    pub fn on_checkpoint_timer(&mut self) {
        if self.checkpointer.on_timer(Instant::now()) == Checkpoint::Write {
            self.write_reply(MessageState::Streaming);
        }
    }

    /// The final write of the reply with `state`, then waits until everything is on disk. An
    /// attempt still open is finished first (`cancelled` for `Cancelled`).
    pub async fn finish(&mut self, state: MessageState) {
        if self.attempt.is_some() {
            let status = match state {
                MessageState::Complete => RequestStatus::Ok,
                MessageState::Cancelled => RequestStatus::Cancelled,
                MessageState::Failed => RequestStatus::Error,
                MessageState::Interrupted | MessageState::Streaming => RequestStatus::Interrupted,
            };
            self.finish_attempt(status, Vec::new(), None).await;
        }
        self.write_reply(state);
        self.checkpointer.wrote(Instant::now());
        self.finished = Some(state);
        if let Some(store) = self.ctx.store.clone()
            && let Err(e) = store.flush().wait().await
        {
            self.store_failed(&e);
        }
    }

    /// Gives up on the request without waiting (the run was dropped): the open attempt row is
    /// finished as `cancelled` and the reply written with its text as `cancelled`, through
    /// fire-and-forget commands; usage goes to the limiter from a spawned task. Does nothing
    /// once the reply was finished. Also called when an unfinished recorder is dropped.
    pub fn abandon(&mut self) {
        if self.finished.is_some() {
            return;
        }
        let interrupted = self
            .shutting_down
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst));
        let (state, status) = if interrupted {
            (MessageState::Interrupted, RequestStatus::Interrupted)
        } else {
            (MessageState::Cancelled, RequestStatus::Cancelled)
        };
        self.finished = Some(state);
        if let Some(mut attempt) = self.attempt.take() {
            if let Some(pending) = attempt.pending_log.take() {
                self.abandon_unlogged(attempt, pending, status);
            } else {
                self.attempt = Some(attempt);
                let usage = self.finish_attempt_rows(status, Vec::new(), None);
                self.spawn_usage(usage);
            }
        }
        self.write_reply(state);
        self.checkpointer.wrote(Instant::now());
    }

    /// Makes [`RequestRecorder::abandon`] record `interrupted` instead of `cancelled` once
    /// `flag` is set: the app sets it when it is being shut down by a signal.
    pub fn interrupt_on_shutdown(&mut self, flag: Arc<AtomicBool>) {
        self.shutting_down = Some(flag);
    }

    /// Warnings for the user since the last call (the database failed, the limiter fell back
    /// from Redis, usage could not be recorded).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Stops using the database after a failure, saying so once.
    fn store_failed(&mut self, e: &StoreError) {
        if self.ctx.store.take().is_some() {
            tracing::warn!("history database failed: {e}");
            self.warnings.push(format!(
                "the history database failed ({e}); this reply is not being saved"
            ));
        }
    }

    /// Sends a fire-and-forget command.
    fn send(&mut self, command: impl FnOnce(&StoreHandle) -> Result<(), StoreError>) {
        if let Some(store) = &self.ctx.store
            && let Err(e) = command(store)
        {
            self.store_failed(&e);
        }
    }

    fn new_attempt(&mut self, number: u32, model: String) -> Attempt {
        if let Some(limiter) = &self.ctx.limiter {
            let warnings = limiter.take_warnings();
            self.warnings
                .extend(warnings.into_iter().map(|w| w.to_string()));
        }
        Attempt {
            number,
            model,
            log: None,
            pending_log: None,
            started: Instant::now(),
            started_at_ms: system_now_ms(),
            first_text: None,
            usage: Usage::default(),
            response_model: None,
            response_id: None,
            provider_request_id: None,
        }
    }

    fn request_record(&self, attempt: &Attempt) -> RequestRecord {
        RequestRecord {
            conversation_id: self.conversation,
            message_id: self.user_message,
            attempt: attempt.number,
            started_at_ms: i64::try_from(attempt.started_at_ms).unwrap_or(i64::MAX),
            provider: self.ctx.provider.clone(),
            params: RequestParams {
                model: attempt.model.clone(),
                max_tokens: self.ctx.max_tokens,
                temperature: self.ctx.temperature,
                variables: self.ctx.variables.clone(),
            },
            prompt: self.ctx.prompt.clone(),
        }
    }

    /// Logs the attempt as sent and links the reply to it (creating the reply with the first
    /// attempt).
    async fn start_attempt(&mut self, number: u32, model: String) {
        let mut attempt = self.new_attempt(number, model);
        if let Some(store) = self.ctx.store.clone() {
            match store
                .insert_request(self.request_record(&attempt))
                .wait()
                .await
            {
                Ok(log) => attempt.log = Some(log),
                Err(e) => self.store_failed(&e),
            }
        }
        if let (Some(store), Some(log)) = (self.ctx.store.clone(), attempt.log) {
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

    /// Events that need no round trip to the database.
    fn on_event(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Started {
                model,
                response_id,
                request_id,
            } => {
                let Some(attempt) = &mut self.attempt else {
                    return;
                };
                attempt.response_model.clone_from(model);
                attempt.response_id.clone_from(response_id);
                attempt.provider_request_id.clone_from(request_id);
                if let Some(log) = attempt.log {
                    let start = ResponseStart {
                        response_model: model.clone(),
                        response_id: response_id.clone(),
                        provider_request_id: request_id.clone(),
                        time_to_first_chunk_ms: None,
                        ratelimit_headers: RateLimitHeaders::default(),
                    };
                    self.send(|s| s.record_response_start(log, start));
                }
            }
            StreamEvent::TextDelta(delta) => {
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
                self.text.push_str(delta);
                if self.checkpointer.on_change(Instant::now()) == Checkpoint::Write {
                    self.write_reply(MessageState::Streaming);
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
            StreamEvent::Usage(usage) => {
                if let Some(attempt) = &mut self.attempt {
                    attempt.usage.merge(*usage);
                }
            }
            StreamEvent::Note { .. } | StreamEvent::Notice(_) | StreamEvent::Finished { .. } => {}
        }
    }

    /// Overwrites the stored reply with the text so far.
    fn write_reply(&mut self, state: MessageState) {
        if let Some(reply) = self.reply {
            let content = self.text.clone();
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
        if let Some(usage) = self.finish_attempt_rows(status, finish_reasons, error) {
            self.record_usage(usage).await;
        }
    }

    fn outcome_of(
        &self,
        attempt: &Attempt,
        status: RequestStatus,
        finish_reasons: Vec<String>,
        error: Option<ErrorInfo>,
    ) -> (RequestOutcome, CostView) {
        let priced_model = attempt
            .response_model
            .as_deref()
            .filter(|m| self.ctx.prices.knows(m))
            .unwrap_or(&attempt.model);
        let cost = CostView::of(&self.ctx.prices, priced_model, &attempt.usage);
        let cost_source = self
            .ctx
            .prices
            .source(priced_model)
            .map(|s| s.label().to_string());
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
            cost_source,
            error,
            ratelimit_headers: RateLimitHeaders::default(),
        };
        (outcome, cost)
    }

    /// Finishes the open attempt's row; returns its usage for the budgets, if any.
    fn finish_attempt_rows(
        &mut self,
        status: RequestStatus,
        finish_reasons: Vec<String>,
        error: Option<ErrorInfo>,
    ) -> Option<UsageToRecord> {
        let attempt = self.attempt.take()?;
        let (outcome, cost) = self.outcome_of(&attempt, status, finish_reasons, error);
        if let Some(log) = attempt.log {
            self.send(|s| s.finish_request(log, outcome));
        }
        usage_to_record(&attempt, attempt.log, cost)
    }

    async fn record_usage(&mut self, usage: UsageToRecord) {
        let Some(limiter) = &self.ctx.limiter else {
            return;
        };
        if let Err(e) = limiter
            .record_usage(&usage.key, usage.tokens, usage.usd, system_now_ms())
            .await
        {
            self.warnings
                .push(format!("could not record usage for the budgets: {e}"));
        }
    }

    /// Records usage from a spawned task (nothing can be awaited in a drop).
    fn spawn_usage(&self, usage: Option<UsageToRecord>) {
        let (Some(usage), Some(limiter)) = (usage, self.ctx.limiter.clone()) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = limiter
                    .record_usage(&usage.key, usage.tokens, usage.usd, system_now_ms())
                    .await
                {
                    tracing::warn!("could not record usage of a cancelled request: {e}");
                }
            });
        }
    }

    /// Progress that arrived but was not recorded when the run was dropped: what needs no
    /// round trip is recorded now; an attempt that just started gets its row inserted
    /// without waiting for its id.
    fn apply_detached(&mut self, progress: &Progress) {
        match progress {
            Progress::AttemptStarted { number, model } => {
                let mut attempt = self.new_attempt(*number, model.clone());
                if let Some(store) = &self.ctx.store {
                    attempt.pending_log = Some(store.insert_request(self.request_record(&attempt)));
                }
                self.attempt = Some(attempt);
            }
            Progress::Event(StreamEvent::Finished { stop_reason }) => {
                let reasons = vec![stop_reason.as_str().to_string()];
                self.finish_detached(RequestStatus::Ok, reasons, None);
            }
            Progress::Event(event) => self.on_event(event),
            Progress::AttemptFailed { error, .. } => {
                self.finish_detached(RequestStatus::Error, Vec::new(), Some(error_info(error)));
            }
        }
    }

    fn finish_detached(
        &mut self,
        status: RequestStatus,
        finish_reasons: Vec<String>,
        error: Option<ErrorInfo>,
    ) {
        match self.attempt.as_mut().and_then(|a| a.pending_log.take()) {
            Some(pending) => {
                let Some(attempt) = self.attempt.take() else {
                    return;
                };
                let (outcome, cost) = self.outcome_of(&attempt, status, finish_reasons, error);
                self.spawn_usage(usage_to_record(&attempt, None, cost));
                self.spawn_after_insert(pending, outcome);
            }
            None => {
                let usage = self.finish_attempt_rows(status, finish_reasons, error);
                self.spawn_usage(usage);
            }
        }
    }

    /// Cancels an attempt whose row is still being inserted.
    fn abandon_unlogged(
        &mut self,
        attempt: Attempt,
        pending: Pending<LogId>,
        status: RequestStatus,
    ) {
        let (outcome, cost) = self.outcome_of(&attempt, status, Vec::new(), None);
        self.spawn_usage(usage_to_record(&attempt, None, cost));
        self.spawn_after_insert(pending, outcome);
    }

    /// Once the row's id is known: finishes the row with `outcome` and links the reply to it
    /// (creating the reply with the text so far when the first attempt had none yet).
    fn spawn_after_insert(&mut self, pending: Pending<LogId>, outcome: RequestOutcome) {
        let Some(store) = self.ctx.store.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let reply = self.reply;
        let state = self.finished.unwrap_or(MessageState::Cancelled);
        let new_reply = match (reply, self.conversation) {
            (None, Some(conversation)) => Some(NewMessage {
                conversation_id: conversation,
                role: Role::Assistant,
                content: self.text.clone(),
                state,
                request_id: None,
            }),
            _ => None,
        };
        runtime.spawn(async move {
            let Ok(log) = pending.wait().await else {
                return;
            };
            let _ = store.finish_request(log, outcome);
            if let Some(reply) = reply {
                let _ = store.attach_request(reply, log);
            } else if let Some(mut new) = new_reply {
                new.request_id = Some(log);
                let _ = store.insert_message(new);
            }
        });
    }
}

impl Drop for RequestRecorder {
    fn drop(&mut self) {
        self.abandon();
    }
}

fn error_info(error: &LlmError) -> ErrorInfo {
    ErrorInfo {
        error_type: error.kind().to_string(),
        message: text::sanitize(&error.to_string()),
    }
}

fn usage_to_record(attempt: &Attempt, log: Option<LogId>, cost: CostView) -> Option<UsageToRecord> {
    if attempt.usage.is_unreported() {
        return None;
    }
    let u = &attempt.usage;
    let tokens = u.input_tokens.unwrap_or(0)
        + u.output_tokens.unwrap_or(0)
        + u.cache_creation_input_tokens.unwrap_or(0)
        + u.cache_read_input_tokens.unwrap_or(0);
    // Log ids are rowids of this machine's database: several machines sharing a Redis
    // limiter would collide on them. The process's own token keeps keys unique everywhere.
    let key = match log {
        Some(log) => format!("{}-request-{}", process_token(), log.0),
        None => format!(
            "{}-unlogged-{}-{}",
            process_token(),
            attempt.started_at_ms,
            attempt.number
        ),
    };
    Some(UsageToRecord {
        key,
        tokens,
        usd: cost.usd().unwrap_or(0.0),
    })
}

/// A token unique to this process across machines: its pid and the time it first asked,
/// to the nanosecond.
fn process_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{nanos:x}", std::process::id())
    })
}

/// The title of a new conversation: the first non-empty line of its first message, at most
/// [`TITLE_MAX_CHARS`] characters.
pub fn title_of(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(TITLE_MAX_CHARS)
        .collect()
}

/// The state of one run: the recorder, the progress channel and the caller's callback. Its
/// drop guard abandons the request when the run's future is dropped before the end.
struct Run<'r, F: FnMut(Recorded)> {
    recorder: &'r mut RequestRecorder,
    rx: mpsc::UnboundedReceiver<Progress>,
    forward: F,
    /// The final state was written.
    done: bool,
}

impl<F: FnMut(Recorded)> Run<'_, F> {
    fn forward_warnings(&mut self) {
        for warning in self.recorder.take_warnings() {
            (self.forward)(Recorded::Warning(warning));
        }
    }

    async fn handle(&mut self, progress: Progress) {
        handle(self.recorder, &mut self.forward, progress).await;
    }

    /// Handles progress until the retry loop ends, writing held-back reply text when its
    /// checkpoint deadline passes.
    async fn consume(&mut self) {
        let Run {
            recorder,
            rx,
            forward,
            ..
        } = self;
        loop {
            let deadline = recorder.checkpoint_deadline();
            let wake =
                deadline.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
            tokio::select! {
                progress = rx.recv() => match progress {
                    Some(progress) => handle(recorder, forward, progress).await,
                    None => return,
                },
                () = tokio::time::sleep_until(wake), if deadline.is_some() => {
                    recorder.on_checkpoint_timer();
                }
            }
        }
    }

    async fn finish(&mut self, state: MessageState) {
        self.recorder.finish(state).await;
        self.forward_warnings();
        self.done = true;
    }
}

/// Records one progress item, then forwards the warnings it raised and the item.
async fn handle(
    recorder: &mut RequestRecorder,
    forward: &mut impl FnMut(Recorded),
    progress: Progress,
) {
    recorder.on_progress(&progress).await;
    for warning in recorder.take_warnings() {
        forward(Recorded::Warning(warning));
    }
    forward(Recorded::Progress(progress));
}

impl<F: FnMut(Recorded)> Drop for Run<'_, F> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped mid-request (the task was aborted): record what arrived, then give up
        // without waiting. Nothing is forwarded: the caller has stopped listening.
        while let Ok(progress) = self.rx.try_recv() {
            self.recorder.apply_detached(&progress);
        }
        self.recorder.abandon();
    }
}

/// Runs [`retry::drive`] for `request` while recording it in `recorder` (see
/// [`run_recorded_until`]), until it ends or the future is dropped.
pub async fn run_recorded(
    provider: &dyn Provider,
    request: ChatRequest,
    policy: &RetryPolicy,
    recorder: &mut RequestRecorder,
    first_attempt_admitted: bool,
    forward: impl FnMut(Recorded),
) -> RecordedEnd {
    run_recorded_until(
        provider,
        request,
        policy,
        recorder,
        first_attempt_admitted,
        forward,
        std::future::pending(),
    )
    .await
}

/// Runs [`retry::drive`] for `request` while recording it in `recorder`:
///
/// - every attempt passes the limiter of the recorder's context first, except attempt 1 when
///   `first_attempt_admitted` (the caller admitted it already); a refusal ends the run with
///   [`RecordedEnd::Refused`] (or [`RecordedEnd::LimiterFailed`]) and sends nothing;
/// - every [`Progress`] is recorded, then handed to `forward` (preceded by the warnings its
///   recording raised);
/// - held-back reply text is written on time (at the checkpoint deadline);
/// - the reply's final state is written and flushed before returning.
///
/// When `cancel` completes first, the request is dropped, the progress already reported is
/// recorded and forwarded, the open attempt is finished as `cancelled` and the reply stored
/// as `cancelled`. Dropping the returned future instead does the same without waiting (and
/// without forwarding).
#[allow(clippy::too_many_arguments)]
pub async fn run_recorded_until(
    provider: &dyn Provider,
    request: ChatRequest,
    policy: &RetryPolicy,
    recorder: &mut RequestRecorder,
    first_attempt_admitted: bool,
    forward: impl FnMut(Recorded),
    cancel: impl Future<Output = ()>,
) -> RecordedEnd {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop: Arc<Mutex<Option<GateStop>>> = Arc::default();
    let limiter = recorder.ctx.limiter.clone();
    let mut run = Run {
        recorder,
        rx,
        forward,
        done: false,
    };
    run.forward_warnings();
    let result = {
        let gate = |number: u32| {
            let limiter = limiter.clone();
            let stop = Arc::clone(&stop);
            async move {
                match limiter {
                    Some(limiter) if !(number == 1 && first_attempt_admitted) => {
                        admit(&limiter, &stop).await
                    }
                    _ => Ok(()),
                }
            }
        };
        let report = move |progress: Progress| {
            let _ = tx.send(progress);
        };
        let drive = retry::drive(provider, request, policy, gate, retry::clock_jitter, report);
        let consume = run.consume();
        tokio::select! {
            (result, ()) = async { tokio::join!(drive, consume) } => Some(result),
            () = cancel => None,
        }
    };
    let Some(result) = result else {
        // Progress reported before the cancel but not handled yet.
        while let Ok(progress) = run.rx.try_recv() {
            run.handle(progress).await;
        }
        run.finish(MessageState::Cancelled).await;
        return RecordedEnd::Cancelled;
    };
    let gate_stop = stop.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (end, state) = match result {
        Ok(stop_reason) => (RecordedEnd::Finished(stop_reason), MessageState::Complete),
        Err(error) => {
            let end = match gate_stop {
                Some(GateStop::Refused {
                    message,
                    retry_after,
                }) => RecordedEnd::Refused {
                    message,
                    retry_after,
                },
                Some(GateStop::LimiterFailed(message)) => RecordedEnd::LimiterFailed(message),
                None => RecordedEnd::Failed(error),
            };
            let state = if run.recorder.text.is_empty() {
                MessageState::Failed
            } else {
                MessageState::Interrupted
            };
            (end, state)
        }
    };
    run.finish(state).await;
    end
}

/// A scripted [`Provider`] for unit tests (here and in `ask`).
#[cfg(test)]
pub(crate) mod scripted {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use futures_util::StreamExt;

    use crate::llm::{ChatRequest, EventStream, LlmError, Provider, StreamEvent};

    /// A one-message request for `message`.
    pub(crate) fn request(message: &str) -> ChatRequest {
        ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: None,
            messages: vec![crate::llm::Message {
                role: crate::llm::Role::User,
                content: message.into(),
            }],
            max_tokens: 100,
            temperature: None,
        }
    }

    /// A finished reply saying `text`, with usage.
    pub(crate) fn answer(text: &str) -> Vec<Result<StreamEvent, LlmError>> {
        vec![
            Ok(StreamEvent::TextDelta(text.into())),
            Ok(StreamEvent::Usage(crate::llm::Usage {
                input_tokens: Some(3),
                output_tokens: Some(2),
                ..crate::llm::Usage::default()
            })),
            Ok(StreamEvent::Finished {
                stop_reason: crate::llm::StopReason::EndTurn,
            }),
        ]
    }

    /// A provider answering each request with the next scripted list of events; with
    /// `hang`, each stream then stays open without sending anything more.
    pub(crate) struct Scripted {
        script: Mutex<VecDeque<Vec<Result<StreamEvent, LlmError>>>>,
        hang: bool,
    }

    impl Scripted {
        pub(crate) fn new(script: Vec<Vec<Result<StreamEvent, LlmError>>>) -> Arc<Scripted> {
            Arc::new(Scripted {
                script: Mutex::new(script.into()),
                hang: false,
            })
        }

        pub(crate) fn hanging(script: Vec<Vec<Result<StreamEvent, LlmError>>>) -> Arc<Scripted> {
            Arc::new(Scripted {
                script: Mutex::new(script.into()),
                hang: true,
            })
        }

        /// Scripted answers not requested yet.
        pub(crate) fn left(&self) -> usize {
            self.script.lock().unwrap().len()
        }
    }

    impl Provider for Scripted {
        fn name(&self) -> &'static str {
            "anthropic"
        }

        fn stream(&self, _request: ChatRequest) -> EventStream {
            let events = self.script.lock().unwrap().pop_front().unwrap_or_default();
            let events = futures_util::stream::iter(events);
            if self.hang {
                Box::pin(events.chain(futures_util::stream::pending()))
            } else {
                Box::pin(events)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use pretty_assertions::assert_eq;
    use tokio::sync::oneshot;

    use super::scripted::{Scripted, answer, request};
    use super::*;
    use crate::limit::{LimitConfig, LimitSetting, RateLimit};
    use crate::llm::EventStream;
    use crate::llm::retry::Next;
    use crate::store::{ConversationWithMessages, RequestFilter, RequestRow, Store, StoreWriter};

    fn writer() -> StoreWriter {
        StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap()
    }

    fn limiter(requests: LimitSetting) -> Limiter {
        Limiter::memory(LimitConfig {
            requests,
            ..LimitConfig::default()
        })
    }

    fn one_per_minute() -> Limiter {
        limiter(LimitSetting::Limit(RateLimit {
            max_requests: 1,
            window: Duration::from_secs(60),
        }))
    }

    fn ctx(store: &StoreWriter, limiter: Limiter) -> RecordContext {
        RecordContext {
            store: Some(store.handle()),
            limiter: Some(limiter),
            prices: Arc::new(PriceTable::builtin()),
            provider: "anthropic".into(),
            max_tokens: 100,
            temperature: None,
            prompt: None,
            variables: Default::default(),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        }
    }

    fn overloaded() -> LlmError {
        LlmError::Overloaded {
            status: 529,
            message: "Overloaded".into(),
        }
    }

    async fn conversation(store: &StoreHandle, id: ConversationId) -> ConversationWithMessages {
        store.load_conversation(id).wait().await.unwrap()
    }

    async fn rows(store: &StoreHandle) -> Vec<RequestRow> {
        let mut rows = store
            .recent_requests(RequestFilter::default())
            .wait()
            .await
            .unwrap();
        rows.reverse();
        rows
    }

    /// Role, text and state of each stored message.
    type Stored = Vec<(Role, String, MessageState)>;

    fn messages(c: &ConversationWithMessages) -> Stored {
        c.messages
            .iter()
            .map(|m| (m.message.role, m.message.content.clone(), m.message.state))
            .collect()
    }

    /// Answers like [`Scripted`], but first reads conversation 1 from the store, as it is
    /// at the moment the request is sent.
    struct Peeking {
        store: StoreHandle,
        seen: Arc<std::sync::Mutex<Option<Stored>>>,
    }

    impl Provider for Peeking {
        fn name(&self) -> &'static str {
            "anthropic"
        }

        fn stream(&self, _request: ChatRequest) -> EventStream {
            let store = self.store.clone();
            let seen = Arc::clone(&self.seen);
            let peek = async move {
                let c = store.load_conversation(ConversationId(1)).wait().await;
                *seen.lock().unwrap() = Some(c.map(|c| messages(&c)).unwrap_or_default());
                futures_util::stream::iter(answer("hi"))
            };
            Box::pin(futures_util::stream::once(peek).flatten())
        }
    }

    #[tokio::test]
    async fn begin_stores_the_user_message_before_the_provider_is_called() {
        let writer = writer();
        let seen = Arc::default();
        let provider = Peeking {
            store: writer.handle(),
            seen: Arc::clone(&seen),
        };
        let mut rec = RequestRecorder::begin(
            ctx(&writer, limiter(LimitSetting::Off)),
            None,
            "claude-sonnet-4-5",
            "\n  first line  \nsecond",
        )
        .await;
        assert_eq!(rec.conversation(), Some(ConversationId(1)));
        let end = run_recorded(&provider, request("q"), &policy(), &mut rec, false, |_| {}).await;
        assert_eq!(end, RecordedEnd::Finished(StopReason::EndTurn));
        // When the request left, the user message was stored (and the reply row begun).
        let seen = seen.lock().unwrap().clone().unwrap();
        assert_eq!(
            seen[0],
            (
                Role::User,
                "\n  first line  \nsecond".to_string(),
                MessageState::Complete
            )
        );
        let c = conversation(&writer.handle(), ConversationId(1)).await;
        assert_eq!(c.conversation.title.as_deref(), Some("first line"));
        assert_eq!(c.messages[1].message.state, MessageState::Complete);
    }

    #[tokio::test]
    async fn a_retry_stores_no_second_user_message() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::new(vec![answer("first try"), answer("second try")]);
        let mut first =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q").await;
        run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut first,
            false,
            |_| {},
        )
        .await;
        let id = first.conversation().unwrap();
        let mut retry =
            RequestRecorder::begin_retry(ctx(&writer, limiter(LimitSetting::Off)), Some(id), "m")
                .await;
        run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut retry,
            false,
            |_| {},
        )
        .await;
        let c = conversation(&store, id).await;
        let done = MessageState::Complete;
        assert_eq!(
            messages(&c),
            vec![
                (Role::User, "q".to_string(), done),
                (Role::Assistant, "first try".to_string(), done),
                (Role::Assistant, "second try".to_string(), done),
            ]
        );
    }

    #[tokio::test]
    async fn two_requests_with_one_conversation_id_land_in_it_in_order() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::new(vec![answer("a1"), answer("a2")]);
        let mut first =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q1").await;
        let end = run_recorded(
            provider.as_ref(),
            request("q1"),
            &policy(),
            &mut first,
            false,
            |_| {},
        )
        .await;
        assert_eq!(end, RecordedEnd::Finished(StopReason::EndTurn));
        let id = first.conversation().unwrap();
        let mut second = RequestRecorder::begin(
            ctx(&writer, limiter(LimitSetting::Off)),
            Some(id),
            "m",
            "q2",
        )
        .await;
        assert_eq!(second.conversation(), Some(id));
        run_recorded(
            provider.as_ref(),
            request("q2"),
            &policy(),
            &mut second,
            false,
            |_| {},
        )
        .await;
        let c = conversation(&store, id).await;
        let done = MessageState::Complete;
        assert_eq!(
            messages(&c),
            vec![
                (Role::User, "q1".to_string(), done),
                (Role::Assistant, "a1".to_string(), done),
                (Role::User, "q2".to_string(), done),
                (Role::Assistant, "a2".to_string(), done),
            ]
        );
        assert_eq!(store.list_conversations(10).wait().await.unwrap().len(), 1);
        let rows = rows(&store).await;
        let users: Vec<Option<MessageId>> = rows.iter().map(|r| r.message_id).collect();
        assert_eq!(
            users,
            vec![
                Some(c.messages[0].message.id),
                Some(c.messages[2].message.id)
            ]
        );
    }

    #[tokio::test]
    async fn a_retry_makes_two_rows_linked_to_one_user_message() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::new(vec![vec![Err(overloaded())], answer("done")]);
        let mut rec =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q").await;
        let mut forwarded = Vec::new();
        let end = run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut rec,
            false,
            |item| forwarded.push(item),
        )
        .await;
        assert_eq!(end, RecordedEnd::Finished(StopReason::EndTurn));
        assert!(
            forwarded.iter().any(|item| matches!(
                item,
                Recorded::Progress(Progress::AttemptFailed {
                    number: 1,
                    next: Next::Retry { .. },
                    ..
                })
            )),
            "{forwarded:?}"
        );
        let rows = rows(&store).await;
        let summary: Vec<(u32, u32, RequestStatus, Option<MessageId>)> = rows
            .iter()
            .map(|r| (r.attempt, r.retry_count, r.status, r.message_id))
            .collect();
        let user = rec.user_message();
        assert_eq!(
            summary,
            vec![
                (1, 0, RequestStatus::Error, user),
                (2, 1, RequestStatus::Ok, user)
            ]
        );
        let c = conversation(&store, rec.conversation().unwrap()).await;
        assert_eq!(c.messages.len(), 2, "one reply for both attempts");
        assert_eq!(c.messages[1].message.request_id, Some(rows[1].id));
        assert_eq!(c.messages[1].message.content, "done");
    }

    #[tokio::test]
    async fn a_refusal_on_attempt_2_ends_refused_and_sends_nothing() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::new(vec![vec![Err(overloaded())], answer("never")]);
        let mut rec = RequestRecorder::begin(ctx(&writer, one_per_minute()), None, "m", "q").await;
        let end = run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut rec,
            false,
            |_| {},
        )
        .await;
        match &end {
            RecordedEnd::Refused {
                message,
                retry_after,
            } => {
                assert!(message.contains("rate limit 1/1m reached"), "{message}");
                assert!(*retry_after > Duration::from_secs(50), "{retry_after:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(provider.left(), 1, "attempt 2 was not sent");
        let rows = rows(&store).await;
        assert_eq!(rows.len(), 1);
        let c = conversation(&store, rec.conversation().unwrap()).await;
        assert_eq!(c.messages[1].message.state, MessageState::Failed);
    }

    #[tokio::test]
    async fn an_attempt_admitted_by_the_caller_skips_the_gate_once() {
        let writer = writer();
        let limiter = one_per_minute();
        assert!(matches!(
            limiter.admit(system_now_ms()).await.unwrap(),
            Admission::Admitted { .. }
        ));
        let provider = Scripted::new(vec![answer("ok")]);
        let mut rec = RequestRecorder::begin(ctx(&writer, limiter), None, "m", "q").await;
        let end = run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut rec,
            true,
            |_| {},
        )
        .await;
        assert_eq!(end, RecordedEnd::Finished(StopReason::EndTurn));
    }

    /// A stream that sends some text, then nothing more.
    fn partial() -> Vec<Result<StreamEvent, LlmError>> {
        vec![
            Ok(StreamEvent::Started {
                model: Some("claude-sonnet-4-5".into()),
                response_id: Some("msg_1".into()),
                request_id: None,
            }),
            Ok(StreamEvent::TextDelta("partial ".into())),
            Ok(StreamEvent::TextDelta("text".into())),
        ]
    }

    #[tokio::test]
    async fn dropping_the_run_mid_stream_keeps_the_text_as_cancelled() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::hanging(vec![partial()]);
        let mut rec =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q").await;
        let (arrived, text_arrived) = oneshot::channel();
        let mut arrived = Some(arrived);
        let policy = policy();
        let run = run_recorded(
            provider.as_ref(),
            request("q"),
            &policy,
            &mut rec,
            false,
            |item| {
                if item
                    == Recorded::Progress(Progress::Event(StreamEvent::TextDelta("text".into())))
                    && let Some(tx) = arrived.take()
                {
                    let _ = tx.send(());
                }
            },
        );
        tokio::select! {
            end = run => panic!("the stream hangs, yet it ended: {end:?}"),
            _ = text_arrived => {}
        }
        // The run's future is dropped here.
        store.flush().wait().await.unwrap();
        let c = conversation(&store, rec.conversation().unwrap()).await;
        let reply = &c.messages[1];
        assert_eq!(
            (reply.message.content.as_str(), reply.message.state),
            ("partial text", MessageState::Cancelled)
        );
        let row = reply.request.as_ref().unwrap();
        assert_eq!(row.status, RequestStatus::Cancelled);
        assert_eq!(row.gen_ai_response_id.as_deref(), Some("msg_1"));
        drop(rec);
        store.flush().wait().await.unwrap();
        let again = conversation(&store, ConversationId(1)).await;
        assert_eq!(again, c, "dropping the recorder afterwards changes nothing");
    }

    #[tokio::test]
    async fn progress_left_in_the_channel_at_a_drop_is_still_recorded_as_cancelled() {
        let writer = writer();
        let store = writer.handle();
        let mut rec =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q").await;
        // What the drop guard does with progress that `drive` reported but the consumer had
        // not handled: the attempt's row id is not known yet.
        rec.apply_detached(&Progress::AttemptStarted {
            number: 1,
            model: "m".into(),
        });
        rec.apply_detached(&Progress::Event(StreamEvent::TextDelta("late".into())));
        rec.abandon();
        // The row is finished and the reply stored by a spawned task, once the id arrives.
        let mut messages_now = Vec::new();
        for _ in 0..200 {
            store.flush().wait().await.unwrap();
            let c = conversation(&store, ConversationId(1)).await;
            messages_now = messages(&c);
            if messages_now.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            messages_now,
            vec![
                (Role::User, "q".to_string(), MessageState::Complete),
                (Role::Assistant, "late".to_string(), MessageState::Cancelled),
            ]
        );
        store.flush().wait().await.unwrap();
        let rows = rows(&store).await;
        assert_eq!((rows.len(), rows[0].status), (1, RequestStatus::Cancelled));
        let c = conversation(&store, ConversationId(1)).await;
        assert_eq!(c.messages[1].message.request_id, Some(rows[0].id));
    }

    #[tokio::test]
    async fn a_cancel_future_ends_the_run_as_cancelled() {
        let writer = writer();
        let store = writer.handle();
        let provider = Scripted::hanging(vec![partial()]);
        let mut rec =
            RequestRecorder::begin(ctx(&writer, limiter(LimitSetting::Off)), None, "m", "q").await;
        let (arrived, text_arrived) = oneshot::channel::<()>();
        let mut arrived = Some(arrived);
        let mut texts = Vec::new();
        let end = run_recorded_until(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut rec,
            false,
            |item| {
                if let Recorded::Progress(Progress::Event(StreamEvent::TextDelta(t))) = &item {
                    texts.push(t.clone());
                    if t == "text" {
                        arrived.take();
                    }
                }
            },
            async {
                let _ = text_arrived.await;
            },
        )
        .await;
        assert_eq!(end, RecordedEnd::Cancelled);
        assert_eq!(texts.concat(), "partial text");
        let c = conversation(&store, rec.conversation().unwrap()).await;
        let reply = &c.messages[1];
        assert_eq!(
            (reply.message.content.as_str(), reply.message.state),
            ("partial text", MessageState::Cancelled)
        );
        assert_eq!(
            reply.request.as_ref().unwrap().status,
            RequestStatus::Cancelled
        );
    }

    #[tokio::test]
    async fn without_a_database_nothing_is_recorded_and_the_reply_still_flows() {
        let provider = Scripted::new(vec![answer("still here")]);
        let context = RecordContext {
            store: None,
            limiter: None,
            prices: Arc::new(PriceTable::builtin()),
            provider: "anthropic".into(),
            max_tokens: 100,
            temperature: None,
            prompt: None,
            variables: Default::default(),
        };
        let mut rec = RequestRecorder::begin(context, None, "m", "q").await;
        assert_eq!(rec.conversation(), None);
        let mut text = String::new();
        let end = run_recorded(
            provider.as_ref(),
            request("q"),
            &policy(),
            &mut rec,
            false,
            |item| {
                if let Recorded::Progress(Progress::Event(StreamEvent::TextDelta(t))) = item {
                    text.push_str(&t);
                }
            },
        )
        .await;
        assert_eq!(end, RecordedEnd::Finished(StopReason::EndTurn));
        assert_eq!((text.as_str(), rec.text()), ("still here", "still here"));
        assert_eq!(rec.take_warnings(), Vec::<String>::new());
    }
}
