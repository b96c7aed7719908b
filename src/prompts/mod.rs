//! The prompt library: prompts are code.
//!
//! Prompts live as `.txt` files in a `prompts/` directory checked into git. A file's text is
//! the system prompt; subfolders are namespaces (`support/triage.txt` is `support/triage`);
//! `{{name}}` holes are filled per use. Because the files are versioned, a request can always
//! say which exact text produced it, and any earlier text can be run again.
//!
//! Layout, one concern per file:
//! - [`library`]: which files are prompts, their names, reading and validating a file;
//! - [`hash`]: content identity (SHA-256); [`provenance`]: what a request records;
//! - [`reference`](mod@reference): the `NAME` / `NAME@REV` / `NAME@#HASH` syntax used everywhere;
//! - [`git`]: history through the `git` binary, async; [`versions`](mod@versions): listing versions and
//!   resolving a reference to text; [`session`]: texts seen during this session;
//! - [`template`]: `{{var}}` variables; [`diff`]: line diff between versions;
//! - [`watch`]: hot reload; [`report`]: the `promptdeck prompts` listing.
//!
//! Nothing here blocks an async runtime: file reads use `tokio::fs`, directory walks run on
//! the blocking pool, git runs as a child process.

pub mod diff;
pub mod error;
pub mod git;
pub mod hash;
pub mod library;
pub mod provenance;
pub mod reference;
pub mod report;
pub mod session;
pub mod template;
pub mod versions;
pub mod watch;

pub use diff::{DiffKind, DiffLine, diff_lines};
pub use error::{MissingVariables, NoRepoReason, PromptError};
pub use git::CommitInfo;
pub use hash::{ContentHash, content_hash};
pub use library::{PromptEntry, PromptFile, prompt_path, scan, scan_async};
pub use provenance::{GitState, Provenance};
pub use reference::{Reference, Selector};
pub use report::list_report;
pub use session::{Recorded, SessionVersion, SessionVersions};
pub use template::{fill, parse_var, render, variables};
pub use versions::{
    History, LoadedPrompt, PromptVersions, Version, VersionKind, WorkingStatus, load,
    resolve_reference, versions,
};
pub use watch::{PromptWatcher, WatchEvent};
