//! Both HTTP providers against an in-process mock server over real HTTP on 127.0.0.1.

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::json;

use common::mock::{self, MockResponse, MockServer, Step};
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::http::{ApiKey, Endpoint};
use promptdeck::llm::openai::{MaxTokensField, OpenAiProvider};
use promptdeck::llm::{
    ChatRequest, LlmError, Message, NoteKind, Provider, Role, StopReason, StreamEvent, Timeouts,
    Usage,
};

const KEY: &str = "sk-test-SECRET-4242";

type Events = Vec<Result<StreamEvent, LlmError>>;

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        response_headers: Duration::from_secs(10),
        idle_read: Duration::from_secs(10),
    }
}

fn anthropic_at(server: &MockServer, t: Timeouts) -> AnthropicProvider {
    AnthropicProvider::new(Endpoint {
        base_url: format!("{}/", server.base_url()),
        api_key: ApiKey::new(KEY),
        timeouts: t,
    })
    .unwrap()
}

fn anthropic(server: &MockServer) -> AnthropicProvider {
    anthropic_at(server, timeouts())
}

fn openai_with(server: &MockServer, key: Option<&str>, t: Timeouts) -> OpenAiProvider {
    OpenAiProvider::new(Endpoint {
        base_url: server.openai_base_url(),
        api_key: key.and_then(ApiKey::new),
        timeouts: t,
    })
    .unwrap()
}

fn openai(server: &MockServer) -> OpenAiProvider {
    openai_with(server, Some(KEY), timeouts())
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: Some("You are terse.".into()),
        messages: vec![Message {
            role: Role::User,
            content: "hello".into(),
        }],
        max_tokens: 256,
        temperature: Some(0.25),
    }
}

async fn run(provider: &dyn Provider) -> Events {
    provider.stream(request()).collect().await
}

fn text(events: &Events) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Ok(StreamEvent::TextDelta(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn usage(events: &Events) -> Option<Usage> {
    let mut total: Option<Usage> = None;
    for e in events {
        if let Ok(StreamEvent::Usage(u)) = e {
            total.get_or_insert_with(Usage::default).merge(*u);
        }
    }
    total
}

fn started(model: &str, id: &str, request_id: Option<&str>) -> Result<StreamEvent, LlmError> {
    Ok(StreamEvent::Started {
        model: Some(model.into()),
        response_id: Some(id.into()),
        request_id: request_id.map(str::to_string),
    })
}

fn finished(reason: StopReason) -> Result<StreamEvent, LlmError> {
    Ok(StreamEvent::Finished {
        stop_reason: reason,
    })
}

fn delta(t: &str) -> Result<StreamEvent, LlmError> {
    Ok(StreamEvent::TextDelta(t.into()))
}

// ---------------------------------------------------------------- normal replies

#[tokio::test]
async fn anthropic_streams_text_and_cumulative_usage_with_cache_tokens() {
    let server = MockServer::start().await;
    let body = mock::anthropic::event(json!({"type":"message_start","message":{
            "id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],
            "usage":{"input_tokens":20,"output_tokens":1,
                     "cache_creation_input_tokens":100,"cache_read_input_tokens":900}}}))
        + &mock::anthropic::text_block(0, &["Hello", ", wor", "ld."])
        + &mock::anthropic::message_delta("end_turn", 5)
        + &mock::anthropic::event(json!({"type":"message_delta","delta":{},
            "usage":{"output_tokens":12}}))
        + &mock::anthropic::message_stop();
    server.push(MockResponse::sse(body).header("request-id", "req_abc"));

    let events = run(&anthropic(&server)).await;
    assert_eq!(
        events,
        vec![
            started("claude-test", "msg_1", Some("req_abc")),
            Ok(StreamEvent::Usage(Usage {
                input_tokens: Some(20),
                output_tokens: Some(1),
                cache_creation_input_tokens: Some(100),
                cache_read_input_tokens: Some(900),
                cache_creation_1h_input_tokens: None,
            })),
            delta("Hello"),
            delta(", wor"),
            delta("ld."),
            Ok(StreamEvent::Usage(Usage {
                output_tokens: Some(5),
                ..Usage::default()
            })),
            Ok(StreamEvent::Usage(Usage {
                output_tokens: Some(12),
                ..Usage::default()
            })),
            finished(StopReason::EndTurn),
        ]
    );
    assert_eq!(
        usage(&events),
        Some(Usage {
            input_tokens: Some(20),
            output_tokens: Some(12),
            cache_creation_input_tokens: Some(100),
            cache_read_input_tokens: Some(900),
            cache_creation_1h_input_tokens: None,
        })
    );
}

#[tokio::test]
async fn anthropic_sends_the_documented_headers_and_body() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(mock::anthropic::reply(&["ok"], 1, 1)));
    let events = run(&anthropic(&server)).await;
    assert_eq!(events.last(), Some(&finished(StopReason::EndTurn)));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({"model":"test-model","max_tokens":256,"system":"You are terse.",
               "messages":[{"role":"user","content":"hello"}],"stream":true,"temperature":0.25})
    );
}

