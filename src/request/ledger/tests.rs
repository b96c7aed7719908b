//! The ledger over whole event sequences, and its totals against the sum of its attempts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::*;
use crate::llm::retry::Next;
use crate::llm::{LlmError, StopReason};

/// Builds a stamped sequence; each item `ms` after the previous one.
struct Script {
    at: Stamp,
    items: Vec<Stamped>,
}

impl Script {
    fn new() -> Script {
        Script {
            at: Stamp {
                at: Instant::now(),
                unix_ms: 1_800_000_000_000,
            },
            items: Vec::new(),
        }
    }

    fn after(mut self, ms: u64, progress: Progress) -> Script {
        self.at = self.at.after(Duration::from_millis(ms));
        self.items.push(Stamped {
            stamp: self.at,
            progress,
        });
        self
    }

    fn start(self, ms: u64, number: u32, model: &str) -> Script {
        self.after(
            ms,
            Progress::AttemptStarted {
                number,
                model: model.into(),
            },
        )
    }

    fn event(self, ms: u64, event: StreamEvent) -> Script {
        self.after(ms, Progress::Event(event))
    }

    fn text(self, ms: u64, text: &str) -> Script {
        self.event(ms, StreamEvent::TextDelta(text.into()))
    }

    fn usage(self, ms: u64, input: u64, output: u64) -> Script {
        self.event(
            ms,
            StreamEvent::Usage(Usage {
                input_tokens: Some(input),
                output_tokens: Some(output),
                ..Usage::default()
            }),
        )
    }

    fn finished(self, ms: u64) -> Script {
        self.event(
            ms,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
        )
    }

    fn failed(self, ms: u64, number: u32, error: LlmError, next: Next) -> Script {
        self.after(
            ms,
            Progress::AttemptFailed {
                number,
                error,
                next,
            },
        )
    }

    /// Folds every item; returns the ledger and every write in order.
    fn run(&self) -> (Ledger, Vec<Write>) {
        let mut ledger = Ledger::new(Arc::new(PriceTable::builtin()));
        let writes = self.items.iter().flat_map(|i| ledger.apply(i)).collect();
        (ledger, writes)
    }
}

fn overloaded() -> LlmError {
    LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    }
}

const MODEL: &str = "claude-sonnet-4-5";

#[test]
fn a_finished_reply_counts_what_the_provider_reported_and_its_ttft_from_its_stamps() {
    let (ledger, writes) = Script::new()
        .start(0, 1, MODEL)
        .usage(300, 12, 1)
        .text(120, "Hello there")
        .text(40, ", friend.")
        .usage(10, 12, 7)
        .finished(5)
        .run();
    assert_eq!(ledger.ttft(), Some(Duration::from_millis(420)));
    let outcome = ledger.outcome(1).unwrap();
    assert_eq!(outcome.status, RequestStatus::Ok);
    assert_eq!(outcome.usage.output_tokens, Some(7));
    assert!(!outcome.output_estimated);
    assert_eq!(outcome.time_to_first_chunk_ms, Some(420));
    assert_eq!(outcome.duration_ms, Some(475));
    assert!(matches!(outcome.cost, CostView::Known(usd) if usd > 0.0));
    assert_eq!(outcome.cost_source.as_deref(), Some("genai-prices 0.2.1"));
    assert_eq!(writes.first(), Some(&Write::AttemptStarted { number: 1 }));
    assert_eq!(writes.last(), Some(&Write::AttemptFinished { number: 1 }));
    assert_eq!(ledger.totals().usage.output_tokens, Some(7));
}

