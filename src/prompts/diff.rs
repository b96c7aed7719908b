//! Line diff between two prompt versions, for the picker's "what changed" view.
//!
//! Prompts are short, so a plain line diff (Myers, via `similar`) is the whole story; the UI
//! colours the lines and sanitizes their text.

use similar::{ChangeTag, TextDiff};

/// How a line of a diff relates the two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// In both versions.
    Same,
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
}

/// One line of a diff, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Which side(s) the line is on.
    pub kind: DiffKind,
    /// The line's text, without the trailing `\n` / `\r\n`.
    pub text: String,
}

/// Every line of `old` and `new`, in order, marked same, added or removed.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffLine {
            kind: match change.tag() {
                ChangeTag::Equal => DiffKind::Same,
                ChangeTag::Insert => DiffKind::Added,
                ChangeTag::Delete => DiffKind::Removed,
            },
            text: change
                .value()
                .trim_end_matches('\n')
                .trim_end_matches('\r')
                .to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn line(kind: DiffKind, text: &str) -> DiffLine {
        DiffLine {
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn marks_added_removed_and_same_lines() {
        let old = "You are terse.\nAnswer in English.\nCite sources.\n";
        let new = "You are terse.\nAnswer in {{language}}.\nCite sources.\nBe kind.";
        assert_eq!(
            diff_lines(old, new),
            vec![
                line(DiffKind::Same, "You are terse."),
                line(DiffKind::Removed, "Answer in English."),
                line(DiffKind::Added, "Answer in {{language}}."),
                line(DiffKind::Same, "Cite sources."),
                line(DiffKind::Added, "Be kind."),
            ]
        );
    }

    #[test]
    fn identical_texts_are_all_same() {
        assert!(
            diff_lines("a\r\nb\r\n", "a\r\nb\r\n")
                .iter()
                .all(|l| l.kind == DiffKind::Same && !l.text.ends_with('\r'))
        );
        assert_eq!(diff_lines("", ""), vec![]);
    }
}
