//! What the user asks for: `20/1h`, `off`, a token budget, a daily USD budget, a store.
//!
//! These are the values of `--rate-limit`, of the config file's `[limit]` table and of the
//! store spec. Parsing lives here, apart from the window arithmetic, so that a bad value gives
//! one clear message wherever it was typed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// Milliseconds in one second, minute, hour and (UTC) day.
pub(crate) const SECOND_MS: u64 = 1_000;
pub(crate) const MINUTE_MS: u64 = 60 * SECOND_MS;
pub(crate) const HOUR_MS: u64 = 60 * MINUTE_MS;
pub(crate) const DAY_MS: u64 = 24 * HOUR_MS;

/// The limit used when neither the config file nor `--rate-limit` sets one: 20 requests in
/// any sliding hour.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    max_requests: 20,
    window: Duration::from_secs(3600),
};

/// The Redis key prefix used when the config sets none.
pub const DEFAULT_NAMESPACE: &str = "promptdeck";

/// At most `max_requests` requests in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many requests the window admits; at least 1.
    pub max_requests: u32,
    /// The length of the sliding window; at least 1 ms.
    pub window: Duration,
}

impl RateLimit {
    /// The window in milliseconds (saturating at `u64::MAX`).
    pub fn window_ms(&self) -> u64 {
        duration_ms(self.window)
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        DEFAULT_RATE_LIMIT
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max_requests, format_window(self.window))
    }
}

impl FromStr for RateLimit {
    type Err = ParseLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, window) = parse_count_per_window(s)?;
        let max_requests = u32::try_from(count).map_err(|_| ParseLimitError::CountTooLarge {
            input: s.trim().to_string(),
        })?;
        Ok(RateLimit {
            max_requests,
            window,
        })
    }
}

/// The request limit as configured: a limit, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSetting {
    /// `off`: requests are not counted (budgets, if any, still apply).
    Off,
    /// `N/WINDOW`: at most N requests in any sliding window.
    Limit(RateLimit),
}

impl LimitSetting {
    /// The limit, if one is set.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        match self {
            LimitSetting::Off => None,
            LimitSetting::Limit(limit) => Some(*limit),
        }
    }
}

impl Default for LimitSetting {
    fn default() -> Self {
        LimitSetting::Limit(DEFAULT_RATE_LIMIT)
    }
}

impl fmt::Display for LimitSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitSetting::Off => f.write_str("off"),
            LimitSetting::Limit(limit) => limit.fmt(f),
        }
    }
}

impl FromStr for LimitSetting {
    type Err = ParseLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            Ok(LimitSetting::Off)
        } else {
            s.parse().map(LimitSetting::Limit)
        }
    }
}

/// At most `max_tokens` tokens (input + output, as the provider reported them) in any
/// sliding `window`. Written `100000/1h`.
///
/// Checked at admission against the usage recorded so far, so the one request in flight
/// (whose usage is not known yet) can overshoot the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBudget {
    /// Tokens allowed in the window; at least 1.
    pub max_tokens: u64,
    /// The length of the sliding window.
    pub window: Duration,
}

impl TokenBudget {
    /// The window in milliseconds (saturating at `u64::MAX`).
    pub fn window_ms(&self) -> u64 {
        duration_ms(self.window)
    }
}

impl fmt::Display for TokenBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tokens/{}",
            self.max_tokens,
            format_window(self.window)
        )
    }
}

impl FromStr for TokenBudget {
    type Err = ParseLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (max_tokens, window) = parse_count_per_window(s)?;
        Ok(TokenBudget { max_tokens, window })
    }
}

/// At most `max_usd` dollars of estimated cost per UTC day (midnight to midnight UTC).
///
/// Like [`TokenBudget`], checked against recorded usage, so the request in flight can
/// overshoot it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyUsdBudget {
    /// Dollars allowed per UTC day; positive and finite.
    pub max_usd: f64,
}

impl fmt::Display for DailyUsdBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}/day", self.max_usd)
    }
}

impl FromStr for DailyUsdBudget {
    type Err = ParseLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let number = trimmed.strip_prefix('$').unwrap_or(trimmed);
        match number.parse::<f64>() {
            Ok(max_usd) if max_usd.is_finite() && max_usd > 0.0 => Ok(DailyUsdBudget { max_usd }),
            _ => Err(ParseLimitError::BadUsd {
                input: trimmed.to_string(),
            }),
        }
    }
}

/// Everything the limiter checks at admission.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LimitConfig {
    /// The request limit (default [`DEFAULT_RATE_LIMIT`]).
    pub requests: LimitSetting,
    /// An optional token budget per sliding window.
    pub tokens: Option<TokenBudget>,
    /// An optional USD budget per UTC day.
    pub daily_usd: Option<DailyUsdBudget>,
}

