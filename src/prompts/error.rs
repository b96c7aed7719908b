//! Everything that can go wrong with the prompt library, in words a user can act on.
//!
//! One enum for the whole module so the CLI and the status line can show any failure the same
//! way. Messages name the file, the prompt or the git revision involved and, where there is an
//! obvious fix, say what it is. Text that came from outside (git's stderr, file names) is
//! sanitized before it is stored here, so a message can go straight to the terminal.

use std::path::PathBuf;

use thiserror::Error;

/// Why a prompt directory has no git history to offer. Not an error: the library still works
/// with the working files and the session's versions, and the UI says which of these applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRepoReason {
    /// The `git` program could not be started (not installed or not on `PATH`).
    GitNotInstalled,
    /// `git` runs, but the prompts directory is not inside a work tree.
    NotARepository,
    /// The repository belongs to another user and git refuses it ("dubious ownership").
    DubiousOwnership,
}

impl std::fmt::Display for NoRepoReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoRepoReason::GitNotInstalled => {
                f.write_str("git is not installed (or not on PATH), so there is no history")
            }
            NoRepoReason::NotARepository => f.write_str(
                "the prompts directory is not inside a git repository, so there is no history",
            ),
            NoRepoReason::DubiousOwnership => f.write_str(
                "git refuses the repository (\"dubious ownership\": it belongs to another user), \
                 so its history is unavailable; add it to git's safe.directory to see versions",
            ),
        }
    }
}

/// Template variables that have no value. Sending is refused until every one is filled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", missing_message(.0))]
pub struct MissingVariables(pub Vec<String>);

fn missing_message(names: &[String]) -> String {
    let list = names
        .iter()
        .map(|n| format!("{{{{{n}}}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let flags = names
        .iter()
        .map(|n| format!("--var {n}=..."))
        .collect::<Vec<_>>()
        .join(" ");
    if names.len() == 1 {
        format!("the prompt needs a value for {list} (set it with {flags}); nothing was sent")
    } else {
        format!("the prompt needs values for {list} (set them with {flags}); nothing was sent")
    }
}

/// A failure of the prompt library.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PromptError {
    /// The prompts directory itself cannot be listed.
    #[error("cannot read the prompts directory {}: {message}", path.display())]
    DirUnreadable {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// No `NAME.txt` exists in the prompts directory.
    #[error("no prompt named {name:?}: {} does not exist", path.display())]
    NotFound {
        /// The prompt name asked for.
        name: String,
        /// The file that was looked for.
        path: PathBuf,
    },
    /// The prompt file exists but cannot be read.
    #[error("cannot read prompt file {}: {message}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// The prompt file is not valid UTF-8 text.
    #[error(
        "prompt file {} is not UTF-8 text (invalid byte at offset {offset_bytes}); save it as UTF-8",
        path.display()
    )]
    NotUtf8 {
        /// The file (or `REV:PATH` for a committed version).
        path: PathBuf,
        /// Offset of the first invalid byte.
        offset_bytes: usize,
    },
    /// The prompt file is a link to a file outside the prompts directory (e.g.
    /// `shadow.txt -> /etc/shadow`): it is not read, so no file elsewhere on the machine is
    /// sent as a system prompt.
    #[error(
        "prompt {name:?} is a link to {} outside the prompts directory; it is not read",
        target.display()
    )]
    OutsideLibrary {
        /// The prompt name.
        name: String,
        /// Where the link points.
        target: PathBuf,
    },
    /// The prompt file is empty or holds only whitespace.
    #[error("prompt file {} is empty; write the system prompt into it", path.display())]
    Empty {
        /// The file (or `REV:PATH` for a committed version).
        path: PathBuf,
    },
    /// A prompt name that cannot name a file in the library (`..`, absolute, `@`…).
    #[error("invalid prompt name {name:?}: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A reference (`NAME`, `NAME@REV`, `NAME@#HASH`) that does not parse.
    #[error("invalid prompt reference {input:?}: {reason}")]
    BadReference {
        /// The reference as given.
        input: String,
        /// What is wrong with it, and the accepted forms.
        reason: String,
    },
    /// A `--var` argument that is not `name=value`.
    #[error("invalid variable {input:?}: {reason}")]
    BadVariable {
        /// The argument as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Template variables without a value.
    #[error(transparent)]
    MissingVariables(#[from] MissingVariables),
    /// `NAME@REV` was asked for, but there is no git history.
    #[error("{reference} needs git history, but {reason}")]
    NoRepo {
        /// The reference as given.
        reference: String,
        /// Why there is no history.
        reason: NoRepoReason,
    },
    /// Git does not know the revision.
    #[error("unknown git revision {rev:?} (try a commit hash, a tag or HEAD~N)")]
    UnknownRevision {
        /// The revision as given.
        rev: String,
    },
    /// The revision exists, but the prompt file did not exist in it.
    #[error("prompt {name:?} does not exist at revision {rev} (see `promptdeck prompts`)")]
    NotInRevision {
        /// The prompt name.
        name: String,
        /// The revision as given.
        rev: String,
    },
    /// No version of the prompt seen in this session (or in its history) has this hash.
    #[error(
        "no version of {name:?} with hash #{hash} in this session or its git history (see `promptdeck prompts`)"
    )]
    UnknownHash {
        /// The prompt name.
        name: String,
        /// The hash prefix as given.
        hash: String,
    },
    /// Several different versions share the hash prefix.
    #[error("hash #{hash} matches several versions of {name:?}; give more hex digits")]
    AmbiguousHash {
        /// The prompt name.
        name: String,
        /// The hash prefix as given.
        hash: String,
    },
    /// A git command failed for a reason other than the ones above.
    #[error("git {command} failed: {message}")]
    Git {
        /// The git subcommand (`log`, `cat-file`…).
        command: String,
        /// Git's stderr, sanitized and shortened.
        message: String,
    },
    /// The file watcher could not start or reported an error.
    #[error("watching the prompts directory failed: {message}")]
    Watch {
        /// The watcher's reason.
        message: String,
    },
}
