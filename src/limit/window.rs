//! The pure sliding-window decision: given the admissions and usage recorded so far and the
//! caller's `now_ms`, admit or refuse, and say exactly when the next slot frees.
//!
//! Nothing here reads a clock or touches a store; every store (memory, SQLite, Redis) loads
//! what it has, calls these functions inside its own atomic step, and writes back. That is
//! what lets the unit and property tests pin window edges to the millisecond.
//!
//! # Counting rule
//!
//! An admission at `t` counts against the window at `now` while `t + W > now`, i.e. for
//! `t ∈ (now − W, now]`. Admissions stamped *later* than `now` also count: in a shared store a
//! process may read its clock just before another process stamps and commits a newer entry,
//! and ignoring that entry would let N + 1 through. With a monotonic caller (the normal case)
//! no such entry exists and the rule is exactly `(now − W, now]`.

use std::collections::VecDeque;
use std::fmt;

use super::spec::{
    DAY_MS, DailyUsdBudget, HOUR_MS, LimitConfig, LimitSetting, MINUTE_MS, RateLimit, SECOND_MS,
    TokenBudget,
};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// The request limit (N per sliding window) is reached.
    Requests,
    /// The token budget of the sliding window is used up.
    Tokens,
    /// The USD budget of the current UTC day is used up.
    DailyUsd,
}

/// The outcome of one admission attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The request may go; it has been counted.
    Admitted {
        /// Requests still allowed in the window after this one (`u32::MAX` with no request
        /// limit).
        remaining: u32,
        /// When the oldest admission in the window (possibly this one) expires and a slot
        /// frees, in ms since the Unix epoch (`now_ms` with no request limit).
        reset_at_ms: u64,
    },
    /// The request must not go yet; nothing was counted.
    Refused {
        /// The earliest time, in ms since the Unix epoch, at which a retry can be admitted
        /// (unless other requests take the slot first).
        retry_at_ms: u64,
        /// Which limit refused; when several do, the one that frees last.
        reason: RefusalReason,
    },
}

impl Admission {
    /// True for [`Admission::Admitted`].
    pub fn is_admitted(&self) -> bool {
        matches!(self, Admission::Admitted { .. })
    }
}

/// Usage reported for one finished request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageRecord {
    /// When the request ended, in ms since the Unix epoch.
    pub at_ms: u64,
    /// Tokens it used (input + output).
    pub tokens: u64,
    /// Its estimated cost in dollars.
    pub usd: f64,
}

/// How much of the quota is used, for the UI's quota panel.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaStatus {
    /// The request limit in force.
    pub limit: LimitSetting,
    /// Admissions in the current window.
    pub used: u32,
    /// Requests still allowed now (`u32::MAX` with no request limit).
    pub remaining: u32,
    /// When the oldest admission in the window expires (a slot frees), if any is counted.
    pub next_free_at_ms: Option<u64>,
    /// When each counted admission expires, earliest first: [`QuotaStatus::at`] ages the
    /// status with it, so a panel shows slots freeing on time without asking again.
    pub frees_at_ms: Vec<u64>,
    /// Tokens recorded in the token budget's window, when a token budget is set.
    pub tokens_used: Option<u64>,
    /// Dollars recorded in the current UTC day, when a USD budget is set.
    pub usd_spent_today: Option<f64>,
}

/// Whether an admission at `at_ms` counts against a window of `window_ms` at `now_ms`.
fn counts(at_ms: u64, window_ms: u64, now_ms: u64) -> bool {
    at_ms.saturating_add(window_ms) > now_ms
}

/// The request-limit part of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestCheck {
    /// Fewer than N counted: one more may go.
    Free {
        /// Admissions counted now (before this one).
        used: u32,
        /// The oldest counted admission, if any.
        oldest_ms: Option<u64>,
    },
    /// N or more counted.
    Full {
        /// When the oldest counted admission expires.
        retry_at_ms: u64,
    },
}