impl LimitConfig {
    /// How long stores keep admissions and usage records: long enough for every window
    /// configured here and for one UTC day. Processes sharing a store with different windows
    /// then never delete each other's live entries (unless a window exceeds a day).
    pub fn retention_ms(&self) -> u64 {
        let requests = self.requests.rate_limit().map_or(0, |l| l.window_ms());
        let tokens = self.tokens.map_or(0, |b| b.window_ms());
        requests.max(tokens).max(DAY_MS)
    }

    /// Whether any budget (tokens or USD) is configured, i.e. whether usage must be read at
    /// admission.
    pub fn has_budget(&self) -> bool {
        self.tokens.is_some() || self.daily_usd.is_some()
    }
}

impl fmt::Display for LimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.requests {
            LimitSetting::Off => f.write_str("no rate limit")?,
            LimitSetting::Limit(limit) => limit.fmt(f)?,
        }
        if let Some(tokens) = self.tokens {
            write!(f, ", {tokens}")?;
        }
        if let Some(usd) = self.daily_usd {
            write!(f, ", {usd}")?;
        }
        Ok(())
    }
}

/// The `[limit]` table of the config file, as written. Every field is optional.
///
/// ```toml
/// [limit]
/// rate_limit = "20/1h"        # or "off"
/// store = "sqlite"            # "memory", "sqlite" or "redis://HOST:PORT/DB"
/// namespace = "promptdeck"    # Redis key prefix
/// token_budget = "200000/1h"
/// daily_usd = 5.0
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitFileConfig {
    /// `N/WINDOW` or `off`.
    pub rate_limit: Option<String>,
    /// `memory`, `sqlite` or `redis://…`.
    pub store: Option<String>,
    /// Key prefix for the Redis store.
    pub namespace: Option<String>,
    /// `TOKENS/WINDOW`.
    pub token_budget: Option<String>,
    /// Dollars per UTC day.
    pub daily_usd: Option<f64>,
}

impl LimitFileConfig {
    /// Parses the table into limits and a store; `rate_limit_flag` (from `--rate-limit`)
    /// overrides the file's `rate_limit`.
    pub fn resolve(
        &self,
        rate_limit_flag: Option<LimitSetting>,
    ) -> Result<(LimitConfig, StoreSpec, String), ParseLimitError> {
        let requests = match (rate_limit_flag, &self.rate_limit) {
            (Some(flag), _) => flag,
            (None, Some(text)) => text.parse()?,
            (None, None) => LimitSetting::default(),
        };
        let tokens = self.token_budget.as_deref().map(str::parse).transpose()?;
        let daily_usd = match self.daily_usd {
            Some(max_usd) if max_usd.is_finite() && max_usd > 0.0 => {
                Some(DailyUsdBudget { max_usd })
            }
            Some(bad) => {
                return Err(ParseLimitError::BadUsd {
                    input: bad.to_string(),
                });
            }
            None => None,
        };
        let store = self.store.as_deref().map(str::parse).transpose()?;
        let namespace = match self.namespace.as_deref().map(str::trim) {
            Some("") => return Err(ParseLimitError::EmptyNamespace),
            Some(ns) => ns.to_string(),
            None => DEFAULT_NAMESPACE.to_string(),
        };
        Ok((
            LimitConfig {
                requests,
                tokens,
                daily_usd,
            },
            store.unwrap_or_default(),
            namespace,
        ))
    }
}

/// Where admissions are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreSpec {
    /// `memory`: this process only; forgotten on exit.
    Memory,
    /// `sqlite` (default): `ratelimit.db` under the data dir, shared by every promptdeck
    /// process of this user on this machine.
    #[default]
    Sqlite,
    /// `redis://HOST:PORT/DB`: shared across machines.
    Redis(String),
}

impl StoreSpec {
    /// A description safe to show: a password in a Redis URL is masked.
    pub fn describe(&self) -> String {
        match self {
            StoreSpec::Memory => "memory".to_string(),
            StoreSpec::Sqlite => "sqlite".to_string(),
            StoreSpec::Redis(url) => redact_url(url),
        }
    }
}

impl FromStr for StoreSpec {
    type Err = ParseLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("memory") {
            Ok(StoreSpec::Memory)
        } else if trimmed.eq_ignore_ascii_case("sqlite") {
            Ok(StoreSpec::Sqlite)
        } else if trimmed.starts_with("redis://") {
            redis::Client::open(trimmed).map_err(|e| ParseLimitError::BadRedisUrl {
                url: redact_url(trimmed),
                message: e.to_string(),
            })?;
            Ok(StoreSpec::Redis(trimmed.to_string()))
        } else {
            Err(ParseLimitError::UnknownStore {
                input: redact_url(trimmed),
            })
        }
    }
}

