//! Provider failures as the user should read them.
//!
//! Each variant is one class of failure with its own message and its own exit status in
//! headless mode; a status code or a provider's `error.type` string is mapped here once, so the
//! UI, `ask` and the request log all say the same thing. Messages never include API keys or
//! request headers; error bodies from servers are sanitized and shortened before display.

use std::time::Duration;

use thiserror::Error;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LlmError {
    /// 401/403: the API key is missing, wrong, or lacks permission.
    #[error("authentication failed ({status}): {message} — check the API key")]
    Auth { status: u16, message: String },
    /// 400 and other 4xx: the server rejected the request itself.
    #[error("the server rejected the request ({status}): {message}")]
    BadRequest { status: u16, message: String },
    /// 404: usually an unknown model name or a wrong base URL.
    #[error("not found (404): {message} — check the model name and base URL")]
    NotFound { message: String },
    /// 413: the request (prompt + history) is too large.
    #[error("request too large (413): {message}")]
    TooLarge { message: String },
    /// 429: the provider's rate limit; `retry_after` is what the server asked us to wait.
    #[error("rate limited by the provider (429): {message}{}", retry_hint(*retry_after))]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 529 or an `overloaded_error`: the provider is overloaded.
    #[error("the provider is overloaded ({status}): {message} — try again shortly")]
    Overloaded { status: u16, message: String },
    /// 500 and other 5xx.
    #[error("server error ({status}): {message}")]
    Server { status: u16, message: String },
    /// An `error` event inside a stream that had started (HTTP 200).
    #[error("the provider reported an error mid-stream ({kind}): {message}")]
    Stream { kind: String, message: String },
    /// Could not connect, or the connection broke before the reply completed.
    #[error("connection failed: {message}")]
    Connection { message: String },
    /// No data for longer than the idle read timeout.
    #[error("the stream stalled: no data for {} s", .after.as_secs_f32())]
    Stalled { after: Duration },
    /// The stream ended without its end marker (`message_stop`, `[DONE]`).
    #[error("the reply was interrupted: the stream ended before the model finished")]
    Interrupted,
    /// The server sent something that is not the protocol we speak.
    #[error("malformed response from the server: {message}")]
    Protocol { message: String },
}

fn retry_hint(after: Option<Duration>) -> String {
    match after {
        Some(d) => format!(" — retry after {} s", d.as_secs_f32()),
        None => String::new(),
    }
}

/// A class of error, for exit statuses and the request log's `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Auth,
    Request,
    RateLimited,
    Overloaded,
    Server,
    Network,
    Protocol,
}

impl LlmError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            LlmError::Auth { .. } => ErrorClass::Auth,
            LlmError::BadRequest { .. } | LlmError::NotFound { .. } | LlmError::TooLarge { .. } => {
                ErrorClass::Request
            }
            LlmError::RateLimited { .. } => ErrorClass::RateLimited,
            LlmError::Overloaded { .. } => ErrorClass::Overloaded,
            LlmError::Server { .. } | LlmError::Stream { .. } => ErrorClass::Server,
            LlmError::Connection { .. } | LlmError::Stalled { .. } | LlmError::Interrupted => {
                ErrorClass::Network
            }
            LlmError::Protocol { .. } => ErrorClass::Protocol,
        }
    }

    /// A stable short name for logs and JSON output (`auth`, `rate_limited`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Auth { .. } => "auth",
            LlmError::BadRequest { .. } => "bad_request",
            LlmError::NotFound { .. } => "not_found",
            LlmError::TooLarge { .. } => "too_large",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded { .. } => "overloaded",
            LlmError::Server { .. } => "server",
            LlmError::Stream { .. } => "stream_error",
            LlmError::Connection { .. } => "connection",
            LlmError::Stalled { .. } => "stalled",
            LlmError::Interrupted => "interrupted",
            LlmError::Protocol { .. } => "protocol",
        }
    }
}
