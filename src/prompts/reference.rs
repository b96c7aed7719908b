//! The one way to name a prompt version, everywhere: CLI, UI, request log, exports.
//!
//! - `NAME` — the working-tree file, as it is now;
//! - `NAME@REV` — the file in any git revision (`HEAD~2`, a tag, a short or full hash);
//! - `NAME@#HASH` — a version by content hash (at least 4 hex digits), e.g. an unsaved
//!   edit–try iteration from this session.
//!
//! The name is split at the first `@`, so revisions such as `HEAD@{1}` still work; prompt
//! names therefore cannot contain `@`.

use std::fmt;
use std::str::FromStr;

use super::error::PromptError;
use super::hash::MIN_HASH_PREFIX_DIGITS;
use super::library::{normalize_name, relative_path_for_name};

/// Which version of a prompt a [`Reference`] means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// The working-tree file (`NAME`).
    Working,
    /// A git revision (`NAME@REV`), as typed.
    Revision(String),
    /// A content-hash prefix (`NAME@#HASH`), lowercase hex.
    Hash(String),
}

/// A parsed `NAME`, `NAME@REV` or `NAME@#HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The prompt name (`support/triage`), validated, without `.txt`.
    pub name: String,
    /// Which version.
    pub selector: Selector,
}

impl Reference {
    /// A reference to the working-tree file of `name`.
    pub fn working(name: impl Into<String>) -> Reference {
        Reference {
            name: name.into(),
            selector: Selector::Working,
        }
    }

    /// Parses a reference; see the module docs for the forms.
    pub fn parse(input: &str) -> Result<Reference, PromptError> {
        let bad = |reason: &str| PromptError::BadReference {
            input: input.to_string(),
            reason: format!("{reason} (use NAME, NAME@REV or NAME@#HASH)"),
        };
        let (name, version) = match input.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (input, None),
        };
        if name.is_empty() {
            return Err(bad("the prompt name is empty"));
        }
        relative_path_for_name(name).map_err(|e| match e {
            PromptError::BadName { reason, .. } => bad(&reason),
            other => other,
        })?;
        let name = normalize_name(name).to_string();
        let selector = match version {
            None => Selector::Working,
            Some("") => return Err(bad("nothing after @: give a git revision or #HASH")),
            Some(version) => match version.strip_prefix('#') {
                Some(hash) => {
                    if hash.len() < MIN_HASH_PREFIX_DIGITS {
                        return Err(bad(&format!(
                            "a content hash needs at least {MIN_HASH_PREFIX_DIGITS} hex digits"
                        )));
                    }
                    if hash.len() > 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(bad(
                            "a content hash is hex digits (0-9, a-f), at most 64 of them",
                        ));
                    }
                    Selector::Hash(hash.to_ascii_lowercase())
                }
                None => {
                    if version.starts_with('-') {
                        return Err(bad("a git revision cannot start with -"));
                    }
                    if version.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(bad("a git revision cannot contain spaces or controls"));
                    }
                    Selector::Revision(version.to_string())
                }
            },
        };
        Ok(Reference { name, selector })
    }
}

impl FromStr for Reference {
    type Err = PromptError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Working => write!(f, "{}", self.name),
            Selector::Revision(rev) => write!(f, "{}@{rev}", self.name),
            Selector::Hash(hash) => write!(f, "{}@#{hash}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn reason(input: &str) -> String {
        match Reference::parse(input) {
            Err(PromptError::BadReference { reason, .. }) => reason,
            other => panic!("{input:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_the_three_forms_and_prints_them_back() {
        for (input, selector) in [
            ("support/triage", Selector::Working),
            ("support/triage@HEAD~2", Selector::Revision("HEAD~2".into())),
            ("support/triage@v1.0", Selector::Revision("v1.0".into())),
            (
                "support/triage@HEAD@{1}",
                Selector::Revision("HEAD@{1}".into()),
            ),
            ("support/triage@#ABCD12", Selector::Hash("abcd12".into())),
        ] {
            let r = Reference::parse(input).unwrap();
            assert_eq!(
                r,
                Reference {
                    name: "support/triage".into(),
                    selector
                }
            );
            assert_eq!(r.to_string(), input.replace("ABCD", "abcd"));
        }
        assert_eq!(
            "code-review.txt@HEAD".parse::<Reference>().unwrap().name,
            "code-review"
        );
    }

    #[test]
    fn rejects_bad_references_with_a_reason() {
        assert!(reason("").contains("name is empty"));
        assert!(reason("@HEAD").contains("name is empty"));
        assert!(reason("x@").contains("nothing after @"));
        assert!(reason("x@#abc").contains("at least 4 hex digits"));
        assert!(reason("x@#xyz12").contains("hex digits"));
        assert!(reason("x@-p").contains("cannot start with -"));
        assert!(reason("x@HEAD 1").contains("spaces"));
        assert!(reason("../x").contains("cannot start with ."));
        let e = Reference::parse("x@").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid prompt reference \"x@\": nothing after @: give a git revision or #HASH \
             (use NAME, NAME@REV or NAME@#HASH)"
        );
    }
}
