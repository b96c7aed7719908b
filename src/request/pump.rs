//! The pump: runs one [`RequestSpec`] from the limiter to the socket and the log.
//!
//! In order, for every request (the chat's and `ask`'s alike):
//!
//! 1. **The gate.** Attempt 1 passes the limiter ([`Limiter::decide`]) before anything is
//!    sent; a refusal ends the request there ([`End::Refused`]). The chat keeps a refused
//!    message in its composer (nothing is stored); `ask` stores it first
//!    ([`RequestSpec::store_even_if_refused`]), since it may exist nowhere else. Every later attempt (retry, fallback) passes the same gate
//!    inside [`retry::drive`]. Each decision, with the quota right after it, goes to the sink.
//! 2. **Stored before sent.** The conversation (when new) and the user message are stored,
//!    and the pump waits for them, before attempt 1 leaves.
//! 3. **Progress.** Each item [`retry::drive`] reports is stamped once, as it arrives, and sent
//!    through a channel to one consumer that folds it into the [`Ledger`], carries out the
//!    ledger's writes without waiting (rows are named by client-side [`RowKey`]s, so no write
//!    waits for an earlier insert's id), and hands the stamped item to the sink.
//! 4. **The end.** The reply's final state is written and the writes are flushed before
//!    [`Pump::run`] returns. A request whose future is dropped (the chat's Esc aborts its
//!    task) is finished by a drop guard, with the same fire-and-forget writes: nothing stays
//!    `streaming`.
//!
//! Recording never stops the reply: a database failure turns recording off for the rest of
//! the request and leaves one warning.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::RequestSpec;
use super::budget::Budget;
use super::ledger::{Ledger, Stamp, Stamped, Write};
use crate::limit::{Admission, Decision, Limiter, system_now_ms};
use crate::llm::pricing::PriceTable;
use crate::llm::retry::{self, Progress, RetryPolicy};
use crate::llm::{LlmError, Provider, Role, StopReason};
use crate::store::LogId;
use crate::store::writer::{KeyedWrite, RowKey};
use crate::store::{
    ConversationId, MessageId, MessageState, NewConversation, NewMessage, PromptVersion,
    RequestParams, RequestRecord, StoreError, StoreHandle,
};

/// What every request needs: the provider and its retry policy, the limiter, the log.
#[derive(Clone)]
pub struct Pump {
    pub provider: Arc<dyn Provider>,
    pub policy: Arc<RetryPolicy>,
    /// The history database; `None` records nothing (it could not be opened).
    pub store: Option<StoreHandle>,
    /// Admits every attempt and receives usage; `None`: no gate, no budgets.
    pub limiter: Option<Limiter>,
    /// Prices for the ledger.
    pub prices: Arc<PriceTable>,
    /// Set when the app is going away (a signal, an SSH drop): a request dropped then is
    /// recorded `interrupted`, not `cancelled` by the user.
    pub shutting_down: Arc<AtomicBool>,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("provider", &self.provider.name())
            .field("store", &self.store.is_some())
            .field("limiter", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

/// What the pump tells its sink, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum PumpEvent {
    /// The limiter's answer for attempt `attempt`, with the quota right after it.
    Admitted { attempt: u32, decision: Decision },
    /// The user message is stored in `conversation` (the one given, or a new one) before
    /// anything is sent.
    Stored { conversation: ConversationId },
    /// A progress item, stamped where it arrived, after the ledger folded it.
    Progress(Stamped),
    /// Something the user should read (the database failed and recording stopped, the
    /// limiter fell back from Redis, usage could not be recorded).
    Warning(String),
    /// Attempt `attempt` is row `log_id` of the request log: the number `promptdeck log` and
    /// the inspector show for it.
    Logged { attempt: u32, log_id: LogId },
}

/// How a request ended. Its final state is written and flushed.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The model finished the reply (stored `complete`).
    Finished(StopReason),
    /// The last attempt failed (stored `failed`, or `interrupted` when text had arrived).
    Failed(LlmError),
    /// The limiter refused attempt `attempt`: it was not sent. Refused at attempt 1, nothing
    /// was stored either (unless the spec asked to store it anyway).
    Refused {
        attempt: u32,
        /// `rate limit 3/1m reached — next slot in 45s`.
        message: String,
        /// Until the next slot.
        retry_after: Duration,
    },
    /// The limiter failed before attempt `attempt`: nothing is sent unlimited.
    LimiterFailed { attempt: u32, message: String },
    /// The `cancel` future completed (stored `cancelled`, or `interrupted` when
    /// [`Pump::shutting_down`] was set first: a signal, not the user).
    Cancelled,
}

