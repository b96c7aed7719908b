//! Failures: HTTP error statuses and bodies, rate-limit hints, streams that break, stall
//! or lie, and connections that close.

use pretty_assertions::assert_eq;

use super::*;

async fn anthropic_error(response: MockResponse) -> Events {
    let server = MockServer::start().await;
    server.push(response);
    run(&anthropic(&server)).await
}

fn anthropic_error_body(kind: &str, message: &str) -> serde_json::Value {
    json!({"type":"error","error":{"type":kind,"message":message}})
}

#[tokio::test]
async fn http_error_statuses_map_to_error_classes() {
    let cases: Vec<(u16, &str, LlmError)> = vec![
        (
            401,
            "authentication_error",
            LlmError::Auth {
                status: 401,
                message: "invalid x-api-key".into(),
            },
        ),
        (
            403,
            "permission_error",
            LlmError::Auth {
                status: 403,
                message: "invalid x-api-key".into(),
            },
        ),
        (
            400,
            "invalid_request_error",
            LlmError::BadRequest {
                status: 400,
                message: "invalid x-api-key".into(),
            },
        ),
        (
            // A 404 on the chat endpoint names the model; this mock lists no models.
            404,
            "not_found_error",
            LlmError::ModelNotFound {
                model: "test-model".into(),
                message: "invalid x-api-key".into(),
                available: Vec::new(),
            },
        ),
        (
            413,
            "request_too_large",
            LlmError::TooLarge {
                message: "invalid x-api-key".into(),
            },
        ),
        (
            500,
            "api_error",
            LlmError::Server {
                status: 500,
                message: "invalid x-api-key".into(),
            },
        ),
        (
            529,
            "overloaded_error",
            LlmError::Overloaded {
                status: 529,
                message: "invalid x-api-key".into(),
            },
        ),
    ];
    for (status, kind, expected) in cases {
        let events = anthropic_error(MockResponse::error(
            status,
            anthropic_error_body(kind, "invalid x-api-key"),
        ))
        .await;
        assert_eq!(events, vec![Err(expected)], "status {status}");
    }
}

#[tokio::test]
async fn openai_shaped_error_bodies_are_understood() {
    let server = MockServer::start().await;
    server.push(MockResponse::error(
        401,
        json!({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error",
                        "code":"invalid_api_key","param":null}}),
    ));
    server.push(MockResponse::error(
        404,
        json!({"error":{"message":"The model `nope` does not exist","type":"invalid_request_error"}}),
    ));
    assert_eq!(
        run(&openai(&server)).await,
        vec![Err(LlmError::Auth {
            status: 401,
            message: "Incorrect API key provided.".into()
        })]
    );
    assert_eq!(
        run(&openai(&server)).await,
        vec![Err(LlmError::ModelNotFound {
            model: "test-model".into(),
            message: "The model `nope` does not exist".into(),
            available: Vec::new(),
        })]
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_in_seconds_ms_or_http_date() {
    let body = anthropic_error_body("rate_limit_error", "slow down");
    let events =
        anthropic_error(MockResponse::error(429, body.clone()).header("retry-after", "7")).await;
    assert_eq!(
        events,
        vec![Err(LlmError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(7)),
        })]
    );

    let events =
        anthropic_error(MockResponse::error(429, body.clone()).header("retry-after-ms", "1500"))
            .await;
    assert_eq!(
        events,
        vec![Err(LlmError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(1500)),
        })]
    );

    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let events = anthropic_error(MockResponse::error(429, body).header("retry-after", &date)).await;
    match events.as_slice() {
        [
            Err(LlmError::RateLimited {
                retry_after: Some(after),
                ..
            }),
        ] => assert!(
            *after > Duration::from_secs(3000) && *after <= Duration::from_secs(3600),
            "{after:?}"
        ),
        other => panic!("expected a rate limit with a retry delay, got {other:?}"),
    }
}

