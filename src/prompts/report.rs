//! The text of `promptdeck prompts`: every prompt, its working state and its history; and
//! the same as JSON (`--json`).
//!
//! Plain lines meant for a terminal or a pipe. File names, authors and commit subjects come
//! from outside, so each is sanitized: nothing in a repository can send a control sequence
//! to the user's terminal through this listing.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use super::error::PromptError;
use super::git::{RepoLookup, discover};
use super::library::scan_async;
use super::session::SessionVersions;
use super::versions::{History, VersionKind, versions_with};
use crate::text::sanitize;

/// Characters of the ISO date shown (`YYYY-MM-DD`).
const DATE_CHARS: usize = 10;

/// Builds the listing of every prompt in `dir` and its versions.
///
/// ```text
/// prompts in ./prompts (git repository /work/app)
///
/// support/triage  #1a2b3c4d5e6f  uncommitted
///   1f2e3d4c5b6a  2026-11-20  Ann Lee  Ask for the order number first
///   ...
/// ```
pub async fn list_report(dir: &Path) -> Result<String, PromptError> {
    let entries = scan_async(dir).await?;
    let lookup = discover(dir).await?;
    let session = SessionVersions::new();
    let mut out = String::new();
    let shown_dir = sanitize(&dir.display().to_string());
    // Writing to a String cannot fail.
    match &lookup {
        RepoLookup::Found(repo) => {
            let root = sanitize(&repo.root().display().to_string());
            let _ = writeln!(out, "prompts in {shown_dir} (git repository {root})");
        }
        RepoLookup::NoRepo(reason) => {
            let _ = writeln!(out, "prompts in {shown_dir}");
            let _ = writeln!(
                out,
                "note: {reason}; only the working files are listed. \
                 Run `git init` there and commit to get versions."
            );
        }
    }
    if entries.is_empty() {
        let _ = writeln!(
            out,
            "\nno prompts yet: add a .txt file (its text is the system prompt)"
        );
        return Ok(out);
    }
    for entry in &entries {
        let name = sanitize(&entry.name);
        let _ = writeln!(out);
        // One file that cannot be a prompt (a control character in its name…) is reported,
        // and the others are still listed.
        let listing = match versions_with(dir, &entry.name, &session, &lookup).await {
            Ok(listing) => listing,
            Err(e) => {
                let _ = writeln!(out, "{name}  refused: {}", sanitize(&e.to_string()));
                continue;
            }
        };
        match (listing.working(), &listing.working_error) {
            (Some(working), _) => {
                let status = match &working.kind {
                    VersionKind::Working { status } => status.label(),
                    _ => "",
                };
                let vars = working
                    .text
                    .as_deref()
                    .map(super::template::variables)
                    .unwrap_or_default();
                let _ = write!(out, "{name}  #{}  {status}", working.id);
                if !vars.is_empty() {
                    let vars: Vec<String> = vars.iter().map(|v| format!("{{{{{v}}}}}")).collect();
                    let _ = write!(out, "  variables: {}", sanitize(&vars.join(" ")));
                }
                let _ = writeln!(out);
            }
            (None, Some(error)) => {
                let _ = writeln!(out, "{name}  error: {}", sanitize(&error.to_string()));
            }
            (None, None) => {
                let _ = writeln!(out, "{name}");
            }
        }
        if matches!(listing.history, History::Git { .. }) && listing.commits().next().is_none() {
            let _ = writeln!(out, "  (no commits yet)");
        }
        for commit in listing.commits() {
            let date: String = commit.date_iso.chars().take(DATE_CHARS).collect();
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                sanitize(&commit.short),
                sanitize(&date),
                sanitize(&commit.author),
                sanitize(&commit.subject)
            );
        }
    }
    Ok(out)
}

/// One prompt of `promptdeck prompts --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptJson {
    /// The prompt's name (`support/triage`).
    pub name: String,
    /// The working file's state (`clean`, `uncommitted`, `untracked`, `no git repo`), or
    /// `None` when it cannot be used.
    pub status: Option<&'static str>,
    /// The `{{variables}}` of the working file's text.
    pub variables: Vec<String>,
    /// Why the prompt or its working file cannot be used, if so.
    pub error: Option<String>,
    /// Why there is no git history, if there is none.
    pub no_history: Option<String>,
    /// Newest first: the working file, then every commit that touched the file.
    pub versions: Vec<VersionJson>,
}

/// One version of a prompt in `promptdeck prompts --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionJson {
    /// `working` or `commit`.
    pub kind: &'static str,
    /// The reference that names exactly this version (`greeter@1a2b3c4d5e6f`,
    /// `greeter@#0a1b2c3d4e5f`), as `--prompt` and `prompts show` take it.
    pub reference: String,
    /// The content hash of its text (SHA-256, hex).
    pub content_hash: String,
    /// The commit (full hash), for a commit.
    pub commit: Option<String>,
    /// Author date (ISO 8601), for a commit.
    pub date: Option<String>,
    /// Author, for a commit.
    pub author: Option<String>,
    /// First line of the commit message, for a commit.
    pub subject: Option<String>,
}

/// What `promptdeck prompts --json` prints: every prompt in `dir` with its versions.
pub async fn list_json(dir: &Path) -> Result<Vec<PromptJson>, PromptError> {
    let entries = scan_async(dir).await?;
    let lookup = discover(dir).await?;
    let session = SessionVersions::new();
    let mut prompts = Vec::with_capacity(entries.len());
    for entry in &entries {
        let mut prompt = PromptJson {
            name: entry.name.clone(),
            status: None,
            variables: Vec::new(),
            error: None,
            no_history: None,
            versions: Vec::new(),
        };
        let listing = match versions_with(dir, &entry.name, &session, &lookup).await {
            Ok(listing) => listing,
            Err(e) => {
                prompt.error = Some(e.to_string());
                prompts.push(prompt);
                continue;
            }
        };
        prompt.error = listing.working_error.as_ref().map(ToString::to_string);
        if let History::NoRepo(reason) = &listing.history {
            prompt.no_history = Some(reason.to_string());
        }
        for version in &listing.versions {
            let provenance = listing.provenance_of(version);
            let mut json = VersionJson {
                kind: "working",
                reference: provenance.as_reference(),
                content_hash: version.id.full().to_string(),
                commit: None,
                date: None,
                author: None,
                subject: None,
            };
            match &version.kind {
                VersionKind::Working { status } => {
                    prompt.status = Some(status.label());
                    prompt.variables = version
                        .text
                        .as_deref()
                        .map(super::template::variables)
                        .unwrap_or_default();
                }
                VersionKind::Commit(commit) => {
                    json.kind = "commit";
                    json.commit = Some(commit.hash.clone());
                    json.date = Some(commit.date_iso.clone());
                    json.author = Some(commit.author.clone());
                    json.subject = Some(commit.subject.clone());
                }
                // A listing made for the command line has no session.
                VersionKind::Session { .. } => continue,
            }
            prompt.versions.push(json);
        }
        prompts.push(prompt);
    }
    Ok(prompts)
}
