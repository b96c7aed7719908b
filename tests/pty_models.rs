//! The model switcher in the real binary: switch models mid-conversation with Alt-M and the
//! next request goes to the chosen model, over real HTTP to the mock Anthropic server.

mod common;

use common::mock::{MockResponse, MockServer, anthropic};
use common::pty::{Running, anthropic_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alt_m_switches_the_model_mid_conversation() {
    let server = MockServer::start().await;
    server.serve_models(&["claude-opus-5", "claude-sonnet-5-5", "claude-haiku-5-5"]);
    server.push(MockResponse::sse(anthropic::reply(
        &["First answer."],
        5,
        3,
    )));
    server.push(MockResponse::sse(anthropic::reply(
        &["Opus answers."],
        9,
        3,
    )));

    let home = tempfile::tempdir().unwrap();
    let mut app = Running::start(&anthropic_env(home.path(), &server.base_url()));
    app.screen.wait_for("the chat screen", |s| {
        s.contains("anthropic · claude-sonnet-5-5") && s.contains("message")
    });
    app.type_bytes(b"first question\r");
    app.screen
        .wait_for("the first reply", |s| s.contains("First answer."));
    // The usage panel (Ctrl-T) says when the reply is over, and who priced it.
    app.type_bytes(b"\x14");
    app.screen.wait_for("the finished reply on the panel", |s| {
        s.contains("end_turn") && s.contains("genai-prices")
    });

    // Alt-M (ESC m, as terminals and tmux send it), then a filter and Enter.
    app.type_bytes(b"\x1bm");
    app.screen.wait_for("the endpoint's models", |s| {
        s.contains("model for the next message") && s.contains("claude-haiku-5-5")
    });
    app.type_bytes(b"opus");
    app.screen.wait_for("the filtered list", |s| {
        s.contains("filter opus") && !s.contains("claude-haiku-5-5")
    });
    app.type_bytes(b"\r");
    app.screen
        .wait_for("the new model in the status line", |s| {
            s.contains("anthropic · claude-opus-5") && !s.contains("model for the next message")
        });

    app.type_bytes(b"second question\r");
    app.screen
        .wait_for("the second reply", |s| s.contains("Opus answers."));
    app.type_bytes(b"\x03");
    let status = app.wait_exit_restored();
    assert!(status.success(), "exit status {status:?}");

    let models: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .map(|r| r.body["model"].clone())
        .collect();
    assert_eq!(
        models,
        vec![
            serde_json::json!("claude-sonnet-5-5"),
            serde_json::json!("claude-opus-5")
        ],
        "the first message went to the default, the second to the chosen model"
    );
    // The second request carries the whole conversation.
    assert_eq!(
        server.requests()[1].body["messages"][0]["content"],
        serde_json::json!("first question")
    );
    assert_eq!(
        server.model_listings(),
        1,
        "listed once, off the event loop"
    );
}
