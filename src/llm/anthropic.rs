//! The Anthropic Messages API, streaming.
//!
//! [`AnthropicParser`] is a pure state machine from the API's SSE events to promptdeck's
//! [`StreamEvent`]s; [`AnthropicProvider`] builds the request and hands the body to the shared
//! driver in [`super::http`]. Non-text content blocks (extended thinking, tool calls, server
//! tools, anything newer than this code) are never dropped silently: each becomes one
//! [`StreamEvent::Note`] when its block stops. Usage in `message_delta` is cumulative, so it is
//! emitted as a report to [`Usage::merge`], never summed.

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use super::error::{clean_server_text, stream_error};
use super::http::{Endpoint, Protocol, build_client, drive_sse, header_text};
use super::models;
use super::sse::SseEvent;
use super::{
    ChatRequest, EventStream, LlmError, Message, NoteKind, Phase, Provider, StopReason,
    StreamEvent, Usage,
};
use crate::text::thousands;

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The response header carrying Anthropic's request id.
pub const REQUEST_ID_HEADER: &str = "request-id";

/// The Anthropic Messages API (`POST {base}/v1/messages`, streaming).
#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    endpoint: Endpoint,
    client: reqwest::Client,
}

impl AnthropicProvider {
    /// A provider talking to `endpoint` (base URL like `https://api.anthropic.com`).
    pub fn new(endpoint: Endpoint) -> Result<Self, LlmError> {
        let client = build_client(&endpoint.timeouts)?;
        Ok(AnthropicProvider { endpoint, client })
    }
}

/// The JSON body of a streaming Messages request.
#[derive(Debug, Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: &'a [Message],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

/// The request body for `request`, as JSON.
pub fn request_body(request: &ChatRequest) -> serde_json::Value {
    let body = RequestBody {
        model: &request.model,
        max_tokens: request.max_tokens,
        system: request.system.as_deref().filter(|s| !s.is_empty()),
        messages: &request.messages,
        stream: true,
        temperature: request.temperature,
    };
    serde_json::to_value(body).unwrap_or(serde_json::Value::Null)
}

impl Provider for AnthropicProvider {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn stream(&self, request: ChatRequest) -> EventStream {
        let mut builder = self
            .client
            .post(self.endpoint.url("/v1/messages"))
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&request_body(&request));
        if let Some(key) = &self.endpoint.api_key {
            builder = builder.header("x-api-key", key.expose());
        }
        let events = drive_sse(
            builder,
            self.endpoint.timeouts,
            self.endpoint.api_key.clone(),
            |headers: &HeaderMap| AnthropicParser::new(header_text(headers, REQUEST_ID_HEADER)),
        );
        let (client, endpoint) = (self.client.clone(), self.endpoint.clone());
        models::explain_not_found(events, request.model, move || {
            models::list(client, endpoint, models::ApiFlavor::Anthropic)
        })
    }

    fn list_models(&self) -> models::ModelListFuture {
        models::list(
            self.client.clone(),
            self.endpoint.clone(),
            models::ApiFlavor::Anthropic,
        )
    }
}

/// What a content block is, with what we accumulate about it for its note.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// Reply text: streamed as `TextDelta`, no note.
    Text,
    /// Extended thinking; the number of characters received.
    Thinking { chars: usize },
    /// Encrypted thinking: nothing readable.
    RedactedThinking,
    /// A client or server tool call; `kind` is the block type, `input_bytes` the size of the
    /// streamed JSON input.
    Tool {
        kind: String,
        name: String,
        input_bytes: usize,
    },
    /// A block type we do not render.
    Other { kind: String },
}

impl Block {
    fn note(&self) -> Option<StreamEvent> {
        let (kind, summary) = match self {
            Block::Text => return None,
            Block::Thinking { chars } => (
                NoteKind::Thinking,
                format!("thinking ({} chars)", thousands(*chars as u64)),
            ),
            Block::RedactedThinking => (NoteKind::Thinking, "redacted thinking".to_string()),
            Block::Tool {
                kind,
                name,
                input_bytes,
            } => (
                NoteKind::ToolUse,
                format!(
                    "{kind} {name} ({} bytes of input)",
                    thousands(*input_bytes as u64)
                ),
            ),
            Block::Other { kind } => (NoteKind::Other, format!("{kind} block")),
        };
        Some(StreamEvent::Note { kind, summary })
    }
}

/// The pure Anthropic stream parser: one SSE event in, zero or more [`StreamEvent`]s out.
#[derive(Debug, Clone)]
pub struct AnthropicParser {
    request_id: Option<String>,
    phase: Phase,
    /// Open content blocks by index.
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<StopReason>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<WireCacheCreation>,
}

/// The TTL breakdown of cache writes.
#[derive(Debug, Deserialize)]
struct WireCacheCreation {
    ephemeral_1h_input_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            cache_creation_1h_input_tokens: u
                .cache_creation
                .and_then(|c| c.ephemeral_1h_input_tokens),
        }
    }
}

