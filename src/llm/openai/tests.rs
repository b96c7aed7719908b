use pretty_assertions::assert_eq;

use super::*;
use crate::llm::Message;

fn data(d: serde_json::Value) -> SseEvent {
    SseEvent {
        event: None,
        data: d.to_string(),
        id: None,
    }
}

fn done() -> SseEvent {
    SseEvent {
        event: None,
        data: "[DONE]".into(),
        id: None,
    }
}

fn delta(d: serde_json::Value) -> SseEvent {
    data(
        json!({"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-x",
        "choices":[{"index":0,"delta":d,"finish_reason":null}]}),
    )
}

fn finish(reason: &str) -> SseEvent {
    data(json!({"id":"chatcmpl-1","model":"gpt-x",
        "choices":[{"index":0,"delta":{},"finish_reason":reason}]}))
}

fn run(events: &[SseEvent]) -> Vec<Result<StreamEvent, LlmError>> {
    let mut p = OpenAiParser::new(Some("xr".into()));
    let mut out = Vec::new();
    for e in events {
        match p.parse_event(e) {
            Ok(evs) => out.extend(evs.into_iter().map(Ok)),
            Err(err) => {
                out.push(Err(err));
                return out;
            }
        }
        if p.phase == Phase::Finished {
            return out;
        }
    }
    match p.finish() {
        Ok(evs) => out.extend(evs.into_iter().map(Ok)),
        Err(err) => out.push(Err(err)),
    }
    out
}

fn started() -> Result<StreamEvent, LlmError> {
    Ok(StreamEvent::Started {
        model: Some("gpt-x".into()),
        response_id: Some("chatcmpl-1".into()),
        request_id: Some("xr".into()),
    })
}

#[test]
fn maps_text_usage_with_cache_and_done() {
    let out = run(&[
        delta(json!({"role":"assistant","content":""})),
        delta(json!({"content":"Hel"})),
        delta(json!({"content":"lo"})),
        finish("stop"),
        data(json!({"id":"chatcmpl-1","model":"gpt-x","choices":[],
            "usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,
                     "prompt_tokens_details":{"cached_tokens":64}}})),
        done(),
    ]);
    assert_eq!(
        out,
        vec![
            started(),
            Ok(StreamEvent::TextDelta("Hel".into())),
            Ok(StreamEvent::TextDelta("lo".into())),
            Ok(StreamEvent::Usage(Usage {
                input_tokens: Some(36),
                output_tokens: Some(7),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(64),
                cache_creation_1h_input_tokens: None,
            })),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::EndTurn
            }),
        ]
    );
}

#[test]
fn a_stream_without_usage_reports_none() {
    let out = run(&[delta(json!({"content":"x"})), finish("length"), done()]);
    assert_eq!(
        out,
        vec![
            started(),
            Ok(StreamEvent::TextDelta("x".into())),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::MaxTokens
            }),
        ]
    );
}

