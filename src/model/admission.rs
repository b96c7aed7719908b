//! The local rate limit as the chat sees it: a message is admitted before it is sent.
//!
//! Enter asks the app for an admission ([`Effect::Admit`]); the limiter answers with an
//! [`AppEvent::Admitted`]. Only then is the message moved from the composer into the
//! transcript and sent. A refusal leaves the message in the composer and puts a live
//! countdown on the status line ("rate limit 20/1h reached — next slot in 12m03s"); a limiter
//! that fails refuses too (never "no limit").

use std::time::{Duration, Instant};

use super::{Effect, Model, Status, StatusTone};
use crate::limit::{Admission, LimitConfig, QuotaStatus, RefusalReason, window};

/// What waits for an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingSend {
    /// The composer's message.
    Message,
    /// Ctrl-R: the last user message again.
    Retry,
}

/// A refusal being counted down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    /// When the next slot frees.
    pub until: Instant,
    pub reason: RefusalReason,
}

/// What the limiter said, as the app reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub admission: Admission,
    /// The limiter's clock at the decision (ms since the Unix epoch).
    pub now_ms: u64,
    /// The quota right after the decision, for the panel.
    pub quota: Option<QuotaStatus>,
}

/// The limiter's state as the chat knows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdmissionState {
    /// The limits in force; `None` when no limiter is wired (sends go straight out).
    pub limits: Option<LimitConfig>,
    /// A short description of the limiter for the panel ("sqlite 20/1h").
    pub describe: String,
    /// Waiting for the limiter's answer, and what to do once admitted.
    pub pending: Option<PendingSend>,
    pub refusal: Option<Refusal>,
    /// Last known quota and when it was observed (`Instant` and limiter ms).
    pub quota: Option<(QuotaStatus, Instant, u64)>,
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

    /// Handles the limiter's answer.
    pub(super) fn on_admission(
        &mut self,
        decision: Result<Decision, String>,
        now: Instant,
    ) -> Vec<Effect> {
        let pending = self.admission.pending.take();
        match decision {
            Ok(decision) => {
                if let Some(q) = decision.quota {
                    self.admission.quota = Some((q, now, decision.now_ms));
                }
                match decision.admission {
                    Admission::Admitted { .. } => {
                        self.admission.refusal = None;
                        match pending {
                            Some(PendingSend::Message) => self.dispatch_send(now),
                            Some(PendingSend::Retry) => self.dispatch_retry(now),
                            None => Vec::new(),
                        }
                    }
                    Admission::Refused {
                        retry_at_ms,
                        reason,
                    } => {
                        self.admission.refusal = Some(Refusal {
                            until: instant_of(retry_at_ms, decision.now_ms, now),
                            reason,
                        });
                        self.status = None;
                        Vec::new()
                    }
                }
            }
            Err(message) => {
                self.status = Some(Status {
                    tone: StatusTone::Error,
                    text: format!(
                        "not sent: the rate limiter failed ({}); the message stays here",
                        crate::text::sanitize(&message)
                    ),
                });
                Vec::new()
            }
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