#[test]
fn a_reply_cancelled_mid_text_records_a_marked_estimate_never_the_placeholder() {
    let text = "word ".repeat(200); // 1,000 bytes: ~250 tokens
    let (mut ledger, _) = Script::new()
        .start(0, 1, MODEL)
        .usage(200, 50, 1) // Anthropic's message_start placeholder
        .text(100, &text)
        .run();
    let end = ledger
        .current()
        .unwrap()
        .started
        .after(Duration::from_secs(2));
    let writes = ledger.finish(MessageState::Cancelled, end);
    assert_eq!(
        writes,
        vec![
            Write::AttemptFinished { number: 1 },
            Write::Reply {
                state: MessageState::Cancelled
            }
        ]
    );
    let outcome = ledger.outcome(1).unwrap();
    assert_eq!(outcome.status, RequestStatus::Cancelled);
    assert_eq!(outcome.usage.output_tokens, Some(250));
    assert!(outcome.output_estimated);
    assert!(matches!(outcome.cost, CostView::Estimate(_)));
    let totals = ledger.totals();
    assert_eq!(totals.usage.output_tokens, Some(250));
    assert_eq!(totals.output, Measure::Estimated);
    assert_eq!(ledger.end().map(|(s, _)| s), Some(MessageState::Cancelled));
    // A second end changes nothing.
    assert_eq!(ledger.finish(MessageState::Failed, end), Vec::new());
}

#[test]
fn a_count_the_provider_sent_before_the_cut_is_kept_when_it_is_not_a_placeholder() {
    let (mut ledger, _) = Script::new()
        .start(0, 1, MODEL)
        .text(100, "abcd")
        .usage(10, 50, 40)
        .run();
    ledger.finish(MessageState::Interrupted, ledger.current().unwrap().started);
    let outcome = ledger.outcome(1).unwrap();
    assert_eq!(outcome.status, RequestStatus::Interrupted);
    assert_eq!(outcome.usage.output_tokens, Some(40));
    assert!(!outcome.output_estimated);
}

#[test]
fn a_mid_stream_error_ends_the_attempt_with_its_error_and_keeps_the_text() {
    let (mut ledger, _) = Script::new()
        .start(0, 1, MODEL)
        .text(50, "partial")
        .failed(
            30,
            1,
            LlmError::Connection {
                message: "connection reset".into(),
            },
            Next::GiveUp,
        )
        .run();
    let end = ledger.current().unwrap().ended.unwrap();
    ledger.finish(MessageState::Interrupted, end);
    let outcome = ledger.outcome(1).unwrap();
    assert_eq!(outcome.status, RequestStatus::Error);
    assert_eq!(
        outcome.error.as_ref().map(|e| e.error_type.as_str()),
        Some("connection")
    );
    assert_eq!(outcome.duration_ms, Some(80));
    assert_eq!(ledger.text(), "partial");
    assert_eq!(outcome.usage.output_tokens, Some(2));
    assert!(outcome.output_estimated);
}

#[test]
fn a_429_then_success_keeps_two_attempts_and_the_ttft_of_the_one_that_answered() {
    let (ledger, _) = Script::new()
        .start(0, 1, MODEL)
        .failed(
            90,
            1,
            LlmError::RateLimited {
                message: "slow down".into(),
                retry_after: Some(Duration::from_secs(1)),
            },
            Next::Retry {
                delay: Duration::from_secs(1),
            },
        )
        .start(1000, 2, MODEL)
        .usage(10, 10, 1)
        .text(250, "ok")
        .usage(5, 10, 1)
        .finished(1)
        .run();
    assert_eq!(ledger.attempts().len(), 2);
    assert_eq!(
        ledger.attempt(1).unwrap().status,
        Some(RequestStatus::Error)
    );
    assert_eq!(ledger.attempt(1).unwrap().ttft(), None);
    assert_eq!(ledger.ttft(), Some(Duration::from_millis(260)));
    let first = ledger.outcome(1).unwrap();
    assert!(first.usage.is_unreported(), "{first:?}");
    assert_eq!(ledger.totals().usage.input_tokens, Some(10));
}

#[test]
fn a_529_storm_ending_on_a_fallback_records_every_attempt_priced_for_its_model() {
    let mut script = Script::new();
    for n in 1..=3 {
        script = script.start(10, n, MODEL).failed(
            20,
            n,
            overloaded(),
            if n < 3 {
                Next::Retry {
                    delay: Duration::from_millis(5),
                }
            } else {
                Next::Fallback {
                    model: "claude-haiku-4-5".into(),
                    delay: Duration::from_millis(5),
                }
            },
        );
    }
    let (ledger, writes) = script
        .start(5, 4, "claude-haiku-4-5")
        .text(100, "fallback answer")
        .usage(1, 20, 4)
        .finished(1)
        .run();
    let started: Vec<_> = writes
        .iter()
        .filter(|w| matches!(w, Write::AttemptStarted { .. }))
        .collect();
    assert_eq!(started.len(), 4);
    let statuses: Vec<_> = (1..=4).map(|n| ledger.outcome(n).unwrap().status).collect();
    assert_eq!(
        statuses,
        vec![
            RequestStatus::Error,
            RequestStatus::Error,
            RequestStatus::Error,
            RequestStatus::Ok
        ]
    );
    assert_eq!(ledger.current().unwrap().model, "claude-haiku-4-5");
    let answered = ledger.outcome(4).unwrap();
    assert_eq!(answered.cost, ledger.totals().cost);
}