/// What [`Pump::run`] returns.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub end: End,
    /// Every number about the request.
    pub ledger: Ledger,
    /// The conversation it was stored in, when the database works.
    pub conversation: Option<ConversationId>,
}

/// What the consumer takes off the channel.
enum Item {
    Admitted(u32, Decision),
    Progress(Stamped),
}

impl Pump {
    /// Runs `spec` until it ends, `cancel` completes, or the future is dropped; `sink` gets
    /// every [`PumpEvent`] in order.
    pub async fn run(
        &self,
        spec: RequestSpec,
        sink: impl FnMut(PumpEvent),
        cancel: impl Future<Output = ()>,
    ) -> Outcome {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut run = Run {
            pump: self,
            store: self.store.clone(),
            params: RequestParams {
                model: spec.request.model.clone(),
                max_tokens: spec.request.max_tokens,
                temperature: spec.request.temperature,
                variables: spec.variables.clone(),
            },
            prompt: spec.prompt.as_ref().map(PromptVersion::from),
            compare_id: spec.compare_id.clone(),
            conversation: spec.conversation,
            user_message: None,
            attempts: BTreeMap::new(),
            logged: Vec::new(),
            reply: None,
            ledger: Ledger::new(Arc::clone(&self.prices)),
            rx,
            sink,
            warnings: Vec::new(),
            done: false,
        };
        if spec.store_even_if_refused {
            run.store_user_message(&spec).await;
        }
        let sink = &mut run.sink;
        if let Err(end) = self.gate(1, &mut |item| forward(sink, item)).await {
            run.done = true; // nothing was sent: no reply to finish
            return Outcome {
                end,
                ledger: run.ledger.clone(),
                conversation: run.conversation,
            };
        }
        if !spec.store_even_if_refused {
            run.store_user_message(&spec).await;
        }

        let stop: Arc<Mutex<Option<End>>> = Arc::default();
        let result = {
            // Both closures own their senders: the channel closes when `drive` is done,
            // which ends the consumer.
            let (gate_tx, gate_stop) = (tx.clone(), Arc::clone(&stop));
            let gate = move |number: u32| {
                let (stop, tx) = (Arc::clone(&gate_stop), gate_tx.clone());
                async move {
                    if number == 1 {
                        return Ok(()); // passed above, before anything was stored
                    }
                    let admitted = self
                        .gate(number, &mut |item| {
                            let _ = tx.send(item);
                        })
                        .await;
                    admitted.map_err(|end| {
                        let message = match &end {
                            End::Refused { message, .. } | End::LimiterFailed { message, .. } => {
                                message.clone()
                            }
                            _ => String::new(),
                        };
                        *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(end);
                        LlmError::LocalLimit { message }
                    })
                }
            };
            let report = move |progress: Progress| {
                let _ = tx.send(Item::Progress(Stamped {
                    stamp: Stamp::now(),
                    progress,
                }));
            };
            let drive = retry::drive(
                self.provider.as_ref(),
                spec.request,
                &self.policy,
                gate,
                retry::clock_jitter,
                report,
            );
            tokio::select! {
                (result, ()) = async { tokio::join!(drive, run.consume()) } => Some(result),
                () = cancel => None,
            }
        };
        let end = match result {
            None => {
                // Reported before the cancel but not handled yet.
                while let Ok(item) = run.rx.try_recv() {
                    run.handle(item).await;
                }
                End::Cancelled
            }
            Some(Ok(stop_reason)) => End::Finished(stop_reason),
            Some(Err(error)) => stop
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or(End::Failed(error)),
        };
        let state = match &end {
            End::Finished(_) => MessageState::Complete,
            // A signal (the caller set `shutting_down`) interrupts; the user cancels.
            End::Cancelled if self.shutting_down.load(Ordering::SeqCst) => {
                MessageState::Interrupted
            }
            End::Cancelled => MessageState::Cancelled,
            _ if run.ledger.text().is_empty() => MessageState::Failed,
            _ => MessageState::Interrupted,
        };
        run.finish(state).await;
        Outcome {
            end,
            ledger: run.ledger.clone(),
            conversation: run.conversation,
        }
    }

