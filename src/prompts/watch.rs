//! Hot reload: notice when prompt files change on disk, in terms of prompt names.
//!
//! A user edits the active prompt in another pane and saves; the next request must use the new
//! text, and the picker must show files that appear or disappear. Editors save in different
//! ways, and each produces a different burst of raw events:
//! - write in place (truncate + write): modify events on the file itself;
//! - write a temporary file and rename it over the original (vim's default with `writebackup`,
//!   most "atomic save" editors): create + rename, the prompt's own path never "modified";
//! - rename the original away then write a new file (vim `backupcopy=no`): the file briefly
//!   does not exist.
//!
//! So we never interpret single events. `notify-debouncer-full` gathers each burst
//! ([`DEBOUNCE_MS`] of quiet), and for a burst we collect every prompt name it touched, then
//! look at the disk: names whose file exists now are [`WatchEvent::Changed`]; when the set of
//! prompts differs from the one we knew (a full rescan after any create/remove/rename), the
//! vanished names are [`WatchEvent::Removed`] and a [`WatchEvent::Rescan`] tells the picker to
//! re-list. Editor leftovers (`.swp`, `~`, vim's `4913` probe, hidden files) are not prompts.
//!
//! The callback runs on the debouncer's own thread; it must only forward the event (e.g. into
//! the app's channel). Re-reading the file is [`super::load`]'s job, in a task.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_full::notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
};

use super::error::PromptError;
use super::library::{name_for_relative_path, scan};

/// Quiet time that ends a burst of file events.
pub const DEBOUNCE_MS: u64 = 100;

/// What changed in the prompts directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// These prompts' files were written (in place, by rename, or newly created) and exist
    /// now: re-load them (with [`super::load`], off the UI thread). Sorted by name.
    Changed(Vec<String>),
    /// These prompts' files no longer exist. The last good text of an active one stays usable.
    Removed(Vec<String>),
    /// The set of prompts changed (files created, deleted, renamed) or the watcher lost track:
    /// re-list the directory.
    Rescan,
    /// The watcher reported a problem (e.g. the directory was deleted); for the status line.
    Error(String),
}

/// Watches a prompts directory until dropped.
pub struct PromptWatcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for PromptWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptWatcher").finish_non_exhaustive()
    }
}

impl PromptWatcher {
    /// Starts watching `dir` recursively; `on_change` receives each [`WatchEvent`] on the
    /// watcher's thread. Dropping the returned value stops the watcher.
    ///
    /// Blocking (it lists the directory once): call it at start-up or from `spawn_blocking`.
    pub fn start(
        dir: &Path,
        on_change: impl Fn(WatchEvent) + Send + 'static,
    ) -> Result<PromptWatcher, PromptError> {
        let root = dir.canonicalize().map_err(|e| PromptError::Watch {
            message: format!("cannot watch {}: {e}", dir.display()),
        })?;
        let known: BTreeSet<String> = scan(&root)?.into_iter().map(|e| e.name).collect();
        let mut state = State {
            roots: vec![root.clone(), dir.to_path_buf()],
            known,
        };
        let handler = move |result: DebounceEventResult| match result {
            Ok(events) => {
                for event in state.handle(&events) {
                    on_change(event);
                }
            }
            Err(errors) => {
                let message = errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                on_change(WatchEvent::Error(crate::text::sanitize(&message)));
            }
        };
        let mut debouncer = new_debouncer(Duration::from_millis(DEBOUNCE_MS), None, handler)
            .map_err(|e| PromptError::Watch {
                message: e.to_string(),
            })?;
        debouncer
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|e| PromptError::Watch {
                message: format!("cannot watch {}: {e}", root.display()),
            })?;
        Ok(PromptWatcher {
            _debouncer: debouncer,
        })
    }
}

/// What the watcher remembers between bursts.
struct State {
    /// The watched directory, canonical first, then as given (event paths use the first).
    roots: Vec<PathBuf>,
    /// Prompt names that existed after the last burst.
    known: BTreeSet<String>,
}

impl State {
    /// Turns one debounced burst into prompt-level events.
    fn handle(&mut self, events: &[DebouncedEvent]) -> Vec<WatchEvent> {
        let mut touched = BTreeSet::new();
        let mut structural = false;
        let mut relevant = false;
        for event in events {
            let content = match event.kind {
                // Our own reads (and everyone else's) open and close files: not a change.
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
                EventKind::Access(_) => false,
                EventKind::Modify(notify_debouncer_full::notify::event::ModifyKind::Name(_))
                | EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Any
                | EventKind::Other => {
                    structural = true;
                    true
                }
                EventKind::Modify(_) => true,
            };
            if event.need_rescan() {
                structural = true;
                relevant = true;
            }
            if !content {
                continue;
            }
            for path in &event.paths {
                if let Some(name) = self.name_for(path) {
                    touched.insert(name);
                    relevant = true;
                } else if self.is_inside(path) && !is_leftover(path) {
                    // A folder may have been created, moved or deleted with prompts inside.
                    relevant = true;
                }
            }
        }
        if !relevant {
            return Vec::new();
        }
        let mut out = Vec::new();
        if structural {
            let now: BTreeSet<String> = match scan(&self.roots[0]) {
                Ok(entries) => entries.into_iter().map(|e| e.name).collect(),
                Err(e) => return vec![WatchEvent::Error(e.to_string())],
            };
            let removed: Vec<String> = self.known.difference(&now).cloned().collect();
            let added: Vec<String> = now.difference(&self.known).cloned().collect();
            let set_changed = !removed.is_empty() || !added.is_empty();
            touched.extend(added);
            touched.retain(|name| now.contains(name));
            self.known = now;
            if !removed.is_empty() {
                out.push(WatchEvent::Removed(removed));
            }
            if set_changed {
                out.push(WatchEvent::Rescan);
            }
        } else {
            // Content-only burst: a file written in place. Skip any that vanished meanwhile
            // (its removal arrives in a later burst).
            touched.retain(|name| self.known.contains(name) && self.path_of(name).is_file());
        }
        if !touched.is_empty() {
            out.push(WatchEvent::Changed(touched.into_iter().collect()));
        }
        out
    }

    fn relative<'a>(&self, path: &'a Path) -> Option<&'a Path> {
        self.roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
    }

    fn is_inside(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|r| !r.as_os_str().is_empty())
    }

    fn name_for(&self, path: &Path) -> Option<String> {
        if is_leftover(path) {
            return None;
        }
        name_for_relative_path(self.relative(path)?)
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.roots[0].join(format!("{name}.txt"))
    }
}

/// Editor by-products that are never prompts (hidden files are excluded by the name rules).
fn is_leftover(path: &Path) -> bool {
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    file_name == "4913"
        || file_name.ends_with('~')
        || file_name.ends_with(".swp")
        || file_name.ends_with(".swx")
        || file_name.starts_with(".#")
}