#[tokio::test]
async fn error_messages_are_sanitized_and_never_contain_the_key() {
    let message = format!("\u{1b}[31mbad key\u{1b}[0m {KEY}\nsecond line\u{7}");
    let events = anthropic_error(MockResponse::error(
        401,
        anthropic_error_body("authentication_error", &message),
    ))
    .await;
    assert_eq!(
        events,
        vec![Err(LlmError::Auth {
            status: 401,
            message: "bad key [redacted] second line".into()
        })]
    );
    let shown = events[0].as_ref().unwrap_err().to_string();
    assert!(!shown.contains(KEY), "{shown}");
    // A key echoed where the message is shortened must not leak its first half either.
    let message = format!("{} {KEY}", "x".repeat(290));
    let events = anthropic_error(MockResponse::error(
        401,
        anthropic_error_body("authentication_error", &message),
    ))
    .await;
    let shown = events[0].as_ref().unwrap_err().to_string();
    let half = &KEY[..KEY.len() / 2];
    assert!(!shown.contains(half), "{shown}");
}

#[tokio::test]
async fn non_json_error_bodies_fall_back_to_shortened_text() {
    let long = format!("<html><body>{}</body></html>", "Bad gateway. ".repeat(100));
    let events = anthropic_error(MockResponse {
        status: 502,
        headers: vec![("content-type".into(), "text/html".into())],
        headers_delay: Duration::ZERO,
        body: vec![Step::Chunk(Bytes::from(long))],
    })
    .await;
    match events.as_slice() {
        [
            Err(LlmError::Server {
                status: 502,
                message,
            }),
        ] => {
            assert!(message.starts_with("<html><body>Bad gateway."), "{message}");
            assert!(message.chars().count() <= 301, "{message}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- stream failures

#[tokio::test]
async fn an_error_event_after_text_comes_after_the_text() {
    let server = MockServer::start().await;
    let body = mock::anthropic::message_start("claude-test", "msg_e", 2)
        + &mock::anthropic::event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"text","text":""}}))
        + &mock::anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":"partial"}}))
        + &mock::anthropic::event(json!({"type":"error",
            "error":{"type":"api_error","message":"Internal server error"}}));
    server.push(MockResponse::sse(body.clone()));
    let overloaded = body.replace("api_error", "overloaded_error");
    server.push(MockResponse::sse(overloaded));
    let events = run(&anthropic(&server)).await;
    assert_eq!(
        events[2..],
        [
            delta("partial"),
            Err(LlmError::Stream {
                kind: "api_error".into(),
                message: "Internal server error".into()
            }),
        ]
    );
    let events = run(&anthropic(&server)).await;
    assert_eq!(
        events.last(),
        Some(&Err(LlmError::Overloaded {
            status: 529,
            message: "Internal server error".into()
        }))
    );
}

#[tokio::test]
async fn an_openai_error_object_in_the_stream_is_a_stream_error() {
    let server = MockServer::start().await;
    let body = mock::openai::delta(json!({"content":"so far"}))
        + &mock::sse_event(
            None,
            &json!({"error":{"message":"model crashed","type":"server_error"}}).to_string(),
        );
    server.push(MockResponse::sse(body));
    let events = run(&openai(&server)).await;
    assert_eq!(
        events,
        vec![
            started("gpt-test", "chatcmpl-test", None),
            delta("so far"),
            Err(LlmError::Stream {
                kind: "server_error".into(),
                message: "model crashed".into()
            }),
        ]
    );
}

#[tokio::test]
async fn a_dropped_connection_mid_stream_keeps_the_partial_text_then_fails() {
    let server = MockServer::start().await;
    let head = mock::anthropic::message_start("claude-test", "msg_d", 2)
        + &mock::anthropic::event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"text","text":""}}))
        + &mock::anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":"half a"}}));
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(head)),
        Step::Chunk(Bytes::from_static(
            b"event: content_block_delta\ndata: {\"ty",
        )),
        // Let the server flush what it has before it breaks the connection.
        Step::Sleep(Duration::from_millis(100)),
        Step::Abort,
    ]));
    let events = run(&anthropic(&server)).await;
    assert_eq!(text(&events), "half a");
    assert!(
        matches!(
            events.last(),
            Some(Err(LlmError::Connection { .. } | LlmError::Interrupted))
        ),
        "{events:?}"
    );
    assert_eq!(events.iter().filter(|e| e.is_err()).count(), 1);
}

