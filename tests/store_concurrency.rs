//! The database across processes: two writers at once, and a writer killed with SIGKILL
//! mid-stream.
//!
//! The children are this very test binary, re-executed with `--exact <child test>` and an
//! environment variable that tells the child test to act (without it, the child tests return at
//! once, so a normal run just passes them).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promptdeck::llm::pricing::CostView;
use promptdeck::llm::{Role, Usage};
use promptdeck::store::{
    ConversationId, MessageState, NewConversation, NewMessage, PromptCommit, PromptVersion,
    RateLimitHeaders, RequestFilter, RequestOutcome, RequestParams, RequestRecord, RequestStatus,
    Store,
};

const CHILD_DB: &str = "PROMPTDECK_TEST_CHILD_DB";
const CHILD_TAG: &str = "PROMPTDECK_TEST_CHILD_TAG";
const ROWS_PER_WRITER: usize = 300;

fn spawn_child(test: &str, db: &Path, tag: &str) -> std::process::Child {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, db)
        .env(CHILD_TAG, tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child test process")
}

fn record(tag: &str, i: usize) -> RequestRecord {
    RequestRecord {
        conversation_id: None,
        message_id: None,
        attempt: 1,
        started_at_ms: i as i64,
        provider: "demo".into(),
        params: RequestParams {
            model: "demo".into(),
            max_tokens: 64,
            temperature: None,
            variables: Default::default(),
        },
        prompt: Some(PromptVersion {
            name: tag.to_string(),
            content_hash: format!("{tag}-{i}"),
            commit: PromptCommit::Uncommitted,
        }),
        compare_id: None,
    }
}

/// Child mode: insert and finish `ROWS_PER_WRITER` requests, each its own transaction.
#[test]
fn child_writer() {
    let (Ok(db), Ok(tag)) = (std::env::var(CHILD_DB), std::env::var(CHILD_TAG)) else {
        return;
    };
    let mut store = Store::open(Path::new(&db)).expect("child opens the database");
    // Start together: wait for the parent's go file, so the two writers really overlap.
    let go = Path::new(&db).with_extension("go");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !go.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    for i in 0..ROWS_PER_WRITER {
        let id = store
            .insert_request(&record(&tag, i))
            .unwrap_or_else(|e| panic!("insert {i} failed: {e}"));
        store
            .finish_request(
                id,
                &RequestOutcome {
                    status: RequestStatus::Ok,
                    response_model: Some("demo".into()),
                    response_id: None,
                    provider_request_id: None,
                    usage: Usage {
                        input_tokens: Some(10),
                        output_tokens: Some(20),
                        ..Usage::default()
                    },
                    finish_reasons: vec!["end_turn".into()],
                    time_to_first_chunk_ms: Some(1),
                    duration_ms: Some(2),
                    cost: CostView::Known(0.0),
                    cost_source: None,
                    output_estimated: false,
                    error: None,
                    ratelimit_headers: RateLimitHeaders::default(),
                },
            )
            .unwrap_or_else(|e| panic!("finish {i} failed: {e}"));
    }
    println!("CHILD-DONE {tag}");
}

#[test]
fn two_processes_write_concurrently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shared.db");
    // Create the file (and its schema) once, as the app would have.
    drop(Store::open(&db).expect("create"));
    let a = spawn_child("child_writer", &db, "writer-a");
    let b = spawn_child("child_writer", &db, "writer-b");
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(db.with_extension("go"), b"go").expect("go file");
    for (tag, child) in [("writer-a", a), ("writer-b", b)] {
        let out = child.wait_with_output().expect("child runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{tag} failed:\n{stdout}");
        assert!(
            stdout.contains(&format!("CHILD-DONE {tag}")),
            "{tag} did not run its writes:\n{stdout}"
        );
        assert!(!stdout.contains("database is locked"), "{stdout}");
    }
    let store = Store::open(&db).expect("reopen");
    for tag in ["writer-a", "writer-b"] {
        let rows = store
            .recent_requests(&RequestFilter {
                limit: 10_000,
                prompt_name: Some(tag.into()),
                compare_id: None,
            })
            .expect("query");
        assert_eq!(rows.len(), ROWS_PER_WRITER, "{tag}");
        assert!(rows.iter().all(|r| r.status == RequestStatus::Ok));
    }
    let all = store
        .recent_requests(&RequestFilter {
            limit: 10_000,
            prompt_name: None,
            compare_id: None,
        })
        .expect("query");
    assert_eq!(all.len(), 2 * ROWS_PER_WRITER);
    // Log ids in insertion order: count switches between writers (overlap evidence).
    let mut by_id: Vec<_> = all.iter().collect();
    by_id.sort_by_key(|r| r.id);
    let switches = by_id
        .windows(2)
        .filter(|w| w[0].prompt.as_ref().map(|p| &p.name) != w[1].prompt.as_ref().map(|p| &p.name))
        .count();
    println!("writer switches in the log: {switches}");
}

