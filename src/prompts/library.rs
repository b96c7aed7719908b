//! The prompt files on disk: which files are prompts, what they are called, and whether a
//! file's text can be used.
//!
//! Prompts are code, so the rules are the ones a repository would want: every `*.txt` under
//! the prompts directory is a prompt, a subfolder is a namespace (`support/triage.txt` is
//! `support/triage`), hidden files and folders (`.git`, editor swap files) are not prompts.
//! A file's text is used byte for byte — nothing is trimmed or sanitized here, because what is
//! sent must be exactly what is versioned; the UI sanitizes for display only.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::error::PromptError;
use super::hash::{ContentHash, content_hash};

/// File extension of prompt files.
pub const PROMPT_EXTENSION: &str = "txt";

/// One prompt found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptEntry {
    /// The prompt's name: its path below the prompts directory, without `.txt`, `/`-separated.
    pub name: String,
    /// The file, as `dir.join(relative path)`.
    pub path: PathBuf,
}

/// Lists every prompt under `dir`, recursively, sorted by name.
///
/// Hidden files and folders (names starting with `.`, including `.git`) are skipped, as are
/// files whose name could not be written as a reference (containing `@`, or not UTF-8).
/// Symbolic links to files are followed; links to folders are not (no cycles).
///
/// Blocking: call it from `spawn_blocking` or a non-async thread (see [`scan_async`]).
pub fn scan(dir: &Path) -> Result<Vec<PromptEntry>, PromptError> {
    let unreadable = |path: &Path, e: std::io::Error| PromptError::DirUnreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            // The root must be readable; an unreadable namespace folder is skipped.
            Err(e) if folder == dir => return Err(unreadable(dir, e)),
            Err(_) => continue,
        };
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if file_name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            let is_file = file_type.is_file() || (file_type.is_symlink() && path.is_file());
            if !is_file {
                continue;
            }
            if let Some(name) = path.strip_prefix(dir).ok().and_then(name_for_relative_path) {
                out.push(PromptEntry { name, path });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// [`scan`] on the blocking pool, for async callers.
pub async fn scan_async(dir: &Path) -> Result<Vec<PromptEntry>, PromptError> {
    let dir = dir.to_path_buf();
    let path = dir.clone();
    tokio::task::spawn_blocking(move || scan(&dir))
        .await
        .unwrap_or_else(|e| {
            Err(PromptError::DirUnreadable {
                path,
                message: format!("the scan task failed: {e}"),
            })
        })
}

/// The prompt name for a path relative to the prompts directory, if that path is a prompt.
///
/// `None` for hidden components, non-`.txt` files, editor leftovers and names with `@`.
pub fn name_for_relative_path(relative: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            return None;
        };
        let part = part.to_str()?;
        if part.starts_with('.') || part.contains('@') {
            return None;
        }
        parts.push(part);
    }
    let last = parts.pop()?;
    let stem = last.strip_suffix(".txt")?;
    if stem.is_empty() {
        return None;
    }
    parts.push(stem);
    Some(parts.join("/"))
}

/// Checks that `name` names a file inside the library and returns its path relative to the
/// prompts directory (`support/triage` → `support/triage.txt`).
///
/// A trailing `.txt` is accepted and ignored. Rejected: empty names, absolute paths, `.`/`..`
/// or empty components, hidden components, backslashes, `@` and control characters.
pub fn relative_path_for_name(name: &str) -> Result<PathBuf, PromptError> {
    let bad = |reason: &str| PromptError::BadName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let name = normalize_name(name);
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name.contains('\\') {
        return Err(bad("use / to separate namespaces"));
    }
    if name.contains('@') {
        return Err(bad(
            "a name cannot contain @ (it starts a version: NAME@REV)",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("the name contains control characters"));
    }
    let mut path = PathBuf::new();
    let mut parts = name.split('/').peekable();
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(bad(
                "empty namespace component (leading, trailing or double /)",
            ));
        }
        if part.starts_with('.') {
            return Err(bad(
                "components cannot start with . (hidden files and .. are not prompts)",
            ));
        }
        if parts.peek().is_some() {
            path.push(part);
        } else {
            // Appended, not `set_extension`: `v1.2` is `v1.2.txt`, not `v1.txt`.
            path.push(format!("{part}.{PROMPT_EXTENSION}"));
        }
    }
    Ok(path)
}

/// `name` without a trailing `.txt`.
pub(crate) fn normalize_name(name: &str) -> &str {
    name.strip_suffix(".txt").unwrap_or(name)
}

/// The path of prompt `name` in `dir`, after validating the name.
pub fn prompt_path(dir: &Path, name: &str) -> Result<PathBuf, PromptError> {
    Ok(dir.join(relative_path_for_name(name)?))
}

/// A prompt file's usable text: read, checked and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptFile {
    /// The file it came from.
    pub path: PathBuf,
    /// The exact text of the file.
    pub text: Arc<str>,
    /// Hash of `text`.
    pub hash: ContentHash,
}

