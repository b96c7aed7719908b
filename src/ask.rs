//! Headless `promptdeck ask`: the same engine, no terminal.
//!
//! The reply is streamed to stdout as it arrives (sanitized: no control sequence from a model
//! reaches a terminal even here) and ended with a newline when it lacks one, a one-line usage
//! summary goes to stderr, and the exit status
//! says which class of failure happened. `--json` prints one JSON object instead.
//!
//! `ask` keeps the same promises as the full-screen chat:
//!
//! - **Rate limit.** Every attempt (retries and fallbacks included) passes
//!   [`Limiter::admit`](crate::limit::Limiter::admit) first. A refusal sends nothing, says when the next slot frees, and exits
//!   with [`exit::LOCAL_LIMIT`] (10). The message is not lost: it was already stored.
//! - **History.** The conversation and the user message are stored *before* anything is sent;
//!   each attempt gets one `requests` row (created when it starts, finished when it ends, with
//!   usage, time to first token, duration, cost, error and the prompt version); the reply is
//!   checkpointed while it streams (through a [`Checkpointer`](crate::request::checkpoint::Checkpointer), at most every 500 ms) and
//!   finalised as `complete`, `interrupted`, `failed` or `cancelled`. A `kill -9` mid-reply
//!   therefore loses at most about the last second of text; the next process that opens the
//!   database marks the orphaned reply `interrupted`.
//! - **The reply comes first.** If the database cannot be opened or fails midway, a warning
//!   goes to stderr and the reply is still streamed and printed.
//!
//! The request itself runs through the one request path ([`crate::request`], shared with
//! the full-screen chat): this module is the sink that prints what the pump hands it, and
//! reports the numbers of the request's ledger, the same ones the log holds.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::exit;
use crate::llm::error::ErrorClass;
use crate::llm::pricing::CostView;
use crate::llm::retry::{Next, Progress};
use crate::llm::{LlmError, NoteKind, StreamEvent, Usage};
use crate::prompts::Provenance;
use crate::request::{End, Ledger, Measure, Pump, PumpEvent, RequestSpec};
use crate::text;

/// Longest conversation title stored for an `ask` (the first line of the message), in
/// characters.
pub use crate::request::TITLE_MAX_CHARS;

pub mod continuation;

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
    /// Summed over the attempts, as the log records them.
    pub usage: Usage,
    /// False when the server reported no usage at all (numbers are then null, never 0).
    pub usage_reported: bool,
    /// True when the output count is promptdeck's estimate from the text (a reply cut short
    /// before the provider sent its count), as in the log.
    pub output_estimated: bool,
    /// The cost over the attempts, priced as the log prices it.
    pub cost: CostView,
    /// `cost`'s dollars as a plain number (as `log --json` has them): `None` when the model
    /// has no price or the server reported no usage.
    pub cost_usd: Option<f64>,
    pub notes: Vec<AskNote>,
    /// What the provider adjusted in the request (e.g. a temperature the model does not
    /// accept, left out), once each over all attempts; also printed to stderr as
    /// `promptdeck: note: …`.
    pub notices: Vec<String>,
    pub time_to_first_token_ms: Option<u64>,
    pub total_ms: u64,
    pub stop_reason: Option<String>,
    pub error: Option<AskError>,
    /// Attempts made (retries and fallbacks included).
    pub attempts: u32,
    /// The prompt version that was the system prompt, if any.
    pub prompt: Option<Provenance>,
    /// `prompt` as the reference that names it (`greeter@1a2b3c4d5e6f`, `greeter@#…` for
    /// uncommitted text), to paste into `--prompt` or `prompts show`.
    pub prompt_ref: Option<String>,
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
    /// The reply text as streamed, then a newline if it does not end with one (so that a
    /// shell prompt, or the next line of a script's output, starts on its own line).
    Text,
    /// One JSON object at the end.
    Json,
}

