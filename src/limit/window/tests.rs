use std::time::Duration;

use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

const W: u64 = 60_000;
const T0: u64 = 1_764_201_600_000; // 2025-11-27T00:00:00Z, a UTC midnight.

fn limits(n: u32, window_ms: u64) -> LimitConfig {
    LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: n,
            window: Duration::from_millis(window_ms),
        }),
        tokens: None,
        daily_usd: None,
    }
}

#[test]
fn limit_admits_exactly_n_in_a_burst() {
    let l = limits(3, W);
    let mut log = WindowLog::new();
    let got: Vec<Admission> = (0..5).map(|_| log.try_admit(&l, T0)).collect();
    assert_eq!(
        got,
        vec![
            Admission::Admitted {
                remaining: 2,
                reset_at_ms: T0 + W
            },
            Admission::Admitted {
                remaining: 1,
                reset_at_ms: T0 + W
            },
            Admission::Admitted {
                remaining: 0,
                reset_at_ms: T0 + W
            },
            Admission::Refused {
                retry_at_ms: T0 + W,
                reason: RefusalReason::Requests
            },
            Admission::Refused {
                retry_at_ms: T0 + W,
                reason: RefusalReason::Requests
            },
        ]
    );
}

#[test]
fn limit_window_edges_are_exact() {
    let l = limits(1, W);
    let mut log = WindowLog::new();
    assert!(log.try_admit(&l, T0).is_admitted());
    assert_eq!(
        log.try_admit(&l, T0 + W - 1),
        Admission::Refused {
            retry_at_ms: T0 + W,
            reason: RefusalReason::Requests
        }
    );
    assert!(log.try_admit(&l, T0 + W).is_admitted());
}

#[test]
fn limit_retry_at_is_when_the_oldest_expires() {
    let l = limits(3, W);
    let mut log = WindowLog::new();
    for t in [T0, T0 + 10_000, T0 + 20_000] {
        assert!(log.try_admit(&l, t).is_admitted());
    }
    let refused = log.try_admit(&l, T0 + 30_000);
    assert_eq!(
        refused,
        Admission::Refused {
            retry_at_ms: T0 + W,
            reason: RefusalReason::Requests
        }
    );
    assert_eq!(
        log.try_admit(&l, T0 + W),
        Admission::Admitted {
            remaining: 0,
            reset_at_ms: T0 + 10_000 + W
        }
    );
    assert_eq!(
        log.try_admit(&l, T0 + W + 1),
        Admission::Refused {
            retry_at_ms: T0 + 10_000 + W,
            reason: RefusalReason::Requests
        }
    );
}

#[test]
fn limit_slides_rather_than_resetting_at_fixed_edges() {
    // N at 0.9W; a fixed window would reset at W and let N more through at 1.1W.
    let l = limits(4, W);
    let mut log = WindowLog::new();
    let at_09 = T0 + W * 9 / 10;
    for _ in 0..4 {
        assert!(log.try_admit(&l, at_09).is_admitted());
    }
    let at_11 = T0 + W * 11 / 10;
    assert_eq!(
        log.try_admit(&l, at_11),
        Admission::Refused {
            retry_at_ms: at_09 + W,
            reason: RefusalReason::Requests
        }
    );
    // Two early, two late: at 1.1W only the late ones (from 0.9W) count.
    let mut log = WindowLog::new();
    for _ in 0..2 {
        assert!(log.try_admit(&l, T0).is_admitted());
    }
    for _ in 0..2 {
        assert!(log.try_admit(&l, at_09).is_admitted());
    }
    assert!(!log.try_admit(&l, at_09 + 1).is_admitted());
    let status = log.status(&l, at_11);
    assert_eq!((status.used, status.remaining), (2, 2));
    assert_eq!(status.next_free_at_ms, Some(at_09 + W));
    assert!(log.try_admit(&l, at_11).is_admitted());
    assert!(log.try_admit(&l, at_11).is_admitted());
    assert!(!log.try_admit(&l, at_11).is_admitted());
}