/// Counts `admissions_ms` (any order) against `limit` at `now_ms`.
pub fn check_requests(limit: &RateLimit, admissions_ms: &[u64], now_ms: u64) -> RequestCheck {
    let window_ms = limit.window_ms();
    let mut used: u64 = 0;
    let mut oldest_ms: Option<u64> = None;
    for &at_ms in admissions_ms {
        if counts(at_ms, window_ms, now_ms) {
            used += 1;
            oldest_ms = Some(oldest_ms.map_or(at_ms, |o| o.min(at_ms)));
        }
    }
    if used >= u64::from(limit.max_requests) {
        // With N ≥ 1 there is an oldest entry; a hand-built N = 0 admits nothing, ever
        // sliding one window ahead, rather than everything.
        return RequestCheck::Full {
            retry_at_ms: oldest_ms.unwrap_or(now_ms).saturating_add(window_ms),
        };
    }
    RequestCheck::Free {
        used: u32::try_from(used).unwrap_or(u32::MAX),
        oldest_ms,
    }
}

/// Tokens recorded in the budget's window at `now_ms`.
pub fn tokens_in_window(budget: &TokenBudget, usage: &[UsageRecord], now_ms: u64) -> u64 {
    let window_ms = budget.window_ms();
    usage
        .iter()
        .filter(|u| counts(u.at_ms, window_ms, now_ms))
        .fold(0u64, |sum, u| sum.saturating_add(u.tokens))
}

/// If the token budget is used up at `now_ms`, when enough usage expires to go under it.
pub fn check_tokens(budget: &TokenBudget, usage: &[UsageRecord], now_ms: u64) -> Option<u64> {
    let window_ms = budget.window_ms();
    let mut counted: Vec<&UsageRecord> = usage
        .iter()
        .filter(|u| counts(u.at_ms, window_ms, now_ms))
        .collect();
    let mut sum = counted
        .iter()
        .fold(0u64, |sum, u| sum.saturating_add(u.tokens));
    if sum < budget.max_tokens {
        return None;
    }
    counted.sort_by_key(|u| u.at_ms);
    for record in counted {
        sum = sum.saturating_sub(record.tokens);
        if sum < budget.max_tokens {
            return Some(record.at_ms.saturating_add(window_ms));
        }
    }
    // Unreachable in practice (the sum reaches 0); stay safe: one window from now.
    Some(now_ms.saturating_add(window_ms))
}

/// The start of the UTC day containing `now_ms`.
pub fn utc_day_start_ms(now_ms: u64) -> u64 {
    now_ms - now_ms % DAY_MS
}

/// Dollars recorded since the start of the UTC day containing `now_ms`.
pub fn usd_today(usage: &[UsageRecord], now_ms: u64) -> f64 {
    let day_start_ms = utc_day_start_ms(now_ms);
    usage
        .iter()
        .filter(|u| u.at_ms >= day_start_ms)
        .map(|u| u.usd)
        .sum()
}

/// If today's USD budget is used up at `now_ms`, when the next UTC day starts.
pub fn check_daily_usd(budget: &DailyUsdBudget, usage: &[UsageRecord], now_ms: u64) -> Option<u64> {
    (usd_today(usage, now_ms) >= budget.max_usd)
        .then(|| utc_day_start_ms(now_ms).saturating_add(DAY_MS))
}

/// The budget part of a decision: `Some((retry_at_ms, reason))` if a budget refuses (the one
/// that frees last when both do).
pub fn check_budgets(
    limits: &LimitConfig,
    usage: &[UsageRecord],
    now_ms: u64,
) -> Option<(u64, RefusalReason)> {
    let tokens = limits
        .tokens
        .and_then(|b| check_tokens(&b, usage, now_ms))
        .map(|at| (at, RefusalReason::Tokens));
    let usd = limits
        .daily_usd
        .and_then(|b| check_daily_usd(&b, usage, now_ms))
        .map(|at| (at, RefusalReason::DailyUsd));
    latest(tokens, usd)
}

