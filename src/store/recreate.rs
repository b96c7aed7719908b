//! The database file deleted (or replaced) under a running process.
//!
//! SQLite keeps writing to a file it has open even after the file was unlinked: a data dir
//! removed while the TUI or `ask` runs (a cleanup script, `rm -rf` of the wrong directory)
//! would silently swallow every later write into a file nobody can see. So before each command
//! the database thread compares the file at the database's path with the one it opened (device
//! and inode on Unix, existence elsewhere):
//!
//! - still the same file: nothing to do (one `stat`, microseconds);
//! - gone: the open connection still reads the deleted file, so its whole content is copied
//!   back to the same path (`VACUUM INTO`, which keeps every row id the session holds) and
//!   writing goes on in the new file. Nothing is lost; the user is told once, so whoever meant
//!   to delete the history knows it is back;
//! - another file there (another promptdeck recreated it first, or a backup was moved in):
//!   writing goes on in that file;
//! - gone and it cannot be recreated (the directory cannot be made again, the disk is full):
//!   the user is told once that this session's requests are no longer saved, and the thread
//!   stops checking.
//!
//! The old connection is closed before the new file is opened: on close SQLite deletes
//! `<path>-wal` and `<path>-shm` *by name*, which must not hit the new file's.

use std::path::{Path, PathBuf};

use super::{Store, StoreError};

/// Which file a path named when the database was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    /// The file now at `path`.
    pub(super) fn of(path: &Path) -> std::io::Result<FileId> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(FileId {
                device: metadata.dev(),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Ok(FileId {
                device: 0,
                inode: 0,
            })
        }
    }
}

/// A store's path and the file opened there (`None` once it is lost: no more checks).
#[derive(Debug, Clone)]
pub(super) struct Watched {
    pub(super) path: PathBuf,
    pub(super) file: Option<FileId>,
}

impl Watched {
    /// The file at `path`, as just opened.
    pub(super) fn opened(path: &Path) -> Watched {
        Watched {
            path: path.to_path_buf(),
            file: FileId::of(path).ok(),
        }
    }
}

/// What [`Store::keep_at_path`] found and did (each is said once to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The file was deleted; it was written anew at the same path from the open copy.
    Recreated,
    /// Another file took the path; writing goes on in it.
    Replaced,
    /// The file was deleted and cannot be recreated: later writes are not saved.
    Lost(String),
}

impl FileChange {
    /// What to tell the user, as a [`StoreError`] for the writer's error sink.
    pub fn into_error(self, path: PathBuf) -> StoreError {
        match self {
            FileChange::Recreated => StoreError::Recreated { path },
            FileChange::Replaced => StoreError::Replaced { path },
            FileChange::Lost(reason) => StoreError::Lost { path, reason },
        }
    }
}

impl Store {
    /// The database's path, when it is a file (not in memory).
    pub fn path(&self) -> Option<&Path> {
        self.watched.as_ref().map(|w| w.path.as_path())
    }

    /// Checks that the file at the database's path is still the one open, and if not,
    /// recreates or reopens it (see the module notes). `None` while all is well; after a
    /// [`FileChange::Lost`] the store stops checking.
    pub fn keep_at_path(&mut self) -> Option<FileChange> {
        let watched = self.watched.as_ref()?;
        let opened = watched.file?;
        let change = match FileId::of(&watched.path) {
            Ok(file) if file == opened => return None,
            Ok(_) => self.reopen().map(|()| FileChange::Replaced),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                self.recreate()
            }
            // Cannot even look (a permission changed): not evidence that it is gone.
            Err(_) => return None,
        };
        let change = change.unwrap_or_else(|e| FileChange::Lost(e.to_string()));
        if let (FileChange::Lost(_), Some(watched)) = (&change, &mut self.watched) {
            watched.file = None;
        }
        Some(change)
    }

    /// Copies the open (deleted) database back to its path, then reopens it there.
    fn recreate(&mut self) -> Result<FileChange, StoreError> {
        let Some(watched) = &self.watched else {
            return Ok(FileChange::Recreated);
        };
        let path = watched.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Corrupt(format!("the path {} is not UTF-8", path.display()))
        })?;
        match self.conn.execute("VACUUM INTO ?1", [target]) {
            Ok(_) => {
                self.reopen()?;
                Ok(FileChange::Recreated)
            }
            // Another process recreated it first (VACUUM INTO refuses an existing file).
            Err(_) if path.exists() => {
                self.reopen()?;
                Ok(FileChange::Replaced)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the connection to the old file, then opens the file now at the path.
    fn reopen(&mut self) -> Result<(), StoreError> {
        let Some(watched) = self.watched.clone() else {
            return Ok(());
        };
        // Close first (see the module notes). Until the new file is open, an in-memory
        // database stands in; if the reopen fails, the caller says the session is no longer
        // saved.
        let old = std::mem::replace(&mut self.conn, Store::open_in_memory()?.conn);
        drop(old);
        let fresh = Store::open(&watched.path)?;
        self.conn = fresh.conn;
        self.watched = fresh.watched;
        Ok(())
    }
}
