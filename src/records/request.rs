//! The rows of the request log: what is logged of a request when it is sent, when its
//! response starts and when it ends, and the rows read back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConversationId, LogId, MessageId, PromptVersion, RequestStatus};
use crate::llm::pricing::CostView;
use crate::llm::{LlmError, Usage};

/// The request parameters that are logged: never headers, never keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestParams {
    /// Model requested.
    pub model: String,
    /// `max_tokens`.
    pub max_tokens: u32,
    /// Sampling temperature, when set.
    pub temperature: Option<f32>,
    /// The values the prompt's `{{variables}}` were filled with: with the prompt version,
    /// they rebuild the exact system prompt that was sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// Rate-limit headers a server sent, filtered by name so nothing else (authorization, cookies)
/// can be stored: `anthropic-ratelimit-*`, `x-ratelimit-*`, `ratelimit-*`, `retry-after`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RateLimitHeaders(pub BTreeMap<String, String>);

impl RateLimitHeaders {
    /// Keeps the rate-limit headers among `headers` (names compared case-insensitively and
    /// stored lower-case).
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let kept = headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .filter(|(name, _)| {
                name.starts_with("anthropic-ratelimit-")
                    || name.starts_with("x-ratelimit-")
                    || name.starts_with("ratelimit-")
                    || name == "retry-after"
            })
            .map(|(name, value)| (name, value.to_string()))
            .collect();
        RateLimitHeaders(kept)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A request attempt as it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// The conversation, if the request belongs to one (headless `ask` may not).
    pub conversation_id: Option<ConversationId>,
    /// The user message this request answers.
    pub message_id: Option<MessageId>,
    /// Attempt number, from 1 (retries of the same message count up).
    pub attempt: u32,
    /// When it was sent, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// `gen_ai.provider.name`.
    pub provider: String,
    /// Model, max_tokens, temperature (`gen_ai.request.*`).
    pub params: RequestParams,
    /// The exact prompt version, if a prompt drove it.
    pub prompt: Option<PromptVersion>,
    /// The compare run it is a lane of (`promptdeck compare`), if any.
    pub compare_id: Option<String>,
}

/// What the server said when the reply began (recorded at once, so an interrupted request
/// still has its ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseStart {
    /// `gen_ai.response.model`.
    pub response_model: Option<String>,
    /// `gen_ai.response.id`.
    pub response_id: Option<String>,
    /// The provider's request id header.
    pub provider_request_id: Option<String>,
    /// Time from sending to the first chunk, in ms.
    pub time_to_first_chunk_ms: Option<i64>,
    /// The rate-limit headers of the response.
    pub ratelimit_headers: RateLimitHeaders,
}

/// An error as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// `error.type`: [`LlmError::kind`] (`rate_limited`, `connection`, ...).
    pub error_type: String,
    /// The message shown to the user.
    pub message: String,
}

impl From<&LlmError> for ErrorInfo {
    fn from(e: &LlmError) -> ErrorInfo {
        ErrorInfo {
            error_type: e.kind().to_string(),
            message: e.to_string(),
        }
    }
}

/// How a request attempt ended. Fields left `None` keep what [`ResponseStart`] recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestOutcome {
    /// Ok, error, cancelled or interrupted.
    pub status: RequestStatus,
    /// `gen_ai.response.model`.
    pub response_model: Option<String>,
    /// `gen_ai.response.id`.
    pub response_id: Option<String>,
    /// The provider's request id header.
    pub provider_request_id: Option<String>,
    /// Token counts as recorded (the output count may be an estimate).
    pub usage: Usage,
    /// The output count is promptdeck's estimate from the text, not the provider's.
    pub output_estimated: bool,
    /// `gen_ai.response.finish_reasons` ([`crate::llm::StopReason::as_str`]).
    pub finish_reasons: Vec<String>,
    /// Time to the first chunk, in ms.
    pub time_to_first_chunk_ms: Option<i64>,
    /// Time from sending to the end, in ms.
    pub duration_ms: Option<i64>,
    /// The cost; `Unknown` and `NotReported` store `cost_usd` as NULL.
    pub cost: CostView,
    /// Who priced it: `config` or the dataset's label (`genai-prices 0.2.1`); `None` when
    /// nobody could.
    pub cost_source: Option<String>,
    /// The failure, for `Error` (and for `Interrupted` when a cause is known).
    pub error: Option<ErrorInfo>,
    /// Rate-limit headers (empty keeps what [`ResponseStart`] recorded).
    pub ratelimit_headers: RateLimitHeaders,
}

