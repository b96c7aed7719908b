//! End to end: the real binary in a pseudo-terminal, talking to the mock Anthropic server.
//!
//! The test types a message, watches the reply appear on the (emulated) screen while the
//! server is still streaming it, quits with Ctrl-C and checks that the terminal was restored:
//! alternate screen left, cursor shown, bracketed paste off.

mod common;

use std::time::Duration;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use common::pty::Running;

/// A clean environment with nothing configured (the demo), data under `data`.
fn demo_env(home: &std::path::Path, data: &std::path::Path) -> [(&'static str, String); 3] {
    [
        ("HOME", home.display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ("PROMPTDECK_DATA_DIR", data.display().to_string()),
    ]
}

#[test]
fn sighup_restores_the_terminal_and_keeps_the_unsent_draft() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let env = demo_env(home.path(), &data);
    let mut app = Running::start(&env);
    app.screen.wait_for("the welcome screen", |s| {
        s.contains("Welcome to promptdeck")
    });
    app.type_bytes("half-written thought, 日本語".as_bytes());
    app.screen
        .wait_for("the draft", |s| s.contains("half-written thought"));
    let pid = app.child.process_id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    app.wait_exit_restored();
    assert_eq!(
        std::fs::read_to_string(data.join("draft.txt")).unwrap(),
        "half-written thought, 日本語"
    );
    // The next start brings the draft back into the composer.
    let mut app = Running::start(&env);
    app.screen.wait_for("the restored draft", |s| {
        s.contains("half-written thought, 日本語")
    });
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_in_a_real_terminal_streams_and_restores_the_terminal() {
    let server = MockServer::start().await;
    // The reply comes in three parts, with a pause long enough to see the first part on
    // screen while the rest is still on its way.
    let head = anthropic::message_start("claude-e2e", "msg_e2e", 9);
    let body = vec![
        Step::Chunk(head.into()),
        Step::Chunk(anthropic::text_block(0, &["First part of the reply."]).into()),
        Step::Sleep(Duration::from_secs(3)),
        Step::Chunk(anthropic::text_block(1, &[" Second part, ", "with 日本語 and 👋."]).into()),
        Step::Chunk((anthropic::message_delta("end_turn", 17) + &anthropic::message_stop()).into()),
    ];
    server.push(MockResponse::sse_steps(body));

    let home = tempfile::tempdir().unwrap();
    let mut app = Running::start(&[
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        ("ANTHROPIC_API_KEY", "sk-test-e2e".to_string()),
        ("ANTHROPIC_BASE_URL", server.base_url()),
        (
            "PROMPTDECK_DATA_DIR",
            home.path().join("data").display().to_string(),
        ),
    ]);
    let screen = &app.screen;
    let start = screen.wait_for("the chat screen", |s| {
        s.contains("anthropic · claude-sonnet-5-5") && s.contains("message")
    });
    assert!(
        screen.parser.lock().unwrap().screen().alternate_screen(),
        "the app draws on the alternate screen:\n{start}"
    );

    app.type_bytes(b"hello from a pty");
    app.screen
        .wait_for("the typed text", |s| s.contains("hello from a pty"));
    app.type_bytes(b"\r");
    let screen = &app.screen;

    let mid = screen.wait_for("the first part of the reply", |s| {
        s.contains("First part of the reply.")
    });
    assert!(
        !mid.contains("Second part"),
        "the first part is painted before the rest arrives:\n{mid}"
    );
    assert!(
        mid.contains("▌ you") && mid.contains("hello from a pty"),
        "{mid}"
    );

    let done = screen.wait_for("the whole reply", |s| {
        s.contains("Second part, with 日本語 and 👋.") && s.contains("17 tok")
    });
    assert!(
        done.contains("◆ claude-e2e"),
        "the header names the answering model:\n{done}"
    );

    app.type_bytes(b"\x03");
    let status = app.wait_exit_restored();
    assert!(status.success(), "exit status {status:?}");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-api-key"), Some("sk-test-e2e"));
    assert_eq!(
        requests[0].body["messages"][0]["content"],
        serde_json::json!("hello from a pty")
    );
    // The day's log file, `promptdeck.YYYY-MM-DD.log` in the data dir given.
    let log: String = std::fs::read_dir(home.path().join("data"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(!log.is_empty(), "a log file was written");
    assert!(
        !log.contains("sk-test-e2e"),
        "the key never reaches the log"
    );
}

/// `kill -9` while typing: the draft was written about a second after the last keystroke.
#[test]
fn the_draft_survives_kill_9() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let env = demo_env(home.path(), &data);
    let mut app = Running::start(&env);
    app.screen.wait_for("the welcome screen", |s| {
        s.contains("Welcome to promptdeck")
    });
    app.type_bytes("a thought worth keeping".as_bytes());
    app.screen
        .wait_for("the typed text", |s| s.contains("a thought worth keeping"));
    let draft = data.join("draft.txt");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&draft).ok().as_deref() != Some("a thought worth keeping") {
        assert!(
            std::time::Instant::now() < deadline,
            "the draft was never written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = app.child.process_id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = app.child.wait();
    assert_eq!(
        std::fs::read_to_string(&draft).unwrap(),
        "a thought worth keeping"
    );
}

/// Alt-Y copies the latest reply to the clipboard of the terminal the user sits at: the app
/// writes an OSC 52 sequence with the reply's text (which the terminal, or tmux with
/// `set-clipboard on`, puts on the clipboard), and says what it copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alt_y_copies_the_reply_with_osc_52() {
    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(
        &["Copy ", "me, ", "please."],
        5,
        3,
    )));
    let home = tempfile::tempdir().unwrap();
    let mut app = Running::start(&common::pty::anthropic_env(home.path(), &server.base_url()));
    app.screen.wait_for("the chat", |s| s.contains("message"));
    app.type_bytes(b"hi\r");
    app.screen
        .wait_for("the reply", |s| s.contains("Copy me, please."));
    app.type_bytes(b"\x1by"); // Alt-Y
    app.screen.wait_for("the confirmation", |s| {
        s.contains("copied the reply: 1 line, 16 characters")
    });
    let raw = String::from_utf8_lossy(&app.screen.raw.lock().unwrap()).into_owned();
    // "Copy me, please." in base64.
    assert!(
        raw.contains("\u{1b}]52;c;Q29weSBtZSwgcGxlYXNlLg==\u{1b}\\")
            || raw.contains("\u{1b}]52;c;Q29weSBtZSwgcGxlYXNlLg==\u{7}"),
        "no OSC 52 with the reply in the output"
    );
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}