fn latest(
    a: Option<(u64, RefusalReason)>,
    b: Option<(u64, RefusalReason)>,
) -> Option<(u64, RefusalReason)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 > x.0 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The whole decision for one attempt. The caller records an admission at `now_ms` if and
/// only if this returns [`Admission::Admitted`] (and only when a request limit is set).
pub fn decide(
    limits: &LimitConfig,
    admissions_ms: &[u64],
    usage: &[UsageRecord],
    now_ms: u64,
) -> Admission {
    let budget = check_budgets(limits, usage, now_ms);
    let requests = limits
        .requests
        .rate_limit()
        .map(|l| (l, check_requests(&l, admissions_ms, now_ms)));
    let request_refusal = match requests {
        Some((_, RequestCheck::Full { retry_at_ms })) => {
            Some((retry_at_ms, RefusalReason::Requests))
        }
        _ => None,
    };
    if let Some((retry_at_ms, reason)) = latest(request_refusal, budget) {
        return Admission::Refused {
            retry_at_ms,
            reason,
        };
    }
    match requests {
        Some((limit, RequestCheck::Free { used, oldest_ms })) => {
            let oldest = oldest_ms.map_or(now_ms, |o| o.min(now_ms));
            Admission::Admitted {
                remaining: limit.max_requests.saturating_sub(used).saturating_sub(1),
                reset_at_ms: oldest.saturating_add(limit.window_ms()),
            }
        }
        _ => Admission::Admitted {
            remaining: u32::MAX,
            reset_at_ms: now_ms,
        },
    }
}

/// The quota as the UI shows it, without admitting anything.
pub fn quota_status(
    limits: &LimitConfig,
    admissions_ms: &[u64],
    usage: &[UsageRecord],
    now_ms: u64,
) -> QuotaStatus {
    let (used, remaining, next_free_at_ms, frees_at_ms) = match limits.requests.rate_limit() {
        None => (0, u32::MAX, None, Vec::new()),
        Some(limit) => {
            let window_ms = limit.window_ms();
            let mut frees: Vec<u64> = admissions_ms
                .iter()
                .copied()
                .filter(|&at| counts(at, window_ms, now_ms))
                .map(|at| at.saturating_add(window_ms))
                .collect();
            frees.sort_unstable();
            let used = u32::try_from(frees.len()).unwrap_or(u32::MAX);
            let next = frees.first().copied();
            (used, limit.max_requests.saturating_sub(used), next, frees)
        }
    };
    QuotaStatus {
        limit: limits.requests,
        used,
        remaining,
        next_free_at_ms,
        frees_at_ms,
        tokens_used: limits.tokens.map(|b| tokens_in_window(&b, usage, now_ms)),
        usd_spent_today: limits.daily_usd.map(|_| usd_today(usage, now_ms)),
    }
}

