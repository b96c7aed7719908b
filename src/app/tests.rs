//! The event loop's timers on a paused clock: a refusal wakes once a second, a stream at the
//! frame rate, and nothing wakes an idle app.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use super::*;
use crate::event::RequestId;
use crate::frames::sleep_until_some;
use crate::limit::{Admission, Decision};
use crate::limit::{LimitConfig, RefusalReason};
use crate::llm::{StopReason, StreamEvent};
use crate::model::{Session, StartKind};
use crate::request::PumpEvent;

fn model() -> Model {
    Model::new(Session {
        provider: "demo".into(),
        provider_label: None,
        model: "m".into(),
        max_tokens: 100,
        temperature: None,
        system: None,
        start: StartKind::Configured,
    })
}

fn enter() -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
}

/// The loop's timer on tokio's clock: sends `events` at their offsets, sets the alarm
/// from the effects and sends the model a tick when it rings, until `until`. Returns the
/// offsets of the ticks.
async fn run_timers(
    model: &mut Model,
    mut events: Vec<(Duration, AppEvent)>,
    until: Duration,
) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let mut alarm = Alarm::default();
    let mut ticks = Vec::new();
    events.reverse();
    loop {
        let next_event = events.last().map(|(offset, _)| start + *offset);
        let event = tokio::select! {
            biased;
            () = sleep_until_some(next_event) => events.pop().expect("due").1,
            () = sleep_until_some(alarm.at()) => {
                alarm.rang();
                ticks.push(start.elapsed());
                AppEvent::Tick
            }
            () = tokio::time::sleep_until(start + until) => return ticks,
        };
        for effect in model.update(event, clock_now()) {
            if let Effect::ScheduleTick { at } = effect {
                alarm.set(at);
            }
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(start_paused = true)]
async fn a_refusal_ticks_once_a_second_then_the_app_sleeps() {
    let mut m = model().with_limits(LimitConfig::default(), "memory".into());
    let decision = Decision {
        admission: Admission::Refused {
            retry_at_ms: 45_000,
            reason: RefusalReason::Requests,
        },
        now_ms: 0,
        quota: None,
    };
    let refused = AppEvent::Request {
        id: RequestId(1),
        event: PumpEvent::Admitted {
            attempt: 1,
            decision,
        },
    };
    let events = vec![
        (Duration::ZERO, AppEvent::Paste("hi".into())),
        (Duration::ZERO, enter()),
        (Duration::ZERO, refused),
    ];
    let ticks = run_timers(&mut m, events, HOUR).await;
    let seconds: Vec<Duration> = (1..=45).map(Duration::from_secs).collect();
    assert_eq!(ticks, seconds, "no tick after the slot freed");
    assert_eq!(m.refusal_text(clock_now()), None);
}

#[tokio::test(start_paused = true)]
async fn a_streaming_reply_ticks_three_times_a_second_then_the_app_sleeps() {
    let mut m = model();
    let finished = StreamEvent::Finished {
        stop_reason: StopReason::EndTurn,
    };
    let done = AppEvent::stream(RequestId(1), finished, std::time::Instant::now());
    let events = vec![
        (Duration::ZERO, AppEvent::Paste("hi".into())),
        (Duration::ZERO, enter()),
        (Duration::from_secs(1), done),
    ];
    let ticks = run_timers(&mut m, events, HOUR).await;
    // Its live numbers refresh three times a second while it streams (its tokens wake the
    // app anyway), the one already asked for when it ends comes, then none for the rest of
    // the hour.
    let every = crate::model::reply::COUNTER_REFRESH;
    assert_eq!(ticks, vec![every, every * 2, every * 3, every * 4]);
    assert_eq!(m.lane.active, None);
}

#[tokio::test(start_paused = true)]
async fn an_idle_app_never_ticks() {
    let mut m = model();
    let events = vec![
        (Duration::ZERO, AppEvent::Paste("draft".into())),
        (
            Duration::from_secs(5),
            AppEvent::Resize {
                width: 90,
                height: 30,
            },
        ),
    ];
    assert_eq!(
        run_timers(&mut m, events, HOUR).await,
        Vec::<Duration>::new()
    );
}
