//! Reading prompt history from git, without ever blocking the UI.
//!
//! We run the real `git` binary with `tokio::process` (no libgit2/gix: they cost build time and
//! the user's git already knows their config, worktrees and `safe.directory`). Each command:
//! - runs with the repository root as its working directory, `kill_on_drop` so an abandoned
//!   lookup leaves no process behind;
//! - gets `GIT_TERMINAL_PROMPT=0` (never wait for a password), `LC_ALL=C` (messages we can
//!   match), `GIT_OPTIONAL_LOCKS=0` (never take the index lock from under the user's own git),
//!   `GIT_LITERAL_PATHSPECS=1` (a `[` in a prompt name is not a glob) and
//!   `-c core.quotepath=off` (paths come back as they are);
//! - reports failures with git's stderr, sanitized and shortened.
//!
//! History is read with `git log --follow` so a renamed prompt keeps its past, and the path
//! each commit knew the file by is kept, because older content must be read at the OLD path.
//! Contents are read in one `git cat-file --batch` process however many commits there are.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::error::{NoRepoReason, PromptError};
use super::hash::{ContentHash, content_hash_bytes};

/// Longest git error message kept, in characters.
const MAX_GIT_MESSAGE_CHARS: usize = 300;

/// Digits of the abbreviated commit hash shown (git uses more if needed to stay unique).
const ABBREV_DIGITS: &str = "--abbrev=12";

/// Field separator in `git log` output (ASCII unit separator).
const FIELD_SEPARATOR: char = '\u{1f}';
/// Start of a commit record in `git log` output (ASCII record separator).
const RECORD_START: char = '\u{1e}';

/// One commit that touched a prompt file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full commit hash.
    pub hash: String,
    /// The abbreviated hash (at least 12 digits, unique in the repository).
    pub short: String,
    /// Author date, strict ISO 8601 (`2026-11-26T09:30:00+01:00`).
    pub date_iso: String,
    /// Author name.
    pub author: String,
    /// First line of the commit message.
    pub subject: String,
    /// The file's path in this commit, relative to the repository root (differs from the
    /// current path before a rename).
    pub path: String,
}

/// Where a prompts directory stands with respect to git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoLookup {
    /// The directory is inside this repository.
    Found(GitRepo),
    /// No history is available, for this reason.
    NoRepo(NoRepoReason),
}

/// A git work tree holding the prompts directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRepo {
    root: PathBuf,
    /// The prompts directory relative to the root, `/`-separated, ending in `/` (or empty).
    prefix: String,
}

/// The working file compared with HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackedStatus {
    /// Same content as in HEAD.
    Clean,
    /// Tracked (or staged) but different from HEAD, or new in the index.
    Modified,
    /// Git does not track the file.
    Untracked,
}

