//! The history database's records: ids, states, and the rows written and read back.
//!
//! Plain data with no IO and no SQLite, so that the pure model ([`crate::model`]), the events
//! and the exporters can use them without depending on [`crate::store`], which owns reading
//! and writing them (and documents the `requests` columns and their OpenTelemetry names).
//! [`crate::store`] re-exports every type here.

mod history_error;
mod request;
pub use history_error::HistoryError;
pub use request::{
    ErrorInfo, RateLimitHeaders, RequestFilter, RequestOutcome, RequestParams, RequestRecord,
    RequestRow, ResponseStart,
};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::llm::Role;

/// A stored name this build does not know (a message state, a request status).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} {value:?}")]
pub struct UnknownValue {
    /// What was parsed: `message state` or `request status`.
    pub what: &'static str,
    /// The stored text.
    pub value: String,
}

/// A conversation's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub i64);

/// A message's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

/// A request-log row id (one attempt). Distinct from the in-memory [`crate::event::RequestId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogId(pub i64);

/// Where a stored message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Final: a user message, or a reply the model finished.
    Complete,
    /// A reply still arriving; checkpointed as it streams.
    Streaming,
    /// Cut short by something outside the user's control (crash, kill, SSH drop, a dropped
    /// stream); the partial text is kept.
    Interrupted,
    /// The user cancelled the reply; the partial text is kept.
    Cancelled,
    /// The request failed with an error (see the request's `error_type`).
    Failed,
}

impl MessageState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Complete => "complete",
            MessageState::Streaming => "streaming",
            MessageState::Interrupted => "interrupted",
            MessageState::Cancelled => "cancelled",
            MessageState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<MessageState, UnknownValue> {
        Ok(match s {
            "complete" => MessageState::Complete,
            "streaming" => MessageState::Streaming,
            "interrupted" => MessageState::Interrupted,
            "cancelled" => MessageState::Cancelled,
            "failed" => MessageState::Failed,
            other => {
                return Err(UnknownValue {
                    what: "message state",
                    value: other.to_string(),
                });
            }
        })
    }
}

/// How a request attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Sent and not finished yet (or its process died: see crash recovery).
    Pending,
    /// The model finished.
    Ok,
    /// The provider or the network failed.
    Error,
    /// The user cancelled it.
    Cancelled,
    /// The process ended before the reply did (crash, kill, SSH drop).
    Interrupted,
}

impl RequestStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Ok => "ok",
            RequestStatus::Error => "error",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<RequestStatus, UnknownValue> {
        Ok(match s {
            "pending" => RequestStatus::Pending,
            "ok" => RequestStatus::Ok,
            "error" => RequestStatus::Error,
            "cancelled" => RequestStatus::Cancelled,
            "interrupted" => RequestStatus::Interrupted,
            other => {
                return Err(UnknownValue {
                    what: "request status",
                    value: other.to_string(),
                });
            }
        })
    }
}

/// Which git state of a prompt file was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptCommit {
    /// The file as committed at this commit id.
    Commit(String),
    /// An unsaved or uncommitted edit (stored as the text `uncommitted`).
    Uncommitted,
}

impl PromptCommit {
    /// The stored text: the commit id, or `uncommitted`.
    pub fn as_str(&self) -> &str {
        match self {
            PromptCommit::Commit(id) => id,
            PromptCommit::Uncommitted => "uncommitted",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> PromptCommit {
        if s == "uncommitted" {
            PromptCommit::Uncommitted
        } else {
            PromptCommit::Commit(s.to_string())
        }
    }
}

/// The exact prompt version that drove a conversation or a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// The prompt's name in the library (its path relative to the prompts directory).
    pub name: String,
    /// Hash of the prompt text as sent.
    pub content_hash: String,
    /// The git commit, or uncommitted.
    pub commit: PromptCommit,
}

impl From<&crate::prompts::Provenance> for PromptVersion {
    /// The stored form of a prompt's provenance: the full content hash, and the commit when
    /// the text is exactly a commit's file (any other git state is stored as `uncommitted`).
    fn from(p: &crate::prompts::Provenance) -> PromptVersion {
        PromptVersion {
            name: p.name.clone(),
            content_hash: p.content_hash.full().to_string(),
            commit: match &p.git {
                crate::prompts::GitState::Commit(id) => PromptCommit::Commit(id.clone()),
                _ => PromptCommit::Uncommitted,
            },
        }
    }
}

impl PromptVersion {
    /// A prompt version from its three nullable columns: none without a name; a missing
    /// commit reads as uncommitted.
    pub(crate) fn from_columns(
        name: Option<String>,
        hash: Option<String>,
        commit: Option<String>,
    ) -> Option<PromptVersion> {
        Some(PromptVersion {
            name: name?,
            content_hash: hash.unwrap_or_default(),
            commit: commit
                .as_deref()
                .map_or(PromptCommit::Uncommitted, PromptCommit::parse),
        })
    }

    /// The first 8 characters of the hash, after any `algorithm:` prefix.
    pub fn short_hash(&self) -> String {
        let hash = self
            .content_hash
            .rsplit_once(':')
            .map_or(self.content_hash.as_str(), |(_, h)| h);
        hash.chars().take(8).collect()
    }