/// One row of the request log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    /// Row id.
    pub id: LogId,
    /// The conversation, if any.
    pub conversation_id: Option<ConversationId>,
    /// The user message answered.
    pub message_id: Option<MessageId>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Sent at, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// How it ended.
    pub status: RequestStatus,
    /// `gen_ai.provider.name`.
    pub gen_ai_provider_name: String,
    /// `gen_ai.request.model`.
    pub gen_ai_request_model: String,
    /// `gen_ai.request.max_tokens`.
    pub gen_ai_request_max_tokens: Option<u32>,
    /// `gen_ai.request.temperature`.
    pub gen_ai_request_temperature: Option<f64>,
    /// `gen_ai.response.model`.
    pub gen_ai_response_model: Option<String>,
    /// `gen_ai.response.id`.
    pub gen_ai_response_id: Option<String>,
    /// `gen_ai.usage.input_tokens` (uncached).
    pub gen_ai_usage_input_tokens: Option<u64>,
    /// `gen_ai.usage.output_tokens`.
    pub gen_ai_usage_output_tokens: Option<u64>,
    /// The output count is promptdeck's estimate from the text (shown `~N`).
    #[serde(default)]
    pub output_estimated: bool,
    /// The compare run it was a lane of, if any.
    #[serde(default)]
    pub compare_id: Option<String>,
    /// `gen_ai.usage.cache_read.input_tokens`.
    pub gen_ai_usage_cache_read_input_tokens: Option<u64>,
    /// `gen_ai.usage.cache_creation.input_tokens`.
    pub gen_ai_usage_cache_creation_input_tokens: Option<u64>,
    /// The 1-hour-TTL part of the cache writes.
    pub usage_cache_creation_1h_input_tokens: Option<u64>,
    /// `gen_ai.response.finish_reasons`.
    pub gen_ai_response_finish_reasons: Vec<String>,
    /// Time to the first chunk, in ms.
    pub time_to_first_chunk_ms: Option<i64>,
    /// Total duration, in ms.
    pub duration_ms: Option<i64>,
    /// The provider's request id header.
    pub provider_request_id: Option<String>,
    /// The prompt version.
    pub prompt: Option<PromptVersion>,
    /// Model, max_tokens, temperature as sent.
    pub request_params: Option<RequestParams>,
    /// Cost in USD; `None` when unknown.
    pub cost_usd: Option<f64>,
    /// How to read the cost (see [`CostView::kind`]).
    pub cost_kind: Option<String>,
    /// Who priced it (`config`, `genai-prices 0.2.1`), when known.
    #[serde(default)]
    pub cost_source: Option<String>,
    /// `error.type`.
    pub error_type: Option<String>,
    /// The error message.
    pub error_message: Option<String>,
    /// Attempts before this one.
    pub retry_count: u32,
    /// Rate-limit headers the server sent.
    pub ratelimit_headers: RateLimitHeaders,
}

impl RequestRow {
    /// The token counts as a [`Usage`].
    pub fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.gen_ai_usage_input_tokens,
            output_tokens: self.gen_ai_usage_output_tokens,
            cache_creation_input_tokens: self.gen_ai_usage_cache_creation_input_tokens,
            cache_read_input_tokens: self.gen_ai_usage_cache_read_input_tokens,
            cache_creation_1h_input_tokens: self.usage_cache_creation_1h_input_tokens,
        }
    }

    /// The cost as the user should read it.
    pub fn cost(&self) -> CostView {
        CostView::from_parts(self.cost_kind.as_deref(), self.cost_usd)
    }

    /// The model that answered, else the one requested.
    pub fn model(&self) -> &str {
        self.gen_ai_response_model
            .as_deref()
            .unwrap_or(&self.gen_ai_request_model)
    }
}

/// Which log rows to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    /// At most this many, newest first.
    pub limit: usize,
    /// Only requests made with this prompt.
    pub prompt_name: Option<String>,
    /// Only the lanes of this compare run.
    pub compare_id: Option<String>,
}

impl Default for RequestFilter {
    fn default() -> Self {
        RequestFilter {
            limit: 50,
            prompt_name: None,
            compare_id: None,
        }
    }
}
