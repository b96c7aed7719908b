//! The SQLite database: conversations, their messages, and the request log.
//!
//! Why one SQLite file: the invariants say a user message is stored before it is sent and a
//! reply is stored as it streams, so that a crash, a `kill -9` or a dropped SSH session loses
//! nothing the user saw; and every request must be traceable to the exact prompt version, model
//! and cost. SQLite in WAL mode gives durable small writes, readers that never block the writer
//! (`promptdeck log` in another terminal while the TUI streams), and safe concurrent writers
//! across processes (a `busy_timeout` makes them queue instead of failing with "database is
//! locked").
//!
//! [`Store`] is synchronous and owned by one thread; the UI never calls it directly but sends
//! [`writer::StoreCommand`]s to a [`writer::StoreWriter`] thread. Every statement is a constant
//! string with bound parameters: nothing a user, a prompt file or a model wrote is ever spliced
//! into SQL.
//!
//! Crash recovery: each message and request row records which process wrote it (`writer`: pid
//! and, on Linux, the process start time, so a reused pid is not mistaken for the writer). On
//! open, rows still `streaming`/`pending` whose writer process is gone are marked
//! `interrupted`; their partial text is kept. Rows of a live process (another promptdeck
//! streaming right now) are left alone. On platforms without `/proc` a row counts as abandoned
//! when it has not been updated for [`STALE_AFTER_MS`].
//!
//! # The `requests` table and OpenTelemetry GenAI attributes
//!
//! One row per request *attempt*. Columns carry the [OpenTelemetry GenAI semantic
//! conventions] attribute names, dots and the `.` between words turned into `_`:
//!
//! | column | OTel attribute / meaning |
//! |---|---|
//! | `gen_ai_operation_name` | `gen_ai.operation.name` (always `chat`) |
//! | `gen_ai_provider_name` | `gen_ai.provider.name` (`anthropic`, `openai`, `demo`) |
//! | `gen_ai_request_model` | `gen_ai.request.model` |
//! | `gen_ai_request_max_tokens` | `gen_ai.request.max_tokens` |
//! | `gen_ai_request_temperature` | `gen_ai.request.temperature` |
//! | `gen_ai_response_model` | `gen_ai.response.model` |
//! | `gen_ai_response_id` | `gen_ai.response.id` (`msg_…`, `chatcmpl-…`) |
//! | `gen_ai_usage_input_tokens` | `gen_ai.usage.input_tokens` (uncached input, Anthropic accounting) |
//! | `gen_ai_usage_output_tokens` | `gen_ai.usage.output_tokens` |
//! | `gen_ai_usage_cache_read_input_tokens` | `gen_ai.usage.cache_read.input_tokens` |
//! | `gen_ai_usage_cache_creation_input_tokens` | `gen_ai.usage.cache_creation.input_tokens` |
//! | `usage_cache_creation_1h_input_tokens` | — (Anthropic `usage.cache_creation.ephemeral_1h_input_tokens`) |
//! | `gen_ai_response_finish_reasons` | `gen_ai.response.finish_reasons` (JSON array of strings) |
//! | `time_to_first_chunk_ms` | — (cf. `gen_ai.server.time_to_first_token`, in ms) |
//! | `duration_ms` | — (cf. `gen_ai.client.operation.duration`, in ms) |
//! | `provider_request_id` | — (`request-id` / `x-request-id` response header) |
//! | `error_type` | `error.type` ([`crate::llm::LlmError::kind`]) |
//! | `error_message` | — (the error as shown to the user; keys are redacted upstream) |
//! | `prompt_name`, `prompt_hash`, `prompt_commit` | — (the prompt version; commit or `uncommitted`) |
//! | `request_params_json` | — (model, max_tokens, temperature; never headers or keys) |
//! | `cost_usd`, `cost_kind` | — (NULL when the price is unknown; `known`/`estimate`/`price_unknown`/`not_reported`) |
//! | `retry_count` | — (attempts before this one: `attempt - 1`) |
//! | `ratelimit_headers_json` | — (`anthropic-ratelimit-*`, `x-ratelimit-*`, `retry-after` only) |
//! | `status` | — (`pending`, `ok`, `error`, `cancelled`, `interrupted`) |
//!
//! [OpenTelemetry GenAI semantic conventions]: https://opentelemetry.io/docs/specs/semconv/gen-ai/

