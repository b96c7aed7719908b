//! Word-level differences between two replies (the compare screen's Alt-D), with `similar`'s
//! word diff: each side's text as pieces, marked where the words are its own.

use similar::{ChangeTag, TextDiff};

/// A run of one reply's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    /// Whether these words are missing from the other reply.
    pub changed: bool,
}

/// The two texts as pieces: `a`'s words missing from `b` are changed on the left, `b`'s words
/// missing from `a` on the right. Whitespace never counts as a change, and neighbouring pieces
/// of the same kind are merged.
pub fn word_diff(a: &str, b: &str) -> (Vec<Piece>, Vec<Piece>) {
    let diff = TextDiff::from_words(a, b);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        let text = change.value();
        let word = !text.trim().is_empty();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut left, text, false);
                push(&mut right, text, false);
            }
            ChangeTag::Delete => push(&mut left, text, word),
            ChangeTag::Insert => push(&mut right, text, word),
        }
    }
    (left, right)
}

fn push(pieces: &mut Vec<Piece>, text: &str, changed: bool) {
    match pieces.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => pieces.push(Piece {
            text: text.to_string(),
            changed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn show(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| {
                if p.changed {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn marks_the_words_each_side_has_alone() {
        let (a, b) = word_diff(
            "Hello Alice, nice to meet you.",
            "Hello Alice, glad to meet you!",
        );
        assert_eq!(show(&a), "Hello Alice, [nice] to meet [you.]");
        assert_eq!(show(&b), "Hello Alice, [glad] to meet [you!]");
    }

    #[test]
    fn identical_texts_have_no_change_and_keep_their_text() {
        let text = "same words\nover two lines";
        let (a, b) = word_diff(text, text);
        assert_eq!(show(&a), text);
        assert_eq!(show(&b), text);
        assert!(a.iter().chain(&b).all(|p| !p.changed));
    }

    #[test]
    fn an_added_sentence_is_marked_on_its_side_only() {
        let (a, b) = word_diff("One. Two.", "One. Three. Two.");
        assert_eq!(show(&a), "One. Two.");
        assert_eq!(show(&b), "One. [Three.] Two.");
    }

    #[test]
    fn an_empty_side_marks_all_of_the_other() {
        let (a, b) = word_diff("", "new words");
        assert_eq!(a, Vec::new());
        assert_eq!(show(&b), "[new] [words]");
    }
}
