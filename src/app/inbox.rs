//! The event loop's inboxes, and when it draws.
//!
//! What the user does (keys, pastes, resizes, signals) comes on its own channel and is read
//! at once: it shows in the next frame, drawn without waiting. Everything else (streamed
//! text above all) is read when no frame is pending, or when the pending one is due: a token
//! that arrives while a frame waits does not wake the loop, and all the tokens that came
//! meanwhile are applied together just before the frame that shows them.

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::event::AppEvent;
use crate::frames::{FramePacer, sleep_until_some};

/// What woke the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woke {
    /// The user did something (with it come the events that arrived before it).
    User,
    /// Events arrived while no frame was pending.
    Events,
    /// The pending frame is due (with it come the events that waited for it).
    FrameDue,
    /// The alarm rang: the batch is one [`AppEvent::Tick`].
    Alarm,
}

/// See the module docs.
#[derive(Debug)]
pub struct Inbox {
    user: mpsc::UnboundedReceiver<AppEvent>,
    rest: mpsc::UnboundedReceiver<AppEvent>,
    frames: FramePacer,
}

impl Inbox {
    /// Reads `user` at once and `rest` at the pace of `frames`.
    pub fn new(
        user: mpsc::UnboundedReceiver<AppEvent>,
        rest: mpsc::UnboundedReceiver<AppEvent>,
        frames: FramePacer,
    ) -> Inbox {
        Inbox { user, rest, frames }
    }

    /// Records a frame drawn at `now` outside [`Inbox::draw_now`] (the first one).
    pub fn drawn(&mut self, now: Instant) {
        self.frames.drawn(now);
    }

    /// Waits for the next thing to do: events to apply, in the order they happened, and what
    /// woke the loop; `alarm` is when the model asked to be woken. `None` when a channel
    /// closed.
    pub async fn next(&mut self, alarm: Option<Instant>) -> Option<(Vec<AppEvent>, Woke)> {
        tokio::select! {
            event = self.user.recv() => {
                let event = event?;
                // Whatever came before the key goes first, as it happened.
                let mut batch = drain(&mut self.rest, Vec::new());
                batch.push(event);
                Some((drain(&mut self.user, batch), Woke::User))
            }
            // While a frame is pending, the rest waits for it.
            event = self.rest.recv(), if self.frames.due().is_none() => {
                let event = event?;
                Some((drain(&mut self.rest, vec![event]), Woke::Events))
            }
            // Everything that came while the frame waited is in it (a burst at full speed is
            // one frame, not one a thousand events).
            () = sleep_until_some(self.frames.due()) => {
                Some((drain(&mut self.rest, Vec::new()), Woke::FrameDue))
            }
            () = sleep_until_some(alarm) => Some((vec![AppEvent::Tick], Woke::Alarm)),
        }
    }

    /// Once the events of a wake-up (`had_events`: there were some) are applied at `now`:
    /// whether to draw now. What the user did shows at once; anything else asks for a frame
    /// at the pace of `--max-fps`. A `true` counts as the frame drawn.
    pub fn draw_now(&mut self, woke: Woke, had_events: bool, now: Instant) -> bool {
        if had_events {
            match woke {
                Woke::User => {
                    self.frames.request_now(now);
                }
                Woke::Events | Woke::Alarm => {
                    self.frames.request(now);
                }
                Woke::FrameDue => {}
            }
        }
        let draw = woke == Woke::FrameDue
            || (woke == Woke::User && self.frames.due().is_some_and(|due| due <= now));
        if draw {
            self.frames.drawn(now);
        }
        draw
    }
}

