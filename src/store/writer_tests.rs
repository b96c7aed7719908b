//! The database thread: commands run in order, replies can be awaited or blocked on, and a
//! stopped writer says so.

use pretty_assertions::assert_eq;

use super::test_support::*;
use super::*;
use crate::llm::Role;

#[test]
fn writer_thread_executes_in_order_and_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("writer.db");
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    let writer = StoreWriter::spawn(
        Store::open(&path).expect("open"),
        Box::new(move |e| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }),
    )
    .expect("spawn");
    let h = writer.handle();
    let c = h
        .create_conversation(NewConversation {
            title: None,
            provider: "demo".into(),
            model: "demo".into(),
            prompt: None,
        })
        .wait_blocking()
        .expect("conversation");
    let user = h
        .insert_message(NewMessage {
            conversation_id: c,
            role: Role::User,
            content: "hi".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .wait_blocking()
        .expect("user");
    let req = h
        .insert_request(record(Some(c), Some(user)))
        .wait_blocking()
        .expect("request");
    let reply = h
        .insert_message(NewMessage {
            conversation_id: c,
            role: Role::Assistant,
            content: String::new(),
            state: MessageState::Streaming,
            request_id: Some(req),
        })
        .wait_blocking()
        .expect("reply");
    for i in 0..50 {
        h.checkpoint_message(reply, format!("text {i}"), MessageState::Streaming)
            .expect("send");
    }
    h.checkpoint_message(reply, "text final".into(), MessageState::Complete)
        .expect("send");
    h.finish_request(req, ok_outcome()).expect("send");
    // An error with no reply goes to the sink.
    h.checkpoint_message(MessageId(9_999), "x".into(), MessageState::Complete)
        .expect("send");
    h.flush().wait_blocking().expect("flush");
    let loaded = h.load_conversation(c).wait_blocking().expect("load");
    assert_eq!(loaded.messages[1].message.content, "text final");
    assert_eq!(loaded.messages[1].message.state, MessageState::Complete);
    assert_eq!(
        loaded.messages[1].request.as_ref().map(|r| r.status),
        Some(RequestStatus::Ok)
    );
    assert_eq!(
        errors.lock().map(|v| v.clone()).unwrap_or_default(),
        vec!["no message with id 9999".to_string()]
    );
    writer.close();
    assert!(matches!(
        h.flush().wait_blocking(),
        Err(StoreError::WriterGone)
    ));
}

#[tokio::test]
async fn writer_replies_can_be_awaited() {
    let writer = StoreWriter::spawn(store(), Box::new(|_| {})).expect("spawn");
    let h = writer.handle();
    let c = h
        .create_conversation(NewConversation {
            title: None,
            provider: "demo".into(),
            model: "demo".into(),
            prompt: None,
        })
        .wait()
        .await
        .expect("id");
    let list = h.list_conversations(5).wait().await.expect("list");
    assert_eq!(list[0].id, c);
    let rows = h
        .recent_requests(RequestFilter::default())
        .wait()
        .await
        .expect("rows");
    assert!(rows.is_empty());
}
