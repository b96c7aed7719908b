//! Content identity of a prompt version.
//!
//! A version is identified by what it says, not by where it came from: the SHA-256 of the exact
//! text that is sent. Two commits with the same text, or a session edit that was later committed,
//! share an id, so "which version produced this reply" stays answerable after a rebase, a copy
//! to another repository or a restart. Twelve hex digits are shown; the full digest is stored.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Number of hex digits shown for a content hash or a commit.
pub const SHORT_HEX_DIGITS: usize = 12;

/// Minimum number of hex digits accepted in a `NAME@#HASH` reference.
pub const MIN_HASH_PREFIX_DIGITS: usize = 4;

/// The SHA-256 of a prompt text, as 64 lowercase hex digits. `Display` shows the short form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash(String);

impl TryFrom<String> for ContentHash {
    type Error = String;

    fn try_from(hex: String) -> Result<Self, Self::Error> {
        ContentHash::from_hex(&hex).ok_or_else(|| format!("not a SHA-256 hex digest: {hex:?}"))
    }
}

impl From<ContentHash> for String {
    fn from(hash: ContentHash) -> String {
        hash.0
    }
}

impl ContentHash {
    /// The full 64-digit lowercase hex digest.
    pub fn full(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, as shown in the UI and in references.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_HEX_DIGITS.min(self.0.len())]
    }

    /// True when `prefix` (lowercase or uppercase hex) is a prefix of this digest.
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        !prefix.is_empty() && self.0.starts_with(&prefix.to_ascii_lowercase())
    }

    /// Parses a full 64-digit hex digest (as stored in a log). `None` if it is not one.
    pub fn from_hex(hex: &str) -> Option<ContentHash> {
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ContentHash(hex.to_ascii_lowercase()))
    }
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short())
    }
}

/// Hashes the exact text of a prompt (no normalization: a changed space is a new version).
pub fn content_hash(text: &str) -> ContentHash {
    content_hash_bytes(text.as_bytes())
}

/// Hashes raw bytes (a committed blob that may not be UTF-8).
pub(crate) fn content_hash_bytes(bytes: &[u8]) -> ContentHash {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    ContentHash(hex)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn hash_is_sha256_hex_and_shows_twelve_digits() {
        let h = content_hash("abc");
        assert_eq!(
            h.full(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.short(), "ba7816bf8f01");
        assert_eq!(h.to_string(), "ba7816bf8f01");
        assert!(h.matches_prefix("BA78"));
        assert!(!h.matches_prefix("ba79"));
        assert!(!h.matches_prefix(""));
    }

    #[test]
    fn hash_sees_every_byte() {
        assert_ne!(content_hash("a prompt"), content_hash("a prompt "));
        assert_ne!(content_hash("a\n"), content_hash("a\r\n"));
    }

    #[test]
    fn hash_round_trips_through_hex_and_serde() {
        let h = content_hash("x");
        assert_eq!(ContentHash::from_hex(h.full()), Some(h.clone()));
        assert_eq!(ContentHash::from_hex("abc"), None);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.full()));
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
    }
}
