//! The chat's history survives a crash: a reply killed mid-stream (kill -9) is in the
//! database with its partial text, marked interrupted, and `--resume` brings the conversation
//! back on screen; an SSH drop (SIGHUP) marks it interrupted too.

mod common;

use std::time::Duration;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use common::pty::{Running, anthropic_env};
use serde_json::Value;

/// A chat whose reply streams `partial` and then hangs: the app, once `partial` is on screen.
struct HalfAnswered {
    _server: MockServer,
    _home: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    app: Running,
}

async fn half_answered(question: &str, partial: &str) -> HalfAnswered {
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_1", 7)
                + &anthropic::text_block(0, &[partial]))
                .into(),
        ),
        Step::Hang,
    ]));
    let home = tempfile::tempdir().unwrap();
    let env = anthropic_env(home.path(), &server.base_url());
    let mut app = Running::start_in(&env, None);
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(format!("{question}\r").as_bytes());
    app.screen
        .wait_for("the partial reply", |s| s.contains(partial));
    HalfAnswered {
        _server: server,
        _home: home,
        env,
        app,
    }
}

/// Sends `signal` to the app.
fn signal(app: &Running, signal: &str) {
    let pid = app.child.process_id().expect("pid");
    let sent = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// `promptdeck export 1 --format jsonl`, one JSON value per message.
fn export_first(env: &[(&'static str, String)]) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promptdeck"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["export", "1", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_killed_mid_stream_is_kept_and_resume_reopens_it() {
    let HalfAnswered {
        _server,
        _home,
        env,
        mut app,
    } = half_answered(
        "a question worth keeping",
        "The first half of a long answer",
    )
    .await;
    // Checkpoints happen at least every second: wait past one, then kill without warning.
    std::thread::sleep(Duration::from_millis(1200));
    signal(&app, "-KILL");
    let _ = app.child.wait();

    let messages = export_first(&env);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["content"], "a question worth keeping");
    assert_eq!(messages[1]["content"], "The first half of a long answer");
    assert_eq!(messages[1]["state"], "interrupted");

    // --resume reopens it: the transcript is back, marked interrupted.
    let mut app = Running::start_with(&env, None, &["--resume"]);
    let shown = app.screen.wait_for("the resumed conversation", |s| {
        s.contains("resumed conversation 1")
    });
    assert!(shown.contains("a question worth keeping"), "{shown}");
    assert!(shown.contains("The first half of a long answer"), "{shown}");
    assert!(shown.contains("interrupted"), "{shown}");
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_drop_mid_reply_restores_the_terminal_and_keeps_the_reply_as_interrupted() {
    let HalfAnswered {
        _server,
        _home,
        env,
        app,
    } = half_answered("question", "Half an answer").await;
    signal(&app, "-HUP");
    app.wait_exit_restored();
    let last = export_first(&env).pop().expect("the reply was stored");
    assert_eq!(last["content"], "Half an answer");
    assert_eq!(
        last["state"], "interrupted",
        "an SSH drop is not the user's cancel"
    );
}

/// Issue 9's bug: after `--resume 1` (prompt greeter, name=Alice), Ctrl-O reopens a
/// conversation made without a prompt; the next message must carry that conversation's own
/// system prompt (none), not greeter's, and be logged in it without a prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_o_to_a_conversation_without_a_prompt_sends_without_the_one_shown_before() {
    use common::cli::{anthropic_cmd, run, stderr, stdout};
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("greeter.txt"), "You greet {{name}} warmly.\n").unwrap();
    let prompts = prompts.to_str().unwrap();
    let ask = |args: &[&str]| {
        let mut all = vec!["--prompts", prompts];
        all.extend_from_slice(args);
        all.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    // Conversation 1 with greeter and name=Alice; conversation 2 without a prompt.
    for (args, answer) in [
        (
            ask(&["--prompt", "greeter", "--var", "name=Alice", "ask", "hello"]),
            "Hi Alice",
        ),
        (ask(&["ask", "a plain question"]), "Plain answer"),
    ] {
        server.push(MockResponse::sse(anthropic::reply(&[answer], 10, 3)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(anthropic_cmd(home.path(), &server, "sk-test"), &args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(
        server.requests()[0].body["system"],
        "You greet Alice warmly.\n"
    );

    let env = anthropic_env(home.path(), &server.base_url());
    let mut app = Running::start_with(&env, None, &["--prompts", prompts, "--resume", "1"]);
    app.screen.wait_for("conversation 1 with greeter", |s| {
        s.contains("resumed conversation 1") && s.contains("greeter")
    });
    app.type_bytes(b"\x0f"); // Ctrl-O: the most recent conversation (2) is selected first.
    app.screen
        .wait_for("the conversation list", |s| s.contains("a plain question"));
    app.type_bytes(b"\r");
    app.screen
        .wait_for("conversation 2", |s| s.contains("resumed conversation 2"));
    server.push(MockResponse::sse(anthropic::reply(
        &["Fine, thanks"],
        10,
        3,
    )));
    app.type_bytes(b"and now?\r");
    app.screen
        .wait_for("the reply", |s| s.contains("Fine, thanks"));
    let sent = server.requests().last().cloned().expect("a request");
    assert_eq!(sent.body.get("system"), None, "{}", sent.body);
    let asked: Vec<&str> = sent.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(asked, vec!["a plain question", "Plain answer", "and now?"]);
    app.type_bytes(b"\x03");
    app.wait_exit_restored();

    // The log files it under conversation 2, without a prompt.
    let out = run(
        anthropic_cmd(home.path(), &server, "sk-test"),
        &["log", "--json"],
    )
    .await;
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows[0]["conversation_id"], 2, "{rows}");
    assert_eq!(rows[0]["prompt"], Value::Null, "{rows}");
}

/// The data dir deleted while the chat streams a reply: the database thread recreates the
/// history database and the status line says so (it used to go only to the log file, itself
/// deleted); the reply is then in the recreated database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_deleted_mid_chat_is_said_on_the_status_line() {
    let server = MockServer::start().await;
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_1", 7)
                + &anthropic::text_block(0, &["before the rm"]))
                .into(),
        ),
        Step::WaitFor(go.clone()),
        Step::Chunk((anthropic::message_delta("end_turn", 3) + &anthropic::message_stop()).into()),
    ]));
    let home = tempfile::tempdir().unwrap();
    let env = anthropic_env(home.path(), &server.base_url());
    let mut app = Running::start_in(&env, None);
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"hello\r");
    app.screen
        .wait_for("the partial reply", |s| s.contains("before the rm"));
    std::fs::remove_dir_all(home.path().join("data")).expect("delete the data dir");
    go.notify_one();
    app.screen
        .wait_for("the status line", |s| s.contains("was deleted"));
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
    let messages = export_first(&env);
    assert_eq!(
        messages
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>(),
        vec!["hello", "before the rm"]
    );
}
