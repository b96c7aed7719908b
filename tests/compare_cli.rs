//! `promptdeck compare`, the real binary, against the mock server: lanes run at once through
//! the one request path, each with its own pace, failure and limiter answer.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::cli::{anthropic_cmd, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, Step, anthropic};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// A reply of `model` whose first text comes after `delay`.
fn paced(model: &str, text: &str, delay: Duration, output_tokens: u64) -> MockResponse {
    MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(anthropic::message_start(model, "msg", 10))),
        Step::Sleep(delay),
        Step::Chunk(Bytes::from(
            anthropic::text_block(0, &[text])
                + &anthropic::message_delta("end_turn", output_tokens)
                + &anthropic::message_stop(),
        )),
    ])
}

async fn compare(
    home: &std::path::Path,
    server: &MockServer,
    args: &[&str],
) -> std::process::Output {
    run(anthropic_cmd(home, server, "sk-test"), args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_models_run_at_once_and_the_fast_one_is_shown_so() {
    let server = MockServer::start().await;
    server.push_for(
        "claude-fast",
        paced("claude-fast", "Quick answer.", Duration::from_millis(20), 3),
    );
    server.push_for(
        "claude-slow",
        paced(
            "claude-slow",
            "Slow, careful answer.",
            Duration::from_millis(600),
            5,
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = compare(
        home.path(),
        &server,
        &[
            "--model",
            "claude-slow",
            "--model",
            "claude-fast",
            "compare",
            "--json",
            "hi",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lanes: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let lanes = lanes.as_array().unwrap();
    assert_eq!(lanes.len(), 2);
    assert_eq!(
        (&lanes[0]["lane"], &lanes[0]["model"], &lanes[0]["text"]),
        (
            &json!(1),
            &json!("claude-slow"),
            &json!("Slow, careful answer.")
        )
    );
    assert_eq!(
        (&lanes[1]["lane"], &lanes[1]["model"], &lanes[1]["text"]),
        (&json!(2), &json!("claude-fast"), &json!("Quick answer."))
    );
    let ttft = |l: &Value| l["time_to_first_token_ms"].as_u64().unwrap();
    assert!(ttft(&lanes[1]) < ttft(&lanes[0]), "{lanes:?}");
    assert!(ttft(&lanes[0]) >= 600);
    // At once: the two together took about as long as the slow one alone, not the sum.
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_ne!(lanes[0]["conversation_id"], lanes[1]["conversation_id"]);
    assert_eq!(lanes[1]["usage"]["output_tokens"], json!(3));
    assert_eq!(server.requests().len(), 2);
    // Both lanes are one compare run in the log.
    let id = lanes[0]["compare_id"].as_str().unwrap().to_string();
    assert_eq!(lanes[1]["compare_id"], json!(id));
    assert!(
        stderr(&out).contains(&format!("log --compare {id}")),
        "{}",
        stderr(&out)
    );
    let log = run(
        anthropic_cmd(home.path(), &server, "sk-test"),
        &["log", "--json", "--compare", &id],
    )
    .await;
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    let mut models: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["gen_ai_request_model"].clone())
        .collect();
    models.sort_by_key(|v| v.to_string());
    assert_eq!(models, vec![json!("claude-fast"), json!("claude-slow")]);
    let other = run(
        anthropic_cmd(home.path(), &server, "sk-test"),
        &["log", "--json", "--compare", "nope"],
    )
    .await;
    assert_eq!(stdout(&other).trim(), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_lane_never_stops_the_other_and_sets_the_exit_status() {
    let server = MockServer::start().await;
    server.push_for(
        "claude-good",
        paced("claude-good", "Fine here.", Duration::ZERO, 2),
    );
    server.push_for(
        "claude-bad",
        MockResponse::error(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}),
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let out = compare(
        home.path(),
        &server,
        &[
            "--model",
            "claude-good",
            "--model",
            "claude-bad",
            "compare",
            "hello",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("── lane 1 · no prompt · claude-good ──\nFine here.\n"),
        "{text}"
    );
    assert!(
        text.contains("── lane 2 · no prompt · claude-bad ──"),
        "{text}"
    );
    assert!(text.contains("(bad_request:"), "{text}");
    let table = text
        .lines()
        .find(|l| l.starts_with("LANE"))
        .expect("a summary table");
    assert!(table.contains("FIRST TOKEN"), "{table}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("2 ") && l.contains("bad_request")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_refused_by_the_limit_says_so_and_the_other_goes() {
    let server = MockServer::start().await;
    server.push_for("claude-a", paced("claude-a", "A", Duration::ZERO, 1));
    server.push_for("claude-b", paced("claude-b", "B", Duration::ZERO, 1));
    let home = tempfile::tempdir().unwrap();
    let out = compare(
        home.path(),
        &server,
        &[
            "--rate-limit",
            "1/1m",
            "--model",
            "claude-a",
            "--model",
            "claude-b",
            "compare",
            "--json",
            "hi",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert_eq!(
        server.requests().len(),
        1,
        "one slot: one request reached the server"
    );
    let lanes: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let kinds: Vec<Value> = lanes
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["error"]["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("local_rate_limit")), "{kinds:?}");
    assert!(kinds.contains(&Value::Null), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_prompt_versions_send_their_own_system_prompts_and_are_logged_with_them() {
    let server = MockServer::start().await;
    server.push(paced("claude-sonnet-5-5", "one", Duration::ZERO, 1));
    server.push(paced("claude-sonnet-5-5", "two", Duration::ZERO, 1));
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("terse.txt"), "Answer {{style}} in one line.").unwrap();
    std::fs::write(prompts.join("warm.txt"), "Answer kindly.").unwrap();
    let prompts = prompts.to_str().unwrap();
    let out = compare(
        home.path(),
        &server,
        &[
            "--prompts",
            prompts,
            "--prompt",
            "terse",
            "--prompt",
            "warm",
            "--var",
            "style=plainly",
            "compare",
            "--json",
            "hi",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut systems: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.body["system"].clone())
        .collect();
    systems.sort_by_key(|v| v.to_string());
    assert_eq!(
        systems,
        vec![
            json!("Answer kindly."),
            json!("Answer plainly in one line.")
        ]
    );
    let lanes: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(lanes[0]["prompt"]["name"], json!("terse"));
    assert_eq!(lanes[1]["prompt"]["name"], json!("warm"));
    let log = run(
        anthropic_cmd(home.path(), &server, "sk-test"),
        &["log", "--json"],
    )
    .await;
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    let mut names: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["prompt"]["name"].clone())
        .collect();
    names.sort_by_key(|v| v.to_string());
    assert_eq!(names, vec![json!("terse"), json!("warm")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lane_is_not_a_comparison() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let out = compare(home.path(), &server, &["compare", "hi"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("two lanes or more"),
        "{}",
        stderr(&out)
    );
    assert!(server.requests().is_empty());
}