pub mod checkpoint;
pub mod export;
pub mod report;
pub mod resolve;
pub mod schema;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use thiserror::Error;

use crate::llm::Role;

pub use crate::records::{
    ConversationId, ConversationMessage, ConversationRow, ConversationWithMessages, ErrorInfo,
    LogId, MessageId, MessageRow, MessageState, NewConversation, NewMessage, PromptCommit,
    PromptVersion, RateLimitHeaders, RequestFilter, RequestOutcome, RequestParams, RequestRecord,
    RequestRow, RequestStatus, ResponseStart, UnknownValue,
};
pub use checkpoint::{Checkpoint, Checkpointer};
pub use export::{export_jsonl, export_markdown};
pub use report::{format_log_table, log_json};
pub use writer::{ErrorSink, Pending, StoreCommand, StoreHandle, StoreWriter};

/// How long a write waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Without `/proc`, a `streaming` row untouched for this long counts as abandoned.
pub const STALE_AFTER_MS: i64 = 10 * 60 * 1000;

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "promptdeck.db";

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file was written by a newer promptdeck.
    #[error(
        "the database has schema version {found}, newer than this promptdeck supports \
         ({supported}); upgrade promptdeck"
    )]
    NewerSchema {
        /// The file's `user_version`.
        found: i64,
        /// [`schema::SCHEMA_VERSION`].
        supported: usize,
    },
    /// No row with that id.
    #[error("no {what} with id {id}")]
    NotFound {
        /// `conversation`, `message` or `request`.
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// A stored value is not one this build understands.
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    /// A value could not be turned into JSON.
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The database thread could not be started.
    #[error("cannot start the database thread: {0}")]
    Thread(std::io::Error),
    /// The writer thread has stopped; the command was not carried out.
    #[error("the database writer has stopped")]
    WriterGone,
}

impl From<UnknownValue> for StoreError {
    fn from(e: UnknownValue) -> StoreError {
        StoreError::Corrupt(e.to_string())
    }
}

/// The current time in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The database file inside a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE_NAME)
}

/// Opens `<data_dir>/promptdeck.db` (creating the directory and the file if needed) and moves
/// it to a [`StoreWriter`] thread. `on_error` receives failures of fire-and-forget commands.
/// Blocking (it opens SQLite and runs migrations): from async code use [`open_writer_async`].
pub fn open_writer(data_dir: &Path, on_error: ErrorSink) -> Result<StoreWriter, StoreError> {
    let store = Store::open(&db_path(data_dir))?;
    StoreWriter::spawn(store, on_error)
}

/// [`open_writer`] on the blocking pool, for async callers (the TUI, `ask`).
pub async fn open_writer_async(
    data_dir: &Path,
    on_error: ErrorSink,
) -> Result<StoreWriter, StoreError> {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || open_writer(&data_dir, on_error))
        .await
        .map_err(|e| StoreError::Thread(std::io::Error::other(e.to_string())))?
}

/// The open database. Synchronous: own it on one thread (see [`writer::StoreWriter`]).
pub struct Store {
    conn: Connection,
    clock: fn() -> i64,
    writer: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .field("writer", &self.writer)
            .finish()
    }
}

macro_rules! request_columns {
    () => {
        "id, conversation_id, message_id, attempt, started_at_ms, status, \
         gen_ai_provider_name, gen_ai_request_model, gen_ai_request_max_tokens, \
         gen_ai_request_temperature, gen_ai_response_model, gen_ai_response_id, \
         gen_ai_usage_input_tokens, gen_ai_usage_output_tokens, \
         gen_ai_usage_cache_read_input_tokens, gen_ai_usage_cache_creation_input_tokens, \
         usage_cache_creation_1h_input_tokens, gen_ai_response_finish_reasons, \
         time_to_first_chunk_ms, duration_ms, provider_request_id, prompt_name, prompt_hash, \
         prompt_commit, request_params_json, cost_usd, cost_kind, cost_source, error_type, \
         error_message, retry_count, ratelimit_headers_json"
    };
}

macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, role, content, state, created_at_ms, updated_at_ms, request_id"
    };
}

macro_rules! conversation_columns {
    () => {
        "id, created_at_ms, COALESCE(updated_at_ms, created_at_ms) AS updated_at_ms, title, \
         provider, model, prompt_name, prompt_hash, prompt_commit"
    };
}

