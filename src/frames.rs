//! When to draw: frames are coalesced and paced, and none is drawn unasked.
//!
//! The event loop asks for a frame after every batch of events it handles; it does not draw
//! right away. [`FramePacer`] turns those asks into draw deadlines:
//!
//! - **Coalescing.** However many asks arrive before the next draw (a burst of tokens, a
//!   paste, a resize storm), they are one pending frame with one deadline.
//! - **Pacing.** Draws are at least [`MIN_FRAME_INTERVAL`] apart (60 per second): an ask
//!   right after a draw waits until the interval since that draw has passed; an ask long
//!   after the last draw is due at once, so a keypress on an idle screen shows without delay.
//! - **Nothing unasked.** With no ask pending there is no deadline, so an idle app never
//!   wakes to draw.
//!
//! The pacer keeps no clock of its own: every method takes the time, and
//! [`sleep_until_some`] waits on tokio's clock, so the whole behaviour is tested with a paused
//! clock (`tokio::test(start_paused = true)`).

use std::time::Duration;

use tokio::time::Instant;

/// At most 60 frames per second: the fastest the pacer ever draws.
pub const MIN_FRAME_INTERVAL: Duration = Duration::from_micros(16_667);

/// Frames a second while text streams, unless `--max-fps` says otherwise: smooth to the eye,
/// and each frame carries a few tokens, so a token costs a third of the bytes and CPU it
/// would at 60.
pub const DEFAULT_MAX_FPS: u32 = 30;

/// Coalesces frame requests into paced draw deadlines (see the module docs).
#[derive(Debug, Clone)]
pub struct FramePacer {
    /// Shortest time between the starts of two draws.
    min_interval: Duration,
    /// When the last draw started; `None` before the first.
    last_draw: Option<Instant>,
    /// When the pending frame is to be drawn; `None` when no frame was asked for.
    due: Option<Instant>,
}

impl Default for FramePacer {
    fn default() -> Self {
        FramePacer::new(MIN_FRAME_INTERVAL)
    }
}

impl FramePacer {
    /// A pacer that draws at most once per `min_interval`.
    pub fn new(min_interval: Duration) -> FramePacer {
        FramePacer {
            min_interval,
            last_draw: None,
            due: None,
        }
    }

    /// Asks for a frame at `now`; returns when it is due. An ask while one is pending joins
    /// it (the deadline does not move).
    pub fn request(&mut self, now: Instant) -> Instant {
        *self.due.get_or_insert_with(|| match self.last_draw {
            Some(last) => (last + self.min_interval).max(now),
            None => now,
        })
    }

    /// Asks for a frame for what the user did (a key, a paste, a resize): due at once, so
    /// typing never waits for the pace set for streamed text.
    pub fn request_now(&mut self, now: Instant) -> Instant {
        let due = self.due.map_or(now, |due| due.min(now));
        self.due = Some(due);
        due
    }

    /// A pacer drawing at most `fps` frames a second (1 to 60).
    pub fn with_max_fps(fps: u32) -> FramePacer {
        let fps = fps.clamp(1, 60);
        FramePacer::new(Duration::from_secs(1) / fps)
    }

    /// When the pending frame is due, or `None` when nothing was asked for.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Records that a draw started at `now`: the pending ask is served, and the next draw
    /// waits at least the interval from here.
    pub fn drawn(&mut self, now: Instant) {
        self.due = None;
        self.last_draw = Some(now);
    }
}

