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
    /// The endpoint does not serve `model` (a 404 on the chat endpoint, and the endpoint's
    /// own `GET /v1/models` does not list it). `available` is what it offers, closest names
    /// first; empty when the list could not be read.
    #[error("model \"{model}\" not found: {message}{}", offered(available))]
    ModelNotFound {
        model: String,
        message: String,
        available: Vec<String>,
    },
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
    #[error("the provider is overloaded: {message} — try again shortly")]
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
    /// promptdeck's own rate limit (or budget) refused an attempt, or the limiter failed:
    /// nothing was sent.
    #[error("not sent: {message}")]
    LocalLimit { message: String },
    /// The server sent something that is not the protocol we speak.
    #[error("malformed response from the server: {message}")]
    Protocol { message: String },
    /// A failed response that carried `x-should-retry: true|false` (both official SDKs read
    /// it): `should_retry` decides whether the request is retried, before any status rule.
    /// Everything else (message, kind, class, exit status) is the wrapped `error`'s.
    #[error("{error}")]
    ServerRetryHint {
        should_retry: bool,
        error: Box<LlmError>,
    },
}

/// " — this endpoint offers: a, b, c (+N more); choose one with --model NAME or Alt-M".
fn offered(available: &[String]) -> String {
    if available.is_empty() {
        return " — check the model name (--model NAME, or Alt-M in the chat) and the base URL"
            .to_string();
    }
    let shown = super::models::NAMES_IN_ERROR.min(available.len());
    let more = match available.len() - shown {
        0 => String::new(),
        n => format!(" (+{n} more)"),
    };
    format!(
        " — this endpoint offers: {}{more}; choose one with --model NAME (or Alt-M in the chat)",
        available[..shown].join(", ")
    )
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

/// Secrets shorter than this are not redacted: a one-letter test key would otherwise turn
/// every `e` of an error into `[redacted]` (and JSON field names with it), and no real API
/// key is that short.
pub const MIN_REDACTED_SECRET_CHARS: usize = 8;

/// Whether `secret` is long enough to be redacted, and cannot occur inside the marker itself
/// (so redacting twice changes nothing).
fn worth_redacting(secret: &str) -> bool {
    secret.chars().count() >= MIN_REDACTED_SECRET_CHARS && !"[redacted]".contains(secret)
}

/// `text` with every whole occurrence of `secret` replaced by `[redacted]`, once; unchanged
/// when the secret is too short to be one.
pub fn redact_secret(text: &str, secret: &str) -> String {
    if worth_redacting(secret) {
        text.replace(secret, "[redacted]")
    } else {
        text.to_string()
    }
}

impl LlmError {
    /// The error's class.
    pub fn class(&self) -> ErrorClass {
        match self {
            LlmError::Auth { .. } => ErrorClass::Auth,
            LlmError::BadRequest { .. }
            | LlmError::NotFound { .. }
            | LlmError::ModelNotFound { .. }
            | LlmError::TooLarge { .. } => ErrorClass::Request,
            LlmError::RateLimited { .. } | LlmError::LocalLimit { .. } => ErrorClass::RateLimited,
            LlmError::Overloaded { .. } => ErrorClass::Overloaded,
            LlmError::Server { .. } | LlmError::Stream { .. } => ErrorClass::Server,
            LlmError::Connection { .. } | LlmError::Stalled { .. } | LlmError::Interrupted => {
                ErrorClass::Network
            }
            LlmError::Protocol { .. } => ErrorClass::Protocol,
            LlmError::ServerRetryHint { error, .. } => error.class(),
        }
    }

    /// A stable short name for logs and JSON output (`auth`, `rate_limited`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Auth { .. } => "auth",
            LlmError::BadRequest { .. } => "bad_request",
            LlmError::NotFound { .. } => "not_found",
            LlmError::ModelNotFound { .. } => "model_not_found",
            LlmError::TooLarge { .. } => "too_large",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::LocalLimit { .. } => "local_rate_limit",
            LlmError::Overloaded { .. } => "overloaded",
            LlmError::Server { .. } => "server",
            LlmError::Stream { .. } => "stream_error",
            LlmError::Connection { .. } => "connection",
            LlmError::Stalled { .. } => "stalled",
            LlmError::Interrupted => "interrupted",
            LlmError::Protocol { .. } => "protocol",
            LlmError::ServerRetryHint { error, .. } => error.kind(),
        }
    }

    /// The failure itself: the wrapped error of a [`LlmError::ServerRetryHint`], else `self`.
    pub fn without_hint(&self) -> &LlmError {
        match self {
            LlmError::ServerRetryHint { error, .. } => error.without_hint(),
            other => other,
        }
    }

    /// How long a 429 asked us to wait (`retry-after-ms` / `retry-after`), through a retry
    /// hint.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.without_hint() {
            LlmError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Wraps `self` in [`LlmError::ServerRetryHint`] when the server gave a hint.
    pub fn with_retry_hint(self, should_retry: Option<bool>) -> LlmError {
        match should_retry {
            Some(should_retry) => LlmError::ServerRetryHint {
                should_retry,
                error: Box::new(self),
            },
            None => self,
        }
    }
}

