//! The database thread: the UI never waits on SQLite.
//!
//! A [`StoreWriter`] owns the [`Store`] on a dedicated OS thread and executes
//! [`StoreCommand`]s in the order they were sent. Sending never blocks (an unbounded channel),
//! so a slow disk or another process holding the lock for a moment delays the database, not
//! the frame. Commands that produce a value (a new id, a query result) carry a
//! `tokio::sync::oneshot` sender; the caller gets a [`Pending`] it can `.await` from a task or
//! block on from plain code. Fire-and-forget commands (checkpoints, finishing a request) report
//! failures to the error sink given at spawn, so they can reach the status line.
//!
//! Order is the guarantee the invariants rest on: a user message sent before a request is in
//! the database before anything of that request, and [`StoreHandle::flush`] resolves only when
//! every earlier command has been carried out.
//!
//! Before each command the thread checks that the database file is still the one it opened
//! (see `recreate` in `store`): a file deleted mid-session is recreated, and the user is told
//! once through the error sink.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{
    ConversationId, ConversationRow, ConversationWithMessages, ListedConversation, LogId,
    MessageId, MessageState, NewConversation, NewMessage, RequestContext, RequestFilter,
    RequestOutcome, RequestRecord, RequestRow, ResponseStart, Store, StoreError,
};

/// Where a command's result goes.
pub type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A row named by the client before it exists: the database thread maps it to the row's id
/// when the insert that carries it runs. A later command can then name the row without
/// waiting for the insert's answer (commands run in order). Unique within the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey(pub u64);

