//! A prompt's versions and how a reference turns into exact text.
//!
//! The versions of a prompt are: the working-tree file (clean, uncommitted, untracked, or with
//! no repository at all), every commit that touched it (following renames), and every other
//! text seen this session. Each is identified by the SHA-256 of its content, plus its commit
//! when it has one. Everything here is async and reads git through [`super::git`], so the UI
//! can call it from a task and never wait on a disk or a `git` process.

use std::path::Path;
use std::sync::Arc;

use super::error::{NoRepoReason, PromptError};
use super::git::{CommitInfo, GitRepo, RepoLookup, TrackedStatus, discover};
use super::hash::{ContentHash, content_hash_bytes};
use super::library::{PromptFile, relative_path_for_name, validate_text};
use super::provenance::{GitState, Provenance};
use super::reference::{Reference, Selector};
use super::session::SessionVersions;

/// The working file compared with git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkingStatus {
    /// Same content as in HEAD.
    Clean,
    /// Differs from HEAD (edited, staged, or added but not committed).
    Uncommitted,
    /// In a repository that does not track it.
    Untracked,
    /// There is no repository; the reason says why.
    NoRepo(NoRepoReason),
}

impl WorkingStatus {
    /// Label for listings: `clean`, `uncommitted`, `untracked`, `no git repo`.
    pub fn label(&self) -> &'static str {
        match self {
            WorkingStatus::Clean => "clean",
            WorkingStatus::Uncommitted => "uncommitted",
            WorkingStatus::Untracked => "untracked",
            WorkingStatus::NoRepo(_) => "no git repo",
        }
    }
}

/// Where a version comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionKind {
    /// The file in the working tree.
    Working {
        /// How it compares with git.
        status: WorkingStatus,
    },
    /// A commit that touched the file.
    Commit(CommitInfo),
    /// A text seen earlier this session (an edit that was saved, tried, then changed again).
    Session {
        /// 1-based order in which the session first saw it.
        index: usize,
    },
}

/// One version of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Hash of the content.
    pub id: ContentHash,
    /// Where it comes from.
    pub kind: VersionKind,
    /// The text; `None` when the stored content is unusable (not UTF-8, empty). Use
    /// [`Version::problem`] for why.
    pub text: Option<Arc<str>>,
    /// Why `text` is `None`.
    pub problem: Option<String>,
}

/// Whether git history is available for a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// Read from this repository root.
    Git {
        /// The work tree's root.
        root: std::path::PathBuf,
    },
    /// Not available, for this reason (shown in the UI).
    NoRepo(NoRepoReason),
}

/// Every version of one prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptVersions {
    /// The prompt name.
    pub name: String,
    /// Newest first: the working file (if readable), then this session's other texts (newest
    /// first), then commits (newest first).
    pub versions: Vec<Version>,
    /// Why the working file is not listed (deleted, unreadable, empty…), if it is not.
    pub working_error: Option<PromptError>,
    /// Whether git history was read.
    pub history: History,
}

impl PromptVersions {
    /// The working-tree version, if the file is readable.
    pub fn working(&self) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| matches!(v.kind, VersionKind::Working { .. }))
    }

    /// The commits, newest first.
    pub fn commits(&self) -> impl Iterator<Item = &CommitInfo> {
        self.versions.iter().filter_map(|v| match &v.kind {
            VersionKind::Commit(c) => Some(c),
            _ => None,
        })
    }

    /// The newest commit whose content has this hash.
    pub fn commit_with(&self, id: &ContentHash) -> Option<&CommitInfo> {
        self.versions.iter().find_map(|v| match &v.kind {
            VersionKind::Commit(c) if v.id == *id => Some(c),
            _ => None,
        })
    }

    /// The provenance a request made with `version` (one of [`Self::versions`]) carries.
    pub fn provenance_of(&self, version: &Version) -> Provenance {
        let git = match &version.kind {
            VersionKind::Commit(c) => GitState::Commit(c.hash.clone()),
            _ => self.git_state_for(&version.id),
        };
        Provenance {
            name: self.name.clone(),
            content_hash: version.id.clone(),
            git,
        }
    }

    /// The git state of text with hash `id`: its commit if a commit has exactly this text
    /// (newest first), else the working file's kind of state.
    pub fn git_state_for(&self, id: &ContentHash) -> GitState {
        if let Some(commit) = self.commit_with(id) {
            return GitState::Commit(commit.hash.clone());
        }
        match (&self.history, self.working()) {
            (History::NoRepo(_), _) => GitState::NoRepo,
            (
                History::Git { .. },
                Some(Version {
                    kind:
                        VersionKind::Working {
                            status: WorkingStatus::Untracked,
                        },
                    ..
                }),
            ) => GitState::Untracked,
            (History::Git { .. }, _) => GitState::Uncommitted,
        }
    }
}