#[tokio::test]
async fn a_clean_eof_without_the_end_marker_is_an_interruption() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(
        mock::anthropic::message_start("claude-test", "msg_i", 2)
            + &mock::anthropic::text_block(0, &["cut"]),
    ));
    server.push(MockResponse::sse(mock::openai::delta(
        json!({"content":"cut"}),
    )));
    let a = run(&anthropic(&server)).await;
    assert_eq!(text(&a), "cut");
    assert_eq!(a.last(), Some(&Err(LlmError::Interrupted)));
    let o = run(&openai(&server)).await;
    assert_eq!(text(&o), "cut");
    assert_eq!(o.last(), Some(&Err(LlmError::Interrupted)));
}

#[tokio::test]
async fn a_stalled_stream_times_out_after_the_idle_read_timeout() {
    let server = MockServer::start().await;
    let head = mock::anthropic::message_start("claude-test", "msg_s", 2)
        + &mock::anthropic::event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"text","text":""}}))
        + &mock::anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":"waiting"}}));
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(head)),
        Step::Hang,
    ]));
    let t = Timeouts {
        idle_read: Duration::from_millis(300),
        ..timeouts()
    };
    let events = run(&anthropic_at(&server, t)).await;
    assert_eq!(
        events[2..],
        [
            delta("waiting"),
            Err(LlmError::Stalled {
                after: Duration::from_millis(300)
            }),
        ]
    );
}

#[tokio::test]
async fn slow_response_headers_time_out() {
    let server = MockServer::start().await;
    server.push(
        MockResponse::sse(mock::anthropic::reply(&["late"], 1, 1))
            .delay_headers(Duration::from_secs(5)),
    );
    let t = Timeouts {
        response_headers: Duration::from_millis(200),
        ..timeouts()
    };
    assert_eq!(
        run(&anthropic_at(&server, t)).await,
        vec![Err(LlmError::Stalled {
            after: Duration::from_millis(200)
        })]
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let provider = OpenAiProvider::new(Endpoint {
        base_url: format!("http://{addr}/v1"),
        api_key: ApiKey::new(KEY),
        timeouts: timeouts(),
    })
    .unwrap();
    let events = run(&provider).await;
    match events.as_slice() {
        [Err(LlmError::Connection { message })] => {
            assert!(message.starts_with("could not connect"), "{message}");
            assert!(!message.contains(KEY), "{message}");
        }
        other => panic!("expected one connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_in_a_data_line_is_a_protocol_error() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(
        mock::anthropic::message_start("claude-test", "msg_m", 2)
            + "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", oops}\n\n"
            + &mock::anthropic::message_stop(),
    ));
    server.push(MockResponse::sse(
        mock::openai::delta(json!({"content":"a"})) + "data: {not json at all\n\n",
    ));
    let a = run(&anthropic(&server)).await;
    assert_eq!(a.len(), 3, "{a:?}");
    assert!(
        matches!(a.last(), Some(Err(LlmError::Protocol { .. }))),
        "{a:?}"
    );
    let o = run(&openai(&server)).await;
    assert_eq!(o.len(), 3, "{o:?}");
    assert!(
        matches!(o.last(), Some(Err(LlmError::Protocol { .. }))),
        "{o:?}"
    );
}

#[tokio::test]
async fn a_json_reply_to_a_streaming_request_is_reported() {
    let server = MockServer::start().await;
    server.push(MockResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        headers_delay: Duration::ZERO,
        body: vec![Step::Chunk(Bytes::from_static(
            b"{\"id\":\"x\",\"choices\":[]}",
        ))],
    });
    let events = run(&openai(&server)).await;
    assert!(
        matches!(events.as_slice(), [Err(LlmError::Protocol { .. })]),
        "{events:?}"
    );
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(mock::anthropic::message_start(
            "claude-test",
            "msg_c",
            2,
        ))),
        Step::Hang,
    ]));
    let provider = anthropic(&server);
    let mut stream = provider.stream(request());
    let first = stream.next().await;
    assert!(matches!(first, Some(Ok(StreamEvent::Started { .. }))));
    assert_eq!(server.open_bodies(), 1);
    drop(stream);
    // The server notices the closed connection and drops the body; wait for that (bounded).
    for _ in 0..250 {
        if server.open_bodies() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.open_bodies(), 0, "the HTTP request was not aborted");
}

