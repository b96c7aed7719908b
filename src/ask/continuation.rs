//! `ask --continue` / `ask --resume ID`: what a stored conversation gives the message that
//! continues it — by the rules the chat's `--resume` follows (`model::history`), so that a
//! conversation goes on the same way from the chat and from a script.
//!
//! - **History.** Every user message and the text of every reply (partial ones too: the user
//!   saw them); of two replies in a row only the later counts (the earlier was retried), and
//!   turns are normalized as the chat sends them ([`normalize_history`]).
//! - **Prompt.** The prompt version of the last request (else the conversation's), from its
//!   text stored by content hash when the database has it (an uncommitted edit may exist
//!   nowhere else), else resolved from the library by its reference; an inline system text
//!   gives no library prompt. Its variable values come back with it.

use std::collections::BTreeMap;

use crate::llm::{Message, Role};
use crate::model::history::provenance_of;
use crate::model::normalize_history;
use crate::prompts::Provenance;
use crate::prompts::provenance::INLINE_PROMPT_NAME;
use crate::records::{ConversationId, ConversationWithMessages};

/// What a stored conversation gives a message that continues it.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    /// The conversation the message is appended to.
    pub conversation: ConversationId,
    /// Its messages, to send before the new one.
    pub history: Vec<Message>,
    /// The prompt version of its last request.
    pub prompt: StoredPrompt,
    /// The values its last request filled the prompt's variables with.
    pub variables: BTreeMap<String, String>,
}

/// The prompt a stored conversation was last held with.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredPrompt {
    /// None: it was made without a prompt.
    None,
    /// An inline system text (`--system`, config `system`): no library prompt.
    Inline,
    /// A library prompt whose exact text the database keeps.
    Text {
        /// The version.
        provenance: Provenance,
        /// Its text, variables unfilled.
        text: String,
    },
    /// A library prompt the database has no text for: resolve this reference.
    Reference(String),
}

impl StoredPrompt {
    /// The reference of a library prompt, for messages.
    pub fn reference(&self) -> Option<String> {
        match self {
            StoredPrompt::Text { provenance, .. } => Some(provenance.as_reference()),
            StoredPrompt::Reference(reference) => Some(reference.clone()),
            StoredPrompt::None | StoredPrompt::Inline => None,
        }
    }
}

/// What `loaded` gives a message that continues it.
pub fn continuation(loaded: &ConversationWithMessages) -> Continuation {
    let mut messages: Vec<Message> = Vec::with_capacity(loaded.messages.len());
    for item in &loaded.messages {
        let m = &item.message;
        // Two replies in a row: the first was retried by the second.
        if m.role == Role::Assistant
            && messages
                .last()
                .is_some_and(|last| last.role == Role::Assistant)
        {
            messages.pop();
        }
        messages.push(Message {
            role: m.role,
            content: m.content.clone(),
        });
    }
    let last_request = |pick: &dyn Fn(&crate::records::RequestRow) -> bool| {
        loaded
            .messages
            .iter()
            .rev()
            .filter_map(|m| m.request.as_ref())
            .find(|r| pick(r))
    };
    let variables = last_request(&|r| r.request_params.is_some())
        .and_then(|r| r.request_params.as_ref())
        .map(|p| p.variables.clone())
        .unwrap_or_default();
    let version = last_request(&|r| r.prompt.is_some())
        .and_then(|r| r.prompt.clone())
        .or_else(|| loaded.conversation.prompt.clone());
    let prompt = match version {
        None => StoredPrompt::None,
        Some(version) => {
            let stored = loaded.prompt_texts.get(&version.content_hash);
            match (provenance_of(&version), stored) {
                (Some(p), _) if p.name == INLINE_PROMPT_NAME => StoredPrompt::Inline,
                (Some(provenance), Some(text)) => StoredPrompt::Text {
                    provenance,
                    text: text.clone(),
                },
                _ => StoredPrompt::Reference(version.reference()),
            }
        }
    };
    Continuation {
        conversation: loaded.conversation.id,
        history: normalize_history(messages),
        prompt,
        variables,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::prompts::{GitState, content_hash};
    use crate::records::{
        ConversationMessage, ConversationRow, MessageId, MessageRow, MessageState, PromptCommit,
        PromptVersion,
    };

    fn message(seq: i64, role: Role, content: &str, state: MessageState) -> ConversationMessage {
        ConversationMessage {
            message: MessageRow {
                id: MessageId(seq),
                conversation_id: ConversationId(7),
                seq,
                role,
                content: content.into(),
                state,
                created_at_ms: 0,
                updated_at_ms: 0,
                request_id: None,
            },
            request: None,
        }
    }

    fn conversation(prompt: Option<PromptVersion>) -> ConversationRow {
        ConversationRow {
            id: ConversationId(7),
            created_at_ms: 0,
            updated_at_ms: 0,
            title: Some("t".into()),
            provider: "anthropic".into(),
            model: "m".into(),
            prompt,
        }
    }

    #[test]
    fn history_keeps_the_retried_reply_only_and_partial_text() {
        let text = "Be brief.";
        let version = PromptVersion {
            name: "greeter".into(),
            content_hash: content_hash(text).full().to_string(),
            commit: PromptCommit::Uncommitted,
        };
        let loaded = ConversationWithMessages {
            conversation: conversation(Some(version)),
            messages: vec![
                message(1, Role::User, "hi", MessageState::Complete),
                message(2, Role::Assistant, "overloa", MessageState::Failed),
                message(3, Role::Assistant, "hello!", MessageState::Complete),
                message(4, Role::User, "and now?", MessageState::Complete),
                message(5, Role::Assistant, "half an ans", MessageState::Interrupted),
            ],
            prompt_texts: [(content_hash(text).full().to_string(), text.to_string())].into(),
        };
        let turn = |role, content: &str| Message {
            role,
            content: content.into(),
        };
        assert_eq!(
            continuation(&loaded),
            Continuation {
                conversation: ConversationId(7),
                history: vec![
                    turn(Role::User, "hi"),
                    turn(Role::Assistant, "hello!"),
                    turn(Role::User, "and now?"),
                    turn(Role::Assistant, "half an ans"),
                ],
                prompt: StoredPrompt::Text {
                    provenance: Provenance {
                        name: "greeter".into(),
                        content_hash: content_hash(text),
                        git: GitState::Uncommitted,
                    },
                    text: text.into(),
                },
                variables: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn a_prompt_without_stored_text_is_resolved_by_reference_and_inline_is_no_prompt() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let version = |name: &str| PromptVersion {
            name: name.into(),
            content_hash: content_hash("x").full().to_string(),
            commit: PromptCommit::Commit(commit.into()),
        };
        let of = |prompt| ConversationWithMessages {
            conversation: conversation(prompt),
            messages: Vec::new(),
            prompt_texts: BTreeMap::new(),
        };
        assert_eq!(
            [
                continuation(&of(Some(version("greeter")))).prompt,
                continuation(&of(Some(version(INLINE_PROMPT_NAME)))).prompt,
                continuation(&of(None)).prompt,
            ],
            [
                StoredPrompt::Reference("greeter@0123456789ab".into()),
                StoredPrompt::Inline,
                StoredPrompt::None,
            ]
        );
    }
}
