//! The prompt library as a new user meets it: the real binary in a pseudo-terminal over a
//! real git repository. Open the picker, choose the previous commit of a prompt, send; edit
//! the file as another pane would; send again. The mock server must receive the old text
//! then the new text, and each reply's header must name the version that produced it.

mod common;

use common::git::git;

use common::mock::{MockResponse, MockServer, anthropic};
use common::pty::Running;
use promptdeck::prompts::content_hash;

const V1: &str = "You are a greeter. Say hello in French.\n";
const V2: &str = "You are a greeter. Say hello in German.\n";
const V3: &str = "You are a greeter. Say hello in Japanese.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pick_an_old_commit_then_edit_the_file_and_each_reply_names_its_version() {
    let repo = tempfile::tempdir().unwrap();
    let prompts = repo.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    git(repo.path(), &["init", "-q"]);
    std::fs::write(prompts.join("greeter.txt"), V1).unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "greeter: french"]);
    let v1_commit = git(repo.path(), &["rev-parse", "HEAD"]);
    std::fs::write(prompts.join("greeter.txt"), V2).unwrap();
    git(repo.path(), &["commit", "-q", "-am", "greeter: german"]);

    let server = MockServer::start().await;
    server.push(MockResponse::sse(anthropic::reply(&["Bonjour !"], 10, 3)));
    server.push(MockResponse::sse(anthropic::reply(&["Konnichiwa!"], 10, 3)));

    let home = tempfile::tempdir().unwrap();
    let mut app = Running::start_in(
        &[
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
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ],
        Some(repo.path()),
    );
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"\x10"); // Ctrl-P
    app.screen.wait_for("the picker", |s| s.contains("greeter"));
    app.type_bytes(b"\x1b[B"); // Down: greeter
    app.screen
        .wait_for("the versions", |s| s.contains("greeter: french"));
    app.type_bytes(b"\x1b[C"); // Right: versions
    // working file, german commit, french commit: two downs.
    app.type_bytes(b"\x1b[B");
    app.type_bytes(b"\x1b[B");
    app.screen
        .wait_for("the old text", |s| s.contains("Say hello in French."));
    app.type_bytes(b"\r");
    let short = &v1_commit[..12];
    app.screen
        .wait_for("the pinned prompt on the status line", |s| {
            s.contains(&format!("greeter@{short}"))
        });

    app.type_bytes(b"first\r");
    let shown = app
        .screen
        .wait_for("the first reply", |s| s.contains("Bonjour !"));
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("◆ claude-test") && l.contains(&format!("greeter@{short}"))),
        "the reply header names the commit:\n{shown}"
    );

    // Another pane saves the file.
    std::fs::write(prompts.join("greeter.txt"), V3).unwrap();
    let v3_hash = content_hash(V3);
    app.screen.wait_for("the reload on the status line", |s| {
        s.contains("reloaded greeter@#") && s.contains(v3_hash.short())
    });
    app.type_bytes(b"second\r");
    let shown = app
        .screen
        .wait_for("the second reply", |s| s.contains("Konnichiwa!"));
    assert!(
        shown.contains(&format!("greeter@#{}", v3_hash.short())),
        "the second reply names the edited text:\n{shown}"
    );
    app.type_bytes(b"\x03");
    app.wait_exit_restored();

    let systems: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.body["system"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        systems,
        vec![V1.to_string(), V3.to_string()],
        "byte-for-byte"
    );
}
