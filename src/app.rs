//! The event loop: owns the model, the terminal and the request tasks, and runs effects.
//!
//! Producers send [`AppEvent`]s into two channels: what the user does (keys, pastes, resizes,
//! signals), taken at once, and everything else (streamed text above all), taken when the next
//! frame is due, so that a token does not wake the loop (`inbox.rs`). The loop passes each
//! event to the pure `Model::update`, carries out the effects (most through `services`), and
//! asks for a frame.
//! Frames are coalesced and paced by a [`FramePacer`]: however many events arrive (a burst of
//! tokens, a huge paste), at most one frame is drawn per
//! [`MIN_FRAME_INTERVAL`](crate::frames::MIN_FRAME_INTERVAL), and nothing is drawn while
//! nothing happens. There is no periodic tick either: the model asks for a wake-up
//! ([`Effect::ScheduleTick`]) when something on screen changes by itself (a countdown, a
//! streaming reply's elapsed time); the loop keeps the earliest one and sends
//! [`AppEvent::Tick`] then. An idle app sleeps until the next key or message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::event::AppEvent;
use crate::frames::FramePacer;
use crate::limit::Limiter;
use crate::llm::Provider;
use crate::llm::pricing::PriceTable;
use crate::llm::retry::RetryPolicy;
use crate::model::history::ResumeTarget;
use crate::model::{Effect, Model};
use crate::prompts::{PromptWatcher, Reference, WatchEvent};
use crate::request::Pump;
use crate::store::StoreHandle;
use crate::tui::palette::Palette;
use crate::tui::{self, Term};
use crate::ui::{self, theme::Theme};

mod editor;
mod inbox;
mod services;
mod sources;

use editor::hand_to_editor;
use inbox::{Inbox, Woke};
use services::Services;
use sources::{forward_warnings, load_theme, read_terminal, watch_signals, watch_theme};

/// Where the unsent composer text is kept between runs.
pub fn draft_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("draft.txt")
}

/// What the interactive app needs besides the model.
pub struct AppConfig {
    pub provider: Arc<dyn Provider>,
    pub policy: RetryPolicy,
    pub theme: Theme,
    /// Where the draft (and later the database) lives.
    pub data_dir: PathBuf,
    /// The prompt library.
    pub prompts_dir: PathBuf,
    /// The prompt to start with (`--prompt`).
    pub initial_prompt: Option<Reference>,
    /// The theme file, reloaded when it is saved.
    pub theme_path: Option<PathBuf>,
    /// Most frames a second while text streams (`--max-fps`).
    pub max_fps: u32,
    /// The local rate limiter every send passes (`None`: `--rate-limit off` and no budgets).
    pub limiter: Option<Limiter>,
    /// The request log and conversations (`None` when the database could not be opened).
    pub store: Option<StoreHandle>,
    /// What the database thread has to tell the user (a write failed, its file was deleted
    /// and recreated): each becomes an [`AppEvent::Warning`] on the status line.
    pub store_warnings: Option<mpsc::UnboundedReceiver<String>>,
    /// A conversation to reopen at start (`--resume`).
    pub resume: Option<ResumeTarget>,
    /// Prices for the request log's costs.
    pub prices: Arc<PriceTable>,
}

/// The one pending wake-up: of the ticks the model asks for, only the earliest is kept (the
/// model asks again after each tick while it needs more).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Alarm {
    at: Option<tokio::time::Instant>,
}

impl Alarm {
    /// Asks to be woken at `at`, unless an earlier wake-up is set already.
    fn set(&mut self, at: Instant) {
        let at = tokio::time::Instant::from_std(at);
        self.at = Some(self.at.map_or(at, |pending| pending.min(at)));
    }

    /// When the alarm rings, if it is set.
    fn at(&self) -> Option<tokio::time::Instant> {
        self.at
    }

    /// The alarm rang: it is unset until asked again.
    fn rang(&mut self) {
        self.at = None;
    }
}

/// The time handed to the model: tokio's clock, so that a paused test clock drives it too.
fn clock_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Keeps `text` as the draft at `path`, atomically (a temporary file renamed over it); an
/// empty text removes the file.
pub fn save_draft(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if text.trim().is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("txt.partial");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// Runs the interactive app until the user quits or a signal ends it.
pub async fn run(mut model: Model, config: AppConfig) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    // The file stays: it is the composer's text until the user changes it (then it is
    // rewritten, or removed once the composer is empty).
    if let Ok(draft) = tokio::fs::read_to_string(draft_path(&data_dir)).await {
        model.composer.insert_str(draft);
    }
    let mut terminal = tui::init()?;
    let result = event_loop(&mut terminal, &mut model, config).await;
    tui::restore();
    // The user's unsent text survives a quit, a SIGTERM or an SSH drop.
    let draft = model.composer_text();
    let path = draft_path(&data_dir);
    if let Err(e) = tokio::task::spawn_blocking(move || save_draft(&path, &draft))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        tracing::warn!("could not save the unsent draft: {e}");
    }
    result
}

