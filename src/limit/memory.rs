//! The in-process store: a [`WindowLog`] behind a mutex. Nothing is shared with other
//! processes and nothing survives a restart; meant for tests and for `store = "memory"`.

use std::sync::{Arc, Mutex, MutexGuard};

use super::spec::LimitConfig;
use super::window::{Admission, QuotaStatus, UsageRecord, WindowLog};

/// A rate-limit store for this process only.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    log: Arc<Mutex<WindowLog>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self) -> MutexGuard<'_, WindowLog> {
        // The log stays consistent even if a holder panicked: every method is one step.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits or refuses one request at `now_ms`.
    pub fn admit(&self, limits: &LimitConfig, now_ms: u64) -> Admission {
        self.log().try_admit(limits, now_ms)
    }

    /// The quota at `now_ms`.
    pub fn status(&self, limits: &LimitConfig, now_ms: u64) -> QuotaStatus {
        self.log().status(limits, now_ms)
    }

    /// Records (or replaces) the usage of request `request_key`.
    pub fn record_usage(&self, request_key: &str, record: UsageRecord) {
        self.log().record_usage(request_key, record);
    }
}