/// A countdown such as `45s`, `12m03s`, `2h05m00s` or `1d03h`; rounds up to whole seconds so
/// that it never reads `0s` while the slot is still taken.
pub fn format_countdown(ms: u64) -> String {
    let secs = ms.div_ceil(SECOND_MS);
    let (days, hours, minutes, seconds) = (
        secs / (DAY_MS / SECOND_MS),
        secs % (DAY_MS / SECOND_MS) / (HOUR_MS / SECOND_MS),
        secs % (HOUR_MS / SECOND_MS) / (MINUTE_MS / SECOND_MS),
        secs % (MINUTE_MS / SECOND_MS),
    );
    if days > 0 {
        format!("{days}d{hours:02}h")
    } else if hours > 0 {
        format!("{hours}h{minutes:02}m{seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// The status-line message for a refusal, e.g.
/// `rate limit 20/1h reached — next slot in 12m03s`.
pub fn refusal_message(
    limits: &LimitConfig,
    reason: RefusalReason,
    retry_at_ms: u64,
    now_ms: u64,
) -> String {
    let what = match reason {
        RefusalReason::Requests => match limits.requests {
            LimitSetting::Limit(limit) => format!("rate limit {limit}"),
            LimitSetting::Off => "rate limit".to_string(),
        },
        RefusalReason::Tokens => match limits.tokens {
            Some(budget) => format!("token budget {budget}"),
            None => "token budget".to_string(),
        },
        RefusalReason::DailyUsd => match limits.daily_usd {
            Some(budget) => format!("daily budget {budget}"),
            None => "daily budget".to_string(),
        },
    };
    format!(
        "{what} reached — next slot in {}",
        format_countdown(retry_at_ms.saturating_sub(now_ms))
    )
}

impl QuotaStatus {
    /// The same status at a later `now_ms`: admissions that expired by then no longer
    /// count (nothing new is known to have been admitted).
    pub fn at(&self, now_ms: u64) -> QuotaStatus {
        let LimitSetting::Limit(limit) = self.limit else {
            return self.clone();
        };
        let frees_at_ms: Vec<u64> = self
            .frees_at_ms
            .iter()
            .copied()
            .filter(|&at| at > now_ms)
            .collect();
        let used = u32::try_from(frees_at_ms.len()).unwrap_or(u32::MAX);
        QuotaStatus {
            used,
            remaining: limit.max_requests.saturating_sub(used),
            next_free_at_ms: frees_at_ms.first().copied(),
            frees_at_ms,
            ..self.clone()
        }
    }
}

impl fmt::Display for QuotaStatus {
    /// `17/20 left` or `no rate limit` (without budgets; the UI formats those itself).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            LimitSetting::Off => f.write_str("no rate limit"),
            LimitSetting::Limit(limit) => write!(
                f,
                "{}/{} left in {}",
                self.remaining,
                limit.max_requests,
                super::spec::format_window(limit.window)
            ),
        }
    }
}

/// The whole limiter state in memory: the log of admissions and the usage records. Used by
/// the memory store, and the object the property test checks against its reference model.
#[derive(Debug, Clone, Default)]
pub struct WindowLog {
    admissions_ms: VecDeque<u64>,
    usage: std::collections::HashMap<String, UsageRecord>,
}

impl WindowLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops entries no window of `limits` can count again at `now_ms` or later.
    fn prune(&mut self, limits: &LimitConfig, now_ms: u64) {
        let retention_ms = limits.retention_ms();
        self.admissions_ms
            .retain(|&at| at.saturating_add(retention_ms) > now_ms);
        self.usage
            .retain(|_, u| u.at_ms.saturating_add(retention_ms) > now_ms);
    }

    fn usage_vec(&self) -> Vec<UsageRecord> {
        self.usage.values().copied().collect()
    }

    /// Admits (and records) or refuses one request at `now_ms`.
    pub fn try_admit(&mut self, limits: &LimitConfig, now_ms: u64) -> Admission {
        self.prune(limits, now_ms);
        let usage = self.usage_vec();
        let admission = decide(limits, self.admissions_ms.make_contiguous(), &usage, now_ms);
        if admission.is_admitted() && limits.requests.rate_limit().is_some() {
            self.admissions_ms.push_back(now_ms);
        }
        admission
    }

    /// The quota at `now_ms`.
    pub fn status(&mut self, limits: &LimitConfig, now_ms: u64) -> QuotaStatus {
        self.prune(limits, now_ms);
        let usage = self.usage_vec();
        quota_status(limits, self.admissions_ms.make_contiguous(), &usage, now_ms)
    }

    /// Records (or replaces) the usage of the request `request_key`.
    pub fn record_usage(&mut self, request_key: &str, record: UsageRecord) {
        self.usage.insert(request_key.to_string(), record);
    }
}

#[cfg(test)]
mod tests;