impl Store {
    /// Opens (creating if needed) the database at `path`: WAL mode, a busy timeout, foreign
    /// keys on, migrations applied, and abandoned `streaming` rows marked `interrupted`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Store::from_connection(conn)
    }

    /// Opens an in-memory database (tests, `--no-history`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Returns the new mode as a row; in-memory databases answer "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut store = Store {
            conn,
            clock: now_ms,
            writer: writer_identity(),
        };
        store.migrate()?;
        store.recover_abandoned()?;
        Ok(store)
    }

    /// Replaces the clock used for `created_at_ms`/`updated_at_ms` (tests).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Store {
        self.clock = clock;
        self
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Applies every migration past the file's `user_version`, one transaction each.
    fn migrate(&mut self) -> Result<(), StoreError> {
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let current = usize::try_from(version)
                .map_err(|_| StoreError::Corrupt(format!("negative schema version {version}")))?;
            if current > schema::SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    found: version,
                    supported: schema::SCHEMA_VERSION,
                });
            }
            let Some(sql) = schema::MIGRATIONS.get(current) else {
                return Ok(());
            };
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()?;
        }
    }

    /// Marks `streaming` messages and `pending` requests whose writer process is gone as
    /// `interrupted`, keeping their text. Returns how many messages were marked.
    pub fn recover_abandoned(&mut self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut marked = 0;
        {
            let mut find = tx.prepare(
                "SELECT id, writer, updated_at_ms FROM messages WHERE state = 'streaming'",
            )?;
            let rows: Vec<(i64, Option<String>, i64)> = find
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare(
                "UPDATE messages SET state = 'interrupted', updated_at_ms = ?2 \
                 WHERE id = ?1 AND state = 'streaming'",
            )?;
            for (id, writer, updated_at_ms) in rows {
                if is_abandoned(writer.as_deref(), &self.writer, updated_at_ms, now) {
                    marked += mark.execute(params![id, now])?;
                }
            }
            let mut find = tx.prepare(
                "SELECT id, writer, started_at_ms FROM requests WHERE status = 'pending'",
            )?;
            let rows: Vec<(i64, Option<String>, i64)> = find
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare(
                "UPDATE requests SET status = 'interrupted', \
                 error_type = COALESCE(error_type, 'interrupted'), \
                 error_message = COALESCE(error_message, ?2) \
                 WHERE id = ?1 AND status = 'pending'",
            )?;
            for (id, writer, started_at_ms) in rows {
                if is_abandoned(writer.as_deref(), &self.writer, started_at_ms, now) {
                    mark.execute(params![
                        id,
                        "promptdeck stopped before the reply finished (crash, kill or hang-up)"
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(marked)
    }

    /// Creates a conversation.
    pub fn create_conversation(
        &mut self,
        new: &NewConversation,
    ) -> Result<ConversationId, StoreError> {
        let now = (self.clock)();
        let (name, hash, commit) = prompt_columns(new.prompt.as_ref());
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (created_at_ms, updated_at_ms, title, provider, model, \
                 prompt_name, prompt_hash, prompt_commit) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                now,
                new.title,
                new.provider,
                new.model,
                name,
                hash,
                commit
            ])?;
        Ok(ConversationId(self.conn.last_insert_rowid()))
    }

    /// Stores a message at the end of its conversation. Store a user message with this
    /// *before* sending it.
    pub fn insert_message(&mut self, new: &NewMessage) -> Result<MessageId, StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms, \
             updated_at_ms, request_id, writer) VALUES (?1, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?1), \
             ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        )?
        .execute(params![
            new.conversation_id.0,
            role_str(new.role),
            new.content,
            new.state.as_str(),
            now,
            new.request_id.map(|r| r.0),
            self.writer,
        ])?;
        let id = tx.last_insert_rowid();
        touch_conversation(&tx, new.conversation_id.0, now)?;
        tx.commit()?;
        Ok(MessageId(id))
    }

    /// Replaces a message's text and state (a streaming checkpoint, or the final write).
    pub fn checkpoint_message(
        &mut self,
        id: MessageId,
        content: &str,
        state: MessageState,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let conversation: Option<i64> = tx
            .prepare_cached(
                "UPDATE messages SET content = ?2, state = ?3, updated_at_ms = ?4, writer = ?5 \
                 WHERE id = ?1 RETURNING conversation_id",
            )?
            .query_row(
                params![id.0, content, state.as_str(), now, self.writer],
                |r| r.get(0),
            )
            .optional()?;
        let Some(conversation) = conversation else {
            return Err(StoreError::NotFound {
                what: "message",
                id: id.0,
            });
        };
        touch_conversation(&tx, conversation, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Links a reply to the request attempt producing it (e.g. after a retry).
    pub fn attach_request(&mut self, message: MessageId, request: LogId) -> Result<(), StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE messages SET request_id = ?2 WHERE id = ?1")?
            .execute(params![message.0, request.0])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "message",
                id: message.0,
            });
        }
        Ok(())
    }

    /// Logs a request attempt as it is sent (`status = pending`).
    pub fn insert_request(&mut self, record: &RequestRecord) -> Result<LogId, StoreError> {
        let (name, hash, commit) = prompt_columns(record.prompt.as_ref());
        let params_json = serde_json::to_string(&record.params)?;
        self.conn
            .prepare_cached(
                "INSERT INTO requests (conversation_id, message_id, attempt, started_at_ms, \
                 status, gen_ai_provider_name, gen_ai_request_model, gen_ai_request_max_tokens, \
                 gen_ai_request_temperature, prompt_name, prompt_hash, prompt_commit, \
                 request_params_json, retry_count, writer) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                record.conversation_id.map(|c| c.0),
                record.message_id.map(|m| m.0),
                record.attempt,
                record.started_at_ms,
                record.provider,
                record.params.model,
                record.params.max_tokens,
                record.params.temperature.map(f64::from),
                name,
                hash,
                commit,
                params_json,
                record.attempt.saturating_sub(1),
                self.writer,
            ])?;
        let id = LogId(self.conn.last_insert_rowid());
        // A conversation shows (and resumes with) the prompt version it last used.
        if let (Some(conversation), Some(_)) = (record.conversation_id, &record.prompt) {
            self.conn
                .prepare_cached(
                    "UPDATE conversations SET prompt_name = ?2, prompt_hash = ?3, \
                     prompt_commit = ?4 WHERE id = ?1",
                )?
                .execute(params![conversation.0, name, hash, commit])?;
        }
        Ok(id)
    }

    /// Records what the server said when the reply began.
    pub fn record_response_start(
        &mut self,
        id: LogId,
        start: &ResponseStart,
    ) -> Result<(), StoreError> {
        let headers = headers_json(&start.ratelimit_headers)?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE requests SET \
                 gen_ai_response_model = COALESCE(?2, gen_ai_response_model), \
                 gen_ai_response_id = COALESCE(?3, gen_ai_response_id), \
                 provider_request_id = COALESCE(?4, provider_request_id), \
                 time_to_first_chunk_ms = COALESCE(?5, time_to_first_chunk_ms), \
                 ratelimit_headers_json = COALESCE(?6, ratelimit_headers_json) \
                 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                start.response_model,
                start.response_id,
                start.provider_request_id,
                start.time_to_first_chunk_ms,
                headers,
            ])?;
        not_found_if_zero(n, "request", id.0)
    }

    /// Records how a request attempt ended.
    pub fn finish_request(
        &mut self,
        id: LogId,
        outcome: &RequestOutcome,
    ) -> Result<(), StoreError> {
        let headers = headers_json(&outcome.ratelimit_headers)?;
        let reasons = serde_json::to_string(&outcome.finish_reasons)?;
        let u = &outcome.usage;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE requests SET status = ?2, \
                 gen_ai_response_model = COALESCE(?3, gen_ai_response_model), \
                 gen_ai_response_id = COALESCE(?4, gen_ai_response_id), \
                 provider_request_id = COALESCE(?5, provider_request_id), \
                 gen_ai_usage_input_tokens = ?6, gen_ai_usage_output_tokens = ?7, \
                 gen_ai_usage_cache_read_input_tokens = ?8, \
                 gen_ai_usage_cache_creation_input_tokens = ?9, \
                 usage_cache_creation_1h_input_tokens = ?10, \
                 gen_ai_response_finish_reasons = ?11, \
                 time_to_first_chunk_ms = COALESCE(?12, time_to_first_chunk_ms), \
                 duration_ms = ?13, cost_usd = ?14, cost_kind = ?15, error_type = ?16, \
                 error_message = ?17, \
                 ratelimit_headers_json = COALESCE(?18, ratelimit_headers_json), \
                 cost_source = ?19 \
                 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                outcome.status.as_str(),
                outcome.response_model,
                outcome.response_id,
                outcome.provider_request_id,
                to_sql_u64(u.input_tokens),
                to_sql_u64(u.output_tokens),
                to_sql_u64(u.cache_read_input_tokens),
                to_sql_u64(u.cache_creation_input_tokens),
                to_sql_u64(u.cache_creation_1h_input_tokens),
                reasons,
                outcome.time_to_first_chunk_ms,
                outcome.duration_ms,
                outcome.cost.usd(),
                outcome.cost.kind(),
                outcome.error.as_ref().map(|e| e.error_type.as_str()),
                outcome.error.as_ref().map(|e| e.message.as_str()),
                headers,
                outcome.cost_source,
            ])?;
        not_found_if_zero(n, "request", id.0)
    }

    /// The newest log rows matching `filter`, newest first.
    pub fn recent_requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>, StoreError> {
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            request_columns!(),
            " FROM requests WHERE (?1 IS NULL OR prompt_name = ?1) \
             ORDER BY started_at_ms DESC, id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![filter.prompt_name, limit], read_request_raw)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(RawRequest::into_row).collect()
    }

    /// One log row.
    pub fn request(&self, id: LogId) -> Result<RequestRow, StoreError> {
        let raw = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests WHERE id = ?1"
            ))?
            .query_row(params![id.0], read_request_raw)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "request",
                id: id.0,
            })?;
        raw.into_row()
    }

    /// The most recently active conversations, newest first.
    pub fn list_conversations(&self, limit: usize) -> Result<Vec<ConversationRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations ORDER BY COALESCE(updated_at_ms, created_at_ms) DESC, id DESC \
             LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map(params![limit], read_conversation)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A conversation with its messages (oldest first) and each reply's request row.
    pub fn load_conversation(
        &self,
        id: ConversationId,
    ) -> Result<ConversationWithMessages, StoreError> {
        let conversation = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE id = ?1"
            ))?
            .query_row(params![id.0], read_conversation)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "conversation",
                id: id.0,
            })?;
        let raw: Vec<RawMessage> = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = ?1 ORDER BY seq"
            ))?
            .query_map(params![id.0], read_message_raw)?
            .collect::<Result<_, _>>()?;
        let mut messages = Vec::with_capacity(raw.len());
        for m in raw {
            let message = m.into_row()?;
            let request = match message.request_id {
                Some(r) => Some(self.request(r)?),
                None => None,
            };
            messages.push(ConversationMessage { message, request });
        }
        // The texts of the prompt versions the conversation used, for `--resume`.
        let mut prompt_texts = BTreeMap::new();
        let hashes = conversation
            .prompt
            .iter()
            .chain(
                messages
                    .iter()
                    .filter_map(|m| m.request.as_ref()?.prompt.as_ref()),
            )
            .map(|p| p.content_hash.clone())
            .collect::<Vec<_>>();
        for hash in hashes {
            if let Some(text) = self.prompt_text(&hash)? {
                prompt_texts.insert(hash, text);
            }
        }
        Ok(ConversationWithMessages {
            conversation,
            messages,
            prompt_texts,
        })
    }

    /// Keeps the exact text of a prompt version (once per content hash).
    pub fn save_prompt_text(
        &mut self,
        content_hash: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO prompt_texts (content_hash, name, text, first_seen_at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![content_hash, name, text, now])?;
        Ok(())
    }

    /// The text of the prompt version with this content hash, if it was ever used.
    pub fn prompt_text(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT text FROM prompt_texts WHERE content_hash = ?1")?
            .query_row(params![content_hash], |row| row.get(0))
            .optional()?)
    }

    /// Stored texts of prompt `name` whose content hash starts with `prefix` (lowercase hex),
    /// as (full hash, text): what `NAME@#HASH` finds once the file no longer has that text.
    pub fn find_prompt_texts(
        &self,
        name: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let rows = self
            .conn
            .prepare_cached(
                "SELECT content_hash, text FROM prompt_texts \
                 WHERE name = ?1 AND substr(content_hash, 1, length(?2)) = ?2",
            )?
            .query_map(params![name, prefix], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The underlying connection, for tests and diagnostics.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn touch_conversation(tx: &Connection, conversation: i64, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE conversations SET updated_at_ms = ?2 WHERE id = ?1")?
        .execute(params![conversation, now])?;
    Ok(())
}

fn not_found_if_zero(n: usize, what: &'static str, id: i64) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound { what, id })
    } else {
        Ok(())
    }
}

fn headers_json(headers: &RateLimitHeaders) -> Result<Option<String>, StoreError> {
    if headers.is_empty() {
        Ok(None)
    } else {
        Ok(Some(serde_json::to_string(headers)?))
    }
}

fn prompt_columns(p: Option<&PromptVersion>) -> (Option<&str>, Option<&str>, Option<&str>) {
    match p {
        Some(p) => (
            Some(p.name.as_str()),
            Some(p.content_hash.as_str()),
            Some(p.commit.as_str()),
        ),
        None => (None, None, None),
    }
}

/// SQLite integers are i64; token counts beyond that are clamped (they cannot happen).
fn to_sql_u64(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn from_sql_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

fn role_str(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

fn parse_role(s: &str) -> Result<Role, StoreError> {
    match s {
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        other => Err(StoreError::Corrupt(format!("message role {other:?}"))),
    }
}

fn read_conversation(r: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: ConversationId(r.get("id")?),
        created_at_ms: r.get("created_at_ms")?,
        updated_at_ms: r.get("updated_at_ms")?,
        title: r.get("title")?,
        provider: r.get("provider")?,
        model: r.get("model")?,
        prompt: PromptVersion::from_columns(
            r.get("prompt_name")?,
            r.get("prompt_hash")?,
            r.get("prompt_commit")?,
        ),
    })
}

/// A message row before its enum columns are checked.
struct RawMessage {
    id: i64,
    conversation_id: i64,
    seq: i64,
    role: String,
    content: String,
    state: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    request_id: Option<i64>,
}

impl RawMessage {
    fn into_row(self) -> Result<MessageRow, StoreError> {
        Ok(MessageRow {
            id: MessageId(self.id),
            conversation_id: ConversationId(self.conversation_id),
            seq: self.seq,
            role: parse_role(&self.role)?,
            content: self.content,
            state: MessageState::parse(&self.state)?,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            request_id: self.request_id.map(LogId),
        })
    }
}

fn read_message_raw(r: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: r.get("id")?,
        conversation_id: r.get("conversation_id")?,
        seq: r.get("seq")?,
        role: r.get("role")?,
        content: r.get("content")?,
        state: r.get("state")?,
        created_at_ms: r.get("created_at_ms")?,
        updated_at_ms: r.get("updated_at_ms")?,
        request_id: r.get("request_id")?,
    })
}

