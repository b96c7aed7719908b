//! The event loop: owns the model, the terminal and the request tasks, and runs effects.
//!
//! Every producer sends into one channel of [`AppEvent`]s. The loop takes events off it,
//! passes each to the pure `Model::update`, carries out the effects, and asks for a frame.
//! Frames are coalesced: however many events arrive (a burst of tokens, a huge paste), at
//! most one frame is drawn per [`MIN_FRAME_INTERVAL`], and nothing is drawn while nothing
//! happens — there is no idle tick. A periodic tick runs only while a reply streams, so that
//! elapsed-time counters move.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use crate::event::{AppEvent, RequestId};
use crate::llm::retry::{self, Progress, RetryPolicy};
use crate::llm::{ChatRequest, Provider};
use crate::model::{Effect, Model, STREAMING_TICK};
use crate::tui::{self, Term};
use crate::ui::{self, theme::Theme};

/// At most 60 frames per second.
pub const MIN_FRAME_INTERVAL: Duration = Duration::from_micros(16_667);

/// Most events handled before a frame is considered (bounds latency under a flood).
const EVENTS_PER_BATCH: usize = 1024;

/// Where the unsent composer text is kept between runs.
pub fn draft_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("draft.txt")
}

/// Runs the interactive app until the user quits or a signal ends it.
pub async fn run(
    mut model: Model,
    provider: Arc<dyn Provider>,
    policy: RetryPolicy,
    theme: Theme,
    data_dir: PathBuf,
) -> anyhow::Result<()> {
    let policy = Arc::new(policy);
    if let Ok(draft) = std::fs::read_to_string(draft_path(&data_dir)) {
        model.composer.insert_str(draft);
        let _ = std::fs::remove_file(draft_path(&data_dir));
    }
    let mut terminal = tui::init()?;
    let result = event_loop(&mut terminal, &mut model, provider, policy, &theme).await;
    tui::restore();
    // The user's unsent text survives a quit, a SIGTERM or an SSH drop.
    let draft = model.composer_text();
    if !draft.trim().is_empty()
        && let Err(e) = std::fs::create_dir_all(&data_dir)
            .and_then(|()| std::fs::write(draft_path(&data_dir), draft))
    {
        tracing::warn!("could not save the unsent draft: {e}");
    }
    result
}

async fn event_loop(
    terminal: &mut Term,
    model: &mut Model,
    provider: Arc<dyn Provider>,
    policy: Arc<RetryPolicy>,
    theme: &Theme,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<AppEvent>();
    let input = tokio::spawn(read_terminal(tx.clone()));
    let signals = tokio::spawn(watch_signals(tx.clone()));
    let mut tasks: HashMap<RequestId, JoinHandle<()>> = HashMap::new();

    terminal.draw(|f| ui::render(model, theme, f))?;
    let mut last_frame = Instant::now();
    let mut frame_due: Option<tokio::time::Instant> = None;
    let mut next_tick = tokio::time::Instant::now() + STREAMING_TICK;
    let mut quit = false;

    while !quit {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                let mut batch = vec![event];
                while batch.len() < EVENTS_PER_BATCH {
                    match rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                let was_animating = model.is_animating();
                for event in batch {
                    let now = Instant::now();
                    for effect in model.update(event, now) {
                        quit |= run_effect(effect, &provider, &policy, &tx, &mut tasks);
                    }
                }
                if !was_animating && model.is_animating() {
                    next_tick = tokio::time::Instant::now() + STREAMING_TICK;
                }
                tasks.retain(|_, handle| !handle.is_finished());
                if frame_due.is_none() {
                    let earliest = last_frame + MIN_FRAME_INTERVAL;
                    frame_due = Some(tokio::time::Instant::from_std(earliest.max(Instant::now())));
                }
            }
            () = sleep_until(frame_due.unwrap_or_else(tokio::time::Instant::now)), if frame_due.is_some() => {
                frame_due = None;
                terminal.draw(|f| ui::render(model, theme, f))?;
                last_frame = Instant::now();
            }
            () = sleep_until(next_tick), if model.is_animating() => {
                next_tick += STREAMING_TICK;
                let _ = tx.send(AppEvent::Tick);
            }
        }
    }
    for (_, handle) in tasks {
        handle.abort();
    }
    input.abort();
    signals.abort();
    Ok(())
}

/// Carries out one effect; returns true when the app must quit.
fn run_effect(
    effect: Effect,
    provider: &Arc<dyn Provider>,
    policy: &Arc<RetryPolicy>,
    tx: &mpsc::UnboundedSender<AppEvent>,
    tasks: &mut HashMap<RequestId, JoinHandle<()>>,
) -> bool {
    match effect {
        Effect::StartRequest { id, request } => {
            tracing::info!(request = %id, model = %request.model, "request started");
            let handle = tokio::spawn(stream_request(
                provider.clone(),
                policy.clone(),
                id,
                request,
                tx.clone(),
            ));
            tasks.insert(id, handle);
            false
        }
        Effect::CancelRequest { id } => {
            tracing::info!(request = %id, "request cancelled");
            if let Some(handle) = tasks.remove(&id) {
                handle.abort();
            }
            false
        }
        Effect::Quit => true,
    }
}

/// Streams one request through the retry policy, forwarding every attempt and event
/// tagged with its id.
pub async fn stream_request(
    provider: Arc<dyn Provider>,
    policy: Arc<RetryPolicy>,
    id: RequestId,
    request: ChatRequest,
    tx: mpsc::UnboundedSender<AppEvent>,
) {
    let report = |progress: Progress| {
        let event = match progress {
            Progress::AttemptStarted { number, model } => {
                AppEvent::AttemptStarted { id, number, model }
            }
            Progress::Event(event) => AppEvent::Stream { id, event },
            Progress::AttemptFailed {
                number,
                error,
                next,
            } => {
                tracing::warn!(request = %id, attempt = number, kind = error.kind(), ?next, "attempt failed: {error}");
                AppEvent::AttemptFailed {
                    id,
                    number,
                    error,
                    next,
                }
            }
        };
        let _ = tx.send(event);
    };
    let gate = |_attempt: u32| async { Ok(()) };
    let outcome = retry::drive(
        provider.as_ref(),
        request,
        &policy,
        gate,
        retry::clock_jitter,
        report,
    )
    .await;
    if let Err(error) = outcome {
        let _ = tx.send(AppEvent::StreamFailed { id, error });
    }
}

async fn read_terminal(tx: mpsc::UnboundedSender<AppEvent>) {
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
async fn watch_signals(tx: mpsc::UnboundedSender<AppEvent>) {
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
async fn watch_signals(tx: mpsc::UnboundedSender<AppEvent>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = tx.send(AppEvent::Terminate);
    }
}
