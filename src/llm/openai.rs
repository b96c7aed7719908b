//! OpenAI-compatible Chat Completions, streaming: OpenAI itself, Ollama, llama.cpp's server,
//! vLLM and the many proxies that copy the format.
//!
//! [`OpenAiParser`] is a pure state machine from the `chat.completion.chunk` stream to
//! promptdeck's [`StreamEvent`]s; [`OpenAiProvider`] builds the request and hands the body to
//! the shared driver in [`super::http`]. The servers differ in what they report, so the parser
//! is lenient where it can be honest about it:
//!
//! - usage arrives only with `stream_options.include_usage` and only from some servers; a
//!   stream without it produces no `Usage` event (shown as "not reported", never 0);
//! - reasoning text (`reasoning_content` from DeepSeek/vLLM, `reasoning` from Ollama and
//!   OpenRouter) and tool calls are summarised as one `Note` each just before `Finished`;
//! - some servers close the stream after the chunk carrying `finish_reason` without sending
//!   `data: [DONE]`. We treat that as a normal finish: the model said why it stopped, so the
//!   reply is complete. End of input before any `finish_reason` is [`LlmError::Interrupted`].
//!
//! The request differs by model family and server ([`request_body`]): OpenAI's reasoning
//! models (o-series, GPT-5) reject `max_tokens` and any non-default `temperature`, while
//! llama.cpp's server, Ollama and vLLM read `max_tokens` only. So OpenAI's own API and those
//! model names get `max_completion_tokens` ([`max_tokens_field`], overridable with
//! `[openai] max_tokens_field`), and a temperature those models would refuse is left out and
//! said so with a [`StreamEvent::Notice`] rather than failing the request.

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::json;

use super::error::{clean_server_text, server_error_parts, stream_error};
use super::http::{Endpoint, Protocol, build_client, drive_sse, header_text};
use super::sse::SseEvent;
use super::{
    ChatRequest, EventStream, LlmError, NoteKind, Phase, Provider, Role, StopReason, StreamEvent,
    Usage,
};
use crate::text::thousands;

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// OpenAI-compatible Chat Completions (`POST {base}/chat/completions`, streaming).
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    endpoint: Endpoint,
    client: reqwest::Client,
    /// Who serves `endpoint`, for the [`max_tokens_field`] rule.
    server: ServerKind,
    /// `[openai] max_tokens_field`: when set, replaces the [`max_tokens_field`] rule.
    max_tokens_field: Option<MaxTokensField>,
}

impl OpenAiProvider {
    /// A provider talking to `endpoint` (base URL like `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`).
    pub fn new(endpoint: Endpoint) -> Result<Self, LlmError> {
        let client = build_client(&endpoint.timeouts)?;
        Ok(OpenAiProvider {
            server: ServerKind::of(&endpoint.base_url),
            endpoint,
            client,
            max_tokens_field: None,
        })
    }

    /// Sends the output-token limit as `field` for every model (`None`: by server and model
    /// family, see [`max_tokens_field`]).
    pub fn with_max_tokens_field(mut self, field: Option<MaxTokensField>) -> Self {
        self.max_tokens_field = field;
        self
    }
}

/// The request field that carries [`ChatRequest::max_tokens`]; `[openai] max_tokens_field` in
/// the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// `max_tokens`: the original name, the one llama.cpp's server, Ollama and vLLM read.
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's current name; its reasoning models reject the old
    /// one.
    MaxCompletionTokens,
}

impl MaxTokensField {
    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// What a model name says about the request parameters the model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFamily {
    /// OpenAI's reasoning models: the o-series (`o1`, `o3-mini`, `o4-mini`…: names matching
    /// `^o\d`) and GPT-5 (`gpt-5`, `gpt-5-mini`, `gpt-5.6-terra`, dated snapshots). They take
    /// `max_completion_tokens` only and accept only the default `temperature` (1).
    Reasoning,
    /// Every other name, local models included: `max_tokens` and `temperature` as sent
    /// since the first Chat Completions API.
    Classic,
}

impl ModelFamily {
    /// The family of `model`, a bare OpenAI model name.
    pub fn of(model: &str) -> ModelFamily {
        let mut chars = model.chars();
        let o_series =
            chars.next() == Some('o') && chars.next().is_some_and(|c| c.is_ascii_digit());
        let gpt_5 = model
            .strip_prefix("gpt-5")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.']));
        if o_series || gpt_5 {
            ModelFamily::Reasoning
        } else {
            ModelFamily::Classic
        }
    }
}