#[test]
fn limit_status_reports_used_remaining_and_next_free() {
    let l = limits(20, HOUR_MS);
    let mut log = WindowLog::new();
    assert_eq!(
        log.status(&l, T0),
        QuotaStatus {
            limit: l.requests,
            used: 0,
            remaining: 20,
            next_free_at_ms: None,
            frees_at_ms: Vec::new(),
            tokens_used: None,
            usd_spent_today: None,
        }
    );
    log.try_admit(&l, T0);
    log.try_admit(&l, T0 + 5);
    let status = log.status(&l, T0 + 10);
    assert_eq!((status.used, status.remaining), (2, 18));
    assert_eq!(status.next_free_at_ms, Some(T0 + HOUR_MS));
    assert_eq!(status.to_string(), "18/20 left in 1h");
    assert_eq!(log.status(&l, T0 + HOUR_MS + 5).used, 0);
}

#[test]
fn limit_a_hand_built_zero_limit_admits_nothing() {
    let l = limits(0, W);
    let mut log = WindowLog::new();
    assert_eq!(
        log.try_admit(&l, T0),
        Admission::Refused {
            retry_at_ms: T0 + W,
            reason: RefusalReason::Requests
        }
    );
}

#[test]
fn limit_off_admits_everything_and_records_nothing() {
    let l = LimitConfig {
        requests: LimitSetting::Off,
        ..LimitConfig::default()
    };
    let mut log = WindowLog::new();
    for i in 0..100 {
        assert_eq!(
            log.try_admit(&l, T0 + i),
            Admission::Admitted {
                remaining: u32::MAX,
                reset_at_ms: T0 + i
            }
        );
    }
    assert_eq!(log.status(&l, T0 + 100).to_string(), "no rate limit");
}

#[test]
fn limit_token_budget_refuses_until_enough_usage_expires() {
    let l = LimitConfig {
        requests: LimitSetting::Off,
        tokens: Some(TokenBudget {
            max_tokens: 1000,
            window: Duration::from_millis(W),
        }),
        daily_usd: None,
    };
    let mut log = WindowLog::new();
    let usage = |at_ms, tokens| UsageRecord {
        at_ms,
        tokens,
        usd: 0.0,
    };
    log.record_usage("a", usage(T0, 600));
    log.record_usage("b", usage(T0 + 1000, 300));
    assert!(log.try_admit(&l, T0 + 2000).is_admitted());
    log.record_usage("c", usage(T0 + 3000, 200));
    // 1100 ≥ 1000: dropping "a" (expires at T0 + W) gets back to 500.
    assert_eq!(
        log.try_admit(&l, T0 + 4000),
        Admission::Refused {
            retry_at_ms: T0 + W,
            reason: RefusalReason::Tokens
        }
    );
    // Re-recording a key replaces it rather than adding.
    log.record_usage("c", usage(T0 + 3000, 50));
    assert!(log.try_admit(&l, T0 + 4000).is_admitted());
    assert_eq!(log.status(&l, T0 + 4000).tokens_used, Some(950));
    log.record_usage("d", usage(T0 + 5000, 50));
    assert!(!log.try_admit(&l, T0 + W - 1).is_admitted());
    assert!(log.try_admit(&l, T0 + W).is_admitted());
}

#[test]
fn limit_daily_usd_budget_resets_at_utc_midnight() {
    let l = LimitConfig {
        requests: LimitSetting::Off,
        tokens: None,
        daily_usd: Some(DailyUsdBudget { max_usd: 1.0 }),
    };
    let mut log = WindowLog::new();
    // Spent late yesterday: does not count today.
    log.record_usage(
        "y",
        UsageRecord {
            at_ms: T0 - 1,
            tokens: 0,
            usd: 5.0,
        },
    );
    assert!(log.try_admit(&l, T0 + 10).is_admitted());
    log.record_usage(
        "t",
        UsageRecord {
            at_ms: T0 + 20,
            tokens: 0,
            usd: 1.25,
        },
    );
    assert_eq!(
        log.try_admit(&l, T0 + HOUR_MS),
        Admission::Refused {
            retry_at_ms: T0 + DAY_MS,
            reason: RefusalReason::DailyUsd
        }
    );
    assert_eq!(log.status(&l, T0 + HOUR_MS).usd_spent_today, Some(1.25));
    assert!(log.try_admit(&l, T0 + DAY_MS).is_admitted());
}