/// Child mode: a conversation with a user message and a streaming reply, checkpointed every
/// few milliseconds forever (until the parent kills the process).
#[test]
fn child_streamer() {
    let (Ok(db), Ok(_)) = (std::env::var(CHILD_DB), std::env::var(CHILD_TAG)) else {
        return;
    };
    let mut store = Store::open(Path::new(&db)).expect("child opens the database");
    let conversation = store
        .create_conversation(&NewConversation {
            title: Some("killed mid-stream".into()),
            provider: "demo".into(),
            model: "demo".into(),
            prompt: None,
        })
        .expect("conversation");
    store
        .insert_message(&NewMessage {
            conversation_id: conversation,
            role: Role::User,
            content: "tell me a long story".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("user message stored before sending");
    let request = store
        .insert_request(&RequestRecord {
            conversation_id: Some(conversation),
            ..record("streamer", 0)
        })
        .expect("request");
    let reply = store
        .insert_message(&NewMessage {
            conversation_id: conversation,
            role: Role::Assistant,
            content: String::new(),
            state: MessageState::Streaming,
            request_id: Some(request),
        })
        .expect("reply");
    println!("CONVERSATION {}", conversation.0);
    let mut text = String::new();
    for i in 0.. {
        text.push_str(&format!("chunk{i} "));
        store
            .checkpoint_message(reply, &text, MessageState::Streaming)
            .expect("checkpoint");
        println!("CHECKPOINT {i}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_reply_killed_mid_stream_is_kept_and_marked_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("killed.db");
    drop(Store::open(&db).expect("create"));
    let mut child = spawn_child("child_streamer", &db, "streamer");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut conversation = None;
    let mut last_checkpoint = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        // libtest prints "test child_streamer ... " without a newline before the first line.
        if let Some((_, id)) = line.split_once("CONVERSATION ") {
            conversation = id.trim().parse::<i64>().ok();
        }
        if let Some((_, n)) = line.split_once("CHECKPOINT ") {
            last_checkpoint = n.trim().parse::<u32>().ok();
            if last_checkpoint >= Some(5) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "child too slow");
    }
    // SIGKILL: no destructor, no final write, exactly like `kill -9`.
    child.kill().expect("kill -9 the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success());
    let conversation = ConversationId(conversation.expect("child reported its conversation"));
    let last_checkpoint = last_checkpoint.expect("child checkpointed");

    let store = Store::open(&db).expect("reopen after the crash");
    let loaded = store.load_conversation(conversation).expect("conversation");
    assert_eq!(loaded.messages.len(), 2);
    let user = &loaded.messages[0].message;
    assert_eq!(
        (user.role, user.content.as_str(), user.state),
        (Role::User, "tell me a long story", MessageState::Complete)
    );
    let reply = &loaded.messages[1];
    assert_eq!(reply.message.state, MessageState::Interrupted);
    let expected_prefix: String = (0..=last_checkpoint)
        .map(|i| format!("chunk{i} "))
        .collect();
    assert!(
        reply.message.content.starts_with(&expected_prefix),
        "partial text {:?} should start with {expected_prefix:?}",
        reply.message.content
    );
    assert_eq!(
        reply.request.as_ref().map(|r| r.status),
        Some(RequestStatus::Interrupted)
    );
}
