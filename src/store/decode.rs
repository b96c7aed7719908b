//! Row encoding and decoding: the column lists, row readers that check enum and JSON
//! columns, and the small conversions between Rust values and SQLite columns.

use rusqlite::Row;

use super::StoreError;
use crate::llm::Role;
use crate::records::{
    ConversationId, ConversationRow, LogId, MessageId, MessageRow, MessageState, PromptVersion,
    RateLimitHeaders, RequestRow, RequestStatus,
};

macro_rules! request_columns {
    () => {
        "id, conversation_id, message_id, attempt, started_at_ms, status, \
         gen_ai_provider_name, gen_ai_request_model, gen_ai_request_max_tokens, \
         gen_ai_request_temperature, gen_ai_response_model, gen_ai_response_id, \
         gen_ai_usage_input_tokens, gen_ai_usage_output_tokens, \
         gen_ai_usage_cache_read_input_tokens, gen_ai_usage_cache_creation_input_tokens, \
         usage_cache_creation_1h_input_tokens, gen_ai_response_finish_reasons, \
         time_to_first_chunk_ms, duration_ms, provider_request_id, prompt_name, prompt_hash, \
         prompt_commit, request_params_json, cost_usd, cost_kind, cost_source, error_type, \
         error_message, retry_count, ratelimit_headers_json, output_tokens_estimated, compare_id"
    };
}

macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, role, content, state, created_at_ms, updated_at_ms, request_id"
    };
}

macro_rules! conversation_columns {
    () => {
        "id, created_at_ms, COALESCE(updated_at_ms, created_at_ms) AS updated_at_ms, title, \
         provider, model, prompt_name, prompt_hash, prompt_commit"
    };
}

pub(super) use {conversation_columns, message_columns, request_columns};

pub(super) fn headers_json(headers: &RateLimitHeaders) -> Result<Option<String>, StoreError> {
    if headers.is_empty() {
        Ok(None)
    } else {
        Ok(Some(serde_json::to_string(headers)?))
    }
}

pub(super) fn prompt_columns(
    p: Option<&PromptVersion>,
) -> (Option<&str>, Option<&str>, Option<&str>) {
    match p {
        Some(p) => (
            Some(p.name.as_str()),
            Some(p.content_hash.as_str()),
            Some(p.commit.as_str()),
        ),
        None => (None, None, None),
    }
}

/// SQLite integers are i64; token counts beyond that are clamped (they cannot happen).
pub(super) fn to_sql_u64(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

pub(super) fn from_sql_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

pub(super) fn role_str(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

pub(super) fn parse_role(s: &str) -> Result<Role, StoreError> {
    match s {
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        other => Err(StoreError::Corrupt(format!("message role {other:?}"))),
    }
}

pub(super) fn read_conversation(r: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: ConversationId(r.get("id")?),
        created_at_ms: r.get("created_at_ms")?,
        updated_at_ms: r.get("updated_at_ms")?,
        title: r.get("title")?,
        provider: r.get("provider")?,
        model: r.get("model")?,
        prompt: PromptVersion::from_columns(
            r.get("prompt_name")?,
            r.get("prompt_hash")?,
            r.get("prompt_commit")?,
        ),
    })
}

/// A message row before its enum columns are checked.
pub(super) struct RawMessage {
    id: i64,
    conversation_id: i64,
    seq: i64,
    role: String,
    content: String,
    state: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    request_id: Option<i64>,
}

impl RawMessage {
    pub(super) fn into_row(self) -> Result<MessageRow, StoreError> {
        Ok(MessageRow {
            id: MessageId(self.id),
            conversation_id: ConversationId(self.conversation_id),
            seq: self.seq,
            role: parse_role(&self.role)?,
            content: self.content,
            state: MessageState::parse(&self.state)?,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            request_id: self.request_id.map(LogId),
        })
    }
}

pub(super) fn read_message_raw(r: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: r.get("id")?,
        conversation_id: r.get("conversation_id")?,
        seq: r.get("seq")?,
        role: r.get("role")?,
        content: r.get("content")?,
        state: r.get("state")?,
        created_at_ms: r.get("created_at_ms")?,
        updated_at_ms: r.get("updated_at_ms")?,
        request_id: r.get("request_id")?,
    })
}

