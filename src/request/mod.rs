//! One request's life, in one place: from the composer (or `ask`'s command line) to the
//! socket and the log.
//!
//! 1. A [`RequestSpec`] is built once — by the chat's model, or by `ask` — and holds
//!    everything the request is: the [`ChatRequest`], the prompt version and variables behind
//!    its system prompt, the conversation it belongs to and the user's text as typed.
//! 2. The [`pump`] runs it: one limiter gate before every attempt (the first included), the
//!    user message stored before anything is sent, [`crate::llm::retry::drive`] for retries
//!    and fallbacks, every progress item stamped once as it arrives, folded by the
//!    [`ledger`], written to the log without waiting, and handed to a sink (an `AppEvent` for
//!    the chat, the printer for `ask`).
//! 3. The [`ledger`] is pure: it turns stamped progress into the numbers (time to first token,
//!    tokens, cost, status) and the writes. The chat's reply folds the same stamped items
//!    into its own ledger, so every place shows the same numbers for a request.

mod budget;
pub mod checkpoint;
pub mod ledger;
pub mod pump;
#[cfg(test)]
pub(crate) mod scripted;
pub mod verdict;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::llm::ChatRequest;
use crate::prompts::Provenance;
use crate::records::ConversationId;

pub use ledger::{Ledger, Measure, Stamp, Stamped, Totals};
pub use pump::{End, Pump, PumpEvent};

/// Longest conversation title stored for a new conversation (the first non-empty line of the
/// first message), in characters.
pub const TITLE_MAX_CHARS: usize = 80;

/// Everything one request is, built once by whoever starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// What goes to the provider (model, system prompt, history, parameters).
    pub request: ChatRequest,
    /// The exact prompt version behind the system prompt, if a library prompt drives it.
    pub prompt: Option<Provenance>,
    /// The text behind the system prompt as written (variables unfilled): a library prompt's
    /// or an inline `system` text. Kept by content hash so a resumed conversation can restore
    /// it.
    pub prompt_text: Option<Arc<str>>,
    /// The values of the prompt's `{{variables}}` (only those its text uses).
    pub variables: BTreeMap<String, String>,
    /// The stored conversation to append to; `None` starts a new one.
    pub conversation: Option<ConversationId>,
    /// The message as the user typed it, to store; `None` for a retry (Ctrl-R) of the message
    /// stored already. (The request's history may merge turns; this never does.)
    pub user_text: Option<String>,
    /// Store the user message even when the limiter refuses attempt 1 (`ask`: the message
    /// may have come from stdin and exists nowhere else). The chat keeps a refused message
    /// in its composer instead, and stores nothing.
    pub store_even_if_refused: bool,
    /// The compare run this request is a lane of (`promptdeck compare`), logged with it.
    pub compare_id: Option<String>,
}

/// The title of a new conversation: the first non-empty line of its first message, at most
/// [`TITLE_MAX_CHARS`] characters.
pub fn title_of(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(TITLE_MAX_CHARS)
        .collect()
}
