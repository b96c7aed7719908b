//! The one place that builds HTTP clients and drives a streaming SSE body.
//!
//! Both HTTP providers share everything between "here is a request" and "here is an SSE
//! event": building the client (with the rustls crypto provider installed, without which
//! reqwest panics), waiting for the response headers with a timeout, turning a non-2xx status
//! into an [`LlmError`] through [`super::error`], reading the body with an idle timeout per
//! chunk, feeding the [`SseDecoder`], and stopping after `Finished` or the first error. The
//! providers only supply a pure [`Protocol`] parser, so there is exactly one streaming loop.
//!
//! Cancellation: the returned stream owns the response body; dropping it drops the body,
//! which closes the connection. There is no background task to leak.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use reqwest::header::HeaderMap;

use super::error::{clean_server_text, error_from_response};
use super::sse::{SseDecoder, SseEvent};
use super::{EventStream, LlmError, StreamEvent, Timeouts};

/// Largest error body read from a non-2xx response; the rest is ignored.
const ERROR_BODY_MAX_BYTES: usize = 64 * 1024;

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

impl Endpoint {
    /// `base_url` without trailing slashes, followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }
}

/// Builds the HTTP client every provider uses: connect timeout from `timeouts`, no overall
/// request timeout (a reply may stream for minutes; [`drive_sse`] enforces the header and
/// idle timeouts instead). Installs the rustls `ring` crypto provider first, once per process.
pub fn build_client(timeouts: &Timeouts) -> Result<reqwest::Client, LlmError> {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .user_agent(concat!("promptdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Connection {
            message: format!("could not set up the HTTP client: {}", describe(&e)),
        })
}

/// A provider's wire protocol: a pure parser from SSE events to [`StreamEvent`]s.
///
/// The driver calls [`Protocol::on_event`] for every decoded event, in order, and
/// [`Protocol::on_eof`] once if the body ends before the parser produced `Finished`.
pub trait Protocol: Send + 'static {
    /// Handles one SSE event; an `Err` ends the stream after the events already returned.
    fn on_event(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, LlmError>;

    /// The body ended. Returns the closing events (ending in `Finished`) when the protocol
    /// allows that, else the error (usually [`LlmError::Interrupted`]).
    fn on_eof(&mut self) -> Result<Vec<StreamEvent>, LlmError>;
}

/// The value of a response header as text, sanitized (for `request-id` and friends).
pub fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(clean_server_text)
        .filter(|v| !v.is_empty())
}

/// Describes a reqwest error in one line: what failed and the root causes, without the URL's
/// query or any header (so never an API key).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the reply"
    } else if e.is_request() {
        "could not send the request"
    } else {
        "HTTP error"
    };
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let text = clean_server_text(&err.to_string());
        if !text.is_empty() && !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        source = err.source();
    }
    let target = e
        .url()
        .map(|u| format!(" to {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    if causes.is_empty() {
        format!("{what}{target}")
    } else {
        format!("{what}{target}: {}", causes.join(": "))
    }
}

/// A boxed body stream.
type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Where the driver is.
enum Drive<P, F> {
    /// The request has not been sent yet.
    /// The request, the parser's constructor, and the key to redact from error bodies.
    Sending(Box<(reqwest::RequestBuilder, F, Option<String>)>),
    /// Reading the body.
    Streaming(Box<Reading<P>>),
    /// Finished, failed, or the body ended: nothing more to yield.
    Done,
}

struct Reading<P> {
    body: Body,
    decoder: SseDecoder,
    parser: P,
    /// Events decoded but not yet yielded.
    queue: VecDeque<Result<StreamEvent, LlmError>>,
    /// Whether the body ended (the queue then holds the last events).
    body_state: BodyState,
    /// When content last arrived (text, usage, thinking…): the idle timeout counts from
    /// here, so a server that only sends pings or comments still stalls.
    last_content: tokio::time::Instant,
}

/// Whether more body chunks may come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// More chunks may come.
    Open,
    /// The body ended (or failed); only the queue remains.
    Ended,
}

