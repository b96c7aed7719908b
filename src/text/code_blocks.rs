//! The fenced (and indented) code blocks of a reply, for copying one (Alt-K, Alt-Y).

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

/// One code block of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The fence's language (`rust` in "```rust"), if any.
    pub language: Option<String>,
    /// The code, as written (no fences), ending with a newline.
    pub code: String,
}

/// The code blocks of `markdown`, in order. A block still open at the end (a reply cut
/// short, or still streaming) counts with what it has.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<CodeBlock> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string),
                    CodeBlockKind::Indented => None,
                };
                current = Some(CodeBlock {
                    language,
                    code: String::new(),
                });
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks.extend(current);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn finds_fenced_blocks_with_their_language_and_open_ones_at_the_end() {
        let reply =
            "Try this:\n\n```rust\nfn main() {}\n```\n\nor\n\n```\nls -l\n```\n\n```py\nprint(";
        assert_eq!(
            code_blocks(reply),
            vec![
                CodeBlock {
                    language: Some("rust".into()),
                    code: "fn main() {}\n".into()
                },
                CodeBlock {
                    language: None,
                    code: "ls -l\n".into()
                },
                CodeBlock {
                    language: Some("py".into()),
                    code: "print(".into()
                },
            ]
        );
        assert_eq!(code_blocks("no code here"), vec![]);
    }
}
