//! The data directory under stress, with the real binary: many processes opening a fresh
//! history database at once, a data dir that is a file or read-only, and the database deleted
//! while `ask` streams. What is checked is what a user would notice: the messages printed, the
//! exit status, and what `promptdeck log` shows afterwards.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, Step, anthropic};
use pretty_assertions::assert_eq;
use promptdeck::llm::Role;
use promptdeck::store::Store;
use serde_json::{Value, json};

/// The user messages stored in the history database of `data`, sorted.
fn stored_user_messages(data: &Path) -> BTreeSet<String> {
    let store = Store::open(&data.join("promptdeck.db")).expect("open the history");
    let mut texts = BTreeSet::new();
    for conversation in store.list_conversations(1000).expect("conversations") {
        let loaded = store
            .load_conversation(conversation.id)
            .expect("conversation");
        for m in loaded.messages {
            if m.message.role == Role::User {
                texts.insert(m.message.content);
            }
        }
    }
    texts
}

/// Issue 11, item 3: N `ask` processes started at once on a fresh data dir once printed
/// "cannot open the history database … database is locked" and lost a request. Every one of
/// them must be stored and logged, round after round (each round a fresh data dir).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_opens_lose_no_request() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 4;
    let server = MockServer::start().await;
    for round in 0..ROUNDS {
        let home = tempfile::tempdir().unwrap();
        for _ in 0..PROCESSES {
            server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
        }
        let messages: Vec<String> = (0..PROCESSES)
            .map(|i| format!("round {round} message {i}"))
            .collect();
        // All spawned before any is awaited, so their first opens overlap.
        let runs: Vec<_> = messages
            .iter()
            .map(|m| {
                let cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
                let m = m.clone();
                tokio::spawn(async move { run(cmd, &["ask", &m]).await })
            })
            .collect();
        for (message, handle) in messages.iter().zip(runs) {
            let out = handle.await.unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(0), "{message}: {err}");
            assert!(!err.contains("cannot open"), "{message}: {err}");
            assert!(!err.contains("locked"), "{message}: {err}");
            assert!(!err.contains("warning"), "{message}: {err}");
            assert_eq!(stdout(&out), "ok\n");
        }
        let log = run(promptdeck(home.path()), &["log", "--json"]).await;
        assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
        let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
        let rows = rows.as_array().expect("an array of rows");
        assert_eq!(rows.len(), PROCESSES, "round {round}: {rows:?}");
        assert!(
            rows.iter().all(|r| r["status"] == "ok"),
            "round {round}: {rows:?}"
        );
        assert_eq!(
            stored_user_messages(&home.path().join("data")),
            messages.iter().cloned().collect::<BTreeSet<_>>(),
            "round {round}"
        );
    }
}

/// The data dir deleted while `ask` streams (SQLite would go on writing into the deleted
/// file, and the request would vanish): the database is recreated at its path from the copy
/// still open, stderr says so once, and the request is in `promptdeck log` with its whole
/// reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_deleted_mid_reply_is_recreated_and_the_request_kept() {
    use tokio::io::AsyncReadExt;
    let server = MockServer::start().await;
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    let delta = |text: &str| {
        anthropic::event(json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":text}}))
    };
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(
            (anthropic::message_start("claude-test", "msg_gone", 5)
                + &anthropic::event(json!({"type":"content_block_start","index":0,
                    "content_block":{"type":"text","text":""}}))
                + &delta("first half, "))
                .into(),
        ),
        Step::WaitFor(go.clone()),
        Step::Chunk(
            (delta("second half")
                + &anthropic::event(json!({"type":"content_block_stop","index":0}))
                + &anthropic::message_delta("end_turn", 4)
                + &anthropic::message_stop())
                .into(),
        ),
    ]));
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    cmd.args(["ask", "keep me"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut seen = vec![0u8; "first half, ".len()];
    pipe.read_exact(&mut seen).await.unwrap();
    std::fs::remove_dir_all(&data).expect("delete the data dir mid-reply");
    go.notify_one();
    let mut rest = String::new();
    pipe.read_to_string(&mut rest).await.unwrap();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("it ends")
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(rest, "second half\n");
    assert_eq!(err.matches("was deleted").count(), 1, "said once: {err}");
    assert!(err.contains("recreated"), "{err}");
    let log = run(promptdeck(home.path()), &["log", "--json"]).await;
    assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
    let rows: Value = serde_json::from_str(&stdout(&log)).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["status"], json!("ok"), "{rows}");
    let export = run(
        promptdeck(home.path()),
        &["export", "1", "--format", "jsonl"],
    )
    .await;
    let lines: Vec<Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let messages: Vec<(&Value, &Value)> = lines
        .iter()
        .filter(|l| l.get("content").is_some())
        .map(|l| (&l["content"], &l["state"]))
        .collect();
    assert_eq!(
        messages,
        vec![
            (&json!("keep me"), &json!("complete")),
            (&json!("first half, second half"), &json!("complete")),
        ]
    );
}