impl<P: Protocol> Reading<P> {
    /// Parses a batch of SSE events into the queue, stopping at the first error.
    fn parse(&mut self, events: Vec<SseEvent>) {
        for event in events {
            match self.parser.on_event(&event) {
                Ok(out) => self.queue.extend(out.into_iter().map(Ok)),
                Err(e) => {
                    self.queue.push_back(Err(e));
                    self.body_state = BodyState::Ended;
                    return;
                }
            }
        }
    }

    fn end_of_body(&mut self) {
        let last = self.decoder.finish();
        self.parse(last);
        if self.body_state == BodyState::Open {
            match self.parser.on_eof() {
                Ok(out) => self.queue.extend(out.into_iter().map(Ok)),
                Err(e) => self.queue.push_back(Err(e)),
            }
        }
        self.body_state = BodyState::Ended;
    }
}

/// Sends `request` and streams the SSE reply through the parser `make_parser` builds from
/// the response headers. The stream ends after `Finished` or the first `Err`; every error
/// has `secret` (the API key, if any) redacted from its message.
///
/// Failures: no response headers within `timeouts.response_headers`, or no content (pings and
/// comments do not count) within `timeouts.idle_read`, is [`LlmError::Stalled`] (with that
/// duration); a refused or broken
/// connection is [`LlmError::Connection`]; a non-2xx status goes through
/// [`super::error::error_from_response`]; a 2xx JSON body (not an event stream) is a
/// [`LlmError::Stream`] when it holds an error object, else [`LlmError::Protocol`].
pub fn drive_sse<P, F>(
    request: reqwest::RequestBuilder,
    timeouts: Timeouts,
    secret: Option<ApiKey>,
    make_parser: F,
) -> EventStream
where
    P: Protocol,
    F: FnOnce(&HeaderMap) -> P + Send + 'static,
{
    let redact = secret.as_ref().map(|k| k.expose().to_string());
    let start = Drive::Sending(Box::new((request, make_parser, redact)));
    let events = stream::unfold(start, move |state| async move {
        let (item, next) = step(state, timeouts).await?;
        Some((item, next))
    });
    Box::pin(events.map(move |item| {
        item.map_err(|e| match &secret {
            Some(key) => e.redact(key.expose()),
            None => e,
        })
    }))
}

/// Advances the driver until it has one item to yield (or nothing more).
async fn step<P, F>(
    mut state: Drive<P, F>,
    timeouts: Timeouts,
) -> Option<(Result<StreamEvent, LlmError>, Drive<P, F>)>
where
    P: Protocol,
    F: FnOnce(&HeaderMap) -> P + Send + 'static,
{
    loop {
        state = match state {
            Drive::Done => return None,
            Drive::Sending(sending) => match open(*sending, timeouts).await {
                Ok(reading) => Drive::Streaming(Box::new(reading)),
                Err(e) => return Some((Err(e), Drive::Done)),
            },
            Drive::Streaming(mut r) => {
                if let Some(item) = r.queue.pop_front() {
                    let last = matches!(item, Err(_) | Ok(StreamEvent::Finished { .. }));
                    let next = if last {
                        Drive::Done
                    } else {
                        Drive::Streaming(r)
                    };
                    return Some((item, next));
                }
                if r.body_state == BodyState::Ended {
                    return None;
                }
                let deadline = r.last_content + timeouts.idle_read;
                match tokio::time::timeout_at(deadline, r.body.next()).await {
                    Err(_) => {
                        let stalled = LlmError::Stalled {
                            after: timeouts.idle_read,
                        };
                        return Some((Err(stalled), Drive::Done));
                    }
                    Ok(None) => r.end_of_body(),
                    Ok(Some(Err(e))) => {
                        let broken = LlmError::Connection {
                            message: describe(&e),
                        };
                        r.queue.push_back(Err(broken));
                        r.body_state = BodyState::Ended;
                    }
                    Ok(Some(Ok(bytes))) => {
                        let events = r.decoder.feed(&bytes);
                        let before = r.queue.len();
                        r.parse(events);
                        if r.queue.len() > before {
                            r.last_content = tokio::time::Instant::now();
                        } else {
                            tracing::debug!("a chunk without content (a ping or a comment)");
                        }
                        if r.decoder.overflowed() {
                            let too_long = LlmError::Protocol {
                                message: format!(
                                    "line too long: the event stream sent a line (or an event) \
                                     over {} MiB; the reply was stopped",
                                    super::sse::MAX_LINE_BYTES / (1024 * 1024)
                                ),
                            };
                            // After what arrived before it, like a broken connection.
                            r.queue.push_back(Err(too_long));
                            r.body_state = BodyState::Ended;
                        }
                    }
                }
                Drive::Streaming(r)
            }
        };
    }
}