    /// The one gate: asks the limiter to admit attempt `number`, reports its decision, and
    /// says how the request ends when it may not go.
    async fn gate(&self, number: u32, report: &mut impl FnMut(Item)) -> Result<(), End> {
        let now_ms = system_now_ms();
        let Some(limiter) = &self.limiter else {
            report(Item::Admitted(number, Decision::unlimited(now_ms)));
            return Ok(());
        };
        let decided = limiter.decide(now_ms).await;
        for warning in limiter.take_warnings() {
            tracing::warn!("rate limiter: {warning}");
        }
        let decision = match decided {
            Ok(decision) => decision,
            Err(e) => {
                return Err(End::LimiterFailed {
                    attempt: number,
                    message: format!("the rate limiter failed: {e}"),
                });
            }
        };
        let refused = match decision.admission {
            Admission::Admitted { .. } => None,
            Admission::Refused {
                retry_at_ms,
                reason,
            } => Some(End::Refused {
                attempt: number,
                message: limiter.refusal_message(reason, retry_at_ms, now_ms),
                retry_after: Duration::from_millis(retry_at_ms.saturating_sub(now_ms)),
            }),
        };
        report(Item::Admitted(number, decision));
        refused.map_or(Ok(()), Err)
    }
}

/// Hands a gate decision straight to the sink (attempt 1, before the consumer runs).
fn forward(sink: &mut impl FnMut(PumpEvent), item: Item) {
    match item {
        Item::Admitted(attempt, decision) => sink(PumpEvent::Admitted { attempt, decision }),
        Item::Progress(stamped) => sink(PumpEvent::Progress(stamped)),
    }
}

/// One running request: the ledger, the rows it wrote, the channel and the sink. Its drop
/// guard finishes the request when the future is dropped before the end.
struct Run<'p, F: FnMut(PumpEvent)> {
    pump: &'p Pump,
    /// `None` once the database failed (after one warning).
    store: Option<StoreHandle>,
    params: RequestParams,
    prompt: Option<PromptVersion>,
    compare_id: Option<String>,
    conversation: Option<ConversationId>,
    user_message: Option<MessageId>,
    /// Each attempt's log row.
    attempts: BTreeMap<u32, RowKey>,
    /// Log row ids not handed on yet, by attempt.
    logged: Vec<(u32, tokio::sync::oneshot::Receiver<LogId>)>,
    /// The reply's row, once the first attempt started.
    reply: Option<RowKey>,
    ledger: Ledger,
    rx: mpsc::UnboundedReceiver<Item>,
    sink: F,
    warnings: Vec<String>,
    /// The final state was written.
    done: bool,
}