/// A request row before its JSON and enum columns are decoded.
struct RawRequest {
    row: RequestRow,
    status: String,
    finish_reasons: Option<String>,
    params: String,
    headers: Option<String>,
}

fn read_request_raw(r: &Row<'_>) -> rusqlite::Result<RawRequest> {
    let u32_col = |name: &str| -> rusqlite::Result<Option<u32>> {
        Ok(r.get::<_, Option<i64>>(name)?
            .and_then(|v| u32::try_from(v).ok()))
    };
    let u64_col = |name: &str| -> rusqlite::Result<Option<u64>> {
        Ok(from_sql_u64(r.get::<_, Option<i64>>(name)?))
    };
    Ok(RawRequest {
        status: r.get("status")?,
        finish_reasons: r.get("gen_ai_response_finish_reasons")?,
        params: r.get("request_params_json")?,
        headers: r.get("ratelimit_headers_json")?,
        row: RequestRow {
            id: LogId(r.get("id")?),
            conversation_id: r
                .get::<_, Option<i64>>("conversation_id")?
                .map(ConversationId),
            message_id: r.get::<_, Option<i64>>("message_id")?.map(MessageId),
            attempt: u32_col("attempt")?.unwrap_or(1),
            started_at_ms: r.get("started_at_ms")?,
            status: RequestStatus::Pending,
            gen_ai_provider_name: r.get("gen_ai_provider_name")?,
            gen_ai_request_model: r.get("gen_ai_request_model")?,
            gen_ai_request_max_tokens: u32_col("gen_ai_request_max_tokens")?,
            gen_ai_request_temperature: r.get("gen_ai_request_temperature")?,
            gen_ai_response_model: r.get("gen_ai_response_model")?,
            gen_ai_response_id: r.get("gen_ai_response_id")?,
            gen_ai_usage_input_tokens: u64_col("gen_ai_usage_input_tokens")?,
            gen_ai_usage_output_tokens: u64_col("gen_ai_usage_output_tokens")?,
            gen_ai_usage_cache_read_input_tokens: u64_col("gen_ai_usage_cache_read_input_tokens")?,
            gen_ai_usage_cache_creation_input_tokens: u64_col(
                "gen_ai_usage_cache_creation_input_tokens",
            )?,
            usage_cache_creation_1h_input_tokens: u64_col("usage_cache_creation_1h_input_tokens")?,
            gen_ai_response_finish_reasons: Vec::new(),
            time_to_first_chunk_ms: r.get("time_to_first_chunk_ms")?,
            duration_ms: r.get("duration_ms")?,
            provider_request_id: r.get("provider_request_id")?,
            prompt: PromptVersion::from_columns(
                r.get("prompt_name")?,
                r.get("prompt_hash")?,
                r.get("prompt_commit")?,
            ),
            request_params: None,
            cost_usd: r.get("cost_usd")?,
            cost_kind: r.get("cost_kind")?,
            cost_source: r.get("cost_source")?,
            error_type: r.get("error_type")?,
            error_message: r.get("error_message")?,
            retry_count: u32_col("retry_count")?.unwrap_or(0),
            ratelimit_headers: RateLimitHeaders::default(),
        },
    })
}