impl LlmError {
    /// Replaces every occurrence of `secret` (an API key) in the error's message by
    /// `[redacted]`. The HTTP driver applies this to every error it returns, so a server or
    /// proxy that echoes the key back cannot make it reach the screen or the logs.
    pub fn redact(self, secret: &str) -> LlmError {
        if !worth_redacting(secret) {
            return self;
        }
        let r = |m: String| redact_secret(&m, secret);
        match self {
            LlmError::Auth { status, message } => LlmError::Auth {
                status,
                message: r(message),
            },
            LlmError::BadRequest { status, message } => LlmError::BadRequest {
                status,
                message: r(message),
            },
            LlmError::NotFound { message } => LlmError::NotFound {
                message: r(message),
            },
            LlmError::ModelNotFound {
                model,
                message,
                available,
            } => LlmError::ModelNotFound {
                model: r(model),
                message: r(message),
                available: available.into_iter().map(r).collect(),
            },
            LlmError::TooLarge { message } => LlmError::TooLarge {
                message: r(message),
            },
            LlmError::LocalLimit { message } => LlmError::LocalLimit {
                message: r(message),
            },
            LlmError::RateLimited {
                message,
                retry_after,
            } => LlmError::RateLimited {
                message: r(message),
                retry_after,
            },
            LlmError::Overloaded { status, message } => LlmError::Overloaded {
                status,
                message: r(message),
            },
            LlmError::Server { status, message } => LlmError::Server {
                status,
                message: r(message),
            },
            LlmError::Stream { kind, message } => LlmError::Stream {
                kind: r(kind),
                message: r(message),
            },
            LlmError::Connection { message } => LlmError::Connection {
                message: r(message),
            },
            LlmError::Protocol { message } => LlmError::Protocol {
                message: r(message),
            },
            LlmError::ServerRetryHint {
                should_retry,
                error,
            } => LlmError::ServerRetryHint {
                should_retry,
                error: Box::new(error.redact(secret)),
            },
            e @ (LlmError::Stalled { .. } | LlmError::Interrupted) => e,
        }
    }
}

/// Longest server-provided text kept in an error message, in characters.
pub const SERVER_TEXT_MAX_CHARS: usize = 300;

/// Makes text that came from a server safe to show: removes ANSI/ESC sequences (CSI, OSC,
/// and two-byte escapes), C0 and C1 control characters and bidirectional overrides, folds all
/// whitespace (newlines included) into single spaces so the result is one line, and caps it
/// at [`SERVER_TEXT_MAX_CHARS`] characters (ending in `…` when cut).
pub fn clean_server_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SERVER_TEXT_MAX_CHARS * 4));
    let mut chars = text.chars().peekable();
    let mut kept = 0usize;
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string ended by BEL or ESC \
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                _ => {} // a two-character escape: both dropped
            },
            c if c.is_whitespace() => pending_space = kept > 0,
            c if c.is_control() => {}
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => {
                if kept >= SERVER_TEXT_MAX_CHARS {
                    out.push('…');
                    return out;
                }
                if pending_space {
                    out.push(' ');
                    kept += 1;
                    pending_space = false;
                }
                out.push(c);
                kept += 1;
            }
        }
    }
    out
}

/// The `type` and `message` a provider put in an error body, when the body is JSON of the
/// Anthropic shape `{"type":"error","error":{"type":..,"message":..}}` or the OpenAI shape
/// `{"error":{"message":..,"type":..,"code":..}}` (a bare string `{"error":"..."}`, as some
/// local servers send, is accepted too). Both parts are sanitized.
pub fn server_error_parts(body: &[u8]) -> Option<(Option<String>, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    if let Some(text) = error.as_str() {
        return Some((None, clean_server_text(text)));
    }
    let message = error
        .get("message")
        .and_then(|m| m.as_str())
        .map(clean_server_text)
        .unwrap_or_default();
    let kind = ["type", "code"]
        .iter()
        .find_map(|k| error.get(*k).and_then(|v| v.as_str()))
        .map(clean_server_text)
        .filter(|k| !k.is_empty());
    Some((kind, message))
}

