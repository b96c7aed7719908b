//! Wake-ups: the model says when the screen next changes by itself.
//!
//! Some of what the screen shows moves with time alone: a streaming reply's elapsed time
//! and "retrying in 3s", a rate-limit refusal's "next slot in 12m03s". The model never reads
//! the clock, so it asks the app to wake it: after every update it works out when it next
//! needs an [`AppEvent::Tick`](crate::event::AppEvent::Tick) and, if that is sooner than
//! the tick it asked for already, returns an [`Effect::ScheduleTick`]. The app keeps only the
//! earliest pending tick, so the model's `pending` below is exactly what the app will send.
//!
//! - While a reply streams: one tick when its live numbers are due (three a second,
//!   [`COUNTER_REFRESH`](super::reply::COUNTER_REFRESH)); its tokens wake the app anyway.
//! - While a refusal counts down: one tick when the displayed countdown changes — once a
//!   second, on the second (the display rounds up, so "45s" turns "44s" exactly 44 s before
//!   the slot frees), once an hour while it shows days — and a last one when the slot frees.
//! - Otherwise: nothing. An idle app never wakes.

use std::time::{Duration, Instant};

use super::{Effect, Model};
use crate::frames::MIN_FRAME_INTERVAL;

/// The tick the model asked the app for and has not received yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    pending: Option<Instant>,
}

/// Above this much time left, a countdown shows days and hours only.
const COUNTDOWN_DAYS_FROM: Duration = Duration::from_secs(24 * 60 * 60);

/// When a countdown ending at `until` next shows a different value, seen at `now`; `None`
/// once it has ended.
///
/// The countdown shows the time left rounded up to the second (`window::format_countdown`),
/// so "45s" turns "44s" when exactly 44 s are left: the next change is at the largest whole
/// number of seconds strictly below the time left. Above a day it shows days and hours of
/// those rounded-up seconds, which change when a whole hour minus one second is left.
pub fn countdown_change(until: Instant, now: Instant) -> Option<Instant> {
    let left = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
    let nanos = |d: Duration| d.as_nanos();
    let at_left = if left > COUNTDOWN_DAYS_FROM {
        let hours = nanos(left + SECOND - Duration::from_nanos(1)) / nanos(HOUR);
        HOUR * u32::try_from(hours).unwrap_or(u32::MAX) - SECOND
    } else {
        let seconds = (nanos(left) - 1) / nanos(SECOND);
        SECOND * u32::try_from(seconds).unwrap_or(u32::MAX)
    };
    Some(until - at_left)
}

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(60 * 60);

impl Model {
    /// When something on screen next changes by itself, seen at `now`; `None` while idle.
    pub fn next_wake(&self, now: Instant) -> Option<Instant> {
        let streaming = self
            .next_numbers_due()
            .map(|due| due.max(now + MIN_FRAME_INTERVAL));
        let countdown = self
            .admission
            .refusal
            .and_then(|refusal| countdown_change(refusal.until, now));
        [streaming, countdown, self.draft.due()]
            .into_iter()
            .flatten()
            .min()
    }

    /// A tick arrived: the pending one fired (called before the tick is applied).
    pub(super) fn note_tick(&mut self) {
        self.timers.pending = None;
    }