impl PromptFile {
    /// Reads and validates `path` without blocking the runtime.
    ///
    /// Errors: the file is missing ([`PromptError::NotFound`] with `name`), unreadable, not
    /// UTF-8 (naming the byte offset) or empty/whitespace-only.
    pub async fn read(path: &Path, name: &str) -> Result<PromptFile, PromptError> {
        match tokio::fs::read(path).await {
            Ok(bytes) => PromptFile::from_bytes(path, bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PromptError::NotFound {
                name: name.to_string(),
                path: path.to_path_buf(),
            }),
            Err(e) => Err(PromptError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    /// Like [`PromptFile::read`] for prompt `name` at `relative` in the library `dir`, refusing
    /// a link whose target is outside `dir` ([`PromptError::OutsideLibrary`]).
    pub async fn read_in(
        dir: &Path,
        relative: &Path,
        name: &str,
    ) -> Result<PromptFile, PromptError> {
        let path = dir.join(relative);
        if let (Ok(root), Ok(target)) = (
            tokio::fs::canonicalize(dir).await,
            tokio::fs::canonicalize(&path).await,
        ) && !target.starts_with(&root)
        {
            return Err(PromptError::OutsideLibrary {
                name: name.to_string(),
                target,
            });
        }
        PromptFile::read(&path, name).await
    }

    /// Validates bytes read from `path` (or from `REV:PATH`).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<PromptFile, PromptError> {
        let text = validate_text(path, bytes)?;
        let hash = content_hash(&text);
        Ok(PromptFile {
            path: path.to_path_buf(),
            text: Arc::from(text),
            hash,
        })
    }
}

/// Turns bytes into prompt text: must be UTF-8 and not blank. The text is returned unchanged.
pub fn validate_text(path: &Path, bytes: Vec<u8>) -> Result<String, PromptError> {
    let text = String::from_utf8(bytes).map_err(|e| PromptError::NotUtf8 {
        path: path.to_path_buf(),
        offset_bytes: e.utf8_error().valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn names_come_from_relative_paths() {
        let name = |p: &str| name_for_relative_path(Path::new(p));
        assert_eq!(
            name("support/triage.txt").as_deref(),
            Some("support/triage")
        );
        assert_eq!(name("a.txt").as_deref(), Some("a"));
        assert_eq!(name(".git/x.txt"), None);
        assert_eq!(name(".a.txt"), None);
        assert_eq!(name("a.txt~"), None);
        assert_eq!(name("a.txt.swp"), None);
        assert_eq!(name("4913"), None);
        assert_eq!(name(".txt"), None);
        assert_eq!(name("x@y.txt"), None);
        assert_eq!(name("README.md"), None);
    }

    #[test]
    fn names_are_validated_before_touching_files() {
        assert_eq!(
            relative_path_for_name("support/triage").unwrap(),
            Path::new("support/triage.txt")
        );
        assert_eq!(
            relative_path_for_name("notes/v1.2").unwrap(),
            Path::new("notes/v1.2.txt")
        );
        assert_eq!(
            relative_path_for_name("support/triage.txt").unwrap(),
            Path::new("support/triage.txt")
        );
        for bad in [
            "",
            "../etc/passwd",
            "/abs",
            "a//b",
            "a/",
            ".hidden",
            "a\\b",
            "a@b",
        ] {
            assert!(
                matches!(
                    relative_path_for_name(bad),
                    Err(PromptError::BadName { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn text_is_checked_but_never_changed() {
        let p = Path::new("p.txt");
        assert_eq!(
            validate_text(p, b"  keep\r\n spaces \n".to_vec()).unwrap(),
            "  keep\r\n spaces \n"
        );
        assert_eq!(
            validate_text(p, b" \n\t ".to_vec()),
            Err(PromptError::Empty { path: p.into() })
        );
        assert_eq!(
            validate_text(p, b"ok \xff bad".to_vec()),
            Err(PromptError::NotUtf8 {
                path: p.into(),
                offset_bytes: 3
            })
        );
        let e = validate_text(p, b"ok \xff bad".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "prompt file p.txt is not UTF-8 text (invalid byte at offset 3); save it as UTF-8"
        );
    }

    #[test]
    fn scan_lists_txt_recursively_sorted_and_skips_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("support/deep")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "zeta.txt",
            "alpha.txt",
            "support/triage.txt",
            "support/deep/x.txt",
            ".git/HEAD.txt",
            ".hidden.txt",
            "notes.md",
            "alpha.txt~",
        ] {
            std::fs::write(root.join(f), "text").unwrap();
        }
        let names: Vec<String> = scan(root).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            vec!["alpha", "support/deep/x", "support/triage", "zeta"]
        );
        assert!(matches!(
            scan(&root.join("missing")),
            Err(PromptError::DirUnreadable { .. })
        ));
    }
}
