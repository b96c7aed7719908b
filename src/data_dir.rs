//! The data directory, checked once at start.
//!
//! Everything promptdeck keeps lives there: the history database, the rate limiter's counts,
//! the log file and the unsent draft. Each of them used to find out on its own that the
//! directory was unusable, each with its own OS error ("File exists (os error 17)" twice for
//! a `--data-dir` that is a file). This module asks once, so the user reads one clear line:
//!
//! - a path that is a file (or has a file on its way): nothing can ever be kept there, so it is
//!   a configuration mistake, said in one line (exit 3) before anything is sent;
//! - a directory that cannot be written (read-only, a read-only mount, another owner): a
//!   warning, and what needs no file goes on: `ask` still prints its reply, saying it is not
//!   saved (the reply matters more than its record; the user's message is in their shell).
//!
//! Whether the directory can be written is found by writing (a small file created and removed
//! at once), not by reading mode bits: root, ACLs and read-only mounts all answer truly.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Whether the data directory can keep anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// It exists (now) and files can be created in it.
    Writable,
    /// Nothing can be written there; the reason as the OS gave it.
    ReadOnly {
        /// The data directory.
        path: PathBuf,
        /// Why (`permission denied`, `read-only file system`…).
        reason: String,
    },
}

impl Access {
    /// The one warning for a directory that cannot be written, if it cannot.
    pub fn warning(&self) -> Option<String> {
        match self {
            Access::Writable => None,
            Access::ReadOnly { path, reason } => Some(format!(
                "the data dir {} is not writable ({reason}): nothing is saved this session \
                 (no history, no log file)",
                path.display()
            )),
        }
    }
}

/// A data directory that can never be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DataDirError {
    /// The path is a file.
    #[error(
        "the data dir {path} is a file, not a directory: give --data-dir (or \
         PROMPTDECK_DATA_DIR, or data_dir in the config) a directory"
    )]
    NotADirectory {
        /// The data directory.
        path: PathBuf,
    },
    /// A file stands where one of the path's parent directories should be.
    #[error(
        "the data dir {path} cannot be created: {file} is a file, not a directory; give \
         --data-dir (or PROMPTDECK_DATA_DIR, or data_dir in the config) a directory"
    )]
    FileOnTheWay {
        /// The data directory.
        path: PathBuf,
        /// The file on its way.
        file: PathBuf,
    },
}

/// Checks `path` (creating it when missing): a file there is an error; a directory that
/// cannot be written or created is [`Access::ReadOnly`].
pub fn check(path: &Path) -> Result<Access, DataDirError> {
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_dir() => {
            return Err(DataDirError::NotADirectory {
                path: path.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(_) => {
            if let Some(file) = path
                .ancestors()
                .skip(1)
                .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
            {
                return Err(DataDirError::FileOnTheWay {
                    path: path.to_path_buf(),
                    file: file.to_path_buf(),
                });
            }
            if let Err(e) = std::fs::create_dir_all(path) {
                return Ok(read_only(path, &e));
            }
        }
    }
    Ok(probe(path))
}

/// Writes (and removes) a small file in `dir` to learn whether it can be written.
fn probe(dir: &Path) -> Access {
    let probe = dir.join(format!(".promptdeck-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(file) => {
            drop(file);
            let _ = std::fs::remove_file(&probe);
            Access::Writable
        }
        // Left over from a process with this pid that was killed mid-check: it was writable.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&probe);
            Access::Writable
        }
        Err(e) => read_only(dir, &e),
    }
}

fn read_only(path: &Path, e: &std::io::Error) -> Access {
    let reason = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::ReadOnlyFilesystem => "read-only file system".to_string(),
        _ => e.to_string(),
    };
    Access::ReadOnly {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_missing_directory_is_created_and_writable() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("a").join("b");
        assert_eq!(check(&dir), Ok(Access::Writable));
        assert!(dir.is_dir());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "the probe is gone"
        );
    }

    #[test]
    fn a_file_is_not_a_data_dir() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("notes.txt");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(
            check(&file),
            Err(DataDirError::NotADirectory { path: file.clone() })
        );
        assert_eq!(
            check(&file.join("data")),
            Err(DataDirError::FileOnTheWay {
                path: file.join("data"),
                file: file.clone(),
            })
        );
    }
}