/// A `--data-dir` that is a file (or has a file on its way): one line naming it and the
/// problem, exit 3 (configuration), nothing sent, for `ask` and for `log` alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_that_is_a_file_is_one_clear_line_and_exit_3() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("notes.txt");
    std::fs::write(&file, "not a directory").unwrap();
    let file = file.to_str().unwrap();
    let below = format!("{file}/data");
    for (dir, command) in [
        (file, vec!["ask", "hi"]),
        (file, vec!["log"]),
        (below.as_str(), vec!["ask", "hi"]),
    ] {
        let mut args = vec!["--data-dir", dir];
        args.extend(command);
        let out = run(
            anthropic_cmd(home.path(), &server, "sk-ant-secret-123"),
            &args,
        )
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.contains(&format!("the data dir {dir}"))
                && err.contains(&format!("{file} is a file, not a directory")),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("os error"),
            "{err}"
        );
        assert_eq!(stdout(&out), "");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

/// `cmd` run as an unprivileged user when this test runs as root (root writes through
/// `chmod 555`); `None` when that is not possible here.
fn unprivileged(cmd: tokio::process::Command, home: &Path) -> Option<tokio::process::Command> {
    let probe = home.join("uid-probe");
    std::fs::write(&probe, "").ok()?;
    let root = std::fs::metadata(&probe).ok()?.uid() == 0;
    if !root {
        return Some(cmd);
    }
    let std = cmd.as_std();
    let mut wrapped = tokio::process::Command::new("setpriv");
    wrapped
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std.get_program())
        .env_clear()
        .kill_on_drop(true);
    for (key, value) in std.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    // The other user must be able to reach the data dir (to be refused writing in it).
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).ok()?;
    let works = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(wrapped)
}

/// Runs `cmd` in a read-only data dir (`chmod 555`); `None` (with a note) when read-only
/// cannot be had here (root without `setpriv`), rather than a false pass.
async fn run_read_only(home: &Path, cmd: tokio::process::Command, args: &[&str]) -> Option<Output> {
    let data = home.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let Some(cmd) = unprivileged(cmd, home) else {
        eprintln!(
            "skipped: running as root and cannot drop privileges (setpriv), so 555 is writable"
        );
        return None;
    };
    Some(run(cmd, args).await)
}

/// A read-only data dir: one warning that nothing is saved, and `ask` still prints its reply
/// when the request can go (the demo; `--rate-limit off`). With a rate limit to keep, its
/// counts cannot be kept, so nothing is sent, in one line that says why and the ways out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_dir_is_one_warning_and_the_reply_still_prints() {
    let home = tempfile::tempdir().unwrap();
    let mut demo = promptdeck(home.path());
    demo.args(["--provider", "demo"]);
    let Some(out) = run_read_only(home.path(), demo, &["ask", "hi"]).await else {
        return;
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(stdout(&out).contains("demo"), "the reply is printed");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("is not writable (permission denied)")
            && warnings[0].contains("nothing is saved"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let server = MockServer::start().await;
    // The history made before the dir became read-only can still be read.
    std::fs::set_permissions(
        home.path().join("data"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let mut demo = promptdeck(home.path());
    demo.args(["--provider", "demo"]);
    let out = run(demo, &["ask", "saved first"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_read_only(home.path(), promptdeck(home.path()), &["log"])
        .await
        .expect("read-only was had above");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("demo"), "{}", stdout(&out));
    let out = run_read_only(home.path(), promptdeck(home.path()), &["conversations"])
        .await
        .expect("read-only was had above");
    assert!(stdout(&out).contains("saved first"), "{}", stdout(&out));

    server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
    let cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    let out = run_read_only(home.path(), cmd, &["--rate-limit", "off", "ask", "hi"])
        .await
        .expect("read-only was had above");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ok\n");
    assert_eq!(
        stderr(&out).matches("not writable").count(),
        1,
        "{}",
        stderr(&out)
    );

    let cmd = anthropic_cmd(home.path(), &server, "sk-ant-secret-123");
    let out = run_read_only(home.path(), cmd, &["ask", "hi"])
        .await
        .expect("read-only was had above");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not writable")
            && err.contains("nothing is sent")
            && err.contains("--rate-limit off"),
        "{err}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "only the --rate-limit off request was sent"
    );
}
