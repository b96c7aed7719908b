//! The built-in offline `demo` provider.
//!
//! It exists so that a new user, with no API key and no network, can try every screen of
//! promptdeck: it streams a deterministic reply at a realistic pace (a first-token delay, then
//! one small chunk every few tens of milliseconds), reports token counts, and costs nothing.
//! Everything it says is labelled "demo — not a model" by the UI and by `ask`.

use std::time::Duration;

use futures_util::stream;

use super::{
    ChatRequest, EventStream, Provider, Role, StopReason, StreamEvent, Usage, estimate_tokens,
};

/// The label shown wherever demo output appears.
pub const DEMO_LABEL: &str = "demo — not a model";

/// The model name the demo provider reports.
pub const DEMO_MODEL: &str = "demo";

/// The offline demo provider.
#[derive(Debug, Clone)]
pub struct DemoProvider {
    first_token: Duration,
    per_chunk: Duration,
}

impl Default for DemoProvider {
    fn default() -> Self {
        DemoProvider {
            first_token: Duration::from_millis(350),
            per_chunk: Duration::from_millis(18),
        }
    }
}

impl DemoProvider {
    /// A demo provider with a custom pace (tests use zero delays or paused time).
    pub fn with_pace(first_token: Duration, per_chunk: Duration) -> Self {
        DemoProvider {
            first_token,
            per_chunk,
        }
    }
}

/// The deterministic reply for a request.
pub fn demo_reply(request: &ChatRequest) -> String {
    let last = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
        .unwrap_or("");
    let words = last.split_whitespace().count();
    let chars = last.chars().count();
    let turn = request
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .count();
    let system = match &request.system {
        Some(s) if !s.trim().is_empty() => format!(
            "a system prompt of {} characters, starting \"{}\"",
            s.chars().count(),
            s.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect::<String>()
        ),
        _ => "no system prompt".to_string(),
    };
    let first_line: String = last.lines().next().unwrap_or("").chars().take(60).collect();
    format!(
        "This is promptdeck's offline **demo** provider: no model was called and nothing left \
         this machine.\n\n\
         You sent message {turn} of this chat: {words} words, {chars} characters, beginning \
         \"{first_line}\". The request carried {system}.\n\n\
         With a real provider configured, this pane streams the model's reply token by token, \
         just as this text arrives now. Try:\n\n\
         - `Esc` while a reply streams, to cancel it and keep the partial text;\n\
         - `PgUp` / `PgDn` and `Home` / `End`, to scroll the transcript;\n\
         - `Ctrl-J` or `Alt-Enter`, to put a newline in your message;\n\
         - `Ctrl-P` to pick a prompt version, `Ctrl-T` for the usage panel, `F2` for the \
         request log.\n\n\
         ```text\nexport ANTHROPIC_API_KEY=...   # or OPENAI_API_KEY / OPENAI_BASE_URL\n```\n\n\
         Token counts for the demo are estimates (4 bytes per token); its cost is always $0.",
    )
}

/// Splits text into small chunks the way a model streams it: a word with its trailing space.
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' || ch == '\n' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl Provider for DemoProvider {
    fn name(&self) -> &'static str {
        "demo"
    }

    fn label(&self) -> Option<&'static str> {
        Some(DEMO_LABEL)
    }

    /// The demo answers to one name: switching models works, and says so.
    fn list_models(&self) -> super::models::ModelListFuture {
        Box::pin(async { Ok(vec![DEMO_MODEL.to_string()]) })
    }

    fn stream(&self, request: ChatRequest) -> EventStream {
        let input_text: usize = request.system.as_deref().map_or(0, str::len)
            + request
                .messages
                .iter()
                .map(|m| m.content.len())
                .sum::<usize>();
        let input_tokens = (input_text as u64).div_ceil(4);
        let reply = demo_reply(&request);
        let mut events = vec![
            StreamEvent::Started {
                model: Some(DEMO_MODEL.to_string()),
                response_id: None,
                request_id: None,
            },
            StreamEvent::Usage(Usage {
                input_tokens: Some(input_tokens),
                output_tokens: Some(0),
                cache_creation_input_tokens: Some(0),
                cache_read_input_tokens: Some(0),
                cache_creation_1h_input_tokens: None,
            }),
        ];
        let pieces = chunks(&reply);
        let mut emitted = String::new();
        for piece in pieces {
            emitted.push_str(&piece);
            events.push(StreamEvent::TextDelta(piece));
        }
        events.push(StreamEvent::Usage(Usage {
            output_tokens: Some(estimate_tokens(&emitted)),
            ..Usage::default()
        }));
        events.push(StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        });
        let (first, per) = (self.first_token, self.per_chunk);
        let state = (events.into_iter(), 0usize);
        Box::pin(stream::unfold(state, move |(mut it, n)| async move {
            let event = it.next()?;
            let delay = match (&event, n) {
                (StreamEvent::TextDelta(_), 0) => first,
                (StreamEvent::TextDelta(_), _) => per,
                _ => Duration::ZERO,
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let n = if matches!(event, StreamEvent::TextDelta(_)) {
                n + 1
            } else {
                n
            };
            Some((Ok(event), (it, n)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::llm::Message;

    fn request(text: &str) -> ChatRequest {
        ChatRequest {
            model: DEMO_MODEL.into(),
            system: None,
            messages: vec![Message {
                role: Role::User,
                content: text.into(),
            }],
            max_tokens: 1024,
            temperature: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn streams_the_deterministic_reply_with_usage_and_pacing() {
        let provider = DemoProvider::default();
        let start = tokio::time::Instant::now();
        let events: Vec<_> = provider.stream(request("hello there")).collect().await;
        let elapsed = start.elapsed();
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                Ok(StreamEvent::TextDelta(t)) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, demo_reply(&request("hello there")));
        let deltas = events
            .iter()
            .filter(|e| matches!(e, Ok(StreamEvent::TextDelta(_))))
            .count() as u32;
        assert!(deltas > 50, "the reply streams in many small chunks");
        assert_eq!(
            elapsed,
            Duration::from_millis(350) + Duration::from_millis(18) * (deltas - 1)
        );
        assert_eq!(
            events.last(),
            Some(&Ok(StreamEvent::Finished {
                stop_reason: StopReason::EndTurn
            }))
        );
        let mut usage = Usage::default();
        for e in events.iter().flatten() {
            if let StreamEvent::Usage(u) = e {
                usage.merge(*u);
            }
        }
        assert_eq!(usage.input_tokens, Some(3));
        assert_eq!(usage.output_tokens, Some(estimate_tokens(&text)));
    }
}
