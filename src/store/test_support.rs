//! Fixtures shared by the store's tests: a store on a fixed clock, a prompt version, a
//! conversation, a request record and a finished outcome.

use super::*;
use crate::llm::Usage;
use crate::llm::pricing::{CostView, PriceTable};

pub(super) fn fixed_clock() -> i64 {
    1_796_341_452_000
}

pub(super) fn store() -> Store {
    Store::open_in_memory()
        .expect("in-memory store")
        .with_clock(fixed_clock)
}

pub(super) fn prompt() -> PromptVersion {
    PromptVersion {
        name: "summarize".into(),
        content_hash: "sha256:0123456789abcdef".into(),
        commit: PromptCommit::Commit("3f2e1d0c9b8a".into()),
    }
}

pub(super) fn conversation(store: &mut Store) -> ConversationId {
    store
        .create_conversation(&NewConversation {
            title: Some("hello".into()),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            prompt: Some(prompt()),
        })
        .expect("conversation")
}

pub(super) fn record(
    conversation: Option<ConversationId>,
    message: Option<MessageId>,
) -> RequestRecord {
    RequestRecord {
        conversation_id: conversation,
        message_id: message,
        attempt: 1,
        started_at_ms: fixed_clock(),
        provider: "anthropic".into(),
        params: RequestParams {
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: Some(0.5),
            variables: Default::default(),
        },
        prompt: Some(prompt()),
        compare_id: None,
    }
}

pub(super) fn ok_outcome() -> RequestOutcome {
    let usage = Usage {
        input_tokens: Some(1_000),
        output_tokens: Some(500),
        cache_creation_input_tokens: Some(2_000),
        cache_read_input_tokens: Some(10_000),
        cache_creation_1h_input_tokens: Some(1_000),
    };
    RequestOutcome {
        status: RequestStatus::Ok,
        response_model: Some("claude-sonnet-4-5-20250929".into()),
        response_id: Some("msg_01".into()),
        provider_request_id: Some("req_01".into()),
        usage,
        finish_reasons: vec!["end_turn".into()],
        time_to_first_chunk_ms: Some(840),
        duration_ms: Some(3_200),
        cost: CostView::of(&PriceTable::builtin(), "claude-sonnet-4-5-20250929", &usage),
        cost_source: Some(crate::llm::pricing::DATASET_LABEL.to_string()),
        output_estimated: false,
        error: None,
        ratelimit_headers: RateLimitHeaders::from_headers([
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("Authorization", "Bearer sk-secret"),
            ("x-api-key", "sk-ant-secret"),
            ("retry-after", "3"),
        ]),
    }
}
