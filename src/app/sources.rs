//! What feeds the event loop besides requests: the terminal's keys, the signals that end a
//! session, the theme file being saved, and the database thread's messages.

use std::path::{Path, PathBuf};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::event::AppEvent;
use crate::ui::theme::Theme;

/// Passes the database thread's messages to the status line.
pub(super) async fn forward_warnings(
    mut warnings: mpsc::UnboundedReceiver<String>,
    tx: mpsc::UnboundedSender<AppEvent>,
) {
    while let Some(warning) = warnings.recv().await {
        if tx
            .send(AppEvent::Warning(format!("history database: {warning}")))
            .is_err()
        {
            break;
        }
    }
}

/// Reads and parses the theme file at `path`.
pub(super) fn load_theme(path: &Path) -> Result<Theme, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read theme file {}: {e}", path.display()))?;
    Theme::with_overrides(&text, &path.display().to_string()).map_err(|e| e.to_string())
}

/// Watches the theme file at `path` (through its directory, so that editors that replace the
/// file on save are seen); each change sends [`AppEvent::ThemeFileChanged`].
pub(super) fn watch_theme(
    path: PathBuf,
    tx: mpsc::UnboundedSender<AppEvent>,
) -> Option<notify_debouncer_full::notify::RecommendedWatcher> {
    use notify_debouncer_full::notify::{self, RecursiveMode, Watcher};
    let name = path.file_name()?.to_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
            && event.paths.iter().any(|p| p.file_name() == Some(&name))
        {
            let _ = tx.send(AppEvent::ThemeFileChanged);
        }
    })
    .ok()?;
    watcher.watch(&dir, RecursiveMode::NonRecursive).ok()?;
    Some(watcher)
}

pub(super) async fn read_terminal(tx: mpsc::UnboundedSender<AppEvent>) {
    let mut events = EventStream::new();
    while let Some(event) = events.next().await {
        let app_event = match event {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => AppEvent::Key(key),
            Ok(Event::Paste(text)) => AppEvent::Paste(text),
            Ok(Event::Resize(width, height)) => AppEvent::Resize { width, height },
            Ok(_) => continue,
            Err(e) => {
                // The terminal is gone (e.g. an SSH drop): stop as if asked to.
                tracing::warn!("terminal input failed: {e}");
                AppEvent::Terminate
            }
        };
        let stop = matches!(app_event, AppEvent::Terminate);
        if tx.send(app_event).is_err() || stop {
            return;
        }
    }
    let _ = tx.send(AppEvent::Terminate);
}

#[cfg(unix)]
pub(super) async fn watch_signals(tx: mpsc::UnboundedSender<AppEvent>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("could not install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = int.recv() => {}
    }
    let _ = tx.send(AppEvent::Terminate);
}

#[cfg(not(unix))]
pub(super) async fn watch_signals(tx: mpsc::UnboundedSender<AppEvent>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = tx.send(AppEvent::Terminate);
    }
}
