use std::time::SystemTime;

use pretty_assertions::assert_eq;

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn clean_server_text_strips_escapes_and_controls_and_keeps_one_line() {
    assert_eq!(
        clean_server_text("\u{1b}[31mred\u{1b}[0m\n\tnext\u{7} \u{1b}]0;title\u{7}x\u{9b}y"),
        "red next xy"
    );
    assert_eq!(
        clean_server_text("a\u{1b}]8;;http://e\u{1b}\\b\u{202e}c"),
        "abc"
    );
    assert_eq!(
        clean_server_text("  \r\n lead  and   trail \n"),
        "lead and trail"
    );
}

#[test]
fn clean_server_text_caps_length() {
    let long = "é".repeat(1000);
    let cleaned = clean_server_text(&long);
    assert_eq!(cleaned.chars().count(), SERVER_TEXT_MAX_CHARS + 1);
    assert!(cleaned.ends_with('…'));
}

#[test]
fn maps_statuses_and_extracts_messages() {
    let anthropic = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"}}"#;
    let openai = br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}"#;
    let none = reqwest::header::HeaderMap::new();
    let now = SystemTime::UNIX_EPOCH;
    assert_eq!(
        error_from_response_at(400, &none, anthropic, now),
        LlmError::BadRequest {
            status: 400,
            message: "max_tokens: too big".into()
        }
    );
    assert_eq!(
        error_from_response_at(401, &none, openai, now),
        LlmError::Auth {
            status: 401,
            message: "Incorrect API key".into()
        }
    );
    assert_eq!(
        error_from_response_at(500, &none, b"<html>\n<b>oops</b>\n</html>", now),
        LlmError::Server {
            status: 500,
            message: "<html> <b>oops</b> </html>".into()
        }
    );
    assert_eq!(
        error_from_response_at(503, &none, b"", now),
        LlmError::Server {
            status: 503,
            message: "Service Unavailable".into()
        }
    );
    assert_eq!(
        error_from_response_at(409, &none, b"conflict", now),
        LlmError::BadRequest {
            status: 409,
            message: "conflict".into()
        }
    );
    assert_eq!(
        error_from_response_at(
            500,
            &none,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            now
        ),
        LlmError::Overloaded {
            status: 500,
            message: "Overloaded".into()
        }
    );
    assert_eq!(
        error_from_response_at(302, &none, b"", now).kind(),
        "protocol"
    );
}

#[test]
fn retry_after_reads_ms_seconds_and_http_dates() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    assert_eq!(
        retry_after(&headers(&[("retry-after-ms", "1500")]), now),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after-ms", "250"), ("retry-after", "7")]),
            now
        ),
        Some(Duration::from_millis(250))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", "7")]), now),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]),
            now
        ),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]),
            now
        ),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
    assert_eq!(
        retry_after(&headers(&[("retry-after-ms", "-5")]), now),
        None
    );
}

#[test]
fn stream_errors_map_overload_and_rate_limits() {
    assert_eq!(
        stream_error(Some("overloaded_error"), "Overloaded"),
        LlmError::Overloaded {
            status: 529,
            message: "Overloaded".into()
        }
    );
    assert_eq!(
        stream_error(Some("rate_limit_error"), "slow down").kind(),
        "rate_limited"
    );
    assert_eq!(
        stream_error(Some("api_error"), "boom\u{1b}[2J"),
        LlmError::Stream {
            kind: "api_error".into(),
            message: "boom".into()
        }
    );
}

#[test]
fn x_should_retry_wraps_the_mapped_error_and_nothing_else_changes() {
    let overloaded =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let inner = LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    };
    assert_eq!(
        error_from_response(529, &headers(&[("x-should-retry", "false")]), overloaded),
        LlmError::ServerRetryHint {
            should_retry: false,
            error: Box::new(inner.clone()),
        }
    );
    assert_eq!(
        error_from_response(529, &headers(&[("x-should-retry", " TRUE ")]), overloaded),
        inner.clone().with_retry_hint(Some(true))
    );
    for no_hint in [&[][..], &[("x-should-retry", "maybe")][..]] {
        assert_eq!(
            error_from_response(529, &headers(no_hint), overloaded),
            inner,
            "{no_hint:?}"
        );
    }
}

#[test]
fn a_retry_hint_reads_and_classifies_as_the_error_it_wraps() {
    let limited = LlmError::RateLimited {
        message: "slow down sk-secret".into(),
        retry_after: Some(Duration::from_secs(3)),
    };
    let hinted = limited.clone().with_retry_hint(Some(false));
    assert_eq!(
        (
            hinted.to_string(),
            hinted.kind(),
            hinted.class(),
            hinted.retry_after(),
            hinted.without_hint()
        ),
        (
            limited.to_string(),
            limited.kind(),
            limited.class(),
            limited.retry_after(),
            &limited
        )
    );
    assert_eq!(
        hinted.redact("sk-secret"),
        limited.redact("sk-secret").with_retry_hint(Some(false))
    );
}

#[test]
fn redact_removes_the_key_from_messages() {
    let e = LlmError::Auth {
        status: 401,
        message: "bad key sk-secret-123".into(),
    };
    assert_eq!(
        e.redact("sk-secret-123"),
        LlmError::Auth {
            status: 401,
            message: "bad key [redacted]".into()
        }
    );
}

#[test]
fn a_key_too_short_to_be_a_secret_garbles_nothing_and_redaction_happens_once() {
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#;
    assert_eq!(
        redact_secret(body, "e"),
        body,
        "a one-letter key is not redacted"
    );
    let key = "sk-ant-0123456789";
    let once = redact_secret(&format!("key {key} rejected"), key);
    assert_eq!(once, "key [redacted] rejected");
    assert_eq!(
        redact_secret(&once, key),
        once,
        "a second pass changes nothing"
    );
    let e = LlmError::Auth {
        status: 401,
        message: "the type of the request".into(),
    };
    assert_eq!(e.clone().redact("e"), e);
}