/// The printing half of one `ask` run: the text as it arrives, notes and notices, and what
/// `--json` reports that the ledger does not hold. The storing half is the [`Pump`].
struct Printer<'a> {
    outcome: AskOutcome,
    /// Told when a write to `out` finds the reader gone: the request is cancelled.
    pipe_closed: Arc<tokio::sync::Notify>,
    /// The reader of `out` went away.
    closed: bool,
    mode: OutputMode,
    out: &'a mut (dyn Write + Send),
    err: &'a mut (dyn Write + Send),
}

impl Printer<'_> {
    fn on(&mut self, event: PumpEvent) {
        match event {
            PumpEvent::Warning(warning) => {
                let _ = writeln!(self.err, "promptdeck: warning: {warning}");
            }
            PumpEvent::Stored { conversation } => {
                self.outcome.conversation_id = Some(conversation.0);
            }
            PumpEvent::Admitted { .. } | PumpEvent::Logged { .. } => {}
            PumpEvent::Progress(stamped) => self.on_progress(stamped.progress),
        }
    }

    fn on_progress(&mut self, progress: Progress) {
        match progress {
            Progress::AttemptStarted { number, .. } => {
                if number > 1 {
                    // A retry starts from scratch: it had no text (or it would not retry).
                    self.outcome.notes.clear();
                }
            }
            Progress::Event(event) => self.on_event(event),
            Progress::AttemptFailed {
                number,
                error,
                next,
            } => {
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

    fn on_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::TextDelta(delta) => {
                if self.mode != OutputMode::Json && !self.closed {
                    let bytes = text::sanitize_for_output(&delta);
                    let written = self
                        .out
                        .write_all(bytes.as_bytes())
                        .and_then(|()| self.out.flush());
                    // Nobody reads any more (`| head`): stop the request rather than download
                    // the rest of the reply.
                    if let Err(e) = written
                        && e.kind() == std::io::ErrorKind::BrokenPipe
                    {
                        self.closed = true;
                        self.pipe_closed.notify_one();
                    }
                }
            }
            StreamEvent::Note { kind, summary } => self.outcome.notes.push(AskNote {
                kind,
                summary: text::sanitize(&summary),
            }),
            StreamEvent::Notice(notice) => {
                // Every attempt says it again: say it once.
                let notice = text::sanitize(&notice);
                if !self.outcome.notices.contains(&notice) {
                    let _ = writeln!(self.err, "promptdeck: note: {notice}");
                    self.outcome.notices.push(notice);
                }
            }
            StreamEvent::Started { .. }
            | StreamEvent::Usage(_)
            | StreamEvent::RateLimits(_)
            | StreamEvent::Finished { .. } => {}
        }
    }

    /// Fills in what the ledger knows: the same numbers the log holds.
    fn settle(&mut self, ledger: &Ledger) {
        let o = &mut self.outcome;
        o.text = text::sanitize_for_output(ledger.text());
        o.attempts = u32::try_from(ledger.attempts().len()).unwrap_or(u32::MAX);
        if let Some(current) = ledger.current() {
            o.model.clone_from(&current.model);
            o.response_model.clone_from(&current.response_model);
            o.response_id.clone_from(&current.response_id);
            o.request_id.clone_from(&current.provider_request_id);
        }
        let totals = ledger.totals();
        o.usage = totals.usage;
        o.usage_reported = ledger
            .attempts()
            .iter()
            .any(|a| !a.reported.is_unreported());
        o.output_estimated = totals.output == Measure::Estimated;
        o.cost = totals.cost;
        o.cost_usd = totals.cost.usd();
        o.time_to_first_token_ms = ledger.ttft().map(millis);
    }
}

/// One request run through the pump and reported: what `--json` prints, and how it ended.
#[derive(Debug, Clone)]
pub struct Asked {
    pub outcome: AskOutcome,
    /// The exit status it gives (`ask`'s codes).
    pub status: u8,
    /// The limiter stopped it ([`End::Refused`] or [`End::LimiterFailed`]).
    gate_stop: Option<End>,
}

