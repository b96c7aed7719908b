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

/// A writer whose sink collects the messages it is given.
fn writer_with_sink(
    path: &std::path::Path,
) -> (StoreWriter, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = said.clone();
    let writer = StoreWriter::spawn(
        Store::open(path).expect("open"),
        Box::new(move |e| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }),
    )
    .expect("spawn");
    (writer, said)
}

fn said(sink: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    sink.lock().map(|v| v.clone()).unwrap_or_default()
}

fn user_message(c: ConversationId, text: &str) -> NewMessage {
    NewMessage {
        conversation_id: c,
        role: Role::User,
        content: text.into(),
        state: MessageState::Complete,
        request_id: None,
    }
}

/// The data dir deleted while the database is open (SQLite would go on writing into the
/// deleted file): the next write recreates the database at its path from the open copy,
/// every earlier row included, says so once, and writing goes on in the new file.
#[test]
fn a_deleted_database_is_recreated_from_the_open_copy_and_said_once() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let path = data.join(DB_FILE_NAME);
    let (writer, sink) = writer_with_sink(&path);
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
    let first = h
        .insert_message(user_message(c, "before"))
        .wait_blocking()
        .expect("before");
    std::fs::remove_dir_all(&data).expect("delete the data dir");
    let second = h
        .insert_message(user_message(c, "after"))
        .wait_blocking()
        .expect("after");
    h.checkpoint_message(first, "before, edited".into(), MessageState::Complete)
        .expect("send");
    h.flush().wait_blocking().expect("flush");
    writer.close();
    let said = said(&sink);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("was deleted") && said[0].contains("recreated"),
        "{said:?}"
    );
    let reopened = Store::open(&path).expect("the database is back");
    let loaded = reopened.load_conversation(c).expect("conversation");
    let texts: Vec<(MessageId, &str)> = loaded
        .messages
        .iter()
        .map(|m| (m.message.id, m.message.content.as_str()))
        .collect();
    assert_eq!(texts, vec![(first, "before, edited"), (second, "after")]);
}

/// Another file moved to the database's path (another promptdeck recreated it first):
/// writing goes on in that file, said once.
#[test]
fn a_replaced_database_is_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE_NAME);
    let (writer, sink) = writer_with_sink(&path);
    let h = writer.handle();
    let other = dir.path().join("other.db");
    drop(Store::open(&other).expect("another database"));
    std::fs::rename(&other, &path).expect("move it over");
    let c = h
        .create_conversation(NewConversation {
            title: Some("in the new file".into()),
            provider: "demo".into(),
            model: "demo".into(),
            prompt: None,
        })
        .wait_blocking()
        .expect("conversation");
    h.flush().wait_blocking().expect("flush");
    writer.close();
    let said = said(&sink);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("was replaced"), "{said:?}");
    let reopened = Store::open(&path).expect("open");
    assert_eq!(
        reopened
            .load_conversation(c)
            .expect("there")
            .conversation
            .title
            .as_deref(),
        Some("in the new file")
    );
}

/// Deleted, and its directory cannot be made again (a file took its name): said once, that
/// this session is no longer saved; later writes say nothing more about it.
#[test]
fn a_database_that_cannot_be_recreated_is_said_lost_once() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let path = data.join(DB_FILE_NAME);
    let (writer, sink) = writer_with_sink(&path);
    let h = writer.handle();
    std::fs::remove_dir_all(&data).expect("delete the data dir");
    std::fs::write(&data, "a file now").expect("a file in its place");
    for title in ["one", "two"] {
        h.create_conversation(NewConversation {
            title: Some(title.into()),
            provider: "demo".into(),
            model: "demo".into(),
            prompt: None,
        })
        .wait_blocking()
        .expect("still answered");
    }
    h.flush().wait_blocking().expect("flush");
    writer.close();
    let said = said(&sink);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("cannot be recreated") && said[0].contains("no longer saved"),
        "{said:?}"
    );
}
