//! Talking to language models.
//!
//! Every provider turns one [`ChatRequest`] into a stream of typed [`StreamEvent`]s that ends
//! with either [`StreamEvent::Finished`] or one [`LlmError`]. The rest of promptdeck never sees
//! HTTP, SSE or a provider's JSON: the transcript, the metrics, the headless `ask` command and
//! the request log all consume this one vocabulary.
//!
//! Layout: [`sse`] is the one pure, incremental Server-Sent-Events decoder; [`anthropic`] and
//! [`openai`] each hold a pure protocol parser (SSE event -> `StreamEvent`s) and the HTTP glue;
//! [`demo`] is the offline provider; [`error`] maps HTTP statuses and error bodies to
//! [`LlmError`]; [`http`] builds the one `reqwest::Client` and drives an SSE body.

pub mod anthropic;
pub mod demo;
pub mod error;
pub mod http;
pub mod models;
pub mod openai;
pub mod pricing;
pub mod retry;
pub mod sse;

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};

pub use error::LlmError;

/// A rough token estimate: one token per four bytes. Used where a server has not (yet)
/// reported a count; always shown marked with `~`.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Where a protocol parser is in a reply (shared by the Anthropic and OpenAI parsers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing yet (before `message_start`, before the first chunk).
    Waiting,
    /// `Started` was emitted; content may stream.
    Streaming,
    /// The end marker was seen and `Finished` emitted.
    Finished,
}

/// A boxed stream of provider events; the last item is `Finished` or an `Err`.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// Who said a message in the conversation sent to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person at the keyboard.
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation history sent with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// Everything a provider needs for one request. Built by the model, sent by a task.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Model name as the provider knows it (`claude-sonnet-5-5`, `gpt-5.6-terra`, ...).
    pub model: String,
    /// The system prompt, if any (the active prompt version's text, variables filled).
    pub system: Option<String>,
    /// The conversation so far, oldest first, ending with the new user message.
    pub messages: Vec<Message>,
    /// Upper bound on output tokens.
    pub max_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f32>,
}

/// Token counts for one request. `None` means the server did not report that number: it is
/// shown as "not reported", never as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens (Anthropic's `input_tokens`; OpenAI's `prompt_tokens` minus cached).
    pub input_tokens: Option<u64>,
    /// Output tokens generated so far (cumulative; the last report wins).
    pub output_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: Option<u64>,
    /// The part of `cache_creation_input_tokens` written with the 1-hour TTL (Anthropic's
    /// `usage.cache_creation.ephemeral_1h_input_tokens`); the rest used the 5-minute TTL.
    /// Priced at 2x input instead of 1.25x.
    pub cache_creation_1h_input_tokens: Option<u64>,
}

impl Usage {
    /// Overlays a newer cumulative report on this one: every field the newer report carries
    /// replaces the old value (Anthropic's `message_delta` usage is cumulative, never added).
    pub fn merge(&mut self, newer: Usage) {
        fn take(old: &mut Option<u64>, new: Option<u64>) {
            if new.is_some() {
                *old = new;
            }
        }
        take(&mut self.input_tokens, newer.input_tokens);
        take(&mut self.output_tokens, newer.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            newer.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            newer.cache_read_input_tokens,
        );
        take(
            &mut self.cache_creation_1h_input_tokens,
            newer.cache_creation_1h_input_tokens,
        );
    }

    /// True when the server reported no number at all.
    pub fn is_unreported(&self) -> bool {
        *self == Usage::default()
    }
}

/// Why a reply ended, as the provider said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its turn (`end_turn`, `stop`).
    EndTurn,
    /// The `max_tokens` limit cut the reply (`max_tokens`, `length`).
    MaxTokens,
    /// A stop sequence matched.
    StopSequence,
    /// The model asked to use a tool (`tool_use`, `tool_calls`).
    ToolUse,
    /// The provider refused or filtered the content (`refusal`, `content_filter`).
    Refusal,
    /// Any other reason, verbatim.
    Other(String),
}

impl StopReason {
    /// Maps a provider's stop/finish reason string.
    pub fn from_wire(s: &str) -> StopReason {
        match s {
            "end_turn" | "stop" => StopReason::EndTurn,
            "max_tokens" | "length" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" | "tool_calls" | "function_call" => StopReason::ToolUse,
            "refusal" | "content_filter" => StopReason::Refusal,
            other => StopReason::Other(other.to_string()),
        }
    }

    /// The short name shown in the UI and written to logs.
    pub fn as_str(&self) -> &str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::ToolUse => "tool_use",
            StopReason::Refusal => "refusal",
            StopReason::Other(s) => s,
        }
    }
}

/// A non-text content block, shown as a collapsed note instead of being dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Extended thinking (`thinking` / `redacted_thinking` blocks).
    Thinking,
    /// A tool call the model made (`tool_use`, `server_tool_use`, OpenAI `tool_calls`).
    ToolUse,
    /// Any other block type we do not render.
    Other,
}

/// What a provider's stream says, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The server accepted the request and the reply began.
    Started {
        /// The model that actually answers (may differ from the requested name).
        model: Option<String>,
        /// The provider's id for this response (`msg_...`, `chatcmpl-...`).
        response_id: Option<String>,
        /// The provider's request id header (`request-id`, `x-request-id`).
        request_id: Option<String>,
    },
    /// The provider's rate-limit headers on the response (`anthropic-ratelimit-*`,
    /// `x-ratelimit-*`, `retry-after`), name and value, in the order sent. Only sent when
    /// there are some.
    RateLimits(Vec<(String, String)>),
    /// A piece of reply text, to be appended.
    TextDelta(String),
    /// A non-text block: `summary` is a short one-line description (e.g. the tool name and
    /// the size of its input, or the length of the thinking).
    Note { kind: NoteKind, summary: String },
    /// A cumulative usage report; merge with [`Usage::merge`].
    Usage(Usage),
    /// Something the provider adjusted in the request, for the status line (e.g. a
    /// `temperature` left out because the model accepts only its default). Sent before the
    /// request leaves, so it may precede `Started`; not part of the reply.
    Notice(String),
    /// The reply ended normally. Always the last event of a successful stream.
    Finished { stop_reason: StopReason },
}

/// Timeouts applied to every request, all overridable in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP/TLS connection.
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub response_headers: Duration,
    /// Longest silence allowed between two chunks of a streaming body (a stalled stream).
    pub idle_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response_headers: Duration::from_secs(120),
            idle_read: Duration::from_secs(60),
        }
    }
}

/// A model provider: turns a request into a stream of events.
pub trait Provider: Send + Sync {
    /// Short provider name: `anthropic`, `openai`, `demo` (OpenTelemetry `gen_ai.provider.name`).
    fn name(&self) -> &'static str;

    /// A label shown beside every reply from this provider, e.g. "demo — not a model".
    fn label(&self) -> Option<&'static str> {
        None
    }

    /// Starts the request. Dropping the stream cancels it (and closes the HTTP connection).
    fn stream(&self, request: ChatRequest) -> EventStream;

    /// The model ids this provider's endpoint offers (`GET /v1/models`), in its order. The
    /// default is a provider that cannot list its models: the switcher then takes a typed
    /// name.
    fn list_models(&self) -> models::ModelListFuture {
        Box::pin(async {
            Err(LlmError::Protocol {
                message: "this provider cannot list its models".into(),
            })
        })
    }
}
