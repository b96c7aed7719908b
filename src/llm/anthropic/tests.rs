use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn sse(event: &str, data: serde_json::Value) -> SseEvent {
    SseEvent {
        event: Some(event.to_string()),
        data: data.to_string(),
        id: None,
    }
}

fn run(events: &[SseEvent]) -> Vec<Result<StreamEvent, LlmError>> {
    let mut p = AnthropicParser::new(Some("req_1".into()));
    let mut out = Vec::new();
    for e in events {
        match p.parse_event(e) {
            Ok(evs) => out.extend(evs.into_iter().map(Ok)),
            Err(err) => {
                out.push(Err(err));
                return out;
            }
        }
    }
    match p.finish() {
        Ok(evs) => out.extend(evs.into_iter().map(Ok)),
        Err(err) => out.push(Err(err)),
    }
    out
}

fn start() -> SseEvent {
    sse(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",
            "model":"claude-x","content":[],"stop_reason":null,
            "usage":{"input_tokens":25,"output_tokens":1,"cache_creation_input_tokens":3,"cache_read_input_tokens":40}}}),
    )
}

#[test]
fn maps_a_text_reply_with_cumulative_usage() {
    let events = vec![
        start(),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        sse("ping", json!({"type":"ping"})),
        sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        sse(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":5}}),
        ),
        sse(
            "message_delta",
            json!({"type":"message_delta","delta":{},"usage":{"output_tokens":12}}),
        ),
        sse("message_stop", json!({"type":"message_stop"})),
    ];
    let out = run(&events);
    assert_eq!(
        out,
        vec![
            Ok(StreamEvent::Started {
                model: Some("claude-x".into()),
                response_id: Some("msg_1".into()),
                request_id: Some("req_1".into()),
            }),
            Ok(StreamEvent::Usage(Usage {
                input_tokens: Some(25),
                output_tokens: Some(1),
                cache_creation_input_tokens: Some(3),
                cache_read_input_tokens: Some(40),
                cache_creation_1h_input_tokens: None,
            })),
            Ok(StreamEvent::TextDelta("Hi".into())),
            Ok(StreamEvent::Usage(Usage {
                output_tokens: Some(5),
                ..Usage::default()
            })),
            Ok(StreamEvent::Usage(Usage {
                output_tokens: Some(12),
                ..Usage::default()
            })),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::MaxTokens
            }),
        ]
    );
    let mut usage = Usage::default();
    for e in out.iter().flatten() {
        if let StreamEvent::Usage(u) = e {
            usage.merge(*u);
        }
    }
    assert_eq!(usage.output_tokens, Some(12));
}

#[test]
fn thinking_tool_use_and_unknown_blocks_become_notes() {
    let events = vec![
        start(),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}),
        ),
        sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x".repeat(1234)}}),
        ),
        sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"zzz"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type":"content_block_stop","index":1}),
        ),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"get_weather","input":{}}}),
        ),
        sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}),
        ),
        sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}),
        ),
        sse(
            "content_block_stop",
            json!({"type":"content_block_stop","index":2}),
        ),
        sse(
            "content_block_start",
            json!({"type":"content_block_start","index":3,"content_block":{"type":"web_search_tool_result"}}),
        ),
        sse(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}),
        ),
        sse("message_stop", json!({"type":"message_stop"})),
    ];
    let notes: Vec<_> = run(&events)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Ok(StreamEvent::Note { .. }) | Ok(StreamEvent::Finished { .. })
            )
        })
        .collect();
    let note = |kind, s: &str| {
        Ok(StreamEvent::Note {
            kind,
            summary: s.to_string(),
        })
    };
    assert_eq!(
        notes,
        vec![
            note(NoteKind::Thinking, "thinking (1,234 chars)"),
            note(NoteKind::Thinking, "redacted thinking"),
            note(
                NoteKind::ToolUse,
                "tool_use get_weather (17 bytes of input)"
            ),
            note(NoteKind::Other, "web_search_tool_result block"),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::ToolUse
            }),
        ]
    );
}

#[test]
fn error_events_map_to_errors() {
    let err = |kind: &str| {
        run(&[
            start(),
            sse(
                "error",
                json!({"type":"error","error":{"type":kind,"message":"m\u{1b}[1m"}}),
            ),
        ])
        .pop()
    };
    assert_eq!(
        err("overloaded_error"),
        Some(Err(LlmError::Overloaded {
            status: 529,
            message: "m".into()
        }))
    );
    assert_eq!(
        err("rate_limit_error"),
        Some(Err(LlmError::RateLimited {
            message: "m".into(),
            retry_after: None
        }))
    );
    assert_eq!(
        err("api_error"),
        Some(Err(LlmError::Stream {
            kind: "api_error".into(),
            message: "m".into()
        }))
    );
}

#[test]
fn eof_before_message_stop_is_an_interruption() {
    let out = run(&[start()]);
    assert_eq!(out.last(), Some(&Err(LlmError::Interrupted)));
    assert_eq!(run(&[]), vec![Err(LlmError::Interrupted)]);
}

#[test]
fn malformed_json_is_a_protocol_error_and_unknown_events_are_ignored() {
    let out = run(&[
        start(),
        sse("future_event", json!({"anything": 1})),
        SseEvent {
            event: Some("content_block_delta".into()),
            data: "{not json".into(),
            id: None,
        },
    ]);
    assert!(
        matches!(out.last(), Some(Err(LlmError::Protocol { .. }))),
        "{out:?}"
    );
    assert_eq!(out.len(), 3);
}

#[test]
fn unnamed_events_fall_back_to_the_json_type() {
    let mut p = AnthropicParser::new(None);
    let out = p
        .parse_event(&SseEvent {
            event: None,
            data: json!({"type":"message_stop"}).to_string(),
            id: None,
        })
        .unwrap();
    assert_eq!(out.len(), 2);
}

#[test]
fn request_body_has_the_documented_shape() {
    let body = request_body(&ChatRequest {
        model: "claude-x".into(),
        system: Some("be brief".into()),
        messages: vec![Message {
            role: super::super::Role::User,
            content: "hi".into(),
        }],
        max_tokens: 64,
        temperature: None,
    });
    assert_eq!(
        body,
        json!({"model":"claude-x","max_tokens":64,"system":"be brief",
               "messages":[{"role":"user","content":"hi"}],"stream":true})
    );
}