/// `batch` and everything `rx` holds now. Keys have their own channel, so a burst of streamed
/// events taken whole never keeps one waiting.
fn drain(rx: &mut mpsc::UnboundedReceiver<AppEvent>, mut batch: Vec<AppEvent>) -> Vec<AppEvent> {
    while let Ok(event) = rx.try_recv() {
        batch.push(event);
    }
    batch
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use pretty_assertions::assert_eq;

    use super::*;

    const FRAME: Duration = Duration::from_micros(33_333);

    type Senders = (
        mpsc::UnboundedSender<AppEvent>,
        mpsc::UnboundedSender<AppEvent>,
    );

    /// An inbox at 30 frames a second whose last frame was drawn now, and its senders (user,
    /// rest).
    fn inbox() -> (Inbox, Senders) {
        let (user_tx, user) = mpsc::unbounded_channel();
        let (tx, rest) = mpsc::unbounded_channel();
        let mut inbox = Inbox::new(user, rest, FramePacer::with_max_fps(30));
        inbox.drawn(Instant::now());
        (inbox, (user_tx, tx))
    }

    fn key(c: char) -> AppEvent {
        AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    /// A streamed event, told apart by its text.
    fn streamed(text: &str) -> AppEvent {
        AppEvent::Warning(text.into())
    }

    fn names(batch: &[AppEvent]) -> Vec<String> {
        batch
            .iter()
            .map(|event| match event {
                AppEvent::Warning(text) => text.clone(),
                AppEvent::Key(key) => format!("key {}", key.code),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// Applies nothing but what the loop decides: the next wake-up, when it came (from
    /// `start`), what it brought and whether it drew.
    async fn step(inbox: &mut Inbox, start: Instant) -> (Duration, Vec<String>, Woke, bool) {
        let (batch, woke) = inbox.next(None).await.expect("channels open");
        let now = Instant::now();
        let drew = inbox.draw_now(woke, !batch.is_empty(), now);
        (now - start, names(&batch), woke, drew)
    }

    #[tokio::test(start_paused = true)]
    async fn streamed_text_waits_for_its_frame_and_comes_whole() {
        let (mut inbox, (_user, tx)) = inbox();
        let start = Instant::now();
        tx.send(streamed("a")).expect("open");
        // The first token is applied at once; its frame waits for the pace.
        assert_eq!(
            step(&mut inbox, start).await,
            (Duration::ZERO, vec!["a".into()], Woke::Events, false)
        );
        // Tokens that arrive while the frame is pending do not wake the loop: they are
        // applied together when it is due, and drawn.
        tx.send(streamed("b")).expect("open");
        tx.send(streamed("c")).expect("open");
        let (at, batch, woke, drew) = step(&mut inbox, start).await;
        assert!(
            at >= FRAME && at < FRAME + Duration::from_millis(1),
            "{at:?}"
        );
        assert_eq!(
            (batch, woke, drew),
            (vec!["b".into(), "c".into()], Woke::FrameDue, true)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_is_drawn_at_once_after_the_text_that_came_before_it() {
        let (mut inbox, (user, tx)) = inbox();
        let start = Instant::now();
        tx.send(streamed("a")).expect("open");
        assert_eq!(step(&mut inbox, start).await.3, false);
        // A frame is pending for "a"; more text comes, then a key.
        tx.send(streamed("b")).expect("open");
        user.send(key('x')).expect("open");
        assert_eq!(
            step(&mut inbox, start).await,
            (
                Duration::ZERO,
                vec!["b".into(), "key x".into()],
                Woke::User,
                true
            )
        );
        // The key's frame showed "a" too: nothing is left pending.
        let idle = tokio::time::timeout(Duration::from_secs(3600), inbox.next(None)).await;
        assert!(idle.is_err(), "woke with nothing to do: {idle:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_alarm_ticks_and_its_frame_is_paced() {
        let (mut inbox, _senders) = inbox();
        let start = Instant::now();
        let at = start + Duration::from_millis(5);
        let (batch, woke) = inbox.next(Some(at)).await.expect("open");
        assert_eq!(
            (names(&batch), woke),
            (vec!["Tick".to_string()], Woke::Alarm)
        );
        assert_eq!(Instant::now(), at);
        assert!(!inbox.draw_now(woke, true, Instant::now()));
        assert_eq!(step(&mut inbox, start).await.2, Woke::FrameDue);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_channel_ends_the_loop() {
        let (mut inbox, (user, _tx)) = inbox();
        drop(user);
        assert!(inbox.next(None).await.is_none());
    }
}
