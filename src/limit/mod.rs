//! The local rate limiter: every request passes [`Limiter::admit`] before it leaves.
//!
//! # Why a sliding log
//!
//! The promise to the user is "at most N requests in *any* window of length W". The common
//! cheaper schemes break it:
//!
//! - a **fixed window** (a counter reset every W) admits N at the end of one window and N more
//!   at the start of the next: 2N within a few seconds;
//! - a **token bucket** of capacity N refilling at N/W starts full and refills while it is
//!   being drained, so it lets up to ~2N through in the first W.
//!
//! A **sliding log** keeps the time of each admission and counts those in `(now − W, now]`.
//! It is exact, and cheap at our scale (N is tens to thousands, one row per request). When
//! full, the next slot frees exactly when the oldest counted admission turns W old, which is
//! the countdown the UI shows.
//!
//! # Shape
//!
//! - [`spec`]: the values the user writes (`20/1h`, `off`, budgets, the store).
//! - [`window`]: the pure decision with injected time (`now_ms`, ms since the Unix epoch);
//!   no clock reads, no IO.
//! - stores: [`MemoryStore`] (this process), [`SqliteStore`] (default; every process of this
//!   user on this machine, one `BEGIN IMMEDIATE` transaction per admission), [`RedisStore`]
//!   (across machines; one Lua script per admission).
//! - [`Limiter`]: the async facade the app and `ask` call; it falls back from Redis to SQLite
//!   (never to "no limit") and says so.
//!
//! # Budgets
//!
//! An optional token budget per sliding window and USD budget per UTC day are checked at
//! admission against the usage recorded so far with [`Limiter::record_usage`] (called when a
//! request ends). A request's usage is only known when it ends, so the budget can be overshot
//! by the request(s) in flight when it is reached.

pub mod memory;
pub mod redis_store;
pub mod spec;
pub mod sqlite;
pub mod window;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use thiserror::Error;

pub use memory::MemoryStore;
pub use redis_store::{REDIS_TIMEOUT, RedisStore};
pub use spec::{
    DEFAULT_NAMESPACE, DEFAULT_RATE_LIMIT, DailyUsdBudget, LimitConfig, LimitFileConfig,
    LimitSetting, ParseLimitError, RateLimit, StoreSpec, TokenBudget,
};
pub use sqlite::{SQLITE_FILE_NAME, SqliteStore};
pub use window::{Admission, QuotaStatus, RefusalReason, UsageRecord, format_countdown};

/// The most one Redis call may take, reconnecting included, before the limiter uses the
/// SQLite store for that call. If the call timed out after Redis had counted the admission,
/// the request is counted twice (once in each store): conservative, never over the limit.
const REDIS_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs a Redis call under [`REDIS_CALL_TIMEOUT`].
async fn within_timeout<T>(
    url: &str,
    call: impl std::future::Future<Output = Result<T, LimitError>>,
) -> Result<T, LimitError> {
    tokio::time::timeout(REDIS_CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(LimitError::Redis {
                url: url.to_string(),
                message: format!("no answer within {} ms", REDIS_CALL_TIMEOUT.as_millis()),
            })
        })
}

/// Exit status of headless `ask` when the local limiter refuses the request (distinct from
/// the provider's 429, which is `cli::exit::RATE_LIMITED` = 6).
pub const EXIT_LOCAL_LIMIT: u8 = 10;

/// The wall clock in ms since the Unix epoch, for the app's edge. The limiter itself never
/// reads a clock: callers pass `now_ms` in. A clock before 1970 reads as 0.
pub fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The limiter's answer for one attempt, as the request path reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub admission: Admission,
    /// The limiter's clock at the decision (ms since the Unix epoch).
    pub now_ms: u64,
    /// The quota right after the decision (this admission counted), for the panel.
    pub quota: Option<QuotaStatus>,
}

impl Decision {
    /// The answer when no limiter is configured: admitted, no quota.
    pub fn unlimited(now_ms: u64) -> Decision {
        Decision {
            admission: Admission::Admitted {
                remaining: u32::MAX,
                reset_at_ms: now_ms,
            },
            now_ms,
            quota: None,
        }
    }

    /// True when the attempt may go.
    pub fn admitted(&self) -> bool {
        matches!(self.admission, Admission::Admitted { .. })
    }
}

