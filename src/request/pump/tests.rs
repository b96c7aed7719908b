//! The pump against an in-memory database and a scripted provider.

use std::time::Duration;

use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use tokio::sync::oneshot;

use super::*;
use crate::limit::{LimitConfig, LimitSetting, RateLimit};
use crate::llm::retry::Next;
use crate::llm::{ChatRequest, EventStream, StreamEvent, Usage};
use crate::request::scripted::{Scripted, answer, pump, spec};
use crate::store::{
    ConversationWithMessages, RequestFilter, RequestRow, RequestStatus, Store, StoreWriter,
};

fn writer() -> StoreWriter {
    StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap()
}

fn limiter(requests: LimitSetting) -> Limiter {
    Limiter::memory(LimitConfig {
        requests,
        ..LimitConfig::default()
    })
}

fn per_minute(n: u32) -> Limiter {
    limiter(LimitSetting::Limit(RateLimit {
        max_requests: n,
        window: Duration::from_secs(60),
    }))
}

fn overloaded() -> LlmError {
    LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    }
}

async fn conversation(store: &StoreHandle, id: ConversationId) -> ConversationWithMessages {
    store.load_conversation(id).wait().await.unwrap()
}

async fn rows(store: &StoreHandle) -> Vec<RequestRow> {
    let mut rows = store
        .recent_requests(RequestFilter::default())
        .wait()
        .await
        .unwrap();
    rows.reverse();
    rows
}

/// Role, text and state of each stored message.
type Stored = Vec<(Role, String, MessageState)>;

fn messages(c: &ConversationWithMessages) -> Stored {
    c.messages
        .iter()
        .map(|m| (m.message.role, m.message.content.clone(), m.message.state))
        .collect()
}

/// Runs `spec` to the end, collecting what the sink got.
async fn run(pump: &Pump, spec: RequestSpec) -> (Outcome, Vec<PumpEvent>) {
    let mut events = Vec::new();
    let outcome = pump
        .run(spec, |e| events.push(e), std::future::pending())
        .await;
    (outcome, events)
}

/// Answers like [`Scripted`], but first reads conversation 1 as it is when the request is
/// sent.
struct Peeking {
    store: StoreHandle,
    seen: Arc<Mutex<Option<Stored>>>,
}

impl Provider for Peeking {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn stream(&self, _request: ChatRequest) -> EventStream {
        let store = self.store.clone();
        let seen = Arc::clone(&self.seen);
        let peek = async move {
            let c = store.load_conversation(ConversationId(1)).wait().await;
            *seen.lock().unwrap() = Some(c.map(|c| messages(&c)).unwrap_or_default());
            futures_util::stream::iter(answer("hi"))
        };
        Box::pin(futures_util::stream::once(peek).flatten())
    }
}

#[tokio::test]
async fn the_user_message_is_stored_before_the_provider_is_called() {
    let writer = writer();
    let seen = Arc::default();
    let provider = Arc::new(Peeking {
        store: writer.handle(),
        seen: Arc::clone(&seen),
    });
    let pump = pump(provider, None, Some(writer.handle()));
    let mut first = spec("\n  first line  \nsecond");
    first.user_text = Some("\n  first line  \nsecond".into());
    let (outcome, events) = run(&pump, first).await;
    assert_eq!(outcome.end, End::Finished(StopReason::EndTurn));
    assert_eq!(outcome.conversation, Some(ConversationId(1)));
    let stored_at = events
        .iter()
        .position(|e| matches!(e, PumpEvent::Stored { .. }))
        .unwrap();
    let first_progress = events
        .iter()
        .position(|e| matches!(e, PumpEvent::Progress(_)))
        .unwrap();
    assert!(stored_at < first_progress, "{events:?}");
    let seen = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        seen[0],
        (
            Role::User,
            "\n  first line  \nsecond".to_string(),
            MessageState::Complete
        )
    );
    let c = conversation(&writer.handle(), ConversationId(1)).await;
    assert_eq!(c.conversation.title.as_deref(), Some("first line"));
    assert_eq!(c.messages[1].message.state, MessageState::Complete);
}

#[tokio::test]
async fn a_retry_of_the_stored_message_stores_no_second_user_message() {
    let writer = writer();
    let store = writer.handle();
    let provider = Scripted::new(vec![answer("first try"), answer("second try")]);
    let pump = pump(provider, None, Some(store.clone()));
    let (first, _) = run(&pump, spec("q")).await;
    let id = first.conversation.unwrap();
    let retry = RequestSpec {
        conversation: Some(id),
        user_text: None,
        ..spec("q")
    };
    run(&pump, retry).await;
    let c = conversation(&store, id).await;
    let done = MessageState::Complete;
    assert_eq!(
        messages(&c),
        vec![
            (Role::User, "q".to_string(), done),
            (Role::Assistant, "first try".to_string(), done),
            (Role::Assistant, "second try".to_string(), done),
        ]
    );
}