#[tokio::test]
async fn rate_limit_headers_arrive_first_as_one_event() {
    let server = MockServer::start().await;
    server.push(
        MockResponse::sse(mock::anthropic::reply(&["ok"], 3, 1))
            .header("anthropic-ratelimit-requests-limit", "50")
            .header("anthropic-ratelimit-requests-remaining", "49")
            .header("anthropic-ratelimit-requests-reset", "2026-11-27T00:20:00Z")
            .header("anthropic-ratelimit-tokens-remaining", "9000"),
    );
    let events = run(&anthropic(&server)).await;
    assert_eq!(
        events.first(),
        Some(&Ok(StreamEvent::RateLimits(vec![
            ("anthropic-ratelimit-requests-limit".into(), "50".into()),
            ("anthropic-ratelimit-requests-remaining".into(), "49".into()),
            (
                "anthropic-ratelimit-requests-reset".into(),
                "2026-11-27T00:20:00Z".into()
            ),
            ("anthropic-ratelimit-tokens-remaining".into(), "9000".into()),
        ])))
    );
    assert_eq!(text(&events), "ok");
}

/// A hostile server sending one endless line: the reply keeps its text so far and fails with
/// "line too long" instead of taking the memory with it.
#[tokio::test]
async fn a_line_over_the_limit_fails_the_reply_after_its_text() {
    let server = MockServer::start().await;
    let head = mock::anthropic::message_start("claude-test", "msg_l", 2)
        + &mock::anthropic::event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"text","text":""}}))
        + &mock::anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":"so far"}}));
    let mut steps = vec![
        Step::Chunk(Bytes::from(head)),
        Step::Chunk(Bytes::from_static(b"data: ")),
    ];
    let mib = Bytes::from(vec![b'z'; 1024 * 1024]);
    steps.extend((0..9).map(|_| Step::Chunk(mib.clone())));
    steps.push(Step::Hang);
    server.push(MockResponse::sse_steps(steps));
    let events = run(&anthropic(&server)).await;
    assert_eq!(text(&events), "so far");
    match events.last() {
        Some(Err(LlmError::Protocol { message })) => {
            assert!(message.contains("line too long"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// A server that keeps the connection alive with pings and comments but sends no content
/// stalls all the same: the idle timeout counts time without content, and the text so far is
/// kept.
#[tokio::test]
async fn pings_without_content_still_stall_after_the_idle_read_timeout() {
    let server = MockServer::start().await;
    let head = mock::anthropic::message_start("claude-test", "msg_p", 2)
        + &mock::anthropic::event(json!({"type":"content_block_start","index":0,
            "content_block":{"type":"text","text":""}}))
        + &mock::anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":"kept"}}));
    let mut steps = vec![Step::Chunk(Bytes::from(head))];
    for _ in 0..100 {
        steps.push(Step::Sleep(Duration::from_millis(100)));
        steps.push(Step::Chunk(Bytes::from_static(
            b"event: ping\ndata: {\"type\": \"ping\"}\n\n: keep-alive\n\n",
        )));
    }
    server.push(MockResponse::sse_steps(steps));
    let t = Timeouts {
        idle_read: Duration::from_millis(600),
        ..timeouts()
    };
    let started = std::time::Instant::now();
    let events = run(&anthropic_at(&server, t)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stalled after about 0.6 s of pings, not after the 10 s of them: {:?}",
        started.elapsed()
    );
    assert_eq!(text(&events), "kept");
    assert_eq!(
        events.last(),
        Some(&Err(LlmError::Stalled {
            after: Duration::from_millis(600)
        }))
    );
}
