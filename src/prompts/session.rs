//! Versions seen during this session, so an edit–try loop needs no commit.
//!
//! Every distinct text a prompt had while promptdeck ran (each save picked up by the watcher,
//! each load) is kept here, keyed by content hash, in the order first seen. `NAME@#HASH`
//! references from the request log then resolve for the rest of the session even after the
//! file moved on. Plain data: the pure model owns it and hands a clone to background tasks.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::PromptError;
use super::hash::{ContentHash, content_hash};

/// One text seen this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionVersion {
    /// Hash of `text`.
    pub hash: ContentHash,
    /// 1-based order in which this prompt's versions were first seen.
    pub index: usize,
    /// The exact text.
    pub text: Arc<str>,
}

/// Whether [`SessionVersions::record`] saw a new text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The text had not been seen for this prompt; it got this 1-based index.
    New(usize),
    /// The text was already known under this index.
    Known(usize),
}

/// Every distinct text of every prompt seen this session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionVersions {
    by_name: BTreeMap<String, Vec<SessionVersion>>,
}

impl SessionVersions {
    /// An empty record.
    pub fn new() -> SessionVersions {
        SessionVersions::default()
    }

    /// Records `text` as a version of `name` (no-op if that exact text is known).
    pub fn record(&mut self, name: &str, text: &Arc<str>) -> Recorded {
        let hash = content_hash(text);
        let versions = self.by_name.entry(name.to_string()).or_default();
        if let Some(known) = versions.iter().find(|v| v.hash == hash) {
            return Recorded::Known(known.index);
        }
        let index = versions.len() + 1;
        versions.push(SessionVersion {
            hash,
            index,
            text: Arc::clone(text),
        });
        Recorded::New(index)
    }

    /// This session's versions of `name`, oldest first.
    pub fn versions(&self, name: &str) -> &[SessionVersion] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The version of `name` whose hash starts with `prefix`.
    ///
    /// `Ok(None)` when none matches; [`PromptError::AmbiguousHash`] when several do.
    pub fn find(&self, name: &str, prefix: &str) -> Result<Option<&SessionVersion>, PromptError> {
        let mut matches = self
            .versions(name)
            .iter()
            .filter(|v| v.hash.matches_prefix(prefix));
        let first = matches.next();
        if matches.next().is_some() {
            return Err(PromptError::AmbiguousHash {
                name: name.to_string(),
                hash: prefix.to_string(),
            });
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn records_distinct_texts_in_order() {
        let mut s = SessionVersions::new();
        let a: Arc<str> = Arc::from("v1");
        let b: Arc<str> = Arc::from("v2");
        assert_eq!(s.record("p", &a), Recorded::New(1));
        assert_eq!(s.record("p", &b), Recorded::New(2));
        assert_eq!(s.record("p", &a), Recorded::Known(1));
        assert_eq!(s.record("other", &a), Recorded::New(1));
        let texts: Vec<&str> = s.versions("p").iter().map(|v| &*v.text).collect();
        assert_eq!(texts, vec!["v1", "v2"]);
        assert!(s.versions("missing").is_empty());
    }

    #[test]
    fn finds_by_hash_prefix() {
        let mut s = SessionVersions::new();
        let a: Arc<str> = Arc::from("v1");
        s.record("p", &a);
        let full = content_hash("v1");
        let found = s.find("p", &full.full()[..6]).unwrap().unwrap();
        assert_eq!(&*found.text, "v1");
        assert_eq!(s.find("p", "0000").unwrap(), None);
        assert_eq!(s.find("q", full.short()).unwrap(), None);
    }
}
