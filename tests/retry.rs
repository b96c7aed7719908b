//! Retries and fallbacks over real HTTP against the mock server: every attempt is reported,
//! 429s wait what the server asked, overloads back off then fall back, and a failure after
//! text is never retried.

mod common;

use std::time::Duration;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use pretty_assertions::assert_eq;
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::http::{ApiKey, Endpoint};
use promptdeck::llm::retry::{self, Next, Progress, RetryPolicy};
use promptdeck::llm::{ChatRequest, LlmError, Message, Role, StopReason, StreamEvent, Timeouts};
use serde_json::json;

fn provider(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::new(Endpoint {
        base_url: server.base_url(),
        api_key: ApiKey::new("sk-test"),
        timeouts: Timeouts::default(),
    })
    .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-a".into(),
        system: None,
        messages: vec![Message {
            role: Role::User,
            content: "hi".into(),
        }],
        max_tokens: 100,
        temperature: None,
    }
}

fn policy(fallbacks: &[&str]) -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        fallback_models: fallbacks.iter().map(|s| s.to_string()).collect(),
        ..RetryPolicy::default()
    }
}

/// Runs the request and returns the outcome plus a compact log of what was reported.
async fn run(
    server: &MockServer,
    policy: &RetryPolicy,
) -> (Result<StopReason, LlmError>, Vec<String>, String) {
    let provider = provider(server);
    let mut log = Vec::new();
    let mut text = String::new();
    let result = retry::drive(
        &provider,
        request(),
        policy,
        |_| async { Ok(()) },
        || 0.0,
        |p| match p {
            Progress::AttemptStarted { number, model } => {
                log.push(format!("start {number} {model}"))
            }
            Progress::AttemptFailed {
                number,
                error,
                next,
            } => {
                let next = match next {
                    Next::Retry { delay } => format!("retry in {}ms", delay.as_millis()),
                    Next::Fallback { model, .. } => format!("fallback to {model}"),
                    Next::GiveUp => "give up".into(),
                };
                log.push(format!("fail {number} {} -> {next}", error.kind()));
            }
            Progress::Event(StreamEvent::TextDelta(t)) => text.push_str(&t),
            Progress::Event(_) => {}
        },
    )
    .await;
    (result, log, text)
}

fn overloaded() -> MockResponse {
    MockResponse::error(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
}

fn ok(text: &str) -> MockResponse {
    MockResponse::sse(anthropic::reply(&[text], 3, 2))
}

#[tokio::test]
async fn rate_limited_then_ok_waits_what_the_server_says_in_each_form() {
    let server = MockServer::start().await;
    let limited = || {
        MockResponse::error(
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}),
        )
    };
    server.push(limited().header("retry-after-ms", "40"));
    server.push(limited().header("retry-after", "0"));
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1));
    server.push(limited().header("retry-after", &date));
    server.push(ok("done"));
    let (result, log, text) = run(
        &server,
        &RetryPolicy {
            max_retries: 3,
            ..policy(&[])
        },
    )
    .await;
    assert_eq!(result, Ok(StopReason::EndTurn));
    assert_eq!(text, "done");
    assert_eq!(
        log[0..4],
        [
            "start 1 claude-a",
            "fail 1 rate_limited -> retry in 40ms",
            "start 2 claude-a",
            "fail 2 rate_limited -> retry in 0ms"
        ]
    );
    // The HTTP date is at most a second away (HTTP dates have whole seconds).
    let third = &log[5];
    let ms: u64 = third
        .trim_start_matches("fail 3 rate_limited -> retry in ")
        .trim_end_matches("ms")
        .parse()
        .unwrap_or_else(|_| panic!("{third}"));
    assert!(ms <= 1000, "{third}");
    assert_eq!(log.len(), 7);
}

#[tokio::test]
async fn overloaded_then_ok_retries_with_backoff() {
    let server = MockServer::start().await;
    server.push(overloaded());
    server.push(ok("second time lucky"));
    let (result, log, text) = run(&server, &policy(&[])).await;
    assert_eq!(result, Ok(StopReason::EndTurn));
    assert_eq!(text, "second time lucky");
    assert_eq!(
        log,
        [
            "start 1 claude-a",
            "fail 1 overloaded -> retry in 5ms",
            "start 2 claude-a"
        ]
    );
}

