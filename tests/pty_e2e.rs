//! End to end: the real binary in a pseudo-terminal, talking to the mock Anthropic server.
//!
//! The test types a message, watches the reply appear on the (emulated) screen while the
//! server is still streaming it, quits with Ctrl-C and checks that the terminal was restored:
//! alternate screen left, cursor shown, bracketed paste off.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::mock::{MockResponse, MockServer, Step, anthropic};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 30;
const COLS: u16 = 100;
/// Generous bound for the app to react under a loaded CI machine; not a performance claim.
const PATIENCE: Duration = Duration::from_secs(30);

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Polls the emulated screen until `pred` holds; panics with the screen after PATIENCE.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A running promptdeck in a pseudo-terminal.
struct Running {
    screen: Screen,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    reader_thread: std::thread::JoinHandle<()>,
}

impl Running {
    fn start(env: &[(&str, String)]) -> Running {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_promptdeck"));
        cmd.env_clear();
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let screen = Screen {
            parser: Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0))),
            raw: Arc::new(Mutex::new(Vec::new())),
        };
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
        let reader_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        parser.lock().unwrap().process(&buf[..n]);
                        raw.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Running {
            screen,
            child,
            writer,
            master: pty.master,
            reader_thread,
        }
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the process to exit, then checks the terminal was restored.
    fn wait_exit_restored(mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "promptdeck did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.writer);
        drop(self.master);
        let _ = self.reader_thread.join();
        let parser = self.screen.parser.lock().unwrap();
        assert!(!parser.screen().alternate_screen(), "alternate screen left");
        assert!(!parser.screen().hide_cursor(), "cursor shown again");
        let raw = String::from_utf8_lossy(&self.screen.raw.lock().unwrap()).into_owned();
        let tail = &raw[raw
            .rfind("\u{1b}[?1049l")
            .expect("leaves the alternate screen")..];
        assert!(
            tail.contains("\u{1b}[?25h"),
            "shows the cursor after leaving"
        );
        assert!(raw.contains("\u{1b}[?2004l"), "turns bracketed paste off");
        status
    }
}

#[test]
fn sighup_restores_the_terminal_and_keeps_the_unsent_draft() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let env = [
        ("HOME", home.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
        ("PROMPTDECK_DATA_DIR", data.display().to_string()),
    ];
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
        s.contains("anthropic · claude-sonnet-4-5") && s.contains("message")
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
    let log = std::fs::read_to_string(home.path().join("data/promptdeck.log")).unwrap();
    assert!(
        !log.contains("sk-test-e2e"),
        "the key never reaches the log"
    );
}