/// Who serves a Chat Completions endpoint, as far as the request shape is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// OpenAI's own API (host `api.openai.com`).
    OpenAi,
    /// Anything else that speaks the format: llama.cpp's server, Ollama, vLLM, proxies.
    Compatible,
}

impl ServerKind {
    /// The kind of server at `base_url` (an unparseable URL counts as compatible).
    pub fn of(base_url: &str) -> ServerKind {
        match reqwest::Url::parse(base_url) {
            Ok(url) if url.host_str() == Some("api.openai.com") => ServerKind::OpenAi,
            _ => ServerKind::Compatible,
        }
    }
}

/// The field for the output-token limit when the config does not choose one:
/// `max_completion_tokens` for OpenAI's own API and for reasoning models anywhere (a proxy
/// or Azure in front of them), `max_tokens` for other models on compatible servers.
pub fn max_tokens_field(server: ServerKind, family: ModelFamily) -> MaxTokensField {
    match (server, family) {
        (ServerKind::OpenAi, _) | (_, ModelFamily::Reasoning) => {
            MaxTokensField::MaxCompletionTokens
        }
        (ServerKind::Compatible, ModelFamily::Classic) => MaxTokensField::MaxTokens,
    }
}

/// A request body, and what was adjusted on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedBody {
    /// The JSON sent.
    pub json: serde_json::Value,
    /// One line per parameter left out or changed, for [`StreamEvent::Notice`].
    pub notices: Vec<String>,
}

/// The request body for `request`, with the output-token limit under `max_tokens_field`: the
/// system prompt becomes the first message; a `temperature` is left out for a
/// [`ModelFamily::Reasoning`] model, with a notice unless it was the default (1).
pub fn request_body(request: &ChatRequest, max_tokens_field: MaxTokensField) -> PreparedBody {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = request.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &request.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.content}));
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    body[max_tokens_field.as_str()] = json!(request.max_tokens);
    let mut notices = Vec::new();
    match (request.temperature, ModelFamily::of(&request.model)) {
        (None, _) => {}
        (Some(t), ModelFamily::Classic) => body["temperature"] = json!(t),
        // The default itself: nothing changes by leaving it out.
        (Some(1.0), ModelFamily::Reasoning) => {}
        (Some(t), ModelFamily::Reasoning) => notices.push(format!(
            "temperature {t} not sent: {} accepts only its default",
            request.model
        )),
    }
    PreparedBody {
        json: body,
        notices,
    }
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn stream(&self, request: ChatRequest) -> EventStream {
        let field = self
            .max_tokens_field
            .unwrap_or_else(|| max_tokens_field(self.server, ModelFamily::of(&request.model)));
        let body = request_body(&request, field);
        let mut builder = self
            .client
            .post(self.endpoint.url("/chat/completions"))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body.json);
        if let Some(key) = &self.endpoint.api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let events = drive_sse(
            builder,
            self.endpoint.timeouts,
            self.endpoint.api_key.clone(),
            |headers: &HeaderMap| OpenAiParser::new(header_text(headers, REQUEST_ID_HEADER)),
        );
        let (client, endpoint) = (self.client.clone(), self.endpoint.clone());
        let events = super::models::explain_not_found(events, request.model.clone(), move || {
            super::models::list(client, endpoint, super::models::ApiFlavor::OpenAi)
        });
        if body.notices.is_empty() {
            return events;
        }
        let notices = body.notices.into_iter().map(|n| Ok(StreamEvent::Notice(n)));
        Box::pin(stream::iter(notices).chain(events))
    }

    fn list_models(&self) -> super::models::ModelListFuture {
        super::models::list(
            self.client.clone(),
            self.endpoint.clone(),
            super::models::ApiFlavor::OpenAi,
        )
    }
}

#[derive(Debug, Deserialize)]
struct Chunk {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: u64,
    delta: Option<ChoiceDelta>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceDelta {
    content: Option<String>,
    reasoning_content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: u64,
    function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let cached = u.prompt_tokens_details.and_then(|d| d.cached_tokens);
        Usage {
            input_tokens: u
                .prompt_tokens
                .map(|p| p.saturating_sub(cached.unwrap_or(0))),
            output_tokens: u.completion_tokens,
            // Chat Completions does not report cache writes.
            cache_creation_input_tokens: None,
            cache_read_input_tokens: cached,
            cache_creation_1h_input_tokens: None,
        }
    }
}

/// A tool call being assembled from deltas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ToolCall {
    name: String,
    argument_bytes: usize,
}

