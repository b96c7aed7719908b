//! The shared store: one Redis sorted set per namespace, so that promptdeck on several
//! machines shares one window.
//!
//! Admission is one Lua script, which Redis runs atomically: drop expired members
//! (`ZREMRANGEBYSCORE`), count the window (`ZCOUNT`), and if fewer than N add a unique member
//! scored with the admission time (`ZADD`) and refresh the key's expiry (`PEXPIRE`). It returns
//! the count and the oldest counted score, from which the caller derives `remaining` and the
//! exact retry time.
//!
//! Time is the caller's `now_ms`, not the Redis server's clock: that keeps the store testable
//! with injected time, and it means machines sharing a namespace need NTP-synced clocks (a
//! machine whose clock runs behind sees slots free late, one running ahead sees them free
//! early; the count of N is never exceeded within one machine's view).
//!
//! Keys: `{namespace}:requests` (admissions), `{namespace}:usage` (request key → end time) and
//! `{namespace}:usage:amounts` (request key → `"tokens usd"`), the braces included: the
//! namespace is a Redis Cluster hash tag, so every key one script touches lands in one slot
//! (a script over two slots fails with CROSSSLOT). Keys written before the hash tag
//! (`namespace:requests`…) are moved over once, when a client connects. Budgets are read and checked
//! before the admission script runs; that is not atomic with the admission, which only
//! widens the "one request in flight may overshoot a budget" caveat to "a request finishing
//! concurrently may too".

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::LimitError;
use super::spec::{LimitConfig, RateLimit, redact_url};
use super::window::{self, Admission, QuotaStatus, RefusalReason, UsageRecord};

/// How long connecting to Redis, and each command, may take before the store gives up (and
/// the limiter falls back to SQLite).
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

const ADMIT_SCRIPT: &str = r"
-- KEYS[1]: admissions sorted set (score = admission time in ms)
-- ARGV: now_ms, window_start_ms (exclusive), prune_upto_ms (inclusive), max_requests,
--       member, ttl_ms
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
local admitted = 0
if count < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  admitted = 1
  count = count + 1
end
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local oldest_ms = -1
if oldest[2] then oldest_ms = tonumber(oldest[2]) end
return {admitted, count, oldest_ms}
";

const PEEK_SCRIPT: &str = r"
-- KEYS[1]: admissions sorted set; ARGV[1]: window_start_ms (exclusive)
local count = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local oldest_ms = -1
if oldest[2] then oldest_ms = tonumber(oldest[2]) end
return {count, oldest_ms}
";

const RECORD_SCRIPT: &str = r"
-- KEYS[1]: usage sorted set (member = request key, score = end time in ms)
-- KEYS[2]: amounts hash (request key -> 'tokens usd')
-- ARGV: request_key, at_ms, amount, prune_upto_ms (inclusive), ttl_ms
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
for _, member in ipairs(expired) do redis.call('HDEL', KEYS[2], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
";

const USAGE_SCRIPT: &str = r"
-- KEYS[1]: usage sorted set; KEYS[2]: amounts hash; ARGV[1]: from_ms (inclusive)
local members = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES')
local out = {}
for i = 1, #members, 2 do
  local amount = redis.call('HGET', KEYS[2], members[i])
  if amount then
    table.insert(out, members[i + 1])
    table.insert(out, amount)
  end
end
return out
";

/// A rate-limit store in Redis, shared across machines.
#[derive(Clone)]
pub struct RedisStore {
    manager: ConnectionManager,
    url_redacted: String,
    requests_key: String,
    usage_key: String,
    amounts_key: String,
    member_prefix: String,
    counter: std::sync::Arc<AtomicU64>,
    admit_script: redis::Script,
    peek_script: redis::Script,
    record_script: redis::Script,
    usage_script: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url_redacted)
            .field("requests_key", &self.requests_key)
            .finish()
    }
}

/// Milliseconds as a Redis score argument (signed: a window start may precede the epoch).
fn score(ms: i128) -> String {
    ms.to_string()
}

/// Moves the sorted set `old` (a key from before the hash tag) into `new`, keeping its expiry:
/// single-key commands only, so it works on a cluster too; running it twice is harmless.
async fn move_sorted_set(
    manager: &mut ConnectionManager,
    old: &str,
    new: &str,
) -> redis::RedisResult<()> {
    let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(old)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(manager)
        .await?;
    if members.is_empty() {
        return Ok(());
    }
    let mut add = redis::cmd("ZADD");
    add.arg(new);
    for (member, score) in &members {
        add.arg(*score).arg(member);
    }
    move_with(manager, old, new, add).await
}

/// Runs `write` (which fills `new` from `old`), gives `new` the expiry `old` had, and
/// deletes `old`.
async fn move_with(
    manager: &mut ConnectionManager,
    old: &str,
    new: &str,
    write: redis::Cmd,
) -> redis::RedisResult<()> {
    let ttl: i64 = redis::cmd("PTTL").arg(old).query_async(manager).await?;
    let _: i64 = write.query_async(manager).await?;
    if ttl > 0 {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(new)
            .arg(ttl)
            .query_async(manager)
            .await?;
    }
    let _: i64 = redis::cmd("DEL").arg(old).query_async(manager).await?;
    Ok(())
}

