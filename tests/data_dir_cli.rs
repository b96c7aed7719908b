//! The data directory under stress, with the real binary: many processes opening a fresh
//! history database at once, a data dir that is a file or read-only, and the database deleted
//! while `ask` streams. What is checked is what a user would notice: the messages printed, the
//! exit status, and what `promptdeck log` shows afterwards.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, Step, anthropic};
use pretty_assertions::assert_eq;
use promptdeck::llm::Role;
use promptdeck::store::Store;
use serde_json::{Value, json};

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

/// The data dir deleted while `ask` streams (SQLite would go on writing into the deleted
/// file, and the request would vanish): the database is recreated at its path from the copy
/// still open, stderr says so once, and the request is in `promptdeck log` with its whole
/// reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_deleted_mid_reply_is_recreated_and_the_request_kept() {
    use tokio::io::AsyncReadExt;
    let server = MockServer::start().await;
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    let delta = |text: &str| {
        anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":text}}))
    };
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_gone", 5)
                + &anthropic::event(json!({"type":"content_block_start","index":0,
                    "content_block":{"type":"text","text":""}}))
                + &delta("first half, "))
                .into(),
        ),
        Step::WaitFor(go.clone()),
        Step::Chunk(
            (delta("second half")
                + &anthropic::event(json!({"type":"content_block_stop","index":0}))
                + &anthropic::message_delta("end_turn", 4)
                + &anthropic::message_stop())
                .into(),
        ),
    ]));
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    cmd.args(["ask", "keep me"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut seen = vec![0u8; "first half, ".len()];
    pipe.read_exact(&mut seen).await.unwrap();
    std::fs::remove_dir_all(&data).expect("delete the data dir mid-reply");
    go.notify_one();
    let mut rest = String::new();
    pipe.read_to_string(&mut rest).await.unwrap();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("it ends")
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(rest, "second half");
    assert_eq!(err.matches("was deleted").count(), 1, "said once: {err}");
    assert!(err.contains("recreated"), "{err}");
    let log = run(promptdeck(home.path()), &["log", "--json"]).await;
    assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["status"], json!("ok"), "{rows}");
    let export = run(
        promptdeck(home.path()),
        &["export", "1", "--format", "jsonl"],
    )
    .await;
    let lines: Vec<Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let messages: Vec<(&Value, &Value)> = lines
        .iter()
        .filter(|l| l.get("content").is_some())
        .map(|l| (&l["content"], &l["state"]))
        .collect();
    assert_eq!(
        messages,
        vec![
            (&json!("keep me"), &json!("complete")),
            (&json!("first half, second half"), &json!("complete")),
        ]
    );
}