    /// The canonical reference, as everywhere else in promptdeck: `NAME@<12-digit commit>` for
    /// committed text, `NAME@#<12-digit content hash>` otherwise. Pastes back into `--prompt`.
    pub fn reference(&self) -> String {
        let hash = self
            .content_hash
            .rsplit_once(':')
            .map_or(self.content_hash.as_str(), |(_, h)| h);
        match &self.commit {
            PromptCommit::Commit(id) => {
                format!("{}@{}", self.name, id.chars().take(12).collect::<String>())
            }
            PromptCommit::Uncommitted => {
                format!(
                    "{}@#{}",
                    self.name,
                    hash.chars().take(12).collect::<String>()
                )
            }
        }
    }

    /// The commit id shortened to 7 characters, or `uncommitted`.
    pub fn short_commit(&self) -> String {
        match &self.commit {
            PromptCommit::Commit(id) => id.chars().take(7).collect(),
            PromptCommit::Uncommitted => "uncommitted".to_string(),
        }
    }

    /// `name@hash8 (commit7)` or `name@hash8 (uncommitted)`, for tables and titles.
    pub fn short(&self) -> String {
        let hash = self.short_hash();
        format!("{}@{hash} ({})", self.name, self.short_commit())
    }
}

/// A conversation to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    /// A title for the resume list (e.g. the start of the first message).
    pub title: Option<String>,
    /// Provider name (`anthropic`, ...).
    pub provider: String,
    /// Model requested.
    pub model: String,
    /// The prompt version in use, if a prompt drives the chat.
    pub prompt: Option<PromptVersion>,
}

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRow {
    /// Row id.
    pub id: ConversationId,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// Time of the last message write, ms since the Unix epoch.
    pub updated_at_ms: i64,
    /// Title, if one was given.
    pub title: Option<String>,
    /// Provider name.
    pub provider: String,
    /// Model requested.
    pub model: String,
    /// The prompt version the conversation last used (updated with every request).
    pub prompt: Option<PromptVersion>,
}

/// A conversation as the conversation list (Ctrl-O) shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedConversation {
    pub row: ConversationRow,
    /// The conversation it was branched from (an earlier message edited and re-sent), and
    /// the 1-based number of the user message edited there.
    pub branch_of: Option<(ConversationId, u32)>,
    /// Where the search matched: a short excerpt of a message, the matched words between
    /// [`MATCH_START`] and [`MATCH_END`]; `None` without a search or for a title match.
    pub snippet: Option<String>,
}

/// Opens a matched word in [`ListedConversation::snippet`] (a private-use character, removed
/// from the text itself).
pub const MATCH_START: char = '\u{E000}';
/// Closes a matched word in [`ListedConversation::snippet`].
pub const MATCH_END: char = '\u{E001}';

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub role: Role,
    /// Text so far.
    pub content: String,
    /// `Complete` for a user message; `Streaming` for a reply that has just started.
    pub state: MessageState,
    /// For a reply: the request attempt producing it.
    pub request_id: Option<LogId>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    /// Row id.
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Position in the conversation, from 1.
    pub seq: i64,
    /// Who wrote it.
    pub role: Role,
    /// The text (partial for interrupted, cancelled and failed replies).
    pub content: String,
    /// Where it stands.
    pub state: MessageState,
    /// First stored, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// Last checkpoint, ms since the Unix epoch.
    pub updated_at_ms: i64,
    /// For a reply: the request attempt that produced it.
    pub request_id: Option<LogId>,
}

/// A message with the request that produced it (for replies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMessage {
    /// The message.
    pub message: MessageRow,
    /// For a reply: its request attempt.
    pub request: Option<RequestRow>,
}

/// What the inspector shows of one request beyond its log row: what was sent and what came
/// back, read for that row only (a long conversation costs its earlier messages, nothing more).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// The text of the request's prompt version as stored by content hash (variables not
    /// filled); `None` without a prompt or when the text was never stored.
    pub prompt_text: Option<String>,
    /// The conversation's messages up to and including the user message the request answers,
    /// oldest first; empty when the request belongs to no stored conversation.
    pub messages: Vec<MessageRow>,
    /// The reply linked to this attempt, as stored.
    pub reply: Option<MessageRow>,
}

/// A stored conversation to reopen (`--resume`, Ctrl-O), with the other lanes of the compare
/// run it belongs to, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Reopened {
    /// The compare run's id, when the conversation is a lane of one.
    pub compare_id: Option<String>,
    /// The lanes' conversations in order (just the one outside a compare).
    pub lanes: Vec<ConversationWithMessages>,
    /// Which of them was asked for: it gets the focus.
    pub focus: usize,
}

impl Reopened {
    /// A conversation that is no lane of a compare.
    pub fn single(conversation: ConversationWithMessages) -> Reopened {
        Reopened {
            compare_id: None,
            lanes: vec![conversation],
            focus: 0,
        }
    }
}

/// A conversation with all its messages, oldest first: what `--resume` and `export` read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationWithMessages {
    /// Prompt texts by content hash, for the versions this conversation used (when known).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt_texts: BTreeMap<String, String>,
    /// The conversation.
    pub conversation: ConversationRow,
    /// Its messages by `seq`.
    pub messages: Vec<ConversationMessage>,
}
