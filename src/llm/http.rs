//! The one place that builds HTTP clients and drives a streaming SSE body.
//!
//! STUB: to be implemented (client builder installing the rustls ring provider, request
//! sending with timeouts, mapping of non-2xx responses through `error`, SSE body driving).

use super::Timeouts;

/// An API key. Its `Debug` never prints the key, so it cannot leak through logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; empty or whitespace-only strings are no key.
    pub fn new(key: impl Into<String>) -> Option<ApiKey> {
        let key = key.into().trim().to_string();
        (!key.is_empty()).then_some(ApiKey(key))
    }

    /// The key itself, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Where and how an HTTP provider connects.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL without the API path, e.g. `https://api.anthropic.com` or
    /// `http://127.0.0.1:8080`. For OpenAI-compatible servers it may end in `/v1`.
    pub base_url: String,
    /// The API key, if any (local OpenAI-compatible servers often need none).
    pub api_key: Option<ApiKey>,
    /// Timeouts for every request.
    pub timeouts: Timeouts,
}