#[derive(Debug, Deserialize)]
struct MessageStart {
    message: StartedMessage,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    id: Option<String>,
    model: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct BlockStart {
    index: u64,
    content_block: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct BlockDelta {
    index: u64,
    delta: Delta,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct BlockStop {
    index: u64,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    delta: Option<MessageDeltaBody>,
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEvent {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

fn parse<'a, T: Deserialize<'a>>(event: &str, data: &'a str) -> Result<T, LlmError> {
    serde_json::from_str(data).map_err(|e| LlmError::Protocol {
        message: format!(
            "invalid `{}` event from Anthropic: {}",
            clean_server_text(event),
            clean_server_text(&e.to_string())
        ),
    })
}

impl AnthropicParser {
    /// A parser for one response; `request_id` is the `request-id` response header.
    pub fn new(request_id: Option<String>) -> AnthropicParser {
        AnthropicParser {
            request_id,
            phase: Phase::Waiting,
            blocks: BTreeMap::new(),
            stop_reason: None,
        }
    }

    /// `Started` without details, for a stream whose content arrives before `message_start`.
    fn ensure_started(&mut self, out: &mut Vec<StreamEvent>) {
        if self.phase == Phase::Waiting {
            self.phase = Phase::Streaming;
            out.push(StreamEvent::Started {
                model: None,
                response_id: None,
                request_id: self.request_id.clone(),
            });
        }
    }

    /// Maps one SSE event. Unknown event types and `ping` produce nothing.
    pub fn parse_event(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        let mut out = Vec::new();
        // Anthropic names every event; fall back to the JSON `type` for proxies that do not.
        let name = match &event.event {
            Some(name) => name.clone(),
            None => serde_json::from_str::<serde_json::Value>(&event.data)
                .ok()
                .and_then(|v| v.get("type")?.as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        let data = event.data.as_str();
        match name.as_str() {
            "message_start" => {
                let start: MessageStart = parse(&name, data)?;
                if self.phase == Phase::Waiting {
                    self.phase = Phase::Streaming;
                    out.push(StreamEvent::Started {
                        model: start.message.model.map(|m| clean_server_text(&m)),
                        response_id: start.message.id.map(|m| clean_server_text(&m)),
                        request_id: self.request_id.clone(),
                    });
                }
                if let Some(usage) = start.message.usage {
                    out.push(StreamEvent::Usage(usage.into()));
                }
            }
            "content_block_start" => {
                let start: BlockStart = parse(&name, data)?;
                self.ensure_started(&mut out);
                let block = &start.content_block;
                let text = |key: &str| block.get(key).and_then(|v| v.as_str()).unwrap_or("");
                let kind = text("type");
                let state = match kind {
                    "text" => {
                        if !text("text").is_empty() {
                            out.push(StreamEvent::TextDelta(text("text").to_string()));
                        }
                        Block::Text
                    }
                    "thinking" => Block::Thinking {
                        chars: text("thinking").chars().count(),
                    },
                    "redacted_thinking" => Block::RedactedThinking,
                    "tool_use" | "server_tool_use" | "mcp_tool_use" => {
                        let initial = block
                            .get("input")
                            .filter(|v| v.as_object().is_none_or(|o| !o.is_empty()))
                            .map_or(0, |v| v.to_string().len());
                        Block::Tool {
                            kind: kind.to_string(),
                            name: clean_server_text(text("name")),
                            input_bytes: initial,
                        }
                    }
                    other => Block::Other {
                        kind: clean_server_text(if other.is_empty() { "unknown" } else { other }),
                    },
                };
                self.blocks.insert(start.index, state);
            }
            "content_block_delta" => {
                let delta: BlockDelta = parse(&name, data)?;
                self.ensure_started(&mut out);
                let block = self.blocks.entry(delta.index).or_insert(Block::Text);
                match (delta.delta, block) {
                    (Delta::Text { text }, _) if !text.is_empty() => {
                        out.push(StreamEvent::TextDelta(text));
                    }
                    (Delta::Thinking { thinking }, Block::Thinking { chars }) => {
                        *chars += thinking.chars().count();
                    }
                    (Delta::InputJson { partial_json }, Block::Tool { input_bytes, .. }) => {
                        *input_bytes += partial_json.len();
                    }
                    _ => {} // signatures, citations, deltas for a block of another type
                }
            }
            "content_block_stop" => {
                let stop: BlockStop = parse(&name, data)?;
                if let Some(note) = self.blocks.remove(&stop.index).and_then(|b| b.note()) {
                    out.push(note);
                }
            }
            "message_delta" => {
                let delta: MessageDelta = parse(&name, data)?;
                self.ensure_started(&mut out);
                if let Some(reason) = delta.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(StopReason::from_wire(&clean_server_text(&reason)));
                }
                if let Some(usage) = delta.usage {
                    let usage = Usage::from(usage);
                    if !usage.is_unreported() {
                        out.push(StreamEvent::Usage(usage));
                    }
                }
            }
            "message_stop" => {
                self.ensure_started(&mut out);
                // Blocks never stopped still get their note.
                let open = std::mem::take(&mut self.blocks);
                out.extend(open.values().filter_map(Block::note));
                self.phase = Phase::Finished;
                out.push(StreamEvent::Finished {
                    stop_reason: self
                        .stop_reason
                        .clone()
                        .unwrap_or_else(|| StopReason::Other("unknown".into())),
                });
            }
            "error" => {
                let error: ErrorEvent = parse(&name, data)?;
                return Err(stream_error(
                    error.error.kind.as_deref(),
                    error.error.message.as_deref().unwrap_or(""),
                ));
            }
            _ => {} // `ping` and event types newer than this code
        }
        Ok(out)
    }

    /// The body ended: fine after `message_stop`, an interruption before it.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        match self.phase {
            Phase::Finished => Ok(Vec::new()),
            Phase::Waiting | Phase::Streaming => Err(LlmError::Interrupted),
        }
    }
}

impl Protocol for AnthropicParser {
    fn on_event(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        self.parse_event(event)
    }

    fn on_eof(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        self.finish()
    }
}

#[cfg(test)]
mod tests;