impl RowKey {
    /// A key no other row of this process has.
    pub fn fresh() -> RowKey {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        RowKey(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Writes that name rows by client-side [`RowKey`]s: the request path sends them without
/// waiting for ids.
#[derive(Debug)]
pub enum KeyedWrite {
    /// Log a request attempt as it is sent, under `key`; its row id goes to `logged` (the
    /// number `promptdeck log` and the inspector show for it).
    InsertRequest {
        key: RowKey,
        record: RequestRecord,
        logged: Option<tokio::sync::oneshot::Sender<LogId>>,
    },
    /// Store a reply under `key`, produced by the attempt `request` names.
    InsertReply {
        key: RowKey,
        new: NewMessage,
        request: RowKey,
    },
    /// Link the reply `message` to the attempt `request` producing it now.
    AttachRequest { message: RowKey, request: RowKey },
    /// Overwrite the reply's text and state.
    CheckpointMessage {
        message: RowKey,
        content: String,
        state: MessageState,
    },
    /// Record the server's ids, headers or the time to first chunk.
    RecordResponseStart {
        request: RowKey,
        start: ResponseStart,
    },
    /// Record how the attempt ended.
    FinishRequest {
        request: RowKey,
        outcome: RequestOutcome,
    },
}

/// One thing for the database thread to do.
#[derive(Debug)]
pub enum StoreCommand {
    /// Create a conversation; replies with its id.
    CreateConversation {
        /// What to create.
        new: NewConversation,
        /// Receives the id.
        reply: Reply<ConversationId>,
    },
    /// Store a message (a user message before it is sent; a reply as it starts); replies with
    /// its id.
    InsertMessage {
        /// What to store.
        new: NewMessage,
        /// Receives the id.
        reply: Reply<MessageId>,
    },
    /// Overwrite a message's text and state: a streaming checkpoint or the final write.
    CheckpointMessage {
        /// The message.
        id: MessageId,
        /// Its full text so far.
        content: String,
        /// Its state after this write.
        state: MessageState,
    },
    /// Link a reply to the request attempt producing it.
    AttachRequest {
        /// The reply.
        message: MessageId,
        /// The attempt.
        request: LogId,
    },
    /// Log a request attempt as it is sent; replies with its log id.
    InsertRequest {
        /// What was sent.
        record: RequestRecord,
        /// Receives the log id.
        reply: Reply<LogId>,
    },
    /// Record the server's ids and rate-limit headers when the reply begins.
    RecordResponseStart {
        /// The attempt.
        id: LogId,
        /// What the server said.
        start: ResponseStart,
    },
    /// Keep the exact text of a prompt version.
    SavePromptText {
        /// Its content hash (the stored form).
        content_hash: String,
        /// The prompt's name.
        name: String,
        /// The text.
        text: String,
    },
    /// Record how a request attempt ended.
    FinishRequest {
        /// The attempt.
        id: LogId,
        /// How it ended.
        outcome: RequestOutcome,
    },
    /// Read the newest log rows.
    RecentRequests {
        /// Which rows.
        filter: RequestFilter,
        /// Receives them.
        reply: Reply<Vec<RequestRow>>,
    },
    /// Read the most recently active conversations.
    ListConversations {
        /// At most this many.
        limit: usize,
        /// Receives them.
        reply: Reply<Vec<ConversationRow>>,
    },
    /// The conversation list: the most recent, or those matching a full-text filter.
    SearchConversations {
        /// What the user typed (empty: the most recent).
        filter: String,
        /// At most this many.
        limit: usize,
        /// Receives them.
        reply: Reply<Vec<ListedConversation>>,
    },
    /// Copy a conversation up to one of its user messages into a new branch of it.
    BranchConversation {
        /// The conversation branched.
        parent: ConversationId,
        /// The 0-based user message the branch replaces (copied: everything before it).
        before_user_message: usize,
        /// Receives the branch's id.
        reply: Reply<ConversationId>,
    },
    /// Find stored prompt texts by name and content-hash prefix.
    FindPromptTexts {
        /// The prompt name.
        name: String,
        /// Lowercase hex prefix of the content hash.
        prefix: String,
        /// Receives (full hash, text) pairs.
        reply: Reply<Vec<(String, String)>>,
    },
    /// Read one conversation with its messages.
    LoadConversation {
        /// Which one.
        id: ConversationId,
        /// Receives it.
        reply: Reply<ConversationWithMessages>,
    },
    /// What one logged request sent and got back (the inspector's record).
    RequestContext {
        /// The log row.
        id: LogId,
        /// Receives it.
        reply: Reply<RequestContext>,
    },
    /// The compare run a conversation is a lane of, and its lanes' conversations.
    CompareLanes {
        /// Which conversation.
        id: ConversationId,
        /// Receives the run's id and lanes, or `None`.
        reply: Reply<Option<(String, Vec<ConversationId>)>>,
    },
    /// A write naming rows by client-side keys (failures go to the error sink).
    Keyed(KeyedWrite),
    /// Reply once every earlier command has been carried out.
    Flush {
        /// Signalled when done.
        reply: Reply<()>,
    },
    /// Carry out every earlier command, then stop the thread.
    Shutdown,
}

/// A result that the database thread will deliver.
#[derive(Debug)]
pub struct Pending<T> {
    rx: oneshot::Receiver<Result<T, StoreError>>,
}

impl<T> Pending<T> {
    /// Waits from async code.
    pub async fn wait(self) -> Result<T, StoreError> {
        self.rx.await.unwrap_or(Err(StoreError::WriterGone))
    }

    /// Waits from plain (non-async) code. Never call this inside a tokio runtime thread.
    pub fn wait_blocking(self) -> Result<T, StoreError> {
        self.rx
            .blocking_recv()
            .unwrap_or(Err(StoreError::WriterGone))
    }
}

/// A cheap, cloneable sender of commands (one per task that writes).
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<StoreCommand>,
}

impl StoreHandle {
    /// Sends a raw command. Fails only when the writer thread has stopped.
    pub fn send(&self, command: StoreCommand) -> Result<(), StoreError> {
        self.tx.send(command).map_err(|_| StoreError::WriterGone)
    }

    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> StoreCommand) -> Pending<T> {
        let (reply, rx) = oneshot::channel();
        // If the thread is gone the command (and its reply sender) is dropped, and the
        // receiver resolves to `WriterGone`.
        let _ = self.tx.send(make(reply));
        Pending { rx }
    }

    /// See [`StoreCommand::CreateConversation`].
    pub fn create_conversation(&self, new: NewConversation) -> Pending<ConversationId> {
        self.ask(|reply| StoreCommand::CreateConversation { new, reply })
    }

    /// See [`StoreCommand::InsertMessage`]. Await it before sending a user message.
    pub fn insert_message(&self, new: NewMessage) -> Pending<MessageId> {
        self.ask(|reply| StoreCommand::InsertMessage { new, reply })
    }

    /// See [`StoreCommand::CheckpointMessage`].
    pub fn checkpoint_message(
        &self,
        id: MessageId,
        content: String,
        state: MessageState,
    ) -> Result<(), StoreError> {
        self.send(StoreCommand::CheckpointMessage { id, content, state })
    }

    /// See [`StoreCommand::AttachRequest`].
    pub fn attach_request(&self, message: MessageId, request: LogId) -> Result<(), StoreError> {
        self.send(StoreCommand::AttachRequest { message, request })
    }

    /// See [`StoreCommand::InsertRequest`].
    pub fn insert_request(&self, record: RequestRecord) -> Pending<LogId> {
        self.ask(|reply| StoreCommand::InsertRequest { record, reply })
    }

    /// See [`StoreCommand::RecordResponseStart`].
    pub fn record_response_start(&self, id: LogId, start: ResponseStart) -> Result<(), StoreError> {
        self.send(StoreCommand::RecordResponseStart { id, start })
    }

    /// See [`StoreCommand::SavePromptText`].
    pub fn save_prompt_text(
        &self,
        content_hash: String,
        name: String,
        text: String,
    ) -> Result<(), StoreError> {
        self.send(StoreCommand::SavePromptText {
            content_hash,
            name,
            text,
        })
    }

    /// See [`StoreCommand::FinishRequest`].
    pub fn finish_request(&self, id: LogId, outcome: RequestOutcome) -> Result<(), StoreError> {
        self.send(StoreCommand::FinishRequest { id, outcome })
    }

    /// See [`StoreCommand::RecentRequests`].
    pub fn recent_requests(&self, filter: RequestFilter) -> Pending<Vec<RequestRow>> {
        self.ask(|reply| StoreCommand::RecentRequests { filter, reply })
    }

    /// See [`StoreCommand::ListConversations`].
    pub fn list_conversations(&self, limit: usize) -> Pending<Vec<ConversationRow>> {
        self.ask(|reply| StoreCommand::ListConversations { limit, reply })
    }

    /// See [`StoreCommand::SearchConversations`].
    pub fn search_conversations(
        &self,
        filter: String,
        limit: usize,
    ) -> Pending<Vec<ListedConversation>> {
        self.ask(|reply| StoreCommand::SearchConversations {
            filter,
            limit,
            reply,
        })
    }

    /// See [`StoreCommand::BranchConversation`].
    pub fn branch_conversation(
        &self,
        parent: ConversationId,
        before_user_message: usize,
    ) -> Pending<ConversationId> {
        self.ask(|reply| StoreCommand::BranchConversation {
            parent,
            before_user_message,
            reply,
        })
    }

    /// See [`StoreCommand::FindPromptTexts`].
    pub fn find_prompt_texts(
        &self,
        name: String,
        prefix: String,
    ) -> Pending<Vec<(String, String)>> {
        self.ask(|reply| StoreCommand::FindPromptTexts {
            name,
            prefix,
            reply,
        })
    }

    /// See [`StoreCommand::LoadConversation`].
    pub fn load_conversation(&self, id: ConversationId) -> Pending<ConversationWithMessages> {
        self.ask(|reply| StoreCommand::LoadConversation { id, reply })
    }

    /// See [`StoreCommand::RequestContext`].
    pub fn request_context(&self, id: LogId) -> Pending<RequestContext> {
        self.ask(|reply| StoreCommand::RequestContext { id, reply })
    }

    /// See [`StoreCommand::CompareLanes`].
    pub fn compare_lanes(
        &self,
        id: ConversationId,
    ) -> Pending<Option<(String, Vec<ConversationId>)>> {
        self.ask(|reply| StoreCommand::CompareLanes { id, reply })
    }

    /// Sends a write naming rows by client-side keys; never waits.
    pub fn keyed(&self, write: KeyedWrite) -> Result<(), StoreError> {
        self.send(StoreCommand::Keyed(write))
    }

    /// Resolves once every command sent before it has been carried out.
    pub fn flush(&self) -> Pending<()> {
        self.ask(|reply| StoreCommand::Flush { reply })
    }
}

/// Receives failures of fire-and-forget commands.
pub type ErrorSink = Box<dyn Fn(StoreError) + Send>;

/// The database thread and a handle to it. Dropping it (or [`StoreWriter::close`]) carries out
/// every pending command, then stops the thread.
#[derive(Debug)]
pub struct StoreWriter {
    handle: StoreHandle,
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    /// Moves `store` to a new thread. `on_error` receives failures of commands that have no
    /// reply (checkpoints, finishing requests); it runs on the database thread.
    pub fn spawn(store: Store, on_error: ErrorSink) -> Result<StoreWriter, StoreError> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("promptdeck-store".into())
            .spawn(move || run(store, rx, on_error))
            .map_err(StoreError::Thread)?;
        Ok(StoreWriter {
            handle: StoreHandle { tx },
            thread: Some(thread),
        })
    }