#[test]
fn a_retry_after_partial_text_counts_only_its_own_text() {
    // Ctrl-R after a cut: a new request, a new ledger.
    let (mut cut, _) = Script::new().start(0, 1, MODEL).text(10, "abcdefgh").run();
    cut.finish(MessageState::Cancelled, cut.current().unwrap().started);
    assert_eq!(cut.outcome(1).unwrap().usage.output_tokens, Some(2));
    let (again, _) = Script::new()
        .start(0, 1, MODEL)
        .text(10, "abcd")
        .usage(1, 5, 1)
        .finished(1)
        .run();
    assert_eq!(again.outcome(1).unwrap().usage.output_tokens, Some(1));
    assert_eq!(again.text(), "abcd");
}

#[test]
fn streaming_text_is_checkpointed_at_most_every_half_second() {
    let mut script = Script::new().start(0, 1, MODEL);
    for _ in 0..100 {
        script = script.text(10, "x"); // one second of tokens
    }
    let (ledger, writes) = script.run();
    let checkpoints = writes
        .iter()
        .filter(|w| matches!(w, Write::Reply { .. }))
        .count();
    assert!((2..=3).contains(&checkpoints), "{checkpoints} checkpoints");
    assert!(ledger.checkpoint_deadline().is_some());
}

fn arb_attempt() -> impl Strategy<Value = (Option<u64>, Option<u64>, String, u8)> {
    (
        proptest::option::of(0u64..5_000),
        proptest::option::of(0u64..5_000),
        "[a-z ]{0,40}",
        0u8..4,
    )
}

proptest! {
    /// For any sequence of attempts, the request's totals are the sums of what its
    /// attempts record, field by field, and so is its cost.
    #[test]
    fn totals_equal_the_sum_of_the_attempts(
        attempts in proptest::collection::vec(arb_attempt(), 1..6)
    ) {
        let mut script = Script::new();
        let last = attempts.len() as u32;
        for (i, (input, output, text, how)) in attempts.iter().enumerate() {
            let n = i as u32 + 1;
            script = script.start(3, n, MODEL);
            if !text.is_empty() {
                script = script.text(7, text);
            }
            if input.is_some() || output.is_some() {
                script = script.event(1, StreamEvent::Usage(Usage {
                    input_tokens: *input,
                    output_tokens: *output,
                    ..Usage::default()
                }));
            }
            script = match how {
                0 if n == last => script.finished(1),
                _ if n < last => script.failed(1, n, overloaded(), Next::Retry { delay: Duration::ZERO }),
                _ => script,
            };
        }
        let (mut ledger, _) = script.run();
        let at = ledger.current().unwrap().started.after(Duration::from_secs(1));
        ledger.finish(MessageState::Cancelled, at);
        let totals = ledger.totals();
        let outcomes: Vec<_> = (1..=last).map(|n| ledger.outcome(n).unwrap()).collect();
        let sum = |f: fn(&Usage) -> Option<u64>| {
            outcomes.iter().filter_map(|o| f(&o.usage)).fold(None, |acc: Option<u64>, v| Some(acc.unwrap_or(0) + v))
        };
        prop_assert_eq!(totals.usage.input_tokens, sum(|u| u.input_tokens));
        prop_assert_eq!(totals.usage.output_tokens, sum(|u| u.output_tokens));
        let usd: f64 = outcomes.iter().filter_map(|o| o.cost.usd()).sum();
        prop_assert!((totals.cost.usd().unwrap_or(0.0) - usd).abs() < 1e-12);
        let estimated = outcomes.iter().any(|o| o.output_estimated);
        prop_assert_eq!(totals.output == Measure::Estimated, estimated);
    }
}