/// Finds the repository holding `dir`. A missing repository or git binary is not an error.
pub async fn discover(dir: &Path) -> Result<RepoLookup, PromptError> {
    if let Err(e) = tokio::fs::metadata(dir).await {
        return Err(PromptError::DirUnreadable {
            path: dir.to_path_buf(),
            message: e.to_string(),
        });
    }
    let output = match git_command(dir)
        .args(["rev-parse", "--show-toplevel", "--show-prefix"])
        .output()
        .await
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(RepoLookup::NoRepo(NoRepoReason::GitNotInstalled));
        }
        Err(e) => return Err(spawn_error("rev-parse", &e)),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("not a git repository") {
            return Ok(RepoLookup::NoRepo(NoRepoReason::NotARepository));
        }
        // The working files still work without the history.
        if stderr.contains("dubious ownership") {
            tracing::warn!("git: {}", stderr.trim());
            return Ok(RepoLookup::NoRepo(NoRepoReason::DubiousOwnership));
        }
        return Err(git_error("rev-parse", &output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let root = lines.next().unwrap_or_default();
    let prefix = lines.next().unwrap_or_default();
    if root.is_empty() {
        // Inside `.git` or a bare repository: there is no work tree to version prompts in.
        return Ok(RepoLookup::NoRepo(NoRepoReason::NotARepository));
    }
    Ok(RepoLookup::Found(GitRepo {
        root: PathBuf::from(root),
        prefix: prefix.to_string(),
    }))
}

impl GitRepo {
    /// The work tree's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository path (relative to the root, `/`-separated) of a path relative to the
    /// prompts directory.
    pub fn repo_path(&self, relative: &Path) -> String {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        format!("{}{}", self.prefix, parts.join("/"))
    }

    /// Every commit that touched `repo_path`, newest first, following renames.
    ///
    /// An empty repository (no commit yet) has no history: `Ok(vec![])`.
    pub async fn log_follow(&self, repo_path: &str) -> Result<Vec<CommitInfo>, PromptError> {
        let format = format!(
            "--format={RECORD_START}%H{FIELD_SEPARATOR}%h{FIELD_SEPARATOR}%aI{FIELD_SEPARATOR}%an{FIELD_SEPARATOR}%s"
        );
        let output = self
            .run(
                "log",
                &[
                    "log",
                    "--no-show-signature",
                    "--no-color",
                    "--follow",
                    "--name-only",
                    "-z",
                    ABBREV_DIGITS,
                    &format,
                    "--",
                    repo_path,
                ],
            )
            .await;
        match output {
            Ok(stdout) => Ok(parse_log(&stdout, repo_path)),
            Err(PromptError::Git { message, .. })
                if message.contains("does not have any commits") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// The newest commit that touched `repo_path` (without following renames), if any.
    pub async fn last_commit(&self, repo_path: &str) -> Result<Option<String>, PromptError> {
        match self
            .run(
                "log",
                &[
                    "log",
                    "--no-show-signature",
                    "-1",
                    "--format=%H",
                    "--",
                    repo_path,
                ],
            )
            .await
        {
            Ok(stdout) => {
                let hash = String::from_utf8_lossy(&stdout).trim().to_string();
                Ok((!hash.is_empty()).then_some(hash))
            }
            Err(PromptError::Git { message, .. })
                if message.contains("does not have any commits") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The full hash of the commit `rev` names (tag, `HEAD~2`, short hash…); `None` if git
    /// does not know it.
    pub async fn resolve(&self, rev: &str) -> Result<Option<String>, PromptError> {
        if rev.starts_with('-') {
            return Ok(None);
        }
        let spec = format!("{rev}^{{commit}}");
        let output = self
            .command()
            .args(["rev-parse", "--verify", "--quiet", &spec])
            .output()
            .await
            .map_err(|e| spawn_error("rev-parse", &e))?;
        if !output.status.success() {
            return Ok(None);
        }
        let hash = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok((!hash.is_empty()).then_some(hash))
    }

    /// The bytes of `path` (repository-relative) in `rev`; `None` if it is not a file there.
    pub async fn show(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, PromptError> {
        let mut blobs = self.read_blobs(&[format!("{rev}:{path}")]).await?;
        Ok(blobs.pop().flatten())
    }

    /// Reads many `REV:PATH` blobs in one `git cat-file --batch`; `None` for each that is
    /// missing or not a file. The answers are in the order asked.
    pub async fn read_blobs(&self, specs: &[String]) -> Result<Vec<Option<Vec<u8>>>, PromptError> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = Vec::new();
        for spec in specs {
            if spec.contains('\n') {
                return Err(PromptError::Git {
                    command: "cat-file".into(),
                    message: "a path contains a newline".into(),
                });
            }
            input.extend_from_slice(spec.as_bytes());
            input.push(b'\n');
        }
        let mut child = self
            .command()
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error("cat-file", &e))?;
        let stdin = child.stdin.take();
        let writer = async move {
            if let Some(mut stdin) = stdin {
                // A failed write shows up as a short answer, reported below.
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            }
        };
        let (_, output) = tokio::join!(writer, child.wait_with_output());
        let output = output.map_err(|e| spawn_error("cat-file", &e))?;
        if !output.status.success() {
            return Err(git_error("cat-file", &output.stderr));
        }
        parse_batch(&output.stdout, specs.len()).ok_or_else(|| PromptError::Git {
            command: "cat-file".into(),
            message: "unexpected output from git cat-file --batch".into(),
        })
    }

    /// Whether git tracks `repo_path` (in the index).
    pub async fn is_tracked(&self, repo_path: &str) -> Result<bool, PromptError> {
        let stdout = self
            .run("ls-files", &["ls-files", "-z", "--", repo_path])
            .await?;
        Ok(!stdout.is_empty())
    }

    /// Compares the working file's content (by hash) with HEAD.
    pub async fn tracked_status(
        &self,
        repo_path: &str,
        working: &ContentHash,
    ) -> Result<TrackedStatus, PromptError> {
        match self.show("HEAD", repo_path).await? {
            Some(bytes) if content_hash_bytes(&bytes) == *working => Ok(TrackedStatus::Clean),
            Some(_) => Ok(TrackedStatus::Modified),
            None if self.is_tracked(repo_path).await? => Ok(TrackedStatus::Modified),
            None => Ok(TrackedStatus::Untracked),
        }
    }

    fn command(&self) -> Command {
        git_command(&self.root)
    }

    /// Runs `git ARGS` and returns stdout, or the sanitized stderr as an error.
    async fn run(&self, name: &str, args: &[&str]) -> Result<Vec<u8>, PromptError> {
        let output = self
            .command()
            .args(args)
            .output()
            .await
            .map_err(|e| spawn_error(name, &e))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(git_error(name, &output.stderr))
        }
    }
}

/// A `git` command with the environment every call needs, run in `cwd`.
fn git_command(cwd: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(cwd)
        .args(["-c", "core.quotepath=off"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn spawn_error(command: &str, e: &std::io::Error) -> PromptError {
    PromptError::Git {
        command: command.to_string(),
        message: format!("could not run git: {e}"),
    }
}

fn git_error(command: &str, stderr: &[u8]) -> PromptError {
    let text = crate::text::sanitize(String::from_utf8_lossy(stderr).trim());
    let mut message: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if message.chars().count() > MAX_GIT_MESSAGE_CHARS {
        message = message.chars().take(MAX_GIT_MESSAGE_CHARS).collect();
        message.push('…');
    }
    if message.is_empty() {
        message = "no error message".to_string();
    }
    PromptError::Git {
        command: command.to_string(),
        message,
    }
}

/// Parses `git log --follow --name-only -z` output in our format.
///
/// Records look like `RS hash US short US date US author US subject NUL LF path NUL`. A commit
/// without a listed path (a merge) keeps the path of the newer commit before it.
fn parse_log(stdout: &[u8], current_path: &str) -> Vec<CommitInfo> {
    let text = String::from_utf8_lossy(stdout);
    let mut commits: Vec<CommitInfo> = Vec::new();
    let mut last_path = current_path.to_string();
    for token in text.split('\0') {
        if let Some(header) = token.strip_prefix(RECORD_START) {
            let mut fields = header.splitn(5, FIELD_SEPARATOR);
            let mut next = || fields.next().unwrap_or_default().to_string();
            let (hash, short, date_iso, author, subject) = (next(), next(), next(), next(), next());
            if hash.is_empty() {
                continue;
            }
            commits.push(CommitInfo {
                hash,
                short,
                date_iso,
                author,
                subject,
                path: last_path.clone(),
            });
        } else {
            let path = token.trim_start_matches('\n');
            if path.is_empty() {
                continue;
            }
            if let Some(commit) = commits.last_mut() {
                commit.path = path.to_string();
                last_path = path.to_string();
            }
        }
    }
    commits
}

/// Parses `git cat-file --batch` output for `count` requests.
fn parse_batch(stdout: &[u8], count: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut out = Vec::with_capacity(count);
    let mut rest = stdout;
    for _ in 0..count {
        let newline = rest.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&rest[..newline]).ok()?;
        rest = &rest[newline + 1..];
        let mut words = header.rsplit(' ');
        let last = words.next()?;
        if matches!(last, "missing" | "ambiguous") {
            out.push(None);
            continue;
        }
        let size: usize = last.parse().ok()?;
        let kind = words.next()?;
        let body = rest.get(..size)?;
        out.push((kind == "blob").then(|| body.to_vec()));
        // The body is followed by a newline.
        rest = rest.get(size + 1..)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn parses_log_records_with_any_subject_and_renames() {
        let out = "\u{1e}aaa\u{1f}aa\u{1f}2026-01-02T03:04:05+00:00\u{1f}Ann\u{1f}fix: a|b\u{1f}c\0\nnew.txt\0\
                   \u{1e}mmm\u{1f}mm\u{1f}2026-01-01T00:00:00+00:00\u{1f}Bo\u{1f}Merge\0\
                   \u{1e}bbb\u{1f}bb\u{1f}2025-12-31T00:00:00+00:00\u{1f}Bo\u{1f}first\0\nold.txt\0";
        let commits = parse_log(out.as_bytes(), "new.txt");
        let summary: Vec<(&str, &str, &str)> = commits
            .iter()
            .map(|c| (c.hash.as_str(), c.subject.as_str(), c.path.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("aaa", "fix: a|b\u{1f}c", "new.txt"),
                ("mmm", "Merge", "new.txt"),
                ("bbb", "first", "old.txt"),
            ]
        );
        assert_eq!(commits[0].author, "Ann");
        assert_eq!(commits[0].date_iso, "2026-01-02T03:04:05+00:00");
    }

    #[test]
    fn parses_batch_output() {
        let out = b"abc blob 5\nhello\nHEAD:x missing\ndef tree 3\nxyz\nghi blob 0\n\n";
        assert_eq!(
            parse_batch(out, 4),
            Some(vec![Some(b"hello".to_vec()), None, None, Some(Vec::new())])
        );
        assert_eq!(parse_batch(b"abc blob 50\nshort\n", 1), None);
    }

    #[test]
    fn git_errors_are_sanitized_and_shortened() {
        let e = git_error("log", b"fatal: bad \x1b[31mthing\x1b[0m\n\nhint: x\n");
        assert_eq!(
            e,
            PromptError::Git {
                command: "log".into(),
                message: "fatal: bad thing; hint: x".into()
            }
        );
        let long = vec![b'x'; 1000];
        let PromptError::Git { message, .. } = git_error("log", &long) else {
            unreachable!()
        };
        assert_eq!(message.chars().count(), MAX_GIT_MESSAGE_CHARS + 1);
    }
}
