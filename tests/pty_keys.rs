//! Keys driving the real binary in a pseudo-terminal: a burst of picker keys in one write
//! (as a laggy SSH link delivers them) loses none, and Alt-V hands the message to `$EDITOR`
//! and comes back to a working screen.

mod common;

use common::git::git;

use common::mock::MockServer;
use common::pty::{Running, anthropic_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picker_keys_written_in_one_burst_are_all_applied_in_order() {
    let repo = tempfile::tempdir().unwrap();
    let prompts = repo.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    git(repo.path(), &["init", "-q"]);
    std::fs::write(prompts.join("greeter.txt"), "Say hello in French.\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "greeter: french"]);
    std::fs::write(prompts.join("greeter.txt"), "Say hello in German.\n").unwrap();
    git(repo.path(), &["commit", "-q", "-am", "greeter: german"]);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    // An unsaved edit: the working file is a version of its own, first in the list.
    std::fs::write(prompts.join("greeter.txt"), "Say hello in Italian.\n").unwrap();

    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut env = anthropic_env(home.path(), &server.base_url());
    env.push(("PATH", std::env::var("PATH").unwrap_or_default()));
    let mut app = Running::start_in(&env, Some(repo.path()));
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"\x10"); // Ctrl-P
    app.screen.wait_for("the picker", |s| s.contains("greeter"));
    // Down (greeter, whose versions are not listed yet), Right (its versions: the working
    // file, then the commits), Down (the german commit), Enter — in one write. A lost Right
    // would leave Enter on the prompts column: the working file.
    app.type_bytes(b"\x1b[B\x1b[C\x1b[B\r");
    let short = &head[..12];
    let shown = app
        .screen
        .wait_for("the chosen commit on the status line", |s| {
            s.contains(&format!("greeter@{short}")) || s.contains("greeter@#")
        });
    assert!(
        shown.contains(&format!("greeter@{short}")),
        "Right was applied: the commit, not the working file:\n{shown}"
    );
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alt_v_edits_the_message_in_the_editor_and_the_screen_comes_back() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut env = anthropic_env(home.path(), &server.base_url());
    env.push(("PATH", std::env::var("PATH").unwrap_or_default()));
    // An "editor" that changes the file and exits.
    env.push(("EDITOR", "sed -i s/draft/edited/".to_string()));
    let mut app = Running::start(&env);
    app.screen
        .wait_for("the chat", |s| s.contains("Ctrl-P prompts"));
    app.type_bytes(b"my draft text");
    app.screen
        .wait_for("the draft", |s| s.contains("my draft text"));
    app.type_bytes(b"\x1bv"); // Alt-V
    let shown = app
        .screen
        .wait_for("the edited message", |s| s.contains("my edited text"));
    assert!(
        shown.contains(" anthropic · "),
        "the whole screen is drawn again:\n{shown}"
    );
    assert!(
        app.screen
            .parser
            .lock()
            .unwrap()
            .screen()
            .alternate_screen(),
        "back on the alternate screen"
    );
    // Keys are read again.
    app.type_bytes(b"!");
    app.screen
        .wait_for("a key after the editor", |s| s.contains("my edited text!"));
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}