#[tokio::test]
async fn openai_streams_text_and_usage_with_cached_tokens() {
    let server = MockServer::start().await;
    server.push(
        MockResponse::sse(mock::openai::reply(&["Hi", " there"], 1000, 7, 768))
            .header("x-request-id", "xreq-9"),
    );
    let events = run(&openai(&server)).await;
    assert_eq!(
        events,
        vec![
            started("gpt-test", "chatcmpl-test", Some("xreq-9")),
            delta("Hi"),
            delta(" there"),
            Ok(StreamEvent::Usage(Usage {
                input_tokens: Some(232),
                output_tokens: Some(7),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(768),
                cache_creation_1h_input_tokens: None,
            })),
            finished(StopReason::EndTurn),
        ]
    );
}

#[tokio::test]
async fn openai_sends_bearer_system_message_and_stream_options() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(mock::openai::reply(&["a"], 1, 1, 0)));
    server.push(MockResponse::sse(mock::openai::reply(&["b"], 1, 1, 0)));
    run(&openai(&server)).await;
    run(&openai_with(&server, None, timeouts())).await;

    let requests = server.requests();
    assert_eq!(requests[0].path, "/v1/chat/completions");
    let bearer = format!("Bearer {KEY}");
    assert_eq!(requests[0].header("authorization"), Some(bearer.as_str()));
    assert_eq!(
        requests[1].header("authorization"),
        None,
        "no key, no header"
    );
    assert_eq!(
        requests[0].body,
        json!({"model":"test-model",
               "messages":[{"role":"system","content":"You are terse."},
                           {"role":"user","content":"hello"}],
               "max_tokens":256,"stream":true,"stream_options":{"include_usage":true},
               "temperature":0.25})
    );
}

/// `request()` for `model`, with temperature 0.7.
fn request_for(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        temperature: Some(0.7),
        ..request()
    }
}

/// The body the server received for `model` (temperature 0.7, max 256 tokens) when
/// `token_field` names the output-token limit, with or without a temperature.
fn body_for(model: &str, token_field: &str, temperature: bool) -> serde_json::Value {
    let mut body = json!({"model":model,
        "messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"hello"}],
        "stream":true,"stream_options":{"include_usage":true}});
    body[token_field] = json!(256);
    if temperature {
        body["temperature"] = json!(0.7f32);
    }
    body
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens_and_no_temperature_with_a_notice() {
    for model in ["o3-mini", "gpt-5.6-terra"] {
        let server = MockServer::start().await;
        server.push(MockResponse::sse(mock::openai::reply(&["ok"], 5, 1, 0)));
        let events: Events = openai(&server).stream(request_for(model)).collect().await;
        assert_eq!(
            events[..2],
            [
                Ok(StreamEvent::Notice(format!(
                    "temperature 0.7 not sent: {model} accepts only its default"
                ))),
                started("gpt-test", "chatcmpl-test", None),
            ],
            "{model}"
        );
        assert_eq!(events.last(), Some(&finished(StopReason::EndTurn)));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].body,
            body_for(model, "max_completion_tokens", false),
            "{model}"
        );
    }
}