/// Sleeps until `at`; with `None`, never wakes (a `select!` branch that stays quiet).
pub async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// Drives a pacer the way the event loop does, on tokio's (paused) clock: asks for a frame
    /// at each offset of `asks` (from the start; asks already due are handled as one batch,
    /// as the loop drains its channel), draws whenever a frame is due, and stops at `until`.
    /// Returns the offsets of the draws.
    async fn run(asks: &[Duration], until: Duration) -> Vec<Duration> {
        let start = Instant::now();
        let mut pacer = FramePacer::default();
        let mut asks = asks.iter().map(|offset| start + *offset).peekable();
        let mut draws = Vec::new();
        loop {
            let next_ask = asks.peek().copied();
            tokio::select! {
                biased;
                () = sleep_until_some(pacer.due()) => {
                    let now = Instant::now();
                    draws.push(now - start);
                    pacer.drawn(now);
                }
                () = sleep_until_some(next_ask) => {
                    let now = Instant::now();
                    while asks.next_if(|at| *at <= now).is_some() {}
                    pacer.request(now);
                }
                () = tokio::time::sleep_until(start + until) => return draws,
            }
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Tokio's timers fire on whole milliseconds: a draw due at 16.667 ms happens at 17 ms.
    #[track_caller]
    fn assert_draws(actual: Vec<Duration>, due: Vec<Duration>) {
        let on_time = actual.len() == due.len()
            && actual
                .iter()
                .zip(&due)
                .all(|(a, d)| a >= d && *a - *d < ms(1));
        assert!(on_time, "drawn at {actual:?}, due at {due:?}");
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_a_thousand_asks_at_once_is_one_draw() {
        assert_draws(run(&[ms(3); 1000], ms(1000)).await, vec![ms(3)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_from_idle_draws_its_first_ask_at_once_and_the_rest_as_one() {
        // A thousand asks within 5 ms on an idle screen: the first shows without delay (a
        // keypress must not wait), the 999 others coalesce into one paced frame.
        let asks: Vec<Duration> = (0..1000).map(|i| us(i * 5)).collect();
        assert_draws(run(&asks, ms(1000)).await, vec![ms(0), MIN_FRAME_INTERVAL]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_after_a_quiet_time_is_one_draw() {
        // One draw, then a quiet second, then a thousand asks in 5 ms: only the first of the
        // burst draws (at once: the last draw is long past), the rest wait for one more.
        let mut asks = vec![ms(0)];
        asks.extend((0..1000).map(|i| ms(1000) + us(i * 5)));
        assert_draws(
            run(&asks, ms(3000)).await,
            vec![ms(0), ms(1000), ms(1000) + MIN_FRAME_INTERVAL],
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_a_thousand_asks_within_5_ms_after_a_draw_is_one_draw() {
        // Asks spread over 5 ms starting 1 ms after a draw: one frame, due 16.7 ms after it.
        let mut asks = vec![ms(0)];
        asks.extend((0..1000).map(|i| ms(1) + us(i * 5)));
        assert_draws(run(&asks, ms(1000)).await, vec![ms(0), MIN_FRAME_INTERVAL]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_ask_1_ms_after_a_draw_waits_for_the_interval() {
        assert_draws(
            run(&[ms(0), ms(1)], ms(1000)).await,
            vec![ms(0), MIN_FRAME_INTERVAL],
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_ask_no_draw_ever() {
        assert_eq!(
            run(&[], Duration::from_secs(3600)).await,
            Vec::<Duration>::new()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_ask_long_after_the_last_draw_draws_at_once() {
        assert_draws(run(&[ms(0), ms(500)], ms(1000)).await, vec![ms(0), ms(500)]);
    }

    #[tokio::test(start_paused = true)]
    async fn steady_asks_are_drawn_at_most_60_times_a_second() {
        // An ask every millisecond for one second (a fast stream of tokens).
        let asks: Vec<Duration> = (0..1000).map(ms).collect();
        let draws = run(&asks, ms(1000)).await;
        // Due every 16.667 ms, drawn on the next whole millisecond: 59 in the second.
        assert!((59..=60).contains(&draws.len()), "{draws:?}");
        assert!(
            draws.windows(2).all(|w| w[1] - w[0] >= MIN_FRAME_INTERVAL),
            "{draws:?}"
        );
    }

    #[test]
    fn a_pending_frame_keeps_its_deadline() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::default();
        assert_eq!(pacer.due(), None);
        pacer.drawn(t0);
        assert_eq!(pacer.request(t0 + ms(1)), t0 + MIN_FRAME_INTERVAL);
        assert_eq!(pacer.request(t0 + ms(10)), t0 + MIN_FRAME_INTERVAL);
        assert_eq!(pacer.due(), Some(t0 + MIN_FRAME_INTERVAL));
        pacer.drawn(t0 + MIN_FRAME_INTERVAL);
        assert_eq!(pacer.due(), None);
    }

    #[test]
    fn what_the_user_does_is_due_at_once_even_right_after_a_draw() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::with_max_fps(30);
        pacer.drawn(t0);
        let token = pacer.request(t0 + Duration::from_millis(1));
        assert_eq!(
            token,
            t0 + Duration::from_secs(1) / 30,
            "streamed text waits its turn"
        );
        let key = pacer.request_now(t0 + Duration::from_millis(2));
        assert_eq!(key, t0 + Duration::from_millis(2), "a key does not");
        assert_eq!(pacer.due(), Some(key));
    }

    #[test]
    fn max_fps_is_kept_between_1_and_60() {
        assert_eq!(
            FramePacer::with_max_fps(0).min_interval,
            Duration::from_secs(1)
        );
        assert_eq!(
            FramePacer::with_max_fps(500).min_interval,
            Duration::from_secs(1) / 60
        );
    }
}
