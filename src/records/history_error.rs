//! Why a read of the history failed, as the chat shows it (typed, cloneable: it travels in
//! an `AppEvent`).

/// Why the history database could not answer a read, as the chat reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// It could not be opened at start-up: history features are off.
    #[error("the history database is unavailable (see promptdeck.log)")]
    Unavailable,
    /// `--resume` without an id, and nothing was ever stored.
    #[error("there is no earlier conversation to resume")]
    NoConversation,
    /// No conversation with that id.
    #[error("there is no conversation {0}")]
    NotFound(i64),
    /// The database failed (the message is the store's).
    #[error("the history database failed: {0}")]
    Failed(String),
}
