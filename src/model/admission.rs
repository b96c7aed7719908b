//! The local rate limit as the chat sees it: a message is admitted before it leaves the
//! composer.
//!
//! Enter starts the request ([`Effect::StartRequest`]); its pump asks the limiter before
//! anything is stored or sent, and answers with a [`PumpEvent::Admitted`](crate::request::PumpEvent::Admitted) for every attempt
//! (retries and fallbacks pass the same gate). With a limiter, the message leaves the composer
//! only once attempt 1 is admitted. A refusal leaves it there and puts a live countdown on the
//! status line ("rate limit 20/1h reached — next slot in 12m03s"); a limiter that fails
//! refuses too (never "no limit"). Each decision carries the quota the limiter holds right
//! after it, which the panel shows, aged as slots free.

use std::time::{Duration, Instant};

use super::{Effect, Model, Status, StatusTone};
use crate::event::RequestId;
use crate::limit::{Admission, Decision, LimitConfig, QuotaStatus, RefusalReason, window};
use crate::prompts::Provenance;

/// A request started but not yet admitted: what to put in the transcript once it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    pub id: RequestId,
    /// The message as typed (`None` for a retry).
    pub user_text: Option<String>,
    /// The failed reply a retry (Ctrl-R) replaces.
    pub retry_of: Option<RequestId>,
    /// The prompt version behind its system prompt.
    pub prompt: Option<Provenance>,
}

/// A refusal being counted down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    /// When the next slot frees.
    pub until: Instant,
    pub reason: RefusalReason,
}

/// The limiter's state as the chat knows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdmissionState {
    /// The limits in force; `None` when no limiter is wired (sends go straight out).
    pub limits: Option<LimitConfig>,
    /// A short description of the limiter for the panel ("sqlite 20/1h").
    pub describe: String,
    /// A request waiting for the limiter's answer on its first attempt.
    pub pending: Option<PendingSend>,
    pub refusal: Option<Refusal>,
    /// Last quota the limiter reported and when (`Instant` and limiter ms).
    pub quota: Option<(QuotaStatus, Instant, u64)>,
}

impl AdmissionState {
    /// The last reported quota aged to `now` (slots whose admissions expired are free), with
    /// `now` in limiter ms.
    pub fn quota_at(&self, now: Instant) -> Option<(QuotaStatus, u64)> {
        let (quota, seen_at, seen_ms) = self.quota.as_ref()?;
        let elapsed = now.saturating_duration_since(*seen_at).as_millis();
        let now_ms = seen_ms.saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX));
        Some((quota.at(now_ms), now_ms))
    }
}

/// A point in limiter time (`at_ms`) as an `Instant`, given that `now_ms` is `now`.
fn instant_of(at_ms: u64, now_ms: u64, now: Instant) -> Instant {
    now + Duration::from_millis(at_ms.saturating_sub(now_ms))
}

impl Model {
    /// The live refusal message, or `None` once the slot is free.
    pub fn refusal_text(&self, now: Instant) -> Option<String> {
        let refusal = self.admission.refusal?;
        let limits = self.admission.limits?;
        let left_ms = refusal.until.saturating_duration_since(now).as_millis() as u64;
        (left_ms > 0).then(|| window::refusal_message(&limits, refusal.reason, left_ms, 0))
    }

    /// The limiter's answer for attempt `attempt` of request `id`.
    pub(super) fn on_admission(
        &mut self,
        id: RequestId,
        attempt: u32,
        decision: Decision,
        now: Instant,
    ) -> Vec<Effect> {
        if let Some(q) = decision.quota {
            self.admission.quota = Some((q, now, decision.now_ms));
        }
        let pending = self
            .admission
            .pending
            .take_if(|p| p.id == id && attempt == 1);
        match decision.admission {
            Admission::Admitted { .. } => {
                self.admission.refusal = None;
                if let Some(pending) = pending {
                    self.commit(pending, now);
                }
            }
            Admission::Refused {
                retry_at_ms,
                reason,
            } if attempt == 1 => {
                self.admission.refusal = Some(Refusal {
                    until: instant_of(retry_at_ms, decision.now_ms, now),
                    reason,
                });
                self.status = None;
            }
            // A retry refused: the request ends with the refusal (`AppEvent::RequestEnded`).
            Admission::Refused { .. } => {}
        }
        Vec::new()
    }

    /// The limiter failed before request `id` was admitted: nothing was sent.
    pub(super) fn on_limiter_failed(&mut self, id: RequestId, message: &str) {
        if self.admission.pending.take_if(|p| p.id == id).is_some() {
            self.status = Some(Status {
                tone: StatusTone::Error,
                text: format!(
                    "not sent: {}; the message stays here",
                    crate::text::sanitize(message)
                ),
            });
        }
    }

    /// Clears a refusal whose slot has freed, saying so.
    pub(super) fn expire_refusal(&mut self, now: Instant) {
        if let Some(r) = self.admission.refusal
            && r.until <= now
        {
            self.admission.refusal = None;
            self.status = Some(Status {
                tone: StatusTone::Info,
                text: "a rate-limit slot is free — press Enter to send".into(),
            });
        }
    }
}