impl RawRequest {
    fn into_row(self) -> Result<RequestRow, StoreError> {
        let mut row = self.row;
        row.status = RequestStatus::parse(&self.status)?;
        if let Some(reasons) = self.finish_reasons {
            row.gen_ai_response_finish_reasons = serde_json::from_str(&reasons)
                .map_err(|e| StoreError::Corrupt(format!("finish reasons: {e}")))?;
        }
        // Parameters are informational: an unreadable value shows as absent, not as an error.
        row.request_params = serde_json::from_str(&self.params).ok();
        if let Some(headers) = self.headers {
            row.ratelimit_headers = serde_json::from_str(&headers).unwrap_or_default();
        }
        Ok(row)
    }
}

/// This process, as recorded in `writer` columns: `pid:start` (start = the process start
/// time from `/proc`, or `?` where unavailable).
fn writer_identity() -> String {
    let pid = std::process::id();
    match process_start(pid) {
        Some(ProcState { start, .. }) => format!("{pid}:{start}"),
        None => format!("{pid}:?"),
    }
}

struct ProcState {
    zombie: bool,
    start: u64,
}

/// State and start time of a process from `/proc/<pid>/stat` (Linux only).
fn process_start(pid: u32) -> Option<ProcState> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ..."; comm may contain spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let state = fields.first()?;
    // starttime is field 22 of the file; field 3 (state) is index 0 here.
    let start = fields.get(19)?.parse().ok()?;
    Some(ProcState {
        zombie: matches!(*state, "Z" | "X" | "x"),
        start,
    })
}

/// Whether a row last written by `writer` at `updated_at_ms` is abandoned.
fn is_abandoned(writer: Option<&str>, me: &str, updated_at_ms: i64, now_ms: i64) -> bool {
    let Some(writer) = writer else {
        return true;
    };
    if writer == me {
        // Written by this very process: it is live (another Store in this process).
        return false;
    }
    let mut parts = writer.splitn(2, ':');
    let pid: Option<u32> = parts.next().and_then(|p| p.parse().ok());
    let start = parts.next().and_then(|s| s.parse::<u64>().ok());
    match (cfg!(target_os = "linux"), pid) {
        (true, Some(pid)) => match process_start(pid) {
            None => true,
            Some(p) if p.zombie => true,
            Some(p) => start.is_some_and(|s| s != p.start),
        },
        _ => now_ms.saturating_sub(updated_at_ms) > STALE_AFTER_MS,
    }
}

#[cfg(test)]
mod tests;
