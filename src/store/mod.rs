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
//!
//! # Layout
//!
//! The row types live in [`crate::records`] (re-exported here). This file opens and migrates
//! the database; `writes` and `queries` hold the `impl Store` methods that write and read it,
//! `decode` the column lists and row decoding, and `liveness` the crash recovery.

pub mod compare_report;
mod decode;
pub mod export;
mod liveness;
mod queries;
mod recreate;
pub mod report;
pub mod resolve;
pub mod schema;
mod search;
pub use search::fts_query;
pub mod writer;
mod writes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use thiserror::Error;

use liveness::writer_identity;

pub use crate::records::{
    ConversationId, ConversationMessage, ConversationRow, ConversationWithMessages, ErrorInfo,
    ListedConversation, LogId, MessageId, MessageRow, MessageState, NewConversation, NewMessage,
    PromptCommit, PromptVersion, RateLimitHeaders, RequestContext, RequestFilter, RequestOutcome,
    RequestParams, RequestRecord, RequestRow, RequestStatus, ResponseStart, UnknownValue,
};
pub use export::{export_jsonl, export_markdown};
pub use recreate::FileChange;
pub use report::{format_log_table, log_json};
pub use writer::{ErrorSink, Pending, StoreCommand, StoreHandle, StoreWriter};

/// How long a write waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, and how far apart, opening is tried while another process holds the lock
/// (about 5 s in all).
const OPEN_ATTEMPTS: u32 = 100;
const OPEN_RETRY_DELAY: Duration = Duration::from_millis(50);

/// The first line of SQLite's own message, without the SQL it was running.
fn short_message(e: &rusqlite::Error) -> String {
    let message = match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    };
    message.lines().next().unwrap_or_default().to_string()
}

/// SQLite said another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

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
    /// A read-only data dir holds a database of another schema version, which reading it
    /// would first need to upgrade (a write).
    #[error(
        "the history database is schema version {found} (this promptdeck reads {supported}) and \
         the data dir is read-only, so it cannot be upgraded: make the data dir writable once"
    )]
    ReadOnlyUpgrade {
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
    /// The file is a SQLite database, but not promptdeck's: bringing it to the schema failed.
    #[error(
        "the history database is not promptdeck's (bringing it to schema version {version} \
         failed: {message}); move it away or use another --data-dir"
    )]
    Foreign {
        /// The schema version that could not be applied.
        version: usize,
        /// SQLite's message, one line.
        message: String,
    },
    /// The database file was deleted while open; it was written anew at the same path from
    /// the copy still open, and writing goes on there (a notice: nothing was lost).
    #[error(
        "{path} was deleted while promptdeck ran; it was recreated from the copy still open \
         (nothing lost) and history goes on being saved there"
    )]
    Recreated {
        /// The database file.
        path: PathBuf,
    },
    /// Another file took the database's path while open; writing goes on in it (a notice).
    #[error("{path} was replaced by another file while promptdeck ran; history is now saved to it")]
    Replaced {
        /// The database file.
        path: PathBuf,
    },
    /// The database file was deleted and cannot be recreated: later writes are not saved.
    #[error(
        "{path} was deleted while promptdeck ran and cannot be recreated ({reason}); this \
         session's requests are no longer saved"
    )]
    Lost {
        /// The database file.
        path: PathBuf,
        /// Why it cannot be recreated.
        reason: String,
    },
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
    /// The path and the file opened there (`None` in memory, or once the file is lost).
    watched: Option<recreate::Watched>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path())
            .field("writer", &self.writer)
            .finish()
    }
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
        // N processes opening a fresh database at once: switching it to WAL takes an
        // exclusive lock that the busy timeout does not wait for. Try again, briefly.
        let mut attempt = 1;
        loop {
            match Connection::open(path)
                .map_err(StoreError::from)
                .and_then(Store::from_connection)
            {
                Ok(mut store) => {
                    store.watched = Some(recreate::Watched::opened(path));
                    return Ok(store);
                }
                Err(StoreError::Sqlite(e)) if is_busy(&e) && attempt < OPEN_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(OPEN_RETRY_DELAY);
                }
                result => return result,
            }
        }
    }

    /// Opens the database at `path` to read it only, writing nothing — not even the
    /// write-ahead log's index — for the history commands in a data dir that cannot be written
    /// (`immutable=1`: nothing else may write it meanwhile, which a read-only dir ensures).
    /// A database made by an older version is refused: it would need an upgrade.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let mut uri = String::from("file:");
        for c in path.display().to_string().chars() {
            match c {
                '?' => uri.push_str("%3f"),
                '#' => uri.push_str("%23"),
                '%' => uri.push_str("%25"),
                c => uri.push(c),
            }
        }
        uri.push_str("?immutable=1");
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )?;
        let store = Store {
            conn,
            clock: now_ms,
            writer: writer_identity(),
            watched: None,
        };
        let version = store.schema_version()?;
        if version != schema::SCHEMA_VERSION as i64 {
            return Err(StoreError::ReadOnlyUpgrade {
                found: version,
                supported: schema::SCHEMA_VERSION,
            });
        }
        Ok(store)
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
            watched: None,
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
            // A database that is not ours (another program's file at this path) fails here;
            // say so in one line, not with the migration's SQL.
            tx.execute_batch(sql).map_err(|e| StoreError::Foreign {
                version: current + 1,
                message: short_message(&e),
            })?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()?;
        }
    }

    /// The underlying connection, for tests and diagnostics.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod liveness_tests;
#[cfg(test)]
mod queries_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod writer_tests;
#[cfg(test)]
mod writes_tests;

impl From<StoreError> for crate::records::HistoryError {
    fn from(e: StoreError) -> crate::records::HistoryError {
        match e {
            StoreError::NotFound {
                what: "conversation",
                id,
            } => crate::records::HistoryError::NotFound(id),
            other => crate::records::HistoryError::Failed(other.to_string()),
        }
    }
}
