//! The chat's history survives a crash: a reply killed mid-stream (kill -9) is in the
//! database with its partial text, marked interrupted, and `--resume` brings the conversation
//! back on screen.

mod common;

use std::time::Duration;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use common::pty::Running;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_killed_mid_stream_is_kept_and_resume_reopens_it() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_1", 7)
                + &anthropic::text_block(0, &["The first half of a long answer"]))
                .into(),
        ),
        Step::Hang,
    ]));
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        (
            "PROMPTDECK_DATA_DIR",
            home.path().join("data").display().to_string(),
        ),
        ("ANTHROPIC_API_KEY", "sk-test".to_string()),
        ("ANTHROPIC_BASE_URL", server.base_url()),
    ];
    let mut app = Running::start_in(&env, None);
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"a question worth keeping\r");
    app.screen.wait_for("the partial reply", |s| {
        s.contains("The first half of a long answer")
    });
    // Checkpoints happen at least every second: wait past one, then kill without warning.
    std::thread::sleep(Duration::from_millis(1200));
    let pid = app.child.process_id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = app.child.wait();

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
    let messages: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
    let server = MockServer::start().await;
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_1", 7)
                + &anthropic::text_block(0, &["Half an answer"]))
                .into(),
        ),
        Step::Hang,
    ]));
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        (
            "PROMPTDECK_DATA_DIR",
            home.path().join("data").display().to_string(),
        ),
        ("ANTHROPIC_API_KEY", "sk-test".to_string()),
        ("ANTHROPIC_BASE_URL", server.base_url()),
    ];
    let mut app = Running::start_in(&env, None);
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"question\r");
    app.screen
        .wait_for("the partial reply", |s| s.contains("Half an answer"));
    let pid = app.child.process_id().expect("pid");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    app.wait_exit_restored();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promptdeck"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["export", "1", "--format", "jsonl"])
        .output()
        .unwrap();
    let last: Value = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap())
        .expect("the reply was stored");
    assert_eq!(last["content"], "Half an answer");
    assert_eq!(
        last["state"], "interrupted",
        "an SSH drop is not the user's cancel"
    );
}
