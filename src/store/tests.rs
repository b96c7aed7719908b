use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rusqlite::{Connection, params};

use super::liveness::is_abandoned;
use super::*;
use crate::llm::pricing::{CostView, PriceTable};
use crate::llm::{Role, Usage};

fn fixed_clock() -> i64 {
    1_796_341_452_000
}

fn store() -> Store {
    Store::open_in_memory()
        .expect("in-memory store")
        .with_clock(fixed_clock)
}

fn prompt() -> PromptVersion {
    PromptVersion {
        name: "summarize".into(),
        content_hash: "sha256:0123456789abcdef".into(),
        commit: PromptCommit::Commit("3f2e1d0c9b8a".into()),
    }
}

fn conversation(store: &mut Store) -> ConversationId {
    store
        .create_conversation(&NewConversation {
            title: Some("hello".into()),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            prompt: Some(prompt()),
        })
        .expect("conversation")
}

fn record(conversation: Option<ConversationId>, message: Option<MessageId>) -> RequestRecord {
    RequestRecord {
        conversation_id: conversation,
        message_id: message,
        attempt: 1,
        started_at_ms: fixed_clock(),
        provider: "anthropic".into(),
        params: RequestParams {
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: Some(0.5),
            variables: Default::default(),
        },
        prompt: Some(prompt()),
    }
}

fn ok_outcome() -> RequestOutcome {
    let usage = Usage {
        input_tokens: Some(1_000),
        output_tokens: Some(500),
        cache_creation_input_tokens: Some(2_000),
        cache_read_input_tokens: Some(10_000),
        cache_creation_1h_input_tokens: Some(1_000),
    };
    RequestOutcome {
        status: RequestStatus::Ok,
        response_model: Some("claude-sonnet-4-5-20250929".into()),
        response_id: Some("msg_01".into()),
        provider_request_id: Some("req_01".into()),
        usage,
        finish_reasons: vec!["end_turn".into()],
        time_to_first_chunk_ms: Some(840),
        duration_ms: Some(3_200),
        cost: CostView::of(&PriceTable::builtin(), "claude-sonnet-4-5-20250929", &usage),
        cost_source: Some(crate::llm::pricing::DATASET_LABEL.to_string()),
        error: None,
        ratelimit_headers: RateLimitHeaders::from_headers([
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("Authorization", "Bearer sk-secret"),
            ("x-api-key", "sk-ant-secret"),
            ("retry-after", "3"),
        ]),
    }
}

#[test]
fn open_sets_wal_foreign_keys_and_latest_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("nested/promptdeck.db")).expect("open");
    let conn = store.connection();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("fk");
    assert_eq!(fk, 1);
    assert_eq!(
        store.schema_version().expect("version"),
        schema::SCHEMA_VERSION as i64
    );
}

#[test]
fn a_v1_database_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).expect("open raw");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO conversations (id, created_at_ms, provider, model) \
             VALUES (7, 1000, 'anthropic', 'claude-haiku-4-5')",
            [],
        )
        .expect("conversation");
        conn.execute(
            "INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms, \
             updated_at_ms) VALUES (7, 1, 'user', 'hi', 'complete', 1000, 5000)",
            [],
        )
        .expect("message");
    }
    let store = Store::open(&path).expect("migrates");
    assert_eq!(
        store.schema_version().expect("version"),
        schema::SCHEMA_VERSION as i64,
        "migrated to the latest"
    );
    let list = store.list_conversations(10).expect("list");
    assert_eq!(list.len(), 1);
    // v2 backfilled the last activity from the messages.
    assert_eq!(list[0].updated_at_ms, 5000);
    let loaded = store.load_conversation(ConversationId(7)).expect("load");
    assert_eq!(loaded.messages[0].message.content, "hi");
    // Opening again is a no-op.
    drop(store);
    assert_eq!(
        Store::open(&path)
            .expect("reopen")
            .schema_version()
            .expect("v"),
        schema::SCHEMA_VERSION as i64
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .expect("raw")
        .pragma_update(None, "user_version", 99)
        .expect("version");
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

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
fn recent_requests_filters_by_prompt_newest_first() {
    let mut s = store();
    for (i, name) in ["a", "b", "a", "c", "a"].iter().enumerate() {
        let mut r = record(None, None);
        r.started_at_ms = 1000 + i as i64;
        r.prompt = Some(PromptVersion {
            name: name.to_string(),
            content_hash: format!("h{i}"),
            commit: PromptCommit::Uncommitted,
        });
        s.insert_request(&r).expect("insert");
    }
    let a = s
        .recent_requests(&RequestFilter {
            limit: 10,
            prompt_name: Some("a".into()),
        })
        .expect("query");
    let hashes: Vec<String> = a
        .iter()
        .map(|r| r.prompt.as_ref().expect("prompt").content_hash.clone())
        .collect();
    assert_eq!(hashes, vec!["h4", "h2", "h0"]);
    assert_eq!(
        a[0].prompt.as_ref().expect("prompt").commit,
        PromptCommit::Uncommitted
    );
    let two = s
        .recent_requests(&RequestFilter {
            limit: 2,
            prompt_name: None,
        })
        .expect("query");
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].started_at_ms, 1004);
}

