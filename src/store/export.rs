//! `promptdeck export CONVERSATION --format md|jsonl`.
//!
//! Markdown is for reading and sharing: a heading per message with who said it and, for
//! replies, the model, tokens, cost and state (an interrupted reply says so). JSONL is for
//! scripts and evaluation pipelines: one object per message, with the request's model, usage,
//! cost and prompt provenance on replies. Neither form can contain a key: the database never
//! holds one (request parameters are model, max_tokens and temperature only). Markdown text is
//! stripped of terminal control sequences because it is often printed straight to a terminal;
//! JSON escapes them by itself.

use serde::Serialize;

use crate::llm::Role;
use crate::text;

use super::report::{format_ms, format_utc_ms};
use super::{
    ConversationMessage, ConversationWithMessages, MessageState, PromptVersion, RateLimitHeaders,
    RequestRow, StoreError,
};

/// The conversation as Markdown.
pub fn export_markdown(conversation: &ConversationWithMessages) -> String {
    let c = &conversation.conversation;
    let clean = |s: &str| text::sanitize(s);
    let mut out = String::new();
    let title = c
        .title
        .as_deref()
        .map_or_else(|| format!("Conversation {}", c.id.0), clean);
    out.push_str(&format!("# {}\n\n", title.replace('\n', " ")));
    out.push_str(&format!(
        "- Conversation: {} · started {} UTC\n",
        c.id.0,
        format_utc_ms(c.created_at_ms)
    ));
    out.push_str(&format!(
        "- Model: {} ({})\n",
        clean(&c.model),
        clean(&c.provider)
    ));
    out.push_str(&format!(
        "- Prompt: {}\n",
        c.prompt
            .as_ref()
            .map_or("none".to_string(), |p| clean(&p.reference()))
    ));
    for ConversationMessage { message, request } in &conversation.messages {
        let mut heading = match message.role {
            Role::User => "User".to_string(),
            Role::Assistant => "Assistant".to_string(),
        };
        if let Some(r) = request {
            heading.push_str(&format!(" · {}", clean(r.model())));
            if let Some(p) = &r.prompt {
                heading.push_str(&format!(" · {}", clean(&p.reference())));
            }
            if r.gen_ai_usage_input_tokens.is_some() || r.gen_ai_usage_output_tokens.is_some() {
                heading.push_str(&format!(
                    " · {} in / {} out",
                    r.gen_ai_usage_input_tokens
                        .map_or("-".to_string(), |n| n.to_string()),
                    super::report::format_output(r)
                ));
            }
            // A request that never finished (a crash) was never priced: say nothing rather
            // than "price unknown".
            if r.cost_kind.is_some() {
                heading.push_str(&format!(" · {}", r.cost()));
            }
            if r.duration_ms.is_some() {
                heading.push_str(&format!(" · {}", format_ms(r.duration_ms)));
            }
        }
        match message.state {
            MessageState::Complete => {}
            MessageState::Streaming => heading.push_str(" · (still streaming)"),
            MessageState::Interrupted => heading.push_str(" · (interrupted)"),
            MessageState::Cancelled => heading.push_str(" · (cancelled)"),
            MessageState::Failed => heading.push_str(" · (failed)"),
        }
        out.push_str(&format!(
            "\n## {heading}\n\n_{} UTC_\n\n",
            format_utc_ms(message.created_at_ms)
        ));
        let body = clean(&message.content);
        if body.trim().is_empty() {
            out.push_str("_(no text)_\n");
        } else {
            out.push_str(body.trim_end());
            out.push('\n');
        }
        if let Some(error) = request.as_ref().and_then(|r| r.error_message.as_deref()) {
            out.push_str(&format!("\n> error: {}\n", clean(error).replace('\n', " ")));
        }
    }
    out
}

/// One JSON line per message.
#[derive(Debug, Serialize)]
struct JsonlMessage<'a> {
    conversation_id: i64,
    seq: i64,
    role: Role,
    content: &'a str,
    state: MessageState,
    created_at_ms: i64,
    updated_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<JsonlRequest<'a>>,
}

/// The provenance of a reply.
#[derive(Debug, Serialize)]
struct JsonlRequest<'a> {
    provider: &'a str,
    request_model: &'a str,
    response_model: Option<&'a str>,
    response_id: Option<&'a str>,
    provider_request_id: Option<&'a str>,
    attempt: u32,
    status: super::RequestStatus,
    usage: crate::llm::Usage,
    cost_usd: Option<f64>,
    cost_kind: Option<&'a str>,
    finish_reasons: &'a [String],
    time_to_first_chunk_ms: Option<i64>,
    duration_ms: Option<i64>,
    prompt: Option<&'a PromptVersion>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    error_type: Option<&'a str>,
    error_message: Option<&'a str>,
    #[serde(skip_serializing_if = "RateLimitHeaders::is_empty")]
    ratelimit_headers: &'a RateLimitHeaders,
}

impl<'a> JsonlRequest<'a> {
    fn of(r: &'a RequestRow) -> JsonlRequest<'a> {
        JsonlRequest {
            provider: &r.gen_ai_provider_name,
            request_model: &r.gen_ai_request_model,
            response_model: r.gen_ai_response_model.as_deref(),
            response_id: r.gen_ai_response_id.as_deref(),
            provider_request_id: r.provider_request_id.as_deref(),
            attempt: r.attempt,
            status: r.status,
            usage: r.usage(),
            cost_usd: r.cost_usd,
            cost_kind: r.cost_kind.as_deref(),
            finish_reasons: &r.gen_ai_response_finish_reasons,
            time_to_first_chunk_ms: r.time_to_first_chunk_ms,
            duration_ms: r.duration_ms,
            prompt: r.prompt.as_ref(),
            max_tokens: r.gen_ai_request_max_tokens,
            temperature: r.gen_ai_request_temperature,
            error_type: r.error_type.as_deref(),
            error_message: r.error_message.as_deref(),
            ratelimit_headers: &r.ratelimit_headers,
        }
    }
}

/// The conversation as JSON Lines: one object per message (role, content, state, timestamps;
/// for replies the request's model, usage, cost and prompt provenance).
pub fn export_jsonl(conversation: &ConversationWithMessages) -> Result<String, StoreError> {
    let mut out = String::new();
    for ConversationMessage { message, request } in &conversation.messages {
        let line = JsonlMessage {
            conversation_id: message.conversation_id.0,
            seq: message.seq,
            role: message.role,
            content: &message.content,
            state: message.state,
            created_at_ms: message.created_at_ms,
            updated_at_ms: message.updated_at_ms,
            request: request.as_ref().map(JsonlRequest::of),
        };
        out.push_str(&text::json_terminal_safe(serde_json::to_string(&line)?));
        out.push('\n');
    }
    Ok(out)
}
