//! The app's side of effects: the IO the model asks for (requests, the database, prompts,
//! the editor's draft, the clipboard), each run off the event loop and answered with an
//! `AppEvent`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Alarm, save_draft};
use crate::event::{AppEvent, RequestId};
use crate::llm::{LlmError, Provider};
use crate::model::Effect;
use crate::model::history::ResumeTarget;
use crate::prompts::SessionVersions;
use crate::records::{HistoryError, Reopened};
use crate::request::{End, Pump};
use crate::store::resolve::resolve_with_history;
use crate::store::{Pending, RequestFilter, StoreHandle};

/// The app's side of effects: everything that does IO on the model's behalf.
pub(super) struct Services {
    /// The one request path (its `shutting_down` flag is set as the app shuts down: replies
    /// still in flight are then recorded as interrupted).
    pub(super) pump: Pump,
    pub(super) provider: Arc<dyn Provider>,
    pub(super) prompts_dir: PathBuf,
    pub(super) tx: mpsc::UnboundedSender<AppEvent>,
    pub(super) tasks: HashMap<RequestId, JoinHandle<()>>,
    pub(super) store: Option<StoreHandle>,
    /// Requests the user cancelled (aborted), awaited at shutdown.
    pub(super) cancelled: Vec<JoinHandle<()>>,
    /// The newest prompt read per prompt name.
    pub(super) resolving: HashMap<String, JoinHandle<()>>,
    /// Where the draft is kept, and the number of the newest write asked for (an older write
    /// finishing late must not overwrite a newer one).
    pub(super) draft: (PathBuf, Arc<std::sync::Mutex<u64>>),
    /// When to send the model its next `AppEvent::Tick` (the earliest it asked for).
    pub(super) wake: Alarm,
}

