//! The conversation list's reads and the one write behind "edit an earlier message": a
//! full-text search over titles and messages (FTS5, schema v7), and branching a conversation
//! (schema v8).

use std::collections::HashMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::decode::{conversation_columns, read_conversation};
use super::{Store, StoreError};
use crate::records::{ConversationId, ConversationRow, ListedConversation, MATCH_END, MATCH_START};

/// Most message matches read for one search (the list shows one conversation per row).
const MAX_MESSAGE_HITS: i64 = 5_000;

/// Words of an excerpt around a match.
const SNIPPET_WORDS: i64 = 12;

/// The FTS5 query for what the user typed: every word must appear, as a word prefix; the
/// words are quoted, so FTS5's syntax (`AND`, `*`, `"`, `:`) is never interpreted. `None`
/// when nothing searchable was typed.
pub fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = typed
        .split_whitespace()
        .map(|w| w.replace(['\u{0}', MATCH_START, MATCH_END], ""))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Store {
    /// The conversation list: with an empty `filter` the most recently active conversations,
    /// otherwise those whose title or messages match it (most recently active first), each
    /// with an excerpt of its best message match.
    pub fn search_conversations(
        &self,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<ListedConversation>, StoreError> {
        let Some(query) = fts_query(filter) else {
            return self
                .list_conversations(limit)?
                .into_iter()
                .map(|row| self.listed(row, None))
                .collect();
        };
        // Message matches, best first: the first excerpt per conversation is kept.
        let mut snippets: HashMap<i64, String> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.conversation_id, \
             snippet(messages_fts, 0, char(57344), char(57345), '…', ?2) \
             FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
             WHERE messages_fts MATCH ?1 ORDER BY rank LIMIT ?3",
        )?;
        let hits = stmt.query_map(params![query, SNIPPET_WORDS, MAX_MESSAGE_HITS], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for hit in hits {
            let (id, snippet) = hit?;
            snippets.entry(id).or_insert(snippet);
        }
        let mut ids: Vec<i64> = snippets.keys().copied().collect();
        let titles = self
            .conn
            .prepare_cached("SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?1")?
            .query_map(params![query], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.extend(titles);
        ids.sort_unstable();
        ids.dedup();
        let mut rows = Vec::with_capacity(ids.len());
        let mut by_id = self.conn.prepare_cached(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE id = ?1"
        ))?;
        for id in ids {
            if let Some(row) = by_id.query_row(params![id], read_conversation).optional()? {
                rows.push(row);
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse((r.updated_at_ms, r.id.0)));
        rows.truncate(limit);
        rows.into_iter()
            .map(|row| {
                let snippet = snippets.remove(&row.id.0);
                self.listed(row, snippet)
            })
            .collect()
    }

    /// `row` with what the list adds: the conversation it branched from, and `snippet`.
    fn listed(
        &self,
        row: ConversationRow,
        snippet: Option<String>,
    ) -> Result<ListedConversation, StoreError> {
        let branch_of = self
            .conn
            .prepare_cached(
                "SELECT c.parent_conversation_id, \
                 (SELECT COUNT(*) FROM messages p WHERE p.conversation_id = c.parent_conversation_id \
                  AND p.role = 'user' AND p.seq <= COALESCE( \
                    (SELECT seq FROM messages b WHERE b.id = c.branched_from_message_id), 0)) \
                 FROM conversations c WHERE c.id = ?1 AND c.parent_conversation_id IS NOT NULL",
            )?
            .query_row(params![row.id.0], |r| {
                Ok((ConversationId(r.get(0)?), r.get::<_, u32>(1)?))
            })
            .optional()?;
        Ok(ListedConversation {
            row,
            branch_of,
            snippet,
        })
    }

    /// A new conversation holding conversation `parent`'s messages before its user message
    /// number `before_user_message` (0-based), marked as its branch at that message; the
    /// parent is left as it was. Its replies keep their request rows (their numbers), which
    /// stay the parent's in the log.
    pub fn branch_conversation(
        &mut self,
        parent: ConversationId,
        before_user_message: usize,
    ) -> Result<ConversationId, StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let offset = i64::try_from(before_user_message).unwrap_or(i64::MAX);
        let at: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT id, seq FROM messages WHERE conversation_id = ?1 AND role = 'user' \
                 ORDER BY seq LIMIT 1 OFFSET ?2",
            )?
            .query_row(params![parent.0, offset], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((message_id, seq)) = at else {
            return Err(StoreError::NotFound {
                what: "user message to branch at",
                id: offset,
            });
        };
        let inserted = tx
            .prepare_cached(
                "INSERT INTO conversations (created_at_ms, updated_at_ms, title, provider, model, \
                 prompt_name, prompt_hash, prompt_commit, parent_conversation_id, \
                 branched_from_message_id) \
                 SELECT ?2, ?2, title, provider, model, prompt_name, prompt_hash, prompt_commit, \
                 id, ?3 FROM conversations WHERE id = ?1",
            )?
            .execute(params![parent.0, now, message_id])?;
        if inserted == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
                id: parent.0,
            });
        }
        let branch = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms, \
             updated_at_ms, request_id, writer) \
             SELECT ?1, seq, role, content, state, created_at_ms, updated_at_ms, request_id, \
             writer FROM messages WHERE conversation_id = ?2 AND seq < ?3 ORDER BY seq",
        )?
        .execute(params![branch, parent.0, seq])?;
        tx.commit()?;
        Ok(ConversationId(branch))
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