/// Moves the hash `old` into `new` (see [`move_sorted_set`]).
async fn move_hash(
    manager: &mut ConnectionManager,
    old: &str,
    new: &str,
) -> redis::RedisResult<()> {
    let fields: Vec<(String, String)> = redis::cmd("HGETALL").arg(old).query_async(manager).await?;
    if fields.is_empty() {
        return Ok(());
    }
    let mut set = redis::cmd("HSET");
    set.arg(new);
    for (field, value) in &fields {
        set.arg(field).arg(value);
    }
    move_with(manager, old, new, set).await
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT/DB`) and checks it answers `PING`, giving up
    /// after `timeout`.
    pub async fn connect(
        url: &str,
        namespace: &str,
        timeout: Duration,
    ) -> Result<RedisStore, LimitError> {
        let url_redacted = redact_url(url);
        let fail = |message: String| LimitError::Redis {
            url: url_redacted.clone(),
            message,
        };
        let client = redis::Client::open(url).map_err(|e| fail(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let connecting = async {
            let mut manager = ConnectionManager::new_with_config(client, config).await?;
            let _pong: String = redis::cmd("PING").query_async(&mut manager).await?;
            Ok::<_, redis::RedisError>(manager)
        };
        let manager = match tokio::time::timeout(timeout.saturating_mul(2), connecting).await {
            Ok(Ok(manager)) => manager,
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(_) => return Err(fail(format!("no answer within {} ms", timeout.as_millis()))),
        };
        let random = std::collections::hash_map::RandomState::new()
            .hash_one((std::process::id(), std::time::SystemTime::now()));
        let mut manager = manager;
        let tagged = |suffix: &str| format!("{{{namespace}}}:{suffix}");
        for suffix in ["requests", "usage"] {
            let (old, new) = (format!("{namespace}:{suffix}"), tagged(suffix));
            if let Err(e) = move_sorted_set(&mut manager, &old, &new).await {
                tracing::warn!("redis: could not move {old} to {new}: {e}");
            }
        }
        let (old, new) = (
            format!("{namespace}:usage:amounts"),
            tagged("usage:amounts"),
        );
        if let Err(e) = move_hash(&mut manager, &old, &new).await {
            tracing::warn!("redis: could not move {old} to {new}: {e}");
        }
        Ok(RedisStore {
            manager,
            url_redacted,
            requests_key: tagged("requests"),
            usage_key: tagged("usage"),
            amounts_key: tagged("usage:amounts"),
            member_prefix: format!("{}-{random:016x}", std::process::id()),
            counter: std::sync::Arc::new(AtomicU64::new(0)),
            admit_script: redis::Script::new(ADMIT_SCRIPT),
            peek_script: redis::Script::new(PEEK_SCRIPT),
            record_script: redis::Script::new(RECORD_SCRIPT),
            usage_script: redis::Script::new(USAGE_SCRIPT),
        })
    }

    /// The server's URL with any password masked.
    pub fn url(&self) -> &str {
        &self.url_redacted
    }

    fn error(&self, e: redis::RedisError) -> LimitError {
        LimitError::Redis {
            url: self.url_redacted.clone(),
            message: e.to_string(),
        }
    }

    /// Admits or refuses one request at `now_ms`, atomically across every client of this
    /// namespace.
    pub async fn admit(&self, limits: LimitConfig, now_ms: u64) -> Result<Admission, LimitError> {
        let budget = if limits.has_budget() {
            let usage = self.usage(&limits, now_ms).await?;
            window::check_budgets(&limits, &usage, now_ms)
        } else {
            None
        };
        let Some(limit) = limits.requests.rate_limit() else {
            return Ok(match budget {
                Some((retry_at_ms, reason)) => Admission::Refused {
                    retry_at_ms,
                    reason,
                },
                None => window::decide(&limits, &[], &[], now_ms),
            });
        };
        if let Some((budget_retry_ms, reason)) = budget {
            // Refused by a budget; say when it can go, counting the request window too.
            let (count, oldest_ms) = self.peek(&limit, now_ms).await?;
            let request_retry_ms = match oldest_ms {
                Some(oldest) if count >= u64::from(limit.max_requests) => {
                    oldest.saturating_add(limit.window_ms())
                }
                _ => 0,
            };
            return Ok(if request_retry_ms > budget_retry_ms {
                Admission::Refused {
                    retry_at_ms: request_retry_ms,
                    reason: RefusalReason::Requests,
                }
            } else {
                Admission::Refused {
                    retry_at_ms: budget_retry_ms,
                    reason,
                }
            });
        }
        let member = format!(
            "{now_ms}-{}-{}",
            self.member_prefix,
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        let window_ms = limit.window_ms();
        let mut connection = self.manager.clone();
        let (admitted, count, oldest_ms): (i64, i64, i64) = self
            .admit_script
            .key(&self.requests_key)
            .arg(now_ms)
            .arg(score(i128::from(now_ms) - i128::from(window_ms)))
            .arg(score(
                i128::from(now_ms) - i128::from(limits.retention_ms()),
            ))
            .arg(limit.max_requests)
            .arg(member)
            .arg(limits.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.error(e))?;
        let oldest_ms = u64::try_from(oldest_ms).unwrap_or(now_ms);
        let reset_at_ms = oldest_ms.saturating_add(window_ms);
        Ok(if admitted == 1 {
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            Admission::Admitted {
                remaining: limit.max_requests.saturating_sub(count),
                reset_at_ms,
            }
        } else {
            Admission::Refused {
                retry_at_ms: reset_at_ms,
                reason: RefusalReason::Requests,
            }
        })
    }

    /// Count and oldest score of the request window at `now_ms`.
    async fn peek(&self, limit: &RateLimit, now_ms: u64) -> Result<(u64, Option<u64>), LimitError> {
        let mut connection = self.manager.clone();
        let (count, oldest_ms): (i64, i64) = self
            .peek_script
            .key(&self.requests_key)
            .arg(score(i128::from(now_ms) - i128::from(limit.window_ms())))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.error(e))?;
        Ok((
            u64::try_from(count).unwrap_or(0),
            u64::try_from(oldest_ms).ok(),
        ))
    }

    /// Usage records that the budgets of `limits` may count at `now_ms`.
    async fn usage(
        &self,
        limits: &LimitConfig,
        now_ms: u64,
    ) -> Result<Vec<UsageRecord>, LimitError> {
        let token_from_ms = limits
            .tokens
            .map_or(u64::MAX, |b| now_ms.saturating_sub(b.window_ms()));
        let usd_from_ms = limits
            .daily_usd
            .map_or(u64::MAX, |_| window::utc_day_start_ms(now_ms));
        let mut connection = self.manager.clone();
        let flat: Vec<String> = self
            .usage_script
            .key(&self.usage_key)
            .key(&self.amounts_key)
            .arg(token_from_ms.min(usd_from_ms))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.error(e))?;
        flat.chunks(2)
            .map(|pair| match pair {
                [at, amount] => parse_usage(at, amount).ok_or_else(|| LimitError::Redis {
                    url: self.url_redacted.clone(),
                    message: format!("malformed usage entry {amount:?} at {at:?}"),
                }),
                _ => Err(LimitError::Redis {
                    url: self.url_redacted.clone(),
                    message: "malformed usage list".to_string(),
                }),
            })
            .collect()
    }

    /// The quota at `now_ms` (read-only).
    pub async fn status(
        &self,
        limits: LimitConfig,
        now_ms: u64,
    ) -> Result<QuotaStatus, LimitError> {
        let usage = if limits.has_budget() {
            self.usage(&limits, now_ms).await?
        } else {
            Vec::new()
        };
        let admissions = match limits.requests.rate_limit() {
            None => Vec::new(),
            Some(limit) => {
                // The core only needs the count and the oldest time: rebuild a list with the
                // oldest first and the rest stamped `now_ms`, which count the same.
                let (count, oldest_ms) = self.peek(&limit, now_ms).await?;
                let mut list = Vec::new();
                if let Some(oldest) = oldest_ms {
                    list.push(oldest);
                    list.extend(std::iter::repeat_n(
                        now_ms.max(oldest),
                        usize::try_from(count.saturating_sub(1)).unwrap_or(0),
                    ));
                }
                list
            }
        };
        Ok(window::quota_status(&limits, &admissions, &usage, now_ms))
    }

    /// Records (or replaces) the usage of request `request_key`.
    pub async fn record_usage(
        &self,
        limits: LimitConfig,
        request_key: &str,
        record: UsageRecord,
    ) -> Result<(), LimitError> {
        let mut connection = self.manager.clone();
        let retention_ms = limits.retention_ms();
        let _: i64 = self
            .record_script
            .key(&self.usage_key)
            .key(&self.amounts_key)
            .arg(request_key)
            .arg(record.at_ms)
            .arg(format!("{} {}", record.tokens, record.usd))
            .arg(score(i128::from(record.at_ms) - i128::from(retention_ms)))
            .arg(retention_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

/// Parses a usage entry: a score (ms, as Redis formats it) and `"tokens usd"`.
fn parse_usage(at: &str, amount: &str) -> Option<UsageRecord> {
    let at_ms = at.parse::<u64>().ok().or_else(|| {
        at.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })?;
    let (tokens, usd) = amount.split_once(' ')?;
    let usd: f64 = usd.parse().ok().filter(|u: &f64| u.is_finite())?;
    Some(UsageRecord {
        at_ms,
        tokens: tokens.parse().ok()?,
        usd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_redis_usage_entries_parse() {
        assert_eq!(
            parse_usage("1764201600010", "150 0.25"),
            Some(UsageRecord {
                at_ms: 1_764_201_600_010,
                tokens: 150,
                usd: 0.25
            })
        );
        assert_eq!(parse_usage("1.5e3", "1 0").map(|u| u.at_ms), Some(1500));
        assert_eq!(parse_usage("x", "1 0"), None);
        assert_eq!(parse_usage("1", "1"), None);
        assert_eq!(parse_usage("1", "1 NaN"), None);
    }
}
