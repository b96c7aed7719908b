//! Writes read back: conversations, messages and request attempts round-trip, later
//! writes keep what earlier ones recorded, and missing rows are errors.

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;

use super::test_support::*;
use super::*;
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::{Role, Usage};

#[test]
fn conversation_and_messages_round_trip() {
    let mut s = store();
    let c = conversation(&mut s);
    let user = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::User,
            content: "Summarize this".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("user message");
    let req = s.insert_request(&record(Some(c), Some(user))).expect("req");
    let reply = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::Assistant,
            content: String::new(),
            state: MessageState::Streaming,
            request_id: Some(req),
        })
        .expect("reply");
    s.checkpoint_message(reply, "Part", MessageState::Streaming)
        .expect("checkpoint");
    s.checkpoint_message(reply, "Part one.", MessageState::Complete)
        .expect("final");
    s.finish_request(req, &ok_outcome()).expect("finish");

    let loaded = s.load_conversation(c).expect("load");
    assert_eq!(
        loaded.conversation,
        ConversationRow {
            id: c,
            created_at_ms: fixed_clock(),
            updated_at_ms: fixed_clock(),
            title: Some("hello".into()),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            prompt: Some(prompt()),
        }
    );
    let seqs: Vec<(i64, Role, &str, MessageState)> = loaded
        .messages
        .iter()
        .map(|m| {
            (
                m.message.seq,
                m.message.role,
                m.message.content.as_str(),
                m.message.state,
            )
        })
        .collect();
    assert_eq!(
        seqs,
        vec![
            (1, Role::User, "Summarize this", MessageState::Complete),
            (2, Role::Assistant, "Part one.", MessageState::Complete),
        ]
    );
    let row = loaded.messages[1]
        .request
        .as_ref()
        .expect("reply's request");
    assert_eq!(row.id, req);
    assert_eq!(row.message_id, Some(user));
    assert_eq!(row.status, RequestStatus::Ok);
    assert_eq!(row.usage(), ok_outcome().usage);
    assert_eq!(row.gen_ai_response_finish_reasons, vec!["end_turn"]);
    assert_eq!(row.model(), "claude-sonnet-4-5-20250929");
    assert!((row.cost_usd.expect("cost") - 0.02325).abs() < 1e-9);
    assert_eq!(row.cost(), CostView::Known(row.cost_usd.expect("cost")));
    assert_eq!(
        row.request_params,
        Some(RequestParams {
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: Some(0.5),
            variables: Default::default(),
        })
    );
    assert_eq!(row.gen_ai_request_max_tokens, Some(1024));
    assert_eq!(row.prompt, Some(prompt()));
    assert_eq!(row.retry_count, 0);
    // Only rate-limit headers were kept: never an authorization header or a key.
    let expected: BTreeMap<String, String> = [
        ("anthropic-ratelimit-requests-remaining", "49"),
        ("retry-after", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(row.ratelimit_headers.0, expected);
    assert_eq!(s.request(req).expect("by id"), *row);
}

#[test]
fn response_start_is_kept_when_the_outcome_lacks_it() {
    let mut s = store();
    let req = s.insert_request(&record(None, None)).expect("req");
    s.record_response_start(
        req,
        &ResponseStart {
            response_model: Some("claude-sonnet-4-5-20250929".into()),
            response_id: Some("msg_9".into()),
            provider_request_id: Some("req_9".into()),
            time_to_first_chunk_ms: Some(120),
            ratelimit_headers: RateLimitHeaders::from_headers([(
                "x-ratelimit-remaining-tokens",
                "900",
            )]),
        },
    )
    .expect("start");
    let error = crate::llm::LlmError::Connection {
        message: "reset by peer".into(),
    };
    s.finish_request(
        req,
        &RequestOutcome {
            status: RequestStatus::Error,
            response_model: None,
            response_id: None,
            provider_request_id: None,
            usage: Usage::default(),
            finish_reasons: Vec::new(),
            time_to_first_chunk_ms: None,
            duration_ms: Some(2_000),
            cost: CostView::NotReported,
            cost_source: None,
            output_estimated: false,
            error: Some(ErrorInfo::from(&error)),
            ratelimit_headers: RateLimitHeaders::default(),
        },
    )
    .expect("finish");
    let row = s.request(req).expect("row");
    assert_eq!(row.gen_ai_response_id.as_deref(), Some("msg_9"));
    assert_eq!(row.provider_request_id.as_deref(), Some("req_9"));
    assert_eq!(row.time_to_first_chunk_ms, Some(120));
    assert_eq!(row.error_type.as_deref(), Some("connection"));
    assert_eq!(
        row.error_message.as_deref(),
        Some("connection failed: reset by peer")
    );
    assert_eq!(row.cost_usd, None);
    assert_eq!(row.cost(), CostView::NotReported);
    assert_eq!(row.ratelimit_headers.0.len(), 1);
}

#[test]
fn unknown_price_is_stored_as_null_not_zero() {
    let mut s = store();
    let req = s.insert_request(&record(None, None)).expect("req");
    let mut outcome = ok_outcome();
    outcome.cost = CostView::of(&PriceTable::builtin(), "my-local-model", &outcome.usage);
    s.finish_request(req, &outcome).expect("finish");
    let null_cost: Option<f64> = s
        .connection()
        .query_row(
            "SELECT cost_usd FROM requests WHERE id = ?1",
            [req.0],
            |r| r.get(0),
        )
        .expect("select");
    assert_eq!(null_cost, None);
    assert_eq!(
        s.request(req).expect("row").cost().to_string(),
        "price unknown"
    );
}

#[test]
fn checkpointing_a_missing_message_is_an_error() {
    let mut s = store();
    match s.checkpoint_message(MessageId(42), "x", MessageState::Complete) {
        Err(StoreError::NotFound {
            what: "message",
            id: 42,
        }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
