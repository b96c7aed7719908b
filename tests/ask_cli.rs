//! `promptdeck ask`, the real binary, against the mock servers: stdout carries exactly the
//! streamed text, stderr the summary, `--json` one parseable object, and each failure class
//! its own exit status.

mod common;

use std::time::Duration;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, Step, anthropic, openai};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_prints_exactly_the_streamed_text_and_a_summary() {
    let server = MockServer::start().await;
    let body = anthropic::reply(&["Hello", ", wörld ", "👋\n\tindented"], 21, 7);
    // Cut every 3 bytes: through the emoji, the umlaut and the line ends.
    server.push(MockResponse::sse_chunked(body, 3).header("request-id", "req_abc"));
    let home = tempfile::tempdir().unwrap();
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["ask", "say", "hello"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Hello, wörld 👋\n\tindented\n",
        "and a final newline"
    );
    let err = stderr(&out);
    assert!(err.contains("tokens in 21 out 7"), "{err}");
    assert!(
        err.contains("first token") && err.contains("total"),
        "{err}"
    );
    assert!(err.contains("end_turn"), "{err}");
    assert!(!err.contains("sk-ant-secret-123"));
    let sent = &server.requests()[0];
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": "say hello"}])
    );
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-secret-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_json_is_one_object_with_usage_timings_and_provenance_of_the_reply() {
    let server = MockServer::start().await;
    server.push(
        MockResponse::sse(openai::reply(&["fine", " thanks"], 30, 4, 10))
            .header("x-request-id", "oa-req-1"),
    );
    let home = tempfile::tempdir().unwrap();
    let mut cmd = promptdeck(home.path());
    cmd.env("OPENAI_BASE_URL", server.openai_base_url());
    let out = run(
        cmd,
        &["ask", "--json", "--model", "local-model", "how are you"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(v["text"], json!("fine thanks"));
    assert_eq!(v["provider"], json!("openai"));
    assert_eq!(v["model"], json!("local-model"));
    assert_eq!(v["request_id"], json!("oa-req-1"));
    assert_eq!(v["stop_reason"], json!("end_turn"));
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["usage_reported"], json!(true));
    assert_eq!(
        v["usage"]["input_tokens"],
        json!(20),
        "prompt tokens minus cached"
    );
    assert_eq!(v["usage"]["cache_read_input_tokens"], json!(10));
    assert_eq!(v["usage"]["output_tokens"], json!(4));
    assert!(
        v["time_to_first_token_ms"].is_u64() && v["total_ms"].is_u64(),
        "{v}"
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        None,
        "no key, no header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_reads_the_message_from_stdin() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(&["ok"], 5, 1)));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    cmd.args(["ask"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"line one\nline two\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
    assert_eq!(
        server.requests()[0].body["messages"][0]["content"],
        json!("line one\nline two\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_cpp_without_usage_says_not_reported_never_zero() {
    let server = MockServer::start().await;
    let body = openai::delta(json!({"role": "assistant", "content": "hi"}))
        + &openai::finish("stop")
        + &openai::done();
    server.push(MockResponse::sse(body));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = promptdeck(home.path());
    cmd.env("OPENAI_BASE_URL", server.openai_base_url());
    let out = run(cmd, &["ask", "hello"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("usage not reported"),
        "{}",
        stderr(&out)
    );
    let mut cmd = promptdeck(home.path());
    server.push(MockResponse::sse(
        openai::delta(json!({"content": "hi"})) + &openai::finish("stop") + &openai::done(),
    ));
    cmd.env("OPENAI_BASE_URL", server.openai_base_url());
    let out = run(cmd, &["ask", "--json", "hello"]).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["usage_reported"], json!(false));
    assert_eq!(v["usage"]["output_tokens"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_sequences_from_the_model_never_reach_stdout() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(
        &["safe\u{1b}]0;title\u{7} text\u{1b}[2J\u{9b}1m end"],
        5,
        3,
    )));
    let home = tempfile::tempdir().unwrap();
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["ask", "x"],
    )
    .await;
    assert_eq!(stdout(&out), "safe text end\n");
}

/// Each failure class has its own exit status and its own message on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_class_has_its_exit_status_and_message() {
    let cases: Vec<(MockResponse, i32, &str)> = vec![
        (
            MockResponse::error(401, json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})),
            4,
            "authentication failed",
        ),
        (
            MockResponse::error(400, json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}})),
            5,
            "max_tokens: too large",
        ),
        (
            MockResponse::error(404, json!({"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}})),
            5,
            "check the model name",
        ),
        (
            MockResponse::error(429, json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}))
                .header("retry-after", "7"),
            6,
            "retry after 7",
        ),
        (
            MockResponse::error(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
            7,
            "overloaded",
        ),
        (
            MockResponse::error(500, json!({"type": "error", "error": {"type": "api_error", "message": "boom"}})),
            7,
            "server error (500)",
        ),
        (
            MockResponse::sse_steps(vec![
                Step::Chunk(
                    (anthropic::message_start("m", "msg_1", 3) + &anthropic::text_block(0, &["partial"]))
                        .into(),
                ),
                Step::Sleep(Duration::from_millis(100)),
                Step::Abort,
            ]),
            8,
            "",
        ),
        (
            MockResponse::sse("event: message_start\ndata: {not json\n\n"),
            9,
            "malformed",
        ),
    ];
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    // One attempt each: retries are tested on their own.
    let config = home.path().join("no-retries.toml");
    std::fs::write(&config, "[retry]\nmax_retries = 0\n").unwrap();
    let config = config.to_str().unwrap();
    for (response, code, message) in cases {
        server.push(response);
        let out = run(
            anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
            &["--config", config, "ask", "hi"],
        )
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains("promptdeck: error:"), "{err}");
        assert!(err.contains(message), "expected {message:?} in {err}");
        assert!(!err.contains("sk-ant-secret-123"), "{err}");
    }
    // The dropped stream printed its partial text before failing.
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("m", "msg_2", 3) + &anthropic::text_block(0, &["partial"]))
                .into(),
        ),
        Step::Sleep(Duration::from_millis(100)),
        Step::Abort,
    ]));
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["ask", "hi"],
    )
    .await;
    assert_eq!(
        stdout(&out),
        "partial\n",
        "a failure after text is never retried"
    );
    assert_eq!(server.requests().len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overload_storm_ends_on_the_fallback_model_and_says_so() {
    let server = MockServer::start().await;
    let overloaded = || {
        MockResponse::error(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
    };
    for _ in 0..3 {
        server.push(overloaded());
    }
    server.push(MockResponse::sse(anthropic::reply(
        &["from the fallback"],
        4,
        3,
    )));
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("fallback.toml");
    std::fs::write(
        &config,
        "fallback = [\"claude-fallback\"]\n[retry]\nmax_retries = 2\nbase_delay_ms = 10\n",
    )
    .unwrap();
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--config", config.to_str().unwrap(), "ask", "--json", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["text"], json!("from the fallback"));
    assert_eq!(v["model"], json!("claude-fallback"));
    assert_eq!(v["attempts"], json!(4));
    let err = stderr(&out);
    assert!(
        err.contains("attempt 1 failed (overloaded); retrying in"),
        "{err}"
    );
    assert!(
        err.contains("attempt 3 failed (overloaded); falling back to claude-fallback"),
        "{err}"
    );
    let models: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.body["model"].clone())
        .collect();
    assert_eq!(
        models,
        vec![
            json!("claude-sonnet-5-5"),
            json!("claude-sonnet-5-5"),
            json!("claude-sonnet-5-5"),
            json!("claude-fallback")
        ]
    );
    // The log has one row per attempt, oldest last, linked to the one user message.
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--config", config.to_str().unwrap(), "log", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).expect("log --json parses");
    let attempts: Vec<(Value, Value, Value, Value)> = rows
        .iter()
        .rev()
        .map(|r| {
            (
                r["attempt"].clone(),
                r["gen_ai_request_model"].clone(),
                r["status"].clone(),
                r["error_type"].clone(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        vec![
            (
                json!(1),
                json!("claude-sonnet-5-5"),
                json!("error"),
                json!("overloaded")
            ),
            (
                json!(2),
                json!("claude-sonnet-5-5"),
                json!("error"),
                json!("overloaded")
            ),
            (
                json!(3),
                json!("claude-sonnet-5-5"),
                json!("error"),
                json!("overloaded")
            ),
            (json!(4), json!("claude-fallback"), json!("ok"), Value::Null),
        ]
    );
    let message_ids: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r["message_id"].to_string()).collect();
    assert_eq!(
        message_ids.len(),
        1,
        "every attempt is linked to the same message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_and_usage_errors_have_their_own_statuses() {
    let home = tempfile::tempdir().unwrap();
    let theme = home.path().join("theme.toml");
    std::fs::write(&theme, "[roles]\naccent = { fg = \"ultraviolet\" }\n").unwrap();
    let out = run(
        promptdeck(home.path()),
        &["--theme", theme.to_str().unwrap(), "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("theme.toml") && stderr(&out).contains("ultraviolet"),
        "{}",
        stderr(&out)
    );
    let out = run(
        promptdeck(home.path()),
        &["--provider", "anthropic", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("ANTHROPIC_API_KEY"),
        "{}",
        stderr(&out)
    );

    let config = home.path().join("bad.toml");
    std::fs::write(&config, "provider = \"anthropic\"\nmax_tokens = \"lots\"\n").unwrap();
    let out = run(
        promptdeck(home.path()),
        &["--config", config.to_str().unwrap(), "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("max_tokens"), "{}", stderr(&out));

    let out = run(
        promptdeck(home.path()),
        &["--config", "/nonexistent/promptdeck.toml", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));

    let out = run(promptdeck(home.path()), &["ask", "   "]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_offline_and_says_it_is_not_a_model() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        promptdeck(home.path()),
        &["--provider", "demo", "ask", "--json", "try it"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["provider"], json!("demo"));
    assert_eq!(v["label"], json!("demo — not a model"));
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("offline **demo** provider")
    );
    // Nothing configured at all: the demo is the fallback, and says so on stderr.
    let out = run(promptdeck(home.path()), &["ask", "hello"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("demo — not a model"),
        "{}",
        stderr(&out)
    );
}

/// `promptdeck ask … | head -c 20`: once the reader is gone the request stops (it is not
/// downloaded to the end), is recorded as cancelled, and the exit status is 141.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_stops_the_request_and_records_it_cancelled() {
    use tokio::io::AsyncReadExt;
    let server = MockServer::start().await;
    let mut steps = vec![Step::Chunk(
        anthropic::message_start("claude-test", "msg_pipe", 5).into(),
    )];
    for i in 0..300 {
        let piece = format!("chunk {i:03} of a long reply. ");
        steps.push(Step::Chunk(
            anthropic::text_block(0, &[piece.as_str()]).into(),
        ));
        steps.push(Step::Sleep(Duration::from_millis(20)));
    }
    server.push(MockResponse::sse_steps(steps));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    cmd.args(["ask", "go on"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut first = [0u8; 20];
    pipe.read_exact(&mut first).await.unwrap();
    drop(pipe); // `head -c 20` is done reading
    let started = std::time::Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("it stops without the rest of the reply")
        .unwrap();
    assert_eq!(status.code(), Some(141));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 6 s reply was not downloaded to the end: {:?}",
        started.elapsed()
    );
    let log = run(promptdeck(home.path()), &["log", "--json"]).await;
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    assert_eq!(rows[0]["status"], json!("cancelled"), "{rows}");
}

/// SIGTERM (or SIGHUP from a dropped SSH session) mid-reply: `ask` records the reply as
/// interrupted with its text so far, instead of dying with the row left `streaming`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_reply_records_it_interrupted() {
    use tokio::io::AsyncReadExt;
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_term", 5)
                + &anthropic::text_block(0, &["half of the answer"]))
                .into(),
        ),
        Step::Hang,
    ]));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    cmd.args(["ask", "tell me"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut seen = vec![0u8; "half of the answer".len()];
    pipe.read_exact(&mut seen).await.unwrap();
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("it ends")
        .unwrap();
    assert_eq!(status.code(), Some(143));
    let log = run(promptdeck(home.path()), &["log", "--json"]).await;
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    assert_eq!(rows[0]["status"], json!("interrupted"), "{rows}");
    let export = run(
        promptdeck(home.path()),
        &["export", "1", "--format", "jsonl"],
    )
    .await;
    let reply: Value = serde_json::from_str(stdout(&export).lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        (&reply["content"], &reply["state"]),
        (&json!("half of the answer"), &json!("interrupted"))
    );
}

/// A log directory that cannot be made (here the state dir's place is taken by a file, and
/// no data dir is given, so the log goes there): a warning, and the answer all the same —
/// never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_that_cannot_be_opened_is_a_warning_not_a_panic() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("state"), "a file").unwrap();
    let mut cmd = promptdeck(home.path());
    cmd.env_remove("PROMPTDECK_DATA_DIR")
        .env("XDG_DATA_HOME", home.path().join("share"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .args(["--provider", "demo"]);
    let out = run(cmd, &["ask", "hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write the log file"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(!stdout(&out).is_empty(), "the demo still answers");
}

/// A prompt that is a link to a file outside the prompts directory (`shadow.txt ->
/// /etc/shadow`) is refused, and nothing is sent; a link inside the library still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_linking_outside_the_library_is_refused_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(home.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(home.path().join("secret.txt"), prompts.join("shadow.txt")).unwrap();
    std::fs::write(prompts.join("real.txt"), "Be kind.").unwrap();
    std::os::unix::fs::symlink(prompts.join("real.txt"), prompts.join("alias.txt")).unwrap();
    let prompts = prompts.to_str().unwrap();
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--prompts", prompts, "--prompt", "shadow", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside the prompts directory"),
        "{}",
        stderr(&out)
    );
    assert!(server.requests().is_empty(), "nothing was sent");
    // The library lists it as refused, with the reason, and still lists the others; so is a
    // file whose name has a control character.
    std::fs::write(
        std::path::Path::new(prompts).join("bell\u{7}.txt"),
        "odd name",
    )
    .unwrap();
    let listed = run(promptdeck(home.path()), &["--prompts", prompts, "prompts"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let listing = stdout(&listed);
    assert!(
        listing.contains("shadow  error:") && listing.contains("outside the prompts directory"),
        "{listing}"
    );
    assert!(listing.contains("real  #"), "{listing}");
    assert!(listing.contains("bell  refused:"), "{listing}");
    assert!(!listing.contains('\u{7}'), "{listing:?}");

    server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--prompts", prompts, "--prompt", "alias", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.requests()[0].body["system"], json!("Be kind."));
}

/// A prompts repository owned by another user ("dubious ownership" to git): the working files
/// are used, with a note that the history is unavailable, instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_git_refuses_falls_back_to_the_working_files() {
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("p.txt"), "Be brief.").unwrap();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&prompts)
            .env("HOME", home.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    assert!(git(&["init", "-q"]) && git(&["add", "."]) && git(&["commit", "-qm", "p"]));
    // Another owner: only root can hand the repository to someone else.
    let handed = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&prompts)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !handed {
        eprintln!("skipped: cannot change the repository's owner (not root)");
        return;
    }
    let prompts = prompts.to_str().unwrap();
    let listed = run(promptdeck(home.path()), &["--prompts", prompts, "prompts"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains("dubious ownership"),
        "{}",
        stdout(&listed)
    );
    assert!(stdout(&listed).contains("p  #"), "{}", stdout(&listed));
    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--prompts", prompts, "--prompt", "p", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.requests()[0].body["system"], json!("Be brief."));
}

/// `--rate-limit off` with no budgets counts nothing, so it needs no limiter database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_off_needs_no_limiter_file() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(&["free"], 3, 1)));
    let home = tempfile::tempdir().unwrap();
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
        &["--rate-limit", "off", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let data = home.path().join("data");
    assert!(
        !data.join(promptdeck::limit::SQLITE_FILE_NAME).exists(),
        "no limiter file"
    );
    assert!(
        data.join("promptdeck.db").exists(),
        "the history is kept as ever"
    );
}
