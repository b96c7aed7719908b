//! Crash liveness: rows of a dead writer are marked interrupted on open; a live writer's
//! stream is left alone.

use pretty_assertions::assert_eq;
use rusqlite::params;

use super::liveness::{is_abandoned, writer_identity};
use super::test_support::*;
use super::*;
use crate::llm::Role;

#[test]
fn reopening_marks_streaming_of_a_dead_process_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.db");
    let (c, reply, req) = {
        let mut s = Store::open(&path).expect("open");
        let c = conversation(&mut s);
        let req = s.insert_request(&record(Some(c), None)).expect("req");
        let reply = s
            .insert_message(&NewMessage {
                conversation_id: c,
                role: Role::Assistant,
                content: String::new(),
                state: MessageState::Streaming,
                request_id: Some(req),
            })
            .expect("reply");
        s.checkpoint_message(reply, "The partial ans", MessageState::Streaming)
            .expect("checkpoint");
        // Pretend the writer was a process that has since died: pid 0 is never a user
        // process, and `?` start time.
        s.connection()
            .execute("UPDATE messages SET writer = ?1", params!["4194999:?"])
            .expect("fake writer");
        s.connection()
            .execute("UPDATE requests SET writer = ?1", params!["4194999:?"])
            .expect("fake writer");
        (c, reply, req)
    };
    let s = Store::open(&path).expect("reopen");
    let loaded = s.load_conversation(c).expect("load");
    let m = &loaded.messages[0].message;
    assert_eq!(m.id, reply);
    assert_eq!(m.state, MessageState::Interrupted);
    assert_eq!(m.content, "The partial ans");
    let r = s.request(req).expect("request");
    assert_eq!(r.status, RequestStatus::Interrupted);
    assert_eq!(r.error_type.as_deref(), Some("interrupted"));
}

#[test]
fn a_live_writers_stream_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.db");
    let mut writer = Store::open(&path).expect("open");
    let c = conversation(&mut writer);
    let reply = writer
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::Assistant,
            content: "streaming…".into(),
            state: MessageState::Streaming,
            request_id: None,
        })
        .expect("reply");
    // A second open (say `promptdeck log` in another terminal) while this process streams.
    let reader = Store::open(&path).expect("second open");
    let loaded = reader.load_conversation(c).expect("load");
    assert_eq!(loaded.messages[0].message.id, reply);
    assert_eq!(loaded.messages[0].message.state, MessageState::Streaming);
}

#[test]
fn abandonment_rules() {
    let me = "100:5";
    assert!(!is_abandoned(Some(me), me, 0, 0));
    assert!(is_abandoned(None, me, 0, 0));
    if cfg!(target_os = "linux") {
        let own = writer_identity();
        assert!(!is_abandoned(Some(&own), me, 0, 0), "this process is alive");
        let pid = std::process::id();
        assert!(
            is_abandoned(Some(&format!("{pid}:1")), me, 0, 0),
            "same pid, different start time: a reused pid"
        );
        assert!(is_abandoned(Some("4194999:?"), me, 0, 0));
    }
}

/// A first open while another process holds the fresh database's lock (it is switching it to
/// WAL) waits and succeeds instead of failing with "database is locked".
#[test]
fn a_first_open_waits_while_another_connection_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("promptdeck.db");
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE t (x); ")
        .unwrap();
    let opener = {
        let path = path.clone();
        std::thread::spawn(move || Store::open(&path).map(|_| ()).map_err(|e| e.to_string()))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(opener.join().unwrap(), Ok(()));
}

/// Another program's SQLite file where the history database should be: one clear line, not
/// the migration's SQL.
#[test]
fn a_foreign_database_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("promptdeck.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE conversations (something_else TEXT);")
        .unwrap();
    drop(other);
    let message = Store::open(&path).unwrap_err().to_string();
    assert!(message.contains("not promptdeck's"), "{message}");
    assert!(!message.contains("CREATE"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}
