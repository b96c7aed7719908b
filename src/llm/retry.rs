//! Surviving a provider that says "slow down" or "overloaded".
//!
//! [`decide`] is the pure policy: given a failed attempt, retry it (after a delay), fall back
//! to the next model of the chain, or give up. [`drive`] runs a request through that policy,
//! reporting every attempt so that the UI can show a countdown and the log can keep one row
//! per attempt.
//!
//! Rules:
//! - A failure after text has arrived is never retried here: retrying would duplicate text.
//!   The partial reply is kept and the user retries it with one key.
//! - 429 waits what the server asked (`retry-after-ms` / `retry-after`) when that is between
//!   0 and 60 s; otherwise, and for 529, 408, 409, other 5xx and connection failures before
//!   the first token, exponential backoff with jitter.
//! - Authentication, bad requests, unknown models and malformed responses are not retried:
//!   the same request would fail the same way.
//! - A server's `x-should-retry` header comes before all of the status rules above (the
//!   official SDKs do the same): `false` is never retried, not even a 529; `true` is retried,
//!   even a 400. A 429's `retry-after` is still honoured through it.
//! - When a model's retries are used up on a retryable failure, the next model of the
//!   fallback chain is tried, with the same retry budget.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;

use super::{ChatRequest, LlmError, Provider, StopReason, StreamEvent};

/// How hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries per model after the first attempt (default 2).
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry (default 500 ms).
    pub base_delay: Duration,
    /// Backoff never waits longer than this (default 30 s).
    pub max_delay: Duration,
    /// A server's `retry-after` longer than this is not honoured; backoff is used instead
    /// (default 60 s).
    pub max_retry_after: Duration,
    /// Models to try, in order, when the requested one keeps failing.
    pub fallback_models: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            fallback_models: Vec::new(),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Try the same model again after `delay`.
    Retry { delay: Duration },
    /// Try `model`, the next of the fallback chain, after `delay`.
    Fallback { model: String, delay: Duration },
    /// Stop: the error is final.
    GiveUp,
}

/// Whether an error may succeed on a second try.
pub fn is_retryable(error: &LlmError) -> bool {
    match error {
        LlmError::ServerRetryHint { should_retry, .. } => *should_retry,
        LlmError::RateLimited { .. }
        | LlmError::Overloaded { .. }
        | LlmError::Server { .. }
        | LlmError::Connection { .. }
        | LlmError::Stalled { .. }
        | LlmError::Interrupted => true,
        LlmError::BadRequest { status, .. } => matches!(status, 408 | 409),
        LlmError::Stream { kind, .. } => kind == "api_error",
        LlmError::Auth { .. }
        | LlmError::NotFound { .. }
        | LlmError::ModelNotFound { .. }
        | LlmError::TooLarge { .. }
        | LlmError::LocalLimit { .. }
        | LlmError::Protocol { .. } => false,
    }
}

/// The delay before retry number `retry` (0 = the first retry), with `jitter` in `[0, 1)`:
/// `base * 2^retry`, scaled into `[50%, 100%]` by the jitter, capped at `max_delay`.
pub fn backoff(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.min(16)));
    let capped = exp.min(policy.max_delay);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Decides what follows a failed attempt. `retries_done` counts retries of the current
/// model; `fallbacks_done` how many fallback models were already used; `had_text` whether
/// the failed attempt had streamed any text.
pub fn decide(
    policy: &RetryPolicy,
    error: &LlmError,
    retries_done: u32,
    fallbacks_done: usize,
    had_text: bool,
    jitter: f64,
) -> Next {
    if had_text || !is_retryable(error) {
        return Next::GiveUp;
    }
    let delay = match error.retry_after() {
        Some(after) if after <= policy.max_retry_after => after,
        _ => backoff(policy, retries_done, jitter),
    };
    if retries_done < policy.max_retries {
        return Next::Retry { delay };
    }
    match policy.fallback_models.get(fallbacks_done) {
        Some(model) => Next::Fallback {
            model: model.clone(),
            // A different model need not wait for the old one's backoff.
            delay: Duration::ZERO,
        },
        None => Next::GiveUp,
    }
}

/// What [`drive`] reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Attempt `number` (1-based, over the whole chain) starts, asking `model`.
    AttemptStarted { number: u32, model: String },
    /// An event of the current attempt.
    Event(StreamEvent),
    /// Attempt `number` failed with `error`; `next` says what happens now.
    AttemptFailed {
        number: u32,
        error: LlmError,
        next: Next,
    },
}

