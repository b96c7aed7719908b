//! STUB: OpenAI-compatible Chat Completions provider.

use super::http::Endpoint;
use super::{ChatRequest, EventStream, Provider};

/// OpenAI-compatible Chat Completions (`POST {base}/chat/completions`, streaming).
pub struct OpenAiProvider {
    #[allow(dead_code)]
    endpoint: Endpoint,
}

impl OpenAiProvider {
    /// A provider talking to `endpoint`.
    pub fn new(endpoint: Endpoint) -> Result<Self, super::LlmError> {
        Ok(OpenAiProvider { endpoint })
    }
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai"
    }
    fn stream(&self, _request: ChatRequest) -> EventStream {
        Box::pin(futures_util::stream::empty())
    }
}