/// A request row before its JSON and enum columns are decoded.
pub(super) struct RawRequest {
    row: RequestRow,
    status: String,
    finish_reasons: Option<String>,
    params: String,
    headers: Option<String>,
}

pub(super) fn read_request_raw(r: &Row<'_>) -> rusqlite::Result<RawRequest> {
    let u32_col = |name: &str| -> rusqlite::Result<Option<u32>> {
        Ok(r.get::<_, Option<i64>>(name)?
            .and_then(|v| u32::try_from(v).ok()))
    };
    let u64_col = |name: &str| -> rusqlite::Result<Option<u64>> {
        Ok(from_sql_u64(r.get::<_, Option<i64>>(name)?))
    };
    Ok(RawRequest {
        status: r.get("status")?,
        finish_reasons: r.get("gen_ai_response_finish_reasons")?,
        params: r.get("request_params_json")?,
        headers: r.get("ratelimit_headers_json")?,
        row: RequestRow {
            id: LogId(r.get("id")?),
            conversation_id: r
                .get::<_, Option<i64>>("conversation_id")?
                .map(ConversationId),
            message_id: r.get::<_, Option<i64>>("message_id")?.map(MessageId),
            attempt: u32_col("attempt")?.unwrap_or(1),
            started_at_ms: r.get("started_at_ms")?,
            status: RequestStatus::Pending,
            gen_ai_provider_name: r.get("gen_ai_provider_name")?,
            gen_ai_request_model: r.get("gen_ai_request_model")?,
            gen_ai_request_max_tokens: u32_col("gen_ai_request_max_tokens")?,
            gen_ai_request_temperature: r.get("gen_ai_request_temperature")?,
            gen_ai_response_model: r.get("gen_ai_response_model")?,
            gen_ai_response_id: r.get("gen_ai_response_id")?,
            gen_ai_usage_input_tokens: u64_col("gen_ai_usage_input_tokens")?,
            gen_ai_usage_output_tokens: u64_col("gen_ai_usage_output_tokens")?,
            gen_ai_usage_cache_read_input_tokens: u64_col("gen_ai_usage_cache_read_input_tokens")?,
            gen_ai_usage_cache_creation_input_tokens: u64_col(
                "gen_ai_usage_cache_creation_input_tokens",
            )?,
            usage_cache_creation_1h_input_tokens: u64_col("usage_cache_creation_1h_input_tokens")?,
            gen_ai_response_finish_reasons: Vec::new(),
            time_to_first_chunk_ms: r.get("time_to_first_chunk_ms")?,
            duration_ms: r.get("duration_ms")?,
            provider_request_id: r.get("provider_request_id")?,
            prompt: PromptVersion::from_columns(
                r.get("prompt_name")?,
                r.get("prompt_hash")?,
                r.get("prompt_commit")?,
            ),
            request_params: None,
            cost_usd: r.get("cost_usd")?,
            cost_kind: r.get("cost_kind")?,
            cost_source: r.get("cost_source")?,
            output_estimated: r.get("output_tokens_estimated")?,
            compare_id: r.get("compare_id")?,
            error_type: r.get("error_type")?,
            error_message: r.get("error_message")?,
            retry_count: u32_col("retry_count")?.unwrap_or(0),
            ratelimit_headers: RateLimitHeaders::default(),
        },
    })
}

impl RawRequest {
    pub(super) fn into_row(self) -> Result<RequestRow, StoreError> {
        let mut row = self.row;
        row.status = RequestStatus::parse(&self.status)?;
        if let Some(reasons) = self.finish_reasons {
            row.gen_ai_response_finish_reasons = serde_json::from_str(&reasons)
                .map_err(|e| StoreError::Corrupt(format!("finish reasons: {e}")))?;
        }
        // Parameters are informational: an unreadable value shows as absent, not as an error.
        row.request_params = serde_json::from_str(&self.params).ok();
        if let Some(headers) = self.headers {
            row.ratelimit_headers = serde_json::from_str(&headers).unwrap_or_default();
        }
        Ok(row)
    }
}