/// Why the limiter could not answer.
#[derive(Debug, Error)]
pub enum LimitError {
    /// The data dir (for `ratelimit.db`) could not be created.
    #[error("cannot create the data dir {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The SQLite store failed.
    #[error("rate-limit database {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The Redis store failed (the [`Limiter`] falls back to SQLite on this).
    #[error("redis at {url}: {message}")]
    Redis {
        /// The server's URL, password masked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A blocking task panicked or was cancelled.
    #[error("rate-limit store task failed: {0}")]
    Task(String),
}

/// Something the user should read: the limiter works, but not as configured (Redis was
/// unreachable and the local SQLite limit is used instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The message, safe to show (no passwords).
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The store behind a [`Limiter`].
#[derive(Debug)]
enum Backend {
    /// This process only.
    Memory(MemoryStore),
    /// `ratelimit.db` under the data dir.
    Sqlite(SqliteStore),
    /// Redis, with the SQLite store to fall back on when a call fails.
    Redis {
        redis: Box<RedisStore>,
        fallback: SqliteStore,
    },
}

#[derive(Debug)]
struct Inner {
    limits: LimitConfig,
    backend: Backend,
    warnings: Mutex<Vec<Warning>>,
}

/// The rate limiter: cheap to clone (an `Arc`), `Send + Sync`, shared by the UI and request
/// tasks.
#[derive(Debug, Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

impl Limiter {
    fn new(limits: LimitConfig, backend: Backend) -> Limiter {
        Limiter {
            inner: Arc::new(Inner {
                limits,
                backend,
                warnings: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A limiter for this process only.
    pub fn memory(limits: LimitConfig) -> Limiter {
        Limiter::new(limits, Backend::Memory(MemoryStore::new()))
    }

    /// A limiter on `ratelimit.db` under `data_dir`.
    pub async fn sqlite(
        data_dir: &Path,
        namespace: &str,
        limits: LimitConfig,
    ) -> Result<Limiter, LimitError> {
        let store = SqliteStore::open_async(data_dir, namespace).await?;
        Ok(Limiter::new(limits, Backend::Sqlite(store)))
    }

    /// Opens the store `spec` names. For Redis, the SQLite store under `data_dir` is opened
    /// too, as the fallback; if Redis does not answer within [`REDIS_TIMEOUT`] the limiter
    /// uses SQLite alone and the returned [`Warning`] says so. Errors only when even the
    /// SQLite store cannot be opened: the caller must then not send requests unlimited.
    pub async fn connect(
        spec: &StoreSpec,
        data_dir: &Path,
        namespace: &str,
        limits: LimitConfig,
    ) -> Result<(Limiter, Option<Warning>), LimitError> {
        match spec {
            StoreSpec::Memory => Ok((Limiter::memory(limits), None)),
            StoreSpec::Sqlite => Ok((Limiter::sqlite(data_dir, namespace, limits).await?, None)),
            StoreSpec::Redis(url) => {
                let fallback = SqliteStore::open_async(data_dir, namespace).await?;
                match RedisStore::connect(url, namespace, REDIS_TIMEOUT).await {
                    Ok(redis) => Ok((
                        Limiter::new(
                            limits,
                            Backend::Redis {
                                redis: Box::new(redis),
                                fallback,
                            },
                        ),
                        None,
                    )),
                    Err(e) => {
                        let warning = Warning {
                            message: format!(
                                "redis at {} unreachable: {}; using the local sqlite limit",
                                spec.describe(),
                                redis_reason(&e)
                            ),
                        };
                        tracing::warn!("{warning}");
                        Ok((
                            Limiter::new(limits, Backend::Sqlite(fallback)),
                            Some(warning),
                        ))
                    }
                }
            }
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &LimitConfig {
        &self.inner.limits
    }

    /// `sqlite 20/1h`, `memory no rate limit`, `redis redis://host:6379/0 5/1m, $5.00/day`.
    pub fn describe(&self) -> String {
        let store = match &self.inner.backend {
            Backend::Memory(_) => "memory".to_string(),
            Backend::Sqlite(_) => "sqlite".to_string(),
            Backend::Redis { redis, .. } => format!("redis {}", redis.url()),
        };
        format!("{store} {}", self.inner.limits)
    }

    /// The status-line text for a refusal, e.g.
    /// `rate limit 20/1h reached — next slot in 12m03s`.
    pub fn refusal_message(&self, reason: RefusalReason, retry_at_ms: u64, now_ms: u64) -> String {
        window::refusal_message(&self.inner.limits, reason, retry_at_ms, now_ms)
    }

    /// Admits (and counts) or refuses one request at `now_ms`. A refused request is not
    /// counted: keep it and try again at `retry_at_ms`.
    ///
    /// With a Redis store, a failing Redis call makes this call use the SQLite store instead;
    /// the limiter then queues a [`Warning`] — read it with [`Limiter::take_warnings`] after
    /// each call.
    pub async fn admit(&self, now_ms: u64) -> Result<Admission, LimitError> {
        let limits = self.inner.limits;
        match &self.inner.backend {
            Backend::Memory(store) => Ok(store.admit(&limits, now_ms)),
            Backend::Sqlite(store) => store.admit(limits, now_ms).await,
            Backend::Redis { redis, fallback } => {
                match within_timeout(redis.url(), redis.admit(limits, now_ms)).await {
                    Ok(admission) => Ok(admission),
                    Err(e) => {
                        self.warn_fallback(&e, "admission");
                        fallback.admit(limits, now_ms).await
                    }
                }
            }
        }
    }

    /// Admits or refuses one attempt at `now_ms` (see [`Limiter::admit`]) and reads the
    /// quota right after it from the store, so what the panel shows is the limiter's own
    /// state, other sessions' admissions included. A failing quota read leaves `quota` empty;
    /// the admission stands.
    pub async fn decide(&self, now_ms: u64) -> Result<Decision, LimitError> {
        let admission = self.admit(now_ms).await?;
        let quota = self.status(now_ms).await.ok();
        Ok(Decision {
            admission,
            now_ms,
            quota,
        })
    }

    /// The quota at `now_ms`, for the UI's panel. Counts nothing.
    pub async fn status(&self, now_ms: u64) -> Result<QuotaStatus, LimitError> {
        let limits = self.inner.limits;
        match &self.inner.backend {
            Backend::Memory(store) => Ok(store.status(&limits, now_ms)),
            Backend::Sqlite(store) => store.status(limits, now_ms).await,
            Backend::Redis { redis, fallback } => {
                match within_timeout(redis.url(), redis.status(limits, now_ms)).await {
                    Ok(status) => Ok(status),
                    Err(e) => {
                        self.warn_fallback(&e, "quota status");
                        fallback.status(limits, now_ms).await
                    }
                }
            }
        }
    }

    /// Records what a finished request used, for the budgets. `request_key` identifies the
    /// request (e.g. its request id): recording the same key again replaces the earlier
    /// record, so a repeated write does not count twice. `at_ms` is when the request ended.
    pub async fn record_usage(
        &self,
        request_key: &str,
        tokens: u64,
        usd: f64,
        at_ms: u64,
    ) -> Result<(), LimitError> {
        let limits = self.inner.limits;
        let record = UsageRecord {
            at_ms,
            tokens,
            usd: if usd.is_finite() && usd > 0.0 {
                usd
            } else {
                0.0
            },
        };
        match &self.inner.backend {
            Backend::Memory(store) => {
                store.record_usage(request_key, record);
                Ok(())
            }
            Backend::Sqlite(store) => store.record_usage(request_key, record).await,
            Backend::Redis { redis, fallback } => {
                match within_timeout(redis.url(), redis.record_usage(limits, request_key, record))
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        self.warn_fallback(&e, "usage record");
                        fallback.record_usage(request_key, record).await
                    }
                }
            }
        }
    }

    /// Warnings queued since the last call (Redis failures that fell back to SQLite).
    pub fn take_warnings(&self) -> Vec<Warning> {
        match self.inner.warnings.lock() {
            Ok(mut warnings) => std::mem::take(&mut *warnings),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    fn warn_fallback(&self, e: &LimitError, what: &str) {
        let url = match &self.inner.backend {
            Backend::Redis { redis, .. } => redis.url().to_string(),
            _ => String::new(),
        };
        let warning = Warning {
            message: format!(
                "redis at {url} failed: {}; using the local sqlite limit for this {what}",
                redis_reason(e)
            ),
        };
        tracing::warn!("{warning}");
        match self.inner.warnings.lock() {
            Ok(mut warnings) => warnings.push(warning),
            Err(poisoned) => poisoned.into_inner().push(warning),
        }
    }
}

/// The reason part of a Redis error, without repeating the URL.
fn redis_reason(e: &LimitError) -> String {
    match e {
        LimitError::Redis { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const T0: u64 = 1_764_201_600_000;

    fn limits(n: u32, secs: u64) -> LimitConfig {
        LimitConfig {
            requests: LimitSetting::Limit(RateLimit {
                max_requests: n,
                window: Duration::from_secs(secs),
            }),
            ..LimitConfig::default()
        }
    }

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn limit_limiter_is_send_sync_clone() {
        assert_send_sync::<Limiter>();
    }

    #[tokio::test]
    async fn limit_memory_limiter_shares_state_between_clones() {
        let limiter = Limiter::memory(limits(2, 60));
        let clone = limiter.clone();
        assert!(limiter.admit(T0).await.unwrap().is_admitted());
        assert!(clone.admit(T0).await.unwrap().is_admitted());
        let refused = limiter.admit(T0 + 1000).await.unwrap();
        let Admission::Refused {
            retry_at_ms,
            reason,
        } = refused
        else {
            panic!("expected a refusal, got {refused:?}");
        };
        assert_eq!(
            limiter.refusal_message(reason, retry_at_ms, T0 + 1000),
            "rate limit 2/1m reached — next slot in 59s"
        );
        assert_eq!(limiter.describe(), "memory 2/1m");
    }

    #[tokio::test]
    async fn limit_connect_builds_each_store() {
        let dir = tempfile::tempdir().unwrap();
        let (limiter, warning) =
            Limiter::connect(&StoreSpec::Sqlite, dir.path(), "ns", limits(20, 3600))
                .await
                .unwrap();
        assert_eq!(warning, None);
        assert_eq!(limiter.describe(), "sqlite 20/1h");
        assert!(dir.path().join(SQLITE_FILE_NAME).exists());
        let (limiter, warning) =
            Limiter::connect(&StoreSpec::Memory, dir.path(), "ns", limits(20, 3600))
                .await
                .unwrap();
        assert_eq!(warning, None);
        assert_eq!(limiter.describe(), "memory 20/1h");
        limiter.record_usage("r", 10, f64::NAN, T0).await.unwrap();
        assert_eq!(limiter.status(T0).await.unwrap().remaining, 20);
    }

    #[test]
    fn limit_system_clock_is_after_2020() {
        assert!(system_now_ms() > 1_577_836_800_000);
    }
}