/// A prompt's text, ready to send, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPrompt {
    /// The exact text (variables not yet filled).
    pub text: String,
    /// Name, content hash and git state.
    pub provenance: Provenance,
}

/// Reads the working file of prompt `name` in `dir` and works out its git state.
///
/// This is what the app calls (off the UI thread) when the watcher says a file changed. Errors
/// for a missing, unreadable, non-UTF-8 or empty file; git problems other than a missing
/// repository are errors too, so a status line never claims a state it did not check.
pub async fn load(dir: &Path, name: &str) -> Result<LoadedPrompt, PromptError> {
    let relative = relative_path_for_name(name)?;
    let name = super::library::normalize_name(name);
    let file = PromptFile::read_in(dir, &relative, name).await?;
    let git = match discover(dir).await? {
        RepoLookup::NoRepo(_) => GitState::NoRepo,
        RepoLookup::Found(repo) => {
            let repo_path = repo.repo_path(&relative);
            match repo.tracked_status(&repo_path, &file.hash).await? {
                TrackedStatus::Clean => match repo.last_commit(&repo_path).await? {
                    Some(hash) => GitState::Commit(hash),
                    None => GitState::Uncommitted,
                },
                TrackedStatus::Modified => GitState::Uncommitted,
                TrackedStatus::Untracked => GitState::Untracked,
            }
        }
    };
    Ok(LoadedPrompt {
        text: file.text.to_string(),
        provenance: Provenance {
            name: name.to_string(),
            content_hash: file.hash,
            git,
        },
    })
}

/// Lists every version of prompt `name` in `dir` (see [`PromptVersions::versions`] for the
/// order), with texts. The working file may be missing (deleted but in history).
pub async fn versions(
    dir: &Path,
    name: &str,
    session: &SessionVersions,
) -> Result<PromptVersions, PromptError> {
    let lookup = discover(dir).await?;
    versions_with(dir, name, session, &lookup).await
}

/// [`versions`] with the repository already looked up (a listing of many prompts does it once).
pub async fn versions_with(
    dir: &Path,
    name: &str,
    session: &SessionVersions,
    lookup: &RepoLookup,
) -> Result<PromptVersions, PromptError> {
    let relative = relative_path_for_name(name)?;
    let name = super::library::normalize_name(name);
    let working = PromptFile::read_in(dir, &relative, name).await;

    let (history, commits, working_status) = match lookup {
        RepoLookup::NoRepo(reason) => (
            History::NoRepo(reason.clone()),
            Vec::new(),
            WorkingStatus::NoRepo(reason.clone()),
        ),
        RepoLookup::Found(repo) => {
            let repo_path = repo.repo_path(&relative);
            let commits = commit_versions(repo, &repo_path).await?;
            let status = match &working {
                Ok(file) => match repo.tracked_status(&repo_path, &file.hash).await? {
                    TrackedStatus::Clean => WorkingStatus::Clean,
                    TrackedStatus::Modified => WorkingStatus::Uncommitted,
                    TrackedStatus::Untracked => WorkingStatus::Untracked,
                },
                Err(_) => WorkingStatus::Uncommitted,
            };
            (
                History::Git {
                    root: repo.root().to_path_buf(),
                },
                commits,
                status,
            )
        }
    };

    let mut list = Vec::new();
    let mut working_error = None;
    match working {
        Ok(file) => list.push(Version {
            id: file.hash,
            kind: VersionKind::Working {
                status: working_status,
            },
            text: Some(file.text),
            problem: None,
        }),
        Err(e) => working_error = Some(e),
    }
    // Session texts that are neither the working file nor a commit, newest first.
    for seen in session.versions(name).iter().rev() {
        let known = list.iter().chain(commits.iter()).any(|v| v.id == seen.hash);
        if !known {
            list.push(Version {
                id: seen.hash.clone(),
                kind: VersionKind::Session { index: seen.index },
                text: Some(Arc::clone(&seen.text)),
                problem: None,
            });
        }
    }
    list.extend(commits);
    Ok(PromptVersions {
        name: name.to_string(),
        versions: list,
        working_error,
        history,
    })
}

