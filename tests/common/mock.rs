//! An in-process mock of the Anthropic and OpenAI streaming endpoints, over real HTTP.
//!
//! The server listens on `127.0.0.1:0` and answers `POST /v1/messages` and
//! `POST /v1/chat/completions` (and any other path) with the next scripted [`MockResponse`],
//! in FIFO order. A response is a status, headers, an optional delay before the headers, and a
//! body given as [`Step`]s: chunks of bytes (sent as separate HTTP chunks, so tests control
//! exactly where the client's reads are cut), sleeps, an aborted connection, or a hang. Every
//! request is recorded (path, headers, JSON body) for assertions about what the client sent.
//!
//! `GET …/models` (both APIs' model listing) is answered apart from the script: with the list
//! given to [`MockServer::serve_models`] (one page), else 404. Listings are counted in
//! [`MockServer::model_listings`], not in [`MockServer::requests`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures_util::stream;
use serde_json::{Value, json};

/// One step of a scripted response body.
#[derive(Debug, Clone)]
pub enum Step {
    /// Send these bytes as one chunk.
    Chunk(Bytes),
    /// Wait before the next step.
    Sleep(Duration),
    /// Break the connection (the chunked body never completes).
    Abort,
    /// Send nothing more and never finish.
    Hang,
    /// Wait until the test says go (`notify_one`; a go given early is kept).
    WaitFor(Arc<tokio::sync::Notify>),
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct MockResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Wait this long before sending the headers.
    pub headers_delay: Duration,
    /// The body, step by step.
    pub body: Vec<Step>,
}

impl MockResponse {
    /// A 200 `text/event-stream` response whose body is `body`, sent as one chunk.
    pub fn sse(body: impl Into<Vec<u8>>) -> MockResponse {
        MockResponse::sse_steps(vec![Step::Chunk(Bytes::from(body.into()))])
    }

    /// A 200 `text/event-stream` response with the given body steps.
    pub fn sse_steps(body: Vec<Step>) -> MockResponse {
        MockResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            headers_delay: Duration::ZERO,
            body,
        }
    }

    /// A 200 SSE response whose body is cut into chunks of `size` bytes (cutting through
    /// multi-byte characters and line endings wherever they fall).
    pub fn sse_chunked(body: impl Into<Vec<u8>>, size: usize) -> MockResponse {
        MockResponse::sse_steps(split(&body.into(), size))
    }

    /// A JSON error response.
    pub fn error(status: u16, body: Value) -> MockResponse {
        MockResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            headers_delay: Duration::ZERO,
            body: vec![Step::Chunk(Bytes::from(body.to_string()))],
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> MockResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Delays the response headers.
    pub fn delay_headers(mut self, delay: Duration) -> MockResponse {
        self.headers_delay = delay;
        self
    }
}

