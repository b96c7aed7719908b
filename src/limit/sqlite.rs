//! The default store: `ratelimit.db` under the data dir, shared by every promptdeck process
//! of this user on this machine.
//!
//! Each admission is one `BEGIN IMMEDIATE` transaction: delete expired rows, read the rows
//! that still count, decide with the pure core, insert. `BEGIN IMMEDIATE` takes SQLite's write
//! lock up front, so two processes can never both read "N − 1 used" and both insert; the
//! loser waits (`busy_timeout`) and then sees the winner's row. WAL mode keeps readers (the
//! quota panel) from blocking writers. Calls run on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::LimitError;
use super::spec::LimitConfig;
use super::window::{self, Admission, QuotaStatus, UsageRecord};

/// The file name of the store inside the data dir.
pub const SQLITE_FILE_NAME: &str = "ratelimit.db";

/// How long a transaction waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often opening is retried when another process holds the lock while the file is set
/// up (switching to WAL needs an exclusive lock and does not always wait on `busy_timeout`).
const OPEN_ATTEMPTS: u32 = 50;
const OPEN_RETRY_DELAY: Duration = Duration::from_millis(20);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS admissions (
    namespace TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS admissions_by_time ON admissions (namespace, at_ms);
CREATE TABLE IF NOT EXISTS usage (
    namespace TEXT NOT NULL,
    request_key TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    usd REAL NOT NULL,
    PRIMARY KEY (namespace, request_key)
);
CREATE INDEX IF NOT EXISTS usage_by_time ON usage (namespace, at_ms);
";

/// A rate-limit store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
    namespace: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Milliseconds as SQLite's signed integer (saturating: no real clock reaches it).
fn to_sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A stored timestamp back to `u64` (negative values, which we never write, read as 0).
fn from_sql_ms(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) `ratelimit.db` under `data_dir`. Rows are kept apart by
    /// `namespace`. Blocking: call from a blocking context or use [`SqliteStore::open_async`].
    pub fn open(data_dir: &Path, namespace: &str) -> Result<SqliteStore, LimitError> {
        std::fs::create_dir_all(data_dir).map_err(|source| LimitError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(SQLITE_FILE_NAME);
        let mut attempt = 0;
        let connection = loop {
            match Self::open_connection(&path) {
                Ok(connection) => break connection,
                Err(e) if is_busy(&e) && attempt + 1 < OPEN_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(OPEN_RETRY_DELAY);
                }
                Err(source) => return Err(LimitError::Sqlite { path, source }),
            }
        };
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
            namespace: namespace.to_string(),
        })
    }

    /// [`SqliteStore::open`] on tokio's blocking pool.
    pub async fn open_async(data_dir: &Path, namespace: &str) -> Result<SqliteStore, LimitError> {
        let data_dir = data_dir.to_path_buf();
        let namespace = namespace.to_string();
        tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir, &namespace))
            .await
            .map_err(|e| LimitError::Task(e.to_string()))?
    }

    fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        let _mode: String =
            connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(SCHEMA)?;
        Ok(connection)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_connection<T, F>(&self, f: F) -> Result<T, LimitError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let namespace = self.namespace.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .map_err(|_| LimitError::Task("the sqlite connection lock is poisoned".into()))?;
            f(&mut guard, &namespace).map_err(|source| LimitError::Sqlite { path, source })
        })
        .await
        .map_err(|e| LimitError::Task(e.to_string()))?
    }

    /// Admits or refuses one request at `now_ms`, atomically across processes.
    pub async fn admit(&self, limits: LimitConfig, now_ms: u64) -> Result<Admission, LimitError> {
        self.with_connection(move |connection, namespace| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            prune(&tx, namespace, &limits, now_ms)?;
            let (admissions, usage) = load(&tx, namespace, &limits, now_ms)?;
            let admission = window::decide(&limits, &admissions, &usage, now_ms);
            if admission.is_admitted() && limits.requests.rate_limit().is_some() {
                tx.execute(
                    "INSERT INTO admissions (namespace, at_ms) VALUES (?1, ?2)",
                    params![namespace, to_sql_ms(now_ms)],
                )?;
            }
            tx.commit()?;
            Ok(admission)
        })
        .await
    }

    /// The quota at `now_ms` (read-only).
    pub async fn status(
        &self,
        limits: LimitConfig,
        now_ms: u64,
    ) -> Result<QuotaStatus, LimitError> {
        self.with_connection(move |connection, namespace| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let (admissions, usage) = load(&tx, namespace, &limits, now_ms)?;
            tx.commit()?;
            Ok(window::quota_status(&limits, &admissions, &usage, now_ms))
        })
        .await
    }

    /// Records (or replaces) the usage of request `request_key`.
    pub async fn record_usage(
        &self,
        request_key: &str,
        record: UsageRecord,
    ) -> Result<(), LimitError> {
        let request_key = request_key.to_string();
        self.with_connection(move |connection, namespace| {
            connection.execute(
                "INSERT INTO usage (namespace, request_key, at_ms, tokens, usd)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (namespace, request_key) DO UPDATE SET
                   at_ms = excluded.at_ms, tokens = excluded.tokens, usd = excluded.usd",
                params![
                    namespace,
                    request_key,
                    to_sql_ms(record.at_ms),
                    i64::try_from(record.tokens).unwrap_or(i64::MAX),
                    record.usd
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Admissions recorded in this namespace (for tests and diagnostics).
    pub async fn admission_count(&self) -> Result<u64, LimitError> {
        self.with_connection(|connection, namespace| {
            let count: Option<i64> = connection
                .query_row(
                    "SELECT COUNT(*) FROM admissions WHERE namespace = ?1",
                    params![namespace],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(count.map_or(0, from_sql_ms))
        })
        .await
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Deletes rows that no configured window can count again.
fn prune(
    tx: &rusqlite::Transaction<'_>,
    namespace: &str,
    limits: &LimitConfig,
    now_ms: u64,
) -> rusqlite::Result<()> {
    let cutoff_ms = to_sql_ms(now_ms.saturating_sub(limits.retention_ms()));
    tx.execute(
        "DELETE FROM admissions WHERE namespace = ?1 AND at_ms <= ?2",
        params![namespace, cutoff_ms],
    )?;
    tx.execute(
        "DELETE FROM usage WHERE namespace = ?1 AND at_ms <= ?2",
        params![namespace, cutoff_ms],
    )?;
    Ok(())
}

/// Loads the admissions and usage that the windows of `limits` may count at `now_ms`.
fn load(
    tx: &rusqlite::Transaction<'_>,
    namespace: &str,
    limits: &LimitConfig,
    now_ms: u64,
) -> rusqlite::Result<(Vec<u64>, Vec<UsageRecord>)> {
    let admissions = match limits.requests.rate_limit() {
        None => Vec::new(),
        Some(limit) => {
            let after_ms = to_sql_ms(now_ms.saturating_sub(limit.window_ms()));
            let mut statement = tx.prepare_cached(
                "SELECT at_ms FROM admissions WHERE namespace = ?1 AND at_ms >= ?2",
            )?;
            let rows = statement.query_map(params![namespace, after_ms], |row| {
                row.get::<_, i64>(0).map(from_sql_ms)
            })?;
            rows.collect::<rusqlite::Result<Vec<u64>>>()?
        }
    };
    let usage = if limits.has_budget() {
        let token_from_ms = limits
            .tokens
            .map_or(u64::MAX, |b| now_ms.saturating_sub(b.window_ms()));
        let usd_from_ms = limits
            .daily_usd
            .map_or(u64::MAX, |_| window::utc_day_start_ms(now_ms));
        let from_ms = to_sql_ms(token_from_ms.min(usd_from_ms));
        let mut statement = tx.prepare_cached(
            "SELECT at_ms, tokens, usd FROM usage WHERE namespace = ?1 AND at_ms >= ?2",
        )?;
        let rows = statement.query_map(params![namespace, from_ms], |row| {
            Ok(UsageRecord {
                at_ms: from_sql_ms(row.get(0)?),
                tokens: from_sql_ms(row.get(1)?),
                usd: row.get(2)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<UsageRecord>>>()?
    } else {
        Vec::new()
    };
    Ok((admissions, usage))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limit::spec::{LimitSetting, RateLimit, TokenBudget};
    use crate::limit::window::RefusalReason;

    const T0: u64 = 1_764_201_600_000;

    fn limits(n: u32, window_ms: u64) -> LimitConfig {
        LimitConfig {
            requests: LimitSetting::Limit(RateLimit {
                max_requests: n,
                window: Duration::from_millis(window_ms),
            }),
            ..LimitConfig::default()
        }
    }

    #[tokio::test]
    async fn limit_sqlite_admits_exactly_n_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_async(dir.path(), "ns").await.unwrap();
        let l = limits(3, 60_000);
        for _ in 0..3 {
            assert!(store.admit(l, T0).await.unwrap().is_admitted());
        }
        assert_eq!(
            store.admit(l, T0 + 1).await.unwrap(),
            Admission::Refused {
                retry_at_ms: T0 + 60_000,
                reason: RefusalReason::Requests
            }
        );
        drop(store);
        let store = SqliteStore::open_async(dir.path(), "ns").await.unwrap();
        assert!(!store.admit(l, T0 + 59_999).await.unwrap().is_admitted());
        assert!(store.admit(l, T0 + 60_000).await.unwrap().is_admitted());
        let status = store.status(l, T0 + 60_000).await.unwrap();
        assert_eq!((status.used, status.remaining), (1, 2));
        // Another namespace in the same file has its own window.
        let other = SqliteStore::open_async(dir.path(), "other").await.unwrap();
        assert!(other.admit(l, T0 + 1).await.unwrap().is_admitted());
        assert_eq!(other.admission_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn limit_sqlite_concurrent_tasks_admit_exactly_n() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(7, 60_000);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            // Separate connections, as separate processes would have.
            let store = SqliteStore::open_async(dir.path(), "ns").await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut admitted = 0;
                for i in 0..10 {
                    if store.admit(l, T0 + i).await.unwrap().is_admitted() {
                        admitted += 1;
                    }
                }
                admitted
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        assert_eq!(total, 7);
    }

    #[tokio::test]
    async fn limit_sqlite_token_budget_uses_recorded_usage() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_async(dir.path(), "ns").await.unwrap();
        let l = LimitConfig {
            requests: LimitSetting::Off,
            tokens: Some(TokenBudget {
                max_tokens: 100,
                window: Duration::from_secs(60),
            }),
            daily_usd: None,
        };
        assert!(store.admit(l, T0).await.unwrap().is_admitted());
        let record = |tokens| UsageRecord {
            at_ms: T0 + 10,
            tokens,
            usd: 0.01,
        };
        store.record_usage("req-1", record(150)).await.unwrap();
        assert_eq!(
            store.admit(l, T0 + 20).await.unwrap(),
            Admission::Refused {
                retry_at_ms: T0 + 10 + 60_000,
                reason: RefusalReason::Tokens
            }
        );
        store.record_usage("req-1", record(40)).await.unwrap();
        assert!(store.admit(l, T0 + 20).await.unwrap().is_admitted());
        assert_eq!(
            store.status(l, T0 + 20).await.unwrap().tokens_used,
            Some(40)
        );
    }
}
