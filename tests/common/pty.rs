//! Driving the real binary in a pseudo-terminal, with the screen emulated by vt100.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub const ROWS: u16 = 30;
pub const COLS: u16 = 100;
/// Generous bound for the app to react under a loaded CI machine; not a performance claim.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Screen {
    pub parser: Arc<Mutex<vt100::Parser>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Polls the emulated screen until `pred` holds; panics with the screen after PATIENCE.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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
pub struct Running {
    pub screen: Screen,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    reader_thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Starts the binary with exactly `env` (plus TERM).
    pub fn start(env: &[(&str, String)]) -> Running {
        Running::start_in(env, None)
    }

    /// Starts the binary with exactly `env` (plus TERM), in `cwd` when given.
    pub fn start_in(env: &[(&str, String)], cwd: Option<&std::path::Path>) -> Running {
        Running::start_with(env, cwd, &[])
    }

    /// Starts the binary with `args`, exactly `env` (plus TERM), in `cwd` when given.
    pub fn start_with(
        env: &[(&str, String)],
        cwd: Option<&std::path::Path>,
        args: &[&str],
    ) -> Running {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_promptdeck"));
        cmd.args(args);
        cmd.env_clear();
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(dir) = cwd {
            cmd.cwd(dir);
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

    pub fn type_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the process to exit, then checks the terminal was restored.
    pub fn wait_exit_restored(mut self) -> portable_pty::ExitStatus {
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

/// The environment of a promptdeck under test: everything under `home`, talking to the mock
/// Anthropic server at `base_url` with a test key.
pub fn anthropic_env(home: &std::path::Path, base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        (
            "PROMPTDECK_DATA_DIR",
            home.join("data").display().to_string(),
        ),
        ("ANTHROPIC_API_KEY", "sk-test".to_string()),
        ("ANTHROPIC_BASE_URL", base_url.to_string()),
    ]
}
