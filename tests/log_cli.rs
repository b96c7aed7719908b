//! The history, end to end: the real `promptdeck` binary against the mock server, then
//! `promptdeck log`, `conversations` and `export` reading what it stored. Each test has its own
//! `HOME` and data dir.
//!
//! What is proved here: every attempt is one log row matching what the server saw and sent;
//! exports round-trip a conversation; the local rate limit is shared by processes, refuses
//! without sending and exits 10; a `kill -9` mid-reply keeps the streamed text (marked
//! interrupted); the API key never reaches the database.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, Step, anthropic};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const KEY: &str = "sk-ant-secret-log-4242";

/// `promptdeck log --json [extra]`, parsed.
async fn log_json(home: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["log", "--json"];
    args.extend_from_slice(extra);
    let out = run(promptdeck(home), &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    match serde_json::from_str(&stdout(&out)).expect("log --json is JSON") {
        Value::Array(rows) => rows,
        other => panic!("expected an array, got {other}"),
    }
}

fn overloaded() -> MockResponse {
    MockResponse::error(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
    .header("request-id", "req_529")
}

/// A config with fast retries.
fn fast_retries(home: &Path) -> String {
    let config = home.join("fast.toml");
    std::fs::write(&config, "[retry]\nmax_retries = 2\nbase_delay_ms = 10\n").unwrap();
    config.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_rows_match_what_the_server_saw_and_sent() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let prompt_text = "You greet {{name}} warmly.\n";
    std::fs::write(prompts.join("greet.txt"), prompt_text).unwrap();
    let prompts = prompts.to_str().unwrap();

    // Run 1: with a prompt and a variable.
    server.push(
        MockResponse::sse(anthropic::reply(&["Hi ", "Ada"], 12, 5))
            .header("request-id", "req_one")
            .header("anthropic-ratelimit-requests-remaining", "49"),
    );
    let out = run(
        anthropic_cmd(home.path(), &server, KEY),
        &[
            "--prompts",
            prompts,
            "--prompt",
            "greet",
            "--var",
            "name=Ada",
            "ask",
            "--json",
            "hello",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let hash = asked["prompt"]["content_hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        hash,
        promptdeck::prompts::content_hash(prompt_text).full(),
        "the hash of the prompt file's text"
    );
    assert_eq!(asked["conversation_id"], json!(1));
    let sent = &server.requests()[0];
    assert_eq!(sent.body["system"], json!("You greet Ada warmly.\n"));

    // Run 2: overloaded once, then answered: two attempts.
    server.push(overloaded());
    server.push(
        MockResponse::sse(anthropic::reply(&["second"], 20, 8)).header("request-id", "req_two"),
    );
    let config = fast_retries(home.path());
    let out = run(
        anthropic_cmd(home.path(), &server, KEY),
        &["--config", &config, "ask", "second question"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "second\n");
    assert_eq!(server.requests().len(), 3);

    let rows = log_json(home.path(), &[]).await;
    assert_eq!(rows.len(), 3, "one row per attempt: {rows:#?}");
    let [ok2, failed, ok1] = [&rows[0], &rows[1], &rows[2]];
    for (row, request) in [(ok2, 2), (failed, 1), (ok1, 0)] {
        let sent = &server.requests()[request];
        assert_eq!(row["gen_ai_request_model"], sent.body["model"]);
        assert_eq!(row["gen_ai_request_max_tokens"], sent.body["max_tokens"]);
        assert_eq!(row["gen_ai_provider_name"], json!("anthropic"));
        assert!(row["duration_ms"].is_i64(), "{row}");
    }
    // The answered retry.
    assert_eq!(ok2["attempt"], json!(2));
    assert_eq!(ok2["retry_count"], json!(1));
    assert_eq!(ok2["status"], json!("ok"));
    assert_eq!(ok2["gen_ai_response_model"], json!("claude-test"));
    assert_eq!(ok2["gen_ai_response_id"], json!("msg_test"));
    assert_eq!(ok2["provider_request_id"], json!("req_two"));
    assert_eq!(ok2["gen_ai_usage_input_tokens"], json!(20));
    assert_eq!(ok2["gen_ai_usage_output_tokens"], json!(8));
    assert_eq!(ok2["gen_ai_response_finish_reasons"], json!(["end_turn"]));
    assert_eq!(ok2["prompt"], Value::Null);
    assert_eq!(
        ok2["cost_kind"],
        json!("known"),
        "priced as the requested model"
    );
    assert_eq!(
        ok2["cost_source"],
        json!(promptdeck::llm::pricing::DATASET_LABEL),
        "priced by the bundled dataset"
    );
    assert!(ok2["time_to_first_chunk_ms"].is_i64(), "{ok2}");
    assert_eq!(ok2["conversation_id"], failed["conversation_id"]);
    // The overloaded first attempt.
    assert_eq!(failed["attempt"], json!(1));
    assert_eq!(failed["retry_count"], json!(0));
    assert_eq!(failed["status"], json!("error"));
    assert_eq!(failed["error_type"], json!("overloaded"));
    assert_eq!(failed["gen_ai_usage_output_tokens"], Value::Null);
    assert_eq!(failed["gen_ai_response_finish_reasons"], json!([]));
    // Run 1, with its prompt version.
    assert_eq!(ok1["status"], json!("ok"));
    assert_eq!(ok1["retry_count"], json!(0));
    assert_eq!(ok1["provider_request_id"], json!("req_one"));
    assert_eq!(ok1["gen_ai_usage_input_tokens"], json!(12));
    assert_eq!(ok1["gen_ai_usage_output_tokens"], json!(5));
    assert_eq!(ok1["gen_ai_response_finish_reasons"], json!(["end_turn"]));
    assert_eq!(
        ok1["prompt"],
        json!({"name": "greet", "content_hash": hash, "commit": "uncommitted"})
    );
    assert_eq!(ok1["conversation_id"], json!(1));
    assert_eq!(
        ok1["ratelimit_headers"],
        json!({"anthropic-ratelimit-requests-remaining": "49"}),
        "the server's rate-limit headers, and nothing else"
    );
    assert_eq!(
        ok1["request_params"],
        json!({
            "model": "claude-sonnet-5-5",
            "max_tokens": 4096,
            "temperature": null,
            "variables": {"name": "Ada"}
        }),
        "the variable values, so the exact system prompt can be rebuilt"
    );

    // Filters.
    let greet = log_json(home.path(), &["--prompt", "greet"]).await;
    assert_eq!(greet, vec![ok1.clone()]);
    assert_eq!(
        log_json(home.path(), &["--prompt", "other"]).await,
        Vec::<Value>::new()
    );
    assert_eq!(
        log_json(home.path(), &["--limit", "1"]).await,
        vec![ok2.clone()]
    );

    // The table.
    let out = run(promptdeck(home.path()), &["log"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    for column in [
        "TIME (UTC)",
        "PROMPT",
        "MODEL",
        "TOKENS in/out",
        "TTFT",
        "LATENCY",
        "COST",
        "PRICED BY",
        "STATUS",
    ] {
        assert!(lines[0].contains(column), "{column} in {table}");
    }
    assert!(
        lines[1].contains("20/8")
            && lines[1].contains(promptdeck::llm::pricing::DATASET_LABEL)
            && lines[1].ends_with("ok"),
        "{table}"
    );
    assert!(lines[2].contains("error: overloaded"), "{table}");
    assert!(
        lines[3].contains(&format!("greet@#{}", &hash[..12])) && lines[3].contains("12/5"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_a_conversation_as_markdown_and_jsonl() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    server.push(
        MockResponse::sse(anthropic::reply(&["The answer", " is 42."], 9, 4))
            .header("request-id", "req_exp"),
    );
    let out = run(
        anthropic_cmd(home.path(), &server, KEY),
        &["ask", "What is the answer?\nSecond line."],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = run(promptdeck(home.path()), &["conversations"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = stdout(&out);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("TITLE"),
        "{listing}"
    );
    assert!(
        lines[1].contains("claude-sonnet-5-5") && lines[1].ends_with("What is the answer?"),
        "the title is the first line: {listing}"
    );
    let id = lines[1].split_whitespace().next().unwrap();

    let out = run(promptdeck(home.path()), &["export", id, "--format", "md"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with("# What is the answer?\n"), "{md}");
    assert!(md.contains("## User"), "{md}");
    assert!(md.contains("What is the answer?\nSecond line."), "{md}");
    assert!(
        md.contains("## Assistant · claude-test · 9 in / 4 out"),
        "{md}"
    );
    assert!(md.contains("The answer is 42."), "{md}");

    let out = run(
        promptdeck(home.path()),
        &["export", id, "--format", "jsonl"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["role"], json!("user"));
    assert_eq!(
        lines[0]["content"],
        json!("What is the answer?\nSecond line.")
    );
    assert_eq!(lines[0]["state"], json!("complete"));
    assert_eq!(
        server.requests()[0].body["messages"][0]["content"],
        lines[0]["content"],
        "what was stored is what was sent"
    );
    assert_eq!(lines[1]["role"], json!("assistant"));
    assert_eq!(lines[1]["content"], json!("The answer is 42."));
    assert_eq!(lines[1]["state"], json!("complete"));
    let request = &lines[1]["request"];
    assert_eq!(request["provider_request_id"], json!("req_exp"));
    assert_eq!(request["usage"]["input_tokens"], json!(9));
    assert_eq!(request["usage"]["output_tokens"], json!(4));
    assert_eq!(request["finish_reasons"], json!(["end_turn"]));

    let out = run(promptdeck(home.path()), &["export", "999"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no conversation with id 999"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_shared_by_processes_refuses_without_sending_and_exits_10() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    for i in 0..3 {
        server.push(MockResponse::sse(anthropic::reply(
            &[&format!("reply {i}")],
            3,
            2,
        )));
    }
    let mut codes = Vec::new();
    let mut refusals = Vec::new();
    for i in 0..5 {
        let message = format!("message {i}");
        let out = run(
            anthropic_cmd(home.path(), &server, KEY),
            &["--rate-limit", "3/1m", "ask", &message],
        )
        .await;
        codes.push(out.status.code());
        if out.status.code() == Some(10) {
            assert_eq!(stdout(&out), "", "nothing was answered");
            refusals.push(stderr(&out));
        }
    }
    assert_eq!(
        codes,
        vec![Some(0), Some(0), Some(0), Some(10), Some(10)],
        "{refusals:?}"
    );
    assert_eq!(
        server.requests().len(),
        3,
        "refused requests never reach the server"
    );
    for (i, err) in refusals.iter().enumerate() {
        assert!(
            err.contains("rate limit 3/1m reached — next slot in "),
            "{err}"
        );
        // The message is not lost: it is stored, and stderr says where.
        let id = 4 + i;
        assert!(
            err.contains(&format!("saved in conversation {id}")),
            "{err}"
        );
        let out = run(
            promptdeck(home.path()),
            &["export", &id.to_string(), "--format", "jsonl"],
        )
        .await;
        let lines: Vec<Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "only the user message: {lines:?}");
        assert_eq!(lines[0]["content"], json!(format!("message {}", 3 + i)));
    }
    assert_eq!(
        log_json(home.path(), &[]).await.len(),
        3,
        "refusals are not requests"
    );
    // `off` lifts the limit.
    server.push(MockResponse::sse(anthropic::reply(&["free"], 3, 2)));
    let out = run(
        anthropic_cmd(home.path(), &server, KEY),
        &["--rate-limit", "off", "ask", "unlimited"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A bad value is a usage error naming the flag.
    let out = run(
        anthropic_cmd(home.path(), &server, KEY),
        &["--rate-limit", "3/1x", "ask", "x"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rate-limit"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_reply_keeps_the_streamed_text_marked_interrupted() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let delta = |text: &str| {
        anthropic::event(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}))
    };
    let head = anthropic::message_start("claude-test", "msg_kill", 7)
        + &anthropic::event(json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}))
        + &delta("partial ");
    server.push(
        MockResponse::sse_steps(vec![
            Step::Chunk(head.into()),
            Step::Sleep(Duration::from_millis(300)),
            Step::Chunk(delta("text").into()),
            Step::Sleep(Duration::from_secs(600)),
        ])
        .header("request-id", "req_kill"),
    );
    let mut cmd = anthropic_cmd(home.path(), &server, KEY);
    cmd.args(["ask", "tell me a long story"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut child_out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("partial text") {
            let n = child_out.read(&mut buf).await.unwrap();
            assert!(n > 0, "stdout closed early");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the partial text was printed");
    // The promise: at most about the last second of streamed text is lost.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    child.kill().await.unwrap(); // SIGKILL: no cleanup runs
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal");

    let out = run(
        promptdeck(home.path()),
        &["export", "1", "--format", "jsonl"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["content"], json!("tell me a long story"));
    assert_eq!(lines[1]["role"], json!("assistant"));
    assert_eq!(lines[1]["content"], json!("partial text"));
    assert_eq!(lines[1]["state"], json!("interrupted"));
    assert_eq!(lines[1]["request"]["status"], json!("interrupted"));
    assert_eq!(
        lines[1]["request"]["provider_request_id"],
        json!("req_kill")
    );
    // The store itself says the same.
    let store = promptdeck::store::Store::open(&home.path().join("data/promptdeck.db")).unwrap();
    let conversation = store
        .load_conversation(promptdeck::store::ConversationId(1))
        .unwrap();
    assert_eq!(
        conversation.messages[1].message.state,
        promptdeck::store::MessageState::Interrupted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_reaches_the_database() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    server.push(MockResponse::sse(anthropic::reply(&["fine"], 3, 1)));
    // A proxy that echoes the key back in its error.
    server.push(MockResponse::error(
        401,
        json!({"type": "error", "error": {"type": "authentication_error",
            "message": format!("invalid x-api-key {KEY}")}}),
    ));
    let out = run(anthropic_cmd(home.path(), &server, KEY), &["ask", "one"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(anthropic_cmd(home.path(), &server, KEY), &["ask", "two"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(server.requests()[1].header("x-api-key"), Some(KEY));
    let rows = log_json(home.path(), &[]).await;
    assert_eq!(rows[0]["error_type"], json!("auth"));
    assert!(
        rows[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("[redacted]"),
        "{}",
        rows[0]
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(home.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the key is in {}",
            path.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "the database and the limiter's file were checked"
    );
    for format in ["md", "jsonl"] {
        let out = run(
            promptdeck(home.path()),
            &["export", "2", "--format", format],
        )
        .await;
        assert!(!stdout(&out).contains(KEY));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_commands_work_without_a_usable_provider() {
    let home = tempfile::tempdir().unwrap();
    // Anthropic chosen but no key: asking fails with a config error...
    let out = run(
        promptdeck(home.path()),
        &["--provider", "anthropic", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    // ...but the history is still readable.
    let out = run(promptdeck(home.path()), &["--provider", "anthropic", "log"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no requests logged yet"),
        "{}",
        stdout(&out)
    );
    let out = run(
        promptdeck(home.path()),
        &["--provider", "anthropic", "conversations"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