/// The pure OpenAI-compatible stream parser: one SSE event in, zero or more events out.
#[derive(Debug, Clone)]
pub struct OpenAiParser {
    request_id: Option<String>,
    phase: Phase,
    finish_reason: Option<StopReason>,
    /// Characters of reasoning text received.
    reasoning_chars: usize,
    tool_calls: BTreeMap<u64, ToolCall>,
}

impl OpenAiParser {
    /// A parser for one response; `request_id` is the `x-request-id` response header.
    pub fn new(request_id: Option<String>) -> OpenAiParser {
        OpenAiParser {
            request_id,
            phase: Phase::Waiting,
            finish_reason: None,
            reasoning_chars: 0,
            tool_calls: BTreeMap::new(),
        }
    }

    fn started(&mut self, model: Option<String>, id: Option<String>) -> Option<StreamEvent> {
        (self.phase == Phase::Waiting).then(|| {
            self.phase = Phase::Streaming;
            StreamEvent::Started {
                model: model
                    .map(|m| clean_server_text(&m))
                    .filter(|m| !m.is_empty()),
                response_id: id.map(|i| clean_server_text(&i)).filter(|i| !i.is_empty()),
                request_id: self.request_id.clone(),
            }
        })
    }

    /// Notes for reasoning and tool calls, then `Finished`.
    fn finish_events(&mut self, stop_reason: StopReason) -> Vec<StreamEvent> {
        let mut out: Vec<StreamEvent> = self.started(None, None).into_iter().collect();
        if self.reasoning_chars > 0 {
            out.push(StreamEvent::Note {
                kind: NoteKind::Thinking,
                summary: format!(
                    "reasoning ({} chars)",
                    thousands(self.reasoning_chars as u64)
                ),
            });
            self.reasoning_chars = 0;
        }
        for call in std::mem::take(&mut self.tool_calls).into_values() {
            let name = if call.name.is_empty() {
                "(unnamed)".to_string()
            } else {
                clean_server_text(&call.name)
            };
            out.push(StreamEvent::Note {
                kind: NoteKind::ToolUse,
                summary: format!(
                    "tool_call {name} ({} bytes of input)",
                    thousands(call.argument_bytes as u64)
                ),
            });
        }
        self.phase = Phase::Finished;
        out.push(StreamEvent::Finished { stop_reason });
        out
    }

    /// Maps one SSE event (the SSE event name is ignored: these servers send only data).
    pub fn parse_event(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            let reason = self
                .finish_reason
                .clone()
                .unwrap_or_else(|| StopReason::Other("unknown".into()));
            return Ok(self.finish_events(reason));
        }
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| LlmError::Protocol {
            message: format!(
                "invalid chunk from the OpenAI-compatible server: {}",
                clean_server_text(&e.to_string())
            ),
        })?;
        if chunk.error.is_some() {
            let (kind, message) =
                server_error_parts(data.as_bytes()).unwrap_or((None, "unknown error".to_string()));
            return Err(stream_error(kind.as_deref(), &message));
        }
        let mut out: Vec<StreamEvent> = self.started(chunk.model, chunk.id).into_iter().collect();
        if let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta(text));
                }
                for reasoning in [delta.reasoning_content, delta.reasoning]
                    .into_iter()
                    .flatten()
                {
                    self.reasoning_chars += reasoning.chars().count();
                }
                for call in delta.tool_calls.into_iter().flatten() {
                    let entry = self.tool_calls.entry(call.index).or_default();
                    if let Some(f) = call.function {
                        if let Some(name) = f.name {
                            entry.name.push_str(&name);
                        }
                        entry.argument_bytes += f.arguments.map_or(0, |a| a.len());
                    }
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(StopReason::from_wire(&clean_server_text(&reason)));
            }
        }
        if let Some(usage) = chunk.usage {
            let usage = Usage::from(usage);
            if !usage.is_unreported() {
                out.push(StreamEvent::Usage(usage));
            }
        }
        Ok(out)
    }

    /// The body ended: a normal finish if a `finish_reason` was seen (see the module docs),
    /// else an interruption.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        match (self.phase, self.finish_reason.clone()) {
            (Phase::Finished, _) => Ok(Vec::new()),
            (_, Some(reason)) => Ok(self.finish_events(reason)),
            (_, None) => Err(LlmError::Interrupted),
        }
    }
}

impl Protocol for OpenAiParser {
    fn on_event(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        self.parse_event(event)
    }

    fn on_eof(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        self.finish()
    }
}

#[cfg(test)]
mod tests;
