//! Headless parity, the real binary against the mock server: `ask --continue` / `--resume`,
//! the extra `ask --json` fields, the final newline, `log --prompt NAME@REV`, `--json` for
//! `conversations` and `prompts`, `prompts show`, per-command help, completions and the man
//! page, and where the log files go.

mod common;

use common::git::git;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::cli::{anthropic_cmd, promptdeck, run, stderr, stdout};
use common::mock::{MockResponse, MockServer, anthropic, openai};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const KEY: &str = "sk-ant-headless-77";

fn hash(text: &str) -> String {
    promptdeck::prompts::content_hash(text).full().to_string()
}

fn json_of(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).expect("JSON on stdout")
}

/// The daily log files (`promptdeck.YYYY-MM-DD.log`) in `dir`, sorted.
fn log_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("promptdeck.") && n.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_continue_and_resume_send_the_history_with_the_stored_prompt_version() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let prompts = home.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let first_text = "You greet {{name}}.";
    std::fs::write(prompts.join("greet.txt"), first_text).unwrap();
    let prompts = prompts.to_str().unwrap();
    let ask = |args: &[&str]| {
        let mut all = vec!["--prompts", prompts, "ask"];
        all.extend_from_slice(args);
        let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        let cmd = anthropic_cmd(home.path(), &server, KEY);
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            run(cmd, &all).await
        }
    };

    server.push(MockResponse::sse(anthropic::reply(&["Hi Ada"], 10, 2)));
    let out = ask(&["--prompt", "greet", "--var", "name=Ada", "hello"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The file changes: the conversation goes on with the text it was held with.
    std::fs::write(
        home.path().join("prompts/greet.txt"),
        "Changed: {{name}} is here.",
    )
    .unwrap();

    server.push(MockResponse::sse(anthropic::reply(&["Again"], 10, 1)));
    let out = ask(&["--continue", "--json", "and again"]).await;
    let v = json_of(&out);
    let short = &hash(first_text)[..12];
    assert_eq!(
        (&v["conversation_id"], &v["prompt_ref"], &v["text"]),
        (
            &json!(1),
            &json!(format!("greet@#{short}")),
            &json!("Again")
        )
    );
    let sent = &server.requests()[1].body;
    assert_eq!(
        (&sent["system"], &sent["messages"]),
        (
            &json!("You greet Ada."),
            &json!([
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "Hi Ada"},
                {"role": "user", "content": "and again"},
            ])
        )
    );

    // An explicit --prompt wins, says so, and the stored variable values still fill it.
    server.push(MockResponse::sse(anthropic::reply(&["Third"], 10, 1)));
    let out = ask(&["--resume", "1", "--prompt", "greet", "third"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "note: conversation 1 goes on with --prompt greet instead of its prompt greet@#{short}"
        )),
        "{}",
        stderr(&out)
    );
    let sent = &server.requests()[2].body;
    assert_eq!(sent["system"], json!("Changed: Ada is here."));
    assert_eq!(sent["messages"].as_array().map(Vec::len), Some(5));

    // One conversation holds all three exchanges.
    let out = run(promptdeck(home.path()), &["conversations", "--json"]).await;
    let rows = json_of(&out);
    assert_eq!(
        (
            rows.as_array().map(Vec::len),
            &rows[0]["id"],
            &rows[0]["title"]
        ),
        (Some(1), &json!(1), &json!("hello"))
    );

    // An unknown id, and both flags at once: usage errors, nothing sent.
    let out = ask(&["--resume", "99", "hi"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("there is no conversation 99"),
        "{}",
        stderr(&out)
    );
    let out = ask(&["--continue", "--resume", "1", "hi"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 3, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_continue_without_any_conversation_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        promptdeck(home.path()),
        &["--provider", "demo", "ask", "-c", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no conversation to continue"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_json_has_cost_usd_beside_cost_and_null_when_unpriced() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    server.push(MockResponse::sse(anthropic::reply(&["priced"], 1000, 500)));
    let v = json_of(
        &run(
            anthropic_cmd(home.path(), &server, KEY),
            &["ask", "--json", "hi"],
        )
        .await,
    );
    assert_eq!(v["cost"]["kind"], json!("known"), "{v}");
    assert!(v["cost_usd"].as_f64().is_some_and(|usd| usd > 0.0), "{v}");
    assert_eq!(v["cost_usd"], v["cost"]["usd"]);
    // The log has the same number.
    let log = json_of(&run(promptdeck(home.path()), &["log", "--json"]).await);
    assert_eq!(log[0]["cost_usd"], v["cost_usd"]);
    assert_eq!(v["prompt_ref"], Value::Null, "no prompt, no reference");

    server.push(MockResponse::sse(openai::reply(&["local"], 3, 1, 0)));
    let mut cmd = promptdeck(home.path());
    cmd.env("OPENAI_BASE_URL", server.openai_base_url());
    let v = json_of(&run(cmd, &["ask", "--json", "--model", "my-local", "hi"]).await);
    assert_eq!(
        (&v["cost"]["kind"], &v["cost_usd"]),
        (&json!("price_unknown"), &Value::Null)
    );
}

/// Piped: a reply without a final newline gets one, a reply with one gets nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piped_reply_ends_with_exactly_one_newline() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for pieces in [&["ok"][..], &["ok\n"][..], &["two\n", "lines\n"][..]] {
        server.push(MockResponse::sse(anthropic::reply(pieces, 3, 1)));
        let out = run(anthropic_cmd(home.path(), &server, KEY), &["ask", "hi"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        outputs.push(stdout(&out));
    }
    assert_eq!(outputs, ["ok\n", "ok\n", "two\nlines\n"]);
}

/// On a terminal too: the shell prompt starts on its own line, and no blank line is added
/// after a reply that ends one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_reply_ends_its_line_once() {
    let server = MockServer::start().await;
    for (reply, marker) in [
        ("first ok", "first ok\r\n"),
        ("second ok\n", "second ok\r\n"),
    ] {
        let home = tempfile::tempdir().unwrap();
        server.push(MockResponse::sse(anthropic::reply(&[reply], 3, 1)));
        let env = common::pty::anthropic_env(home.path(), &server.base_url());
        let mut app = common::pty::Running::start_with(&env, None, &["ask", "hi"]);
        let deadline = std::time::Instant::now() + common::pty::PATIENCE;
        while app.child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "ask did not exit");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // What the process wrote is read by another thread: wait for the summary line.
        let raw = loop {
            let raw = String::from_utf8_lossy(&app.screen.raw.lock().unwrap()).into_owned();
            if raw.contains("total") || std::time::Instant::now() > deadline {
                break raw;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(raw.contains(marker), "{raw:?}");
        assert!(!raw.contains(&format!("{marker}\r\n")), "{raw:?}");
    }
}

/// `log --prompt NAME@REV` keeps the requests made with that version (by content hash):
/// a commit, the working file, a text only the database still has; `NAME` keeps all of them.
/// `prompts show` prints each of those texts, and `prompts --json` lists the versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_filters_by_prompt_version_and_prompts_show_prints_any_version() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("prompts");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("greet.txt");
    let prompts = dir.to_str().unwrap();
    let (v1, v2, v3, v4) = ("One.\n", "Two.\n", "Three, uncommitted.\n", "Four.\n");
    git(&dir, &["init", "-q"]);
    let ask = |n: usize| {
        server.push(MockResponse::sse(anthropic::reply(&["ok"], 3, 1)));
        let cmd = anthropic_cmd(home.path(), &server, KEY);
        let message = format!("request {n}");
        async move {
            let out = run(
                cmd,
                &["--prompts", prompts, "--prompt", "greet", "ask", &message],
            )
            .await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
    };
    std::fs::write(&file, v1).unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "one"]);
    ask(1).await;
    std::fs::write(&file, v2).unwrap();
    // A hostile commit subject: JSON escapes it.
    git(&dir, &["commit", "-qam", "two \u{9b}31m red"]);
    ask(2).await;
    std::fs::write(&file, v3).unwrap();
    ask(3).await;

    let logged = |filter: &str| {
        let cmd = promptdeck(home.path());
        let filter = filter.to_string();
        async move {
            let out = run(
                cmd,
                &["log", "--json", "--prompts", prompts, "--prompt", &filter],
            )
            .await;
            let rows = json_of(&out);
            rows.as_array()
                .unwrap()
                .iter()
                .map(|r| r["prompt"]["content_hash"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let three = format!("greet@#{}", &hash(v3)[..8]);
    assert_eq!(logged("greet").await, [hash(v3), hash(v2), hash(v1)]);
    assert_eq!(logged("greet@HEAD~1").await, [hash(v1)]);
    assert_eq!(logged("greet@HEAD").await, [hash(v2)]);
    assert_eq!(logged(&three).await, [hash(v3)]);
    // The working file moves on: that text is only in the database now.
    std::fs::write(&file, v4).unwrap();
    assert_eq!(logged(&three).await, [hash(v3)]);
    let out = run(
        promptdeck(home.path()),
        &["log", "--prompts", prompts, "--prompt", "greet@nosuchrev"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The form with the flags before the command filters the same way.
    let out = run(
        promptdeck(home.path()),
        &[
            "--prompts",
            prompts,
            "--prompt",
            "greet@HEAD~1",
            "log",
            "--json",
        ],
    )
    .await;
    assert_eq!(json_of(&out).as_array().map(Vec::len), Some(1));

    let show = |reference: &str| {
        let cmd = promptdeck(home.path());
        let reference = reference.to_string();
        async move {
            let out = run(cmd, &["prompts", "--prompts", prompts, "show", &reference]).await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            stdout(&out)
        }
    };
    assert_eq!(
        [
            show("greet").await,
            show("greet@HEAD~1").await,
            show(&format!("greet@#{}", &hash(v2)[..6])).await,
            show(&three).await,
        ],
        [v4, v1, v2, v3]
    );
    let out = run(
        promptdeck(home.path()),
        &["prompts", "--prompts", prompts, "show", "greet@#ffffffff"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // `promptdeck prompts` still lists; `--json` gives the versions.
    let out = run(promptdeck(home.path()), &["--prompts", prompts, "prompts"]).await;
    assert!(stdout(&out).contains("greet  #"), "{}", stdout(&out));
    let out = run(
        promptdeck(home.path()),
        &["prompts", "--json", "--prompts", prompts],
    )
    .await;
    assert!(
        !stdout(&out).contains('\u{9b}'),
        "escaped: {}",
        stdout(&out)
    );
    let listed = json_of(&out);
    let versions: Vec<(Value, Value)> = listed[0]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["kind"].clone(), v["content_hash"].clone()))
        .collect();
    assert_eq!(
        (&listed[0]["name"], &listed[0]["status"], versions),
        (
            &json!("greet"),
            &json!("uncommitted"),
            vec![
                (json!("working"), json!(hash(v4))),
                (json!("commit"), json!(hash(v2))),
                (json!("commit"), json!(hash(v1))),
            ]
        )
    );
    assert_eq!(
        listed[0]["versions"][1]["subject"],
        json!("two \u{9b}31m red")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_command_lists_only_its_own_flags() {
    let home = tempfile::tempdir().unwrap();
    let help = |args: &'static [&'static str]| {
        let cmd = promptdeck(home.path());
        async move {
            let out = run(cmd, args).await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            stdout(&out)
        }
    };
    let request_flags = [
        "--var",
        "--rate-limit",
        "--max-tokens",
        "--prompt ",
        "--model",
    ];
    for (args, listed) in [
        (&["prompts", "--help"][..], false),
        (&["conversations", "--help"][..], false),
        (&["export", "--help"][..], false),
        (&["ask", "--help"][..], true),
        (&["compare", "--help"][..], true),
        (&["--help"][..], true),
    ] {
        let text = help(args).await;
        for flag in request_flags {
            assert_eq!(text.contains(flag), listed, "{flag} in {args:?}:\n{text}");
        }
        assert!(text.contains("--data-dir"), "{args:?}:\n{text}");
    }
    let ask = help(&["ask", "--help"]).await;
    assert!(
        ask.contains("--continue") && ask.contains("--resume <ID>"),
        "{ask}"
    );
    assert!(
        !ask.contains("--theme") && !ask.contains("--max-fps"),
        "{ask}"
    );
    let log = help(&["log", "--help"]).await;
    assert!(
        log.contains("--prompt <REF>") && !log.contains("--var"),
        "{log}"
    );
}

/// The documented forms of `compare`: flags before the command, after it, and `--repeat`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_takes_its_flags_before_or_after_the_command() {
    let home = tempfile::tempdir().unwrap();
    let lanes = |args: &'static [&'static str]| {
        let cmd = promptdeck(home.path());
        async move {
            let v = json_of(&run(cmd, args).await);
            v.as_array()
                .unwrap()
                .iter()
                .map(|lane| (lane["lane"].clone(), lane["model"].clone()))
                .collect::<Vec<_>>()
        }
    };
    let two = vec![(json!(1), json!("m1")), (json!(2), json!("m2"))];
    assert_eq!(
        lanes(&[
            "--provider",
            "demo",
            "--model",
            "m1",
            "--model",
            "m2",
            "compare",
            "--json",
            "hi"
        ])
        .await,
        two
    );
    assert_eq!(
        lanes(&[
            "compare",
            "--provider",
            "demo",
            "--model",
            "m1",
            "--model",
            "m2",
            "--json",
            "hi"
        ])
        .await,
        two
    );
    assert_eq!(
        lanes(&[
            "--provider",
            "demo",
            "--model",
            "m1",
            "compare",
            "--model",
            "m2",
            "--json",
            "x"
        ])
        .await,
        two
    );
    // `--repeat 3` before `compare` (the README's example) repeats.
    let runs = lanes(&[
        "--provider",
        "demo",
        "--repeat",
        "3",
        "compare",
        "--json",
        "hi",
    ])
    .await;
    assert_eq!(runs.len(), 3, "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_man_page_come_from_the_definition_and_write_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = run(promptdeck(home.path()), &["completions", "bash"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bash = stdout(&out);
    assert!(
        bash.contains("compare") && bash.contains("--data-dir"),
        "{bash}"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(promptdeck(home.path()), &["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("promptdeck"), "{shell}");
    }
    let out = run(promptdeck(home.path()), &["man"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let man = stdout(&out);
    assert!(man.contains(".TH promptdeck 1"), "{man}");
    assert!(man.contains(".SH NAME\npromptdeck"), "{man}");
    let out = run(promptdeck(home.path()), &["completions", "tcsh"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(
        !home.path().join("data").exists(),
        "no data dir, no database, no log file"
    );
}

/// With a data dir given (as every test gives one), the log is a daily file there, and
/// nothing is written in the state dir; the old files beyond a week's are deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_a_daily_file_in_a_given_data_dir_and_a_week_is_kept() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for day in 1..=9 {
        std::fs::write(data.join(format!("promptdeck.2026-01-0{day}.log")), "old\n").unwrap();
    }
    let mut cmd = promptdeck(home.path());
    cmd.env("XDG_STATE_HOME", home.path().join("state"));
    let out = run(cmd, &["--provider", "demo", "ask", "hi"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = log_files(&data);
    assert_eq!(files.len(), 7, "{files:?}");
    let today = files
        .iter()
        .find(|f| !f.starts_with("promptdeck.2026-01-0"))
        .expect("today's file");
    assert_eq!(today.len(), "promptdeck.YYYY-MM-DD.log".len(), "{today}");
    assert!(!home.path().join("state").exists());
}

/// Without a data dir given, the log goes to the platform state dir
/// (`$XDG_STATE_HOME/promptdeck`), not the data dir; a state dir that cannot be used is one
/// warning, and the answer all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_data_dir_the_log_goes_to_the_state_dir() {
    let home = tempfile::tempdir().unwrap();
    let default_env = |state: PathBuf| {
        let mut cmd = promptdeck(home.path());
        cmd.env_remove("PROMPTDECK_DATA_DIR")
            .env("XDG_DATA_HOME", home.path().join("share"))
            .env("XDG_STATE_HOME", state);
        cmd
    };
    let out = run(
        default_env(home.path().join("state")),
        &["--provider", "demo", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(log_files(&home.path().join("state/promptdeck")).len(), 1);
    let data = home.path().join("share/promptdeck");
    assert!(
        data.join("promptdeck.db").exists(),
        "the history is kept there"
    );
    assert_eq!(log_files(&data), Vec::<String>::new());

    std::fs::write(home.path().join("blocked"), "").unwrap();
    let out = run(
        default_env(home.path().join("blocked")),
        &["--provider", "demo", "ask", "hi"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("cannot write the log file").count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!stdout(&out).is_empty(), "the demo still answers");
}
