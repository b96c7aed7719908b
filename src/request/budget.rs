//! What a finished attempt used, for the limiter's token and spending budgets.

use crate::limit::{LimitError, Limiter, system_now_ms};
use crate::records::RequestOutcome;
use crate::store::writer::RowKey;

/// The usage of one finished attempt, keyed so that recording it twice counts once.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    key: String,
    tokens: u64,
    usd: f64,
}

impl Budget {
    /// What the attempt logged under `row` used; `None` when the provider reported nothing.
    pub fn of(outcome: &RequestOutcome, row: Option<RowKey>) -> Option<Budget> {
        let u = outcome.usage;
        if u.is_unreported() {
            return None;
        }
        let tokens = [
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens,
            u.cache_read_input_tokens,
        ]
        .iter()
        .map(|v| v.unwrap_or(0))
        .sum();
        Some(Budget {
            key: format!("{}-attempt-{}", process_token(), row.map_or(0, |k| k.0)),
            tokens,
            usd: outcome.cost.usd().unwrap_or(0.0),
        })
    }

    /// Records it with `limiter`.
    pub async fn record(&self, limiter: &Limiter) -> Result<(), LimitError> {
        limiter
            .record_usage(&self.key, self.tokens, self.usd, system_now_ms())
            .await
    }

    /// Records it from a spawned task (a drop cannot wait).
    pub fn spawn(self, limiter: Limiter) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = self.record(&limiter).await {
                    tracing::warn!("could not record usage of a cancelled request: {e}");
                }
            });
        }
    }
}

/// A token unique to this process across machines (its pid and the time it first asked, to
/// the nanosecond): budget keys from several machines sharing a Redis limiter never collide.
fn process_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{nanos:x}", std::process::id())
    })
}