/// Sends the request and waits for the headers; maps non-2xx statuses to errors.
async fn open<P, F>(
    (request, make_parser, secret): (reqwest::RequestBuilder, F, Option<String>),
    timeouts: Timeouts,
) -> Result<Reading<P>, LlmError>
where
    P: Protocol,
    F: FnOnce(&HeaderMap) -> P,
{
    let response = match tokio::time::timeout(timeouts.response_headers, request.send()).await {
        Err(_) => {
            return Err(LlmError::Stalled {
                after: timeouts.response_headers,
            });
        }
        Ok(Err(e)) => {
            return Err(LlmError::Connection {
                message: describe(&e),
            });
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    let headers = response.headers().clone();
    let mut body: Body = Box::pin(response.bytes_stream());
    if !status.is_success() {
        let bytes = read_error_body(&mut body, timeouts.idle_read).await;
        // Redact before the message is shortened: a key cut in half by the shortening would
        // no longer match.
        let bytes = redact_bytes(bytes, secret.as_deref());
        return Err(error_from_response(status.as_u16(), &headers, &bytes));
    }
    let is_json = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if is_json {
        // A JSON reply to a streaming request: an error object, or a server that ignored
        // `stream: true`. Neither is an event stream.
        let bytes = read_error_body(&mut body, timeouts.idle_read).await;
        let bytes = redact_bytes(bytes, secret.as_deref());
        return Err(match super::error::server_error_parts(&bytes) {
            Some((kind, message)) => super::error::stream_error(kind.as_deref(), &message),
            None => LlmError::Protocol {
                message: "the server answered with JSON instead of an event stream".into(),
            },
        });
    }
    let mut queue = VecDeque::new();
    let limits = rate_limit_headers(&headers);
    if !limits.is_empty() {
        queue.push_back(Ok(StreamEvent::RateLimits(limits)));
    }
    Ok(Reading {
        body,
        decoder: SseDecoder::new(),
        parser: make_parser(&headers),
        queue,
        body_state: BodyState::Open,
        last_content: tokio::time::Instant::now(),
    })
}

/// The rate-limit headers of a response, sanitized, in order.
pub fn rate_limit_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name.starts_with("anthropic-ratelimit-")
                || name.starts_with("x-ratelimit-")
                || name.starts_with("ratelimit-")
                || name == "retry-after"
        })
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((
                name.as_str().to_string(),
                super::error::clean_server_text(value),
            ))
        })
        .collect()
}

/// Replaces the key in an error body by `[redacted]`.
fn redact_bytes(bytes: Vec<u8>, secret: Option<&str>) -> Vec<u8> {
    match secret {
        Some(key) => {
            super::error::redact_secret(&String::from_utf8_lossy(&bytes), key).into_bytes()
        }
        _ => bytes,
    }
}

/// Reads up to [`ERROR_BODY_MAX_BYTES`] of an error body; gives up quietly on a stall or a
/// broken connection (the status alone still makes a useful error).
async fn read_error_body(body: &mut Body, idle_read: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < ERROR_BODY_MAX_BYTES {
        match tokio::time::timeout(idle_read, body.next()).await {
            Ok(Some(Ok(chunk))) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(ERROR_BODY_MAX_BYTES);
    out
}
