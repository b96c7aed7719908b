//! The request pump against the mock server over real HTTP: what the chat relies on when it
//! cancels a request by aborting its task.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pretty_assertions::assert_eq;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use promptdeck::limit::{LimitConfig, Limiter};
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::http::{ApiKey, Endpoint};
use promptdeck::llm::pricing::PriceTable;
use promptdeck::llm::retry::{Progress, RetryPolicy};
use promptdeck::llm::{ChatRequest, Message, Role, StreamEvent, Timeouts};
use promptdeck::request::{Pump, PumpEvent, RequestSpec};
use promptdeck::store::{MessageState, RequestFilter, RequestStatus, Store, StoreWriter};

fn provider(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::new(Endpoint {
        base_url: server.base_url(),
        api_key: ApiKey::new("sk-test-SECRET-4242"),
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            response_headers: Duration::from_secs(10),
            idle_read: Duration::from_secs(30),
        },
    })
    .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-test".into(),
        system: None,
        messages: vec![Message {
            role: Role::User,
            content: "tell me".into(),
        }],
        max_tokens: 100,
        temperature: None,
    }
}

#[tokio::test]
async fn aborting_the_task_mid_stream_stores_the_partial_reply_as_cancelled() {
    let server = MockServer::start().await;
    let body = anthropic::message_start("claude-test", "msg_partial", 3)
        + &anthropic::text_block(0, &["partial ", "text"]);
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(body)),
        Step::Hang,
    ]));
    let writer = StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
    let store = writer.handle();
    let pump = Pump {
        provider: Arc::new(provider(&server)),
        policy: Arc::new(RetryPolicy::default()),
        store: Some(writer.handle()),
        limiter: Some(Limiter::memory(LimitConfig::default())),
        prices: Arc::new(PriceTable::builtin()),
        shutting_down: Arc::default(),
    };
    let spec = RequestSpec {
        request: request(),
        prompt: None,
        prompt_text: None,
        variables: Default::default(),
        conversation: None,
        user_text: Some("tell me".into()),
    };
    let (text_tx, mut text_rx) = tokio::sync::mpsc::unbounded_channel();
    // The chat's request task: it owns the pump's run.
    let task = tokio::spawn(async move {
        let sink = |event: PumpEvent| {
            if let PumpEvent::Progress(stamped) = event
                && let Progress::Event(StreamEvent::TextDelta(t)) = stamped.progress
            {
                let _ = text_tx.send(t);
            }
        };
        let outcome = pump.run(spec, sink, std::future::pending()).await;
        panic!("the stream hangs, yet the run ended: {:?}", outcome.end);
    });
    let mut text = String::new();
    while text != "partial text" {
        let piece = tokio::time::timeout(Duration::from_secs(10), text_rx.recv())
            .await
            .expect("text in time")
            .expect("the task is running");
        text.push_str(&piece);
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    store.flush().wait().await.unwrap();
    let conversations = store.list_conversations(10).wait().await.unwrap();
    assert_eq!(conversations.len(), 1);
    let c = store
        .load_conversation(conversations[0].id)
        .wait()
        .await
        .unwrap();
    let messages: Vec<(Role, &str, MessageState)> = c
        .messages
        .iter()
        .map(|m| (m.message.role, m.message.content.as_str(), m.message.state))
        .collect();
    assert_eq!(
        messages,
        vec![
            (Role::User, "tell me", MessageState::Complete),
            (Role::Assistant, "partial text", MessageState::Cancelled),
        ]
    );
    let rows = store
        .recent_requests(RequestFilter::default())
        .wait()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.status, RequestStatus::Cancelled);
    assert_eq!(row.gen_ai_response_id.as_deref(), Some("msg_partial"));
    assert_eq!(row.gen_ai_usage_input_tokens, Some(3));
    assert!(row.duration_ms.is_some() && row.time_to_first_chunk_ms.is_some());
    // Cut before the provider's count: the log holds the marked estimate, not a placeholder.
    assert_eq!(row.gen_ai_usage_output_tokens, Some(3));
    assert!(row.output_estimated);
    assert_eq!(c.messages[1].message.request_id, Some(row.id));
}