/// Streams the request of `spec` through `pump` and reports. `out` gets the text as it
/// arrives (unless JSON), `err` the summary or error. Returns the exit status.
pub async fn run(
    pump: &Pump,
    spec: RequestSpec,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> u8 {
    let signal = Arc::new(std::sync::Mutex::new(None));
    let stop = stop_signal(pump, Arc::clone(&signal));
    let mut asked = execute(pump, spec, mode, out, err, stop).await;
    if let Some((name, status)) = *signal.lock().unwrap_or_else(|p| p.into_inner()) {
        // SIGTERM or SIGHUP (a dropped SSH session): the reply was recorded as interrupted.
        if let Some(error) = &mut asked.outcome.error {
            error.kind = "interrupted".into();
            error.message = format!("interrupted by {name}");
        }
        asked.status = status;
    }
    print(asked, mode, out, err)
}

/// Completes on Ctrl-C (the user cancels), or on SIGTERM / SIGHUP: then the pump is told it
/// is shutting down (the reply is recorded `interrupted`) and `signal` gets the signal's name
/// and exit status.
async fn stop_signal(pump: &Pump, signal: Arc<std::sync::Mutex<Option<(&'static str, u8)>>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal as unix_signal};
        if let (Ok(mut term), Ok(mut hup)) = (
            unix_signal(SignalKind::terminate()),
            unix_signal(SignalKind::hangup()),
        ) {
            let got = tokio::select! {
                _ = tokio::signal::ctrl_c() => None,
                _ = term.recv() => Some(("SIGTERM", 128 + 15)),
                _ = hup.recv() => Some(("SIGHUP", 128 + 1)),
            };
            if got.is_some() {
                pump.shutting_down
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }
            *signal.lock().unwrap_or_else(|p| p.into_inner()) = got;
            return;
        }
    }
    let _ = signal;
    let _ = pump;
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs `spec` through `pump` until it ends or `cancel` completes: the text goes to `out` as
/// it arrives (unless `mode` is JSON), notices and retries to `err`. Prints nothing at the end.
pub async fn execute(
    pump: &Pump,
    spec: RequestSpec,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
    cancel: impl std::future::Future<Output = ()>,
) -> Asked {
    let started = Instant::now();
    let mut printer = Printer {
        outcome: AskOutcome {
            text: String::new(),
            provider: pump.provider.name().to_string(),
            label: pump.provider.label().map(str::to_string),
            model: spec.request.model.clone(),
            response_model: None,
            response_id: None,
            request_id: None,
            usage: Usage::default(),
            usage_reported: false,
            output_estimated: false,
            cost: CostView::NotReported,
            cost_usd: None,
            notes: Vec::new(),
            notices: Vec::new(),
            time_to_first_token_ms: None,
            total_ms: 0,
            stop_reason: None,
            error: None,
            attempts: 0,
            prompt: spec.prompt.clone(),
            prompt_ref: spec.prompt.as_ref().map(Provenance::as_reference),
            conversation_id: None,
        },
        pipe_closed: Arc::new(tokio::sync::Notify::new()),
        closed: false,
        mode,
        out,
        err,
    };

    let closed = Arc::clone(&printer.pipe_closed);
    let cancel = async move {
        tokio::select! {
            () = cancel => {}
            () = closed.notified() => {}
        }
    };
    let done = pump.run(spec, |event| printer.on(event), cancel).await;
    printer.settle(&done.ledger);
    let end = done.end;
    let pipe_closed = printer.closed;
    let interrupted = end == End::Cancelled && !pipe_closed;
    let (failure, gate_stop) = match end {
        End::Finished(stop_reason) => {
            printer.outcome.stop_reason = Some(stop_reason.as_str().to_string());
            (None, None)
        }
        End::Failed(error) => (Some(error), None),
        stop @ (End::Refused { .. } | End::LimiterFailed { .. }) => (None, Some(stop)),
        End::Cancelled => (None, None),
    };

    let mut outcome = printer.outcome;
    outcome.total_ms = millis(started.elapsed());
    if let Some(e) = &failure {
        outcome.error = Some(AskError {
            kind: e.kind().to_string(),
            message: text::sanitize(&e.to_string()),
            retry_after_seconds: e.retry_after().map(|d| d.as_secs_f64()),
        });
    } else if pipe_closed {
        outcome.error = Some(AskError {
            kind: "closed_pipe".into(),
            message: "stdout was closed by its reader; the reply was cancelled".into(),
            retry_after_seconds: None,
        });
    } else if interrupted {
        outcome.error = Some(AskError {
            kind: "cancelled".into(),
            message: "interrupted by Ctrl-C".into(),
            retry_after_seconds: None,
        });
    } else if let Some(stop) = &gate_stop {
        outcome.error = Some(match stop {
            End::Refused {
                message,
                retry_after,
                ..
            } => AskError {
                kind: "local_rate_limit".into(),
                message: message.clone(),
                retry_after_seconds: Some(retry_after.as_secs_f64()),
            },
            _ => AskError {
                kind: "limiter".into(),
                message: gate_stop_message(stop).to_string(),
                retry_after_seconds: None,
            },
        });
    }

    let status = match &gate_stop {
        Some(End::Refused { .. }) => exit::LOCAL_LIMIT,
        Some(_) => exit::INTERNAL,
        None if pipe_closed => exit::CLOSED_PIPE,
        None if interrupted => exit::INTERRUPTED,
        None => exit_status(failure.as_ref()),
    };
    Asked {
        outcome,
        status,
        gate_stop,
    }
}

/// Prints what `ask` prints at the end of `asked`; returns its exit status.
fn print(
    asked: Asked,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> u8 {
    let Asked {
        outcome,
        status,
        gate_stop,
    } = asked;
    if status == exit::CLOSED_PIPE {
        // Like any tool whose reader went away (`| head`): nothing more to say.
        return status;
    }
    if mode == OutputMode::Json {
        match serde_json::to_string(&outcome) {
            Ok(line) => {
                let _ = writeln!(out, "{}", text::json_terminal_safe(line));
            }
            Err(e) => {
                let _ = writeln!(err, "promptdeck: cannot encode the result: {e}");
                return exit::INTERNAL;
            }
        }
    } else {
        // On a terminal or not: a reply that already ends a line gets nothing more.
        if !outcome.text.is_empty() && !outcome.text.ends_with('\n') {
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
        let _ = writeln!(err, "promptdeck: {}", gate_stop_message(stop));
        // Refused before a retry: the earlier attempts were sent (and are in the log).
        let what = match outcome.attempts {
            0 => "the request was not sent".to_string(),
            1 => "the local limit stopped the retries after 1 attempt".to_string(),
            n => format!("the local limit stopped the retries after {n} attempts"),
        };
        let _ = match outcome.conversation_id {
            Some(id) => writeln!(
                err,
                "promptdeck: {what}; your message is saved in conversation {id} \
                 (`promptdeck export {id}`)"
            ),
            None => writeln!(
                err,
                "promptdeck: {what}, and the history database is unavailable: your message \
                 was not saved"
            ),
        };
    }
    status
}

/// The message of a limiter stop ([`End::Refused`] or [`End::LimiterFailed`]).
fn gate_stop_message(stop: &End) -> &str {
    match stop {
        End::Refused { message, .. } | End::LimiterFailed { message, .. } => message,
        _ => "",
    }
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
        let out = match (o.usage.output_tokens, o.output_estimated) {
            (Some(v), true) => format!("~{v}"),
            (v, _) => n(v),
        };
        parts.push(format!(
            "tokens in {} out {out} cache write {} read {}",
            n(o.usage.input_tokens),
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
mod tests;