impl<F: FnMut(PumpEvent)> Run<'_, F> {
    /// Stores the conversation (when new), the user message and the prompt's text, and waits
    /// until they are stored.
    async fn store_user_message(&mut self, spec: &RequestSpec) {
        let Some(store) = self.store.clone() else {
            return;
        };
        if self.conversation.is_none() {
            let new = NewConversation {
                title: spec
                    .user_text
                    .as_deref()
                    .map(super::title_of)
                    .filter(|t| !t.is_empty()),
                provider: self.pump.provider.name().to_string(),
                model: spec.request.model.clone(),
                prompt: self.prompt.clone(),
            };
            match store.create_conversation(new).wait().await {
                Ok(id) => self.conversation = Some(id),
                Err(e) => return self.store_failed(&e),
            }
        }
        let Some(conversation) = self.conversation else {
            return;
        };
        if let (Some(prompt), Some(text)) = (&self.prompt, &spec.prompt_text) {
            let (hash, name) = (prompt.content_hash.clone(), prompt.name.clone());
            let text = text.to_string();
            self.send(|s| s.save_prompt_text(hash, name, text));
        }
        if let Some(text) = &spec.user_text {
            let user = NewMessage {
                conversation_id: conversation,
                role: Role::User,
                content: text.clone(),
                state: MessageState::Complete,
                request_id: None,
            };
            match store.insert_message(user).wait().await {
                Ok(id) => self.user_message = Some(id),
                Err(e) => self.store_failed(&e),
            }
        }
        self.flush_warnings();
        (self.sink)(PumpEvent::Stored { conversation });
    }

    /// Takes items off the channel until the retry loop ends, writing held-back reply text
    /// when its checkpoint is due.
    async fn consume(&mut self) {
        loop {
            let deadline = self.ledger.checkpoint_deadline();
            let wake =
                deadline.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
            tokio::select! {
                item = self.rx.recv() => match item {
                    Some(item) => self.handle(item).await,
                    None => return,
                },
                () = tokio::time::sleep_until(wake), if deadline.is_some() => {
                    let writes = self.ledger.on_timer(std::time::Instant::now());
                    self.apply(writes).await;
                }
            }
        }
    }

    /// Folds one item into the ledger, carries out its writes, then hands it on.
    async fn handle(&mut self, item: Item) {
        match item {
            Item::Admitted(attempt, decision) => {
                (self.sink)(PumpEvent::Admitted { attempt, decision });
            }
            Item::Progress(stamped) => {
                let writes = self.ledger.apply(&stamped);
                self.apply(writes).await;
                self.flush_warnings();
                self.report_logged();
                (self.sink)(PumpEvent::Progress(stamped));
            }
        }
    }

    /// Hands on the log row ids the database thread has assigned since the last item.
    fn report_logged(&mut self) {
        let mut pending = std::mem::take(&mut self.logged);
        pending.retain_mut(|(attempt, id)| match id.try_recv() {
            Ok(log_id) => {
                (self.sink)(PumpEvent::Logged {
                    attempt: *attempt,
                    log_id,
                });
                false
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => false,
        });
        self.logged = pending;
    }

    async fn apply(&mut self, writes: Vec<Write>) {
        for write in writes {
            if let Some(budget) = self.write(write) {
                self.record_budget(budget).await;
            }
        }
    }

    /// Writes the final state and waits until everything is on disk.
    async fn finish(&mut self, state: MessageState) {
        let writes = self.ledger.finish(state, Stamp::now());
        self.apply(writes).await;
        self.done = true;
        if let Some(store) = self.store.clone()
            && let Err(e) = store.flush().wait().await
        {
            self.store_failed(&e);
        }
        // Flushed: every id is known now.
        self.report_logged();
        self.flush_warnings();
    }

    /// Carries out one write of the ledger; returns usage for the budgets when an attempt
    /// ended.
    fn write(&mut self, write: Write) -> Option<Budget> {
        match write {
            Write::AttemptStarted { number } => {
                let key = RowKey::fresh();
                self.attempts.insert(number, key);
                let record = self.record(number)?;
                let (logged, id) = tokio::sync::oneshot::channel();
                self.logged.push((number, id));
                self.send(|s| {
                    s.keyed(KeyedWrite::InsertRequest {
                        key,
                        record,
                        logged: Some(logged),
                    })
                });
                match (self.reply, self.conversation) {
                    (Some(message), _) => self.send(|s| {
                        s.keyed(KeyedWrite::AttachRequest {
                            message,
                            request: key,
                        })
                    }),
                    (None, Some(conversation)) => {
                        let reply = RowKey::fresh();
                        self.reply = Some(reply);
                        let new = NewMessage {
                            conversation_id: conversation,
                            role: Role::Assistant,
                            content: String::new(),
                            state: MessageState::Streaming,
                            request_id: None,
                        };
                        self.send(|s| {
                            s.keyed(KeyedWrite::InsertReply {
                                key: reply,
                                new,
                                request: key,
                            })
                        });
                    }
                    (None, None) => {}
                }
                None
            }
            Write::ResponseStart { number, start } => {
                let request = *self.attempts.get(&number)?;
                self.send(|s| s.keyed(KeyedWrite::RecordResponseStart { request, start }));
                None
            }
            Write::Reply { state } => {
                let message = self.reply?;
                let content = self.ledger.text().to_string();
                self.send(|s| {
                    s.keyed(KeyedWrite::CheckpointMessage {
                        message,
                        content,
                        state,
                    })
                });
                None
            }
            Write::AttemptFinished { number } => {
                let outcome = self.ledger.outcome(number)?;
                let key = self.attempts.get(&number).copied();
                let budget = Budget::of(&outcome, key);
                if let Some(request) = key {
                    self.send(|s| s.keyed(KeyedWrite::FinishRequest { request, outcome }));
                }
                budget
            }
        }
    }

    /// The log row of attempt `number` as it is sent.
    fn record(&self, number: u32) -> Option<RequestRecord> {
        let attempt = self.ledger.attempt(number)?;
        let mut params = self.params.clone();
        params.model.clone_from(&attempt.model);
        Some(RequestRecord {
            conversation_id: self.conversation,
            message_id: self.user_message,
            attempt: number,
            started_at_ms: i64::try_from(attempt.started.unix_ms).unwrap_or(i64::MAX),
            provider: self.pump.provider.name().to_string(),
            params,
            prompt: self.prompt.clone(),
            compare_id: self.compare_id.clone(),
        })
    }

    async fn record_budget(&mut self, budget: Budget) {
        if let Some(limiter) = &self.pump.limiter
            && let Err(e) = budget.record(limiter).await
        {
            self.warnings
                .push(format!("could not record usage for the budgets: {e}"));
        }
    }

    fn flush_warnings(&mut self) {
        for warning in std::mem::take(&mut self.warnings) {
            (self.sink)(PumpEvent::Warning(warning));
        }
    }

    /// Stops using the database after a failure, saying so once.
    fn store_failed(&mut self, e: &StoreError) {
        if self.store.take().is_some() {
            tracing::warn!("history database failed: {e}");
            self.warnings.push(format!(
                "the history database failed ({e}); this reply is not being saved"
            ));
        }
    }

    /// Sends a command without waiting.
    fn send(&mut self, command: impl FnOnce(&StoreHandle) -> Result<(), StoreError>) {
        if let Some(store) = &self.store
            && let Err(e) = command(store)
        {
            self.store_failed(&e);
        }
    }
}

impl<F: FnMut(PumpEvent)> Drop for Run<'_, F> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped mid-request (the task was aborted): record what arrived, then finish
        // without waiting. Nothing is handed on: the caller has stopped listening.
        let mut budgets = Vec::new();
        while let Ok(item) = self.rx.try_recv() {
            if let Item::Progress(stamped) = item {
                for write in self.ledger.apply(&stamped) {
                    budgets.extend(self.write(write));
                }
            }
        }
        let state = if self.pump.shutting_down.load(Ordering::SeqCst) {
            MessageState::Interrupted
        } else {
            MessageState::Cancelled
        };
        for write in self.ledger.finish(state, Stamp::now()) {
            budgets.extend(self.write(write));
        }
        if let Some(limiter) = &self.pump.limiter {
            for budget in budgets {
                budget.spawn(limiter.clone());
            }
        }
        self.done = true;
    }
}

#[cfg(test)]
mod tests;
