//! A scripted [`Provider`] for unit tests of the request path (the pump, `ask`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;

use crate::llm::{ChatRequest, EventStream, LlmError, Provider, StreamEvent};

/// A one-message request for `message`.
pub(crate) fn request(message: &str) -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: None,
        messages: vec![crate::llm::Message {
            role: crate::llm::Role::User,
            content: message.into(),
        }],
        max_tokens: 100,
        temperature: None,
    }
}

/// A finished reply saying `text`, with usage.
pub(crate) fn answer(text: &str) -> Vec<Result<StreamEvent, LlmError>> {
    vec![
        Ok(StreamEvent::TextDelta(text.into())),
        Ok(StreamEvent::Usage(crate::llm::Usage {
            input_tokens: Some(3),
            output_tokens: Some(2),
            ..crate::llm::Usage::default()
        })),
        Ok(StreamEvent::Finished {
            stop_reason: crate::llm::StopReason::EndTurn,
        }),
    ]
}

/// A provider answering each request with the next scripted list of events; with
/// `hang`, each stream then stays open without sending anything more.
pub(crate) struct Scripted {
    script: Mutex<VecDeque<Vec<Result<StreamEvent, LlmError>>>>,
    hang: bool,
}

impl Scripted {
    pub(crate) fn new(script: Vec<Vec<Result<StreamEvent, LlmError>>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            script: Mutex::new(script.into()),
            hang: false,
        })
    }

    pub(crate) fn hanging(script: Vec<Vec<Result<StreamEvent, LlmError>>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            script: Mutex::new(script.into()),
            hang: true,
        })
    }

    /// Scripted answers not requested yet.
    pub(crate) fn left(&self) -> usize {
        self.script.lock().unwrap().len()
    }
}

impl Provider for Scripted {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn stream(&self, _request: ChatRequest) -> EventStream {
        let events = self.script.lock().unwrap().pop_front().unwrap_or_default();
        let events = futures_util::stream::iter(events);
        if self.hang {
            Box::pin(events.chain(futures_util::stream::pending()))
        } else {
            Box::pin(events)
        }
    }
}

/// The spec of a new conversation's first message `message`, without a prompt.
pub(crate) fn spec(message: &str) -> super::RequestSpec {
    super::RequestSpec {
        request: request(message),
        prompt: None,
        prompt_text: None,
        variables: Default::default(),
        conversation: None,
        user_text: Some(message.into()),
        store_even_if_refused: false,
        compare_id: None,
    }
}

/// A pump for `provider` with fast retries, the built-in prices, and `limiter` and `store`.
pub(crate) fn pump(
    provider: Arc<dyn Provider>,
    limiter: Option<crate::limit::Limiter>,
    store: Option<crate::store::StoreHandle>,
) -> super::Pump {
    super::Pump {
        provider,
        policy: Arc::new(crate::llm::retry::RetryPolicy {
            base_delay: std::time::Duration::from_millis(1),
            ..crate::llm::retry::RetryPolicy::default()
        }),
        store,
        limiter,
        prices: Arc::new(crate::llm::pricing::PriceTable::builtin()),
        shutting_down: Arc::default(),
    }
}