/// The commits of `repo_path` with their content, read in one batch.
async fn commit_versions(repo: &GitRepo, repo_path: &str) -> Result<Vec<Version>, PromptError> {
    let log = repo.log_follow(repo_path).await?;
    let specs: Vec<String> = log
        .iter()
        .map(|c| format!("{}:{}", c.hash, c.path))
        .collect();
    let blobs = repo.read_blobs(&specs).await?;
    Ok(log
        .into_iter()
        .zip(blobs)
        .map(|(commit, blob)| {
            let shown = std::path::PathBuf::from(format!("{}:{}", commit.short, commit.path));
            let (id, text, problem) = match blob {
                None => (
                    content_hash_bytes(&[]),
                    None,
                    Some("the file is absent in this commit (deleted here)".to_string()),
                ),
                Some(bytes) => {
                    let id = content_hash_bytes(&bytes);
                    match validate_text(&shown, bytes) {
                        Ok(text) => (id, Some(Arc::from(text)), None),
                        Err(e) => (id, None, Some(e.to_string())),
                    }
                }
            };
            Version {
                id,
                kind: VersionKind::Commit(commit),
                text,
                problem,
            }
        })
        .collect())
}

/// Turns a reference into exact text and provenance. Used by `ask --prompt` and the UI.
///
/// - `NAME`: the working file ([`load`]).
/// - `NAME@REV`: the file in that commit, found at the path it had then (renames followed).
/// - `NAME@#HASH`: a text seen this session, else the working file or a commit with that
///   content hash.
pub async fn resolve_reference(
    dir: &Path,
    reference: &Reference,
    session: &SessionVersions,
) -> Result<LoadedPrompt, PromptError> {
    let name = reference.name.as_str();
    match &reference.selector {
        Selector::Working => load(dir, name).await,
        Selector::Revision(rev) => resolve_revision(dir, reference, rev).await,
        Selector::Hash(prefix) => {
            let listing = versions(dir, name, session).await?;
            let session_hit = session.find(name, prefix)?.map(|v| Arc::clone(&v.text));
            let text = match session_hit {
                Some(text) => text,
                None => {
                    let mut hits: Vec<&Version> = Vec::new();
                    for v in &listing.versions {
                        if v.text.is_some()
                            && v.id.matches_prefix(prefix)
                            && !hits.iter().any(|h| h.id == v.id)
                        {
                            hits.push(v);
                        }
                    }
                    match hits.as_slice() {
                        [only] => only.text.clone().unwrap_or_else(|| Arc::from("")),
                        [] => {
                            return Err(PromptError::UnknownHash {
                                name: name.to_string(),
                                hash: prefix.clone(),
                            });
                        }
                        _ => {
                            return Err(PromptError::AmbiguousHash {
                                name: name.to_string(),
                                hash: prefix.clone(),
                            });
                        }
                    }
                }
            };
            let id = super::hash::content_hash(&text);
            Ok(LoadedPrompt {
                text: text.to_string(),
                provenance: Provenance {
                    name: name.to_string(),
                    git: listing.git_state_for(&id),
                    content_hash: id,
                },
            })
        }
    }
}

async fn resolve_revision(
    dir: &Path,
    reference: &Reference,
    rev: &str,
) -> Result<LoadedPrompt, PromptError> {
    let name = reference.name.as_str();
    let repo = match discover(dir).await? {
        RepoLookup::Found(repo) => repo,
        RepoLookup::NoRepo(reason) => {
            return Err(PromptError::NoRepo {
                reference: reference.to_string(),
                reason,
            });
        }
    };
    let commit = repo
        .resolve(rev)
        .await?
        .ok_or_else(|| PromptError::UnknownRevision {
            rev: rev.to_string(),
        })?;
    let current = repo.repo_path(&relative_path_for_name(name)?);
    // The file may have had another name at that revision: try every path it had, newest first.
    let mut paths = vec![current.clone()];
    for c in repo.log_follow(&current).await? {
        if !paths.contains(&c.path) {
            paths.push(c.path);
        }
    }
    let specs: Vec<String> = paths.iter().map(|p| format!("{commit}:{p}")).collect();
    let blobs = repo.read_blobs(&specs).await?;
    let Some((path, bytes)) = paths.iter().zip(blobs).find_map(|(p, b)| b.map(|b| (p, b))) else {
        return Err(PromptError::NotInRevision {
            name: name.to_string(),
            rev: rev.to_string(),
        });
    };
    let shown = std::path::PathBuf::from(format!("{rev}:{path}"));
    let file = PromptFile::from_bytes(&shown, bytes)?;
    Ok(LoadedPrompt {
        text: file.text.to_string(),
        provenance: Provenance {
            name: name.to_string(),
            content_hash: file.hash,
            git: GitState::Commit(commit),
        },
    })
}
