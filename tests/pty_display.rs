//! Colours that respect the terminal, in the real binary: `NO_COLOR` draws without any
//! colour (structure stays, in bold, dim and reverse), a 256-colour terminal gets a theme's
//! `#rrggbb` as the nearest of the 256, and saving the theme file restyles the running chat.

mod common;

use std::time::Duration;

use common::mock::MockServer;
use common::pty::{Running, anthropic_env};

/// The SGR parameters of every `ESC[…m` in `raw`.
fn sgr_params(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(at) = rest.find("\u{1b}[") {
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            out.extend(after[..end].split(';').map(str::to_string));
        }
        rest = &after[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_draws_structure_without_colour() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut env = anthropic_env(home.path(), &server.base_url());
    env.push(("NO_COLOR", "1".into()));
    let mut app = Running::start(&env);
    app.screen.wait_for("the chat", |s| s.contains("message"));
    app.type_bytes(b"\x1bm"); // the model switcher: accents, borders, muted text
    std::thread::sleep(Duration::from_millis(300));
    let raw = String::from_utf8_lossy(&app.screen.raw.lock().unwrap()).into_owned();
    let params = sgr_params(&raw);
    let colours: Vec<&String> = params
        .iter()
        .filter(|p| {
            matches!(
                p.parse::<u16>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        })
        .collect();
    assert_eq!(colours, Vec::<&String>::new(), "no colour under NO_COLOR");
    assert!(
        params.iter().any(|p| p == "7"),
        "the status bar is reversed"
    );
    assert!(params.iter().any(|p| p == "2"), "muted text is dim");
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_the_theme_file_restyles_the_running_chat() {
    let server = MockServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let theme = home.path().join("mine.toml");
    std::fs::write(&theme, "[roles]\nstatus_bar = { bg = \"#ff8700\" }\n").unwrap();
    let env = anthropic_env(home.path(), &server.base_url());
    let mut app = Running::start_with(&env, None, &["--theme", &theme.display().to_string()]);
    app.screen.wait_for("the chat", |s| s.contains("message"));
    let raw = || String::from_utf8_lossy(&app.screen.raw.lock().unwrap()).into_owned();
    // TERM=xterm-256color: #ff8700 is colour 208 of the 256.
    assert!(
        raw().contains("48;5;208"),
        "the theme's colour, fitted to 256"
    );
    std::fs::write(&theme, "[roles]\nstatus_bar = { bg = \"#0000ff\" }\n").unwrap();
    let deadline = std::time::Instant::now() + common::pty::PATIENCE;
    while !raw().contains("48;5;21m") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(raw().contains("48;5;21m"), "the saved colour is drawn");
    // A broken save keeps the last good theme and says why.
    std::fs::write(&theme, "[roles]\nstatus_bar = { bg = \"not a colour\" }\n").unwrap();
    app.screen.wait_for("the complaint", |s| {
        s.contains("mine.toml") && s.contains("keeping the theme in use")
    });
    app.type_bytes(b"\x03");
    app.wait_exit_restored();
}