/// Cuts `bytes` into chunk steps of `size` bytes.
pub fn split(bytes: &[u8], size: usize) -> Vec<Step> {
    bytes
        .chunks(size.max(1))
        .map(|c| Step::Chunk(Bytes::copy_from_slice(c)))
        .collect()
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request path, e.g. `/v1/messages`.
    pub path: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<MockResponse>>,
    /// Responses for requests naming a model (several requests in flight at once).
    by_model: Mutex<Vec<(String, MockResponse)>>,
    /// Responses for requests whose body contains a text (a system prompt, a message).
    by_text: Mutex<Vec<(String, MockResponse)>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Response bodies currently being streamed (decremented when the body is dropped,
    /// e.g. because the client closed the connection).
    open_bodies: AtomicUsize,
    /// The models `GET …/models` lists; `None` answers 404.
    models: Mutex<Option<Vec<String>>>,
    /// How many model listings were asked for.
    listings: AtomicUsize,
}

/// The running mock server; it stops when the test's runtime ends.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl MockServer {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    pub async fn start() -> MockServer {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockServer { addr, shared }
    }

    /// Queues a response for the next request.
    pub fn push(&self, response: MockResponse) {
        self.shared.script.lock().unwrap().push_back(response);
    }

    /// Queues a response for the next request whose body names `model` (ahead of
    /// [`MockServer::push`]'s queue), for requests that run at once.
    pub fn push_for(&self, model: &str, response: MockResponse) {
        self.shared
            .by_model
            .lock()
            .unwrap()
            .push((model.to_string(), response));
    }

    /// Queues a response for the next request whose body contains `needle` (a system prompt,
    /// a message), ahead of every other queue: lanes that run at once, told apart by prompt.
    pub fn push_when(&self, needle: &str, response: MockResponse) {
        self.shared
            .by_text
            .lock()
            .unwrap()
            .push((needle.to_string(), response));
    }

    /// `http://127.0.0.1:PORT` (Anthropic-style base URL).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1` (OpenAI-style base URL).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Answers `GET …/models` with these model ids from now on.
    pub fn serve_models(&self, ids: &[&str]) {
        *self.shared.models.lock().unwrap() = Some(ids.iter().map(|s| s.to_string()).collect());
    }

    /// How many times the model list was asked for.
    pub fn model_listings(&self) -> usize {
        self.shared.listings.load(Ordering::SeqCst)
    }

    /// How many response bodies are still being streamed.
    pub fn open_bodies(&self) -> usize {
        self.shared.open_bodies.load(Ordering::SeqCst)
    }
}

/// Decrements the open-body counter when the body stream is dropped.
struct OpenBody(Arc<Shared>);

impl Drop for OpenBody {
    fn drop(&mut self) {
        self.0.open_bodies.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::GET && uri.path().ends_with("/models") {
        shared.listings.fetch_add(1, Ordering::SeqCst);
        let models = shared.models.lock().unwrap().clone();
        return match models {
            Some(ids) => {
                let data: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"id": id, "type": "model"}))
                    .collect();
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"data": data, "has_more": false}).to_string(),
                    ))
                    .unwrap()
            }
            None => Response::builder()
                .status(404)
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"error": {"type": "not_found_error", "message": "no such route"}})
                        .to_string(),
                ))
                .unwrap(),
        };
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let text = body.to_string();
    shared.requests.lock().unwrap().push(RecordedRequest {
        path: uri.path().to_string(),
        headers,
        body,
    });
    let by_text = {
        let mut by_text = shared.by_text.lock().unwrap();
        by_text
            .iter()
            .position(|(needle, _)| text.contains(needle.as_str()))
            .map(|i| by_text.remove(i).1)
    };
    let routed = by_text.or_else(|| {
        let mut by_model = shared.by_model.lock().unwrap();
        by_model
            .iter()
            .position(|(m, _)| *m == model)
            .map(|i| by_model.remove(i).1)
    });
    let scripted = routed.or_else(|| shared.script.lock().unwrap().pop_front());
    let Some(scripted) = scripted else {
        return Response::builder()
            .status(500)
            .body(Body::from("mock: no scripted response"))
            .unwrap();
    };
    if !scripted.headers_delay.is_zero() {
        tokio::time::sleep(scripted.headers_delay).await;
    }
    shared.open_bodies.fetch_add(1, Ordering::SeqCst);
    let guard = OpenBody(Arc::clone(&shared));
    let steps: VecDeque<Step> = scripted.body.into();
    let body = stream::unfold((steps, guard), |(mut steps, guard)| async move {
        loop {
            match steps.pop_front()? {
                Step::Chunk(bytes) => return Some((Ok(bytes), (steps, guard))),
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Abort => {
                    let err = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "abort");
                    return Some((Err(err), (VecDeque::new(), guard)));
                }
                Step::Hang => std::future::pending::<()>().await,
                Step::WaitFor(go) => go.notified().await,
            }
        }
    });
    let mut response = Response::builder().status(StatusCode::from_u16(scripted.status).unwrap());
    for (k, v) in &scripted.headers {
        response = response.header(k, v);
    }
    response.body(Body::from_stream(body)).unwrap()
}

