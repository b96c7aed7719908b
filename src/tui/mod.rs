//! Terminal set-up and, above all, tear-down.
//!
//! The terminal must come back exactly as it was on every exit path: a normal quit, an error,
//! a panic (the hook restores first, then chains to the previous hook so the message is
//! readable), SIGTERM and SIGHUP (handled by the app as a quit). [`restore`] is idempotent
//! and ignores write errors, because after an SSH drop there may be no terminal to write to.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor::Hide, execute};
use ratatui::Terminal;

pub mod backend;
pub mod palette;

use backend::LeanBackend;

/// The terminal type the app draws on.
pub type Term = Terminal<LeanBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Enters raw mode and the alternate screen, enables bracketed paste, hides the cursor and
/// installs the panic hook.
pub fn init() -> io::Result<Term> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableBracketedPaste, Hide) {
        restore();
        return Err(e);
    }
    match Terminal::new(LeanBackend::new(io::stdout()).with_palette(palette::Palette::from_env())) {
        Ok(t) => Ok(t),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Leaves the alternate screen, disables bracketed paste and raw mode, shows the cursor.
/// Safe to call more than once and from a panic hook.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut stdout = io::stdout();
        // The lean backend leaves the last frame's style set: reset it first.
        let _ = stdout.write_all(b"\x1b[0m");
        let _ = execute!(stdout, DisableBracketedPaste, LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
        let _ = stdout.flush();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Only a panic of the thread that runs the UI ends the app. A background task's panic
        // is caught by tokio and reported in the UI as that request's failure; restoring the
        // terminal under a running UI would leave it drawing on the normal screen.
        if std::thread::current().name() == Some("main") {
            restore();
        }
        previous(info);
    }));
}
