//! Lanes: what one column of a conversation view is made of.
//!
//! A lane is a prompt version with its variable values and a model with its parameters,
//! together with the transcript and the totals they produced. A plain chat is one lane; a
//! compare run puts two or more side by side on the same input, each with its own request
//! (through the one request path) and its own numbers. Reopening a conversation (Ctrl-O,
//! `--resume`) restores exactly its lanes' prompt versions and variables, or none.

use std::collections::BTreeMap;

use super::prompt::ActivePrompt;
use super::{Session, SessionTotals, Transcript};
use crate::event::RequestId;

/// One column of a conversation view.
#[derive(Debug)]
pub struct Lane {
    /// The prompt version behind its system prompt; `None` sends the session's inline
    /// `system` text, if any.
    pub prompt: Option<ActivePrompt>,
    /// Values for the prompt's `{{name}}` variables (from `--var` and the form).
    pub vars: BTreeMap<String, String>,
    /// The model its next message asks.
    pub model: String,
    /// `max_tokens` of its requests.
    pub max_tokens: u32,
    /// Sampling temperature of its requests, if set.
    pub temperature: Option<f32>,
    /// What was said in it.
    pub transcript: Transcript,
    /// Totals over its ended requests.
    pub totals: SessionTotals,
    /// Its request streaming now, if any.
    pub active: Option<RequestId>,
    /// The reply its usage panel shows (Alt-↑/↓); `None` follows the latest.
    pub selected_reply: Option<RequestId>,
}

impl Lane {
    /// An empty lane with the session's model and parameters, and no prompt.
    pub fn new(session: &Session) -> Lane {
        Lane {
            prompt: None,
            vars: BTreeMap::new(),
            model: session.model.clone(),
            max_tokens: session.max_tokens,
            temperature: session.temperature,
            transcript: Transcript::default(),
            totals: SessionTotals::default(),
            active: None,
            selected_reply: None,
        }
    }
}