async fn event_loop(
    terminal: &mut Term,
    model: &mut Model,
    config: AppConfig,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::unbounded_channel::<AppEvent>();
    // What the user does (keys, pastes, resizes, signals) has its own channel: it is read at
    // once, while everything else (streamed text above all) is read when the next frame is
    // due — one wake-up a frame instead of one a token.
    let (user_tx, user_rx) = mpsc::unbounded_channel::<AppEvent>();
    let mut input = tokio::spawn(read_terminal(user_tx.clone()));
    let mut signals = tokio::spawn(watch_signals(user_tx.clone()));
    let store_warnings = config
        .store_warnings
        .map(|warnings| tokio::spawn(forward_warnings(warnings, tx.clone())));
    let no_color = Palette::from_env() == Palette::NoColor;
    let fit = |theme: Theme| if no_color { theme.monochrome() } else { theme };
    let mut theme = fit(config.theme);
    // Saving the theme file restyles the running chat; a file that cannot be used keeps the
    // last good theme, with the reason on the status line.
    let _theme_watcher = config
        .theme_path
        .clone()
        .and_then(|path| watch_theme(path, tx.clone()));
    let mut services = Services {
        pump: Pump {
            provider: Arc::clone(&config.provider),
            policy: Arc::new(config.policy),
            store: config.store.clone(),
            limiter: config.limiter,
            prices: config.prices,
            shutting_down: Arc::new(AtomicBool::new(false)),
        },
        provider: config.provider,
        prompts_dir: config.prompts_dir,
        tx: tx.clone(),
        tasks: HashMap::new(),
        store: config.store,
        cancelled: Vec::new(),
        resolving: HashMap::new(),
        draft: (draft_path(&config.data_dir), Arc::default()),
        wake: Alarm::default(),
    };
    // The watcher lists the directory once: start it off the event loop.
    let watcher = {
        let dir = services.prompts_dir.clone();
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || {
            if !dir.is_dir() {
                // No library here: nothing to watch, and nothing wrong (the picker says so).
                tracing::info!("no prompts directory at {}", dir.display());
                return None;
            }
            let events = tx.clone();
            PromptWatcher::start(&dir, move |change| {
                let _ = events.send(AppEvent::PromptsChanged(change));
            })
            .map_err(|e| {
                let _ = tx.send(AppEvent::PromptsChanged(WatchEvent::Error(e.to_string())));
            })
            .ok()
        })
    };
    let mut quit = false;
    // What the screen keeps between frames: layouts and scroll positions.
    let mut view = ui::View::default();
    for effect in view.take_scrolls(model.start(config.initial_prompt, config.resume)) {
        quit |= services.run(effect);
    }
    // The model knows the screen's size from resize events; this is the first.
    if let Ok(size) = terminal.size() {
        let resize = AppEvent::Resize {
            width: size.width,
            height: size.height,
        };
        for effect in view.take_scrolls(model.update(resize, clock_now())) {
            quit |= services.run(effect);
        }
    }

    // A failed draw (the terminal is gone, e.g. an SSH drop) ends the loop like a signal
    // would, so that the shutdown below always runs.
    let mut failure: Option<anyhow::Error> = terminal
        .draw(|f| ui::render(model, &theme, &mut view, f))
        .err()
        .map(Into::into);
    quit |= failure.is_some();
    let mut inbox = Inbox::new(user_rx, rx, FramePacer::with_max_fps(config.max_fps));
    inbox.drawn(tokio::time::Instant::now());

    while !quit {
        let Some((batch, woke)) = inbox.next(services.wake.at()).await else {
            break;
        };
        if woke == Woke::Alarm {
            services.wake.rang();
        }
        let had_events = !batch.is_empty();
        for event in batch {
            if let AppEvent::Resize { width, height } = event {
                terminal
                    .backend_mut()
                    .resized(ratatui::layout::Size { width, height });
            }
            if let AppEvent::ThemeFileChanged = event {
                if let Some(path) = &config.theme_path {
                    match load_theme(path) {
                        Ok(new) => theme = fit(new),
                        Err(e) => {
                            let _ = tx
                                .send(AppEvent::Warning(format!("{e} — keeping the theme in use")));
                        }
                    }
                }
                continue;
            }
            for effect in model.update(event, clock_now()) {
                // The effects on the terminal itself are the loop's: it owns it.
                match effect {
                    Effect::Scroll { target, to } => view.scroll(target, to),
                    Effect::Repaint => {
                        terminal.backend_mut().forget_size();
                        if let Err(e) = terminal.clear() {
                            failure = Some(e.into());
                            quit = true;
                        }
                    }
                    Effect::EditInEditor { text } => {
                        let handles = (&mut input, &mut signals);
                        match hand_to_editor(terminal, handles, &user_tx, text).await {
                            Ok(edited) => {
                                let _ = tx.send(AppEvent::EditorClosed(edited));
                            }
                            Err(e) => {
                                failure = Some(e);
                                quit = true;
                            }
                        }
                    }
                    effect => quit |= services.run(effect),
                }
            }
        }
        if had_events {
            services.reap_finished_tasks();
        }
        // What the user did shows at once; streamed text at the pace of --max-fps.
        if inbox.draw_now(woke, had_events, tokio::time::Instant::now())
            && let Err(e) = terminal.draw(|f| ui::render(model, &theme, &mut view, f))
        {
            failure = Some(e.into());
            break;
        }
    }
    // Whatever still streams is cut short by the shutdown (a signal, an SSH drop): its
    // recorder writes the partial text as interrupted when the task is dropped. Wait for
    // that, so the writes are queued before the database closes.
    services.pump.shutting_down.store(true, Ordering::SeqCst);
    for (_, handle) in services.tasks.drain() {
        handle.abort();
        let _ = handle.await;
    }
    // Requests the user cancelled were aborted already; their recorders' last writes must
    // be queued before the database closes too.
    for handle in services.cancelled.drain(..) {
        let _ = handle.await;
    }
    input.abort();
    signals.abort();
    if let Some(forwarder) = store_warnings {
        forwarder.abort();
    }
    drop(watcher.await);
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
