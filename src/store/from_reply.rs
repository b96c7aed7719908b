//! From the transcript's [`Reply`] to what the database stores.
//!
//! One place decides how a reply's state reads in the database, so the TUI, `ask` and any
//! later caller agree: a finished reply is `complete`/`ok`; a cancelled one `cancelled`; a
//! failure that left partial text is `interrupted` (the text is kept, per the invariants) and
//! one with no text `failed`; the request row keeps the error either way.

use std::time::Duration;

use crate::llm::pricing::{CostView, PriceTable};
use crate::model::{Reply, ReplyState};

use super::{ErrorInfo, MessageState, RateLimitHeaders, RequestOutcome, RequestStatus};

/// The state to store for a reply's message.
pub fn message_state_of(reply: &Reply) -> MessageState {
    match &reply.state {
        ReplyState::Waiting | ReplyState::Streaming => MessageState::Streaming,
        ReplyState::Finished(_) => MessageState::Complete,
        ReplyState::Cancelled => MessageState::Cancelled,
        ReplyState::Failed(_) if reply.text.is_empty() => MessageState::Failed,
        ReplyState::Failed(_) => MessageState::Interrupted,
    }
}

/// The request-log outcome of a reply that has ended, priced with `prices` (the answering
/// model's price when the server named it, else the requested model's).
pub fn outcome_of(reply: &Reply, prices: &PriceTable) -> RequestOutcome {
    let (status, finish_reasons, error) = match &reply.state {
        ReplyState::Waiting | ReplyState::Streaming => (RequestStatus::Pending, Vec::new(), None),
        ReplyState::Finished(reason) => {
            (RequestStatus::Ok, vec![reason.as_str().to_string()], None)
        }
        ReplyState::Cancelled => (RequestStatus::Cancelled, Vec::new(), None),
        ReplyState::Failed(e) => (RequestStatus::Error, Vec::new(), Some(ErrorInfo::from(e))),
    };
    let model = reply
        .answered_model
        .as_deref()
        .filter(|m| prices.lookup(m).is_some())
        .unwrap_or(&reply.requested_model);
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    RequestOutcome {
        status,
        response_model: reply.answered_model.clone(),
        response_id: reply.response_id.clone(),
        provider_request_id: reply.request_id.clone(),
        usage: reply.usage,
        finish_reasons,
        time_to_first_chunk_ms: reply.ttft().map(ms),
        duration_ms: reply
            .ended_at
            .map(|end| ms(end.saturating_duration_since(reply.sent_at))),
        cost: CostView::of(prices, model, &reply.usage),
        error,
        ratelimit_headers: RateLimitHeaders::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::event::RequestId;
    use crate::llm::{LlmError, StopReason, Usage};

    fn reply(state: ReplyState, text: &str) -> Reply {
        let t0 = Instant::now();
        let mut r = Reply::new(RequestId(1), "claude-sonnet-4-5".into(), None, t0);
        r.answered_model = Some("claude-sonnet-4-5-20250929".into());
        r.text = text.into();
        r.state = state;
        r.first_token_at = Some(t0 + Duration::from_millis(400));
        r.ended_at = Some(t0 + Duration::from_millis(2_000));
        r.usage = Usage {
            input_tokens: Some(1_000),
            output_tokens: Some(500),
            ..Usage::default()
        };
        r
    }

    #[test]
    fn finished_reply() {
        let r = reply(ReplyState::Finished(StopReason::EndTurn), "done");
        let o = outcome_of(&r, &PriceTable::builtin());
        assert_eq!(message_state_of(&r), MessageState::Complete);
        assert_eq!(o.status, RequestStatus::Ok);
        assert_eq!(o.finish_reasons, vec!["end_turn"]);
        assert_eq!(o.time_to_first_chunk_ms, Some(400));
        assert_eq!(o.duration_ms, Some(2_000));
        // 1,000 x $3 + 500 x $15 per MTok
        match o.cost {
            CostView::Known(usd) => assert!((usd - 0.0105).abs() < 1e-9, "{usd}"),
            other => panic!("expected a known cost, got {other:?}"),
        }
    }

    #[test]
    fn failure_with_partial_text_is_interrupted_without_text_failed() {
        let e = LlmError::Interrupted;
        let partial = reply(ReplyState::Failed(e.clone()), "half a");
        assert_eq!(message_state_of(&partial), MessageState::Interrupted);
        let o = outcome_of(&partial, &PriceTable::builtin());
        assert_eq!(o.status, RequestStatus::Error);
        assert_eq!(o.error.map(|e| e.error_type), Some("interrupted".into()));
        let empty = reply(ReplyState::Failed(e), "");
        assert_eq!(message_state_of(&empty), MessageState::Failed);
        let cancelled = reply(ReplyState::Cancelled, "x");
        assert_eq!(message_state_of(&cancelled), MessageState::Cancelled);
    }
}
