//! When to write a streaming reply to the database.
//!
//! Writing on every token would put hundreds of small transactions per second on the writer
//! thread (and the disk); writing only at the end would lose the reply on a crash. The
//! [`Checkpointer`] sits between: it writes at most every [`MIN_INTERVAL`] (500 ms) and
//! never holds changed text back longer than that past the last write, so while the text keeps
//! changing a write happens at least every second and a `kill -9` loses at most about one
//! second of text.
//!
//! It is pure: the caller passes the time of every event, so the pure `Model` can own one per
//! streaming reply and the policy is tested without a clock.
//!
//! Tuning: the first change is written at once (the row shows content early); later changes
//! within `MIN_INTERVAL` of the last write are held back, and [`Checkpointer::deadline`] tells
//! the caller when to come back (a timer) if no further text arrives. Raising `MIN_INTERVAL`
//! lowers write load on very fast streams and raises what a crash can lose; keep it well
//! under one second.

use std::time::{Duration, Instant};

/// Minimum time between two checkpoint writes (and the longest changed text is held back).
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// What the caller should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Write the current text now.
    Write,
    /// Hold back; come back at `deadline` (or on the next change) to write.
    Later {
        /// When the pending text must be written at the latest.
        deadline: Instant,
    },
    /// Nothing unwritten.
    Clean,
}

/// The throttle for one streaming reply.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    min_interval: Duration,
    last_write: Option<Instant>,
    /// When the oldest unwritten change happened.
    dirty_since: Option<Instant>,
}

impl Default for Checkpointer {
    fn default() -> Self {
        Checkpointer::new(MIN_INTERVAL)
    }
}

impl Checkpointer {
    /// A throttle writing at most every `min_interval`.
    pub fn new(min_interval: Duration) -> Checkpointer {
        Checkpointer {
            min_interval,
            last_write: None,
            dirty_since: None,
        }
    }

    /// The text changed at `now`. When this returns [`Checkpoint::Write`] the caller writes
    /// the text; the throttle counts it as written.
    pub fn on_change(&mut self, now: Instant) -> Checkpoint {
        if self.dirty_since.is_none() {
            self.dirty_since = Some(now);
        }
        self.decide(now)
    }

    /// No new text, but time passed (a timer at [`Checkpointer::deadline`], or a tick).
    pub fn on_timer(&mut self, now: Instant) -> Checkpoint {
        self.decide(now)
    }

    /// When pending text must be written, if any is pending.
    pub fn deadline(&self) -> Option<Instant> {
        let dirty_since = self.dirty_since?;
        Some(match self.last_write {
            Some(last) => (last + self.min_interval).max(dirty_since),
            None => dirty_since,
        })
    }

    /// True when some change has not been written.
    pub fn is_dirty(&self) -> bool {
        self.dirty_since.is_some()
    }

    /// Records a write the caller made on its own (the final write when the reply ends).
    pub fn wrote(&mut self, now: Instant) {
        self.last_write = Some(now);
        self.dirty_since = None;
    }

    fn decide(&mut self, now: Instant) -> Checkpoint {
        let Some(deadline) = self.deadline() else {
            return Checkpoint::Clean;
        };
        let spaced = self
            .last_write
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval);
        if spaced || now >= deadline {
            self.wrote(now);
            Checkpoint::Write
        } else {
            Checkpoint::Later { deadline }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_change_is_written_at_once() {
        let t0 = Instant::now();
        let mut c = Checkpointer::default();
        assert_eq!(c.on_timer(t0), Checkpoint::Clean);
        assert_eq!(c.on_change(t0), Checkpoint::Write);
        assert!(!c.is_dirty());
    }

    #[test]
    fn fast_stream_writes_about_every_half_second_never_more_than_a_second_apart() {
        let t0 = Instant::now();
        let mut c = Checkpointer::default();
        let mut writes = Vec::new();
        // A token every 30 ms for 5 s.
        for i in 0..=166u64 {
            let now = t0 + ms(i * 30);
            if c.on_change(now) == Checkpoint::Write {
                writes.push(i * 30);
            }
        }
        let gaps: Vec<u64> = writes.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| (500..=530).contains(&g)), "{gaps:?}");
        assert!(writes.len() >= 9, "{writes:?}");
    }

    #[test]
    fn held_back_text_is_written_at_the_deadline() {
        let t0 = Instant::now();
        let mut c = Checkpointer::default();
        assert_eq!(c.on_change(t0), Checkpoint::Write);
        let later = c.on_change(t0 + ms(100));
        assert_eq!(
            later,
            Checkpoint::Later {
                deadline: t0 + ms(500)
            }
        );
        assert_eq!(c.on_timer(t0 + ms(300)), later);
        assert_eq!(c.on_timer(t0 + ms(500)), Checkpoint::Write);
        assert_eq!(c.on_timer(t0 + ms(2000)), Checkpoint::Clean);
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn slow_stream_writes_every_change() {
        let t0 = Instant::now();
        let mut c = Checkpointer::default();
        for i in 0..5 {
            assert_eq!(c.on_change(t0 + ms(i * 700)), Checkpoint::Write);
        }
    }

    #[test]
    fn final_write_clears_pending_text() {
        let t0 = Instant::now();
        let mut c = Checkpointer::default();
        c.on_change(t0);
        c.on_change(t0 + ms(10));
        assert!(c.is_dirty());
        c.wrote(t0 + ms(20));
        assert_eq!(c.on_timer(t0 + ms(5000)), Checkpoint::Clean);
    }
}
