//! The data directory under stress, with the real binary: many processes opening a fresh
//! history database at once, a data dir that is a file or read-only, and the database deleted
//! while `ask` streams. What is checked is what a user would notice: the messages printed, the
//! exit status, and what `promptdeck log` shows afterwards.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, anthropic};
use pretty_assertions::assert_eq;
use promptdeck::llm::Role;
use promptdeck::store::Store;
use serde_json::Value;

/// The user messages stored in the history database of `data`, sorted.
fn stored_user_messages(data: &Path) -> BTreeSet<String> {
    let store = Store::open(&data.join("promptdeck.db")).expect("open the history");
    let mut texts = BTreeSet::new();
    for conversation in store.list_conversations(1000).expect("conversations") {
        let loaded = store
            .load_conversation(conversation.id)
            .expect("conversation");
        for m in loaded.messages {
            if m.message.role == Role::User {
                texts.insert(m.message.content);
            }
        }
    }
    texts
}

/// Issue 11, item 3: N `ask` processes started at once on a fresh data dir once printed
/// "cannot open the history database … database is locked" and lost a request. Every one of
/// them must be stored and logged, round after round (each round a fresh data dir).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_opens_lose_no_request() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 4;
    let server = MockServer::start().await;
    for round in 0..ROUNDS {
        let home = tempfile::tempdir().unwrap();
        for _ in 0..PROCESSES {
            server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
        }
        let messages: Vec<String> = (0..PROCESSES)
            .map(|i| format!("round {round} message {i}"))
            .collect();
        // All spawned before any is awaited, so their first opens overlap.
        let runs: Vec<_> = messages
            .iter()
            .map(|m| {
                let cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
                let m = m.clone();
                tokio::spawn(async move { run(cmd, &["ask", &m]).await })
            })
            .collect();
        for (message, handle) in messages.iter().zip(runs) {
            let out = handle.await.unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(0), "{message}: {err}");
            assert!(!err.contains("cannot open"), "{message}: {err}");
            assert!(!err.contains("locked"), "{message}: {err}");
            assert!(!err.contains("warning"), "{message}: {err}");
            assert_eq!(stdout(&out), "ok");
        }
        let log = run(promptdeck(home.path()), &["log", "--json"]).await;
        assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
        let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
        let rows = rows.as_array().expect("an array of rows");
        assert_eq!(rows.len(), PROCESSES, "round {round}: {rows:?}");
        assert!(
            rows.iter().all(|r| r["status"] == "ok"),
            "round {round}: {rows:?}"
        );
        assert_eq!(
            stored_user_messages(&home.path().join("data")),
            messages.iter().cloned().collect::<BTreeSet<_>>(),
            "round {round}"
        );
    }
}
