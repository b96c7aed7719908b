//! Issue 5's done-means, as a user would see it: two promptdeck processes share one data
//! dir with `--rate-limit 3/1m`; five quick messages reach the server exactly three times, and
//! the two refused messages stay in their composers with a countdown.

mod common;

use common::mock::{MockResponse, MockServer, anthropic};
use common::pty::Running;

fn start(home: &std::path::Path, server: &MockServer) -> Running {
    Running::start_with(
        &[
            ("HOME", home.display().to_string()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
            (
                "PROMPTDECK_DATA_DIR",
                home.join("data").display().to_string(),
            ),
            ("ANTHROPIC_API_KEY", "sk-test".to_string()),
            ("ANTHROPIC_BASE_URL", server.base_url()),
        ],
        None,
        &["--rate-limit", "3/1m"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_window_and_refused_messages_stay_in_the_composer() {
    let server = MockServer::start().await;
    for i in 0..5 {
        server.push(MockResponse::sse(anthropic::reply(
            &[&format!("reply {i}")],
            3,
            2,
        )));
    }
    let home = tempfile::tempdir().unwrap();
    let mut a = start(home.path(), &server);
    let mut b = start(home.path(), &server);
    for app in [&a, &b] {
        app.screen
            .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    }
    let send = |app: &mut Running, text: &str| {
        app.type_bytes(text.as_bytes());
        app.screen.wait_for("the typed text", |s| s.contains(text));
        app.type_bytes(b"\r");
    };
    send(&mut a, "a-one");
    a.screen.wait_for("reply", |s| s.contains("reply 0"));
    send(&mut b, "b-one");
    b.screen.wait_for("reply", |s| s.contains("reply 1"));
    send(&mut a, "a-two");
    a.screen.wait_for("reply", |s| s.contains("reply 2"));
    send(&mut b, "b-two");
    let refused_b = b.screen.wait_for("the refusal", |s| {
        s.contains("rate limit 3/1m reached — next slot in")
    });
    send(&mut a, "a-three");
    let refused_a = a.screen.wait_for("the refusal", |s| {
        s.contains("rate limit 3/1m reached — next slot in")
    });
    // The refused messages are still in the composers (the last rows above the status line),
    // not in the transcripts.
    for (screen, text) in [(&refused_a, "a-three"), (&refused_b, "b-two")] {
        let rows: Vec<&str> = screen.lines().collect();
        let composer = rows[rows.len().saturating_sub(3)..].join("\n");
        assert!(
            composer.contains(text),
            "{text} stays in the composer:\n{screen}"
        );
        assert!(
            !screen.contains(&format!("▌ you\n  {text}")),
            "not sent, so not in the transcript:\n{screen}"
        );
    }
    assert_eq!(
        server.requests().len(),
        3,
        "exactly three reached the server"
    );
    for app in [a, b] {
        let mut app = app;
        app.type_bytes(b"\x03");
        app.wait_exit_restored();
    }
    assert_eq!(server.requests().len(), 3);
}