#[test]
fn limit_refusal_reports_the_limit_that_frees_last() {
    let l = LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: 1,
            window: Duration::from_millis(W),
        }),
        tokens: None,
        daily_usd: Some(DailyUsdBudget { max_usd: 1.0 }),
    };
    let mut log = WindowLog::new();
    assert!(log.try_admit(&l, T0).is_admitted());
    log.record_usage(
        "k",
        UsageRecord {
            at_ms: T0 + 1,
            tokens: 10,
            usd: 2.0,
        },
    );
    assert_eq!(
        log.try_admit(&l, T0 + 2),
        Admission::Refused {
            retry_at_ms: T0 + DAY_MS,
            reason: RefusalReason::DailyUsd
        }
    );
}

#[test]
fn limit_messages_and_countdowns() {
    assert_eq!(format_countdown(0), "0s");
    assert_eq!(format_countdown(1), "1s");
    assert_eq!(format_countdown(45_000), "45s");
    assert_eq!(format_countdown(12 * MINUTE_MS + 3 * SECOND_MS), "12m03s");
    assert_eq!(format_countdown(12 * MINUTE_MS + 2_001), "12m03s");
    assert_eq!(format_countdown(2 * HOUR_MS + 5 * MINUTE_MS), "2h05m00s");
    assert_eq!(format_countdown(DAY_MS + 3 * HOUR_MS), "1d03h");
    let l = limits(20, HOUR_MS);
    assert_eq!(
        refusal_message(
            &l,
            RefusalReason::Requests,
            T0 + 12 * MINUTE_MS + 3 * SECOND_MS,
            T0
        ),
        "rate limit 20/1h reached — next slot in 12m03s"
    );
    let budgets = LimitConfig {
        tokens: Some(TokenBudget {
            max_tokens: 5000,
            window: Duration::from_secs(3600),
        }),
        daily_usd: Some(DailyUsdBudget { max_usd: 5.0 }),
        ..l
    };
    assert_eq!(
        refusal_message(&budgets, RefusalReason::Tokens, T0 + 30_000, T0),
        "token budget 5000 tokens/1h reached — next slot in 30s"
    );
    assert_eq!(
        refusal_message(&budgets, RefusalReason::DailyUsd, T0 + HOUR_MS, T0),
        "daily budget $5.00/day reached — next slot in 1h00m00s"
    );
}

/// The reference: a plain list of admission times, checked by brute force.
struct Reference {
    n: usize,
    window_ms: u64,
    times_ms: Vec<u64>,
}

impl Reference {
    fn try_admit(&mut self, now_ms: u64) -> Result<(), u64> {
        let in_window: Vec<u64> = self
            .times_ms
            .iter()
            .copied()
            .filter(|&t| now_ms - self.window_ms < t && t <= now_ms)
            .collect();
        if in_window.len() < self.n {
            self.times_ms.push(now_ms);
            Ok(())
        } else {
            Err(in_window.iter().min().copied().unwrap_or(now_ms) + self.window_ms)
        }
    }
}

proptest! {
    #[test]
    fn limit_core_matches_reference_model(
        n in 1u32..6,
        window_ms in 1u64..5_000,
        steps in proptest::collection::vec(0u64..3_000, 1..200),
    ) {
        let l = limits(n, window_ms);
        let mut log = WindowLog::new();
        let mut reference = Reference { n: n as usize, window_ms, times_ms: Vec::new() };
        let mut now_ms = T0;
        for advance_ms in steps {
            now_ms += advance_ms;
            let got = log.try_admit(&l, now_ms);
            match (reference.try_admit(now_ms), got) {
                (Ok(()), Admission::Admitted { .. }) => {}
                (Err(retry), Admission::Refused { retry_at_ms, reason }) => {
                    prop_assert_eq!(retry, retry_at_ms);
                    prop_assert_eq!(reason, RefusalReason::Requests);
                    prop_assert!(retry_at_ms > now_ms);
                }
                (want, got) => prop_assert!(false, "at {now_ms}: reference {want:?}, core {got:?}"),
            }
            // Never more than N in any window ending at an admission.
            let admitted = &reference.times_ms;
            let last = *admitted.last().unwrap_or(&now_ms);
            let in_window = admitted.iter().filter(|&&t| t + window_ms > last).count();
            prop_assert!(in_window <= n as usize);
        }
    }
}