#[test]
fn reasoning_and_tool_calls_become_notes_before_finished() {
    let out = run(&[
        delta(json!({"reasoning_content":"abc"})),
        delta(json!({"reasoning":"déf"})),
        delta(json!({"tool_calls":[{"index":0,"id":"c1","type":"function",
            "function":{"name":"get_weather","arguments":""}}]})),
        delta(json!({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})),
        delta(json!({"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]})),
        finish("tool_calls"),
        done(),
    ]);
    assert_eq!(
        out,
        vec![
            started(),
            Ok(StreamEvent::Note {
                kind: NoteKind::Thinking,
                summary: "reasoning (6 chars)".into()
            }),
            Ok(StreamEvent::Note {
                kind: NoteKind::ToolUse,
                summary: "tool_call get_weather (15 bytes of input)".into()
            }),
            Ok(StreamEvent::Finished {
                stop_reason: StopReason::ToolUse
            }),
        ]
    );
}

#[test]
fn eof_after_finish_reason_finishes_and_eof_before_it_interrupts() {
    let out = run(&[delta(json!({"content":"x"})), finish("stop")]);
    assert_eq!(
        out.last(),
        Some(&Ok(StreamEvent::Finished {
            stop_reason: StopReason::EndTurn
        }))
    );
    let out = run(&[delta(json!({"content":"x"}))]);
    assert_eq!(out.last(), Some(&Err(LlmError::Interrupted)));
}

#[test]
fn error_objects_and_malformed_chunks_are_errors() {
    let out = run(&[
        delta(json!({"content":"x"})),
        data(json!({"error":{"message":"boom","type":"server_error"}})),
    ]);
    assert_eq!(
        out.last(),
        Some(&Err(LlmError::Stream {
            kind: "server_error".into(),
            message: "boom".into()
        }))
    );
    let out = run(&[SseEvent {
        event: None,
        data: "{\"choices\": [".into(),
        id: None,
    }]);
    assert!(matches!(out.as_slice(), [Err(LlmError::Protocol { .. })]));
}

#[test]
fn request_body_puts_the_system_prompt_first_and_asks_for_usage() {
    let body = request_body(
        &ChatRequest {
            model: "gpt-x".into(),
            system: Some("sys".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: "a".into(),
                },
                Message {
                    role: Role::Assistant,
                    content: "b".into(),
                },
            ],
            max_tokens: 10,
            temperature: Some(0.5),
        },
        MaxTokensField::MaxTokens,
    );
    assert_eq!(
        body,
        PreparedBody {
            json: json!({"model":"gpt-x","messages":[{"role":"system","content":"sys"},
                {"role":"user","content":"a"},{"role":"assistant","content":"b"}],
                "max_tokens":10,"stream":true,"stream_options":{"include_usage":true},
                "temperature":0.5}),
            notices: vec![],
        }
    );
}

fn ask(model: &str, temperature: Option<f32>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: None,
        messages: vec![Message {
            role: Role::User,
            content: "hi".into(),
        }],
        max_tokens: 64,
        temperature,
    }
}

/// The body `OpenAiProvider` would send to a server at `base_url`, without an override.
fn body_at(base_url: &str, request: &ChatRequest) -> PreparedBody {
    let field = max_tokens_field(ServerKind::of(base_url), ModelFamily::of(&request.model));
    request_body(request, field)
}

#[test]
fn o_series_and_gpt_5_names_are_the_reasoning_family() {
    let reasoning = [
        "o1",
        "o1-preview-2024-09-12",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-2025-08-07",
        "gpt-5.1",
        "gpt-5.6-terra",
        "gpt-5.6-terra-2026-10-01",
    ];
    let classic = [
        "gpt-4.1-mini",
        "gpt-4o",
        "gpt-50",
        "llama-3.1-8b",
        "llama3.2",
        "omni-local",
        "qwen2.5:7b",
        "",
    ];
    let family = |names: &[&str]| -> Vec<(String, ModelFamily)> {
        names
            .iter()
            .map(|n| (n.to_string(), ModelFamily::of(n)))
            .collect()
    };
    assert_eq!(
        family(&reasoning),
        reasoning
            .iter()
            .map(|n| (n.to_string(), ModelFamily::Reasoning))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        family(&classic),
        classic
            .iter()
            .map(|n| (n.to_string(), ModelFamily::Classic))
            .collect::<Vec<_>>()
    );
}

#[test]
fn openai_itself_and_reasoning_models_get_max_completion_tokens() {
    assert_eq!(
        [
            "https://api.openai.com/v1",
            "https://API.openai.com:443/v1/",
            "http://127.0.0.1:8080/v1",
            "https://api.openai.com.example.net/v1",
            "not a url",
        ]
        .map(ServerKind::of),
        [
            ServerKind::OpenAi,
            ServerKind::OpenAi,
            ServerKind::Compatible,
            ServerKind::Compatible,
            ServerKind::Compatible,
        ]
    );
    use MaxTokensField::*;
    use ModelFamily::*;
    use ServerKind::*;
    assert_eq!(
        [
            max_tokens_field(OpenAi, Classic),
            max_tokens_field(OpenAi, Reasoning),
            max_tokens_field(Compatible, Reasoning),
            max_tokens_field(Compatible, Classic),
        ],
        [
            MaxCompletionTokens,
            MaxCompletionTokens,
            MaxCompletionTokens,
            MaxTokens
        ]
    );
}

#[test]
fn an_o_series_body_has_max_completion_tokens_and_no_temperature() {
    assert_eq!(
        body_at("http://127.0.0.1:8080/v1", &ask("o3-mini", Some(0.7))),
        PreparedBody {
            json: json!({"model":"o3-mini","messages":[{"role":"user","content":"hi"}],
                "max_completion_tokens":64,"stream":true,
                "stream_options":{"include_usage":true}}),
            notices: vec!["temperature 0.7 not sent: o3-mini accepts only its default".into()],
        }
    );
}

#[test]
fn a_gpt_5_body_has_max_completion_tokens_and_no_temperature() {
    assert_eq!(
        body_at(
            "https://api.openai.com/v1",
            &ask("gpt-5.6-terra", Some(0.2))
        ),
        PreparedBody {
            json: json!({"model":"gpt-5.6-terra","messages":[{"role":"user","content":"hi"}],
                "max_completion_tokens":64,"stream":true,
                "stream_options":{"include_usage":true}}),
            notices: vec![
                "temperature 0.2 not sent: gpt-5.6-terra accepts only its default".into()
            ],
        }
    );
    // The default itself is left out without a word; no temperature, no notice.
    for temperature in [Some(1.0), None] {
        assert_eq!(
            body_at("https://api.openai.com/v1", &ask("gpt-5", temperature)).notices,
            Vec::<String>::new()
        );
    }
}

#[test]
fn a_local_model_body_is_unchanged_max_tokens_and_temperature() {
    assert_eq!(
        body_at("http://127.0.0.1:8080/v1", &ask("llama-3.1-8b", Some(0.7))),
        PreparedBody {
            json: json!({"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi"}],
                "max_tokens":64,"stream":true,"stream_options":{"include_usage":true},
                "temperature":0.7f32}),
            notices: vec![],
        }
    );
    // A classic model on OpenAI itself keeps its temperature under the new field name.
    assert_eq!(
        body_at("https://api.openai.com/v1", &ask("gpt-4.1-mini", Some(0.7))).json,
        json!({"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],
            "max_completion_tokens":64,"stream":true,"stream_options":{"include_usage":true},
            "temperature":0.7f32})
    );
}

#[test]
fn the_configured_field_replaces_the_rule_but_not_the_temperature_rule() {
    let endpoint = |base_url: &str| Endpoint {
        base_url: base_url.into(),
        api_key: None,
        timeouts: crate::llm::Timeouts::default(),
    };
    let provider = OpenAiProvider::new(endpoint("https://api.openai.com/v1"))
        .unwrap()
        .with_max_tokens_field(Some(MaxTokensField::MaxTokens));
    assert_eq!(
        (provider.server, provider.max_tokens_field),
        (ServerKind::OpenAi, Some(MaxTokensField::MaxTokens))
    );
    assert_eq!(
        request_body(&ask("gpt-5.6-terra", Some(0.7)), MaxTokensField::MaxTokens),
        PreparedBody {
            json: json!({"model":"gpt-5.6-terra","messages":[{"role":"user","content":"hi"}],
                "max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}),
            notices: vec![
                "temperature 0.7 not sent: gpt-5.6-terra accepts only its default".into()
            ],
        }
    );
    let local = OpenAiProvider::new(endpoint("http://127.0.0.1:8080/v1")).unwrap();
    assert_eq!(
        (local.server, local.max_tokens_field),
        (ServerKind::Compatible, None)
    );
}