/// Maps an error reported inside a started stream (Anthropic's `error` event, an OpenAI
/// `{"error":..}` chunk) to an [`LlmError`]: `overloaded_error` becomes
/// [`LlmError::Overloaded`] with status 529, `rate_limit_error` becomes
/// [`LlmError::RateLimited`], anything else [`LlmError::Stream`]. Inputs are sanitized here.
pub fn stream_error(kind: Option<&str>, message: &str) -> LlmError {
    let kind = clean_server_text(kind.unwrap_or("error"));
    let message = clean_server_text(message);
    match kind.as_str() {
        "overloaded_error" => LlmError::Overloaded {
            status: 529,
            message,
        },
        "rate_limit_error" | "rate_limit_exceeded" => LlmError::RateLimited {
            message,
            retry_after: None,
        },
        _ => LlmError::Stream { kind, message },
    }
}

/// Maps a non-2xx HTTP response to an [`LlmError`], reading `retry-after` against the
/// current time (see [`error_from_response_at`]), wrapped in [`LlmError::ServerRetryHint`]
/// when the response carries an `x-should-retry` header ([`should_retry_header`]).
pub fn error_from_response(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> LlmError {
    error_from_response_at(status, headers, body, std::time::SystemTime::now())
        .with_retry_hint(should_retry_header(headers))
}

/// The `x-should-retry` response header: `true` or `false` (any ASCII case, surrounding
/// spaces ignored); absent or anything else is no hint.
pub fn should_retry_header(headers: &reqwest::header::HeaderMap) -> Option<bool> {
    let value = headers.get("x-should-retry")?.to_str().ok()?.trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Maps a non-2xx HTTP response to an [`LlmError`], with `now` for an HTTP-date
/// `retry-after`.
///
/// 401/403 → `Auth`, 400 → `BadRequest`, 404 → `NotFound`, 413 → `TooLarge`, 429 →
/// `RateLimited` (with [`retry_after`]), 529 or an `overloaded_error` body → `Overloaded`,
/// 408/409/other 4xx → `BadRequest`, 5xx → `Server`, anything else (an unfollowed redirect)
/// → `Protocol`. The message is the body's error message, else the sanitized, shortened
/// body, else the status's reason phrase.
pub fn error_from_response_at(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: std::time::SystemTime,
) -> LlmError {
    let parts = server_error_parts(body);
    let kind = parts.as_ref().and_then(|(k, _)| k.clone());
    let message = match parts {
        Some((_, m)) if !m.is_empty() => m,
        _ => {
            let text = clean_server_text(&String::from_utf8_lossy(body));
            if text.is_empty() {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no details")
                    .to_string()
            } else {
                text
            }
        }
    };
    if status == 529 || kind.as_deref() == Some("overloaded_error") {
        return LlmError::Overloaded { status, message };
    }
    match status {
        401 | 403 => LlmError::Auth { status, message },
        404 => LlmError::NotFound { message },
        413 => LlmError::TooLarge { message },
        429 => LlmError::RateLimited {
            message,
            retry_after: retry_after(headers, now),
        },
        400..=499 => LlmError::BadRequest { status, message },
        500..=599 => LlmError::Server { status, message },
        _ => LlmError::Protocol {
            message: format!("unexpected HTTP status {status}: {message}"),
        },
    }
}

/// Longest wait a server's retry hint is read as (anything longer is clamped to it).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long the server asked us to wait: `retry-after-ms` (milliseconds, Anthropic and
/// OpenAI) wins over `retry-after` (whole seconds, or an HTTP-date measured from `now`; a date
/// in the past means zero). Unparseable or negative values are ignored; huge ones are clamped
/// to [`MAX_RETRY_AFTER`].
pub fn retry_after(
    headers: &reqwest::header::HeaderMap,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        // Absurd values (1e30 ms) must not panic: a day is already far past what is honoured.
        return Some(
            Duration::try_from_secs_f64(ms / 1000.0)
                .unwrap_or(MAX_RETRY_AFTER)
                .min(MAX_RETRY_AFTER),
        );
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod retry_after_bounds {
    use super::*;

    #[test]
    fn absurd_retry_hints_are_clamped_not_a_panic() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after-ms", "1e30".parse().unwrap());
        assert_eq!(
            retry_after(&headers, std::time::SystemTime::now()),
            Some(MAX_RETRY_AFTER)
        );
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "99999999999999".parse().unwrap());
        assert_eq!(
            retry_after(&headers, std::time::SystemTime::now()),
            Some(MAX_RETRY_AFTER)
        );
    }
}

#[cfg(test)]
mod tests;
