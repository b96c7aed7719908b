//! Handing the draft to the user's editor (Alt-V): the terminal is the editor's meanwhile.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::sources::{read_terminal, watch_signals};
use crate::event::AppEvent;
use crate::tui::{self, Term};

/// Runs the user's editor on `text` in the real terminal and gives back what it saved.
///
/// The terminal is the editor's meanwhile: keys are not read (the input task stops, and
/// starts again after), the alternate screen, raw mode and bracketed paste are left, and
/// SIGINT (a Ctrl-C in the editor reaches us too) does not quit. Then the screen is set up
/// again and cleared for a full redraw. `Err` only when the terminal cannot be set up again.
pub(super) async fn hand_to_editor(
    terminal: &mut Term,
    (input, signals): (&mut JoinHandle<()>, &mut JoinHandle<()>),
    tx: &mpsc::UnboundedSender<AppEvent>,
    text: String,
) -> anyhow::Result<Result<String, String>> {
    input.abort();
    let _ = (&mut *input).await;
    signals.abort();
    let _ = (&mut *signals).await;
    tui::restore();
    let edited = run_editor(&text).await;
    let back = tui::init();
    *input = tokio::spawn(read_terminal(tx.clone()));
    *signals = tokio::spawn(watch_signals(tx.clone()));
    *terminal = back?;
    terminal.clear()?;
    // The window may have been resized meanwhile, unseen: tell the model its size now.
    if let Ok(size) = terminal.size() {
        let (width, height) = (size.width, size.height);
        let _ = tx.send(AppEvent::Resize { width, height });
    }
    Ok(edited)
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, on a temporary file holding `text`; the file's text
/// once the editor exits successfully.
async fn run_editor(text: &str) -> Result<String, String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let path = editor_file_path();
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes())
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    drop(file);
    // As git does: the variable may hold arguments (`code --wait`), so a shell runs it.
    let status = if cfg!(unix) {
        tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("promptdeck-editor")
            .arg(&path)
            .status()
            .await
    } else {
        tokio::process::Command::new(&editor)
            .arg(&path)
            .status()
            .await
    };
    let result = match status {
        Ok(s) if s.success() => tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        Ok(s) => Err(format!("{editor} exited with {s}")),
        Err(e) => Err(format!("cannot run {editor}: {e}")),
    };
    let _ = tokio::fs::remove_file(&path).await;
    result
}

/// A file name of this process that no other edit uses.
fn editor_file_path() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("promptdeck-message-{}-{n}.md", std::process::id()))
}