#[tokio::test]
async fn a_local_model_on_a_compatible_server_keeps_max_tokens_and_temperature() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(mock::openai::reply(&["ok"], 5, 1, 0)));
    let events: Events = openai_with(&server, None, timeouts())
        .stream(request_for("llama-3.1-8b"))
        .collect()
        .await;
    assert_eq!(
        events.first(),
        Some(&started("gpt-test", "chatcmpl-test", None))
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Ok(StreamEvent::Notice(_)))),
        "{events:?}"
    );
    assert_eq!(
        server.requests()[0].body,
        body_for("llama-3.1-8b", "max_tokens", true)
    );
}

#[tokio::test]
async fn the_configured_max_tokens_field_replaces_the_rule() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(mock::openai::reply(&["a"], 5, 1, 0)));
    server.push(MockResponse::sse(mock::openai::reply(&["b"], 5, 1, 0)));
    let completion =
        openai(&server).with_max_tokens_field(Some(MaxTokensField::MaxCompletionTokens));
    let _: Events = completion
        .stream(request_for("llama-3.1-8b"))
        .collect()
        .await;
    let classic = openai(&server).with_max_tokens_field(Some(MaxTokensField::MaxTokens));
    let _: Events = classic.stream(request_for("o3-mini")).collect().await;
    let bodies: Vec<serde_json::Value> = server.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        vec![
            body_for("llama-3.1-8b", "max_completion_tokens", true),
            // The field is the user's call; the temperature rule still holds.
            body_for("o3-mini", "max_tokens", false),
        ]
    );
}

#[tokio::test]
async fn llama_cpp_style_stream_without_usage_has_no_usage_event() {
    let server = MockServer::start().await;
    let body = mock::openai::delta(json!({"content":"local"}))
        + &mock::openai::finish("stop")
        + &mock::openai::done();
    server.push(MockResponse::sse(body));
    let events = run(&openai_with(&server, None, timeouts())).await;
    assert_eq!(
        events,
        vec![
            started("gpt-test", "chatcmpl-test", None),
            delta("local"),
            finished(StopReason::EndTurn),
        ]
    );
    assert_eq!(usage(&events), None);
}

#[tokio::test]
async fn openai_stream_ending_after_finish_reason_without_done_is_finished() {
    let server = MockServer::start().await;
    let body = mock::openai::delta(json!({"content":"x"})) + &mock::openai::finish("length");
    server.push(MockResponse::sse(body));
    let events = run(&openai(&server)).await;
    assert_eq!(events.last(), Some(&finished(StopReason::MaxTokens)));
}

// ---------------------------------------------------------------- framing

#[tokio::test]
async fn utf8_split_mid_character_by_chunk_boundaries_is_reassembled() {
    let pieces = ["Crab 🦀 and ", "世界, ", "naïve 👩‍👩‍👧 done"];
    let expected: String = pieces.concat();
    for size in [1, 2, 3, 5, 7] {
        let server = MockServer::start().await;
        server.push(MockResponse::sse_chunked(
            mock::anthropic::reply(&pieces, 3, 9),
            size,
        ));
        server.push(MockResponse::sse_chunked(
            mock::openai::reply(&pieces, 3, 9, 0),
            size,
        ));
        let a = run(&anthropic(&server)).await;
        assert_eq!(text(&a), expected, "anthropic, chunks of {size}");
        assert_eq!(a.last(), Some(&finished(StopReason::EndTurn)));
        let o = run(&openai(&server)).await;
        assert_eq!(text(&o), expected, "openai, chunks of {size}");
        assert_eq!(o.last(), Some(&finished(StopReason::EndTurn)));
    }
}

#[tokio::test]
async fn crlf_bodies_split_between_cr_and_lf_are_decoded() {
    let server = MockServer::start().await;
    let body = mock::anthropic::reply(&["one", "two"], 1, 2).replace('\n', "\r\n");
    // Cut right after every CR so each CR LF pair straddles two chunks.
    let steps: Vec<Step> = body
        .split_inclusive('\r')
        .map(|s| Step::Chunk(Bytes::from(s.to_string())))
        .collect();
    server.push(MockResponse::sse_steps(steps));
    server.push(MockResponse::sse(
        mock::openai::reply(&["three"], 1, 1, 0).replace('\n', "\r\n"),
    ));
    let a = run(&anthropic(&server)).await;
    assert_eq!(text(&a), "onetwo");
    assert_eq!(a.last(), Some(&finished(StopReason::EndTurn)));
    let o = run(&openai(&server)).await;
    assert_eq!(text(&o), "three");
    assert_eq!(o.last(), Some(&finished(StopReason::EndTurn)));
}