impl Services {
    /// Asks the database (`ask` queues the command; the answer is awaited off the loop) and
    /// sends the model the event `answer` makes of the result; without a database, the
    /// result is `HistoryError::Unavailable`.
    fn ask_store<T: Send + 'static>(
        &self,
        ask: impl FnOnce(&StoreHandle) -> Pending<T>,
        answer: impl FnOnce(Result<T, HistoryError>) -> AppEvent + Send + 'static,
    ) {
        let pending = self.store.as_ref().map(ask);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = match pending {
                Some(pending) => pending.wait().await.map_err(HistoryError::from),
                None => Err(HistoryError::Unavailable),
            };
            let _ = tx.send(answer(result));
        });
    }

    /// Forgets finished request tasks; one that panicked is reported as that request's
    /// failure (a bug, but the app keeps running and the chat is usable again).
    pub(super) fn reap_finished_tasks(&mut self) {
        self.cancelled.retain(|h| !h.is_finished());
        self.resolving.retain(|_, h| !h.is_finished());
        let finished: Vec<RequestId> = self
            .tasks
            .iter()
            .filter(|(_, handle)| handle.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in finished {
            let Some(handle) = self.tasks.remove(&id) else {
                continue;
            };
            if let Some(Err(e)) = handle.now_or_never()
                && e.is_panic()
            {
                tracing::error!(request = %id, "request task panicked: {e}");
                let _ = self.tx.send(AppEvent::RequestEnded {
                    id,
                    end: End::Failed(LlmError::Protocol {
                        message: "internal error while handling this reply (see promptdeck.log)"
                            .into(),
                    }),
                });
            }
        }
    }

    /// Carries out one effect; returns true when the app must quit.
    pub(super) fn run(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::StartRequest { id, spec } => {
                tracing::info!(
                    request = %id,
                    model = %spec.request.model,
                    prompt = spec.prompt.as_ref().map(|p| p.describe()).unwrap_or_default(),
                    "request started"
                );
                let (pump, tx) = (self.pump.clone(), self.tx.clone());
                let handle = tokio::spawn(async move {
                    let events = tx.clone();
                    let sink = move |event| {
                        let _ = events.send(AppEvent::Request { id, event });
                    };
                    let outcome = pump.run(*spec, sink, std::future::pending()).await;
                    if let End::Failed(error) = &outcome.end {
                        tracing::warn!(request = %id, kind = error.kind(), "request failed: {error}");
                    }
                    let _ = tx.send(AppEvent::RequestEnded {
                        id,
                        end: outcome.end,
                    });
                });
                self.tasks.insert(id, handle);
            }
            Effect::CancelRequest { id } => {
                tracing::info!(request = %id, "request cancelled");
                if let Some(handle) = self.tasks.remove(&id) {
                    handle.abort();
                    self.cancelled.push(handle);
                }
            }
            Effect::ScanPrompts => {
                let (dir, tx) = (self.prompts_dir.clone(), self.tx.clone());
                tokio::spawn(async move {
                    // No prompts directory yet is an empty library, not an error.
                    let missing = matches!(
                        tokio::fs::metadata(&dir).await,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound
                    );
                    let result = if missing {
                        Ok(Vec::new())
                    } else {
                        crate::prompts::scan_async(&dir)
                            .await
                            .map(|entries| entries.into_iter().map(|e| e.name).collect())
                    };
                    let _ = tx.send(AppEvent::PromptsScanned(result));
                });
            }
            Effect::ResolvePrompt { reference, purpose } => {
                let (dir, tx) = (self.prompts_dir.clone(), self.tx.clone());
                let store = self.store.clone();
                let name = reference.name.clone();
                let handle = tokio::spawn(async move {
                    let session = SessionVersions::new();
                    let result =
                        resolve_with_history(&dir, &reference, &session, store.as_ref()).await;
                    let _ = tx.send(AppEvent::PromptResolved {
                        reference,
                        purpose,
                        result,
                    });
                });
                // Two quick saves: only the newest read may answer, or an older text could
                // land after a newer one. An older read that already answered is ahead of
                // this one in the channel.
                if let Some(older) = self.resolving.insert(name, handle) {
                    older.abort();
                }
            }
            Effect::LoadVersions { name, session } => {
                let (dir, tx) = (self.prompts_dir.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let result = crate::prompts::versions(&dir, &name, &session).await;
                    let _ = tx.send(AppEvent::VersionsLoaded { name, result });
                });
            }
            Effect::LoadRequestLog { prompt_name, limit } => self.ask_store(
                |store| {
                    store.recent_requests(RequestFilter {
                        limit,
                        prompt_name,
                        compare_id: None,
                    })
                },
                AppEvent::RequestLogLoaded,
            ),
            Effect::LoadRequestContext { id } => self.ask_store(
                |store| store.request_context(id),
                move |result| AppEvent::RequestContextLoaded { id, result },
            ),
            Effect::LoadConversations {
                filter,
                limit,
                generation,
            } => self.ask_store(
                |store| store.search_conversations(filter, limit),
                move |result| AppEvent::ConversationsListed { generation, result },
            ),
            Effect::BranchConversation {
                parent,
                before_user_message,
            } => self.ask_store(
                |store| store.branch_conversation(parent, before_user_message),
                AppEvent::ConversationBranched,
            ),
            // The loop's own: it owns the terminal and the view.
            Effect::Repaint | Effect::EditInEditor { .. } | Effect::Scroll { .. } => {}
            Effect::LoadConversation { target } => {
                let (store, tx) = (self.store.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let result = match store {
                        Some(store) => load_conversation(&store, target).await,
                        None => Err(HistoryError::Unavailable),
                    };
                    let _ = tx.send(AppEvent::ConversationLoaded(result));
                });
            }
            Effect::ListModels => {
                let (listing, tx) = (self.provider.list_models(), self.tx.clone());
                tokio::spawn(async move {
                    let _ = tx.send(AppEvent::ModelsListed(listing.await));
                });
            }
            Effect::Copy { text } => {
                // Between frames, on the same terminal: the sequence is not drawn.
                let mut stdout = std::io::stdout();
                let copy = crossterm::clipboard::CopyToClipboard::to_clipboard_from(text);
                if let Err(e) = crossterm::execute!(stdout, copy) {
                    let _ = self
                        .tx
                        .send(AppEvent::Warning(format!("could not copy: {e}")));
                }
            }
            Effect::ScheduleTick { at } => self.wake.set(at),
            Effect::SaveDraft { text } => {
                let (path, newest) = (self.draft.0.clone(), Arc::clone(&self.draft.1));
                let number = {
                    let mut n = newest.lock().unwrap_or_else(|p| p.into_inner());
                    *n += 1;
                    *n
                };
                tokio::task::spawn_blocking(move || {
                    // Writes run one at a time, and only the newest is carried out.
                    let n = newest.lock().unwrap_or_else(|p| p.into_inner());
                    if *n == number
                        && let Err(e) = save_draft(&path, &text)
                    {
                        tracing::warn!("could not save the draft: {e}");
                    }
                });
            }
            Effect::Quit => return true,
        }
        false
    }
}

/// Reads the conversation `target` names.
/// The conversation to reopen, with the other lanes of its compare run (a compare comes back
/// as a compare).
async fn load_conversation(
    store: &StoreHandle,
    target: ResumeTarget,
) -> Result<Reopened, HistoryError> {
    let id = match target {
        ResumeTarget::Id(id) => id,
        ResumeTarget::Latest => store
            .list_conversations(1)
            .wait()
            .await?
            .first()
            .map(|c| c.id)
            .ok_or(HistoryError::NoConversation)?,
    };
    let Some((compare_id, ids)) = store.compare_lanes(id).wait().await? else {
        return Ok(Reopened::single(store.load_conversation(id).wait().await?));
    };
    let mut lanes = Vec::with_capacity(ids.len());
    let mut focus = 0;
    for lane in ids.into_iter().take(crate::model::compare::MAX_LANES) {
        if lane == id {
            focus = lanes.len();
        }
        lanes.push(store.load_conversation(lane).wait().await?);
    }
    if !lanes.iter().any(|l| l.conversation.id == id) {
        // Past the lanes shown: the one asked for replaces the last.
        lanes.pop();
        focus = lanes.len();
        lanes.push(store.load_conversation(id).wait().await?);
    }
    Ok(Reopened {
        compare_id: Some(compare_id),
        lanes,
        focus,
    })
}