#[test]
fn hostile_strings_are_data_not_sql() {
    let mut s = store();
    let evil = "'); DROP TABLE requests;--";
    let c = s
        .create_conversation(&NewConversation {
            title: Some(evil.into()),
            provider: evil.into(),
            model: evil.into(),
            prompt: Some(PromptVersion {
                name: evil.into(),
                content_hash: evil.into(),
                commit: PromptCommit::Commit(evil.into()),
            }),
        })
        .expect("conversation");
    let m = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::User,
            content: evil.into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("message");
    let mut r = record(Some(c), Some(m));
    r.provider = evil.into();
    r.params.model = evil.into();
    r.prompt = Some(PromptVersion {
        name: evil.into(),
        content_hash: "x".into(),
        commit: PromptCommit::Uncommitted,
    });
    let id = s.insert_request(&r).expect("request");
    let rows = s
        .recent_requests(&RequestFilter {
            limit: 5,
            prompt_name: Some(evil.into()),
        })
        .expect("filter by a hostile name");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].gen_ai_provider_name, evil);
    let loaded = s.load_conversation(c).expect("load");
    assert_eq!(loaded.messages[0].message.content, evil);
    assert_eq!(loaded.conversation.title.as_deref(), Some(evil));
    // Every table is still there.
    let tables: i64 = s
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('requests', 'messages', 'conversations')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(tables, 3);
}

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

#[test]
fn conversations_list_by_last_activity() {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NOW: AtomicI64 = AtomicI64::new(1_000);
    fn tick() -> i64 {
        NOW.fetch_add(10, Ordering::SeqCst)
    }
    let mut s = Store::open_in_memory().expect("store").with_clock(tick);
    let first = conversation(&mut s);
    let second = conversation(&mut s);
    s.insert_message(&NewMessage {
        conversation_id: first,
        role: Role::User,
        content: "again".into(),
        state: MessageState::Complete,
        request_id: None,
    })
    .expect("message");
    let ids: Vec<ConversationId> = s
        .list_conversations(10)
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![first, second]);
}

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

fn exported_conversation() -> ConversationWithMessages {
    let mut s = store();
    let c = conversation(&mut s);
    let user = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::User,
            content: "Say hi\u{1b}[31m".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("user");
    let req = s.insert_request(&record(Some(c), Some(user))).expect("req");
    let reply = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::Assistant,
            content: "Hi the".into(),
            state: MessageState::Streaming,
            request_id: Some(req),
        })
        .expect("reply");
    s.checkpoint_message(reply, "Hi the", MessageState::Interrupted)
        .expect("interrupt");
    let mut outcome = ok_outcome();
    outcome.status = RequestStatus::Interrupted;
    s.finish_request(req, &outcome).expect("finish");
    s.load_conversation(c).expect("load")
}

#[test]
fn markdown_export() {
    let md = export_markdown(&exported_conversation());
    assert_eq!(
        md,
        "# hello\n\n\
         - Conversation: 1 · started 2026-12-03 23:44:12 UTC\n\
         - Model: claude-sonnet-4-5 (anthropic)\n\
         - Prompt: summarize@3f2e1d0c9b8a\n\
         \n## User\n\n_2026-12-03 23:44:12 UTC_\n\nSay hi\n\
         \n## Assistant · claude-sonnet-4-5-20250929 · summarize@3f2e1d0c9b8a · 1000 in / 500 out · $0.0232 · 3.20s \
         · (interrupted)\n\n_2026-12-03 23:44:12 UTC_\n\nHi the\n"
    );
}

#[test]
fn jsonl_export_has_one_object_per_message_and_provenance() {
    let out = export_jsonl(&exported_conversation()).expect("jsonl");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["role"], "user");
    assert_eq!(lines[0]["content"], "Say hi\u{1b}[31m");
    assert!(lines[0].get("request").is_none());
    assert_eq!(lines[1]["state"], "interrupted");
    assert_eq!(lines[1]["request"]["usage"]["input_tokens"], 1000);
    assert_eq!(lines[1]["request"]["prompt"]["name"], "summarize");
    assert_eq!(
        lines[1]["request"]["prompt"]["commit"]["commit"],
        "3f2e1d0c9b8a"
    );
    assert_eq!(lines[1]["request"]["response_id"], "msg_01");
    assert!(!out.contains("sk-"), "no key material: {out}");
}

#[test]
fn log_table_and_json() {
    let mut s = store();
    let req = s.insert_request(&record(None, None)).expect("req");
    s.finish_request(req, &ok_outcome()).expect("finish");
    let mut unknown = record(None, None);
    unknown.params.model = "llama\u{1b}]0;pwned\u{7}3".into();
    unknown.prompt = None;
    s.insert_request(&unknown).expect("pending");
    let rows = s.recent_requests(&RequestFilter::default()).expect("rows");
    let table = format_log_table(&rows);
    assert!(!table.contains('\u{1b}'), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("TIME (UTC)"));
    assert!(
        lines[2].contains("summarize@3f2e1d0c9b8a"),
        "the canonical reference: {table}"
    );
    assert!(lines[2].contains("1000/500 (10000/2000)"), "{table}");
    assert!(
        lines[2].contains("0.84s") && lines[2].contains("3.20s"),
        "{table}"
    );
    assert!(
        lines[2].contains("$0.0232") && lines[2].ends_with("ok"),
        "{table}"
    );
    let pending: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(pending[pending.len() - 2..], ["-", "pending"], "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&log_json(&rows).expect("json")).expect("parses");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert_eq!(json[1]["gen_ai_usage_cache_read_input_tokens"], 10000);
    assert_eq!(json[1]["status"], "ok");
    assert_eq!(format_log_table(&[]), "no requests logged yet\n");
}
