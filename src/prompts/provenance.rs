//! Which exact prompt produced a request.
//!
//! Every request carries a [`Provenance`]: the prompt's name, the hash of the exact text sent
//! and where that text lives in git. It is stored in the request log and in exports, so it is
//! plain serde data, and it renders as a reference (`NAME@COMMIT` or `NAME@#HASH`) that can be
//! pasted back into `ask --prompt` to reproduce the request.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::hash::{ContentHash, SHORT_HEX_DIGITS};

/// Where a prompt text stands in git.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GitState {
    /// The text is exactly the file in this commit (full hash).
    Commit(String),
    /// The text is in a git repository but not committed (edited, staged, or a session version).
    Uncommitted,
    /// The file is in a git repository that does not track it.
    Untracked,
    /// The prompts directory is not in a git repository (or git is missing).
    NoRepo,
}

impl GitState {
    /// A short label for the status line and listings: `commit 1a2b3c4d5e6f`, `uncommitted`…
    pub fn label(&self) -> String {
        match self {
            GitState::Commit(hash) => format!("commit {}", short_commit(hash)),
            GitState::Uncommitted => "uncommitted".to_string(),
            GitState::Untracked => "untracked".to_string(),
            GitState::NoRepo => "no git repo".to_string(),
        }
    }
}

/// The first 12 hex digits of a commit hash.
pub fn short_commit(hash: &str) -> &str {
    // Stored hashes come back from the database: never slice through a character.
    hash.get(..SHORT_HEX_DIGITS).unwrap_or(hash)
}

/// The prompt version behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// The prompt name (`support/triage`).
    pub name: String,
    /// Hash of the prompt text as versioned (before variables are filled).
    pub content_hash: ContentHash,
    /// Where the text stands in git.
    pub git: GitState,
}

/// The name recorded for a system prompt given inline (`--system`, config `system`) rather
/// than from the library. Not a valid prompt name, so it never clashes with a file.
pub const INLINE_PROMPT_NAME: &str = "(system)";

impl Provenance {
    /// The provenance of an inline system prompt: its content hash is still recorded, so
    /// "which text produced this?" has an answer for those requests too.
    pub fn inline(text: &str) -> Provenance {
        Provenance {
            name: INLINE_PROMPT_NAME.to_string(),
            content_hash: super::hash::content_hash(text),
            git: GitState::Uncommitted,
        }
    }

    /// The canonical reference: `NAME@<12-digit commit>` for committed text, `NAME@#<12-digit
    /// content hash>` otherwise. Parses back with [`super::Reference::parse`].
    pub fn as_reference(&self) -> String {
        match &self.git {
            GitState::Commit(hash) => format!("{}@{}", self.name, short_commit(hash)),
            _ => format!("{}@#{}", self.name, self.content_hash.short()),
        }
    }

    /// The reference plus the git state, for the status line and logs:
    /// `support/triage@#1a2b3c4d5e6f (uncommitted)`.
    pub fn describe(&self) -> String {
        match &self.git {
            GitState::Commit(_) => format!("{} (#{})", self.as_reference(), self.content_hash),
            other => format!("{} ({})", self.as_reference(), other.label()),
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_reference())
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::prompts::{Reference, Selector, content_hash};

    fn provenance(git: GitState) -> Provenance {
        Provenance {
            name: "support/triage".into(),
            content_hash: content_hash("abc"),
            git,
        }
    }

    #[test]
    fn reference_uses_the_commit_when_there_is_one() {
        let commit = "0123456789abcdef0123456789abcdef01234567".to_string();
        let p = provenance(GitState::Commit(commit));
        assert_eq!(p.to_string(), "support/triage@0123456789ab");
        assert_eq!(p.describe(), "support/triage@0123456789ab (#ba7816bf8f01)");
        for git in [GitState::Uncommitted, GitState::Untracked, GitState::NoRepo] {
            let p = provenance(git);
            assert_eq!(p.as_reference(), "support/triage@#ba7816bf8f01");
            let r = Reference::parse(&p.as_reference()).unwrap();
            assert_eq!(r.selector, Selector::Hash("ba7816bf8f01".into()));
        }
        assert_eq!(
            provenance(GitState::Uncommitted).describe(),
            "support/triage@#ba7816bf8f01 (uncommitted)"
        );
    }

    #[test]
    fn provenance_serializes_for_the_log() {
        let p = provenance(GitState::Commit("abc123".into()));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "support/triage",
                "content_hash": content_hash("abc").full(),
                "git": {"commit": "abc123"}
            })
        );
        let back: Provenance = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            serde_json::to_value(GitState::Uncommitted).unwrap(),
            serde_json::json!("uncommitted")
        );
    }
}