/// Runs `request` with retries and fallbacks, reporting through `report`. `gate` is awaited
/// before every attempt (the rate limiter): an `Err` from it ends the request with that
/// error, so no attempt leaves without passing it. `jitter` supplies numbers in `[0, 1)`.
/// Returns how the last attempt ended.
pub async fn drive<G, GF>(
    provider: &dyn Provider,
    request: ChatRequest,
    policy: &RetryPolicy,
    mut gate: G,
    mut jitter: impl FnMut() -> f64,
    mut report: impl FnMut(Progress),
) -> Result<StopReason, LlmError>
where
    G: FnMut(u32) -> GF,
    GF: Future<Output = Result<(), LlmError>>,
{
    let mut request = request;
    let mut number = 0u32;
    let mut retries_done = 0u32;
    let mut fallbacks_done = 0usize;
    loop {
        number += 1;
        gate(number).await?;
        report(Progress::AttemptStarted {
            number,
            model: request.model.clone(),
        });
        let mut stream = provider.stream(request.clone());
        let mut had_text = false;
        let error = loop {
            match stream.next().await {
                Some(Ok(StreamEvent::Finished { stop_reason })) => {
                    report(Progress::Event(StreamEvent::Finished {
                        stop_reason: stop_reason.clone(),
                    }));
                    return Ok(stop_reason);
                }
                Some(Ok(event)) => {
                    had_text |= matches!(&event, StreamEvent::TextDelta(t) if !t.is_empty());
                    report(Progress::Event(event));
                }
                Some(Err(error)) => break error,
                None => break LlmError::Interrupted,
            }
        };
        drop(stream);
        let next = decide(
            policy,
            &error,
            retries_done,
            fallbacks_done,
            had_text,
            jitter(),
        );
        report(Progress::AttemptFailed {
            number,
            error: error.clone(),
            next: next.clone(),
        });
        match next {
            Next::GiveUp => return Err(error),
            Next::Retry { delay } => {
                retries_done += 1;
                tokio::time::sleep(delay).await;
            }
            Next::Fallback { model, delay } => {
                retries_done = 0;
                fallbacks_done += 1;
                request.model = model;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// A cheap source of jitter in `[0, 1)` without a random-number dependency: the sub-second
/// nanoseconds of the clock, mixed.
pub fn clock_jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (mixed as f64) / ((1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn overloaded() -> LlmError {
        LlmError::Overloaded {
            status: 529,
            message: "Overloaded".into(),
        }
    }

    fn policy_with(fallbacks: &[&str]) -> RetryPolicy {
        RetryPolicy {
            fallback_models: fallbacks.iter().map(|s| s.to_string()).collect(),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn overloaded_retries_with_growing_backoff_then_falls_back_then_gives_up() {
        let p = policy_with(&["model-b"]);
        let e = overloaded();
        assert_eq!(
            decide(&p, &e, 0, 0, false, 0.0),
            Next::Retry {
                delay: Duration::from_millis(250)
            }
        );
        assert_eq!(
            decide(&p, &e, 1, 0, false, 0.999_999),
            Next::Retry {
                delay: Duration::from_millis(1000).mul_f64(0.5 + 0.5 * 0.999_999)
            }
        );
        assert_eq!(
            decide(&p, &e, 2, 0, false, 0.5),
            Next::Fallback {
                model: "model-b".into(),
                delay: Duration::ZERO
            }
        );
        assert_eq!(decide(&p, &e, 2, 1, false, 0.5), Next::GiveUp);
    }

    #[test]
    fn rate_limits_honour_retry_after_up_to_a_minute() {
        let p = RetryPolicy::default();
        let limited = |secs: u64| LlmError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            decide(&p, &limited(7), 0, 0, false, 0.3),
            Next::Retry {
                delay: Duration::from_secs(7)
            }
        );
        assert_eq!(
            decide(&p, &limited(0), 0, 0, false, 0.3),
            Next::Retry {
                delay: Duration::ZERO
            }
        );
        // Longer than a minute: back off instead of waiting the server's hour.
        assert_eq!(
            decide(&p, &limited(3600), 0, 0, false, 0.0),
            Next::Retry {
                delay: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn failures_after_text_and_final_errors_are_never_retried() {
        let p = policy_with(&["b"]);
        assert_eq!(decide(&p, &overloaded(), 0, 0, true, 0.0), Next::GiveUp);
        for e in [
            LlmError::Auth {
                status: 401,
                message: "bad key".into(),
            },
            LlmError::BadRequest {
                status: 400,
                message: "bad".into(),
            },
            LlmError::NotFound {
                message: "model".into(),
            },
            LlmError::Protocol {
                message: "json".into(),
            },
        ] {
            assert_eq!(decide(&p, &e, 0, 0, false, 0.0), Next::GiveUp, "{e}");
        }
        for status in [408, 409] {
            let e = LlmError::BadRequest {
                status,
                message: "timeout".into(),
            };
            assert!(matches!(
                decide(&p, &e, 0, 0, false, 0.0),
                Next::Retry { .. }
            ));
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status_rules_and_keeps_retry_after() {
        let p = RetryPolicy::default();
        let hinted = |should_retry, error: LlmError| error.with_retry_hint(Some(should_retry));
        // `false`: final, however retryable the status.
        for e in [
            overloaded(),
            LlmError::RateLimited {
                message: "slow".into(),
                retry_after: Some(Duration::from_secs(1)),
            },
            LlmError::Server {
                status: 503,
                message: "down".into(),
            },
        ] {
            assert_eq!(
                decide(&p, &hinted(false, e.clone()), 0, 0, false, 0.0),
                Next::GiveUp,
                "{e}"
            );
        }
        // `true`: retried, however final the status, with the usual backoff.
        for status in [400, 409] {
            let e = LlmError::BadRequest {
                status,
                message: "conflict".into(),
            };
            assert_eq!(
                decide(&p, &hinted(true, e), 0, 0, false, 0.0),
                Next::Retry {
                    delay: Duration::from_millis(250)
                }
            );
        }
        // A 429 still waits what the server asked.
        let limited = LlmError::RateLimited {
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            decide(&p, &hinted(true, limited), 0, 0, false, 0.3),
            Next::Retry {
                delay: Duration::from_secs(7)
            }
        );
        // Never after text: that would duplicate it.
        assert_eq!(
            decide(&p, &hinted(true, overloaded()), 0, 0, true, 0.0),
            Next::GiveUp
        );
    }

    #[test]
    fn backoff_is_capped_and_jitter_stays_in_range() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(&p, 30, 1.0), Duration::from_secs(30));
        for _ in 0..100 {
            let j = clock_jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