    /// The tick to ask for after an update, if one is needed sooner than the one pending.
    pub(super) fn schedule_wake(&mut self, now: Instant) -> Option<Effect> {
        let at = self.next_wake(now)?;
        if self.timers.pending.is_some_and(|pending| pending <= at) {
            return None;
        }
        self.timers.pending = Some(at);
        Some(Effect::ScheduleTick { at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AppEvent;
    use crate::event::RequestId;
    use crate::limit::Decision;
    use crate::limit::{Admission, LimitConfig, LimitSetting, RateLimit, RefusalReason};
    use crate::llm::{StopReason, StreamEvent};
    use crate::model::{Session, StartKind};
    use crate::request::PumpEvent;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use pretty_assertions::assert_eq;

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

    /// The limiter's refusal of request `id`'s first attempt, as its pump reports it.
    fn refused(id: RequestId, retry_at_ms: u64, now_ms: u64) -> AppEvent {
        let decision = Decision {
            admission: Admission::Refused {
                retry_at_ms,
                reason: RefusalReason::Requests,
            },
            now_ms,
            quota: None,
        };
        let event = PumpEvent::Admitted {
            attempt: 1,
            decision,
        };
        AppEvent::Request { id, event }
    }

    fn started(effects: &[Effect]) -> RequestId {
        match effects {
            [Effect::StartRequest { id, .. }, ..] => *id,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn key(m: &mut Model, code: KeyCode, now: Instant) -> Vec<Effect> {
        m.update(AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
    }

    fn ticks_asked(effects: &[Effect]) -> Vec<Instant> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::ScheduleTick { at } => Some(*at),
                _ => None,
            })
            .collect()
    }

    /// Answers every tick the model asks for, at its time, as the app does; returns the
    /// times of the ticks until the model stops asking (at most `limit`).
    fn follow_ticks(m: &mut Model, mut effects: Vec<Effect>, limit: usize) -> Vec<Instant> {
        let mut ticks = Vec::new();
        while let [at] = ticks_asked(&effects)[..] {
            ticks.push(at);
            assert!(ticks.len() <= limit, "still ticking after {limit} ticks");
            effects = m.update(AppEvent::Tick, at);
        }
        assert_eq!(effects, vec![], "nothing else happens on a tick");
        ticks
    }

    #[test]
    fn nothing_wakes_an_idle_model() {
        let t0 = Instant::now();
        let mut m = model();
        for (i, c) in "hello".chars().enumerate() {
            let effects = key(&mut m, KeyCode::Char(c), t0 + secs(i as u64));
            assert_eq!(effects, vec![]);
        }
        assert_eq!(m.update(AppEvent::Paste("!".into()), t0), vec![]);
        let resize = AppEvent::Resize {
            width: 100,
            height: 40,
        };
        assert_eq!(m.update(resize, t0), vec![]);
        assert_eq!(
            m.update(AppEvent::Tick, t0 + secs(9)),
            vec![],
            "a stray tick"
        );
        assert_eq!(m.next_wake(t0 + secs(10)), None);
    }

    #[test]
    fn a_streaming_reply_wakes_when_its_numbers_are_due_until_it_ends() {
        let t0 = Instant::now();
        let mut m = model();
        m.update(AppEvent::Paste("hi".into()), t0);
        let effects = key(&mut m, KeyCode::Enter, t0);
        let id = m.lane.active.expect("sent");
        let every = crate::model::reply::COUNTER_REFRESH;
        assert_eq!(ticks_asked(&effects), vec![t0 + every]);
        // Tokens arriving before that tick ask for nothing more, and do not move the numbers.
        let started = crate::llm::retry::Progress::AttemptStarted {
            number: 1,
            model: "m".into(),
        };
        m.update(AppEvent::progress(id, started, t0), t0);
        let token = StreamEvent::TextDelta("Hello there, how are you today?".into());
        let at = t0 + Duration::from_millis(5);
        assert_eq!(m.update(AppEvent::stream(id, token, at), at), vec![]);
        let shown = |m: &Model| m.lane.transcript.reply(id).map(|r| r.shown_output().0);
        let counted = |m: &Model| m.lane.transcript.reply(id).map(|r| r.output_tokens().0);
        assert!(counted(&m) > Some(0));
        assert_eq!(
            shown(&m),
            counted(&m),
            "the first text shows its count at once"
        );
        // More tokens before that tick ask for nothing more, and do not move the numbers.
        let token = StreamEvent::TextDelta(" And the next sentence, a long one.".into());
        let at = t0 + Duration::from_millis(9);
        assert_eq!(m.update(AppEvent::stream(id, token, at), at), vec![]);
        assert!(shown(&m) < counted(&m), "the count waits for its refresh");
        // Each tick refreshes them and asks for the next, a refresh later.
        let t1 = t0 + Duration::from_millis(5) + every;
        assert_eq!(
            m.update(AppEvent::Tick, t1),
            vec![Effect::ScheduleTick { at: t1 + every }]
        );
        assert_eq!(shown(&m), counted(&m));
        let done = StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        };
        let at = t1 + Duration::from_millis(3);
        assert_eq!(m.update(AppEvent::stream(id, done, at), at), vec![]);
        // The tick already asked for still comes; after it, nothing.
        assert_eq!(m.update(AppEvent::Tick, t1 + every), vec![]);
        assert_eq!(m.next_wake(t1 + secs(60)), None);
    }

    #[test]
    fn a_refusal_countdown_wakes_each_second_on_the_second_and_stops_when_the_slot_frees() {
        let t0 = Instant::now();
        let limits = LimitConfig {
            requests: LimitSetting::Limit(RateLimit {
                max_requests: 3,
                window: secs(60),
            }),
            tokens: None,
            daily_usd: None,
        };
        let mut m = model().with_limits(limits, "memory 3/1m".into());
        m.update(AppEvent::Paste("again".into()), t0);
        let effects = key(&mut m, KeyCode::Enter, t0);
        assert_eq!(
            effects.len(),
            1,
            "nothing streams before admission: {effects:?}"
        );
        // The slot frees 3.5 s after the answer: "4s", then "3s" at 0.5 s…
        let effects = m.update(refused(started(&effects), 1_003_500, 1_000_000), t0);
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // The countdown's text changes exactly at those ticks.
        let slot_in = |s: &str| Some(format!("rate limit 3/1m reached — next slot in {s}"));
        let text_at = |n: u64| m.refusal_text(ms(n));
        assert_eq!(
            [0, 499, 500, 1499, 1500, 2500, 3499, 3500].map(text_at),
            [
                slot_in("4s"),
                slot_in("4s"),
                slot_in("3s"),
                slot_in("3s"),
                slot_in("2s"),
                slot_in("1s"),
                slot_in("1s"),
                None
            ]
        );
        let ticks = follow_ticks(&mut m, effects, 10);
        assert_eq!(ticks, vec![ms(500), ms(1500), ms(2500), ms(3500)]);
        assert!(
            m.status
                .as_ref()
                .is_some_and(|s| s.text.contains("slot is free"))
        );
        assert_eq!(m.next_wake(ms(10_000)), None);
    }

    #[test]
    fn an_hour_long_refusal_wakes_3600_times_at_most() {
        let t0 = Instant::now();
        let mut m = model().with_limits(LimitConfig::default(), "memory".into());
        m.update(AppEvent::Paste("again".into()), t0);
        let id = started(&key(&mut m, KeyCode::Enter, t0));
        let effects = m.update(refused(id, 3_600_000, 0), t0);
        let ticks = follow_ticks(&mut m, effects, 3600);
        assert_eq!(ticks.len(), 3600);
        assert_eq!(ticks.first(), Some(&(t0 + secs(1))));
        assert_eq!(ticks.last(), Some(&(t0 + secs(3600))));
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_countdown_changes_on_whole_seconds_left() {
        let now = Instant::now();
        let until = now + secs(45);
        assert_eq!(countdown_change(until, now), Some(until - secs(44)));
        let later = now + Duration::from_millis(300);
        assert_eq!(countdown_change(until, later), Some(until - secs(44)));
        assert_eq!(
            countdown_change(until, until - secs(44)),
            Some(until - secs(43))
        );
        let last = until - Duration::from_millis(1);
        assert_eq!(countdown_change(until, last), Some(until), "the slot frees");
        assert_eq!(countdown_change(until, until), None);
        assert_eq!(countdown_change(until, until + secs(1)), None);
    }

    #[test]
    fn a_countdown_of_days_changes_hourly_then_by_the_second() {
        let now = Instant::now();
        let until = now + secs(2 * 24 * 3600 + 90);
        // "2d00h" until 47:59:59 is left, then "1d23h".
        assert_eq!(
            countdown_change(until, now),
            Some(until - secs(48 * 3600 - 1))
        );
        let next = until - secs(48 * 3600 - 1);
        assert_eq!(
            countdown_change(until, next),
            Some(until - secs(47 * 3600 - 1))
        );
        let one_day_left = until - COUNTDOWN_DAYS_FROM;
        assert_eq!(
            countdown_change(until, one_day_left),
            Some(until - secs(24 * 3600 - 1)),
            "\"1d00h\" turns \"23h59m59s\""
        );
        let just_over_a_day = until - COUNTDOWN_DAYS_FROM - Duration::from_millis(500);
        assert_eq!(
            countdown_change(until, just_over_a_day),
            Some(until - secs(24 * 3600 - 1))
        );
    }
}