#[tokio::test]
async fn two_requests_in_one_conversation_land_in_it_in_order() {
    let writer = writer();
    let store = writer.handle();
    let provider = Scripted::new(vec![answer("a1"), answer("a2")]);
    let pump = pump(provider, None, Some(store.clone()));
    let (first, _) = run(&pump, spec("q1")).await;
    let id = first.conversation.unwrap();
    let (second, _) = run(
        &pump,
        RequestSpec {
            conversation: Some(id),
            ..spec("q2")
        },
    )
    .await;
    assert_eq!(second.conversation, Some(id));
    let c = conversation(&store, id).await;
    let done = MessageState::Complete;
    assert_eq!(
        messages(&c),
        vec![
            (Role::User, "q1".to_string(), done),
            (Role::Assistant, "a1".to_string(), done),
            (Role::User, "q2".to_string(), done),
            (Role::Assistant, "a2".to_string(), done),
        ]
    );
    let users: Vec<Option<MessageId>> = rows(&store).await.iter().map(|r| r.message_id).collect();
    assert_eq!(
        users,
        vec![
            Some(c.messages[0].message.id),
            Some(c.messages[2].message.id)
        ]
    );
}

#[tokio::test]
async fn every_attempt_passes_the_one_gate_and_reports_the_quota_after_it() {
    let writer = writer();
    let store = writer.handle();
    let provider = Scripted::new(vec![
        vec![Err(overloaded())],
        vec![Err(overloaded())],
        answer("done"),
    ]);
    let pump = pump(provider, Some(per_minute(20)), Some(store.clone()));
    let (outcome, events) = run(&pump, spec("q")).await;
    assert_eq!(outcome.end, End::Finished(StopReason::EndTurn));
    let quotas: Vec<(u32, u32)> = events
        .iter()
        .filter_map(|e| match e {
            PumpEvent::Admitted { attempt, decision } => {
                Some((*attempt, decision.quota.as_ref()?.remaining))
            }
            _ => None,
        })
        .collect();
    assert_eq!(quotas, vec![(1, 19), (2, 18), (3, 17)]);
    let rows = rows(&store).await;
    let summary: Vec<(u32, RequestStatus)> = rows.iter().map(|r| (r.attempt, r.status)).collect();
    assert_eq!(
        summary,
        vec![
            (1, RequestStatus::Error),
            (2, RequestStatus::Error),
            (3, RequestStatus::Ok)
        ]
    );
    let user = rows[0].message_id;
    assert!(user.is_some() && rows.iter().all(|r| r.message_id == user));
    let c = conversation(&store, outcome.conversation.unwrap()).await;
    assert_eq!(c.messages.len(), 2, "one reply for every attempt");
    assert_eq!(c.messages[1].message.request_id, Some(rows[2].id));
    assert!(events.iter().any(|e| matches!(
        e,
        PumpEvent::Progress(Stamped {
            progress: Progress::AttemptFailed {
                number: 1,
                next: Next::Retry { .. },
                ..
            },
            ..
        })
    )));
}

