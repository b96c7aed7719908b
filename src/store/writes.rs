//! Writes: conversations, messages (stored before sending, checkpointed while streaming),
//! request attempts from sending to their outcome, and prompt texts.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::decode::{headers_json, prompt_columns, role_str, to_sql_u64};
use super::{Store, StoreError};
use crate::records::{
    ConversationId, LogId, MessageId, MessageState, NewConversation, NewMessage, RequestOutcome,
    RequestRecord, ResponseStart,
};

impl Store {
    /// Creates a conversation.
    pub fn create_conversation(
        &mut self,
        new: &NewConversation,
    ) -> Result<ConversationId, StoreError> {
        let now = (self.clock)();
        let (name, hash, commit) = prompt_columns(new.prompt.as_ref());
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (created_at_ms, updated_at_ms, title, provider, model, \
                 prompt_name, prompt_hash, prompt_commit) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                now,
                new.title,
                new.provider,
                new.model,
                name,
                hash,
                commit
            ])?;
        Ok(ConversationId(self.conn.last_insert_rowid()))
    }

    /// Stores a message at the end of its conversation. Store a user message with this
    /// *before* sending it.
    pub fn insert_message(&mut self, new: &NewMessage) -> Result<MessageId, StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms, \
             updated_at_ms, request_id, writer) VALUES (?1, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?1), \
             ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        )?
        .execute(params![
            new.conversation_id.0,
            role_str(new.role),
            new.content,
            new.state.as_str(),
            now,
            new.request_id.map(|r| r.0),
            self.writer,
        ])?;
        let id = tx.last_insert_rowid();
        touch_conversation(&tx, new.conversation_id.0, now)?;
        tx.commit()?;
        Ok(MessageId(id))
    }

    /// Replaces a message's text and state (a streaming checkpoint, or the final write).
    pub fn checkpoint_message(
        &mut self,
        id: MessageId,
        content: &str,
        state: MessageState,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let conversation: Option<i64> = tx
            .prepare_cached(
                "UPDATE messages SET content = ?2, state = ?3, updated_at_ms = ?4, writer = ?5 \
                 WHERE id = ?1 RETURNING conversation_id",
            )?
            .query_row(
                params![id.0, content, state.as_str(), now, self.writer],
                |r| r.get(0),
            )
            .optional()?;
        let Some(conversation) = conversation else {
            return Err(StoreError::NotFound {
                what: "message",
                id: id.0,
            });
        };
        touch_conversation(&tx, conversation, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Links a reply to the request attempt producing it (e.g. after a retry).
    pub fn attach_request(&mut self, message: MessageId, request: LogId) -> Result<(), StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE messages SET request_id = ?2 WHERE id = ?1")?
            .execute(params![message.0, request.0])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "message",
                id: message.0,
            });
        }
        Ok(())
    }

    /// Logs a request attempt as it is sent (`status = pending`).
    pub fn insert_request(&mut self, record: &RequestRecord) -> Result<LogId, StoreError> {
        let (name, hash, commit) = prompt_columns(record.prompt.as_ref());
        let params_json = serde_json::to_string(&record.params)?;
        self.conn
            .prepare_cached(
                "INSERT INTO requests (conversation_id, message_id, attempt, started_at_ms, \
                 status, gen_ai_provider_name, gen_ai_request_model, gen_ai_request_max_tokens, \
                 gen_ai_request_temperature, prompt_name, prompt_hash, prompt_commit, \
                 request_params_json, retry_count, writer, compare_id) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
                 ?15)",
            )?
            .execute(params![
                record.conversation_id.map(|c| c.0),
                record.message_id.map(|m| m.0),
                record.attempt,
                record.started_at_ms,
                record.provider,
                record.params.model,
                record.params.max_tokens,
                record.params.temperature.map(f64::from),
                name,
                hash,
                commit,
                params_json,
                record.attempt.saturating_sub(1),
                self.writer,
                record.compare_id,
            ])?;
        let id = LogId(self.conn.last_insert_rowid());
        // A conversation shows (and resumes with) the prompt version it last used.
        if let (Some(conversation), Some(_)) = (record.conversation_id, &record.prompt) {
            self.conn
                .prepare_cached(
                    "UPDATE conversations SET prompt_name = ?2, prompt_hash = ?3, \
                     prompt_commit = ?4 WHERE id = ?1",
                )?
                .execute(params![conversation.0, name, hash, commit])?;
        }
        Ok(id)
    }

    /// Records what the server said when the reply began.
    pub fn record_response_start(
        &mut self,
        id: LogId,
        start: &ResponseStart,
    ) -> Result<(), StoreError> {
        let headers = headers_json(&start.ratelimit_headers)?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE requests SET \
                 gen_ai_response_model = COALESCE(?2, gen_ai_response_model), \
                 gen_ai_response_id = COALESCE(?3, gen_ai_response_id), \
                 provider_request_id = COALESCE(?4, provider_request_id), \
                 time_to_first_chunk_ms = COALESCE(?5, time_to_first_chunk_ms), \
                 ratelimit_headers_json = COALESCE(?6, ratelimit_headers_json) \
                 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                start.response_model,
                start.response_id,
                start.provider_request_id,
                start.time_to_first_chunk_ms,
                headers,
            ])?;
        not_found_if_zero(n, "request", id.0)
    }

    /// Records how a request attempt ended.
    pub fn finish_request(
        &mut self,
        id: LogId,
        outcome: &RequestOutcome,
    ) -> Result<(), StoreError> {
        let headers = headers_json(&outcome.ratelimit_headers)?;
        let reasons = serde_json::to_string(&outcome.finish_reasons)?;
        let u = &outcome.usage;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE requests SET status = ?2, \
                 gen_ai_response_model = COALESCE(?3, gen_ai_response_model), \
                 gen_ai_response_id = COALESCE(?4, gen_ai_response_id), \
                 provider_request_id = COALESCE(?5, provider_request_id), \
                 gen_ai_usage_input_tokens = ?6, gen_ai_usage_output_tokens = ?7, \
                 gen_ai_usage_cache_read_input_tokens = ?8, \
                 gen_ai_usage_cache_creation_input_tokens = ?9, \
                 usage_cache_creation_1h_input_tokens = ?10, \
                 gen_ai_response_finish_reasons = ?11, \
                 time_to_first_chunk_ms = COALESCE(?12, time_to_first_chunk_ms), \
                 duration_ms = ?13, cost_usd = ?14, cost_kind = ?15, error_type = ?16, \
                 error_message = ?17, \
                 ratelimit_headers_json = COALESCE(?18, ratelimit_headers_json), \
                 cost_source = ?19, output_tokens_estimated = ?20 \
                 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                outcome.status.as_str(),
                outcome.response_model,
                outcome.response_id,
                outcome.provider_request_id,
                to_sql_u64(u.input_tokens),
                to_sql_u64(u.output_tokens),
                to_sql_u64(u.cache_read_input_tokens),
                to_sql_u64(u.cache_creation_input_tokens),
                to_sql_u64(u.cache_creation_1h_input_tokens),
                reasons,
                outcome.time_to_first_chunk_ms,
                outcome.duration_ms,
                outcome.cost.usd(),
                outcome.cost.kind(),
                outcome.error.as_ref().map(|e| e.error_type.as_str()),
                outcome.error.as_ref().map(|e| e.message.as_str()),
                headers,
                outcome.cost_source,
                outcome.output_estimated,
            ])?;
        not_found_if_zero(n, "request", id.0)
    }

    /// Keeps the exact text of a prompt version (once per content hash).
    pub fn save_prompt_text(
        &mut self,
        content_hash: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO prompt_texts (content_hash, name, text, first_seen_at_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![content_hash, name, text, now])?;
        Ok(())
    }
}

fn touch_conversation(tx: &Connection, conversation: i64, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE conversations SET updated_at_ms = ?2 WHERE id = ?1")?
        .execute(params![conversation, now])?;
    Ok(())
}

fn not_found_if_zero(n: usize, what: &'static str, id: i64) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound { what, id })
    } else {
        Ok(())
    }
}
