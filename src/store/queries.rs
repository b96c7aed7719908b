//! Reads: the request log, conversations and their messages, and stored prompt texts.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::decode::{
    RawMessage, RawRequest, conversation_columns, message_columns, read_conversation,
    read_message_raw, read_request_raw, request_columns,
};
use super::{Store, StoreError};
use crate::records::{
    ConversationId, ConversationMessage, ConversationRow, ConversationWithMessages, LogId,
    MessageRow, RequestContext, RequestFilter, RequestRow,
};

impl Store {
    /// The newest log rows matching `filter`, newest first.
    pub fn recent_requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>, StoreError> {
        self.requests_matching(filter, None)
    }

    /// [`Store::recent_requests`] made with one prompt version: the prompt text whose content
    /// hash (full, lowercase hex) is `content_hash` (`log --prompt NAME@REV`).
    pub fn recent_requests_of_version(
        &self,
        filter: &RequestFilter,
        content_hash: &str,
    ) -> Result<Vec<RequestRow>, StoreError> {
        self.requests_matching(filter, Some(content_hash))
    }

    fn requests_matching(
        &self,
        filter: &RequestFilter,
        content_hash: Option<&str>,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            request_columns!(),
            " FROM requests WHERE (?1 IS NULL OR prompt_name = ?1) \
             AND (?3 IS NULL OR compare_id = ?3) \
             AND (?4 IS NULL OR prompt_hash = ?4) \
             ORDER BY started_at_ms DESC, id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(
                params![filter.prompt_name, limit, filter.compare_id, content_hash],
                read_request_raw,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(RawRequest::into_row).collect()
    }

    /// One log row.
    pub fn request(&self, id: LogId) -> Result<RequestRow, StoreError> {
        let raw = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests WHERE id = ?1"
            ))?
            .query_row(params![id.0], read_request_raw)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "request",
                id: id.0,
            })?;
        raw.into_row()
    }

    /// What log row `id` sent and got back, for the inspector: its prompt version's stored
    /// text, the conversation's messages up to and including the user message it answers,
    /// and the reply linked to it. Reads only that conversation's rows up to the request
    /// (by the `(conversation_id, seq)` index), never the later ones or their request rows.
    pub fn request_context(&self, id: LogId) -> Result<RequestContext, StoreError> {
        let row = self.request(id)?;
        let prompt_text = match &row.prompt {
            Some(p) => self.prompt_text(&p.content_hash)?,
            None => None,
        };
        let Some(conversation) = row.conversation_id else {
            return Ok(RequestContext {
                prompt_text,
                messages: Vec::new(),
                reply: None,
            });
        };
        let messages: Vec<RawMessage> = match row.message_id {
            Some(user) => self
                .conn
                .prepare_cached(concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE conversation_id = ?1 \
                     AND seq <= (SELECT seq FROM messages WHERE id = ?2 AND conversation_id = ?1) \
                     ORDER BY seq"
                ))?
                .query_map(params![conversation.0, user.0], read_message_raw)?
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let reply: Option<RawMessage> = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = ?1 AND request_id = ?2 \
                 ORDER BY seq LIMIT 1"
            ))?
            .query_row(params![conversation.0, row.id.0], read_message_raw)
            .optional()?;
        Ok(RequestContext {
            prompt_text,
            messages: messages
                .into_iter()
                .map(RawMessage::into_row)
                .collect::<Result<Vec<MessageRow>, _>>()?,
            reply: reply.map(RawMessage::into_row).transpose()?,
        })
    }

    /// The most recently active conversations, newest first.
    pub fn list_conversations(&self, limit: usize) -> Result<Vec<ConversationRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations ORDER BY COALESCE(updated_at_ms, created_at_ms) DESC, id DESC \
             LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map(params![limit], read_conversation)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A conversation with its messages (oldest first) and each reply's request row.
    pub fn load_conversation(
        &self,
        id: ConversationId,
    ) -> Result<ConversationWithMessages, StoreError> {
        let conversation = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE id = ?1"
            ))?
            .query_row(params![id.0], read_conversation)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "conversation",
                id: id.0,
            })?;
        let raw: Vec<RawMessage> = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = ?1 ORDER BY seq"
            ))?
            .query_map(params![id.0], read_message_raw)?
            .collect::<Result<_, _>>()?;
        let mut messages = Vec::with_capacity(raw.len());
        for m in raw {
            let message = m.into_row()?;
            let request = match message.request_id {
                Some(r) => Some(self.request(r)?),
                None => None,
            };
            messages.push(ConversationMessage { message, request });
        }
        // The texts of the prompt versions the conversation used, for `--resume`.
        let mut prompt_texts = BTreeMap::new();
        let hashes = conversation
            .prompt
            .iter()
            .chain(
                messages
                    .iter()
                    .filter_map(|m| m.request.as_ref()?.prompt.as_ref()),
            )
            .map(|p| p.content_hash.clone())
            .collect::<Vec<_>>();
        for hash in hashes {
            if let Some(text) = self.prompt_text(&hash)? {
                prompt_texts.insert(hash, text);
            }
        }
        Ok(ConversationWithMessages {
            conversation,
            messages,
            prompt_texts,
        })
    }

    /// The compare run conversation `id` was last a lane of, with every lane's conversation
    /// in the order their first requests were logged; `None` outside a compare.
    pub fn compare_lanes(
        &self,
        id: ConversationId,
    ) -> Result<Option<(String, Vec<ConversationId>)>, StoreError> {
        let compare_id: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT compare_id FROM requests WHERE conversation_id = ?1 \
                 AND compare_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![id.0], |r| r.get(0))
            .optional()?;
        let Some(compare_id) = compare_id else {
            return Ok(None);
        };
        let lanes = self.compare_conversations(&compare_id)?;
        Ok(Some((compare_id, lanes)))
    }

    /// The conversations of compare run `compare_id` (its lanes), in the order their first
    /// requests were logged.
    pub fn compare_conversations(
        &self,
        compare_id: &str,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let lanes = self
            .conn
            .prepare_cached(
                "SELECT conversation_id FROM requests WHERE compare_id = ?1 \
                 AND conversation_id IS NOT NULL GROUP BY conversation_id ORDER BY MIN(id)",
            )?
            .query_map(params![compare_id], |r| r.get::<_, i64>(0))?
            .map(|r| r.map(ConversationId))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lanes)
    }

    /// The text of the prompt version with this content hash, if it was ever used.
    pub fn prompt_text(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT text FROM prompt_texts WHERE content_hash = ?1")?
            .query_row(params![content_hash], |row| row.get(0))
            .optional()?)
    }

    /// Stored texts of prompt `name` whose content hash starts with `prefix` (lowercase hex),
    /// as (full hash, text): what `NAME@#HASH` finds once the file no longer has that text.
    pub fn find_prompt_texts(
        &self,
        name: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let rows = self
            .conn
            .prepare_cached(
                "SELECT content_hash, text FROM prompt_texts \
                 WHERE name = ?1 AND substr(content_hash, 1, length(?2)) = ?2",
            )?
            .query_map(params![name, prefix], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
