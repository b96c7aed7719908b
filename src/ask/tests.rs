//! `ask` as a sink of the one request path: what it prints, what it stores, how it exits.

use std::time::Duration;

use pretty_assertions::assert_eq;

use std::sync::Arc;

use super::*;
use crate::limit::{LimitConfig, LimitSetting, Limiter, RateLimit};
use crate::llm::Role;
use crate::llm::pricing::CostView;
use crate::request::scripted::{self, Scripted, answer};
use crate::store::{
    ConversationId, MessageState, RequestFilter, RequestStatus, Store, StoreHandle, StoreWriter,
};

fn spec() -> RequestSpec {
    scripted::spec("question")
}

fn pump(provider: Arc<Scripted>, limiter: Limiter, store: Option<StoreHandle>) -> Pump {
    scripted::pump(provider, Some(limiter), store)
}

fn limiter(requests: LimitSetting) -> Limiter {
    Limiter::memory(LimitConfig {
        requests,
        ..LimitConfig::default()
    })
}

async fn ask(pump: &Pump) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(pump, spec(), OutputMode::Text, &mut out, &mut err).await;
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (code, text(out), text(err))
}

#[tokio::test]
async fn a_refusal_before_a_retry_sends_nothing_more_and_exits_10() {
    let writer = StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
    let overloaded = LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    };
    let provider = Scripted::new(vec![vec![Err(overloaded)], answer("never")]);
    let one_per_minute = limiter(LimitSetting::Limit(RateLimit {
        max_requests: 1,
        window: Duration::from_secs(60),
    }));
    let pump = pump(Arc::clone(&provider), one_per_minute, Some(writer.handle()));
    let (code, out, err) = ask(&pump).await;
    assert_eq!(code, exit::LOCAL_LIMIT, "{err}");
    assert_eq!(out, "");
    assert_eq!(provider.left(), 1, "the retry was not sent");
    assert!(
        err.contains("rate limit 1/1m reached — next slot in"),
        "{err}"
    );
    assert!(
        err.contains("the local limit stopped the retries after 1 attempt; your message is saved in conversation 1"),
        "{err}"
    );
    let store = writer.handle();
    let rows = store
        .recent_requests(RequestFilter::default())
        .wait()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, RequestStatus::Error);
    assert_eq!(rows[0].error_type.as_deref(), Some("overloaded"));
    let conversation = store
        .load_conversation(ConversationId(1))
        .wait()
        .await
        .unwrap();
    let states: Vec<(Role, MessageState)> = conversation
        .messages
        .iter()
        .map(|m| (m.message.role, m.message.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (Role::User, MessageState::Complete),
            (Role::Assistant, MessageState::Failed)
        ]
    );
}

#[tokio::test]
async fn a_notice_goes_to_stderr_once_and_into_the_json_notices() {
    let notice = || {
        Ok(StreamEvent::Notice(
            "temperature 0.7 not sent\u{1b}[2J".into(),
        ))
    };
    let overloaded = LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    };
    let mut second = vec![notice()];
    second.extend(answer("fine"));
    let provider = Scripted::new(vec![vec![notice(), Err(overloaded)], second]);
    let pump = pump(provider, limiter(LimitSetting::Off), None);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&pump, spec(), OutputMode::Json, &mut out, &mut err).await;
    let err = String::from_utf8(err).unwrap();
    assert_eq!(code, exit::OK, "{err}");
    assert_eq!(
        err.matches("promptdeck: note: temperature 0.7 not sent\n")
            .count(),
        1,
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (&json["notices"], &json["text"], &json["attempts"]),
        (
            &serde_json::json!(["temperature 0.7 not sent"]),
            &serde_json::json!("fine"),
            &serde_json::json!(2)
        )
    );
}

#[test]
fn a_server_retry_hint_exits_as_the_error_it_wraps() {
    let overloaded = LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    };
    let limited = LlmError::RateLimited {
        message: "slow".into(),
        retry_after: None,
    };
    assert_eq!(
        [
            exit_status(Some(&overloaded.with_retry_hint(Some(false)))),
            exit_status(Some(&limited.with_retry_hint(Some(true)))),
        ],
        [exit::PROVIDER, exit::RATE_LIMITED]
    );
}

#[tokio::test]
async fn without_a_database_the_reply_is_still_printed() {
    let provider = Scripted::new(vec![answer("still here")]);
    let (code, out, err) = ask(&pump(provider, limiter(LimitSetting::Off), None)).await;
    assert_eq!((code, out.as_str()), (exit::OK, "still here\n"), "{err}");
}

#[tokio::test]
async fn a_reply_is_stored_complete_with_its_cost() {
    let writer = StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
    let provider = Scripted::new(vec![answer("done")]);
    let pump = pump(provider, limiter(LimitSetting::Off), Some(writer.handle()));
    let (code, _, err) = ask(&pump).await;
    assert_eq!(code, exit::OK, "{err}");
    let store = writer.handle();
    let conversation = store
        .load_conversation(ConversationId(1))
        .wait()
        .await
        .unwrap();
    assert_eq!(conversation.conversation.title.as_deref(), Some("question"));
    let reply = &conversation.messages[1];
    assert_eq!(
        (reply.message.content.as_str(), reply.message.state),
        ("done", MessageState::Complete)
    );
    let request = reply.request.as_ref().expect("the reply's request");
    assert_eq!(request.status, RequestStatus::Ok);
    assert_eq!(request.gen_ai_response_finish_reasons, vec!["end_turn"]);
    // 3 x $3 + 2 x $15 per million tokens.
    assert_eq!(request.cost(), CostView::Known(0.000_039));
}
