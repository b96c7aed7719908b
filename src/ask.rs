//! Headless `promptdeck ask`: the same engine, no terminal.
//!
//! The reply is streamed to stdout as it arrives (sanitized: no control sequence from a model
//! reaches a terminal even here), a one-line usage summary goes to stderr, and the exit status
//! says which class of failure happened. `--json` prints one JSON object instead.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::exit;
use crate::llm::error::ErrorClass;
use crate::llm::retry::{self, Next, Progress, RetryPolicy};
use crate::llm::{ChatRequest, LlmError, NoteKind, Provider, StreamEvent, Usage};
use crate::prompts::Provenance;
use crate::text;

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

/// Streams `request` and reports. `out` gets the text as it arrives (unless JSON), `err`
/// the summary or error. Returns the exit status.
pub async fn run(
    provider: Arc<dyn Provider>,
    request: ChatRequest,
    prompt: Option<Provenance>,
    policy: &RetryPolicy,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> u8 {
    let json = mode == OutputMode::Json;
    let started = Instant::now();
    let mut outcome = AskOutcome {
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
    };
    let mut interrupted = false;
    let mut attempts = 0u32;
    let result = {
        let report = |progress: Progress| match progress {
            Progress::AttemptStarted { number, model } => {
                attempts = number;
                if number > 1 {
                    // A retry starts from scratch: it had no text (or it would not retry).
                    outcome.model = model;
                    outcome.usage = Usage::default();
                    outcome.usage_reported = false;
                    outcome.notes.clear();
                }
            }
            Progress::Event(event) => on_event(&mut outcome, event, started, mode, out),
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
                    err,
                    "promptdeck: attempt {number} failed ({}); {what}",
                    error.kind()
                );
            }
        };
        let gate = |_attempt: u32| async { Ok(()) };
        let drive = retry::drive(
            provider.as_ref(),
            request,
            policy,
            gate,
            retry::clock_jitter,
            report,
        );
        tokio::select! {
            result = drive => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    let failure = match result {
        Some(Ok(stop_reason)) => {
            outcome.stop_reason = Some(stop_reason.as_str().to_string());
            None
        }
        Some(Err(error)) => Some(error),
        None => {
            interrupted = true;
            None
        }
    };
    outcome.attempts = attempts;
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
        let _ = writeln!(err, "{}", summary(&outcome));
        if let Some(e) = &outcome.error {
            let _ = writeln!(err, "promptdeck: error: {}", e.message);
        }
    }
    if interrupted {
        return exit::INTERRUPTED;
    }
    exit_status(failure.as_ref())
}

/// Folds one provider event into the outcome, printing text as it arrives.
fn on_event(
    outcome: &mut AskOutcome,
    event: StreamEvent,
    started: Instant,
    mode: OutputMode,
    out: &mut (dyn Write + Send),
) {
    match event {
        StreamEvent::Started {
            model,
            response_id,
            request_id,
        } => {
            outcome.response_model = model;
            outcome.response_id = response_id;
            outcome.request_id = request_id;
        }
        StreamEvent::TextDelta(delta) => {
            if outcome.time_to_first_token_ms.is_none() {
                outcome.time_to_first_token_ms = Some(millis(started.elapsed()));
            }
            if mode != OutputMode::Json {
                // Write errors (a closed pipe) end the output, not the accounting.
                let _ = out.write_all(text::sanitize_for_output(&delta).as_bytes());
                let _ = out.flush();
            }
            outcome.text.push_str(&delta);
        }
        StreamEvent::Note { kind, summary } => outcome.notes.push(AskNote {
            kind,
            summary: text::sanitize(&summary),
        }),
        StreamEvent::Usage(usage) => {
            outcome.usage.merge(usage);
            outcome.usage_reported = true;
        }
        StreamEvent::RateLimits(_) | StreamEvent::Finished { .. } => {}
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