/// Formats one SSE event: `event: NAME` (if any) and one `data:` line.
pub fn sse_event(name: Option<&str>, data: &str) -> String {
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// Realistic Anthropic stream bodies.
pub mod anthropic {
    use super::*;

    /// `message_start` with input usage.
    pub fn message_start(model: &str, id: &str, input_tokens: u64) -> String {
        sse_event(
            Some("message_start"),
            &json!({"type":"message_start","message":{"id":id,"type":"message","role":"assistant",
                "model":model,"content":[],"stop_reason":null,"stop_sequence":null,
                "usage":{"input_tokens":input_tokens,"output_tokens":1,
                         "cache_creation_input_tokens":0,"cache_read_input_tokens":0}}})
            .to_string(),
        )
    }

    /// Any event, named after its JSON `type`.
    pub fn event(data: Value) -> String {
        let name = data["type"].as_str().unwrap_or("unknown").to_string();
        sse_event(Some(&name), &data.to_string())
    }

    /// A text block at `index` streaming `pieces`.
    pub fn text_block(index: u64, pieces: &[&str]) -> String {
        let mut out = event(json!({"type":"content_block_start","index":index,
            "content_block":{"type":"text","text":""}}));
        for p in pieces {
            out += &event(json!({"type":"content_block_delta","index":index,
                "delta":{"type":"text_delta","text":p}}));
        }
        out + &event(json!({"type":"content_block_stop","index":index}))
    }

    /// `message_delta` with a stop reason and cumulative output tokens.
    pub fn message_delta(stop_reason: &str, output_tokens: u64) -> String {
        event(json!({"type":"message_delta",
            "delta":{"stop_reason":stop_reason,"stop_sequence":null},
            "usage":{"output_tokens":output_tokens}}))
    }

    /// `message_stop`.
    pub fn message_stop() -> String {
        event(json!({"type":"message_stop"}))
    }

    /// A complete reply streaming `pieces` of text.
    pub fn reply(pieces: &[&str], input_tokens: u64, output_tokens: u64) -> String {
        message_start("claude-test", "msg_test", input_tokens)
            + &text_block(0, pieces)
            + &message_delta("end_turn", output_tokens)
            + &message_stop()
    }
}

/// Realistic OpenAI-compatible stream bodies.
pub mod openai {
    use super::*;

    /// A chunk with a delta for choice 0.
    pub fn delta(delta: Value) -> String {
        sse_event(
            None,
            &json!({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1,
                "model":"gpt-test","choices":[{"index":0,"delta":delta,"finish_reason":null}]})
            .to_string(),
        )
    }

    /// The chunk carrying `finish_reason`.
    pub fn finish(reason: &str) -> String {
        sse_event(
            None,
            &json!({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1,
                "model":"gpt-test","choices":[{"index":0,"delta":{},"finish_reason":reason}]})
            .to_string(),
        )
    }

    /// The usage chunk (`choices: []`).
    pub fn usage(prompt: u64, completion: u64, cached: u64) -> String {
        sse_event(
            None,
            &json!({"id":"chatcmpl-test","object":"chat.completion.chunk","created":1,
                "model":"gpt-test","choices":[],
                "usage":{"prompt_tokens":prompt,"completion_tokens":completion,
                         "total_tokens":prompt+completion,
                         "prompt_tokens_details":{"cached_tokens":cached}}})
            .to_string(),
        )
    }

    /// `data: [DONE]`.
    pub fn done() -> String {
        sse_event(None, "[DONE]")
    }

    /// A complete reply: text pieces, finish `stop`, usage, `[DONE]`.
    pub fn reply(pieces: &[&str], prompt: u64, completion: u64, cached: u64) -> String {
        let mut out = delta(json!({"role":"assistant","content":""}));
        for p in pieces {
            out += &delta(json!({"content":p}));
        }
        out + &finish("stop") + &usage(prompt, completion, cached) + &done()
    }
}
