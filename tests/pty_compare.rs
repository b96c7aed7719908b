//! Compare as a new user meets it: the real binary in a pseudo-terminal over a real git
//! repository. Start on a prompt's working file, add its previous commit as a second lane
//! from the picker, send one message and see both replies; turn re-run on save on, save an
//! edit as another pane would, and see the re-run in a new lane beside the old replies; quit,
//! and `--resume` brings the compare back as a compare. The log files every lane's request
//! under one compare id.

mod common;

use common::git::git;

use std::process::Command;

use common::mock::{MockResponse, MockServer, anthropic};
use common::pty::{Running, anthropic_env};
use promptdeck::prompts::content_hash;

const COMMITTED: &str = "You greet people. Say hello in French.\n";
const WORKING: &str = "You greet people. Say hello in German.\n";
const SAVED: &str = "You greet people. Say hello in Japanese.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_a_commit_with_the_working_file_then_rerun_on_save_and_resume() {
    let repo = tempfile::tempdir().unwrap();
    let prompts = repo.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    git(repo.path(), &["init", "-q"]);
    std::fs::write(prompts.join("greeter.txt"), COMMITTED).unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "greeter: french"]);
    let commit = git(repo.path(), &["rev-parse", "HEAD"]);
    std::fs::write(prompts.join("greeter.txt"), WORKING).unwrap();

    let server = MockServer::start().await;
    // The lanes run at once: each answer goes to the request carrying its prompt.
    server.push_when(
        "in French",
        MockResponse::sse(anthropic::reply(&["Bonjour !"], 10, 3)),
    );
    server.push_when(
        "in German",
        MockResponse::sse(anthropic::reply(&["Hallo!"], 10, 2)),
    );
    server.push_when(
        "in Japanese",
        MockResponse::sse(anthropic::reply(&["Konnichiwa!"], 10, 4)),
    );

    let home = tempfile::tempdir().unwrap();
    let mut env = anthropic_env(home.path(), &server.base_url());
    env.push(("PATH", std::env::var("PATH").unwrap_or_default()));
    let mut app = Running::start_with(&env, Some(repo.path()), &["--prompt", "greeter"]);
    app.screen.wait_for("the working file active", |s| {
        s.contains("(uncommitted)") && s.contains("Enter send")
    });

    // The picker opens on greeter; its versions: the working file, then the commit.
    app.type_bytes(b"\x10"); // Ctrl-P
    app.screen
        .wait_for("the versions", |s| s.contains("greeter: french"));
    app.type_bytes(b"\x1b[C"); // Right: versions
    app.type_bytes(b"\x1b[B"); // Down: the commit
    app.screen
        .wait_for("the old text", |s| s.contains("Say hello in French."));
    app.type_bytes(b"c");
    let short = &commit[..12];
    app.screen.wait_for("a second lane on the commit", |s| {
        s.contains("lane 2/2") && s.contains(&format!("greeter@{short}"))
    });

    app.type_bytes(b"hi\r");
    let shown = app.screen.wait_for("both replies", |s| {
        s.contains("Bonjour !") && s.contains("Hallo!") && s.contains("fastest first token")
    });
    assert!(
        shown.contains("1 greeter@#") && shown.contains(&format!("2 greeter@{short}")),
        "each lane is titled with its version:\n{shown}"
    );

    // Re-run on save, then another pane saves the file.
    app.type_bytes(b"\x1ba"); // Alt-A
    app.screen
        .wait_for("the toggle said", |s| s.contains("re-run on save: on"));
    std::fs::write(prompts.join("greeter.txt"), SAVED).unwrap();
    let saved = content_hash(SAVED);
    // The new lane opens right beside the lane it re-runs, and takes the focus.
    let shown = app.screen.wait_for("the re-run in a third lane", |s| {
        s.contains("Konnichiwa!") && s.contains("lane 2/3")
    });
    assert!(
        shown.contains(&format!("greeter@#{}", saved.short())),
        "the new lane runs the saved text:\n{shown}"
    );
    assert!(
        shown.contains("Bonjour !") && shown.contains("Hallo!"),
        "the old replies stay beside it:\n{shown}"
    );

    let requests = server.requests();
    let systems: Vec<String> = requests
        .iter()
        .map(|r| r.body["system"].to_string())
        .collect();
    assert_eq!(requests.len(), 3, "{systems:?}");
    let rerun = &requests[2].body;
    assert!(rerun["system"].to_string().contains("in Japanese"));
    assert_eq!(
        rerun["messages"],
        serde_json::json!([{"role": "user", "content": "hi"}]),
        "the last message is re-run"
    );

    app.type_bytes(b"\x03"); // Ctrl-C
    app.wait_exit_restored();

    // One compare id for all three lanes' requests.
    let log = Command::new(env!("CARGO_BIN_EXE_promptdeck"))
        .args(["log", "--json"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.clone())))
        .current_dir(repo.path())
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["compare_id"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|id| *id == ids[0] && *id != "none"),
        "{ids:?}"
    );
    let promptdeck = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_promptdeck"))
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.clone())))
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // `log --compare` and the Markdown export put the lanes side by side.
    let table = promptdeck(&["log", "--compare", ids[0]]);
    let replies = table
        .lines()
        .find(|l| l.starts_with("reply"))
        .unwrap_or_default();
    for reply in ["Hallo!", "Bonjour !", "Konnichiwa!"] {
        assert!(replies.contains(reply), "{table}");
    }
    let conversation = rows[0]["conversation_id"].to_string();
    let markdown = promptdeck(&["export", &conversation]);
    assert!(
        markdown.contains("| Lane 1 | Lane 2 | Lane 3 |"),
        "{markdown}"
    );
    assert!(markdown.contains("Konnichiwa!"), "{markdown}");

    // `--resume` brings the compare back as a compare.
    let mut app = Running::start_with(&env, Some(repo.path()), &["--resume"]);
    let shown = app.screen.wait_for("the compare reopened", |s| {
        s.contains("compare of 3 lanes") && s.contains("Konnichiwa!")
    });
    assert!(
        shown.contains("Bonjour !") && shown.contains("Hallo!"),
        "every lane's reply is back:\n{shown}"
    );
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_models_on_the_command_line_open_a_compare() {
    let server = MockServer::start().await;
    server.push_for(
        "model-one",
        MockResponse::sse(anthropic::reply(&["One says hi."], 10, 3)),
    );
    server.push_for(
        "model-two",
        MockResponse::sse(anthropic::reply(&["Two says hello."], 10, 4)),
    );
    let home = tempfile::tempdir().unwrap();
    let env = anthropic_env(home.path(), &server.base_url());
    let mut app = Running::start_with(
        &env,
        Some(home.path()),
        &[
            "--model",
            "model-one",
            "--model",
            "model-two",
            "--repeat",
            "2",
        ],
    );
    app.screen.wait_for("two lanes", |s| {
        s.contains("lane 1/2") && s.contains("Enter sends ×2 to 2 lanes")
    });
    server.push_for(
        "model-one",
        MockResponse::sse(anthropic::reply(&["One again."], 10, 2)),
    );
    server.push_for(
        "model-two",
        MockResponse::sse(anthropic::reply(&["Two again."], 10, 2)),
    );
    app.type_bytes(b"hi\r");
    let shown = app.screen.wait_for("both lanes' runs", |s| {
        s.contains("One says hi.")
            && s.contains("Two says hello.")
            && s.contains("One again.")
            && s.contains("Two again.")
    });
    assert!(shown.contains("2 runs: 1 identical"), "{shown}");
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(models.len(), 4, "{models:?}");
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}