#[tokio::test]
async fn a_refusal_on_attempt_1_stores_and_sends_nothing() {
    let writer = writer();
    let store = writer.handle();
    let limiter = per_minute(1);
    limiter.admit(system_now_ms()).await.unwrap();
    let provider = Scripted::new(vec![answer("never")]);
    let pump = pump(provider.clone(), Some(limiter), Some(store.clone()));
    let (outcome, events) = run(&pump, spec("q")).await;
    assert!(
        matches!(&outcome.end, End::Refused { attempt: 1, message, .. } if message.contains("rate limit 1/1m reached")),
        "{:?}",
        outcome.end
    );
    assert!(matches!(
        events.as_slice(),
        [PumpEvent::Admitted { attempt: 1, .. }]
    ));
    assert_eq!(provider.left(), 1);
    assert!(
        store
            .list_conversations(10)
            .wait()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_refusal_on_attempt_2_ends_refused_and_sends_nothing_more() {
    let writer = writer();
    let store = writer.handle();
    let provider = Scripted::new(vec![vec![Err(overloaded())], answer("never")]);
    let pump = pump(provider.clone(), Some(per_minute(1)), Some(store.clone()));
    let (outcome, _) = run(&pump, spec("q")).await;
    match &outcome.end {
        End::Refused {
            attempt: 2,
            retry_after,
            ..
        } => assert!(*retry_after > Duration::from_secs(50), "{retry_after:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.left(), 1, "attempt 2 was not sent");
    assert_eq!(rows(&store).await.len(), 1);
    let c = conversation(&store, outcome.conversation.unwrap()).await;
    assert_eq!(c.messages[1].message.state, MessageState::Failed);
}

/// A stream that sends some text (with Anthropic's 1-token placeholder), then nothing.
fn partial() -> Vec<Result<StreamEvent, LlmError>> {
    vec![
        Ok(StreamEvent::Started {
            model: Some("claude-sonnet-4-5".into()),
            response_id: Some("msg_1".into()),
            request_id: None,
        }),
        Ok(StreamEvent::Usage(Usage {
            input_tokens: Some(20),
            output_tokens: Some(1),
            ..Usage::default()
        })),
        Ok(StreamEvent::TextDelta("partial ".repeat(100))),
        Ok(StreamEvent::TextDelta("text".into())),
    ]
}

#[tokio::test]
async fn dropping_the_run_mid_stream_keeps_the_text_and_an_estimated_count() {
    let writer = writer();
    let store = writer.handle();
    let pump = pump(
        Scripted::hanging(vec![partial()]),
        None,
        Some(store.clone()),
    );
    let (arrived, text_arrived) = oneshot::channel();
    let mut arrived = Some(arrived);
    let running = pump.run(
        spec("q"),
        |e| {
            if let PumpEvent::Progress(Stamped {
                progress: Progress::Event(StreamEvent::TextDelta(t)),
                ..
            }) = &e
                && t == "text"
                && let Some(tx) = arrived.take()
            {
                let _ = tx.send(());
            }
        },
        std::future::pending(),
    );
    tokio::select! {
        end = running => panic!("the stream hangs, yet it ended: {:?}", end.end),
        _ = text_arrived => {}
    }
    // The run's future was dropped: its guard wrote the end without waiting.
    store.flush().wait().await.unwrap();
    let c = conversation(&store, ConversationId(1)).await;
    let reply = &c.messages[1];
    assert_eq!(reply.message.state, MessageState::Cancelled);
    assert!(reply.message.content.ends_with("partial text"));
    let row = reply.request.as_ref().unwrap();
    assert_eq!(row.status, RequestStatus::Cancelled);
    assert_eq!(row.gen_ai_response_id.as_deref(), Some("msg_1"));
    // 804 bytes of text: ~201 tokens, marked as an estimate, never the placeholder 1.
    assert_eq!(row.gen_ai_usage_output_tokens, Some(201));
    assert!(row.output_estimated);
}

#[tokio::test]
async fn a_cancel_future_ends_the_run_as_cancelled_after_what_arrived() {
    let writer = writer();
    let store = writer.handle();
    let pump = pump(
        Scripted::hanging(vec![partial()]),
        None,
        Some(store.clone()),
    );
    let (arrived, text_arrived) = oneshot::channel::<()>();
    let mut arrived = Some(arrived);
    let mut texts = Vec::new();
    let outcome = pump
        .run(
            spec("q"),
            |e| {
                if let PumpEvent::Progress(Stamped {
                    progress: Progress::Event(StreamEvent::TextDelta(t)),
                    ..
                }) = &e
                {
                    texts.push(t.clone());
                    if t == "text" {
                        arrived.take();
                    }
                }
            },
            async {
                let _ = text_arrived.await;
            },
        )
        .await;
    assert_eq!(outcome.end, End::Cancelled);
    assert!(texts.concat().ends_with("partial text"));
    let c = conversation(&store, outcome.conversation.unwrap()).await;
    assert_eq!(c.messages[1].message.state, MessageState::Cancelled);
    assert_eq!(
        c.messages[1].request.as_ref().unwrap().status,
        RequestStatus::Cancelled
    );
}

#[tokio::test]
async fn without_a_database_nothing_is_recorded_and_the_reply_still_flows() {
    let pump = pump(Scripted::new(vec![answer("still here")]), None, None);
    let (outcome, events) = run(&pump, spec("q")).await;
    assert_eq!(outcome.end, End::Finished(StopReason::EndTurn));
    assert_eq!(outcome.conversation, None);
    assert_eq!(outcome.ledger.text(), "still here");
    assert!(!events.iter().any(|e| matches!(e, PumpEvent::Warning(_))));
}

#[tokio::test]
async fn the_sink_folds_to_the_same_numbers_the_log_holds() {
    let writer = writer();
    let store = writer.handle();
    let provider = Scripted::new(vec![vec![Err(overloaded())], answer("the answer")]);
    let pump = pump(provider, None, Some(store.clone()));
    let (outcome, events) = run(&pump, spec("q")).await;
    // What the chat does with the same events: fold them into its own ledger.
    let mut chat = Ledger::new(Arc::new(PriceTable::builtin()));
    for e in &events {
        if let PumpEvent::Progress(stamped) = e {
            chat.apply(stamped);
        }
    }
    let rows = rows(&store).await;
    let answered = &rows[1];
    assert_eq!(
        chat.ttft().map(super::super::ledger::millis_i64),
        answered.time_to_first_chunk_ms
    );
    assert_eq!(chat.ttft(), outcome.ledger.ttft());
    assert_eq!(chat.totals(), outcome.ledger.totals());
    assert_eq!(
        chat.totals().usage.output_tokens,
        answered.gen_ai_usage_output_tokens
    );
    assert_eq!(chat.totals().cost, answered.cost());
}