    /// A handle for sending commands.
    pub fn handle(&self) -> StoreHandle {
        self.handle.clone()
    }

    /// Carries out every pending command, then stops the thread and waits for it.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.handle.send(StoreCommand::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Carries out one keyed write, mapping keys to ids in `rows`.
fn keyed(
    store: &mut Store,
    rows: &mut HashMap<RowKey, i64>,
    write: KeyedWrite,
) -> Result<(), StoreError> {
    let row = |rows: &HashMap<RowKey, i64>, key: RowKey| {
        rows.get(&key).copied().ok_or(StoreError::NotFound {
            what: "row stored earlier in this request",
            id: i64::try_from(key.0).unwrap_or(i64::MAX),
        })
    };
    match write {
        KeyedWrite::InsertRequest {
            key,
            record,
            logged,
        } => {
            let id = store.insert_request(&record)?;
            rows.insert(key, id.0);
            if let Some(logged) = logged {
                let _ = logged.send(id);
            }
        }
        KeyedWrite::InsertReply {
            key,
            mut new,
            request,
        } => {
            new.request_id = Some(LogId(row(rows, request)?));
            let id = store.insert_message(&new)?;
            rows.insert(key, id.0);
        }
        KeyedWrite::AttachRequest { message, request } => {
            let (message, request) = (row(rows, message)?, row(rows, request)?);
            store.attach_request(MessageId(message), LogId(request))?;
        }
        KeyedWrite::CheckpointMessage {
            message,
            content,
            state,
        } => store.checkpoint_message(MessageId(row(rows, message)?), &content, state)?,
        KeyedWrite::RecordResponseStart { request, start } => {
            store.record_response_start(LogId(row(rows, request)?), &start)?;
        }
        KeyedWrite::FinishRequest { request, outcome } => {
            store.finish_request(LogId(row(rows, request)?), &outcome)?;
        }
    }
    Ok(())
}

fn run(mut store: Store, rx: mpsc::Receiver<StoreCommand>, on_error: ErrorSink) {
    let mut rows: HashMap<RowKey, i64> = HashMap::new();
    for command in rx {
        if matches!(command, StoreCommand::Shutdown) {
            break;
        }
        // The file deleted or replaced under us: recreate or reopen it before this write, so
        // that it is not lost into a deleted file (see `recreate`). Said once.
        if let Some(change) = store.keep_at_path() {
            let path = store.path().map(Path::to_path_buf).unwrap_or_default();
            on_error(change.into_error(path));
        }
        match command {
            StoreCommand::Keyed(write) => {
                if let Err(e) = keyed(&mut store, &mut rows, write) {
                    on_error(e);
                }
            }
            StoreCommand::CreateConversation { new, reply } => {
                let _ = reply.send(store.create_conversation(&new));
            }
            StoreCommand::InsertMessage { new, reply } => {
                let _ = reply.send(store.insert_message(&new));
            }
            StoreCommand::CheckpointMessage { id, content, state } => {
                if let Err(e) = store.checkpoint_message(id, &content, state) {
                    on_error(e);
                }
            }
            StoreCommand::AttachRequest { message, request } => {
                if let Err(e) = store.attach_request(message, request) {
                    on_error(e);
                }
            }
            StoreCommand::InsertRequest { record, reply } => {
                let _ = reply.send(store.insert_request(&record));
            }
            StoreCommand::RecordResponseStart { id, start } => {
                if let Err(e) = store.record_response_start(id, &start) {
                    on_error(e);
                }
            }
            StoreCommand::SavePromptText {
                content_hash,
                name,
                text,
            } => {
                if let Err(e) = store.save_prompt_text(&content_hash, &name, &text) {
                    on_error(e);
                }
            }
            StoreCommand::FinishRequest { id, outcome } => {
                if let Err(e) = store.finish_request(id, &outcome) {
                    on_error(e);
                }
            }
            StoreCommand::RecentRequests { filter, reply } => {
                let _ = reply.send(store.recent_requests(&filter));
            }
            StoreCommand::FindPromptTexts {
                name,
                prefix,
                reply,
            } => {
                let _ = reply.send(store.find_prompt_texts(&name, &prefix));
            }
            StoreCommand::ListConversations { limit, reply } => {
                let _ = reply.send(store.list_conversations(limit));
            }
            StoreCommand::SearchConversations {
                filter,
                limit,
                reply,
            } => {
                let _ = reply.send(store.search_conversations(&filter, limit));
            }
            StoreCommand::BranchConversation {
                parent,
                before_user_message,
                reply,
            } => {
                let _ = reply.send(store.branch_conversation(parent, before_user_message));
            }
            StoreCommand::LoadConversation { id, reply } => {
                let _ = reply.send(store.load_conversation(id));
            }
            StoreCommand::RequestContext { id, reply } => {
                let _ = reply.send(store.request_context(id));
            }
            StoreCommand::CompareLanes { id, reply } => {
                let _ = reply.send(store.compare_lanes(id));
            }
            StoreCommand::Flush { reply } => {
                let _ = reply.send(Ok(()));
            }
            StoreCommand::Shutdown => break,
        }
    }
}
