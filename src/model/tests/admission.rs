//! The rate limit as the chat sees it: admission before the composer empties, refusals,
//! a failing limiter, and the quota the panel shows.

use pretty_assertions::assert_eq;

use super::*;
use crate::limit::{
    Admission, Decision, LimitConfig, LimitSetting, QuotaStatus, RateLimit, RefusalReason,
};
use crate::request::PumpEvent;

const T0_MS: u64 = 1_000_000;

fn three_per_minute() -> LimitConfig {
    LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: 3,
            window: Duration::from_secs(60),
        }),
        tokens: None,
        daily_usd: None,
    }
}

fn limited() -> Harness {
    let mut h = Harness::new();
    h.model = Model::new(session()).with_limits(three_per_minute(), "sqlite 3/1m".into());
    h
}

/// Enter on `text`: the request starts (its pump asks the limiter first).
fn enter(h: &mut Harness, text: &str, ms: u64) -> RequestId {
    h.type_text(text);
    match h.key(KeyCode::Enter, KeyModifiers::NONE, ms).as_slice() {
        [Effect::StartRequest { id, .. }] => *id,
        other => panic!("expected one StartRequest, got {other:?}"),
    }
}

/// The quota a limiter holding admissions at `admitted_ms` reports at `now_ms`.
fn quota(admitted_ms: &[u64], now_ms: u64) -> QuotaStatus {
    crate::limit::window::quota_status(&three_per_minute(), admitted_ms, &[], now_ms)
}

fn decide(
    h: &mut Harness,
    id: RequestId,
    attempt: u32,
    admission: Admission,
    quota: Option<QuotaStatus>,
    ms: u64,
) -> Vec<Effect> {
    let now = h.at(ms);
    let decision = Decision {
        admission,
        now_ms: T0_MS + ms,
        quota,
    };
    h.model.update(
        AppEvent::Request {
            id,
            event: PumpEvent::Admitted { attempt, decision },
        },
        now,
    )
}

fn admitted() -> Admission {
    Admission::Admitted {
        remaining: 2,
        reset_at_ms: 0,
    }
}

#[test]
fn a_message_leaves_the_composer_only_once_admitted() {
    let mut h = limited();
    let id = enter(&mut h, "hello", 0);
    assert_eq!(
        h.model.composer_text(),
        "hello",
        "not moved before admission"
    );
    assert_eq!(h.model.lane.transcript.len(), 0);
    assert_eq!(
        h.key(KeyCode::Enter, KeyModifiers::NONE, 1),
        vec![],
        "one request at a time"
    );
    assert!(matches!(
        decide(&mut h, id, 1, admitted(), None, 5).as_slice(),
        [Effect::ScheduleTick { .. }]
    ));
    assert_eq!(h.model.composer_text(), "");
    assert_eq!(h.model.lane.active, Some(id));
    assert_eq!(
        h.model.lane.transcript.len(),
        2,
        "the message and its reply"
    );
}

#[test]
fn a_refused_message_stays_with_a_live_countdown_until_the_slot_frees() {
    let mut h = limited();
    let id = enter(&mut h, "too many", 0);
    let refused = Admission::Refused {
        retry_at_ms: T0_MS + 45_000,
        reason: RefusalReason::Requests,
    };
    assert_eq!(
        decide(&mut h, id, 1, refused, None, 0),
        vec![Effect::ScheduleTick { at: h.at(1_000) }],
        "the countdown wakes when it shows 44s"
    );
    let ended = End::Refused {
        attempt: 1,
        message: "rate limit 3/1m reached".into(),
        retry_after: Duration::from_secs(45),
    };
    h.model
        .update(AppEvent::RequestEnded { id, end: ended }, h.at(1));
    assert_eq!(h.model.composer_text(), "too many");
    assert_eq!(h.model.lane.transcript.len(), 0);
    assert_eq!(
        h.model.refusal_text(h.at(0)).as_deref(),
        Some("rate limit 3/1m reached — next slot in 45s")
    );
    assert_eq!(
        h.model.update(AppEvent::Tick, h.at(30_000)),
        vec![Effect::ScheduleTick { at: h.at(31_000) }]
    );
    assert_eq!(
        h.model.refusal_text(h.at(30_000)).as_deref(),
        Some("rate limit 3/1m reached — next slot in 15s")
    );
    assert_eq!(
        h.model.update(AppEvent::Tick, h.at(45_000)),
        vec![],
        "no ticks once the slot is free"
    );
    assert_eq!(h.model.refusal_text(h.at(45_000)), None);
    assert!(
        h.model
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("slot is free")
    );
    assert!(matches!(
        h.key(KeyCode::Enter, KeyModifiers::NONE, 45_001).as_slice(),
        [Effect::StartRequest { .. }]
    ));
}

#[test]
fn a_failing_limiter_refuses_rather_than_letting_it_through() {
    let mut h = limited();
    let id = enter(&mut h, "hello", 0);
    let end = End::LimiterFailed {
        attempt: 1,
        message: "the rate limiter failed: database is locked".into(),
    };
    let effects = h.model.update(AppEvent::RequestEnded { id, end }, h.at(1));
    assert_eq!(effects, vec![]);
    assert_eq!(h.model.composer_text(), "hello");
    assert_eq!(h.model.lane.transcript.len(), 0);
    let status = h.model.status.clone().unwrap();
    assert_eq!(status.tone, StatusTone::Error);
    assert!(
        status.text.contains("database is locked"),
        "{}",
        status.text
    );
}

#[test]
fn every_attempt_counts_in_the_quota_the_panel_shows() {
    let mut h = limited();
    let id = enter(&mut h, "q", 0);
    // `--model mock:overloaded`: three attempts, three admissions.
    for (attempt, at) in [(1, 0), (2, 10), (3, 30)] {
        let held: Vec<u64> = [0, 10, 30][..attempt as usize]
            .iter()
            .map(|ms| T0_MS + ms)
            .collect();
        decide(
            &mut h,
            id,
            attempt,
            admitted(),
            Some(quota(&held, T0_MS + at)),
            at,
        );
    }
    let (shown, _) = h.model.admission.quota_at(h.at(40)).unwrap();
    assert_eq!((shown.used, shown.remaining), (3, 0));
    assert_eq!(shown.to_string(), "0/3 left in 1m");
}

#[test]
fn the_quota_ages_as_slots_free_without_asking_again() {
    let mut h = limited();
    let id = enter(&mut h, "q", 0);
    let held = [T0_MS, T0_MS + 1_000];
    decide(
        &mut h,
        id,
        1,
        admitted(),
        Some(quota(&held, T0_MS + 1_000)),
        1_000,
    );
    let left = |h: &Harness, ms: u64| h.model.admission.quota_at(h.at(ms)).unwrap().0.remaining;
    assert_eq!(left(&h, 1_000), 1);
    assert_eq!(left(&h, 59_999), 1);
    assert_eq!(left(&h, 60_000), 2, "the first admission left the window");
    assert_eq!(left(&h, 61_000), 3, "and then the second");
}