#[tokio::test]
async fn pings_and_comment_lines_are_ignored() {
    let server = MockServer::start().await;
    let ping = mock::anthropic::event(json!({"type":"ping"}));
    let body = ": hello from the proxy\n\n".to_string()
        + &mock::anthropic::message_start("claude-test", "msg_p", 4)
        + &ping
        + ": keep-alive\n"
        + &mock::anthropic::text_block(0, &["pong"])
        + &ping
        + &mock::anthropic::message_delta("end_turn", 1)
        + &mock::anthropic::message_stop();
    server.push(MockResponse::sse(body));
    server.push(MockResponse::sse(
        ": OPENROUTER PROCESSING\n\n".to_string() + &mock::openai::reply(&["pong"], 1, 1, 0),
    ));
    let a = run(&anthropic(&server)).await;
    assert_eq!(text(&a), "pong");
    assert!(a.iter().all(Result::is_ok), "{a:?}");
    let o = run(&openai(&server)).await;
    assert_eq!(text(&o), "pong");
    assert!(o.iter().all(Result::is_ok), "{o:?}");
}

#[tokio::test]
async fn anthropic_thinking_and_tool_use_blocks_become_notes() {
    use mock::anthropic::event;
    let server = MockServer::start().await;
    let body = mock::anthropic::message_start("claude-test", "msg_t", 10)
        + &event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"thinking","thinking":""}}))
        + &event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"thinking_delta","thinking":"Let me think… ".repeat(100)}}))
        + &event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}))
        + &event(json!({"type":"content_block_stop","index":0}))
        + &mock::anthropic::text_block(1, &["Checking."])
        + &event(json!({"type":"content_block_start","index":2,
            "content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}))
        + &event(json!({"type":"content_block_delta","index":2,
            "delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}))
        + &event(json!({"type":"content_block_delta","index":2,
            "delta":{"type":"input_json_delta","partial_json":"ncisco, CA\", \"unit\": \"c\"}"}}))
        + &event(json!({"type":"content_block_stop","index":2}))
        + &mock::anthropic::message_delta("tool_use", 80)
        + &mock::anthropic::message_stop();
    server.push(MockResponse::sse(body));
    let events = run(&anthropic(&server)).await;
    let interesting: Events = events
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Ok(StreamEvent::Started { .. }) | Ok(StreamEvent::Usage(_))
            )
        })
        .collect();
    assert_eq!(
        interesting,
        vec![
            Ok(StreamEvent::Note {
                kind: NoteKind::Thinking,
                summary: "thinking (1,400 chars)".into()
            }),
            delta("Checking."),
            Ok(StreamEvent::Note {
                kind: NoteKind::ToolUse,
                summary: "tool_use get_weather (46 bytes of input)".into()
            }),
            finished(StopReason::ToolUse),
        ]
    );
}

#[tokio::test]
async fn openai_reasoning_and_tool_calls_become_notes() {
    let server = MockServer::start().await;
    let body = mock::openai::delta(json!({"role":"assistant","reasoning_content":"hmm, "}))
        + &mock::openai::delta(json!({"reasoning_content":"ok"}))
        + &mock::openai::delta(
            json!({"tool_calls":[{"index":0,"id":"call_1","type":"function",
            "function":{"name":"lookup","arguments":"{\"q\":"}}]}),
        )
        + &mock::openai::delta(
            json!({"tool_calls":[{"index":0,"function":{"arguments":"\"x\"}"}}]}),
        )
        + &mock::openai::finish("tool_calls")
        + &mock::openai::done();
    server.push(MockResponse::sse(body));
    let events = run(&openai(&server)).await;
    assert_eq!(
        events,
        vec![
            started("gpt-test", "chatcmpl-test", None),
            Ok(StreamEvent::Note {
                kind: NoteKind::Thinking,
                summary: "reasoning (7 chars)".into()
            }),
            Ok(StreamEvent::Note {
                kind: NoteKind::ToolUse,
                summary: "tool_call lookup (9 bytes of input)".into()
            }),
            finished(StopReason::ToolUse),
        ]
    );
}

// ---------------------------------------------------------------- HTTP errors

mod errors;