#[tokio::test]
async fn an_overload_storm_falls_back_along_the_chain_then_gives_up() {
    let server = MockServer::start().await;
    for _ in 0..9 {
        server.push(overloaded());
    }
    let (result, log, _) = run(&server, &policy(&["claude-b", "claude-c"])).await;
    assert!(
        matches!(result, Err(LlmError::Overloaded { .. })),
        "{result:?}"
    );
    assert_eq!(
        log,
        [
            "start 1 claude-a",
            "fail 1 overloaded -> retry in 5ms",
            "start 2 claude-a",
            "fail 2 overloaded -> retry in 10ms",
            "start 3 claude-a",
            "fail 3 overloaded -> fallback to claude-b",
            "start 4 claude-b",
            "fail 4 overloaded -> retry in 5ms",
            "start 5 claude-b",
            "fail 5 overloaded -> retry in 10ms",
            "start 6 claude-b",
            "fail 6 overloaded -> fallback to claude-c",
            "start 7 claude-c",
            "fail 7 overloaded -> retry in 5ms",
            "start 8 claude-c",
            "fail 8 overloaded -> retry in 10ms",
            "start 9 claude-c",
            "fail 9 overloaded -> give up",
        ]
    );
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(models.iter().filter(|m| *m == "claude-c").count(), 3);
}

#[tokio::test]
async fn a_drop_before_the_first_token_is_retried_after_it_is_not() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(anthropic::message_start("claude-a", "msg_1", 3).into()),
        Step::Sleep(Duration::from_millis(50)),
        Step::Abort,
    ]));
    server.push(ok("after the drop"));
    let (result, log, text) = run(&server, &policy(&[])).await;
    assert_eq!(result, Ok(StopReason::EndTurn));
    assert_eq!(text, "after the drop");
    assert_eq!(log[1], "fail 1 connection -> retry in 5ms");

    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-a", "msg_2", 3)
                + &anthropic::text_block(0, &["half a"]))
                .into(),
        ),
        Step::Sleep(Duration::from_millis(50)),
        Step::Abort,
    ]));
    let (result, log, text) = run(&server, &policy(&["claude-b"])).await;
    assert!(
        matches!(result, Err(LlmError::Connection { .. })),
        "{result:?}"
    );
    assert_eq!(text, "half a", "the partial text was delivered");
    assert_eq!(log, ["start 1 claude-a", "fail 1 connection -> give up"]);
    assert_eq!(
        server.requests().len(),
        1,
        "never retried: it would duplicate text"
    );
}

#[tokio::test]
async fn x_should_retry_false_is_attempted_once_and_without_it_a_529_is_retried() {
    let server = MockServer::start().await;
    server.push(overloaded().header("x-should-retry", "false"));
    server.push(ok("never sent"));
    let (result, log, text) = run(&server, &policy(&["claude-b"])).await;
    assert_eq!(
        result.as_ref().map_err(LlmError::without_hint),
        Err(&LlmError::Overloaded {
            status: 529,
            message: "Overloaded".into()
        })
    );
    assert_eq!(text, "");
    assert_eq!(log, ["start 1 claude-a", "fail 1 overloaded -> give up"]);
    assert_eq!(server.requests().len(), 1, "the server said not to retry");

    let server = MockServer::start().await;
    server.push(overloaded());
    server.push(ok("retried"));
    let (result, log, text) = run(&server, &policy(&[])).await;
    assert_eq!(result, Ok(StopReason::EndTurn));
    assert_eq!(text, "retried");
    assert_eq!(
        log,
        [
            "start 1 claude-a",
            "fail 1 overloaded -> retry in 5ms",
            "start 2 claude-a"
        ]
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn x_should_retry_true_retries_even_a_bad_request() {
    let server = MockServer::start().await;
    server.push(
        MockResponse::error(
            409,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "busy"}}),
        )
        .header("x-should-retry", "true"),
    );
    server.push(
        MockResponse::error(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}),
        )
        .header("x-should-retry", "true"),
    );
    server.push(ok("third time"));
    let (result, log, text) = run(&server, &policy(&[])).await;
    assert_eq!(result, Ok(StopReason::EndTurn));
    assert_eq!(text, "third time");
    assert_eq!(
        log,
        [
            "start 1 claude-a",
            "fail 1 bad_request -> retry in 5ms",
            "start 2 claude-a",
            "fail 2 bad_request -> retry in 10ms",
            "start 3 claude-a"
        ]
    );
}