/// Masks the user-info part (`user:password@`) of a URL.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A limit, budget or store value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseLimitError {
    /// Nothing was given.
    #[error("empty rate limit: expected N/WINDOW (like 20/1h or 5/1m) or off")]
    Empty,
    /// Not of the form `N/WINDOW`.
    #[error("{input:?} is not a rate limit: expected N/WINDOW (like 20/1h or 5/1m) or off")]
    Format {
        /// What was given.
        input: String,
    },
    /// The count is not a whole number.
    #[error("{input:?}: the count before '/' must be a whole number")]
    BadCount {
        /// What was given.
        input: String,
    },
    /// The count is zero.
    #[error("{input:?}: the count must be at least 1 (use `off` to disable the limit)")]
    ZeroCount {
        /// What was given.
        input: String,
    },
    /// The count does not fit.
    #[error("{input:?}: the count is too large")]
    CountTooLarge {
        /// What was given.
        input: String,
    },
    /// The window has a number but no unit, like `5/10`.
    #[error("{input:?}: the window needs a unit: s, m, h or d (like 5/10m)")]
    MissingUnit {
        /// What was given.
        input: String,
    },
    /// The window's unit is not one of s, m, h, d.
    #[error("{input:?}: unknown window unit {unit:?}; use s, m, h or d")]
    UnknownUnit {
        /// What was given.
        input: String,
        /// The unit that was not understood.
        unit: String,
    },
    /// The window is zero long.
    #[error("{input:?}: the window must be longer than zero")]
    ZeroWindow {
        /// What was given.
        input: String,
    },
    /// The window does not fit in a duration of milliseconds.
    #[error("{input:?}: the window is too long")]
    WindowTooLong {
        /// What was given.
        input: String,
    },
    /// A USD budget that is not a positive number.
    #[error("{input:?}: a daily USD budget must be a positive number of dollars, like 5 or 2.50")]
    BadUsd {
        /// What was given.
        input: String,
    },
    /// A store that is not `memory`, `sqlite` or `redis://…`.
    #[error("{input:?} is not a rate-limit store: use memory, sqlite or redis://HOST:PORT/DB")]
    UnknownStore {
        /// What was given (password masked).
        input: String,
    },
    /// A `redis://` URL the Redis client rejects.
    #[error("bad Redis URL {url}: {message}")]
    BadRedisUrl {
        /// The URL (password masked).
        url: String,
        /// Why the client rejected it.
        message: String,
    },
    /// An empty Redis namespace.
    #[error("the rate-limit namespace must not be empty")]
    EmptyNamespace,
}

/// Parses `N/WINDOW` (count ≥ 1, window > 0 with a unit). `N/h` means `N/1h`.
fn parse_count_per_window(s: &str) -> Result<(u64, Duration), ParseLimitError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(ParseLimitError::Empty);
    }
    let owned = || input.to_string();
    let (count_text, window_text) = input
        .split_once('/')
        .ok_or_else(|| ParseLimitError::Format { input: owned() })?;
    let count_text = count_text.trim();
    let window_text = window_text.trim();
    if count_text.is_empty() || window_text.is_empty() {
        return Err(ParseLimitError::Format { input: owned() });
    }
    if !count_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseLimitError::BadCount { input: owned() });
    }
    let count: u64 = count_text
        .parse()
        .map_err(|_| ParseLimitError::CountTooLarge { input: owned() })?;
    if count == 0 {
        return Err(ParseLimitError::ZeroCount { input: owned() });
    }
    let digits_end = window_text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(window_text.len());
    let (number_text, unit) = window_text.split_at(digits_end);
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(ParseLimitError::MissingUnit { input: owned() });
    }
    let number: u64 = if number_text.is_empty() {
        1
    } else {
        number_text
            .parse()
            .map_err(|_| ParseLimitError::WindowTooLong { input: owned() })?
    };
    let unit_ms = match unit {
        "s" | "sec" => SECOND_MS,
        "m" | "min" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        other => {
            return Err(ParseLimitError::UnknownUnit {
                input: owned(),
                unit: other.to_string(),
            });
        }
    };
    if number == 0 {
        return Err(ParseLimitError::ZeroWindow { input: owned() });
    }
    let window_ms = number
        .checked_mul(unit_ms)
        .ok_or_else(|| ParseLimitError::WindowTooLong { input: owned() })?;
    Ok((count, Duration::from_millis(window_ms)))
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A window in the largest unit that divides it: `1h`, `90s`, `2d`, `1500ms`.
pub fn format_window(window: Duration) -> String {
    let ms = duration_ms(window);
    for (unit_ms, unit) in [
        (DAY_MS, "d"),
        (HOUR_MS, "h"),
        (MINUTE_MS, "m"),
        (SECOND_MS, "s"),
    ] {
        if ms >= unit_ms && ms.is_multiple_of(unit_ms) {
            return format!("{}{unit}", ms / unit_ms);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests;
