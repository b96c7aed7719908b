//! STUB: Anthropic Messages API provider.

use super::http::Endpoint;
use super::{ChatRequest, EventStream, Provider};

/// The Anthropic Messages API (`POST {base}/v1/messages`, streaming).
pub struct AnthropicProvider {
    #[allow(dead_code)]
    endpoint: Endpoint,
}

impl AnthropicProvider {
    /// A provider talking to `endpoint`.
    pub fn new(endpoint: Endpoint) -> Result<Self, super::LlmError> {
        Ok(AnthropicProvider { endpoint })
    }
}

impl Provider for AnthropicProvider {
    fn name(&self) -> &'static str {
        "anthropic"
    }
    fn stream(&self, _request: ChatRequest) -> EventStream {
        Box::pin(futures_util::stream::empty())
    }
}
